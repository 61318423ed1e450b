"""Department data files (YAML or JSON, format ``perfxl/1``) ↔ the model; the embedded 2021 data.

The format is documented in README.md ("Data format"); datafile.py reads a file within its limits
and checks it against the format's schema before anything is built from it. Amounts are strings
(or integers) in 元; a float in a data file is refused rather than guessed at, since ``80000.1``
in YAML is already a binary approximation. Top-level keys starting with ``_`` are free for YAML
anchors.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .layout import DATA_FORMAT
from .model import Deduction, Department, Indicator, Measure, Project, Scoring, ScoringItem, Unit
from .values import fmt_amount

FORMAT: Final = DATA_FORMAT
EMBEDDED = "2021_行政审批部门.yaml"
_INDICATOR_FIELDS = ("level1", "level2", "level3", "description", "value", "basis")


def embedded_path() -> Path:
    return Path(str(resources.files("perfxl") / "data" / EMBEDDED))


def embedded() -> Department:
    """The 2021 department of the seed, defects included."""
    return load(embedded_path())


def load(path: str | Path) -> Department:
    """Read a department data file (.yaml/.yml/.json), checked whole (datafile.py): within the
    reading limits, and against the format, every problem reported at once with its key path."""
    from .datafile import read_data

    return from_data(read_data(path), source=Path(path).name)


def from_data(data: Any, source: str = "data") -> Department:
    """The department of a data file's values (``DataFileError`` when they do not follow the
    format)."""
    from .datafile import validate

    f = validate(data, source)
    d = f.department
    names = {u.code: u.name for u in f.units}
    s = d.scoring
    return Department(
        name=d.name,
        year=d.year,
        region=d.region,
        title=d.title,
        overall_goal=d.overall_goal,
        scoring_intro=d.scoring_intro,
        scoring=Scoring(
            items=[ScoringItem(i.name, i.points_city, i.points_county, i.content) for i in s.items],
            bonus_min=s.bonus.per_event_min,
            bonus_max=s.bonus.per_event_max,
            bonus_cap=s.bonus.cap,
            bonus_text=s.bonus.text,
            deductions=[Deduction(x.points, x.event) for x in s.deductions],
        ),
        measures=[Measure(m.title, m.text) for m in d.measures],
        declared_total=d.declared_total,
        units=[Unit(u.code, u.name) for u in f.units],
        projects=[
            Project(
                seq=i if p.seq is None else p.seq,
                unit_code=p.unit,
                unit_name=names.get(p.unit, ""),
                code=p.code,
                name=p.name,
                budget=p.budget,
                fiscal=p.fiscal,
                other=p.other,
                purpose=p.purpose,
                goals=p.goals,
                plan=None if p.plan is None else (p.plan[0], p.plan[1], p.plan[2], p.plan[3]),
                indicators=[Indicator(x.level1, x.level2, x.level3, x.description, x.value,
                                      x.basis) for x in p.indicators],
            )
            for i, p in enumerate(f.projects, start=1)
        ],
    )


def to_data(dept: Department) -> dict[str, Any]:
    """The data-file form of a department (what ``load`` reads); used for comparisons and export."""
    def amt(d: Decimal | None) -> str | None:
        return None if d is None else fmt_amount(d)

    s = dept.scoring
    return {
        "format": FORMAT,
        "department": {
            "name": dept.name, "region": dept.region, "year": dept.year, "title": dept.title,
            "declared_total": amt(dept.declared_total), "overall_goal": dept.overall_goal,
            "scoring_intro": dept.scoring_intro,
            "scoring": {
                "items": [{"name": i.name, "points_city": i.points_city,
                           "points_county": i.points_county, "content": i.content}
                          for i in s.items],
                "bonus": {"per_event_min": s.bonus_min, "per_event_max": s.bonus_max,
                          "cap": s.bonus_cap, "text": s.bonus_text},
                "deductions": [{"points": x.points, "event": x.event} for x in s.deductions],
            },
            "measures": [{"title": m.title, "text": m.text} for m in dept.measures],
        },
        "units": [{"code": u.code, "name": u.name} for u in dept.units],
        "projects": [
            {"seq": p.seq, "unit": p.unit_code, "code": p.code, "name": p.name,
             "budget": amt(p.budget), "fiscal": amt(p.fiscal), "other": amt(p.other),
             "purpose": p.purpose,
             "plan": None if p.plan is None else [amt(q) for q in p.plan],
             "goals": p.goals,
             "indicators": [{k: getattr(i, k) for k in _INDICATOR_FIELDS} for i in p.indicators]}
            for p in dept.projects
        ],
    }
