"""The 汇总 and 说明 sheets follow the book as it is edited: each project's 错误/警告 are its sheet's
live counts plus the last full check's other findings, a project without a spending plan shows
未填 (and the row under 合计 says how many the totals leave out), the reconciliation's sentence
holds while its numbers do, and 说明 shows the book's live totals. The LibreOffice tests prove the
formulas in a real spreadsheet application, after edits saved by openpyxl (which keeps formulas
and drops cached values)."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from perfxl import embedded, read_book
from perfxl.cli import main
from perfxl.consolidate import AGREE, describe, totals
from perfxl.findings import ERROR, WARNING, Report
from perfxl.formula import PORTABLE_FUNCTIONS, functions_in, text
from perfxl.layout import place
from perfxl.live import live_rules
from perfxl.summary import (
    COL_ERRORS,
    COL_Q1,
    COL_WARNINGS,
    MISSING_PLAN,
    OMITTED_LABEL,
    Formula,
    table,
)
from perfxl.validate import check, validate_book

SUMMARY, GUIDE = "汇总", "说明"
P4 = "4.跨省通办及省内通办网络建设及设备费"
P1, P3, P6 = "1.行政审批等专家评审费", "3.百事通改革网络建设及设备费", "6.民生热线综合服务平台建设经费"
DIFFERENCE = "差额 (计算合计 − 申报总额)"


@pytest.fixture(scope="module")
def checked_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book ``perfxl demo`` writes: checked, its findings in the 汇总."""
    out = tmp_path_factory.mktemp("demo")
    r = CliRunner().invoke(main, ["demo", "-o", str(out)])
    assert r.exit_code == 0, r.output
    [book] = out.glob("*.xlsx")
    return book


def other_findings(report: Report) -> Counter[tuple[str, str]]:
    """(sheet, severity) → the findings of the rules that are not live."""
    live = set(live_rules())
    return Counter((f.sheet, f.severity) for f in report.findings if f.rule not in live)


def summary_rows(book: Path) -> list[list[Any]]:
    rows: list[list[Any]] = python_calamine.CalamineWorkbook.from_path(str(book)) \
        .get_sheet_by_name(SUMMARY).to_python(skip_empty_area=False)
    return rows


def labelled(rows: list[list[Any]], label: str) -> list[Any]:
    return next(r for r in rows if r and r[0] == label)


def explanation(rows: list[list[Any]]) -> Any:
    return rows[rows.index(labelled(rows, DIFFERENCE)) + 1][0]


# --- the book as written (cached values, formulas) -----------------------------------------------

def test_checked_demo_caches_what_the_check_says(checked_demo: Path) -> None:
    dept, report = validate_book(checked_demo)
    counts = Counter((f.sheet, f.severity) for f in report.findings)
    rows = summary_rows(checked_demo)
    for p in dept.projects:
        row = next(r for r in rows if r[3] == p.code)
        assert row[COL_ERRORS:COL_WARNINGS + 1] == [counts[(p.sheet, ERROR)],
                                                    counts[(p.sheet, WARNING)]], p.sheet
    project4 = next(r for r in rows if r[4] == dept.projects[3].name)
    assert project4[COL_Q1:COL_Q1 + 4] == [MISSING_PLAN] * 4  # no plan: 未填, not 0.00
    assert labelled(rows, "合计")[COL_Q1:COL_Q1 + 4] == [225000, 450000, 675000, 900000]
    assert labelled(rows, "合计")[COL_ERRORS:COL_WARNINGS + 1] == [report.counts[ERROR],
                                                                  report.counts[WARNING]]
    assert labelled(rows, OMITTED_LABEL)[COL_Q1:COL_Q1 + 4] == ["未含 1 个项目"] * 4
    t = totals(dept)
    assert t.department is not None
    assert explanation(rows) == describe(t.department, dept)[0]
    guide = python_calamine.CalamineWorkbook.from_path(str(checked_demo)) \
        .get_sheet_by_name(GUIDE).to_python()
    assert guide[1][0] == "实时检查(随输入更新): 错误 4 项,警告 26 项"  # the live rules' findings


def test_counts_are_the_live_cells_plus_the_other_findings(checked_demo: Path) -> None:
    dept, report = validate_book(checked_demo)
    other = other_findings(report)
    ws = openpyxl.load_workbook(checked_demo)[SUMMARY]
    row = next(r for r in ws.iter_rows() if r[3].value == dept.projects[3].code)
    rest = other[(P4, WARNING)]
    assert rest > 0
    assert row[COL_WARNINGS].value.startswith(f"=IF(ISNUMBER('{P4}'!$AP$1),'{P4}'!$AP$1,")
    assert row[COL_WARNINGS].value.endswith(f")+{rest}")
    assert row[COL_ERRORS].value == f"=IF(ISNUMBER('{P4}'!$AO$1),'{P4}'!$AO$1,1)"  # plan-missing
    total = next(r for r in ws.iter_rows() if r[0].value == "合计")
    assert total[COL_ERRORS].value.startswith("=SUBTOTAL(9,N5:N")
    text = ws.cell(2, 1).value
    assert "实时更新" in text and "上次完整校验" in text  # the header says how they are counted
    guide = openpyxl.load_workbook(checked_demo)[GUIDE]
    assert guide["A2"].value == ('="实时检查(随输入更新): 错误 "&perfxl_live_errors&" 项,警告 "'
                                 '&perfxl_live_warnings&" 项"')
    assert any("实时检查" in str(c.value) and "perfxl validate" in str(c.value)
               for c in guide["A"])


