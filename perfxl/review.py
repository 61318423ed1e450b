"""The reviewer's book for a folder validation: every department book with its totals and
counts, and every finding with a link to its cell in that book."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_path
from .findings import SEVERITY_ZH
from .layout import OUTPUT_PROPERTY, OUTPUT_REVIEW
from .marks import (
    ERROR_FILL,
    ERROR_FONT,
    PASS_FILL,
    PASS_FONT,
    WARNING_FILL,
    WARNING_FONT,
    cell_ref,
)
from .rules import rule_label
from .styles import BUILD_DATE, FONT, HEADER_FILL, LINE, LINK, MONEY, lines_needed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from xlsxwriter.worksheet import Worksheet

    from .batch import BookResult
    from .files import Given

BOOKS = ("序号", "工作簿", "部门", "年度", "单位数", "项目数", "预算合计(元)", "错误", "警告", "状态",
         "说明")
BOOK_WIDTHS = (5, 24, 24, 6, 7, 7, 15, 5, 5, 7, 40)
FINDINGS = ("工作簿", "严重程度", "代码", "规则", "单位", "项目编码", "项目名称", "工作表", "单元格",
            "说明")
FINDING_WIDTHS = (18, 9, 7, 20, 8, 23, 20, 18, 7, 50)
WRAPPED = (0, 3, 6, 7, 9)
"""Columns of 问题 whose text wraps (the rows are as tall as their longest text)."""


def write_review(path: str | Path, results: list[BookResult], *,
                 inputs: Given = (), force: bool = False) -> Path:
    """Write the review book atomically (XlsxWriter, constant memory: thousands of rows): never
    over one of ``inputs`` (the folders and books validated), over an existing file only with
    ``force``."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path, inputs, force=force) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
        wb.set_properties({"title": "绩效目标审核", "author": "perfxl", "created": BUILD_DATE})
        wb.set_custom_property(OUTPUT_PROPERTY, OUTPUT_REVIEW)  # so no run reads it as a book
        base = {"font_name": FONT, "valign": "top", "text_wrap": True}
        bold = wb.add_format({**base, "bold": True, "bg_color": HEADER_FILL, "border": 1})
        plain = wb.add_format(base)
        money = wb.add_format({**base, "num_format": MONEY})
        link = wb.add_format({**base, "font_color": LINK, "underline": 1})
        red = wb.add_format({**base, "font_color": ERROR_FONT, "bg_color": ERROR_FILL})
        amber = wb.add_format({**base, "font_color": WARNING_FONT, "bg_color": WARNING_FILL})
        green = wb.add_format({**base, "font_color": PASS_FONT, "bg_color": PASS_FILL})

        ws = wb.add_worksheet("工作簿")
        for c, w in enumerate(BOOK_WIDTHS):
            ws.set_column(c, c, w)
        ws.write_row(0, 0, BOOKS, bold)
        for i, r in enumerate(results, start=1):
            target = _relative(r.path, path)
            _height(ws, i, ((r.name, BOOK_WIDTHS[1]), (r.department, BOOK_WIDTHS[2]),
                            (r.error or "", BOOK_WIDTHS[10])))
            ws.write_number(i, 0, i, plain)
            ws.write_url(i, 1, f"external:{target}", link, r.name)
            if r.skipped:
                ws.write_row(i, 2, ("", "", "", "", "", "", "", "已跳过", r.skipped), plain)
                continue
            if r.report is None:
                ws.write_row(i, 2, ("", "", "", "", "", "", "", "无法读取"), plain)
                ws.write_string(i, 10, r.error, red)
                continue
            counts = r.report.counts
            ws.write_string(i, 2, r.department, plain)
            ws.write(i, 3, r.year or "", plain)
            ws.write_number(i, 4, r.units, plain)
            ws.write_number(i, 5, r.projects, plain)
            ws.write_number(i, 6, float(r.total), money)
            ws.write_number(i, 7, counts["error"], plain)
            ws.write_number(i, 8, counts["warning"], plain)
            ws.write_string(i, 9, "通过" if r.report.valid else "未通过",
                            green if r.report.valid else red)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(results), len(BOOKS) - 1)
        _print_setup(ws)

        fs = wb.add_worksheet("问题")
        for c, w in enumerate(FINDING_WIDTHS):
            fs.set_column(c, c, w)
        fs.write_row(0, 0, FINDINGS, bold)
        row = 1
        for r in results:
            if r.report is None:
                continue
            target = _relative(r.path, path)
            for f in r.report.findings:
                rule = rule_label(f.rule)
                texts = (r.name, "", "", rule, "", "", f.project_name, f.sheet, "", f.message)
                _height(fs, row, [(texts[c], FINDING_WIDTHS[c]) for c in WRAPPED])
                fs.write_string(row, 0, r.name, plain)
                fs.write_string(row, 1, SEVERITY_ZH[f.severity],
                                red if f.severity == "error" else amber)
                fs.write_row(row, 2, (f.code, rule, f.unit_code, f.project_code,
                                      f.project_name, f.sheet), plain)
                if f.sheet and f.cell:
                    fs.write_url(row, 8, f"external:{target}#{cell_ref(f.sheet, f.cell)}", link,
                                 f.cell)
                else:
                    fs.write_string(row, 8, f.cell, plain)
                fs.write_string(row, 9, f.message, plain)
                row += 1
        fs.freeze_panes(1, 0)
        fs.autofilter(0, 0, max(row - 1, 1), len(FINDINGS) - 1)
        _print_setup(fs)
        wb.close()
    return path


def _height(ws: Worksheet, row: int, texts: Sequence[tuple[str, int]]) -> None:
    """Give a row the lines its longest wrapped text needs: Excel does not fit row heights to
    wrapped text when it opens a book (before the row is written: constant memory)."""
    lines = max(lines_needed(text, width) for text, width in texts)
    if lines > 1:
        ws.set_row(row, LINE * lines)


def _print_setup(ws: Worksheet) -> None:
    """A4 landscape, every column on the page's width, the header row on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&C第 &P 页,共 &N 页")


def _relative(book: Path, review: Path) -> str:
    """The book's path relative to the review book's folder, so links survive moving both;
    ``%`` and ``#`` escaped, as a link's target is a URI (``a#b.xlsx`` is not a cell in ``a``)."""
    try:
        path = os.path.relpath(book.resolve(), review.resolve().parent)
    except ValueError:  # another drive on Windows
        path = str(book.resolve())
    return path.replace("%", "%25").replace("#", "%23")
