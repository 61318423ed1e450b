"""A VBA project (``vbaProject.bin``) compiled from module sources, per MS-OVBA 2.3.

The project is in the "source only" form xlwings' own add-ins ship: ``_VBA_PROJECT`` has version
0xFFFF and no performance cache, every module's TextOffset is 0, so Excel compiles the modules
from their source when it opens the file. Streams:

- ``PROJECT``: the project's text properties (2.3.1), with the protection values of an unlocked,
  visible project (CMG/DPB/GC, encrypted per 2.4.3 with a fixed seed);
- ``PROJECTwm``: module names in MBCS and UTF-16 (2.3.3);
- ``VBA/_VBA_PROJECT`` (2.3.4.1), ``VBA/dir`` (2.3.4.2, compressed), one compressed stream per
  module (2.3.4.3).

Module text is stored in the project's code page (1252): sources must be ASCII, which keeps them
readable under any Windows locale; Chinese labels live in customUI14.xml.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from . import cfb, ovba

CODEPAGE = 1252
ENCODING = "cp1252"
LCID = 0x0409
SYSKIND_WIN64 = 3
VBA_PROJECT = bytes.fromhex("CC61FFFF000100")  # Reserved1, Version 0xFFFF, Reserved2, Reserved3

PROCEDURAL, CLASS, DOCUMENT = "module", "class", "document"

# The libraries every Excel VBA project references (as in xlwings' shipped add-in). Office holds
# IRibbonControl, the type of a ribbon callback's parameter.
REFERENCES = (
    ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
               "C:\\Windows\\System32\\stdole2.tlb#OLE Automation"),
    ("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
               "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL"
               "#Microsoft Office 16.0 Object Library"),
)

CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"

_ATTRIBUTE = re.compile(r'^Attribute\s+(VB_\w+)\s*=\s*(.*?)\s*$', re.I)


@dataclass(frozen=True)
class Module:
    """One module as stored: its name, kind, and text (Attribute lines first, CRLF lines)."""

    name: str
    kind: str
    code: str


def project_id(name: str) -> str:
    """A fixed project GUID derived from the project name (reproducible builds)."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfxl:vba:{name}")).upper() + "}"


