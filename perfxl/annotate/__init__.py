"""Write validation findings into an .xlsx workbook by patching its XML parts inside the zip.

Why not openpyxl: a load/save round trip drops every cached formula value, pictures, comment box
formatting and every x14 extension, and users hand in books full of those. Here every part that
does not need to change is copied unchanged, in its zip order; the parts that do change are parsed
with lxml (which keeps namespace prefixes and ``mc:Ignorable`` declarations) and only elements
perfxl owns are added or removed (what they are is perfxl.marks'):

- the 校验结果 sheet, right after 说明 (or first), one row per finding with a hyperlink to its cell;
- marks: one ``conditionalFormatting`` block per severity and sheet whose rule is a constant
  formula only perfxl writes (``"perfxl"="perfxl"``), so the user's own cell styles stay untouched;
- notes: legacy comments authored ``perfxl`` (``commentsN.xml`` plus shapes in a VML drawing).

Annotating again first removes all three, so the result depends only on the source and findings.

The modules: ``package`` (the zip, relationships, content types), ``workbook`` (workbook.xml,
locating findings, styles.xml), ``sheet`` (a worksheet's marks, notes and VML boxes),
``results`` (the 校验结果 sheet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..findings import ERROR, WARNING, Finding
from ..marks import AUTHOR, ERROR_FORMULA, RESULT_SHEET, WARNING_FORMULA, result_summary
from .package import _Package
from .results import _add_result_sheet
from .sheet import _mark_worksheet
from .workbook import Cell, _Book, _deselect_tab, _ensure_styles, _locate_all

__all__ = ["AUTHOR", "ERROR_FORMULA", "RESULT_SHEET", "WARNING_FORMULA", "annotate"]


def annotate(src: Path | bytes, dst: Path, findings: Sequence[Finding], *, checked_at: datetime,
             book_label: str = "") -> None:
    """Write ``src`` (a path, or the book's bytes as read once) with ``findings`` marked in it
    to ``dst`` (written whole, not atomically: the caller writes a temporary file).

    Adds the 校验结果 sheet (made the active tab), marks each finding's cell with a conditional
    format and a note, after removing whatever an earlier run left. Everything else is copied
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
    marks: dict[str, dict[Cell, list[Finding]]] = {}
    for loc in located:
        if loc.sheet is not None and loc.sheet.part is not None and loc.cell is not None:
            marks.setdefault(loc.sheet.part, {}).setdefault(loc.cell, []).append(loc.finding)
    for sheet in book.worksheets():
        assert sheet.part is not None
        _mark_worksheet(pkg, sheet.part, marks.get(sheet.part, {}), styles)
    _add_result_sheet(pkg, book, located, styles, result_summary(ordered, checked_at, book_label))
    pkg.save(Path(dst))


_SEVERITY_RANK = {ERROR: 0, WARNING: 1}
