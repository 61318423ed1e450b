"""Spreadsheet formulas as perfxl writes them: the building blocks of the live checks and the
functions they may use.

A live check is written once, as a function of the cells it reads; :class:`Places` renders
those cells three ways, so that one definition gives all three formulas a book needs:

- ``MARK``: relative to the top-left cell of the range a conditional format covers (the format
  moves and grows with the rows a user inserts);
- ``COUNT``: over the whole range, added up in an array formula (the sheet's counts);
- ``AT``: at one cell, with the sheet's name (a status formula on another sheet).

Conditions are arithmetic (``*`` for and, ``+ … >0`` for or), never AND/OR, so that the same
text works cell by cell and element-wise over a range. Only functions that Excel 2010, WPS and
LibreOffice all evaluate alike are used (:data:`PORTABLE_FUNCTIONS`; a test scans every formula
perfxl writes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from .layout import column_letters

MARK, COUNT, AT = "mark", "count", "at"

PORTABLE_FUNCTIONS = frozenset({
    "ABS", "AND", "ASC", "CHAR", "CLEAN", "CONCATENATE", "COUNT", "COUNTA", "COUNTBLANK", "COUNTIF",
    "FIND", "HYPERLINK", "IF", "IFERROR", "INDEX", "INDIRECT", "INT", "ISBLANK", "ISERROR",
    "ISNUMBER", "ISTEXT", "LEFT", "LEN", "LOOKUP", "MATCH", "MAX", "MID", "MIN", "N", "NOT",
    "OR", "RIGHT", "ROUND", "ROW", "SUBSTITUTE", "SUBTOTAL", "SUM", "SUMIF", "SUMPRODUCT",
    "TEXT", "TRIM", "VALUE",
})
"""Functions that Excel 2010, WPS Spreadsheets and LibreOffice Calc all have and evaluate alike
(no LET, LAMBDA, FILTER, TEXTJOIN, REGEX, dynamic arrays, no ``_xlfn.`` functions)."""

_FUNCTION = re.compile(r"([A-Z][A-Z0-9._]*)\s*\(")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def functions_in(formula: str) -> set[str]:
    """The names of the functions a formula calls (text in quotes ignored)."""
    return set(_FUNCTION.findall(_STRING.sub('""', formula).upper()))


def text(s: str) -> str:
    """A string literal."""
    return '"' + s.replace('"', '""') + '"'


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def absolute(cell: str) -> str:
    """``B3`` → ``$B$3``."""
    m = re.fullmatch(r"\$?([A-Z]{1,3})\$?(\d+)", cell)
    if not m:
        raise ValueError(cell)
    return f"${m.group(1)}${m.group(2)}"


def any_of(terms: Iterable[str]) -> str:
    """True (1) when any term is."""
    return "((" + ")+(".join(terms) + ")>0)"



WHITESPACE = ("CHAR(10)", "CHAR(13)", "CHAR(9)", text("\u3000"), text("\u00a0"))
"""What the reader strips besides spaces: line breaks, tabs, full-width and no-break spaces."""


def spaced(ref: str) -> str:
    """The cell's text with every whitespace the reader strips made a space (TRIM removes
    only spaces)."""
    for ch in WHITESPACE:
        ref = f'SUBSTITUTE({ref},{ch}," ")'
    return ref


def cleaned(ref: str) -> str:
    """The cell's text with line breaks and tabs taken out (CLEAN drops every control
    character) and full-width and no-break spaces made spaces: as :func:`spaced` wherever only
    emptiness or the text without its whitespace matters, in half the formula text."""
    return f'SUBSTITUTE(SUBSTITUTE(CLEAN({ref}),{WHITESPACE[3]}," "),{WHITESPACE[4]}," ")'


def blank(ref: str) -> str:
    """The cell holds nothing but whitespace."""
    return f'(TRIM({cleaned(ref)})="")'


def filled(ref: str) -> str:
    return f'(TRIM({cleaned(ref)})<>"")'


def keyed(ref: str) -> str:
    """Text as the reader compares it: full-width folded, every whitespace removed."""
    return f'SUBSTITUTE({cleaned(f"ASC({ref})")}," ","")'


def same(a: str, b: str) -> str:
    """Two texts are equal, letter case too (``=`` ignores case; FIND does not)."""
    return f"(ISNUMBER(FIND({a},{b}))*(LEN({a})=LEN({b})))"


def verbatim(pattern: str) -> str:
    """Text that MATCH and COUNTIF take as it is, not as a pattern (``*``, ``?``, ``~``)."""
    return f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({pattern},"~","~~"),"*","~*"),"?","~?")'


def one_of(value: str, names: Iterable[str]) -> str:
    """The text is one of ``names``, exactly: found, between bars, in the bar-separated list
    (the value written once; no array constant, which Excel refuses in a conditional
    format)."""
    return f'ISNUMBER(FIND("|"&{value}&"|",{text("|" + "|".join(names) + "|")}))'


def number_text(ref: str) -> str:
    """The text of a number typed as text (``80,000.00``, ``８００００``, ``8万元``) made readable
    by VALUE: full width folded, spaces, thousands separators and a trailing unit removed (the
    unit's factor is not applied: such amounts are flagged, their size does not matter)."""
    s = f'SUBSTITUTE(SUBSTITUTE(ASC(TRIM({ref})),",","")," ","")'
    return f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({s},"万元",""),"万",""),"元","")'


