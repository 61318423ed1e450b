"""Deterministic generators of hostile and broken files (stdlib only), for tests/test_hostile.py.

Each generator writes one file and returns its path; the same call always writes the same bytes.
:data:`CASES` lists them with what reading must do: ``"read"`` (read, perhaps with no project
tables) or the :mod:`perfxl.errors` class it must be refused with (and, for a limit, its name).

The OOXML books are assembled part by part (so a part can lie about itself); the OLE compound
files (an encrypted book, a legacy .xls) come from a small MS-CFB writer; the .xls holds BIFF8
records; the .xlsb holds BIFF12 records.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
EPOCH = (2021, 1, 1, 0, 0, 0)

# --- OOXML books, part by part ------------------------------------------------------------------

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>\
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>\
</sheets></workbook>"""
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" \
Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/sharedStrings" \
Target="sharedStrings.xml"/></Relationships>"""
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def sheet_xml(cells: str = "", *, dimension: str = "A1", merges: str = "", head: str = "",
              tail: str = "") -> str:
    return (f'{XML_DECL}{head}<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="{dimension}"/>'
            f"<sheetData>{cells}</sheetData>{merges}{tail}</worksheet>")


def sst_xml(strings: list[str], *, unique: int | None = None, head: str = "") -> str:
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    n = len(strings) if unique is None else unique
    return (f'{XML_DECL}{head}<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{n}">'
            f"{items}</sst>")


def text_cell(ref: str, index: int) -> str:
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def book(path: Path, sheet: str | bytes, sst: str | bytes | None = None,
         extra: dict[str, str | bytes] | None = None) -> Path:
    """A minimal .xlsx: one sheet, shared strings, and any ``extra`` parts."""
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK, "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": sst if sst is not None else sst_xml(["项目编码", "值"]),
        **(extra or {})}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return path


def plain_book(path: Path) -> Path:
    """A small, ordinary book (the control case): two text cells."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + text_cell("B1", 1) + "</row>",
                                dimension="A1:B1"))


# --- zips that lie about themselves --------------------------------------------------------------

def _deflate(data: bytes, *, final: bool) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + (c.flush() if final else c.flush(zlib.Z_FULL_FLUSH))


def _bomb_sheet(mib: int) -> tuple[bytes, int, int]:
    """The sheet part of a bomb: valid XML around ``mib`` MiB of spaces, as a raw deflate
    stream built from one compressed MiB repeated (full-flush blocks are independent), with its
    CRC and size: no gigabyte is ever held in memory."""
    head = (f'{XML_DECL}<worksheet xmlns="{MAIN}"><sheetData><row r="1">'
            '<c r="A1" t="s"><v>0</v></c></row>').encode()
    tail = b"</sheetData></worksheet>"
    chunk = b" " * (1 << 20)
    stream = _deflate(head, final=False) + _deflate(chunk, final=False) * mib \
        + _deflate(tail, final=True)
    crc = zlib.crc32(head)
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    return stream, zlib.crc32(tail, crc), len(head) + (mib << 20) + len(tail)


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]], path: Path, *,
             declared: dict[str, int] | None = None) -> Path:
    """A zip from already-compressed members: (name, deflated data, crc, size, method)."""
    out = bytearray()
    central = bytearray()
    for name, data, crc, size, method in entries:
        raw = name.encode()
        size = (declared or {}).get(name, size)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x5221, crc,
                           len(data), size, len(raw), 0) + raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x5221,
                               crc, len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       start, 0)
    path.write_bytes(bytes(out))
    return path


def _member(name: str, data: str | bytes) -> tuple[str, bytes, int, int, int]:
    raw = data.encode() if isinstance(data, str) else data
    deflated = _deflate(raw, final=True)
    return name, deflated, zlib.crc32(raw), len(raw), 8


