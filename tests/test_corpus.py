"""Every file of ../shared/corpus through the real CLI, each run bounded: read, or refused with
the project's error (exit 2, a message that names the file), within 20 s and 2 GiB, no traceback,
the input unchanged.

Each ``perfxl read`` / ``perfxl validate`` runs in its own process with ``RLIMIT_AS`` = 2 GiB
and a 20-second deadline. To keep the suite fast, the processes are forked from two warm
helpers (perfxl, pandas and pandera already imported) instead of starting Python 500 times: the
fork child sets its limits, points its stdout/stderr at files, and runs the click command
exactly as the ``perfxl`` script does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 20.0
MEMORY = 2 << 30  # 2 GiB
FOLDERS = ("hostile_public", "excel_made", "budget")
COMMANDS = ("read", "validate")

_HELPER = r"""
import json, os, resource, signal, sys, time, traceback
import perfxl.cli, perfxl.read, perfxl.validate, perfxl.limits, python_calamine  # warm
import pandas, pandera  # noqa
from perfxl.dataset import embedded
from perfxl.validate import check
check(embedded())  # pandera's first validation is slow: pay it once, before forking
tmp = sys.argv[1]
for line in sys.stdin:
    job = json.loads(line)
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        sys.stdout.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.environ.update(job["env"])
                resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                perfxl.cli.main(job["args"], prog_name="perfxl")
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = 70
            finally:
                try:
                    sys.stdout.flush(); sys.stderr.flush()
                finally:
                    os._exit(code)
        timed_out = False
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > job["seconds"]:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                done, status, usage = os.wait4(pid, 0)
                break
            time.sleep(0.002)
        elapsed = time.monotonic() - start
    result = {"rc": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
              "elapsed": elapsed, "maxrss": usage.ru_maxrss * 1024,
              "stdout": open(out_path, encoding="utf-8", errors="replace").read(),
              "stderr": open(err_path, encoding="utf-8", errors="replace").read()}
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()
"""


@dataclass
class Run:
    """One bounded CLI run."""

    args: list[str]
    rc: int
    timed_out: bool
    elapsed: float
    maxrss: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Runner:
    """A pool of warm helper processes that fork one bounded CLI run per job."""

    def __init__(self, tmp: Path, workers: int = 2) -> None:
        env = dict(os.environ, PYTHONIOENCODING="utf-8", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.helpers = []
        self.free: list[Any] = []
        self.lock = threading.Lock()
        for i in range(workers):
            folder = tmp / f"helper{i}"
            folder.mkdir()
            proc = subprocess.Popen([sys.executable, "-c", _HELPER, str(folder)], cwd=ROOT,
                                    env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True, encoding="utf-8")
            self.helpers.append(proc)
            self.free.append(proc)
        self.pool = ThreadPoolExecutor(workers)

    def run(self, *args: str | Path, seconds: float = SECONDS, memory: int = MEMORY,
            env: dict[str, str] | None = None) -> Run:
        with self.lock:
            proc = self.free.pop()
        try:
            job = {"args": [str(a) for a in args], "seconds": seconds, "memory": memory,
                   "env": env or {}}
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(job, ensure_ascii=False) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the helper process died")
            return Run([str(a) for a in args], **json.loads(line))
        finally:
            with self.lock:
                self.free.append(proc)

    def map(self, jobs: list[tuple[str | Path, ...]]) -> list[Run]:
        return list(self.pool.map(lambda job: self.run(*job), jobs))

    def close(self) -> None:
        self.pool.shutdown()
        for proc in self.helpers:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    r = Runner(tmp_path_factory.mktemp("runner"))
    yield r
    r.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_files() -> list[Path]:
    return sorted(f for folder in FOLDERS if (CORPUS / folder).is_dir()
                  for f in (CORPUS / folder).iterdir()
                  if f.is_file() and f.suffix not in (".tsv", ".md"))


FILES = corpus_files()


@pytest.fixture(scope="session")
def corpus_runs(runner: Runner) -> dict[tuple[str, str], tuple[Run, str, str]]:
    """(folder/file, command) → (run, sha256 before, sha256 after), for every corpus file."""
    before = {f: sha256(f) for f in FILES}
    jobs = [(cmd, f, "--format", "json") for f in FILES for cmd in COMMANDS]
    runs = runner.map(jobs)
    out = {}
    for (cmd, f, *_), run in zip(jobs, runs, strict=True):
        out[(f"{f.parent.name}/{f.name}", str(cmd))] = (run, before[f], sha256(f))
    return out


def check_bounded(run: Run, name: str) -> None:
    """The promises every run keeps, whatever the file."""
    assert not run.timed_out and run.elapsed < SECONDS, f"{name}: took {run.elapsed:.1f}s"
    assert run.maxrss < MEMORY, f"{name}: {run.maxrss / 2**20:.0f} MiB"
    assert "Traceback" not in run.stderr, f"{name}: a traceback\n{run.stderr[-2000:]}"
    assert run.rc in (0, 1, 2), f"{name}: exit {run.rc}\n{run.stderr[-2000:]}"
    if run.rc == 2:  # refused: one sentence that names the file and the problem
        assert run.stderr.startswith("错误: "), run.stderr
        assert name in run.stderr or "工作簿" in run.stderr, run.stderr
        assert not run.stdout.strip(), run.stdout
    else:
        run.json()  # the documented JSON, complete


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not there")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_is_read_or_refused_within_bounds(
        corpus_runs: dict[tuple[str, str], tuple[Run, str, str]], path: Path,
        command: str) -> None:
    run, before, after = corpus_runs[(f"{path.parent.name}/{path.name}", command)]
    check_bounded(run, path.name)
    assert before == after, f"{path.name} was changed by perfxl {command}"


def _manifest(folder: str) -> dict[str, dict[str, str]]:
    path = CORPUS / folder / "MANIFEST.tsv"
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return {row[0]: dict(zip(head, row, strict=False)) for row in (ln.split("\t") for ln in lines[1:])}


@pytest.mark.skipif(not (CORPUS / "excel_made").is_dir(), reason="no Excel-made corpus")
def test_excel_made_books_are_read_and_reported_as_not_performance_books(
        corpus_runs: dict[tuple[str, str], tuple[Run, str, str]]) -> None:
    """Real workbooks that are not performance-target books: read cleanly, no project found,
    every worksheet listed as skipped with the reason (or refused as not a performance book)."""
    names = sorted(f.name for f in (CORPUS / "excel_made").iterdir() if f.suffix != ".tsv")
    assert len(names) > 100
    for name in names:
        run, _, _ = corpus_runs[(f"excel_made/{name}", "read")]
        if run.rc == 2:
            assert "不是" in run.stderr and "绩效目标" in run.stderr, (name, run.stderr)
            continue
        assert run.rc == 0, (name, run.stderr)
        doc = run.json()
        assert doc["projects"] == [], name
        assert all("项目编码" in s["reason"] or "空白" in s["reason"] for s in doc["skipped"]), name


@pytest.mark.skipif(not (CORPUS / "hostile_public").is_dir(), reason="no hostile corpus")
def test_hostile_categories_get_their_specific_refusal(
        corpus_runs: dict[tuple[str, str], tuple[Run, str, str]]) -> None:
    """By the manifest's category: encrypted files say so; XML bombs, XXE in the package,
    duplicate entries are refused as unsafe; broken zips as damaged."""
    expect = {"encrypted": "加密", "encrypted-xls": "加密", "bad-package": "",
              "not-zip": "空", "xml-bomb": ""}
    for name, row in _manifest("hostile_public").items():
        run, _, _ = corpus_runs[(f"hostile_public/{name}", "read")]
        category = row.get("category", "")
        if category in ("encrypted", "encrypted-xls"):
            assert run.rc == 2 and expect[category] in run.stderr, (name, run.stderr)
        if category == "xml-bomb":
            assert run.rc == 2, (name, run.stderr)  # DTD refused, or a 1 MiB string
        if category == "xxe" and name.endswith(".ooxml"):
            assert run.rc == 2, (name, run.stderr)


@pytest.mark.skipif(not (CORPUS / "budget").is_dir(), reason="no budget corpus")
def test_budget_templates_behind_a_wrong_extension_are_read(
        corpus_runs: dict[tuple[str, str], tuple[Run, str, str]]) -> None:
    """OOXML behind .xls is read by its content; Excel 2003 XML gets its own message."""
    for path in sorted((CORPUS / "budget").iterdir()):
        if path.suffix == ".tsv":
            continue
        run, _, _ = corpus_runs[(f"budget/{path.name}", "read")]
        if path.name.endswith(".ftl.xml"):
            assert run.rc == 2 and "2003 XML" in run.stderr, (path.name, run.stderr)
        elif run.rc == 2:  # read by its content, then reported as not a performance book
            assert "不是预算绩效目标工作簿" in run.stderr, (path.name, run.stderr)
        else:
            assert run.rc == 0, (path.name, run.stderr)


IMPORT_TEMPLATE = "platformweb-fb__国债资金监控导入模板"


@pytest.mark.skipif(not (CORPUS / "budget" / f"{IMPORT_TEMPLATE}.xlsx").is_file(),
                    reason="no budget corpus")
def test_a_real_indicator_import_template_is_read_as_one(
        corpus_runs: dict[tuple[str, str], tuple[Run, str, str]]) -> None:
    """A treasury-bond monitoring template: its indicator sheet is the 一体化 import layout
    (项目代码, 一级/二级/三级绩效指标代码 beside their names, 指标值); its basic-information sheet is
    a list of projects, one per row, skipped (it had been taken for a project table)."""
    run, _, _ = corpus_runs[(f"budget/{IMPORT_TEMPLATE}.xlsx", "read")]
    doc = run.json()
    assert doc["form"] == "import"
    assert [(p["code"], p["name"], p["sheet"], len(p["indicators"]), p["budget"])
            for p in doc["projects"]] == [
        ("PRJ20230001", "FGW项目名称1", "国债资金项目绩效指标", 16, None),
        ("PRJ20230013", "FGW项目名称13", "国债资金项目绩效指标", 4, None)]
    first = doc["projects"][0]["indicators"][0]
    assert (first["level1"], first["level2"], first["level3"], first["value"]) == (
        "产出指标", "数量指标", "培养专家人数", "100人")
    assert [s["sheet"] for s in doc["skipped"]] == ["基本情况明细表"]
    run, _, _ = corpus_runs[(f"budget/{IMPORT_TEMPLATE}.xlsx", "validate")]
    rules = [f["rule"] for f in run.json()["findings"]]
    assert rules.count("amounts-absent-in-form") == 1
    assert not {"required-missing", "plan-missing", "money-unit-unstated"} & set(rules)
    # the .xls sibling has the import sheet's header only: refused, naming what it found
    run, _, _ = corpus_runs[(f"budget/{IMPORT_TEMPLATE}.xls", "read")]
    assert run.rc == 2 and "找到: 具体项目名称、具体项目代码" in run.stderr
