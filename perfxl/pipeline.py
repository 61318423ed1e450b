"""Whole jobs: what a command, the ribbon or a library caller asks perfxl to do, from the files
it is given to the files it writes.

Each job reads its inputs once, calls the pure steps below it (read → check → totals → build →
mark) and writes every output once through ``files`` (never over an input, atomically, with
backups in place). cli.py, xl.py and the library call these; nothing below this module calls up
into it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import dataset
from .batch import BookResult, validate_paths
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
from .layout import TEMPLATE_VERSION, place
from .merge import (
    DEGRADED,
    MergeResult,
    Source,
    combine,
    conflict_findings,
    degraded,
    read_sources,
)
from .model import Department, Project, Unit
from .progress import QUIET, Progress
from .read import read_book, read_bytes
from .review import write_review
from .rules import RulesConfig
from .sniff import droppable_parts, require_ooxml
from .template import book_bytes, write_book
from .validate import check

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
    data = book_bytes(dept, report=report, totals=t, sources=sources, placed=True,
                      config=config, progress=tell)
    target = write_in_place(original) if original is not None else \
        atomic_path(out, inputs, force=force)
    # the book is of our template (its live checks' status line is at I1)
    built = dataclasses.replace(dept, template_version=TEMPLATE_VERSION)
    write_annotated(data, target, report, Path(out).name, dept=built, config=config,
                    progress=tell)
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
    saved = None
    if original is not None:

        require_ooxml(data, "原地重建", name=src.name)
        lost = droppable_parts(data, dept)
        if lost:
            raise PerfxlError(f"无法原地重建 {src.name}:重建会丢失 {'、'.join(lost)};请用 -o 写到新文件",
                              f"cannot rebuild {src.name} in place: {len(lost)} kinds of parts "
                              "would be lost; write a new file with -o")
        saved = backup(original)
    _, t = department_book(dept, target, config=config, declared_total=declared_total,
                           declared_units=declared_units, book=src.name, inputs=[src],
                           force=force, original=original, progress=progress)
    return dept, t, target, saved


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
                    progress: Progress | None = None) -> None:
    """Annotate the book ``data`` into the temporary file of ``target`` (an ``atomic_path``):
    with ``dept`` (the book as read, with its cell map) and the ``config`` it was checked
    with, its project sheets get their live checks."""
    from .annotate import annotate  # lxml, loaded when a book is marked

    with target as tmp:
        annotate(data, tmp, report.findings, checked_at=report.checked_at, book_label=label,
                 dept=dept, config=config, progress=progress)



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

    paths = collect(inputs)
    if not paths:
        raise ReadError("没有找到要合并的工作簿 (.xlsx/.xlsm)", "no workbooks to merge")
    out = Path(out)
    given = Inputs([*inputs, *([plan] if plan else [])])
    check_output(out, given, force=force)  # before the work, and again at the write
    tell = progress or QUIET
    tell.stage(READING_BOOK, len(paths))
    sources = read_sources(paths, jobs, tell.advance)
    plan_dept = read_book(plan) if plan else None
    result = combine(sources, plan=plan_dept, on_conflict=on_conflict, config=config)
    result.findings += conflict_findings(result, on_conflict, config)
    if strict and not result.complete:
        bad = [s.name for s in sources if s.error]
        raise PerfxlError(f"--strict: 有输入未能合并,未写出任何文件: {'、'.join(bad)}",
                          "--strict: some inputs could not be merged; nothing written")
    newest = max((s.modified for s in sources if s.modified), default=None)
    report, _ = department_book(result.dept, out, config=config, extra_findings=result.findings,
                                sources=sources, checked_at=newest, inputs=given, force=force,
                                judge=lambda r: degraded(result, r, config), progress=tell)
    result.degraded = [f for f in report.findings if f.rule == DEGRADED]
    result.findings += result.degraded
    return result


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

    tell = progress or QUIET
    tell.stage(READING_BOOK)
    source = Path(book)
    dept = read_bytes(read_once(source)[0], source.name)
    folder = Path(out_dir)
    given = Inputs([source])
    plan: list[tuple[Path, Department, Unit]] = []
    taken: set[str] = set()
    for unit in dept.units:
        projects = [dataclasses.replace(p) for p in dept.projects if p.unit_code == unit.code]
        if blank:
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


def _snapshot(path: Path) -> Snapshot | None:
    try:
        return Snapshot.of(path)
    except OSError:
        return None