def _bomb_book(path: Path, mib: int, *, lie: bool = False) -> Path:
    stream, crc, size = _bomb_sheet(mib)
    entries = [_member("[Content_Types].xml", CONTENT_TYPES), _member("_rels/.rels", ROOT_RELS),
               _member("xl/workbook.xml", WORKBOOK),
               _member("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
               ("xl/worksheets/sheet1.xml", stream, crc, size, 8),
               _member("xl/sharedStrings.xml", sst_xml(["x"]))]
    return _raw_zip(entries, path, declared={"xl/worksheets/sheet1.xml": 4096} if lie else None)


def zip_bomb(path: Path) -> Path:
    """A sheet that inflates to 1.1 GiB (sizes declared honestly)."""
    return _bomb_book(path, 1126)


def zip_bomb_lying(path: Path) -> Path:
    """A sheet that claims 4 KiB and inflates to 64 MiB."""
    return _bomb_book(path, 64, lie=True)


def high_ratio(path: Path) -> Path:
    """A 64 MiB sheet of spaces: under the total, far over the compression ratio."""
    return _bomb_book(path, 64)


def overlapping_entries(path: Path) -> Path:
    """Two directory entries pointing at the same data (the 'overlapping files' zip bomb)."""
    plain_book(path)
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    n, _size, start = struct.unpack_from("<HII", data, eocd + 10)
    pos, offsets = start, {}
    records = []
    for _ in range(n):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        name = bytes(data[pos + 46:pos + 46 + name_len]).decode()
        offsets[name] = struct.unpack_from("<I", data, pos + 42)[0]
        records.append((pos, name))
        pos += 46 + name_len + extra_len + comment_len
    for at, name in records:
        if name == "xl/sharedStrings.xml":
            struct.pack_into("<I", data, at + 42, offsets["xl/worksheets/sheet1.xml"])
    path.write_bytes(bytes(data))
    return path


def duplicate_entries(path: Path) -> Path:
    """The same part twice: different readers would see different sheets."""
    plain_book(path)
    with zipfile.ZipFile(path, "a") as z, _quiet():
        z.writestr(zipfile.ZipInfo("xl/worksheets/sheet1.xml", EPOCH),
                   sheet_xml('<row r="1"><c r="A1"><v>666</v></c></row>'))
    return path


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def many_entries(path: Path) -> Path:
    """10,001 tiny entries."""
    plain_book(path)
    with zipfile.ZipFile(path, "a") as z:
        for i in range(10_001):
            z.writestr(zipfile.ZipInfo(f"customXml/item{i}.xml", EPOCH), "<a/>")
    return path


def truncated_zip(path: Path) -> Path:
    """A book cut off at 60 % (an interrupted download): no central directory."""
    plain_book(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


# --- XML that attacks its parser -----------------------------------------------------------------

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                    for i in range(1, 10)) + "]>")


def billion_laughs(path: Path) -> Path:
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + "</row>"),
                sst_xml(["&lol9;"], head=LAUGHS))


def external_entity(path: Path) -> Path:
    head = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return book(path, sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>',
                                head=head))


def long_attribute(path: Path) -> Path:
    """A 30 MB attribute on a row (of letters that do not compress: no zip-bomb ratio)."""
    import random

    letters = bytes(range(97, 123)) * 10  # 260 letters: a byte → a letter
    noise = random.Random(30).randbytes(30_000_000).translate(letters[:256])
    return book(path, sheet_xml(f'<row r="1" x="{noise.decode()}">' + text_cell("A1", 0)
                                + "</row>"))


def deep_nesting(path: Path) -> Path:
    """100,000 nested elements inside a cell (python-calamine streams them: the book is read)."""
    inner = "<r>" * 100_000 + "<t>x</t>" + "</r>" * 100_000
    return book(path, sheet_xml(f'<row r="1"><c r="A1" t="inlineStr"><is>{inner}</is></c></row>'))


def deep_nesting_part(path: Path) -> Path:
    """100,000 nested elements in docProps/custom.xml, a part read by a tree parser."""
    inner = "<x>" * 100_000 + "</x>" * 100_000
    custom = ('<?xml version="1.0" encoding="UTF-8"?><Properties xmlns='
              '"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties">'
              f"{inner}</Properties>")
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + "</row>"),
                extra={"docProps/custom.xml": custom})


# --- sheets whose sizes lie -----------------------------------------------------------------------

def whole_sheet_merge(path: Path) -> Path:
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + "</row>",
                                merges='<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/>'
                                       "</mergeCells>"))


