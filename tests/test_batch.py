"""Validating a folder of department books: one combined report, a review book, cross-book
checks, and the pure per-book step."""

from __future__ import annotations

import gc
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import with_cross

from benchmarks.generate import department
from perfxl import batch, write_book
from perfxl.batch import check_bytes, few_collections, validate_paths
from perfxl.cli import main
from perfxl.errors import PerfxlError
from perfxl.validate import validate_book


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, demo_book: Path) -> Path:
    root = tmp_path_factory.mktemp("books")
    for i in range(1, 6):
        write_book(root / f"dept_{i}.xlsx", department(i, 6, random.Random(i)))
    shutil.copy(demo_book, root / "demo.xlsx")
    shutil.copy(demo_book, root / "demo_copy.xlsx")  # every code appears in two books
    (root / "broken.xlsx").write_bytes(b"not a workbook")
    return root


def test_folder_gives_one_combined_report(folder: Path) -> None:
    r = CliRunner().invoke(main, ["validate", str(folder), "--format", "json", "--jobs", "2"])
    assert r.exit_code == 2, r.output  # one book cannot be read
    doc = json.loads(r.stdout)
    books = {b["book"]: b for b in doc["books"]}
    assert len(books) == 8 and doc["counts"]["books"] == 8 and doc["counts"]["unreadable"] == 1
    assert books["broken.xlsx"]["error"] and "findings" not in books["broken.xlsx"]
    demo = books["demo.xlsx"]
    assert demo["totals"]["total"] == "1100000.00" and demo["counts"]["error"] >= 4
    assert demo["totals"]["by_unit"] == {"630001": "500000.00", "630003": "600000.00"}
    # the cross-book findings come after every book (each book streamed out as it was checked)
    assert not any(f["rule"] == "project-code-cross-book" for f in demo["findings"])
    cross = [f for f in doc["cross_book"] if f["book"] == "demo.xlsx"]
    assert len(cross) == 7 and all(f["rule"] == "project-code-cross-book"
                                   and "demo_copy.xlsx" in f["message"] for f in cross)
    assert cross[0]["cell"] == "B3" and cross[0]["sheet"]
    assert {f["book"] for f in doc["cross_book"]} == {"demo.xlsx", "demo_copy.xlsx"}
    assert doc["counts"]["error"] == sum(b["counts"]["error"] for b in with_cross(doc)
                                         if "counts" in b)


def test_streamed_report_holds_what_the_library_holds(folder: Path) -> None:
    """The command's report, streamed book by book with the cross-book findings last, is the
    library's (validate_paths: each book's report with its cross-book findings)."""
    r = CliRunner().invoke(main, ["validate", str(folder), "--format", "json", "--jobs", "1"])
    doc = json.loads(r.stdout)
    held = [b.to_json() for b in validate_paths(sorted(folder.glob("*.xlsx")), jobs=1)]
    assert with_cross(doc) == held and len(doc["cross_book"]) == 14


def test_batch_findings_equal_single_book_findings(folder: Path) -> None:
    results = validate_paths(sorted(folder.glob("dept_*.xlsx")), jobs=1)
    for r in results:
        _, alone = validate_book(r.path)
        assert r.report is not None
        assert r.report.findings == alone.findings


def test_jobs_do_not_change_the_result(folder: Path) -> None:
    paths = sorted(folder.glob("*.xlsx"))
    one = [r.to_json() for r in validate_paths(paths, jobs=1)]
    two = [r.to_json() for r in validate_paths(paths, jobs=2)]
    assert one == two


@pytest.mark.parametrize("early", [0, 3, 100])
def test_books_read_while_pandas_is_imported_are_checked_alike(
        folder: Path, monkeypatch: pytest.MonkeyPatch, early: int) -> None:
    """The first books are read in a process forked before pandas is imported (and checked by
    the command), the others by the workers: the same results as in one process, however many
    are read early."""
    paths = sorted(folder.glob("*.xlsx"))
    one = [r.to_json() for r in validate_paths(paths, jobs=1)]
    monkeypatch.setattr(batch, "EARLY", early)
    assert [r.to_json() for r in validate_paths(paths, jobs=2)] == one


