"""Reading limits, checked before a book is parsed, and python-calamine kept in bounds.

A submission may be a zip bomb, a sheet whose one cell sits at XFD1048576, a shared-string table
that claims four billion strings, a billion-laughs DTD. python-calamine (Rust) reads most of them
well, but sizes taken from the file drive its allocations, and an allocation that fails aborts
the whole process — no exception, the merge of a hundred books dies with it. So, before any
parser sees a book:

1. :func:`sniff.check` says what the file is, by content (a refusal names the kind);
2. the zip is checked from its directory: entries, declared sizes and compression ratios,
   duplicate or overlapping entries, encryption, compression methods;
3. every XML part is inflated once, in chunks, by our own loop that stops at the size the entry
   declares (a lying entry is refused) and verifies its CRC; on the way, each part is scanned
   for a DTD or entity declaration (refused: OOXML never has one), text or attribute runs longer
   than ``string``, nesting deeper than ``depth`` in the parts a tree parser reads (counted by
   tags, in windows: see :func:`_check_depth`; not in worksheets and the shared-string table,
   which only python-calamine's streaming reader parses when a book is read — it read 100,000
   levels in a test — and lxml, capped at 256 levels, when one is annotated; skipping them saves
   a third of this pass), and in worksheets (known by their root element, the first one after
   any comments; sheet data under another root sends the book to the child process) the cell
   references: their count (``cells``), the area from A1 to the farthest cell (``sheet_area``,
   ``book_area``), cells outside Excel's 1,048,576 × 16,384; in the shared strings, the
   declared ``uniqueCount``;
4. merged ranges (``merged``), and for the formats read in a child process the area and the
   cells, are checked as python-calamine hands each sheet over, before its rows become Python
   lists (a merged range costs python-calamine nothing; it costs the Grid a cell each). The
   formats python-calamine reads no merged ranges from have theirs read here, counted against
   ``merged`` as they are read: .ods from ``content.xml`` during the scan (:class:`_OdsMerges`),
   .xlsb from its records in the child process (:func:`xlsb_merges`).

A book past a limit is refused by the limit's name and numbers (:class:`LimitExceeded`). Then
python-calamine reads it: in process for an OOXML book whose every cell reference was checked
(the fast, common path; a Rust panic is a ``BaseException`` and is caught); in a child process
with a memory cap (``RLIMIT_AS``) and a timeout for the formats whose sizes live in binary
records we do not pre-parse (.xls, .xlsb, .ods) and for an OOXML sheet that could not be fully
checked (cells without ``r="A1"`` references, UTF-16 parts). A child that aborts or runs out of
memory or time is a refusal, never a crash of the caller.

Limits (name = default; raise them with the environment variable ``PERFXL_LIMITS``, e.g.
``PERFXL_LIMITS="cells=5M,sheet_area=50M,timeout=60"``; K/M/G multiply by 1,000,
KiB/MiB/GiB and KB/MB/GB by 1,024):

==============  =============  =================================================================
name            default        what
==============  =============  =================================================================
file_size       200 MiB        the file itself
entries         10,000         entries in the zip
unzipped        512 MiB        total uncompressed size of the zip's entries
ratio           200            uncompressed ÷ compressed size of one entry (entries ≥ 1 MiB)
string          1,000,000      bytes of one text or attribute value in an XML part
depth           100            nesting of XML elements (not in worksheets, shared strings)
cells           1,000,000      non-empty cells in the book
sheet_area      10,000,000     cells from A1 to a sheet's farthest cell (rows × columns)
book_area       25,000,000     the same, summed over the book's sheets
merged          1,000,000      cells inside merged ranges, summed over the book
timeout         15             seconds for a book read in a child process
memory          2 GiB          address space of that child process
isolate         0              1: read every book in a child process
==============  =============  =================================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import itertools
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

from .errors import (
    DamagedFile,
    EncryptedBook,
    LimitExceeded,
    PerfxlError,
    ReadError,
    UnsafeFile,
)
from .sniff import OOXML_KINDS, FileType, Source, check

__all__ = ["ENV", "Limits", "RawSheet", "current", "open_book"]

ENV = "PERFXL_LIMITS"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # Excel's sheet

RawSheet = tuple[str, list[list[Any]], list[tuple[int, int, int, int]], bool]
"""(name, rows, merged ranges (r0, c0, r1, c1), hidden): a sheet before it becomes a Grid."""


@dataclass(frozen=True)
class Limits:
    """Reading limits; see the module's documentation for what each one bounds."""

    file_size: int = 200 * MiB
    entries: int = 10_000
    unzipped: int = 512 * MiB
    ratio: int = 200
    string: int = 1_000_000
    depth: int = 100
    cells: int = 1_000_000
    sheet_area: int = 10_000_000
    book_area: int = 25_000_000
    merged: int = 1_000_000
    timeout: float = 15.0
    memory: int = 2 * GiB
    isolate: int = 0

    @classmethod
    def parse(cls, text: str, base: Limits | None = None) -> Limits:
        """``name=value`` pairs separated by commas, semicolons or spaces, over ``base``."""
        names = {f.name: f.type for f in dataclasses.fields(cls)}
        changes: dict[str, Any] = {}
        for item in re.split(r"[,;\s]+", text.strip()):
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in names:
                raise PerfxlError(
                    f"环境变量 {ENV} 有误: 「{item}」;可用的上限: {', '.join(names)}",
                    f"bad {ENV} item {item!r}; limits: {', '.join(names)}")
            number = _number(value)
            if number is None or number < 0:
                raise PerfxlError(f"环境变量 {ENV} 有误: 「{item}」不是数值",
                                  f"bad {ENV} value {item!r}")
            changes[key] = float(number) if key == "timeout" else int(number)
        return dataclasses.replace(base or cls(), **changes)


