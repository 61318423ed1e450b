"""Every formula a workbook holds, read from its XML parts (not through openpyxl, which skips
what it does not model: extension lists, chart references, some validations).

A formula is anything an application evaluates: cell formulas (plain, shared, array), the
formulas of conditional formats (also those in ``x14`` extensions), data-validation formulas,
defined names and chart references.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
X14 = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class Formula:
    kind: str
    """cell, array, conditional, validation, name or chart."""
    where: str
    """The part and the cell, range or name it belongs to (``'汇总'!C5``, ``name perfxl_x``)."""
    text: str


def _sheet_names(z: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → its sheet's name."""
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    out = {}
    for sheet in book.iter(f"{MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out[part] = sheet.get("name", "")
    return out


def formulas(book: Path) -> Iterator[Formula]:
    """Every formula of ``book`` (an .xlsx)."""
    with zipfile.ZipFile(book) as z:
        names = _sheet_names(z)
        for part in z.namelist():
            if not part.endswith(".xml"):
                continue
            if part == "xl/workbook.xml":
                root = ET.fromstring(z.read(part))
                for d in root.iter(f"{MAIN}definedName"):
                    yield Formula("name", f"name {d.get('name')}", d.text or "")
            elif part in names:
                yield from _sheet(names[part], ET.fromstring(z.read(part)))
            elif part.startswith("xl/charts/"):
                for f in ET.fromstring(z.read(part)).iter(f"{CHART}f"):
                    yield Formula("chart", part, f.text or "")


def _sheet(sheet: str, root: ET.Element) -> Iterator[Formula]:
    for c in root.iter(f"{MAIN}c"):
        f = c.find(f"{MAIN}f")
        if f is not None and f.text:
            kind = "array" if f.get("t") == "array" else "cell"
            yield Formula(kind, f"'{sheet}'!{c.get('r')}", f.text)
    for cf in root.iter(f"{MAIN}conditionalFormatting"):
        for f in cf.iter(f"{MAIN}formula"):
            yield Formula("conditional", f"'{sheet}'!{cf.get('sqref')}", f.text or "")
    for cf in root.iter(f"{X14}conditionalFormatting"):
        where = cf.findtext(f"{XM}sqref") or ""
        for f in cf.iter(f"{XM}f"):
            yield Formula("conditional", f"'{sheet}'!{where}", f.text or "")
    for dv in root.iter(f"{MAIN}dataValidation"):
        for tag in ("formula1", "formula2"):
            f = dv.find(f"{MAIN}{tag}")
            if f is not None and f.text:
                yield Formula("validation", f"'{sheet}'!{dv.get('sqref')}", f.text)
    for dv in root.iter(f"{X14}dataValidation"):
        where = dv.findtext(f"{XM}sqref") or ""
        for tag in ("formula1", "formula2"):
            for f in dv.iter(f"{X14}{tag}"):
                yield Formula("validation", f"'{sheet}'!{where}", f.findtext(f"{XM}f") or "")


_QUOTED_SHEET = re.compile(r"'(?:[^']|'')*'!")


def without_sheet_names(formula: str) -> str:
    """The formula with quoted sheet names left out (a name such as ``'a(2)'`` is no call)."""
    return _QUOTED_SHEET.sub("", formula)
