"""XlsxWriter's Workbook as perfxl's writers use it, with the costs that grow with the size of a
book kept linear. The bytes written are XlsxWriter's own; only the way to them is shorter.

- A new sheet's name is checked against a set of the names in use (XlsxWriter compares it with
  every sheet added before: a 10,000-project book spent minutes there).
- A formula of portable functions skips the ~130 regular expressions that look for functions
  newer than Excel 2007 (the live checks write thousands of formulas).
- A sheet written in constant-memory mode keeps its hyperlinks in a temporary file until it is
  assembled, not in memory (XlsxWriter holds each, ≈ 0.9 KB, up to 65,530 a sheet, to write them
  after the cells), and drops a row's settings once the row is written: a province's review book
  stays flat.
- A format given to a wide range of columns (a project sheet's columns right of the live cells,
  to the last column XFD) is kept as one range, not as 16,000 entries; and the rows are written
  from the cells each row holds, not by trying every column of the sheet's width (that width is
  XFD once such a range has a format: XlsxWriter tried 16,384 columns on every row, twice).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from .spill import Spilled

WIDE = 64
"""Columns from which a range given a format is kept as one range."""


class Columns(dict[int, Any]):
    """A sheet's column settings (XlsxWriter's ``col_info``: column → ColumnInfo) that also holds
    wide ranges as ranges. A later setting wins: a range drops the single columns set before it
    inside it, and a column set after a range is looked up before the ranges."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[int, int, Any]] = []

    def set_range(self, first: int, last: int, info: Any) -> None:
        for col in [c for c in dict.keys(self) if first <= c <= last]:
            dict.__delitem__(self, col)
        self.ranges.append((first, last, info))

    def _ranged(self, col: Any) -> Any:
        for first, last, info in reversed(self.ranges):
            if first <= col <= last:
                return info
        return None

    def __contains__(self, col: object) -> bool:
        return dict.__contains__(self, col) or self._ranged(col) is not None

    def __getitem__(self, col: int) -> Any:
        if dict.__contains__(self, col):
            return dict.__getitem__(self, col)
        info = self._ranged(col)
        if info is None:
            raise KeyError(col)
        return info

    def get(self, col: int, default: Any = None) -> Any:
        if dict.__contains__(self, col):
            return dict.__getitem__(self, col)
        info = self._ranged(col)
        return default if info is None else info

    def __bool__(self) -> bool:
        return bool(len(self) or self.ranges)

    def runs(self) -> list[tuple[int, int, Any]]:
        """(first, last, setting) of every run of equal settings, left to right, as XlsxWriter
        writes its ``<col>`` elements."""
        edges = {e for first, last, _ in self.ranges for e in (first, last + 1)}
        edges.update(e for col in dict.keys(self) for e in (col, col + 1))
        bounds = sorted(edges)
        out: list[tuple[int, int, Any]] = []
        for start, end in itertools.pairwise(bounds):
            if start not in self:
                continue
            info = self[start]
            if out and out[-1][1] == start - 1 and out[-1][2] == info:
                out[-1] = (out[-1][0], end - 1, info)
            else:
                out.append((start, end - 1, info))
        return out


@functools.cache
def workbook_class() -> type:
    """XlsxWriter's Workbook whose sheets are :func:`sheet_class`'s."""
    import xlsxwriter
    from xlsxwriter.exceptions import DuplicateWorksheetName

    class Workbook(xlsxwriter.Workbook):
        worksheet_class = sheet_class()
        on_sheet_written: Callable[[], Any] | None = None
        """Called as each worksheet's XML is written out (by ``close``): a progress bar's."""

        def _add_sheet(self, name: Any, worksheet_class: Any = None) -> Any:
            sheet = super()._add_sheet(name, worksheet_class)
            sheet.perfxl_book = self
            return sheet

        def _check_sheetname(self, sheetname: Any, is_chartsheet: bool = False) -> Any:
            sheets: list[Any] = self.__dict__["worksheets_objs"]
            self.worksheets_objs = []
            try:  # length, characters, apostrophes, default names: XlsxWriter's own checks
                name = super()._check_sheetname(sheetname, is_chartsheet)
            finally:
                self.worksheets_objs = sheets
            used: set[str] = self.__dict__.setdefault("_perfxl_names", set())
            if name.lower() in used:
                raise DuplicateWorksheetName(
                    f"Sheetname '{name}', with case ignored, is already in use.")
            used.add(name.lower())
            return name

    return Workbook


@functools.lru_cache(maxsize=8192)
def portable(formula: str) -> str | None:
    """A formula as XlsxWriter stores it (no braces, no ``=``) when it has only portable
    functions, else None. Cached: every project sheet writes the same live formulas, which are
    then searched once and held once in memory (a book of 10,000 sheets held each of them
    10,000 times)."""
    from .formula import PORTABLE_FUNCTIONS, functions_in

    if functions_in(formula) <= PORTABLE_FUNCTIONS:
        return formula.removeprefix("{").removeprefix("=").removesuffix("}")
    return None


