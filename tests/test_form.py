"""The reader's two ways of locating a project's fields give the same project.

Project sheets are located by the head learned from a sheet the label search read
(``read.Form``, kept in ``read.LEARNED``), whatever made the book: our template, or a book typed
by hand in the seed's layout (shifted, in 万元, split codes, merged 一级 cells …). These tests
read real books both ways (the form switched off by ``monkeypatch``) and compare everything the
model holds, cell map included, on template books, seed-layout books of every variation, a mixed
folder through the command and the corpus under ../shared/corpus; and edit one sheet's head in
the ways a user might, to see the form step aside for it.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from seedlayout import VARIANTS, write_seed_layout_book

from benchmarks.generate import department, seed_variant
from perfxl import read, read_book, write_book
from perfxl.cli import main
from perfxl.dataset import to_data
from perfxl.errors import PerfxlError
from perfxl.model import Department

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def snapshot(d: Department) -> list[Any]:
    """Everything read, including each project's and indicator's cells (not in ``==``)."""
    return [repr(d), [(p.cells, p.raw, p.code_raw, p.amount_unit, p.sheet,
                       [i.cells for i in p.indicators]) for p in d.projects]]


def by_label(path: Path, monkeypatch: pytest.MonkeyPatch) -> Department:
    with monkeypatch.context() as m:
        m.setattr(read.Forms, "fit", lambda self, g: None)
        return read_book(path)


def count_fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the sheets a form located (instead of the label search)."""
    fitted: list[str] = []
    fit = read.Forms.fit

    def spy(self: read.Forms, g: read.Grid) -> read.Located | None:
        at = fit(self, g)
        if at is not None:
            fitted.append(g.name)
        return at

    monkeypatch.setattr(read.Forms, "fit", spy)
    return fitted


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Benchmark-style departments (defects included: missing plans and values, copied sets)."""
    root = tmp_path_factory.mktemp("form")
    out = []
    for i in range(1, 7):
        path = root / f"dept_{i}.xlsx"
        write_book(path, department(i, 12, random.Random(i)))
        out.append(path)
    return out


def test_form_and_label_search_agree_on_our_books(books: list[Path], demo_book: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for path in [demo_book, *books]:
        fitted = count_fits(monkeypatch)
        fast = read_book(path)
        monkeypatch.undo()
        assert snapshot(fast) == snapshot(by_label(path, monkeypatch)), path.name
        # every project sheet is located by a form (learned from the first sheet read in this
        # process), unless its head misses a value (then it is searched)
        filled = [p for p in fast.projects if p.name and p.goals and p.purpose]
        assert len(fitted) >= len(filled) - 1 > 0, (path.name, fitted)


def _edit(path: Path, out: Path, change: Callable[[Any], None]) -> Path:
    wb = openpyxl.load_workbook(path)
    change(wb.worksheets[wb.sheetnames.index(_third(wb))])
    wb.save(out)
    return out


def _third(wb: Any) -> str:
    return [n for n in wb.sheetnames if n[:1].isdigit()][2]


def _unmerge(ws: Any) -> None:
    ws.unmerge_cells("E3:G3")
    ws["F3"] = "单位:万元"


EDITS: dict[str, Callable[[Any], None]] = {
    "label renamed": lambda ws: ws.__setitem__("D3", "项目全称"),
    "text in an empty head cell": lambda ws: ws.__setitem__("C2", "备注"),
    "name cell holds a label": lambda ws: ws.__setitem__("E3", "项目名称"),
    "value emptied": lambda ws: ws.__setitem__("B8", None),
    "title replaced": lambda ws: ws.__setitem__("A1", "说明"),
    "unit stated in 万元": lambda ws: ws.__setitem__("G2", "单位:万元"),
    "range unmerged": _unmerge,
    "second table below": lambda ws: ws.__setitem__(f"A{ws.max_row + 2}", "项目编码"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_head_is_searched_and_read_alike(books: list[Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   edit: str) -> None:
    path = _edit(books[0], tmp_path / "edited.xlsx", EDITS[edit])
    fitted = count_fits(monkeypatch)
    fast = read_book(path)
    monkeypatch.undo()
    third = _third(openpyxl.load_workbook(path, read_only=True))
    assert third not in fitted, edit
    assert fitted, "the other sheets still fit the form"
    assert snapshot(fast) == snapshot(by_label(path, monkeypatch)), edit


@pytest.fixture(scope="module")
def seed_books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Books typed in the seed's layout: each of seedlayout's variations, and books drawn as the
    benchmarks draw them (several variations at once)."""
    root = tmp_path_factory.mktemp("seedform")
    out = []
    for i, (name, options) in enumerate(sorted(VARIANTS.items()), start=1):
        path = root / f"seed_{name}.xlsx"
        write_seed_layout_book(path, to_data(department(i, 5, random.Random(i))), **options)
        out.append(path)
    for i in range(1, 7):
        path = root / f"drawn_{i}.xlsx"
        write_seed_layout_book(path, to_data(department(i, 6, random.Random(i))),
                               **seed_variant(random.Random(100 + i)))
        out.append(path)
    return out


