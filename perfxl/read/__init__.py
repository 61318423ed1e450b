"""Read a book into the model: its grids from any source, then one label-anchored parser.

- :mod:`perfxl.read.sources`: a file or a book's bytes, sniffed and checked against the reading
  limits, into one grid per sheet (values and merged ranges) and the book's custom properties;
- :mod:`perfxl.read.parser`: grids and properties into the :class:`~perfxl.model.Department`
  (:func:`department`), with the cell map of every value read.

The ribbon reads the live book's grids with the same :func:`department`.
"""

from __future__ import annotations

from pathlib import Path

from ..model import Department
from .parser import LEARNED, Form, Forms, Grid, Located, department, parse_book
from .sources import IN_MEMORY, grids_from_bytes, read_grids

__all__ = ["IN_MEMORY", "LEARNED", "Form", "Forms", "Grid", "Located", "department",
           "grids_from_bytes", "parse_book", "read_book", "read_bytes", "read_grids"]


def read_book(path: str | Path) -> Department:
    """Read a workbook (ours or hand-made in the seed's layout) into the model with its cell map."""
    return department(*read_grids(path), Path(path).name)


def read_bytes(data: bytes, name: str = "") -> Department:
    """``read_book`` on a book's bytes: a pure function, for workers and distributed engines."""
    return department(*grids_from_bytes(data, name), name)
