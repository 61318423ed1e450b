"""What perfxl writes into a checked book, defined once for every writer: the zip patcher of the
CLI (perfxl.annotate) and the ribbon's live-book writer (perfxl.xl.XlwingsBook) only place these.

- the live checks of each project sheet (perfxl.live: hidden counts, formula-driven marks,
  names) are the marks of the rules a formula can decide: a finding of such a rule, at a cell a
  live test covers, gets no other mark and no note;
- a finding of any other rule: its cell is marked by a conditional format whose formula is a
  constant only perfxl writes (so a later run finds and replaces it, and the user's own cell
  styles stay untouched), in Excel's own "light red fill with dark red text" (error) or "yellow
  fill with dark yellow text" (warning); a cell inside a merged range is marked at the range's
  top-left cell; the cell gets a note authored ``perfxl`` listing its findings and, last, when
  the check that found them ran (such a mark stays until the full check runs again);
- the 校验结果 sheet shows the book's live totals (formulas over the names
  ``perfxl_live_errors`` / ``perfxl_live_warnings``) above the last full check's counts, and
  lists every finding, one row each, with its status (a formula for a live finding, 需完整校验
  for the others) and a link to its cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .findings import ERROR, SEVERITY_ZH, WARNING, Finding, field_label
from .layout import LIVE_COLUMN, LIVE_ROWS, SHEET_RESULTS, STATUS_TITLE, parse_a1
from .live import FULL_CHECK, NAME_ERRORS, NAME_WARNINGS, OPEN, counts_text
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

_ABSOLUTE = re.compile(r"\$([A-Z]{1,3})\$(\d+)(?![\d(])")


def is_live_mark(formula: str) -> bool:
    """A conditional format perfxl's live checks wrote (perfxl.live): its formula refers to one
    of the hidden live cells (absolute, rows 1–4 from column AO), as no mark of the user's
    does; a later run replaces these as it does the constant marks."""
    for letters, row in _ABSOLUTE.findall(formula or ""):
        at = parse_a1(f"{letters}{row}")
        if at is not None and at[0] < LIVE_ROWS and at[1] >= LIVE_COLUMN:
            return True
    return False


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
_NOTE_TIME = re.compile(r"^\(校验时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2},需完整校验后更新\)$")


def check_time(checked_at: datetime) -> str:
    """The last line of a note: when the full check that found it ran (such a mark does not
    follow the user's typing; the next full check replaces it)."""
    return f"(校验时间 {checked_at:%Y-%m-%d %H:%M},需完整校验后更新)"


def note_text(findings: Sequence[Finding], checked_at: datetime | None = None) -> str:
    """The note on a marked cell: one line per distinct finding, ``【错误 PX301】message``,
    then the time of the check (:func:`check_time`)."""
    lines = dict.fromkeys(f"【{SEVERITY_ZH.get(f.severity, f.severity)} {f.code}】{f.message}"
                          for f in findings)
    if checked_at is not None:
        lines[check_time(checked_at)] = None
    return "\n".join(lines)


def is_perfxl_note(text: str, author: str = "") -> bool:
    """A note perfxl wrote: authored ``perfxl``, or (should Excel have signed it with the
    user's name) every line a finding in perfxl's wording, or the time of its check."""
    if author == AUTHOR:
        return True
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return any(_NOTE_LINE.match(line) for line in lines) and \
        all(_NOTE_LINE.match(line) or _NOTE_TIME.match(line) for line in lines)


# --- the 校验结果 sheet --------------------------------------------------------------------------

RESULT_COLUMNS = (("序号", 6), ("严重程度", 9), ("状态", 11), ("代码", 8), ("规则", 22), ("单位", 9),
                  ("项目编码", 24), ("项目名称", 26), ("字段", 20), ("单元格", 42), ("说明", 56))
"""The table's headers and column widths in characters."""
LIVE_ROW = 2  # 1-based: the book's live totals (formulas), under the title
SUMMARY_ROW = 3  # the last full check: its counts, when, which book
RESULT_HEADER_ROW = 5  # the table's header, after a blank row
STATUS_COLUMN = 3  # 1-based: 状态, beside 严重程度 (seen without scrolling; filterable)
CELL_COLUMN = 10  # 1-based: 单元格, a link to the finding's cell


@dataclass(frozen=True)
class Status:
    """A finding's 状态 on 校验结果: a formula that follows the user's typing (a live finding,
    ``formula`` from :meth:`perfxl.live.SheetChecks.status`), else 需完整校验; ``text`` is the
    value shown until the book is recalculated."""

    formula: str | None
    text: str


def status(formula: str | None) -> Status:
    """The status of a finding whose live status formula is ``formula`` (None: not live)."""
    return Status(formula, OPEN) if formula else Status(None, FULL_CHECK)


def live_totals(errors: int, warnings: int) -> tuple[str, str]:
    """The live totals line of 校验结果: its formula over the book's names and the value it has
    now (``errors``/``warnings``: the counts the live cells were written with)."""
    formula = (f'="{STATUS_TITLE}: 错误 "&{NAME_ERRORS}&" 项,警告 "&{NAME_WARNINGS}&" 项"')
    return formula, f"{STATUS_TITLE}: {counts_text(errors, warnings)}"


FULL_CHECK_TITLE = "完整校验"


@dataclass(frozen=True)
class ResultSummary:
    text: str
    role: str  # summary-error / summary-warning / summary-ok
    tab: str   # tab colour, #RRGGBB


def result_summary(findings: Sequence[Finding], checked_at: datetime,
                   book_label: str) -> ResultSummary:
    """The line of the last full check (under the live totals): the counts, when, which book;
    and the tab's colour."""
    errors = sum(f.severity == ERROR for f in findings)
    warnings = sum(f.severity == WARNING for f in findings)
    when = f"校验时间 {checked_at:%Y-%m-%d %H:%M:%S}"
    label = f" · {book_label}" if book_label else ""
    if not findings:
        return ResultSummary(f"{FULL_CHECK_TITLE}: 校验通过 (no errors or warnings) · {when}{label}",
                             "summary-ok", PASS_FONT)
    text = f"{FULL_CHECK_TITLE}: 错误 {errors} 项,警告 {warnings} 项 · {when}{label}"
    return (ResultSummary(text, "summary-error", "#C00000") if errors
            else ResultSummary(text, "summary-warning", "#FFC000"))


def place(f: Finding, sheet: str = "", cell: str = "") -> str:
    """The 单元格 text: where the mark is (``sheet`` and ``cell``, when the book has them), else
    where the finding points."""
    if sheet and cell:
        return f"{sheet}!{cell}"
    return f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet or f.cell


def result_row(f: Finding, place: Any, state: Any) -> list[Any]:
    """A finding's row on 校验结果 after its number (RESULT_COLUMNS): ``state`` is its 状态 as
    the writer places it (:func:`status`); the rule and the field in Chinese with the slug and
    the canonical name beside them, for searching."""
    return [SEVERITY_ZH.get(f.severity, f.severity), state, f.code, rule_label(f.rule),
            f.unit_code, f.project_code, f.project_name, field_label(f.field), place, f.message]
