"""A small writer of MS-CFB compound files (version 3: 512-byte sectors), enough for
``vbaProject.bin`` and tested against olefile's strict reader.

Layout, in sector order: FAT sectors, DIFAT sectors (only past 109 FAT sectors), the directory,
the miniFAT, the mini stream (every stream under 4096 bytes, in 64-byte mini sectors), then each
large stream. Every storage's children form a balanced binary search tree in CFB order (name
length first, then upper-cased name) coloured all black, which MS-CFB 2.6.4 allows. Times and
CLSIDs are zero, so the same streams always give the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
HEADER_DIFAT = 109
PER_SECTOR = SECTOR // 4  # 128 FAT entries, or 127 DIFAT entries and a next pointer

MAXREGSECT = 0xFFFFFFFA
DIFSECT = 0xFFFFFFFC
FATSECT = 0xFFFFFFFD
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
NOSTREAM = 0xFFFFFFFF

SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
STORAGE, STREAM, ROOT = 1, 2, 5
BLACK = 1


@dataclass
class _Node:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Node] = field(default_factory=dict)
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = ENDOFCHAIN


def sort_key(name: str) -> tuple[int, str]:
    """CFB's order of siblings: shorter names first, then by upper-cased name (2.6.4)."""
    return len(name.encode("utf-16-le")) // 2, name.upper()


def write(streams: Mapping[str, bytes]) -> bytes:
    """A compound file holding ``streams`` (``"VBA/dir"``: storage ``VBA``, stream ``dir``)."""
    root = _tree(streams)
    nodes = _number(root)
    small = [n for n in nodes if n.kind == STREAM and len(n.data) < MINI_CUTOFF]
    large = [n for n in nodes if n.kind == STREAM and len(n.data) >= MINI_CUTOFF]

    mini_fat: list[int] = []
    mini_stream = bytearray()
    for n in small:
        count = _ceil(len(n.data), MINI_SECTOR)
        if count == 0:
            n.start = ENDOFCHAIN
            continue
        n.start = len(mini_fat)
        mini_fat += [*range(n.start + 1, n.start + count), ENDOFCHAIN]
        mini_stream += n.data.ljust(count * MINI_SECTOR, b"\0")

    dir_sectors = _ceil(len(nodes), SECTOR // 128)
    minifat_sectors = _ceil(len(mini_fat) * 4, SECTOR)
    mini_sectors = _ceil(len(mini_stream), SECTOR)
    data_sectors = (dir_sectors + minifat_sectors + mini_sectors
                    + sum(_ceil(len(n.data), SECTOR) for n in large))
    fat_count, difat_count = _fat_size(data_sectors)

    fat: list[int] = [FATSECT] * fat_count + [DIFSECT] * difat_count
    chains: list[bytes] = []

    def chain(data: bytes, sectors: int) -> int:
        if sectors == 0:
            return ENDOFCHAIN
        start = len(fat)
        fat.extend([*range(start + 1, start + sectors), ENDOFCHAIN])
        chains.append(data.ljust(sectors * SECTOR, b"\0"))
        return start

    dir_start = len(fat)
    fat.extend([*range(dir_start + 1, dir_start + dir_sectors), ENDOFCHAIN])
    minifat_start = chain(b"".join(struct.pack("<I", x) for x in mini_fat), minifat_sectors)
    root.start = chain(bytes(mini_stream), mini_sectors)
    for n in large:
        n.start = chain(n.data, _ceil(len(n.data), SECTOR))
    assert len(fat) == fat_count + difat_count + data_sectors
    total = len(fat)
    fat += [FREESECT] * (fat_count * PER_SECTOR - total)

    directory = b"".join(_entry(n, len(mini_stream) if n.kind == ROOT else len(n.data))
                         for n in nodes) + _empty_entries(dir_sectors * 4 - len(nodes))

    fat_sectors = list(range(fat_count))
    difat_sectors = list(range(fat_count, fat_count + difat_count))
    header = _header(fat_count, dir_start, minifat_start, minifat_sectors, fat_sectors,
                     difat_sectors)
    body = bytearray(header)
    body += b"".join(struct.pack("<I", x) for x in fat)
    body += _difat(fat_sectors[HEADER_DIFAT:], difat_sectors)
    body += directory
    for data in chains:
        body += data
    assert len(body) == SECTOR * (1 + total)
    return bytes(body)


def _ceil(n: int, size: int) -> int:
    return -(-n // size)


def _tree(streams: Mapping[str, bytes]) -> _Node:
    root = _Node("Root Entry", ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.children.setdefault(part.upper(), _Node(part, STORAGE))
            if node.kind != STORAGE:
                raise ValueError(f"{path}: {part} is a stream, not a storage")
        _check_name(parts[-1])
        if parts[-1].upper() in node.children:
            raise ValueError(f"duplicate entry {path}")
        node.children[parts[-1].upper()] = _Node(parts[-1], STREAM, bytes(data))
    return root


def _check_name(name: str) -> None:
    if not name or len(name) > 31 or any(c in name for c in "/\\:!"):
        raise ValueError(f"invalid compound file entry name: {name!r}")


def _number(root: _Node) -> list[_Node]:
    """Directory order (breadth first, siblings in CFB order) with the tree links set."""
    nodes = [root]
    queue = [root]
    while queue:
        parent = queue.pop(0)
        kids = sorted(parent.children.values(), key=lambda n: sort_key(n.name))
        for kid in kids:
            kid.sid = len(nodes)
            nodes.append(kid)
        parent.child = _balance(kids)
        queue += [k for k in kids if k.kind == STORAGE]
    return nodes


def _balance(kids: list[_Node]) -> int:
    """Link sorted siblings as a balanced search tree; returns the root's stream id."""
    if not kids:
        return NOSTREAM
    mid = len(kids) // 2
    node = kids[mid]
    node.left = _balance(kids[:mid])
    node.right = _balance(kids[mid + 1:])
    return node.sid


def _entry(n: _Node, size: int) -> bytes:
    name = n.name.encode("utf-16-le") + b"\0\0"
    start = n.start if (n.kind == ROOT or size) else ENDOFCHAIN
    if n.kind == STORAGE:
        start, size = 0, 0
    return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), n.kind, BLACK, n.left, n.right,
                       n.child, bytes(16), 0, 0, 0, start, size)


def _empty_entries(count: int) -> bytes:
    one = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM,
                      bytes(16), 0, 0, 0, 0, 0)
    return one * count


