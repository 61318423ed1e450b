"""Headless LibreOffice helpers for tests and rendering.

Every LibreOffice call runs with its own throw-away user profile, so calls can
run in parallel (one soffice instance per profile), work as root, and never
touch the user's real profile.  The profile also pins the formula recalculation
mode on load: LibreOffice otherwise trusts the cached values stored in an
.xlsx, which is exactly what we must not do when checking generated formulas.
"""

from __future__ import annotations

import contextlib
import glob
import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import openpyxl

__all__ = [
    "Evaluated",
    "Flag",
    "conditional_marks",
    "convert",
    "convert_all",
    "evaluate",
    "pdf_texts",
    "pdf_words",
    "recalculated_values",
    "render_png",
    "sheet_pdf",
    "soffice",
    "soffice_version",
]

_CANDIDATES = (
    "/usr/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)

# 0 = always recalculate on load, 1 = never, 2 = ask (ask means "never" headless).
_REGISTRY = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""

_OOXML_SUFFIXES = {".xlsx", ".xlsm"}
_PDF_SINGLE_PAGE = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'


def soffice() -> str | None:
    """Path of the soffice/libreoffice binary, or None if not installed.

    ``$PERFXL_SOFFICE`` overrides the search.
    """
    override = os.environ.get("PERFXL_SOFFICE")
    if override:
        return override if Path(override).is_file() else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


def _require_soffice() -> str:
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice (soffice) not found; install libreoffice-calc")
    return binary


def _run(cmd: Sequence[str], timeout: float, what: str) -> str:
    """Run ``cmd`` in its own process group; return stdout + stderr.

    ``soffice`` is a wrapper that forks ``soffice.bin``; killing only the direct
    child would leave the real office process running, hence the group kill.
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = _drain(proc)
        raise RuntimeError(
            f"{what} timed out after {timeout:g}s\ncommand: {list(cmd)}\n"
            f"stdout: {out.strip()}\nstderr: {err.strip()}"
        ) from None
    except BaseException:
        _kill_group(proc)
        _drain(proc)
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed with exit code {proc.returncode}\ncommand: {list(cmd)}\n"
            f"stdout: {out.strip()}\nstderr: {err.strip()}"
        )
    return out + err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[str]) -> tuple[str, str]:
    # A grandchild that escaped the group could keep the pipes open; don't hang on it.
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "", ""
    return out or "", err or ""


@contextlib.contextmanager
def _profile(recalc: bool) -> Iterator[str]:
    """Yield a ``-env:UserInstallation=...`` argument for a fresh temporary profile."""
    root = Path(tempfile.mkdtemp(prefix="perfxl-lo-profile-"))
    try:
        user = root / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(
            _REGISTRY.format(mode=0 if recalc else 1), encoding="utf-8"
        )
        yield f"-env:UserInstallation={root.as_uri()}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def convert_all(
    src: Path, fmt: str, outdir: Path, *, recalc: bool = True, timeout: float = 120
) -> list[Path]:
    """Convert ``src`` with ``soffice --convert-to fmt``; return every produced file.

    ``fmt`` is anything ``--convert-to`` accepts, e.g. ``"pdf"``, ``"xlsx"`` or
    ``'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1'``
    (the latter writes one ``<stem>-<sheet>.csv`` per sheet).  The conversion runs
    in a private directory and the results are then moved into ``outdir``
    (overwriting), so output names never race with other calls.
    """
    src = Path(src)
    outdir = Path(outdir)
    if not src.is_file():
        raise FileNotFoundError(src)
    binary = _require_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-convert-") as tmp:
        work = Path(tmp)
        # Convert a private copy: LibreOffice drops a .~lock file next to the
        # document it opens, which would clash between parallel calls.
        (work / "in").mkdir()
        (work / "out").mkdir()
        copy = work / "in" / src.name
        shutil.copyfile(src, copy)
        with _profile(recalc) as profile:
            log = _run(
                [
                    binary,
                    profile,
                    "--headless",
                    "--invisible",
                    "--nologo",
                    "--nodefault",
                    "--norestore",
                    "--nolockcheck",
                    "--convert-to",
                    fmt,
                    "--outdir",
                    str(work / "out"),
                    str(copy),
                ],
                timeout,
                f"LibreOffice conversion of {src} to {fmt!r}",
            )
        produced = sorted(p for p in (work / "out").iterdir() if p.is_file())
        if not produced:
            # soffice exits 0 even when loading or exporting fails.
            raise RuntimeError(
                f"LibreOffice produced no output converting {src} to {fmt!r}:\n{log.strip()}"
            )
        results = [outdir / path.name for path in produced]
        if src.resolve() in {target.resolve() for target in results}:
            raise ValueError(f"conversion of {src} into {outdir} would overwrite it")
        for path, target in zip(produced, results, strict=True):
            shutil.move(path, target)
        return results


def convert(
    src: Path, fmt: str, outdir: Path, *, recalc: bool = True, timeout: float = 120
) -> Path:
    """Convert ``src`` headlessly to ``fmt`` in ``outdir``; return the produced file.

    With ``recalc=True`` every formula is recalculated on load, ignoring the
    cached values stored in the file.  With ``recalc=False`` the cached values
    of an .xlsx are kept (formulas without a cached value, e.g. as written by
    openpyxl, are still computed; .ods and .xls get recalculated anyway).
    Raises if several files were produced (use :func:`convert_all` for
    per-sheet CSV export).
    """
    produced = convert_all(src, fmt, outdir, recalc=recalc, timeout=timeout)
    if len(produced) != 1:
        raise RuntimeError(f"expected one output file, got {[p.name for p in produced]}")
    return produced[0]


def soffice_version(timeout: float = 60) -> str:
    """``soffice --version`` output, e.g. ``'LibreOffice 7.4.7.2 40(Build:2)'``."""
    with _profile(recalc=True) as profile:
        out = _run([_require_soffice(), profile, "--version"], timeout, "soffice --version")
    lines = [line for line in out.splitlines() if line.startswith("LibreOffice")]
    return lines[0].strip() if lines else out.strip()


def recalculated_values(src: Path, sheet: str, *, timeout: float = 120) -> list[list[object]]:
    """Values of ``sheet`` after LibreOffice recalculated every formula.

    The book is round-tripped through LibreOffice to .xlsx (with forced
    recalculation) and read back with ``openpyxl`` ``data_only=True``; unlike CSV
    this keeps cell types.  ``result[r][c]`` is cell (row r+1, column c+1), the
    grid starts at A1 and trailing empty rows/columns are dropped.  Numbers come
    back as int/float, text as str, booleans as bool, error values as strings
    such as ``'#DIV/0!'``, empty cells (and formulas returning ``""``) as None,
    date-formatted cells as ``datetime``.  LibreOffice writes at most 15
    significant digits, so compare floats with a tolerance.
    """
    return recalculated_sheets(src, [sheet], timeout=timeout)[sheet]


def recalculated_sheets(src: Path, sheets: Sequence[str], *,
                        timeout: float = 120) -> dict[str, list[list[object]]]:
    """:func:`recalculated_values` of several sheets, from one round trip."""
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-values-") as tmp:
        book_path = convert(src, "xlsx", Path(tmp), recalc=True, timeout=timeout)
        book = openpyxl.load_workbook(book_path, data_only=True)
        out = {}
        try:
            for sheet in sheets:
                if sheet not in book.sheetnames:
                    raise KeyError(f"sheet {sheet!r} not in {src}; sheets: {book.sheetnames}")
                ws = book[sheet]
                out[sheet] = _trimmed([
                    [None if value == "" else value for value in row]
                    for row in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row,
                                            max_col=ws.max_column, values_only=True)])
        finally:
            book.close()
    return out


def _trimmed(rows: list[list[object]]) -> list[list[object]]:
    while rows and all(value is None for value in rows[-1]):
        rows.pop()
    width = max((i + 1 for row in rows for i, v in enumerate(row) if v is not None), default=0)
    return [row[:width] for row in rows]


def _workbook_part(archive: zipfile.ZipFile) -> str:
    """Zip member name of the workbook part (normally ``xl/workbook.xml``)."""
    try:
        rels = ET.fromstring(archive.read("_rels/.rels"))
    except KeyError:
        return "xl/workbook.xml"
    for rel in rels:
        if rel.get("Type", "").endswith("/officeDocument"):
            return str(PurePosixPath(rel.get("Target", "xl/workbook.xml").lstrip("/")))
    return "xl/workbook.xml"


_SHEET_TAG = re.compile(r"<(?:[\w.-]+:)?sheet\s[^>]*>")
_NAME_ATTR = re.compile(r"""\sname\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_STATE_ATTR = re.compile(r"""\sstate\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_VIEW_TAG = re.compile(r"<(?:[\w.-]+:)?workbookView\b[^>]*>")
# A print area, its attributes in any order (XlsxWriter writes localSheetId after name,
# LibreOffice before it); group 1 is its sheet's index.
_PRINT_AREA = re.compile(
    r"""<(?:[\w.-]+:)?definedName\s(?=[^>]*name=["']_xlnm\.Print_Area["'])"""
    r"""[^>]*localSheetId=["'](\d+)["'][^>]*>.*?</(?:[\w.-]+:)?definedName>""",
    re.DOTALL,
)


def _attr(pattern: re.Pattern[str], tag: str, default: str) -> str:
    match = pattern.search(tag)
    return html.unescape(match.group(2)) if match else default


def _set_attr(tag: str, name: str, value: str) -> str:
    pattern = re.compile(rf"""(\s){name}\s*=\s*(["']).*?\2""", re.DOTALL)
    if pattern.search(tag):
        return pattern.sub(rf'\g<1>{name}="{value}"', tag, count=1)
    end = -2 if tag.endswith("/>") else -1
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


def _sheets(book: Path) -> list[tuple[str, str]]:
    """(name, state) of every sheet of an .xlsx/.xlsm, in workbook order."""
    with zipfile.ZipFile(book) as archive:
        xml = archive.read(_workbook_part(archive)).decode("utf-8")
    return [
        (_attr(_NAME_ATTR, tag, ""), _attr(_STATE_ATTR, tag, "visible"))
        for tag in _SHEET_TAG.findall(xml)
    ]


def _sheet_index(book: Path, sheet: str, src: Path) -> int:
    names = [name for name, _ in _sheets(book)]
    if sheet not in names:
        raise KeyError(f"sheet {sheet!r} not in {src}; sheets: {names}")
    return names.index(sheet)


def _only_sheet_visible(book: Path, index: int, dest: Path) -> None:
    """Copy an .xlsx/.xlsm to ``dest`` with every sheet but number ``index`` hidden.

    Hidden sheets are skipped by the normal PDF export, except (LibreOffice 7.4)
    those with a print area, so the other sheets' print areas are dropped too.
    The workbook XML is patched textually (not via openpyxl) so charts, images
    and styles survive untouched, and the other sheets stay available to
    cross-sheet formulas.
    """
    with zipfile.ZipFile(book) as zin:
        part = _workbook_part(zin)
        position = -1

        def patch(match: re.Match[str]) -> str:
            nonlocal position
            position += 1
            tag = _STATE_ATTR.sub("", match.group(0))
            return tag if position == index else _set_attr(tag, "state", "hidden")

        xml = _SHEET_TAG.sub(patch, zin.read(part).decode("utf-8"))
        xml = _PRINT_AREA.sub(
            lambda m: m.group(0) if m.group(1) == str(index) else "", xml
        )
        xml = _VIEW_TAG.sub(
            lambda m: _set_attr(_set_attr(m.group(0), "activeTab", str(index)), "firstSheet", "0"),
            xml,
        )
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = xml.encode("utf-8") if item.filename == part else zin.read(item)
                zout.writestr(item, data)


def _pdf_pages(pdf: Path, timeout: float) -> int:
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        raise RuntimeError("pdfinfo not found; install poppler-utils")
    info = _run([pdfinfo, str(pdf)], timeout, f"pdfinfo on {pdf.name}")
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"cannot read the page count of {pdf}:\n{info}")
    return int(match.group(1))


def sheet_pdf(src: Path, sheet: str, outdir: Path, *, timeout: float = 120) -> Path:
    """``sheet`` of an .xlsx/.xlsm printed to ``outdir/<stem>.pdf`` as its print setup says
    (the other sheets hidden)."""
    src = Path(src)
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-sheet-") as tmp:
        only = Path(tmp) / f"{src.stem}.xlsx"
        _only_sheet_visible(src, _sheet_index(src, sheet, src), only)
        return convert(only, "pdf", outdir, timeout=timeout)


def pdf_texts(pdf: Path, *, timeout: float = 60) -> list[str]:
    """The text of each page of a PDF (``pdftotext -layout``), in page order."""
    binary = shutil.which("pdftotext")
    if binary is None:
        raise RuntimeError("pdftotext not found; install poppler-utils")
    text = _run([binary, "-layout", str(pdf), "-"], timeout, f"pdftotext on {pdf.name}")
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)
_WORD = re.compile(
    r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>'
)


def pdf_words(
    pdf: Path, *, timeout: float = 60
) -> list[tuple[tuple[float, float], list[tuple[float, float, float, float, str]]]]:
    """Per page: its (width, height) in points and its words as (x0, y0, x1, y1, text)."""
    binary = shutil.which("pdftotext")
    if binary is None:
        raise RuntimeError("pdftotext not found; install poppler-utils")
    xml = _run([binary, "-bbox", str(pdf), "-"], timeout, f"pdftotext -bbox on {pdf.name}")
    return [
        (
            (float(w), float(h)),
            [
                (float(a), float(b), float(c), float(d), html.unescape(t))
                for a, b, c, d, t in _WORD.findall(body)
            ],
        )
        for w, h, body in _PAGE.findall(xml)
    ]


def render_png(
    src: Path,
    outdir: Path,
    *,
    sheet: str | None = None,
    dpi: int = 80,
    single_page: bool = False,
    timeout: float = 120,
) -> list[Path]:
    """Render a book to PNG pages via LibreOffice PDF export and pdftoppm.

    Pages follow the book's print setup (hidden and empty sheets produce no
    page).  ``single_page=True`` instead renders each visible sheet as one page
    of whatever size it needs.  With ``sheet`` only that sheet is rendered.
    Files are named ``<stem>[-<sheet>]-<n>.png`` and returned in page order;
    older pages with the same prefix in ``outdir`` are removed first.
    """
    src = Path(src)
    outdir = Path(outdir)
    if not src.is_file():
        raise FileNotFoundError(src)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found; install poppler-utils")
    prefix = src.stem if sheet is None else f"{src.stem}-{sheet}"
    prefix = re.sub(r'[\\/:*?"<>|\s]+', "_", prefix)
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-render-") as tmp:
        work = Path(tmp)
        book = src
        if (sheet is not None or single_page) and src.suffix.lower() not in _OOXML_SUFFIXES:
            book = convert(src, "xlsx", work / "xlsx", timeout=timeout)
        if single_page:
            # SinglePageSheets emits exactly one page per sheet, hidden ones
            # included (LibreOffice 7.4), so pick the wanted pages by sheet index.
            pdf = convert(book, _PDF_SINGLE_PAGE, work / "pdf", timeout=timeout)
            sheets = _sheets(book)
            count = _pdf_pages(pdf, timeout)
            if count != len(sheets):
                raise RuntimeError(
                    f"single-page PDF of {src} has {count} pages for {len(sheets)} sheets"
                )
            if sheet is not None:
                wanted = [_sheet_index(book, sheet, src) + 1]
            else:
                wanted = [i + 1 for i, (_, state) in enumerate(sheets) if state == "visible"]
        else:
            if sheet is not None:
                only = work / "only" / f"{src.stem}.xlsx"
                only.parent.mkdir()
                _only_sheet_visible(book, _sheet_index(book, sheet, src), only)
                book = only
            pdf = convert(book, "pdf", work / "pdf", timeout=timeout)
            wanted = list(range(1, _pdf_pages(pdf, timeout) + 1))
        pages = work / "png"
        pages.mkdir()
        width = len(str(len(wanted)))
        for number, page in enumerate(wanted, start=1):
            _run(
                [
                    pdftoppm,
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    "-r",
                    str(dpi),
                    "-png",
                    str(pdf),
                    str(pages / f"{prefix}-{number:0{width}d}"),
                ],
                timeout,
                f"pdftoppm on page {page} of {src.name}",
            )
        outdir.mkdir(parents=True, exist_ok=True)
        stale = re.compile(rf"{re.escape(prefix)}-\d+\.png")
        for old in outdir.glob(f"{glob.escape(prefix)}-*.png"):
            if stale.fullmatch(old.name):
                old.unlink()
        results = []
        for png in sorted(pages.glob("*.png")):
            target = outdir / png.name
            shutil.move(png, target)
            results.append(target)
        if len(results) != len(wanted):
            raise RuntimeError(f"pdftoppm produced {len(results)} of {len(wanted)} pages")
        return results


# --- conditional formats as LibreOffice evaluates them ---------------------------------------------

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET_TYPE = f"{_REL_NS}/worksheet"
_WORKSHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
# An A1 cell, cell range, whole-column or whole-row reference (anything else that the tokenizer
# calls a range operand is a defined name or a structured reference).
_A1_REF = re.compile(
    r"\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?|\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}"
    r"|\$?\d+:\$?\d+"
)
_FUNCTION = re.compile(r"(?:_xlfn\.|_xlws\.)*[A-Za-z][\w.]*\(")
_SHEETS_END = re.compile(r"</((?:[\w.-]+:)?)sheets\s*>")
_SHEET_ID = re.compile(r"""\ssheetId\s*=\s*["'](\d+)["']""")
_REL_ID = re.compile(r"""\sId\s*=\s*["']([^"']*)["']""")
_PROBE_LIMIT = 200_000


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!"


def _probe_formula(formula: str, origin: str, cell: str, sheet: str,
                   local_names: set[str]) -> str:
    """``formula`` of a rule anchored at ``origin``, as it applies to ``cell`` of ``sheet``,
    with every reference qualified so that it means the same in any other sheet.

    Relative references move by the offset from ``origin`` to ``cell`` (openpyxl's
    ``Translator.translate_range``; its ``translate_formula`` is not used because it drops the
    sheet of ``Sheet!name``).  Unqualified A1 references get ``'sheet'!``, names defined on
    ``sheet`` too (inside its sheet a sheet-scoped name wins over a workbook one); workbook
    names and structured references stay as they are, references that name a sheet (also 3D
    ones) keep it.  ``ROW()`` and ``COLUMN()`` get ``cell`` as their argument.
    """
    from openpyxl.formula.tokenizer import Token, Tokenizer
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import coordinate_to_tuple

    (row, col), (row0, col0) = coordinate_to_tuple(cell), coordinate_to_tuple(origin)
    tokens = Tokenizer("=" + formula)
    items = tokens.items
    for i, token in enumerate(items):
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            if not _FUNCTION.fullmatch(token.value):
                raise ValueError(f"unsupported construct {token.value!r} in {formula!r}")
            follows = items[i + 1] if i + 1 < len(items) else None
            if (token.value.upper() in {"ROW(", "COLUMN("} and follows is not None
                    and follows.type == Token.FUNC and follows.subtype == Token.CLOSE):
                token.value += _quoted(sheet) + cell
        elif token.type == Token.OPERAND and token.subtype == Token.RANGE:
            where, ref = Translator.strip_ws_name(token.value)
            if _A1_REF.fullmatch(ref):
                ref = Translator.translate_range(ref, row - row0, col - col0)
                token.value = (where or _quoted(sheet)) + ref
            elif not where and ref.lower() in local_names:
                token.value = _quoted(sheet) + ref
    rendered: str = tokens.render()
    return rendered.removeprefix("=")


def _fill_colour(rule: object, where: str) -> str:
    """``#RRGGBB`` of the fill of a rule's differential format."""
    from openpyxl.styles.colors import COLOR_INDEX

    dxf = getattr(rule, "dxf", None)
    fill = getattr(dxf, "fill", None)
    for colour in (getattr(fill, "bgColor", None), getattr(fill, "fgColor", None)):
        if colour is None:
            continue
        if colour.type == "rgb" and isinstance(colour.rgb, str) and colour.rgb != "00000000":
            return "#" + colour.rgb[-6:].upper()
        if colour.type == "indexed" and isinstance(colour.indexed, int) and colour.indexed < 64:
            return "#" + COLOR_INDEX[colour.indexed][-6:].upper()
        if colour.type == "theme":
            raise ValueError(f"{where}: theme fill colours are not supported")
    raise ValueError(f"{where}: the rule has no fill colour")


class _Probe(NamedTuple):
    sheet: str
    cell: str
    colour: str
    formula: str
    """The rule's formula at ``cell``, every reference qualified (``_probe_formula``)."""
    rule: str
    """The rule's formula as written (relative to the top-left cell of its ranges)."""
    ranges: str


def _probes(book: Path) -> list[_Probe]:
    """One probe for every cell of every expression rule."""
    from openpyxl.utils.cell import get_column_letter

    workbook = openpyxl.load_workbook(book)
    probes: list[_Probe] = []
    try:
        for ws in workbook.worksheets:
            local_names = {name.lower() for name in ws.defined_names}
            for formatting in ws.conditional_formatting:
                ranges = list(formatting.sqref.ranges)
                origin = (get_column_letter(min(r.min_col for r in ranges))
                          + str(min(r.min_row for r in ranges)))
                for rule in formatting.rules:
                    where = f"{ws.title}!{formatting.sqref} rule {rule.formula}"
                    if rule.type != "expression" or len(rule.formula) != 1:
                        raise ValueError(f"{where}: only expression rules are supported, "
                                         f"not {rule.type!r}")
                    colour = _fill_colour(rule, where)
                    cells = {f"{get_column_letter(c)}{r}"
                             for rng in ranges for r, c in rng.cells}
                    for cell in sorted(cells):
                        probes.append(_Probe(ws.title, cell, colour, _probe_formula(
                            rule.formula[0], origin, cell, ws.title, local_names),
                            rule.formula[0], str(formatting.sqref)))
                    if len(probes) > _PROBE_LIMIT:
                        raise ValueError(f"{book}: more than {_PROBE_LIMIT} formatted cells")
        return probes
    finally:
        workbook.close()


def _with_probe_sheet(book: Path, dest: Path, formulas: list[tuple[str, str]]) -> str:
    """Copy ``book`` to ``dest`` with one more sheet holding ``formulas`` (column A, B; a row
    each); return the new sheet's name.

    The sheet is patched into the zip (a worksheet part, its relationship, content type and
    ``<sheet>`` entry, appended last so that ``localSheetId`` of sheet-scoped names keep their
    meaning) instead of round-tripping the book through openpyxl, which would drop what it does
    not model; every other part is copied byte for byte.
    """
    with zipfile.ZipFile(book) as zin:
        part = _workbook_part(zin)
        folder = PurePosixPath(part).parent
        rels_part = str(folder / "_rels" / (PurePosixPath(part).name + ".rels"))
        names = set(zin.namelist())
        workbook = zin.read(part).decode("utf-8")
        rels = zin.read(rels_part).decode("utf-8")
        types = zin.read("[Content_Types].xml").decode("utf-8")

        taken = {name.lower() for name, _ in _sheets(book)}
        sheet = next(f"perfxl_probe{n or ''}" for n in range(len(taken) + 1)
                     if f"perfxl_probe{n or ''}" not in taken)
        target = next(f"worksheets/perfxl_probe{n}.xml" for n in range(len(names) + 1)
                      if str(folder / f"worksheets/perfxl_probe{n}.xml") not in names)
        rel_ids = set(_REL_ID.findall(rels))
        rel_id = next(f"rIdPerfxlProbe{n}" for n in range(len(rel_ids) + 1)
                      if f"rIdPerfxlProbe{n}" not in rel_ids)
        sheet_id = max((int(i) for i in _SHEET_ID.findall(workbook)), default=0) + 1

        end = _SHEETS_END.search(workbook)
        if end is None:
            raise ValueError(f"{book}: no <sheets> in {part}")
        prefix = end.group(1)
        entry = (f'<{prefix}sheet name="{html.escape(sheet)}" sheetId="{sheet_id}" '
                 f'xmlns:pxr="{_REL_NS}" pxr:id="{rel_id}"/>')
        workbook = workbook[:end.start()] + entry + workbook[end.start():]
        rels = rels.replace("</Relationships>", f'<Relationship Id="{rel_id}" '
                            f'Type="{_WORKSHEET_TYPE}" Target="{target}"/></Relationships>')
        types = types.replace("</Types>", f'<Override PartName="/{folder / target}" '
                              f'ContentType="{_WORKSHEET_CONTENT}"/></Types>')
        rows = "".join(
            f'<row r="{r}"><c r="A{r}"><f>{html.escape(a, quote=False)}</f></c>'
            + (f'<c r="B{r}"><f>{html.escape(b, quote=False)}</f></c>' if b else "") + "</row>"
            for r, (a, b) in enumerate(formulas, start=1)
        )
        probe = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 f'<worksheet xmlns="{_MAIN_NS}"><sheetData>{rows}</sheetData></worksheet>')
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                patched = {part: workbook, rels_part: rels, "[Content_Types].xml": types}
                data = patched.get(item.filename)
                zout.writestr(item, zin.read(item) if data is None else data.encode("utf-8"))
            zout.writestr(str(folder / target), probe.encode("utf-8"))
    return sheet


