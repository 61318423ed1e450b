"""The live-check harness itself: conditional_marks (what LibreOffice flags) and uno_session.edit
(a book edited in LibreOffice like a user would)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

ERR, WARN = "#FFC7CE", "#FFEB9C"
S = "项目"


def _book(path: Path, *, rules: list[tuple[str, str, str]] | None = None) -> Path:
    """说明!A1 = 1, 选项!A1 = 2 and B1 = 35; 项目 has a threshold B1 = 25, values 10..50 in
    C2:C6, G1 = 5 (the workbook's perfxl_live_errors), G2 = 2 (项目's own perfxl_live_errors),
    M1 = perfxl_live_errors, H2:I3 merged and these expression rules (range, formula, colour)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("说明").write("A1", 1)
    options = wb.add_worksheet("选项")
    options.write("A1", 2)
    options.write("B1", 35)
    ws = wb.add_worksheet(S)
    ws.write("B1", 25)
    for row, value in enumerate((10, 20, 30, 40, 50), start=2):
        ws.write(f"C{row}", value)
    ws.write("G1", 5)
    ws.write("G2", 2)
    ws.write_formula("M1", "=perfxl_live_errors", None, 2)
    ws.merge_range("H2:I3", "merged")
    wb.define_name("perfxl_live_errors", f"='{S}'!$G$1")
    wb.define_name(f"'{S}'!perfxl_live_errors", f"='{S}'!$G$2")
    formats = {ERR: wb.add_format({"bg_color": ERR}), WARN: wb.add_format({"bg_color": WARN})}
    for where, formula, colour in RULES if rules is None else rules:
        ws.conditional_format(where, {"type": "formula", "criteria": formula,
                                      "format": formats[colour]})
    wb.close()
    return path


RULES = [
    ("C2:C6", "=C2>$B$1", ERR),                       # relative + absolute
    ("C2:C6", "=C2<15", WARN),                        # a second rule on the same cells
    ("C2:C6", "=MOD(C2,20)=10", WARN),
    ("D2:D6", "=C2>'选项'!$B$1", WARN),                # another sheet
    ("E2", "=perfxl_live_errors>0", ERR),             # the sheet's own name shadows the book's
    ("H2:I3", "=COUNTA($C$2:$C$6)>=5", WARN),         # merged cells
    ("J2:J3", "=SUM(说明:选项!$A$1)=3", ERR),          # a 3D reference
    ("K2", '=COUNTIF($C:$C,">"&$B$1)>=3', ERR),       # a whole column
]

FRESH = {
    (S, "C2"): {WARN}, (S, "C4"): {ERR, WARN}, (S, "C5"): {ERR}, (S, "C6"): {ERR, WARN},
    (S, "D5"): {WARN}, (S, "D6"): {WARN},
    (S, "E2"): {ERR},
    (S, "H2"): {WARN}, (S, "H3"): {WARN}, (S, "I2"): {WARN}, (S, "I3"): {WARN},
    (S, "J2"): {ERR}, (S, "J3"): {ERR},
    (S, "K2"): {ERR},
}


# --- no LibreOffice needed --------------------------------------------------------------------

@pytest.mark.parametrize(("formula", "cell", "expected"), [
    ("A2>$C$1", "B5", "'S'!B5>'S'!$C$1"),
    ("SUM(A:A)+SUM($B:$B)+SUM(2:2)+SUM($A$1:B2)", "B3",
     "SUM('S'!B:B)+SUM('S'!$B:$B)+SUM('S'!3:3)+SUM('S'!$A$1:C3)"),
    ("A2>'选项'!$B$1+Other!A2+SUM(说明:选项!A1)", "A4",
     "'S'!A4>'选项'!$B$1+Other!A4+SUM(说明:选项!A3)"),
    ("own>0+book>0+S!own+Other!own+ROW()+COLUMN()+ROW(A2)", "C3",
     "'S'!own>0+book>0+S!own+Other!own+ROW('S'!C3)+COLUMN('S'!C3)+ROW('S'!C3)"),
    ("'it''s'!B2+'a!b'!$B2+Table1[col]", "B3", "'it''s'!C3+'a!b'!$B3+Table1[col]"),
])
def test_probe_formulas_mean_the_same_on_another_sheet(formula: str, cell: str,
                                                       expected: str) -> None:
    from libreoffice import _probe_formula

    assert _probe_formula(formula, "A2", cell, "S", {"own"}) == expected


