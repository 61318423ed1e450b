"""What a submitted file really is, by its content, not its name; and what a rebuild would drop.

Submissions come by e-mail and USB stick: renamed files, old formats, encrypted books, web-system
exports disguised as .xls, damaged zips. :func:`sniff` looks at the bytes (zip directory and
content types, the streams of an OLE compound file, the first characters of a text) and names the
file's kind; :func:`check` turns every kind perfxl does not read into one specific message,
Chinese first, that says what the file is and what to do with it. Nothing here parses a sheet:
that is python-calamine's job, after ``limits.py`` has checked the book.

Read: OOXML workbooks (xlsx, xlsm, xltx, xltm, xlam — also behind a wrong extension), xlsb, ods,
legacy BIFF .xls (and WPS .et), CSV/TSV text. Refused with a reason: encrypted books, HTML and
Excel 2003 XML saved as .xls, PDF, Word, PowerPoint, mail, archives, images, empty and truncated
files.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import (
    DamagedFile,
    EncryptedBook,
    LimitExceeded,
    ReadError,
    UnsafeFile,
    UnsupportedFormat,
)

__all__ = ["OOXML_KINDS", "READABLE", "FileType", "Source", "check", "droppable_parts",
           "part_xml", "relationships", "require_ooxml", "sniff"]

Source = str | Path | bytes

OOXML_KINDS = ("xlsx", "xlsm", "xltx", "xltm", "xlam")
READABLE = (*OOXML_KINDS, "xlsb", "ods", "xls", "csv")
"""Kinds perfxl reads; every other kind is refused by :func:`check` with its own message."""


@dataclass(frozen=True)
class FileType:
    """What a file is. ``kind`` is one of :data:`READABLE` or a refused kind (``encrypted``,
    ``html``, ``pdf``, ``truncated`` …); ``detail`` says more (the zip error, the main content
    type); text files carry their ``encoding`` and ``delimiter``."""

    kind: str
    detail: str = ""
    encoding: str = ""
    delimiter: str = ""

    @property
    def readable(self) -> bool:
        return self.kind in READABLE

    @property
    def is_zip(self) -> bool:
        return self.kind in (*OOXML_KINDS, "xlsb", "ods")


# --- messages ------------------------------------------------------------------------------------

_SAVE_AS = "请用 Excel(或 WPS)打开后「另存为」Excel 工作簿(.xlsx)再提交"
_SAVE_AS_EN = "open it in Excel (or WPS) and save it as an Excel workbook (.xlsx)"

# kind → (error class, Chinese, English); {name} is the file's name
_REFUSALS: dict[str, tuple[type[ReadError], str, str]] = {
    "empty": (DamagedFile, "这是空文件(没有任何内容),请重新保存或重新发送",
              "it is empty; save or send it again"),
    "truncated": (DamagedFile, "文件不完整(文件被截断,可能是下载或复制未完成),请重新保存或重新发送",
                  "it is truncated (an incomplete download or copy); save or send it again"),
    "damaged": (DamagedFile, "文件已损坏,无法读取({detail});请用 Excel 打开修复后另存为 .xlsx 再提交",
                "it is damaged ({detail}); repair it in Excel and save it as .xlsx"),
    "encrypted": (EncryptedBook, "文件已加密,请去除密码后重新提交"
                  "(Excel:文件 → 信息 → 保护工作簿 → 用密码进行加密,清空密码后保存)",
                  "it is encrypted with a password; remove the password and submit it again"),
    "unsafe-xml": (UnsafeFile, "{detail} 含有 DTD/实体声明,Office 文件不会有这种内容(可能是恶意文件),"
                   "已拒绝读取", "{detail} holds a DTD or entity declarations, which Office "
                   "files never do (possibly malicious); refused"),
    "html": (UnsupportedFormat, "这实际上是网页(HTML)文件,不是 Excel 工作簿(网上系统常这样导出 .xls);"
             + _SAVE_AS, "it is a web page (HTML) saved with a spreadsheet extension; "
             + _SAVE_AS_EN),
    "mht": (UnsupportedFormat, "这实际上是单个文件网页(MHT),不是 Excel 工作簿;" + _SAVE_AS,
            "it is a single-file web page (MHT); " + _SAVE_AS_EN),
    "spreadsheetml": (UnsupportedFormat, "这是 Excel 2003 XML 表格(网上系统常这样导出),不是 .xlsx 工作簿;"
                      + _SAVE_AS, "it is an Excel 2003 XML spreadsheet; " + _SAVE_AS_EN),
    "xml": (UnsupportedFormat, "这是 XML 文件,不是 Excel 工作簿;请提交 Excel 工作簿(.xlsx)",
            "it is an XML file, not a workbook; submit an Excel workbook (.xlsx)"),
    "pdf": (UnsupportedFormat, "这是 PDF 文件,不是 Excel 工作簿;请提交 Excel 原文件(.xlsx),不要提交打印或转换后的 PDF",
            "it is a PDF, not a workbook; submit the Excel file (.xlsx), not a PDF of it"),
    "ofd": (UnsupportedFormat, "这是 OFD 版式文件,不是 Excel 工作簿;请提交 Excel 原文件(.xlsx)",
            "it is an OFD document, not a workbook; submit the Excel file (.xlsx)"),
    "docx": (UnsupportedFormat, "这是 Word 文档,不是 Excel 工作簿;请把表格填在 Excel 模板中提交(.xlsx)",
             "it is a Word document, not a workbook; fill in the Excel template (.xlsx)"),
    "doc": (UnsupportedFormat, "这是 Word 文档(旧版 .doc),不是 Excel 工作簿;请把表格填在 Excel 模板中提交(.xlsx)",
            "it is a Word document (.doc), not a workbook; fill in the Excel template (.xlsx)"),
    "pptx": (UnsupportedFormat, "这是 PowerPoint 演示文稿,不是 Excel 工作簿",
             "it is a PowerPoint presentation, not a workbook"),
    "ppt": (UnsupportedFormat, "这是 PowerPoint 演示文稿(旧版 .ppt),不是 Excel 工作簿",
            "it is a PowerPoint presentation (.ppt), not a workbook"),
    "odf": (UnsupportedFormat, "这是 OpenDocument 文字或演示文档,不是电子表格",
            "it is an OpenDocument text or presentation, not a spreadsheet"),
    "msg": (UnsupportedFormat, "这是 Outlook 邮件(.msg),请先把邮件里的附件(.xlsx)另存出来再提交",
            "it is an Outlook message; save its attachment (.xlsx) and submit that"),
    "zip": (UnsupportedFormat, "这是压缩包(zip),不是 Excel 工作簿;请解压后提交其中的 .xlsx 文件",
            "it is a zip archive, not a workbook; unpack it and submit the .xlsx inside"),
    "archive": (UnsupportedFormat, "这是压缩包({detail}),不是 Excel 工作簿;请解压后提交其中的 .xlsx 文件",
                "it is an archive ({detail}); unpack it and submit the .xlsx inside"),
    "image": (UnsupportedFormat, "这是图片({detail}),不是 Excel 工作簿;请提交 Excel 原文件(.xlsx)",
              "it is an image ({detail}); submit the Excel file (.xlsx)"),
    "rtf": (UnsupportedFormat, "这是 RTF 文档,不是 Excel 工作簿", "it is an RTF document"),
    "text": (UnsupportedFormat, "这是纯文本文件,不是 Excel 工作簿(也不像 CSV 表格);请提交 Excel 工作簿(.xlsx)",
             "it is plain text, not a workbook (nor a CSV table); submit an Excel workbook"),
    "cfb": (UnsupportedFormat, "这是 Office 复合文档,但不是 Excel 工作簿({detail})",
            "it is an OLE compound file but not a workbook ({detail})"),
    "binary": (UnsupportedFormat, "格式无法识别,不是 Excel 工作簿;请提交 Excel 工作簿(.xlsx)",
               "unknown format, not a workbook; submit an Excel workbook (.xlsx)"),
}


def check(source: Source, name: str = "", *, max_entries: int | None = None) -> FileType:
    """:func:`sniff`, and raise the specific :class:`ReadError` for a kind perfxl does not read."""
    name = name or _name(source)
    ft = sniff(source, name, max_entries=max_entries)
    if ft.readable:
        return ft
    cls, zh, en = _REFUSALS.get(ft.kind, _REFUSALS["binary"])
    detail = ft.detail or ft.kind
    zh = f"无法读取工作簿 {name}:" + zh.format(detail=detail)
    en = f"cannot read workbook {name}: " + en.format(detail=detail)
    if cls is UnsupportedFormat:
        raise UnsupportedFormat(zh, en, kind=ft.kind)
    raise cls(zh, en)


_KIND_NAMES = {"xlsb": "Excel 二进制工作簿(.xlsb)", "ods": "OpenDocument 电子表格(.ods)",
               "xls": "旧版 .xls 格式(Excel 97–2003 或 WPS)", "csv": "CSV/文本表格"}


def require_ooxml(path: Source, action: str = "写入校验结果", *, name: str = "") -> FileType:
    """The file's type when it is an OOXML workbook (what perfxl can write into); else the
    specific error: 无法写入校验结果 X:这是旧版 .xls 格式…,请用 Excel 另存为 .xlsx 后再试.

    Reading takes .xls, .xlsb, .ods and CSV; annotating in place or into a copy patches the
    OOXML package, so those formats must be saved as .xlsx first.
    """
    name = name or _name(path)
    ft = check(path, name)
    if ft.kind not in OOXML_KINDS:
        what = _KIND_NAMES.get(ft.kind, ft.kind)
        raise UnsupportedFormat(f"无法{action} {name}:这是{what},请用 Excel(或 WPS)另存为 .xlsx 后再试",
                                f"cannot {'annotate' if '校验' in action else 'write'} {name}: "
                                f"it is {ft.kind}; save it as .xlsx first", kind=ft.kind)
    return ft


def _name(source: Source) -> str:
    return "工作簿" if isinstance(source, bytes) else Path(source).name


# --- sniffing ------------------------------------------------------------------------------------

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEAD = 65536


def sniff(source: Source, name: str = "", *, max_entries: int | None = None) -> FileType:
    """The kind of a file (a path or its bytes) by its content; never parses a sheet.

    ``max_entries`` refuses a zip whose directory lists more entries before Python reads that
    directory (a zip can claim millions of entries in a few megabytes).
    """
    with _open(source) as fp:
        fp.seek(0, io.SEEK_END)
        size = fp.tell()
        fp.seek(0)
        head = fp.read(_HEAD)
        if size == 0:
            return FileType("empty")
        if head.startswith(CFB_MAGIC):
            return _sniff_cfb(fp, size)
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
            return _sniff_zip(fp, size, max_entries, name or _name(source))
        return _sniff_other(head, size, name or _name(source))


@dataclass(frozen=True)
class _Opened:
    fp: IO[bytes]
    owned: bool

    def __enter__(self) -> IO[bytes]:
        return self.fp

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.fp.close()


def _open(source: Source) -> _Opened:
    if isinstance(source, bytes):
        return _Opened(io.BytesIO(source), True)
    try:
        return _Opened(open(source, "rb"), True)
    except FileNotFoundError:
        raise ReadError(f"找不到文件: {source}", f"file not found: {source}") from None
    except OSError as e:
        raise ReadError(f"无法打开 {Path(source).name}: {e.strerror}",
                        f"cannot open {source}: {e.strerror}") from None


# --- zip: OOXML, xlsb, ods, or something else zipped -------------------------------------------

_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xltm",
    "application/vnd.ms-excel.addin.macroenabled.main+xml": "xlam",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "xlsb",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docx",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptx",
}
_BY_PART = (("xl/workbook.xml", "xlsx"), ("xl/workbook.bin", "xlsb"),
            ("word/document.xml", "docx"), ("ppt/presentation.xml", "pptx"))


def zip_entry_count(fp: IO[bytes], size: int) -> int | None:
    """Entries the zip's end-of-central-directory record claims (zip64 aware); None if absent."""
    tail_len = min(size, 22 + 65535 + 20)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count: int = struct.unpack_from("<H", tail, at + 10)[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", tail, at - 12)[0]
        if offset + 56 <= size:
            fp.seek(offset)
            rec = fp.read(56)
            if rec[:4] == b"PK\x06\x06":
                count = struct.unpack_from("<Q", rec, 32)[0]
    return count


def _sniff_zip(fp: IO[bytes], size: int, max_entries: int | None, name: str) -> FileType:
    claimed = zip_entry_count(fp, size)
    if claimed is None:
        return FileType("truncated", "zip directory missing")
    if max_entries is not None and claimed > max_entries:
        raise LimitExceeded(f"无法读取工作簿 {name}:压缩包中的部件数 {claimed:,},超过上限 "
                            f"{max_entries:,}(entries)", f"cannot read workbook {name}: "
                            f"{claimed:,} zip entries, over the limit entries={max_entries:,}",
                            limit="entries", actual=claimed, maximum=max_entries)
    fp.seek(0)
    try:
        z = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        return FileType("damaged", f"zip: {e}")
    with z:
        names = {n.lower(): n for n in z.namelist()}
        if not names:
            return FileType("empty", "zip without entries")
        if "mimetype" in names:
            mime = _read_small(z, names["mimetype"], 200).decode("ascii", "replace").strip()
            if mime == "application/vnd.oasis.opendocument.spreadsheet":
                return FileType("ods", mime)
            if mime.startswith("application/vnd.oasis.opendocument"):
                return FileType("odf", mime)
        if "ofd.xml" in names:
            return FileType("ofd")
        if "[content_types].xml" in names:
            data = _read_small(z, names["[content_types].xml"], 1 << 20)
            try:
                kind = _main_kind(data)
            except _Unsafe:
                return FileType("unsafe-xml", "[Content_Types].xml")
            except ValueError:
                kind = ""
            if kind:
                return FileType(kind, "content type")
        for part, kind in _BY_PART:
            if part in names:
                return FileType(kind, part)
        if any(n.startswith("xl/") for n in names):
            return FileType("damaged", "[Content_Types].xml 缺失 (missing)")
        return FileType("zip")


class _Unsafe(Exception):
    pass


def _read_small(z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a member (a lying header cannot make this read more)."""
    try:
        with z.open(name) as f:
            return f.read(limit)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
            ValueError, zipfile.LargeZipFile):
        return b""


_OVERRIDE = re.compile(rb"""<(?:[\w.-]+:)?Override\s[^>]*?\bContentType\s*=\s*(["'])([^"'<>]*)\1""")


def _main_kind(content_types: bytes) -> str:
    """The kind named by the main part's content type in ``[Content_Types].xml``."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if b"<!DOCTYPE" in content_types or b"<!ENTITY" in content_types:
        raise _Unsafe
    for m in _OVERRIDE.finditer(content_types):  # the plain form, without parsing the XML
        ct = m.group(2).decode("utf-8", "replace").split(";")[0].strip().lower()
        if ct in _MAIN_TYPES:
            return _MAIN_TYPES[ct]
    try:
        root = fromstring(content_types, forbid_dtd=True)
    except DefusedXmlException:
        raise _Unsafe from None
    except ParseError:
        raise ValueError("unparsable [Content_Types].xml") from None
    for el in root:
        ct = (el.get("ContentType") or "").split(";")[0].strip().lower()
        if el.tag.endswith("Override") and ct in _MAIN_TYPES:
            return _MAIN_TYPES[ct]
    return ""


# --- OLE compound files: legacy .xls, encrypted OOXML, Word, mail -------------------------------

_ENDOFCHAIN, _FREESECT = 0xFFFFFFFE, 0xFFFFFFFF


class _CfbError(Exception):
    pass


class Cfb:
    """A minimal reader of an OLE compound file's directory and small streams (MS-CFB), enough
    to tell an encrypted OOXML book (EncryptionInfo + EncryptedPackage) from a legacy .xls
    (Workbook) or a Word document, and to look for the FILEPASS record of an encrypted .xls.

    Every chain is bounded by the file's size and checked for cycles: a fuzzed file raises
    :class:`_CfbError`, it never loops or allocates more than the file holds.
    """

    def __init__(self, fp: IO[bytes], size: int) -> None:
        self.fp, self.size = fp, size
        fp.seek(0)
        h = fp.read(512)
        if len(h) < 512:
            raise _CfbError("shorter than its header")
        shift, mini_shift = struct.unpack_from("<HH", h, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise _CfbError(f"sector shift {shift}/{mini_shift}")
        self.sector = 1 << shift
        self.sectors = max(0, (size - self.sector) // self.sector + 1)
        n_fat, self.dir_start = struct.unpack_from("<II", h, 0x2C)
        self.mini_cutoff, mini_fat_start, _n_mini_fat, difat_start, n_difat = \
            struct.unpack_from("<IIIII", h, 0x38)
        if n_fat > self.sectors:
            raise _CfbError(f"{n_fat} FAT sectors in a file of {self.sectors}")
        fat_sectors = [s for s in struct.unpack_from("<109I", h, 0x4C) if s < self.sectors]
        per = self.sector // 4
        sect, seen = difat_start, 0
        while sect < self.sectors and seen <= n_difat and len(fat_sectors) < n_fat:
            block = struct.unpack(f"<{per}I", self._sector(sect))
            fat_sectors += [s for s in block[:-1] if s < self.sectors]
            sect, seen = block[-1], seen + 1
        fat_sectors = fat_sectors[:n_fat]
        self.fat: list[int] = []
        for s in fat_sectors:
            self.fat += struct.unpack(f"<{per}I", self._sector(s))
        self.entries = list(self._directory())
        self.mini_fat = (list(struct.unpack(f"<{len(raw) // 4}I", raw))
                         if (raw := self._chain_bytes(mini_fat_start, 1 << 24)) else [])

    def _sector(self, n: int) -> bytes:
        self.fp.seek((n + 1) * self.sector)
        data = self.fp.read(self.sector)
        if len(data) < self.sector:
            raise _CfbError(f"sector {n} past the end of the file")
        return data

    def _chain(self, start: int) -> Iterator[int]:
        seen: set[int] = set()
        sect = start
        while sect != _ENDOFCHAIN and sect != _FREESECT:
            if sect >= len(self.fat) or sect in seen or sect >= self.sectors:
                raise _CfbError(f"broken sector chain at {sect}")
            seen.add(sect)
            yield sect
            sect = self.fat[sect]

    def _chain_bytes(self, start: int, limit: int) -> bytes:
        out = bytearray()
        if start in (_ENDOFCHAIN, _FREESECT):
            return b""
        for sect in self._chain(start):
            out += self._sector(sect)
            if len(out) >= limit:
                break
        return bytes(out[:limit])

    def _directory(self) -> Iterator[tuple[str, int, int, int]]:
        """(name, type, start sector, size) of every directory entry."""
        raw = self._chain_bytes(self.dir_start, 128 * 100_000)
        for i in range(0, len(raw) - 127, 128):
            e = raw[i:i + 128]
            n = struct.unpack_from("<H", e, 64)[0]
            typ = e[66]
            if typ == 0 or n < 2 or n > 64:
                continue
            name = e[:n - 2].decode("utf-16-le", "replace").split("\x00")[0]
            start, size = struct.unpack_from("<IQ", e, 116)
            if self.sector == 512:
                size &= 0xFFFFFFFF
            yield name, typ, start, size

    def names(self) -> set[str]:
        return {name.lower() for name, _t, _s, _n in self.entries}

    def stream_head(self, wanted: str, limit: int = 65536) -> bytes:
        """The first ``limit`` bytes of a stream (regular or mini stream)."""
        for name, typ, start, size in self.entries:
            if typ == 2 and name.lower() == wanted.lower():
                if size >= self.mini_cutoff:
                    return self._chain_bytes(start, min(size, limit))
                root = next((e for e in self.entries if e[1] == 5), None)
                if root is None:
                    raise _CfbError("no root entry")
                container = self._chain_bytes(root[2], min(root[3], 1 << 24))
                out, sect, seen = bytearray(), start, set()
                while sect not in (_ENDOFCHAIN, _FREESECT) and len(out) < min(size, limit):
                    if sect >= len(self.mini_fat) or sect in seen or (sect + 1) * 64 > len(container):
                        raise _CfbError("broken mini stream")
                    seen.add(sect)
                    out += container[sect * 64:(sect + 1) * 64]
                    sect = self.mini_fat[sect]
                return bytes(out[:min(size, limit)])
        return b""


def _sniff_cfb(fp: IO[bytes], size: int) -> FileType:
    try:
        cfb = Cfb(fp, size)
        names = cfb.names()
    except (_CfbError, struct.error, ValueError, UnicodeDecodeError) as e:
        if size < 1536:
            return FileType("truncated", f"OLE: {e}")
        return FileType("xls", f"damaged OLE directory: {e}")  # let the (isolated) reader try
    if "encryptioninfo" in names and "encryptedpackage" in names:
        return FileType("encrypted", "OOXML in an OLE container (EncryptionInfo)")
    book = next((n for n in names if n.startswith("workbook") or n == "book"), "")
    if book:
        try:
            if _biff_filepass(cfb.stream_head(book)):
                return FileType("encrypted", "BIFF FILEPASS")
        except (_CfbError, struct.error):
            pass
        return FileType("xls", "BIFF")
    if "worddocument" in names:
        return FileType("doc")
    if "powerpoint document" in names:
        return FileType("ppt")
    if any(n.startswith("__substg1.0_") or n == "__properties_version1.0" for n in names):
        return FileType("msg")
    return FileType("cfb", "、".join(sorted(names)[:5]) or "empty directory")


def _biff_filepass(stream: bytes) -> bool:
    """True when the workbook globals hold a FILEPASS record (an encrypted or obfuscated .xls)."""
    pos = 0
    while pos + 4 <= len(stream):
        typ, length = struct.unpack_from("<HH", stream, pos)
        if typ == 0x002F:
            return True
        if typ == 0x000A or (pos == 0 and typ not in (0x0809, 0x0409, 0x0209, 0x0009)):
            return False
        pos += 4 + length
    return False


# --- everything else: text (CSV, HTML, XML), PDF, archives, images ------------------------------

_MAGIC = (
    (b"%PDF-", "pdf", ""), (b"Rar!\x1a\x07", "archive", "RAR"), (b"7z\xbc\xaf\x27\x1c", "archive", "7z"),
    (b"\x1f\x8b", "archive", "gzip"), (b"BZh", "archive", "bzip2"), (b"\xfd7zXZ\x00", "archive", "xz"),
    (b"\x89PNG\r\n\x1a\n", "image", "PNG"), (b"\xff\xd8\xff", "image", "JPEG"),
    (b"GIF8", "image", "GIF"), (b"BM", "image", "BMP"), (b"II*\x00", "image", "TIFF"),
    (b"MM\x00*", "image", "TIFF"), (b"{\\rtf", "rtf", ""),
)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_HTML = re.compile(r"<(?:!doctype\s+html|html|head|body|table|meta|style|title)\b", re.I)


def _sniff_other(head: bytes, size: int, name: str) -> FileType:
    for magic, kind, detail in _MAGIC:
        if head.startswith(magic):
            if kind == "image" and magic == b"BM" and not _looks_binary(head):
                break  # a text starting with "BM"
            return FileType(kind, detail)
    encoding = next((enc for bom, enc in _BOMS if head.startswith(bom)), "")
    if not encoding:
        if _looks_binary(head):
            return FileType("binary")
        encoding = _text_encoding(head, complete=size <= len(head))
        if not encoding:
            return FileType("binary")
    text = head.decode(encoding, "replace").lstrip("\ufeff \t\r\n")
    lower = text[:4096].lower()
    if lower.startswith("mime-version:") or "content-location:" in lower[:1024]:
        return FileType("mht")
    if lower.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in lower or 'progid="excel.sheet"' in lower:
            return FileType("spreadsheetml", encoding=encoding)
        if _HTML.search(lower):
            return FileType("html", encoding=encoding)
        return FileType("xml", encoding=encoding)
    if _HTML.search(lower[:1024]) and "<table" in lower:
        return FileType("html", encoding=encoding)
    delimiter = _delimiter(text)
    if delimiter or Path(name).suffix.lower() in (".csv", ".tsv", ".txt"):
        return FileType("csv", "text", encoding, delimiter or ",")
    return FileType("text", encoding=encoding)


def _looks_binary(head: bytes) -> bool:
    sample = head[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) // 20


def _text_encoding(head: bytes, *, complete: bool) -> str:
    """utf-8 when the head decodes as UTF-8 (allowing a character cut at the end), else gb18030
    (a superset of GBK/GB2312, what Chinese Windows writes), else nothing."""
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=complete)
            return enc
        except UnicodeDecodeError:
            continue
    return ""


def _delimiter(text: str) -> str:
    """The delimiter of a table in text: tab, comma or semicolon, found in at least 80 % of
    (at least two) lines; "" when the text is not tabular."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) < 2:
        return ""
    for d in ("\t", ",", ";"):
        if sum(1 for line in lines if d in line) >= 0.8 * len(lines):
            return d
    return ""


# --- what a rebuild would drop ---------------------------------------------------------------------

_MEDIA = re.compile(r"\.(png|jpe?g|gif|bmp|tiff?|emf|wmf|svg|webp|ico)$", re.I)


def droppable_parts(path: Source, dept: Any = None) -> list[str]:
    """The parts of a book that a whole rebuild (``summarize --in-place``) would not carry over,
    in Chinese with counts: 图表 2 个, 图片 3 个, 数据透视表 1 个, VBA 宏, 外部链接 …

    perfxl's own charts (the drawing of the 汇总 sheet in a book that carries the
    ``perfxl_template_version`` property) are rebuilt, so they are not listed; notes authored
    ``perfxl`` are rebuilt too. With ``dept`` (the book as read), sheets that are not part of the
    form (``dept.skipped``, but for blank project tables) are listed as well. [] means nothing
    would be lost. A file that is not a zip has nothing to list (it cannot be rebuilt in place).
    """
    try:
        z = zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []
    with z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        ours = _own_parts(z, names)
        out: list[str] = []

        def count(label: str, pred: Any, unit: str = "个") -> None:
            n = sum(1 for name in names if name not in ours and pred(name.lower()))
            if n:
                out.append(f"{label} {n} {unit}")

        count("图表", lambda n: re.fullmatch(r"xl/charts/chart[^/]*\.xml", n))
        count("图表工作表", lambda n: re.fullmatch(r"xl/chartsheets/[^/]*\.xml", n))
        count("图片", lambda n: n.startswith("xl/media/") and _MEDIA.search(n))
        shapes = _shape_count(z, names, ours)
        if shapes:
            out.append(f"形状/文本框 {shapes} 个")
        count("数据透视表", lambda n: re.fullmatch(r"xl/pivottables/[^/]*\.xml", n))
        count("切片器", lambda n: re.fullmatch(r"xl/slicers/[^/]*\.xml", n))
        count("日程表", lambda n: re.fullmatch(r"xl/timelines/[^/]*\.xml", n))
        if any(n.lower() == "xl/vbaproject.bin" for n in names):
            out.append("VBA 宏")
        count("外部链接", lambda n: re.fullmatch(r"xl/externallinks/[^/]*\.xml", n))
        count("表单控件", lambda n: re.fullmatch(r"xl/ctrlprops/[^/]*\.xml", n))
        count("ActiveX 控件", lambda n: re.fullmatch(r"xl/activex/[^/]*\.xml", n))
        count("嵌入对象", lambda n: n.startswith("xl/embeddings/"))
        count("表格(列表)", lambda n: re.fullmatch(r"xl/tables/[^/]*\.xml", n))
        count("数据连接", lambda n: n == "xl/connections.xml")
        count("Power Query 查询", lambda n: n.startswith("customxml/item") and n.endswith(".xml")
              and _has(z, n, b"DataMashup"))
        count("数字签名", lambda n: n.startswith("_xmlsignatures/sig"))
        notes = _foreign_notes(z, names)
        if notes:
            out.append(f"批注 {notes} 条")
    for s in getattr(dept, "skipped", None) or []:
        if getattr(s, "reason", "") != "空白项目表":
            out.append(f"工作表「{s.sheet}」(不属于绩效目标表)")
    return out


def _has(z: zipfile.ZipFile, name: str, needle: bytes) -> bool:
    real = next((n for n in z.namelist() if n.lower() == name), name)
    return needle in _read_small(z, real, 1 << 22)


def part_xml(z: zipfile.ZipFile, name: str) -> Any:
    """A part of the zip as an XML tree (at most 16 MiB of it, no DTD); None when it is absent or
    not well-formed."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    data = _read_small(z, name, 1 << 24)
    try:
        return fromstring(data, forbid_dtd=True) if data else None
    except (DefusedXmlException, ParseError):
        return None


def relationships(z: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str, str]]:
    """rId → (type suffix, resolved target part, target as written) of ``part``'s internal
    relationships."""
    import posixpath

    head, tail = posixpath.split(part)
    root = part_xml(z, posixpath.join(head, "_rels", f"{tail}.rels"))
    out: dict[str, tuple[str, str, str]] = {}
    for rel in [] if root is None else root:
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External":
            continue
        resolved = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(head, target))
        out[rel.get("Id") or ""] = ((rel.get("Type") or "").rsplit("/", 1)[-1], resolved, target)
    return out


def _own_parts(z: zipfile.ZipFile, names: list[str]) -> set[str]:
    """The drawing and charts of the 汇总 sheet, in a book perfxl made (they are rebuilt)."""
    from .layout import SHEET_SUMMARY, VERSION_PROPERTY

    props = part_xml(z, "docProps/custom.xml") if "docProps/custom.xml" in names else None
    if props is None or not any(p.get("name") == VERSION_PROPERTY for p in props):
        return set()
    book = part_xml(z, "xl/workbook.xml")
    if book is None:
        return set()
    rels = relationships(z, "xl/workbook.xml")
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    ours: set[str] = set()
    for sheet in book.iter():
        if sheet.tag.endswith("}sheet") and sheet.get("name") == SHEET_SUMMARY:
            part = rels.get(sheet.get(rid) or "", ("", "", ""))[1]
            for typ, drawing, _raw in relationships(z, part).values():
                if typ == "drawing":
                    ours.add(drawing)
                    ours |= {target for t, target, _r in relationships(z, drawing).values()
                             if t == "chart"}
    return ours


def _shape_count(z: zipfile.ZipFile, names: list[str], ours: set[str]) -> int:
    """Shapes and text boxes (``xdr:sp``) in drawings; charts and pictures are counted apart."""
    n = 0
    for name in names:
        if re.fullmatch(r"xl/drawings/drawing[^/]*\.xml", name.lower()) and name not in ours:
            root = part_xml(z, name)
            if root is not None:
                n += sum(1 for el in root.iter() if isinstance(el.tag, str)
                         and el.tag.endswith("}sp"))
    return n


def _foreign_notes(z: zipfile.ZipFile, names: list[str]) -> int:
    """Notes (legacy comments) not authored by perfxl."""
    n = 0
    for name in names:
        if re.fullmatch(r"xl/comments[^/]*\.xml", name.lower()):
            root = part_xml(z, name)
            if root is None:
                continue
            authors = [a.text or "" for el in root if el.tag.endswith("}authors") for a in el]
            for el in root.iter():
                if isinstance(el.tag, str) and el.tag.endswith("}comment"):
                    i = int(el.get("authorId") or 0)
                    if not (0 <= i < len(authors) and authors[i] == "perfxl"):
                        n += 1
    return n
