"""The live checks (perfxl/live.py) against the full check (``perfxl validate``).

A book's live checks are formulas: for every live rule they must flag the cells ``perfxl
validate`` reports, no more, no less, and count what it counts, in LibreOffice (which
recalculates every formula on load here, see tests/libreoffice.py). The books are the demo book
mutated at the cells its cell map gives (with openpyxl, which keeps formulas, conditional
formats, array formulas and defined names: a test checks that), and the demo typed into like a
user (tests/uno_session.py).

How a live mark is told from another (so that each rule is compared on its own): every live
mark is its test's own formula, which ``live.sheet_checks`` gives for the sheet (its table is
the range of its indicator columns' marks). The constant marks of the full check
(marks.ERROR_FORMULA / WARNING_FORMULA) are not live and are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from perfxl import live
from perfxl.findings import Finding
from perfxl.formula import Table, quote_sheet
from perfxl.layout import FIRST_TEST_COLUMN, INDICATOR_COLUMNS, a1, column_letters, parse_a1
from perfxl.marks import ERROR_FORMULA, WARNING_FORMULA, anchor
from perfxl.model import Department, Project
from perfxl.read import read_book
from perfxl.rules import RulesConfig

ERR, WARN = "#FFC7CE", "#FFEB9C"
COLOUR = {"error": ERR, "warning": WARN}
LIVE = set(live.live_rules())
CONSTANT = {ERROR_FORMULA, WARNING_FORMULA}
FULL = str.maketrans("0123456789%", "０１２３４５６７８９％")


# --- the demo and its cell map -------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book ``perfxl demo`` writes: checked, built with its live checks, and marked."""
    from perfxl.dataset import embedded
    from perfxl.pipeline import department_book

    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    department_book(embedded(), path)
    return path


@pytest.fixture(scope="module")
def demo(demo_book: Path) -> Department:
    """The demo book as read back: its projects' sheets and cell maps."""
    return read_book(demo_book)


def project(dept: Department, seq: int) -> Project:
    return next(p for p in dept.projects if p.seq == seq)


def cell_of(p: Project, place: str) -> str:
    """A cell named by what it holds: ``project.name``, ``unit.name``, ``plan.2`` (a quarter,
    0-based), ``ind.3.value`` (the 4th indicator's value; ``level1`` is its group's cell),
    ``spare.0.basis`` (the first empty row under the indicators)."""
    kind, _, rest = place.partition(".")
    if kind in ("project", "unit"):
        return str(p.cells[place])
    if kind == "plan":
        return str(p.cells["project.plan"][int(rest)])
    n, _, fld = rest.partition(".")
    if kind == "ind":
        return p.indicators[int(n)].cells[fld]
    assert kind == "spare", place
    last = parse_a1(p.indicators[-1].cells["level3"])
    assert last is not None
    return f"{column_letters(INDICATOR_COLUMNS[fld])}{last[0] + 2 + int(n)}"


# --- the mutations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutation:
    """Edits of one project (place → value; None blanks the cell) and findings they must bring,
    (rule, place), so that no mutation passes for doing nothing."""

    what: str
    edits: dict[str, Any]
    expect: tuple[tuple[str, str], ...] = ()


def amount(d: Decimal | None, delta: str = "0") -> float:
    assert d is not None
    return float(d + Decimal(delta))


def spare_row(level2: str | None = None) -> dict[str, Any]:
    """An indicator typed into the first spare row, its 一级 left to the group above."""
    row = {"spare.0.level3": "新增指标", "spare.0.description": "新增指标的含义",
           "spare.0.value": "≥1个", "spare.0.basis": "计划标准"}
    return row | ({"spare.0.level2": level2} if level2 else {})


def _amounts(p: dict[int, Project]) -> dict[int, Mutation]:
    return {
        1: Mutation("no project name", {"project.name": None},
                    (("required-missing", "project.name"),)),
        2: Mutation("no budget", {"project.budget": None},
                    (("required-missing", "project.budget"),)),
        3: Mutation("fiscal + other a fen short of the budget",
                    {"project.budget": amount(p[3].budget, "0.01")},
                    (("funds-mismatch", "project.budget"),)),
        4: Mutation("goals of spaces", {"project.goals": "   "},
                    (("required-missing", "project.goals"),)),
        5: Mutation("a negative other amount",
                    {"project.other": -100, "project.fiscal": amount(p[5].fiscal, "100")},
                    (("amount-negative", "project.other"),)),
        6: Mutation("an amount as text with separators",
                    {"project.fiscal": f"{p[6].fiscal:,.2f}"},
                    (("amount-stored-as-text", "project.fiscal"),)),
        7: Mutation("an amount as full-width text",
                    {"project.fiscal": str(int(p[7].fiscal or 0)).translate(FULL)},
                    (("amount-stored-as-text", "project.fiscal"),)),
    }


