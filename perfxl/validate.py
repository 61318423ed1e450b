"""Validation: pandera schemas over the tidy tables, then the rule functions → one Report.

``check`` is a pure function of (model, rules) → findings; ``validate_book`` adds reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .findings import ERROR, Finding, Report
from .layout import SHEET_DEPARTMENT
from .model import LEVELS, Department
from .rules import CHECKS, QUARTER_NAMES, RULES, RulesConfig, indicator_cell, make, project_cell
from .schemas import AMOUNTS, LEVEL_COLUMNS, REQUIRED_TEXT, failures


def check(dept: Department, config: RulesConfig | None = None, *, book: str = "",
          extra: Sequence[Finding] = ()) -> Report:
    """Every finding for a department: schema failures mapped to cells, then the rules (and
    ``extra`` findings made elsewhere, e.g. by a merge), in one sorted report."""
    cfg = config or RulesConfig()
    frames = dept.frames()
    found: list[Finding | None] = [
        _from_failure(f, dept, frames, cfg) for f in failures(frames, cfg, dept.year)]
    found.extend(extra)
    for rule_check in CHECKS:
        found.extend(rule_check(dept, cfg))
    order = {p.sheet: i for i, p in enumerate(dept.projects)}
    findings = sorted((f for f in found if f is not None),
                      key=lambda f: (f.severity != ERROR, f.sheet != SHEET_DEPARTMENT,
                                     order.get(f.sheet, len(order)), _cell_order(f.cell),
                                     f.code))
    return Report(book=book, findings=findings)


def validate_book(path: str | Path, config: RulesConfig | None = None) -> tuple[Department, Report]:
    from .read import read_book

    dept = read_book(path)
    return dept, check(dept, config, book=Path(path).name)


_A1 = re.compile(r"^([A-Z]+)(\d+)$")


def _cell_order(cell: str) -> tuple[int, int]:
    m = _A1.match(cell)
    if not m:
        return (0, 0)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return (int(m.group(2)), col)


def _from_failure(f: dict[str, Any], dept: Department, frames: Any,
                  cfg: RulesConfig) -> Finding | None:
    rule = RULES[f["rule"]]
    table, column, i = f["table"], f["column"], f["index"]
    if table == "projects":
        p = dept.projects[i]
        fld = {**REQUIRED_TEXT, **AMOUNTS}.get(column or "", rule.field)
        if rule.slug == "funds-mismatch":
            fiscal, other = p.fiscal or Decimal(0), p.other or Decimal(0)
            return make(rule, cfg, project=p, cell=project_cell(p, "project.budget"),
                        value=p.budget, budget=_m(p.budget), fiscal=_m(fiscal),
                        other=_m(other), diff=_m((p.budget or Decimal(0)) - fiscal - other))
        if rule.slug == "code-pattern":
            year = f"{dept.year % 100:02d}" if dept.year else ""
            return make(rule, cfg, project=p, cell=project_cell(p, fld), value=p.code,
                        length=cfg.code_length, actual=len(p.code), prefix=cfg.code_region + year)
        value = getattr(p, fld.split(".")[1], "") if fld.startswith("project.") else (
            p.unit_code if fld == "unit.code" else p.unit_name)
        return make(rule, cfg, project=p, field=fld, cell=project_cell(p, fld), value=value)
    if table == "plan":
        row = frames["plan"].loc[i]
        p = dept.projects[int(row["project"])]
        q = int(row["quarter"]) - 1
        pct = p.plan[q] if p.plan else None
        return make(rule, cfg, project=p, cell=project_cell(p, "project.plan", q), value=pct,
                    quarter=QUARTER_NAMES[q])
    row = frames["indicators"].loc[i]
    p = dept.projects[int(row["project"])]
    ind = p.indicators[int(row["row"])]
    if rule.slug == "indicator-level-mismatch":
        allowed = "、".join(LEVELS.get(ind.level1, ())) or "产出指标、效益指标、满意度指标"
        fld = "indicator.level2" if ind.level1 in LEVELS else "indicator.level1"
        return make(rule, cfg, project=p, field=fld, cell=indicator_cell(ind, fld),
                    value=getattr(ind, fld.split(".")[1]), level1=ind.level1,
                    level2=ind.level2, allowed=allowed)
    fld = LEVEL_COLUMNS.get(column or "", "indicator.value")
    return make(rule, cfg, project=p, field=fld, cell=indicator_cell(ind, fld),
                value=getattr(ind, fld.split(".")[1]), name=ind.level3 or ind.description)


def _m(d: Decimal | None) -> str:
    return "—" if d is None else f"{d:,.2f}"


def annotate_book(src: str | Path, report: Report, *, out: str | Path | None = None,
                  in_place: bool = False) -> Path | None:
    """Write the findings into a copy (``out``) or, with ``in_place``, into the book itself.

    In place keeps a backup beside the book (``<name>.perfxl-backup.xlsx``) and refuses while the
    book is open in Excel. The input is never changed otherwise.
    """
    from .errors import PerfxlError
    from .files import backup, same_file

    src = Path(src)
    if in_place:
        if out is not None:
            raise PerfxlError("-o 与 --in-place 只能选一个", "use either -o or --in-place")
        backup(src)
        target = src
    elif out is not None:
        target = Path(out)
        if same_file(src, target):
            raise PerfxlError(f"输出文件与输入文件相同: {target};要写入原文件请用 --in-place",
                              "the output is the input; use --in-place to annotate it")
    else:
        return None
    return write_annotated(src, target, report)


def write_annotated(src: str | Path, target: str | Path, report: Report) -> Path:
    """Annotate ``src`` into ``target`` atomically (``target`` may be ``src``: our own output)."""
    from .annotate import annotate
    from .files import atomic_path

    target = Path(target)
    with atomic_path(target) as tmp:
        annotate(Path(src), tmp, report.findings, checked_at=report.checked_at,
                 book_label=Path(src).name)
    return target
