"""A worksheet's marks and notes: perfxl's conditional formats, its legacy notes (comments part)
and their boxes in the sheet's VML drawing; a rerun removes what an earlier one left first."""

from __future__ import annotations

import bisect
import itertools
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ..findings import ERROR, Finding
from ..live import SheetChecks
from ..marks import AUTHOR, ERROR_FORMULA, MARK_FORMULAS, WARNING_FORMULA, note_text
from ..ooxml import MAIN, R
from ..styles import text_lines
from .checks import Strings, add_live, remove_live
from .package import (
    _VML_IDMAP,
    CT_COMMENTS,
    CT_VML,
    R_ID,
    REL_COMMENTS,
    REL_VML,
    WORKSHEET_ORDER,
    XML_SPACE,
    Cell,
    _add_rel,
    _child,
    _children,
    _delete_part,
    _el,
    _ensure_default,
    _free_vml_block,
    _insert_ordered,
    _local,
    _Package,
    _qname,
    _referenced,
    _Rel,
    _rels,
    _remove_rel,
    _set_override,
    _vml_blocks,
    _xml_text,
)
from .workbook import _a1, _parse_cell, _sqref, _Styles

_MARK_FORMULAS = frozenset(MARK_FORMULAS.values())

# ---------------------------------------------------------------------------------------------
# A worksheet: marks (conditional formats) and notes


def _mark_worksheet(pkg: _Package, part: str, cells: dict[Cell, list[Finding]],
                    styles: _Styles, *, checked_at: datetime | None = None,
                    live: Live | None = None) -> bool:
    """Replace perfxl's marks and notes on one worksheet (parsing it only when needed), and
    with ``live`` its live checks; True when formula cells perfxl wrote before were removed."""
    if live is None and not cells and b"perfxl" not in pkg.read(part) and \
            not _has_perfxl_notes(pkg, part):
        return False
    root = pkg.xml(part)
    changed = _remove_marks(root)
    removed = False
    if live is not None:
        gone, removed = remove_live(root, live.strings)
        changed = changed or gone
        if live.checks is not None:
            add_live(root, live.checks, styles, _max_priority(root))
            changed = True
    if cells:
        _add_marks(root, cells, styles)
        changed = True
    if _update_notes(pkg, part, root, cells, checked_at):
        changed = True
    if changed:
        pkg.touch(part)
    pkg.settle(part)
    return removed


@dataclass(frozen=True)
class Live:
    """A sheet whose live checks perfxl replaces: the new ones (None: the sheet gets none) and
    the book's shared strings (to recognise the old ones)."""

    checks: SheetChecks | None
    strings: Strings


def _has_perfxl_notes(pkg: _Package, part: str) -> bool:
    return any(rel.type == REL_COMMENTS and not rel.external and rel.target in pkg
               and AUTHOR.encode() in pkg.read(rel.target) for rel in _rels(pkg, part))


def _remove_marks(root: Any) -> bool:
    """Remove the cfRules whose formula is a perfxl constant (and blocks left empty)."""
    changed = False
    for block in _children(root, "conditionalFormatting"):
        ours = [rule for rule in _children(block, "cfRule")
                if (formulas := [(f.text or "").strip() for f in _children(rule, "formula")])
                and all(f in _MARK_FORMULAS for f in formulas)]
        for rule in ours:
            block.remove(rule)
        if ours and not _children(block, "cfRule"):
            root.remove(block)
        changed = changed or bool(ours)
    return changed


def _max_priority(root: Any) -> int:
    """The highest cfRule priority on the sheet, including rules in x14 extensions."""
    top = 0
    for child in root:
        if _local(child) in ("conditionalFormatting", "extLst"):
            for rule in child.iter("{*}cfRule"):
                value = rule.get("priority", "")
                if value.isdigit():
                    top = max(top, int(value))
    return top


