"""The typed model of a department's performance targets, and its tidy tables.

Money is ``Decimal`` in 元 (exact; never float). Percentages are ``Decimal`` percent (25 = 25 %).
``cells`` maps canonical field names (docs/design.md, README) to A1 addresses on the project's sheet; it is
filled by the reader and empty for data loaded from a file.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from .values import ParsedValue, fmt_amount, parse_value

if TYPE_CHECKING:
    import pandas as pd

    from .monitor import Monitor
    from .scoring import Assessment
    from .selfeval import SelfEval

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
    form: str = field(default="", compare=False)
    """The known form the project was read from (forms.FORMS: national, import); "" for ours."""
    absent: frozenset[str] = field(default=frozenset(), compare=False)
    """Canonical fields that form has no place for (no 项目编码 row, no amounts…): the rules
    report them once as such (code-absent-in-form, amounts-absent-in-form), not as empty cells."""
    title: str = field(default="", compare=False)
    """The project's name as the sheet's title writes it (``1.X绩效目标表`` → ``X``); "" when the
    sheet has no title."""
    text_amounts: dict[str, str] = field(default_factory=dict, compare=False)
    """Money fields whose cell held text that reads as an amount (``80,000.00``, ``８００００``,
    ``8万``): field → the text. Read as meant, but the book's own SUM/SUBTOTAL skip such cells."""
    uncalculated: set[str] = field(default_factory=set, compare=False)
    """Cells (A1) of this project holding a formula without a computed value (read as empty)."""
    plan_whole_percents: bool = field(default=False, compare=False)
    """The plan was written as whole percents (25, 50, 75, 100) in cells that store fractions
    (so the book shows 2500 % …); read as the percents meant."""
    selfeval: SelfEval | None = field(default=None, compare=False)
    """The year-end self-evaluation (绩效自评) of a project read from a self-evaluation book."""
    monitor: Monitor | None = field(default=None, compare=False)
    """The project's 绩效运行监控 (monitor.py), read from a monitoring book; None otherwise."""


