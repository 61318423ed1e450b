"""Edit a book in a real LibreOffice through Python-UNO, as a user would, and save it.

The test environment's Python usually cannot ``import uno``; the system Python that comes with
LibreOffice can (``$PERFXL_UNO_PYTHON`` overrides it), so the work is done by
tests/uno_driver.py run under that interpreter: one soffice start per :func:`edit` call.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["edit", "uno_python"]

DRIVER = Path(__file__).with_name("uno_driver.py")


@functools.cache
def _probe(python: str) -> str | None:
    """None if ``python`` can import uno, else why not."""
    try:
        done = subprocess.run([python, "-c", "import uno"], capture_output=True, text=True,
                              timeout=60)
    except OSError as error:
        return str(error)
    return None if done.returncode == 0 else done.stderr.strip()


def _unavailable(what: str) -> None:
    import pytest

    reason = os.environ.get("PERFXL_SKIP_LIBREOFFICE")
    if reason:
        pytest.skip(f"{what}: {reason}")
    pytest.fail(f"{what}: install libreoffice-calc and python3-uno "
                "(or set PERFXL_SKIP_LIBREOFFICE=<reason> to skip these tests)")


def uno_python() -> str:
    """The interpreter that runs the driver; skips or fails the test (like the ``soffice``
    fixture) when it cannot import uno."""
    python = os.environ.get("PERFXL_UNO_PYTHON", "/usr/bin/python3")
    problem = _probe(python)
    if problem is not None:
        _unavailable(f"{python} cannot import uno ({problem})")
    return python


def edit(book: Path, ops: list[dict[str, Any]], out: Path, *, timeout: float = 180) -> list[Any]:
    """Open ``book`` in LibreOffice, apply ``ops`` in order, recalculate, save to ``out``
    (.xlsx, "Calc MS Excel 2007 XML") and return the results of the read operations.

    Edits (``sheet`` is a sheet name, ``cell`` an A1 address, ``row`` 1-based):

    - ``{"op": "type", "sheet", "cell", "text"}``: the text entered as typed into the cell
      (.uno:EnterString: "25%" becomes 0.25 formatted as a percentage, "80000" a number,
      "'80000" the text 80000, "=A1+1" a formula in Excel A1 syntax; the locale is zh-CN);
    - ``{"op": "set_text", "sheet", "cell", "text"}``: the text as it is (XCell.setString);
    - ``{"op": "set_number", "sheet", "cell", "value"}``;
    - ``{"op": "clear", "sheet", "cell"}``: values, text and formulas go (the Delete key);
    - ``{"op": "copy_sheet", "sheet", "name", "position"}``: a copy of the sheet named
      ``name`` inserted at 0-based ``position`` (XSpreadsheets.copyByName).  LibreOffice 7.4
      gives the copy its own sheet-scoped names and points its cell formulas at them, but its
      conditional formats keep the original's names (#NAME? when the copy goes before it);
    - ``{"op": "insert_rows" | "delete_rows", "sheet", "row", "count"}``: new rows go before
      ``row``; deleting starts at ``row``;
    - ``{"op": "unprotect", "sheet", "password"}``: the sheet's protection lifted (the password
      is "" when not given).

    Reads (each recalculates first; numbers come back as float, errors as their text, an empty
    cell as None):

    - ``{"op": "value", "sheet", "cell"}``;
    - ``{"op": "name", "name", "sheet"}``: a defined name's value, the workbook's when
      ``sheet`` is None, else the one scoped to that sheet (missing: the op fails); a name for
      a cell range gives its values as rows (a single cell: its value);
    - ``{"op": "sheets"}``: the sheet names in order.

    Raises RuntimeError with the driver's stderr (and soffice's output) when LibreOffice does
    not start, the book does not load, an op fails or the time runs out; the process group of
    the driver and soffice is killed at the end in every case.
    """
    from libreoffice import soffice

    binary = soffice()
    if binary is None:
        _unavailable("LibreOffice (soffice) is not installed")
    python = uno_python()
    with tempfile.TemporaryDirectory(prefix="perfxl-uno-") as tmp:
        work = Path(tmp)
        # A private copy: LibreOffice leaves a lock file next to what it opens.
        copy = work / "in" / Path(book).name
        copy.parent.mkdir()
        shutil.copyfile(book, copy)
        (work / "request.json").write_text(json.dumps({
            "soffice": binary, "book": str(copy),
            "out": str(Path(out).resolve()), "ops": ops,
        }, ensure_ascii=False), encoding="utf-8")
        proc = subprocess.Popen([python, str(DRIVER), str(work)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
        try:
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                try:
                    _, err = proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    err = ""
                raise RuntimeError(f"LibreOffice edit of {book} timed out after {timeout:g}s\n"
                                   f"{err.strip()}{_log(work)}") from None
        finally:
            _kill(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"LibreOffice edit of {book} failed (exit code "
                               f"{proc.returncode}):\n{err.strip()}{_log(work)}")
        results: list[Any] = json.loads((work / "results.json").read_text(encoding="utf-8"))
        return results


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill the driver's process group: the driver and the soffice it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _log(work: Path) -> str:
    log = work / "soffice.log"
    text = log.read_text(errors="replace").strip() if log.is_file() else ""
    return f"\nsoffice output:\n{text}" if text else ""
