"""Reading limits: their numbers, and the checks that hold a book to them before it is parsed.

A submission may be a zip bomb, a sheet whose one cell sits at XFD1048576, a shared-string table
that claims four billion strings, a billion-laughs DTD. python-calamine (Rust) reads most of them
well, but sizes taken from the file drive its allocations, and an allocation that fails aborts
the whole process — no exception, the merge of a hundred books dies with it. So, before any
parser sees a book (``read.sources.open_book`` runs these steps):

1. ``sniff.check`` says what the file is, by content (a refusal names the kind), and
   :func:`check_size` refuses a file over ``file_size``;
2. the zip is checked from its directory (:func:`check_zip`): entries, declared sizes and
   compression ratios, duplicate or overlapping entries, encryption, compression methods;
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
   formats python-calamine reads no merged ranges from have theirs counted against ``merged``
   as they are read: .ods from ``content.xml`` during the scan (a :class:`Sink` fed the part),
   .xlsb from its records in the child process (``read.sources``).

A book past a limit is refused by the limit's name and numbers (:class:`LimitExceeded`). Then
python-calamine reads it (``read.sources``): in process for an OOXML book whose every cell
reference was checked; in a child process with a memory cap (``memory``) and a timeout
(``timeout``) for the formats whose sizes live in binary records we do not pre-parse (.xls,
.xlsb, .ods) and for an OOXML sheet that could not be fully checked (cells without ``r="A1"``
references, UTF-16 parts).

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

import dataclasses
import functools
import itertools
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from .errors import (
    DamagedFile,
    EncryptedBook,
    LimitExceeded,
    PerfxlError,
    ReadError,
    UnsafeFile,
)
from .sniff import OOXML_KINDS, part_xml, relationships

__all__ = ["CHUNK", "ENV", "MAX_COLS", "MAX_ROWS", "Limits", "Sink", "ZipCheck", "check_size",
           "check_zip", "current", "exhausted", "inflate", "over", "refuse", "root_element"]

ENV = "PERFXL_LIMITS"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # Excel's sheet


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


def over(limit: str, name: str, what_zh: str, what_en: str, actual: float, maximum: float, *,
          sizes: bool = False) -> LimitExceeded:
    """A refusal by a limit's name and numbers: 无法读取工作簿 X:<what> <actual>,超过上限 <max>."""
    shown = (_size(actual), _size(maximum)) if sizes else (f"{actual:,}", f"{maximum:,}")
    hint = f"PERFXL_LIMITS=\"{limit}=…\""
    return LimitExceeded(
        f"无法读取工作簿 {name}:{what_zh} {shown[0]},超过上限 {shown[1]}({limit})。"
        f"若确是正常的工作簿,可设置环境变量 {hint} 调高上限后重试",
        f"cannot read workbook {name}: {what_en} {shown[0]}, over the limit {limit}={shown[1]} "
        f"(raise it with {hint})", limit=limit, actual=actual, maximum=maximum)


def exhausted(limit: str, name: str, maximum: float, *, sizes: bool = False) -> LimitExceeded:
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


def refuse(cls: type[ReadError], name: str, zh: str, en: str) -> ReadError:
    """A refusal that names the problem: 无法读取工作簿 X:<zh>."""
    return cls(f"无法读取工作簿 {name}:{zh}", f"cannot read workbook {name}: {en}")


def _col_name(c: int) -> str:
    out = ""
    while c:
        c, r = divmod(c - 1, 26)
        out = chr(65 + r) + out
    return out


# --- the book's size, and its zip --------------------------------------------------------------

def check_size(size: int, name: str, lim: Limits) -> None:
    """Refuse a file larger than ``file_size``, before anything reads it."""
    if size > lim.file_size:
        raise over("file_size", name, "文件大小", "the file is", size, lim.file_size, sizes=True)


class Sink(Protocol):
    """Takes a part's pieces once they have passed the checks (an .ods book's merged ranges are
    read so, from ``content.xml``, as it is scanned)."""

    def feed(self, data: bytes, last: bool) -> None: ...


@dataclass
class ZipCheck:
    """The checks of a zipped book (OOXML, .xlsb, .ods): what they are against, and what they
    learned on the way."""

    name: str
    kind: str
    """The book's kind, as sniffed (``xlsx``, ``xlsb``, ``ods`` …)."""
    limits: Limits
    sinks: dict[str, Sink] = field(default_factory=dict)
    """Part name → what is fed that part as it is scanned."""
    parts: dict[str, tuple[zipfile.ZipInfo, int]] = field(default_factory=dict)
    """Entry (lower-case name) → its directory entry and where its data starts."""
    custom: bytes | None = None
    """``docProps/custom.xml`` as inflated and scanned (it holds the template version)."""
    isolate: str = ""
    """Why the book must be read in the bounded child process ("" when it need not)."""


