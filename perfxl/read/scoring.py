"""Read a 考核 scoring book (``perfxl scoring``) back: recognised by its form, read by label.

A sheet with the labels 考核口径, 每次加分, 考核项目 and 得分 in its head is a scoring sheet; a book with one is a
scoring book (``Department.form`` = ``scoring``) whose :class:`~perfxl.scoring.Assessment`
holds the variant, each item's points and 得分, the bonus and deduction events, and the cell of
each value; ``Department.scoring`` gets the scheme as the sheet states it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import scoring as S
from ..layout import a1
from ..model import Deduction, Department, Scoring, ScoringItem
from ..values import decimal, key, text

if TYPE_CHECKING:
    from .parser import Grid

_MARKERS = (S.LABEL_VARIANT, S.LABEL_BONUS_RANGE, S.LABEL_ITEM, S.LABEL_SCORE)
_TITLE = re.compile(r"^(?:(?P<year>\d{4})年\s+)?(?P<name>.*?)\s*" + S.TITLE_SUFFIX + "$")
_POINTS = re.compile(r"^分值\((?P<variant>.+)\)$")


def _keys(g: Grid) -> dict[str, tuple[int, int]]:
    """Each cell's text key → its first cell (a label's; keys may start a longer label)."""
    found: dict[str, tuple[int, int]] = {}
    for r, row in enumerate(g.rows):
        for c, v in enumerate(row):
            if v.__class__ is str and g.anchor(r, c) == (r, c):
                found.setdefault(key(v), (r, c))
    return found


def _starting(keys: dict[str, tuple[int, int]], label: str) -> tuple[int, int] | None:
    """The first cell whose text starts with ``label`` (总分 is written 总分(…))."""
    hits = [pos for k, pos in keys.items() if k.startswith(label)]
    return min(hits) if hits else None


def is_scoring_head(head: list[list[object]]) -> bool:
    """A sheet's head (:data:`followup.HEAD`) has the labels only a scoring sheet has."""
    seen = {k for row in head for v in row
            if v.__class__ is str and len(v) <= 16 and (k := key(v)) in _MARKERS}
    return len(seen) == len(_MARKERS)


def assessment(g: Grid) -> Department:
    """The department of a scoring book whose scoring sheet is ``g``."""
    dept = Department(form=S.FORM)
    if m := _TITLE.match(text(g.raw(0, 0))):
        dept.year, dept.name = (int(m["year"]) if m["year"] else None), m["name"]
    keys = _keys(g)
    a = S.Assessment(cells={"sheet": g.name})

    def number_right(label: str, nth: int = 0) -> Decimal | None:
        pos = keys.get(label)
        if pos is None:
            return None
        r, c = pos
        found = [v for v in g.rows[r][c + 1:] if isinstance(v, (int, float))]
        return _decimal(found[nth]) if len(found) > nth else None

    if (pos := keys.get(S.LABEL_VARIANT)) is not None:
        a.variant = text(g.value(pos[0], pos[1] + 1)) or S.CITY
        a.cells["variant"] = a1(pos[0], pos[1] + 1)
    a.bonus_min = number_right(S.LABEL_BONUS_RANGE) or a.bonus_min
    a.bonus_max = number_right(S.LABEL_BONUS_RANGE, 1) or a.bonus_max
    a.bonus_cap = number_right(S.LABEL_BONUS_CAP) or a.bonus_cap
    if (pos := keys.get(S.LABEL_DEDUCTION_POINTS)) is not None:
        written = re.split(r"[、,;/\s]+", key(g.value(pos[0], pos[1] + 1)))
        allowed = tuple(sorted(d for d in map(_decimal, written) if d is not None))
        a.deduction_points = allowed or a.deduction_points
    _items(g, keys, a)
    a.bonuses = _event_rows(g, keys, S.LABEL_BONUS, S.LABEL_BONUS_TOTAL, a, "bonus_total")
    a.deductions = _event_rows(g, keys, S.LABEL_DEDUCTION, S.LABEL_DEDUCTION_TOTAL, a,
                               "deduction_total")
    if (pos := _starting(keys, S.LABEL_BONUS_COUNTED)) is not None:
        a.cells["bonus_counted"] = a1(pos[0], _score_column(keys))
    if (pos := _starting(keys, S.LABEL_TOTAL)) is not None:
        a.cells["total"] = a1(pos[0], _score_column(keys))
    dept.assessment = a
    dept.scoring = Scoring(
        items=[ScoringItem(i.name, i.points_city, i.points_county, i.content) for i in a.items],
        bonus_min=int(a.bonus_min), bonus_max=int(a.bonus_max), bonus_cap=int(a.bonus_cap),
        deductions=[Deduction(int(d), "") for d in a.deduction_points])
    return dept


def _score_column(keys: dict[str, tuple[int, int]]) -> int:
    pos = keys.get(S.LABEL_SCORE)
    return pos[1] if pos is not None else 6


def _items(g: Grid, keys: dict[str, tuple[int, int]], a: S.Assessment) -> None:
    head = keys.get(S.LABEL_ITEM)
    if head is None:
        return
    top = head[0]
    columns: dict[str, int] = {}
    for c in range(g.width):
        k = key(g.raw(top, c))
        if k == S.LABEL_ITEM:
            columns["name"] = c
        elif k == "考核内容":
            columns["content"] = c
        elif (m := _POINTS.match(k)) is not None:
            columns["city" if m["variant"] == S.CITY else "county"] = c
        elif k == S.LABEL_SCORE:
            columns["score"] = c
        elif k == "评分说明":
            columns["note"] = c
    subtotal = keys.get(S.LABEL_SUBTOTAL, (g.height, 0))[0]
    for r in range(top + 1, subtotal):
        name = text(g.value(r, columns.get("name", 1)))
        if not name:
            continue

        def at(fld: str, row: int = r) -> Any:
            return g.value(row, columns[fld]) if fld in columns else None

        item = S.ScoredItem(name, _int(at("city")), _int(at("county")), text(at("content")),
                            score=_decimal(at("score")), note=text(at("note")),
                            cells={f: a1(r, c) for f, c in columns.items()
                                   if f in ("score", "note")})
        a.items.append(item)
    if S.LABEL_SUBTOTAL in keys:
        a.cells["score"] = a1(subtotal, columns.get("score", 6))


def _event_rows(g: Grid, keys: dict[str, tuple[int, int]], label: str, total: str,
                a: S.Assessment, cell: str) -> list[S.Event]:
    start, end = keys.get(label), keys.get(total)
    if start is None or end is None:
        return []
    head = next((r for r in range(start[0] + 1, end[0])
                 if key(g.value(r, 1)) == "事项"), start[0])
    score = _score_column(keys)
    a.cells[cell] = a1(end[0], score)
    out = []
    for r in range(head + 1, end[0]):
        out.append(S.Event(event=text(g.value(r, 1)), points=_decimal(g.value(r, score)),
                           note=text(g.value(r, score + 1)),
                           cells={"event": a1(r, 1), "points": a1(r, score),
                                  "note": a1(r, score + 1)}))
    return out


def _decimal(v: Any) -> Decimal | None:
    try:
        return decimal(v)
    except ValueError:
        return None


def _int(v: Any) -> int:
    d = _decimal(v)
    return int(d) if d is not None else 0
