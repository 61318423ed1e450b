"""The 绩效运行监控表 ("双监控", mid-year): what it holds, where, and what is checked in it.

A monitoring book carries each project of a targets book forward: its 年初预算数 (the target's
预算数), 全年预算数 (adjusted during the year; the target's until changed), 1–N月执行数, 执行率 and
the time progress N/12, and each indicator's 年度指标值 with columns for 1–N月实际完成值,
全年预计完成值, 偏差原因分析 (one column per cause: 经费/制度/人员/硬件条件保障/其他, as the
Ministry of Finance's monitoring form has them, so that a deviation may have several causes),
完成目标可能性 and 备注.

This module is the model and the checks; the writer is ``monitor_book.py``, the reader
``read/monitor.py``. The rules a row breaks are decided here twice, side by side: in Python
(:func:`budget_rules`, :func:`indicator_rules`, which the full check ``perfxl validate`` reports)
and as the cell formulas the book's marks and counts use (:func:`budget_formulas`,
:func:`indicator_formulas`); the tests recalculate the book in LibreOffice and compare.

The default month is 6: the 双监控 is due in July and covers 1–6月.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import formula as F
from .findings import Finding
from .forms import MONITOR
from .model import Department, Indicator, Project
from .rules import RULES, RulesConfig, make
from .values import decimal, fmt_amount, key, parse_value

FORM = MONITOR
"""``Project.form`` and ``Department.form`` of a monitoring book."""
DEFAULT_MONTH = 6
"""The 双监控 is asked for in July, for 1–6月."""

LIKELIHOODS = ("确定能", "有可能", "完全不可能")
CERTAIN = LIKELIHOODS[0]
CAUSES: tuple[tuple[str, str], ...] = (
    ("funds", "经费保障"), ("rules", "制度保障"), ("staff", "人员保障"),
    ("hardware", "硬件条件保障"), ("other", "其他"))
"""偏差原因分析: the causes (JSON key, column header), in the form's order."""

# --- the sheet's layout (0-based rows and columns; the reader finds them by label) ---------------

TITLE_SUFFIX = "绩效运行监控表"
LABEL_INITIAL = "年初预算数"
LABEL_BUDGET = "全年预算数"
LABEL_RATE = "执行率"
LABEL_PROGRESS = "时间进度"
LABEL_SPENDING_REASON = "执行偏差原因"
LABEL_GOALS = "年度绩效目标"
LABEL_TARGET = "年度指标值"
LABEL_FORECAST = "全年预计完成值"
LABEL_REASONS = "偏差原因分析"
LABEL_LIKELIHOOD = "完成目标可能性"
LABEL_NOTE = "备注"
LABEL_MONTHS = "监控期间"


def spent_label(month: int) -> str:
    return f"1-{month}月执行数"


def actual_label(month: int) -> str:
    return f"1-{month}月实际完成值"


ROW_TITLE, ROW_UNIT, ROW_CODE, ROW_BUDGET_HEAD, ROW_BUDGET, ROW_GOALS = 0, 1, 2, 3, 4, 5
ROW_HEAD, ROW_SUBHEAD = 7, 8
FIRST_ROW = 9
# columns of the indicator table
COL_L1, COL_L2, COL_L3, COL_TARGET, COL_ACTUAL, COL_FORECAST = 0, 1, 2, 3, 4, 5
COL_CAUSES = (6, 7, 8, 9, 10)
COL_LIKELIHOOD, COL_NOTE = 11, 12
COLUMNS = 13
WIDTHS = (10, 12, 22, 13, 13, 13, 11, 11, 11, 11, 11, 12, 18)
# the budget line: (first column, last column) of each field, label above, value below
BUDGET_SPANS = {"budget_initial": (0, 1), "budget": (2, 3), "spent": (4, 5),
                "execution_rate": (6, 6), "time_progress": (7, 7), "reason": (8, 12)}


# --- the model -------------------------------------------------------------------------------------