def test_a_book_without_conditional_formats_has_no_marks(tmp_path: Path) -> None:
    from libreoffice import conditional_marks

    assert conditional_marks(_book(tmp_path / "plain.xlsx", rules=[])) == {}


def test_other_rule_types_are_refused(tmp_path: Path) -> None:
    import xlsxwriter
    from libreoffice import conditional_marks

    path = tmp_path / "cell.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("A").conditional_format("A1", {"type": "cell", "criteria": ">",
                                                    "value": 1, "format": wb.add_format()})
    wb.close()
    with pytest.raises(ValueError, match="only expression rules"):
        conditional_marks(path)


# --- with LibreOffice -------------------------------------------------------------------------

@pytest.mark.libreoffice
def test_marks_of_a_fresh_book(tmp_path: Path, soffice: str) -> None:
    from libreoffice import conditional_marks

    assert conditional_marks(_book(tmp_path / "book.xlsx")) == FRESH


@pytest.mark.libreoffice
def test_a_failing_rule_formula_is_reported(tmp_path: Path, soffice: str) -> None:
    from libreoffice import conditional_marks

    book = _book(tmp_path / "book.xlsx", rules=[("C2:C3", "=C2/$B$9>0", ERR)])
    with pytest.raises(RuntimeError, match=r"项目!C2: ='项目'!C2/'项目'!\$B\$9>0 gives '#DIV/0!'"):
        conditional_marks(book)


@pytest.mark.libreoffice
def test_marks_follow_edits(tmp_path: Path, soffice: str) -> None:
    from libreoffice import conditional_marks
    from uno_session import edit

    out = tmp_path / "edited.xlsx"
    results = edit(_book(tmp_path / "book.xlsx"), [
        {"op": "type", "sheet": S, "cell": "C2", "text": "30"},
        {"op": "clear", "sheet": S, "cell": "C6"},
        {"op": "set_number", "sheet": S, "cell": "G2", "value": 0},
        {"op": "type", "sheet": "选项", "cell": "B1", "text": "10"},
        {"op": "value", "sheet": S, "cell": "C2"},
        {"op": "value", "sheet": S, "cell": "C6"},
        {"op": "name", "name": "perfxl_live_errors", "sheet": S},
        {"op": "name", "name": "perfxl_live_errors", "sheet": None},
    ], out)
    assert results == [30, None, 0, 5]
    assert conditional_marks(out) == {
        (S, "C2"): {ERR, WARN}, (S, "C4"): {ERR, WARN}, (S, "C5"): {ERR},
        (S, "C6"): {WARN},  # empty counts as 0 < 15
        (S, "D2"): {WARN}, (S, "D3"): {WARN}, (S, "D4"): {WARN}, (S, "D5"): {WARN},
        # E2 off: 项目's perfxl_live_errors is 0 now, the book's is still 5
        # H2:I3 off: only four values left in C2:C6
        (S, "J2"): {ERR}, (S, "J3"): {ERR},
        (S, "K2"): {ERR},
    }


@pytest.mark.libreoffice
def test_rows_inserted_inside_a_range_are_checked(tmp_path: Path, soffice: str) -> None:
    from libreoffice import conditional_marks
    from uno_session import edit

    out = tmp_path / "inserted.xlsx"
    assert edit(_book(tmp_path / "book.xlsx"), [
        {"op": "insert_rows", "sheet": S, "row": 4, "count": 1},
        {"op": "type", "sheet": S, "cell": "C4", "text": "60"},
        {"op": "value", "sheet": S, "cell": "C7"},
    ], out) == [50]
    ranges = {str(f.sqref) for f in openpyxl.load_workbook(out)[S].conditional_formatting}
    assert ranges >= {"C2:C7", "D2:D7", "H2:I4", "J2:J4"}
    assert conditional_marks(out) == {
        (S, "C2"): {WARN}, (S, "C4"): {ERR}, (S, "C5"): {ERR, WARN}, (S, "C6"): {ERR},
        (S, "C7"): {ERR, WARN},
        (S, "D4"): {WARN}, (S, "D6"): {WARN}, (S, "D7"): {WARN},
        (S, "E2"): {ERR},
        (S, "H2"): {WARN}, (S, "H3"): {WARN}, (S, "I2"): {WARN}, (S, "I3"): {WARN},
        (S, "J2"): {ERR}, (S, "J3"): {ERR},
        # a range ending right above the new row grows too (Excel's "format same as above")
        (S, "H4"): {WARN}, (S, "I4"): {WARN}, (S, "J4"): {ERR},
        (S, "K2"): {ERR},
    }
    out2 = tmp_path / "deleted.xlsx"
    assert edit(out, [{"op": "delete_rows", "sheet": S, "row": 4, "count": 1}], out2) == []
    assert conditional_marks(out2) == FRESH


