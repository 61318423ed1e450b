"""绩效自评: the year-end self-evaluation of each project, scored from its targets.

The rules are the widely used national defaults (财政部《项目支出绩效评价管理办法》, 财预〔2020〕10号,
and its 项目支出绩效自评表), with every weight, band and threshold in the rules file
(``RulesConfig.selfeval_*``):

- 预算执行率: 全年执行数 (B) / 全年预算数 (A); its score is min(B/A, 1) × 10;
- 产出 50, 效益 30, 满意度 10 points, split equally among each group's indicators (to the fen,
  the last ones taking the rounding) unless the user enters 分值, which must then add up to 100
  with the 10 of 预算执行率;
- a numeric indicator with ≥ (higher is better): full 分值 when 实际 ≥ 目标, else 实际/目标 × 分值;
  with ≤ (lower is better): full when 实际 ≤ 目标, else (1 − (实际 − 目标)/目标) × 分值, which is 0
  at twice the target and stays 0 beyond; with =: as ≥ below the target and as ≤ above it;
- a date target: full when met (on or before the date; on or after it for ≥), else 0;
- a qualitative indicator: the user scores it, within its grade's band (达成 80–100 %, 部分达成
  60–80 %, 未达成 0–60 % of 分值);
- scores rounded to 0.01 (half up, as the books' ROUND); 等级 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, else 差.

Everything here is pure Python on Decimal: the writer puts the same rules into the book as
formulas (selfeval_book.py) with these values cached beside them, and the reader scores a book
read back with them (selfeval_read.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .findings import Finding
from .rules import RULES, RulesConfig, make
from .values import ParsedValue, fmt_amount, key, parse_value

if TYPE_CHECKING:
    from .model import Department, Project

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)

GROUPS = ("产出指标", "效益指标", "满意度指标")
ACHIEVED, PARTIAL, MISSED = "达成", "部分达成", "未达成"
BANDS = (ACHIEVED, PARTIAL, MISSED)
"""The three grades of a qualitative indicator's result (the 实际完成值 dropdown)."""
_BAND_WORDS = {
    ACHIEVED: (ACHIEVED, "达到", "已达成", "已达到", "完成", "已完成", "全部达成", "是"),
    PARTIAL: (PARTIAL, "基本达成", "基本达到", "部分达到", "部分完成", "基本完成"),
    MISSED: (MISSED, "未达到", "未完成", "否"),
}
_RANKED = ("优", "良", "中", "差")
"""Graded targets: an actual grade at or above the target is 达成, one below 部分达成, lower 未达成."""


def rounded(d: Decimal) -> Decimal:
    """To 0.01, half away from zero (as a spreadsheet's ROUND)."""
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the records ----------------------------------------------------------------------------------

@dataclass
class Scored:
    """One indicator of a self-evaluation: its target (年度指标值, as written), the actual value
    entered (a Decimal, a date, or text), its 分值 and 得分, and the reason for a shortfall.
    ``cells`` maps level1 … reason to A1 cells on the project's sheet."""

    level1: str = ""
    level2: str = ""
    level3: str = ""
    target: str = ""
    actual: Any = None
    weight: Decimal | None = None
    score: Decimal | None = None
    reason: str = ""
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def parsed(self) -> ParsedValue | None:
        return parse_value(self.target)

    @property
    def qualitative(self) -> bool:
        pv = self.parsed
        return pv is None or pv.kind == "grade"

    def to_json(self) -> dict[str, Any]:
        return {"level1": self.level1, "level2": self.level2, "level3": self.level3,
                "target": self.target, "actual": actual_text(self.actual),
                "weight": _dec(self.weight), "score": _dec(self.score), "reason": self.reason,
                "cells": dict(self.cells)}


