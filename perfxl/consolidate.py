"""Department totals, reconciliation with declared totals, and which projects explain a gap.

Totals are always computed from the projects (exact Decimal); a declared total (from the 部门整体
sheet, a data file or ``--declared-total``) is only ever compared with them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .model import Department, Project
from .values import fmt_amount

ZERO = Decimal(0)
MAX_PAIRS_WORK = 4_000_000   # bound on the size-3 search (n² lookups)
MAX_ANSWERS = 10


@dataclass
class Reconciliation:
    """A declared total against the computed one, and the smallest sets of projects that explain
    the difference exactly (each a list of project indexes)."""

    scope: str                   # "department" or a unit code
    declared: Decimal
    computed: Decimal
    explained_by: list[list[int]] = field(default_factory=list)
    searched: bool = True        # False when the search bound was hit before an answer

    @property
    def difference(self) -> Decimal:
        return self.computed - self.declared


@dataclass
class Totals:
    total: Decimal
    by_unit: dict[str, Decimal]
    fiscal: Decimal
    other: Decimal
    plan_amounts: list[Decimal]
    projects: int
    department: Reconciliation | None = None
    units: list[Reconciliation] = field(default_factory=list)

    def to_json(self, dept: Department) -> dict[str, Any]:
        rec = self.department
        codes = [p.code for p in dept.projects]
        return {
            "total": fmt_amount(self.total),
            "by_unit": {k: fmt_amount(v) for k, v in self.by_unit.items()},
            "fiscal": fmt_amount(self.fiscal),
            "other": fmt_amount(self.other),
            "plan_amounts": [fmt_amount(x) for x in self.plan_amounts],
            "projects": self.projects,
            "declared_total": fmt_amount(rec.declared) if rec else None,
            "difference": fmt_amount(rec.difference) if rec else None,
            "explained_by": [[codes[i] for i in combo] for combo in rec.explained_by] if rec
            else [],
            "units": [{"unit": u.scope, "declared_total": fmt_amount(u.declared),
                       "computed": fmt_amount(u.computed),
                       "difference": fmt_amount(u.difference),
                       "explained_by": [[codes[i] for i in c] for c in u.explained_by]}
                      for u in self.units],
        }


def plan_amounts(p: Project) -> list[Decimal]:
    """Planned cumulative spending in 元 at 3/6/10/12月底: percentage × 预算数 (0 without a plan)."""
    budget = p.budget or ZERO
    return [budget * (q or ZERO) / 100 for q in (p.plan or (None,) * 4)]


def totals(dept: Department, declared_total: Decimal | None = None,
           declared_units: dict[str, Decimal] | None = None) -> Totals:
    """Compute the totals; reconcile with ``declared_total`` (default: the department's own)."""
    plan = [ZERO] * 4
    for p in dept.projects:
        plan = [a + b for a, b in zip(plan, plan_amounts(p), strict=True)]
    t = Totals(
        total=dept.total(), by_unit=dept.unit_totals(),
        fiscal=sum((p.fiscal or ZERO for p in dept.projects), ZERO),
        other=sum((p.other or ZERO for p in dept.projects), ZERO),
        plan_amounts=plan, projects=len(dept.projects),
    )
    declared = declared_total if declared_total is not None else dept.declared_total
    if declared is not None:
        t.department = reconcile("department", declared, t.total, dept.projects,
                                 range(len(dept.projects)))
    for code, amount in (declared_units or {}).items():
        idx = [i for i, p in enumerate(dept.projects) if p.unit_code == code]
        t.units.append(reconcile(code, amount, t.by_unit.get(code, ZERO), dept.projects, idx))
    return t


def reconcile(scope: str, declared: Decimal, computed: Decimal, projects: list[Project],
              candidates: Any) -> Reconciliation:
    rec = Reconciliation(scope, declared, computed)
    gap = computed - declared
    if gap > 0:  # the projects add up to more than declared: which ones are extra?
        rec.explained_by, rec.searched = explain(
            gap, [(i, projects[i].budget or ZERO) for i in candidates])
    return rec


def explain(gap: Decimal, amounts: list[tuple[int, Decimal]]) -> tuple[list[list[int]], bool]:
    """Smallest combinations (of up to three projects) whose budgets add up exactly to
    ``gap``; bounded, in integer fen. Returns (combinations, searched completely)."""
    fen = [(i, int(a * 100)) for i, a in amounts if a > 0 and a * 100 == int(a * 100)]
    target = int(gap * 100)
    by_amount: dict[int, list[int]] = {}
    for i, a in fen:
        by_amount.setdefault(a, []).append(i)
    found = [[i] for i in by_amount.get(target, [])]
    if found:
        return found[:MAX_ANSWERS], True
    for first, second in itertools.combinations(fen, 2):
        if first[1] + second[1] == target:
            found.append([first[0], second[0]])
            if len(found) >= MAX_ANSWERS:
                return found, True
    if found:
        return found, True
    if len(fen) ** 2 > MAX_PAIRS_WORK:
        return [], False
    position = {i: n for n, (i, _amount) in enumerate(fen)}
    for (_x, (i, a)), (y, (j, b)) in itertools.combinations(enumerate(fen), 2):
        for k in by_amount.get(target - a - b, []):
            if position[k] > y:  # each combination once, in order
                found.append([i, j, k])
                if len(found) >= MAX_ANSWERS:
                    return found, True
    return found, True


AGREE = ("申报总额与计算合计一致", "the declared total matches the computed total")
SHORT = ("计算合计比申报总额少 {} 元:可能缺少项目",
         "the computed total is {} below the declared one: projects may be missing")
"""The sentences of :func:`describe` that depend on nothing but the difference (the 汇总 sheet
says them with a formula, so that they follow the numbers)."""


def describe(rec: Reconciliation, dept: Department) -> tuple[str, str]:
    """The reconciliation in a sentence, Chinese and English."""
    if rec.difference == 0:
        return AGREE
    diff = f"{rec.difference:,.2f}"
    if rec.explained_by:
        names = [" + ".join(f"{dept.projects[i].seq}.{dept.projects[i].name}"
                            f"({dept.projects[i].code}, {dept.projects[i].budget:,.2f} 元)"
                            for i in combo) for combo in rec.explained_by]
        return (f"计算合计比申报总额多 {diff} 元,恰好等于: " + ";或 ".join(names),
                f"the computed total exceeds the declared one by {diff}, exactly: "
                + "; or ".join(names))
    if rec.difference < 0:
        short = f"{(-rec.difference):,.2f}"
        return SHORT[0].format(short), SHORT[1].format(short)
    why = "" if rec.searched else "(项目过多,只查找了 1–2 个项目的组合)"
    return (f"计算合计比申报总额多 {diff} 元,没有项目或项目组合恰好等于这一差额{why}",
            f"the computed total exceeds the declared one by {diff}; no project or combination "
            "of projects explains it exactly")
