"""Where grids come from: a book's file or bytes, sniffed, checked against the reading limits,
then read into one grid per sheet (values and merged ranges) with its custom properties.

- :func:`read_grids` / :func:`grids_from_bytes`: the grids of a book and its custom document
  properties (the template version, the unit, the kind of output perfxl wrote);
- :func:`open_book`: what the file is (``sniff.check``), and a zipped book checked from its
  directory and its XML parts (``limits.check_zip``) before any parser sees it;
- :meth:`Book.sheets`: python-calamine, in this process for an OOXML book whose every cell
  reference was checked (the fast, common path; a Rust panic is a ``BaseException`` and is
  caught), or in a child process with a memory cap (``RLIMIT_AS``) and a timeout for the formats
  whose sizes live in binary records that are not pre-parsed (.xls, .xlsb, .ods) and for an
  OOXML sheet that could not be fully checked; a child that aborts or runs out of memory or time
  is a refusal, never a crash of the caller. CSV/TSV text is read as one sheet of text;
- the merged ranges python-calamine does not read: .ods from ``content.xml`` as it is scanned
  (:class:`OdsMerges`), .xlsb from its records in the child process (:func:`xlsb_merges`).

Any failure is a :class:`ReadError` subclass whose message names the problem.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import posixpath
import re
import struct
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import layout as L
from ..errors import (
    DamagedFile,
    EncryptedBook,
    LimitExceeded,
    OwnOutput,
    PerfxlError,
    ReadError,
    UnsafeFile,
)
from ..limits import (
    MAX_COLS,
    MAX_ROWS,
    Limits,
    ZipCheck,
    check_size,
    check_zip,
    current,
    exhausted,
    inflate,
    over,
    refuse,
    root_element,
)
from ..sniff import OOXML_KINDS, FileType, Source, check
from .parser import Grid

__all__ = ["IN_MEMORY", "Book", "RawSheet", "calamine_sheets", "grids_from_bytes", "open_book",
           "read_grids", "read_text_table", "xlsb_merges"]

RawSheet = tuple[str, list[list[Any]], list[tuple[int, int, int, int]], bool]
"""(name, rows, merged ranges (r0, c0, r1, c1), hidden): a sheet before it becomes a Grid."""


# --- a book's grids and properties ------------------------------------------------------------

def read_grids(path: str | Path) -> tuple[list[Grid], dict[str, str]]:
    """Grids of every sheet via python-calamine, and the custom document properties."""
    p = Path(path)
    if not p.exists():
        raise ReadError(f"找不到文件: {p}", f"file not found: {p}")
    if p.is_dir():
        raise ReadError(f"这是一个文件夹,不是工作簿: {p}", f"is a folder, not a workbook: {p}")
    try:  # a book of ordinary size is read once, then sniffed, checked and parsed from memory
        small = p.stat().st_size <= IN_MEMORY
    except OSError:
        small = False
    if small:
        try:
            return _grids(p.read_bytes(), p)
        except PermissionError:
            pass  # the path's own message, below
    return _grids(p, p)


IN_MEMORY = 32 << 20
"""Books up to this size are read into memory once (else each step reads the file)."""


def grids_from_bytes(data: bytes, name: str = "") -> tuple[list[Grid], dict[str, str]]:
    """The same from a book's bytes (no file system: a pure function of its input)."""
    return _grids(data, Path(name or "book.xlsx"))


