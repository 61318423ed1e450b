"""Write validation findings into an .xlsx workbook by patching its XML parts inside the zip.

Why not openpyxl: a load/save round trip drops every cached formula value, pictures, comment box
formatting and every x14 extension (DESIGN.md decisions 5 and 6). Here every part that does not
need to change is copied unchanged, in its zip order; the parts that do change are parsed with lxml
(which keeps namespace prefixes and ``mc:Ignorable`` declarations) and only elements perfxl owns
are added or removed:

- the 校验结果 sheet, right after 说明 (or first), one row per finding with a hyperlink to its cell;
- marks: one ``conditionalFormatting`` block per severity and sheet whose rule is a constant
  formula only perfxl writes (``"perfxl"="perfxl"``), so the user's own cell styles stay untouched;
- notes: legacy comments authored ``perfxl`` (``commentsN.xml`` plus shapes in a VML drawing).

Annotating again first removes all three, so the result depends only on the source and findings.
"""

from __future__ import annotations

import bisect
import io
import itertools
import math
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from lxml import etree  # type: ignore[import-untyped]

from .errors import ReadError
from .findings import ERROR, SEVERITY_ZH, WARNING, Finding, field_label
from .layout import SHEET_GUIDE, SHEET_RESULTS, column_letters, parse_a1
from .ooxml import (
    CONTENT_TYPES,
    CT_STYLES,
    CT_WORKSHEET,
    MAIN,
    PKG_REL,
    REL_DOCUMENT,
    REL_STYLES,
    REL_WORKSHEET,
    R,
)

__all__ = ["AUTHOR", "ERROR_FORMULA", "RESULT_SHEET", "WARNING_FORMULA", "annotate"]

RESULT_SHEET = SHEET_RESULTS
INTRO_SHEET = SHEET_GUIDE
AUTHOR = "perfxl"
ERROR_FORMULA = '"perfxl"="perfxl"'
WARNING_FORMULA = '"perfxl-w"="perfxl-w"'
_MARK_FORMULAS = frozenset({ERROR_FORMULA, WARNING_FORMULA})

STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
R_ID = f"{{{R}}}id"

REL_COMMENTS = R + "/comments"
REL_VML = R + "/vmlDrawing"
REL_CALC_CHAIN = R + "/calcChain"

CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

# Child element order of CT_Worksheet, CT_Workbook and CT_Stylesheet: Excel rejects a book whose
# elements are out of schema order, so new elements are inserted at their place in these lists.
WORKSHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst",
)
WORKBOOK_ORDER = (
    "fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
    "functionGroups", "externalReferences", "definedNames", "calcPr", "oleSize",
    "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes", "webPublishing",
    "fileRecoveryPr", "webPublishObjects", "extLst",
)
STYLES_ORDER = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
)

# Fixed timestamp for new zip members, so the same input gives the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MAX_CELL_TEXT = 32767  # Excel's limit for a cell's text and for a comment

Cell = tuple[int, int]  # (row, column), both 1-based


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


# ---------------------------------------------------------------------------------------------
# The zip package


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_blank_text=False)


_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s*(?:<\?.*?\?>|<!--.*?-->))*\s*", re.S)
_DECLARED_ENCODING = re.compile(rb"""<\?xml\b[^>]*?\bencoding\s*=\s*["']([\w.-]+)["']""")


def _serialize(root: Any, original: bytes | None = None) -> bytes:
    """UTF-8 XML with a standalone declaration; a changed part keeps its own (UTF-8) prolog.

    Keeping the original declaration (Excel writes it with double quotes and a line break)
    means a part whose perfxl additions are removed again is byte-identical to the original.
    """
    prolog = _PROLOG.match(original) if original else None
    if prolog is not None:
        declared = _DECLARED_ENCODING.search(prolog.group(0))
        if declared is None or declared.group(1).lower() in (b"utf-8", b"utf8"):
            body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
            return prolog.group(0) + body
    data: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8",
                                 standalone=True)
    return data


