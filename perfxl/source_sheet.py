"""The 来源 sheet of a merged book: one row per input file (name, SHA-256, size, time, the units
and projects taken from it, and what was skipped and why)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .layout import SHEET_SOURCES
from .styles import row_height

if TYPE_CHECKING:
    from xlsxwriter.workbook import Workbook

    from .styles import Styles

SOURCE_HEADERS = ("序号", "文件名", "SHA-256", "大小(字节)", "修改时间", "单位", "取用的项目",
                  "跳过及原因")
SOURCE_WIDTHS = (5, 30, 66, 11, 19, 16, 40, 60)


class Source(Protocol):
    """What the sheet shows of one input of a merge (``merge.Source``)."""

    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def modified(self) -> dt.datetime | None: ...
    @property
    def error(self) -> str: ...
    @property
    def units(self) -> list[str]: ...
    @property
    def taken(self) -> list[str]: ...
    @property
    def skipped(self) -> list[str]: ...


def sources_sheet(wb: Workbook, st: Styles, sources: Sequence[Source]) -> None:
    """One row per input, at row ``source.row + 1`` (findings point at column B there)."""
    ws = wb.add_worksheet(SHEET_SOURCES)
    for c, w in enumerate(SOURCE_WIDTHS):
        ws.set_column(c, c, w)
    ws.write_string(0, 0, "来源 (合并的输入文件)", st.section)
    for c, h in enumerate(SOURCE_HEADERS):
        ws.write_string(1, c, h, st.header)
    for i, s in enumerate(sources, start=1):
        r = i + 1
        skipped = "\n".join([*([s.error] if s.error else []), *s.skipped])
        values: tuple[Any, ...] = (
            str(i), s.name, s.sha256, s.size, s.modified.isoformat(sep=" ") if s.modified else "",
            "、".join(s.units), "、".join(s.taken), skipped)
        for c, v in enumerate(values):
            if isinstance(v, int):
                ws.write_number(r, c, v, st.cell)
            else:
                ws.write_string(r, c, v, st.cell)
        ws.set_row(r, row_height((skipped, SOURCE_WIDTHS[7]), ("、".join(s.taken),
                                                             SOURCE_WIDTHS[6])))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, 1 + len(sources), len(SOURCE_HEADERS) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