def _add_marks(root: Any, cells: dict[Cell, list[Finding]], styles: _Styles) -> None:
    """One conditional format per severity; a cell with an error is marked as an error only."""
    errors = [cell for cell, found in cells.items() if any(f.severity == ERROR for f in found)]
    error_cells = frozenset(errors)
    others = [cell for cell in cells if cell not in error_cells]
    priority = _max_priority(root)
    for selection, formula, dxf in ((errors, ERROR_FORMULA, styles.error_dxf),
                                    (others, WARNING_FORMULA, styles.warning_dxf)):
        if not selection:
            continue
        priority += 1
        formula_el = _el(root, "formula")
        formula_el.text = formula
        rule = _el(root, "cfRule", formula_el, type="expression", dxfId=str(dxf),
                   priority=str(priority))
        _insert_ordered(root, _el(root, "conditionalFormatting", rule, sqref=_sqref(selection)),
                        WORKSHEET_ORDER)


def _update_notes(pkg: _Package, part: str, root: Any, cells: dict[Cell, list[Finding]],
                  checked_at: datetime | None = None) -> bool:
    """Replace perfxl's notes on one sheet, merging with the user's; True if the sheet changed.

    A cell that already has the user's note keeps it; the finding stays marked and listed.
    """
    rels = _rels(pkg, part)
    comments = next((r.target for r in rels if r.type == REL_COMMENTS and not r.external
                     and r.target in pkg), None)
    vml = _vml_part(pkg, root, rels)
    removed: set[Cell] = set()
    taken: set[Cell] = set()
    if comments is not None:
        croot = pkg.xml(comments)
        removed = _remove_perfxl_comments(croot)
        if removed:
            pkg.touch(comments)
        taken = {c for el in croot.iter("{*}comment") if (c := _parse_cell(el.get("ref", "")))}
    if vml is not None and removed:
        pkg.put(vml, _remove_note_shapes(pkg.read(vml), removed))
    notes = {cell: note_text(found, checked_at) for cell, found in sorted(cells.items())
             if cell not in taken}
    if notes:
        return _add_notes(pkg, part, root, notes, comments, vml)
    return _drop_empty_notes(pkg, part, root, comments, vml)


def _vml_part(pkg: _Package, root: Any, rels: list[_Rel]) -> str | None:
    legacy = _child(root, "legacyDrawing")
    rid = None if legacy is None else legacy.get(R_ID)
    return next((r.target for r in rels if r.id == rid and r.type == REL_VML and not r.external
                 and r.target in pkg), None)


def _remove_perfxl_comments(croot: Any) -> set[Cell]:
    """Remove comments authored by perfxl; returns their cells."""
    authors = _child(croot, "authors")
    names = [] if authors is None else _children(authors, "author")
    ours = {str(i) for i, a in enumerate(names) if (a.text or "").strip() == AUTHOR}
    removed: set[Cell] = set()
    for comment in list(croot.iter("{*}comment")):
        if comment.get("authorId") in ours:
            comment.getparent().remove(comment)
            if cell := _parse_cell(comment.get("ref", "")):
                removed.add(cell)
    if names and str(len(names) - 1) in ours:  # perfxl appended itself last: take it out again
        authors.remove(names[-1])
    return removed


def _add_notes(pkg: _Package, part: str, root: Any, notes: dict[Cell, str],
               comments: str | None, vml: str | None) -> bool:
    folder = posixpath.dirname(posixpath.dirname(part))  # xl/worksheets/sheet1.xml → xl
    changed = False
    if vml is None:
        vml = pkg.free_name(posixpath.join(folder, "drawings", "vmlDrawing{}.vml"))
        pkg.put(vml, _new_vml(_free_vml_block(pkg)))
        rid = _add_rel(pkg, part, REL_VML, vml)
        _ensure_default(pkg, "vml", CT_VML)
        legacy = _child(root, "legacyDrawing")
        if legacy is None:
            # declare r: where it is used if the sheet lacks it (rather than an ns0: prefix)
            nsmap = None if R in root.nsmap.values() or "r" in root.nsmap else {"r": R}
            legacy = etree.Element(_qname(root, "legacyDrawing"), nsmap=nsmap)
            _insert_ordered(root, legacy, WORKSHEET_ORDER)
        legacy.set(R_ID, rid)
        changed = True
    shapes = _add_note_shapes(pkg, pkg.read(vml), notes, _Geometry(root))
    if shapes is None:  # a VML drawing we cannot safely extend: keep the marks, skip the notes
        return changed
    pkg.put(vml, shapes)
    if comments is None:
        comments = pkg.free_name(posixpath.join(folder, "comments{}.xml"))
        pkg.put_xml(comments, etree.Element(f"{{{MAIN}}}comments", nsmap={None: MAIN}))
        _add_rel(pkg, part, REL_COMMENTS, comments)
        _set_override(pkg, comments, CT_COMMENTS)
    _add_comments(pkg.edit(comments), notes)
    return changed


