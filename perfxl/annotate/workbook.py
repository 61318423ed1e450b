"""workbook.xml (its sheets, defined names and views), where each finding goes on which
worksheet, and styles.xml (the two mark formats and the cell styles of the 校验结果 sheet)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ..errors import ReadError
from ..findings import Finding
from ..layout import column_letters, parse_a1
from ..marks import ERROR_FILL, ERROR_FONT, PASS_FONT, WARNING_FILL, WARNING_FONT, Merge, anchor
from ..ooxml import CT_STYLES, MAIN, REL_DOCUMENT, REL_STYLES, REL_WORKSHEET
from ..styles import GRID, HEADER_FILL, LINK, argb
from .package import (
    R_ID,
    REL_CALC_CHAIN,
    STRICT_MAIN,
    STYLES_ORDER,
    WORKBOOK_ORDER,
    Cell,
    _add_rel,
    _append_unique,
    _child,
    _children,
    _delete_part,
    _el,
    _ensure_child,
    _local,
    _Package,
    _qname,
    _rels,
    _remove_rel,
    _set_override,
)

# ---------------------------------------------------------------------------------------------
# Cell addresses




def _parse_cell(ref: str) -> Cell | None:
    """``C4`` / ``$C$4`` (or the top-left of ``C4:D6``) as 1-based (row, column); None if invalid."""
    found = parse_a1(ref.split(":")[0])
    return None if found is None else (found[0] + 1, found[1] + 1)


def _column(col: int) -> str:
    """1-based column → letters."""
    return column_letters(col - 1)


def _a1(cell: Cell) -> str:
    return f"{_column(cell[1])}{cell[0]}"


def _sqref(cells: Iterable[Cell]) -> str:
    """Cells as a compact sqref: runs of consecutive rows in a column become ``C4:C9``."""
    by_col: dict[int, list[int]] = {}
    for row, col in cells:
        by_col.setdefault(col, []).append(row)
    ranges: list[tuple[int, int, int]] = []  # (first row, column, last row)
    for col, rows in by_col.items():
        for n in sorted(set(rows)):
            if ranges and ranges[-1][1] == col and ranges[-1][2] == n - 1:
                ranges[-1] = (ranges[-1][0], col, n)
            else:
                ranges.append((n, col, n))
    return " ".join(_a1((r1, c)) if r1 == r2 else f"{_a1((r1, c))}:{_a1((r2, c))}"
                    for r1, c, r2 in sorted(ranges))


# ---------------------------------------------------------------------------------------------
# workbook.xml: sheets, defined names, views


@dataclass
class _Sheet:
    name: str
    part: str | None  # zip member, None when the relationship is broken
    kind: str         # worksheet, chartsheet, dialogsheet, …
    element: Any


class _Book:
    """workbook.xml with its sheets; keeps everything indexed by sheet position consistent."""

    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.part = self._find_part()
        self.root = pkg.xml(self.part)
        namespace = etree.QName(self.root).namespace
        if namespace == STRICT_MAIN:
            raise ReadError("暂不支持 Strict Open XML 格式的工作簿,请在 Excel 中另存为普通 xlsx",
                            "Strict Open XML workbooks are not supported; save as a normal .xlsx")
        if namespace != MAIN or _local(self.root) != "workbook":
            raise ReadError("不是 Excel 工作簿", "the package's main part is not a workbook")
        rels = {rel.id: rel for rel in _rels(pkg, self.part)}
        sheets_el = _child(self.root, "sheets")
        if sheets_el is None:
            raise ReadError("工作簿没有工作表", "the workbook has no <sheets>")
        self.sheets_el = sheets_el
        self.sheets: list[_Sheet] = []
        for el in _children(sheets_el, "sheet"):
            rel = rels.get(el.get(R_ID, ""))
            part = rel.target if rel and not rel.external and rel.target in pkg else None
            kind = rel.type.rsplit("/", 1)[-1] if rel else ""
            self.sheets.append(_Sheet(el.get("name", ""), part, kind, el))
        self.styles_part = next((rel.target for rel in rels.values()
                                 if rel.type == REL_STYLES and rel.target in pkg), None)

    def _find_part(self) -> str:
        rels = _rels(self.pkg, "") if "_rels/.rels" in self.pkg else []
        part = next((rel.target for rel in rels if rel.type == REL_DOCUMENT), "xl/workbook.xml")
        if part not in self.pkg:
            raise ReadError("不是 Excel 工作簿(缺少 workbook 部件)", "no workbook part in the package")
        if not part.lower().endswith(".xml"):
            raise ReadError("不支持的工作簿格式(如 xlsb),请另存为 xlsx",
                            f"unsupported workbook part {part} (xlsb?); save as .xlsx")
        return part

    def worksheets(self) -> list[_Sheet]:
        return [s for s in self.sheets if s.kind == "worksheet" and s.part is not None]

    def find(self, name: str) -> _Sheet | None:
        """The worksheet called ``name`` (Excel compares sheet names case-insensitively)."""
        sheets = self.worksheets()
        exact = next((s for s in sheets if s.name == name), None)
        return exact or next((s for s in sheets if s.name.casefold() == name.casefold()), None)

    def index(self, name: str) -> int | None:
        return next((i for i, s in enumerate(self.sheets) if s.name == name), None)

    def remove_sheet(self, name: str) -> None:
        """Remove a sheet with its part, relationship, content type and local names."""
        index = self.index(name)
        if index is None:
            return
        sheet = self.sheets.pop(index)
        self.pkg.touch(self.part)
        self.sheets_el.remove(sheet.element)
        _remove_rel(self.pkg, self.part, sheet.element.get(R_ID, ""))
        if sheet.part is not None:
            _delete_part(self.pkg, sheet.part)
        self._drop_calc_chain(sheet.element.get("sheetId", ""))
        self._shift(index, -1)

    def _drop_calc_chain(self, sheet_id: str) -> None:
        """Drop calcChain.xml if it lists cells of the removed sheet (by sheetId).

        Entries for a sheet that is gone make Excel "repair" the book; the chain is only a cache
        that Excel rebuilds, so dropping it is safe.
        """
        entry = re.compile(rb"""\bi\s*=\s*["']""" + re.escape(sheet_id.encode()) + rb"""["']""")
        for rel in _rels(self.pkg, self.part):
            if rel.type == REL_CALC_CHAIN and rel.target in self.pkg and \
                    entry.search(self.pkg.read(rel.target)):
                _remove_rel(self.pkg, self.part, rel.id)
                _delete_part(self.pkg, rel.target)

    def insert_sheet(self, position: int, name: str, part: str) -> None:
        """Insert a worksheet at ``position`` and make it the active tab."""
        self.pkg.touch(self.part)
        rid = _add_rel(self.pkg, self.part, REL_WORKSHEET, part)
        ids = [int(s.element.get("sheetId", "0")) for s in self.sheets
               if s.element.get("sheetId", "").isdigit()]
        el = etree.Element(_qname(self.root, "sheet"))
        el.set("name", name)
        el.set("sheetId", str(max(ids, default=0) + 1))
        el.set(R_ID, rid)
        if position < len(self.sheets):
            self.sheets[position].element.addprevious(el)
        else:
            self.sheets_el.append(el)
        self.sheets.insert(position, _Sheet(name, part, "worksheet", el))
        self._shift(position, +1)
        self._activate(position)

    def _shift(self, index: int, delta: int) -> None:
        """Renumber sheet positions after removing (-1) or inserting (+1) the sheet at ``index``.

        ``definedName/@localSheetId`` and the views' ``activeTab``/``firstSheet`` are positions,
        not ids; a print area left pointing at the wrong sheet is silently wrong in Excel.
        """
        names = _child(self.root, "definedNames")
        for dn in [] if names is None else _children(names, "definedName"):
            local = dn.get("localSheetId", "")
            if not local.isdigit():
                continue
            if delta < 0 and int(local) == index:
                names.remove(dn)
            elif int(local) > index or (delta > 0 and int(local) == index):
                dn.set("localSheetId", str(int(local) + delta))
        if names is not None and not _children(names, "definedName"):
            self.root.remove(names)
        for view in self._views():
            for attr in ("activeTab", "firstSheet"):
                value = view.get(attr, "")
                if value.isdigit() and (int(value) > index or (delta > 0 and int(value) == index)):
                    view.set(attr, str(int(value) + delta))

    def _views(self) -> list[Any]:
        views = _child(self.root, "bookViews")
        return [] if views is None else _children(views, "workbookView")

    def _activate(self, position: int) -> None:
        """Make ``position`` the active tab; scroll the tab bar so that it is visible."""
        if not self._views():
            views = _ensure_child(self.root, "bookViews", WORKBOOK_ORDER)
            views.append(etree.Element(_qname(self.root, "workbookView")))
        for view in self._views():
            view.set("activeTab", str(position))
            first = view.get("firstSheet", "")
            if first.isdigit() and int(first) > position:
                view.set("firstSheet", str(position))

    def add_local_name(self, name: str, position: int, formula: str, *, hidden: bool) -> None:
        names = _ensure_child(self.root, "definedNames", WORKBOOK_ORDER)
        el = etree.SubElement(names, _qname(self.root, "definedName"))
        el.set("name", name)
        el.set("localSheetId", str(position))
        if hidden:
            el.set("hidden", "1")
        el.text = formula

    def set_names(self, names: dict[str, str], position: int | None = None, *,
                  replace: Iterable[str] = ()) -> None:
        """Define ``names`` (name → formula, without ``=``) in the scope of the sheet at
        ``position`` (None: the workbook's), after removing the names ``replace`` (and
        ``names``) there: what perfxl defined before."""
        self.set_scoped_names({position: names}, replace=replace)

    def set_scoped_names(self, scopes: dict[int | None, dict[str, str]], *,
                         replace: Iterable[str] = ()) -> None:
        """:meth:`set_names` for several scopes (sheet positions, None: the workbook's) in one
        pass over the book's names, in the order given (a book of 10,000 sheets has 20,000)."""
        replaced = set(replace)
        drop = {(None if p is None else str(p)): {*names, *replaced}
                for p, names in scopes.items()}
        container = _child(self.root, "definedNames")
        found = [] if container is None else [
            dn for dn in _children(container, "definedName")
            if dn.get("name") in drop.get(dn.get("localSheetId"), ())]
        if not found and not any(scopes.values()):
            return
        self.pkg.touch(self.part)
        for dn in found:
            container.remove(dn)
        for position, names in scopes.items():
            if not names:
                continue
            container = _ensure_child(self.root, "definedNames", WORKBOOK_ORDER)
            for name, formula in names.items():
                el = etree.SubElement(container, _qname(self.root, "definedName"))
                el.set("name", name)
                if position is not None:
                    el.set("localSheetId", str(position))
                el.text = formula
        if container is not None and not _children(container, "definedName"):
            self.root.remove(container)

    def scoped(self, name: str) -> list[str]:
        """The sheets (by name, in book order) with a local name ``name``."""
        container = _child(self.root, "definedNames")
        local = set() if container is None else {
            dn.get("localSheetId") for dn in _children(container, "definedName")
            if dn.get("name") == name}
        return [s.name for i, s in enumerate(self.sheets) if str(i) in local]

    def calculate_on_load(self) -> None:
        """Ask the application to recalculate every formula when it opens the book (formulas
        perfxl added hold the values of its own check, not yet the application's)."""
        calc = _ensure_child(self.root, "calcPr", WORKBOOK_ORDER)
        if calc.get("fullCalcOnLoad") not in ("1", "true"):
            calc.set("fullCalcOnLoad", "1")
            self.pkg.touch(self.part)

    def drop_calc_chain(self) -> None:
        """Drop calcChain.xml (a cache the application rebuilds): it may list formula cells
        perfxl has removed, which makes Excel repair the book."""
        for rel in _rels(self.pkg, self.part):
            if rel.type == REL_CALC_CHAIN and rel.target in self.pkg:
                _remove_rel(self.pkg, self.part, rel.id)
                _delete_part(self.pkg, rel.target)


