"""pandera schemas for the tidy tables: structure, types and per-row checks, run lazily.

Each check is named by its rule slug, so a failure case maps straight back to the catalogue;
its index is the row of the tidy table, which points back to the cell map. Beside the checks
stand the finding builders (``FINDINGS``): what each failure says (its message parameters) and
at which cell — so a pandera rule is declared here once, its text and severity in rules.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import formula as F
from .findings import Finding
from .formula import PROJECT, TABLE, Context, Test, live
from .model import LEVELS, Department, Indicator, Project
from .rules import QUARTER_NAMES, RULES, RulesConfig, indicator_cell, make, project_cell

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

REQUIRED_TEXT = {"unit_code": "unit.code", "unit_name": "unit.name", "code": "project.code",
                 "name": "project.name", "goals": "project.goals"}
AMOUNTS = {"budget_fen": "project.budget", "fiscal_fen": "project.fiscal",
           "other_fen": "project.other"}
LEVEL_COLUMNS = {"level1": "indicator.level1", "level2": "indicator.level2",
                 "level3": "indicator.level3"}


def year_digits(year: int | None) -> str:
    """The two year digits a project code carries (``21`` for 2021); "" when the year is unknown."""
    return f"{year % 100:02d}" if year else ""


def code_pattern(cfg: RulesConfig, year: int | None) -> re.Pattern[str]:
    yy = year_digits(year) or r"\d{2}"
    rest = cfg.code_length - len(cfg.code_region) - 2
    return re.compile(rf"^{re.escape(cfg.code_region)}{yy}[0-9A-Z]{{{max(rest, 0)}}}$")


def schemas(cfg: RulesConfig) -> dict[str, pa.DataFrameSchema]:
    import pandas as pd
    import pandera.pandas as pa

    def filled(s: pd.Series) -> pd.Series:
        return s.notna() & s.ne("")  # frames_of strips the text it requires

    def non_negative(s: pd.Series) -> pd.Series:
        return s.isna() | s.ge(0)

    def code_ok(df: pd.DataFrame) -> pd.Series:
        """Each code against the pattern of its department's year (a batch mixes years)."""
        ok = df["code"].eq("")
        for year in df["year"].unique():
            rows = df["year"].eq(year)
            pattern = code_pattern(cfg, int(year) or None).pattern
            ok[rows] |= df.loc[rows, "code"].str.fullmatch(pattern).fillna(False).astype(bool)
        return ok

    def funds_match(df: pd.DataFrame) -> pd.Series:
        total = df["fiscal_fen"].fillna(0) + df["other_fen"].fillna(0)
        return (df["budget_fen"].isna() | df["budget_fen"].eq(total)).fillna(True).astype(bool)

    allowed = {(l1, l2) for l1, l2s in LEVELS.items() for l2 in l2s}

    def level_pair(df: pd.DataFrame) -> pd.Series:
        known = pd.Series([(a, b) in allowed for a, b in zip(df["level1"].tolist(),
                                                            df["level2"].tolist(), strict=True)],
                          index=df.index, dtype=bool)
        return df["level2"].eq("") | df["level1"].eq("") | known

    def rule(fn: Any, slug: str) -> pa.Check:
        # ignore_na=False: each check decides about a missing value itself (pandera would
        # otherwise compute isna again for every check, a tenth of its time here)
        return pa.Check(fn, name=slug, ignore_na=False)

    # nullable: "filled" reports a missing value itself (as required-missing), at its cell
    text = {c: pa.Column(str, rule(filled, "required-missing"), nullable=True)
            for c in REQUIRED_TEXT}
    money = {c: pa.Column("Int64", rule(non_negative, "amount-negative"), nullable=True)
             for c in AMOUNTS}

    return {
        "projects": pa.DataFrameSchema(
            {**text, **money,
             "budget_fen": pa.Column("Int64", [rule(lambda s: s.notna(), "required-missing"),
                                               rule(non_negative, "amount-negative")],
                                     nullable=True)},
            checks=[rule(funds_match, "funds-mismatch"), rule(code_ok, "code-pattern")]),
        "plan": pa.DataFrameSchema({
            "percent": pa.Column(float, rule(lambda s: s.isna() | s.between(0, 100),
                                             "plan-out-of-range"), nullable=True)}),
        "indicators": pa.DataFrameSchema(
            {**{c: pa.Column(str, rule(filled, "indicator-level-missing"), nullable=True)
                for c in LEVEL_COLUMNS},
             "value": pa.Column(str, rule(filled, "indicator-value-missing"), nullable=True)},
            checks=[rule(level_pair, "indicator-level-mismatch")]),
    }


