"""The reviewer's book for a folder validation: every department book with its totals and
counts, and every finding with a link to its cell in that book."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_path
from .findings import SEVERITY_ZH
from .layout import OUTPUT_PROPERTY, OUTPUT_REVIEW

if TYPE_CHECKING:
    from .validate import BookResult

BOOKS = ("序号", "工作簿", "部门", "年度", "单位数", "项目数", "预算合计(元)", "错误", "警告", "状态",
         "说明")
BOOK_WIDTHS = (6, 34, 24, 7, 7, 7, 16, 7, 7, 9, 50)
FINDINGS = ("工作簿", "严重程度", "代码", "规则", "单位", "项目编码", "项目名称", "工作表", "单元格",
            "说明")
FINDING_WIDTHS = (28, 8, 8, 26, 9, 24, 28, 26, 9, 70)


def write_review(path: str | Path, results: list[BookResult]) -> Path:
    """Write the review book atomically (XlsxWriter, constant memory: thousands of rows)."""
    import xlsxwriter

    from .template import BUILD_DATE

    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
        wb.set_properties({"title": "绩效目标审核", "author": "perfxl", "created": BUILD_DATE})
        wb.set_custom_property(OUTPUT_PROPERTY, OUTPUT_REVIEW)  # so no run reads it as a book
        bold = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_name": "宋体"})
        plain = wb.add_format({"font_name": "宋体"})
        money = wb.add_format({"font_name": "宋体", "num_format": "#,##0.00"})
        link = wb.add_format({"font_name": "宋体", "font_color": "#0563C1", "underline": 1})
        red = wb.add_format({"font_name": "宋体", "font_color": "#9C0006", "bg_color": "#FFC7CE"})
        amber = wb.add_format({"font_name": "宋体", "font_color": "#9C5700", "bg_color": "#FFEB9C"})
        green = wb.add_format({"font_name": "宋体", "font_color": "#006100", "bg_color": "#C6EFCE"})

        ws = wb.add_worksheet("工作簿")
        for c, w in enumerate(BOOK_WIDTHS):
            ws.set_column(c, c, w)
        ws.write_row(0, 0, BOOKS, bold)
        for i, r in enumerate(results, start=1):
            target = _relative(r.path, path)
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
                fs.write_string(row, 0, r.name, plain)
                fs.write_string(row, 1, SEVERITY_ZH[f.severity],
                                red if f.severity == "error" else amber)
                fs.write_row(row, 2, (f.code, f.rule, f.unit_code, f.project_code,
                                      f.project_name, f.sheet), plain)
                if f.sheet and f.cell:
                    sheet = f.sheet.replace("'", "''")
                    fs.write_url(row, 8, f"external:{target}#'{sheet}'!{f.cell}", link, f.cell)
                else:
                    fs.write_string(row, 8, f.cell, plain)
                fs.write_string(row, 9, f.message, plain)
                row += 1
        fs.freeze_panes(1, 0)
        fs.autofilter(0, 0, max(row - 1, 1), len(FINDINGS) - 1)
        wb.close()
    return path


def _relative(book: Path, review: Path) -> str:
    """The book's path relative to the review book's folder, so links survive moving both."""
    try:
        return os.path.relpath(book.resolve(), review.resolve().parent)
    except ValueError:  # another drive on Windows
        return str(book.resolve())
