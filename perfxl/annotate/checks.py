"""A worksheet's live checks (perfxl.live, chosen by perfxl.live_sheets) in its XML: the sheet as
the reader sees it (to plan them), perfxl's previous live cells and formula marks taken out, the
new ones put in (hidden cells, conditional formats, hidden columns).

perfxl's live cells are recognised as the reader recognises them (layout.without_live_cells:
rows 1–4 from column AO, when AQ2 holds a rule's code), its status line by its text, its live
marks by their formulas (marks.is_live_mark); the user's own cells, formats and columns stay.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from .. import live
from ..layout import FIRST_TEST_COLUMN, LIVE_COLUMN, LIVE_LAST_COLUMN, LIVE_ROWS, STATUS_TITLE, a1
from ..marks import is_live_mark
from ..ooxml import R
from ..read import Grid
from .package import (
    WORKSHEET_ORDER,
    Cell,
    _child,
    _children,
    _el,
    _ensure_child,
    _insert_ordered,
    _Package,
    _qname,
    _rels,
    _xml_text,
)
from .workbook import _a1, _Book, _parse_cell, _Styles

REL_SHARED_STRINGS = R + "/sharedStrings"


class Strings:
    """The book's shared strings, read when a cell first needs them."""

    def __init__(self, pkg: _Package, book: _Book) -> None:
        self.pkg, self.book = pkg, book
        self._items: list[str] | None = None

    def __getitem__(self, index: int) -> str:
        if self._items is None:
            part = next((rel.target for rel in _rels(self.pkg, self.book.part)
                         if rel.type == REL_SHARED_STRINGS and rel.target in self.pkg), None)
            self._items = [] if part is None else [
                "".join(t.text or "" for t in si.iter("{*}t"))
                for si in self.pkg.xml(part).iterchildren("{*}si")]
        return self._items[index] if 0 <= index < len(self._items) else ""


def cell_value(c: Any, strings: Strings) -> Any:
    """What a ``<c>`` holds (the cached value of a formula), as the reader takes it."""
    kind = c.get("t", "n")
    if kind == "inlineStr":
        box = _child(c, "is")
        return None if box is None else "".join(t.text or "" for t in box.iter("{*}t"))
    v = _child(c, "v")
    if v is None or v.text is None:
        return None
    if kind == "s":
        return strings[int(v.text)] if v.text.strip().isdigit() else None
    if kind in ("str", "e"):
        return v.text
    if kind == "b":
        return v.text.strip() in ("1", "true")
    try:
        return float(v.text)
    except ValueError:
        return v.text


def sheet_grid(root: Any, name: str, strings: Strings) -> Grid:
    """The sheet as the reader sees it (values and merged ranges; perfxl's live cells left out
    by Grid itself)."""
    cells: dict[int, dict[int, Any]] = {}
    data = _child(root, "sheetData")
    for row in [] if data is None else data.iterchildren("{*}row"):
        for c in row.iterchildren("{*}c"):
            at = _parse_cell(c.get("r", ""))
            value = cell_value(c, strings) if at is not None else None
            if at is not None and value is not None and value != "":
                cells.setdefault(at[0] - 1, {})[at[1] - 1] = value
    height = max(cells, default=-1) + 1
    rows: list[list[Any]] = []
    for r in range(height):
        found = cells.get(r, {})
        width = max(found, default=-1) + 1
        rows.append([found.get(c) for c in range(width)])
    merges = []
    box = _child(root, "mergeCells")
    for m in [] if box is None else _children(box, "mergeCell"):
        first, _, last = m.get("ref", "").partition(":")
        start, end = _parse_cell(first), _parse_cell(last or first)
        if start and end:
            merges.append((start[0] - 1, start[1] - 1, end[0] - 1, end[1] - 1))
    return Grid(name, rows, merges)


# --- taking perfxl's live checks out -----------------------------------------------------------

def remove_live(root: Any, strings: Strings) -> tuple[bool, bool]:
    """Remove perfxl's live cells, status line and live marks from a sheet: (changed, whether
    formula cells were removed)."""
    changed = formulas = False
    for block in _children(root, "conditionalFormatting"):
        ours = [rule for rule in _children(block, "cfRule")
                if any(is_live_mark(f.text or "") for f in _children(rule, "formula"))]
        for rule in ours:
            block.remove(rule)
        if ours and not _children(block, "cfRule"):
            root.remove(block)
        changed = changed or bool(ours)
    data = _child(root, "sheetData")
    if data is None:
        return changed, formulas
    rows = {int(r.get("r", "0")): r for r in data.iterchildren("{*}row")
            if r.get("r", "").isdigit() and int(r.get("r")) <= LIVE_ROWS}
    if not _ours(rows, strings):
        return changed, formulas
    for number, row in rows.items():
        for c in list(row.iterchildren("{*}c")):
            at = _parse_cell(c.get("r", ""))
            if at is None:
                continue
            value = cell_value(c, strings)
            if at[1] - 1 >= LIVE_COLUMN or (number == 1 and isinstance(value, str)
                                            and value.startswith(STATUS_TITLE)):
                formulas = formulas or _child(c, "f") is not None
                row.remove(c)
                changed = True
        if not len(row) and set(row.attrib) <= {"r", "spans"}:
            data.remove(row)  # a row perfxl added for its cells
    return changed, formulas


def _ours(rows: dict[int, Any], strings: Strings) -> bool:
    """AQ2 holds a rule's code: the live cells are perfxl's (layout.without_live_cells)."""
    marker = a1(1, FIRST_TEST_COLUMN)
    row = rows.get(2)
    for c in [] if row is None else row.iterchildren("{*}c"):
        if c.get("r") == marker:
            value = cell_value(c, strings)
            return isinstance(value, str) and value.startswith("PX")
    return False