def failures(frames: dict[str, pd.DataFrame], cfg: RulesConfig) -> list[dict[str, Any]]:
    """Every failed check as {table, column, rule, index}, one per (table, row, rule, column).

    DataFrame-wide checks report each column of a failing row; they are kept once, with no column.
    """
    import pandera.pandas as pa

    out: list[dict[str, Any]] = []
    seen: set[tuple[str, Any, str, Any]] = set()
    for table, schema in schemas(cfg).items():
        frame = frames[table]
        if frame.empty:
            continue
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as e:
            for row in e.failure_cases.itertuples(index=False):
                if row.index is None or row.check is None:
                    continue  # a schema-level error (a missing column): a bug, not a finding
                wide = row.schema_context == "DataFrameSchema"
                column = None if wide else row.column
                item = (table, int(row.index), str(row.check), column)
                if item not in seen:
                    seen.add(item)
                    out.append({"table": table, "column": column, "rule": str(row.check),
                                "index": int(row.index)})
    return out


# --- from a failure to its finding ----------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """One failed check, with what its finding needs: the department, the project, the row."""

    slug: str
    table: str
    column: str | None
    dept: Department
    project: Project
    indicator: Indicator | None
    quarter: int | None
    cfg: RulesConfig


def _funds(f: Failure) -> Finding | None:
    p = f.project
    fiscal, other = p.fiscal or Decimal(0), p.other or Decimal(0)
    return make(RULES[f.slug], f.cfg, project=p, cell=project_cell(p, "project.budget"),
                value=p.budget, budget=_m(p.budget), fiscal=_m(fiscal), other=_m(other),
                diff=_m((p.budget or Decimal(0)) - fiscal - other))


def _code(f: Failure) -> Finding | None:
    p, cfg = f.project, f.cfg
    return make(RULES[f.slug], cfg, project=p, cell=project_cell(p, "project.code"),
                value=p.code, length=cfg.code_length, actual=len(p.code),
                prefix=cfg.code_region + year_digits(f.dept.year))


def _project_field(f: Failure) -> Finding | None:
    p = f.project
    fld = _project_column(f)
    value = getattr(p, fld.split(".")[1], "") if fld.startswith("project.") else (
        p.unit_code if fld == "unit.code" else p.unit_name)
    return make(RULES[f.slug], f.cfg, project=p, field=fld, cell=project_cell(p, fld),
                value=value)


def _plan(f: Failure) -> Finding | None:
    p, q = f.project, f.quarter or 0
    return make(RULES[f.slug], f.cfg, project=p, cell=project_cell(p, "project.plan", q),
                value=p.plan[q] if p.plan else None, quarter=QUARTER_NAMES[q])


def _level_pair(f: Failure) -> Finding | None:
    ind = f.indicator
    assert ind is not None
    allowed = "、".join(LEVELS.get(ind.level1, ())) or "产出指标、效益指标、满意度指标"
    fld = "indicator.level2" if ind.level1 in LEVELS else "indicator.level1"
    return make(RULES[f.slug], f.cfg, project=f.project, field=fld, cell=indicator_cell(ind, fld),
                value=getattr(ind, fld.split(".")[1]), level1=ind.level1, level2=ind.level2,
                allowed=allowed)


def _indicator_field(f: Failure) -> Finding | None:
    ind = f.indicator
    assert ind is not None
    fld = LEVEL_COLUMNS.get(f.column or "", "indicator.value")
    return make(RULES[f.slug], f.cfg, project=f.project, field=fld,
                cell=indicator_cell(ind, fld), value=getattr(ind, fld.split(".")[1]),
                name=ind.level3 or ind.description)


FINDINGS: dict[tuple[str, str], Callable[[Failure], Finding | None]] = {
    ("projects", "required-missing"): _project_field,
    ("projects", "amount-negative"): _project_field,
    ("projects", "funds-mismatch"): _funds,
    ("projects", "code-pattern"): _code,
    ("plan", "plan-out-of-range"): _plan,
    ("indicators", "indicator-level-missing"): _indicator_field,
    ("indicators", "indicator-value-missing"): _indicator_field,
    ("indicators", "indicator-level-mismatch"): _level_pair,
}
"""(table, rule slug) → the builder of that check's finding: its cell and message parameters."""


def _project_column(f: Failure) -> str:
    return {**REQUIRED_TEXT, **AMOUNTS}.get(f.column or "", RULES[f.slug].field)


def finding_of(failure: dict[str, Any], dept: Department, p: Project,
               rows: Mapping[str, Any], cfg: RulesConfig) -> Finding | None:
    """The finding of one failure case of :func:`failures` (None when another rule already says
    why: a field the form has no place for, a formula that was never calculated). ``rows``: the
    indicators' ``row`` and the plan's ``quarter`` columns of the frames checked, as arrays."""
    table, i = failure["table"], failure["index"]
    f = Failure(failure["rule"], table, failure["column"], dept, p,
                p.indicators[int(rows["indicators"][i])] if table == "indicators" else None,
                int(rows["plan"][i]) - 1 if table == "plan" else None, cfg)
    if table == "projects":
        fld = _project_column(f)
        if fld in p.absent:
            return None  # the form has no place for it: rules.absent_in_form says so once
        if p.uncalculated and (project_cell(p, fld) in p.uncalculated or (
                f.slug == "funds-mismatch" and any(
                    project_cell(p, a) in p.uncalculated for a in AMOUNTS.values()))):
            return None  # formula-without-value says why the amount is missing
    return FINDINGS[(table, f.slug)](f)