# --- the zip, from its directory -------------------------------------------------------------------

_BINARY = re.compile(r"\.(bin|png|jpe?g|gif|bmp|tiff?|emf|wmf|wdp|jfif|ico|odttf|fntdata|"
                     r"xlsx|xlsm|xlsb|xls|docx?|pptx?|pdf|mp[34]|wav|avi|mov|data|sigs)$", re.I)
_RATIO_FLOOR = MiB  # the ratio of smaller entries is not a threat (the total is bounded anyway)


def check_zip(fp: IO[bytes], size: int, zc: ZipCheck) -> None:
    """Check a zipped book from its directory, then inflate and scan its XML parts (see the
    module's notes); past a limit, unsafe or damaged: the :class:`ReadError` that says so."""
    lim, name = zc.limits, zc.name
    try:
        z = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise refuse(DamagedFile, name, f"文件已损坏(zip: {e})", f"damaged zip: {e}") from None
    with z:
        infos = z.infolist()
        if len(infos) > lim.entries:
            raise over("entries", name, "压缩包中的部件数", "zip entries:", len(infos),
                        lim.entries)
        seen: dict[str, str] = {}
        for info in infos:
            norm = posixpath.normpath(info.filename.replace("\\", "/").lstrip("/")).lower()
            if norm in seen:
                raise refuse(UnsafeFile, name,
                              f"压缩包中有重复的部件「{seen[norm]}」与「{info.filename}」(同名或仅大小写"
                              "不同),不同软件会读到不同的内容,已拒绝",
                              f"duplicate entries {seen[norm]!r} and {info.filename!r}")
            seen[norm] = info.filename
            if info.flag_bits & 0x1:
                raise refuse(EncryptedBook, name, "文件已加密(压缩包加密),请去除密码后重新提交",
                              "it is an encrypted zip; remove the password")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise refuse(DamagedFile, name, f"部件 {info.filename} 使用了 Office 不用的压缩方式"
                              f"({info.compress_type})",
                              f"{info.filename} uses compression method {info.compress_type}")
        total = sum(i.file_size for i in infos)
        if total > lim.unzipped:
            raise over("unzipped", name, "解压后的总大小", "it unzips to", total,
                        lim.unzipped, sizes=True)
        for info in infos:
            if info.file_size >= _RATIO_FLOOR:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > lim.ratio:
                    raise over("ratio", name, f"部件 {info.filename} 的压缩比(可能是压缩炸弹)",
                                f"{info.filename} has a compression ratio of", round(ratio),
                                lim.ratio)
        headers = _check_layout(fp, size, infos, z, name)
        zc.parts = {i.filename.lower(): (i, headers[i.filename]) for i in infos}
        if zc.kind in OOXML_KINDS or zc.kind == "ods":
            _scan_parts(fp, infos, headers, z, zc)


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
            raise refuse(DamagedFile, name, f"文件已损坏:部件 {info.filename} 的本地文件头缺失",
                          f"damaged: no local header for {info.filename}")
        n, m = struct.unpack_from("<HH", header, 26)
        begin = info.header_offset + 30 + n + m
        data_at[info.filename] = begin
        spans.append((info.header_offset, begin + info.compress_size, info.filename))
    spans.sort()
    for (_a0, a1, an), (b0, _b1, bn) in itertools.pairwise(spans):
        if b0 < a1:
            raise refuse(UnsafeFile, name, f"部件「{an}」与「{bn}」在压缩包中互相重叠(常见于压缩炸弹),"
                          "已拒绝", f"entries {an!r} and {bn!r} overlap (a zip bomb pattern)")
    if spans and spans[-1][1] > start_dir:
        raise refuse(DamagedFile, name, f"文件已损坏:部件「{spans[-1][2]}」超出了压缩包的数据区",
                      f"damaged: {spans[-1][2]!r} runs into the directory")
    return data_at


# --- the XML parts, inflated and scanned once -----------------------------------------------------

CHUNK = 4 * MiB
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?(worksheet|sst|dialogsheet|macrosheet|chartsheet)"
                   rb"[\s/>]")