def _plan(p: dict[int, Project]) -> dict[int, Mutation]:
    return {
        1: Mutation("a quarter blank", {"plan.1": None}, (("plan-missing", "plan.1"),)),
        2: Mutation("120% at the year's end", {"plan.3": 1.2},
                    (("plan-out-of-range", "plan.3"),)),
        3: Mutation("decreasing", {"plan.1": 0.6, "plan.2": 0.5},
                    (("plan-not-monotonic", "plan.2"),)),
        5: Mutation("90% at the year's end", {"plan.3": 0.9}, (("plan-not-100", "plan.3"),)),
        6: Mutation("typed as text", {"plan.0": "25%", "plan.1": "50.00%", "plan.2": "７５％",
                                      "plan.3": "100%"}),
        7: Mutation("a negative quarter", {"plan.0": -0.1}, (("plan-out-of-range", "plan.0"),)),
    }


def _codes(p: dict[int, Project]) -> dict[int, Mutation]:
    return {
        1: Mutation("a code a character short", {"project.code": p[1].code[:-1]},
                    (("code-pattern", "project.code"),)),
        2: Mutation("another region", {"project.code": "130304" + p[2].code[6:]},
                    (("code-pattern", "project.code"),)),
        3: Mutation("lower case", {"project.code": p[3].code.lower()},
                    (("code-pattern", "project.code"),)),
        4: Mutation("a space inside", {"project.code": p[4].code[:8] + " " + p[4].code[8:]},
                    (("code-whitespace", "project.code"),)),
        6: Mutation("another year", {"project.code": "13030322" + p[6].code[8:]},
                    (("code-pattern", "project.code"),)),
        7: Mutation("a line break inside, and the extra character gone",
                    {"project.code": p[7].code[:5] + "\n" + p[7].code[5:21]},
                    (("code-whitespace", "project.code"),)),
    }


def _levels(p: dict[int, Project]) -> dict[int, Mutation]:
    return {
        1: Mutation("no 一级 for the first group", {"ind.0.level1": None},
                    (("indicator-level-missing", "ind.0.level1"),
                     ("indicator-category-missing", "ind.0.level1"))),
        2: Mutation("a spare row filled without 二级", spare_row(),
                    (("indicator-level-missing", "spare.0.level2"),)),
        3: Mutation("a 二级 not under its 一级", {"ind.1.level2": "服务对象满意度指标"},
                    (("indicator-level-mismatch", "ind.1.level2"),)),
        4: Mutation("no 三级", {"ind.2.level3": None},
                    (("indicator-level-missing", "ind.2.level3"),)),
        5: Mutation("no 满意度指标 left", {f"ind.8.{f}": None for f in INDICATOR_COLUMNS},
                    (("indicator-category-missing", "ind.0.level1"),)),
        6: Mutation("no 成本指标", {"ind.3.level2": "数量指标"},
                    (("indicator-category-missing", "ind.0.level1"),)),
        7: Mutation("a 三级 twice", {"ind.2.level3": p[7].indicators[1].level3},
                    (("indicator-duplicate", "ind.2.level3"),)),
    }


def _texts(p: dict[int, Project]) -> dict[int, Mutation]:
    return {
        1: Mutation("no value", {"ind.2.value": None},
                    (("indicator-value-missing", "ind.2.value"),)),
        2: Mutation("no description", {"ind.2.description": None},
                    (("description-missing", "ind.2.description"),)),
        3: Mutation("description = name", {"ind.0.description": p[3].indicators[0].level3},
                    (("description-repeats-name", "ind.0.description"),)),
        4: Mutation("no basis", {"ind.2.basis": None}, (("basis-missing", "ind.2.basis"),)),
        5: Mutation("a vague value", {"ind.2.value": "提高服务质量"},
                    (("indicator-value-vague", "ind.2.value"),)),
        6: Mutation("满意度 below the floor", {"ind.8.value": "≥85%"},
                    (("satisfaction-below-floor", "ind.8.value"),)),
        7: Mutation("一级 not a category; a spare row under the wrong 一级",
                    {"ind.4.level1": "效益", **spare_row("数量指标")},
                    (("indicator-level-mismatch", "ind.4.level1"),
                     ("indicator-level-mismatch", "spare.0.level2"))),
    }


def _variants(p: dict[int, Project]) -> dict[int, Mutation]:
    """What users type that both sides must read alike."""
    return {
        1: Mutation("满意度 with spaces; a value of spaces",
                    {"ind.8.value": "≥ 85 %", "ind.2.value": "   "},
                    (("satisfaction-below-floor", "ind.8.value"),
                     ("indicator-value-missing", "ind.2.value"))),
        2: Mutation("满意度 without operator, in 百分比; at 90% it is no finding",
                    {"ind.8.value": "85百分比", "ind.5.value": "≥90%"},
                    (("satisfaction-below-floor", "ind.8.value"),)),
        3: Mutation("满意度 in full width; at most 85% is no finding; without a unit neither",
                    {"ind.8.value": "≥８５％", "spare.0.level2": "服务对象满意度指标",
                     "spare.0.level3": "投诉率", "spare.0.description": "投诉占比",
                     "spare.0.value": "≤85%", "spare.0.basis": "计划标准",
                     "spare.1.level2": "服务对象满意度指标", "spare.1.level3": "好评数",
                     "spare.1.description": "好评的次数", "spare.1.value": "≥85",
                     "spare.1.basis": "计划标准"},
                    (("satisfaction-below-floor", "ind.8.value"),)),
        4: Mutation("a spare row with only a basis", {"spare.0.basis": "计划标准"},
                    (("indicator-value-missing", "spare.0.value"),
                     ("indicator-level-missing", "spare.0.level3"))),
        5: Mutation("description = name but for spaces and width",
                    {"ind.0.description": " " + p[5].indicators[0].level3.translate(FULL) + " "},
                    (("description-repeats-name", "ind.0.description"),)),
        6: Mutation("a number and its text as 三级; an amount in 万元 as text; with 元",
                    {"ind.1.level3": 5, "ind.2.level3": "5", "project.other": "0万元",
                     "project.fiscal": f"{p[6].fiscal}元"},
                    (("indicator-duplicate", "ind.2.level3"),
                     ("amount-stored-as-text", "project.other"))),
        7: Mutation("plan as text: whole percents without %, fractions; a full-width code",
                    {"plan.0": "25", "plan.1": "50", "plan.2": "0.75", "plan.3": "1",
                     "project.code": p[7].code[:21].translate(FULL)}),
    }


