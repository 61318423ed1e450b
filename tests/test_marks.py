"""perfxl.marks and perfxl.styles: what a mark is and how tall a row of text is, defined once
for the zip patcher, the ribbon and the XlsxWriter books."""

from __future__ import annotations

from datetime import datetime

from perfxl.findings import ERROR, WARNING, Finding
from perfxl.marks import (
    RESULT_COLUMNS,
    anchor,
    cell_ref,
    is_perfxl_note,
    note_text,
    place,
    quote_sheet,
    result_row,
    result_summary,
)
from perfxl.styles import argb, lines_needed, rgb, row_height, text_lines


def finding(code: str, severity: str, sheet: str = "1.项目", cell: str = "C4",
            message: str = "说明") -> Finding:
    return Finding(code, "plan-missing", severity, "project.plan", message, "", sheet=sheet,
                   cell=cell)


def test_sheet_names_are_quoted_for_formulas_and_links() -> None:
    assert quote_sheet("汇总") == "'汇总'"
    assert quote_sheet("Bob's") == "'Bob''s'"
    assert cell_ref("1.项目 A", "C4") == "'1.项目 A'!C4"


def test_a_merged_cell_stands_for_its_top_left() -> None:
    merges = [(2, 1, 3, 4), (10, 0, 10, 2)]  # B3:E4, A11:C11 (0-based, inclusive)
    assert anchor(merges, 3, 4) == (2, 1)
    assert anchor(merges, 2, 1) == (2, 1)
    assert anchor(merges, 10, 2) == (10, 0)
    assert anchor(merges, 4, 4) == (4, 4)  # below the range
    assert anchor([], 7, 7) == (7, 7)


def test_note_lists_each_finding_once() -> None:
    text = note_text([finding("PX301", ERROR, message="未填"), finding("PX701", WARNING),
                      finding("PX301", ERROR, message="未填")])
    assert text == "【错误 PX301】未填\n【警告 PX701】说明"
    assert is_perfxl_note(text, "Ada") and is_perfxl_note("anything", "perfxl")
    assert not is_perfxl_note(text + "\nmy own line", "Ada")


def test_result_row_matches_the_columns() -> None:
    f = finding("PX301", ERROR)
    row = [1, *result_row(f, place(f))]
    assert len(row) == len(RESULT_COLUMNS)
    assert row[1:4] == ["错误", "PX301", "缺少资金支出计划 (plan-missing)"]
    assert row[8] == "1.项目!C4"
    assert place(f, "1.项目", "B4") == "1.项目!B4"
    assert place(finding("PX1", ERROR, sheet="", cell="")) == ""


def test_summary_line_and_tab_colour() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9)
    ok = result_summary([], at, "a.xlsx")
    assert ok.text == "校验通过 (no errors or warnings) · 校验时间 2024-05-06 07:08:09 · a.xlsx"
    assert (ok.role, argb(ok.tab)) == ("summary-ok", "FF006100")
    bad = result_summary([finding("PX1", ERROR), finding("PX2", WARNING)], at, "")
    assert bad.text.startswith("错误 1 项,警告 1 项") and rgb(bad.tab) == (0xC0, 0, 0)
    assert result_summary([finding("PX2", WARNING)], at, "").role == "summary-warning"


def test_cjk_counts_two_columns_and_line_breaks_start_lines() -> None:
    assert text_lines("", 10) == 1
    assert text_lines("a" * 10, 10) == 1 and text_lines("a" * 11, 10) == 2
    assert text_lines("汉" * 5, 10) == 1 and text_lines("汉" * 6, 10) == 2
    assert text_lines("a\nb\n", 10) == 3
    assert lines_needed("汉" * 5, 11) == 1  # a column's width less one character of padding
    assert row_height(("x", 10)) == 20 and row_height(("汉" * 30, 11)) == 13.5 * 6 + 6
