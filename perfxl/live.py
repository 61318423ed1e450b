"""Live checks: what a project sheet needs so that it re-checks itself as the user types, with no
macro and no Python, in Excel, WPS and LibreOffice.

The rules' live forms are declared beside their checks (rules.py, schemas.py, built from
formula.py); this module lays them out on one sheet, once for every writer (the template's
XlsxWriter sheets, the annotator's XML, the ribbon's live book), which only place what
:func:`sheet_checks` returns:

- hidden, locked cells right of the printed table (AO:CK): the sheet's live error and warning
  counts (AO1/AP1, the same cells on every sheet, so the book's totals are a 3-D sum that also
  counts a copied sheet), whether the project has been started (AO2), the marker that tells the
  reader these cells (AQ2), the counts by kind of test and severity (AO3:AR3), values several
  tests share (row 1 from AQ), and each project field's test (row 2 from AR, then row 4);
- a conditional format per test: on the cell it marks (a project field), reading its test's
  cell, or over its indicator column with its own formula (row by row, so inserted rows are
  covered);
- the visible status line beside the table, and the defined names ``perfxl_live_errors`` /
  ``perfxl_live_warnings`` (sheet scope here; workbook scope in :func:`book_names`, over the
  cells of :func:`book_totals`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import formula as F
from . import rules as _rules  # noqa: F401  (registers the live forms declared there)
from . import schemas as _schemas  # noqa: F401
from .findings import ERROR, SEVERITY_ZH, WARNING, Finding
from .formula import AT, LIVE, MARK, PROJECT, Context, Places, Table, Test
from .layout import (
    FIRST_TEST_COLUMN,
    LIVE_COLUMN,
    LIVE_LAST_COLUMN,
    STATUS_TITLE,
    a1,
    column_letters,
    parse_a1,
)
from .rules import RULES, RulesConfig

NAME_ERRORS, NAME_WARNINGS = "perfxl_live_errors", "perfxl_live_warnings"
ERRORS_CELL, WARNINGS_CELL, STARTED_CELL = "$AO$1", "$AP$1", "$AO$2"
STATUS_CELL = "I1"
"""The visible status line on our template's project sheets (right of the printed A:G)."""
OPEN, FIXED = "未修正", "已修正"
FULL_CHECK = "需完整校验"
"""The status of a finding whose rule a formula cannot decide: run the full check again."""


def live_rules() -> list[str]:
    """The slugs of the rules that are live, in catalogue order."""
    return [r.slug for r in RULES.values() if r.slug in LIVE]


@dataclass(frozen=True)
class Cell:
    """A cell perfxl writes for the live checks: a formula with its cached value, or text."""

    ref: str  # A1, no $
    formula: str | None
    value: Any
    array: bool = False
    hidden: bool = True
    """Locked with its formula hidden, in a hidden column (the status line is visible)."""


@dataclass(frozen=True)
class Mark:
    """A conditional format: ``formula`` relative to the top-left cell of ``ref``."""

    ref: str
    formula: str
    severity: str
    slug: str


@dataclass(frozen=True)
class Placed:
    test: Test
    severity: str
    marks: str
    """PROJECT: the cell it marks; TABLE: the column range it covers."""
    cell: str = ""
    """PROJECT: the hidden cell (absolute) that holds the test's value, 1 or 0."""


@dataclass
class SheetChecks:
    sheet: str
    cells: list[Cell] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    table: Table | None = None
    errors: int = 0
    warnings: int = 0

    def names(self) -> dict[str, str]:
        """Sheet-scope defined names → their formula."""
        q = F.quote_sheet(self.sheet)
        return {NAME_ERRORS: f"={q}!{ERRORS_CELL}", NAME_WARNINGS: f"={q}!{WARNINGS_CELL}"}

    def status(self, f: Finding) -> str | None:
        """A 校验结果 row's status formula for a finding on this sheet (None: not live)."""
        at = parse_a1(f.cell) if f.cell else None
        for pl in self.placed:
            if pl.test.slug != f.rule:
                continue
            q = F.quote_sheet(self.sheet)
            gate = f"{q}!{STARTED_CELL}"
            if pl.test.scope == PROJECT and pl.marks == f.cell:
                return f'=IF(IFERROR({q}!{pl.cell}*{gate},0),"{OPEN}","{FIXED}")'
            if pl.test.scope == F.TABLE and at is not None and self.table is not None:
                letter = self.table.columns.get(pl.test.at, pl.test.at)
                if column_letters(at[1]) == letter and self.table.top < at[0] + 1 <= \
                        self.table.bottom:
                    cond = _on_row(pl.test, Places(AT, self.table, self.sheet, at[0] + 1))
                    return f'=IF(IFERROR(({cond})*{gate},0),"{OPEN}","{FIXED}")'
        return None


