"""Build ``perfxl.xlam`` and ``perfxl_template.xltm`` from ``xlmacros/``, and install the add-in.

Both files carry the same VBA project and ribbon:

- the modules of ``xlmacros/`` (``.bas``, ``.cls``): the ribbon dispatcher;
- the xlwings VBA module and its Dictionary class, taken at build time from the installed xlwings
  package (``xlwings_custom_addin.bas``, the variant meant for add-ins: it runs Python on the
  *active* book, and reads its settings from ``perfxl.conf``, as its PROJECT_NAME says), so
  RunPython always matches the xlwings the Python side imports;
- one document module for the workbook and for each sheet;
- ``customUI/customUI14.xml``, related from ``_rels/.rels``.

The add-in is a minimal workbook with one sheet (its xlwings settings, ``perfxl.conf``); the
template is perfxl's blank template book (``perfxl.template.write_book``) turned into a
macro-enabled template. Zip members are written in a fixed order with fixed times, so two builds
give the same bytes.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..errors import PerfxlError
from ..files import check_output, write_bytes
from ..ooxml import CT_STYLES, CT_WORKSHEET, MAIN, REL_DOCUMENT, REL_STYLES, REL_WORKSHEET
from ..ooxml import PKG_REL as PKG_RELS
from ..ooxml import R as OFFICE_REL
from ..settings import RULES_KEY, user_config_file, write_config
from . import vba

ADDIN_NAME = "perfxl.xlam"
TEMPLATE_NAME = "perfxl_template.xltm"
PROJECT_NAME = "perfxl"
CONFIG_SHEET = f"{PROJECT_NAME}.conf"
XLWINGS_VERSION = "0.37.8"  # pinned in pyproject: RunPython refuses a VBA module of another version

CT_ADDIN = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
CT_TEMPLATE = "application/vnd.ms-excel.template.macroEnabled.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CT_APP = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
CT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"

REL_APP = OFFICE_REL + "/extended-properties"
REL_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_UI14 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
CUSTOMUI14 = "http://schemas.microsoft.com/office/2009/07/customui"

UI_PART = "customUI/customUI14.xml"
VBA_PART = "xl/vbaProject.bin"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Settings of the xlwings VBA module (GetConfig keys); documented in README "Excel ribbon".
CONFIG_KEYS = ("INTERPRETER_WIN", "INTERPRETER_MAC", "CONDA PATH", "CONDA ENV", "PYTHONPATH",
               "SHOW CONSOLE")


# --- sources -------------------------------------------------------------------------------------

def sources_dir() -> Path:
    """``xlmacros/``: ``$PERFXL_XLMACROS``, else the folder beside the package (a checkout or
    an editable install)."""
    override = os.environ.get("PERFXL_XLMACROS")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2] / "xlmacros")
    for c in candidates:
        if (c / "customUI14.xml").is_file():
            return c
    raise PerfxlError("找不到 xlmacros/ 源文件夹(请在 perfxl 源码目录中安装,或设置 PERFXL_XLMACROS)",
                      "xlmacros/ not found: install perfxl from its source tree or set "
                      "PERFXL_XLMACROS")


def xlwings_dir() -> Path:
    import xlwings

    version = getattr(xlwings, "__version__", "")
    if version != XLWINGS_VERSION:
        raise PerfxlError(f"需要 xlwings {XLWINGS_VERSION},已安装的是 {version}",
                          f"xlwings {XLWINGS_VERSION} is required, {version} is installed")
    return Path(xlwings.__file__).resolve().parent


def xlwings_modules() -> list[vba.Module]:
    """The xlwings VBA module for custom add-ins (PROJECT_NAME set to perfxl) and Dictionary."""
    root = xlwings_dir()
    bas = (root / "xlwings_custom_addin.bas").read_text(encoding="ascii")
    marker = 'Public Const PROJECT_NAME As String = "myaddin"'
    if marker not in bas:
        raise PerfxlError("xlwings 的 VBA 模块与预期不同,无法设置 PROJECT_NAME",
                          "the xlwings VBA module has no PROJECT_NAME line to set")
    bas = bas.replace(marker, f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"')
    cls = (root / "addin" / "Dictionary.cls").read_text(encoding="ascii")
    return [vba.module_from_bas(bas), vba.module_from_cls(cls)]


def own_modules(src: Path) -> list[vba.Module]:
    """The modules of ``xlmacros/`` in name order: ``.bas`` standard modules, ``.cls`` classes."""
    out = []
    for path in sorted(src.iterdir(), key=lambda p: p.name.lower()):
        if path.suffix.lower() == ".bas":
            out.append(vba.module_from_bas(path.read_text(encoding="ascii")))
        elif path.suffix.lower() == ".cls":
            out.append(vba.module_from_cls(path.read_text(encoding="ascii")))
    return out


def ribbon_xml(src: Path) -> bytes:
    return (src / "customUI14.xml").read_bytes()


def modules_for(sheet_names: Sequence[str], src: Path) -> list[vba.Module]:
    """Document modules (ThisWorkbook, Sheet1..n), our modules, then xlwings'."""
    docs = [vba.document_module("ThisWorkbook", vba.WORKBOOK_BASE)]
    docs += [vba.document_module(f"Sheet{i}", vba.WORKSHEET_BASE)
             for i in range(1, len(sheet_names) + 1)]
    return docs + own_modules(src) + xlwings_modules()