def dimension_lie(path: Path) -> Path:
    """<dimension ref="A1:XFD1048576"/> and one cell in A1: harmless, read."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + "</row>",
                                dimension="A1:XFD1048576"))


def far_cell(path: Path) -> Path:
    """One cell in A1 and one in XFD1048576: the sheet spans 1,048,576 × 16,384."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + '</row><row r="1048576">'
                                '<c r="XFD1048576"><v>1</v></c></row>',
                                dimension="A1:XFD1048576"))


def far_cell_after_comment(path: Path) -> Path:
    """The far cell again, the root element hidden behind a 100 KB comment."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + '</row><row r="1048576">'
                                '<c r="XFD1048576"><v>1</v></c></row>',
                                head="<!--" + "x" * 100_000 + "-->"))


def far_cell_unknown_root(path: Path) -> Path:
    """The far cell in sheet data under a root element that is not a worksheet's."""
    xml = sheet_xml('<row r="1">' + text_cell("A1", 0) + '</row><row r="1048576">'
                    '<c r="XFD1048576"><v>1</v></c></row>')
    return book(path, xml.replace("<worksheet ", "<sheet ").replace("</worksheet>", "</sheet>"))


def outside_excel(path: Path) -> Path:
    """A cell reference past Excel's last row (python-calamine would allocate for it)."""
    return book(path, sheet_xml('<row r="1"><c r="A99999999999"><v>1</v></c></row>'))


def far_cell_without_refs(path: Path) -> Path:
    """Cells without r="" after a far row: only the bounded child process reads this."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + '</row><row r="1048576">'
                                + "<c><v>1</v></c>" * 3 + "</row>"
                                + '<row r="1"><c r="XFD1"><v>2</v></c></row>'))


def sst_index_out_of_range(path: Path) -> Path:
    return book(path, sheet_xml('<row r="1"><c r="A1" t="s"><v>999999</v></c></row>'),
                sst_xml(["only one"]))


def sst_huge_count(path: Path) -> Path:
    """uniqueCount="4000000000": python-calamine reserves room for that many strings."""
    return book(path, sheet_xml('<row r="1">' + text_cell("A1", 0) + "</row>"),
                sst_xml(["x"], unique=4_000_000_000))


def date_panic(path: Path) -> Path:
    """A date-formatted cell whose value (-1e20 days) is out of chrono's range: python-calamine
    panics (pyo3's PanicException, a BaseException, not an Exception)."""
    styles = (f'{XML_DECL}<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
              'formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="2"><xf numFmtId="0"/>'
              '<xf numFmtId="14"/></cellXfs></styleSheet>')
    rels = WORKBOOK_RELS.replace("</Relationships>", f'<Relationship Id="rId3" Type="{REL}/styles" '
                                 'Target="styles.xml"/></Relationships>')
    return book(path, sheet_xml('<row r="1"><c r="A1" s="1"><v>-1e20</v></c></row>'),
                extra={"xl/styles.xml": styles, "xl/_rels/workbook.xml.rels": rels})


def dde_payloads(path: Path) -> Path:
    """DDE and cmd formulas (with cached values), a hyperlink to cmd.exe, formula-looking text."""
    cells = ('<row r="1"><c r="A1" t="str"><f>cmd|\' /C calc\'!A0</f><v>0</v></c>'
             '<c r="B1" t="str"><f>HYPERLINK("file:///C:/Windows/System32/cmd.exe","x")</f>'
             '<v>x</v></c><c r="C1" t="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is></c>'
             '<c r="D1" t="inlineStr"><is><t>@SUM(1+1)*cmd|\' /C calc\'!A0</t></is></c></row>')
    hyperlinks = '<hyperlinks><hyperlink ref="B1" r:id="rId9"/></hyperlinks>'
    sheet_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
                  f'<Relationship Id="rId9" Type="{REL}/hyperlink" '
                  'Target="file:///C:/Windows/System32/cmd.exe" TargetMode="External"/>'
                  "</Relationships>")
    return book(path, sheet_xml(cells, tail=hyperlinks),
                extra={"xl/worksheets/_rels/sheet1.xml.rels": sheet_rels})


