"""Split a department book into unit books, and merge submissions back into one book."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner
from conftest import CORPUS
from seedlayout import write_seed_layout_book

from perfxl import read_book
from perfxl.cli import main
from perfxl.files import collect

U1 = "630001_秦皇岛市山海关区行政审批局本级.xlsx"
U3 = "630003_秦皇岛市山海关区人民政府政务服务中心.xlsx"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def unit_books(demo_book: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "units"
    r = cli("split", demo_book, "-o", folder)
    assert r.exit_code == 0, r.output
    return folder


def read_json(path: Path) -> dict[str, Any]:
    r = cli("read", path, "--format", "json")
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def sources_rows(book: Path) -> list[list[Any]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(book))
    rows: list[list[Any]] = wb.get_sheet_by_name("来源").to_python()
    return rows[2:]


def test_split_gives_one_book_per_unit(unit_books: Path) -> None:
    assert sorted(p.name for p in unit_books.iterdir()) == [U1, U3]
    d = read_book(unit_books / U1)
    assert d.book_unit == "630001" and [p.seq for p in d.projects] == [1, 2, 3, 4]
    assert d.template_version and d.name == "行政审批部门"


def test_split_blank_keeps_only_identity(demo_book: Path, tmp_path: Path) -> None:
    r = cli("split", demo_book, "-o", tmp_path, "--blank")
    assert r.exit_code == 0
    p = read_book(tmp_path / U3).projects[0]
    assert (p.code, p.name, p.budget, p.indicators) == ("13030321E0GTGR1HG0170B", "政府采购评审费",
                                                       None, [])


def test_split_then_merge_gives_the_demo_back(demo_book: Path, unit_books: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books, "-o", out, "--plan", demo_book)
    assert r.exit_code == 0, r.output
    merged, demo = read_json(out), read_json(demo_book)
    assert merged["projects"] == demo["projects"]
    assert merged["units"] == demo["units"] and merged["department"] == demo["department"]
    rows = sources_rows(out)
    assert [(row[1], row[2]) for row in rows] == [
        (f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in sorted(unit_books.iterdir())]
    assert rows[0][6] == "130303216DIAX82DQONDM、130303216MSG9KDZYIKK0、13030321VHLBBTHOZHGUK、13030321ZRRK9DQ3GKQMC"


def test_hand_made_unit_books_merge_into_the_seed(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_seed_layout_book(folder / "审批局.xlsx", seed_data, units=["630001"])
    write_seed_layout_book(folder / "政务中心.xlsx", seed_data, units=["630003"], wan_yuan=True,
                           row_offset=3, col_offset=2)
    (folder / "~$审批局.xlsx").write_bytes(b"owner file of an open book")
    out = tmp_path / "dept.xlsx"
    r = cli("merge", folder, "-o", out, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [i["file"] for i in doc["inputs"]] == ["审批局.xlsx", "政务中心.xlsx"]
    d = read_book(out)
    assert [u.code for u in d.units] == ["630001", "630003"]
    assert d.total() == Decimal("1100000.00")
    assert d.unit_totals() == {"630001": Decimal(500000), "630003": Decimal(600000)}
    assert [p.seq for p in d.projects] == [1, 2, 3, 4, 5, 6, 7]


def conflicting_copy(unit_books: Path, tmp_path: Path) -> Path:
    other = tmp_path / "resubmitted"
    other.mkdir()
    copy = other / U1
    wb = openpyxl.load_workbook(unit_books / U1)
    ws = wb["2.推动全区企业开办\"一窗通,零成本,即使办\"开办费"]
    ws["C4"] = 75000
    ws["E4"] = 75000
    wb.save(copy)
    return copy


def test_a_conflicting_copy_is_refused(unit_books: Path, tmp_path: Path) -> None:
    copy = conflicting_copy(unit_books, tmp_path)
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books, copy, "-o", out)
    assert r.exit_code == 1
    assert "130303216MSG9KDZYIKK0" in r.stderr and str(U1) in r.stderr
    assert "budget" in r.stderr and "fiscal" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(("choice", "budget"), [("first", "70000.00"), ("newest", "75000.00")])
def test_a_conflict_resolved_explicitly(unit_books: Path, tmp_path: Path, choice: str,
                                        budget: str) -> None:
    copy = conflicting_copy(unit_books, tmp_path)
    os.utime(unit_books / U1, (1_600_000_000, 1_600_000_000))
    os.utime(copy, (1_700_000_000, 1_700_000_000))
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books, copy, "-o", out, "--on-conflict", choice, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {f["rule"] for f in doc["findings"]} >= {"merge-conflict"}
    project = next(p for p in read_json(out)["projects"] if p["code"] == "130303216MSG9KDZYIKK0")
    assert project["budget"] == budget
    noted = " ".join(" ".join(i["skipped"]) for i in doc["inputs"])
    assert f"--on-conflict {choice}" in noted
    rows = sources_rows(out)
    assert any(f"--on-conflict {choice}" in str(row[7]) for row in rows)


def test_a_file_given_twice_is_merged_once(unit_books: Path, tmp_path: Path) -> None:
    twin = tmp_path / "copy_of_630001.xlsx"
    shutil.copy(unit_books / U1, twin)
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books / U1, unit_books / U1, twin, unit_books / U3, "-o", out,
            "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["projects"] == 7
    assert [f["rule"] for f in doc["findings"]].count("duplicate-file") == 2
    assert len(read_book(out).projects) == 7


def test_identical_project_in_two_files_is_taken_once(demo_book: Path, unit_books: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books, demo_book, "-o", out, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["projects"] == 7
    rules = [f["rule"] for f in doc["findings"]]
    assert rules.count("duplicate-project") == 7 and "unit-in-two-files" in rules


def test_a_foreign_workbook_is_reported_and_the_rest_merged(unit_books: Path,
                                                            tmp_path: Path) -> None:
    shutil.copy(CORPUS / "excel_made" / "poi__SampleSS.xlsx", unit_books / "0_foreign.xlsx")
    (unit_books / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books, "-o", out, "--format", "json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    errors = {i["file"]: i["error"] for i in doc["inputs"] if i["error"]}
    assert set(errors) == {"0_foreign.xlsx", "broken.xlsx"}
    assert "没有项目" in errors["0_foreign.xlsx"]
    assert doc["projects"] == 7 and out.exists()
    assert [f["rule"] for f in doc["findings"]].count("input-unreadable") == 2
    strict = tmp_path / "strict.xlsx"
    r = cli("merge", unit_books, "-o", strict, "--strict")
    assert r.exit_code == 2 and not strict.exists() and "--strict" in r.stderr


def test_plan_checks_missing_and_unplanned_projects(demo_book: Path, unit_books: Path,
                                                    tmp_path: Path,
                                                    seed_data: dict[str, Any]) -> None:
    extra = tmp_path / "extra.xlsx"
    data = json.loads(json.dumps(seed_data))
    data["projects"] = [dict(data["projects"][0], seq=8, code="130303219NEWPROJECT01",
                             name="新增项目")]
    write_seed_layout_book(extra, data, units=["630001"])
    out = tmp_path / "merged.xlsx"
    r = cli("merge", unit_books / U1, extra, "-o", out, "--plan", demo_book, "--format", "json")
    assert r.exit_code == 0, r.output
    found = [(f["rule"], f["project_code"]) for f in json.loads(r.stdout)["findings"]]
    assert ("plan-project-missing", "13030321E0GTGR1HG0170B") in found
    assert len([x for x in found if x[0] == "plan-project-missing"]) == 3
    assert ("project-not-in-plan", "130303219NEWPROJECT01") in found
    results = python_calamine.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("校验结果")
    listed = {row[4] for row in results.to_python()[5:]}
    assert {"计划项目未提交 (plan-project-missing)", "项目不在计划中 (project-not-in-plan)"} <= listed


def test_a_unit_book_naming_another_unit_is_flagged(unit_books: Path, tmp_path: Path) -> None:
    book = unit_books / U1
    wb = openpyxl.load_workbook(book)
    wb["1.行政审批等专家评审费"]["B2"] = "630003"
    wb["1.行政审批等专家评审费"]["B2"].data_type = "s"
    wb.save(book)
    r = cli("merge", book, "-o", tmp_path / "m.xlsx", "--format", "json")
    found = [(f["rule"], f["project_code"]) for f in json.loads(r.stdout)["findings"]]
    assert ("unit-mismatch", "130303216DIAX82DQONDM") in found


def test_macros_of_submissions_are_not_carried(unit_books: Path, tmp_path: Path) -> None:
    xlsm = tmp_path / "macro.xlsm"
    with zipfile.ZipFile(unit_books / U1) as src, zipfile.ZipFile(xlsm, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really vba")
    out = tmp_path / "merged.xlsx"
    r = cli("merge", xlsm, unit_books / U3, "-o", out)
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert not any("vba" in n.lower() or "externalLink" in n or "embeddings" in n for n in names)


def test_merge_is_deterministic_and_jobs_read_in_parallel(unit_books: Path,
                                                          tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "merged.xlsx", tmp_path / "b" / "merged.xlsx"
    assert cli("merge", unit_books, "-o", a).exit_code == 0
    assert cli("merge", unit_books, "-o", b, "--jobs", "2").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_collect_expands_folders_and_skips_owner_files(tmp_path: Path) -> None:
    (tmp_path / "b.xlsx").write_bytes(b"x")
    (tmp_path / "a.xlsm").write_bytes(b"x")
    (tmp_path / "~$a.xlsm").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in collect([tmp_path])] == ["a.xlsm", "b.xlsx"]
    r = cli("merge", tmp_path / "nope", "-o", tmp_path / "o.xlsx")
    assert r.exit_code == 2 and "找不到输入" in r.stderr


def test_a_project_made_worse_by_the_merge_is_a_finding(unit_books: Path) -> None:
    """The merge compares each project's errors with those in the input it came from: a project
    that lost something on the way (here its spending plan) is named, and the merge is not
    complete; a faithful merge names nothing."""
    import dataclasses

    from perfxl.files import collect
    from perfxl.layout import place
    from perfxl.merge import combine, degraded, read_sources
    from perfxl.validate import check

    result = combine(read_sources(collect([unit_books])))
    place(result.dept)
    assert degraded(result, check(result.dept)) == []
    first = result.dept.projects[0]
    assert first.plan is not None
    result.dept.projects[0] = dataclasses.replace(first, plan=None)
    found = degraded(result, check(result.dept))
    assert [(f.rule, f.project_code, f.sheet) for f in found] == [
        ("project-degraded-in-merge", first.code, "来源")]
    assert "1 个错误" in found[0].message or "个错误" in found[0].message
    r = cli("merge", unit_books, "-o", unit_books.parent / "merged.xlsx", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "project-degraded-in-merge" not in r.output
