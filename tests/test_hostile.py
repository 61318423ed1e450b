"""Hostile and broken inputs: every generated attack or accident is read, or refused with the
project's own error that names the problem, within bounds, leaving the input unchanged; a merge
takes the good books and lists the bad; formula-looking text stays text in every output."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hostile_gen as gen
import pytest
from click.testing import CliRunner
from conftest import CORPUS
from test_corpus import Runner, check_bounded

from perfxl import errors, read_book
from perfxl.cli import main
from perfxl.files import atomic_path
from perfxl.findings import Finding, Report
from perfxl.limits import ENV, Limits, current
from perfxl.pipeline import write_annotated
from perfxl.read import read_grids
from perfxl.read.sources import calamine_sheets, open_book
from perfxl.sniff import droppable_parts, sniff

CASES = sorted(gen.CASES)


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated files, made once per session (the 1 GiB bomb is 1 MB on disk)."""
    folder = tmp_path_factory.mktemp("hostile")
    for name in CASES:
        gen.generate(name, folder)
    return folder


def case_path(made: Path, name: str) -> Path:
    return made / gen.CASES[name][0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    r = Runner(tmp_path_factory.mktemp("hostile_runner"))
    yield r
    r.close()


# --- each generated case, in the library and through the bounded CLI ----------------------------

@pytest.mark.parametrize("name", CASES)
def test_generated_case_is_read_or_refused_by_name(made: Path, name: str) -> None:
    _file, _gen, expect, detail = gen.CASES[name]
    path = case_path(made, name)
    before = sha256(path)
    if expect == "read":
        try:
            dept = read_book(path)
            assert dept.skipped or dept.projects or name == "plain"
        except errors.NotAPerformanceBook as e:  # read by its content; not one of our books
            assert e.exit_code == 2 and "不是预算绩效目标工作簿" in e.zh
    else:
        cls = getattr(errors, expect)
        with pytest.raises(cls) as caught:
            read_book(path)
        err = caught.value
        assert isinstance(err, errors.ReadError) and err.exit_code == 2
        assert err.zh.startswith(f"无法读取工作簿 {path.name}"), err.zh
        if isinstance(err, errors.LimitExceeded) and detail:
            assert err.limit == detail and err.actual > err.maximum, (err.limit, err.zh)
            assert (f"({detail})" in err.zh and f"{err.maximum:,}" in err.zh) or "GiB" in err.zh
        elif detail:
            assert detail in err.zh or detail in err.en, err.zh
    assert sha256(path) == before


@pytest.mark.parametrize("name", CASES)
def test_generated_case_through_the_cli_within_bounds(made: Path, runner: Runner,
                                                      name: str) -> None:
    path = case_path(made, name)
    before = sha256(path)
    expect = gen.CASES[name][2]
    for command in ("read", "validate"):
        run = runner.run(command, path, "--format", "json")
        check_bounded(run, path.name)
        if expect == "read" and run.rc == 2:
            assert "不是预算绩效目标工作簿" in run.stderr, (command, run.stderr)
        else:
            assert (run.rc == 2) == (expect != "read"), (command, run.rc, run.stderr)
    assert sha256(path) == before


def test_deep_nesting_in_a_sheet_is_read_and_annotating_it_is_refused_cleanly(
        made: Path, tmp_path: Path) -> None:
    """The depth limit skips worksheets (python-calamine streams them); lxml, which annotating
    uses, stops at 256 levels: a refusal with a message, the input unchanged."""
    path = case_path(made, "deep_nesting")
    grids, _props = read_grids(path)
    assert grids[0].rows == [["x"]]
    mark = Finding("PX101", "required-missing", "error", "project.code", "缺少项目编码",
                   "project code missing", sheet=grids[0].name, cell="A1")
    report = Report(book=path.name, findings=[mark])
    with pytest.raises(errors.ReadError) as caught:
        write_annotated(path.read_bytes(), atomic_path(tmp_path / "out.xlsx"), report, path.name)
    assert "sheet1.xml" in caught.value.zh and not (tmp_path / "out.xlsx").exists()


def test_refusal_messages_are_chinese_first_with_english_beside(made: Path) -> None:
    r = CliRunner().invoke(main, ["read", str(case_path(made, "encrypted_book"))])
    assert r.exit_code == 2
    assert re.match(r"错误: 无法读取工作簿 encrypted\.xlsx:文件已加密,请去除密码后重新提交.*"
                    r"\(cannot read workbook encrypted\.xlsx: it is encrypted", r.stderr, re.S)
    r = CliRunner().invoke(main, ["--debug", "read", str(case_path(made, "encrypted_book"))])
    assert isinstance(r.exception, errors.EncryptedBook)  # a traceback only with --debug


# --- amounts a spreadsheet can hold but a budget cannot ---------------------------------------

def test_a_huge_amount_is_read_or_refused_cleanly(tmp_path: Path) -> None:
    book = gen.huge_amount(tmp_path / "huge.xlsx")
    for command in ("read", "validate"):
        r = CliRunner().invoke(main, [command, str(book), "--format", "json"])
        assert r.exit_code in (0, 1, 2), (command, r.output)


def test_an_amount_finer_than_a_fen_is_reported_not_a_crash(tmp_path: Path) -> None:
    book = gen.amount_finer_than_a_fen(tmp_path / "third.xlsx")
    r = CliRunner().invoke(main, ["validate", str(book), "--format", "json"])
    assert r.exit_code == 1, r.output
    assert "amount-finer-than-fen" in {f["rule"] for f in json.loads(r.stdout)["findings"]}


def test_the_form_generator_makes_a_readable_project(tmp_path: Path) -> None:
    dept = read_book(gen.form_book(tmp_path / "form.xlsx", 80000))
    assert [(p.code, p.budget) for p in dept.projects] == [("130303216DIAX82DQONDM", 80000)]


# --- what the files are -------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "kind"), [
    (b"", "empty"),
    (b"PK\x05\x06" + b"\0" * 18, "empty"),
    (b"PK\x03\x04 cut short", "truncated"),
    (b"%PDF-1.7\n", "pdf"),
    (b"Rar!\x1a\x07\x01\x00", "archive"),
    (b"\x89PNG\r\n\x1a\n....", "image"),
    (b"MIME-Version: 1.0\r\nContent-Type: multipart/related", "mht"),
    ("<html><body><table><tr><td>项目</td></tr></table></body></html>".encode(), "html"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
     "spreadsheetml"),
    (b'<?xml version="1.0"?><root/>', "xml"),
    ("项目编码\t预算数\n130303\t80000\n".encode("utf-16"), "csv"),
    ("项目编码,预算数\n130303,80000\n".encode("gbk"), "csv"),
    (b"just one line of text", "text"),
    (b"\x00\x01\x02\x03binary", "binary"),
])
def test_sniff_names_what_a_file_is(data: bytes, kind: str) -> None:
    assert sniff(data, "x.xlsx").kind == kind