# --- building ------------------------------------------------------------------------------------

@dataclass
class Built:
    addin: Path
    template: Path

    def paths(self) -> list[Path]:
        return [self.addin, self.template]


def build_addin(out_dir: str | Path, *, interpreter: str | None = None,
                src: Path | None = None, force: bool = False) -> Built:
    """Write ``perfxl.xlam`` and ``perfxl_template.xltm`` into ``out_dir`` (atomically each).

    ``interpreter`` (the python.exe Excel should run) is written to the add-in's ``perfxl.conf``
    sheet; without it the sheet is ``_perfxl.conf`` (inactive) and the interpreter comes from a
    ``perfxl.conf`` file (``perfxl addin install`` writes one).
    """

    src = src or sources_dir()
    folder = Path(out_dir)
    addin, template = folder / ADDIN_NAME, folder / TEMPLATE_NAME
    inputs = [src]
    for path in (addin, template):  # both refused before either is written
        check_output(path, inputs, force=force)
    write_bytes(addin, addin_bytes(src, interpreter=interpreter), inputs, force=force)
    write_bytes(template, template_bytes(src), inputs, force=force)
    return Built(addin, template)


def write_zip(parts: Mapping[str, bytes]) -> bytes:
    """A zip of ``parts`` in the given order, with fixed times and attributes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 0
            z.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def _xml(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text).encode("utf-8")


def _rels(rels: Sequence[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{rid}" Type="{typ}" Target={quoteattr(target)}/>'
                   for rid, typ, target in rels)
    return _xml(f'<Relationships xmlns="{PKG_RELS}">{body}</Relationships>')


def _content_types(defaults: Mapping[str, str], overrides: Mapping[str, str]) -> bytes:
    body = "".join(f'<Default Extension="{ext}" ContentType="{ct}"/>'
                   for ext, ct in defaults.items())
    body += "".join(f'<Override PartName="/{part}" ContentType="{ct}"/>'
                    for part, ct in overrides.items())
    return _xml(f'<Types xmlns="{CT_TYPES}">{body}</Types>')


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def config_rows(interpreter: str | None) -> list[tuple[str, str]]:
    values = {"INTERPRETER_WIN": interpreter or ""}
    return [(key, values.get(key, "")) for key in CONFIG_KEYS]


def addin_bytes(src: Path, *, interpreter: str | None = None) -> bytes:
    """The add-in package: workbook, its settings sheet, styles, VBA project, ribbon."""
    sheet = CONFIG_SHEET if interpreter else "_" + CONFIG_SHEET
    rows = "".join(f'<row r="{r}">{_inline(f"A{r}", key)}'
                   + (_inline(f"B{r}", value) if value else "") + "</row>"
                   for r, (key, value) in enumerate(config_rows(interpreter), start=1))
    worksheet = _xml(
        f'<worksheet xmlns="{MAIN}"><sheetPr codeName="Sheet1"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="1" width="20" '
        'customWidth="1"/><col min="2" max="2" width="60" customWidth="1"/></cols>'
        f"<sheetData>{rows}</sheetData></worksheet>")
    workbook = _xml(
        f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE_REL}"><fileVersion appName="xl"/>'
        '<workbookPr codeName="ThisWorkbook"/><bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name={quoteattr(sheet)} sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>")
    styles = _xml(
        f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
        '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
        '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
        '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
        'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
        'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
    core = _xml(
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>perfxl</dc:title>'
        "<dc:description>perfxl 绩效目标 ribbon add-in (built by perfxl addin build)"
        "</dc:description><dc:creator>perfxl</dc:creator></cp:coreProperties>")
    app = _xml('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
               'extended-properties"><Application>Microsoft Excel</Application></Properties>')
    parts = {
        "[Content_Types].xml": _content_types(
            {"rels": CT_RELS, "xml": "application/xml"},
            {"xl/workbook.xml": CT_ADDIN, "xl/worksheets/sheet1.xml": CT_WORKSHEET,
             "xl/styles.xml": CT_STYLES, VBA_PART: CT_VBA, "docProps/core.xml": CT_CORE,
             "docProps/app.xml": CT_APP}),
        "_rels/.rels": _rels([("rId1", REL_DOCUMENT, "xl/workbook.xml"),
                              ("rId2", REL_CORE, "docProps/core.xml"),
                              ("rId3", REL_APP, "docProps/app.xml"),
                              ("rId4", REL_UI14, UI_PART)]),
        "docProps/core.xml": core,
        "docProps/app.xml": app,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": _rels([("rId1", REL_WORKSHEET, "worksheets/sheet1.xml"),
                                             ("rId2", REL_STYLES, "styles.xml"),
                                             ("rId3", REL_VBA, "vbaProject.bin")]),
        "xl/worksheets/sheet1.xml": worksheet,
        "xl/styles.xml": styles,
        VBA_PART: vba.project_bin(modules_for([sheet], src), PROJECT_NAME),
        UI_PART: ribbon_xml(src),
    }
    return write_zip(parts)


def template_bytes(src: Path) -> bytes:
    """perfxl's blank template book as a macro-enabled template (.xltm) with the ribbon."""
    import tempfile

    from lxml import etree  # type: ignore[import-untyped]

    from ..template import write_book

    with tempfile.TemporaryDirectory(prefix="perfxl-xltm-") as tmp:
        path = Path(tmp) / "template.xlsx"
        write_book(path)
        with zipfile.ZipFile(path) as z:
            parts = {info.filename: z.read(info) for info in z.infolist()}

    def tree(name: str) -> Any:
        return etree.fromstring(parts[name], etree.XMLParser(resolve_entities=False))

    def put(name: str, root: Any) -> None:
        parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                     standalone=True)

    ns = {"m": MAIN, "r": OFFICE_REL, "p": PKG_RELS, "t": CT_TYPES}
    types = tree("[Content_Types].xml")
    for o in types.findall("t:Override", ns):
        if o.get("PartName") == "/xl/workbook.xml":
            o.set("ContentType", CT_TEMPLATE)
    etree.SubElement(types, f"{{{CT_TYPES}}}Override", PartName="/" + VBA_PART, ContentType=CT_VBA)
    put("[Content_Types].xml", types)

    rels = tree("_rels/.rels")
    etree.SubElement(rels, f"{{{PKG_RELS}}}Relationship", Id="rIdPerfxlUI", Type=REL_UI14,
                     Target=UI_PART)
    put("_rels/.rels", rels)

    wb_rels = tree("xl/_rels/workbook.xml.rels")
    etree.SubElement(wb_rels, f"{{{PKG_RELS}}}Relationship", Id="rIdPerfxlVBA", Type=REL_VBA,
                     Target="vbaProject.bin")
    put("xl/_rels/workbook.xml.rels", wb_rels)

    workbook = tree("xl/workbook.xml")
    pr = workbook.find("m:workbookPr", ns)
    if pr is None:
        pr = etree.Element(f"{{{MAIN}}}workbookPr")
        anchor = workbook.find("m:fileVersion", ns)
        workbook.insert(0 if anchor is None else workbook.index(anchor) + 1, pr)
    pr.set("codeName", "ThisWorkbook")
    put("xl/workbook.xml", workbook)

    targets = {r.get("Id"): r.get("Target") for r in wb_rels.findall("p:Relationship", ns)}
    names = []
    for number, sheet in enumerate(workbook.findall("m:sheets/m:sheet", ns), start=1):
        names.append(sheet.get("name"))
        part = "xl/" + targets[sheet.get(f"{{{OFFICE_REL}}}id")].lstrip("/").removeprefix("xl/")
        ws = tree(part)
        sheet_pr = ws.find("m:sheetPr", ns)
        if sheet_pr is None:
            sheet_pr = etree.Element(f"{{{MAIN}}}sheetPr")
            ws.insert(0, sheet_pr)
        sheet_pr.set("codeName", f"Sheet{number}")
        put(part, ws)

    parts[VBA_PART] = vba.project_bin(modules_for(names, src), PROJECT_NAME)
    parts[UI_PART] = ribbon_xml(src)
    order = ["[Content_Types].xml", "_rels/.rels"]
    return write_zip({name: parts[name] for name in order + sorted(set(parts) - set(order))})