@dataclass
class SelfEval:
    """A project's self-evaluation: amounts in 元, execution rate in percent (92.5 = 92.5 %)."""

    budget_initial: Decimal | None = None
    budget: Decimal | None = None
    spent: Decimal | None = None
    execution_rate: Decimal | None = None
    execution_points: Decimal = Decimal(10)
    execution_score: Decimal | None = None
    execution_reason: str = ""
    goal_actual: str = ""
    score: Decimal | None = None
    grade: str = ""
    indicators: list[Scored] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)

    def weight_total(self) -> Decimal:
        return self.execution_points + sum((i.weight or ZERO for i in self.indicators), ZERO)

    def to_json(self) -> dict[str, Any]:
        return {"budget_initial": _amount(self.budget_initial), "budget": _amount(self.budget),
                "spent": _amount(self.spent), "execution_rate": _dec(self.execution_rate),
                "execution_points": _dec(self.execution_points),
                "execution_score": _dec(self.execution_score),
                "execution_reason": self.execution_reason, "goal_actual": self.goal_actual,
                "score": _dec(self.score), "grade": self.grade or None,
                "indicators": [i.to_json() for i in self.indicators],
                "cells": dict(self.cells)}


def _dec(d: Decimal | None) -> str | None:
    return None if d is None else f"{rounded(d):f}"


def _amount(d: Decimal | None) -> str | None:
    return None if d is None else fmt_amount(d)


def actual_text(v: Any) -> str | None:
    """An actual value as the JSON shows it: a number as a decimal string, a date as ISO."""
    if v is None or v == "":
        return None
    if isinstance(v, Decimal):
        return f"{v.normalize():f}" if v == v.to_integral_value() else f"{v:f}"
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


# --- weights --------------------------------------------------------------------------------------

def group_points(cfg: RulesConfig) -> dict[str, Decimal]:
    return {"产出指标": cfg.selfeval_output_points, "效益指标": cfg.selfeval_benefit_points,
            "满意度指标": cfg.selfeval_satisfaction_points}


def total_points(cfg: RulesConfig) -> Decimal:
    return cfg.selfeval_execution_points + sum(group_points(cfg).values(), ZERO)


def group_of(level1: str) -> str:
    k = key(level1)
    return next((g for g in GROUPS if k == g or k == g[:-2]), "")


def default_weights(level1s: Sequence[str], cfg: RulesConfig) -> list[Decimal]:
    """Each group's points split equally among its indicators, to the fen: the first ones get
    the cent the division leaves over, so that the group adds up exactly (50/3 → 16.67, 16.67,
    16.66). An indicator outside the three groups gets 0."""
    points = group_points(cfg)
    groups = [group_of(l1) for l1 in level1s]
    out = [ZERO] * len(groups)
    for g, total in points.items():
        members = [i for i, x in enumerate(groups) if x == g]
        if not members:
            continue
        share = (total / len(members)).quantize(CENT, rounding=ROUND_DOWN)
        left = int((total - share * len(members)) / CENT)
        for n, i in enumerate(members):
            out[i] = share + (CENT if n < left else ZERO)
    return out


# --- scores ---------------------------------------------------------------------------------------