def test_books_the_early_reader_could_not_send_are_read_by_the_command(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = sorted(folder.glob("*.xlsx"))
    one = [r.to_json() for r in validate_paths(paths, jobs=1)]
    command, read = os.getpid(), batch._read_chunk

    def failing(chunk: list[Path]) -> Any:
        if os.getpid() != command:
            raise RuntimeError("a bug in reading")
        return read(chunk)

    monkeypatch.setattr(batch, "_read_chunk", failing)  # every book is read early (8 < EARLY)
    assert [r.to_json() for r in validate_paths(paths, jobs=2)] == one


def test_an_early_reader_that_died_is_a_worker_that_died(folder: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "_read_early", lambda send, paths: os._exit(1))
    with pytest.raises(PerfxlError) as died:
        validate_paths(sorted(folder.glob("*.xlsx")), jobs=2)
    assert died.value is batch.WORKER_DIED


def test_per_book_step_is_a_pure_function_of_bytes(folder: Path) -> None:
    data = (folder / "dept_1.xlsx").read_bytes()
    dept, report = check_bytes(data, name="dept_1.xlsx")
    _, from_file = validate_book(folder / "dept_1.xlsx")
    assert report.findings == from_file.findings and len(dept.projects) == 6


def test_review_book(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.xlsx"
    r = CliRunner().invoke(main, ["validate", str(folder), "-o", str(out)])
    assert r.exit_code == 2 and out.exists()
    wb = openpyxl.load_workbook(out)
    books = wb["工作簿"]
    rows = {row[1].value: row for row in books.iter_rows(min_row=2)}
    assert set(rows) == {p.name for p in folder.glob("*.xlsx")}
    assert rows["broken.xlsx"][9].value == "无法读取"
    assert rows["demo.xlsx"][6].value == 1100000 and rows["demo.xlsx"][9].value == "未通过"
    assert rows["demo.xlsx"][1].hyperlink.target.endswith("demo.xlsx")
    findings = wb["问题"]
    first = next(row for row in findings.iter_rows(min_row=2) if row[0].value == "demo.xlsx")
    link = first[8].hyperlink
    assert link.target.endswith("demo.xlsx") and link.location == f"'{first[7].value}'!{first[8].value}"
    assert findings.max_row > 100 and findings.auto_filter.ref
    for sheet in (books, findings):  # printed: landscape, all columns on the page's width
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == "$1:$1"  # the header row on every page
    tall = [findings.row_dimensions[row[0].row].height for row in findings.iter_rows(min_row=2)
            if len(row[9].value) > 60]
    assert tall and all(h and h >= 30 for h in tall)  # long messages wrap onto more lines
    rules = {row[3].value for row in findings.iter_rows(min_row=2)}
    assert "缺少资金支出计划 (plan-missing)" in rules  # Chinese, the slug beside it
    assert all(re.fullmatch(r"[^()]*[\u4e00-\u9fff][^()]* \([a-z0-9-]+\)", r) for r in rules)


def test_text_output_lists_every_book(folder: Path) -> None:
    r = CliRunner().invoke(main, ["validate", str(folder)])
    assert r.exit_code == 2
    for name in ("demo.xlsx", "broken.xlsx", "dept_3.xlsx"):
        assert name in r.stdout
    assert "无法读取" in r.stdout


def test_folder_json_through_the_console_command(folder: Path) -> None:
    """The real command (quick exit after the atexit handlers): every byte of the many-book JSON
    reaches the pipe, one book per line, and the exit code survives."""
    r = subprocess.run([sys.executable, "-m", "perfxl", "validate", str(folder), "--format",
                        "json"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"]["books"] == 8 and len(doc["books"]) == 8
    lines = r.stdout.splitlines()
    assert sum(1 for line in lines if line.startswith('    {"book": ')) == 8


def test_few_collections_restores_the_collector() -> None:
    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] == 100_000 and gc.get_freeze_count() > 0
        with few_collections():  # nested: the outer one restores
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux pseudo-terminal")
def test_progress_goes_to_a_terminal_on_stderr_never_into_the_json(folder: Path,
                                                                   tmp_path: Path) -> None:
    """With stderr a terminal and stdout a file: the bar on stderr, the report whole on stdout."""
    import os
    import pty

    master, tty = pty.openpty()
    report = tmp_path / "report.json"
    with report.open("w") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "perfxl", "validate", str(folder),
                                 "--format", "json"], stdout=stdout, stderr=tty)
    os.close(tty)
    shown = b""
    while True:
        try:
            got = os.read(master, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not got:
            break
        shown += got
    assert proc.wait(timeout=120) == 2
    os.close(master)
    assert "校验 (validating)".encode() in shown
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["counts"]["books"] == 8 and len(doc["books"]) == 8


def test_review_links_stop_at_excels_limit(folder: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Past Excel's limit of links on a sheet (review.LINKS: 65,530; 5 here), a finding's cell
    is written as text, never left empty."""
    from perfxl import review

    monkeypatch.setattr(review, "LINKS", 5)
    out = tmp_path / "review.xlsx"
    r = CliRunner().invoke(main, ["validate", str(folder), "-o", str(out), "--jobs", "1"])
    assert r.exit_code == 2, r.output
    rows = list(openpyxl.load_workbook(out)["问题"].iter_rows(min_row=2))
    linked = [row for row in rows if row[8].hyperlink is not None]
    assert linked == rows[:5]  # the first findings with a cell
    later = [row for row in rows[5:] if row[7].value]  # findings on a sheet: each has its cell
    assert len(later) > 100 and all(re.fullmatch(r"[A-Z]+[0-9]+", row[8].value) for row in later)


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
def test_a_long_table_of_books_prints_in_pieces_the_same_text(terminal: bool) -> None:
    """The table of a province's books is written every thousand lines, not held whole: the
    text is what printing it whole writes, on a terminal (colours, cut to its width) or not."""
    import io

    from rich.console import Console
    from rich.table import Table

    from perfxl.report import print_in_pieces

    def table() -> Table:
        t = Table(title="校验结果 (books)", title_justify="left")
        for col, justify in (("工作簿", "left"), ("项目", "right"), ("状态", "left")):
            t.add_column(col, justify=justify)  # type: ignore[arg-type]
        for i in range(2345):
            t.add_row(f"dept_{i:05d}.xlsx", str(i % 7),
                      "[red]有错误[/red]" if i % 3 else "[green]通过[/green]")
        return t

    whole, pieces = io.StringIO(), io.StringIO()
    Console(file=whole, width=60, force_terminal=terminal).print(table())
    printed: list[int] = []
    console = Console(file=pieces, width=60, force_terminal=terminal)
    real = console.print

    def counting(*args: object, **kwargs: object) -> None:
        printed.append(1)
        real(*args, **kwargs)  # type: ignore[arg-type]

    console.print = counting  # type: ignore[method-assign]
    print_in_pieces(console, table(), lines=1000)
    assert pieces.getvalue() == whole.getvalue()
    assert whole.getvalue().count("dept_") == 2345
    assert len(printed) == 3  # 2,345 rows and the borders: three pieces