def root_element(data: bytes) -> re.Match[bytes] | None:
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
                z: zipfile.ZipFile, zc: ZipCheck) -> None:
    """Inflate and scan every part that is not a known binary, workbook parts first."""
    first = ("[content_types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    order = sorted(infos, key=lambda i: (i.filename.lower() not in first, i.filename))
    tally = _Tally()
    labels = _Labels(z)
    for info in order:
        lower = info.filename.lower()
        if info.filename.endswith("/") or (_BINARY.search(lower) and lower not in labels):
            continue
        _scan(fp, info, data_at[info.filename], labels, zc, tally)
    if tally.isolate:
        zc.isolate = "; ".join(tally.isolate)


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
    root = part_xml(z, "xl/workbook.xml")
    if root is None:
        return {}
    rels = relationships(z, "xl/workbook.xml")
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
    return refuse(DamagedFile, name, f"文件已损坏:部件 {info.filename} {what_zh}",
                   f"damaged: {info.filename} {what_en}")


def _past_declared(name: str, info: zipfile.ZipInfo) -> ReadError:
    return refuse(UnsafeFile, name,
                   f"部件 {info.filename} 解压后比它声明的 {info.file_size:,} 字节更大"
                   "(可能是压缩炸弹),已拒绝",
                   f"{info.filename} inflates past its declared {info.file_size:,} bytes")


def _check_whole(name: str, info: zipfile.ZipInfo, total: int, crc: int) -> None:
    if total != info.file_size:
        raise _damaged(name, info, f"的实际大小 {total:,} 字节与声明的 {info.file_size:,} 字节不符",
                       f"holds {total:,} bytes, not the declared {info.file_size:,}")
    if crc != info.CRC:
        raise _damaged(name, info, "的校验和不符", "fails its CRC check")


def inflate(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, name: str) -> Iterator[bytes]:
    """The entry's content in chunks; never more than it declares; CRC verified at the end."""
    def damaged(what_zh: str, what_en: str) -> ReadError:
        return _damaged(name, info, what_zh, what_en)

    fp.seek(data_at)
    left, declared, total, crc = info.compress_size, info.file_size, 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        if left != declared:
            raise damaged("的大小前后不一致", "has inconsistent sizes")
        while left:
            raw = fp.read(min(CHUNK, left))
            if not raw:
                raise damaged("被截断", "is truncated")
            left -= len(raw)
            total += len(raw)
            crc = zlib.crc32(raw, crc)
            yield raw
    else:
        d = zlib.decompressobj(-15)
        while left > 0 and not d.eof:
            raw = fp.read(min(CHUNK, left))
            if not raw:
                raise damaged("被截断", "is truncated")
            left -= len(raw)
            buf = raw
            while True:
                try:
                    out = d.decompress(buf, CHUNK)
                except zlib.error as e:
                    raise damaged(f"无法解压({e})", f"cannot be inflated ({e})") from None
                buf = d.unconsumed_tail
                total += len(out)
                if total > declared:
                    raise _past_declared(name, info)
                if out:
                    crc = zlib.crc32(out, crc)
                    yield out
                if d.eof or (not buf and len(out) < CHUNK):
                    break
        if not d.eof:
            raise damaged("被截断", "is truncated")
    _check_whole(name, info, total, crc)


def _inflate_small(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, name: str) -> bytes:
    """:func:`_inflate` of an entry under ``CHUNK`` bytes, in one call (the same checks)."""
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


def _scan(fp: IO[bytes], info: zipfile.ZipInfo, data_at: int, labels: _Labels, zc: ZipCheck,
          tally: _Tally) -> None:
    """Inflate one part and scan it: in one piece when it is small, else in pieces cut just
    before a '<' (so no tag, and no run between two '<', is ever split)."""
    lim, name = zc.limits, zc.name
    st = _PartState(info.filename, labels)
    st.sink = zc.sinks.get(info.filename)
    pending = b""
    if info.file_size < CHUNK and info.compress_size < CHUNK:  # in one piece
        data = _inflate_small(fp, info, data_at, name)
        _piece(data, st, zc, tally, last=True)
        _close(st, zc, tally)
        if info.filename == "docProps/custom.xml":
            zc.custom = data
        return
    for out in inflate(fp, info, data_at, name):
        data = pending + out if pending else out
        if len(data) < CHUNK:
            pending = data
            continue
        cut = data.rfind(b"<")
        if cut <= 0:
            if len(data) > lim.string + 1:
                where = st.where
                raise over("string", name, f"{where} 中有一段文字或属性值的长度至少为",
                            f"{where} holds a text or attribute value of at least",
                            len(data), lim.string)
            pending = data
            continue
        _piece(data[:cut], st, zc, tally)
        pending = data[cut:]
    if pending or st.first:
        _piece(pending, st, zc, tally, last=True)
    _close(st, zc, tally)


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
    sink: Sink | None = None
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


def _piece(data: bytes, st: _PartState, zc: ZipCheck, tally: _Tally, last: bool = False) -> None:
    """Scan a piece of a part: it starts at a '<' (or the part's start) and ends before one."""
    lim, name = zc.limits, zc.name
    if st.first:
        st.first = False
        if b"\x00" in data[:4096]:  # UTF-16/32 or binary: the byte scans below would see nothing
            st.skip = True
            if st.labels.read_by_calamine(st.part):
                tally.isolate.append(f"{st.where}: not UTF-8")
            return
        m = root_element(data)
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
                        raise over("cells", name, f"共享字符串表声明的字符串个数({attr.decode()})",
                                    "the shared-string table declares "
                                    f"{attr.decode()} =", int(value), lim.cells)
    if st.skip:
        return
    if b"<!DOCTYPE" in data:  # an ENTITY declaration can only live inside a DOCTYPE
        where = st.where
        raise refuse(UnsafeFile, name, f"{where} 含有 DTD/实体声明,Office 文件不会有这种内容"
                      "(可能是恶意文件),已拒绝", f"{where} holds a DTD or entity declarations")
    _check_runs(data, lim.string, st, name)
    # worksheets and shared strings: see the module's note on depth; a last piece with fewer
    # tags than the limit cannot nest deeper than it
    if not st.role and not (last and st.depth + data.count(b"<") <= lim.depth):
        _check_depth(data, st, lim.depth, name)
    if st.role == "sheet":
        _sheet_piece(data, st, zc, tally)
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
                raise over("depth", name, f"{where} 中 XML 元素的嵌套层数(至少)",
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
                raise over("string", name, f"{where} 中有一段文字或属性值长",
                            f"{where} holds a text or attribute value of", run, limit)


_ODD = (b"", b"")


def _sheet_piece(data: bytes, st: _PartState, zc: ZipCheck, tally: _Tally) -> None:
    """Cell references of a worksheet piece: count, farthest cell, cells outside Excel's sheet.

    Only the plain form ``<c r="B7"`` (what Excel, WPS, LibreOffice, openpyxl and XlsxWriter
    write) is read here; a sheet with any other cell tag is read in the child process.
    """
    lim, name = zc.limits, zc.name
    refs = _cell_tags(st.prefix).findall(data)
    if _ODD in refs:
        st.odd = True
        refs = [t for t in refs if t != _ODD]
    if not refs:
        return
    tally.cells += len(refs)
    if tally.cells > lim.cells:
        raise over("cells", name, "单元格个数超过", "it holds more cells than",
                    tally.cells, lim.cells)
    letters, digits = zip(*refs, strict=True)
    col = max(map(_col_number, set(letters)))
    row = max(map(int, set(digits)))
    if col > MAX_COLS or row > MAX_ROWS:
        where = st.where
        raise over("cells", name, f"{where} 中有超出 Excel 范围({MAX_ROWS:,} 行 × {MAX_COLS:,} 列)"
                    "的单元格地址;最大的行号或列号", f"{where} has cells outside Excel's "
                    "sheet; largest row or column", max(row, col),
                    MAX_ROWS if row > MAX_ROWS else MAX_COLS)
    if row > st.max_row or col > st.max_col:
        st.max_row, st.max_col = max(row, st.max_row), max(col, st.max_col)
        area = st.max_row * st.max_col
        if area > lim.sheet_area:
            far, where = f"A1:{_col_name(st.max_col)}{st.max_row}", st.where
            raise over("sheet_area", name, f"{where} 的范围 {far} 共有单元格",
                        f"{where} spans {far}:", area, lim.sheet_area)


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters[:8]:
        n = n * 26 + ch - 64
    return n if len(letters) <= 8 else MAX_COLS + 1


def _close(st: _PartState, zc: ZipCheck, tally: _Tally) -> None:
    lim, name = zc.limits, zc.name
    if st.skip:
        return
    if st.role == "sheet":
        if st.odd:
            tally.isolate.append(f"{st.where}: cells without a plain r=\"A1\" reference")
        tally.area += st.max_row * st.max_col
        if tally.area > lim.book_area:
            raise over("book_area", name, "各工作表的范围合计单元格", "its sheets span",
                        tally.area, lim.book_area)