_SHEET_VIEW = re.compile(rb"<(?:[\w.-]+:)?sheetView\b[^>]*>")
_TAB_SELECTED = re.compile(rb"""\s+tabSelected\s*=\s*(["'])(?:1|true)\1""")


def _deselect_tab(data: bytes) -> bytes:
    """Clear ``tabSelected`` in a sheet's views, touching no other byte.

    Two selected tabs put Excel into group-edit mode, where typing changes every grouped sheet.
    """
    end = data.find(b"sheetData")  # views come before the cells: don't scan those
    head = data if end < 0 else data[:end]
    if b"tabSelected" not in head:
        return data
    return _SHEET_VIEW.sub(lambda m: _TAB_SELECTED.sub(b"", m.group(0)), head) + data[len(head):]


# ---------------------------------------------------------------------------------------------
# Locating findings


@dataclass(frozen=True)
class _Located:
    finding: Finding
    sheet: _Sheet | None  # the worksheet the finding points at, if the book has it
    cell: Cell | None     # on that sheet; a merged cell's top-left


def _locate_all(pkg: _Package, book: _Book, findings: Sequence[Finding]) -> list[_Located]:
    merges: dict[str, list[Merge]] = {}
    exact: dict[str, _Sheet] = {}
    folded: dict[str, _Sheet] = {}
    for s in book.worksheets():  # what book.find does, indexed once for every finding
        exact.setdefault(s.name, s)
        folded.setdefault(s.name.casefold(), s)
    located = []
    for finding in findings:
        sheet = (exact.get(finding.sheet) or folded.get(finding.sheet.casefold())
                 if finding.sheet else None)
        cell = _parse_cell(finding.cell) if finding.cell else None
        if sheet is not None and sheet.part is not None and cell is not None:
            if sheet.part not in merges:
                merges[sheet.part] = _merged_ranges(pkg.read(sheet.part))
            cell = _top_left(merges[sheet.part], cell)
        located.append(_Located(finding, sheet, cell if sheet is not None else None))
    return located


