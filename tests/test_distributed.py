"""Validating a folder on a Dask cluster of worker processes: the README's example, run as
written, gives the report and the review book of ``perfxl validate FOLDER``."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'perfxl[dask]')")

import psutil  # comes with distributed
from conftest import CORPUS, ROOT, with_cross
from distributed import Client, LocalCluster

from benchmarks.generate import department
from perfxl import write_book
from perfxl.dataset import to_data
from perfxl.distributed import validate_on_dask
from perfxl.errors import PerfxlError
from perfxl.files import collect
from perfxl.rules import load_config

NOT_OURS = CORPUS / "excel_made" / "calamine__merge_cells.xlsx"  # a workbook, not a form
MARKER = "<!-- tests/test_distributed.py runs this block on a local cluster -->"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, demo_book: Path) -> Path:
    from seedlayout import write_seed_layout_book

    root = tmp_path_factory.mktemp("province")
    for i in range(1, 6):
        write_book(root / f"dept_{i}.xlsx", department(i, 6, random.Random(i)))
    write_seed_layout_book(root / "typed_by_hand.xlsx", to_data(department(9, 4,
                                                                          random.Random(9))))
    shutil.copy(demo_book, root / "demo.xlsx")
    shutil.copy(demo_book, root / "demo_copy.xlsx")  # every code in two books: cross-book errors
    (root / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    shutil.copy(NOT_OURS, root / NOT_OURS.name)
    return root


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thresholds and a severity the workers must receive."""
    f = tmp_path_factory.mktemp("rules") / "rules.yaml"
    f.write_text("thresholds:\n  satisfaction_floor: 96\n"
                 "rules:\n  indicator-set-copied: {severity: error}\n", encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def cli(folder: Path, rules: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[dict[str, Any], Path]:
    """`perfxl validate FOLDER --format json -o review` as a command: its JSON and review book."""
    review = tmp_path_factory.mktemp("reviews") / "cli_review.xlsx"
    r = subprocess.run([sys.executable, "-m", "perfxl", "validate", str(folder), "--format",
                        "json", "--rules", str(rules), "-o", str(review)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr  # two books cannot be read
    return json.loads(r.stdout), review


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Two worker processes on the loopback interface, no dashboard; afterwards no worker
    process is left."""
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None,
                      local_directory=str(tmp_path_factory.mktemp("dask"))) as cluster:
        with Client(cluster) as client:
            pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # processes, not threads
        yield cluster
    deadline = time.monotonic() + 10
    while (left := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"worker processes left behind: {left}"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, re.S)
    assert m, "the README's Dask example (after its marker) is missing"
    return m.group(1)


def test_readme_example_gives_the_commands_report_and_review_book(
        cluster: LocalCluster, folder: Path, rules: Path,
        cli: tuple[dict[str, Any], Path]) -> None:
    doc, cli_review = cli
    review = cli_review.with_name("dask_review.xlsx")  # beside it: the same relative links
    ns: dict[str, Any] = {"scheduler": cluster.scheduler_address, "folder": str(folder),
                          "rules": str(rules), "review_book": str(review)}
    exec(compile(readme_example(), "README.md (Dask example)", "exec"), ns)
    results = ns["results"]

    # The books as the command lists them, in its order; the report compared whole (a book's
    # JSON holds no check time: only a single book's report carries checked_at).
    assert [r.path for r in results] == collect([folder])
    assert [r.to_json() for r in results] == with_cross(doc)
    errors = sum(r.report.counts["error"] for r in results if r.report)
    assert doc["counts"] == {"books": 10, "unreadable": 2, "error": errors,
                             "warning": sum(r.report.counts["warning"]
                                            for r in results if r.report)}
    assert ns["unreadable"] == ["broken.xlsx", NOT_OURS.name] and ns["errors"] == errors > 0

    # What makes the comparison worth something: each kind of book is there.
    books = {b["book"]: b for b in with_cross(doc)}
    assert "这不是预算绩效目标工作簿" in books[NOT_OURS.name]["error"]
    assert books["broken.xlsx"]["error"] and "findings" not in books["broken.xlsx"]
    assert books["typed_by_hand.xlsx"]["totals"]["projects"] == 4
    demo = books["demo.xlsx"]["findings"]
    assert sum(f["rule"] == "project-code-cross-book" and "demo_copy.xlsx" in f["message"]
               for f in demo) == 7
    assert any(f["rule"] == "satisfaction-below-floor" for f in demo)  # the rules file's 96
    copied = [f for b in doc["books"] for f in b.get("findings", ())
              if f["rule"] == "indicator-set-copied"]
    assert copied and {f["severity"] for f in copied} == {"error"}

    assert _cells(review) == _cells(cli_review)


def test_object_store_urls_one_task_per_book(
        cluster: LocalCluster, folder: Path, rules: Path,
        cli: tuple[dict[str, Any], Path]) -> None:
    """URLs are read with fsspec in the workers (file:// here; s3:// the same way); the report
    is the folder's, with the URL as the book's path. A URL that is not there is a book that
    cannot be read, with its sentence."""
    doc, _ = cli
    paths = collect([folder])
    missing = (folder / "gone.xlsx").as_uri()
    with Client(cluster) as client:
        results = validate_on_dask([p.as_uri() for p in paths] + [missing], load_config(rules),
                                   client=client, chunk=1)
    got = [r.to_json() for r in results]
    assert got[:-1] == [{**b, "path": p.as_uri()} for b, p in zip(with_cross(doc), paths,
                                                                    strict=True)]
    assert got[-1]["book"] == "gone.xlsx" and got[-1]["path"] == missing
    assert got[-1]["error"] == f"找不到文件: {missing}" and not got[-1]["valid"]


def _cells(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cell values, hyperlinks (target and location) and fills."""
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[(c.value, c.hyperlink and (c.hyperlink.target, c.hyperlink.location),
                         c.fill.fgColor.rgb) for c in row] for row in ws.iter_rows()]
            for ws in wb.worksheets}


def test_no_cluster_and_unknown_schemes_are_one_sentence(cluster: LocalCluster,
                                                         folder: Path) -> None:
    with pytest.raises(PerfxlError, match="没有连接 Dask 集群"):
        validate_on_dask(collect([folder]))
    with Client(cluster) as client, pytest.raises(PerfxlError, match=r"无法读取 nosuch:// 的地址"):
        validate_on_dask([folder / "dept_1.xlsx", "nosuch://bucket/dept_1.xlsx"], client=client)
