"""Whole jobs: what a command, the ribbon or a library caller asks perfxl to do, from the files
it is given to the files it writes.

Each job reads its inputs once, calls the pure steps below it (read → check → totals → build →
mark) and writes every output once through ``files`` (never over an input, atomically, with
backups in place). cli.py, xl.py and the library call these; nothing below this module calls up
into it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import dataset
from .batch import BookResult, Counted, validate_paths
from .consolidate import Totals, totals
from .errors import PerfxlError, ReadError, WriteError
from .files import (
    IN_PLACE_HINT,
    Given,
    Inputs,
    Original,
    Snapshot,
    atomic_path,
    backup,
    check_output,
    collect,
    open_in_place,
    read_once,
    safe_name,
    write_in_place,
)
from .findings import Finding, Report
from .forms import MONITOR
from .layout import place
from .model import Department, Project, Unit
from .monitor import DEFAULT_MONTH as MONITOR_MONTH
from .progress import QUIET, Progress
from .read import read_book, read_bytes
from .rules import RulesConfig
from .sniff import droppable_parts, require_ooxml
from .validate import check

if TYPE_CHECKING:  # the writers and the merge engine load when a job needs them: checking one
    # book as a command starts quicker without them
    from .live import SheetChecks
    from .merge import MergeResult, Source

# --- one department book, written whole ------------------------------------------------------------

READING_DATA = "读取数据 (reading the data)"
READING_BOOK = "读取 (reading)"
WRITING_UNITS = "写出单位工作簿 (writing the unit books)"
CHECKING = "校验 (checking)"


def populate(data: str | Path | Department | None, out: str | Path, *,
             force: bool = False, progress: Progress | None = None,
             config: RulesConfig | None = None) -> Department:
    """Write the department book for ``data`` (a YAML/JSON path, a Department, or None = embedded)."""
    tell = progress or QUIET
    inputs = [data] if isinstance(data, (str, Path)) else []
    check_output(out, inputs, force=force)  # before the data file is read
    tell.stage(READING_DATA)
    if data is None:
        dept = dataset.embedded()
    elif isinstance(data, Department):
        dept = data
    else:
        dept = dataset.load(data)
    from .template import write_book

    write_book(out, dept, inputs=inputs, force=force, config=config, progress=tell)
    return dept


def one_target(out: str | Path | None, in_place: bool) -> None:
    """A book is written to ``-o`` or in place, not both (every job that can do either)."""
    if in_place and out is not None:
        raise PerfxlError("-o 与 --in-place 只能选一个", "use either -o or --in-place")


def demo_book_name(dept: Department) -> str:
    """``2021_行政审批部门_绩效目标.xlsx``."""
    return f"{dept.year}_{dept.name}_绩效目标.xlsx"


def department_book(dept: Department, out: str | Path, *, config: RulesConfig | None = None,
                    declared_total: Decimal | None = None,
                    declared_units: dict[str, Decimal] | None = None,
                    book: str = "", extra_findings: Sequence[Finding] = (),
                    sources: list[Source] | None = None,
                    checked_at: dt.datetime | None = None,
                    inputs: Given = (), force: bool = False,
                    original: Original | None = None,
                    progress: Progress | None = None,
                    judge: Callable[[Report], Sequence[Finding]] | None = None,
                    ) -> tuple[Report, Totals]:
    """The whole pipeline for one department: place → validate → totals → build → mark → write.

    The book is built whole in memory (with its 汇总 sheet carrying each project's findings),
    marked with the findings, and written to disk once (``files.atomic_path``: never over one of
    ``inputs``, over an existing file only with ``force``; or over ``original`` in place).
    """
    tell = progress or QUIET
    tell.stage(CHECKING)
    place(dept)
    report = check(dept, config, book=book or Path(out).name, extra=extra_findings)
    more = list(judge(report)) if judge is not None else []
    if more:  # findings about the report itself (a merge compares it with its inputs)
        report = check(dept, config, book=report.book, extra=[*extra_findings, *more])
    if checked_at is not None:
        report.checked_at = checked_at
    t = totals(dept, declared_total, declared_units)
    from .template import book_bytes

    data, checks = book_bytes(dept, report=report, totals=t, sources=sources, placed=True,
                              config=config, progress=tell)
    target = write_in_place(original) if original is not None else \
        atomic_path(out, inputs, force=force)
    # its live checks are in place: marking takes their statuses and counts, places none
    write_annotated(data, target, report, Path(out).name, built=checks, progress=tell)
    return report, t


def summarize_book(book: str | Path, *, out: str | Path | None = None, in_place: bool = False,
                   config: RulesConfig | None = None, declared_total: Decimal | None = None,
                   declared_units: dict[str, Decimal] | None = None, force: bool = False,
                   progress: Progress | None = None,
                   ) -> tuple[Department, Totals, Path, Path | None]:
    """Read BOOK once and write it whole with a rebuilt 汇总 sheet (and its findings marked).

    The output is in perfxl's form (a hand-made book is converted); ``in_place`` keeps a backup
    (``files.backup``), returned last. The input is never changed otherwise.
    """

    src = Path(book)
    one_target(out, in_place)
    target = src if in_place else Path(out) if out is not None else \
        src.with_name(f"{src.stem}_汇总.xlsx")
    if not in_place:  # refused before the work
        check_output(target, [src], force=force, hint=IN_PLACE_HINT)
    (progress or QUIET).stage(READING_BOOK)
    original = open_in_place(src) if in_place else None
    data = original.data if original is not None else read_once(src)[0]
    dept = read_bytes(data, src.name)
    targets_only(dept, src, "汇总", "summarized")
    saved = None
    if original is not None:

        require_ooxml(data, "原地重建", name=src.name)
        lost = droppable_parts(data, dept)
        if lost:
            raise PerfxlError(f"无法原地重建 {src.name}:重建会丢失 {'、'.join(lost)};请用 -o 写到新文件",
                              f"cannot rebuild {src.name} in place: {len(lost)} kinds of parts "
                              "would be lost; write a new file with -o")
        saved = backup(original)
    if _rebuilt_evaluation(dept, target, src, original, config, force):
        return dept, totals(dept), target, saved
    _, t = department_book(dept, target, config=config, declared_total=declared_total,
                           declared_units=declared_units, book=src.name, inputs=[src],
                           force=force, original=original, progress=progress)
    return dept, t, target, saved


def _rebuilt_evaluation(dept: Department, target: Path, src: Path, original: Original | None,
                        config: RulesConfig | None, force: bool) -> bool:
    """A 绩效自评 book is rebuilt as one (its 汇总 ranked again by the scores entered since):
    True when ``dept`` is one and it was written."""
    from .forms import SELFEVAL
    from .selfeval_book import build, place, write_selfeval

    if dept.form != SELFEVAL:
        return False
    cfg = config or RulesConfig()
    unit = Unit(dept.book_unit, dept.unit_name(dept.book_unit)) if dept.book_unit else None
    place(dept)
    if original is not None:
        with write_in_place(original) as tmp:
            build(tmp, dept, cfg, unit=unit)
    else:
        write_selfeval(target, dept, cfg, unit=unit, inputs=[src], force=force)
    return True


# --- one book checked, marked in a copy or in place -----------------------------------------

@dataclass
class Checked:
    """One book checked by :func:`validate_file`: what was read, found and written."""

    dept: Department
    report: Report
    written: Path | None = None
    backup: Path | None = None


def validate_file(path: str | Path, config: RulesConfig | None = None, *,
                  out: str | Path | None = None, in_place: bool = False,
                  force: bool = False) -> Checked:
    """Read one book once, check it, and write the findings into a copy (``out``) or, with
    ``in_place``, into the book itself after a backup (``files.backup``). Every step works on the
    bytes of that one read, so a book being re-saved meanwhile can never be mixed with its older
    version; in place, a book that changed since it was read is not replaced."""

    src = Path(path)
    one_target(out, in_place)
    if out is not None:
        check_output(out, [src], force=force, hint=IN_PLACE_HINT)
    if not in_place and out is None:
        dept = read_book(src)
        return Checked(dept, check(dept, config, book=src.name))
    original = open_in_place(src) if in_place else None
    data = original.data if original else read_once(src)[0]
    require_ooxml(data, name=src.name)
    dept = read_bytes(data, src.name)
    report = check(dept, config, book=src.name)
    if original is not None:
        return Checked(dept, report, src, _mark_in_place(original, report, dept, config))

    assert out is not None
    write_annotated(data, atomic_path(out, [src], force=force), report, src.name, dept=dept,
                    config=config)
    return Checked(dept, report, Path(out))


def annotate_in_place(path: Path, report: Report, read_as: Any,
                      config: RulesConfig | None = None) -> Path:
    """Mark ``report`` in the book at ``path`` itself (a folder validated ``--in-place``): the
    book is read once more and must be the same file, unchanged, as when it was checked
    (``read_as``, its ``files.Snapshot`` then); a backup is kept. Returns the backup's path.
    ``config``: the rules it was checked with (for its live checks)."""

    original = open_in_place(path)
    if read_as is not None and original.snapshot != read_as:
        raise WriteError(f"{path.name} 在校验期间被修改,未写入校验结果;请重新校验",
                         f"{path.name} changed while it was checked; nothing written, check again")
    require_ooxml(original.data, name=path.name)
    dept = read_bytes(original.data, path.name)  # the cell map its live checks are placed by
    return _mark_in_place(original, report, dept, config)


def _mark_in_place(original: Original, report: Report, dept: Department,
                   config: RulesConfig | None) -> Path:
    """Back the book up, then write it marked with ``report`` over itself; the backup's path."""
    saved = backup(original)
    write_annotated(original.data, write_in_place(original), report, original.path.name,
                    dept=dept, config=config)
    return saved


def write_annotated(data: bytes, target: Any, report: Report, label: str, *,
                    dept: Department | None = None, config: RulesConfig | None = None,
                    built: Mapping[str, SheetChecks] | None = None,
                    progress: Progress | None = None) -> None:
    """Annotate the book ``data`` into the temporary file of ``target`` (an ``atomic_path``):
    with ``dept`` (the book as read, with its cell map) and the ``config`` it was checked
    with, its project sheets get their live checks; ``built``: the live checks a book perfxl
    has just built carries already (template.build), by sheet."""
    from .annotate import annotate  # lxml, loaded when a book is marked

    with target as tmp:
        annotate(data, tmp, report.findings, checked_at=report.checked_at, book_label=label,
                 dept=dept, config=config, built=built, progress=progress)



# --- the command's whole job --------------------------------------------------------------------

def merge(inputs: Sequence[str | Path], out: str | Path, *, plan: str | Path | None = None,
          on_conflict: str = "refuse", jobs: int = 1, strict: bool = False,
          progress: Progress | None = None, force: bool = False,
          config: RulesConfig | None = None) -> MergeResult:
    """Merge unit submissions into the department book ``out``.

    Unreadable or foreign inputs are listed (in 来源 and 校验结果) and the rest merged; with
    ``strict`` nothing is written unless every input was merged. Raises MergeConflict (exit 1)
    for differing copies of a project unless ``on_conflict`` chooses.
    """

    from .merge import DEGRADED, combine, conflict_findings, degraded, read_sources

    paths = collect(inputs)
    if not paths:
        raise ReadError("没有找到要合并的工作簿 (.xlsx/.xlsm)", "no workbooks to merge")
    out = Path(out)
    given = Inputs([*inputs, *([plan] if plan else [])])
    check_output(out, given, force=force)  # before the work, and again at the write
    tell = progress or QUIET
    tell.stage(READING_BOOK, len(paths))
    sources = read_sources(paths, jobs, tell.advance)
    evaluations = _evaluations(sources)
    plan_dept = read_book(plan) if plan else None
    monitoring = _monitoring_month(sources)
    result = combine(sources, plan=plan_dept, on_conflict=on_conflict, config=config)
    result.findings += conflict_findings(result, on_conflict, config)
    if strict and not result.complete:
        bad = [s.name for s in sources if s.error]
        raise PerfxlError(f"--strict: 有输入未能合并,未写出任何文件: {'、'.join(bad)}",
                          "--strict: some inputs could not be merged; nothing written")
    if evaluations:  # 绩效自评 books merge into one (selfeval_book.py)
        from .selfeval_book import place, write_selfeval

        write_selfeval(out, place(result.dept), config, inputs=given, force=force)
        return result
    if monitoring is not None:  # units' 绩效运行监控 books: one monitoring book (monitor_book.py)
        from .monitor_book import write_monitor

        write_monitor(out, result.dept, month=monitoring, inputs=given, force=force,
                      config=config)
        return result
    newest = max((s.modified for s in sources if s.modified), default=None)
    report, _ = department_book(result.dept, out, config=config, extra_findings=result.findings,
                                sources=sources, checked_at=newest, inputs=given, force=force,
                                judge=lambda r: degraded(result, r, config), progress=tell)
    result.degraded = [f for f in report.findings if f.rule == DEGRADED]
    result.findings += result.degraded
    return result


def _evaluations(sources: Sequence[Source]) -> bool:
    """Whether the books merged are 绩效自评 books; refused when they mix with target books."""
    from .forms import SELFEVAL

    kinds = {s.dept.form == SELFEVAL for s in sources
             if s.dept is not None and s.dept.projects and not s.error and not s.ignored}
    if len(kinds) > 1:
        raise PerfxlError("绩效自评工作簿不能与绩效目标工作簿合并",
                          "self-evaluation books cannot be merged with target books")
    return kinds == {True}
def targets_only(dept: Department, src: Path, job: str, job_en: str) -> None:
    """A job of the targets (汇总, 拆分) refuses a monitoring or scoring book in one sentence."""
    from .forms import FORMS, SCORING

    if dept.form in (MONITOR, SCORING):
        raise PerfxlError(f"{src.name} 是{FORMS[dept.form][0]},不是预算绩效目标工作簿,不能{job}",
                          f"{src.name} is a {FORMS[dept.form][1]}, not a targets book; it "
                          f"cannot be {job_en}")


def _monitoring_month(sources: Sequence[Source]) -> int | None:
    """The month of the monitoring books being merged; None for targets books. Monitoring and
    targets books, or monitoring books of different months, are not merged together."""
    from .monitor import FORM

    read = [s.dept for s in sources if s.dept is not None and not s.error]
    for s in sources:
        if s.dept is not None and s.dept.assessment is not None:
            targets_only(s.dept, s.path, "合并", "merged")
    monitored = [d for d in read if d.form == FORM]
    if not monitored:
        return None
    if len(monitored) != len(read):
        raise PerfxlError("绩效运行监控表不能与预算绩效目标工作簿合并,请分开合并",
                          "monitoring books cannot be merged with targets books; merge them apart")
    months = sorted({p.monitor.month for d in monitored for p in d.projects if p.monitor})
    if len(months) > 1:
        raise PerfxlError(f"绩效运行监控表的监控期间不同(1-{'、1-'.join(map(str, months))}月),不能合并",
                          "monitoring books of different months cannot be merged")
    return months[0] if months else None


# --- split ---------------------------------------------------------------------------------------

def split(book: str | Path, out_dir: str | Path, *, blank: bool = False,
          force: bool = False, config: RulesConfig | None = None,
          progress: Progress | None = None) -> list[Path]:
    """One book per unit, ``<unit code>_<unit name>.xlsx``: the unit's project sheets (filled, or
    blank but for their identity), 说明, 部门整体 and the unit's code in the book's properties.

    The names are made safe (``files.safe_name``: no folder parts, so a unit code such as
    ``../../x`` stays inside ``out_dir``); no unit book may be the input, two units never share
    a file, and an existing file is replaced only with ``force``. Every name is checked before
    the first book is written."""

    from .forms import SELFEVAL
    from .template import write_book

    tell = progress or QUIET
    tell.stage(READING_BOOK)
    source = Path(book)
    dept = read_bytes(read_once(source)[0], source.name)
    evaluated = dept.form == SELFEVAL
    if evaluated and blank:
        raise PerfxlError("--blank 不适用于绩效自评工作簿", "--blank does not apply to a "
                          "self-evaluation book")
    if dept.assessment is not None:
        targets_only(dept, source, "拆分", "split")
    folder = Path(out_dir)
    given = Inputs([source])
    plan: list[tuple[Path, Department, Unit]] = []
    taken: set[str] = set()
    for unit in dept.units:
        projects = [dataclasses.replace(p) for p in dept.projects if p.unit_code == unit.code]
        if blank and dept.form != MONITOR:
            projects = [_blank(p) for p in projects]
        part = dataclasses.replace(dept, units=[unit], projects=projects, cells={}, skipped=[])
        name = safe_name(f"{unit.code}_{unit.name}", ".xlsx")
        if name.casefold() in taken:
            raise PerfxlError(f"两个单位的工作簿同名: {name};请检查单位编码",
                              f"two units give the same file name: {name}")
        taken.add(name.casefold())
        path = folder / name
        check_output(path, given, force=force)
        plan.append((path, part, unit))
    if evaluated:  # a 绩效自评 book: each unit's part written as one (selfeval_book.py)
        from .selfeval_book import place, write_selfeval

        return [write_selfeval(path, place(part), config, unit=unit, inputs=given, force=force)
                for path, part, unit in plan]
    if dept.form == MONITOR:  # a monitoring book: each unit's monitoring, reports kept
        from .monitor_book import write_monitor

        month = next((p.monitor.month for p in dept.projects if p.monitor), None)
        return [write_monitor(path, part, month=month or MONITOR_MONTH, unit=unit, inputs=given,
                              force=force, config=config) for path, part, unit in plan]
    tell.stage(WRITING_UNITS, len(plan))
    written = []
    for path, part, unit in plan:
        written.append(write_book(path, part, unit=unit, inputs=given, force=force,
                                  config=config))
        tell.advance()
    return written


def _blank(p: Project) -> Project:
    """Keep what identifies the project (unit, seq, code, name); clear what the unit fills in."""
    return dataclasses.replace(p, budget=None, fiscal=None, other=None, purpose="", goals="",
                               plan=None, indicators=[])




# --- 绩效自评: the year-end self-evaluation book --------------------------------------------------

def selfeval(book: str | Path, out: str | Path, *, force: bool = False,
             config: RulesConfig | None = None) -> Department:
    """Write the self-evaluation book of the targets book ``book`` to ``out``: one
    项目支出绩效自评表 per project and the 汇总 (selfeval_book.py). Refused before the work when
    ``out`` is the input or exists (without ``force``); a book without projects, or one that is
    itself a self-evaluation, is refused with one sentence."""
    from .forms import SELFEVAL
    from .selfeval_book import carry, write_selfeval

    src = Path(book)
    check_output(out, [src], force=force)
    dept = read_bytes(read_once(src)[0], src.name)
    if dept.form == SELFEVAL:
        raise ReadError(f"{src.name} 已是绩效自评工作簿,请给出绩效目标工作簿",
                        f"{src.name} is already a self-evaluation book; give the targets book")
    if not dept.projects:
        raise ReadError(f"{src.name} 中没有填写任何项目,无法生成绩效自评表",
                        f"{src.name} has no filled-in project to evaluate")
    cfg = config or RulesConfig()
    write_selfeval(out, carry(dept, cfg), cfg, inputs=[src], force=force)
    return dept


# --- many books: a reviewer's folder ----------------------------------------------------------------

@dataclass
class Reviewed:
    """Books validated together (:func:`validate_books`): each book's result, the backups kept
    and the books that could not be marked in place (with their sentence)."""

    results: list[BookResult]
    backups: list[Path] = dataclasses.field(default_factory=list)
    failed: list[PerfxlError] = dataclasses.field(default_factory=list)

    @property
    def unreadable(self) -> int:
        return sum(1 for r in self.results if r.unreadable) + len(self.failed)

    def count(self, severity: str) -> int:
        return sum(r.report.counts[severity] for r in self.results if r.report)

    @property
    def exit_code(self) -> int:
        """2: a book could not be read (or marked); 1: errors; 0: none."""
        return 2 if self.unreadable else 1 if self.count("error") else 0

    def summary(self) -> dict[str, Any]:
        """The head of the many-book JSON report (``"books"`` follows, one per result)."""
        errors = self.count("error")
        return {"valid": not errors and not self.unreadable,
                "counts": {"books": len(self.results), "unreadable": self.unreadable,
                           "error": errors, "warning": self.count("warning")}}


def validate_books(inputs: Sequence[str | Path], config: RulesConfig | None = None, *,
                   out: str | Path | None = None, in_place: bool = False, jobs: int = 0,
                   force: bool = False, progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None,
                   on_failed: Callable[[PerfxlError], None] | None = None) -> Reviewed:
    """Validate books and folders together (``batch.validate_paths``), then write the review
    book (``out``) and/or mark each book in place. The review book is refused before the work
    when it is one of the inputs or exists (without ``force``). In place, a book that changed
    while it was checked is not marked (its sentence goes to ``on_failed``)."""
    one_target(out, in_place)
    paths = collect(inputs)
    if out is not None:  # refused before hours of work, and again when it is written
        check_output(out, Inputs(inputs), force=force)
    before = {p: _snapshot(p) for p in paths} if in_place else {}
    if on_total:
        on_total(len(paths))
    results = validate_paths(paths, config, jobs=jobs, progress=progress)
    done = Reviewed(results)
    if out is not None:
        from .review import write_review

        write_review(out, results, inputs=inputs, force=force)
    if in_place:
        for r in results:
            if r.report is None:
                continue
            try:
                done.backups.append(annotate_in_place(r.path, r.report, before.get(r.path),
                                                      config))
            except PerfxlError as e:
                done.failed.append(e)
                if on_failed:
                    on_failed(e)
    return done


class Lines:
    """Each book's light line (``batch.counted``: no findings) in a temporary file, in input
    order, and the totals of the run: what a run over many books keeps of each. Findings made
    after a book was added (the cross-book check) are counted on its line (:meth:`add`)."""

    def __init__(self) -> None:
        from .spill import Spilled

        self._lines: Spilled[BookResult] = Spilled()
        self._later: dict[int, list[Finding]] = {}
        self.counts = {"error": 0, "warning": 0}
        self.unreadable = 0

    def append(self, r: BookResult) -> None:
        from .batch import counted

        line = counted(r)
        self._lines.append(line)
        self.unreadable += line.unreadable
        if line.report is not None:
            for k in self.counts:
                self.counts[k] += line.report.counts.get(k, 0)

    def add(self, book: int, findings: Sequence[Finding]) -> None:
        self._later.setdefault(book, []).extend(findings)
        for f in findings:
            if f.severity in self.counts:
                self.counts[f.severity] += 1

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i: int) -> BookResult:
        line = self._lines[i]
        if i in self._later and isinstance(line.report, Counted):
            line.report.add(self._later[i])
        return line

    def __iter__(self) -> Iterator[BookResult]:
        return (self[i] for i in range(len(self)))

    def close(self) -> None:
        self._lines.close()


