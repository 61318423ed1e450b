"""perfxl: budget performance-target workbooks (预算绩效目标表) for the people who fill, merge and
review them in Excel.

The pipeline: data → ``populate`` → workbook → ``read_book`` → model (+ cell map).
"""

from typing import TYPE_CHECKING, Any

from .dataset import embedded, load
from .errors import PerfxlError, ReadError, WriteError
from .layout import TEMPLATE_VERSION
from .model import Department, Indicator, Project, Unit
from .read import Grid, parse_book, read_book

if TYPE_CHECKING:
    from .template import write_book

__version__ = "0.1.0"


def populate(data: Any, out: Any, *, force: bool = False) -> Department:
    """Write the department book for ``data`` (see :func:`perfxl.pipeline.populate`)."""
    from .pipeline import (
        populate as job,  # the jobs load pandas and pandera; `import perfxl` does not
    )

    return job(data, out, force=force)


def __getattr__(name: str) -> Any:
    """``write_book`` on first use: the book writers are not loaded by a command that only reads."""
    if name == "write_book":
        from .template import write_book

        return write_book
    raise AttributeError(f"module 'perfxl' has no attribute {name!r}")


__all__ = [
    "TEMPLATE_VERSION",
    "Department",
    "Grid",
    "Indicator",
    "PerfxlError",
    "Project",
    "ReadError",
    "Unit",
    "WriteError",
    "embedded",
    "load",
    "parse_book",
    "populate",
    "read_book",
    "write_book",
]