@pytest.mark.skipif(not (CORPUS / "hostile_public").is_dir(), reason="no corpus")
@pytest.mark.parametrize(("source", "kind"), [("calamine__any_sheets.xls", "xls"),
                                              ("calamine__any_sheets.xlsb", "xlsb"),
                                              ("calamine__any_sheets.ods", "ods"),
                                              ("poi__sample.docx", "docx")])
def test_renamed_real_files_are_known_by_content(tmp_path: Path, source: str, kind: str) -> None:
    original = CORPUS / "hostile_public" / source
    renamed = tmp_path / "提交.xlsx"
    shutil.copy(original, renamed)
    assert sniff(renamed).kind == kind
    if kind != "docx":  # read the same as under its own name
        assert [s[:2] for s in open_book(renamed).sheets()] == \
            [s[:2] for s in open_book(original).sheets()]


def test_writing_into_a_legacy_format_names_the_format(made: Path) -> None:
    from perfxl.sniff import require_ooxml

    assert require_ooxml(case_path(made, "plain")).kind == "xlsx"
    with pytest.raises(errors.UnsupportedFormat, match=r"无法写入校验结果 legacy\.xls:这是旧版 \.xls"):
        require_ooxml(case_path(made, "legacy_xls"))
    with pytest.raises(errors.EncryptedBook):
        require_ooxml(case_path(made, "encrypted_book"))


def test_budget_template_behind_xls_is_read_by_content() -> None:
    path = CORPUS / "budget" / "platformweb-fb__国债资金监控导入模板.xls"
    if not path.exists():
        pytest.skip("no budget corpus")
    book = open_book(path)
    assert book.type.kind == "xlsx" and not book.isolate
    assert "国债资金项目绩效指标" in [s[0] for s in book.sheets()]


# --- containment ---------------------------------------------------------------------------------

def test_our_books_are_read_in_process_binary_formats_in_a_child(made: Path,
                                                                 demo_book: Path) -> None:
    assert not open_book(demo_book).isolate
    assert open_book(case_path(made, "legacy_xls")).isolate
    assert open_book(case_path(made, "xlsb_renamed")).isolate
    assert open_book(case_path(made, "far_cell_without_refs")).isolate  # cells without r=""


