"""The department's 考核 scoring sheet (``perfxl scoring``): the 部门整体 scheme scored.

The scheme (``Department.scoring``, from the 部门整体 sheet of a targets book) has seven items
worth 100 points in two variants, 市直部门 and 县区 (items (二) 30/25 and (六) 10/15), bonus
points of 1–2 per event capped at 5, and deductions of 1 or 2 points per event. The scoring
sheet gives each item its 得分 (at most its points in the chosen variant), lists the bonus and
deduction events, and totals them: 总分 = Σ得分 + min(Σ加分, 5) − Σ扣分, as live formulas
with cached values.

It is a book of its own, not a sheet of the monitoring or self-evaluation book: the 考核 is the
department's, scored once a year by whoever assesses the department (the department itself,
or the bureau), while those books go to each project's unit; and the scheme's variant is chosen
per scoring, not per project. :func:`scoring_book.scoring_sheet` writes the sheet into any
XlsxWriter workbook, so another book can carry it too.

This module is the model and the checks; the writer is ``scoring_book.py``, the reader
``read/scoring.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .findings import Finding
from .forms import SCORING
from .model import Department
from .rules import RULES, RulesConfig, make
from .values import fmt_amount

FORM = SCORING
"""``Department.form`` of a scoring book."""
SHEET = "考核评分"
CITY, COUNTY = "市直部门", "县区"
VARIANTS = (CITY, COUNTY)
BONUS_ROWS = 5
DEDUCTION_ROWS = 5

TITLE_SUFFIX = "部门整体绩效考核评分表"
LABEL_VARIANT = "考核口径"
LABEL_BONUS_RANGE = "每次加分"
LABEL_BONUS_CAP = "最多加分"
LABEL_DEDUCTION_POINTS = "每次扣分"
LABEL_ITEM = "考核项目"
LABEL_SCORE = "得分"
LABEL_SUBTOTAL = "小计"
LABEL_BONUS = "加分事项"
LABEL_DEDUCTION = "扣分事项"
LABEL_BONUS_TOTAL = "加分合计"
LABEL_BONUS_COUNTED = "计入总分的加分"
LABEL_DEDUCTION_TOTAL = "扣分合计"
LABEL_TOTAL = "总分"


@dataclass
class ScoredItem:
    name: str
    points_city: int
    points_county: int
    content: str = ""
    score: Decimal | None = None
    note: str = ""
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def points(self, variant: str) -> int:
        return self.points_county if variant == COUNTY else self.points_city


@dataclass
class Event:
    """A bonus or deduction event: what happened, its points, a note."""

    event: str = ""
    points: Decimal | None = None
    note: str = ""
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "points": _num(self.points), "note": self.note,
                "cells": dict(self.cells)}


@dataclass
class Assessment:
    """The scheme scored for one variant. Points are Decimal (a half point is allowed)."""

    variant: str = CITY
    items: list[ScoredItem] = field(default_factory=list)
    bonus_min: Decimal = Decimal(1)
    bonus_max: Decimal = Decimal(2)
    bonus_cap: Decimal = Decimal(5)
    deduction_points: tuple[Decimal, ...] = (Decimal(1), Decimal(2))
    bonuses: list[Event] = field(default_factory=list)
    deductions: list[Event] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def score(self) -> Decimal:
        return sum((i.score or Decimal(0) for i in self.items), Decimal(0))

    def bonus_total(self) -> Decimal:
        return sum((e.points or Decimal(0) for e in self.bonuses), Decimal(0))

    def bonus_counted(self) -> Decimal:
        """The bonus that counts: at most the cap."""
        return min(self.bonus_total(), self.bonus_cap)

    def deduction_total(self) -> Decimal:
        return sum((e.points or Decimal(0) for e in self.deductions), Decimal(0))

    def total(self) -> Decimal:
        return self.score() + self.bonus_counted() - self.deduction_total()

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "items": [{"name": i.name, "points": i.points(self.variant),
                       "points_city": i.points_city, "points_county": i.points_county,
                       "score": _num(i.score), "note": i.note, "cells": dict(i.cells)}
                      for i in self.items],
            "bonus": {"per_event_min": _num(self.bonus_min), "per_event_max": _num(self.bonus_max),
                      "cap": _num(self.bonus_cap), "events": [e.to_json() for e in self.bonuses]},
            "deduction": {"per_event": [_num(d) for d in self.deduction_points],
                          "events": [e.to_json() for e in self.deductions]},
            "score": _num(self.score()), "bonus_total": _num(self.bonus_total()),
            "bonus_counted": _num(self.bonus_counted()),
            "deduction_total": _num(self.deduction_total()), "total": _num(self.total()),
            "cells": dict(self.cells),
        }


def title(dept: Department) -> str:
    """``2021年 行政审批部门 部门整体绩效考核评分表``: spaced, as a name may end in 部门."""
    return " ".join(x for x in (f"{dept.year}年" if dept.year else "", dept.name, TITLE_SUFFIX)
                    if x)


def _num(d: Decimal | None) -> str | None:
    return None if d is None else fmt_amount(d)


def from_scheme(dept: Department, variant: str = CITY) -> Assessment:
    """The department's scheme (部门整体) ready to be scored: no scores, no events."""
    s = dept.scoring
    allowed = tuple(sorted({Decimal(d.points) for d in s.deductions})) or (Decimal(1), Decimal(2))
    return Assessment(
        variant=variant,
        items=[ScoredItem(i.name, i.points_city, i.points_county, i.content) for i in s.items],
        bonus_min=Decimal(s.bonus_min), bonus_max=Decimal(s.bonus_max),
        bonus_cap=Decimal(s.bonus_cap), deduction_points=allowed,
        bonuses=[Event() for _ in range(BONUS_ROWS)],
        deductions=[Event() for _ in range(DEDUCTION_ROWS)])


