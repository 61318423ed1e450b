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

from .batch import ordered_map
from .dataset import to_data
from .errors import OwnOutput, PerfxlError
from .findings import Finding, Report
from .layout import OUTPUT_MERGE, SHEET_SOURCES
from .model import Department, Project, Unit
from .read import IN_MEMORY, read_book, read_bytes
from .rules import RULES, RulesConfig, make
from .validate import check
from .values import fmt_amount

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
    ignored: str = ""
    duplicate_of: str = ""
    """The input with the same bytes this one repeats (taken once, from there)."""
    """Why the input was passed over (a review book perfxl wrote): listed, not an error."""
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
    degraded: list[Finding] = field(default_factory=list)
    """Projects worse in the merged book than in their input (see :func:`degraded`)."""

    def to_json(self, out: Path) -> dict[str, Any]:
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
        """Every input was read and held project tables (review books passed over aside), and no
        project came out of the merge worse than it went in."""
        return not self.degraded and all(s.dept is not None and not s.error for s in self.sources
                                         if not s.duplicate_of and not s.ignored)


# --- inputs --------------------------------------------------------------------------------------

def read_source(path: Path) -> Source:
    """Read one input once: its bytes are hashed and parsed (a book of ordinary size), so the
    sha256 on 来源 is that of the very bytes merged. A failure is recorded, never raised."""

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
    except OwnOutput as e:
        src.ignored = e.note
        src.skipped.append(e.note)
        return src
    except PerfxlError as e:
        src.error = e.zh
        return src
    if src.dept.output == OUTPUT_MERGE:
        src.error = "这是 perfxl 合并生成的部门工作簿,不是单位的报送"
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
    return ordered_map(read_source, paths, jobs, progress)


# --- merging -------------------------------------------------------------------------------------

def _project_data(p: Project) -> dict[str, Any]:
    d = Department(units=[Unit(p.unit_code, p.unit_name)], projects=[p])
    data: dict[str, Any] = to_data(d)["projects"][0]
    data["unit_name"] = p.unit_name
    return data


def _differences(a: Project, b: Project) -> list[str]:
    da, db = _project_data(a), _project_data(b)
    if a.monitor is not None or b.monitor is not None:  # what a monitoring book reports
        da["monitor"], db["monitor"] = (None if p.monitor is None else _reported(p.monitor.to_json())
                                        for p in (a, b))
    return [k for k in da if da[k] != db[k]]


def _reported(data: dict[str, Any]) -> dict[str, Any]:
    """A monitoring's JSON without its cells (where a value is does not make it differ)."""
    data.pop("cells", None)
    for i in data.get("indicators", []):
        i.pop("cells", None)
    return data