def _whitespace(p: dict[int, Project]) -> dict[int, Mutation]:
    """Cells of nothing but a full-width space or a line break are blank to the reader."""
    return {
        1: Mutation("a value of a full-width space", {"ind.2.value": "\u3000"},
                    (("indicator-value-missing", "ind.2.value"),)),
        2: Mutation("a description of a line break", {"ind.2.description": "\n"},
                    (("description-missing", "ind.2.description"),)),
        3: Mutation("description = name but for a line break and a full-width space",
                    {"ind.1.description": p[3].indicators[1].level3[:2] + "\n"
                     + p[3].indicators[1].level3[2:] + "\u3000"},
                    (("description-repeats-name", "ind.1.description"),)),
        4: Mutation("a basis of a no-break space and a tab", {"ind.2.basis": "\u00a0\t"},
                    (("basis-missing", "ind.2.basis"),)),
    }


def _stripped(p: dict[int, Project]) -> dict[int, Mutation]:
    """一级 and 二级 with whitespace around them are the category they name."""
    return {
        1: Mutation("一级 with a trailing space", {"ind.0.level1": "产出指标 "}),
        2: Mutation("一级 with a line break inside", {"ind.4.level1": "效益\n指标"}),
        3: Mutation("二级 with a full-width space", {"ind.1.level2": "质量指标\u3000"}),
        4: Mutation("满意度 with a leading space, below the floor",
                    {"ind.8.level1": " 满意度指标", "ind.8.value": "≥85%"},
                    (("satisfaction-below-floor", "ind.8.value"),)),
        5: Mutation("vague words with a space", {"ind.2.value": "逐步 提高"},
                    (("indicator-value-vague", "ind.2.value"),)),
        6: Mutation("a 三级 twice but for a full-width space",
                    {"ind.2.level3": p[6].indicators[1].level3 + "\u3000"},
                    (("indicator-duplicate", "ind.2.level3"),)),
        7: Mutation("a code with a trailing space", {"project.code": p[7].code[:21] + " "}),
    }


def _whole_percents(p: dict[int, Project]) -> dict[int, Mutation]:
    """25, 50, 75, 100 in the percent cells: the reader takes them as whole percents."""
    return {
        1: Mutation("whole percents", {"plan.0": 25, "plan.1": 50, "plan.2": 75, "plan.3": 100}),
        2: Mutation("whole percents ending at 90", {"plan.0": 25, "plan.1": 50, "plan.2": 75,
                                                     "plan.3": 90},
                    (("plan-not-100", "plan.3"),)),
    }


def _stated_unit(p: dict[int, Project]) -> dict[int, Mutation]:
    """Text that states its unit is read in that unit: 10万元 is 100,000 元."""
    wan = (p[1].fiscal or Decimal(0)) / 10000
    return {
        1: Mutation("the fiscal amount in 万元, as text", {"project.fiscal": f"{wan}万元"}),
        2: Mutation("5,000 元 of the fiscal amount moved to other, as 0.5万",
                    {"project.other": "0.5万", "project.fiscal": amount(p[2].fiscal, "-5000")},
                    (("amount-stored-as-text", "project.other"),)),
        3: Mutation("the same, a fen short", {"project.other": "0.5万",
                                              "project.fiscal": amount(p[3].fiscal, "-5000.01")},
                    (("funds-mismatch", "project.budget"),)),
    }


def _criteria(p: dict[int, Project]) -> dict[int, Mutation]:
    """三级 that COUNTIF would take for a criterion or a pattern, or that differs by spaces."""
    return {
        1: Mutation("a 三级 that reads as a criterion",
                    {"ind.1.level3": "完成率", "ind.2.level3": "<>完成"}),
        2: Mutation("a 三级 with a wildcard", {"ind.1.level3": "完成率", "ind.2.level3": "*率"}),
        3: Mutation("a 三级 twice but for a space",
                    {"ind.2.level3": " " + p[3].indicators[1].level3},
                    (("indicator-duplicate", "ind.2.level3"),)),
    }


