"""Which live checks (perfxl.live) each project sheet of a book that was read gets, at the cells
its cell map gives: what the writers that add them to a user's book (the zip patcher in
perfxl.annotate, the ribbon in perfxl.xl) place, and which findings they then cover.

A project's :class:`~perfxl.formula.Context` comes from the reader: its cells, its money unit
(万元 → a factor of 10000), whether its plan was typed as whole percents, the fields its form
has no place for, the department's year, and its indicator table:

- the header row is the row above the first indicator row (on our template with no indicator
  yet, the row below 绩效目标);
- the bottom is the first row after the last indicator that holds something other than an
  indicator's categories (a note, the next table's title), so that rows typed or inserted in
  the blank rows between are covered; a table at the foot of its sheet covers
  :data:`SPARE_ROWS` rows below its last;
- the columns are the indicators' (一级 … 指标值确定依据). A table without its own 一级, 二级,
  三级 or 指标值 column gets no table checks; one without 绩效指标描述 or 指标值确定依据 gets
  none of the checks of that column (its form has no place for it).

One sheet holds one set of live cells (perfxl.live's fixed cells from AO1), so only the first
project of a sheet gets live checks; the other projects of a sheet of several tables (and the
rows of an 一体化 import sheet, where projects share one table) keep the full check's marks.
A sheet whose rows 1–4 hold the user's own data from column AO gets none either.

The status line: I1 on our template's sheets; elsewhere row 1, two columns right of the last
used column (right of the hidden test columns when that would fall among them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import live
from .forms import _NUMBERED as NUMBERED
from .forms import IMPORT, MONITOR, SELFEVAL
from .layout import (
    FIRST_TEST_COLUMN,
    INDICATOR_COLUMNS,
    LIVE_COLUMN,
    LIVE_ROWS,
    column_letters,
    parse_a1,
)
from .model import LEVELS, Department, Project
from .rules import RulesConfig
from .values import text_key

if TYPE_CHECKING:
    from .findings import Finding
    from .read import Grid

SPARE_ROWS = 20
"""Rows below a table at the foot of its sheet that its live checks cover (rows added below)."""
FIELDS = ("level1", "level2", "level3", "description", "value", "basis")
NEEDED = ("level1", "level2", "level3", "value")
"""Columns without which a table gets no table checks."""
OPTIONAL = {"description": "indicator.description", "basis": "indicator.basis"}
"""Columns a form may lack: their checks are left out (the field is absent), and the indicator
rows are told by the other columns."""


def targets(dept: Department, sheets: Iterable[str]) -> Iterator[Project]:
    """The projects that get live checks: the first of each sheet the book has, read at cells
    (not an 一体化 import sheet's rows, nor a 绩效自评 sheet: the target rules are not its; a
    monitoring sheet has its own, monitor_book.py)."""
    have = set(sheets)
    seen: set[str] = set()
    for p in dept.projects:
        if not p.sheet or p.sheet in seen:
            continue
        seen.add(p.sheet)
        if p.sheet in have and p.cells and p.form not in (IMPORT, SELFEVAL, MONITOR):
            yield p


def ours(dept: Department, p: Project) -> bool:
    """A project sheet of our template (read by label, with the template's version)."""
    return dept.template_version is not None and not p.form


def project_checks(dept: Department, p: Project, g: Grid, config: RulesConfig | None,
                   findings: Sequence[Finding] = ()) -> live.SheetChecks | None:
    """The live checks of project ``p`` on its sheet ``g`` (the sheet as read: perfxl's own
    live cells left out), None when the sheet gets none."""
    if _taken(g):
        return None
    template = ours(dept, p)
    table, absent = table_of(p, g, template=template)
    ctx = live.context(p.cells, config or RulesConfig(), year=dept.year, table=table,
                       amount_unit=p.amount_unit, whole_percents=p.plan_whole_percents,
                       absent=p.absent | absent)
    n = len(live.tests(ctx))
    if not n:
        return None
    checks = live.sheet_checks(p.sheet, ctx, findings,
                               status_cell=status_cell(g, n, template=template),
                               started=started(p))
    return checks if checks.placed else None


_AMOUNTS = ("project.budget", "project.fiscal", "project.other")


def started(p: Project) -> bool:
    """The live checks' started flag as the book will compute it (live._started): a code, a
    name, an amount (a number or text) or an indicator row."""
    return bool(p.code_raw or p.name or p.indicators
                or any(getattr(p, f.removeprefix("project.")) is not None or f in p.raw
                       for f in _AMOUNTS))


def book_checks(dept: Department, grid: Callable[[str], Grid | None],
                config: RulesConfig | None,
                findings: Sequence[Finding] = ()) -> dict[str, live.SheetChecks]:
    """Every sheet's live checks (sheet → checks); ``grid`` gives a sheet as read (None when
    the book has no such sheet)."""
    by_sheet: dict[str, list[Finding]] = {}
    for f in findings:
        by_sheet.setdefault(f.sheet, []).append(f)
    out: dict[str, live.SheetChecks] = {}
    for p in targets(dept, [p.sheet for p in dept.projects]):
        g = grid(p.sheet)
        if g is None:
            continue
        checks = project_checks(dept, p, g, config, by_sheet.get(p.sheet, ()))
        if checks is not None:
            out[p.sheet] = checks
    return out


# --- the indicator table ---------------------------------------------------------------------------

_CELL = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)")


