"""The reader: our books and books typed by hand in the seed's layout give the seed back."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from seedlayout import write_seed_layout_book

from perfxl import ReadError, embedded, read_book, write_book
from perfxl.dataset import to_data
from perfxl.read import Grid, parse_book

SEED_TOTALS = {"630001": Decimal("500000.00"), "630003": Decimal("600000.00")}


def test_demo_book_reads_back_exactly(demo_book: Path) -> None:
    d = read_book(demo_book)
    assert to_data(d) == to_data(embedded())
    assert d.template_version == "perfxl-2021.1"
    assert d.skipped == []
    assert d.total() == Decimal("1100000.00") and d.unit_totals() == SEED_TOTALS
    assert sum(len(p.indicators) for p in d.projects) == 63


def test_cell_map_of_our_template(demo_book: Path) -> None:
    p = read_book(demo_book).projects[0]
    assert p.sheet == "1.行政审批等专家评审费"
    assert p.cells == {
        "title": "A1", "unit.code": "B2", "unit.name": "D2", "project.code": "B3",
        "project.name": "E3", "project.budget": "C4", "project.fiscal": "E4",
        "project.other": "G4", "project.purpose": "B5", "project.plan": ["B7", "D7", "E7", "F7"],
        "project.goals": "B8"}
    # 一级 is merged over its run: every row of the run points at the merged cell
    assert [i.cells["level1"] for i in p.indicators] == ["A10"] * 4 + ["A14"] * 4 + ["A18"]
    assert p.indicators[8].cells == {"level1": "A18", "level2": "B18", "level3": "C18",
                                     "description": "D18", "value": "F18", "basis": "G18"}
    # the cell map points at the values in the book
    ws = openpyxl.load_workbook(demo_book)[p.sheet]
    assert ws[p.cells["project.budget"]].value == 80000
    assert ws[p.cells["project.code"]].value == p.code
    assert ws[p.cells["project.plan"][3]].value == 1


def test_missing_plan_points_at_the_empty_cells(demo_book: Path) -> None:
    p = read_book(demo_book).projects[3]
    assert p.plan is None
    assert p.cells["project.plan"] == ["B7", "D7", "E7", "F7"]


VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "shifted": {"row_offset": 3, "col_offset": 2},
    "wan_yuan": {"wan_yuan": True},
    "wan_yuan_shifted": {"wan_yuan": True, "row_offset": 2, "col_offset": 1},
    "blank_rows": {"blank_rows": True},
    "split_codes": {"split_codes": True},
    "full_width": {"full_width": True},
    "one_sheet": {"one_sheet": True, "row_offset": 1},
    "everything": {"row_offset": 2, "col_offset": 3, "wan_yuan": True, "blank_rows": True,
                   "split_codes": True, "full_width": True, "one_sheet": True},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_hand_made_books_in_the_seed_layout(tmp_path: Path, seed_data: dict[str, Any],
                                            variant: str) -> None:
    path = tmp_path / f"{variant}.xlsx"
    write_seed_layout_book(path, seed_data, **VARIANTS[variant])
    d = read_book(path)
    assert to_data(d)["projects"] == to_data(embedded())["projects"]
    assert [(u.code, u.name) for u in d.units] == [(u.code, u.name) for u in embedded().units]
    assert d.total() == Decimal("1100000.00") and d.unit_totals() == SEED_TOTALS
    assert d.template_version is None and d.skipped == []
    money_unit = "万元" if VARIANTS[variant].get("wan_yuan") else "元"
    assert {p.amount_unit for p in d.projects} == {money_unit}


def test_split_codes_keep_what_was_written(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    path = tmp_path / "split.xlsx"
    write_seed_layout_book(path, seed_data, split_codes=True)
    p = read_book(path).projects
    assert p[0].code == "130303216DIAX82DQONDM" and p[0].code_raw == "130303216DIAX82DQOND\nM"
    assert p[1].code_raw == "130303216M SG9KDZYIKK0"


def test_seed_layout_cell_map_follows_the_shift(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    path = tmp_path / "shifted.xlsx"
    write_seed_layout_book(path, seed_data, row_offset=3, col_offset=2)
    p = read_book(path).projects[6]
    assert p.cells["unit.code"] == p.cells["unit.name"] == "C5"
    assert p.cells["project.code"] == "D6" and p.cells["project.budget"] == "E7"
    assert p.cells["project.purpose"] == "D8"
    assert p.cells["project.plan"] == ["D10", "E10", "F10", "G10"]
    assert p.indicators[4].cells["value"] == "H17" and p.indicators[4].value == ""


def test_foreign_sheets_are_skipped_and_reported(tmp_path: Path,
                                                 seed_data: dict[str, Any]) -> None:
    path = tmp_path / "extra.xlsx"
    write_seed_layout_book(path, seed_data, extra_sheets=("说明", "附表"))
    d = read_book(path)
    assert len(d.projects) == 7
    assert sorted(s.sheet for s in d.skipped) == sorted(["附表", "说明"])
    assert all("项目编码" in s.reason for s in d.skipped)


def test_blank_template_has_no_projects(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    write_book(path)
    d = read_book(path)
    assert d.projects == [] and d.units == []
    assert [(s.sheet, s.reason_en) for s in d.skipped] == [("1.项目名称", "blank project table")]


def grid(rows: list[list[Any]], merges: list[tuple[int, int, int, int]] | None = None) -> Grid:
    return Grid("S", rows, merges or [])


def test_amount_that_is_not_a_number_is_kept_raw() -> None:
    d = parse_book([grid([
        ["项目编码", "X1", "项目名称", "N"],
        ["预算数", "八万元", "其中:财政资金", 80000, "其他资金", 0],
        ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"],
        ["产出指标", "数量指标", "a", "b", "≥1 个", "年度工作计划"],
        [],
        ["填表说明:这一行不是指标", "", "", "", "", ""],
    ])])
    p = d.projects[0]
    assert p.budget is None and p.raw == {"project.budget": "八万元"}
    assert p.fiscal == Decimal(80000) and len(p.indicators) == 1
    assert p.cells["project.budget"] == "B2"


def test_partial_plan_and_plain_percent_numbers() -> None:
    p = parse_book([grid([
        ["项目编码", "X1"],
        ["资金支出", "3月底", "6月底", "10月底", "12月底"],
        ["计划(%)", 25, "", 75, 100],
    ])]).projects[0]
    assert p.plan == (Decimal(25), None, Decimal(75), Decimal(100))


def test_unreadable_files_raise_read_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a workbook")
    with pytest.raises(ReadError, match="无法读取工作簿"):
        read_book(bad)
    with pytest.raises(ReadError, match="找不到文件"):
        read_book(tmp_path / "missing.xlsx")
    with pytest.raises(ReadError, match="文件夹"):
        read_book(tmp_path)