def combine(sources: list[Source], *, plan: Department | None = None,
            on_conflict: str = "refuse", config: RulesConfig | None = None) -> MergeResult:
    """Merge what was read: one project per code, the department part from ``plan`` or the first
    book that has one; findings for what a department must look at."""
    if on_conflict not in CONFLICT_CHOICES:
        raise PerfxlError(f"--on-conflict 只能是 {'、'.join(CONFLICT_CHOICES)}",
                          "on-conflict must be refuse, first or newest")
    cfg = config or RulesConfig()
    findings: list[Finding | None] = []
    seen_hash: dict[str, Source] = {}
    chosen: dict[str, tuple[Project, Source]] = {}
    conflicts: list[Conflict] = []
    unit_files: dict[str, list[Source]] = {}
    for row, s in enumerate(sources, start=1):
        s.row = row
        if s.sha256 and s.sha256 in seen_hash:
            first = seen_hash[s.sha256]
            s.duplicate_of = first.name
            s.skipped.append(f"与 {first.name} 内容相同,只取一次")
            findings.append(_finding(cfg, "duplicate-file", s, first=first.name))
            continue
        if s.sha256:
            seen_hash[s.sha256] = s
        if s.ignored:
            continue  # a review book: listed on 来源 with the reason, not merged
        if s.dept is not None and s.dept.output == OUTPUT_MERGE:
            findings.append(_finding(cfg, "merged-book-input", s))
            continue
        if s.error or s.dept is None:
            findings.append(_finding(cfg, "input-unreadable", s, reason=s.error))
            continue
        for unit in s.units:
            unit_files.setdefault(unit, []).append(s)
        book_unit = s.dept.book_unit
        for p in s.dept.projects:
            if book_unit and p.unit_code != book_unit:
                findings.append(_finding(cfg, "unit-mismatch", s, code=p.code, unit=p.unit_code,
                                         book_unit=book_unit))
        for p in s.dept.projects:
            if p.code in chosen:
                kept_p, kept_s = chosen[p.code]
                diff = _differences(kept_p, p)
                if not diff:
                    s.skipped.append(f"项目 {p.code}: 与 {kept_s.name} 中的副本相同,只取一次")
                    findings.append(_finding(cfg, "duplicate-project", s, code=p.code,
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
                findings.append(_finding(cfg, "unit-in-two-files", s, unit=unit,
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
        findings += _plan_findings(plan, merged, sources, cfg)
    return MergeResult(merged, sources, [f for f in findings if f is not None], conflicts)


def _plan_findings(plan: Department, merged: Department, sources: list[Source],
                   cfg: RulesConfig) -> list[Finding | None]:
    planned = {p.code: p for p in plan.projects}
    got = {p.code for p in merged.projects}
    out = []
    for code, p in planned.items():
        if code not in got:
            out.append(_finding(cfg, "plan-project-missing", None, code=code, name=p.name,
                                unit=p.unit_code))
    by_code = {c: s for s in sources for c in s.taken}
    for p in merged.projects:
        if p.code not in planned:
            out.append(_finding(cfg, "project-not-in-plan", by_code.get(p.code), code=p.code,
                                name=p.name))
    return out


def _finding(cfg: RulesConfig, slug: str, s: Source | None, **params: Any) -> Finding | None:
    """A merge finding (rules.py catalogue, PX8xx) pointing at the input's row on 来源, with the
    severity the rules file gives it (None when the rules file turns it off)."""
    found = make(RULES[slug], cfg, sheet=SHEET_SOURCES, cell=f"B{s.row + 2}" if s else "",
                 value=s.name if s else "", file=s.name if s else "", **params)
    if found is None:
        return None
    return dataclasses.replace(found, project_code=str(params.get("code", "")),
                               unit_code=str(params.get("unit", "")))


def conflict_findings(result: MergeResult, choice: str,
                      config: RulesConfig | None = None) -> list[Finding]:
    cfg = config or RulesConfig()
    found = [_finding(cfg, "merge-conflict", c.other, code=c.code, other=c.kept.name,
                      fields="、".join(c.fields), choice=choice) for c in result.conflicts]
    return [f for f in found if f is not None]


DEGRADED = "project-degraded-in-merge"

CROSS_PROJECT = frozenset({"project-code-duplicate", "project-code-cross-book"})
"""Errors a project can gain by being merged with other units' projects, reported as such."""


def degraded(result: MergeResult, merged: Report, config: RulesConfig | None = None,
             ) -> list[Finding]:
    """Projects with more errors in the merged book than in the input they were taken from: a
    merge must never silently make a project worse (a format read without its merged cells, a
    field lost on the way). Errors between units (a code used twice) are reported by their
    own rules and are not counted here."""
    cfg = config or RulesConfig()

    def errors(report: Report) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in report.findings:
            if f.severity == "error" and f.project_code and f.rule not in CROSS_PROJECT:
                out[f.project_code] = out.get(f.project_code, 0) + 1
        return out

    after = errors(merged)
    found: list[Finding | None] = []
    for s in result.sources:
        if s.dept is None or not s.taken:
            continue
        before = errors(check(s.dept, cfg, book=s.name))
        for code in s.taken:
            if after.get(code, 0) > before.get(code, 0):
                found.append(_finding(cfg, DEGRADED, s, code=code,
                                      before=before.get(code, 0), after=after[code]))
    return [f for f in found if f is not None]