def test_summary_and_guide_use_only_portable_functions(checked_demo: Path) -> None:
    wb = openpyxl.load_workbook(checked_demo)
    used: set[str] = set()
    for name in (SUMMARY, GUIDE):
        for row in wb[name].iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    used |= functions_in(c.value)
    assert {"IF", "ISNUMBER", "COUNTIF", "TEXT", "SUBTOTAL"} <= used
    assert used <= PORTABLE_FUNCTIONS, used - PORTABLE_FUNCTIONS


def test_a_project_without_a_cell_map_keeps_constants() -> None:
    dept = embedded()
    place(dept)
    report = check(dept)
    dept.projects[0].cells = {}
    rows = table(dept, totals(dept), report)
    first = next(r for r in rows if r.project is dept.projects[0])
    assert first.cells[COL_ERRORS:] == [0, 7]  # the report's counts, as numbers
    second = next(r for r in rows if r.project is dept.projects[1])
    assert isinstance(live := second.cells[COL_ERRORS], Formula) and "$AO$1" in live.text


def test_without_a_check_the_counts_are_the_live_cells_alone() -> None:
    dept = embedded()
    place(dept)
    rows = table(dept, totals(dept), None)
    first = next(r for r in rows if r.project is dept.projects[0])
    errors = first.cells[COL_ERRORS]
    assert isinstance(errors, Formula)
    assert errors.text == f"='{P1}'!$AO$1" and errors.cached == 0
    assert rows[-1].kind == "counts-note" and "完整校验" in str(rows[-1].cells[0])


def _sentence(declared: Decimal, names: int = 0) -> tuple[str, Formula]:
    dept = embedded()
    place(dept)
    for p in dept.projects[:names]:
        p.name = p.name * 12
    t = totals(dept, declared)
    assert t.department is not None
    [row] = [r for r in table(dept, t, None) if r.kind == "explanation"]
    assert isinstance(row.cells[0], Formula)
    return describe(t.department, dept)[0], row.cells[0]


@pytest.mark.parametrize(("declared", "holds"), [
    (Decimal(1100000), None),  # agree: nothing to hold
    (Decimal(1050000), "(ROUND(F20-(F10),2)=0)"),  # project 5 alone
    (Decimal(950000), "(ROUND(F20-(F7),2)=0)*(ROUND(F20-(F12),2)=0)"),  # project 3; or 7
    (Decimal(980000), "(ROUND(F20-(F6+F10),2)=0)"),  # 70,000 + 50,000
    (Decimal(1099999), "(ROUND(F20-1.00,2)=0)"),  # explained by nothing: the same 差额
    (Decimal(1200000), None),  # a shortfall: the sentence follows its amount
])
def test_the_sentence_holds_while_what_it_says_does(declared: Decimal, holds: str | None) -> None:
    said, cell = _sentence(declared)
    assert cell.cached == said
    formula = cell.text
    assert formula.startswith(f'=IF(ROUND(F20,2)=0,"{AGREE[0]}",IF(F20<0,"计算合计比申报总额少 "&'
                              'TEXT(-F20,"#,##0.00")&" 元:可能缺少项目",')
    if holds is None:  # no sentence of the last 汇总 to keep: the changed one
        assert formula.endswith('"差额已变为 "&TEXT(F20,"#,##0.00")&" 元(上次汇总后有修改),'
                                '请重新汇总:功能区「绩效目标 → 汇总」或 perfxl summarize"))')
    else:
        assert f"IF({holds},{_quoted(said)}," in formula


def _quoted(s: str) -> str:
    return "&".join(text(s[i:i + 200]) for i in range(0, len(s), 200))


def test_a_long_sentence_is_joined_from_pieces_excel_accepts() -> None:
    said, cell = _sentence(Decimal(950000), names=7)
    assert len(said) > 255
    literals = re.findall(r'"((?:[^"]|"")*)"', cell.text)
    assert max(len(s) for s in literals) <= 255
    assert said in "".join(literals)


# --- a real spreadsheet application: LibreOffice recalculates the edited book -------------------

def _recalculated(book: Path, tmp: Path) -> openpyxl.Workbook:
    from libreoffice import convert

    return openpyxl.load_workbook(convert(book, "xlsx", tmp / f"recalculated-{book.stem}"),
                                  data_only=True)


def _rows(wb: openpyxl.Workbook, sheet: str) -> list[list[Any]]:
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


def _edited(book: Path, tmp: Path, name: str, edits: dict[tuple[str, str], Any]) -> Path:
    wb = openpyxl.load_workbook(book)
    for (sheet, cell), value in edits.items():
        wb[sheet][cell] = value
    out = tmp / f"{name}.xlsx"
    wb.save(out)
    return out