_ABSOLUTE = re.compile(r"(?<![!\w$])(\$[A-Z]{1,3}\$\d+(?::\$[A-Z]{1,3}\$\d+)?)")
_TEXT = re.compile(r'("(?:[^"]|"")*")')


def qualify(formula: str, sheet: str) -> str:
    """A formula of absolute references on ``sheet`` as another sheet writes it: every
    ``$B$3`` / ``$C$9:$C$26`` outside string literals named with the sheet."""
    q = F.quote_sheet(sheet) + "!"
    parts = _TEXT.split(formula)
    return "".join(p if i % 2 else _ABSOLUTE.sub(lambda m: q + m.group(1), p)
                   for i, p in enumerate(parts))


def context(cells: dict[str, Any], cfg: RulesConfig, *, year: int | None, table: Table | None,
            amount_unit: str = "元", whole_percents: bool = False,
            absent: Iterable[str] = ()) -> Context:
    return Context(cells=cells, factor=10000 if amount_unit == "万元" else 1,
                   plan_scale=1 if whole_percents else 100, cfg=cfg, year=year, table=table,
                   absent=frozenset(absent), first_column=FIRST_TEST_COLUMN)


def tests(ctx: Context) -> list[tuple[Test, str]]:
    """Every live test of a project with its severity (rules turned off are left out), errors
    first, in catalogue order."""
    out: list[tuple[Test, str]] = []
    done: set[int] = set()
    for slug in live_rules():
        form = LIVE[slug]
        if id(form) in done:
            continue
        done.add(id(form))
        for t in form(ctx):
            rule = RULES[t.slug]
            sev = ctx.cfg.severity(rule)
            if sev == "off":
                continue
            if t.severity is not None and rule.slug not in ctx.cfg.severities:
                sev = t.severity
            out.append((t, sev))
    order = {s: i for i, s in enumerate(live_rules())}
    out.sort(key=lambda ts: (ts[1] != ERROR, order[ts[0].slug]))
    return out


def sheet_checks(sheet: str, ctx: Context, findings: Sequence[Finding] = (), *,
                 status_cell: str = STATUS_CELL, started: bool | None = None) -> SheetChecks:
    """The live cells, marks and names of one project sheet. ``findings`` (of this sheet, from
    the check perfxl has just made) give the formulas' cached values, so that a book read
    without recalculation shows the same counts. ``started``: whether the sheet holds a project
    (its cached flag; by default, whether it has findings).

    Each test is one conditional format (its own formula, so it marks exactly its cell). A
    project field's test is computed once, in a hidden cell of its own that its mark reads; the
    sheet's counts add the tests up by severity, in four cells: project fields (AO3, AP3, sums of
    those cells) and indicator rows (AQ3, AR3, array formulas with the row test factored out)."""
    layout = _layout(ctx)
    out = SheetChecks(sheet, marks=list(layout.marks), placed=list(layout.placed),
                      table=ctx.table)
    cached = _Cached(findings)
    counted: Counter[tuple[str, str]] = Counter()
    value: dict[str, int] = {}
    for pl in layout.placed:
        if pl.test.scope == PROJECT:
            n = value[pl.cell.replace("$", "")] = cached.take(pl.test.slug, pl.severity,
                                                               pl.marks)
        else:
            assert ctx.table is not None
            n = cached.column(pl.test.slug, pl.severity,
                              ctx.table.columns.get(pl.test.at, pl.test.at), ctx.table)
        counted[(pl.test.scope, pl.severity)] += n
    out.errors = counted[(PROJECT, ERROR)] + counted[(F.TABLE, ERROR)]
    out.warnings = counted[(PROJECT, WARNING)] + counted[(F.TABLE, WARNING)]
    value |= {STARTED_CELL.replace("$", ""): int(bool(findings) if started is None else started),
              ERRORS_CELL.replace("$", ""): out.errors,
              WARNINGS_CELL.replace("$", ""): out.warnings,
              **{cell: counted[kind] for kind, cell in SUM_CELLS.items()}}
    # the values the tests share have no cached value worth computing here: 0
    out.cells = [Cell(ref, formula, value.get(ref, 0) if formula else MARKER, array)
                 for ref, formula, array in layout.cells]
    out.cells.append(Cell(status_cell, _status_formula(), _status_text(out), hidden=False))
    assert all((parse_a1(c.ref) or (0, 0))[1] <= LIVE_LAST_COLUMN for c in out.cells if c.hidden)
    return out