# --- installing ----------------------------------------------------------------------------------

@dataclass
class Installed:
    addin: Path
    config: Path | None
    interpreter: str


def xlstart_dir() -> Path:
    """The user's XLSTART folder, where Excel opens add-ins at start (what ``xlwings addin
    install`` uses): ``%APPDATA%\\Microsoft\\Excel\\XLSTART``."""
    appdata = os.environ.get("APPDATA")
    if not appdata:
        raise PerfxlError("找不到 Excel 的启动文件夹(%APPDATA% 未设置;不是 Windows?),请用 --dir 指定",
                          "no %APPDATA% (not Windows?): give the folder with --dir")
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"


def install_addin(target_dir: str | Path | None = None, *, interpreter: str | None = None,
                  config: bool = True, rules: str | Path | None = None) -> Installed:
    """Build the add-in straight into XLSTART (or ``target_dir``) and point xlwings at
    ``interpreter`` (default: the Python running this) in the user's ``perfxl.conf``; with
    ``rules``, that rules file is in effect for the ribbon and the command line alike."""

    folder = Path(target_dir) if target_dir is not None else xlstart_dir()
    python = interpreter or sys.executable

    src = sources_dir()
    target = folder / ADDIN_NAME
    # installing updates perfxl's own add-in, so an older perfxl.xlam there is replaced
    write_bytes(target, addin_bytes(src), [src], force=True)
    conf = None
    if config:
        conf = user_config_file()
        settings = {"INTERPRETER_WIN": python}
        if rules is not None:
            settings[RULES_KEY] = str(Path(rules).resolve())
        write_config(conf, settings)
    return Installed(target, conf, python)
