"""Read a 绩效运行监控 book (``perfxl monitor``) back: recognised by its form, read by label.

A sheet is a monitoring sheet when it has the labels 全年预算数, 全年预计完成值 and 完成目标可能性;
a book with one is a monitoring book (``Department.form`` = ``monitor``): each such sheet is a
project carrying its targets and its :class:`~perfxl.monitor.Monitor`, with the cell of every
value. Fields are found by their labels, so moved blocks and inserted columns read alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import layout as L
from .. import monitor as M
from ..layout import a1
from ..model import Department, Project, Unit
from ..values import amount, key, text

if TYPE_CHECKING:
    from .parser import Grid

_MARKERS = (M.LABEL_BUDGET, M.LABEL_FORECAST, M.LABEL_LIKELIHOOD)
_SPENT = re.compile(r"^1[-–—~至](\d{1,2})月执行数$")
_ACTUAL = re.compile(r"^1[-–—~至](\d{1,2})月实际完成值$")
_BOOK_TITLE = re.compile(r"^(?P<year>\d{4})年(?P<name>.*?)" + M.TITLE_SUFFIX + "$")
_SHEET_TITLE = re.compile(r"^(?P<seq>\d+)[.、](?P<name>.*?)" + M.TITLE_SUFFIX + "$")
_SCAN_ROWS = 40
"""The head of a monitoring sheet (its budget line and indicator header) lies in these rows."""
_LONGEST = 16

_BUDGET_LABELS = {M.LABEL_INITIAL: "budget_initial", M.LABEL_BUDGET: "budget",
                  M.LABEL_RATE: "execution_rate", M.LABEL_PROGRESS: "time_progress",
                  M.LABEL_SPENDING_REASON: "reason"}
_COLUMNS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "level3",
            M.LABEL_TARGET: "target", M.LABEL_FORECAST: "forecast",
            M.LABEL_LIKELIHOOD: "likelihood", M.LABEL_NOTE: "note",
            **{label: k for k, label in M.CAUSES}}

_HEAD_LABELS = frozenset({L.LABEL_UNIT_CODE, L.LABEL_UNIT_NAME, L.LABEL_CODE, L.LABEL_NAME,
                          M.LABEL_MONTHS, M.LABEL_GOALS, key(L.LABEL_MONEY_UNIT)})


def is_monitor_head(head: list[list[object]]) -> bool:
    """A sheet's head (:data:`followup.HEAD`) has the three labels only a monitoring sheet has."""
    seen = {k for row in head for v in row
            if v.__class__ is str and len(v) <= _LONGEST and (k := key(v)) in _MARKERS}
    return len(seen) == len(_MARKERS)


def monitoring(grids: Sequence[Grid], sheets: Sequence[Grid]) -> Department:
    """The department of a monitoring book whose monitoring sheets are ``sheets``."""
    dept = Department(form=M.FORM)
    for g in grids:
        if g.name == L.SHEET_GUIDE and (m := _BOOK_TITLE.match(key(g.raw(0, 0)))):
            dept.year, dept.name = int(m["year"]), m["name"]
    for seq, g in enumerate(sheets, start=1):
        dept.projects.append(_project(g, seq))
    for p in dept.projects:
        if p.unit_code and p.unit_code not in {u.code for u in dept.units}:
            dept.units.append(Unit(p.unit_code, p.unit_name))
    return dept


def _labels(g: Grid) -> dict[str, tuple[int, int]]:
    """Each label's key → its first (top-left) cell in the sheet's head."""
    found: dict[str, tuple[int, int]] = {}
    for r, row in enumerate(g.rows[:_SCAN_ROWS]):
        for c, v in enumerate(row):
            if v.__class__ is str and g.anchor(r, c) == (r, c):
                found.setdefault(key(v), (r, c))
    return found


def _project(g: Grid, seq: int) -> Project:
    labels = _labels(g)
    cells: dict[str, Any] = {}

    def right(label: str, fld: str) -> str:
        pos = labels.get(label)
        if pos is None:
            return ""
        value, ref = g.right_of(pos, 3, lambda r, c: key(g.raw(r, c)) in _HEAD_LABELS)
        cells[fld] = ref
        return text(value)

    unit_code, unit_name = right(L.LABEL_UNIT_CODE, "unit.code"), right(L.LABEL_UNIT_NAME,
                                                                       "unit.name")
    code, name = right(L.LABEL_CODE, "project.code"), right(L.LABEL_NAME, "project.name")
    goals = right(M.LABEL_GOALS, "project.goals")
    mon = M.Monitor(month=M.DEFAULT_MONTH)
    below: dict[str, Any] = {}
    for k, (r, c) in labels.items():
        fld = _BUDGET_LABELS.get(k)
        if fld is None and (m := _SPENT.match(k)):
            fld, mon.month = "spent", int(m[1])
        if fld is not None:
            mon.cells[fld] = a1(r + 1, c)
            below[fld] = g.value(r + 1, c)
    mon.budget_initial, mon.budget, mon.spent = (
        _money(below.get(f)) for f in ("budget_initial", "budget", "spent"))
    mon.reason = text(below.get("reason"))
    mon.indicators = _indicators(g, labels)
    title = _SHEET_TITLE.match(key(g.raw(0, 0)))
    if not name and title:
        name = title["name"]
    if mon.cells.get("budget_initial"):
        cells["project.budget"] = mon.cells["budget_initial"]
    p = Project(seq=int(title["seq"]) if title else seq, unit_code=unit_code,
                unit_name=unit_name, code="".join(code.split()), name=name,
                budget=mon.budget_initial, fiscal=None, other=None, goals=goals,
                indicators=M.indicators_of(mon), sheet=g.name, code_raw=code, cells=cells,
                form=M.FORM, amount_unit="元",
                absent=frozenset({"project.fiscal", "project.other", "project.purpose",
                                  "project.plan", "indicator.description", "indicator.basis"}),
                monitor=mon)
    return p


def _money(v: Any) -> Decimal | None:
    try:
        return amount(v)
    except ValueError:
        return None


def _indicators(g: Grid, labels: dict[str, tuple[int, int]]) -> list[M.MonitorIndicator]:
    head = labels.get("一级指标")
    if head is None:
        return []
    top = head[0]
    columns: dict[str, int] = {}
    last_head = top
    for k, (r, c) in labels.items():
        if r < top or r > top + 1:
            continue
        fld = _COLUMNS.get(k) or ("actual" if _ACTUAL.match(k) else None)
        if fld is not None:
            columns.setdefault(fld, c)
            last_head = max(last_head, g.end_row(r, c))
    out = []
    for r in range(last_head + 1, g.height):
        values = {f: text(g.value(r, c)) for f, c in columns.items()}
        if not (values.get("level3") or values.get("target")):
            break
        i = M.MonitorIndicator(
            level1=values.get("level1", ""), level2=values.get("level2", ""),
            level3=values.get("level3", ""), target=values.get("target", ""),
            actual=values.get("actual", ""), forecast=values.get("forecast", ""),
            reasons={k: values.get(k, "") for k, _ in M.CAUSES},
            likelihood=values.get("likelihood", ""), note=values.get("note", ""),
            cells={f: a1(*g.anchor(r, c)) for f, c in columns.items()})
        out.append(i)
    return out