@dataclass(frozen=True)
class _Layout:
    """A sheet's live checks apart from their cached values: the same for every sheet of the
    same form, made once per book."""

    placed: tuple[Placed, ...]
    marks: tuple[Mark, ...]
    cells: tuple[tuple[str, str | None, bool], ...]
    """(cell, formula or None for the marker text, array formula)."""


_LAYOUTS: dict[str, _Layout] = {}


def _layout(ctx: Context) -> _Layout:
    key = repr((sorted(ctx.cells.items()), ctx.factor, ctx.plan_scale, ctx.table, ctx.year,
                sorted(ctx.absent), ctx.cfg))
    if key not in _LAYOUTS:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        _LAYOUTS[key] = _lay_out(ctx)
    return _LAYOUTS[key]


def _lay_out(ctx: Context) -> _Layout:
    gate = STARTED_CELL
    project: dict[str, list[str]] = {ERROR: [], WARNING: []}
    table: dict[str, list[str]] = {ERROR: [], WARNING: []}
    placed: list[Placed] = []
    marks: list[Mark] = []
    cells: list[tuple[str, str | None, bool]] = [
        (STARTED_CELL.replace("$", ""), _started(ctx), False),
        (a1(1, FIRST_TEST_COLUMN), None, False)]
    slots = _project_cells()
    for t, sev in tests(ctx):
        if t.scope == PROJECT:
            at = ctx.ref(t.at, t.quarter).replace("$", "") if t.at != "indicator.level1" \
                else _first_level1(ctx)
            if not at:
                continue
            cell = next(slots)
            cells.append((cell, f"=IFERROR(({t.condition})*1,0)", False))
            marks.append(Mark(at, f"{gate}*{F.absolute(cell)}", sev, t.slug))
            project[sev].append(cell)
            placed.append(Placed(t, sev, at, F.absolute(cell)))
        else:
            assert ctx.table is not None
            letter = ctx.table.columns.get(t.at, t.at)
            at = f"{letter}{ctx.table.top}:{letter}{ctx.table.bottom}"
            mark = _on_row(t, Places(MARK, ctx.table, row=ctx.table.top))
            marks.append(Mark(at, f"{gate}*({mark})", sev, t.slug))
            table[sev].append(f"IFERROR(({t.condition(Places(F.COUNT, ctx.table))})*1,0)")
            placed.append(Placed(t, sev, at))
    for (scope, sev), cell in SUM_CELLS.items():
        if scope == PROJECT:
            formula = f"={gate}*({_sum(project[sev])})"
        elif table[sev]:  # the row test once, for every test of the severity
            rows = Places(F.COUNT, ctx.table).indicator()
            formula = f"={gate}*ROUND(SUM(IFERROR({rows}*({'+'.join(table[sev])}),0)),0)"
        else:
            formula = "=0"
        cells.append((cell, formula, scope != PROJECT and bool(table[sev])))
    for formula, ref in ctx.shared.items():  # the values the tests share, in row 1
        cells.append((ref.replace("$", ""), "=" + formula, False))
    project_e, project_w, table_e, table_w = SUM_CELLS.values()
    cells += [(ERRORS_CELL.replace("$", ""), f"={project_e}+{table_e}", False),
              (WARNINGS_CELL.replace("$", ""), f"={project_w}+{table_w}", False)]
    return _Layout(tuple(placed), tuple(marks), tuple(cells))


def _on_row(t: Test, places: Places) -> str:
    """A table test at one row: an indicator row with the test's finding."""
    return f"{places.indicator()}*({t.condition(places)})"


def _project_cells() -> Iterator[str]:
    """The hidden cells of the project fields' tests: row 2 right of the marker, then row 4."""
    for row, first in ((2, FIRST_TEST_COLUMN + 1), (4, LIVE_COLUMN)):
        for col in range(first, LIVE_LAST_COLUMN + 1):
            yield a1(row - 1, col)
    raise ValueError("too many live tests for the hidden cells")


def _sum(cells: list[str]) -> str:
    """The sum of hidden cells, runs of a row as ranges."""
    if not cells:
        return "0"
    runs: list[list[tuple[int, int]]] = []
    for c in cells:
        at = parse_a1(c)
        assert at is not None
        if runs and runs[-1][-1][0] == at[0] and runs[-1][-1][1] + 1 == at[1]:
            runs[-1].append(at)
        else:
            runs.append([at])
    parts = [F.absolute(a1(*run[0])) + (":" + F.absolute(a1(*run[-1])) if len(run) > 1 else "")
             for run in runs]
    return f"SUM({','.join(parts)})"


SUM_CELLS = {(PROJECT, ERROR): "AO3", (PROJECT, WARNING): "AP3", (F.TABLE, ERROR): "AQ3",
             (F.TABLE, WARNING): "AR3"}
