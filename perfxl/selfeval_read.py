"""Reading a 绩效自评 book back: a 项目支出绩效自评表 sheet into a Project with its
``selfeval`` (selfeval.SelfEval), scored by the rules, with the cell of every value.

A sheet is told by its form: the title 项目支出绩效自评表 and the labels 全年执行数 and 实际完成值.
Fields are found by their labels, as the parser finds a target table's (a moved block or a
row inserted above still reads). The 汇总 of such a book is recognised by its title and
passed over (its department and year are read from the title). The scores are computed from
what the user entered (全年执行数, 实际完成值, 分值, a qualitative indicator's 得分), never taken
from the formulas' cached values, which an edit without recalculation leaves stale.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .forms import SELFEVAL, FormSheet
from .layout import LABEL_CODE, LABEL_NAME, LABEL_UNIT_CODE, LABEL_UNIT_NAME, a1
from .model import Indicator, Project
from .rules import RulesConfig
from .selfeval import Scored, SelfEval, score_all
from .selfeval_book import (
    BUDGET_HEADERS,
    GOAL_HEADERS,
    INDICATOR_HEADERS,
    LABEL_TOTAL,
    SUMMARY_TITLE,
    TITLE,
)
from .values import amount, decimal, key, text

if TYPE_CHECKING:
    from .read import Grid

Pos = tuple[int, int]
_SPENT, _ACTUAL = key(BUDGET_HEADERS[2]), key(INDICATOR_HEADERS[4])
_SEQ = re.compile(r"^(\d+)[.、]")
_SUMMARY = re.compile(rf"^(?:(?P<year>\d{{4}})年)?(?P<dept>.*?){SUMMARY_TITLE}$")
_HEAD_ROWS = 4


def read_selfeval(g: Grid, cfg: RulesConfig | None = None) -> FormSheet | None:
    """``g`` as a sheet of a self-evaluation book (a project, or the 汇总), else None."""
    # both titles hold 评 as typed (no other character normalises to it): most sheets are
    # passed over on their head rows' text
    if not any("评" in t for t in g.texts()[:_HEAD_ROWS]):
        return None
    # the texts of the head's cells as stored: a merged cell's top-left is inside the head too
    head = [key(v) for row in g.rows[:_HEAD_ROWS] for v in row[:12] if v.__class__ is str and v]
    summary = next((m for k in head if (m := _SUMMARY.match(k))), None)
    if summary is not None:
        return FormSheet(SELFEVAL, department=summary["dept"],
                         year=int(summary["year"]) if summary["year"] else None)
    if key(TITLE) not in head:
        return None
    found = _labels(g)
    if _SPENT not in found or _ACTUAL not in found:
        return None
    return FormSheet(SELFEVAL, projects=[_project(g, found, cfg or RulesConfig())])


def _labels(g: Grid) -> dict[str, Pos]:
    """The first cell of each text on the sheet, by its key (labels and headers)."""
    out: dict[str, Pos] = {}
    for r in range(g.height):
        for c in range(g.width):
            v = g.raw(r, c)
            if isinstance(v, str) and v.strip():
                out.setdefault(key(v), (r, c))
    return out


def _right(g: Grid, pos: Pos | None) -> tuple[Any, str]:
    """The value right of a label (merged ranges taken as one) and its cell."""
    if pos is None:
        return None, ""
    r, c = pos
    col = g.end_col(r, c) + 1
    return g.value(r, col), a1(r, col)


def _below(g: Grid, pos: Pos | None) -> tuple[Any, str]:
    """The value under a header (merged ranges taken as one) and its cell."""
    if pos is None:
        return None, ""
    r, c = pos
    row = g.end_row(r, c) + 1
    return g.value(row, c), a1(row, c)


def _money(v: Any) -> Decimal | None:
    try:
        return amount(v)
    except ValueError:
        return None


def _number(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        return decimal(v)
    except ValueError:
        return None


def _actual(v: Any) -> Any:
    """A number as Decimal, a date as a date, text as written, empty as None."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time() else v
    if isinstance(v, dt.date):
        return v
    n = _number(v)
    return n if n is not None else text(v)


