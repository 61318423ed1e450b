"""Department data files (YAML or JSON, format ``perfxl/1``) ↔ the model; the embedded 2021 data.

The format is documented in README.md ("Data format"). Amounts are strings (or integers) in 元;
a float in a data file is refused rather than guessed at, since ``80000.1`` in YAML is already a
binary approximation. Top-level keys starting with ``_`` are free for YAML anchors.
"""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ReadError
from .model import Deduction, Department, Indicator, Measure, Project, Scoring, ScoringItem, Unit
from .values import WAN, decimal, fmt_amount

FORMAT = "perfxl/1"
EMBEDDED = "2021_行政审批部门.yaml"
_INDICATOR_FIELDS = ("level1", "level2", "level3", "description", "value", "basis")


def embedded_path() -> Path:
    return Path(str(resources.files("perfxl") / "data" / EMBEDDED))


def embedded() -> Department:
    """The 2021 department of the seed, defects included."""
    return load(embedded_path())


def load(path: str | Path) -> Department:
    """Read a department data file (.yaml/.yml/.json)."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReadError(f"找不到数据文件: {p}", f"data file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReadError(f"无法读取数据文件 {p}: {e}", f"cannot read data file {p}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except Exception as e:  # yaml/json syntax errors carry their own positions
        raise ReadError(f"数据文件格式错误 {p}: {e}", f"data file is not valid YAML/JSON: {p}") from None
    try:
        return from_data(data)
    except (KeyError, TypeError, ValueError) as e:
        raise ReadError(f"数据文件内容不符合格式 {FORMAT}: {p}: {e}",
                        f"data file does not follow format {FORMAT}") from None


def from_data(data: Any) -> Department:
    if not isinstance(data, dict):
        raise TypeError("the top level must be a mapping")
    if data.get("format", FORMAT) != FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    d = data.get("department") or {}
    factor = WAN if d.get("amount_unit", "元") == "万元" else Decimal(1)
    units = [Unit(str(u["code"]), str(u["name"])) for u in data.get("units") or []]
    names = {u.code: u.name for u in units}
    projects = []
    for i, p in enumerate(data.get("projects") or [], start=1):
        unit = str(p.get("unit", ""))
        plan = p.get("plan")
        projects.append(Project(
            seq=int(p.get("seq", i)),
            unit_code=unit,
            unit_name=names.get(unit, ""),
            code=str(p.get("code", "")),
            name=str(p.get("name", "")),
            budget=_money(p.get("budget"), factor),
            fiscal=_money(p.get("fiscal"), factor),
            other=_money(p.get("other"), factor),
            purpose=str(p.get("purpose") or ""),
            goals=str(p.get("goals") or ""),
            plan=None if plan is None else _plan(plan),
            indicators=[_indicator(ind) for ind in p.get("indicators") or []],
        ))
    s = d.get("scoring") or {}
    bonus = s.get("bonus") or {}
    return Department(
        name=str(d.get("name", "")),
        year=int(d["year"]) if d.get("year") is not None else None,
        region=str(d.get("region") or ""),
        title=str(d.get("title") or ""),
        overall_goal=str(d.get("overall_goal") or ""),
        scoring_intro=str(d.get("scoring_intro") or ""),
        scoring=Scoring(
            items=[ScoringItem(str(i["name"]), int(i["points_city"]), int(i["points_county"]),
                               str(i.get("content") or "")) for i in s.get("items") or []],
            bonus_min=int(bonus.get("per_event_min", 1)),
            bonus_max=int(bonus.get("per_event_max", 2)),
            bonus_cap=int(bonus.get("cap", 5)),
            bonus_text=str(bonus.get("text") or ""),
            deductions=[Deduction(int(x["points"]), str(x["event"]))
                        for x in s.get("deductions") or []],
        ),
        measures=[Measure(str(m["title"]), str(m.get("text") or "")) for m in d.get("measures") or []],
        declared_total=_money(d.get("declared_total"), factor),
        units=units,
        projects=projects,
    )


def _indicator(d: dict[str, Any]) -> Indicator:
    f = {k: str(d.get(k) or "") for k in _INDICATOR_FIELDS}
    return Indicator(f["level1"], f["level2"], f["level3"], f["description"], f["value"],
                     f["basis"])


def _money(v: Any, factor: Decimal) -> Decimal | None:
    if isinstance(v, float):
        raise ValueError(f"write amounts as strings, e.g. \"{v:.2f}\", not as floats: {v!r}")
    d = decimal(v)
    return None if d is None else d * factor


def _plan(v: Any) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
    if not isinstance(v, list) or len(v) != 4:
        raise ValueError(f"plan must be a list of four percentages or null, not {v!r}")
    q = [None if x is None or x == "" else decimal(str(x)) for x in v]
    return (q[0], q[1], q[2], q[3])


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
