"""Fill the template from department data (a data file, or the embedded 2021 dataset)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from . import dataset
from .model import Department
from .template import write_book

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .consolidate import Totals
    from .files import Given, Original
    from .findings import Finding, Report
    from .merge import Source
    from .rules import RulesConfig


def populate(data: str | Path | Department | None, out: str | Path, *,
             force: bool = False) -> Department:
    """Write the department book for ``data`` (a YAML/JSON path, a Department, or None = embedded)."""
    from .files import check_output

    inputs = [data] if isinstance(data, (str, Path)) else []
    check_output(out, inputs, force=force)  # before the data file is read
    if data is None:
        dept = dataset.embedded()
    elif isinstance(data, Department):
        dept = data
    else:
        dept = dataset.load(data)
    write_book(out, dept, inputs=inputs, force=force)
    return dept


def demo_book_name(dept: Department) -> str:
    """``2021_行政审批部门_绩效目标.xlsx``."""
    return f"{dept.year}_{dept.name}_绩效目标.xlsx"


def department_book(dept: Department, out: str | Path, *, config: RulesConfig | None = None,
                    declared_total: Decimal | None = None,
                    declared_units: dict[str, Decimal] | None = None,
                    book: str = "", extra_findings: Sequence[Finding] = (),
                    sources: list[Source] | None = None,
                    checked_at: dt.datetime | None = None,
                    inputs: Given = (), force: bool = False,
                    original: Original | None = None) -> tuple[Report, Totals]:
    """The whole pipeline for one department: place → validate → totals → build → mark → write.

    The book is built whole in memory (with its 汇总 sheet carrying each project's findings),
    marked with the findings, and written to disk once (``files.atomic_path``: never over one of
    ``inputs``, over an existing file only with ``force``; or over ``original`` in place).
    """
    from .consolidate import totals
    from .files import atomic_path, write_in_place
    from .layout import place
    from .template import book_bytes
    from .validate import check, write_annotated

    place(dept)
    report = check(dept, config, book=book or Path(out).name, extra=extra_findings)
    if checked_at is not None:
        report.checked_at = checked_at
    t = totals(dept, declared_total, declared_units)
    data = book_bytes(dept, report=report, totals=t, sources=sources)
    target = write_in_place(original) if original is not None else \
        atomic_path(out, inputs, force=force)
    write_annotated(data, target, report, Path(out).name)
    return report, t


def summarize_book(book: str | Path, *, out: str | Path | None = None, in_place: bool = False,
                   config: RulesConfig | None = None, declared_total: Decimal | None = None,
                   declared_units: dict[str, Decimal] | None = None, force: bool = False,
                   ) -> tuple[Department, Totals, Path, Path | None]:
    """Read BOOK once and write it whole with a rebuilt 汇总 sheet (and its findings marked).

    The output is in perfxl's form (a hand-made book is converted); ``in_place`` keeps a backup
    (``files.backup``), returned last. The input is never changed otherwise.
    """
    from .errors import PerfxlError
    from .files import IN_PLACE_HINT, backup, check_output, open_in_place, read_once
    from .read import read_bytes

    src = Path(book)
    if in_place and out is not None:
        raise PerfxlError("-o 与 --in-place 只能选一个", "use either -o or --in-place")
    target = src if in_place else Path(out) if out is not None else \
        src.with_name(f"{src.stem}_汇总.xlsx")
    if not in_place:  # refused before the work
        check_output(target, [src], force=force, hint=IN_PLACE_HINT)
    original = open_in_place(src) if in_place else None
    data = original.data if original is not None else read_once(src)[0]
    dept = read_bytes(data, src.name)
    saved = None
    if original is not None:
        from .sniff import droppable_parts, require_ooxml

        require_ooxml(data, "原地重建", name=src.name)
        lost = droppable_parts(data, dept)
        if lost:
            raise PerfxlError(f"无法原地重建 {src.name}:重建会丢失 {'、'.join(lost)};请用 -o 写到新文件",
                              f"cannot rebuild {src.name} in place: {len(lost)} kinds of parts "
                              "would be lost; write a new file with -o")
        saved = backup(original)
    _, t = department_book(dept, target, config=config, declared_total=declared_total,
                           declared_units=declared_units, book=src.name, inputs=[src],
                           force=force, original=original)
    return dept, t, target, saved