@pytest.mark.libreoffice
def test_a_copied_sheet_keeps_its_rules_and_names(tmp_path: Path, soffice: str) -> None:
    """The copy gets its own sheet-scoped names and its cell formulas use them; but (LibreOffice
    7.4) a rule of the copy that uses such a name still reads the original sheet's."""
    from libreoffice import conditional_marks
    from uno_session import edit

    out = tmp_path / "copied.xlsx"
    copy = "项目 (2)"
    results = edit(_book(tmp_path / "book.xlsx"), [
        {"op": "copy_sheet", "sheet": S, "name": copy, "position": 3},
        {"op": "set_number", "sheet": copy, "cell": "G2", "value": 0},
        {"op": "name", "name": "perfxl_live_errors", "sheet": copy},
        {"op": "name", "name": "perfxl_live_errors", "sheet": S},
        {"op": "name", "name": "perfxl_live_errors", "sheet": None},
        {"op": "value", "sheet": copy, "cell": "M1"},
        {"op": "sheets"},
    ], out)
    assert results == [0, 2, 5, 0, ["说明", "选项", S, copy]]
    assert conditional_marks(out) == FRESH | {(copy, cell): c for (_, cell), c in FRESH.items()}


@pytest.mark.libreoffice
def test_a_sheet_copied_before_its_original_breaks_rules_with_names(tmp_path: Path,
                                                                   soffice: str) -> None:
    """LibreOffice 7.4 turns the sheet-scoped name in the copy's rule into #NAME? when the copy
    goes before the original; the harness reports it instead of calling the cell unflagged."""
    from libreoffice import conditional_marks
    from uno_session import edit

    out = tmp_path / "copied.xlsx"
    edit(_book(tmp_path / "book.xlsx", rules=RULES[4:5]),
         [{"op": "copy_sheet", "sheet": S, "name": "副本", "position": 0}], out)
    with pytest.raises(RuntimeError, match=r"副本!E2: =#NAME\?>0 gives '#NAME\?'"):
        conditional_marks(out)


@pytest.mark.libreoffice
def test_typing_parses_like_a_user_entry(tmp_path: Path, soffice: str) -> None:
    from uno_session import edit

    out = tmp_path / "typed.xlsx"
    cells = {"L1": "25%", "L2": "'80000", "L3": "80000", "L4": "=C2+1", "L5": "≥90%",
             "L7": "='选项'!B1+SUM(C2,C3)"}
    ops = [{"op": "type", "sheet": S, "cell": c, "text": t} for c, t in cells.items()]
    ops.append({"op": "set_text", "sheet": S, "cell": "L6", "text": "80000"})
    ops += [{"op": "value", "sheet": S, "cell": f"L{r}"} for r in range(1, 8)]
    assert edit(_book(tmp_path / "book.xlsx", rules=[]), ops, out) == [
        0.25, "80000", 80000, 11, "≥90%", "80000", 65]
    ws = openpyxl.load_workbook(out)[S]
    assert ws["L1"].value == 0.25 and ws["L1"].number_format.endswith("%")
    assert ws["L2"].value == "80000" and ws["L2"].data_type == "s"
    assert ws["L3"].value == 80000 and ws["L3"].data_type == "n"
    assert ws["L4"].value == "=C2+1"
    assert ws["L6"].value == "80000" and ws["L6"].data_type == "s"
    assert ws["L7"].value == "=选项!B1+SUM(C2,C3)"


@pytest.mark.libreoffice
def test_a_failing_edit_raises_with_the_reason(tmp_path: Path, soffice: str) -> None:
    from uno_session import edit

    out = tmp_path / "never.xlsx"
    with pytest.raises(RuntimeError, match="no sheet 'nope'"):
        edit(_book(tmp_path / "book.xlsx", rules=[]),
             [{"op": "value", "sheet": "nope", "cell": "A1"}], out)
    assert not out.exists()
