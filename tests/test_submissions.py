"""What users actually send: books made by hand or saved by other programs, read and judged as
their authors meant them, each case built the way a user makes it (openpyxl for a hand-typed
book, LibreOffice for an .ods) and run through the real reader, validator and command line."""

from __future__ import annotations

import csv
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import CORPUS
from seedlayout import write_seed_layout_book

from perfxl import read_book, write_book
from perfxl.cli import main
from perfxl.errors import LimitExceeded
from perfxl.read.sources import open_book

CORPUS_XLSB = CORPUS / "hostile_public" / "poi__testVarious.xlsb"
"""A book Excel saved as .xlsb (nothing here writes the format)."""


def hand_made(tmp_path: Path, seed_data: dict[str, Any], name: str = "hand.xlsx",
              **variant: Any) -> Path:
    path = tmp_path / name
    write_seed_layout_book(path, seed_data, **variant)
    return path


def edit(src: Path, dst: Path, sheet: str, changes: dict[str, Any]) -> Path:
    """Type values into cells as a user would (text stays text; ``=…`` is a formula, which
    openpyxl, like many tools, saves without calculating it)."""
    wb = openpyxl.load_workbook(src)
    for cell, value in changes.items():
        c = wb[sheet][cell]
        c.value = value
        if isinstance(value, str) and not value.startswith("="):
            c.data_type = "s"
    wb.save(dst)
    return dst


def validate(path: Path) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


def at(doc: dict[str, Any], sheet: str, cell: str) -> list[tuple[str, str]]:
    return [(f["rule"], f["severity"]) for f in doc["findings"]
            if f["sheet"] == sheet and f["cell"] == cell]


def rules_on(doc: dict[str, Any], sheet: str) -> set[str]:
    return {f["rule"] for f in doc["findings"] if f["sheet"] == sheet}


# --- 1. amounts stored as text, formulas without a value, whole-number plans ---------------------

@pytest.mark.parametrize("written", ["80,000.00", "８００００", "80000元", "8万", "８万元"])
def test_amount_stored_as_text_is_read_and_flagged_once(tmp_path: Path, seed_data: dict[str, Any],
                                                        written: str) -> None:
    path = edit(hand_made(tmp_path, seed_data), tmp_path / "text.xlsx", "1", {"C4": written})
    code, doc = validate(path)
    assert code == 1
    assert at(doc, "1", "C4") == [("amount-stored-as-text", "error")]
    (f,) = [f for f in doc["findings"] if f["rule"] == "amount-stored-as-text"]
    assert f["message"] == (f"预算数 {written} 以文本形式保存,工作簿自身的合计公式(SUM、SUBTOTAL)"
                            "不会计入;请改为数字 80000")
    assert f["field"] == "project.budget" and f["code"] == "PX106" and f["message_en"]
    assert read_book(path).projects[0].budget == Decimal(80000)  # the user's intent, exactly
    assert "funds-mismatch" not in rules_on(doc, "1")


def test_text_amounts_name_the_number_in_the_tables_unit(tmp_path: Path,
                                                         seed_data: dict[str, Any]) -> None:
    """In a table in 万元, 8万 is still 80,000 元 (the cell states its unit); to type: 8."""
    src = hand_made(tmp_path, seed_data, wan_yuan=True)
    path = edit(src, tmp_path / "wan.xlsx", "1", {"C4": "8万", "E4": "80000元"})
    p = read_book(path).projects[0]
    assert (p.budget, p.fiscal, p.amount_unit) == (Decimal(80000), Decimal(80000), "万元")
    code, doc = validate(path)
    messages = {f["cell"]: f["message"] for f in doc["findings"]
                if f["rule"] == "amount-stored-as-text"}
    assert messages == {"C4": "预算数 8万 以文本形式保存,工作簿自身的合计公式(SUM、SUBTOTAL)不会计入;请改为数字 8",
                        "E4": "财政资金 80000元 以文本形式保存,工作簿自身的合计公式(SUM、SUBTOTAL)不会计入;请改为数字 8"}
    assert code == 1 and "funds-mismatch" not in rules_on(doc, "1")