"""The sheet's counts by kind of test and severity (AO1 and AP1 add them up)."""
MARKER = "PX perfxl 实时检查 (live checks: hidden cells, do not edit)"
"""Row 2 of the first test column: how the reader knows these cells (layout.without_live_cells)."""


def _started(ctx: Context) -> str:
    """The project has been started: a code, a name, an amount or an indicator row (the reader
    skips a blank project sheet; so do the live checks)."""
    terms = [F.filled(ctx.ref(f)) for f in ("project.code", "project.name", "project.budget",
                                              "project.fiscal", "project.other") if ctx.has(f)]
    if ctx.table is not None:
        rows = ctx.rows()
        terms.append(f"(SUMPRODUCT({rows.indicator()}*1)>0)")
    return f"=IF({F.any_of(terms)},1,0)" if terms else "=0"


def _first_level1(ctx: Context) -> str:
    t = ctx.table
    return f"{t.columns['level1']}{t.top + 1}" if t else ""


def _status_text(out: SheetChecks) -> str:
    if not out.errors and not out.warnings:
        return f"{STATUS_TITLE}: 未发现问题"
    return f"{STATUS_TITLE}: {counts_text(out.errors, out.warnings)}"


def _status_formula() -> str:
    e, w = ERRORS_CELL, WARNINGS_CELL
    return (f'="{STATUS_TITLE}: "&IF({e}+{w}=0,"未发现问题","错误 "&{e}&" 项,警告 "&{w}&" 项")')


class _Cached:
    """The findings of the check just made, as the live tests will count them."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.at: Counter[tuple[str, str, str]] = Counter()
        self.cells: dict[tuple[str, str], list[str]] = defaultdict(list)
        for f in findings:
            self.at[(f.rule, f.severity, f.cell)] += 1
            self.cells[(f.rule, f.severity)].append(f.cell)

    def take(self, slug: str, severity: str, cell: str) -> int:
        k = (slug, severity, cell)
        if self.at[k] > 0:
            self.at[k] -= 1
            return 1
        return 0

    def column(self, slug: str, severity: str, letter: str, table: Table) -> int:
        n = 0
        for cell in self.cells.get((slug, severity), ()):
            at = parse_a1(cell) if cell else None
            if at and column_letters(at[1]) == letter and table.top <= at[0] + 1 <= table.bottom:
                n += 1
        return n


# --- the book -------------------------------------------------------------------------------------

_SIMPLE_SHEET = re.compile(r"[^\W\d]\w*")


TOTAL_CELLS = {NAME_ERRORS: "AO2", NAME_WARNINGS: "AP2"}
"""Where the book's live totals are, on the sheet that holds them (校验结果, or 选项 in a book
without it): hidden cells that the workbook-scope names refer to."""


def book_totals(sheets: Sequence[str], checked: Sequence[str]) -> dict[str, str]:
    """The cells of the book's live totals → their formulas. A 3-D sum from the first sheet to
    the last counts every sheet between them, a copy of a project sheet too; it needs both end
    sheets' names written unquoted (LibreOffice reads no quoted 3-D reference), else the totals
    are the sum of the checked sheets' cells. The sums are cell formulas, not the names' own:
    LibreOffice keeps a 3-D reference in a cell through a save, not in a defined name."""
    first, last = sheets[0], sheets[-1]
    out = {}
    for name, cell in ((NAME_ERRORS, ERRORS_CELL), (NAME_WARNINGS, WARNINGS_CELL)):
        if _simple(first) and _simple(last):
            out[TOTAL_CELLS[name]] = f"=SUM({first}:{last}!{cell})"
        elif checked:
            out[TOTAL_CELLS[name]] = "=" + "+".join(f"{F.quote_sheet(s)}!{cell}"
                                                    for s in checked)
        else:
            out[TOTAL_CELLS[name]] = "=0"
    return out


def book_names(host: str) -> dict[str, str]:
    """Workbook-scope names: the book's live totals, in the cells of :func:`book_totals` on
    ``host``."""
    return {name: f"={F.quote_sheet(host)}!{F.absolute(cell)}" for name, cell in
            TOTAL_CELLS.items()}


def _simple(sheet: str) -> bool:
    return bool(_SIMPLE_SHEET.fullmatch(sheet)) and parse_a1(sheet) is None and \
        not re.fullmatch(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*", sheet)


def counts_text(errors: int, warnings: int) -> str:
    return f"错误 {errors} 项,警告 {warnings} 项"


__all__ = [
    "AT",
    "FIXED",
    "FULL_CHECK",
    "NAME_ERRORS",
    "NAME_WARNINGS",
    "OPEN",
    "SEVERITY_ZH",
    "a1",
    "book_names",
    "book_totals",
    "context",
    "live_rules",
    "sheet_checks",
]