def _m(d: Decimal | None) -> str:
    return "—" if d is None else f"{d:,.2f}"


# --- the same checks as live formulas (formula.py): the book re-checks itself as it is typed in ---

@live("required-missing")
def _required_live(ctx: Context) -> Iterator[Test]:
    # (not 单位名称: the reader takes a blank one from the unit's other projects, which a
    # formula on this sheet cannot see)
    for fld in REQUIRED_TEXT.values():
        if ctx.has(fld) and fld != "unit.name":
            yield Test("required-missing", PROJECT, fld, F.blank(ctx.ref(fld)))
    if ctx.has("project.budget"):  # text that is no amount (二十万) is none
        yield Test("required-missing", PROJECT, "project.budget",
                   f"(1-{F.amount_given(ctx.ref('project.budget'))})")


@live("amount-negative")
def _negative_live(ctx: Context) -> Iterator[Test]:
    for fld in AMOUNTS.values():
        if ctx.has(fld):
            yield Test("amount-negative", PROJECT, fld,
                       f"{ctx.amount_given(fld)}*({ctx.amount(fld)}<0)")


@live("funds-mismatch")
def _funds_live(ctx: Context) -> Iterator[Test]:
    if not all(ctx.has(f) for f in AMOUNTS.values()):
        return
    b, f, o = (ctx.amount(x) for x in AMOUNTS.values())  # in 元, as each cell states it
    yield Test("funds-mismatch", PROJECT, "project.budget",
               f"{ctx.amount_given('project.budget')}*(ROUND(({b}-{f}-{o})*100,0)<>0)")


@live("code-pattern")
def _code_live(ctx: Context) -> Iterator[Test]:
    if not ctx.has("project.code"):
        return
    cfg = ctx.cfg
    code = ctx.code()
    region = len(cfg.code_region)
    yy = year_digits(ctx.year)
    if yy:
        start = f"(LEFT({code},{region + 2})={F.text(cfg.code_region + yy)})"
    else:  # any two digits for the year
        start = (f"(LEFT({code},{region})={F.text(cfg.code_region)})"
                 f'*ISNUMBER(FIND(MID({code},{region + 1},1),"0123456789"))'
                 f'*ISNUMBER(FIND(MID({code},{region + 2},1),"0123456789"))')
    rest = ",".join(map(str, range(region + 3, cfg.code_length + 1)))
    # characters outside [0-9A-Z] after the prefix, counted in a hidden cell (an array
    # constant is not for a conditional format)
    allowed = F.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    chars = (f"*({ctx.once(f'SUMPRODUCT(ISERROR(FIND(MID({code},{{{rest}}},1),{allowed}))*1)')}=0)"
             if rest else "")
    ok = f"{start}*(LEN({code})={cfg.code_length}){chars}"
    yield Test("code-pattern", PROJECT, "project.code", f"(LEN({code})>0)*(1-{ok})")


@live("plan-out-of-range")
def _plan_range_live(ctx: Context) -> Iterator[Test]:
    if not ctx.has("project.plan"):
        return
    for q in range(4):
        pct = f"ROUND({ctx.percent(q)},9)"
        yield Test("plan-out-of-range", PROJECT, "project.plan",
                   f"{ctx.plan_given(q)}*(({pct}<0)+({pct}>100)>0)", quarter=q)


def _pair_allowed(p: F.Places) -> str:
    return F.one_of(f'{p.level1()}&">"&{p.level2()}',
                    (f"{a}>{b}" for a, bs in LEVELS.items() for b in bs))


@live("indicator-level-missing")
def _levels_live(ctx: Context) -> Iterator[Test]:
    if ctx.table is None:
        return
    yield Test("indicator-level-missing", TABLE, "level1",
               lambda p: p.level1_missing())
    for fld in ("level2", "level3"):
        yield Test("indicator-level-missing", TABLE, fld,
                   lambda p, fld=fld: F.blank(p.col(fld)))


@live("indicator-level-mismatch")
def _pairs_live(ctx: Context) -> Iterator[Test]:
    if ctx.table is None:
        return
    yield Test("indicator-level-mismatch", TABLE, "level2",
               lambda p: f"{F.filled(p.col('level2'))}*{p.level1_is(LEVELS)}"
                         f"*(1-{_pair_allowed(p)})")
    yield Test("indicator-level-mismatch", TABLE, "level1",
               lambda p: f"{F.filled(p.col('level2'))}*(1-{p.level1_is(LEVELS)})"
                         f"*(1-{p.level1_missing()})")


@live("indicator-value-missing")
def _value_live(ctx: Context) -> Iterator[Test]:
    if ctx.table is None:
        return
    yield Test("indicator-value-missing", TABLE, "value",
               lambda p: F.blank(p.col('value')))

