"""The zip package of an .xlsx being patched: its members in their original order, parsed parts
cached until saved, relationships, content types, and the XML helpers every edit uses.

Every member that does not change is written back byte for byte; a changed part keeps its own
XML declaration, so a part whose perfxl additions are removed again is identical to the original.
"""

from __future__ import annotations

import io
import itertools
import posixpath
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from lxml import etree  # type: ignore[import-untyped]

from ..errors import ReadError
from ..ooxml import CONTENT_TYPES, PKG_REL, R

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


# ---------------------------------------------------------------------------------------------
# The zip package


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_blank_text=False)


_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s*(?:<\?.*?\?>|<!--.*?-->))*\s*", re.S)
_DECLARED_ENCODING = re.compile(rb"""<\?xml\b[^>]*?\bencoding\s*=\s*["']([\w.-]+)["']""")


def _head(data: bytes | None) -> bytes | None:
    """The prolog of a member (declaration, comments, white space) and the byte after it: what
    :func:`_serialize` reads of the original, kept instead of the whole member."""
    if not data:
        return data
    match = _PROLOG.match(data)
    return data[:(match.end() if match else 0) + 1]


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
        # each member's XML prolog as read (and the byte after it): all a changed part keeps of
        # its original, so a patched book does not hold every sheet twice
        self.original = {name: _head(data) for name, data in self.data.items()}
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


def _el(context: Any, local: str, *children: Any, **attrs: str) -> Any:
    """An element in ``context``'s namespace."""
    el = etree.Element(_qname(context, local))
    for key, value in attrs.items():
        el.set(key, value)
    el.extend(children)
    return el


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def _xml_text(text: str) -> str:
    """Text as Excel stores it: characters XML cannot hold become ``_xHHHH_``, and a literal
    ``_xHHHH_`` is escaped so Excel does not decode it."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", text)
    text = _ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text[:_MAX_CELL_TEXT]


# ---------------------------------------------------------------------------------------------
# VML drawings: the shape-id blocks each claims (kept in the package's index)

_VML_IDMAP = re.compile(rb"""(<(?:[\w.-]+:)?idmap\b[^>]*\bdata\s*=\s*)(["'])([^"']*)\2""")


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