@dataclass
class MonitorIndicator:
    """One indicator on the monitoring sheet: its target carried, what the unit reports."""

    level1: str = ""
    level2: str = ""
    level3: str = ""
    target: str = ""
    actual: str = ""
    forecast: str = ""
    reasons: dict[str, str] = field(default_factory=dict)
    """cause (``CAUSES`` key) → the text written in its column ("" when empty)."""
    likelihood: str = ""
    note: str = ""
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def reason_given(self) -> bool:
        return any(v.strip() for v in self.reasons.values())

    def to_json(self) -> dict[str, Any]:
        return {"level1": self.level1, "level2": self.level2, "level3": self.level3,
                "target": self.target, "actual": self.actual, "forecast": self.forecast,
                "reasons": {k: self.reasons.get(k, "") for k, _ in CAUSES},
                "likelihood": self.likelihood, "note": self.note, "cells": dict(self.cells)}


@dataclass
class Monitor:
    """A project's 绩效运行监控 for months 1–``month``. Amounts in 元 (Decimal); rates in percent."""

    month: int = DEFAULT_MONTH
    budget_initial: Decimal | None = None
    budget: Decimal | None = None
    spent: Decimal | None = None
    reason: str = ""
    """执行偏差原因: why spending is behind the time progress."""
    indicators: list[MonitorIndicator] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def time_progress(self) -> Decimal:
        """N/12 in percent, exact to 28 digits."""
        return Decimal(self.month) * 100 / 12

    @property
    def execution_rate(self) -> Decimal | None:
        """执行数 / 全年预算数 in percent; None without both (or a budget of 0)."""
        if self.spent is None or not self.budget:
            return None
        return self.spent * 100 / self.budget

    def to_json(self) -> dict[str, Any]:
        rate = self.execution_rate
        return {"month": self.month, "budget_initial": _amount(self.budget_initial),
                "budget": _amount(self.budget), "spent": _amount(self.spent),
                "execution_rate": None if rate is None else f"{rate.quantize(Decimal('0.01')):f}",
                "time_progress": f"{self.time_progress.quantize(Decimal('0.01')):f}",
                "reason": self.reason,
                "indicators": [i.to_json() for i in self.indicators], "cells": dict(self.cells)}


def _amount(d: Decimal | None) -> str | None:
    return None if d is None else fmt_amount(d)


def carried(p: Project, month: int = DEFAULT_MONTH) -> Monitor:
    """The monitoring of project ``p`` from its targets: nothing reported yet; 全年预算数 starts
    as the 年初预算数 (the target's 预算数)."""
    return Monitor(month=month, budget_initial=p.budget, budget=p.budget, indicators=[
        MonitorIndicator(level1=i.level1, level2=i.level2, level3=i.level3, target=i.value)
        for i in p.indicators])


def indicators_of(m: Monitor) -> list[Indicator]:
    """The targets a monitoring sheet carries, as the model's indicators (level cells kept)."""
    return [Indicator(level1=i.level1, level2=i.level2, level3=i.level3, value=i.target,
                      cells={k: v for k, v in i.cells.items()
                             if k in ("level1", "level2", "level3")} |
                      ({"value": i.cells["target"]} if "target" in i.cells else {}))
            for i in m.indicators]


# --- reading what a unit reports -------------------------------------------------------------------

def reported_number(text: str, unit: str = "") -> Decimal | None:
    """A reported value (实际完成值, 全年预计完成值) as a number in the target's unit: full width
    folded, every space, a ``%`` and the target's unit removed; None when that is no number.
    The live formula :func:`number_formula` reads a cell the same way."""
    k = key(text).replace("%", "")
    if unit:
        k = k.replace(key(unit), "")
    try:
        return decimal(k) if k else None
    except ValueError:
        return None


