"""Validation: pandera schemas over the tidy tables, then the rule functions → one Report.

``check`` is a pure function of (model, rules) → findings; ``validate_book`` adds reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import monitor, scoring, selfeval
from .findings import ERROR, Finding, Report
from .forms import SELFEVAL
from .layout import SHEET_DEPARTMENT, parse_a1
from .model import Department, frames_of
from .read import read_book
from .rules import CHECKS, RulesConfig
from .schemas import failures, finding_of

OWN_CHECKS = {monitor.FORM: monitor.CHECKS, scoring.FORM: scoring.CHECKS,
              SELFEVAL: (selfeval.findings,)}
"""Books of these forms (Department.form) get these checks instead of the targets' rules."""


def check(dept: Department, config: RulesConfig | None = None, *, book: str = "",
          extra: Sequence[Finding] = ()) -> Report:
    """Every finding for one department (``check_all`` of one)."""
    return check_all([dept], config, books=[book], extra=[list(extra)])[0]


def check_all(depts: Sequence[Department], config: RulesConfig | None = None, *,
              books: Sequence[str] | None = None,
              extra: Sequence[Sequence[Finding]] | None = None) -> list[Report]:
    """Validate many departments at once: pandera sees one frame per table for the whole batch,
    its failures are mapped back to each book's cells, then the rule functions run per book.
    A pure function of (models, rules) → reports; ``extra`` adds findings made elsewhere (a merge).
    """
    cfg = config or RulesConfig()
    found: list[list[Finding | None]] = [list(extra[b]) if extra else [] for b in range(len(depts))]
    # a monitoring, scoring or 绩效自评 book carries targets checked in their own book: only its
    # checks
    targets = [b for b, d in enumerate(depts) if d.form not in OWN_CHECKS]
    frames = frames_of([depts[b] for b in targets], parsed=False)
    keys = {t: (frames[t]["book"].to_numpy(), frames[t]["project"].to_numpy())
            for t in ("projects", "plan", "indicators")}
    rows: dict[str, Any] = {}  # the columns a finding looks up, as arrays (not a frame per look)
    for f in failures(frames, cfg):
        book_of, project_of = keys[f["table"]]
        b, i = targets[int(book_of[f["index"]])], int(project_of[f["index"]])
        if not rows:
            rows.update(indicators=frames["indicators"]["row"].to_numpy(),
                        plan=frames["plan"]["quarter"].to_numpy())
        found[b].append(finding_of(f, depts[b], depts[b].projects[i], rows, cfg))
    reports = []
    for b, dept in enumerate(depts):
        for rule_check in OWN_CHECKS.get(dept.form, CHECKS):
            found[b].extend(rule_check(dept, cfg))
        order = {p.sheet: i for i, p in enumerate(dept.projects)}
        findings = sorted((f for f in found[b] if f is not None),
                          key=lambda f: (f.severity != ERROR, f.sheet != SHEET_DEPARTMENT,
                                         order.get(f.sheet, len(order)), _cell_order(f.cell),
                                         f.code))
        reports.append(Report(book=books[b] if books else "", findings=findings))
    return reports


def validate_book(path: str | Path, config: RulesConfig | None = None) -> tuple[Department, Report]:
    """Read a book and check it (no output): the library's one-call form."""
    dept = read_book(path)
    return dept, check(dept, config, book=Path(path).name)


def _cell_order(cell: str) -> tuple[int, int]:
    return parse_a1(cell) or (-1, -1) if cell else (-1, -1)
