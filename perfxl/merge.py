"""Hand each unit its own book (split), and merge the submissions into one department book.

Every input goes through the same reader. The merged book is written whole by the template writer
(so macros, external links and embedded objects of submissions never reach it), with a 来源 sheet
naming every input with its sha256, and cross-unit findings in 校验结果. The same inputs give the
same book: fixed document dates, stable order, and the check time taken from the newest input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dataset import to_data
from .errors import PerfxlError, ReadError
from .files import Inputs, check_output, collect, safe_name
from .findings import Finding
from .layout import SHEET_SOURCES
from .model import Department, Project, Unit
from .rules import RULES, RulesConfig, make

CONFLICT_CHOICES = ("refuse", "first", "newest")
"""What a folder contributes: every workbook format, so an old .xls or a WPS .et submission
is read (or listed with the reason it cannot be), never silently left out."""


@dataclass
class Source:
    """One input of a merge, as listed on the 来源 sheet."""

    path: Path
    sha256: str = ""
    size: int = 0
    modified: dt.datetime | None = None
    dept: Department | None = None
    error: str = ""
    units: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    row: int = 0  # its row on the 来源 sheet (0-based), for findings that point at it

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Conflict:
    code: str
    kept: Source
    other: Source
    fields: list[str]


class MergeConflict(PerfxlError):
    """The same project code with different content in two inputs (exit code 1)."""

    exit_code = 1

    def __init__(self, conflicts: list[Conflict]) -> None:
        lines = [f"项目 {c.code}: {c.kept.name} 与 {c.other.name} 内容不同 (字段: "
                 f"{'、'.join(c.fields)})" for c in conflicts]
        super().__init__("合并已停止:同一项目编码在两个文件中内容不同。"
                         "请核对后用 --on-conflict first 或 newest 明确选择。\n  " + "\n  ".join(lines),
                         "merge stopped: the same project code differs between inputs; "
                         "choose with --on-conflict first|newest")
        self.conflicts = conflicts


@dataclass
class MergeResult:
    dept: Department
    sources: list[Source]
    findings: list[Finding]
    conflicts: list[Conflict]

    def to_json(self, out: Path) -> dict[str, Any]:
        from .values import fmt_amount

        return {
            "book": str(out),
            "inputs": [{"file": s.name, "path": str(s.path), "sha256": s.sha256, "size": s.size,
                        "modified": s.modified.isoformat() if s.modified else None,
                        "units": s.units, "taken": s.taken, "skipped": s.skipped,
                        "error": s.error} for s in self.sources],
            "units": [{"code": u.code, "name": u.name} for u in self.dept.units],
            "projects": len(self.dept.projects),
            "total": fmt_amount(self.dept.total()),
            "complete": self.complete,
            "findings": [f.to_json() for f in self.findings],
        }

    @property
    def complete(self) -> bool:
        """Every input was read and held project tables."""
        return all(s.dept is not None and not s.error for s in self.sources
                   if not _is_duplicate(s))


# --- inputs --------------------------------------------------------------------------------------

def read_source(path: Path) -> Source:
    """Read one input once: its bytes are hashed and parsed (a book of ordinary size), so the
    sha256 on 来源 is that of the very bytes merged. A failure is recorded, never raised."""
    from .read import IN_MEMORY, read_book, read_bytes

    src = Source(path)
    try:
        stat = path.stat()
        data = path.read_bytes() if stat.st_size <= IN_MEMORY else None
        if data is not None:
            src.sha256 = hashlib.sha256(data).hexdigest()
        else:
            with open(path, "rb") as f:  # streamed: a huge file is hashed without being held
                src.sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        src.error = f"无法读取文件: {e.strerror}"
        return src
    src.size = stat.st_size
    src.modified = dt.datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)
    try:
        src.dept = read_bytes(data, path.name) if data is not None else read_book(path)
    except PerfxlError as e:
        src.error = e.zh
        return src
    if not src.dept.projects:
        src.error = "没有项目支出绩效目标表(不是绩效目标工作簿)"
    src.units = sorted({p.unit_code for p in src.dept.projects})
    for s in src.dept.skipped:
        src.skipped.append(f"工作表「{s.sheet}」: {s.reason}")
    return src


def read_sources(paths: Sequence[Path], jobs: int = 1,
                 progress: Callable[[int], None] | None = None) -> list[Source]:
    """Read every input (in ``jobs`` processes when > 1), in input order."""
    if jobs <= 1 or len(paths) <= 1:
        out = []
        for p in paths:
            out.append(read_source(p))
            if progress:
                progress(1)
        return out
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from .validate import worker_setup, workers_ended_on_interrupt

    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=worker_setup) as pool, \
                workers_ended_on_interrupt():
            results = []
            for src in pool.map(read_source, paths, chunksize=4):
                results.append(src)
                if progress:
                    progress(1)
            return results
    except BrokenProcessPool:
        raise PerfxlError("读取工作簿的进程意外退出(可能是内存不足);请用 --jobs 1 重试",
                          "a worker process died (out of memory?); retry with --jobs 1") from None


# --- merging -------------------------------------------------------------------------------------

def _project_data(p: Project) -> dict[str, Any]:
    d = Department(units=[Unit(p.unit_code, p.unit_name)], projects=[p])
    data: dict[str, Any] = to_data(d)["projects"][0]
    data["unit_name"] = p.unit_name
    return data


def _differences(a: Project, b: Project) -> list[str]:
    da, db = _project_data(a), _project_data(b)
    return [k for k in da if da[k] != db[k]]


def _is_duplicate(s: Source) -> bool:
    return any(x.startswith("与") and "内容相同" in x for x in s.skipped)


def combine(sources: list[Source], *, plan: Department | None = None,
            on_conflict: str = "refuse") -> MergeResult:
    """Merge what was read: one project per code, the department part from ``plan`` or the first
    book that has one; findings for what a department must look at."""
    if on_conflict not in CONFLICT_CHOICES:
        raise PerfxlError(f"--on-conflict 只能是 {'、'.join(CONFLICT_CHOICES)}",
                          "on-conflict must be refuse, first or newest")
    findings: list[Finding] = []
    seen_hash: dict[str, Source] = {}
    chosen: dict[str, tuple[Project, Source]] = {}
    conflicts: list[Conflict] = []
    unit_files: dict[str, list[Source]] = {}
    for row, s in enumerate(sources, start=1):
        s.row = row
        if s.sha256 and s.sha256 in seen_hash:
            first = seen_hash[s.sha256]
            s.skipped.append(f"与 {first.name} 内容相同,只取一次")
            findings.append(_finding("duplicate-file", s, first=first.name))
            continue
        if s.sha256:
            seen_hash[s.sha256] = s
        if s.error or s.dept is None:
            findings.append(_finding("input-unreadable", s, reason=s.error))
            continue
        for unit in s.units:
            unit_files.setdefault(unit, []).append(s)
        book_unit = s.dept.book_unit
        for p in s.dept.projects:
            if book_unit and p.unit_code != book_unit:
                findings.append(_finding("unit-mismatch", s, code=p.code, unit=p.unit_code,
                                         book_unit=book_unit))
        for p in s.dept.projects:
            if p.code in chosen:
                kept_p, kept_s = chosen[p.code]
                diff = _differences(kept_p, p)
                if not diff:
                    s.skipped.append(f"项目 {p.code}: 与 {kept_s.name} 中的副本相同,只取一次")
                    findings.append(_finding("duplicate-project", s, code=p.code,
                                             first=kept_s.name))
                    continue
                conflict = Conflict(p.code, kept_s, s, diff)
                conflicts.append(conflict)
                if on_conflict == "refuse":
                    continue
                newer = (s.modified or dt.datetime.min) > (kept_s.modified or dt.datetime.min)
                if on_conflict == "newest" and newer:
                    kept_s.taken.remove(p.code)
                    kept_s.skipped.append(f"项目 {p.code}: 冲突,改取较新的 {s.name} (--on-conflict newest)")
                    chosen[p.code] = (p, s)
                    s.taken.append(p.code)
                else:
                    s.skipped.append(f"项目 {p.code}: 冲突,保留 {kept_s.name} 中的版本 "
                                     f"(--on-conflict {on_conflict})")
                continue
            chosen[p.code] = (p, s)
            s.taken.append(p.code)
    if conflicts and on_conflict == "refuse":
        raise MergeConflict(conflicts)
    for unit, files in sorted(unit_files.items()):
        if len(files) > 1:
            for s in files[1:]:
                findings.append(_finding("unit-in-two-files", s, unit=unit,
                                         first=files[0].name))

    base = plan or next((s.dept for s in sources if s.dept and s.dept.name), None) or Department()
    projects = sorted((dataclasses.replace(p) for p, _ in chosen.values()),
                      key=lambda p: (p.unit_code, p.seq, p.code))
    units: dict[str, Unit] = {}
    for s in sources:
        for u in (s.dept.units if s.dept else []):
            if u.code in {p.unit_code for p in projects}:
                units.setdefault(u.code, u)
    merged = dataclasses.replace(
        base, units=[units[c] for c in sorted(units)], projects=projects, skipped=[],
        cells={}, template_version=None)
    if plan is not None:
        findings += _plan_findings(plan, merged, sources)
    return MergeResult(merged, sources, findings, conflicts)


def _plan_findings(plan: Department, merged: Department, sources: list[Source]) -> list[Finding]:
    planned = {p.code: p for p in plan.projects}
    got = {p.code for p in merged.projects}
    out = []
    for code, p in planned.items():
        if code not in got:
            out.append(_finding("plan-project-missing", None, code=code, name=p.name,
                                unit=p.unit_code))
    by_code = {c: s for s in sources for c in s.taken}
    for p in merged.projects:
        if p.code not in planned:
            out.append(_finding("project-not-in-plan", by_code.get(p.code), code=p.code,
                                name=p.name))
    return out


def _finding(slug: str, s: Source | None, **params: Any) -> Finding:
    """A merge finding (rules.py catalogue, PX8xx) pointing at the input's row on 来源."""
    found = make(RULES[slug], _CONFIG, sheet=SHEET_SOURCES, cell=f"B{s.row + 2}" if s else "",
                 value=s.name if s else "", file=s.name if s else "", **params)
    assert found is not None
    return dataclasses.replace(found, project_code=str(params.get("code", "")),
                               unit_code=str(params.get("unit", "")))