def _split(cell: str) -> tuple[str, int] | None:
    m = _CELL.fullmatch(cell or "")
    return (m.group(1), int(m.group(2))) if m else None


def table_of(p: Project, g: Grid, *, template: bool = False) -> tuple[live.Table | None, set[str]]:
    """The project's indicator table for its live checks, and the fields it lacks."""
    letters: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
    rows: list[int] = []
    for ind in p.indicators:
        for f in FIELDS:
            got = _split(ind.cells.get(f, ""))
            if got is None:
                continue
            letters[f][got[0]] += 1
            if f != "level1":  # a merged 一级 stands at the top of its run
                rows.append(got[1])
    columns = {f: c.most_common(1)[0][0] for f, c in letters.items() if c}
    if columns.get("level1") and columns.get("level1") == columns.get("level2"):
        del columns["level1"]  # no 一级 column: the form's 一级 follows from its 二级
    if rows:
        top, last = min(rows) - 1, max(rows)
    elif template and _split(str(p.cells.get("project.goals", ""))):
        goals = _split(str(p.cells["project.goals"]))
        assert goals is not None
        top = last = goals[1] + 1
        columns = {f: column_letters(c) for f, c in INDICATOR_COLUMNS.items()}
    else:
        return None, set()
    if top < 1 or any(f not in columns for f in NEEDED):
        return None, set()
    at = {f: (parse_a1(f"{letters}1") or (0, 0))[1] for f, letters in columns.items()}
    top = g.anchor(top - 1, at["level1"])[0] + 1  # a header of two rows: from its first
    absent = set()
    for f, name in OPTIONAL.items():
        if f not in columns:
            columns[f] = columns["level3"]  # the row test reads 三级 twice: the same test
            at[f] = at["level3"]
            absent.add(name)
    table = live.Table(top, _bottom(g, last, at), columns)
    first = min(rows) if rows else top + 1
    return (table if _readable(g, table, at, first) else None), absent


def _readable(g: Grid, table: live.Table, at: dict[str, int], first: int) -> bool:
    """The formulas read the table's rows as the reader does: no cell merged down over rows
    below ``first`` (the first indicator row) but in 一级 (the reader gives each row the
    range's value, a formula sees it in the first row only), and no 三级 that is only a
    number (``指标2:``, which the national form's reader passes over)."""
    columns = {c for f, c in at.items() if f != "level1"}
    for r0, c0, r1, c1 in g.merges:
        if r1 > r0 and r1 >= first - 1 and r0 <= table.bottom - 1 and \
                any(c0 <= c <= c1 for c in columns):
            return False
    for r in range(first - 1, min(table.bottom, g.height)):
        label = _text(g.raw(r, at["level3"]))
        if label and not NUMBERED.sub("", label):
            return False
    return True


def _bottom(g: Grid, last: int, at: dict[str, int]) -> int:
    """The first row (1-based) after ``last`` that is not blank to an indicator table."""
    for row in range(last + 1, g.height + 1):
        if not _blank(g, row - 1, at):
            return row
    return last + 1 + SPARE_ROWS


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _blank(g: Grid, r: int, at: dict[str, int]) -> bool:
    """A row the reader would pass over in a table: no 三级, description, value or basis, and
    in 一级 nothing or a category (a placeholder row of categories, or an empty row)."""
    others = {at[f] for f in ("level3", "description", "value", "basis") if f in at}
    if any(_text(g.raw(r, c)) for c in others):
        return False
    first = text_key(_text(g.raw(r, at["level1"]))) if "level1" in at else ""
    second = _text(g.raw(r, at["level2"])) if "level2" in at else ""
    return not first or first in LEVELS or bool(second)


# --- where the status line goes, and whether the live cells may go at all -------------------------

def _taken(g: Grid) -> bool:
    """The user's own data in rows 1–4 from column AO (where the live cells go)."""
    return any(_text(v) for row in g.rows[:LIVE_ROWS] for v in row[LIVE_COLUMN:])


def status_cell(g: Grid, n_tests: int, *, template: bool = False) -> str:
    """The visible status line's cell (see the module's docstring)."""
    fixed = parse_a1(live.STATUS_CELL)
    if template and fixed is not None and not _text(g.raw(*fixed)):
        return live.STATUS_CELL
    used = -1
    for row in g.rows:
        for c in range(len(row) - 1, used, -1):
            if _text(row[c]):
                used = c
                break
    used = max([used, *(c1 for _r0, _c0, _r1, c1 in g.merges)])
    col = used + 2
    if col >= LIVE_COLUMN:
        col = max(col, FIRST_TEST_COLUMN + n_tests + 1)
    return f"{column_letters(col)}1"