@dataclass
class Streamed(Reviewed):
    """Books validated and written out one by one (:func:`stream_books`): only the counts
    are kept, the light line of each book, on disk (:class:`Lines`), and the cross-book
    findings, which can only come after every book, as (book, finding); counted in the
    books' lines, so the verdict and :meth:`Reviewed.summary` include them."""

    results: Lines = dataclasses.field(default_factory=Lines)  # type: ignore[assignment]
    cross: list[tuple[BookResult, Finding]] = dataclasses.field(default_factory=list)

    @property
    def unreadable(self) -> int:
        return self.results.unreadable + len(self.failed)

    def count(self, severity: str) -> int:
        return self.results.counts[severity]


def stream_books(inputs: Sequence[str | Path], config: RulesConfig | None = None, *,
                 out: str | Path | None = None, jobs: int = 0, force: bool = False,
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 on_book: Callable[[BookResult], None] | None = None) -> Streamed:
    """Validate books and folders as :func:`validate_books` does, but hold no book's findings:
    each book's result goes to ``on_book`` (and its findings into the review book ``out``,
    written in constant memory) in input order as soon as it is checked. The cross-book check
    (PX404, the same project code in two books) needs every book: its findings come at the end
    (``Streamed.cross``, and in the review book after the other findings, counted on each
    book's line), so memory stays flat however many books."""
    from .batch import CrossBook, stream_paths
    from .review import Review

    cfg = config or RulesConfig()
    paths = collect(inputs)
    if out is not None:  # refused before hours of work, and again when it is written
        check_output(out, Inputs(inputs), force=force)
    if on_total:
        on_total(len(paths))
    done = Streamed()
    with contextlib.ExitStack() as stack:
        cross = stack.enter_context(CrossBook(cfg))
        review = stack.enter_context(Review(out, inputs=inputs, force=force)) \
            if out is not None else None
        for r in stream_paths(paths, cfg, jobs=jobs, progress=progress):
            cross.add(r)
            if on_book:
                on_book(r)
            if review is not None:
                review.add(r)
            done.results.append(r)
        for book, found in cross.by_book().items():
            done.results.add(book, found)
            done.cross += [(done.results[book], f) for f in found]
            if review is not None:
                review.cross(book, found)
    return done