def _fat_size(data_sectors: int) -> tuple[int, int]:
    """FAT and DIFAT sector counts for a file of ``data_sectors`` other sectors."""
    fat, difat = 1, 0
    while True:
        need_difat = _ceil(max(fat - HEADER_DIFAT, 0), PER_SECTOR - 1)
        need_fat = _ceil(data_sectors + fat + need_difat, PER_SECTOR)
        if (need_fat, need_difat) == (fat, difat):
            return fat, difat
        fat, difat = max(need_fat, fat), max(need_difat, difat)


def _difat(extra_fat: list[int], difat_sectors: list[int]) -> bytes:
    """DIFAT sectors: 127 FAT sector numbers each, then the next DIFAT sector (or end)."""
    out = bytearray()
    for i, _ in enumerate(difat_sectors):
        part = extra_fat[i * (PER_SECTOR - 1):(i + 1) * (PER_SECTOR - 1)]
        part += [FREESECT] * (PER_SECTOR - 1 - len(part))
        nxt = difat_sectors[i + 1] if i + 1 < len(difat_sectors) else ENDOFCHAIN
        out += b"".join(struct.pack("<I", x) for x in [*part, nxt])
    return bytes(out)


def _header(fat_count: int, dir_start: int, minifat_start: int, minifat_count: int,
            fat_sectors: list[int], difat_sectors: list[int]) -> bytes:
    head = fat_sectors[:HEADER_DIFAT]
    head += [FREESECT] * (HEADER_DIFAT - len(head))
    return (SIGNATURE + bytes(16)
            + struct.pack("<HHHHH6sIIIIIIIII", 0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6), 0,
                          fat_count, dir_start, 0, MINI_CUTOFF, minifat_start, minifat_count,
                          difat_sectors[0] if difat_sectors else ENDOFCHAIN, len(difat_sectors))
            + b"".join(struct.pack("<I", x) for x in head))
