"""The books perfxl annotates carry the live checks (perfxl.live_sheets): ``validate -o``,
``--in-place`` and the department book (demo, summarize, merge) place each project sheet's
hidden live cells, formula marks and names at the cells its cell map gives, once; a finding a
live check covers gets no other mark and no note; the others keep theirs, with the time of the
check; 校验结果 shows the live totals and each finding's status. Real books, real CLI runs."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.formula import ArrayFormula
from seedlayout import ONE_SHEET_TITLE, write_seed_layout_book

from perfxl import live
from perfxl.cli import main
from perfxl.findings import Finding
from perfxl.live_sheets import book_checks
from perfxl.marks import RESULT_SHEET, is_live_mark
from perfxl.pipeline import validate_file
from perfxl.read import department, read_book, read_grids
from perfxl.rules import RulesConfig
from perfxl.validate import check

SEED = {"row_offset": 3, "col_offset": 2, "wan_yuan": True, "blank_rows": True}
"""A hand-made book in the seed's layout: shifted, in 万元, blank rows, 一级 merged down."""
LIVE_RULES = set(live.live_rules())
TIME_LINE = re.compile(r"\(校验时间 \d{4}-\d\d-\d\d \d\d:\d\d,需完整校验后更新\)")


def run(*args: Any) -> tuple[int, str]:
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.output


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def masked(path: Path) -> dict[str, bytes]:
    """The book's parts with the time of the check (校验结果, notes) masked."""
    return {k: re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", b"T", v)
            for k, v in members(path).items()}


def checks_of(book: Path, findings: list[Finding], config: RulesConfig | None = None
              ) -> dict[str, live.SheetChecks]:
    """The live checks perfxl chooses for ``book`` as read (perfxl's own cells left out)."""
    grids, props = read_grids(book)
    dept = department(grids, props, book.name)
    return book_checks(dept, {g.name: g for g in grids}.get, config, findings)


def live_block(ws: Any) -> dict[str, Any]:
    """A sheet's live cells (rows 1–4 from AO) and status line: ref → formula or text."""
    out = {}
    for row in ws.iter_rows(min_row=1, max_row=4):
        for c in row:
            v = c.value.text if isinstance(c.value, ArrayFormula) else c.value
            if v is not None and (c.column > 40 or str(v).startswith('="实时检查')):
                out[c.coordinate] = v
    return out


def live_rules_of(ws: Any) -> list[tuple[str, str]]:
    return [(str(cf.sqref), rule.formula[0]) for cf in ws.conditional_formatting
            for rule in cf.rules if rule.formula and is_live_mark(rule.formula[0])]


def local_names(ws: Any) -> dict[str, str]:
    return {n: d.attr_text for n, d in ws.defined_names.items()}


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, seed_data: dict[str, Any]) -> Path:
    path = tmp_path_factory.mktemp("seed") / "book.xlsx"
    write_seed_layout_book(path, seed_data, **SEED)
    return path


@pytest.fixture(scope="module")
def seed_checked(seed: Path) -> Path:
    out = seed.parent / "checked" / "book.xlsx"
    out.parent.mkdir()
    code, output = run("validate", seed, "-o", out)
    assert code == 1, output
    return out


# --- where the live checks go --------------------------------------------------------------------

