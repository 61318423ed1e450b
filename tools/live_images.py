"""The README's pair of live-check images: a project sheet of the demo book with its live errors,
and the same sheet after they were fixed by typing in LibreOffice, both rendered by LibreOffice.

Usage: python tools/live_images.py OUTDIR [--book BOOK] [--dpi 80]

BOOK defaults to the demo book (built as ``perfxl demo`` builds it). On its sheet
``7.青龙帮扶杨树底下村修桥资金`` the 项目编码 (B3) has 22 characters and the 指标值 at F14 is
missing; B3 is typed again without its last character and F14 as ≥95%, in LibreOffice
(tests/uno_session.py), and the book saved. Before anything is written, LibreOffice's own
evaluation of the conditional formats (tests/libreoffice.py ``conditional_marks``) must flag
both cells as errors in the book and neither in the edited one. Writes OUTDIR/live_error.png
and OUTDIR/live_fixed.png, each cropped to the printed sheet; prints the sheet's status line
and the book's live counts after the edit.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHEET = "7.青龙帮扶杨树底下村修桥资金"
CODE, VALUE = "B3", "F14"


def crop_png(book: Path, sheet: str, dest: Path, dpi: int, work: Path) -> None:
    """``sheet`` printed as its print setup says, rasterised at ``dpi`` and cropped to its words
    and table (the page's footer left out)."""
    from libreoffice import pdf_words, sheet_pdf

    pdf = sheet_pdf(book, sheet, work)
    [((width, height), words)] = pdf_words(pdf)  # one page
    body = [w for w in words if w[1] < height - 72] or words  # not the footer (第 1 页,共 1 页)
    left = max(min(w[0] for w in body) - 12, 0)
    top = max(min(w[1] for w in body) - 10, 0)
    bottom = max(w[3] for w in body) + 10
    scale = dpi / 72
    x, y = int(left * scale), int(top * scale)
    subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(dpi), "-x", str(x), "-y", str(y),
                    "-W", str(int((width - 2 * left) * scale)), "-H",
                    str(int((bottom - top) * scale)), str(pdf), str(dest.with_suffix(""))],
                   check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--book", type=Path, help="a book with that sheet (default: the demo book)")
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from libreoffice import conditional_marks
    from python_calamine import CalamineWorkbook
    from uno_session import edit

    from perfxl.marks import ERROR_FILL

    with tempfile.TemporaryDirectory(prefix="perfxl-live-images-") as tmp:
        work = Path(tmp)
        book = args.book
        if book is None:
            from perfxl.dataset import embedded
            from perfxl.pipeline import department_book

            book = work / "demo.xlsx"
            department_book(embedded(), book)
        rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(SHEET).to_python(
            skip_empty_area=False)
        code = str(rows[2][1])
        fixed = work / "fixed.xlsx"
        status, errors, warnings = edit(book, [
            {"op": "type", "sheet": SHEET, "cell": CODE, "text": code[:-1]},
            {"op": "type", "sheet": SHEET, "cell": VALUE, "text": "≥95%"},
            {"op": "value", "sheet": SHEET, "cell": "I1"},
            {"op": "name", "name": "perfxl_live_errors"},
            {"op": "name", "name": "perfxl_live_warnings"},
        ], fixed)
        for name, path, wanted in (("the book", book, True), ("the edited book", fixed, False)):
            marks = conditional_marks(path)
            for cell in (CODE, VALUE):
                if (ERROR_FILL in marks.get((SHEET, cell), set())) != wanted:
                    print(f"{name}: {SHEET}!{cell} is {'not ' if wanted else ''}marked as an "
                          "error; no images written", file=sys.stderr)
                    return 1
        args.outdir.mkdir(parents=True, exist_ok=True)
        for path, name in ((book, "live_error.png"), (fixed, "live_fixed.png")):
            (work / name).mkdir()
            crop_png(path, SHEET, work / name / name, args.dpi, work / name)
            shutil.move(work / name / name, args.outdir / name)
            print(args.outdir / name)
        print(f"after the edit: {status}; book: {errors:g} live errors, {warnings:g} warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