def _inline(ref: str, value: str | float) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value!r}</v></c>'


def form_book(path: Path, budget: float, plan: tuple[float, ...] = (25, 50, 75, 100)) -> Path:
    """A project table in the seed's layout (inline strings, no styles), with ``budget``."""
    rows = [
        [("A1", "1.某项目绩效目标表")],
        [("A2", "630001 某单位"), ("G2", "单位:元")],
        [("A3", "项目编码"), ("B3", "130303216DIAX82DQONDM"), ("D3", "项目名称"), ("E3", "某项目")],
        [("A4", "预算规模及资金用途"), ("B4", "预算数"), ("C4", budget), ("D4", "其中:财政资金"),
         ("E4", budget), ("F4", "其他资金"), ("G4", 0.0)],
        [("B5", "资金用途"), ("C5", "用途")],
        [("A6", "资金支出计划(%)"), ("B6", "3月底"), ("D6", "6月底"), ("E6", "10月底"), ("F6", "12月底")],
        [("B7", plan[0]), ("D7", plan[1]), ("E7", plan[2]), ("F7", plan[3])],
        [("A8", "绩效目标"), ("B8", "目标")],
        [("A9", "一级指标"), ("B9", "二级指标"), ("C9", "三级指标"), ("D9", "绩效指标描述"),
         ("E9", "指标值"), ("F9", "指标值确定依据")],
        [("A10", "产出指标"), ("B10", "数量指标"), ("C10", "完成数"), ("D10", "完成"),
         ("E10", "≥1 个"), ("F10", "年度工作计划")],
    ]
    cells = "".join(f'<row r="{i}">' + "".join(_inline(ref, v) for ref, v in row) + "</row>"
                    for i, row in enumerate(rows, start=1))
    return book(path, sheet_xml(cells, dimension="A1:G10"))


def huge_amount(path: Path) -> Path:
    """预算数 1e30 元: an absurd magnitude, typed or pasted."""
    return form_book(path, 1e30)


def amount_finer_than_a_fen(path: Path) -> Path:
    """预算数 =100000/3 as Excel stores it: 33333.333333333336 元."""
    return form_book(path, 100000 / 3)


# --- MS-CFB (OLE compound files): an encrypted book, a legacy .xls ----------------------------------

