"""The ribbon add-in: MS-OVBA compression, the CFB writer, the VBA project and the packages.

Independent readers check what we write: oletools' olevba (every module back, equal to its
source), olefile in its strictest mode, LibreOffice's VBA import (through Python-UNO), and the
customUI14 schema. What only Excel on Windows can show is listed in README "Excel ribbon".
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path

import olefile
import pytest
from click.testing import CliRunner
from lxml import etree

with warnings.catch_warnings():  # olevba's pyparsing grammar warns on import
    warnings.simplefilter("ignore")
    from oletools.olevba import VBA_Parser, decompress_stream

from perfxl.addin import build as B
from perfxl.addin import cfb, ovba, vba

ROOT = Path(__file__).resolve().parents[1]
XLMACROS = ROOT / "xlmacros"
SCHEMA = ROOT.parent / "shared" / "schemas" / "customui14.lxml.xsd"
CUI = "{http://schemas.microsoft.com/office/2009/07/customui}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> B.Built:
    return B.build_addin(tmp_path_factory.mktemp("addin"))


def _vba_bin(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(B.VBA_PART)


def _without_attributes(code: str) -> list[str]:
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].strip().upper().startswith("VERSION"):  # .cls export header
        lines = lines[lines.index(next(x for x in lines if x.strip().upper() == "END")) + 1:]
    lines = [x for x in lines if not x.startswith("Attribute ")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _expected_sources() -> dict[str, str]:
    """Module name → the source text it was built from (ours and the installed xlwings')."""
    out = {}
    for path in XLMACROS.iterdir():
        if path.suffix in (".bas", ".cls"):
            text = path.read_text(encoding="ascii")
            out[re.search(r'VB_Name = "(\w+)"', text).group(1)] = text  # type: ignore[union-attr]
    xlw = B.xlwings_dir()
    out["xlwings"] = (xlw / "xlwings_custom_addin.bas").read_text(encoding="ascii").replace(
        'PROJECT_NAME As String = "myaddin"', 'PROJECT_NAME As String = "perfxl"')
    out["Dictionary"] = (xlw / "addin" / "Dictionary.cls").read_text(encoding="ascii")
    return out


# --- MS-OVBA compression ------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 3, 100, 4095, 4096, 4097, 20_000])
def test_compression_round_trips_through_olevba(size: int) -> None:
    rnd = random.Random(size)
    words = [b"Dim ", b"As String", b"\r\n", b"RunPython ", b"End Sub", b"' comment "]
    text = b"".join(rnd.choice(words) for _ in range(size))[:size]
    noise = bytes(rnd.randrange(256) for _ in range(size))
    for data in (text, noise, bytes(size)):
        packed = ovba.compress(data)
        assert ovba.decompress(packed) == data
        assert bytes(decompress_stream(bytearray(packed))) == data


def test_copy_token_lengths_follow_the_spec() -> None:
    """maximum length = (0xFFFF >> bit_count) + 3 (ms-ovba-compression shifts the other way and
    garbles modules over 4 KB)."""
    assert ovba.copy_token_help(1) == (4, 4098)
    assert ovba.copy_token_help(16) == (4, 4098)
    assert ovba.copy_token_help(17) == (5, 2050)
    assert ovba.copy_token_help(4096) == (12, 18)
    long_run = b"x" * 9000 + b"Attribute VB_Name" * 400  # long matches at every position
    assert decompress_stream(bytearray(ovba.compress(long_run))) == long_run


def test_compresses_like_office() -> None:
    """On xlwings' own module our output is within 2 % of what Office wrote."""
    data = _vba_bin(B.xlwings_dir() / "quickstart_addin_ribbon.xlam")
    stream = olefile.OleFileIO(data).openstream("VBA/xlwings").read()
    source = ovba.decompress(stream)
    assert len(ovba.compress(source)) <= len(stream) * 1.02


def test_project_values_decrypt_like_xlwings_own() -> None:
    """The decryption of MS-OVBA 2.4.3 reads xlwings' shipped PROJECT values; our encryption
    round-trips and uses the project key of the spec."""
    data = _vba_bin(B.xlwings_dir() / "quickstart_addin_ribbon.xlam")
    text = olefile.OleFileIO(data).openstream("PROJECT").read().decode("cp1252")
    values = dict(re.findall(r'^(\w+)="?([^"\r\n]*)"?\r?$', text, re.M))
    assert ovba.decrypt(values["CMG"]) == (2, ovba.project_key(values["ID"]), bytes(4))
    assert ovba.decrypt(values["GC"])[2] == b"\xff"
    for seed in range(0, 256, 37):
        enc = ovba.encrypt(b"\x01\x02\x03", "{ABC}", seed)
        assert ovba.decrypt(enc) == (2, ovba.project_key("{ABC}"), b"\x01\x02\x03")


# --- MS-CFB ---------------------------------------------------------------------------------------

def _check_tree(ole: olefile.OleFileIO) -> None:
    """Every storage's children form a binary search tree in CFB order, all black."""
    entries = ole.direntries

    def walk(sid: int) -> list[str]:
        if sid == cfb.NOSTREAM:
            return []
        e = entries[sid]
        assert e.color == cfb.BLACK
        return [*walk(e.sid_left), e.name, *walk(e.sid_right)]

    for e in entries:
        if e is not None and e.entry_type in (cfb.STORAGE, cfb.ROOT):
            names = walk(e.sid_child)
            assert names == sorted(names, key=cfb.sort_key)


@pytest.mark.parametrize("big", [0, 70_000, 8_000_000])
def test_cfb_writer_is_read_strictly_by_olefile(big: int) -> None:
    rnd = random.Random(big)
    streams = {
        "PROJECT": b"ID=...\r\n" * 10, "PROJECTwm": b"", "VBA/_VBA_PROJECT": vba.VBA_PROJECT,
        "VBA/dir": bytes(rnd.randrange(256) for _ in range(4095)),
        "VBA/a": bytes(4096), "VBA/Sheet10": b"x", "VBA/Sheet2": b"y" * 64,
        "VBA/Nested/deeper": b"z" * 65, "Zeta": b"last",
    }
    if big:
        streams["VBA/Big"] = rnd.randbytes(big)
    data = cfb.write(streams)
    assert len(data) % cfb.SECTOR == 0
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_POTENTIAL)
    assert sorted("/".join(p) for p in ole.listdir()) == sorted(streams)
    for name, content in streams.items():
        assert ole.openstream(name).read() == content
    _check_tree(ole)
    assert cfb.write(streams) == data
    if big > 7_000_000:  # more than 109 FAT sectors: the DIFAT is used
        assert struct.unpack_from("<I", data, 0x48)[0] > 0