def conditional_marks(book: Path, *, timeout: float = 120) -> dict[tuple[str, str], set[str]]:
    """Which cells the conditional formats of ``book`` flag, as LibreOffice computes them.

    Maps (sheet, A1 cell) to the fill colours (``"#RRGGBB"``) of the rules whose formula is
    true there; cells no rule flags are absent ({} for a book without conditional formats).
    Every rule counts (priorities and stop-if-true are not applied) and cells hidden by a
    merge are evaluated like any other.  Only ``expression`` rules with a fill are supported
    (anything else raises ValueError).

    How: each rule's formula is moved from the top-left corner of its ranges (their bounding
    box) to every cell of them, its unqualified references and names defined on its sheet are
    qualified with the sheet (``_probe_formula``), and the result is written as
    ``IFERROR(IF(f,1,0),-1)`` (plus ``f`` itself, for messages) into a probe sheet patched into
    a copy of the zip (``_with_probe_sheet``; openpyxl only reads the rules, so defined names,
    sheet-scoped ones, validations and everything else it does not model stay byte for byte).
    One LibreOffice conversion recalculates the copy.  Note that LibreOffice 7.4 reads a 3D
    reference written ``说明:选项!A1`` but not ``'说明:选项'!A1`` (#NAME?, reported here).  A formula that fails (an error value, or
    text where a truth value is wanted) raises RuntimeError naming the sheet, cell and
    formula.  Not modelled: functions that look at the formula's own position or sheet other
    than ``ROW()``/``COLUMN()`` (e.g. INDIRECT with a sheet-less address, CELL without a
    reference), and names whose definitions are relative.
    """
    marks: dict[tuple[str, str], set[str]] = {}
    for at, flags in evaluate(book, timeout=timeout).rules.items():
        marks[at] = {flag.colour for flag in flags}
    return marks