def _unreadable(p: dict[int, Project]) -> dict[int, Mutation]:
    """Text that is no amount, no percent: the full check takes the cell for missing."""
    return {
        4: Mutation("a budget in words", {"project.budget": "二十万"},
                    (("required-missing", "project.budget"),)),
        5: Mutation("a quarter in words", {"plan.1": "一半"}, (("plan-missing", "plan.1"),)),
    }


def _case_description(p: dict[int, Project]) -> dict[int, Mutation]:
    return {1: Mutation("description = name but for case",
                        {"ind.1.level3": "APP使用率", "ind.1.description": "app使用率"})}


def _case_duplicate(p: dict[int, Project]) -> dict[int, Mutation]:
    return {1: Mutation("the same 三级 but for case",
                        {"ind.1.level3": "APP使用率", "ind.2.level3": "App使用率"})}


Mutations = Callable[[dict[int, Project]], dict[int, Mutation]]


def together(*parts: Mutations) -> Mutations:
    """Several sets of mutations in one book (one LibreOffice run): a project's edits joined,
    never two on one cell."""
    def book(p: dict[int, Project]) -> dict[int, Mutation]:
        out: dict[int, Mutation] = {}
        for part in parts:
            for seq, m in part(p).items():
                if seq in out:
                    o = out[seq]
                    assert not set(o.edits) & set(m.edits), (o.what, m.what)
                    m = Mutation(f"{o.what}; {m.what}", o.edits | m.edits, o.expect + m.expect)
                out[seq] = m
        return out
    return book


BOOKS: dict[str, Mutations] = {
    "amounts": _amounts, "plan": _plan, "codes": _codes, "levels": _levels, "texts": _texts,
    "variants": _variants,
    "readings": together(_whitespace, _whole_percents, _case_description, _stripped),
    "keys": together(_stated_unit, _criteria, _unreadable),
    "case-duplicate": _case_duplicate,
}
DISAGREE = {
    "case-duplicate": "the live duplicate test compares case-insensitively (MATCH, =); "
                      "no portable function counts case-sensitive repeats over a range",
}


def mutations(book: str, dept: Department) -> dict[int, Mutation]:
    return BOOKS[book]({p.seq: p for p in dept.projects})


def mutate(src: Path, dept: Department, book: str, out: Path) -> dict[int, Mutation]:
    """The demo with one book's mutations, saved by openpyxl."""
    muts = mutations(book, dept)
    wb = openpyxl.load_workbook(src)
    for seq, m in muts.items():
        p = project(dept, seq)
        for place, value in m.edits.items():
            wb[p.sheet][cell_of(p, place)].value = value
    wb.save(out)
    wb.close()
    return muts


# --- what each side finds -------------------------------------------------------------------------

Found = set[tuple[str, str, str, str]]
"""(rule, severity, sheet, cell)"""


def validated(book: Path) -> list[Finding]:
    """``perfxl validate``'s findings of live rules."""
    from perfxl.pipeline import validate_file

    return [f for f in validate_file(book).report.findings if f.rule in LIVE]


def _table(ranges: str, p: Project) -> Table:
    top, bottom = (int(x) for x in re.findall(r"\d+", ranges.split()[0]))
    return Table(top, bottom, {f: re.sub(r"\d", "", c) for f, c in p.indicators[0].cells.items()})


class LiveMarks:
    """Which live rule each conditional format of a book is (see the module's docstring)."""

    def __init__(self, book: Path, dept: Department) -> None:
        self.dept = dept
        self.sheets = {p.sheet: p for p in dept.projects}
        self.merges: dict[str, list[tuple[int, int, int, int]]] = {}
        self.tables: dict[str, str] = {}
        self.formulas: dict[str, dict[str, tuple[str, str]]] = {}
        wb = openpyxl.load_workbook(book)
        try:
            for ws in wb.worksheets:
                self.merges[ws.title] = [(m.min_row - 1, m.min_col - 1, m.max_row - 1,
                                          m.max_col - 1) for m in ws.merged_cells.ranges]
                for cf in ws.conditional_formatting:
                    if ":" in str(cf.sqref):  # an indicator column: the sheet's table
                        self.tables.setdefault(ws.title, str(cf.sqref))
        finally:
            wb.close()

    def rule(self, sheet: str, flag: Any) -> tuple[str, str] | None:
        """(slug, severity) of a live mark, None for a constant one."""
        if flag.rule in CONSTANT:
            return None
        if sheet not in self.formulas:
            p = self.sheets[sheet]
            ctx = live.context(p.cells, RulesConfig(), year=self.dept.year,
                               table=_table(self.tables[sheet], p))
            self.formulas[sheet] = {m.formula: (m.slug, m.severity)
                                    for m in live.sheet_checks(sheet, ctx).marks}
        found = self.formulas[sheet].get(flag.rule)
        assert found is not None, f"{sheet}!{flag.ranges}: not a live formula: {flag.rule}"
        return found

    def found(self, rules: dict[tuple[str, str], set[Any]]) -> Found:
        out: Found = set()
        for (sheet, cell), flags in rules.items():
            at = parse_a1(cell)
            assert at is not None
            for flag in flags:
                which = self.rule(sheet, flag)
                if which is None:
                    continue
                slug, severity = which
                assert flag.colour == COLOUR[severity], (sheet, cell, slug, flag.colour)
                out.add((slug, severity, sheet, a1(*anchor(self.merges[sheet], *at))))
        return out