def execution(budget: Decimal | None, spent: Decimal | None,
              points: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """(执行率 in percent to 0.01, its score): None while either amount is missing or A ≤ 0."""
    if budget is None or spent is None or budget <= 0:
        return None, None
    ratio = spent / budget
    return rounded(ratio * HUNDRED), rounded(points * min(ratio, Decimal(1)))


def ratio(pv: ParsedValue, actual: Decimal) -> Decimal:
    """The share of 分值 a numeric indicator earns (0–1) for ``actual`` against its target."""
    target = pv.number if pv.number is not None else ZERO
    op = pv.op
    if target == 0:  # nothing to divide by: met or not
        if op in ("≥", ">"):
            return Decimal(1) if actual >= 0 else ZERO
        return Decimal(1) if actual <= 0 else ZERO
    higher = actual / target                 # ≥: actual/target
    lower = 1 - (actual - target) / target   # ≤: 1 − (actual − target)/target
    if op in ("≥", ">"):
        share = higher
    elif op in ("≤", "<"):
        share = lower
    else:  # =, ≈: as ≥ below the target, as ≤ above it
        share = min(higher, lower)
    return max(ZERO, min(share, Decimal(1)))


def deadline(target: str) -> dt.date | None:
    """The last day a date target allows: ``2021年12月底`` → 2021-12-31, ``2021-06-30`` →
    2021-06-30, ``2021年7月前`` → 2021-06-30 (before the month)."""
    pv = parse_value(target)
    if pv is None or pv.kind != "date":
        return None
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?(底|末|前)?$", pv.unit)
    if not m:
        return None
    year, month = int(m[1]), int(m[2])
    try:
        if m[3]:
            return dt.date(year, month, int(m[3]))
        first = dt.date(year, month, 1)
        if m[4] == "前":
            return first - dt.timedelta(days=1)
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    except ValueError:
        return None


def as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return None


def band_of(target: str, actual: Any) -> str:
    """The band (达成/部分达成/未达成) a qualitative indicator's 实际完成值 names; "" when it
    names none."""
    if actual is None or actual == "":
        return ""
    k = key(str(actual))
    for band, words in _BAND_WORDS.items():
        if k in words:
            return band
    pv = parse_value(target)
    goal = pv.unit if pv is not None and pv.kind == "grade" else key(target)
    if k == goal:
        return ACHIEVED
    if k in _RANKED and goal in _RANKED:
        behind = _RANKED.index(k) - _RANKED.index(goal)
        return ACHIEVED if behind <= 0 else PARTIAL if behind == 1 else MISSED
    return ""


def band_limits(band: str, weight: Decimal, cfg: RulesConfig) -> tuple[Decimal, Decimal]:
    """The 得分 a band allows, in points: 达成 [80 %, 100 %], 部分达成 [60 %, 80 %), 未达成
    [0, 60 %) of 分值 (the upper bound of the lower bands is open)."""
    hi_pct = {ACHIEVED: HUNDRED, PARTIAL: cfg.selfeval_band_achieved,
              MISSED: cfg.selfeval_band_partial}[band]
    lo_pct = {ACHIEVED: cfg.selfeval_band_achieved, PARTIAL: cfg.selfeval_band_partial,
              MISSED: ZERO}[band]
    return weight * lo_pct / HUNDRED, weight * hi_pct / HUNDRED


def in_band(score: Decimal, band: str, weight: Decimal, cfg: RulesConfig) -> bool:
    lo, hi = band_limits(band, weight, cfg)
    return lo <= score <= hi if band == ACHIEVED else lo <= score < hi


def indicator_score(ind: Scored, entered: Decimal | None = None) -> Decimal | None:
    """The 得分 of an indicator by the rules; for a qualitative one, the score ``entered``.
    None while the actual value is missing or not of the target's kind (a text where a number
    is due: the book's formula does not score it either)."""
    pv = ind.parsed
    weight = ind.weight or ZERO
    if pv is None or pv.kind == "grade":
        return entered
    if pv.kind == "date":
        when, limit = as_date(ind.actual), deadline(ind.target)
        if when is None or limit is None:
            return None
        met = when >= limit if pv.op in ("≥", ">") else when <= limit
        return rounded(weight) if met else ZERO
    if not isinstance(ind.actual, Decimal):
        return None
    return rounded(weight * ratio(pv, ind.actual))


def grade(score: Decimal, cfg: RulesConfig) -> str:
    if score >= cfg.selfeval_grade_excellent:
        return "优"
    if score >= cfg.selfeval_grade_good:
        return "良"
    if score >= cfg.selfeval_grade_fair:
        return "中"
    return "差"


def score_all(se: SelfEval, cfg: RulesConfig, entered: Sequence[Decimal | None] = ()) -> SelfEval:
    """Fill in ``se``'s rate, scores, total and grade from its inputs (in place; returned).
    ``entered``: the scores the user typed for qualitative indicators, by indicator. The total
    and grade stay empty until 全年执行数 is entered (the book shows them from then on)."""
    se.execution_rate, se.execution_score = execution(se.budget, se.spent, se.execution_points)
    for i, ind in enumerate(se.indicators):
        ind.score = indicator_score(ind, entered[i] if i < len(entered) else None)
    if se.spent is None:
        se.score, se.grade = None, ""
        return se
    total = (se.execution_score or ZERO) + sum((i.score or ZERO for i in se.indicators), ZERO)
    se.score = rounded(total)
    se.grade = grade(se.score, cfg)
    return se


def from_targets(p: Project, cfg: RulesConfig) -> SelfEval:
    """A project's self-evaluation as carried from its targets: 年初预算数 and 全年预算数 the
    target's 预算数, each indicator with its 年度指标值 and default 分值; nothing entered yet."""
    weights = default_weights([i.level1 for i in p.indicators], cfg)
    se = SelfEval(budget_initial=p.budget, budget=p.budget,
                  execution_points=cfg.selfeval_execution_points,
                  indicators=[Scored(i.level1, i.level2, i.level3, i.value, weight=w)
                              for i, w in zip(p.indicators, weights, strict=True)])
    return score_all(se, cfg)


# --- the checks (perfxl validate on a self-evaluation book) -------------------------------------

def findings(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    """The self-evaluation rules (PX95x), at the cells of the book read."""
    for p in dept.projects:
        se: SelfEval | None = getattr(p, "selfeval", None)
        if se is None:
            continue
        yield from _project_findings(p, se, cfg)


def _project_findings(p: Project, se: SelfEval, cfg: RulesConfig) -> Iterator[Finding | None]:
    cell = se.cells.get
    if se.spent is None:
        yield make(RULES["selfeval-value-missing"], cfg, project=p, field="selfeval.spent",
                   cell=cell("spent", ""), label="全年执行数")
    elif se.execution_rate is not None and se.execution_rate < cfg.selfeval_execution_floor \
            and not se.execution_reason.strip():
        yield make(RULES["selfeval-execution-reason-missing"], cfg, project=p,
                   cell=cell("execution_reason", ""), rate=f"{se.execution_rate:f}",
                   floor=_num(cfg.selfeval_execution_floor))
    total, expected = se.weight_total(), total_points(cfg)
    if total != expected:
        yield make(RULES["selfeval-weights-not-100"], cfg, project=p,
                   cell=cell("weight_total", ""), total=_num(total), expected=_num(expected),
                   execution=_num(se.execution_points),
                   indicators=_num(total - se.execution_points))
    for ind in se.indicators:
        yield from _indicator_findings(p, ind, cfg)


def _indicator_findings(p: Project, ind: Scored, cfg: RulesConfig) -> Iterator[Finding | None]:
    name = ind.level3 or ind.level2 or ind.level1
    at = ind.cells.get
    weight = ind.weight or ZERO
    if ind.actual is None or ind.actual == "":
        yield make(RULES["selfeval-value-missing"], cfg, project=p, field="selfeval.actual",
                   cell=at("actual", ""), label=f"「{name}」的实际完成值")
        return
    if ind.qualitative:
        band = band_of(ind.target, ind.actual)
        if ind.score is None:
            yield make(RULES["selfeval-grade-score-missing"], cfg, project=p,
                       cell=at("score", ""), name=name, actual=actual_text(ind.actual))
            return
        if not band:
            yield make(RULES["selfeval-grade-score-out-of-band"], cfg, project=p,
                       cell=at("actual", ""), value=actual_text(ind.actual),
                       problem=f"定性指标「{name}」的实际完成值「{actual_text(ind.actual)}」不是"
                               f"{'/'.join(BANDS)}",
                       problem_en=f"the actual value of qualitative indicator {name} is not one "
                                  "of 达成/部分达成/未达成")
        elif not in_band(ind.score, band, weight, cfg):
            lo, hi = band_limits(band, weight, cfg)
            yield make(RULES["selfeval-grade-score-out-of-band"], cfg, project=p,
                       cell=at("score", ""), value=ind.score,
                       problem=f"定性指标「{name}」{band},得分 {_num(ind.score)} 不在该档的 "
                               f"{_num(rounded(lo))}–{_num(rounded(hi))} 分之间",
                       problem_en=f"qualitative indicator {name} is {band}: its score "
                                  f"{_num(ind.score)} lies outside that band's "
                                  f"{_num(rounded(lo))}–{_num(rounded(hi))} points")
    elif ind.score is None:
        yield make(RULES["selfeval-actual-not-number"], cfg, project=p, cell=at("actual", ""),
                   value=actual_text(ind.actual), name=name,
                   kind="日期" if ind.parsed and ind.parsed.kind == "date" else "数字",
                   kind_en="a date" if ind.parsed and ind.parsed.kind == "date" else "a number")
        return
    if ind.score is not None and ind.score < weight and not ind.reason.strip():
        yield make(RULES["selfeval-reason-missing"], cfg, project=p, cell=at("reason", ""),
                   name=name, score=_num(ind.score), weight=_num(weight))


def _num(d: Decimal) -> str:
    """A score as people write it: 10, 16.67, 8.5."""
    q = rounded(d)
    return f"{q.normalize():f}" if q == q.to_integral_value() else f"{q:f}".rstrip("0")