def test_form_and_label_search_agree_on_seed_layout_books(seed_books: list[Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    read.LEARNED.clear()
    located = 0
    for path in seed_books:
        fitted = count_fits(monkeypatch)
        fast = read_book(path)
        monkeypatch.undo()
        assert fast.projects, path.name
        assert snapshot(fast) == snapshot(by_label(path, monkeypatch)), path.name
        located += len(fitted)
    # a hand-made book's sheets after its first are located by the form learned from it (all
    # but the books with every table on one sheet)
    assert located >= sum(len(read_book(p).projects) - 1 for p in seed_books
                          if "one_sheet" not in p.name) // 2


def test_a_head_with_its_ranges_in_another_order_is_the_form(seed_books: list[Path]) -> None:
    """A program that writes a sheet's merged ranges from a set (openpyxl) writes them in
    another order on each sheet: where no two ranges overlap, the order changes no cell's
    top-left, and the sheet is the form's; where two overlap (the last wins), it is not."""
    path = next(p for p in seed_books if "one_sheet" not in p.name)
    g = next(g for g in read.read_grids(path)[0] if g.merges)
    forms = read.Forms()
    first = read.parse_book([g], None, forms)
    assert first.projects

    def shuffled(merges: list[tuple[int, int, int, int]]) -> read.Grid:
        return read.Grid(g.name, g.rows, merges)

    again = shuffled(list(reversed(g.merges)))
    assert again.merges != g.merges
    assert forms.fit(again) is not None
    assert repr(read.parse_book([again], None, forms)) == repr(first)

    overlapping = [*g.merges, min(g.merges)]  # a head range given twice: the order is kept
    forms = read.Forms()
    read.parse_book([shuffled(overlapping)], None, forms)
    assert forms.fit(shuffled(overlapping)) is not None
    assert forms.fit(shuffled(list(reversed(overlapping)))) is None


def test_a_mixed_folder_reports_alike_both_ways(books: list[Path], seed_books: list[Path],
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole JSON report of a folder of template and hand-made books, with the forms and
    with the label search on every sheet."""
    for path in [*books[:3], *seed_books]:
        shutil.copy(path, tmp_path / path.name)
    args = ["validate", str(tmp_path), "--format", "json", "--jobs", "1"]
    read.LEARNED.clear()
    fitted = count_fits(monkeypatch)
    fast = CliRunner().invoke(main, args)
    monkeypatch.undo()
    assert fitted and fast.exit_code == 1, fast.output
    with monkeypatch.context() as m:
        m.setattr(read.Forms, "fit", lambda self, g: None)
        slow = CliRunner().invoke(main, args)
    assert fast.stdout == slow.stdout


def _read(path: Path) -> Any:
    try:
        return snapshot(read_book(path))
    except PerfxlError as e:
        return str(e)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")
def test_form_and_label_search_agree_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(f for f in CORPUS.rglob("*") if f.is_file() and f.suffix not in (".tsv", ".md"))
    read.LEARNED.clear()
    for path in files:
        fast = _read(path)
        with monkeypatch.context() as m:
            m.setattr(read.Forms, "fit", lambda self, g: None)
            assert _read(path) == fast, path.name