class _Package:
    """The zip's members by name in their original order; parsed parts cached until saved.

    A deleted member keeps its slot: writing the same name again puts it back where it was,
    which is what makes a second run write its parts in the same order as the first.
    """

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.data: dict[str, bytes | None] = {}
        for info in archive.infolist():
            if info.filename in self.data:
                raise ReadError(f"工作簿中有重复的部件 {info.filename}",
                                f"duplicate zip member {info.filename}")
            self.infos[info.filename] = info
            self.data[info.filename] = archive.read(info)
        self.comment = archive.comment
        self.original = dict(self.data)  # each member as read, for its XML prolog
        self.trees: dict[str, Any] = {}
        self.changed: set[str] = set()
        # indexes that keep a book of a thousand sheets linear: live names (lower case), the
        # lowest number each free_name pattern may still have free, the content-type overrides,
        # and the shape-id blocks each VML drawing claims
        self.live = {name.lower() for name in self.data}
        self.low: dict[str, int] = {}
        self.overrides: dict[str, Any] | None = None
        self.vml_blocks: dict[str, list[int]] | None = None  # live VML drawing → its blocks
        self.defaults: set[str] = set()  # extensions known to have a Default content type

    @classmethod
    def open(cls, src: Path | bytes) -> _Package:
        source = io.BytesIO(src) if isinstance(src, bytes) else src
        if isinstance(src, bytes):
            src = Path("book.xlsx")
        try:
            with zipfile.ZipFile(source) as archive:
                pkg = cls(archive)
        except FileNotFoundError:
            raise ReadError(f"找不到文件: {src}", f"file not found: {src}") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
                OSError, EOFError) as e:
            raise ReadError(f"无法读取 {src}:不是 xlsx 工作簿(或已加密)",
                            f"cannot read {src}: not an .xlsx workbook (or encrypted): {e}") from None
        if CONTENT_TYPES not in pkg:
            raise ReadError(f"{src} 不是 Office Open XML 工作簿", f"{src} is not an OOXML package")
        return pkg

    def __contains__(self, name: str) -> bool:
        return self.data.get(name) is not None

    def read(self, name: str) -> bytes:
        if name in self.trees and name in self.changed:
            return _serialize(self.trees[name], self.original.get(name))
        data = self.data.get(name)
        if data is None:
            raise KeyError(name)
        return data

    def xml(self, name: str) -> Any:
        """The parsed root of ``name`` (cached); call :meth:`touch` after changing it."""
        if name not in self.trees:
            try:
                self.trees[name] = etree.fromstring(self.read(name), _parser())
            except etree.XMLSyntaxError as e:
                raise ReadError(f"工作簿部件 {name} 已损坏,无法解析",
                                f"cannot parse {name}: {e}") from None
        return self.trees[name]

    def edit(self, name: str) -> Any:
        root = self.xml(name)
        self.touch(name)
        return root

    def touch(self, name: str) -> None:
        self.changed.add(name)

    def settle(self, name: str) -> None:
        """Done with ``name``: keep it as bytes, not as a tree (a book of thousands of sheets
        would otherwise hold every sheet's tree until it is saved)."""
        root = self.trees.pop(name, None)
        if root is not None and name in self.changed:
            self.data[name] = _serialize(root, self.original.get(name))

    def put(self, name: str, data: bytes) -> None:
        if self.data.get(name) == data:
            return
        self.data[name] = data
        self.live.add(name.lower())
        if self.vml_blocks is not None and name.lower().endswith(".vml"):
            self.vml_blocks[name] = _vml_blocks(data)
        self.trees.pop(name, None)
        self.changed.add(name)

    def put_xml(self, name: str, root: Any) -> None:
        self.data[name] = b""
        self.live.add(name.lower())
        self.trees[name] = root
        self.changed.add(name)

    def delete(self, name: str) -> None:
        if name in self.data:
            self.data[name] = None
        self.live.discard(name.lower())
        self.low.clear()  # a number may be free again
        if self.vml_blocks is not None:
            self.vml_blocks.pop(name, None)
        self.trees.pop(name, None)
        self.changed.discard(name)

    def free_name(self, pattern: str) -> str:
        """The first ``pattern.format(n)``, n = 1, 2, …, that no live member uses."""
        for n in itertools.count(self.low.get(pattern, 1)):
            name = pattern.format(n)
            if name.lower() not in self.live:
                self.low[pattern] = n  # 1 … n-1 are taken while nothing is deleted
                return name
        raise AssertionError("unreachable")

    def names(self) -> list[str]:
        return [name for name, data in self.data.items() if data is not None]

    def save(self, dst: Path) -> None:
        """Write the package to ``dst`` (a temporary file of ``files.atomic_path``, which turns
        an OSError into a sentence naming the real target)."""
        with zipfile.ZipFile(dst, "w") as out:
            out.comment = self.comment
            for name, data in self.data.items():
                if data is None:
                    continue
                if name in self.changed and name in self.trees:
                    data = _serialize(self.trees[name], self.original.get(name))
                out.writestr(self._zip_info(name), data)

    def _zip_info(self, name: str) -> zipfile.ZipInfo:
        old = self.infos.get(name)
        info = zipfile.ZipInfo(name, old.date_time if old else _ZIP_EPOCH)
        info.compress_type = (zipfile.ZIP_STORED if old and old.compress_type == zipfile.ZIP_STORED
                              else zipfile.ZIP_DEFLATED)
        info.external_attr = old.external_attr if old else 0
        return info


