"""How the books perfxl writes look: fonts, number formats, colours, the fixed build date and the
row-height estimate, for every writer (the template and its 汇总 and 来源 sheets, the review book,
the 校验结果 sheet and notes of an annotated book, the ribbon's live-book writer).

Colours are given as ``#RRGGBB`` (XlsxWriter's form); :func:`argb` and :func:`rgb` give the
forms the XML patcher and COM need.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import TYPE_CHECKING, Any

from .marks import MARK_COLOURS

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook

BUILD_DATE = dt.datetime(2021, 1, 1, 0, 0, 0)
"""The creation date written into every new book, so two builds of the same data give the same
bytes."""
FONT = "宋体"
TITLE_FONT = "黑体"
MONEY = "#,##0.00"
PERCENT = "0.00%"

LABEL_FILL = "#F2F2F2"
HEADER_FILL = "#D9E1F2"
LINK = "#0563C1"
NOTE = "#595959"
GRID = "#BFBFBF"


def argb(colour: str) -> str:
    """``#9C0006`` → ``FF9C0006`` (an opaque ARGB, as SpreadsheetML stores colours)."""
    return "FF" + colour.lstrip("#").upper()


def rgb(colour: str) -> tuple[int, int, int]:
    """``#9C0006`` → ``(0x9C, 0x00, 0x06)``."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class Styles:
    """The few formats the form uses, made once per workbook."""

    def __init__(self, wb: Workbook) -> None:
        base: dict[str, Any] = {"font_name": FONT, "font_size": 10, "valign": "vcenter",
                                "text_wrap": True}
        boxed = {**base, "border": 1}
        # A cell with no format of its own is unlocked: a row of the indicator table can then be
        # deleted on the protected sheet (Excel and LibreOffice refuse a row with a locked cell
        # anywhere in it), while every label, total and live cell is locked by its format. Not a
        # column format to the sheet's last column: LibreOffice's load time doubles with one.
        wb.formats[0].set_locked(False)

        def fmt(props: dict[str, Any], **kw: Any) -> Format:
            return wb.add_format({**props, **kw})

        self.title = fmt(base, font_name=TITLE_FONT, font_size=16, bold=True, align="center")
        self.plain = fmt(base)
        self.note = fmt(base, font_color=NOTE)
        self.section = fmt(base, bold=True, font_size=11)
        self.label = fmt(boxed, align="center", bg_color=LABEL_FILL, bold=True)
        self.label_left = fmt(boxed, bg_color=LABEL_FILL, bold=True)
        self.header = fmt(boxed, align="center", bg_color=HEADER_FILL, bold=True)
        self.text = fmt(boxed, locked=False, num_format="@")
        self.text_center = fmt(boxed, locked=False, num_format="@", align="center")
        self.money = fmt(boxed, locked=False, num_format=MONEY)
        self.percent = fmt(boxed, locked=False, num_format=PERCENT, align="center")
        self.number = fmt(boxed, locked=False, align="center")
        self.total = fmt(boxed, bold=True, align="center", bg_color=LABEL_FILL)
        self.money_unit = fmt(base, align="right")
        # 汇总: generated cells, boxed, no input colours
        self.cell = fmt(boxed)
        self.cell_center = fmt(boxed, align="center")
        self.cell_money = fmt(boxed, num_format=MONEY, align="right")  # 未填 too
        self.link = fmt(boxed, font_color=LINK, underline=1)
        self.total_left = fmt(boxed, bold=True, bg_color=LABEL_FILL)
        self.total_money = fmt(boxed, bold=True, bg_color=LABEL_FILL, num_format=MONEY)
        # live checks (live.py): hidden locked cells, the status line, the marks
        self.live = fmt(base, locked=True, hidden=True, text_wrap=False)
        self.live_status = fmt(base, locked=True, hidden=True, text_wrap=False, bold=True,
                               font_color=LINK)
        self.marks = {severity: wb.add_format({"font_color": font, "bg_color": fill})
                      for severity, (font, fill) in MARK_COLOURS.items()}


# --- text metrics: Excel and LibreOffice don't fit a row's height to wrapped text when they open
# a book (nor ever for merged cells), so every writer sets it from this estimate -----------------

LINE = 15.0
"""Points per line of text in a table row (11 pt text)."""


def display_width(s: str) -> int:
    """Half-width columns ``s`` takes: a CJK (wide or full-width) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def text_lines(text: str, columns: float) -> int:
    """Lines ``text`` needs when wrapped at ``columns`` half-width characters; each line break
    starts a line."""
    usable = max(columns, 1)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in (text or "").split("\n"))


def lines_needed(s: str, width: float) -> int:
    """Lines ``s`` needs in a column ``width`` characters wide (a character's width is padding)."""
    return text_lines(s, max(width - 1, 4))


def row_height(*cells: tuple[str, float], minimum: float = 20) -> float:
    """Points for a row of the form (10 pt text) whose cells hold ``(text, column width)``."""
    lines = max((lines_needed(text, width) for text, width in cells), default=1)
    return max(minimum, 13.5 * lines + 6)