def count_formulas(dept: Department) -> list[str]:
    """Each project sheet's live error and warning counts, then the book's (its names)."""
    cells = [f"{quote_sheet(p.sheet)}!{c}" for p in dept.projects
             for c in (live.ERRORS_CELL, live.WARNINGS_CELL)]
    return [*cells, live.NAME_ERRORS, live.NAME_WARNINGS]


def expected_counts(dept: Department, findings: Iterable[Finding]) -> list[int]:
    findings = list(findings)
    per = Counter((f.sheet, f.severity) for f in findings)
    total = Counter(f.severity for f in findings)
    return [*(per[(p.sheet, s)] for p in dept.projects for s in ("error", "warning")),
            total["error"], total["warning"]]


@dataclass
class Outcome:
    """A book as the full check and LibreOffice see it."""

    findings: list[Finding]
    checked: Found
    marked: Found
    counts: list[Any]
    expected: list[int]
    flags: dict[tuple[str, str], set[Any]] = field(default_factory=dict)

    def by_rule(self, found: Found) -> dict[str, set[tuple[str, str, str]]]:
        out: dict[str, set[tuple[str, str, str]]] = {r: set() for r in LIVE}
        for rule, severity, sheet, cell in found:
            out[rule].add((severity, sheet, cell))
        return out

    def assert_agree(self, *, names: bool = True) -> None:
        """Each live rule's marked cells are the cells the full check reports for it; each
        sheet's counts and (with ``names``) the book's are the number of its findings."""
        got, want = self.by_rule(self.marked), self.by_rule(self.checked)
        diff = {r: {"live only": sorted(got[r] - want[r]), "validate only": sorted(want[r] - got[r])}
                for r in sorted(LIVE) if got[r] != want[r]}
        assert not diff, diff
        assert self.counts[:-2] == self.expected[:-2]
        if names:
            assert self.counts[-2:] == self.expected[-2:]


def outcome(book: Path, dept: Department | None = None) -> Outcome:
    """``book`` checked by both sides; ``dept`` the cell map (read from the book if None)."""
    from libreoffice import evaluate

    dept = dept if dept is not None else read_book(book)
    findings = validated(book)
    done = evaluate(book, count_formulas(dept))
    return Outcome(findings, {(f.rule, f.severity, f.sheet, f.cell) for f in findings},
                   LiveMarks(book, dept).found(done.rules), done.values,
                   expected_counts(dept, findings), done.rules)


# --- 1. every live rule, mutated, against the full check ----------------------------------------

def test_the_mutations_cover_every_live_rule(demo: Department) -> None:
    covered = {rule for book in BOOKS if book not in DISAGREE
               for m in mutations(book, demo).values() for rule, _ in m.expect}
    assert sorted(covered) == sorted(live.live_rules())


def test_openpyxl_keeps_every_formula(demo_book: Path, tmp_path: Path) -> None:
    """The mutations are written with openpyxl: it keeps cell, array and conditional-format
    formulas, validations and defined names (print areas are written quoted)."""
    from book_formulas import formulas

    out = tmp_path / "saved.xlsx"
    wb = openpyxl.load_workbook(demo_book)
    wb.save(out)

    def seen(book: Path) -> Counter[tuple[str, str]]:
        return Counter((f.kind, f.text.replace("'", "") if f.kind == "name" else f.text)
                       for f in formulas(book))

    before = seen(demo_book)
    assert before == seen(out)
    assert {k for k, _ in before} >= {"cell", "array", "conditional", "validation", "name"}


@pytest.fixture(scope="module")
def differential(demo_book: Path, demo: Department, tmp_path_factory: pytest.TempPathFactory,
                 soffice: str) -> Iterator[dict[str, Future[tuple[dict[int, Mutation], Outcome]]]]:
    """Every mutated book checked by both sides (two LibreOffice runs at a time)."""
    folder = tmp_path_factory.mktemp("mutated")

    def run(book: str) -> tuple[dict[int, Mutation], Outcome]:
        path = folder / f"{book}.xlsx"
        muts = mutate(demo_book, demo, book, path)
        return muts, outcome(path, demo)

    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {book: pool.submit(run, book) for book in BOOKS}


@pytest.mark.libreoffice
@pytest.mark.parametrize("book", [
    pytest.param(b, marks=pytest.mark.xfail(strict=True, reason=DISAGREE[b]))
    if b in DISAGREE else b for b in BOOKS])
def test_live_checks_find_what_validate_finds(
        book: str, demo: Department,
        differential: dict[str, Future[tuple[dict[int, Mutation], Outcome]]]) -> None:
    muts, done = differential[book].result()
    for seq, m in muts.items():
        p = project(demo, seq)
        for rule, place in m.expect:
            assert (rule, p.sheet, cell_of(p, place)) in {
                (r, s, c) for r, _, s, c in done.checked}, (m.what, rule, place)
    done.assert_agree()