# --- putting them in ---------------------------------------------------------------------------

def add_live(root: Any, checks: live.SheetChecks, styles: _Styles, priority: int) -> int:
    """Place ``checks`` on the sheet; returns the last conditional-format priority used."""
    data = _ensure_child(root, "sheetData", WORKSHEET_ORDER)
    rows: dict[int, dict[int, Any]] = {}
    for c in checks.cells:
        at = _parse_cell(c.ref)
        assert at is not None
        style = styles.xf["live" if c.hidden else "live-status"]
        rows.setdefault(at[0], {})[at[1]] = _cell(data, c, style)
    _put_rows(data, rows)
    _hide_columns(root, LIVE_COLUMN + 1, LIVE_LAST_COLUMN + 1)
    _extend_dimension(root, [_parse_cell(c.ref) for c in checks.cells])
    dxf = {"error": styles.error_dxf, "warning": styles.warning_dxf}
    blocks = []
    for m in checks.marks:
        priority += 1
        formula = _el(root, "formula")
        formula.text = m.formula
        rule = _el(root, "cfRule", formula, type="expression", dxfId=str(dxf[m.severity]),
                   priority=str(priority))
        blocks.append(_el(root, "conditionalFormatting", rule, sqref=m.ref))
    previous = None
    for block in blocks:  # in schema order, after the sheet's own conditional formats
        if previous is None:
            _insert_ordered(root, block, WORKSHEET_ORDER)
        else:
            previous.addnext(block)
        previous = block
    return priority


def _cell(context: Any, c: live.Cell, style: int) -> Any:
    el = _el(context, "c", r=c.ref, s=str(style))
    if c.formula is None:
        el.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(el, _qname(context, "is")), _qname(context, "t"))
        t.text = _xml_text(str(c.value))
        return el
    f = etree.SubElement(el, _qname(context, "f"))
    f.text = c.formula[1:] if c.formula.startswith("=") else c.formula
    if c.array:
        f.set("t", "array")
        f.set("ref", c.ref)
    if isinstance(c.value, str):
        el.set("t", "str")
    if c.value is not None:
        etree.SubElement(el, _qname(context, "v")).text = _xml_text(str(c.value))
    return el


def _put_rows(data: Any, rows: dict[int, dict[int, Any]]) -> None:
    """Put new cells (row → column → ``<c>``) into the sheet, replacing cells there, rows
    and cells in order."""
    existing: dict[int, Any] = {}
    for row in data.iterchildren("{*}row"):
        n = int(row.get("r", "0") or 0)
        if n in rows:
            existing[n] = row
    for number in sorted(rows):
        row = existing.get(number)
        if row is None:
            row = _el(data, "row", r=str(number))
            after = next((r for r in data.iterchildren("{*}row")
                          if int(r.get("r", "0") or 0) > number), None)
            if after is not None:
                after.addprevious(row)
            else:
                data.append(row)
        row.attrib.pop("spans", None)  # a hint only; it would no longer cover the row's cells
        cells: dict[int, Any] = {}
        for c in row.iterchildren("{*}c"):
            at = _parse_cell(c.get("r", ""))
            cells[at[1] if at else 0] = c
        cells.update(rows[number])
        for c in list(row.iterchildren("{*}c")):
            row.remove(c)
        extra = [el for el in row if _local_name(el) != "c"]  # e.g. extLst, after the cells
        for el in extra:
            row.remove(el)
        row.extend(cells[col] for col in sorted(cells))
        row.extend(extra)


def _local_name(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _hide_columns(root: Any, first: int, last: int) -> None:
    """Hide columns ``first``..``last`` (1-based), splitting the sheet's column ranges."""
    cols = _child(root, "cols")
    if cols is None:
        cols = _insert_ordered(root, _el(root, "cols"), WORKSHEET_ORDER)
    items: list[Any] = []
    covered: list[tuple[int, int]] = []
    for col in _children(cols, "col"):
        lo, hi = int(col.get("min", "1")), int(col.get("max", "1"))
        cols.remove(col)
        if hi < first or lo > last:
            items.append(col)
            continue
        for a, b, hide in ((lo, first - 1, False), (max(lo, first), min(hi, last), True),
                           (last + 1, hi, False)):
            if a > b:
                continue
            part = copy.deepcopy(col)
            part.set("min", str(a))
            part.set("max", str(b))
            if hide:
                part.set("hidden", "1")
                covered.append((a, b))
            items.append(part)
    at = first
    for a, b in [*sorted(covered), (last + 1, last + 1)]:
        if a > at:
            items.append(_el(cols, "col", min=str(at), max=str(a - 1), width="0", hidden="1",
                             customWidth="1"))
        at = max(at, b + 1)
    for col in sorted(items, key=lambda el: int(el.get("min", "1"))):
        cols.append(col)


def _extend_dimension(root: Any, cells: Iterable[Cell | None]) -> None:
    dim = _child(root, "dimension")
    if dim is None:
        return
    first, _, last = dim.get("ref", "A1").partition(":")
    corners = [c for c in (_parse_cell(first), _parse_cell(last or first), *cells) if c]
    top = (min(r for r, _ in corners), min(c for _, c in corners))
    bottom = (max(r for r, _ in corners), max(c for _, c in corners))
    ref = _a1(top) if top == bottom else f"{_a1(top)}:{_a1(bottom)}"
    if ref != dim.get("ref"):
        dim.set("ref", ref)


__all__ = ["Strings", "add_live", "cell_value", "remove_live", "sheet_grid"]
