"""annotate: findings written into a real workbook by patching its XML parts; every other part
stays byte for byte, and the marks are those perfxl.marks defines."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree  # type: ignore[import-untyped]
from python_calamine import CalamineWorkbook

from perfxl import ReadError, embedded, write_book
from perfxl.annotate import ERROR_FORMULA, RESULT_SHEET, WARNING_FORMULA, annotate
from perfxl.findings import ERROR, WARNING, Finding

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "excel_made"
CHECKED = dt.datetime(2026, 11, 27, 10, 0, 0)
P1 = "1.行政审批等专家评审费"
P4 = "4.跨省通办及省内通办网络建设及设备费"
HEADER = ["序号", "严重程度", "状态", "代码", "规则", "单位", "项目编码", "项目名称", "字段", "单元格",
          "说明"]
TIME = "(校验时间 2026-11-27 10:00,需完整校验后更新)"
"""The last line of each note: when the check ran (these findings have no live check)."""


def finding(code: str, severity: str, sheet: str = "", cell: str = "", message: str = "",
            **kw: str) -> Finding:
    return Finding(code=code, rule=kw.pop("rule", "some-rule"), severity=severity,
                   field=kw.pop("field", "project.budget"), message=message or f"问题 {code}",
                   message_en=f"problem {code}", sheet=sheet, cell=cell, **kw)


FINDINGS = [
    finding("PX501", WARNING, P1, "F13", "=指标值单位与指标类型不符 <&> \"'"),  # text, never a formula
    finding("PX201", ERROR, P1, "C4", "预算数 ≠ 财政资金 + 其他资金", unit_code="630001",
            project_code="130303216DIAX82DQONDM", project_name="行政审批等专家评审费",
            rule="funds-mismatch"),
    finding("PX301", ERROR, P4, "B7", "缺少资金支出计划"),
    finding("PX502", WARNING, P1, "C4", "同一单元格上的警告"),
    finding("PX601", WARNING, "汇总", "", "没有单元格的发现"),
    finding("PX602", WARNING, "不存在的表", "A1", "表不存在"),
    finding("PX603", WARNING, P1, "E5", "合并单元格 B5:G5 之内"),
]


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def part_of(book: Path, sheet: str) -> str:
    """Zip member of a worksheet, via workbook.xml and its relationships."""
    parts = members(book)
    wb = etree.fromstring(parts["xl/workbook.xml"])
    rels = etree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    rid = next(el.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
               for el in wb.iter("{*}sheet") if el.get("name") == sheet)
    target = next(el.get("Target") for el in rels if el.get("Id") == rid)
    return "xl/" + target.lstrip("/").removeprefix("xl/")


def canonical(xml: bytes) -> bytes:
    data: bytes = etree.tostring(etree.fromstring(xml), method="c14n")
    return data


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an annotated demo book loads without any warning
        return openpyxl.load_workbook(path)


def perfxl_rules(ws: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, str]:
    """{sqref: formula} of perfxl's conditional formats on a sheet."""
    return {str(cf.sqref): rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules
            if rule.formula and rule.formula[0] in (ERROR_FORMULA, WARNING_FORMULA)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("annotate") / "demo.xlsx"
    write_book(path, embedded())
    return path


@pytest.fixture(scope="module")
def annotated(demo: Path) -> Path:
    out = demo.with_name("annotated.xlsx")
    annotate(demo, out, FINDINGS, checked_at=CHECKED, book_label="demo.xlsx")
    return out


# --- the 校验结果 sheet ------------------------------------------------------------------------


def test_result_sheet_follows_the_intro_and_is_active(annotated: Path) -> None:
    wb = load(annotated)
    assert wb.sheetnames[:3] == ["说明", RESULT_SHEET, "部门整体"]
    assert wb.active.title == RESULT_SHEET
    selected = [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected]
    assert selected == [RESULT_SHEET]  # no group-edit mode


def test_result_sheet_rows(annotated: Path) -> None:
    ws = load(annotated)[RESULT_SHEET]
    assert ws["A1"].value == RESULT_SHEET
    # the demo was built with its live checks: their totals come first, as formulas
    assert ws["A2"].value == ('="实时检查(随输入更新): 错误 "&perfxl_live_errors&" 项,警告 "'
                              '&perfxl_live_warnings&" 项"')
    assert ws["A3"].value == "完整校验: 错误 2 项,警告 5 项 · 校验时间 2026-11-27 10:00:00 · demo.xlsx"
    assert ws["A4"].value is None
    header = [c.value for c in ws[5]]  # (the book's live totals are far right, in row 2)
    assert header[:len(HEADER)] == HEADER and not any(header[len(HEADER):])
    rows = [[c.value for c in row][:len(HEADER)] for row in ws.iter_rows(min_row=6)]
    assert [r[0] for r in rows] == list(range(1, 8))
    assert [(r[1], r[3]) for r in rows] == [  # errors first, otherwise in the given order
        ("错误", "PX201"), ("错误", "PX301"), ("警告", "PX501"), ("警告", "PX502"),
        ("警告", "PX601"), ("警告", "PX602"), ("警告", "PX603")]
    assert {r[2] for r in rows} == {"需完整校验"}  # annotated without the book's model
    assert rows[0][4:] == ["预算数与资金来源不符 (funds-mismatch)", "630001",
                           "130303216DIAX82DQONDM", "行政审批等专家评审费",
                           "预算数 (project.budget)", f"{P1}!C4", "预算数 ≠ 财政资金 + 其他资金"]
    assert rows[1][4] == "some-rule"  # a rule perfxl does not know keeps its slug
    assert [r[9] for r in rows] == [f"{P1}!C4", f"{P4}!B7", f"{P1}!F13", f"{P1}!C4", "汇总",
                                    "不存在的表!A1", f"{P1}!B5"]  # E5 lies in the merge B5:G5
    assert ws["K8"].value == "=指标值单位与指标类型不符 <&> \"'" and ws["K8"].data_type == "s"
    assert ws.auto_filter.ref == "A5:K12"
    assert ws.freeze_panes == "A6"
    assert ws["B6"].fill.fgColor.rgb == "FFFFC7CE" and ws["B8"].fill.fgColor.rgb == "FFFFEB9C"


def test_result_sheet_links_to_each_cell(annotated: Path) -> None:
    ws = load(annotated)[RESULT_SHEET]
    links = {c.coordinate: c.hyperlink.location for row in ws.iter_rows(min_row=6)
             for c in row if c.hyperlink}
    assert links == {"J6": f"'{P1}'!C4", "J7": f"'{P4}'!B7", "J8": f"'{P1}'!F13",
                     "J9": f"'{P1}'!C4", "J12": f"'{P1}'!B5"}  # no link without sheet and cell


def test_result_sheet_is_inline_strings(demo: Path, annotated: Path) -> None:
    before, after = members(demo), members(annotated)
    assert after["xl/sharedStrings.xml"] == before["xl/sharedStrings.xml"]
    sheet = after[part_of(annotated, RESULT_SHEET)].decode()
    # formulas only in the live totals line and the two hidden cells of the book's totals that
    # its names refer to (and the status of live findings: none here)
    assert 't="inlineStr"' in sheet and sheet.count("<f>") == 3


def test_calamine_reads_result_sheet_and_cached_values(demo: Path, annotated: Path) -> None:
    before, after = CalamineWorkbook.from_path(str(demo)), CalamineWorkbook.from_path(str(annotated))
    assert after.sheet_names == [before.sheet_names[0], RESULT_SHEET, *before.sheet_names[1:]]
    for name in before.sheet_names:  # every value, formulas' cached results included
        assert after.get_sheet_by_name(name).to_python() == \
            before.get_sheet_by_name(name).to_python(), name
    totals = [row for row in after.get_sheet_by_name("部门整体").to_python() if "合计" in row]
    assert totals and totals[0][2:4] == [100, 100]
    result = after.get_sheet_by_name(RESULT_SHEET).to_python()
    assert result[4][:len(HEADER)] == HEADER and result[5][9] == f"{P1}!C4"


# --- marks and notes ------------------------------------------------------------------------


def test_cells_are_marked_with_conditional_formats(annotated: Path) -> None:
    wb = load(annotated)
    assert perfxl_rules(wb[P1]) == {"C4": ERROR_FORMULA, "B5 F13": WARNING_FORMULA}
    assert perfxl_rules(wb[P4]) == {"B7": ERROR_FORMULA}
    assert perfxl_rules(wb["部门整体"]) == {}
    rules = {rule.formula[0]: rule for cf in wb[P1].conditional_formatting for rule in cf.rules}
    error, warning = rules[ERROR_FORMULA], rules[WARNING_FORMULA]
    assert error.priority < warning.priority  # a cell with both shows the error
    assert error.dxf.fill.bgColor.rgb == "FFFFC7CE" and error.dxf.font.color.rgb == "FF9C0006"
    assert warning.dxf.fill.bgColor.rgb == "FFFFEB9C" and warning.dxf.font.color.rgb == "FF9C5700"
    assert wb[P1]["C4"].fill.fgColor.rgb == load(annotated.with_name("demo.xlsx"))[P1][
        "C4"].fill.fgColor.rgb  # the user's own cell style is untouched


def test_cells_have_notes(annotated: Path) -> None:
    wb = load(annotated)
    note = wb[P1]["C4"].comment
    assert note.author == "perfxl"
    assert note.text == f"【错误 PX201】预算数 ≠ 财政资金 + 其他资金\n【警告 PX502】同一单元格上的警告\n{TIME}"
    assert wb[P1]["F13"].comment.text.startswith("【警告 PX501】=指标值")
    assert wb[P1]["B5"].comment.text == f"【警告 PX603】合并单元格 B5:G5 之内\n{TIME}"
    assert wb[P4]["B7"].comment.text == f"【错误 PX301】缺少资金支出计划\n{TIME}"
    vml = [v for k, v in members(annotated).items() if k.endswith(".vml")]
    assert len(vml) == 2 and all(b'ObjectType="Note"' in v and b"visibility:hidden" in v
                                 for v in vml)


def test_print_titles_and_local_names_follow_their_sheets(demo: Path, annotated: Path) -> None:
    before, after = load(demo), load(annotated)
    for name in before.sheetnames:
        ws_before, ws_after = before[name], after[name]
        assert ws_after.print_title_rows == ws_before.print_title_rows, name
        assert ws_after.print_area == ws_before.print_area, name
        assert sorted(ws_after.defined_names) == sorted(ws_before.defined_names), name
    assert after[P1].print_title_rows == "$1:$2"
    assert after[RESULT_SHEET].print_title_rows == "$5:$5"


def test_untouched_parts_are_copied_byte_for_byte(demo: Path, annotated: Path) -> None:
    before, after = members(demo), members(annotated)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                       "xl/styles.xml", part_of(demo, "说明"),  # only its tabSelected
                       part_of(demo, P1), part_of(demo, P4)}
    assert list(after)[: len(before)] == list(before)  # same order; new parts appended
    intro = part_of(demo, "说明")
    assert after[intro] == before[intro].replace(b' tabSelected="1"', b"")