def _grids(source: Path | bytes, p: Path) -> tuple[list[Grid], dict[str, str]]:
    """The grids and custom properties of a book sniffed and checked by :func:`open_book`."""
    book = open_book(source, p.name)
    props = _properties(book.custom) if book.custom is not None else {}
    if props.get(L.OUTPUT_PROPERTY) == L.OUTPUT_REVIEW:
        note = "perfxl 生成的审核工作簿(不是报送的绩效目标工作簿),已跳过"
        raise OwnOutput(f"无法读取工作簿 {p.name}:这是 perfxl 生成的审核工作簿,不是绩效目标工作簿",
                        f"{p.name} is a review book written by perfxl, not a performance-target "
                        "workbook", note=note)
    skip = set(L.PERFXL_SHEETS) | (set(L.AUX_SHEETS) if L.VERSION_PROPERTY in props else set())
    # perfxl's own sheets (in ``skip``) are never parsed, nor loaded
    typed = book.type.kind != "csv"
    grids = [Grid(name, rows, merges, hidden=hidden, typed=typed, formulas=book.uncalculated)
             for name, rows, merges, hidden in book.sheets(skip)]
    return grids, props


def _properties(xml: bytes) -> dict[str, str]:
    """Name → value of the custom document properties (``docProps/custom.xml``)."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return {}
    out = {}
    for prop in root:
        name = prop.get("name")
        if name and len(prop):
            out[name] = (prop[0].text or "").strip()
    return out


# --- the book: sniffed, checked, then read ------------------------------------------------------

@dataclass
class Book:
    """A sniffed and checked book, ready for python-calamine (:meth:`sheets`)."""

    source: Source
    name: str
    type: FileType
    limits: Limits
    isolate: bool = False
    """Read in the bounded child process (for ``reason``)."""
    reason: str = ""
    custom: bytes | None = None
    """``docProps/custom.xml`` as the checks inflated it (it holds the template version)."""
    merges: dict[str, list[tuple[int, int, int, int]]] | None = None
    """Sheet name → merged ranges, for the format python-calamine reads none from
    (OpenDocument, from ``content.xml`` as the checks scan it: :class:`OdsMerges`)."""
    parts: dict[str, tuple[zipfile.ZipInfo, int]] = field(default_factory=dict)
    """An OOXML book's entries (lower-case name) as checked: their directory entry and where their
    data starts, to inflate a sheet again when the reader asks (:meth:`uncalculated`)."""
    _uncalculated: dict[str, frozenset[str]] = field(default_factory=dict)
    _sheet_parts: dict[str, str] | None = None

    def uncalculated(self, sheet: str) -> frozenset[str]:
        """The cells (A1) of ``sheet`` that hold a formula without a computed value, as a program
        that writes formulas but never calculates leaves them (``<c r="C4"><f>E4+G4</f><v></v>``):
        python-calamine reads them as empty, and a finding must say why. Asked by the reader only
        when a cell that matters is empty (a few books), so the sheet's part, which the scan has
        checked, is inflated again then, not on every read. A formula whose result is text
        (``t="str"``) may rightly be empty. Nothing for other formats, or when the part cannot be
        found again (then the cell is reported as empty)."""
        if sheet not in self._uncalculated:
            try:
                self._uncalculated[sheet] = self._find_uncalculated(sheet)
            except (ReadError, OSError, zipfile.BadZipFile, ValueError, KeyError):
                self._uncalculated[sheet] = frozenset()
        return self._uncalculated[sheet]

    def _find_uncalculated(self, sheet: str) -> frozenset[str]:
        if self.type.kind not in OOXML_KINDS or not self.parts:
            return frozenset()
        with _reader(self.source) as fp:
            if self._sheet_parts is None:
                self._sheet_parts = self._sheets(fp)
            part = self._sheet_parts.get(sheet)
            if part is None:
                return frozenset()
            data = self._part(fp, part)
        m = root_element(data)
        p = m.group(1) + b":" if m and m.group(1) else b""
        formula, cell = _formulas_without_value(p)
        opening, out = b"<" + p + b"c ", set()
        for f in formula.finditer(data):
            start = data.rfind(opening, 0, f.start())
            c = cell.match(data, start, f.start()) if start >= 0 else None
            if c is not None and not _TEXT_RESULT.search(c.group(2)):
                out.add(c.group(1).decode("ascii"))
        return frozenset(out)

    def _part(self, fp: IO[bytes], part: str) -> bytes:
        info, data_at = self.parts[part]
        return b"".join(inflate(fp, info, data_at, self.name))

    def _sheets(self, fp: IO[bytes]) -> dict[str, str]:
        """Sheet name → its part, from the workbook part and its relationships (both checked by
        the scan; read with patterns, a tree parser costs more than the rest of this)."""
        import html

        book = self._part(fp, "xl/workbook.xml")
        rels = self._part(fp, "xl/_rels/workbook.xml.rels")
        targets: dict[bytes, str] = {}
        for tag in _RELATIONSHIP.findall(rels):
            rel_id, to = _ID_ATTR.search(tag), _TARGET_ATTR.search(tag)
            if rel_id and to:
                targets[rel_id.group(2)] = html.unescape(to.group(2).decode("utf-8", "replace"))
        out: dict[str, str] = {}
        for tag in _SHEET_TAG.findall(book):
            name, rid = _NAME_ATTR.search(tag), _RID_ATTR.search(tag)
            target = targets.get(rid.group(2)) if rid else None
            if name is None or target is None:
                continue
            resolved = (target.lstrip("/") if target.startswith("/")
                        else posixpath.normpath(posixpath.join("xl", target))).lower()
            calamine = f"xl/{target.removeprefix('/xl/')}".lower()
            part = next((p for p in (resolved, calamine) if p in self.parts), None)
            if part is not None:
                out.setdefault(html.unescape(name.group(2).decode("utf-8", "replace")), part)
        return out


    def sheets(self, skip: Collection[str] = ()) -> list[RawSheet]:
        """Every worksheet not in ``skip``: in this process or, for formats and sheets that could
        not be checked before parsing, in a bounded child process."""
        if self.type.kind == "csv":
            return read_text_table(self.source, self.type, max_bytes=self.limits.file_size,
                                   max_cells=self.limits.cells, max_string=self.limits.string,
                                   name=self.name)
        # python-calamine picks its reader by the extension: by path when it matches the content
        # (its messages are more precise), from the bytes (content detection) otherwise
        by_path = (not isinstance(self.source, bytes) and Path(self.source).suffix.lower()
                   in _EXTENSIONS.get(self.type.kind, ()))
        if self.isolate or self.limits.isolate:
            sheets = _isolated(self, by_path, skip)
        else:
            sheets = calamine_sheets(self.source, self.name, by_path, skip, self.limits,
                                     kind=self.type.kind)
        if self.merges is not None:
            sheets = [(name, rows, merges or self.merges.get(name, []), hidden)
                      for name, rows, merges, hidden in sheets]
        return sheets


_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\s[^>]*>")
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\s[^>]*>")
_NAME_ATTR = re.compile(rb"""\sname\s*=\s*(["'])(.*?)\1""", re.S)
_RID_ATTR = re.compile(rb"""\s(?:[\w.-]+:)id\s*=\s*(["'])(.*?)\1""", re.S)
_ID_ATTR = re.compile(rb"""\sId\s*=\s*(["'])(.*?)\1""", re.S)
_TARGET_ATTR = re.compile(rb"""\sTarget\s*=\s*(["'])(.*?)\1""", re.S)


_EXTENSIONS = {**{k: (".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam") for k in OOXML_KINDS},
               "xlsb": (".xlsb",), "xls": (".xls", ".xla"), "ods": (".ods",)}


def open_book(source: Source, name: str = "", limits: Limits | None = None) -> Book:
    """Sniff ``source`` (a path or a book's bytes) and check it against ``limits``.

    Raises a :class:`ReadError` subclass for anything perfxl does not read or that is past a
    limit: :class:`UnsupportedFormat`, :class:`EncryptedBook`, :class:`DamagedFile`,
    :class:`UnsafeFile`, :class:`LimitExceeded`.
    """
    lim = limits or current()
    name = name or ("工作簿" if isinstance(source, bytes) else Path(source).name)
    size = len(source) if isinstance(source, bytes) else _file_size(source)
    check_size(size, name, lim)
    ft = check(source, name, max_entries=lim.entries)
    book = Book(source, name, ft, lim)
    if ft.is_zip:
        checks = ZipCheck(name, ft.kind, lim)
        if ft.kind == "ods":
            ods = OdsMerges(name, lim)
            checks.sinks["content.xml"] = ods
            book.merges = ods.merges
        with _reader(source) as fp:
            check_zip(fp, size, checks)
        book.parts, book.custom = checks.parts, checks.custom
        if checks.isolate:
            book.isolate, book.reason = True, checks.isolate
    if ft.kind in ("xls", "xlsb", "ods"):
        book.isolate, book.reason = True, f"{ft.kind}: sizes in binary records or repeats"
    return book


def _file_size(path: str | Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        raise ReadError(f"找不到文件: {path}", f"file not found: {path}") from None
    except OSError as e:
        raise ReadError(f"无法打开 {Path(path).name}: {e.strerror}",
                        f"cannot open {path}: {e.strerror}") from None


class _reader:
    """``with _reader(source) as fp``: a binary file object over a path or bytes."""

    def __init__(self, source: Source) -> None:
        self.fp: IO[bytes] = (io.BytesIO(source) if isinstance(source, bytes)
                              else open(source, "rb"))  # noqa: SIM115

    def __enter__(self) -> IO[bytes]:
        return self.fp

    def __exit__(self, *exc: object) -> None:
        self.fp.close()


@functools.lru_cache(maxsize=16)
def _formulas_without_value(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """A formula not followed by a non-empty value (``<f>E4+G4</f>`` then ``<v></v>``, ``<v/>``
    or nothing; ``\\b`` keeps ``<formula>`` of conditional formats out), and the start tag of
    the cell it is in, up to the formula: (reference, the cell's other attributes)."""
    p = re.escape(prefix)
    formula = re.compile(rb"<" + p + rb"f\b[^>]*?(?:/>|>[^<]*</" + p + rb"f>)(?!\s*<" + p
                         + rb"v\b[^>]*(?<!/)>[^<])")
    cell = re.compile(rb"<" + p + rb'c r="([A-Z]+[0-9]+)"([^>]*)>\s*\Z')
    return formula, cell


_TEXT_RESULT = re.compile(rb"""\st\s*=\s*["']str["']""")


_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
_TABLE, _ROW, _CELL, _COVERED = (_TABLE_NS + t for t in (
    "table", "table-row", "table-cell", "covered-table-cell"))
_ROWS_REPEATED, _COLUMNS_REPEATED, _COLUMNS_SPANNED, _ROWS_SPANNED, _NAME = (_TABLE_NS + a for a in (
    "number-rows-repeated", "number-columns-repeated", "number-columns-spanned",
    "number-rows-spanned", "name"))


class OdsMerges:
    """The merged ranges of an .ods book's sheets, read from ``content.xml`` while it is scanned
    (python-calamine reads none from OpenDocument): a cell that spans columns or rows
    (``table:number-columns-spanned`` / ``number-rows-spanned``) starts a merged range. Streaming
    (expat, fed the pieces that passed the checks: no DTD, bounded runs and depth); rows and
    columns are counted with their repeats (``number-rows-repeated``, ``number-columns-repeated``,
    covered cells included), and the cells the ranges cover are checked against ``merged`` before
    any range is kept, so a repeated spanning cell cannot make millions of them. A table nested in
    a cell is not a sheet and is passed over. Malformed XML ends the reading of merges (python-
    calamine then says what is wrong with the book)."""

    def __init__(self, name: str, limits: Limits) -> None:
        import pyexpat

        self.name, self.limits = name, limits
        self.merges: dict[str, list[tuple[int, int, int, int]]] = {}
        self.covered = 0  # cells inside merged ranges, summed over the book
        self.tables = 0   # nesting of table:table
        self.sheet: list[tuple[int, int, int, int]] = []
        self.row = self.col = 0
        self.repeat = 1   # the current row's number-rows-repeated
        self.failed = False
        self.parser = pyexpat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def feed(self, data: bytes, last: bool) -> None:
        if self.failed:
            return
        import pyexpat

        try:
            self.parser.Parse(data, last)
        except pyexpat.ExpatError:
            self.failed = True

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _TABLE:
            self.tables += 1
            if self.tables == 1:
                self.sheet = self.merges.setdefault(attrs.get(_NAME, ""), [])
                self.row = 0
        elif self.tables != 1:
            return
        elif tag == _ROW:
            self.repeat, self.col = _count(attrs.get(_ROWS_REPEATED)), 0
        elif tag in (_CELL, _COVERED):
            times = _count(attrs.get(_COLUMNS_REPEATED))
            wide, high = _count(attrs.get(_COLUMNS_SPANNED)), _count(attrs.get(_ROWS_SPANNED))
            if tag == _CELL and (wide > 1 or high > 1):
                self.covered += self.repeat * times * wide * high
                lim = self.limits
                if self.covered > lim.merged:
                    raise over("merged", self.name, "合并单元格共包含单元格",
                                "merged ranges cover", self.covered, lim.merged)
                self.sheet += [(r, c, r + high - 1, c + wide - 1)
                               for r in range(self.row, self.row + self.repeat)
                               for c in range(self.col, self.col + times)]
            self.col += times

    def _end(self, tag: str) -> None:
        if tag == _TABLE:
            self.tables -= 1
        elif tag == _ROW and self.tables == 1:
            self.row += self.repeat


def _count(value: str | None) -> int:
    """A repeat or span attribute: a positive whole number, 1 when absent or malformed."""
    try:
        n = int(value) if value else 1
    except ValueError:
        return 1
    return n if n > 0 else 1


def read_text_table(source: Source, ft: FileType, *, max_bytes: int, max_cells: int,
                    max_string: int, name: str = "") -> list[tuple[str, list[list[Any]], list[Any],
                                                                  bool]]:
    """A CSV/TSV file as one sheet (values are text; the parser reads numbers from text)."""
    import csv

    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(raw) > max_bytes:
        raise LimitExceeded(f"无法读取 {name}:文本文件大小 {len(raw):,} 字节,超过上限 {max_bytes:,}"
                            "(file_size)", f"text file of {len(raw):,} bytes, over file_size",
                            limit="file_size", actual=len(raw), maximum=max_bytes)
    text = raw.decode(ft.encoding or "utf-8", "replace").lstrip("\ufeff")
    old = csv.field_size_limit()
    csv.field_size_limit(max_string)
    rows: list[list[Any]] = []
    cells = 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=ft.delimiter or ","):
            cells += len(row)
            if cells > max_cells:
                raise LimitExceeded(f"无法读取 {name}:单元格个数超过上限 {max_cells:,}(cells)",
                                    f"more than cells={max_cells:,} cells", limit="cells",
                                    actual=cells, maximum=max_cells)
            rows.append(list(row))
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise LimitExceeded(f"无法读取 {name}:有超过 {max_string:,} 个字符的单元格(string)",
                                f"a field longer than string={max_string:,}", limit="string",
                                actual=max_string + 1, maximum=max_string) from None
        raise DamagedFile(f"无法读取 {name}:文本表格有误({e})", f"cannot read the text table: {e}") from None
    finally:
        csv.field_size_limit(old)
    sheet = Path(name).stem if name else "Sheet1"
    return [(sheet or "Sheet1", rows, [], False)]


# --- python-calamine, in this process or in a bounded child ---------------------------------------

def calamine_sheets(source: Source, name: str, by_path: bool, skip: Collection[str],
                    lim: Limits, *, count_cells: bool = False, kind: str = "") -> list[RawSheet]:
    """Every worksheet (not in ``skip``) as (name, rows, merges, hidden), checked against the area
    and merge limits before its rows become Python lists (and, with ``count_cells``, for a book
    whose cells were not counted before parsing, against ``cells``). Any failure of
    python-calamine, including a Rust panic (a ``BaseException``), becomes a :class:`ReadError`.
    The merged ranges of an .xlsb book (``kind``), which python-calamine does not read, come from
    its records (:func:`xlsb_merges`)."""
    import python_calamine as pc

    with _panic_output() as panicked:
        try:
            if by_path:
                wb = pc.CalamineWorkbook.from_path(str(source))
            elif isinstance(source, bytes):
                wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(source))
            else:
                with open(source, "rb") as f:
                    wb = pc.CalamineWorkbook.from_filelike(f)
            out: list[RawSheet] = []
            area = merged = cells = 0
            binary: dict[str, list[tuple[int, int, int, int]]] | None = None
            for meta in wb.sheets_metadata:
                if "WorkSheet" not in str(meta.typ) or meta.name in skip:
                    continue
                sheet = wb.get_sheet_by_name(meta.name)
                end = sheet.end
                here = (end[0] + 1) * (end[1] + 1) if end else 0
                where = f"工作表「{meta.name}」"
                if here > lim.sheet_area:
                    raise over("sheet_area", name, f"{where} 的范围共有单元格",
                                f"sheet {meta.name!r} spans", here, lim.sheet_area)
                area += here
                if area > lim.book_area:
                    raise over("book_area", name, "各工作表的范围合计单元格", "its sheets span",
                                area, lim.book_area)
                ranges = sheet.merged_cell_ranges
                if ranges is None and kind == "xlsb":
                    if binary is None:
                        binary = xlsb_merges(source, name, lim)
                    merges = binary.get(meta.name, [])
                else:
                    merges = [(a[0], a[1], b[0], b[1]) for a, b in (ranges or [])]
                merged += sum((abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
                              for r0, c0, r1, c1 in merges)
                if merged > lim.merged:
                    raise over("merged", name, "合并单元格共包含单元格", "merged ranges cover",
                                merged, lim.merged)
                rows = sheet.to_python(skip_empty_area=False)
                if count_cells:
                    cells += sum(len(r) - r.count("") for r in rows)  # empty cells are ""
                    if cells > lim.cells:
                        raise over("cells", name, "单元格个数超过", "it holds more cells than",
                                    cells, lim.cells)
                out.append((meta.name, rows, merges, "Visible" not in str(meta.visible)))
            return out
        except (KeyboardInterrupt, SystemExit, PerfxlError):
            raise
        except BaseException as e:  # python-calamine's errors, and pyo3's PanicException
            panicked.append(not isinstance(e, Exception))
            raise _calamine_error(e, name) from None


def xlsb_merges(source: Source, name: str,
                lim: Limits) -> dict[str, list[tuple[int, int, int, int]]]:
    """Sheet name → merged ranges of an .xlsb book, from its records: python-calamine reads none
    from the binary format. The sheets are the workbook part's BrtBundleSh records (a relationship
    id and a name), their parts found through ``xl/_rels/workbook.bin.rels``; a range is a
    BrtMergeCell record (first row, last row, first column, last column). The cells the ranges
    cover count against ``merged`` as they are read. Runs where python-calamine reads .xlsb: in
    the bounded child process. A record or part that cannot be read gives no ranges for that
    sheet (python-calamine says what is wrong with the book)."""
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    covered = 0
    try:
        with _reader(source) as fp, zipfile.ZipFile(fp) as z:
            names = {n.lower(): n for n in z.namelist()}

            def member(part: str) -> bytes:
                real = names.get(part.lower())
                return z.read(real) if real is not None else b""

            targets: dict[str, str] = {}
            for tag in _RELATIONSHIP.findall(member("xl/_rels/workbook.bin.rels")):
                rel_id, to = _ID_ATTR.search(tag), _TARGET_ATTR.search(tag)
                if rel_id and to:
                    targets[rel_id.group(2).decode("utf-8", "replace")] = \
                        to.group(2).decode("utf-8", "replace")
            for typ, data in _records(member("xl/workbook.bin")):
                if typ != _BUNDLE_SHEET or len(data) < 12:
                    continue
                sheet_rel, at = _wide_string(data, 8)
                sheet, _ = _wide_string(data, at)
                target = targets.get(sheet_rel, "")
                if not target:
                    continue
                part = (target.lstrip("/") if target.startswith("/")
                        else posixpath.normpath(posixpath.join("xl", target)))
                ranges = out.setdefault(sheet, [])
                for typ, rec in _records(member(part)):
                    if typ == _MERGE_CELL and len(rec) >= 16:
                        r0, r1, c0, c1 = struct.unpack_from("<4I", rec)
                        if r1 < r0 or c1 < c0 or r1 >= MAX_ROWS or c1 >= MAX_COLS:
                            continue
                        covered += (r1 - r0 + 1) * (c1 - c0 + 1)
                        if covered > lim.merged:
                            raise over("merged", name, "合并单元格共包含单元格",
                                        "merged ranges cover", covered, lim.merged)
                        ranges.append((r0, c0, r1, c1))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, RuntimeError,
            NotImplementedError, zlib.error):
        pass
    return out


_BUNDLE_SHEET, _MERGE_CELL = 156, 176  # BrtBundleSh, BrtMergeCell


def _records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The records of an .xlsb part: (type, data). Type and size are 7-bit groups, low first,
    the high bit saying another byte follows (at most 2 bytes of type, 4 of size)."""
    at, end = 0, len(data)
    while at < end:
        typ = data[at]
        at += 1
        if typ & 0x80:
            if at >= end:
                return
            typ = (typ & 0x7F) | ((data[at] & 0x7F) << 7)
            at += 1
        size = shift = 0
        for _ in range(4):
            if at >= end:
                return
            byte = data[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield typ, data[at:at + size]
        at += size


def _wide_string(data: bytes, at: int) -> tuple[str, int]:
    """An XLWideString at ``at`` (a 32-bit count of UTF-16 code units, then the units): the text
    and where the next field starts; a null string (count 0xFFFFFFFF) is ""."""
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    if count == 0xFFFFFFFF:
        return "", at
    text = data[at:at + 2 * count].decode("utf-16-le", "replace")
    return text, at + 2 * count


_STDERR = threading.Lock()  # one redirection of fd 2 at a time, or threads would lose stderr


@contextlib.contextmanager
def _panic_output() -> Iterator[list[bool]]:
    """Hold file descriptor 2 in a temporary file while python-calamine runs: a Rust panic
    writes its message (and, with RUST_BACKTRACE, a backtrace) straight to it, which a user
    must not see — the panic becomes a ReadError. Anything else written there meanwhile is
    passed on afterwards. (On Windows, Rust writes to the console handle, not to fd 2.)"""
    panicked: list[bool] = []
    with _STDERR:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield panicked
            return
        with _held_stderr(saved, panicked):
            yield panicked


@contextlib.contextmanager
def _held_stderr(saved: int, panicked: list[bool]) -> Iterator[None]:
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if not any(panicked):
                held.seek(0)
                if data := held.read():
                    os.write(2, data)


def _calamine_error(e: BaseException, name: str) -> ReadError:
    text = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
    if "password" in text.lower():
        return refuse(EncryptedBook, name, "文件已加密,请去除密码后重新提交",
                       "it is encrypted with a password; remove it and submit again")
    if "Cell limit exceeded" in text:
        return LimitExceeded(f"无法读取工作簿 {name}:单元格数超过读取程序的上限({text})",
                             f"cannot read workbook {name}: {text}", limit="sheet_area")
    return refuse(DamagedFile, name, f"文件可能已损坏({text});请用 Excel 打开修复后另存为 .xlsx 再提交",
                   f"it may be damaged: {text}")


_CHILD = "from perfxl.read.sources import child_main; child_main()"


def _isolated(book: Book, by_path: bool, skip: Collection[str]) -> list[RawSheet]:
    """:func:`calamine_sheets` in a child process capped at ``memory`` and ``timeout``."""
    import pickle
    import subprocess

    lim, name = book.limits, book.name
    if not sys.executable:
        return calamine_sheets(book.source, name, by_path, skip, lim, count_cells=True,
                               kind=book.type.kind)
    args = {"path": None if isinstance(book.source, bytes) else str(book.source),
            "name": name, "by_path": by_path, "skip": sorted(skip),
            "limits": dataclasses.asdict(lim), "kind": book.type.kind}
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["RUST_BACKTRACE"] = "0"
    import json

    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(args)], env=env, capture_output=True,
            input=book.source if isinstance(book.source, bytes) else b"",
            timeout=lim.timeout, check=False,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except subprocess.TimeoutExpired:
        raise exhausted("timeout", name, lim.timeout) from None
    except OSError as e:
        raise ReadError(f"无法启动读取进程: {e}", f"cannot start the reader process: {e}") from None
    if done.returncode == 0 and done.stdout:
        try:
            result = pickle.loads(done.stdout)
        except Exception:  # a child that wrote garbage
            result = ("error", "unreadable output")
        if result[0] == "ok":
            sheets: list[RawSheet] = result[1]
            return sheets
        if result[0] == "limit":
            raise LimitExceeded(result[1], result[2], limit=result[3], actual=result[4],
                                maximum=result[5])
        if result[0] == "read":
            cls = {c.__name__: c for c in (ReadError, EncryptedBook, DamagedFile, UnsafeFile)}
            raise cls.get(result[1], ReadError)(result[2], result[3])
        raise refuse(DamagedFile, name, f"文件可能已损坏({result[1]})", f"it may be damaged: "
                      f"{result[1]}")
    err = done.stderr.decode("utf-8", "replace")
    if "memory allocation" in err or "MemoryError" in err or done.returncode in (-6, -9):
        raise exhausted("memory", name, lim.memory, sizes=True)
    if done.returncode in (-24, 152):  # SIGXCPU
        raise exhausted("timeout", name, lim.timeout)
    last = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {done.returncode}"
    raise refuse(DamagedFile, name, f"读取进程异常退出({last}),文件可能已损坏",
                  f"the reader process failed ({last})")


def child_main() -> None:
    """The child of :func:`_isolated`: cap its own memory and CPU, read, pickle to stdout."""
    import json
    import pickle

    args = json.loads(sys.argv[1])
    lim = Limits(**args["limits"])
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = lim.memory if hard == resource.RLIM_INFINITY else min(lim.memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        cpu = int(lim.timeout) + 2
        _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu if hard == resource.RLIM_INFINITY
                                                 else min(cpu, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # Windows: the process boundary still contains an abort; the timeout still holds
    source: Source = args["path"] if args["path"] is not None else sys.stdin.buffer.read()
    result: tuple[Any, ...]
    try:
        result = ("ok", calamine_sheets(source, args["name"], args["by_path"], args["skip"], lim,
                                        count_cells=True, kind=args["kind"]))
    except LimitExceeded as e:
        result = ("limit", e.zh, e.en, e.limit, e.actual, e.maximum)
    except ReadError as e:
        result = ("read", type(e).__name__, e.zh, e.en)
    except MemoryError:
        e2 = exhausted("memory", args["name"], lim.memory, sizes=True)
        result = ("limit", e2.zh, e2.en, e2.limit, e2.actual, e2.maximum)
    except BaseException as e:
        result = ("error", str(e)[:300] or type(e).__name__)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