def _project(g: Grid, found: dict[str, Pos], cfg: RulesConfig) -> Project:
    cells: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for fld, label in (("unit.code", LABEL_UNIT_CODE), ("unit.name", LABEL_UNIT_NAME),
                       ("project.code", LABEL_CODE), ("project.name", LABEL_NAME)):
        v, at = _right(g, found.get(key(label)))
        values[fld], cells[fld] = text(v), at
    se = SelfEval(execution_points=cfg.selfeval_execution_points)
    names = ("budget_initial", "budget", "spent", "execution_rate", "execution_points",
             "execution_score", "execution_reason")
    budget_values: dict[str, Any] = {}
    for name, label in zip(names, BUDGET_HEADERS, strict=True):
        v, at = _below(g, found.get(key(label)))
        budget_values[name], se.cells[name] = v, at
    se.budget_initial = _money(budget_values["budget_initial"])
    se.budget = _money(budget_values["budget"])
    se.spent = _money(budget_values["spent"])
    points = _number(budget_values["execution_points"])
    if points is not None:
        se.execution_points = points
    se.execution_reason = text(budget_values["execution_reason"])
    goals, cells["project.goals"] = _below(g, found.get(key(GOAL_HEADERS[0])))
    goal_actual, se.cells["goal_actual"] = _below(g, found.get(key(GOAL_HEADERS[1])))
    se.goal_actual = text(goal_actual)
    cells["project.budget"] = se.cells["budget"]
    entered = _indicators(g, found, se)
    score_all(se, cfg, entered)
    m = _SEQ.match(g.name)
    return Project(
        seq=int(m[1]) if m else 0, unit_code=values["unit.code"], unit_name=values["unit.name"],
        code=values["project.code"], name=values["project.name"], budget=se.budget, fiscal=None,
        other=None, goals=text(goals), sheet=g.name, cells=cells, form=SELFEVAL,
        indicators=[Indicator(i.level1, i.level2, i.level3, value=i.target,
                              cells={k: i.cells[k] for k in ("level1", "level2", "level3")}
                              | {"value": i.cells["target"]}) for i in se.indicators],
        selfeval=se)


def _indicators(g: Grid, found: dict[str, Pos], se: SelfEval) -> list[Decimal | None]:
    """The indicator rows, from the header row of 实际完成值 down to 总分 (or a blank row);
    returns the scores entered on qualitative rows (None elsewhere)."""
    header = found[_ACTUAL][0]
    cols: dict[str, int] = {}
    for c in range(g.width):  # a header merged across columns: its first
        cols.setdefault(key(g.value(header, c)), c)
    names = ("level1", "level2", "level3", "target", "actual", "weight", "score", "reason")
    where = {n: cols.get(key(h)) for n, h in zip(names, INDICATOR_HEADERS, strict=True)}
    entered: list[Decimal | None] = []
    level1 = ""
    for r in range(header + 1, g.height):
        if key(g.value(r, 0)) == key(LABEL_TOTAL):
            se.cells["weight_total"] = a1(r, where["weight"] or 0)
            se.cells["score"] = a1(r, where["score"] or 0)
            se.cells["grade"] = a1(r, g.end_col(r, where["reason"] or 0) + 1)
            break
        row = {n: (g.value(r, c) if c is not None else None) for n, c in where.items()}
        if all(v in (None, "") for k, v in row.items() if k not in ("weight", "score")):
            break
        cells = {n: a1(r, c) for n, c in where.items() if c is not None}
        if where["level1"] is not None:  # the 一级 of a merged run is its top cell's
            cells["level1"] = a1(*g.anchor(r, where["level1"]))
        level1 = text(row["level1"]) or level1
        ind = Scored(level1=level1, level2=text(row["level2"]), level3=text(row["level3"]),
                     target=text(row["target"]), actual=_actual(row["actual"]),
                     weight=_number(row["weight"]), reason=text(row["reason"]), cells=cells)
        se.indicators.append(ind)
        entered.append(_number(row["score"]) if ind.qualitative else None)
    return entered