# --- the VBA project ------------------------------------------------------------------------------

def test_every_module_reads_back_equal_to_its_source(built: B.Built) -> None:
    expected = _expected_sources()
    for path in built.paths():
        parser = VBA_Parser(str(path))
        try:
            got = {vba_file.rsplit(".", 1)[0]: code
                   for _, _, vba_file, code in parser.extract_macros()}
        finally:
            parser.close()
        documents = {"ThisWorkbook"} | {n for n in got if re.fullmatch(r"Sheet\d+", n)}
        assert set(got) == set(expected) | documents
        for name, source in expected.items():
            assert _without_attributes(got[name]) == _without_attributes(source), name
        for name in documents:
            assert _without_attributes(got[name]) == []
        assert 'VB_Name = "xlwings"' in got["xlwings"]


def test_vba_project_is_source_only_and_strict(built: B.Built) -> None:
    data = _vba_bin(built.addin)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_POTENTIAL)
    _check_tree(ole)
    head = ole.openstream("VBA/_VBA_PROJECT").read()
    assert head[:2] == b"\xcc\x61" and struct.unpack_from("<H", head, 2)[0] == 0xFFFF
    dir_stream = ovba.decompress(ole.openstream("VBA/dir").read())
    records = _records(dir_stream)
    assert records[0] == (0x0001, struct.pack("<I", 3))
    assert (0x0003, struct.pack("<H", 1252)) in records
    assert all(body == bytes(4) for rid, body in records if rid == 0x0031)  # TextOffset 0
    libids = [body[4:].split(b"#")[0] for rid, body in records if rid == 0x000D]
    assert b"*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in libids  # Office: IRibbonControl
    names = [body.decode() for rid, body in records if rid == 0x0019]
    project = ole.openstream("PROJECT").read().decode("cp1252")
    for name in names:
        assert re.search(rf"^(Document|Module|Class)={name}\b", project, re.M)
    assert 'Name="perfxl"' in project
    wm = ole.openstream("PROJECTwm").read()
    assert wm.endswith(b"\0\0") and b"PerfxlRibbon\0" in wm