@functools.cache
def sheet_class() -> type:
    from xlsxwriter.worksheet import Worksheet

    class Sheet(Worksheet):
        def __init__(self) -> None:
            super().__init__()
            self.col_info = Columns()

        def _write_url(self, row: int, col: int, url: Any, cell_format: Any = None,
                       string: Any = None, tip: Any = None) -> int:
            done = super()._write_url(row, col, url, cell_format, string, tip)
            table: dict[int, dict[int, Any]] = self.__dict__["hyperlinks"]
            held = table.get(row) if self.constant_memory else None
            if held and col in held:  # to the file, in the order written
                spill: _Spill | None = self.__dict__.get("_perfxl_links")
                if spill is None:
                    spill = self._perfxl_links = _Spill()
                spill.add(row, col, held.pop(col))
                if not held:
                    del table[row]
            return int(done)

        def _write_single_row(self, current_row_num: int = 0) -> None:
            row = self.previous_row
            super()._write_single_row(current_row_num)
            self.row_info.pop(row, None)  # a row's settings are read only to write it

        def _write_hyperlinks(self) -> None:
            spill: _Spill | None = self.__dict__.get("_perfxl_links")
            if spill is None:
                super()._write_hyperlinks()
                return
            mine = self.__dict__
            held, mine["hyperlinks"] = mine["hyperlinks"], _Links(spill.links)
            try:
                super()._write_hyperlinks()
            finally:
                mine["hyperlinks"] = held
                spill.items.close()
                del self._perfxl_links

        def _assemble_xml_file(self) -> None:
            super()._assemble_xml_file()
            book = getattr(self, "perfxl_book", None)
            if book is not None and book.on_sheet_written is not None:
                book.on_sheet_written()

        def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
            prepared = portable(formula)
            if prepared is not None:
                return prepared
            return str(super()._prepare_formula(formula, expand_future_functions))

        def set_column_pixels(self, first_col: Any, last_col: Any, width: Any = None,
                              cell_format: Any = None, options: Any = None) -> Any:
            if first_col > last_col:
                first_col, last_col = last_col, first_col
            if last_col - first_col < WIDE:
                return super().set_column_pixels(first_col, last_col, width, cell_format,
                                                 options)
            # XlsxWriter's own checks and setting, on the range's two ends; then one range
            for col in (first_col, last_col):
                if super().set_column_pixels(col, col, width, cell_format, options):
                    return -1
            self.col_info.set_range(first_col, last_col, self.col_info[first_col])
            return 0

        def _write_cols(self) -> None:
            runs = self.col_info.runs()
            if not runs:
                return
            self._xml_start_tag("cols")
            for first, last, info in runs:
                self._write_col_info(first, last, info)
            self._xml_end_tag("cols")

        def _calculate_spans(self) -> None:
            # XlsxWriter's spans (the columns used in each block of 16 rows), from the cells and
            # comments each row holds
            spans = {}
            low: int | None = None
            high: int | None = None
            for row in range(self.dim_rowmin, self.dim_rowmax + 1):
                for held in (self.table.get(row), self.comments.get(row)):
                    if held:
                        lo, hi = min(held), max(held)
                        low, high = (lo, hi) if low is None or high is None else \
                            (min(low, lo), max(high, hi))
                if (row + 1) % 16 == 0 or row == self.dim_rowmax:
                    if low is not None and high is not None:
                        spans[row // 16] = f"{low + 1}:{high + 1}"
                    low = high = None
            self.row_spans = spans

        def _write_rows(self) -> None:
            self._calculate_spans()
            table, comments, info = self.table, self.comments, self.row_info
            for row in range(self.dim_rowmin, self.dim_rowmax + 1):
                cells = table.get(row)
                if not (row in info or row in comments or cells):
                    continue
                span = self.row_spans.get(row // 16)
                if cells:
                    self._write_row(row, span, info.get(row))
                    for col in sorted(cells):
                        self._write_cell(row, col, cells[col])
                    self._xml_end_tag("row")
                else:
                    self._write_empty_row(row, span, info.get(row))

    return Sheet


class _Spill:
    """A sheet's links (row, column, XlsxWriter's link) in a temporary file, as written."""

    def __init__(self) -> None:
        self.items: Spilled[tuple[int, int, Any]] = Spilled()
        self.last = (-1, -1)
        self.ordered = True

    def add(self, row: int, col: int, url: Any) -> None:
        self.items.append((row, col, url))
        self.ordered = self.ordered and (row, col) > self.last
        self.last = (row, col)

    def links(self) -> Iterator[tuple[int, int, Any]]:
        """In row and column order, a later link of a cell winning (as XlsxWriter's table of
        links keeps them): streamed when written in that order, else sorted in memory."""
        if self.ordered:
            yield from self.items
            return
        mine = {(row, col): url for row, col, url in self.items}
        yield from ((row, col, mine[(row, col)]) for row, col in sorted(mine))


class _Links:
    """XlsxWriter's table of a sheet's links (row → column → link) as its ``_write_hyperlinks``
    reads it: all rows first (one pass over the links, held one at a time), then each row's
    links as the row is asked for, from a second pass in row and column order."""

    def __init__(self, links: Callable[[], Iterator[tuple[int, int, Any]]]) -> None:
        self._rows = sorted({row for row, _col, _url in links()})
        self._links = links()
        self._next: tuple[int, int, Any] | None = next(self._links, None)
        self._row: tuple[int, dict[int, Any]] = (-1, {})

    def keys(self) -> list[int]:
        return self._rows

    def __getitem__(self, row: int) -> dict[int, Any]:
        if self._row[0] != row:  # XlsxWriter asks for a row once per link of it
            out: dict[int, Any] = {}
            while self._next is not None and self._next[0] == row:
                out[self._next[1]] = self._next[2]
                self._next = next(self._links, None)
            self._row = (row, out)
        return self._row[1]
