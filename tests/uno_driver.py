"""Edit a book in a real LibreOffice, like a user would, and save it (run by tests/uno_session.py).

This script runs under a Python that can ``import uno`` (the system one, not the test
environment's), so it depends on nothing but the standard library and Python-UNO.

    python3 uno_driver.py WORKDIR

WORKDIR/request.json holds ``{"soffice", "book", "out", "ops"}`` (see uno_session.edit); the
results of the read operations are written to WORKDIR/results.json.  soffice runs with a fresh
profile in WORKDIR/profile, listening on a private pipe, in this script's process group (the
caller kills that group when the script ends, whatever happened); its output goes to
WORKDIR/soffice.log.  Any failure is a traceback on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

# The profile: recalculate every formula on load (never trust cached values), Excel A1 formula
# syntax for what is typed (the books are made for Excel users: 'Sheet'!A1, not $Sheet.A1) and a
# Chinese locale (how the users' input is parsed).
PROFILE = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Syntax">\
<prop oor:name="Grammar" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N">\
<prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>zh-CN</value></prop></item>
</oor:items>
"""

XLSX_FILTER = "Calc MS Excel 2007 XML"
# com.sun.star.sheet.CellFlags VALUE | DATETIME | STRING | FORMULA: what the Delete key clears.
CONTENTS = 1 | 2 | 4 | 16


def prop(name: str, value: Any) -> Any:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def connect(pipe: str, proc: subprocess.Popen[bytes], log: Path) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 60
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception as error:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"LibreOffice did not start (exit code {proc.poll()}): {error}\n"
                    + log.read_text(errors="replace")) from None
            time.sleep(0.2)


class Session:
    def __init__(self, ctx: Any, doc: Any) -> None:
        self.ctx = ctx
        self.doc = doc
        self.dispatcher = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.DispatchHelper", ctx)

    def sheet(self, name: str) -> Any:
        sheets = self.doc.Sheets
        if not sheets.hasByName(name):
            raise KeyError(f"no sheet {name!r}; sheets: {list(sheets.ElementNames)}")
        return sheets.getByName(name)

    def cell(self, op: dict[str, Any]) -> Any:
        return self.sheet(op["sheet"]).getCellRangeByName(op["cell"]).getCellByPosition(0, 0)

    def type(self, op: dict[str, Any]) -> None:
        # .uno:EnterString goes through the view's EnterData, the path of a cell input: the
        # text is parsed in the locale, a number format is set when the input implies one
        # ("25%" -> 0.25 as a percentage) and a leading apostrophe forces text.  XCell.setFormula
        # parses numbers too but sets no format and gives "'80000" a text format.
        controller = self.doc.CurrentController
        sheet = self.sheet(op["sheet"])
        controller.setActiveSheet(sheet)
        controller.select(self.cell(op))
        self.dispatcher.executeDispatch(controller.Frame, ".uno:EnterString", "", 0,
                                        (prop("StringName", op["text"]),))

    def set_text(self, op: dict[str, Any]) -> None:
        self.cell(op).setString(op["text"])

    def set_number(self, op: dict[str, Any]) -> None:
        self.cell(op).setValue(float(op["value"]))

    def clear(self, op: dict[str, Any]) -> None:
        self.cell(op).clearContents(CONTENTS)

    def copy_sheet(self, op: dict[str, Any]) -> None:
        self.sheet(op["sheet"])
        self.doc.Sheets.copyByName(op["sheet"], op["name"], int(op["position"]))

    def insert_rows(self, op: dict[str, Any]) -> None:
        self.sheet(op["sheet"]).Rows.insertByIndex(int(op["row"]) - 1, int(op["count"]))

    def delete_rows(self, op: dict[str, Any]) -> None:
        self.sheet(op["sheet"]).Rows.removeByIndex(int(op["row"]) - 1, int(op["count"]))

    def unprotect(self, op: dict[str, Any]) -> None:
        self.sheet(op["sheet"]).unprotect(op.get("password", ""))

    def value(self, op: dict[str, Any]) -> Any:
        self.doc.calculateAll()
        return cell_value(self.cell(op))

    def name(self, op: dict[str, Any]) -> Any:
        """The value of a defined name: a cell range's values as rows (a single cell's value
        alone), anything else by evaluating ``=name`` in a cell nothing else uses."""
        name, scope = op["name"], op.get("sheet")
        names = self.doc.NamedRanges if scope is None else self.sheet(scope).NamedRanges
        if not names.hasByName(name):
            where = "the workbook" if scope is None else f"sheet {scope!r}"
            raise KeyError(f"no name {name!r} in {where}; names: {list(names.ElementNames)}")
        self.doc.calculateAll()
        cells = names.getByName(name).ReferredCells
        if cells is not None:
            rows = [[cell_value(cells.getCellByPosition(c, r))
                     for c in range(cells.Columns.Count)] for r in range(cells.Rows.Count)]
            return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
        sheets = self.doc.Sheets
        probe_name = None
        if scope is None:  # a sheet of its own, where no sheet-scoped name can shadow the name
            probe_name = next(f"perfxl_probe{n}" for n in range(sheets.Count + 1)
                              if not sheets.hasByName(f"perfxl_probe{n}"))
            sheets.insertNewByName(probe_name, sheets.Count)
            sheet = sheets.getByName(probe_name)
        else:
            sheet = self.sheet(scope)
        cell = sheet.getCellByPosition(sheet.Columns.Count - 1, sheet.Rows.Count - 1)
        try:
            cell.setFormula(f"={name}")
            self.doc.calculateAll()
            return cell_value(cell)
        finally:
            cell.clearContents(CONTENTS)
            if probe_name is not None:
                sheets.removeByName(probe_name)

    def sheets(self, op: dict[str, Any]) -> Any:
        return list(self.doc.Sheets.ElementNames)


