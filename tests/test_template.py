"""The template book: Excel-native form, reproducible build, and the committed golden copy."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfxl import TEMPLATE_VERSION, embedded, write_book
from perfxl.layout import project_sheet_name

GOLDEN = Path(__file__).resolve().parents[1] / "workbook_templates" / "perfxl_template.xlsx"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_golden_template_is_what_the_build_makes(tmp_path: Path) -> None:
    """Part by part, like XlsxWriter's reference-file tests; rebuild with `perfxl template`."""
    fresh = tmp_path / "t.xlsx"
    write_book(fresh)
    want, got = parts(GOLDEN), parts(fresh)
    assert sorted(got) == sorted(want)
    differing = [name for name in want if want[name] != got[name]]
    assert differing == [], ("rebuild: perfxl template -o workbook_templates/perfxl_template.xlsx",
                             differing)


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_book(a, embedded())
    write_book(b, embedded())
    assert a.read_bytes() == b.read_bytes()


def test_sheets_and_version(demo_book: Path) -> None:
    wb = openpyxl.load_workbook(demo_book)
    assert wb.sheetnames[:2] == ["说明", "部门整体"] and wb.sheetnames[-2:] == ["汇总", "选项"]
    assert len(wb.sheetnames) == 11
    assert wb["选项"].sheet_state == "hidden"
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in wb.sheetnames)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["perfxl_template_version"] == TEMPLATE_VERSION
    assert wb.properties.created.year == 2021


def test_project_sheet_is_excel_native(demo_book: Path) -> None:
    ws = openpyxl.load_workbook(demo_book)["1.行政审批等专家评审费"]
    assert ws["C4"].value == 80000 and ws["C4"].number_format == "#,##0.00"
    assert ws["G4"].value == 0
    assert ws["B7"].value == 0.25 and ws["B7"].number_format == "0.00%"
    assert ws["B3"].data_type == "s" and ws["B3"].number_format == "@"
    # labels locked, inputs unlocked, sheet protected without a password
    assert ws.protection.sheet and not ws.protection.password
    assert ws["A3"].protection.locked and not ws["B3"].protection.locked
    assert not ws["F10"].protection.locked
    assert ws["A3"].font.name == "宋体" and ws["A1"].font.name == "黑体"
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$1:$2"
    assert ws.page_setup.paperSize == 9 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # 1 page wide
    assert ws.column_dimensions["C"].width > 20
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:G1", "B3:C3", "E3:G3", "A4:A5", "B5:G5", "B8:G8", "A10:A13", "A14:A17"} <= merged
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert rules["A10:A23"].formula1 == '"产出指标,效益指标,满意度指标"'
    assert "INDIRECT" in rules["B10:B23"].formula1
    assert rules["G10:G23"].formula1 == "指标值确定依据"
    names = openpyxl.load_workbook(demo_book).defined_names
    assert names["产出指标"].attr_text == "'选项'!$B$2:$B$5"


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    d = embedded()
    d.projects[0].purpose = "=HYPERLINK(\"http://x\",\"y\")"
    d.projects[0].indicators[0].description = "+1+2"
    path = tmp_path / "f.xlsx"
    write_book(path, d)
    ws = openpyxl.load_workbook(path)[d.projects[0].sheet or "1.行政审批等专家评审费"]
    assert ws["B5"].data_type == "s" and ws["B5"].value.startswith("=")
    assert ws["D10"].data_type == "s"
    formulas = re.findall(rb"<f[^>]*>(.*?)</f>", parts(path)["xl/worksheets/sheet3.xml"])
    assert formulas and not [f for f in formulas if b"HYPERLINK" in f or f == b"+1+2"]


@pytest.mark.parametrize(("seq", "name", "expected"), [
    (1, "行政审批等专家评审费", "1.行政审批等专家评审费"),
    (2, "a/b:c*d?e[f]g\\h", "2.a_b_c_d_e_f_g_h"),
    (3, "很" * 40, "3." + "很" * 29),
])
def test_sheet_names_are_legal(seq: int, name: str, expected: str) -> None:
    assert project_sheet_name(seq, name, set()) == expected


def test_sheet_names_are_unique_ignoring_case() -> None:
    taken: set[str] = set()
    a = project_sheet_name(1, "A" * 40, taken)
    b = project_sheet_name(1, "a" * 40, taken)
    assert a != b and len(b) <= 31 and b.endswith("(2)")


def test_guide_prints_on_the_width_of_an_a4_page(tmp_path: Path) -> None:
    """说明 is one column, which no spreadsheet scales to fit a page: it is narrower than the
    page itself (A4 portrait, 0.5" margins) even in LibreOffice's wider default font."""
    book = tmp_path / "t.xlsx"
    write_book(book)
    ws = openpyxl.load_workbook(book)["说明"]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert ws.print_area == "'说明'!$A$1:$A$11"
    width_inches = ws.column_dimensions["A"].width * 0.0972  # LibreOffice's character
    assert width_inches <= 8.27 - 2 * ws.page_margins.left