def test_a_hand_made_book_gets_live_checks_at_its_cell_map(seed: Path, seed_checked: Path) -> None:
    dept = read_book(seed)
    wb = openpyxl.load_workbook(seed_checked)
    for p in dept.projects:
        ws = wb[p.sheet]
        block = live_block(ws)
        # the counts, the started flag over the project's own cells, the sums by kind of test
        assert block["AO1"] == "=AO3+AQ3" and block["AP1"] == "=AP3+AR3"
        code = live.F.absolute(p.cells["project.code"])
        assert code in block["AO2"] and live.F.absolute(p.cells["project.budget"]) in block["AO2"]
        assert str(block["AQ2"]).startswith("PX") and str(block["AO3"]).startswith("=$AO$2*(")
        # the status line: row 1, two columns right of the far-right note (column N)
        assert block["P1"].startswith('="实时检查(随输入更新): "')
        assert [ref for ref in block if not ref.startswith(("A", "B", "C"))] == ["P1"]
        assert ws.column_dimensions["AO"].hidden and ws["AO3"].protection.hidden
        rules = dict(live_rules_of(ws))
        # a project field is marked at its cell: 项目编码 where the reader found it, by the
        # hidden cell that holds its test
        test_cell = re.fullmatch(r"\$AO\$2\*\$([A-Z]+)\$([24])", rules[p.cells["project.code"]])
        assert test_cell and str(block["".join(test_cell.groups())]).startswith("=IFERROR(")
        # an indicator column from the header (the row above the first indicator) down
        rows = [int(re.sub(r"\D", "", i.cells["value"])) for i in p.indicators]
        letter = re.sub(r"\d", "", p.indicators[0].cells["value"])
        assert any(ref.startswith(f"{letter}{min(rows) - 1}:{letter}") for ref in rules)
        # the table in 万元: budget = fiscal + other to the fen is to a millionth of a 万元
        # (the amounts in 元 are shared values in row 1: a number times 10000)
        assert any(re.fullmatch(r"[A-Z]+1", k) and "*10000," in str(v) for k, v in block.items())
        assert any("*100,0)<>0" in str(v) for v in block.values())
        assert local_names(ws) == {"perfxl_live_errors": f"'{p.sheet}'!$AO$1",
                                   "perfxl_live_warnings": f"'{p.sheet}'!$AP$1"}
    # the book's totals: a cell on 校验结果 (LibreOffice keeps a 3-D sum only in a cell), the sum
    # of the project sheets' cells (a sheet named "1" needs quotes: no 3-D reference)
    sums = "+".join(f"'{p.sheet}'!$AO$1" for p in dept.projects)
    assert wb.defined_names["perfxl_live_errors"].attr_text == "'校验结果'!$AO$2"
    assert wb["校验结果"]["AO2"].value == "=" + sums
    assert read_book(seed_checked).to_json()["projects"] == dept.to_json()["projects"]


def test_validating_our_book_replaces_the_templates_live_checks(demo_book: Path,
                                                                tmp_path: Path) -> None:
    """The demo book carries the live checks the template wrote; validate -o replaces them
    with one set per project sheet (the same cells, marks and names), twice alike."""
    out = tmp_path / "a" / "demo.xlsx"
    again = tmp_path / "b" / "demo.xlsx"
    out.parent.mkdir()
    again.parent.mkdir()
    report = validate_file(demo_book, out=out).report
    validate_file(out, out=again)
    assert masked(again) == masked(out)
    checks = checks_of(demo_book, report.findings)
    before, after = openpyxl.load_workbook(demo_book), openpyxl.load_workbook(out)
    for p in read_book(demo_book).projects:
        mine, ws = checks[p.sheet], after[p.sheet]
        assert set(live_block(ws)) == set(live_block(before[p.sheet])) == \
            {c.ref for c in mine.cells}
        assert sorted(f for _, f in live_rules_of(ws)) == sorted(m.formula for m in mine.marks)
        assert sorted(live_rules_of(ws)) == sorted(live_rules_of(before[p.sheet]))
        assert local_names(ws) == local_names(before[p.sheet])


def test_validating_again_gives_the_same_parts(seed: Path, seed_checked: Path,
                                               tmp_path: Path) -> None:
    """Annotating a book perfxl annotated replaces its live checks, marks and notes."""
    again = tmp_path / "again" / "book.xlsx"
    again.parent.mkdir()
    assert run("validate", seed_checked, "-o", again)[0] == 1
    assert masked(again) == masked(seed_checked)
    # in place, twice: the same book again (backups beside it)
    book = tmp_path / "in-place" / "book.xlsx"
    book.parent.mkdir()
    shutil.copy(seed, book)
    assert run("validate", book, "--in-place")[0] == 1
    assert masked(book) == masked(seed_checked)
    assert run("validate", book, "--in-place")[0] == 1
    assert masked(book) == masked(seed_checked)


