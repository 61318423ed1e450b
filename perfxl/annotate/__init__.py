"""Write validation findings into an .xlsx workbook by patching its XML parts inside the zip.

Why not openpyxl: a load/save round trip drops every cached formula value, pictures, comment box
formatting and every x14 extension, and users hand in books full of those. Here every part that
does not need to change is copied unchanged, in its zip order; the parts that do change are parsed
with lxml (which keeps namespace prefixes and ``mc:Ignorable`` declarations) and only elements
perfxl owns are added or removed (what they are is perfxl.marks'):

- live checks on each project sheet (perfxl.live_sheets): hidden formula cells from column AO,
  conditional formats driven by them, a status line, the sheet's and the book's names
  ``perfxl_live_errors`` / ``perfxl_live_warnings``;
- the 校验结果 sheet, right after 说明 (or first): the live totals, the full check's line, one
  row per finding with its status and a hyperlink to its cell;
- marks of the findings no live check covers: one ``conditionalFormatting`` block per severity
  and sheet whose rule is a constant formula only perfxl writes (``"perfxl"="perfxl"``), so the
  user's own cell styles stay untouched;
- notes on those: legacy comments authored ``perfxl`` (``commentsN.xml`` plus shapes in a VML
  drawing), ending with the time of the check.

Annotating again first removes what perfxl wrote before, so the result depends only on the
source, the findings and the book as read.

The modules: ``package`` (the zip, relationships, content types), ``workbook`` (workbook.xml,
locating findings, styles.xml), ``checks`` (a worksheet's live checks), ``sheet`` (a
worksheet's marks, notes and VML boxes), ``results`` (the 校验结果 sheet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import live
from ..findings import ERROR, WARNING, Finding
from ..layout import SHEET_GUIDE
from ..live_sheets import project_checks, targets
from ..marks import AUTHOR, ERROR_FORMULA, RESULT_SHEET, WARNING_FORMULA, result_summary
from ..progress import QUIET, Progress
from .checks import Strings, sheet_grid
from .package import _Package
from .results import _add_result_sheet
from .sheet import Live, _mark_worksheet
from .workbook import Cell, _Book, _deselect_tab, _ensure_styles, _locate_all

if TYPE_CHECKING:
    from ..live import SheetChecks
    from ..model import Department
    from ..rules import RulesConfig

__all__ = ["AUTHOR", "ERROR_FORMULA", "RESULT_SHEET", "WARNING_FORMULA", "annotate"]


def annotate(src: Path | bytes, dst: Path, findings: Sequence[Finding], *, checked_at: datetime,
             book_label: str = "", dept: Department | None = None,
             config: RulesConfig | None = None, built: Mapping[str, SheetChecks] | None = None,
             progress: Progress | None = None) -> None:
    """Write ``src`` (a path, or the book's bytes as read once) with ``findings`` marked in it
    to ``dst`` (written whole, not atomically: the caller writes a temporary file).

    With ``dept`` (the book as read, with its cell map) and ``config`` (the rules it was
    checked with), each project sheet gets its live checks (perfxl.live_sheets), replacing
    those perfxl placed before; a finding a live check covers is marked by it alone.
    ``built`` instead: the live checks of a book perfxl has just built (template.build), by
    sheet, already in place; they are not planned and placed again. Every
    other finding's cell gets a conditional format and a note. Adds the 校验结果 sheet (made
    the active tab), after removing whatever an earlier run left. Everything else is copied
    unchanged. Raises :class:`ReadError` when ``src`` is not an OOXML workbook this can patch.
    """
    pkg = _Package.open(src if isinstance(src, bytes) else Path(src))
    book = _Book(pkg)
    book.remove_sheet(RESULT_SHEET)
    for sheet in book.sheets:
        if sheet.part is not None:
            pkg.put(sheet.part, _deselect_tab(pkg.read(sheet.part)))
    ordered = sorted(findings, key=lambda f: _SEVERITY_RANK.get(f.severity, 2))
    located = _locate_all(pkg, book, ordered)
    styles = _ensure_styles(pkg, book)
    on_sheet: dict[str, list[int]] = {}
    for i, loc in enumerate(located):
        if loc.sheet is not None and loc.sheet.part is not None and loc.cell is not None:
            on_sheet.setdefault(loc.sheet.part, []).append(i)
    strings = Strings(pkg, book)
    projects = {p.sheet: p for p in targets(dept, [s.name for s in book.worksheets()])} \
        if dept is not None and built is None else {}
    by_name: dict[str, list[Finding]] = {}
    for f in ordered:
        by_name.setdefault(f.sheet, []).append(f)
    statuses: dict[int, str] = {}
    counts = [0, 0]
    recalc = stale = False
    sheet_names: dict[int | None, dict[str, str]] = {}
    tell = progress or QUIET
    tell.stage(MARKING, len(book.sheets))
    for position, sheet in enumerate(book.sheets):
        tell.advance()
        if sheet.kind != "worksheet" or sheet.part is None:
            continue
        mine = on_sheet.get(sheet.part, [])
        project = projects.get(sheet.name)
        checks = built.get(sheet.name) if built is not None else None
        if project is not None and dept is not None:
            g = sheet_grid(pkg.xml(sheet.part), sheet.name, strings)
            checks = project_checks(dept, project, g, config, by_name.get(sheet.name, ()))
        if checks is not None:
            counts[0] += checks.errors
            counts[1] += checks.warnings
            for i in mine:
                formula = checks.status(located[i].finding)
                if formula is not None:
                    statuses[i] = formula
        marks: dict[Cell, list[Finding]] = {}
        for i in mine:
            if i not in statuses:
                loc = located[i]
                assert loc.cell is not None
                marks.setdefault(loc.cell, []).append(loc.finding)
        removed = _mark_worksheet(pkg, sheet.part, marks, styles, checked_at=checked_at,
                                  live=Live(checks, strings) if project is not None else None)
        stale = stale or removed
        if project is not None or checks is not None:
            sheet_names[position] = {} if checks is None else \
                {k: v.lstrip("=") for k, v in checks.names().items()}
            recalc = recalc or checks is not None
    book.set_scoped_names(sheet_names, replace=_LIVE_NAMES)
    if stale:
        book.drop_calc_chain()
    if recalc:
        book.calculate_on_load()
    intro = book.index(SHEET_GUIDE)
    position = 0 if intro is None else intro + 1
    order = [s.name for s in book.sheets]
    order.insert(position, RESULT_SHEET)
    checked = book.scoped(live.NAME_ERRORS)
    book_names = live.book_names(RESULT_SHEET) if checked else {}
    book.set_names({k: v.lstrip("=") for k, v in book_names.items()}, replace=_LIVE_NAMES)
    _add_result_sheet(pkg, book, located, styles, result_summary(ordered, checked_at, book_label),
                      statuses=statuses, live_counts=(counts[0], counts[1]) if checked else None,
                      totals=live.book_totals(order, checked) if checked else None,
                      position=position)
    tell.stage(SAVING)
    pkg.save(Path(dst))


MARKING = "标注 (marking)"
SAVING = "保存 (saving)"
_SEVERITY_RANK = {ERROR: 0, WARNING: 1}
_LIVE_NAMES = (live.NAME_ERRORS, live.NAME_WARNINGS)
