"""The many-book engine: a reviewer's folder, a province's books.

Books are read and checked in chunks (pandera runs once per table per chunk) in forked worker
processes; only each book's report and totals come back, so memory stays flat however many books.
Then the cross-book check. The same engine serves ``perfxl validate INPUT...``, ``perfxl merge
--jobs`` (``ordered_map``) and, through ``check_chunk``, the Dask path (distributed.py).
Workers end with the command (even when it is killed) and leave Ctrl-C to it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from .errors import OwnOutput, PerfxlError
from .findings import Finding, Report
from .model import Department, Indicator, Project, Unit
from .read import read_book, read_bytes
from .rules import RULES, RulesConfig, make
from .spill import temp_error
from .validate import check, check_all
from .values import fmt_amount

T = TypeVar("T")
R = TypeVar("R")

BATCH = 64  # books checked together: pandera runs once per table per batch
WORKER_DIED = PerfxlError("读取工作簿的进程意外退出(可能是内存不足);请用 --jobs 1 重试",
                          "a worker process died (out of memory?); retry with --jobs 1")

@dataclass
class BookResult:
    """One book of a batch: its report and totals, or why it could not be read."""

    path: Path
    report: Report | None = None
    error: str = ""
    skipped: str = ""
    """Why the book was passed over (a review book perfxl wrote): listed, not an error."""
    department: str = ""
    year: int | None = None
    units: int = 0
    projects: int = 0
    total: Decimal = Decimal(0)
    by_unit: dict[str, Decimal] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    """project code → (sheet, cell, name, unit code), for the cross-book check."""
    form: str = ""
    """The book's form (Department.form): codes are compared among books of one form (a
    monitoring book carries the codes of its targets book)."""
    url: str = ""
    """Where the book was read from when it is not a local file (an object-store URL)."""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def unreadable(self) -> bool:
        return self.report is None and not self.skipped

    def to_json(self) -> dict[str, Any]:

        out: dict[str, Any] = {"book": self.name, "path": self.url or str(self.path),
                               "error": self.error,
                               "valid": bool(self.report and self.report.valid)}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.report is not None:
            out.update(counts=self.report.counts, department=self.department, year=self.year,
                       totals={"total": fmt_amount(self.total), "projects": self.projects,
                               "units": self.units,
                               "by_unit": {k: fmt_amount(v) for k, v in self.by_unit.items()}},
                       findings=[f.to_json() for f in self.report.findings])
        return out


def check_bytes(data: bytes, config: RulesConfig | None = None,
                name: str = "") -> tuple[Department, Report]:
    """The per-book step, a pure function of (bytes, rules) → (model, findings): what a
    distributed engine (Dask, Ray) maps over a province's books."""

    dept = read_bytes(data, name)
    return dept, check(dept, config, book=name)


def validate_paths(paths: Sequence[Path], config: RulesConfig | None = None, *, jobs: int = 0,
                   progress: Callable[[int], None] | None = None) -> list[BookResult]:
    """Validate many books: chunks of books are read and checked together in ``jobs``
    processes (0: one per core), so pandera runs once per table per chunk and only reports and
    totals come back (memory stays flat however many books); then the cross-book check (the
    same project code in two books), its findings added to each book's report."""

    cfg = config or RulesConfig()
    results = list(stream_paths(paths, cfg, jobs=jobs, progress=progress))
    cross_book(results, cfg)
    return results