def _snapshot(path: Path) -> Snapshot | None:
    try:
        return Snapshot.of(path)
    except OSError:
        return None


# --- the year after the targets: 绩效运行监控 -----------------------------------------------------

def monitor(book: str | Path, out: str | Path, *, month: int | None = None,
            force: bool = False, config: RulesConfig | None = None) -> tuple[Department, int]:
    """Write the 绩效运行监控 book of the targets book ``book`` (monitor_book.py): one sheet per
    project for months 1–``month`` (default: monitor.DEFAULT_MONTH, or the month of a
    monitoring book given as ``book``, which carries its budgets and, for the same month, what
    was reported). Returns the department read and the month written."""
    from .monitor import DEFAULT_MONTH
    from .monitor_book import write_monitor

    src = Path(book)
    check_output(out, [src], force=force)  # before the book is read
    dept = read_bytes(read_once(src)[0], src.name)
    if not dept.projects:
        raise ReadError(f"{src.name} 中没有填写任何项目,无法生成绩效运行监控表",
                        f"{src.name} has no filled-in project to monitor")
    if month is None:
        month = next((p.monitor.month for p in dept.projects if p.monitor), DEFAULT_MONTH)
    write_monitor(out, dept, month=month, inputs=[src], force=force, config=config)
    return dept, month


def scoring(book: str | Path, out: str | Path, *, variant: str | None = None,
            force: bool = False, config: RulesConfig | None = None) -> Department:
    """Write the department's 考核 scoring book (scoring_book.py) from the 部门整体 scheme of the
    targets book ``book``; a scoring book given as ``book`` keeps its scores and events."""
    from .scoring import CITY, from_scheme
    from .scoring_book import write_scoring

    src = Path(book)
    check_output(out, [src], force=force)
    dept = read_bytes(read_once(src)[0], src.name)
    if dept.assessment is not None:
        assessment = dept.assessment
        assessment.variant = variant or assessment.variant
    elif dept.scoring.items:
        assessment = from_scheme(dept, variant or CITY)
    else:
        raise ReadError(f"{src.name} 中没有部门整体的考核方案(分项绩效目标),无法生成考核评分表",
                        f"{src.name} has no 考核 scheme in its 部门整体 part to score")
    write_scoring(out, dept, assessment, inputs=[src], force=force, config=config)
    return dept
