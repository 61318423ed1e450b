"""Fill the template from department data (a data file, or the embedded 2021 dataset)."""

from __future__ import annotations

from pathlib import Path

from . import dataset
from .model import Department
from .template import write_book


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