# ---------------------------------------------------------------------------------------------
# Relationships and content types


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str  # the part name for an internal target
    external: bool


def _rels_name(part: str) -> str:
    head, tail = posixpath.split(part)
    return posixpath.join(head, "_rels", f"{tail}.rels")


def _resolve(source: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _rels(pkg: _Package, part: str) -> list[_Rel]:
    name = _rels_name(part)
    if name not in pkg:
        return []
    rels = []
    for el in pkg.xml(name):
        if _local(el) != "Relationship":
            continue
        external = el.get("TargetMode") == "External"
        target = el.get("Target", "")
        rels.append(_Rel(el.get("Id", ""), el.get("Type", ""),
                         target if external else _resolve(part, target), external))
    return rels


def _add_rel(pkg: _Package, part: str, rel_type: str, target: str) -> str:
    """Add a relationship from ``part`` to the part ``target``; returns its new, unused id."""
    name = _rels_name(part)
    if name not in pkg:
        pkg.put_xml(name, etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL}))
    root = pkg.edit(name)
    used = {el.get("Id") for el in root if _local(el) == "Relationship"}
    rid = next(f"rId{n}" for n in itertools.count(1) if f"rId{n}" not in used)
    el = etree.SubElement(root, _qname(root, "Relationship"))
    el.set("Id", rid)
    el.set("Type", rel_type)
    el.set("Target", quote(posixpath.relpath(target, posixpath.dirname(part) or "."), safe="/"))
    return rid


def _remove_rel(pkg: _Package, part: str, rid: str) -> None:
    """Remove one relationship; a relationships part left empty is removed too."""
    name = _rels_name(part)
    if name not in pkg:
        return
    root = pkg.edit(name)
    for el in root:
        if _local(el) == "Relationship" and el.get("Id") == rid:
            root.remove(el)
    if not any(_local(el) == "Relationship" for el in root):
        pkg.delete(name)


def _overrides(pkg: _Package) -> dict[str, Any]:
    """The content-type Override elements by lower-case part name (the first of each), indexed
    once per package; only :func:`_set_override` changes them."""
    if pkg.overrides is None:
        pkg.overrides = {}
        for el in pkg.xml(CONTENT_TYPES):
            if _local(el) == "Override":
                pkg.overrides.setdefault(el.get("PartName", "").lower(), el)
    return pkg.overrides


def _set_override(pkg: _Package, part: str, content_type: str | None) -> None:
    """Set (or with ``None`` remove) the content-type Override of ``part``."""
    root = pkg.xml(CONTENT_TYPES)
    partname = "/" + part
    index = _overrides(pkg)
    el = index.get(partname.lower())
    if el is not None:
        if content_type is None:
            root.remove(el)
            del index[partname.lower()]
            for other in root:  # a duplicate Override of the same part takes its place
                if _local(other) == "Override" and \
                        other.get("PartName", "").lower() == partname.lower():
                    index[partname.lower()] = other
                    break
            pkg.touch(CONTENT_TYPES)
        elif el.get("ContentType") != content_type:
            el.set("ContentType", content_type)
            pkg.touch(CONTENT_TYPES)
        return
    if content_type is not None:
        el = etree.SubElement(root, _qname(root, "Override"))
        el.set("PartName", partname)
        el.set("ContentType", content_type)
        index[partname.lower()] = el
        pkg.touch(CONTENT_TYPES)


