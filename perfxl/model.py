"""The typed model of a department's performance targets, and its tidy tables.

Money is ``Decimal`` in 元 (exact; never float). Percentages are ``Decimal`` percent (25 = 25 %).
``cells`` maps canonical field names (DESIGN.md) to A1 addresses on the project's sheet; it is
filled by the reader and empty for data loaded from a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from .values import ParsedValue, fmt_amount, parse_value

if TYPE_CHECKING:
    import pandas as pd

LEVELS: dict[str, tuple[str, ...]] = {
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标",),
}
QUARTERS = ("3月底", "6月底", "10月底", "12月底")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str


@dataclass
class ScoringItem:
    """One item of the 100-point 考核 scheme; points differ for 市直部门 and 县区."""

    name: str
    points_city: int
    points_county: int
    content: str = ""


@dataclass
class Deduction:
    points: int
    event: str


@dataclass
class Scoring:
    items: list[ScoringItem] = field(default_factory=list)
    bonus_min: int = 1
    bonus_max: int = 2
    bonus_cap: int = 5
    bonus_text: str = ""
    deductions: list[Deduction] = field(default_factory=list)

    def totals(self) -> tuple[int, int]:
        """Points of the 市直 and 县区 variants (each must be 100)."""
        return (sum(i.points_city for i in self.items), sum(i.points_county for i in self.items))


@dataclass
class Measure:
    """A 工作保障措施."""

    title: str
    text: str


@dataclass
class Indicator:
    level1: str = ""
    level2: str = ""
    level3: str = ""
    description: str = ""
    value: str = ""
    basis: str = ""
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def parsed(self) -> ParsedValue | None:
        return parse_value(self.value)


Plan = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]


@dataclass
class Project:
    seq: int
    unit_code: str
    unit_name: str
    code: str
    name: str
    budget: Decimal | None
    fiscal: Decimal | None
    other: Decimal | None
    purpose: str = ""
    goals: str = ""
    plan: Plan | None = None
    indicators: list[Indicator] = field(default_factory=list)
    sheet: str = field(default="", compare=False)
    code_raw: str = field(default="", compare=False)
    """The code as written, before whitespace was removed (for the code-whitespace rule)."""
    amount_unit: str = field(default="", compare=False)
    """The money unit the table stated (元 or 万元; amounts here are always 元), "" when unstated."""
    raw: dict[str, str] = field(default_factory=dict, compare=False)
    """Fields whose cell held something that did not parse (e.g. 预算数 = ``八万``): field → text."""
    cells: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Skipped:
    sheet: str
    reason: str
    reason_en: str = ""


@dataclass
class Department:
    name: str = ""
    year: int | None = None
    region: str = ""
    title: str = ""
    overall_goal: str = ""
    scoring_intro: str = ""
    scoring: Scoring = field(default_factory=Scoring)
    measures: list[Measure] = field(default_factory=list)
    declared_total: Decimal | None = None
    units: list[Unit] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    template_version: str | None = field(default=None, compare=False)
    book_unit: str = field(default="", compare=False)
    """The unit a book handed out by ``perfxl split`` belongs to (its custom property)."""
    skipped: list[Skipped] = field(default_factory=list, compare=False)
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def unit_name(self, code: str) -> str:
        return next((u.name for u in self.units if u.code == code), "")

    def total(self) -> Decimal:
        """The department total, always computed from the projects."""
        return sum((p.budget or Decimal(0) for p in self.projects), Decimal(0))

    def unit_totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {u.code: Decimal(0) for u in self.units}
        for p in self.projects:
            out[p.unit_code] = out.get(p.unit_code, Decimal(0)) + (p.budget or Decimal(0))
        return out

    # --- JSON (the shape of `perfxl read --format json`; keep it stable) ---

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.name,
            "year": self.year,
            "template_version": self.template_version,
            "units": [{"code": u.code, "name": u.name} for u in self.units],
            "projects": [_project_json(p) for p in self.projects],
            "skipped": [{"sheet": s.sheet, "reason": s.reason, "reason_en": s.reason_en}
                        for s in self.skipped],
            "department_part": {
                "region": self.region,
                "title": self.title,
                "declared_total": _amount(self.declared_total),
                "overall_goal": self.overall_goal,
                "scoring_intro": self.scoring_intro,
                "scoring": _scoring_json(self.scoring),
                "measures": [{"title": m.title, "text": m.text} for m in self.measures],
                "cells": dict(self.cells),
            },
        }

    # --- tidy tables ---

    def frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables of this department (see ``frames_of``)."""
        return frames_of([self])