READS = {"value", "name", "sheets"}
EDITS = {"type", "set_text", "set_number", "clear", "copy_sheet", "insert_rows", "delete_rows",
         "unprotect"}


def cell_value(cell: Any) -> Any:
    """A number, a string (an error as its text, e.g. '#DIV/0!'), or None for an empty cell."""
    kind = cell.Type.value
    if kind == "EMPTY":
        return None
    if kind == "VALUE":
        return cell.getValue()
    if kind == "TEXT":
        return cell.getString()
    if cell.getError():
        return cell.getString()
    # com.sun.star.sheet.FormulaResult: VALUE 1, STRING 2, ERROR 4
    return cell.getValue() if cell.FormulaResultType2 == 1 else cell.getString()


def main(workdir: Path) -> None:
    request = json.loads((workdir / "request.json").read_text(encoding="utf-8"))
    profile = workdir / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(PROFILE, encoding="utf-8")
    pipe = f"perfxl_uno_{os.getpid()}_{time.monotonic_ns()}"
    log = workdir / "soffice.log"
    with open(log, "wb") as sink:
        # Same process group as this script: the caller's group kill ends soffice too.
        proc = subprocess.Popen(
            [request["soffice"], f"-env:UserInstallation={profile.as_uri()}", "--headless",
             "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
             f"--accept=pipe,name={pipe};urp;"],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
    ctx = connect(pipe, proc, log)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    book = Path(request["book"]).resolve()
    try:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(book)), "_blank", 0,
                                           (prop("Hidden", True),))
    except Exception as error:
        raise RuntimeError(f"LibreOffice could not load {book}: {error}") from None
    if doc is None or not hasattr(doc, "Sheets"):
        raise RuntimeError(f"LibreOffice could not load {book} as a spreadsheet")
    session = Session(ctx, doc)
    results = []
    for number, op in enumerate(request["ops"]):
        kind = op.get("op")
        if kind not in READS | EDITS:
            raise ValueError(f"operation {number}: unknown op {kind!r}: {op}")
        try:
            result = getattr(session, kind)(op)
        except Exception as error:
            raise RuntimeError(f"operation {number} {op} failed: {error}") from error
        if kind in READS:
            results.append(result)
    doc.calculateAll()
    out = Path(request["out"]).resolve()
    doc.storeToURL(uno.systemPathToFileUrl(str(out)),
                   (prop("FilterName", XLSX_FILTER), prop("Overwrite", True)))
    (workdir / "results.json").write_text(json.dumps(results, ensure_ascii=False),
                                          encoding="utf-8")
    doc.close(True)
    try:
        desktop.terminate()
        proc.wait(20)
    except Exception:  # the caller's group kill ends it anyway
        pass


if __name__ == "__main__":
    main(Path(sys.argv[1]))