_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def cfb(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file (512-byte sectors) holding ``streams`` in its root storage;
    streams under 4,096 bytes live in the mini stream, as the format requires."""
    small = {n: d for n, d in streams.items() if len(d) < 4096}
    big = {n: d for n, d in streams.items() if len(d) >= 4096}
    mini = bytearray()
    mini_fat: list[int] = []
    starts: dict[str, int] = {}
    for name, data in small.items():
        first = len(mini) // 64
        count = max(1, -(-len(data) // 64))
        starts[name] = first if data else _END
        mini_fat += [first + i + 1 for i in range(count - 1)] + [_END]
        mini += data.ljust(count * 64, b"\0")
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    n_dir = -(-(len(names) + 1) // 4)
    n_minifat = -(-len(mini_fat) // 128) if mini_fat else 0
    n_mini = -(-len(mini) // 512)
    n_big = {n: -(-len(d) // 512) for n, d in big.items()}
    body = n_dir + n_minifat + n_mini + sum(n_big.values())
    n_fat = 1
    while n_fat * 128 < n_fat + body:
        n_fat += 1
    fat: list[int] = [_FATSECT] * n_fat
    sectors: list[bytes] = []  # sector n_fat + i

    def place(data: bytes, count: int) -> int:
        first = n_fat + len(sectors)
        for i in range(count):
            sectors.append(data[i * 512:(i + 1) * 512].ljust(512, b"\0"))
            fat.append(first + i + 1 if i < count - 1 else _END)
        return first if count else _END

    dir_first = place(b"", n_dir)  # filled in below, once every stream has its place
    minifat_first = place(struct.pack(f"<{len(mini_fat)}I", *mini_fat).ljust(
        n_minifat * 512, b"\xff"), n_minifat)
    mini_first = place(bytes(mini), n_mini)
    for name, data in big.items():
        starts[name] = place(data, n_big[name])

    def entry(name: str, typ: int, start: int, size: int, child: int = _FREE,
              right: int = _FREE) -> bytes:
        raw = (name.encode("utf-16-le") + b"\0\0") if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), typ, 1)
                + struct.pack("<III", _FREE, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, mini_first, len(mini), child=1 if names else _FREE)]
    for i, name in enumerate(names, start=1):
        entries.append(entry(name, 2, starts[name], len(streams[name]),
                             right=i + 1 if i < len(names) else _FREE))
    directory = b"".join(entries).ljust(n_dir * 512, b"\0")
    for i in range(n_dir):
        sectors[i] = directory[i * 512:(i + 1) * 512]
    fat += [_FREE] * (n_fat * 128 - len(fat))
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, n_fat, dir_first, 0, 4096, minifat_first,
                            n_minifat, _END, 0)
              + struct.pack("<109I", *difat))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + fat_bytes + b"".join(sectors)


def encrypted_book(path: Path) -> Path:
    """What Excel writes for a password-protected book: a CFB with EncryptionInfo and
    EncryptedPackage (the contents here are filler; no reader must get further)."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>".ljust(200, b" ")
    package = struct.pack("<Q", 5000) + bytes((i * 37) % 256 for i in range(5000))
    path.write_bytes(cfb({"EncryptionInfo": info, "EncryptedPackage": package,
                          "\x06DataSpaces": b""}))
    return path


def _biff(typ: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def _xl_string(text: str, *, short: bool = False) -> bytes:
    raw = text.encode("utf-16-le")
    return (struct.pack("<B", len(text)) if short else struct.pack("<H", len(text))) + b"\x01" + raw


def biff8_workbook(cells: list[tuple[int, int, str | float]], *, sheet: str = "Sheet1",
                   merges: Sequence[tuple[int, int, int, int]] = ()) -> bytes:
    """The Workbook stream of a one-sheet BIFF8 .xls: text via the SST, numbers as NUMBER."""
    texts = [v for _r, _c, v in cells if isinstance(v, str)]
    sst = struct.pack("<II", len(texts), len(texts)) + b"".join(_xl_string(t) for t in texts)
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    font = struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + _xl_string("Arial",
                                                                                       short=True)
    xf = struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    cell_xf = struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    globals_head = (_biff(0x0809, bof) + _biff(0x0042, struct.pack("<H", 1200))
                    + b"".join(_biff(0x0031, font) for _ in range(5))
                    + b"".join(_biff(0x00E0, xf) for _ in range(15)) + _biff(0x00E0, cell_xf))
    boundsheet_len = 4 + 4 + 2 + len(_xl_string(sheet, short=True))
    tail = _biff(0x00FC, sst) + _biff(0x000A)
    sheet_at = len(globals_head) + boundsheet_len + len(tail)
    boundsheet = _biff(0x0085, struct.pack("<IBB", sheet_at, 0, 0) + _xl_string(sheet, short=True))
    rows = max((r for r, _c, _v in cells), default=0) + 1
    cols = max((c for _r, c, _v in cells), default=0) + 1
    body = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    body += _biff(0x0200, struct.pack("<IIHHH", 0, rows, 0, cols, 0))
    index = 0
    for r, c, v in cells:
        if isinstance(v, str):
            body += _biff(0x00FD, struct.pack("<HHHI", r, c, 15, index))
            index += 1
        else:
            body += _biff(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))
    if merges:
        body += _biff(0x00E5, struct.pack("<H", len(merges))
                      + b"".join(struct.pack("<HHHH", r0, r1, c0, c1) for r0, c0, r1, c1 in merges))
    body += _biff(0x000A)
    return globals_head + boundsheet + tail + body


def legacy_xls(path: Path) -> Path:
    """A real BIFF8 .xls (Excel 97–2003) with a few Chinese labels, a number and a merge."""
    stream = biff8_workbook([(0, 0, "项目编码"), (0, 1, "130303216DIAX82DQONDM"),
                             (1, 0, "项目名称"), (1, 1, "行政审批等专家评审费"),
                             (2, 0, "预算数"), (2, 1, 80000.0)], merges=[(3, 0, 3, 3)])
    path.write_bytes(cfb({"Workbook": stream}))
    return path


def encrypted_xls(path: Path) -> Path:
    """An .xls with a FILEPASS record (RC4 or XOR obfuscation) right after its BOF."""
    stream = biff8_workbook([(0, 0, "x")])
    at = stream.index(b"\x42\x00")  # after BOF: CODEPAGE; insert FILEPASS before it
    stream = stream[:at] + _biff(0x002F, struct.pack("<HHH", 0, 0x1234, 0x5678)) + stream[at:]
    path.write_bytes(cfb({"Workbook": stream}))
    return path


# --- xlsb (BIFF12 records in a zip) ----------------------------------------------------------------

def _brt(typ: int, data: bytes = b"") -> bytes:
    out = bytearray()
    for value in (typ, len(data)):
        while True:
            byte = value & 0x7F
            value >>= 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                break
    return bytes(out) + data


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def xlsb(path: Path) -> Path:
    """A minimal .xlsb: one sheet with an inline string and a number."""
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.'
          'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
          '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="bin" '
          'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/><Override '
          'PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/>'
          "</Types>")
    rels = ROOT_RELS.replace("xl/workbook.xml", "xl/workbook.bin")
    wb_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
               f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.bin"/>'
               "</Relationships>")
    workbook = (_brt(0x0083) + _brt(0x008F)
                + _brt(0x009C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide("Sheet1"))
                + _brt(0x0090) + _brt(0x0084))
    sheet = (_brt(0x0081) + _brt(0x0094, struct.pack("<IIII", 0, 0, 0, 1))
             + _brt(0x0091) + _brt(0x0000, struct.pack("<IIHBBI", 0, 0, 0, 0, 0, 0))
             + _brt(0x0006, struct.pack("<I", 0) + b"\0\0\0\0" + _wide("项目编码"))
             + _brt(0x0005, struct.pack("<I", 1) + b"\0\0\0\0" + struct.pack("<d", 80000.0))
             + _brt(0x0092) + _brt(0x0082))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("[Content_Types].xml", ct), ("_rels/.rels", rels),
                           ("xl/workbook.bin", workbook), ("xl/_rels/workbook.bin.rels", wb_rels),
                           ("xl/worksheets/sheet1.bin", sheet)):
            z.writestr(zipfile.ZipInfo(name, EPOCH), data)
    return path