def frames_of(depts: list[Department]) -> dict[str, pd.DataFrame]:
    """Tidy tables (units, projects, plan, indicators) of many departments, one row per record.

    One frame per table for a whole batch, so pandera runs once per table, not once per book.
    Money is integer fen (exact, and fast); ``book`` and ``project`` (and ``row`` for indicators)
    point back to the model and its cell map. The text columns the schemas require are stripped
    (so "filled" is a vectorised comparison with "").
    """
    import pandas as pd

    # flat lists of records, then one list per column (comprehensions: no per-cell appends)
    units = [(b, u) for b, d in enumerate(depts) for u in d.units]
    projects = [(b, i, d.year or 0, p) for b, d in enumerate(depts)
                for i, p in enumerate(d.projects)]
    plan = [(b, i, q, pct) for b, i, _, p in projects for q, pct in enumerate(p.plan or ())]
    ind = [(b, i, j, x, x.parsed) for b, i, _, p in projects for j, x in enumerate(p.indicators)]
    fen = [(to_fen(p.budget), to_fen(p.fiscal), to_fen(p.other)) for *_, p in projects]
    return {
        "units": pd.DataFrame({"book": [b for b, _ in units],
                               "unit_code": [u.code for _, u in units],
                               "unit_name": [u.name for _, u in units]}),
        "projects": pd.DataFrame({
            "book": [t[0] for t in projects], "project": [t[1] for t in projects],
            "year": [t[2] for t in projects], "seq": [p.seq for *_, p in projects],
            "sheet": [p.sheet for *_, p in projects],
            "unit_code": [_stripped(p.unit_code) for *_, p in projects],
            "unit_name": [_stripped(p.unit_name) for *_, p in projects],
            "code": [_stripped(p.code) for *_, p in projects],
            "code_raw": [p.code_raw or p.code for *_, p in projects],
            "name": [_stripped(p.name) for *_, p in projects],
            "budget_fen": pd.array([f[0] for f in fen], dtype="Int64"),
            "fiscal_fen": pd.array([f[1] for f in fen], dtype="Int64"),
            "other_fen": pd.array([f[2] for f in fen], dtype="Int64"),
            "purpose": [p.purpose for *_, p in projects],
            "goals": [_stripped(p.goals) for *_, p in projects],
            "has_plan": [p.plan is not None for *_, p in projects],
            "indicator_count": [len(p.indicators) for *_, p in projects]},
            columns=list(_PROJECT_COLUMNS)),
        "plan": pd.DataFrame({
            "book": [t[0] for t in plan], "project": [t[1] for t in plan],
            "quarter": [t[2] + 1 for t in plan],
            "percent": pd.array([None if t[3] is None else float(t[3]) for t in plan],
                                dtype="float64")}),
        "indicators": pd.DataFrame({
            "book": [t[0] for t in ind], "project": [t[1] for t in ind],
            "row": [t[2] for t in ind], "level1": [_stripped(t[3].level1) for t in ind],
            "level2": [_stripped(t[3].level2) for t in ind],
            "level3": [_stripped(t[3].level3) for t in ind],
            "description": [t[3].description for t in ind],
            "value": [_stripped(t[3].value) for t in ind], "basis": [t[3].basis for t in ind],
            "kind": [t[4].kind if t[4] else None for t in ind],
            "op": [t[4].op if t[4] else None for t in ind],
            "number": [float(t[4].number) if t[4] and t[4].number is not None else None
                       for t in ind],
            "unit": [t[4].unit if t[4] else None for t in ind]},
            columns=list(_INDICATOR_COLUMNS)),
    }


def _stripped(v: object) -> str:
    return v.strip() if v.__class__ is str else "" if v is None else str(v).strip()


_PROJECT_COLUMNS = ("book", "project", "year", "seq", "sheet", "unit_code", "unit_name", "code", "code_raw", "name",
                    "budget_fen", "fiscal_fen", "other_fen", "purpose", "goals", "has_plan",
                    "indicator_count")
_INDICATOR_COLUMNS = ("book", "project", "row", "level1", "level2", "level3", "description", "value",
                      "basis", "kind", "op", "number", "unit")


def to_fen(d: Decimal | None) -> int | None:
    """Integer fen for the tidy tables, rounded half-even; an amount finer than a fen is never
    rounded silently: the rule amount-finer-than-fen reports it at its cell."""
    if d is None:
        return None
    return int((d * 100).to_integral_value(ROUND_HALF_EVEN))


def finer_than_fen(d: Decimal | None) -> bool:
    return d is not None and d * 100 != (d * 100).to_integral_value()


def _amount(d: Decimal | None) -> str | None:
    return None if d is None else fmt_amount(d)


def _project_json(p: Project) -> dict[str, Any]:
    return {
        "seq": p.seq, "sheet": p.sheet, "unit_code": p.unit_code, "unit_name": p.unit_name,
        "code": p.code, "name": p.name, "budget": _amount(p.budget), "fiscal": _amount(p.fiscal),
        "other": _amount(p.other), "purpose": p.purpose, "goals": p.goals,
        "plan": None if p.plan is None else [_amount(q) for q in p.plan],
        "amount_unit": p.amount_unit,
        "indicators": [
            {"level1": i.level1, "level2": i.level2, "level3": i.level3,
             "description": i.description, "value": i.value, "basis": i.basis,
             "cells": dict(i.cells)}
            for i in p.indicators
        ],
        "cells": dict(p.cells),
    }


def _scoring_json(s: Scoring) -> dict[str, Any]:
    return {
        "items": [{"name": i.name, "points_city": i.points_city, "points_county": i.points_county,
                   "content": i.content} for i in s.items],
        "bonus": {"per_event_min": s.bonus_min, "per_event_max": s.bonus_max, "cap": s.bonus_cap,
                  "text": s.bonus_text},
        "deductions": [{"points": d.points, "event": d.event} for d in s.deductions],
    }
