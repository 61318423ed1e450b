"""Consolidation: totals from the data, reconciliation, and the 汇总 sheet (formulas + cached)."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from perfxl import embedded, read_book
from perfxl.cli import main
from perfxl.consolidate import explain, totals
from perfxl.pipeline import department_book

P5 = "13030321E0GTGR1HG0170B"


def test_totals_are_computed_from_the_projects() -> None:
    t = totals(embedded())
    assert t.total == Decimal("1100000.00")
    assert t.by_unit == {"630001": Decimal(500000), "630003": Decimal(600000)}
    assert (t.fiscal, t.other, t.projects) == (Decimal(1100000), Decimal(0), 7)
    # project 4 has no plan: it adds nothing to the planned spending
    assert t.plan_amounts == [Decimal(225000), Decimal(450000), Decimal(675000), Decimal(900000)]
    assert t.department is not None
    assert (t.department.declared, t.department.difference) == (Decimal(1050000), Decimal(50000))
    assert t.department.explained_by == [[4]]  # project 5 alone


@pytest.mark.parametrize(("gap", "expected"), [
    (Decimal(50000), [[4]]),
    (Decimal(120000), [[1, 4]]),  # no single project: 70,000 + 50,000
    (Decimal(1), []),
    (Decimal(700000), [[2, 5, 6]]),  # 150,000 + 400,000 + 150,000
])
def test_explain_finds_the_smallest_exact_combinations(gap: Decimal,
                                                       expected: list[list[int]]) -> None:
    budgets = [(i, p.budget or Decimal(0)) for i, p in enumerate(embedded().projects)]
    found, complete = explain(gap, budgets)
    assert complete
    for combo in found:
        assert sum(budgets[i][1] for i in combo) == gap
    if expected:
        assert len(found[0]) == len(expected[0])
    else:
        assert found == []


def test_negative_gap_says_projects_may_be_missing() -> None:
    from perfxl.consolidate import describe

    d = embedded()
    t = totals(d, Decimal(1200000))
    assert t.department and t.department.explained_by == []
    assert "可能缺少项目" in describe(t.department, d)[0]


@pytest.fixture(scope="module")
def summary_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sum") / "book.xlsx"
    department_book(embedded(), path)
    return path


def summary_rows(path: Path) -> list[list[object]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    rows: list[list[object]] = wb.get_sheet_by_name("汇总").to_python(skip_empty_area=False)
    return rows


def test_summary_has_cached_values(summary_book: Path) -> None:
    rows = summary_rows(summary_book)
    by_label = {r[0]: r for r in rows if isinstance(r[0], str) and r[0]}
    assert by_label["合计"][5:12] == [1100000, 1100000, 0, 225000, 450000, 675000, 900000]
    assert by_label["630001 小计"][5] == 500000 and by_label["630003 小计"][5] == 600000
    assert by_label["合计"][12:14] == [63, 4]  # indicators, errors
    project5 = next(r for r in rows if r[3] == P5)
    assert project5[5] == 50000 and project5[13] == 1  # one error: code-pattern
    declared = by_label["部门申报总额(部门整体)"]
    assert declared[5] == 1050000
    assert by_label["计算合计"][5] == 1100000
    assert by_label["差额 (计算合计 − 申报总额)"][5] == 50000
    explanation = rows[rows.index(by_label["差额 (计算合计 − 申报总额)"]) + 1][0]
    assert "恰好等于: 5.政府采购评审费" in str(explanation)


def test_summary_amounts_are_formulas(summary_book: Path) -> None:
    ws = openpyxl.load_workbook(summary_book)["汇总"]
    assert ws["F5"].value == "='1.行政审批等专家评审费'!C4"
    plan = "'1.行政审批等专家评审费'!B7"
    assert ws["I5"].value == (f'=IF(ISNUMBER({plan}),F5*{plan},'
                              f'IFERROR(F5*VALUE(SUBSTITUTE(ASC(TRIM({plan})),"%",""))/100,"未填"))')
    total = next(r for r in ws.iter_rows(min_col=1, max_col=6) if r[0].value == "合计")
    assert total[5].value.startswith("=SUBTOTAL(9,F5:F")
    rows = {r[0].value: r for r in ws.iter_rows(min_col=1, max_col=6)}
    assert rows["部门申报总额(部门整体)"][5].value == "='部门整体'!C6"
    assert rows["计算合计"][5].value == f"=F{total[0].row}"
    declared_row = rows["部门申报总额(部门整体)"][5].row
    assert rows["差额 (计算合计 − 申报总额)"][5].value == f"=F{declared_row + 1}-F{declared_row}"
    assert ws.freeze_panes == "A5" and ws.page_setup.orientation == "landscape"
    with zipfile.ZipFile(summary_book) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 2


def test_summarize_command_names_project_5(demo_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.xlsx"
    r = CliRunner().invoke(main, ["summarize", str(demo_book), "-o", str(out),
                                  "--declared-total", "1050000", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["total"] == "1100000.00" and doc["declared_total"] == "1050000.00"
    assert doc["difference"] == "50000.00" and doc["explained_by"] == [[P5]]
    assert doc["by_unit"] == {"630001": "500000.00", "630003": "600000.00"}
    assert doc["plan_amounts"] == ["225000.00", "450000.00", "675000.00", "900000.00"]
    assert doc["fiscal"] == "1100000.00" and doc["other"] == "0.00" and doc["projects"] == 7
    assert out.is_file()


def test_editing_a_budget_moves_the_totals(demo_book: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    wb = openpyxl.load_workbook(demo_book)
    wb["1.行政审批等专家评审费"]["C4"] = 90000
    wb["1.行政审批等专家评审费"]["E4"] = 90000
    wb.save(edited)
    out = tmp_path / "s.xlsx"
    r = CliRunner().invoke(main, ["summarize", str(edited), "-o", str(out), "--format", "json",
                                  "--declared-unit", "630001=500000"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["total"] == "1110000.00" and doc["by_unit"]["630001"] == "510000.00"
    assert doc["explained_by"] == []  # 60,000: no project or combination matches
    assert doc["units"] == [{"unit": "630001", "declared_total": "500000.00",
                             "computed": "510000.00", "difference": "10000.00",
                             "explained_by": []}]
    by_label = {r[0]: r for r in summary_rows(out) if isinstance(r[0], str) and r[0]}
    assert by_label["合计"][5] == 1110000


def test_summarize_refuses_to_overwrite_its_input(demo_book: Path) -> None:
    before = demo_book.read_bytes()
    r = CliRunner().invoke(main, ["summarize", str(demo_book), "-o", str(demo_book)])
    assert r.exit_code == 2 and "--in-place" in r.stderr
    assert demo_book.read_bytes() == before


def test_summarize_in_place_keeps_a_backup(demo_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "b.xlsx"
    book.write_bytes(demo_book.read_bytes())
    r = CliRunner().invoke(main, ["summarize", str(book), "--in-place"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b.perfxl-backup.xlsx").read_bytes() == demo_book.read_bytes()
    assert len(read_book(book).projects) == 7


def test_hand_made_book_is_summarized_in_our_form(tmp_path: Path, seed_data: dict) -> None:
    from seedlayout import write_seed_layout_book

    src = tmp_path / "hand.xlsx"
    write_seed_layout_book(src, seed_data, wan_yuan=True, row_offset=2)
    r = CliRunner().invoke(main, ["summarize", str(src), "--declared-total", "1050000"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "hand_汇总.xlsx"
    d = read_book(out)
    assert d.template_version and d.total() == Decimal(1100000)
    assert "恰好等于: 5.政府采购评审费" in r.stdout


def test_summarize_in_place_refuses_what_the_rebuild_would_drop(tmp_path: Path,
                                                                seed_data: dict) -> None:
    from openpyxl.chart import BarChart, Reference
    from seedlayout import write_seed_layout_book

    book = tmp_path / "hand.xlsx"
    write_seed_layout_book(book, seed_data)
    wb = openpyxl.load_workbook(book)
    ws = wb.worksheets[0]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=3, min_row=4, max_row=4))
    ws.add_chart(chart, "J2")
    wb.save(book)
    before = book.read_bytes()
    r = CliRunner().invoke(main, ["summarize", str(book), "--in-place"])
    assert r.exit_code == 2 and "图表" in r.stderr and "-o" in r.stderr
    assert book.read_bytes() == before
    assert not (tmp_path / "hand.perfxl-backup.xlsx").exists()


def test_a_workbook_that_is_not_a_performance_book_is_reported(tmp_path: Path) -> None:
    from conftest import CORPUS

    r = CliRunner().invoke(main, ["validate", str(CORPUS / "excel_made" / "poi__SampleSS.xlsx")])
    assert r.exit_code == 2 and "不是预算绩效目标工作簿" in r.stderr


def _chart_rows(book: Path) -> list[int]:
    """0-based rows where the charts of the book's drawings are anchored."""
    import re

    with zipfile.ZipFile(book) as z:
        return [int(row) for name in z.namelist() if name.startswith("xl/drawings/drawing")
                for row in re.findall(r"<xdr:from><xdr:col>\d+</xdr:col><xdr:colOff>-?\d+"
                                      r"</xdr:colOff><xdr:row>(\d+)</xdr:row>",
                                      z.read(name).decode())]


@pytest.mark.parametrize(("projects", "own_page"), [(4, False), (24, True), (60, True)])
def test_summary_charts_go_on_their_own_page_when_they_would_cross_a_break(
        tmp_path: Path, projects: int, own_page: bool) -> None:
    import random

    from benchmarks.generate import department

    book = tmp_path / "d.xlsx"
    department_book(department(projects, projects, random.Random(projects)), book)
    ws = openpyxl.load_workbook(book)["汇总"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    charts = _chart_rows(book)
    assert len(charts) == 2 and len(set(charts)) == 1
    breaks = [b.id for b in ws.row_breaks.brk]
    assert breaks == ([charts[0]] if own_page else [])  # a break right above the charts


def test_demo_summary_keeps_its_charts_under_the_table(demo_book: Path) -> None:
    ws = openpyxl.load_workbook(demo_book)["汇总"]
    assert not ws.row_breaks.brk and len(_chart_rows(demo_book)) == 2