# --- not workbooks at all -------------------------------------------------------------------------

def html_as_xls(path: Path) -> Path:
    """What web systems export as 'Excel': an HTML table named .xls."""
    path.write_text('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta '
                    'charset="utf-8"></head><body><table><tr><td>项目编码</td><td>预算数</td></tr>'
                    "<tr><td>130303</td><td>80000</td></tr></table></body></html>",
                    encoding="utf-8")
    return path


def spreadsheetml_2003(path: Path) -> Path:
    path.write_text('<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook '
                    'xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S">'
                    "<Table><Row><Cell><Data>项目编码</Data></Cell></Row></Table></Worksheet>"
                    "</Workbook>", encoding="utf-8")
    return path


def pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return path


def docx(path: Path) -> Path:
    ct = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.'
          'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("[Content_Types].xml", EPOCH), ct)
        z.writestr(zipfile.ZipInfo("word/document.xml", EPOCH), "<document/>")
    return path


def gbk_csv(path: Path) -> Path:
    """A CSV as Chinese Windows writes it (GBK), named .xls."""
    path.write_bytes("项目编码,130303216DIAX82DQONDM\n项目名称,行政审批等专家评审费\n预算数,80000\n"
                     .encode("gbk"))
    return path


def unicode_text(path: Path) -> Path:
    """Excel's 'Unicode text': UTF-16 with a BOM, tab-separated."""
    path.write_bytes("项目编码\t130303\n预算数\t80000\n".encode("utf-16"))
    return path


def zip_of_books(path: Path, book_path: Path) -> Path:
    """A zip archive holding a book (what arrives when a unit zips its submission)."""
    with zipfile.ZipFile(path, "w") as z:
        z.write(book_path, "单位/" + book_path.name)
    return path


# --- the catalogue ---------------------------------------------------------------------------------

Gen = Callable[[Path], Path]