def amount(ref: str, factor: int = 1) -> str:
    """An amount cell's number in 元, else 0: a number in the table's unit (``factor`` 元), or
    text in the unit it states (``8万`` is 80,000 元 in any table, ``80000元`` 80,000 元),
    else in the table's."""
    unit = f'IF(ISNUMBER(FIND("万",{ref})),10000,IF(ISNUMBER(FIND("元",{ref})),1,{factor}))'
    return (f"IF(ISNUMBER({ref}),{ref}*{factor},"
            f"IFERROR(VALUE({number_text(ref)}),0)*{unit})")


def amount_given(ref: str) -> str:
    """The amount cell holds a number or text that spells one."""
    return f"(ISNUMBER({ref})+ISNUMBER(VALUE({number_text(ref)}))>0)"


def text_number(ref: str) -> str:
    """The cell holds text that spells a number: the book's own sums skip it."""
    return f"(ISTEXT({ref})*{filled(ref)}*ISNUMBER(VALUE({number_text(ref)})))"


@dataclass(frozen=True)
class Table:
    """An indicator table: the rows a live check covers, 1-based and inclusive. ``top`` is its
    header row and ``bottom`` the row below its last (a note or a blank): a row inserted
    anywhere between them widens every range."""

    top: int
    bottom: int
    columns: dict[str, str]
    """field (level1, level2, level3, description, value, basis) → column letters."""


@dataclass(frozen=True)
class Places:
    """How a live check refers to the cells it reads, in one of the three renderings."""

    mode: str
    table: Table | None = None
    sheet: str = ""
    """``AT``: the sheet the cell is on."""
    row: int = 0
    """``MARK``: the first row of the marked range (the header row); ``AT``: the row."""
    fields: dict[str, str] = field(default_factory=dict)

    def _q(self, ref: str) -> str:
        return f"{quote_sheet(self.sheet)}!{ref}" if self.mode == AT and self.sheet else ref

    def fixed(self, cell: str) -> str:
        """A cell outside the table (a project field), always absolute."""
        return self._q(absolute(cell))

    def col(self, name: str) -> str:
        """The table's cell of this row in a column (a field name or a letter)."""
        assert self.table is not None
        letter = self.table.columns.get(name, name)
        if self.mode == COUNT:
            return f"${letter}${self.table.top}:${letter}${self.table.bottom}"
        if self.mode == MARK:
            return f"{letter}{self.row}"
        return self._q(f"${letter}${self.row}")

    def above(self, name: str) -> str:
        """The column from the header row down to this row (MARK/AT only)."""
        assert self.table is not None and self.mode != COUNT
        letter = self.table.columns.get(name, name)
        row = f"{letter}{self.row}" if self.mode == MARK else f"${letter}${self.row}"
        return self._q(f"${letter}${self.table.top}:{row}")

    def row_number(self) -> str:
        return f"ROW({self.col('level3')})"

    def header_row(self) -> str:
        assert self.table is not None
        return f"ROW({self._q('$' + self.table.columns['level3'] + '$' + str(self.table.top))})"

    def level1(self) -> str:
        """The row's 一级指标, stripped: its own, or the one above it (a merged or blank cell, or
        one of whitespace, belongs to the group above); the header's text when there is none."""
        if self.mode == COUNT:
            a = self.col("level1")
            return f"TRIM({spaced(f'LOOKUP(ROW({a}),ROW({a})/{filled(a)},{a})')})"
        a = self.above("level1")
        return f"TRIM({spaced(f'LOOKUP(2,1/{filled(a)},{a})')})"

    def level2(self) -> str:
        """The row's 二级指标, stripped."""
        return f"TRIM({spaced(self.col('level2'))})"

    def header_level1(self) -> str:
        assert self.table is not None
        return self._q(f"${self.table.columns['level1']}${self.table.top}")

    def indicator(self) -> str:
        """An indicator row, as the reader takes it: below the header, with a 三级指标, a
        description, a value or a basis."""
        cols = "&".join(self.col(c) for c in ("level3", "description", "value", "basis")
                        if self.table is not None and c in self.table.columns)
        return f"({self.row_number()}>{self.header_row()})*{filled(cols)}"

    def level1_missing(self) -> str:
        """No 一级指标 on this row or above it in the table."""
        return f"({self.level1()}={self.header_level1()})"

    def level1_is(self, names: Iterable[str]) -> str:
        """The row's 一级指标 is one of ``names`` (the 一级 looked up once)."""
        return one_of(self.level1(), names)




