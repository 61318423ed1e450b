"""perfxl.marks and perfxl.styles: what a mark is and how tall a row of text is, defined once
for the zip patcher, the ribbon and the XlsxWriter books."""

from __future__ import annotations

from datetime import datetime

from perfxl.findings import ERROR, WARNING, Finding
from perfxl.marks import (
    CELL_COLUMN,
    RESULT_COLUMNS,
    STATUS_COLUMN,
    anchor,
    cell_ref,
    check_time,
    is_live_mark,
    is_perfxl_note,
    live_totals,
    note_text,
    place,
    quote_sheet,
    result_row,
    result_summary,
    status,
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


def test_a_note_ends_with_the_time_of_its_check() -> None:
    at = datetime(2026, 12, 2, 10, 0, 59)
    assert check_time(at) == "(校验时间 2026-12-02 10:00,需完整校验后更新)"
    text = note_text([finding("PX601", WARNING, message="重复")], at)
    assert text == "【警告 PX601】重复\n(校验时间 2026-12-02 10:00,需完整校验后更新)"
    assert is_perfxl_note(text, "Ada")  # signed with the user's name, still perfxl's
    assert not is_perfxl_note(check_time(at), "Ada")  # the time alone is no finding


def test_live_marks_are_told_by_their_live_cells() -> None:
    assert is_live_mark("$AQ$4>0") and is_live_mark("$AO$2*(LEN(TRIM(F10))=0)")
    assert is_live_mark("$CG$4>0")
    assert not is_live_mark('"perfxl"="perfxl"') and not is_live_mark("$AQ$5>0")
    assert not is_live_mark("$AN$2>0") and not is_live_mark("AQ4>0")  # a user's own rules


def test_result_row_matches_the_columns() -> None:
    f = finding("PX301", ERROR)
    row = [1, *result_row(f, place(f), status(None))]
    assert len(row) == len(RESULT_COLUMNS)
    assert row[1:5] == ["错误", status(None), "PX301", "缺少资金支出计划 (plan-missing)"]
    assert RESULT_COLUMNS[STATUS_COLUMN - 1][0] == "状态" and row[STATUS_COLUMN - 1].text == "需完整校验"
    assert RESULT_COLUMNS[CELL_COLUMN - 1][0] == "单元格" and row[CELL_COLUMN - 1] == "1.项目!C4"
    live = status("=IF('1.项目'!$AQ$4>0,\"未修正\",\"已修正\")")
    assert live.text == "未修正" and live.formula is not None
    assert place(f, "1.项目", "B4") == "1.项目!B4"
    assert place(finding("PX1", ERROR, sheet="", cell="")) == ""


def test_summary_line_and_tab_colour() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9)
    ok = result_summary([], at, "a.xlsx")
    assert ok.text == "完整校验: 校验通过 (no errors or warnings) · 校验时间 2024-05-06 07:08:09 · a.xlsx"
    assert (ok.role, argb(ok.tab)) == ("summary-ok", "FF006100")
    bad = result_summary([finding("PX1", ERROR), finding("PX2", WARNING)], at, "")
    assert bad.text.startswith("完整校验: 错误 1 项,警告 1 项") and rgb(bad.tab) == (0xC0, 0, 0)
    assert result_summary([finding("PX2", WARNING)], at, "").role == "summary-warning"


def test_live_totals_line_reads_the_books_names() -> None:
    formula, text = live_totals(3, 26)
    assert formula == ('="实时检查(随输入更新): 错误 "&perfxl_live_errors&" 项,警告 "'
                       '&perfxl_live_warnings&" 项"')
    assert text == "实时检查(随输入更新): 错误 3 项,警告 26 项"


def test_cjk_counts_two_columns_and_line_breaks_start_lines() -> None:
    assert text_lines("", 10) == 1
    assert text_lines("a" * 10, 10) == 1 and text_lines("a" * 11, 10) == 2
    assert text_lines("汉" * 5, 10) == 1 and text_lines("汉" * 6, 10) == 2
    assert text_lines("a\nb\n", 10) == 3
    assert lines_needed("汉" * 5, 11) == 1  # a column's width less one character of padding
    assert row_height(("x", 10)) == 20 and row_height(("汉" * 30, 11)) == 13.5 * 6 + 6