CASES: dict[str, tuple[str, Gen, str, str]] = {
    # name: (file name, generator, expected error class or "read", limit name or message part)
    "plain": ("plain.xlsx", plain_book, "read", ""),
    "zip_bomb": ("bomb.xlsx", zip_bomb, "LimitExceeded", "unzipped"),
    "zip_bomb_lying": ("bomb_lying.xlsx", zip_bomb_lying, "UnsafeFile", "声明"),
    "high_ratio": ("ratio.xlsx", high_ratio, "LimitExceeded", "ratio"),
    "overlapping_entries": ("overlap.xlsx", overlapping_entries, "UnsafeFile", "重叠"),
    "duplicate_entries": ("duplicate.xlsx", duplicate_entries, "UnsafeFile", "重复"),
    "many_entries": ("many.xlsx", many_entries, "LimitExceeded", "entries"),
    "billion_laughs": ("laughs.xlsx", billion_laughs, "UnsafeFile", "DTD"),
    "external_entity": ("xxe.xlsx", external_entity, "UnsafeFile", "DTD"),
    "long_attribute": ("attr30mb.xlsx", long_attribute, "LimitExceeded", "string"),
    "deep_nesting": ("deep.xlsx", deep_nesting, "read", ""),
    "deep_nesting_part": ("deep_part.xlsx", deep_nesting_part, "LimitExceeded", "depth"),
    "whole_sheet_merge": ("merge_all.xlsx", whole_sheet_merge, "LimitExceeded", "merged"),
    "dimension_lie": ("dimension.xlsx", dimension_lie, "read", ""),
    "far_cell": ("far_cell.xlsx", far_cell, "LimitExceeded", "sheet_area"),
    "far_cell_after_comment": ("far_comment.xlsx", far_cell_after_comment, "LimitExceeded",
                               "sheet_area"),
    "far_cell_unknown_root": ("far_root.xlsx", far_cell_unknown_root, "LimitExceeded", ""),
    "outside_excel": ("outside.xlsx", outside_excel, "LimitExceeded", "cells"),
    "far_cell_without_refs": ("far_norefs.xlsx", far_cell_without_refs, "LimitExceeded", ""),
    "sst_index_out_of_range": ("sst_oob.xlsx", sst_index_out_of_range, "DamagedFile", "shared"),
    "sst_huge_count": ("sst_count.xlsx", sst_huge_count, "LimitExceeded", "cells"),
    "date_panic": ("date_panic.xlsx", date_panic, "DamagedFile", ""),
    "dde_payloads": ("dde.xlsx", dde_payloads, "read", ""),
    "encrypted_book": ("encrypted.xlsx", encrypted_book, "EncryptedBook", "加密"),
    "encrypted_xls": ("encrypted.xls", encrypted_xls, "EncryptedBook", "加密"),
    "legacy_xls": ("legacy.xls", legacy_xls, "read", ""),
    "legacy_xls_renamed": ("legacy_renamed.xlsx", legacy_xls, "read", ""),
    "xlsb_renamed": ("binary_renamed.xlsx", xlsb, "read", ""),
    "html_as_xls": ("web_export.xls", html_as_xls, "UnsupportedFormat", "HTML"),
    "spreadsheetml_2003": ("export2003.xls", spreadsheetml_2003, "UnsupportedFormat", "2003"),
    "truncated_zip": ("truncated.xlsx", truncated_zip, "DamagedFile", "不完整"),
    "empty_file": ("empty.xlsx", empty_file, "DamagedFile", "空"),
    "pdf": ("scan.xlsx", pdf, "UnsupportedFormat", "PDF"),
    "docx": ("report.xlsx", docx, "UnsupportedFormat", "Word"),
    "gbk_csv": ("table.xls", gbk_csv, "read", ""),
    "unicode_text": ("unicode.xls", unicode_text, "read", ""),
}


def generate(name: str, folder: Path) -> Path:
    """Write case ``name`` into ``folder`` (once; the bytes never change) and return its path."""
    file_name, gen, _expect, _detail = CASES[name]
    path = folder / file_name
    if not path.exists():
        tmp = folder / f".{file_name}.tmp"
        gen(tmp)
        tmp.rename(path)
    return path