def test_a_rust_panic_is_a_base_exception_and_is_contained(made: Path) -> None:
    """python-calamine panics on this file (pyo3's PanicException is not an Exception): the
    in-process reader catches it and says the book is damaged."""
    import python_calamine

    path = case_path(made, "date_panic")
    with pytest.raises(BaseException) as caught:
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert not isinstance(caught.value, Exception)
    with pytest.raises(errors.DamagedFile, match="TimeDelta"):
        calamine_sheets(path, path.name, True, (), Limits())


def test_an_abort_in_the_child_process_is_a_refusal(made: Path) -> None:
    """Cells without references after row 1,048,576: python-calamine asks for 549 GB and
    aborts the process. Only the child dies; the caller gets the memory limit by name."""
    with pytest.raises(errors.LimitExceeded) as caught:
        read_book(case_path(made, "far_cell_without_refs"))
    assert caught.value.limit == "memory" and "2.00 GiB" in caught.value.zh


def test_a_child_that_hangs_is_stopped_at_the_timeout(made: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from perfxl.read import sources

    monkeypatch.setattr(sources, "_CHILD", "import time; time.sleep(30)")
    book = open_book(case_path(made, "legacy_xls"), limits=Limits(timeout=0.5))
    with pytest.raises(errors.LimitExceeded) as caught:
        book.sheets()
    assert caught.value.limit == "timeout"


def test_books_given_as_bytes_are_guarded_the_same_way(made: Path, demo_book: Path) -> None:
    from perfxl.read import read_bytes

    assert len(read_bytes(demo_book.read_bytes(), "demo.xlsx").projects) == 7
    legacy = case_path(made, "legacy_xls")  # to the child process through its stdin
    assert read_bytes(legacy.read_bytes(), legacy.name).projects[0].name == "行政审批等专家评审费"
    for name, cls in (("encrypted_book", errors.EncryptedBook), ("far_cell", errors.LimitExceeded),
                      ("zip_bomb_lying", errors.UnsafeFile)):
        with pytest.raises(cls):
            read_bytes(case_path(made, name).read_bytes(), name)


def test_reading_in_threads_keeps_stderr(made: Path, demo_book: Path,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    """The reader holds fd 2 while python-calamine runs (to swallow Rust's panic output): in
    threads, one at a time, and stderr works afterwards."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    books = [demo_book, case_path(made, "date_panic")] * 6

    def read(path: Path) -> str:
        try:
            return str(len(read_book(path).projects))
        except errors.ReadError as e:
            return type(e).__name__

    with ThreadPoolExecutor(4) as pool:
        assert sorted(set(pool.map(read, books))) == ["7", "DamagedFile"]
    print("still here", file=sys.stderr)
    err = capfd.readouterr().err
    assert "still here" in err and "panicked" not in err


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                          made: Path, demo_book: Path) -> None:
    monkeypatch.setenv(ENV, "cells=5M; unzipped=1GiB, timeout=60 ratio=2000 string=100M")
    lim = current()
    assert (lim.cells, lim.unzipped, lim.timeout, lim.ratio) == (5_000_000, 1 << 30, 60.0, 2000)
    assert lim.merged == Limits().merged
    with contextlib.suppress(errors.NotAPerformanceBook):  # read, not refused by its ratio
        read_book(case_path(made, "high_ratio"))
    monkeypatch.setenv(ENV, "cells=100")
    with pytest.raises(errors.LimitExceeded, match=r"cells=…"):
        read_book(demo_book)
    monkeypatch.setenv(ENV, "celss=5")
    with pytest.raises(errors.PerfxlError, match="PERFXL_LIMITS"):
        read_book(demo_book)


def test_xml_is_parsed_safely_everywhere(made: Path) -> None:
    """defusedxml is installed and in effect for openpyxl: entities are refused, not expanded."""
    import openpyxl
    import openpyxl.xml
    from defusedxml import DefusedXmlException

    assert openpyxl.xml.DEFUSEDXML
    for name in ("billion_laughs", "external_entity"):
        with pytest.raises(ValueError) as caught:
            openpyxl.load_workbook(case_path(made, name))
        assert isinstance(caught.value.__cause__ or caught.value.__context__, DefusedXmlException)


# --- merging a folder of good and bad files --------------------------------------------------------

BAD = ("encrypted_book", "truncated_zip", "html_as_xls", "empty_file", "zip_bomb",
       "billion_laughs", "dde_payloads", "pdf", "far_cell_without_refs")


def test_merging_good_and_bad_files_merges_the_good_and_lists_the_bad(
        demo_book: Path, made: Path, tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    r = CliRunner().invoke(main, ["split", str(demo_book), "-o", str(folder)])
    assert r.exit_code == 0, r.output
    for name in BAD:
        src = case_path(made, name)
        shutil.copy(src, folder / f"bad_{src.name}")
    before = {p.name: sha256(p) for p in folder.iterdir()}
    out = tmp_path / "merged.xlsx"
    r = CliRunner().invoke(main, ["merge", str(folder), "-o", str(out), "--format", "json"])
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    assert doc["projects"] == 7 and doc["total"] == "1100000.00" and out.exists()
    errors_by_file = {i["file"]: i["error"] for i in doc["inputs"] if i["error"]}
    assert set(errors_by_file) == {f"bad_{gen.CASES[n][0]}" for n in BAD}
    assert "加密" in errors_by_file["bad_encrypted.xlsx"]
    assert "HTML" in errors_by_file["bad_web_export.xls"]
    assert "(unzipped)" in errors_by_file["bad_bomb.xlsx"]
    assert "没有项目" in errors_by_file["bad_dde.xlsx"]  # read, but not a performance book
    findings = [f for f in doc["findings"] if f["rule"] == "input-unreadable"]
    assert len(findings) == len(BAD)
    assert {p.name: sha256(p) for p in folder.iterdir()} == before  # no input changed


# --- formula-looking text stays text ---------------------------------------------------------------

PAYLOADS = ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1")


def _with_payloads(seed: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(seed))
    for i, p in enumerate(data["projects"]):
        payload = PAYLOADS[i % len(PAYLOADS)]
        p["name"] = payload + f" 项目{i}"
        p["purpose"] = payload
        p["goals"] = payload
        for ind in p["indicators"]:
            ind["description"] = payload
            ind["basis"] = payload
    data["units"][0]["name"] = PAYLOADS[0]
    return data


_QUOTED_SHEET = re.compile(r"'(?:[^']|'')*'!")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def _formulas_and_text(book: Path) -> tuple[dict[str, list[str]], str]:
    """Every formula of the book by kind (``cell``: worksheets' <f>, ``chart``: charts' <c:f>),
    with quoted sheet names and string literals taken out (a sheet named after a project is a
    reference, and a project's name quoted in a sentence of the 汇总 is text, not text turned
    into a formula; badly escaped, it would leak out of its quotes and be seen), and all the
    book's XML text."""
    formulas: dict[str, list[str]] = {"cell": [], "chart": []}
    text = []
    with zipfile.ZipFile(book) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                for kind, pattern in (("cell", r"<f(?:\s[^>]*)?>([^<]*)</f>"),
                                      ("chart", r"<c:f>([^<]*)</c:f>")):
                    formulas[kind] += [_STRING.sub('""', _QUOTED_SHEET.sub("", html.unescape(f)))
                                       for f in re.findall(pattern, xml)]
                text.append(xml)
    return formulas, "\n".join(text)


@pytest.fixture(scope="module")
def payload_outputs(seed_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
                    ) -> dict[str, Path]:
    """The books perfxl writes from data whose texts look like formulas (and from a file whose
    name does): populate, merge (来源 lists file names), summarize, validate -o."""
    import yaml

    tmp = tmp_path_factory.mktemp("payloads")
    data_file = tmp / "data.yaml"
    data_file.write_text(yaml.safe_dump(_with_payloads(seed_data), allow_unicode=True),
                         encoding="utf-8")
    book = tmp / "=cmd.xlsx"
    invoke = CliRunner().invoke
    assert invoke(main, ["populate", str(data_file), "-o", str(book)]).exit_code == 0
    units = tmp / "units"
    assert invoke(main, ["split", str(book), "-o", str(units)]).exit_code == 0
    shutil.copy(book, units / "+1+1.xlsx")
    outputs = {"populate": book, "merge": tmp / "merged.xlsx", "summarize": tmp / "summary.xlsx",
               "validate": tmp / "checked.xlsx"}
    r = invoke(main, ["merge", str(units), "-o", str(outputs["merge"]), "--on-conflict", "first"])
    assert r.exit_code == 0, r.output
    assert invoke(main, ["summarize", str(book), "-o", str(outputs["summarize"])]).exit_code == 0
    assert invoke(main, ["validate", str(book), "-o", str(outputs["validate"])]).exit_code == 1
    return outputs


@pytest.mark.filterwarnings("ignore:Unknown worksheet reference:UserWarning")
def test_formula_looking_text_is_written_as_text_in_every_output(
        payload_outputs: dict[str, Path]) -> None:
    from xml.sax.saxutils import escape

    for what, out in payload_outputs.items():
        formulas, text = _formulas_and_text(out)
        for payload in PAYLOADS:
            body = payload.strip()[1:]
            assert not any(body in f for f in formulas["cell"]), (what, payload)
            assert escape(payload.strip()) in text, (what, payload)  # there, as text
    merged, _ = _formulas_and_text(payload_outputs["merge"])
    assert not any("cmd" in f or "1+1" in f for f in merged["cell"])  # 来源's file names
    back = read_book(payload_outputs["populate"])
    assert back.projects[0].name.startswith(PAYLOADS[0])  # read back as the same text
    assert {p.purpose for p in back.projects} == {x.strip() for x in PAYLOADS}


@pytest.mark.filterwarnings("ignore:Unknown worksheet reference:UserWarning")
def test_formula_looking_unit_names_stay_text_in_charts(payload_outputs: dict[str, Path]) -> None:
    for what, out in payload_outputs.items():
        formulas, _ = _formulas_and_text(out)
        assert not any("cmd" in f for f in formulas["chart"]), (what, formulas["chart"])


# --- writing never loses data ----------------------------------------------------------------------

def test_a_failed_write_leaves_the_old_output_whole(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from perfxl.files import atomic_path

    target = tmp_path / "out.xlsx"
    target.write_bytes(b"the old book")

    def full_disk(*_a: Any, **_k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(errors.WriteError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a new bo")
    assert target.read_bytes() == b"the old book"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temporary file left


def test_a_book_open_in_excel_is_not_changed_in_place(demo_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "单位.xlsx"
    shutil.copy(demo_book, book)
    (tmp_path / "~$单位.xlsx").write_bytes(b"\x00owner")
    before = sha256(book)
    r = CliRunner().invoke(main, ["validate", str(book), "--in-place"])
    assert r.exit_code == 2 and "正在 Excel 中打开" in r.stderr
    assert sha256(book) == before


# --- what a whole rebuild would drop (summarize --in-place) ---------------------------------------

def _add_parts(src: Path, dst: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            b.writestr(item, a.read(item))
        for name, data in parts.items():
            b.writestr(name, data)
    return dst


def test_droppable_parts_skip_our_own_charts_and_list_the_rest(demo_book: Path,
                                                               tmp_path: Path) -> None:
    with zipfile.ZipFile(demo_book) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 2
    assert droppable_parts(demo_book) == []
    foreign = _add_parts(demo_book, tmp_path / "foreign.xlsm", {
        "xl/media/image1.png": b"\x89PNG", "xl/media/image2.jpeg": b"\xff\xd8",
        "xl/charts/chart9.xml": b"<c/>", "xl/vbaProject.bin": b"\xd0\xcf",
        "xl/pivotTables/pivotTable1.xml": b"<p/>", "xl/slicers/slicer1.xml": b"<s/>",
        "xl/externalLinks/externalLink1.xml": b"<e/>", "xl/ctrlProps/ctrlProp1.xml": b"<c/>",
        "xl/ctrlProps/ctrlProp2.xml": b"<c/>"})
    assert droppable_parts(foreign) == [
        "图表 1 个", "图片 2 个", "数据透视表 1 个", "切片器 1 个", "VBA 宏", "外部链接 1 个",
        "表单控件 2 个"]
    dept = dataclasses.replace(read_book(demo_book), skipped=[
        dataclasses.make_dataclass("S", ["sheet", "reason"])("附表", "不是项目支出绩效目标表")])
    assert droppable_parts(demo_book, dept) == ["工作表「附表」(不属于绩效目标表)"]


@pytest.mark.skipif(not (CORPUS / "excel_made").is_dir(), reason="no corpus")
@pytest.mark.parametrize(("name", "part"), [("calamine__pivots.xlsx", "数据透视表"),
                                            ("calamine__vba.xlsm", "VBA 宏"),
                                            ("openpyxl2__sample_with_images.xlsx", "图片"),
                                            ("poi__WithChartSheet.xlsx", "图表工作表"),
                                            ("poi__WithTextBox.xlsx", "形状/文本框"),
                                            ("openpyxl__comments.xlsx", "批注")])
def test_droppable_parts_of_excel_made_books(name: str, part: str) -> None:
    found = droppable_parts(CORPUS / "excel_made" / name)
    assert any(item.startswith(part) for item in found), found