def crlf(text: str) -> str:
    """Text with CRLF line ends and a final line end."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def module_from_bas(text: str) -> Module:
    """A standard module from its exported ``.bas`` text (which starts with Attribute VB_Name)."""
    code = crlf(text)
    return Module(_vb_name(code), PROCEDURAL, code)


def module_from_cls(text: str) -> Module:
    """A class module from its exported ``.cls`` text.

    The export's ``VERSION 1.0 CLASS`` / ``BEGIN`` … ``END`` header is not part of the stored
    module; the stored attribute block is the one the VBA editor writes: VB_Name, VB_Base, then
    the class attributes, with VB_TemplateDerived and VB_Customizable added when missing.
    """
    lines = crlf(text).split("\r\n")[:-1]
    if lines and lines[0].strip().upper().startswith("VERSION"):
        end = next((i for i, line in enumerate(lines) if line.strip().upper() == "END"), None)
        if end is None:
            raise ValueError("class module header without END")
        lines = lines[end + 1:]
    attrs: list[tuple[str, str]] = []
    while lines and (m := _ATTRIBUTE.match(lines[0])):
        attrs.append((m.group(1), m.group(2)))
        lines.pop(0)
    names = [k.upper() for k, _ in attrs]
    if "VB_NAME" not in names:
        raise ValueError("class module without Attribute VB_Name")
    defaults = [("VB_Base", f'"{CLASS_BASE}"'), ("VB_GlobalNameSpace", "False"),
                ("VB_Creatable", "False"), ("VB_PredeclaredId", "False"),
                ("VB_Exposed", "False"), ("VB_TemplateDerived", "False"),
                ("VB_Customizable", "False")]
    given = {k.upper(): (k, v) for k, v in attrs}
    ordered = [given["VB_NAME"]]
    for key, value in defaults:
        ordered.append(given.get(key.upper(), (key, value)))
    known = {k.upper() for k, _ in ordered}
    ordered += [(k, v) for k, v in attrs if k.upper() not in known]
    head = "".join(f"Attribute {k} = {v}\r\n" for k, v in ordered)
    code = head + "".join(line + "\r\n" for line in lines)
    return Module(_vb_name(code), CLASS, code)


def document_module(name: str, base: str) -> Module:
    """The code-behind module of the workbook (``WORKBOOK_BASE``) or a sheet (``WORKSHEET_BASE``)."""
    code = (f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = "{base}"\r\n'
            "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
            "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\n"
            "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = True\r\n")
    return Module(name, DOCUMENT, code)


def _vb_name(code: str) -> str:
    for line in code.split("\r\n"):
        m = _ATTRIBUTE.match(line)
        if m and m.group(1).upper() == "VB_NAME":
            return m.group(2).strip('"')
    raise ValueError("module without Attribute VB_Name")


def project_bin(modules: Sequence[Module], name: str = "perfxl") -> bytes:
    """``vbaProject.bin`` holding ``modules``, in the given order."""
    seen: set[str] = set()
    for m in modules:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", m.name):
            raise ValueError(f"invalid VBA module name: {m.name!r}")
        if m.name.upper() in seen:
            raise ValueError(f"duplicate VBA module: {m.name}")
        seen.add(m.name.upper())
        try:
            m.code.encode("ascii")
        except UnicodeEncodeError as e:
            raise ValueError(f"module {m.name}: VBA source must be ASCII ({e})") from None
    streams = {
        "PROJECT": project_stream(modules, name),
        "PROJECTwm": project_wm(modules),
        "VBA/_VBA_PROJECT": VBA_PROJECT,
        "VBA/dir": ovba.compress(dir_stream(modules, name)),
    }
    for m in modules:
        streams[f"VBA/{m.name}"] = ovba.compress(m.code.encode(ENCODING))
    return cfb.write(streams)


def project_stream(modules: Sequence[Module], name: str) -> bytes:
    """The PROJECT stream (2.3.1): an unlocked, visible project."""
    pid = project_id(name)
    not_protected, no_password, visible = bytes(4), bytes(1), b"\xff"
    lines = [f'ID="{pid}"']
    for m in modules:
        lines.append({DOCUMENT: f"Document={m.name}/&H00000000", CLASS: f"Class={m.name}",
                      PROCEDURAL: f"Module={m.name}"}[m.kind])
    lines += [f'Name="{name}"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              f'CMG="{ovba.encrypt(not_protected, pid, 0x11)}"',
              f'DPB="{ovba.encrypt(no_password, pid, 0x22)}"',
              f'GC="{ovba.encrypt(visible, pid, 0x33)}"',
              "", "[Host Extender Info]", HOST_EXTENDER, "", "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return crlf("\n".join(lines)).encode(ENCODING)


def project_wm(modules: Sequence[Module]) -> bytes:
    out = bytearray()
    for m in modules:
        out += m.name.encode(ENCODING) + b"\0" + m.name.encode("utf-16-le") + b"\0\0"
    return bytes(out + b"\0\0")


def _rec(rid: int, data: bytes) -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def dir_stream(modules: Sequence[Module], name: str) -> bytes:
    """The uncompressed ``dir`` stream (2.3.4.2): project information, references, modules."""
    mb, uni = ENCODING, "utf-16-le"
    out = bytearray()
    out += _rec(0x0001, _u32(SYSKIND_WIN64))
    out += _rec(0x0002, _u32(LCID))
    out += _rec(0x0014, _u32(LCID))
    out += _rec(0x0003, _u16(CODEPAGE))
    out += _rec(0x0004, name.encode(mb))
    out += _rec(0x0005, b"") + _rec(0x0040, b"")              # doc string, its Unicode form
    out += _rec(0x0006, b"") + _rec(0x003D, b"")              # help file paths
    out += _rec(0x0007, _u32(0))                              # help context
    out += _rec(0x0008, _u32(0))                              # lib flags
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)              # version 1.0
    out += _rec(0x000C, b"") + _rec(0x003C, b"")              # conditional constants
    for ref_name, libid in REFERENCES:
        out += _rec(0x0016, ref_name.encode(mb)) + _rec(0x003E, ref_name.encode(uni))
        raw = libid.encode(mb)
        out += _rec(0x000D, _u32(len(raw)) + raw + _u32(0) + _u16(0))
    out += _rec(0x000F, _u16(len(modules)))
    out += _rec(0x0013, _u16(0xFFFF))                          # project cookie
    for m in modules:
        out += _rec(0x0019, m.name.encode(mb)) + _rec(0x0047, m.name.encode(uni))
        out += _rec(0x001A, m.name.encode(mb)) + _rec(0x0032, m.name.encode(uni))
        out += _rec(0x001C, b"") + _rec(0x0048, b"")          # doc string
        out += _rec(0x0031, _u32(0))                          # TextOffset: source only
        out += _rec(0x001E, _u32(0))                          # help context
        out += _rec(0x002C, _u16(0xFFFF))                     # cookie
        out += struct.pack("<HI", 0x0021 if m.kind == PROCEDURAL else 0x0022, 0)
        out += struct.pack("<HI", 0x002B, 0)                  # module terminator
    out += struct.pack("<HI", 0x0010, 0)                      # dir terminator
    return bytes(out)