def _drop_empty_notes(pkg: _Package, part: str, root: Any, comments: str | None,
                      vml: str | None) -> bool:
    """Remove a comments part and VML drawing left with nothing in them (i.e. perfxl's own)."""
    changed = False
    rels = _rels(pkg, part)
    if comments is not None and not any(True for _ in pkg.xml(comments).iter("{*}comment")):
        for rel in rels:
            if rel.target == comments:
                _remove_rel(pkg, part, rel.id)
        _delete_part(pkg, comments)
    if vml is not None and not _VML_SHAPE.search(pkg.read(vml)):
        legacy = _child(root, "legacyDrawing")
        _remove_rel(pkg, part, legacy.get(R_ID, ""))
        root.remove(legacy)
        if not _referenced(pkg, vml):
            _delete_part(pkg, vml)
        changed = True
    return changed


def _add_comments(croot: Any, notes: dict[Cell, str]) -> None:
    authors = _child(croot, "authors")
    if authors is None:
        authors = _el(croot, "authors")
        croot.insert(0, authors)
    names = [(a.text or "").strip() for a in _children(authors, "author")]
    if AUTHOR not in names:
        etree.SubElement(authors, _qname(croot, "author")).text = AUTHOR
        names.append(AUTHOR)
    author_id = str(names.index(AUTHOR))
    comment_list = _child(croot, "commentList")
    if comment_list is None:
        comment_list = _el(croot, "commentList")
        authors.addnext(comment_list)
    for cell, text in notes.items():
        t = _el(croot, "t")
        t.text = _xml_text(text)
        t.set(XML_SPACE, "preserve")
        comment_list.append(_el(croot, "comment", _el(croot, "text", t), ref=_a1(cell),
                                authorId=author_id, shapeId="0"))


# ---------------------------------------------------------------------------------------------
# VML drawings (legacy note boxes)
#
# Excel's VML is not always well-formed XML (form-control labels carry HTML fragments), so it is
# edited as bytes: perfxl's shapes are whole <v:shape> blocks appended before </xml> and found
# again by their ClientData (a Note at a row and column whose comment perfxl wrote).