def stream_paths(paths: Sequence[Path], config: RulesConfig | None = None, *, jobs: int = 0,
                 progress: Callable[[int], None] | None = None) -> Iterator[BookResult]:
    """:func:`validate_paths` one book at a time, in input order, each as soon as its chunk is
    checked, without the cross-book check (which needs every book: :class:`CrossBook`), so a
    caller that writes each report out holds none of them."""
    cfg = config or RulesConfig()
    jobs = jobs or (os.cpu_count() or 1)
    size = max(1, min(BATCH, -(-len(paths) // (jobs * 2))))
    chunks = [list(paths[i:i + size]) for i in range(0, len(paths), size)]
    for done in _map(chunks, cfg, jobs):
        if progress:
            progress(len(done))
        yield from done


def check_chunk(paths: list[Path], cfg: RulesConfig) -> list[BookResult]:
    """Read a chunk of books and check them together: the unit of work of a worker process
    (and of a Dask task)."""
    return check_read(_read_chunk(paths), cfg)


def _read_chunk(paths: list[Path]) -> list[tuple[Path, Department | str | Skip]]:
    """Each book's model, why it could not be read, or why it was passed over (no pandas
    needed)."""

    out: list[tuple[Path, Department | str | Skip]] = []
    for path in paths:
        try:
            out.append((path, read_book(path)))
        except OwnOutput as e:
            out.append((path, Skip(e.note)))
        except PerfxlError as e:
            out.append((path, e.zh))
    return out


@dataclass(frozen=True)
class Skip:
    """A book passed over, and why (a review book perfxl wrote)."""

    note: str


def check_read(read: list[tuple[Path, Department | str | Skip]],
                 cfg: RulesConfig) -> list[BookResult]:
    """Check the read books together (pandera once per table); keep only what the report
    needs."""
    results, depts = [], []
    for path, got in read:
        result = BookResult(path)
        results.append(result)
        if isinstance(got, str):
            result.error = got
        elif isinstance(got, Skip):
            result.skipped = got.note
        else:
            depts.append((result, got))
    reports = check_all([d for _, d in depts], cfg, books=[r.name for r, _ in depts])
    for (result, dept), report in zip(depts, reports, strict=True):
        result.report = report
        result.department, result.year = dept.name, dept.year
        result.units, result.projects = len(dept.units), len(dept.projects)
        result.total, result.by_unit = dept.total(), dept.unit_totals()
        result.codes = {p.code: (p.sheet, str(p.cells.get("project.code", "")), p.name,
                                 p.unit_code) for p in dept.projects if p.code}
        result.form = dept.form
    return results


def _map(chunks: list[list[Path]], cfg: RulesConfig, jobs: int) -> Iterator[list[BookResult]]:
    """Chunk results in order; in forked worker processes when there are several chunks.

    The first books are read (not checked) in a process forked before pandas is imported here,
    on the core the import leaves idle; this process checks them once it has pandas, while the
    workers, forked then, read and check the rest. (Tried: workers that only read, every book,
    while this process checks each chunk as it arrives: shipping every model back costs more
    than the idle core during the import saves. Only the books read during the import are.)
    """
    if jobs <= 1 or len(chunks) < 2:
        with few_collections():
            for chunk in chunks:
                yield check_chunk(chunk, cfg)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import python_calamine  # noqa: F401

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    first, rest = _early(chunks, jobs)
    early = _EarlyReader(context, first)
    try:
        _warm_up(cfg)  # once, before forking: the workers inherit pandas and pandera ready
        with few_collections(), ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_worker_start) as pool, \
                workers_ended_on_interrupt():
            later = pool.map(check_chunk, rest, [cfg] * len(rest))
            yield check_read(early.result(), cfg)
            yield from later
    except BrokenProcessPool:
        raise WORKER_DIED from None
    finally:
        early.close()


EARLY = 32
"""Books read while this process imports pandas (about what the import's time reads)."""


def _early(chunks: list[list[Path]], jobs: int) -> tuple[list[Path], list[list[Path]]]:
    """The books read while pandas is imported (checked here), and the others in chunks for the
    workers, evened out over them as :func:`stream_paths` cuts them."""
    paths = [p for chunk in chunks for p in chunk]
    first, others = paths[:EARLY], paths[EARLY:]
    size = max(1, min(BATCH, -(-len(others) // (jobs * 2))))
    return first, [others[i:i + size] for i in range(0, len(others), size)]


class _EarlyReader:
    """Reads books in a process forked now; :meth:`result` is what :func:`_read_chunk` gives
    for them (read here again when that process could not send it, so any error is this
    process's own; a process that died is :data:`WORKER_DIED`)."""

    def __init__(self, context: Any, paths: list[Path]) -> None:
        self.paths = paths
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_read_early, args=(send, paths), daemon=True)
        self.process.start()
        send.close()

    def result(self) -> list[tuple[Path, Department | str | Skip]]:
        try:
            got: list[tuple[Path, Department | str | Skip]] | None = self.receive.recv()
        except EOFError:
            raise WORKER_DIED from None
        return _read_chunk(self.paths) if got is None else got

    def close(self) -> None:
        self.receive.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def _read_early(send: Any, paths: list[Path]) -> None:
    """The early reader's process: the chunk's models, or None when reading failed otherwise
    than as a book's error (the command reads them again itself)."""
    _worker_start()
    try:
        got = _read_chunk(paths)
    except Exception:
        got = None
    try:
        send.send(got)
    except Exception:
        send.send(None)
    finally:
        send.close()


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """The cyclic garbage collector, tuned for reading books: the objects that exist now
    (pandas, pandera, the modules) are frozen, so a collection no longer walks them, and young
    objects are collected every 100,000 allocations rather than 700. Reading a book allocates
    tens of thousands of short-lived lists and strings, nearly none of them in cycles; with the
    defaults the collector took a quarter of the time. Restored on exit."""
    import gc

    global _tuned
    if _tuned:  # nested: the outer one restores
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()  # also keeps forked workers from writing to the pages they share with us
    gc.set_threshold(*_READING)
    _tuned = True
    try:
        yield
    finally:
        _tuned = False
        gc.set_threshold(*threshold)
        gc.unfreeze()


_tuned = False
_READING = (100_000, 50, 1000)
"""The collector's thresholds while books are read."""


def _worker_start() -> None:
    import gc

    gc.set_threshold(*_READING)  # inherited frozen; see few_collections
    worker_setup()


def worker_setup() -> None:
    """A reading worker: it ends with the command that started it, and leaves Ctrl-C to it."""
    end_with_parent()
    ignore_interrupts()


def end_with_parent() -> None:
    """Make a worker process end when the command that started it ends, even by kill -9
    (Linux: the parent-death signal; elsewhere the pool's own shutdown is all there is)."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the signal was armed
        os._exit(1)


@contextlib.contextmanager
def workers_ended_on_interrupt() -> Iterator[None]:
    """On Ctrl-C, end the worker processes started inside at once, rather than letting the pool
    wait for the chunks they are reading (seconds of 64 books each)."""
    import multiprocessing

    before = set(multiprocessing.active_children())
    try:
        yield
    except KeyboardInterrupt:
        for worker in set(multiprocessing.active_children()) - before:
            worker.terminate()
        raise


def ignore_interrupts() -> None:
    """In a worker process: Ctrl-C reaches every process of the terminal's group; the command
    (the parent) stops the pool and says 已中断, the workers stay quiet."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up(cfg: RulesConfig) -> None:
    """Check a one-project department with a defect in each table, so pandas, pandera and
    their lazy parts (backends, the failure-case path) are loaded once."""

    p = Project(1, "001001", "单位", "X", "项目", Decimal(1), Decimal(2), Decimal(0), "用途",
                "目标", (Decimal(-1), None, None, None),
                [Indicator("产出指标", "质量指标", "合格率", "描述", "", "依据")])
    check(Department(name="部门", year=2021, units=[Unit("001001", "单位")], projects=[p]), cfg)


def cross_book(results: list[BookResult], cfg: RulesConfig) -> None:
    """The same project code in two books: an error in each (only the codes are needed),
    added to each book's report."""
    with CrossBook(cfg) as check:
        for r in results:
            check.add(r)
        found_all = check.findings()
    for i, found in found_all:
        report = results[i].report
        if report is not None:
            report.findings.append(found)


class CrossBook:
    """The cross-book check over books as they come (:func:`stream_paths`): each book's name and
    project codes (with where each is) wait in a private temporary SQLite database on disk, not
    in memory (a province's codes are millions of rows), and the findings come at the end.
    Use it as a context manager, or :meth:`close` it: the database is then removed."""

    def __init__(self, cfg: RulesConfig) -> None:
        self.cfg = cfg
        self.books = 0
        self._db = self._sql(lambda: sqlite3.connect(""))  # "": temporary, on disk
        self._sql(lambda: self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE book (id INTEGER PRIMARY KEY, name TEXT);"
            "CREATE TABLE code (seq INTEGER PRIMARY KEY, form TEXT, code TEXT, book INTEGER,"
            " sheet TEXT, cell TEXT, name TEXT, unit TEXT);"))

    def __enter__(self) -> CrossBook:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _sql(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as e:  # a full or read-only temporary folder
            raise temp_error(e) from None

    def add(self, r: BookResult) -> None:
        """Note a book's codes (call once per book, in input order)."""
        book = self.books
        self.books += 1
        rows = [(r.form, code, book, *where) for code, where in r.codes.items()]
        self._sql(lambda: (self._db.execute("INSERT INTO book VALUES (?, ?)", (book, r.name)),
                           self._db.executemany("INSERT INTO code (form, code, book, sheet, "
                                                "cell, name, unit) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                                rows)))

    def findings(self) -> list[tuple[int, Finding]]:
        """(book's index in input order, finding): book after book; within a book, codes in the
        order they were first seen in any book (codes compared within one form,
        BookResult.form)."""
        rule = RULES["project-code-cross-book"]
        shared = self._sql(lambda: self._db.execute(
            "SELECT c.book, c.sheet, c.cell, c.name, c.unit, c.code, g.first"
            " FROM code c JOIN (SELECT form, code, MIN(seq) AS first FROM code"
            " GROUP BY form, code HAVING COUNT(*) > 1) g ON c.form = g.form AND c.code = g.code"
            " ORDER BY c.book, g.first, c.seq").fetchall())
        owners: dict[int, list[int]] = {}  # a shared code's books (by its first row)
        for book, *_, first in shared:
            owners.setdefault(first, []).append(book)
        names = self._names({b for books in owners.values() for b in books})
        out: list[tuple[int, Finding]] = []
        for book, sheet, cell, name, unit, code, first in shared:
            others = "、".join(names[o] for o in sorted(owners[first]) if o != book)
            found = make(rule, self.cfg, sheet=sheet, cell=cell, value=code, others=others)
            if found is not None:
                out.append((book, replace(found, project_code=code, project_name=name,
                                          unit_code=unit)))
        return out

    def _names(self, books: set[int]) -> dict[int, str]:
        def rows() -> list[tuple[int, str]]:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (id INTEGER PRIMARY KEY)")
            self._db.execute("DELETE FROM wanted")
            self._db.executemany("INSERT INTO wanted VALUES (?)", ((b,) for b in books))
            return self._db.execute("SELECT id, name FROM book JOIN wanted USING (id)").fetchall()
        return dict(self._sql(rows))

    def by_book(self) -> dict[int, list[Finding]]:
        """:meth:`findings` by book (index in input order), books in order."""
        out: dict[int, list[Finding]] = {}
        for book, found in self.findings():
            out.setdefault(book, []).append(found)
        return out


class Counted(Report):
    """A book's report reduced to its counts, once its findings are written out (what a
    summary of many books needs)."""

    def __init__(self, book: str, counts: dict[str, int]) -> None:
        super().__init__(book)
        self._counts = dict(counts)

    @property
    def counts(self) -> dict[str, int]:
        return self._counts

    def add(self, findings: Sequence[Finding]) -> None:
        """Count findings made later (the cross-book check)."""
        for f in findings:
            if f.severity in self._counts:
                self._counts[f.severity] += 1


def counted(r: BookResult) -> BookResult:
    """``r`` without its findings (its report's counts kept)."""
    if r.report is None:
        return r
    return replace(r, report=Counted(r.report.book, r.report.counts), codes={}, by_unit={})


def ordered_map(fn: Callable[[T], R], items: Sequence[T], jobs: int,
                progress: Callable[[int], None] | None = None, chunksize: int = 4) -> list[R]:
    """``fn`` over ``items`` in ``jobs`` worker processes (in this one when 1), results in input
    order: the pool of ``perfxl merge --jobs``, with the engine's worker set-up and error."""
    if jobs <= 1 or len(items) <= 1:
        out = []
        for item in items:
            out.append(fn(item))
            if progress:
                progress(1)
        return out
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=worker_setup) as pool, \
                workers_ended_on_interrupt():
            results = []
            for result in pool.map(fn, items, chunksize=chunksize):
                results.append(result)
                if progress:
                    progress(1)
            return results
    except BrokenProcessPool:
        raise WORKER_DIED from None