def test_full_width_hand_made_book_flags_every_text_amount(tmp_path: Path,
                                                          seed_data: dict[str, Any]) -> None:
    path = hand_made(tmp_path, seed_data, full_width=True)
    _code, doc = validate(path)
    cells = {(f["sheet"], f["cell"]) for f in doc["findings"]
             if f["rule"] == "amount-stored-as-text"}
    dept = read_book(path)
    assert cells == {(p.sheet, p.cells[f]) for p in dept.projects
                     for f in ("project.budget", "project.fiscal", "project.other")}
    assert dept.total() == Decimal("1100000.00")


def test_a_csv_file_has_no_types_so_its_amounts_are_not_text(tmp_path: Path,
                                                             seed_data: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(hand_made(tmp_path, seed_data))
    path = tmp_path / "1.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:  # what 另存为 CSV writes
        csv.writer(f).writerows([["" if v is None else v for v in row]
                                 for row in wb["1"].iter_rows(values_only=True)])
    _code, doc = validate(path)
    assert "amount-stored-as-text" not in {f["rule"] for f in doc["findings"]}
    assert read_book(path).projects[0].budget == Decimal(80000)


def test_a_formula_without_a_value_says_so(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    path = edit(hand_made(tmp_path, seed_data), tmp_path / "f.xlsx", "1",
                {"C4": "=E4+G4", "E4": "=80000"})
    code, doc = validate(path)
    assert code == 1
    assert at(doc, "1", "C4") == [("formula-without-value", "error")]
    assert at(doc, "1", "E4") == [("formula-without-value", "error")]
    f = next(f for f in doc["findings"] if f["cell"] == "E4")
    assert f["message"] == ("财政资金的公式没有计算结果(保存它的程序没有计算公式),"
                            "请在 Excel/WPS 中打开并保存后再提交")
    assert f["field"] == "project.fiscal"
    assert not {"required-missing", "funds-mismatch"} & rules_on(doc, "1")


def test_a_plan_formula_without_a_value(tmp_path: Path) -> None:
    from test_validate import SHEET, valid_department

    book = tmp_path / "valid.xlsx"
    write_book(book, valid_department())
    path = edit(book, tmp_path / "plan.xlsx", SHEET, {"F7": "=E7+0.25"})
    code, doc = validate(path)
    assert code == 1
    assert [(f["rule"], f["cell"]) for f in doc["findings"]] == [("formula-without-value", "F7")]
    assert doc["findings"][0]["message"].startswith("资金支出计划(12月底)的公式没有计算结果")


@pytest.mark.libreoffice
def test_opening_and_saving_the_book_computes_the_formula(tmp_path: Path, soffice: str,
                                                          seed_data: dict[str, Any]) -> None:
    """What the message asks for: once a spreadsheet program has saved it, the value is there."""
    from libreoffice import convert

    path = edit(hand_made(tmp_path, seed_data), tmp_path / "f.xlsx", "1", {"C4": "=E4+G4"})
    saved = convert(path, "xlsx", tmp_path / "saved")
    _code, doc = validate(saved)
    assert at(doc, "1", "C4") == []
    assert read_book(saved).projects[0].budget == Decimal(80000)


@pytest.mark.parametrize(("cells", "found"), [
    (b'<c r="C4"><f>E4+G4</f><v></v></c>', {"C4"}),
    (b'<c r="C4" s="2"><f>E4+G4</f></c>', {"C4"}),
    (b'<c r="C4"><f t="shared" si="0" ref="C4:C5">E4</f><v/></c>', {"C4"}),
    (b'<c r="C4"><f>E4+G4</f><v>80000</v></c>', set()),
    (b'<c r="C4" t="str"><f>IF(A1="","",A1)</f><v></v></c>', set()),  # a computed ""
    (b'<c r="C4"><v>80000</v></c><conditionalFormatting><cfRule><formula>C4&lt;0</formula>'
     b'</cfRule></conditionalFormatting>', set()),
])
def test_formula_scan_of_a_sheet(tmp_path: Path, cells: bytes, found: set[str]) -> None:
    book = _book_with_sheet_xml(tmp_path, cells)
    assert open_book(book).uncalculated("1") == found


def test_formula_scan_of_a_large_sheet(tmp_path: Path) -> None:
    """A sheet larger than the pieces the limits scan inflates (every row holds one formula
    without a value)."""
    from perfxl.limits import CHUNK

    rows = 3 * CHUNK // 40
    cells = b"".join(b'<row r="%d"><c r="B%d"><f>1+1</f></c></row>' % (r, r)
                     for r in range(1, rows + 1))
    assert len(cells) > 2 * CHUNK
    book = _book_with_sheet_xml(tmp_path, cells, rows=False)
    assert open_book(book).uncalculated("1") == {f"B{r}" for r in range(1, rows + 1)}


def _book_with_sheet_xml(tmp_path: Path, cells: bytes, *, rows: bool = True) -> Path:
    """A book written by openpyxl, its sheet's data replaced by ``cells`` (as another tool would
    write them)."""
    src = tmp_path / "src.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "1"
    wb.active["A1"] = "x"
    wb.save(src)
    out = tmp_path / "book.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                start, end = data.index(b"<sheetData"), data.index(b"</sheetData>") + 12
                body = b'<row r="4">' + cells + b"</row>" if rows else cells
                data = data[:start] + b"<sheetData>" + body + b"</sheetData>" + data[end:]
            zout.writestr(item, data)
    return out


def test_whole_percents_in_our_template_give_one_finding(tmp_path: Path) -> None:
    """25, 50, 75, 100 typed into the template's percent cells (shown as 2500% …): read as the
    percents meant, and one finding that says what to type, not five out-of-range errors."""
    from test_validate import SHEET, valid_department

    book = tmp_path / "valid.xlsx"
    write_book(book, valid_department())
    path = edit(book, tmp_path / "plan.xlsx", SHEET, {"B7": 25, "D7": 50, "E7": 75, "F7": 100})
    code, doc = validate(path)
    assert code == 1
    assert [(f["rule"], f["cell"]) for f in doc["findings"]] == [("plan-whole-percent", "B7")]
    assert doc["findings"][0]["message"] == (
        "资金支出计划填的是 25、50、75、100,在百分比格式的单元格中显示为 2500%、5000%、7500%、10000%;"
        "已按 25%、50%、75%、100% 读取,请改填 25%、50%、75%、100%(带 % 号)")
    assert read_book(path).projects[0].plan == (25, 50, 75, 100)


def test_whole_percents_in_a_hand_made_book_are_simply_percents(
        tmp_path: Path, seed_data: dict[str, Any]) -> None:
    path = edit(hand_made(tmp_path, seed_data), tmp_path / "plan.xlsx", "1",
                {"B7": 25, "C7": 50, "D7": 75, "E7": 100})
    _code, doc = validate(path)
    assert not {r for r in rules_on(doc, "1") if r.startswith("plan-")}
    assert read_book(path).projects[0].plan == (25, 50, 75, 100)


def test_a_plan_that_is_not_whole_percents_is_still_checked(tmp_path: Path) -> None:
    """0.25 … 1.5 in our template is 25 % … 150 %: out of range as before."""
    from test_validate import SHEET, valid_department

    book = tmp_path / "valid.xlsx"
    write_book(book, valid_department())
    path = edit(book, tmp_path / "plan.xlsx", SHEET, {"B7": 25, "D7": 50, "E7": 75, "F7": 150})
    _code, doc = validate(path)
    assert "plan-whole-percent" not in rules_on(doc, SHEET)
    assert ("plan-out-of-range", "error") in at(doc, SHEET, "F7")


# --- 2. .ods submissions keep their merged cells --------------------------------------------------

@pytest.mark.libreoffice
def test_an_ods_submission_reads_like_the_xlsx_it_came_from(tmp_path: Path, soffice: str,
                                                            demo_book: Path) -> None:
    from libreoffice import convert

    ods = convert(demo_book, "ods", tmp_path)
    assert ods.suffix == ".ods"
    code_x, xlsx_doc = validate(demo_book)
    code_o, ods_doc = validate(ods)

    def found(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
        return sorted((f["rule"], f["sheet"], f["cell"], f["message"]) for f in doc["findings"])

    assert code_o == code_x == 1
    assert ods_doc["counts"] == xlsx_doc["counts"] == {"error": 4, "warning": 46}
    assert found(ods_doc) == found(xlsx_doc)
    assert "indicator-level-missing" not in {f["rule"] for f in ods_doc["findings"]}


@pytest.mark.libreoffice
def test_an_ods_hand_made_book_with_repeated_rows_and_columns(
        tmp_path: Path, soffice: str, seed_data: dict[str, Any]) -> None:
    """Offsets and blank rows: LibreOffice writes them as repeated rows and columns."""
    from libreoffice import convert

    xlsx = hand_made(tmp_path, seed_data, row_offset=3, col_offset=2, blank_rows=True,
                     extra_sheets=("说明",))
    ods = convert(xlsx, "ods", tmp_path / "ods")
    with zipfile.ZipFile(ods) as z:
        content = z.read("content.xml")
    assert b"number-rows-repeated" in content and b"number-columns-repeated" in content
    a, b = read_book(xlsx), read_book(ods)
    assert b.projects == a.projects
    assert [p.cells for p in b.projects] == [p.cells for p in a.projects]
    assert [[i.cells for i in p.indicators] for p in b.projects] == \
        [[i.cells for i in p.indicators] for p in a.projects]


def test_ods_merges_count_against_the_merged_limit(tmp_path: Path) -> None:
    """A spanning cell in a row repeated a million times would make a million ranges: refused
    by the ``merged`` limit before any is kept."""
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               f'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               f'xmlns:table="{table}"><office:body><office:spreadsheet>'
               f'<table:table table:name="1"><table:table-row table:number-rows-repeated="1000000">'
               f'<table:table-cell table:number-columns-spanned="2"/><table:covered-table-cell/>'
               f"</table:table-row></table:table></office:spreadsheet></office:body>"
               f"</office:document-content>")
    path = tmp_path / "many.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
    with pytest.raises(LimitExceeded) as e:
        open_book(path)
    assert e.value.limit == "merged" and "合并单元格" in e.value.zh


# --- 3. a blank template is no submission ----------------------------------------------------------

def test_a_blank_template_is_not_a_valid_submission(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    r = CliRunner().invoke(main, ["template", "-o", str(path)])
    assert r.exit_code == 0, r.output
    code, doc = validate(path)
    assert code == 1 and doc["valid"] is False
    assert [(f["rule"], f["code"], f["severity"], f["sheet"], f["cell"])
            for f in doc["findings"]] == [("no-filled-project", "PX100", "error", "1.项目名称", "B3")]
    assert doc["findings"][0]["message"].startswith("工作簿中没有填写任何项目")
    r = CliRunner().invoke(main, ["validate", str(path)])
    assert r.exit_code == 1 and "校验通过" not in r.output


def test_a_folder_with_a_blank_template_fails(tmp_path: Path, demo_book: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_book(folder / "blank.xlsx")
    (folder / "demo.xlsx").write_bytes(demo_book.read_bytes())
    r = CliRunner().invoke(main, ["validate", str(folder), "--format", "json"])
    assert r.exit_code == 1, r.output
    books = {b["book"]: b for b in json.loads(r.stdout)["books"]}
    assert [f["rule"] for f in books["blank.xlsx"]["findings"]] == ["no-filled-project"]
    assert books["blank.xlsx"]["valid"] is False


# --- 6. sheets copied by hand ----------------------------------------------------------------------

def copy_sheet(src: Path, dst: Path, sheet: str, title: str, changes: dict[str, Any]) -> Path:
    """Copy a sheet within the book, as 移动或复制工作表 does, and edit some of its cells."""
    wb = openpyxl.load_workbook(src)
    ws = wb.copy_worksheet(wb[sheet])
    ws.title = title
    for cell, value in changes.items():
        ws[cell] = value
        ws[cell].data_type = "s"
    wb.save(dst)
    return dst


def test_a_copied_sheet_half_edited(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    """The copy got its own code and name; its title still says 1.行政审批等专家评审费."""
    path = copy_sheet(hand_made(tmp_path, seed_data), tmp_path / "copied.xlsx", "1", "1 (2)",
                      {"B3": "130303216NEWPROJECT01", "E3": "政务大厅改造费"})
    code, doc = validate(path)
    assert code == 1
    seq = {(f["sheet"], f["cell"], f["severity"]) for f in doc["findings"]
           if f["rule"] == "project-seq-duplicate"}
    assert seq == {("1", "A1", "warning"), ("1 (2)", "A1", "warning")}
    titles = [f for f in doc["findings"] if f["rule"] == "title-names-other-project"]
    assert [(f["sheet"], f["cell"], f["severity"]) for f in titles] == [("1 (2)", "A1", "warning")]
    assert titles[0]["message"] == ("标题写的是另一个项目「行政审批等专家评审费」,"
                                    "而本表的项目名称是「政务大厅改造费」(复制工作表后未改全?)")
    assert titles[0]["value"] == "行政审批等专家评审费"


def test_three_projects_numbered_1(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    src = hand_made(tmp_path, seed_data)
    wb = openpyxl.load_workbook(src)
    for sheet in ("项目2", "3"):  # projects 2 and 3, numbered 1. in their titles
        title = wb[sheet]["A1"].value
        wb[sheet]["A1"] = "1." + title.split(".", 1)[1]
    wb.save(path := tmp_path / "ones.xlsx")
    _code, doc = validate(path)
    found = [(f["sheet"], f["cell"], f["value"]) for f in doc["findings"]
             if f["rule"] == "project-seq-duplicate"]
    assert sorted(found) == [("1", "A1", "1"), ("3", "A1", "1"), ("项目2", "A1", "1")]
    assert "title-names-other-project" not in {f["rule"] for f in doc["findings"]}


def test_each_unit_may_number_its_projects_from_1(tmp_path: Path,
                                                  seed_data: dict[str, Any]) -> None:
    src = hand_made(tmp_path, seed_data)
    wb = openpyxl.load_workbook(src)
    for seq, sheet in ((5, "5"), (6, "项目6"), (7, "7")):  # unit 630003: 1., 2., 3.
        wb[sheet]["A1"] = f"{seq - 4}." + wb[sheet]["A1"].value.split(".", 1)[1]
    wb.save(path := tmp_path / "per_unit.xlsx")
    _code, doc = validate(path)
    assert not {"project-seq-duplicate", "title-names-other-project"} & \
        {f["rule"] for f in doc["findings"]}


def test_a_sheet_name_naming_another_project(tmp_path: Path) -> None:
    """Our template: sheet 1 copied, its title, code and name edited, its tab not."""
    from test_validate import SHEET, valid_department

    book = tmp_path / "valid.xlsx"
    write_book(book, valid_department())
    path = copy_sheet(book, tmp_path / "tab.xlsx", SHEET, f"{SHEET} (2)",
                      {"A1": "3.政务大厅改造费绩效目标表", "B3": "130303216NEWPROJECT01",
                       "E3": "政务大厅改造费", "B8": "完成政务大厅改造"})
    _code, doc = validate(path)
    found = [(f["sheet"], f["cell"], f["message"]) for f in doc["findings"]
             if f["rule"] in ("title-names-other-project", "project-seq-duplicate")]
    assert found == [(f"{SHEET} (2)", "E3",
                      f"工作表名称「{SHEET} (2)」写的是另一个项目「行政审批等专家评审费」,"
                      "而本表的项目名称是「政务大厅改造费」(复制工作表后未改全?)")]


# --- 4. perfxl's own outputs among the submissions -------------------------------------------------

def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def custom_properties(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path)
    return {p.name: str(p.value) for p in wb.custom_doc_props.props}


def test_a_review_book_in_the_folder_is_skipped_with_a_note(tmp_path: Path,
                                                            demo_book: Path) -> None:
    folder = tmp_path / "收件"
    folder.mkdir()
    (folder / "demo.xlsx").write_bytes(demo_book.read_bytes())
    review = folder / "审核结果.xlsx"
    first = run("validate", str(folder), "-o", str(review), "--format", "json")
    assert first.exit_code == 1, first.output
    assert custom_properties(review)["perfxl_output"] == "review"

    again = run("validate", str(folder), "--format", "json")
    assert again.exit_code == 1, again.output  # the demo's errors; the review book is no error
    doc = json.loads(again.stdout)
    books = {b["book"]: b for b in doc["books"]}
    assert books["审核结果.xlsx"]["skipped"].startswith("perfxl 生成的审核工作簿")
    assert books["审核结果.xlsx"]["error"] == "" and "findings" not in books["审核结果.xlsx"]
    assert doc["counts"]["unreadable"] == 0
    assert doc["counts"]["error"] == json.loads(first.stdout)["counts"]["error"]
    text = run("validate", str(folder))
    assert "已跳过: perfxl 生成的审核工作簿" in text.output and "1 个已跳过" in text.output

    alone = run("validate", str(review))
    assert alone.exit_code == 2 and "这是 perfxl 生成的审核工作簿" in alone.output


def test_merge_passes_over_a_review_book(tmp_path: Path, demo_book: Path) -> None:
    folder = tmp_path / "收件"
    assert run("split", str(demo_book), "-o", str(folder)).exit_code == 0
    assert run("validate", str(folder), "-o", str(folder / "审核结果.xlsx")).exit_code == 1
    out = tmp_path / "部门.xlsx"
    r = run("merge", str(folder), "-o", str(out), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    inputs = {i["file"]: i for i in doc["inputs"]}
    assert inputs["审核结果.xlsx"]["skipped"] == ["perfxl 生成的审核工作簿(不是报送的绩效目标工作簿),已跳过"]
    assert inputs["审核结果.xlsx"]["error"] == "" and inputs["审核结果.xlsx"]["taken"] == []
    assert doc["projects"] == 7 and doc["complete"] is True
    assert not [f for f in doc["findings"] if f["severity"] == "error"]
    merged = openpyxl.load_workbook(out)
    assert not [s for s in merged.sheetnames if "工作表" in s]
    assert custom_properties(out)["perfxl_output"] == "merge"


def test_a_merged_book_given_to_merge_is_a_finding_not_a_unit(tmp_path: Path,
                                                              demo_book: Path) -> None:
    units = tmp_path / "units"
    assert run("split", str(demo_book), "-o", str(units)).exit_code == 0
    first = tmp_path / "部门.xlsx"
    assert run("merge", str(units), "-o", str(first)).exit_code == 0
    (units / "上次合并.xlsx").write_bytes(first.read_bytes())  # left in the submissions folder

    r = run("merge", str(units), "-o", str(tmp_path / "again.xlsx"), "--format", "json")
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    (f,) = [f for f in doc["findings"] if f["rule"] == "merged-book-input"]
    assert (f["code"], f["severity"], f["sheet"]) == ("PX809", "error", "来源")
    row = [i["file"] for i in doc["inputs"]].index("上次合并.xlsx")
    assert f["cell"] == f"B{row + 3}"
    assert f["message"] == "文件 上次合并.xlsx 是 perfxl 合并生成的部门工作簿,不是单位的报送,未合并"
    assert doc["projects"] == 7
    assert not [f for f in doc["findings"] if f["rule"] in ("duplicate-project", "merge-conflict")]

    # the merged book is still a department book to validate
    checked = run("validate", str(first), "--format", "json")
    assert checked.exit_code == 1 and json.loads(checked.stdout)["counts"]["error"] == 4


def _xlsb_with_merges(tmp_path: Path, ranges: list[tuple[int, int, int, int]]) -> Path:
    """A book Excel saved as .xlsb (from the corpus), with merged ranges (first row, last row,
    first column, last column) added as Excel stores them: BrtBeginMergeCells, a BrtMergeCell
    each, BrtEndMergeCells, after the sheet's data. (Nothing here writes .xlsb; Excel does.)"""
    import struct

    src = CORPUS_XLSB
    if not src.exists():
        pytest.skip("corpus not present")
    end_of_data = b"\x92\x01\x00"  # BrtEndSheetData
    records = (b"\xb1\x01\x04" + struct.pack("<I", len(ranges))
               + b"".join(b"\xb0\x01\x10" + struct.pack("<4I", *r) for r in ranges)
               + b"\xb2\x01\x00")
    path = tmp_path / "merged.xlsb"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.bin":
                assert data.count(end_of_data) == 1
                data = data.replace(end_of_data, end_of_data + records)
            zout.writestr(item, data)
    return path


def test_xlsb_merges_are_read_from_its_records(tmp_path: Path) -> None:
    """python-calamine reads no merged ranges from .xlsb: they come from its records."""
    from perfxl.read import read_grids

    path = _xlsb_with_merges(tmp_path, [(0, 1, 0, 2), (4, 9, 3, 3)])  # A1:C2, D5:D10
    grids, _props = read_grids(path)
    (g,) = [g for g in grids if g.name == "mySheet1"]
    assert g.merges == [(0, 0, 1, 2), (4, 3, 9, 3)]
    plain, _ = read_grids(CORPUS_XLSB)
    assert g.rows == next(b for b in plain if b.name == "mySheet1").rows


def test_xlsb_merges_count_against_the_merged_limit(tmp_path: Path) -> None:
    from perfxl.read import read_grids

    path = _xlsb_with_merges(tmp_path, [(0, 1_048_575, 0, 0)])  # all of column A
    with pytest.raises(LimitExceeded) as e:
        read_grids(path)
    assert e.value.limit == "merged"

