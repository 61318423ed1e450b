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
    from .findings import Finding, Report
    from .merge import Source
    from .rules import RulesConfig


def populate(data: str | Path | Department | None, out: str | Path) -> Department:
    """Write the department book for ``data`` (a YAML/JSON path, a Department, or None = embedded)."""
    if data is None:
        dept = dataset.embedded()
    elif isinstance(data, Department):
        dept = data
    else:
        dept = dataset.load(data)
    write_book(out, dept)
    return dept


def demo_book_name(dept: Department) -> str:
    """``2021_行政审批部门_绩效目标.xlsx``."""
    return f"{dept.year}_{dept.name}_绩效目标.xlsx"


def department_book(dept: Department, out: str | Path, *, config: RulesConfig | None = None,
                    declared_total: Decimal | None = None,
                    declared_units: dict[str, Decimal] | None = None,
                    book: str = "", extra_findings: Sequence[Finding] = (),
                    sources: list[Source] | None = None,
                    checked_at: dt.datetime | None = None) -> tuple[Report, Totals]:
    """The whole pipeline for one department: place → validate → totals → write → annotate.

    The book is written whole (with its 汇总 sheet carrying each project's findings) and then
    marked with the findings; no step reads the book back.
    """
    from .consolidate import totals
    from .layout import place
    from .validate import check, write_annotated

    place(dept)
    report = check(dept, config, book=book or Path(out).name, extra=extra_findings)
    if checked_at is not None:
        report.checked_at = checked_at
    t = totals(dept, declared_total, declared_units)
    write_book(out, dept, report=report, totals=t, sources=sources)
    write_annotated(out, out, report)
    return report, t


def summarize_book(book: str | Path, *, out: str | Path | None = None, in_place: bool = False,
                   config: RulesConfig | None = None, declared_total: Decimal | None = None,
                   declared_units: dict[str, Decimal] | None = None,
                   ) -> tuple[Department, Totals, Path]:
    """Read BOOK and write it whole with a rebuilt 汇总 sheet (and its findings marked).

    The output is in perfxl's form (a hand-made book is converted); ``in_place`` keeps a backup
    (``<name>.perfxl-backup.xlsx``). The input is never changed otherwise.
    """
    from .errors import PerfxlError
    from .files import backup, same_file
    from .read import read_book

    src = Path(book)
    dept = read_book(src)
    if in_place:
        from .sniff import droppable_parts

        lost = droppable_parts(src, dept)
        if lost:
            raise PerfxlError(f"无法原地重建 {src.name}:重建会丢失 {'、'.join(lost)};请用 -o 写到新文件",
                              f"cannot rebuild {src.name} in place: {len(lost)} kinds of parts "
                              "would be lost; write a new file with -o")
        backup(src)
        target = src
    else:
        target = Path(out) if out is not None else src.with_name(f"{src.stem}_汇总.xlsx")
        if same_file(src, target):
            raise PerfxlError(f"输出文件与输入文件相同: {target};要改写原文件请用 --in-place",
                              "the output is the input; use --in-place")
    _, t = department_book(dept, target, config=config, declared_total=declared_total,
                           declared_units=declared_units, book=src.name)
    return dept, t, target