def _ensure_default(pkg: _Package, extension: str, content_type: str) -> None:
    if extension in pkg.defaults:
        return
    root = pkg.xml(CONTENT_TYPES)
    defaults = [el for el in root if _local(el) == "Default"]
    if any(el.get("Extension", "").lower() == extension for el in defaults):
        pkg.defaults.add(extension)
        return
    last = defaults[-1] if defaults else None
    pkg.defaults.add(extension)
    el = etree.Element(_qname(root, "Default"))
    el.set("Extension", extension)
    el.set("ContentType", content_type)
    if last is not None:
        last.addnext(el)
    else:
        root.insert(0, el)
    pkg.touch(CONTENT_TYPES)


def _delete_part(pkg: _Package, part: str, seen: set[str] | None = None) -> None:
    """Delete ``part``, its relationships and content type, and what only it referred to."""
    seen = set() if seen is None else seen
    if part in seen or part not in pkg:
        return
    seen.add(part)
    targets = [rel.target for rel in _rels(pkg, part) if not rel.external]
    pkg.delete(part)
    pkg.delete(_rels_name(part))
    _set_override(pkg, part, None)
    for target in targets:
        if not _referenced(pkg, target):
            _delete_part(pkg, target, seen)


def _referenced(pkg: _Package, target: str) -> bool:
    """Whether any relationships part in the package still points at ``target``."""
    for name in pkg.names():
        folder, rels = posixpath.split(name)
        if posixpath.basename(folder) != "_rels" or not rels.endswith(".rels"):
            continue
        source = posixpath.join(posixpath.dirname(folder), rels[: -len(".rels")])
        if any(rel.target == target for rel in _rels(pkg, source) if not rel.external):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# XML helpers


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _qname(context: Any, local: str) -> str:
    """``local`` in the namespace of ``context`` (so a prefixed or strict document stays so)."""
    return f"{{{etree.QName(context).namespace}}}{local}"


def _child(parent: Any, local: str) -> Any:
    return next(parent.iterchildren(f"{{*}}{local}"), None)


def _children(parent: Any, local: str) -> list[Any]:
    return list(parent.iterchildren(f"{{*}}{local}"))


def _rank(el: Any, order: Sequence[str]) -> int | None:
    """Position of ``el`` in a schema ``order``; an ``mc:AlternateContent`` ranks as its content."""
    local = _local(el)
    if local in order:
        return order.index(local)
    if local == "AlternateContent" and etree.QName(el).namespace == MC:
        for choice in el:
            for inner in choice:
                if _local(inner) in order:
                    return order.index(_local(inner))
    return None


def _insert_ordered(parent: Any, el: Any, order: Sequence[str]) -> Any:
    """Insert ``el`` after its schema predecessors (and after existing siblings of its kind)."""
    rank = order.index(_local(el))
    for child in parent:
        other = _rank(child, order)
        if other is not None and other > rank:
            child.addprevious(el)
            return el
    parent.append(el)
    return el


def _ensure_child(parent: Any, local: str, order: Sequence[str]) -> Any:
    found = _child(parent, local)
    if found is None:
        found = _insert_ordered(parent, etree.Element(_qname(parent, local)), order)
    return found


def _signature(el: Any) -> tuple[Any, ...]:
    """A prefix-independent description of an element, to find an identical one."""
    attrs = tuple(sorted((etree.QName(k).localname, v) for k, v in el.attrib.items()))
    kids = tuple(_signature(c) for c in el if isinstance(c.tag, str))
    return (_local(el), attrs, (el.text or "").strip(), kids)


def _append_unique(container: Any, el: Any) -> int:
    """Index of an element equal to ``el`` in ``container``, appending it (and count) if new."""
    local = _local(el)
    items = _children(container, local)
    wanted = _signature(el)
    for index, item in enumerate(items):
        if _signature(item) == wanted:
            return index
    if items:
        items[-1].addnext(el)
    else:
        container.append(el)
    container.set("count", str(len(items) + 1))
    return len(items)


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def _xml_text(text: str) -> str:
    """Text as Excel stores it: characters XML cannot hold become ``_xHHHH_``, and a literal
    ``_xHHHH_`` is escaped so Excel does not decode it."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", text)
    text = _ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text[:_MAX_CELL_TEXT]


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


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


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
    merges: dict[str, list[tuple[Cell, Cell]]] = {}
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


def _merged_ranges(xml: bytes) -> list[tuple[Cell, Cell]]:
    """A worksheet's merged ranges, from its bytes (no tree is kept for a sheet only looked at)."""
    ranges = []
    for match in _MERGE_CELL.finditer(xml):
        first, _, last = match.group(1).decode("ascii", "replace").partition(":")
        start, end = _parse_cell(first), _parse_cell(last or first)
        if start and end:
            ranges.append((start, end))
    return ranges