@dataclass
class Skipped:
    sheet: str
    reason: str
    reason_en: str = ""
    cell: str = ""
    """Where the sheet's project would start (its 项目编码), for a blank project table."""


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
    output: str = field(default="", compare=False)
    """``merge`` for a department book ``perfxl merge`` wrote (its custom property), else ""."""
    skipped: list[Skipped] = field(default_factory=list, compare=False)
    cells: dict[str, str] = field(default_factory=dict, compare=False)
    form: str = field(default="", compare=False)
    """The known form the book was read as (forms.FORMS), "" for ours and the seed's layout."""
    assessment: Assessment | None = field(default=None, compare=False)
    """The 考核 scheme scored (scoring.py), read from a scoring book; None otherwise."""

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
            "form": self.form or None,
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
            **({"assessment": self.assessment.to_json()} if self.assessment is not None
               else {}),
        }

    # --- tidy tables ---

    def frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables of this department (see ``frames_of``)."""
        return frames_of([self])


def frames_of(depts: list[Department], *, parsed: bool = True) -> dict[str, pd.DataFrame]:
    """Tidy tables (units, projects, plan, indicators) of many departments, one row per record.

    One frame per table for a whole batch, so pandera runs once per table, not once per book.
    Money is integer fen (exact, and fast); ``book`` and ``project`` (and ``row`` for indicators)
    point back to the model and its cell map. The text columns the schemas require are stripped
    (so "filled" is a vectorised comparison with ""). ``parsed=False`` leaves out the indicator
    values taken apart (kind, op, number, unit), which the schemas do not check.
    """
    import pandas as pd

    # one tuple per record, then columns by zip(*…): no per-cell work in Python
    units = [(b, u.code, u.name) for b, d in enumerate(depts) for u in d.units]
    projects = [(b, i, d.year or 0, p) for b, d in enumerate(depts)
                for i, p in enumerate(d.projects)]
    plan = [(b, i, q + 1, None if pct is None else float(pct))
            for b, i, _, p in projects for q, pct in enumerate(p.plan or ())]
    ids = [(b, i, j) for b, i, _, p in projects for j in range(len(p.indicators))]
    texts = list(map(_INDICATOR_TEXT, (x for *_, p in projects for x in p.indicators)))
    values = [(None, None, None, None) if v is None else
              (v.kind, v.op, None if v.number is None else float(v.number), v.unit)
              for v in map(parse_value, (t[4] for t in texts))] if parsed else []
    fen = [(to_fen(p.budget), to_fen(p.fiscal), to_fen(p.other)) for *_, p in projects]
    project_rows = [(b, i, year, p.seq, p.sheet, p.unit_code, p.unit_name, p.code,
                     p.code_raw or p.code, p.name, p.purpose, p.goals, p.plan is not None,
                     len(p.indicators)) for b, i, year, p in projects]

    def columns(rows: list[Any], n: int) -> list[Any]:
        return list(zip(*rows, strict=True)) if rows else [[] for _ in range(n)]

    u, pr, pl, ix, tx, pv, fn = (columns(units, 3), columns(project_rows, 14), columns(plan, 4),
                                 columns(ids, 3), columns(texts, 6), columns(values, 4),
                                 columns(fen, 3))
    strip = _strip_all
    return {
        "units": pd.DataFrame({"book": u[0], "unit_code": u[1], "unit_name": u[2]}),
        "projects": pd.DataFrame({
            "book": pr[0], "project": pr[1], "year": pr[2], "seq": pr[3], "sheet": pr[4],
            "unit_code": strip(pr[5]), "unit_name": strip(pr[6]), "code": strip(pr[7]),
            "code_raw": pr[8], "name": strip(pr[9]),
            "budget_fen": pd.array(fn[0], dtype="Int64"),
            "fiscal_fen": pd.array(fn[1], dtype="Int64"),
            "other_fen": pd.array(fn[2], dtype="Int64"),
            "purpose": pr[10], "goals": strip(pr[11]), "has_plan": pr[12],
            "indicator_count": pr[13]}, columns=list(_PROJECT_COLUMNS)),
        "plan": pd.DataFrame({"book": pl[0], "project": pl[1], "quarter": pl[2],
                              "percent": pd.array(pl[3], dtype="float64")}),
        "indicators": pd.DataFrame({
            "book": ix[0], "project": ix[1], "row": ix[2], "level1": strip(tx[0]),
            "level2": strip(tx[1]), "level3": strip(tx[2]), "description": tx[3],
            "value": strip(tx[4]), "basis": tx[5],
            **({"kind": pv[0], "op": pv[1], "number": pv[2], "unit": pv[3]} if parsed else {})},
            columns=list(_INDICATOR_COLUMNS if parsed else _INDICATOR_COLUMNS[:-4])),
    }


_INDICATOR_TEXT = operator.attrgetter("level1", "level2", "level3", "description", "value",
                                      "basis")


def _strip_all(values: tuple[Any, ...]) -> list[str]:
    try:
        return list(map(str.strip, values))  # model text is str
    except TypeError:
        return [v.strip() if v.__class__ is str else _stripped(v) for v in values]


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
        "amount_unit": p.amount_unit, "form": p.form or None, "absent": sorted(p.absent),
        "indicators": [
            {"level1": i.level1, "level2": i.level2, "level3": i.level3,
             "description": i.description, "value": i.value, "basis": i.basis,
             "cells": dict(i.cells)}
            for i in p.indicators
        ],
        "cells": dict(p.cells),
        **({"selfeval": p.selfeval.to_json()} if p.selfeval is not None else {}),
        **({"monitor": p.monitor.to_json()} if p.monitor is not None else {}),
    }


def _scoring_json(s: Scoring) -> dict[str, Any]:
    return {
        "items": [{"name": i.name, "points_city": i.points_city, "points_county": i.points_county,
                   "content": i.content} for i in s.items],
        "bonus": {"per_event_min": s.bonus_min, "per_event_max": s.bonus_max, "cap": s.bonus_cap,
                  "text": s.bonus_text},
        "deductions": [{"points": d.points, "event": d.event} for d in s.deductions],
    }
