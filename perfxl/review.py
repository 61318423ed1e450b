"""The reviewer's book for a folder validation: every department book with its totals and
counts, and every finding with a link to its cell in that book."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from .spill import Spilled
from .styles import BUILD_DATE, FONT, HEADER_FILL, LINE, LINK, MONEY, lines_needed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from xlsxwriter.worksheet import Worksheet

    from .batch import BookResult
    from .files import Given
    from .findings import Finding

BOOKS = ("序号", "工作簿", "部门", "年度", "单位数", "项目数", "预算合计(元)", "错误", "警告", "状态",
         "说明")
BOOK_WIDTHS = (5, 24, 24, 6, 7, 7, 15, 5, 5, 7, 40)
FINDINGS = ("工作簿", "严重程度", "代码", "规则", "单位", "项目编码", "项目名称", "工作表", "单元格",
            "说明")
FINDING_WIDTHS = (18, 9, 7, 20, 8, 23, 20, 18, 7, 50)
LINKS = 65_530
"""Excel's limit of links on one sheet: findings past it show their cell as text (XlsxWriter
would leave the cell empty). Each link is also held until the book is closed, so a province's
review book grows in memory only up to this many findings."""
WRAPPED = (0, 3, 6, 7, 9)
"""Columns of 问题 whose text wraps (the rows are as tall as their longest text)."""


def write_review(path: str | Path, results: list[BookResult], *,
                 inputs: Given = (), force: bool = False) -> Path:
    """Write the review book atomically: never over one of ``inputs`` (the folders and books
    validated), over an existing file only with ``force``."""
    with Review(path, inputs=inputs, force=force) as review:
        for r in results:
            review.add(r)
    return Path(path)


@dataclass
class _Book:
    """What the 工作簿 sheet shows of a book (its findings are written as it comes)."""

    name: str
    path: Path
    department: str
    error: str
    skipped: str
    read: bool
    year: int | None
    units: int
    projects: int
    total: Decimal
    errors: int
    warnings: int


class Review:
    """The review book written as the books come (XlsxWriter, constant memory: a province's
    findings never held): :meth:`add` writes a book's findings to 问题 at once and keeps one
    line of it for 工作簿, on disk; :meth:`cross` adds findings about a book made after it was added
    (the cross-book check), counted on its line; the 工作簿 sheet is written on closing.
    A context manager: the book is written atomically (``files.atomic_path``) on a clean exit."""

    def __init__(self, path: str | Path, *, inputs: Given = (), force: bool = False) -> None:
        self.path = Path(path)
        self._target = atomic_path(self.path, inputs, force=force)
        self._books: Spilled[_Book] = Spilled()  # a line per book, on disk
        self._later: dict[int, tuple[int, int]] = {}  # book → errors, warnings found later
        self._row = 1
        self._links = 0

    def __enter__(self) -> Review:
        from .xlsx import workbook_class  # its links wait on disk: memory stays flat

        tmp = self._target.__enter__()
        try:
            wb = workbook_class()(str(tmp), {"constant_memory": True,
                                                "strings_to_formulas": False,
                                                "strings_to_urls": False,
                                                "strings_to_numbers": False})
            wb.set_properties({"title": "绩效目标审核", "author": "perfxl",
                               "created": BUILD_DATE})
            wb.set_custom_property(OUTPUT_PROPERTY, OUTPUT_REVIEW)  # no run reads it as a book
            base = {"font_name": FONT, "valign": "top", "text_wrap": True}
            self.bold = wb.add_format({**base, "bold": True, "bg_color": HEADER_FILL,
                                       "border": 1})
            self.plain = wb.add_format(base)
            self.money = wb.add_format({**base, "num_format": MONEY})
            self.link = wb.add_format({**base, "font_color": LINK, "underline": 1})
            self.red = wb.add_format({**base, "font_color": ERROR_FONT, "bg_color": ERROR_FILL})
            self.amber = wb.add_format({**base, "font_color": WARNING_FONT,
                                        "bg_color": WARNING_FILL})
            self.green = wb.add_format({**base, "font_color": PASS_FONT, "bg_color": PASS_FILL})
            self.wb = wb
            self.ws = wb.add_worksheet("工作簿")
            self.fs = wb.add_worksheet("问题")
            for c, w in enumerate(FINDING_WIDTHS):
                self.fs.set_column(c, c, w)
            self.fs.write_row(0, 0, FINDINGS, self.bold)
        except BaseException:
            self._target.__exit__(*sys.exc_info())
            raise
        return self

    def add(self, r: BookResult) -> None:
        """A book: its findings to 问题 now, its line to 工作簿 when the book is closed."""
        report = r.report
        counts = report.counts if report is not None else {"error": 0, "warning": 0}
        self._books.append(_Book(r.name, r.path, r.department, r.error, r.skipped,
                                 report is not None, r.year, r.units, r.projects, r.total,
                                 counts["error"], counts["warning"]))
        if report is not None:
            self._findings(r.name, r.path, report.findings)

    def cross(self, book: int, findings: Sequence[Finding]) -> None:
        """Findings about the ``book``-th book added, made after it (the cross-book check)."""
        line = self._books[book]
        e, w = self._later.get(book, (0, 0))
        self._later[book] = (e + sum(f.severity == "error" for f in findings),
                             w + sum(f.severity == "warning" for f in findings))
        self._findings(line.name, line.path, findings)

    def _findings(self, name: str, book: Path, findings: Sequence[Finding]) -> None:
        fs, row = self.fs, self._row
        target = _relative(book, self.path)
        for f in findings:
            rule = rule_label(f.rule)
            texts = (name, "", "", rule, "", "", f.project_name, f.sheet, "", f.message)
            _height(fs, row, [(texts[c], FINDING_WIDTHS[c]) for c in WRAPPED])
            fs.write_string(row, 0, name, self.plain)
            fs.write_string(row, 1, SEVERITY_ZH[f.severity],
                            self.red if f.severity == "error" else self.amber)
            fs.write_row(row, 2, (f.code, rule, f.unit_code, f.project_code,
                                  f.project_name, f.sheet), self.plain)
            if f.sheet and f.cell and self._links < LINKS:
                fs.write_url(row, 8, f"external:{target}#{cell_ref(f.sheet, f.cell)}",
                             self.link, f.cell)
                self._links += 1
            else:
                fs.write_string(row, 8, f.cell, self.plain)
            fs.write_string(row, 9, f.message, self.plain)
            row += 1
        self._row = row

    def _book_sheet(self) -> None:
        ws, plain = self.ws, self.plain
        for c, w in enumerate(BOOK_WIDTHS):
            ws.set_column(c, c, w)
        ws.write_row(0, 0, BOOKS, self.bold)
        for i, b in enumerate(self._books, start=1):
            if i - 1 in self._later:
                e, w = self._later[i - 1]
                b.errors, b.warnings = b.errors + e, b.warnings + w
            target = _relative(b.path, self.path)
            _height(ws, i, ((b.name, BOOK_WIDTHS[1]), (b.department, BOOK_WIDTHS[2]),
                            (b.error or "", BOOK_WIDTHS[10])))
            ws.write_number(i, 0, i, plain)
            ws.write_url(i, 1, f"external:{target}", self.link, b.name)
            if b.skipped:
                ws.write_row(i, 2, ("", "", "", "", "", "", "", "已跳过", b.skipped), plain)
                continue
            if not b.read:
                ws.write_row(i, 2, ("", "", "", "", "", "", "", "无法读取"), plain)
                ws.write_string(i, 10, b.error, self.red)
                continue
            valid = b.errors == 0
            ws.write_string(i, 2, b.department, plain)
            ws.write(i, 3, b.year or "", plain)
            ws.write_number(i, 4, b.units, plain)
            ws.write_number(i, 5, b.projects, plain)
            ws.write_number(i, 6, float(b.total), self.money)
            ws.write_number(i, 7, b.errors, plain)
            ws.write_number(i, 8, b.warnings, plain)
            ws.write_string(i, 9, "通过" if valid else "未通过", self.green if valid else self.red)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(self._books), len(BOOKS) - 1)
        _print_setup(ws)

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None:  # else the temporary file is simply removed
                self._book_sheet()
                self.fs.freeze_panes(1, 0)
                self.fs.autofilter(0, 0, max(self._row - 1, 1), len(FINDINGS) - 1)
                _print_setup(self.fs)
                self.wb.close()
        except BaseException:
            self._target.__exit__(*sys.exc_info())
            raise
        self._target.__exit__(*exc)


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