_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "kb": KiB, "mb": MiB, "gb": GiB,
          "kib": KiB, "mib": MiB, "gib": GiB}


def _number(text: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1).replace("_", "")) * _UNITS[m.group(2).lower()]


_cache: dict[str, Limits] = {}


def current() -> Limits:
    """The limits in effect: the defaults, changed by ``PERFXL_LIMITS`` when it is set."""
    text = os.environ.get(ENV, "")
    if text not in _cache:
        _cache[text] = Limits.parse(text)
    return _cache[text]


# --- messages -----------------------------------------------------------------------------------

def _size(n: float) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:,.2f} {unit}"
    return f"{n:,.0f} 字节"


def _over(limit: str, name: str, what_zh: str, what_en: str, actual: float, maximum: float, *,
          sizes: bool = False) -> LimitExceeded:
    """A refusal by a limit's name and numbers: 无法读取工作簿 X:<what> <actual>,超过上限 <max>."""
    shown = (_size(actual), _size(maximum)) if sizes else (f"{actual:,}", f"{maximum:,}")
    hint = f"PERFXL_LIMITS=\"{limit}=…\""
    return LimitExceeded(
        f"无法读取工作簿 {name}:{what_zh} {shown[0]},超过上限 {shown[1]}({limit})。"
        f"若确是正常的工作簿,可设置环境变量 {hint} 调高上限后重试",
        f"cannot read workbook {name}: {what_en} {shown[0]}, over the limit {limit}={shown[1]} "
        f"(raise it with {hint})", limit=limit, actual=actual, maximum=maximum)


def _exhausted(limit: str, name: str, maximum: float, *, sizes: bool = False) -> LimitExceeded:
    """The child process reading a book ran out of memory or time."""
    shown = _size(maximum) if sizes else f"{maximum:,}"
    what = "内存" if limit == "memory" else "时间(秒)"
    hint = f"PERFXL_LIMITS=\"{limit}=…\""
    return LimitExceeded(
        f"无法读取工作簿 {name}:读取所需的{what}超过上限 {shown}({limit}),文件可能已损坏或是恶意文件。"
        f"若确是正常的工作簿,可设置环境变量 {hint} 调高上限后重试",
        f"cannot read workbook {name}: reading needs more {limit} than {limit}={shown} "
        f"(damaged or malicious?; raise it with {hint})", limit=limit, actual=maximum,
        maximum=maximum)


def _refuse(cls: type[ReadError], name: str, zh: str, en: str) -> ReadError:
    """A refusal that names the problem: 无法读取工作簿 X:<zh>."""
    return cls(f"无法读取工作簿 {name}:{zh}", f"cannot read workbook {name}: {en}")


