"""What the books perfxl writes may be called.

Excel decides what a file is by its suffix before it looks inside, and refuses a book whose
suffix does not fit its content. So a book perfxl writes whole (template, populate, summarize,
merge, the review book) must end in ``.xlsx``; an annotated copy keeps the package of the book
it copies, macros included, so it keeps that book's suffix (``.xlsm`` stays ``.xlsm``). Any other
name is refused before anything is written: ``-o x.csv`` would otherwise be an .xlsx called .csv.
"""

from __future__ import annotations

from pathlib import Path

from .errors import PerfxlError

WHOLE = ".xlsx"
"""The suffix of a book written whole."""
COPIED = (".xlsx", ".xlsm", ".xltx", ".xltm")
"""Suffixes an annotated copy keeps from its book."""


def book_output(path: str | Path, *, copy_of: str | Path | None = None) -> Path:
    """``path`` as a Path when its suffix fits the book written there; else PerfxlError (exit 2).

    ``copy_of``: the book an annotated copy is made of. A book of another kind (.xls, .ods…)
    cannot be annotated at all; that is refused later with its own sentence.
    """
    path = Path(path)
    want = WHOLE
    if copy_of is not None:
        want = Path(copy_of).suffix.lower()
        if want not in COPIED:
            return path
    if path.suffix.lower() == want:
        return path
    if copy_of is None:
        raise PerfxlError(f"输出的工作簿应以 {WHOLE} 结尾: {path.name}",
                          f"a book perfxl writes must end in {WHOLE}: {path.name}")
    raise PerfxlError(f"标注副本应与原工作簿 {Path(copy_of).name} 一样以 {want} 结尾: {path.name}",
                      f"the annotated copy of {Path(copy_of).name} must end in {want}: {path.name}")