# --- 2. the demo, corrected in LibreOffice as a user would ----------------------------------------

@dataclass
class Edited:
    """A book edited in LibreOffice (uno_session.edit): what it said on the way, and the saved
    book checked by both sides."""

    said: list[Any]
    book: Path
    done: Outcome


def edited(src: Path, ops: list[dict[str, Any]], out: Path) -> Edited:
    from uno_session import edit

    said = edit(src, ops, out)
    return Edited(said, out, outcome(out))


@pytest.fixture(scope="module")
def corrected(demo_book: Path, demo: Department, tmp_path_factory: pytest.TempPathFactory,
              soffice: str) -> Edited:
    """The demo with its four live errors corrected by typing: its totals before and after,
    then each project sheet's counts."""
    errors: dict[str, list[Finding]] = {}
    for f in validated(demo_book):
        if f.severity == "error":
            errors.setdefault(f.rule, []).append(f)
    assert sorted((r, len(fs)) for r, fs in errors.items()) == [
        ("code-pattern", 2), ("indicator-value-missing", 1), ("plan-missing", 1)]
    names = [{"op": "name", "name": n, "sheet": None} for n in (live.NAME_ERRORS,
                                                               live.NAME_WARNINGS)]
    ops: list[dict[str, Any]] = list(names)
    p4 = next(p for p in demo.projects if p.sheet == errors["plan-missing"][0].sheet)
    for cell, text in zip(p4.cells["project.plan"], ("25%", "50%", "75%", "100%"), strict=True):
        ops.append({"op": "type", "sheet": p4.sheet, "cell": cell, "text": text})
    for f in errors["code-pattern"]:  # 22 characters: the extra one dropped
        assert len(f.value) == 22 and re.fullmatch(r"13030321[0-9A-Z]{13}", f.value[:21])
        ops.append({"op": "type", "sheet": f.sheet, "cell": f.cell, "text": f.value[:21]})
    missing = errors["indicator-value-missing"][0]
    ops.append({"op": "type", "sheet": missing.sheet, "cell": missing.cell, "text": "≥95%"})
    ops += names
    ops += [{"op": "value", "sheet": p.sheet, "cell": c} for p in demo.projects
            for c in (live.ERRORS_CELL, live.WARNINGS_CELL)]
    return edited(demo_book, ops, tmp_path_factory.mktemp("corrected") / "corrected.xlsx")


@pytest.mark.libreoffice
def test_the_demo_corrected_by_typing_has_no_live_error(demo_book: Path, demo: Department,
                                                        corrected: Edited) -> None:
    warnings = Counter(f.severity for f in validated(demo_book))["warning"]
    before, after, sheets = corrected.said[:2], corrected.said[2:4], corrected.said[4:]
    assert before == [4, warnings]
    assert after == [0, warnings]
    assert sheets[0::2] == [0] * len(demo.projects)
    # the saved book checked in full: no live error left, and its live checks find what the
    # full check finds (its book totals: test_book_totals_survive_a_save_in_libreoffice)
    assert [f for f in corrected.done.findings if f.severity == "error"] == []
    corrected.done.assert_agree(names=False)


@pytest.mark.libreoffice
def test_book_totals_survive_a_save_in_libreoffice(corrected: Edited) -> None:
    assert corrected.done.counts[-2:] == corrected.done.expected[-2:]


@pytest.mark.libreoffice
def test_no_cell_stays_red_after_the_correction(corrected: Edited) -> None:
    red = sorted(at for at, flags in corrected.done.flags.items()
                 if any(f.colour == ERR for f in flags))
    assert red == []


# --- 3. what users do to sheets -----------------------------------------------------------------------

COPY = "4.副本"