def _col_name(c: int) -> str:
    out = ""
    while c:
        c, r = divmod(c - 1, 26)
        out = chr(65 + r) + out
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
    reason: str = ""
    custom: bytes | None = None
    """``docProps/custom.xml`` as inflated and scanned here (it holds the template version)."""
    merges: dict[str, list[tuple[int, int, int, int]]] | None = None
    """Sheet name → merged ranges, read here for the format python-calamine reads none from
    (OpenDocument, from ``content.xml`` as it is scanned)."""
    parts: dict[str, tuple[zipfile.ZipInfo, int]] = field(default_factory=dict)
    """An OOXML book's entries (lower-case name) as checked: their directory entry and where their
    data starts, to inflate a sheet again when the reader asks (:meth:`uncalculated`)."""
    _uncalculated: dict[str, frozenset[str]] = field(default_factory=dict)
    _sheet_parts: dict[str, str] | None = None

    @property
    def is_zip(self) -> bool:
        return self.type.is_zip

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
        m = _root(data)
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
        return b"".join(_inflate(fp, info, data_at, self.name))

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
            from .sniff import read_text_table

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
    if size > lim.file_size:
        raise _over("file_size", name, "文件大小", "the file is", size, lim.file_size,
                    sizes=True)
    ft = check(source, name, max_entries=lim.entries)
    book = Book(source, name, ft, lim)
    if ft.kind in OOXML_KINDS or ft.kind in ("xlsb", "ods"):
        with _reader(source) as fp:
            _check_zip(fp, size, book)
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


# --- the zip, from its directory -------------------------------------------------------------------

_BINARY = re.compile(r"\.(bin|png|jpe?g|gif|bmp|tiff?|emf|wmf|wdp|jfif|ico|odttf|fntdata|"
                     r"xlsx|xlsm|xlsb|xls|docx?|pptx?|pdf|mp[34]|wav|avi|mov|data|sigs)$", re.I)
_RATIO_FLOOR = MiB  # the ratio of smaller entries is not a threat (the total is bounded anyway)


def _check_zip(fp: IO[bytes], size: int, book: Book) -> None:
    lim, name = book.limits, book.name
    try:
        z = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise _refuse(DamagedFile, name, f"文件已损坏(zip: {e})", f"damaged zip: {e}") from None
    with z:
        infos = z.infolist()
        if len(infos) > lim.entries:
            raise _over("entries", name, "压缩包中的部件数", "zip entries:", len(infos),
                        lim.entries)
        seen: dict[str, str] = {}
        for info in infos:
            norm = posixpath.normpath(info.filename.replace("\\", "/").lstrip("/")).lower()
            if norm in seen:
                raise _refuse(UnsafeFile, name,
                              f"压缩包中有重复的部件「{seen[norm]}」与「{info.filename}」(同名或仅大小写"
                              "不同),不同软件会读到不同的内容,已拒绝",
                              f"duplicate entries {seen[norm]!r} and {info.filename!r}")
            seen[norm] = info.filename
            if info.flag_bits & 0x1:
                raise _refuse(EncryptedBook, name, "文件已加密(压缩包加密),请去除密码后重新提交",
                              "it is an encrypted zip; remove the password")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _refuse(DamagedFile, name, f"部件 {info.filename} 使用了 Office 不用的压缩方式"
                              f"({info.compress_type})",
                              f"{info.filename} uses compression method {info.compress_type}")
        total = sum(i.file_size for i in infos)
        if total > lim.unzipped:
            raise _over("unzipped", name, "解压后的总大小", "it unzips to", total,
                        lim.unzipped, sizes=True)
        for info in infos:
            if info.file_size >= _RATIO_FLOOR:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > lim.ratio:
                    raise _over("ratio", name, f"部件 {info.filename} 的压缩比(可能是压缩炸弹)",
                                f"{info.filename} has a compression ratio of", round(ratio),
                                lim.ratio)
        headers = _check_layout(fp, size, infos, z, name)
        book.parts = {i.filename.lower(): (i, headers[i.filename]) for i in infos}
        if book.type.kind in OOXML_KINDS or book.type.kind == "ods":
            _scan_parts(fp, infos, headers, z, book)