def _records(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        rid, size = struct.unpack_from("<HI", data, pos)
        if rid == 0x0009:  # PROJECTVERSION: Reserved (4, = 4), then 6 bytes
            size = 6
        out.append((rid, data[pos + 6:pos + 6 + size]))
        pos += 6 + size
    assert out[-1][0] == 0x0010
    return out


def test_xlwings_module_is_the_installed_version(built: B.Built) -> None:
    import xlwings

    parser = VBA_Parser(str(built.addin))
    try:
        code = next(c for _, _, f, c in parser.extract_macros() if f.startswith("xlwings."))
    finally:
        parser.close()
    assert f'XLWINGS_VERSION As String = "{xlwings.__version__}"' in code
    assert 'PROJECT_NAME As String = "perfxl"' in code
    assert "ActiveWorkbook" in code  # the custom add-in variant: it runs on the active book


def test_two_builds_give_the_same_bytes(built: B.Built, tmp_path: Path) -> None:
    again = B.build_addin(tmp_path)
    for a, b in zip(built.paths(), again.paths(), strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_vba_sources_hold_no_logic() -> None:
    """One dispatcher: each Sub of xlmacros takes the ribbon control and calls RunPython."""
    subs = []
    for path in XLMACROS.glob("*.bas"):
        text = path.read_text(encoding="ascii")
        for m in re.finditer(r"^(?:Public\s+)?Sub\s+(\w+)\((.*?)\)\s*$(.*?)^End Sub", text,
                             re.M | re.S):
            body = [x.strip() for x in m.group(3).splitlines() if x.strip()]
            assert len(body) == 1 and body[0].startswith("RunPython "), m.group(1)
            subs.append(m.group(1))
    assert subs == ["PerfxlAction"]


# --- the packages ---------------------------------------------------------------------------------

def _xml(z: zipfile.ZipFile, name: str) -> etree._Element:
    return etree.fromstring(z.read(name))


@pytest.mark.parametrize("which, content_type", [("addin", B.CT_ADDIN),
                                                 ("template", B.CT_TEMPLATE)])
def test_package_parts_and_relationships(built: B.Built, which: str, content_type: str) -> None:
    path = getattr(built, which)
    with zipfile.ZipFile(path) as z:
        assert z.namelist()[0] == "[Content_Types].xml"
        assert {i.date_time for i in z.infolist()} == {B.ZIP_TIME}
        types = _xml(z, "[Content_Types].xml")
        overrides = {o.get("PartName"): o.get("ContentType") for o in types
                     if o.tag.endswith("Override")}
        assert overrides["/xl/workbook.xml"] == content_type
        assert overrides["/xl/vbaProject.bin"] == B.CT_VBA
        rels = {r.get("Type"): r.get("Target") for r in _xml(z, "_rels/.rels")}
        assert rels[B.REL_UI14] == B.UI_PART
        assert z.read(B.UI_PART) == (XLMACROS / "customUI14.xml").read_bytes()
        wb_rels = {r.get("Type"): r.get("Target") for r in _xml(z, "xl/_rels/workbook.xml.rels")}
        assert wb_rels[B.REL_VBA] == "vbaProject.bin"
        workbook = _xml(z, "xl/workbook.xml")
        ns = {"m": B.MAIN}
        assert workbook.find("m:workbookPr", ns).get("codeName") == "ThisWorkbook"
        sheets = workbook.findall("m:sheets/m:sheet", ns)
        for number, _sheet in enumerate(sheets, start=1):
            part = f"xl/worksheets/sheet{number}.xml"
            assert _xml(z, part).find("m:sheetPr", ns).get("codeName") == f"Sheet{number}"
        project = olefile.OleFileIO(z.read(B.VBA_PART)).openstream("PROJECT").read().decode()
        assert project.count("Document=") == len(sheets) + 1


def test_template_is_the_blank_template_book(built: B.Built) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(built.template.read_bytes()), keep_vba=True)
    assert wb.sheetnames == ["说明", "部门整体", "1.项目名称", "汇总", "选项"]
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["perfxl_template_version"] == "perfxl-2021.1"


def _config_sheet(path: Path) -> tuple[str, list[list[str]]]:
    ns = {"m": B.MAIN}
    with zipfile.ZipFile(path) as z:
        name = _xml(z, "xl/workbook.xml").find("m:sheets/m:sheet", ns).get("name")
        rows = [[t.text or "" for t in row.iterfind(".//m:t", ns)]
                for row in _xml(z, "xl/worksheets/sheet1.xml").iterfind(".//m:row", ns)]
    return name, rows


def test_addin_config_sheet(built: B.Built, tmp_path: Path) -> None:
    name, rows = _config_sheet(built.addin)
    assert name == "_perfxl.conf"  # inactive until named perfxl.conf
    assert [r[0] for r in rows] == list(B.CONFIG_KEYS)
    assert all(len(r) == 1 for r in rows)
    with_python = B.build_addin(tmp_path, interpreter=r"C:\Python311\python.exe")
    name, rows = _config_sheet(with_python.addin)
    assert name == "perfxl.conf"
    assert rows[0] == ["INTERPRETER_WIN", r"C:\Python311\python.exe"]


# --- the ribbon XML -------------------------------------------------------------------------------

def test_customui_validates_against_the_schema() -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    doc = etree.parse(str(XLMACROS / "customUI14.xml"))
    assert schema.validate(doc), schema.error_log
    assert doc.getroot().tag == CUI + "customUI"


def test_every_button_is_dispatched_and_handled() -> None:
    from perfxl.xl import ACTIONS

    doc = etree.parse(str(XLMACROS / "customUI14.xml"))
    buttons = doc.getroot().findall(f".//{CUI}button")
    subs = {}
    for path in XLMACROS.glob("*.bas"):
        text = path.read_text(encoding="ascii")
        for m in re.finditer(r"^(?:Public\s+)?Sub\s+(\w+)\((.*?)\)", text, re.M):
            subs[m.group(1)] = m.group(2)
    assert {b.get("id") for b in buttons} == set(ACTIONS)
    for b in buttons:
        sub = b.get("onAction")
        assert re.fullmatch(r"\w+\s+As\s+IRibbonControl", subs[sub]), sub
        assert b.get("imageMso") and b.get("screentip") and b.get("label")
    labels = [b.get("label") for b in buttons]
    assert labels == ["校验", "汇总", "合并", "新建项目", "帮助"]
    assert doc.getroot().find(f".//{CUI}tab").get("label") == "绩效目标"


# --- LibreOffice --------------------------------------------------------------------------------

UNO_SCRIPT = r'''
import json, os, shutil, signal, subprocess, sys, tempfile, time
import uno
from com.sun.star.beans import PropertyValue

book, soffice = sys.argv[1], sys.argv[2]
profile = tempfile.mkdtemp(prefix="perfxl-uno-")
os.makedirs(os.path.join(profile, "user"))
with open(os.path.join(profile, "user", "registrymodifications.xcu"), "w") as f:
    f.write("""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Load" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Executable" oor:op="fuse"><value>true</value></prop></item>
</oor:items>""")
pipe = "perfxl_uno_%d" % os.getpid()
proc = subprocess.Popen([soffice, "-env:UserInstallation=file://" + profile, "--headless",
                         "--invisible", "--nologo", "--norestore", "--nodefault",
                         "--accept=pipe,name=%s;urp;" % pipe],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True)
def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(240):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.25)
    else:
        raise SystemExit("LibreOffice did not start")
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(os.path.abspath(book)), "_blank", 0,
        (prop("Hidden", True), prop("MacroExecutionMode", 0),
         prop("FilterName", "Calc MS Excel 2007 VBA XML")))
    if doc is None:
        raise SystemExit("LibreOffice could not open " + book)
    out = {}
    libraries = doc.BasicLibraries
    for name in libraries.ElementNames:
        libraries.loadLibrary(name)
        lib = libraries.getByName(name)
        out[name] = {m: lib.getByName(m) for m in lib.ElementNames}
    doc.close(True)
    print(json.dumps(out))
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    shutil.rmtree(profile, ignore_errors=True)
'''

UNO_PYTHON = os.environ.get("PERFXL_UNO_PYTHON", "/usr/bin/python3")


def _basic_libraries(book: Path, soffice: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    probe = subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True)
    if probe.returncode != 0:
        reason = os.environ.get("PERFXL_SKIP_LIBREOFFICE")
        if reason:
            pytest.skip(f"Python-UNO not available: {reason}")
        pytest.fail(f"{UNO_PYTHON} cannot import uno: install python3-uno "
                    "(or set PERFXL_SKIP_LIBREOFFICE=<reason>)")
    script = tmp_path / "uno_basic.py"
    script.write_text(UNO_SCRIPT, encoding="utf-8")
    done = subprocess.run([UNO_PYTHON, str(script), str(book), soffice], capture_output=True,
                          text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    libraries: dict[str, dict[str, str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return libraries


_LO_HEADER = re.compile(r"^(Rem Attribute VBA_ModuleType=\w+|Option VBASupport 1|"
                        r"Option ClassModule)$")


@pytest.mark.libreoffice
@pytest.mark.parametrize("which", ["addin", "template"])
def test_libreoffice_imports_the_vba_project(built: B.Built, which: str, soffice: str,
                                            tmp_path: Path) -> None:
    path = getattr(built, which)
    book = tmp_path / ("book.xlsm" if which == "addin" else "book.xltm")
    book.write_bytes(path.read_bytes())
    libraries = _basic_libraries(book, soffice, tmp_path)
    modules = libraries["perfxl"]
    expected = _expected_sources()
    assert set(expected) <= set(modules)
    for name, source in expected.items():
        lines = modules[name].replace("\r\n", "\n").split("\n")
        lines = [x for x in lines if not _LO_HEADER.match(x)]
        while lines and not lines[-1].strip():
            lines.pop()
        assert lines == _without_attributes(source), name


# --- install and the CLI --------------------------------------------------------------------------

def test_install_puts_the_addin_in_place_and_points_at_python(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    conf = tmp_path / "home" / ".perfxl" / "perfxl.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('"INTERPRETER_WIN","C:\\old\\python.exe"\r\n"PYTHONPATH","C:\\work"\r\n')
    done = B.install_addin(interpreter=r"C:\Py\python.exe")
    assert done.addin == tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART" / "perfxl.xlam"
    assert done.addin.read_bytes() == B.addin_bytes(B.sources_dir())
    assert conf.read_text().splitlines() == ['"PYTHONPATH","C:\\work"',
                                             '"INTERPRETER_WIN","C:\\Py\\python.exe"']


def test_install_without_appdata_needs_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfxl.errors import PerfxlError

    monkeypatch.delenv("APPDATA", raising=False)
    with pytest.raises(PerfxlError, match="--dir"):
        B.install_addin(config=False)


def test_cli_addin_build_and_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from perfxl.cli import main

    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(main, ["addin", "build", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "perfxl.xlam").is_file()
    assert (tmp_path / "out" / "perfxl_template.xltm").is_file()
    result = runner.invoke(main, ["addin", "install", "--dir", str(tmp_path / "xlstart")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xlstart" / "perfxl.xlam").is_file()
    assert sys.executable in result.output
    conf = (tmp_path / "home" / ".perfxl" / "perfxl.conf").read_text()
    assert conf.strip() == f'"INTERPRETER_WIN","{sys.executable}"'


def test_readme_documents_the_ribbon() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Excel ribbon (Windows)"):]
    for needed in ("perfxl addin build", "perfxl addin install", "INTERPRETER_WIN", "XLSTART",
                   "perfxl.conf", "Manual check", "校验", "汇总", "合并", "新建项目", "帮助"):
        assert needed in section, needed