def _top_left(merges: list[tuple[Cell, Cell]], cell: Cell) -> Cell:
    """A cell inside a merged range stands for the range's top-left cell (which Excel shows)."""
    for start, end in merges:
        if start[0] <= cell[0] <= end[0] and start[1] <= cell[1] <= end[1]:
            return start
    return cell


# ---------------------------------------------------------------------------------------------
# styles.xml: the two mark formats (dxfs) and the cell styles of the 校验结果 sheet


@dataclass(frozen=True)
class _Styles:
    error_dxf: int
    warning_dxf: int
    xf: dict[str, int]  # cell style index by role, for the result sheet


_RED, _RED_FILL = "FF9C0006", "FFFFC7CE"        # Excel's "light red fill with dark red text"
_AMBER, _AMBER_FILL = "FF9C5700", "FFFFEB9C"    # Excel's "yellow fill with dark yellow text"
_GREEN = "FF006100"
_LINK = "FF0563C1"
_HEADER_FILL = "FFD9E1F2"
_GRID = "FFBFBFBF"

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


def _el(context: Any, local: str, *children: Any, **attrs: str) -> Any:
    """An element in ``context``'s namespace."""
    el = etree.Element(_qname(context, local))
    for key, value in attrs.items():
        el.set(key, value)
    el.extend(children)
    return el


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
           wrap: bool = False) -> int:
        alignment = _el(root, "alignment", vertical="center")
        if horizontal:
            alignment.set("horizontal", horizontal)
        if wrap:
            alignment.set("wrapText", "1")
        attrs = {"numFmtId": "0", "fontId": str(font_id), "fillId": str(fill_id),
                 "borderId": str(border_id)}
        if has_style_xfs:
            attrs["xfId"] = "0"
        attrs.update(applyFont="1", applyAlignment="1")
        if fill_id:
            attrs["applyFill"] = "1"
        if border_id:
            attrs["applyBorder"] = "1"
        return _append_unique(cell_xfs, _el(root, "xf", alignment, **attrs))

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
    }


# ---------------------------------------------------------------------------------------------
# A worksheet: marks (conditional formats) and notes


def _mark_worksheet(pkg: _Package, part: str, cells: dict[Cell, list[Finding]],
                    styles: _Styles) -> None:
    """Replace perfxl's marks and notes on one worksheet (parsing it only when needed)."""
    if not cells and b"perfxl" not in pkg.read(part) and not _has_perfxl_notes(pkg, part):
        return
    root = pkg.xml(part)
    changed = _remove_marks(root)
    if cells:
        _add_marks(root, cells, styles)
        changed = True
    if _update_notes(pkg, part, root, cells):
        changed = True
    if changed:
        pkg.touch(part)
    pkg.settle(part)


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


def note_text(findings: Sequence[Finding]) -> str:
    lines = dict.fromkeys(f"【{SEVERITY_ZH.get(f.severity, f.severity)} {f.code}】{f.message}"
                          for f in findings)
    return "\n".join(lines)