def _check_layout(fp: IO[bytes], size: int, infos: list[zipfile.ZipInfo], z: zipfile.ZipFile,
                  name: str) -> dict[str, int]:
    """Each entry's data offset; entries that overlap one another (the 'overlapping files' zip
    bomb, or one entry hiding inside another) or run past the directory are refused."""
    start_dir = getattr(z, "start_dir", size)
    spans: list[tuple[int, int, str]] = []
    data_at: dict[str, int] = {}
    for info in infos:
        fp.seek(info.header_offset)
        header = fp.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise _refuse(DamagedFile, name, f"文件已损坏:部件 {info.filename} 的本地文件头缺失",
                          f"damaged: no local header for {info.filename}")
        n, m = struct.unpack_from("<HH", header, 26)
        begin = info.header_offset + 30 + n + m
        data_at[info.filename] = begin
        spans.append((info.header_offset, begin + info.compress_size, info.filename))
    spans.sort()
    for (_a0, a1, an), (b0, _b1, bn) in itertools.pairwise(spans):
        if b0 < a1:
            raise _refuse(UnsafeFile, name, f"部件「{an}」与「{bn}」在压缩包中互相重叠(常见于压缩炸弹),"
                          "已拒绝", f"entries {an!r} and {bn!r} overlap (a zip bomb pattern)")
    if spans and spans[-1][1] > start_dir:
        raise _refuse(DamagedFile, name, f"文件已损坏:部件「{spans[-1][2]}」超出了压缩包的数据区",
                      f"damaged: {spans[-1][2]!r} runs into the directory")
    return data_at


# --- the XML parts, inflated and scanned once -----------------------------------------------------

_CHUNK = 4 * MiB
_KEEP = b"<\x01\x02\x03"
_DELETE = bytes(b for b in range(256) if b not in _KEEP)
_PARENS = bytes.maketrans(b"<\x01", b"()")
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?(worksheet|sst|dialogsheet|macrosheet|chartsheet)"
                   rb"[\s/>]")


def _root(data: bytes) -> re.Match[bytes] | None:
    """The root element, when it is a worksheet, a shared-string table or a chart sheet: the
    first element after the declaration, processing instructions and comments."""
    at = data.find(b"<")
    while at >= 0 and data[at + 1:at + 2] in (b"?", b"!"):
        end = data.find(b"-->", at) + 3 if data.startswith(b"<!--", at) else data.find(b">", at) + 1
        at = data.find(b"<", end) if end > 0 else -1
    return _ROOT.match(data, at) if at >= 0 else None
_COUNT_ATTR = re.compile(rb"""\b(uniqueCount)\s*=\s*["']\s*([0-9]+)\s*["']""")
"""python-calamine reserves room for ``uniqueCount`` strings up front (``count`` it ignores)."""


@dataclass
class _Tally:
    cells: int = 0
    area: int = 0
    isolate: list[str] = field(default_factory=list)