def number_formula(ref: str, unit: str) -> str:
    """:func:`reported_number` as a formula (a number, else the text "x")."""
    s = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(ASC(TRIM({ref}))," ",""),"%",""),",","")'
    if unit:
        s = f"SUBSTITUTE({s},{F.text(unit)},\"\")"
    return f'IF(ISNUMBER({ref}),{ref},IFERROR(VALUE({s}),"x"))'


def target_of(i: MonitorIndicator) -> tuple[str, Decimal, str] | None:
    """(operator, number, unit) of a numeric target; None for a date, a grade or no target."""
    v = parse_value(i.target)
    if v is None or v.kind != "number" or v.number is None:
        return None
    return v.op, v.number, v.unit


def short(op: str, target: Decimal, forecast: Decimal) -> bool:
    """The forecast falls short of the target: below it (≥, >, =, ≈: more is the goal), or
    above it (≤, <: less is the goal)."""
    if op in ("≤",):
        return forecast > target
    if op == "<":
        return forecast >= target
    if op == ">":
        return forecast <= target
    return forecast < target


def short_formula(op: str, target: Decimal, value: str) -> str:
    """:func:`short` as a formula over ``value`` (a number)."""
    t = format(target, "f")
    compare = {"≤": ">", "<": ">=", ">": "<="}.get(op, "<")
    return f"({value}{compare}{t})"


# --- the checks, each with its formula -------------------------------------------------------------

def spending_behind(m: Monitor, cfg: RulesConfig) -> bool:
    """执行率 behind the time progress by more than ``monitor_margin`` points, and no reason."""
    rate = m.execution_rate
    if rate is None or m.reason.strip():
        return False
    return round(m.time_progress - rate, 6) > cfg.monitor_margin


def spending_behind_formula(rate: str, progress: str, reason: str, cfg: RulesConfig) -> str:
    return (f"ISNUMBER({rate})*(ROUND(({progress}-N({rate}))*100,6)>{cfg.monitor_margin})"
            f"*{F.blank(reason)}")


def overspent(m: Monitor) -> bool:
    return m.spent is not None and m.budget is not None and m.spent > m.budget


def overspent_formula(spent: str, budget: str) -> str:
    """Both amounts given (a number, or text that spells one, as the reader takes it)."""
    return (f"{F.amount_given(spent)}*{F.amount_given(budget)}"
            f"*({F.amount(spent)}>{F.amount(budget)})")


def rate_formula(spent: str, budget: str) -> str:
    """:attr:`Monitor.execution_rate` as a fraction (the cell shows it in percent); "" until
    both amounts are given."""
    return (f'IF({F.amount_given(spent)}*{F.amount_given(budget)},'
            f'IF({F.amount(budget)}>0,{F.amount(spent)}/{F.amount(budget)},""),"")')


def forecast_short(i: MonitorIndicator) -> bool:
    """The 全年预计完成值 is a number short of a numeric 年度指标值."""
    t = target_of(i)
    if t is None:
        return False
    value = reported_number(i.forecast, t[2])
    return value is not None and short(t[0], t[1], value)


def forecast_short_formula(i: MonitorIndicator, forecast: str) -> str | None:
    """:func:`forecast_short` at the row's forecast cell; None for a target a formula does not
    compare (a date, a grade)."""
    t = target_of(i)
    if t is None:
        return None
    n = number_formula(forecast, t[2])
    return f"ISNUMBER({n})*{short_formula(t[0], t[1], n)}"


def reasons_blank_formula(causes: list[str]) -> str:
    return F.blank("&".join(causes))


def likelihood_is(ref: str, names: tuple[str, ...]) -> str:
    return F.any_of(f'TRIM({ref})={F.text(n)}' for n in names)


Check = Callable[[Department, RulesConfig], Iterator[Finding | None]]
CHECKS: list[Check] = []


def _check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def _monitored(dept: Department) -> Iterator[tuple[Project, Monitor]]:
    for p in dept.projects:
        if p.monitor is not None:
            yield p, p.monitor


