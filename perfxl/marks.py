"""What perfxl writes into a checked book, defined once for every writer: the zip patcher of the
CLI (perfxl.annotate) and the ribbon's live-book writer (perfxl.xl.XlwingsBook) only place these.

- a finding's cell is marked by a conditional format whose formula is a constant only perfxl
  writes (so a later run finds and replaces it, and the user's own cell styles stay untouched),
  in Excel's own "light red fill with dark red text" (error) or "yellow fill with dark yellow
  text" (warning); a cell inside a merged range is marked at the range's top-left cell;
- the cell gets a note authored ``perfxl`` listing its findings;
- the 校验结果 sheet lists every finding, one row each, with a link to its cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .findings import ERROR, SEVERITY_ZH, WARNING, Finding, field_label
from .layout import SHEET_RESULTS
from .rules import rule_label

RESULT_SHEET = SHEET_RESULTS
AUTHOR = "perfxl"
"""The author of perfxl's notes: what tells them from the user's."""

ERROR_FORMULA = '"perfxl"="perfxl"'
WARNING_FORMULA = '"perfxl-w"="perfxl-w"'
MARK_FORMULAS = {ERROR: ERROR_FORMULA, WARNING: WARNING_FORMULA}

# Colours (#RRGGBB; styles.argb/rgb for other forms): Excel's own presets for bad/neutral/good.
ERROR_FONT, ERROR_FILL = "#9C0006", "#FFC7CE"
WARNING_FONT, WARNING_FILL = "#9C5700", "#FFEB9C"
PASS_FONT, PASS_FILL = "#006100", "#C6EFCE"
MARK_COLOURS = {ERROR: (ERROR_FONT, ERROR_FILL), WARNING: (WARNING_FONT, WARNING_FILL)}
"""(font, fill) of a marked cell by severity."""


# --- where a mark goes -----------------------------------------------------------------------------

def quote_sheet(name: str) -> str:
    """A sheet name as a formula or link refers to it: always quoted, ``'`` doubled."""
    return "'" + name.replace("'", "''") + "'"


def cell_ref(sheet: str, cell: str) -> str:
    """``'sheet'!C4``."""
    return f"{quote_sheet(sheet)}!{cell}"


Merge = tuple[int, int, int, int]  # a merged range (r0, c0, r1, c1), 0-based, inclusive


def anchor(merges: Sequence[Merge], row: int, col: int) -> tuple[int, int]:
    """The cell (0-based) that stands for ``(row, col)``: the top-left of the merged range that
    contains it (the cell Excel shows and keeps the value of), else the cell itself."""
    for r0, c0, r1, c1 in merges:
        if r0 <= row <= r1 and c0 <= col <= c1:
            return r0, c0
    return row, col


# --- the note --------------------------------------------------------------------------------------

_NOTE_LINE = re.compile(r"^【(错误|警告) PX\d+】")


def note_text(findings: Sequence[Finding]) -> str:
    """The note on a marked cell: one line per distinct finding, ``【错误 PX301】message``."""
    lines = dict.fromkeys(f"【{SEVERITY_ZH.get(f.severity, f.severity)} {f.code}】{f.message}"
                          for f in findings)
    return "\n".join(lines)


def is_perfxl_note(text: str, author: str = "") -> bool:
    """A note perfxl wrote: authored ``perfxl``, or (should Excel have signed it with the
    user's name) every line a finding in perfxl's wording."""
    if author == AUTHOR:
        return True
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return bool(lines) and all(_NOTE_LINE.match(line) for line in lines)


# --- the 校验结果 sheet --------------------------------------------------------------------------

RESULT_COLUMNS = (("序号", 6), ("严重程度", 9), ("代码", 8), ("规则", 22), ("单位", 9), ("项目编码", 24),
                  ("项目名称", 26), ("字段", 20), ("单元格", 42), ("说明", 56))
"""The table's headers and column widths in characters."""
RESULT_HEADER_ROW = 4  # 1-based; row 1 is the title, row 2 the summary
CELL_COLUMN = 9  # 1-based: 单元格, a link to the finding's cell


@dataclass(frozen=True)
class ResultSummary:
    text: str
    role: str  # summary-error / summary-warning / summary-ok
    tab: str   # tab colour, #RRGGBB


def result_summary(findings: Sequence[Finding], checked_at: datetime,
                   book_label: str) -> ResultSummary:
    """The line under the title: the counts, when, which book; and the tab's colour."""
    errors = sum(f.severity == ERROR for f in findings)
    warnings = sum(f.severity == WARNING for f in findings)
    when = f"校验时间 {checked_at:%Y-%m-%d %H:%M:%S}"
    label = f" · {book_label}" if book_label else ""
    if not findings:
        return ResultSummary(f"校验通过 (no errors or warnings) · {when}{label}", "summary-ok",
                             PASS_FONT)
    text = f"错误 {errors} 项,警告 {warnings} 项 · {when}{label}"
    return (ResultSummary(text, "summary-error", "#C00000") if errors
            else ResultSummary(text, "summary-warning", "#FFC000"))


def place(f: Finding, sheet: str = "", cell: str = "") -> str:
    """The 单元格 text: where the mark is (``sheet`` and ``cell``, when the book has them), else
    where the finding points."""
    if sheet and cell:
        return f"{sheet}!{cell}"
    return f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet or f.cell


def result_row(f: Finding, place: Any) -> list[Any]:
    """A finding's row on 校验结果 after its number (RESULT_COLUMNS): the rule and the field in
    Chinese with the slug and the canonical name beside them, for searching."""
    return [SEVERITY_ZH.get(f.severity, f.severity), f.code, rule_label(f.rule), f.unit_code,
            f.project_code, f.project_name, field_label(f.field), place, f.message]