def _scan_parts(fp: IO[bytes], infos: list[zipfile.ZipInfo], data_at: dict[str, int],
                z: zipfile.ZipFile, book: Book) -> None:
    """Inflate and scan every part that is not a known binary, workbook parts first."""
    first = ("[content_types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    order = sorted(infos, key=lambda i: (i.filename.lower() not in first, i.filename))
    tally = _Tally()
    labels = _Labels(z)
    for info in order:
        lower = info.filename.lower()
        if info.filename.endswith("/") or (_BINARY.search(lower) and lower not in labels):
            continue
        _scan(fp, info, data_at[info.filename], labels, book, tally)
    if tally.isolate:
        book.isolate, book.reason = True, "; ".join(tally.isolate)


_CALAMINE_READS = frozenset(("xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                             "xl/sharedstrings.xml", "xl/styles.xml"))


class _Labels:
    """Sheet names for the parts of a zip, read only when needed (a message, a binary part)."""

    def __init__(self, z: zipfile.ZipFile) -> None:
        self.z = z
        self._map: dict[str, str] | None = None

    @property
    def map(self) -> dict[str, str]:
        """Sheet part (lower case) → the sheet's name."""
        if self._map is None:
            self._map = _sheet_names(self.z)
        return self._map

    def __contains__(self, lower: str) -> bool:
        return lower.startswith("xl/worksheets/") or lower in self.map

    def where(self, part: str) -> str:
        name = self.map.get(part.lower())
        return f"工作表「{name}」({part})" if name is not None else f"部件 {part}"

    def read_by_calamine(self, part: str) -> bool:
        return part.lower() in _CALAMINE_READS or part.lower() in self


def _sheet_names(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet part (lower case) → the sheet's name, for messages and to know what python-calamine
    reads: each target both as resolved and as python-calamine resolves it ("xl/" + target)."""
    from .sniff import _rels, _xml

    root = _xml(z, "xl/workbook.xml")
    if root is None:
        return {}
    rels = _rels(z, "xl/workbook.xml")
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    out: dict[str, str] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.endswith("}sheet"):
            _typ, part, raw = rels.get(el.get(rid) or "", ("", "", ""))
            calamine = (raw[1:] if raw.startswith("/xl/") else raw if raw.startswith("xl/")
                        else f"xl/{raw}")
            for target in (part, calamine if raw else ""):
                if target:
                    out[target.lower()] = el.get("name") or ""
    return out


def _damaged(name: str, info: zipfile.ZipInfo, what_zh: str, what_en: str) -> ReadError:
    return _refuse(DamagedFile, name, f"文件已损坏:部件 {info.filename} {what_zh}",
                   f"damaged: {info.filename} {what_en}")


def _past_declared(name: str, info: zipfile.ZipInfo) -> ReadError:
    return _refuse(UnsafeFile, name,
                   f"部件 {info.filename} 解压后比它声明的 {info.file_size:,} 字节更大"
                   "(可能是压缩炸弹),已拒绝",
                   f"{info.filename} inflates past its declared {info.file_size:,} bytes")


def _check_whole(name: str, info: zipfile.ZipInfo, total: int, crc: int) -> None:
    if total != info.file_size:
        raise _damaged(name, info, f"的实际大小 {total:,} 字节与声明的 {info.file_size:,} 字节不符",
                       f"holds {total:,} bytes, not the declared {info.file_size:,}")
    if crc != info.CRC:
        raise _damaged(name, info, "的校验和不符", "fails its CRC check")


def _inflate(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, name: str) -> Iterator[bytes]:
    """The entry's content in chunks; never more than it declares; CRC verified at the end."""
    def damaged(what_zh: str, what_en: str) -> ReadError:
        return _damaged(name, info, what_zh, what_en)

    fp.seek(data_at)
    left, declared, total, crc = info.compress_size, info.file_size, 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        if left != declared:
            raise damaged("的大小前后不一致", "has inconsistent sizes")
        while left:
            raw = fp.read(min(_CHUNK, left))
            if not raw:
                raise damaged("被截断", "is truncated")
            left -= len(raw)
            total += len(raw)
            crc = zlib.crc32(raw, crc)
            yield raw
    else:
        d = zlib.decompressobj(-15)
        while left > 0 and not d.eof:
            raw = fp.read(min(_CHUNK, left))
            if not raw:
                raise damaged("被截断", "is truncated")
            left -= len(raw)
            buf = raw
            while True:
                try:
                    out = d.decompress(buf, _CHUNK)
                except zlib.error as e:
                    raise damaged(f"无法解压({e})", f"cannot be inflated ({e})") from None
                buf = d.unconsumed_tail
                total += len(out)
                if total > declared:
                    raise _past_declared(name, info)
                if out:
                    crc = zlib.crc32(out, crc)
                    yield out
                if d.eof or (not buf and len(out) < _CHUNK):
                    break
        if not d.eof:
            raise damaged("被截断", "is truncated")
    _check_whole(name, info, total, crc)


def _inflate_small(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, name: str) -> bytes:
    """:func:`_inflate` of an entry under ``_CHUNK`` bytes, in one call (the same checks)."""
    fp.seek(data_at)
    declared = info.file_size
    raw = fp.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != declared:
            raise _damaged(name, info, "的大小前后不一致", "has inconsistent sizes")
        if len(raw) < declared:
            raise _damaged(name, info, "被截断", "is truncated")
        data = raw
    else:
        d = zlib.decompressobj(-15)
        try:
            data = d.decompress(raw, declared + 1)
        except zlib.error as e:
            raise _damaged(name, info, f"无法解压({e})", f"cannot be inflated ({e})") from None
        if len(data) > declared:
            raise _past_declared(name, info)
        if not d.eof:
            raise _damaged(name, info, "被截断", "is truncated")
    _check_whole(name, info, len(data), zlib.crc32(data))
    return data


def _scan(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, labels: _Labels, book: Book,
          tally: _Tally) -> None:
    """Inflate one part and scan it: in one piece when it is small, else in pieces cut just
    before a '<' (so no tag, and no run between two '<', is ever split)."""
    lim, name = book.limits, book.name
    st = _PartState(info.filename, labels)
    if book.type.kind == "ods" and info.filename == "content.xml":
        st.sink = _OdsMerges(book)
    pending = b""
    if info.file_size < _CHUNK and info.compress_size < _CHUNK:  # in one piece
        data = _inflate_small(fp, info, data_at, name)
        _piece(data, st, book, tally, last=True)
        _close(st, book, tally)
        if info.filename == "docProps/custom.xml":
            book.custom = data
        return
    for out in _inflate(fp, info, data_at, name):
        data = pending + out if pending else out
        if len(data) < _CHUNK:
            pending = data
            continue
        cut = data.rfind(b"<")
        if cut <= 0:
            if len(data) > lim.string + 1:
                where = st.where
                raise _over("string", name, f"{where} 中有一段文字或属性值的长度至少为",
                            f"{where} holds a text or attribute value of at least",
                            len(data), lim.string)
            pending = data
            continue
        _piece(data[:cut], st, book, tally)
        pending = data[cut:]
    if pending or st.first:
        _piece(pending, st, book, tally, last=True)
    _close(st, book, tally)


@dataclass
class _PartState:
    part: str
    labels: _Labels
    first: bool = True
    skip: bool = False
    role: str = ""
    prefix: bytes = b""
    depth: int = 0  # element depth at the end of the pieces scanned so far
    max_row: int = 0
    max_col: int = 0
    odd: bool = False
    sink: _OdsMerges | None = None
    """Takes each piece once it has passed the checks (an .ods book's content.xml)."""

    @property
    def where(self) -> str:
        """The part, and its sheet's name, for a message."""
        return self.labels.where(self.part)


@functools.lru_cache(maxsize=16)
def _cell_tags(prefix: bytes) -> re.Pattern[bytes]:
    """Every cell tag: (letters, digits) for the plain form ``<c r="B7"``, two empty strings for
    any other (``<c>``, ``<c s="1" r="B7">``, a tab, ``r="B7x"`` …)."""
    return re.compile(re.escape(b"<" + prefix + b"c")
                      + rb'(?: r="([A-Z]+)([0-9]+)"|[>/\t\n\r ])')


def _piece(data: bytes, st: _PartState, book: Book, tally: _Tally, last: bool = False) -> None:
    """Scan a piece of a part: it starts at a '<' (or the part's start) and ends before one."""
    lim, name = book.limits, book.name
    if st.first:
        st.first = False
        if b"\x00" in data[:4096]:  # UTF-16/32 or binary: the byte scans below would see nothing
            st.skip = True
            if st.labels.read_by_calamine(st.part):
                tally.isolate.append(f"{st.where}: not UTF-8")
            return
        m = _root(data)
        if m is None and b"sheetData" in data:  # cells under a root the checks do not know
            tally.isolate.append(f"{st.where}: sheet data under an unknown root element")
        if m and m.group(2) != b"chartsheet":
            st.prefix = (m.group(1) + b":") if m.group(1) else b""
            st.role = "sst" if m.group(2) == b"sst" else "sheet"
            if st.role == "sst":
                end = data.find(b">", m.start())
                for attr, value in _COUNT_ATTR.findall(data, m.start(),
                                                       end if end > 0 else len(data)):
                    if int(value) > lim.cells:
                        raise _over("cells", name, f"共享字符串表声明的字符串个数({attr.decode()})",
                                    "the shared-string table declares "
                                    f"{attr.decode()} =", int(value), lim.cells)
    if st.skip:
        return
    if b"<!DOCTYPE" in data:  # an ENTITY declaration can only live inside a DOCTYPE
        where = st.where
        raise _refuse(UnsafeFile, name, f"{where} 含有 DTD/实体声明,Office 文件不会有这种内容"
                      "(可能是恶意文件),已拒绝", f"{where} holds a DTD or entity declarations")
    _check_runs(data, lim.string, st, name)
    # worksheets and shared strings: see the module's note on depth; a last piece with fewer
    # tags than the limit cannot nest deeper than it
    if not st.role and not (last and st.depth + data.count(b"<") <= lim.depth):
        _check_depth(data, st, lim.depth, name)
    if st.role == "sheet":
        _sheet_piece(data, st, book, tally)
    if st.sink is not None:
        st.sink.feed(data, last)


_TOKENS = re.compile(rb"</|/>|<[?!]|<")
_STEP = {b"<": 1, b"</": -1, b"/>": -1, b"<?": 0, b"<!": 0}
_WINDOW = 1024


def _check_depth(data: bytes, st: _PartState, limit: int, name: str) -> None:
    """Refuse nesting deeper than ``limit``, without a pass per token.

    The piece is looked at in windows of about 1 KB that end before a '<' (so no token is
    split). In a window the depth can rise at most by its start tags (``<`` that is not ``</``):
    a handful of C-level counts give that bound and the depth at the window's end. Only a window
    whose bound passes the limit (never, in a real book) is walked tag by tag. Tags are counted,
    not parsed: a ``<`` inside a comment counts as a start tag, a ``/>`` inside an attribute
    value as an end; the tree parsers behind this (lxml: 256 levels) bound what that misses.
    """
    pos, n = 0, len(data)
    if data.startswith(b"<?xml"):
        pos = max(data.find(b"?>") + 2, 0)
    other = data.find(b"<?", pos) >= 0 or data.find(b"<!", pos) >= 0
    depth = st.depth
    count = data.count
    while pos < n:
        end = data.find(b"<", pos + _WINDOW)
        if end < 0:
            end = n
        starts = count(b"<", pos, end)
        closes = count(b"</", pos, end)
        skipped = count(b"<?", pos, end) + count(b"<!", pos, end) if other else 0
        if depth + starts - closes - skipped > limit:
            peak = max(itertools.accumulate(map(_STEP.__getitem__,
                                                _TOKENS.findall(data, pos, end)),
                                            initial=depth))
            if peak > limit:
                where = st.where
                raise _over("depth", name, f"{where} 中 XML 元素的嵌套层数(至少)",
                            f"{where} nests XML elements at least", peak, limit)
        depth += starts - 2 * closes - count(b"/>", pos, end) - skipped
        pos = end
    st.depth = depth


def _check_runs(data: bytes, limit: int, st: _PartState, name: str) -> None:
    """Refuse a run without '<' (a text or an attribute value) longer than ``limit`` bytes.

    Looks at windows of half the limit: a run longer than the limit always covers a whole
    window, so a window without '<' is the only place to measure exactly.
    """
    step = limit // 2 + 1
    for start in range(0, len(data) - step + 1, step):
        if data.find(b"<", start, start + step) == -1:
            begin = data.rfind(b"<", 0, start) + 1
            end = data.find(b"<", start + step)
            run = (len(data) if end < 0 else end) - begin
            if run > limit:
                where = st.where
                raise _over("string", name, f"{where} 中有一段文字或属性值长",
                            f"{where} holds a text or attribute value of", run, limit)


_ODD = (b"", b"")


def _sheet_piece(data: bytes, st: _PartState, book: Book, tally: _Tally) -> None:
    """Cell references of a worksheet piece: count, farthest cell, cells outside Excel's sheet.

    Only the plain form ``<c r="B7"`` (what Excel, WPS, LibreOffice, openpyxl and XlsxWriter
    write) is read here; a sheet with any other cell tag is read in the child process.
    """
    lim, name = book.limits, book.name
    refs = _cell_tags(st.prefix).findall(data)
    if _ODD in refs:
        st.odd = True
        refs = [t for t in refs if t != _ODD]
    if not refs:
        return
    tally.cells += len(refs)
    if tally.cells > lim.cells:
        raise _over("cells", name, "单元格个数超过", "it holds more cells than",
                    tally.cells, lim.cells)
    letters, digits = zip(*refs, strict=True)
    col = max(map(_col_number, set(letters)))
    row = max(map(int, set(digits)))
    if col > MAX_COLS or row > MAX_ROWS:
        where = st.where
        raise _over("cells", name, f"{where} 中有超出 Excel 范围({MAX_ROWS:,} 行 × {MAX_COLS:,} 列)"
                    "的单元格地址;最大的行号或列号", f"{where} has cells outside Excel's "
                    "sheet; largest row or column", max(row, col),
                    MAX_ROWS if row > MAX_ROWS else MAX_COLS)
    if row > st.max_row or col > st.max_col:
        st.max_row, st.max_col = max(row, st.max_row), max(col, st.max_col)
        area = st.max_row * st.max_col
        if area > lim.sheet_area:
            far, where = f"A1:{_col_name(st.max_col)}{st.max_row}", st.where
            raise _over("sheet_area", name, f"{where} 的范围 {far} 共有单元格",
                        f"{where} spans {far}:", area, lim.sheet_area)


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters[:8]:
        n = n * 26 + ch - 64
    return n if len(letters) <= 8 else MAX_COLS + 1


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


class _OdsMerges:
    """The merged ranges of an .ods book's sheets, read from ``content.xml`` while it is scanned
    (python-calamine reads none from OpenDocument): a cell that spans columns or rows
    (``table:number-columns-spanned`` / ``number-rows-spanned``) starts a merged range. Streaming
    (expat, fed the pieces that passed the checks: no DTD, bounded runs and depth); rows and
    columns are counted with their repeats (``number-rows-repeated``, ``number-columns-repeated``,
    covered cells included), and the cells the ranges cover are checked against ``merged`` before
    any range is kept, so a repeated spanning cell cannot make millions of them. A table nested in
    a cell is not a sheet and is passed over. Malformed XML ends the reading of merges (python-
    calamine then says what is wrong with the book)."""

    def __init__(self, book: Book) -> None:
        import pyexpat

        self.book = book
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
        book.merges = self.merges

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
                lim = self.book.limits
                if self.covered > lim.merged:
                    raise _over("merged", self.book.name, "合并单元格共包含单元格",
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


def _close(st: _PartState, book: Book, tally: _Tally) -> None:
    lim, name = book.limits, book.name
    if st.skip:
        return
    if st.role == "sheet":
        if st.odd:
            tally.isolate.append(f"{st.where}: cells without a plain r=\"A1\" reference")
        tally.area += st.max_row * st.max_col
        if tally.area > lim.book_area:
            raise _over("book_area", name, "各工作表的范围合计单元格", "its sheets span",
                        tally.area, lim.book_area)


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
                    raise _over("sheet_area", name, f"{where} 的范围共有单元格",
                                f"sheet {meta.name!r} spans", here, lim.sheet_area)
                area += here
                if area > lim.book_area:
                    raise _over("book_area", name, "各工作表的范围合计单元格", "its sheets span",
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
                    raise _over("merged", name, "合并单元格共包含单元格", "merged ranges cover",
                                merged, lim.merged)
                rows = sheet.to_python(skip_empty_area=False)
                if count_cells:
                    cells += sum(len(r) - r.count("") for r in rows)  # empty cells are ""
                    if cells > lim.cells:
                        raise _over("cells", name, "单元格个数超过", "it holds more cells than",
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
                            raise _over("merged", name, "合并单元格共包含单元格",
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
        return _refuse(EncryptedBook, name, "文件已加密,请去除密码后重新提交",
                       "it is encrypted with a password; remove it and submit again")
    if "Cell limit exceeded" in text:
        return LimitExceeded(f"无法读取工作簿 {name}:单元格数超过读取程序的上限({text})",
                             f"cannot read workbook {name}: {text}", limit="sheet_area")
    return _refuse(DamagedFile, name, f"文件可能已损坏({text});请用 Excel 打开修复后另存为 .xlsx 再提交",
                   f"it may be damaged: {text}")


_CHILD = "from perfxl.limits import _child_main; _child_main()"


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
        raise _exhausted("timeout", name, lim.timeout) from None
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
        raise _refuse(DamagedFile, name, f"文件可能已损坏({result[1]})", f"it may be damaged: "
                      f"{result[1]}")
    err = done.stderr.decode("utf-8", "replace")
    if "memory allocation" in err or "MemoryError" in err or done.returncode in (-6, -9):
        raise _exhausted("memory", name, lim.memory, sizes=True)
    if done.returncode in (-24, 152):  # SIGXCPU
        raise _exhausted("timeout", name, lim.timeout)
    last = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {done.returncode}"
    raise _refuse(DamagedFile, name, f"读取进程异常退出({last}),文件可能已损坏",
                  f"the reader process failed ({last})")


def _child_main() -> None:
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
        e2 = _exhausted("memory", args["name"], lim.memory, sizes=True)
        result = ("limit", e2.zh, e2.en, e2.limit, e2.actual, e2.maximum)
    except BaseException as e:
        result = ("error", str(e)[:300] or type(e).__name__)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