# --- the checks, each with its formula (scoring_book.py places them) --------------------------

def score_out_of_range(i: ScoredItem, variant: str) -> bool:
    return i.score is not None and not (0 <= i.score <= i.points(variant))


def score_formula(score: str, points: str) -> str:
    return f"ISNUMBER({score})*(({score}>{points})+({score}<0)>0)"


def bonus_out_of_range(e: Event, a: Assessment) -> bool:
    return e.points is not None and not (a.bonus_min <= e.points <= a.bonus_max)


def bonus_formula(points: str, low: str, high: str) -> str:
    return f"ISNUMBER({points})*(({points}<{low})+({points}>{high})>0)"


def bonus_over_cap(a: Assessment) -> bool:
    return a.bonus_total() > a.bonus_cap


def bonus_cap_formula(total: str, cap: str) -> str:
    return f"({total}>{cap})"


def deduction_not_allowed(e: Event, a: Assessment) -> bool:
    return e.points is not None and e.points not in a.deduction_points


def deduction_formula(points: str, allowed: tuple[Decimal, ...]) -> str:
    others = "*".join(f"({points}<>{format(d, 'f')})" for d in allowed)
    return f"ISNUMBER({points})*{others}"


Check = Callable[[Department, RulesConfig], Iterator[Finding | None]]
CHECKS: list[Check] = []


def _check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def _where(dept: Department) -> tuple[str, Assessment] | None:
    a = dept.assessment
    return (a.cells.get("sheet", SHEET), a) if a is not None else None


@_check
def scores(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    at = _where(dept)
    if at is None:
        return
    sheet, a = at
    for i in a.items:
        if score_out_of_range(i, a.variant):
            yield make(RULES["scoring-score-out-of-range"], cfg, field="department.assessment",
                       sheet=sheet, cell=i.cells.get("score", ""), value=i.score, name=i.name,
                       points=i.points(a.variant), variant=a.variant)


@_check
def events(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    at = _where(dept)
    if at is None:
        return
    sheet, a = at
    low, high = fmt_plain(a.bonus_min), fmt_plain(a.bonus_max)
    for e in a.bonuses:
        if bonus_out_of_range(e, a):
            yield make(RULES["scoring-bonus-out-of-range"], cfg, field="department.assessment",
                       sheet=sheet, cell=e.cells.get("points", ""), value=fmt_plain(e.points),
                       low=low, high=high)
    if bonus_over_cap(a):
        yield make(RULES["scoring-bonus-over-cap"], cfg, field="department.assessment",
                   sheet=sheet, cell=a.cells.get("bonus_total", ""),
                   value=fmt_plain(a.bonus_total()), cap=fmt_plain(a.bonus_cap))
    allowed = "、".join(fmt_plain(d) for d in a.deduction_points)
    for e in a.deductions:
        if deduction_not_allowed(e, a):
            yield make(RULES["scoring-deduction-not-allowed"], cfg,
                       field="department.assessment", sheet=sheet,
                       cell=e.cells.get("points", ""), value=fmt_plain(e.points),
                       allowed=allowed)


def fmt_plain(d: Decimal | None) -> str:
    """``2`` for 2, ``1.5`` for 1.5 (points as people write them)."""
    return "" if d is None else format(d.normalize(), "f")


LIVE_RULES = ("scoring-score-out-of-range", "scoring-bonus-out-of-range",
              "scoring-bonus-over-cap", "scoring-deduction-not-allowed")
"""The scoring rules every scoring book also checks with formulas (scoring_book.py)."""
