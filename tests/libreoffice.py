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
from pathlib import Path, PurePosixPath

import openpyxl

__all__ = [
    "convert",
    "convert_all",
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
_PRINT_AREA = re.compile(
    r"""<(?:[\w.-]+:)?definedName\s[^>]*name=["']_xlnm\.Print_Area["'][^>]*"""
    r"""localSheetId=["'](\d+)["'][^>]*>.*?</(?:[\w.-]+:)?definedName>""",
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