@pytest.mark.libreoffice
def test_recalculated_counts_are_the_live_counts_and_the_other_findings(
        checked_demo: Path, tmp_path: Path, soffice: str) -> None:
    dept, report = validate_book(checked_demo)
    other = other_findings(report)
    counts = Counter((f.sheet, f.severity) for f in report.findings)
    wb = _recalculated(checked_demo, tmp_path)
    rows = _rows(wb, SUMMARY)
    live_errors = live_warnings = 0
    for p in dept.projects:
        errors, warnings = wb[p.sheet]["AO1"].value, wb[p.sheet]["AP1"].value
        live_errors, live_warnings = live_errors + errors, live_warnings + warnings
        row = next(r for r in rows if r[3] == p.code)
        assert row[COL_ERRORS:COL_WARNINGS + 1] == [errors + other[(p.sheet, ERROR)],
                                                    warnings + other[(p.sheet, WARNING)]]
        # unedited: what the full check says
        assert row[COL_ERRORS:COL_WARNINGS + 1] == [counts[(p.sheet, ERROR)],
                                                    counts[(p.sheet, WARNING)]]
    assert (live_errors, live_warnings) == (4, 26)
    assert wb[GUIDE]["A2"].value == "实时检查(随输入更新): 错误 4 项,警告 26 项"
    assert explanation(rows).startswith("计算合计比申报总额多 50,000.00 元,恰好等于: 5.政府采购评审费")
    assert labelled(rows, OMITTED_LABEL)[COL_Q1:COL_Q1 + 4] == ["未含 1 个项目"] * 4


@pytest.mark.libreoffice
def test_filling_in_a_plan_clears_its_error_and_its_未填(checked_demo: Path, tmp_path: Path,
                                                        soffice: str) -> None:
    dept = read_book(checked_demo)
    p4 = dept.projects[3]
    assert p4.sheet == P4 and p4.plan is None
    plan_cells = p4.cells["project.plan"]
    before = next(r for r in _rows(_recalculated(checked_demo, tmp_path), SUMMARY)
                  if r[3] == p4.code)
    edited = _edited(checked_demo, tmp_path, "plan", {
        (P4, cell): pct for cell, pct in zip(plan_cells, (0.25, 0.5, 0.75, 1.0), strict=True)})
    wb = _recalculated(edited, tmp_path)
    rows = _rows(wb, SUMMARY)
    after = next(r for r in rows if r[3] == p4.code)
    assert after[COL_ERRORS] == before[COL_ERRORS] - 1 == 0  # plan-missing is gone
    assert after[COL_WARNINGS] == before[COL_WARNINGS]
    assert after[COL_Q1:COL_Q1 + 4] == pytest.approx([50000, 100000, 150000, 200000])
    assert labelled(rows, "合计")[COL_Q1:COL_Q1 + 4] == \
        pytest.approx([275000, 550000, 825000, 1100000])
    assert labelled(rows, OMITTED_LABEL)[COL_Q1:COL_Q1 + 4] == [None] * 4  # nothing left out
    assert wb[GUIDE]["A2"].value == "实时检查(随输入更新): 错误 3 项,警告 26 项"


@pytest.mark.libreoffice
@pytest.mark.parametrize(("edits", "says"), [
    ({(P1, "C4"): 30000}, AGREE[0]),  # 差额 0
    ({(P1, "C4"): 90000},
     "差额已变为 60,000.00 元(上次汇总后有修改),请重新汇总:功能区「绩效目标 → 汇总」或 perfxl summarize"),
    ({(P6, "C4"): 300000}, "计算合计比申报总额少 50,000.00 元:可能缺少项目"),
], ids=["agree", "changed", "short"])
def test_the_reconciliation_sentence_follows_the_difference(
        checked_demo: Path, tmp_path: Path, soffice: str, edits: dict[tuple[str, str], Any],
        says: str) -> None:
    edited = _edited(checked_demo, tmp_path, "budget", edits)
    assert explanation(_rows(_recalculated(edited, tmp_path), SUMMARY)) == says


@pytest.mark.libreoffice
def test_a_sentence_naming_several_projects_holds_only_while_all_of_them_do(
        checked_demo: Path, tmp_path: Path, soffice: str) -> None:
    """Declared 950,000: 差额 150,000 is project 3 or project 7. Moving 10,000 from project 1 to
    project 3 keeps 差额, but project 3 no longer explains it: the sentence says so."""
    book = tmp_path / "declared.xlsx"
    r = CliRunner().invoke(main, ["summarize", str(checked_demo), "-o", str(book),
                                  "--declared-total", "950000"])
    assert r.exit_code == 0, r.output
    said = explanation(summary_rows(book))
    assert "3.百事通改革网络建设及设备费" in said and "7.青龙帮扶杨树底下村修桥资金" in said
    assert explanation(_rows(_recalculated(book, tmp_path), SUMMARY)) == said
    moved = _edited(book, tmp_path, "moved", {(P1, "C4"): 70000, (P3, "C4"): 160000})
    assert explanation(_rows(_recalculated(moved, tmp_path), SUMMARY)).startswith(
        "差额已变为 150,000.00 元")