@pytest.fixture(scope="module")
def reshaped(demo_book: Path, demo: Department, tmp_path_factory: pytest.TempPathFactory,
             soffice: str) -> Edited:
    """The demo after a user copied a project sheet, inserted indicator rows and deleted one,
    in LibreOffice, with the counts read on the way."""
    p1, p2, p4, p7 = (project(demo, s) for s in (1, 2, 4, 7))
    row12 = parse_a1(p1.indicators[2].cells["level3"])
    spare = parse_a1(cell_of(p2, "spare.0.level3"))
    middle = parse_a1(p7.indicators[6].cells["value"])
    assert row12 and spare and middle

    def typed(sheet: str, row: int, texts: dict[str, str]) -> list[dict[str, Any]]:
        return [{"op": "type", "sheet": sheet, "text": t,
                 "cell": f"{column_letters(INDICATOR_COLUMNS[f])}{row}"} for f, t in texts.items()]

    def counts(sheet: str) -> list[dict[str, Any]]:
        return [{"op": "value", "sheet": sheet, "cell": live.ERRORS_CELL},
                {"op": "name", "name": live.NAME_ERRORS, "sheet": None}]

    new = {"level2": "数量指标", "level3": "新增指标", "description": "新增指标的含义",
           "basis": "计划标准"}
    ops: list[dict[str, Any]] = [
        *counts(p4.sheet),
        # a copy among the project sheets, right after its original, then made worse
        {"op": "copy_sheet", "sheet": p4.sheet, "name": COPY, "position": 7},
        *counts(COPY),
        {"op": "clear", "sheet": COPY, "cell": p4.indicators[2].cells["value"]},
        *counts(COPY),
        {"op": "name", "name": live.NAME_ERRORS, "sheet": COPY},
        # a row between two indicator rows, an indicator typed into it without a value
        {"op": "insert_rows", "sheet": p1.sheet, "row": row12[0] + 1, "count": 1},
        *typed(p1.sheet, row12[0] + 1, new),
        *counts(p1.sheet),
        # a row right above the first spare row, the same
        {"op": "insert_rows", "sheet": p2.sheet, "row": spare[0] + 1, "count": 1},
        *typed(p2.sheet, spare[0] + 1, new | {"level2": "服务对象满意度指标"}),
        *counts(p2.sheet),
        # an indicator row in the middle of a merged 一级 group: its value cleared, then the
        # row deleted (the sheet's protection lifted first, as a user must: see
        # test_an_indicator_row_can_be_deleted_on_a_protected_sheet)
        {"op": "clear", "sheet": p7.sheet, "cell": p7.indicators[6].cells["value"]},
        *counts(p7.sheet),
        {"op": "unprotect", "sheet": p7.sheet},
        {"op": "delete_rows", "sheet": p7.sheet, "row": middle[0] + 1, "count": 1},
        *counts(p7.sheet),
        {"op": "sheets"},
    ]
    return edited(demo_book, ops, tmp_path_factory.mktemp("reshaped") / "reshaped.xlsx")


@pytest.mark.libreoffice
def test_copied_inserted_and_deleted_rows_are_checked(demo: Department,
                                                      reshaped: Edited) -> None:
    (four, total0, copy, total1, copy_worse, total2, copy_own, one, total3, two, total4,
     seven, total5, seven_after, total6, sheets) = reshaped.said
    assert (four, total0) == (1, 4)
    assert (copy, total1) == (1, 5)                     # the copy has its own live cells
    assert (copy_worse, total2, copy_own) == (2, 6, 2)  # and counts its own errors
    assert (one, total3) == (1, 7)                      # the inserted indicator, no value
    assert (two, total4) == (1, 8)
    assert (seven, total5) == (3, 9)                    # a value cleared ...
    assert (seven_after, total6) == (2, 8)              # ... and its row deleted
    assert sheets.index(COPY) == sheets.index(project(demo, 4).sheet) + 1
    # the marks: on the copy's own cleared value and on the typed rows' values
    p1, p2 = project(demo, 1), project(demo, 2)
    row12 = parse_a1(p1.indicators[2].cells["level3"])
    spare = parse_a1(cell_of(p2, "spare.0.level3"))
    assert row12 and spare
    value = INDICATOR_COLUMNS["value"]
    for at in ((COPY, project(demo, 4).indicators[2].cells["value"]),
               (p1.sheet, a1(row12[0], value)), (p2.sheet, a1(spare[0], value))):
        assert ("indicator-value-missing", "error", *at) in reshaped.done.marked, at
    # and the whole book, read back, agrees with the full check rule by rule
    reshaped.done.assert_agree(names=False)


@pytest.mark.libreoffice
def test_an_indicator_row_can_be_deleted_on_a_protected_sheet(demo_book: Path, demo: Department,
                                                              tmp_path: Path,
                                                              soffice: str) -> None:
    from uno_session import edit

    p7 = project(demo, 7)
    row = parse_a1(p7.indicators[6].cells["value"])
    assert row is not None
    assert edit(demo_book, [
        {"op": "delete_rows", "sheet": p7.sheet, "row": row[0] + 1, "count": 1},
        {"op": "value", "sheet": p7.sheet, "cell": live.ERRORS_CELL},
    ], tmp_path / "deleted.xlsx") == [2]


# --- 4. portable formulas, in every book perfxl writes -------------------------------------------

EXCEL_FORMULA_LIMIT = 8192
"""Characters of a formula in Excel 2007 and later."""


@pytest.fixture(scope="module")
def written(demo_book: Path, tmp_path_factory: pytest.TempPathFactory,
            seed_data: dict[str, Any]) -> dict[str, Path]:
    """One book of each kind perfxl writes, by the CLI."""
    from click.testing import CliRunner
    from seedlayout import write_seed_layout_book

    from perfxl.cli import main

    folder = tmp_path_factory.mktemp("written")
    runner = CliRunner()

    def run(*args: str) -> None:
        done = runner.invoke(main, list(args))
        assert done.exit_code in (0, 1), done.output  # 1: the book has errors

    run("template", "-o", str(folder / "template.xlsx"))
    run("split", str(demo_book), "-o", str(folder / "units"))
    units = sorted((folder / "units").glob("*.xlsx"))
    assert len(units) == 2
    run("merge", *map(str, units), "-o", str(folder / "merged.xlsx"))
    run("summarize", str(demo_book), "-o", str(folder / "summarized.xlsx"))
    write_seed_layout_book(folder / "handmade.xlsx", seed_data)
    run("validate", str(folder / "handmade.xlsx"), "-o", str(folder / "validated.xlsx"))
    run("selfeval", str(demo_book), "-o", str(folder / "selfeval.xlsx"))
    return {"template": folder / "template.xlsx", "demo": demo_book, "unit": units[0],
            "merged": folder / "merged.xlsx", "summarized": folder / "summarized.xlsx",
            "validated": folder / "validated.xlsx", "selfeval": folder / "selfeval.xlsx"}