_VML_V = b"urn:schemas-microsoft-com:vml"
_VML_O = b"urn:schemas-microsoft-com:office:office"
_VML_X = b"urn:schemas-microsoft-com:office:excel"
_VML_SHAPE = re.compile(rb"<(?P<p>(?:[\w.-]+:)?)shape\b[^>]*?(?:/>|>.*?</(?P=p)shape\s*>)", re.S)
_VML_ROW = re.compile(rb"<(?:[\w.-]+:)?Row>\s*(\d+)\s*</")
_VML_COLUMN = re.compile(rb"<(?:[\w.-]+:)?Column>\s*(\d+)\s*</")
_VML_NOTE = re.compile(rb"""ObjectType\s*=\s*["']Note["']""")
_VML_SHAPE_ID = re.compile(rb"_x0000_s(\d+)")
_VML_TYPE_202 = re.compile(rb"""<(?:[\w.-]+:)?shapetype\b[^>]*\bo:spt\s*=\s*["']202["'][^>]*>""")
_VML_ID = re.compile(rb"""\bid\s*=\s*["']([^"']+)["']""")
_VML_ROOT = re.compile(rb"<xml\b[^>]*>")
_SHAPETYPE_202 = (
    b'<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
    b'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
    b'<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)


def _new_vml(block: int) -> bytes:
    return (b'<xml xmlns:v="' + _VML_V + b'" xmlns:o="' + _VML_O + b'" xmlns:x="' + _VML_X
            + b'"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="'
            + str(block).encode() + b'"/></o:shapelayout>' + _SHAPETYPE_202 + b"</xml>")




def _remove_note_shapes(vml: bytes, cells: set[Cell]) -> bytes:
    def keep(match: re.Match[bytes]) -> bytes:
        shape = match.group(0)
        row, col = _VML_ROW.search(shape), _VML_COLUMN.search(shape)
        if _VML_NOTE.search(shape) and row and col and \
                (int(row.group(1)) + 1, int(col.group(1)) + 1) in cells:
            return b""
        return shape
    return _VML_SHAPE.sub(keep, vml)


def _ensure_vml_basics(vml: bytes) -> tuple[bytes, bytes] | None:
    """Make sure the v/o/x prefixes are declared and a note shapetype (202) exists.

    Returns the drawing and the ``type`` reference for note shapes, or None when a prefix is bound
    to something else (then we leave the drawing alone).
    """
    root = _VML_ROOT.search(vml)
    if root is None or b"</xml>" not in vml:
        return None
    tag = root.group(0)
    extra = b""
    for prefix, uri in ((b"v", _VML_V), (b"o", _VML_O), (b"x", _VML_X)):
        declared = re.search(rb"xmlns:" + prefix + rb"""\s*=\s*["']([^"']*)["']""", tag)
        if declared is None:
            extra += b" xmlns:" + prefix + b'="' + uri + b'"'
        elif declared.group(1) != uri:
            return None
    if extra:
        vml = vml[:root.start()] + tag[:-1] + extra + tag[-1:] + vml[root.end():]
    shapetype = _VML_TYPE_202.search(vml)
    if shapetype is not None:
        found = _VML_ID.search(shapetype.group(0))
        if found is not None:
            return vml, b"#" + found.group(1)
    first = _VML_SHAPE.search(vml)
    at = first.start() if first else vml.rindex(b"</xml>")
    return vml[:at] + _SHAPETYPE_202 + vml[at:], b"#_x0000_t202"


def _add_note_shapes(pkg: _Package, vml: bytes, notes: dict[Cell, str],
                     geometry: _Geometry) -> bytes | None:
    basics = _ensure_vml_basics(vml)
    if basics is None:
        return None
    vml, shape_type = basics
    used = {int(n) for n in _VML_SHAPE_ID.findall(vml)}
    blocks = _vml_blocks(vml)
    if not blocks:
        return None
    free = [n for b in blocks for n in range(b * 1024 + 1, b * 1024 + 1024) if n not in used]
    while len(free) < len(notes):  # claim another block of shape ids
        block = _free_vml_block(pkg, blocks)
        blocks.append(block)
        free.extend(range(block * 1024 + 1, block * 1024 + 1024))
        vml = _VML_IDMAP.sub(lambda m: m.group(1) + m.group(2) + ",".join(
            map(str, blocks)).encode() + m.group(2), vml, count=1)
    z = len(_VML_SHAPE.findall(vml))
    shapes = b"".join(_note_shape(shape_id, shape_type, z + i + 1, cell, text, geometry)
                      for i, (shape_id, (cell, text)) in enumerate(zip(free, notes.items(),
                                                                        strict=False)))
    at = vml.rindex(b"</xml>")
    return vml[:at] + shapes + vml[at:]


def _note_shape(shape_id: int, shape_type: bytes, z: int, cell: Cell, text: str,
                geometry: _Geometry) -> bytes:
    row, col = cell
    anchor, (left, top, width, height) = geometry.note_box(cell, _note_lines(text))
    style = (f"position:absolute;margin-left:{left:g}pt;margin-top:{top:g}pt;width:{width:g}pt;"
             f"height:{height:g}pt;z-index:{z};visibility:hidden")
    return (
        f'<v:shape id="_x0000_s{shape_id}" type="{shape_type.decode()}" style="{style}" '
        'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
        '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
        '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f"<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill>"
        f"<x:Row>{row - 1}</x:Row><x:Column>{col - 1}</x:Column></x:ClientData></v:shape>"
    ).encode()


def _note_lines(text: str) -> int:
    return text_lines(text, 40)  # the note box is about 40 half-width characters wide


class _Geometry:
    """Column widths and row heights of a sheet in pixels, to place and size note boxes."""

    NOTE_WIDTH = 270  # px, about 20 Chinese characters at 9 pt

    def __init__(self, root: Any) -> None:
        fmt = _child(root, "sheetFormatPr")
        fmt_get = (lambda k: None) if fmt is None else fmt.get
        base = fmt_get("baseColWidth")
        default_width = fmt_get("defaultColWidth")
        self.default_col = (round(float(default_width) * 7) if default_width
                            else int(base) * 7 + 8 if base and base.isdigit() else 64)
        self.default_row = round(float(fmt_get("defaultRowHeight") or 15) * 4 / 3)
        # (first, last, pixels) of each <col> element, a later one winning (a sheet's columns
        # may be formatted to XFD: looked up, not spread over 16,384 columns)
        self.cols: list[tuple[int, int, int]] = []
        for col in [] if _child(root, "cols") is None else _children(_child(root, "cols"), "col"):
            px = 0 if col.get("hidden") in ("1", "true") else round(
                float(col.get("width", self.default_col / 7)) * 7)
            self.cols.append((int(col.get("min", "1")), min(int(col.get("max", "1")), 16384), px))
        self.cols.reverse()
        self.rows: dict[int, int] = {}
        data = _child(root, "sheetData")
        for row in [] if data is None else data:
            if row.get("ht") or row.get("hidden") in ("1", "true"):
                r = int(row.get("r", "0") or 0)
                self.rows[r] = 0 if row.get("hidden") in ("1", "true") else round(
                    float(row.get("ht", "15")) * 4 / 3)
        self._custom = sorted(self.rows)
        deltas = [self.rows[r] - self.default_row for r in self._custom]
        self._prefix = list(itertools.accumulate(deltas, initial=0))

    def col(self, n: int) -> int:
        return next((px for first, last, px in self.cols if first <= n <= last), self.default_col)

    def row(self, n: int) -> int:
        return self.rows.get(n, self.default_row)

    def left(self, col: int) -> int:
        return sum(self.col(n) for n in range(1, col))

    def top(self, row: int) -> int:
        before = bisect.bisect_left(self._custom, row)
        return (row - 1) * self.default_row + self._prefix[before]

    def note_box(self, cell: Cell, lines: int) -> tuple[str, tuple[float, ...]]:
        """The ``x:Anchor`` (0-based columns/rows + pixel offsets) and the style box in pt.

        Like Excel's own: one column right of the cell, starting a row above it.
        """
        row, col = cell
        height = min(max(lines * 16 + 14, 60), 600)
        first_col, first_row = col + 1, max(row - 1, 1)
        col_off, row_off = 15, (10 if row > 1 else 2)
        last_col, right = self._walk(self.col, first_col, col_off + self.NOTE_WIDTH, 16384)
        last_row, bottom = self._walk(self.row, first_row, row_off + height, 1_048_576)
        anchor = (f"{first_col - 1}, {col_off}, {first_row - 1}, {row_off}, "
                  f"{last_col - 1}, {right}, {last_row - 1}, {bottom}")
        box = (self.left(first_col) + col_off, self.top(first_row) + row_off,
               self.NOTE_WIDTH, height)
        return anchor, tuple(round(px * 0.75, 2) for px in box)

    @staticmethod
    def _walk(size: Any, start: int, length: int, limit: int) -> tuple[int, int]:
        n = start
        while n < limit and length >= size(n):
            length -= size(n)
            n += 1
        return n, length