class Flag(NamedTuple):
    """A conditional-format rule that is true at a cell."""

    colour: str
    rule: str
    """Its formula as written in the book (relative to the top-left cell of ``ranges``)."""
    ranges: str
    """The cells it covers, as the book lists them (``A9:A25``)."""


@dataclass
class Evaluated:
    """A book recalculated by LibreOffice (:func:`evaluate`)."""

    rules: dict[tuple[str, str], set[Flag]]
    """(sheet, A1 cell) → the rules true there; cells no rule flags are absent."""
    values: list[object]
    """The values of the formulas asked for, in order (as :func:`recalculated_values` gives
    them: None for an empty result, errors as their text)."""


def evaluate(book: Path, formulas: Sequence[str] = (), *, timeout: float = 120) -> Evaluated:
    """:func:`conditional_marks` rule by rule, and the values of ``formulas`` (without ``=``,
    evaluated on a sheet of their own, so that a defined name is the workbook's and a cell
    needs its sheet: ``'项目'!$AO$1``), all from one LibreOffice recalculation of ``book``."""
    book = Path(book)
    probes = _probes(book)
    rows = [(f"IFERROR(IF({p.formula},1,0),-1)", p.formula) for p in probes]
    rows += [(f, "") for f in formulas]
    if not rows:
        return Evaluated({}, [])
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-marks-") as tmp:
        copy = Path(tmp) / f"probe{book.suffix.lower()}"
        sheet = _with_probe_sheet(book, copy, rows)
        values = recalculated_values(copy, sheet, timeout=timeout)
    flagged: dict[tuple[str, str], set[Flag]] = {}
    for row, probe in enumerate(probes):
        got = values[row] if row < len(values) else []
        verdict, raw = [*got, None, None][:2]
        if verdict == 1:
            flagged.setdefault((probe.sheet, probe.cell), set()).add(
                Flag(probe.colour, probe.rule, probe.ranges))
        elif verdict != 0:
            raise RuntimeError(f"conditional format formula fails at {probe.sheet}!{probe.cell}: "
                               f"={probe.formula} gives {raw!r} in {book}")
    asked = [(values[row] if row < len(values) else [None])[:1] or [None]
             for row in range(len(probes), len(rows))]
    return Evaluated(flagged, [v[0] for v in asked])