_MERGE_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\sref="([^"]*)"')


def _merged_ranges(xml: bytes) -> list[Merge]:
    """A worksheet's merged ranges, from its bytes (no tree is kept for a sheet only looked at)."""
    ranges = []
    for match in _MERGE_CELL.finditer(xml):
        first, _, last = match.group(1).decode("ascii", "replace").partition(":")
        start, end = _parse_cell(first), _parse_cell(last or first)
        if start and end:
            ranges.append((start[0] - 1, start[1] - 1, end[0] - 1, end[1] - 1))
    return ranges


def _top_left(merges: list[Merge], cell: Cell) -> Cell:
    """A cell inside a merged range stands for the range's top-left cell (which Excel shows)."""
    row, col = anchor(merges, cell[0] - 1, cell[1] - 1)
    return row + 1, col + 1


# ---------------------------------------------------------------------------------------------
# styles.xml: the two mark formats (dxfs) and the cell styles of the 校验结果 sheet


@dataclass(frozen=True)
class _Styles:
    error_dxf: int
    warning_dxf: int
    xf: dict[str, int]  # cell style index by role, for the result sheet


_RED, _RED_FILL = argb(ERROR_FONT), argb(ERROR_FILL)
_AMBER, _AMBER_FILL = argb(WARNING_FONT), argb(WARNING_FILL)
_GREEN = argb(PASS_FONT)
_LINK = argb(LINK)
_HEADER_FILL = argb(HEADER_FILL)
_GRID = argb(GRID)