# --- live checks: declared beside the check they mirror (rules.py, schemas.py) ---------------------

PROJECT, TABLE = "project", "table"


@dataclass(frozen=True)
class Test:
    """One live test: a condition that is true when the book has the rule's finding.

    ``scope`` PROJECT: ``at`` is the field whose cell it marks (``project.plan`` with ``quarter``)
    and ``condition`` a formula over absolute references, computed once in a hidden cell.
    ``scope`` TABLE: ``at`` is the indicator column it marks and ``condition`` a function of a
    :class:`Places` row, true on an indicator row that has the finding; the layout adds the test
    that the row is one (:meth:`Places.indicator`), once for all the tests it counts.
    """

    slug: str
    scope: str
    at: str
    condition: Any
    quarter: int | None = None
    severity: str | None = None
    """A severity of its own (a missing 成本指标 is a warning of the rule whose others are errors)."""


@dataclass(frozen=True)
class Context:
    """What a project's live tests read: its cells (from the cell map), its money unit, the
    rules' thresholds, and its indicator table. Values several tests share (an amount as a
    number, a plan cell in percent, the code without spaces) are computed once, in hidden cells
    of row 1 (:meth:`once`)."""

    cells: dict[str, Any]
    factor: int
    """1 for a table in 元, 10000 in 万元 (a fen is then a millionth)."""
    plan_scale: int
    """What a plan number is multiplied by to give percent: 100 for Excel percentages."""
    cfg: Any
    year: int | None
    table: Table | None
    absent: frozenset[str] = frozenset()
    shared: dict[str, str] = field(default_factory=dict, compare=False)
    """formula → the hidden cell (absolute) that computes it; see :meth:`once`."""
    first_column: int = 42

    def has(self, fld: str) -> bool:
        return fld not in self.absent and bool(self.cells.get(fld))

    def ref(self, fld: str, q: int | None = None) -> str:
        c = self.cells[fld]
        return absolute(c[q or 0] if isinstance(c, list) else c)

    def rows(self) -> Places:
        assert self.table is not None
        return Places(COUNT, self.table)

    def once(self, formula: str) -> str:
        """The absolute reference of a hidden row-1 cell holding ``formula``."""
        if formula not in self.shared:
            self.shared[formula] = absolute(f"{column_letters(self.first_column + len(self.shared))}1")
        return self.shared[formula]

    def amount(self, fld: str) -> str:
        """The amount in 元 (the table's unit, or the one its text states)."""
        return self.once(amount(self.ref(fld), self.factor))

    def amount_given(self, fld: str) -> str:
        return self.once(f"IF({amount_given(self.ref(fld))},1,0)")

    def percent(self, q: int) -> str:
        """A plan cell in percent: a number scaled, or text such as ``25%`` / ``25.00%``."""
        c = self.ref("project.plan", q)
        scale = f"IF({self.whole_percents()},1,100)" if self.plan_scale == 100 else \
            str(self.plan_scale)
        return self.once(f'IFERROR(IF(ISNUMBER({c}),{c}*{scale},'
                         f'VALUE(SUBSTITUTE(ASC(TRIM({c})),"%",""))),0)')

    def whole_percents(self) -> str:
        """Four numbers above 1 and at most 100, not decreasing (25, 50, 75, 100), in cells that
        store fractions: whole percents, read as meant (as the reader reads them)."""
        cells = [self.ref("project.plan", q) for q in range(4)]
        terms = [f"ISNUMBER({c})*({c}>1)*({c}<=100)" for c in cells]
        terms += [f"({a}<={b})" for a, b in pairwise(cells)]
        return "(" + "*".join(terms) + ")"

    def plan_given(self, q: int) -> str:
        c = self.ref("project.plan", q)
        return self.once(f'IF(ISNUMBER({c})+ISNUMBER(VALUE(SUBSTITUTE(ASC(TRIM({c})),"%",""))),'
                         "1,0)")

    def code(self) -> str:
        """The 项目编码 as the reader takes it: full width folded, every space and break out."""
        s = f"ASC({self.ref('project.code')})"
        for ch in ('" "', "CHAR(10)", "CHAR(13)", "CHAR(9)", '"\u3000"'):
            s = f'SUBSTITUTE({s},{ch},"")'
        return self.once(s)


LiveForm = Callable[[Context], Iterable[Test]]
LIVE: dict[str, LiveForm] = {}
"""rule slug → its live form (registered by :func:`live` beside the rule's check)."""


def live(*slugs: str) -> Callable[[LiveForm], LiveForm]:
    def register(fn: LiveForm) -> LiveForm:
        for slug in slugs:
            LIVE[slug] = fn
        return fn
    return register
