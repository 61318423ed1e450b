"""MS-OVBA pieces: the compression of module and ``dir`` streams (2.4.1) and the data
"encryption" of the PROJECT stream's CMG/DPB/GC values (2.4.3).

Compression is the LZ77 variant of the spec: a signature byte 0x01, then chunks of at most 4096
decompressed bytes, each a 2-byte header and token sequences (a flag byte and eight literal bytes
or copy tokens). The copy token's split between offset and length bits depends on how far into the
chunk the token is (``copy_token_help``); its maximum length is ``(0xFFFF >> bit_count) + 3``.
Decompression is here for the tests and for reading streams back; both are deterministic.
"""

from __future__ import annotations

CHUNK = 4096
_SIGNATURE = 0b011
_WINDOW_CANDIDATES = 64  # positions tried per match; enough for VBA text, keeps the build fast


def copy_token_help(difference: int) -> tuple[int, int]:
    """(bit_count, maximum_length) for a copy token ``difference`` bytes into its chunk."""
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3


def compress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.1.1) holding ``data``."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _compress_chunk(data[start:start + CHUNK])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    body = bytearray()
    heads: dict[bytes, list[int]] = {}
    n = len(chunk)
    pos = 0

    def remember(p: int) -> None:
        if p + 3 <= n:
            heads.setdefault(chunk[p:p + 3], []).append(p)

    while pos < n:
        flag_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            offset, length = _match(chunk, pos, heads)
            if length >= 3:
                bit_count, _ = copy_token_help(pos)
                token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                body += token.to_bytes(2, "little")
                flags |= 1 << bit
                for p in range(pos, pos + length):
                    remember(p)
                pos += length
            else:
                body.append(chunk[pos])
                remember(pos)
                pos += 1
        body[flag_at] = flags
    if len(body) > CHUNK:
        if n == CHUNK:  # incompressible: a raw chunk of exactly 4096 bytes (2.4.1.3.10)
            header = (CHUNK - 1) | (_SIGNATURE << 12)
            return header.to_bytes(2, "little") + chunk
        # A short raw chunk would decompress with padding; two compressed chunks never do.
        return _compress_chunk(chunk[:n // 2]) + _compress_chunk(chunk[n // 2:])
    header = (len(body) + 2 - 3) | (_SIGNATURE << 12) | 0x8000
    return header.to_bytes(2, "little") + bytes(body)


def _match(chunk: bytes, pos: int, heads: dict[bytes, list[int]]) -> tuple[int, int]:
    """The longest earlier match at ``pos`` (nearest on ties) as (offset, length)."""
    if pos + 3 > len(chunk):
        return 0, 0
    candidates = heads.get(chunk[pos:pos + 3])
    if not candidates:
        return 0, 0
    _, max_length = copy_token_help(pos)
    limit = min(max_length, len(chunk) - pos)
    best_offset = best_length = 0
    for start in reversed(candidates[-_WINDOW_CANDIDATES:]):
        length = 3
        while length < limit and chunk[start + length] == chunk[pos + length]:
            length += 1
        if length > best_length:
            best_offset, best_length = pos - start, length
            if length == limit:
                break
    return best_offset, best_length


def decompress(data: bytes) -> bytes:
    """The bytes held by a CompressedContainer; raises ValueError when it is malformed."""
    if not data or data[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte is not 0x01)")
    out = bytearray()
    pos = 1
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated chunk header")
        header = int.from_bytes(data[pos:pos + 2], "little")
        if (header >> 12) & 0b111 != _SIGNATURE:
            raise ValueError(f"bad chunk signature at byte {pos}")
        end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        start = len(out)
        if not header & 0x8000:
            out += data[pos:pos + CHUNK]
            pos += CHUNK
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags & (1 << bit):
                    out.append(data[pos])
                    pos += 1
                    continue
                token = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                bit_count, _ = copy_token_help(len(out) - start)
                length = (token & (0xFFFF >> bit_count)) + 3
                offset = (token >> (16 - bit_count)) + 1
                if offset > len(out) - start:
                    raise ValueError("copy token reaches before its chunk")
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


# --- PROJECT stream values (2.4.3 Data Encryption) ----------------------------------------------

def project_key(project_id: str) -> int:
    """ProjKey: the sum of the bytes of the project's ID string (``{GUID}``), modulo 256."""
    return sum(project_id.encode("ascii")) & 0xFF


def encrypt(data: bytes, project_id: str, seed: int) -> str:
    """The hex text of CMG/DPB/GC values. ``seed`` is fixed by the caller so builds are
    reproducible; the ignored bytes are zeros."""
    seed &= 0xFF
    version, key = 2, project_key(project_id)
    out = bytearray([seed, seed ^ version, seed ^ key])
    unencrypted1, encrypted1, encrypted2 = key, seed ^ key, seed ^ version
    plain = bytes((seed & 6) // 2) + len(data).to_bytes(4, "little") + data
    for byte in plain:
        enc = byte ^ ((encrypted2 + unencrypted1) & 0xFF)
        out.append(enc)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    return out.hex().upper()


def decrypt(text: str) -> tuple[int, int, bytes]:
    """(version, project key, data) of an encrypted CMG/DPB/GC value."""
    raw = bytes.fromhex(text)
    seed, version_enc, key_enc = raw[0], raw[1], raw[2]
    version, key = seed ^ version_enc, seed ^ key_enc
    unencrypted1, encrypted1, encrypted2 = key, key_enc, version_enc
    plain = bytearray()
    for enc in raw[3:]:
        byte = enc ^ ((encrypted2 + unencrypted1) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    ignored = (seed & 6) // 2
    length = int.from_bytes(plain[ignored:ignored + 4], "little")
    data = bytes(plain[ignored + 4:])
    if len(data) != length:
        raise ValueError(f"encrypted length {length} does not match the data ({len(data)} bytes)")
    return version, key, data
