"""Books of the year after the targets, recognised by their form before the targets parser runs:
a 绩效运行监控 book (``perfxl monitor``, read/monitor.py) or a 考核 scoring book (``perfxl
scoring``, read/scoring.py).

Every book read passes here, so a sheet is looked at further only when the first columns of its
head hold the locked label that starts only those forms' heads (年初预算数, 考核口径); then its
head's labels are keyed and compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import monitor as M
from .. import scoring as S
from .monitor import is_monitor_head, monitoring
from .scoring import assessment, is_scoring_head

if TYPE_CHECKING:
    from ..model import Department
    from .parser import Grid

HEAD = (16, 20)
"""Rows and columns of a sheet's head searched (both forms have their labels in rows 2-9)."""
_FIRST_COLUMNS = 3


def follow_up(grids: Sequence[Grid]) -> Department | None:
    """The department of a monitoring or scoring book; None for any other book."""
    rows = HEAD[0]
    monitor_sheets: list[Grid] = []
    for g in grids:
        # the first label of each form's head is in one of its first columns (and so in the
        # text of its row: most sheets are passed over on that)
        if not any(M.LABEL_INITIAL in t or S.LABEL_VARIANT in t for t in g.texts()[:rows]):
            continue
        firsts = {v for row in g.rows[:rows] for v in row[:_FIRST_COLUMNS] if v.__class__ is str}
        if M.LABEL_INITIAL in firsts and is_monitor_head(_head(g)):
            monitor_sheets.append(g)
        elif S.LABEL_VARIANT in firsts and not monitor_sheets and is_scoring_head(_head(g)):
            return assessment(g)
    return monitoring(grids, monitor_sheets) if monitor_sheets else None


def _head(g: Grid) -> list[list[object]]:
    rows, columns = HEAD
    return [row[:columns] for row in g.rows[:rows]]
