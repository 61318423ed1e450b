"""pandera schemas for the tidy tables: structure, types and per-row checks, run lazily.

Each check is named by its rule slug, so a failure case maps straight back to the catalogue;
its index is the row of the tidy table, which points back to the cell map.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .model import LEVELS
from .rules import RulesConfig

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

REQUIRED_TEXT = {"unit_code": "unit.code", "unit_name": "unit.name", "code": "project.code",
                 "name": "project.name", "goals": "project.goals"}
AMOUNTS = {"budget_fen": "project.budget", "fiscal_fen": "project.fiscal",
           "other_fen": "project.other"}
LEVEL_COLUMNS = {"level1": "indicator.level1", "level2": "indicator.level2",
                 "level3": "indicator.level3"}


def code_pattern(cfg: RulesConfig, year: int | None) -> re.Pattern[str]:
    yy = f"{year % 100:02d}" if year else r"\d{2}"
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