def _update_notes(pkg: _Package, part: str, root: Any, cells: dict[Cell, list[Finding]]) -> bool:
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
    notes = {cell: note_text(found) for cell, found in sorted(cells.items())
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
_VML_IDMAP = re.compile(rb"""(<(?:[\w.-]+:)?idmap\b[^>]*\bdata\s*=\s*)(["'])([^"']*)\2""")
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


def _vml_blocks(vml: bytes) -> list[int]:
    """The shape-id blocks (of 1024) an ``o:idmap`` claims, e.g. ``data="1,3-4"``."""
    match = _VML_IDMAP.search(vml)
    blocks: list[int] = []
    for item in (match.group(3).decode("ascii", "replace").split(",") if match else []):
        low, _, high = item.strip().partition("-")
        if low.isdigit():
            blocks.extend(range(int(low), int(high if high.isdigit() else low) + 1))
    return blocks


def _free_vml_block(pkg: _Package, taken: Iterable[int] = ()) -> int:
    """The lowest shape-id block no VML drawing of the package claims (nor ``taken``)."""
    if pkg.vml_blocks is None:  # indexed once; put and delete keep it current
        pkg.vml_blocks = {name: _vml_blocks(pkg.read(name)) for name in pkg.names()
                          if name.lower().endswith(".vml")}
    used = set(taken).union(*pkg.vml_blocks.values())
    return next(n for n in itertools.count(1) if n not in used)


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
    return _lines(text, 40)  # the note box is about 40 half-width characters wide


def _lines(text: str, width: float) -> int:
    """Lines ``text`` needs when wrapped at ``width`` half-width characters (CJK count two)."""
    def columns(line: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
    return sum(max(1, math.ceil(columns(line) / max(width, 1))) for line in text.split("\n"))


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
        self.cols: dict[int, int] = {}
        for col in [] if _child(root, "cols") is None else _children(_child(root, "cols"), "col"):
            px = 0 if col.get("hidden") in ("1", "true") else round(
                float(col.get("width", self.default_col / 7)) * 7)
            for n in range(int(col.get("min", "1")), min(int(col.get("max", "1")), 16384) + 1):
                self.cols[n] = px
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
        return self.cols.get(n, self.default_col)

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


# ---------------------------------------------------------------------------------------------
# The 校验结果 sheet


# Column widths in characters. Excel and LibreOffice don't fit row heights to wrapped text on
# load, so each row's height is set from an estimate of its lines (_lines).
RESULT_COLUMNS = (("序号", 6), ("严重程度", 9), ("代码", 8), ("规则", 22), ("单位", 9), ("项目编码", 24),
            ("项目名称", 26), ("字段", 20), ("单元格", 42), ("说明", 56))
RESULT_HEADER_ROW = 4
_CELL_COLUMN = 9  # 单元格


@dataclass(frozen=True)
class ResultSummary:
    text: str
    role: str  # summary-error / summary-warning / summary-ok
    tab: str   # tab colour


def result_summary(findings: Sequence[Finding], checked_at: datetime, book_label: str) -> ResultSummary:
    errors = sum(f.severity == ERROR for f in findings)
    warnings = sum(f.severity == WARNING for f in findings)
    when = f"校验时间 {checked_at:%Y-%m-%d %H:%M:%S}"
    label = f" · {book_label}" if book_label else ""
    if not findings:
        return ResultSummary(f"校验通过 (no errors or warnings) · {when}{label}", "summary-ok", _GREEN)
    text = f"错误 {errors} 项,警告 {warnings} 项 · {when}{label}"
    return (ResultSummary(text, "summary-error", "FFC00000") if errors
            else ResultSummary(text, "summary-warning", "FFFFC000"))


def _add_result_sheet(pkg: _Package, book: _Book, located: Sequence[_Located], styles: _Styles,
                      summary: ResultSummary) -> None:
    intro = book.index(INTRO_SHEET)
    position = 0 if intro is None else intro + 1
    folder = posixpath.dirname(book.part)
    part = pkg.free_name(posixpath.join(folder, "worksheets", "sheet{}.xml"))
    pkg.put_xml(part, _result_sheet(located, styles, summary))
    _set_override(pkg, part, CT_WORKSHEET)
    book.insert_sheet(position, RESULT_SHEET, part)
    last = RESULT_HEADER_ROW + len(located)
    sheet = _quote_sheet(RESULT_SHEET)
    book.add_local_name("_xlnm._FilterDatabase", position,
                        f"{sheet}!$A${RESULT_HEADER_ROW}:${_column(len(RESULT_COLUMNS))}${last}", hidden=True)
    book.add_local_name("_xlnm.Print_Titles", position, f"{sheet}!${RESULT_HEADER_ROW}:${RESULT_HEADER_ROW}",
                        hidden=False)


def result_row(f: Finding, place: Any) -> list[Any]:
    """A finding's row on 校验结果 after its number (RESULT_COLUMNS): the rule and the field in
    Chinese with the slug and the canonical name beside them, for searching."""
    from .rules import rule_label

    return [SEVERITY_ZH.get(f.severity, f.severity), f.code, rule_label(f.rule), f.unit_code,
            f.project_code, f.project_name, field_label(f.field), place, f.message]


def _row_values(loc: _Located) -> list[str]:
    return result_row(loc.finding, _place(loc))


def _place(loc: _Located) -> str:
    f = loc.finding
    if loc.sheet is not None and loc.cell is not None:
        return f"{loc.sheet.name}!{_a1(loc.cell)}"
    return f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet or f.cell


def _result_sheet(located: Sequence[_Located], styles: _Styles, summary: ResultSummary) -> Any:
    """The 校验结果 worksheet: title, summary, and a filterable table with frozen header."""
    ws = etree.Element(f"{{{MAIN}}}worksheet", nsmap={None: MAIN, "r": R})
    last = RESULT_HEADER_ROW + len(located)
    last_col = _column(len(RESULT_COLUMNS))
    ws.append(_el(ws, "sheetPr", _el(ws, "tabColor", rgb=summary.tab),
                  _el(ws, "pageSetUpPr", fitToPage="1")))
    ws.append(_el(ws, "dimension", ref=f"A1:{last_col}{last}"))
    first_body = f"A{RESULT_HEADER_ROW + 1}"
    ws.append(_el(ws, "sheetViews", _el(
        ws, "sheetView",
        _el(ws, "pane", ySplit=str(RESULT_HEADER_ROW), topLeftCell=first_body, activePane="bottomLeft",
            state="frozen"),
        _el(ws, "selection", pane="bottomLeft", activeCell=first_body, sqref=first_body),
        tabSelected="1", workbookViewId="0")))
    ws.append(_el(ws, "sheetFormatPr", defaultRowHeight="15"))
    ws.append(_el(ws, "cols", *(_el(ws, "col", min=str(i), max=str(i), width=str(width),
                                    customWidth="1")
                                for i, (_, width) in enumerate(RESULT_COLUMNS, start=1))))
    data = _el(ws, "sheetData")
    ws.append(data)
    xf = styles.xf
    _add_row(data, 1, [(RESULT_SHEET, xf["title"])], height="24")
    _add_row(data, 2, [(summary.text, xf[summary.role])])
    _add_row(data, RESULT_HEADER_ROW, [(name, xf["header"]) for name, _ in RESULT_COLUMNS])
    links = _el(ws, "hyperlinks")
    for number, loc in enumerate(located, start=1):
        link = _finding_row(data, RESULT_HEADER_ROW + number, number, loc, xf)
        if link is not None:
            links.append(link)
    ws.append(_el(ws, "autoFilter", ref=f"A{RESULT_HEADER_ROW}:{last_col}{last}"))
    if len(links):
        ws.append(links)
    ws.append(_el(ws, "pageMargins", left="0.4", right="0.4", top="0.6", bottom="0.6",
                  header="0.3", footer="0.3"))
    ws.append(_el(ws, "pageSetup", paperSize="9", orientation="landscape", fitToHeight="0"))
    return ws


def _finding_row(data: Any, row: int, number: int, loc: _Located, xf: dict[str, int]) -> Any:
    """One finding as a table row; returns its hyperlink (None when it has no cell to go to)."""
    values: list[str | int] = [number, *_row_values(loc)]
    roles = ["number", "error" if loc.finding.severity == ERROR else "warning"]
    roles += ["text"] * (len(values) - len(roles))
    link = None
    if loc.sheet is not None and loc.cell is not None:
        roles[_CELL_COLUMN - 1] = "link"
        link = _el(data, "hyperlink", ref=f"{_column(_CELL_COLUMN)}{row}",
                   location=f"{_quote_sheet(loc.sheet.name)}!{_a1(loc.cell)}",
                   display=str(values[_CELL_COLUMN - 1]))
    lines = max(_lines(str(value), width - 1.5)
                for value, (_, width) in zip(values, RESULT_COLUMNS, strict=True))
    _add_row(data, row, [(value, xf[role]) for value, role in zip(values, roles, strict=True)],
             height=str(15 * lines) if lines > 1 else "")
    return link


def _add_row(data: Any, row: int, cells: Sequence[tuple[str | int, int]], *,
             height: str = "") -> None:
    """A row of cells; text as inline strings, so sharedStrings.xml stays as it is and a value
    starting with ``=`` is text, never a formula."""
    el = etree.SubElement(data, _qname(data, "row"), r=str(row))
    if height:
        el.set("ht", height)
        el.set("customHeight", "1")
    for col, (value, style) in enumerate(cells, start=1):
        c = etree.SubElement(el, _qname(data, "c"), r=f"{_column(col)}{row}", s=str(style))
        if isinstance(value, int):
            etree.SubElement(c, _qname(data, "v")).text = str(value)
        elif value:
            c.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(c, _qname(data, "is")), _qname(data, "t"))
            t.text = _xml_text(value)
            if value != value.strip():
                t.set(XML_SPACE, "preserve")