def budget_rules(m: Monitor, cfg: RulesConfig) -> list[str]:
    """The rules the spending line breaks (the live marks decide the same)."""
    return (["monitor-overspent"] if overspent(m) else []) + \
        (["monitor-spending-behind"] if spending_behind(m, cfg) else [])


def budget_formulas(cells: dict[str, str], cfg: RulesConfig) -> dict[str, str]:
    """:func:`budget_rules` as formulas over the line's cells (absolute A1 by field)."""
    return {"monitor-overspent": overspent_formula(cells["spent"], cells["budget"]),
            "monitor-spending-behind": spending_behind_formula(
                cells["execution_rate"], cells["time_progress"], cells["reason"], cfg)}


@_check
def spending(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    for p, m in _monitored(dept):
        rate = m.execution_rate or Decimal(0)
        for slug in budget_rules(m, cfg):
            over = slug == "monitor-overspent"
            yield make(RULES[slug], cfg, project=p, field=RULES[slug].field,
                       cell=m.cells.get("spent" if over else "reason", ""),
                       value=m.spent if over else "",
                       budget=fmt_amount(m.budget or Decimal(0)), month=m.month,
                       rate=f"{rate.quantize(Decimal('0.01')):f}",
                       progress=f"{m.time_progress.quantize(Decimal('0.01')):f}",
                       margin=cfg.monitor_margin)


def indicator_rules(i: MonitorIndicator) -> list[str]:
    """The rules an indicator row breaks (the live marks of monitor_book.py decide the same)."""
    unsure = i.likelihood.strip() in LIKELIHOODS[1:]
    if forecast_short(i):
        return ([] if i.reason_given() else ["monitor-forecast-short"]) + \
            (["monitor-likelihood-certain"] if i.likelihood.strip() == CERTAIN else [])
    return ["monitor-likelihood-unreasoned"] if unsure and not i.reason_given() else []


def indicator_formulas(i: MonitorIndicator, cells: dict[str, str]) -> dict[str, str]:
    """:func:`indicator_rules` as formulas over the row's cells (absolute A1 by field): rule →
    a condition that is above 0 when the row breaks it."""
    likelihood = cells["likelihood"]
    blank = reasons_blank_formula([cells[k] for k, _ in CAUSES])
    unsure = likelihood_is(likelihood, LIKELIHOODS[1:])
    short = forecast_short_formula(i, cells["forecast"])
    if short is None:
        return {"monitor-likelihood-unreasoned": f"{unsure}*{blank}"}
    return {"monitor-forecast-short": f"{short}*{blank}",
            "monitor-likelihood-certain": f"{short}*{likelihood_is(likelihood, (CERTAIN,))}",
            "monitor-likelihood-unreasoned": f"(1-{short})*{unsure}*{blank}"}


@_check
def forecasts(dept: Department, cfg: RulesConfig) -> Iterator[Finding | None]:
    for p, m in _monitored(dept):
        for i in m.indicators:
            name = i.level3 or i.level2
            for slug in indicator_rules(i):
                certain = slug == "monitor-likelihood-certain"
                yield make(RULES[slug], cfg, project=p, field=RULES[slug].field,
                           cell=i.cells.get("likelihood" if certain else CAUSES[0][0], ""),
                           value=i.likelihood.strip() if slug.endswith("unreasoned")
                           else i.forecast, name=name, target=i.target)


MARKED_AT = {"monitor-overspent": "spent", "monitor-spending-behind": "reason",
             "monitor-forecast-short": "reasons", "monitor-likelihood-certain": "likelihood",
             "monitor-likelihood-unreasoned": "reasons"}
"""Where each rule's finding and mark are: the field (its columns on the row)."""

LIVE_RULES = ("monitor-overspent", "monitor-spending-behind", "monitor-forecast-short",
              "monitor-likelihood-certain", "monitor-likelihood-unreasoned")
"""The monitoring rules every monitoring book also checks with formulas (monitor_book.py)."""