def test_annotating_twice_is_annotating_once(annotated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    annotate(annotated, again, FINDINGS, checked_at=CHECKED, book_label="demo.xlsx")
    assert again.read_bytes() == annotated.read_bytes()


def test_new_findings_replace_old_ones(annotated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    annotate(annotated, out, [finding("PX999", WARNING, P4, "C4", "新的")], checked_at=CHECKED)
    wb = load(out)
    assert wb.sheetnames.count(RESULT_SHEET) == 1 and wb.sheetnames[1] == RESULT_SHEET
    assert wb[RESULT_SHEET]["D6"].value == "PX999" and wb[RESULT_SHEET]["A7"].value is None
    assert perfxl_rules(wb[P1]) == {} and perfxl_rules(wb[P4]) == {"C4": WARNING_FORMULA}
    assert wb[P1]["C4"].comment is None and wb[P4]["B7"].comment is None
    assert wb[P4]["C4"].comment.text == f"【警告 PX999】新的\n{TIME}"


def test_no_findings_says_passed_and_removes_marks(demo: Path, annotated: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "clean.xlsx"
    annotate(annotated, out, [], checked_at=CHECKED)
    wb = load(out)
    assert wb[RESULT_SHEET]["A3"].value == \
        "完整校验: 校验通过 (no errors or warnings) · 校验时间 2026-11-27 10:00:00"
    assert wb[RESULT_SHEET].max_row == 5
    assert not any(c.comment for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert all(perfxl_rules(ws) == {} for ws in wb.worksheets)
    before, after = members(demo), members(out)
    assert set(after) - set(before) == {part_of(out, RESULT_SHEET)}  # comments and VML are gone
    for sheet in (P1, P4):  # the marked sheets are back to their original bytes
        assert after[part_of(demo, sheet)] == before[part_of(demo, sheet)]
    assert after["xl/styles.xml"] == members(annotated)["xl/styles.xml"]  # styles don't grow


def test_findings_on_missing_sheets_or_cells_only_listed(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    odd = [finding("PX1", ERROR, "不存在", "C4"), finding("PX2", ERROR, P1, ""),
           finding("PX3", ERROR, P1, "not a cell"), finding("PX4", ERROR, "", "")]
    annotate(demo, out, odd, checked_at=CHECKED)
    wb = load(out)
    assert [wb[RESULT_SHEET].cell(r, 4).value for r in range(6, 10)] == ["PX1", "PX2", "PX3", "PX4"]
    assert not any(c.hyperlink for row in wb[RESULT_SHEET].iter_rows() for c in row)
    assert perfxl_rules(wb[P1]) == {} and wb[P1]["C4"].comment is None


def test_awkward_text_is_kept_as_text(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    texts = ["=1+1", "+1", "-1", "@SUM(A1)", "  spaced  ", "a\x07b", "<tag>&amp;", "_x0041_"]
    annotate(demo, out, [finding(f"PX{i}", WARNING, P1, "C4", t) for i, t in enumerate(texts)],
             checked_at=CHECKED)
    ws = load(out)[RESULT_SHEET]
    values = [ws.cell(r, 11).value for r in range(6, 6 + len(texts))]
    assert all(ws.cell(r, 11).data_type == "s" for r in range(6, 6 + len(texts)))
    assert values[:5] == texts[:5] and values[6] == "<tag>&amp;"
    assert "\x07" not in (values[5] or "")  # not XML: stored the way Excel escapes it


def test_calc_chain_entries_of_the_old_result_sheet_are_dropped(annotated: Path,
                                                                tmp_path: Path) -> None:
    """A user who typed formulas into 校验结果 leaves calcChain entries for it behind."""
    parts = members(annotated)
    sheet_id = re.search(rb'name="' + RESULT_SHEET.encode() + rb'" sheetId="(\d+)"',
                         parts["xl/workbook.xml"]).group(1)  # type: ignore[union-attr]
    parts["xl/calcChain.xml"] = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                 b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml'
                                 b'/2006/main"><c r="A1" i="' + sheet_id + b'"/></calcChain>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    src, out = tmp_path / "src.xlsx", tmp_path / "out.xlsx"
    with zipfile.ZipFile(src, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    annotate(src, out, FINDINGS, checked_at=CHECKED)
    result = members(out)
    assert "xl/calcChain.xml" not in result
    assert b"calcChain" not in result["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in result["[Content_Types].xml"]


def test_fast_enough(demo: Path, tmp_path: Path) -> None:
    best = min(_timed(demo, tmp_path / f"t{i}.xlsx") for i in range(3))
    assert best < 0.25, f"annotating the 11-sheet demo took {best * 1000:.0f} ms"


def _timed(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    annotate(src, dst, FINDINGS, checked_at=CHECKED)
    return time.perf_counter() - start


# --- users' own notes, conditional formats and drawings (real files) ---------------------------


@pytest.mark.parametrize("name", ["openpyxl__comments.xlsx", "poi__comments.xlsx"])
def test_user_notes_are_kept_and_never_overwritten(name: str, tmp_path: Path) -> None:
    src = CORPUS / name
    original = openpyxl.load_workbook(src)
    sheet = original.sheetnames[0]
    notes = {c.coordinate: (c.comment.author, c.comment.text) for row in original[sheet].iter_rows()
             for c in row if c.comment}
    taken = "A1"
    assert taken in notes
    out, clean = tmp_path / "out.xlsx", tmp_path / "clean.xlsx"
    annotate(src, out, [finding("PX1", ERROR, sheet, taken), finding("PX2", WARNING, sheet, "H20")],
             checked_at=CHECKED)
    ws = openpyxl.load_workbook(out)[sheet]
    now = {c.coordinate: (c.comment.author, c.comment.text) for row in ws.iter_rows() for c in row
           if c.comment}
    assert now == {**notes, "H20": ("perfxl", f"【警告 PX2】问题 PX2\n{TIME}")}  # A1 keeps the user's
    assert perfxl_rules(ws) == {"A1": ERROR_FORMULA, "H20": WARNING_FORMULA}
    annotate(out, clean, [], checked_at=CHECKED)
    ws = openpyxl.load_workbook(clean)[sheet]
    assert {c.coordinate: (c.comment.author, c.comment.text) for row in ws.iter_rows() for c in row
            if c.comment} == notes


@pytest.mark.filterwarnings("ignore:.*extension is not supported")  # the file's own x14 rules
def test_user_conditional_formats_are_kept(tmp_path: Path) -> None:
    src = CORPUS / "openpyxl__conditional-formatting.xlsx"

    sheet = openpyxl.load_workbook(src).sheetnames[0]

    def formats(path: Path) -> list[tuple[str, str, int, tuple[str, ...]]]:
        ws = openpyxl.load_workbook(path)[sheet]
        return sorted((str(cf.sqref), str(r.type), r.priority, tuple(r.formula or ()))
                      for cf in ws.conditional_formatting for r in cf.rules)

    original = formats(src)
    out, clean = tmp_path / "out.xlsx", tmp_path / "clean.xlsx"
    annotate(src, out, [finding("PX1", ERROR, sheet, "B3"), finding("PX2", WARNING, sheet, "B3"),
                        finding("PX3", WARNING, sheet, "D9")], checked_at=CHECKED)
    marked = formats(out)
    ours = [f for f in marked if f not in original]
    assert [(f[0], f[3]) for f in ours] == [("B3", (ERROR_FORMULA,)), ("D9", (WARNING_FORMULA,))]
    top = max(f[2] for f in original)
    assert sorted(f[2] for f in ours) == [top + 1, top + 2]  # unique, below the user's rules
    annotate(out, clean, [], checked_at=CHECKED)
    assert formats(clean) == original
    # lxml writes namespace declarations before attributes; otherwise the sheet is as it was
    src_sheet = members(src)["xl/worksheets/sheet1.xml"].replace(b' tabSelected="1"', b"")
    assert canonical(members(clean)["xl/worksheets/sheet1.xml"]) == canonical(src_sheet)


def test_form_controls_in_the_vml_drawing_are_kept(tmp_path: Path) -> None:
    """Sheet2 has a form-control label (shape 2049) in its VML drawing and no notes."""
    src = CORPUS / "openpyxl2__legacy_drawing.xlsm"
    out = tmp_path / "out.xlsm"
    annotate(src, out, [finding("PX1", ERROR, "Sheet2", "A1"), finding("PX2", ERROR, "Sheet2", "D4")],
             checked_at=CHECKED)
    before, after = members(src), members(out)
    vml = after["xl/drawings/vmlDrawing2.vml"]
    label = re.search(rb"<v:shape id=\"_x0000_s2049\".*?</v:shape>", before[
        "xl/drawings/vmlDrawing2.vml"], re.S)
    assert label is not None and label.group(0) in vml
    ids = re.findall(rb'<v:shape id="_x0000_s(\d+)"', vml)
    assert len(ids) == len(set(ids)) == 3
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                       "xl/styles.xml", "xl/worksheets/sheet2.xml",
                       "xl/worksheets/_rels/sheet2.xml.rels", "xl/drawings/vmlDrawing2.vml"}
    ws = openpyxl.load_workbook(out, keep_vba=True)["Sheet2"]
    assert ws["A1"].comment.text == f"【错误 PX1】问题 PX1\n{TIME}" and ws["D4"].comment.author == "perfxl"


# --- what cannot be annotated ---------------------------------------------------------------


def test_not_a_workbook_is_a_read_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.xlsx"
    text.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ReadError):
        annotate(text, tmp_path / "out.xlsx", [], checked_at=CHECKED)
    with pytest.raises(ReadError):
        annotate(tmp_path / "missing.xlsx", tmp_path / "out.xlsx", [], checked_at=CHECKED)
    other = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("hello.txt", "a zip, but no workbook")
    with pytest.raises(ReadError):
        annotate(other, tmp_path / "out.xlsx", [], checked_at=CHECKED)


def test_strict_open_xml_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="Strict"):
        annotate(CORPUS / "poi__SimpleStrict.xlsx", tmp_path / "out.xlsx", [], checked_at=CHECKED)


# --- a real spreadsheet application opens it -------------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_opens_and_renders_the_annotated_book(annotated: Path, soffice: str,
                                                          tmp_path: Path) -> None:
    from libreoffice import convert, render_png

    pdf = convert(annotated, "pdf", tmp_path)
    assert pdf.stat().st_size > 0
    png = render_png(annotated, tmp_path, sheet=RESULT_SHEET, single_page=True, dpi=90)
    assert len(png) == 1 and png[0].stat().st_size > 0
    # LibreOffice read our notes and conditional formats (it writes them back on export).
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(annotated, copy / "book.xlsx")
    wb = openpyxl.load_workbook(convert(copy / "book.xlsx", "xlsx", tmp_path, recalc=False))
    assert wb.sheetnames[1] == RESULT_SHEET
    assert wb[P1]["C4"].comment.text.startswith("【错误 PX201】")
    assert perfxl_rules(wb[P1]) == {"C4": ERROR_FORMULA, "B5 F13": WARNING_FORMULA}