_MINIMAL_STYLES = (
    f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
    '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border>'
    '<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
    'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()


def _ensure_styles(pkg: _Package, book: _Book) -> _Styles:
    """Find or add perfxl's formats; identical existing entries are reused, so reruns add none."""
    part = book.styles_part
    if part is None:  # rare: a generator that wrote no styles part
        part = posixpath.join(posixpath.dirname(book.part), "styles.xml")  # where openpyxl looks
        part = part if part not in pkg else pkg.free_name(part.replace(".xml", "{}.xml"))
        pkg.put(part, _MINIMAL_STYLES)
        _add_rel(pkg, book.part, REL_STYLES, part)
        _set_override(pkg, part, CT_STYLES)
    root = pkg.xml(part)
    before = sum(1 for _ in root.iter())
    dxfs = _ensure_child(root, "dxfs", STYLES_ORDER)
    error = _append_unique(dxfs, _dxf(root, _RED, _RED_FILL))
    warning = _append_unique(dxfs, _dxf(root, _AMBER, _AMBER_FILL))
    xfs = _result_xfs(root)
    if sum(1 for _ in root.iter()) != before:  # only ever appends
        pkg.touch(part)
    return _Styles(error, warning, xfs)


def _dxf(root: Any, font_rgb: str, fill_rgb: str) -> Any:
    return _el(root, "dxf", _el(root, "font", _el(root, "color", rgb=font_rgb)),
               _el(root, "fill", _el(root, "patternFill", _el(root, "bgColor", rgb=fill_rgb))))


def _font(root: Any, base: Any, *, bold: bool = False, underline: bool = False,
          size: str | None = None, color: str | None = None) -> Any:
    """A font like the book's default font ``base`` (name, family, scheme) with changes."""
    font = _el(root, "font")
    if bold:
        font.append(_el(root, "b"))
    if underline:
        font.append(_el(root, "u"))
    base_size = None if base is None else _child(base, "sz")
    font.append(_el(root, "sz", val=size or (base_size.get("val", "11") if base_size is not None
                                             else "11")))
    base_color = None if base is None else _child(base, "color")
    if color:
        font.append(_el(root, "color", rgb=color))
    elif base_color is not None:
        font.append(deepcopy(base_color))
    for local in ("name", "family", "charset", "scheme"):
        found = None if base is None else _child(base, local)
        if found is not None:
            font.append(deepcopy(found))
    return font


def _result_xfs(root: Any) -> dict[str, int]:
    fonts = _ensure_child(root, "fonts", STYLES_ORDER)
    fills = _ensure_child(root, "fills", STYLES_ORDER)
    borders = _ensure_child(root, "borders", STYLES_ORDER)
    cell_xfs = _ensure_child(root, "cellXfs", STYLES_ORDER)
    style_xfs = _child(root, "cellStyleXfs")
    has_style_xfs = style_xfs is not None and bool(_children(style_xfs, "xf"))
    base = _child(fonts, "font")

    def font(**kw: Any) -> int:
        return _append_unique(fonts, _font(root, base, **kw))

    def fill(rgb: str) -> int:
        return _append_unique(fills, _el(root, "fill", _el(
            root, "patternFill", _el(root, "fgColor", rgb=rgb), _el(root, "bgColor", indexed="64"),
            patternType="solid")))

    side = {s: _el(root, s, _el(root, "color", rgb=_GRID), style="thin")
            for s in ("left", "right", "top", "bottom")}
    grid = _append_unique(borders, _el(root, "border", side["left"], side["right"], side["top"],
                                       side["bottom"], _el(root, "diagonal")))

    def xf(font_id: int, fill_id: int = 0, border_id: int = 0, *, horizontal: str = "",
           wrap: bool = False, hidden: bool = False) -> int:
        alignment = _el(root, "alignment", vertical="center")
        if horizontal:
            alignment.set("horizontal", horizontal)
        if wrap:
            alignment.set("wrapText", "1")
        children = [alignment]
        if hidden:  # locked, its formula hidden once the sheet is protected (the live cells)
            children.append(_el(root, "protection", locked="1", hidden="1"))
        attrs = {"numFmtId": "0", "fontId": str(font_id), "fillId": str(fill_id),
                 "borderId": str(border_id)}
        if has_style_xfs:
            attrs["xfId"] = "0"
        attrs.update(applyFont="1", applyAlignment="1")
        if fill_id:
            attrs["applyFill"] = "1"
        if border_id:
            attrs["applyBorder"] = "1"
        if hidden:
            attrs["applyProtection"] = "1"
        return _append_unique(cell_xfs, _el(root, "xf", *children, **attrs))

    plain = font()
    return {
        "title": xf(font(bold=True, size="16")),
        "summary-error": xf(font(bold=True, color=_RED)),
        "summary-warning": xf(font(bold=True, color=_AMBER)),
        "summary-ok": xf(font(bold=True, color=_GREEN)),
        "header": xf(font(bold=True), fill(_HEADER_FILL), grid, horizontal="center", wrap=True),
        "text": xf(plain, 0, grid, wrap=True),
        "number": xf(plain, 0, grid, horizontal="center"),
        "link": xf(font(underline=True, color=_LINK), 0, grid, wrap=True),
        "error": xf(font(bold=True, color=_RED), fill(_RED_FILL), grid, horizontal="center"),
        "warning": xf(font(bold=True, color=_AMBER), fill(_AMBER_FILL), grid, horizontal="center"),
        "status": xf(plain, 0, grid, horizontal="center"),
        "summary-live": xf(font(bold=True, color=_LINK)),
        "live": xf(plain, hidden=True),
        "live-status": xf(font(bold=True, color=_LINK), hidden=True),
    }