BUILT = ("template", "demo", "unit", "merged", "summarized")
"""The books perfxl builds whole (the annotated hand-made book keeps the user's sheets)."""


def test_every_formula_is_portable_and_short(written: dict[str, Path]) -> None:
    from book_formulas import formulas, without_sheet_names

    from perfxl.formula import PORTABLE_FUNCTIONS, functions_in

    quoted = re.compile(r'"(?:[^"]|"")*"')
    foreign, long, constants = [], [], []
    for kind, book in written.items():
        found = list(formulas(book))
        assert found, kind
        if kind in BUILT:  # with their live checks
            assert {"array", "conditional", "name"} <= {f.kind for f in found}, kind
            assert any(live.STARTED_CELL in f.text for f in found if f.kind == "conditional")
        for f in found:
            extra = functions_in(without_sheet_names(f.text)) - PORTABLE_FUNCTIONS
            if extra:
                foreign.append((kind, f.kind, f.where, sorted(extra)))
            if len(f.text) > EXCEL_FORMULA_LIMIT:
                long.append((kind, f.kind, f.where, len(f.text)))
            if f.kind in ("conditional", "validation") and "{" in quoted.sub("", f.text):
                constants.append((kind, f.kind, f.where))  # Excel refuses array constants there
    assert foreign == []
    assert long == []
    assert constants == []


def test_functions_in_sees_every_call() -> None:
    """The scan above finds what it looks for: calls in any case and nested, not text in
    quotes nor sheet names that look like calls."""
    from book_formulas import without_sheet_names

    from perfxl.formula import functions_in

    assert functions_in(without_sheet_names(
        "=_xlfn.TEXTJOIN(\",\",1,'a(2)'!A1)+sum(IF(\"LET(\",1))")) == {
        "XLFN.TEXTJOIN", "SUM", "IF"}


# --- 5. never printed, never typed over, never seen -----------------------------------------------

def _live_sheets(book: Path) -> dict[str, list[str]]:
    """Sheets with live cells → the cells (rows 1–4 from column AO, and the status line)."""
    from perfxl.layout import LIVE_COLUMN, LIVE_ROWS

    out: dict[str, list[str]] = {}
    wb = openpyxl.load_workbook(book)
    try:
        for ws in wb.worksheets:
            marker = ws.cell(2, FIRST_TEST_COLUMN + 1).value
            if not (isinstance(marker, str) and marker.startswith("PX")):
                continue
            cells = [c.coordinate for row in ws.iter_rows(min_row=1, max_row=LIVE_ROWS,
                                                          min_col=LIVE_COLUMN + 1)
                     for c in row if c.value is not None]
            out[ws.title] = [*cells, live.STATUS_CELL]
    finally:
        wb.close()
    return out


@pytest.mark.parametrize("kind", BUILT)
def test_live_cells_are_hidden_locked_and_not_printed(kind: str,
                                                      written: dict[str, Path]) -> None:
    import xml.etree.ElementTree as ET
    import zipfile

    from book_formulas import MAIN, _sheet_names

    book = written[kind]
    sheets = _live_sheets(book)
    assert sheets, kind
    wb = openpyxl.load_workbook(book)
    with zipfile.ZipFile(book) as z:
        parts = {name: part for part, name in _sheet_names(z).items()}
        for sheet, cells in sheets.items():
            ws = wb[sheet]
            root = ET.fromstring(z.read(parts[sheet]))
            protection = root.find(f"{MAIN}sheetProtection")
            assert protection is not None and protection.get("sheet") in ("1", "true"), sheet
            hidden = set()
            for col in root.iter(f"{MAIN}col"):
                if col.get("hidden") in ("1", "true"):
                    hidden.update(range(int(col.get("min", 0)), int(col.get("max", 0)) + 1))
            area = ws.print_area
            assert area, sheet
            printed = [re.sub(r"^.*!", "", a).replace("$", "") for a in
                       (area if isinstance(area, list) else str(area).split(","))]
            for ref in cells:
                at = parse_a1(ref)
                assert at is not None
                for rng in printed:
                    corners = [parse_a1(x) for x in rng.split(":")]
                    (r0, c0), (r1, c1) = corners[0] or (0, 0), corners[-1] or (0, 0)
                    assert not (r0 <= at[0] <= r1 and c0 <= at[1] <= c1), (sheet, ref, rng)
                cell = ws[ref]
                assert cell.protection.locked, (sheet, ref)
                if ref == live.STATUS_CELL:
                    continue  # the status line is seen, not printed
                assert at[1] + 1 in hidden, (sheet, ref)
                assert cell.protection.hidden, (sheet, ref)
    wb.close()