_CONFIG = RulesConfig()


def conflict_findings(result: MergeResult, choice: str) -> list[Finding]:
    return [_finding("merge-conflict", c.other, code=c.code, other=c.kept.name,
                     fields="、".join(c.fields), choice=choice) for c in result.conflicts]


# --- the command's whole job --------------------------------------------------------------------

def merge(inputs: Sequence[str | Path], out: str | Path, *, plan: str | Path | None = None,
          on_conflict: str = "refuse", jobs: int = 1, strict: bool = False,
          progress: Callable[[int], None] | None = None,
          on_total: Callable[[int], None] | None = None, force: bool = False) -> MergeResult:
    """Merge unit submissions into the department book ``out``.

    Unreadable or foreign inputs are listed (in 来源 and 校验结果) and the rest merged; with
    ``strict`` nothing is written unless every input was merged. Raises MergeConflict (exit 1)
    for differing copies of a project unless ``on_conflict`` chooses.
    """
    from .populate import department_book
    from .read import read_book

    paths = collect(inputs)
    if not paths:
        raise ReadError("没有找到要合并的工作簿 (.xlsx/.xlsm)", "no workbooks to merge")
    out = Path(out)
    given = Inputs([*inputs, *([plan] if plan else [])])
    check_output(out, given, force=force)  # before the work, and again at the write
    if on_total:
        on_total(len(paths))
    sources = read_sources(paths, jobs, progress)
    plan_dept = read_book(plan) if plan else None
    result = combine(sources, plan=plan_dept, on_conflict=on_conflict)
    result.findings += conflict_findings(result, on_conflict)
    if strict and not result.complete:
        bad = [s.name for s in sources if s.error]
        raise PerfxlError(f"--strict: 有输入未能合并,未写出任何文件: {'、'.join(bad)}",
                          "--strict: some inputs could not be merged; nothing written")
    newest = max((s.modified for s in sources if s.modified), default=None)
    department_book(result.dept, out, extra_findings=result.findings, sources=sources,
                    checked_at=newest, inputs=given, force=force)
    return result


# --- split ---------------------------------------------------------------------------------------

def split(book: str | Path, out_dir: str | Path, *, blank: bool = False,
          force: bool = False) -> list[Path]:
    """One book per unit, ``<unit code>_<unit name>.xlsx``: the unit's project sheets (filled, or
    blank but for their identity), 说明, 部门整体 and the unit's code in the book's properties.

    The names are made safe (``files.safe_name``: no folder parts, so a unit code such as
    ``../../x`` stays inside ``out_dir``); no unit book may be the input, two units never share
    a file, and an existing file is replaced only with ``force``. Every name is checked before
    the first book is written."""
    from .files import read_once
    from .read import read_bytes
    from .template import write_book

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
    return [write_book(path, part, unit=unit, inputs=given, force=force)
            for path, part, unit in plan]


def _blank(p: Project) -> Project:
    """Keep what identifies the project (unit, seq, code, name); clear what the unit fills in."""
    return dataclasses.replace(p, budget=None, fiscal=None, other=None, purpose="", goals="",
                               plan=None, indicators=[])