def test_many_books_in_place_get_their_live_checks(seed: Path, seed_checked: Path,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(seed, folder / "book.xlsx")
    assert run("validate", folder, "--in-place")[0] == 1
    assert masked(folder / "book.xlsx") == masked(seed_checked)


def test_the_department_book_has_one_set_of_live_checks_per_project_sheet(
        tmp_path: Path) -> None:
    assert run("demo", "-o", tmp_path)[0] == 0
    book = next(tmp_path.glob("*.xlsx"))
    dept = read_book(book)
    report = check(dept, None, book=book.name)
    checks = checks_of(book, report.findings)
    assert sorted(checks) == sorted(p.sheet for p in dept.projects)
    wb = openpyxl.load_workbook(book)
    for p in dept.projects:
        ws, mine = wb[p.sheet], checks[p.sheet]
        block = live_block(ws)
        assert set(block) == {c.ref for c in mine.cells}  # what the template placed: replaced
        assert block["I1"].startswith('="实时检查')  # our template's status line
        assert Counter(f for _, f in live_rules_of(ws)) == Counter(m.formula for m in mine.marks)
        assert set(local_names(ws)) == {"perfxl_live_errors", "perfxl_live_warnings"}
    assert wb.defined_names["perfxl_live_errors"].attr_text == "'校验结果'!$AO$2"
    assert wb["校验结果"]["AO2"].value == "=SUM(说明:选项!$AO$1)"
    # summarize a hand-made book: the output is in our form, with its live checks at I1
    out = tmp_path / "summary.xlsx"
    seed = tmp_path / "seed.xlsx"
    write_seed_layout_book(seed, _seed_data(), **SEED)
    assert run("summarize", seed, "-o", out)[0] in (0, 1)
    wb = openpyxl.load_workbook(out)
    for p in read_book(out).projects:
        block = live_block(wb[p.sheet])
        assert [k for k in block if not k.startswith(("A", "B", "C"))] == ["I1"]
        assert len(local_names(wb[p.sheet])) == 2


def _seed_data() -> dict[str, Any]:
    import yaml

    from perfxl.dataset import embedded_path

    data: dict[str, Any] = yaml.safe_load(embedded_path().read_text(encoding="utf-8"))
    return data


def test_the_users_own_formats_names_and_cells_stay(seed: Path, tmp_path: Path) -> None:
    """The user's conditional format and names are kept through two runs; a sheet whose rows
    1–4 hold the user's data from column AO gets no live checks (its findings keep the full
    check's marks), rather than losing that data."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill
    from openpyxl.workbook.defined_name import DefinedName

    own = tmp_path / "own.xlsx"
    wb = openpyxl.load_workbook(seed)
    wb["1"].conditional_formatting.add("E7", FormulaRule(formula=["$E$7>100000"],
                                                         fill=PatternFill(bgColor="FF00FF00")))
    wb.defined_names["my_total"] = DefinedName("my_total", attr_text="'1'!$E$7")
    wb["项目2"]["AR3"] = "我的备注"
    wb.save(own)
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    assert run("validate", own, "-o", once)[0] == 1
    assert run("validate", once, "-o", twice)[0] == 1
    report = check(read_book(own))
    for book in (once, twice):
        wb = openpyxl.load_workbook(book)
        formulas = [rule.formula[0] for cf in wb["1"].conditional_formatting for rule in cf.rules]
        assert formulas.count("$E$7>100000") == 1 and live_rules_of(wb["1"])
        assert wb.defined_names["my_total"].attr_text == "'1'!$E$7"
        ws = wb["项目2"]
        assert ws["AR3"].value == "我的备注" and not live_block(ws).keys() - {"AR3"}
        assert not live_rules_of(ws) and not local_names(ws)
        mine = [f for f in report.findings if f.sheet == "项目2" and f.rule in LIVE_RULES]
        assert mine and all(ws[f.cell].comment is not None for f in mine)
    assert masked(once).keys() == masked(twice).keys()


# --- marks, notes and 校验结果 ----------------------------------------------------------------

def test_live_findings_have_no_mark_or_note_and_the_others_say_when(seed: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "book.xlsx"
    report = validate_file(seed, out=out).report
    checks = checks_of(seed, report.findings)
    wb = openpyxl.load_workbook(out)
    live_found = other = 0
    for f in report.findings:
        if not f.cell:
            continue
        ws = wb[f.sheet]
        constant = {c for cf in ws.conditional_formatting for rule in cf.rules
                    if rule.formula and not is_live_mark(rule.formula[0])
                    for rng in cf.sqref.ranges for c in [str(rng)]}
        note = ws[f.cell].comment
        if f.rule in LIVE_RULES and checks[f.sheet].status(f):
            live_found += 1
            assert note is None or f.code not in note.text
        else:
            other += 1
            assert note is not None and f.code in note.text
            assert note.text.splitlines()[-1] == \
                f"(校验时间 {report.checked_at:%Y-%m-%d %H:%M},需完整校验后更新)"
            assert any(f.cell in openpyxl.worksheet.cell_range.CellRange(c) for c in constant)
    assert live_found == 30 and other >= 16  # the seed's 4 + 26 live findings, and the rest
    # no cell is marked by a constant rule for a live finding alone
    for sheet, mine in checks.items():
        live_cells = {f.cell for f in report.findings if f.sheet == sheet and mine.status(f)}
        others = {f.cell for f in report.findings if f.sheet == sheet and not mine.status(f)}
        ws = wb[sheet]
        constant = {str(rng) for cf in ws.conditional_formatting for rule in cf.rules
                    if rule.formula and not is_live_mark(rule.formula[0])
                    for rng in cf.sqref.ranges}
        for cell in live_cells - others:
            assert not any(cell in openpyxl.worksheet.cell_range.CellRange(c) for c in constant)


def test_results_show_the_live_totals_and_each_findings_status(seed: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "book.xlsx"
    report = validate_file(seed, out=out).report
    checks = checks_of(seed, report.findings)
    ws = openpyxl.load_workbook(out)[RESULT_SHEET]
    assert ws["A2"].value == ('="实时检查(随输入更新): 错误 "&perfxl_live_errors&" 项,警告 "'
                              '&perfxl_live_warnings&" 项"')
    assert ws["A3"].value.startswith("完整校验: 错误 4 项,警告 ")
    assert [c.value for c in ws[5]][:4] == ["序号", "严重程度", "状态", "代码"]
    ordered = sorted(report.findings, key=lambda f: f.severity != "error")
    values = openpyxl.load_workbook(out, data_only=False)[RESULT_SHEET]
    for row, f in enumerate(ordered, start=6):
        assert ws.cell(row, 4).value == f.code and ws.cell(row, 11).value == f.message
        formula = checks[f.sheet].status(f) if f.sheet in checks else None
        assert values.cell(row, 3).value == (formula or "需完整校验"), (row, f)
    cached = openpyxl.load_workbook(out, data_only=True)[RESULT_SHEET]
    assert cached["A2"].value == "实时检查(随输入更新): 错误 4 项,警告 26 项"
    assert {cached.cell(r, 3).value for r in range(6, 6 + len(ordered))} == {"未修正", "需完整校验"}


def test_only_the_first_project_of_a_sheet_of_several_gets_live_checks(
        tmp_path: Path, seed_data: dict[str, Any]) -> None:
    book, out = tmp_path / "one.xlsx", tmp_path / "checked.xlsx"
    write_seed_layout_book(book, seed_data, one_sheet=True, row_offset=1, col_offset=1)
    report = validate_file(book, out=out).report
    dept = read_book(book)
    first = dept.projects[0]
    checks = checks_of(book, report.findings)[ONE_SHEET_TITLE]
    assert checks.table is not None and checks.table.bottom < int(re.sub(
        r"\D", "", dept.projects[1].cells["project.code"]))  # ends before the next table
    wb = openpyxl.load_workbook(out)
    ws = wb[ONE_SHEET_TITLE]
    assert len(local_names(ws)) == 2 and live_block(ws)["AO1"] == "=AO3+AQ3"
    later = [f for f in report.findings if f.rule in LIVE_RULES and f.project_code != first.code]
    assert later
    for f in later:  # the later tables' live findings keep the full check's mark and note
        assert checks.status(f) is None
        assert ws[f.cell].comment is not None and TIME_LINE.fullmatch(
            ws[f.cell].comment.text.splitlines()[-1])


# --- LibreOffice recalculates the live checks: they agree with the full check --------------------

def _live_counts(findings: list[Finding]) -> Counter[tuple[str, str]]:
    return Counter((f.sheet, f.severity) for f in findings if f.rule in LIVE_RULES)


@pytest.mark.libreoffice
def test_the_demos_recalculated_live_counts_are_the_full_checks(tmp_path: Path,
                                                                soffice: str) -> None:
    from libreoffice import recalculated_sheets

    assert run("demo", "-o", tmp_path)[0] == 0
    book = next(tmp_path.glob("*.xlsx"))
    dept = read_book(book)
    want = _live_counts(check(dept, None, book=book.name).findings)
    sheets = [p.sheet for p in dept.projects]
    values = recalculated_sheets(book, [*sheets, RESULT_SHEET])
    for sheet in sheets:
        assert tuple(values[sheet][0][40:42]) == (want[(sheet, "error")],
                                                  want[(sheet, "warning")]), sheet
        assert values[sheet][0][8] == "实时检查(随输入更新): 错误 {} 项,警告 {} 项".format(
            want[(sheet, "error")], want[(sheet, "warning")])
    assert values[RESULT_SHEET][1][0] == "实时检查(随输入更新): 错误 4 项,警告 26 项"


def test_a_project_without_findings_is_cached_as_started(seed: Path) -> None:
    """The started flag's cached value is what the book computes, not whether the project had
    findings: with none, every project of the hand-made book is still started (the formula's
    value, tested against LibreOffice below)."""
    for checks in checks_of(seed, []).values():
        started = next(c for c in checks.cells if c.ref == live.STARTED_CELL.replace("$", ""))
        assert started.value == 1, checks.sheet


@pytest.mark.libreoffice
def test_recalculated_live_counts_are_the_full_checks(seed: Path, seed_checked: Path,
                                                      soffice: str) -> None:
    from libreoffice import recalculated_sheets

    dept = read_book(seed)
    report = check(dept, None, book=seed.name)
    want = _live_counts(report.findings)
    sheets = [p.sheet for p in dept.projects]
    values = recalculated_sheets(seed_checked, [*sheets, RESULT_SHEET])
    cached = openpyxl.load_workbook(seed_checked, data_only=True)
    for sheet in sheets:
        ao1, ap1 = values[sheet][0][40:42]
        assert (ao1, ap1) == (want[(sheet, "error")], want[(sheet, "warning")]), sheet
        # the started flag as written is the one recalculated, findings or none
        assert cached[sheet]["AO2"].value == values[sheet][1][40] == 1, sheet
    results = values[RESULT_SHEET]
    errors, warnings = sum(want[(s, "error")] for s in sheets), \
        sum(want[(s, "warning")] for s in sheets)
    assert (errors, warnings) == (4, 26)
    assert results[1][0] == f"实时检查(随输入更新): 错误 {errors} 项,警告 {warnings} 项"
    states = Counter(row[2] for row in results[5:])
    assert states == {"未修正": errors + warnings,
                      "需完整校验": len(report.findings) - errors - warnings}


@pytest.mark.libreoffice
def test_typing_a_fix_turns_its_status_to_fixed(seed_checked: Path, tmp_path: Path,
                                                soffice: str) -> None:
    """The user fills in 项目4's missing plan: its live count and its status on 校验结果
    follow, with no full check."""
    from libreoffice import recalculated_sheets

    dept = read_book(seed_checked)
    p = next(p for p in dept.projects if p.plan is None)
    wb = openpyxl.load_workbook(seed_checked)
    for cell, pct in zip(p.cells["project.plan"], ("25%", "50%", "75%", "100%"), strict=True):
        wb[p.sheet][cell] = pct
    typed = tmp_path / "typed.xlsx"
    wb.save(typed)
    values = recalculated_sheets(typed, [p.sheet, RESULT_SHEET])
    assert values[p.sheet][0][40] == 0  # no live error left on the sheet
    row = next(r for r in values[RESULT_SHEET][5:] if r[3] == "PX301")
    assert row[2] == "已修正"
    assert values[RESULT_SHEET][1][0] == "实时检查(随输入更新): 错误 3 项,警告 26 项"
    assert check(read_book(typed)).counts["error"] == 3  # the full check agrees
