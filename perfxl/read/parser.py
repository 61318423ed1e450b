"""The parser: a book's grids (and its custom properties) into the model.

A grid is a sheet's values plus its merged ranges, whatever its source (a file read by
python-calamine, the live book behind the ribbon), so one parser serves them all. It finds each
field by its label (项目编码, 预算数, 一级指标 …), not by position, so it reads our template and
books typed by hand in the seed's layout alike: shifted, with blank rows, in 万元, with split codes
or full-width characters. It records where every value came from (the cell map).

Our own project sheets repeat one head: once a sheet has been read by label, its head is kept as
a :class:`Form` (in :data:`LEARNED`, for every book read in the process), and later sheets with
exactly that head are read at the same cells without searching (the same result: a test compares
the two ways).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import layout as L
from ..errors import NotAPerformanceBook
from ..forms import labels_found, read_form
from ..layout import a1
from ..model import (
    LEVELS,
    Deduction,
    Department,
    Indicator,
    Measure,
    Plan,
    Project,
    Scoring,
    ScoringItem,
    Skipped,
    Unit,
)
from ..selfeval_read import read_selfeval
from ..values import WAN, amount, decimal, key, percent, text, text_key
from .followup import follow_up

Pos = tuple[int, int]

# Every label the parser looks for contains one of these (checked on the raw text, before any
# normalisation): only such cells are indexed, which skips most indicator and description text.
_MAYBE_LABEL = re.compile(
    "项目|预算|资金|财政|绩效|月|指标|单位|计划|依据|部门|地区|年度|标题|序号|合计|加分|扣分|措施|目标|用途|规模")


@dataclass
class Grid:
    """One sheet: values by 0-based (row, col), and merged ranges (r0, c0, r1, c1) inclusive."""

    name: str
    rows: list[list[Any]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    typed: bool = True
    """Whether the source keeps cell types (a number apart from text); a CSV file holds text only."""
    formulas: Callable[[str], frozenset[str]] | None = None
    """The book's cells (A1) holding a formula without a computed value, by sheet name (they read
    as empty): asked only when a cell that matters is empty."""

    def __post_init__(self) -> None:
        self.rows = L.without_live_cells(self.rows)
        self._anchors: dict[Pos, Pos] | None = None
        self._extents: dict[Pos, Pos] | None = None
        self.height = len(self.rows)
        self.width = max(map(len, self.rows), default=0)
        self.index_rows: int | None = None
        """Index labels only above this row (set by the parser for an intact template head)."""
        self._keys: dict[Pos, str] | None = None
        self._by_row: dict[int, list[tuple[int, str]]] = {}
        self._found: dict[str, list[Pos]] | None = None
        self._tops: list[tuple[Pos, str]] | None = None
        self._texts: list[str] | None = None
        self._exact: dict[str, list[Pos]] | None = None
        self._by_top: list[tuple[int, int]] | None = None
        self._tallest = 0

    def uncalculated(self) -> frozenset[str]:
        """This sheet's cells holding a formula without a computed value."""
        return self.formulas(self.name) if self.formulas is not None else frozenset()

    def texts(self) -> list[str]:
        """Each row's cells as text joined by NUL: one regex search per row decides whether any
        cell of the row may hold a label (most rows: none)."""
        if self._texts is None:
            self._texts = texts = []
            for row in self.rows:
                try:
                    texts.append("\0".join(row))  # a row of text only (most rows)
                except TypeError:
                    texts.append("\0".join(map(str, row)))
        return self._texts

    def _index(self) -> dict[Pos, str]:
        if self._keys is None:
            self._keys = {}
            stop = self.height if self.index_rows is None else min(self.index_rows, self.height)
            for r in range(stop):
                for c, k in self.row_labels(r):
                    self._keys[(r, c)] = k
        return self._keys

    @property
    def _anchor(self) -> dict[Pos, Pos]:
        """Every cell of a merged range → its top-left (the last range wins where they overlap);
        built when first needed (a sheet located by a form never needs it)."""
        if self._anchors is None:
            self._anchors = {(r, c): (r0, c0) for r0, c0, r1, c1 in self.merges
                             for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        return self._anchors

    @property
    def _extent(self) -> dict[Pos, Pos]:
        """A merged range's top-left → its far corner."""
        if self._extents is None:
            self._extents = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in self.merges}
        return self._extents

    def merges_between(self, start: int, stop: int) -> list[tuple[int, int, int, int]]:
        """The merged ranges that reach into rows ``start`` to ``stop`` (excluded), in the
        book's order (where ranges overlap, the last wins). Found by their first row, sorted
        once per sheet: a sheet of many tables is asked once per table."""
        if len(self.merges) <= 64:  # a sheet of one table: one pass
            return [m for m in self.merges if m[2] >= start and m[0] < stop]
        if self._by_top is None:
            self._by_top = sorted((m[0], i) for i, m in enumerate(self.merges))
            self._tallest = max((r1 - r0 for r0, _c0, r1, _c1 in self.merges), default=0)
            self._tallest = max(self._tallest, 0)
        merges, by_top = self.merges, self._by_top
        lo = bisect.bisect_left(by_top, (start - self._tallest, -1))
        hi = bisect.bisect_left(by_top, (stop, -1))
        return [merges[i] for i in sorted(i for _r0, i in by_top[lo:hi])
                if merges[i][2] >= start]

    def raw(self, r: int, c: int) -> Any:
        if 0 <= r < self.height and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return None

    def anchor(self, r: int, c: int) -> Pos:
        if not self._anchor:
            return (r, c)
        return self._anchor.get((r, c), (r, c))

    def value(self, r: int, c: int) -> Any:
        """The value shown at (r, c): a merged range shows its top-left cell everywhere."""
        return self.raw(*self.anchor(r, c))

    def end_col(self, r: int, c: int) -> int:
        ar, ac = self.anchor(r, c)
        return self._extent.get((ar, ac), (ar, ac))[1]

    def right_of(self, pos: Pos, limit: int, is_label: Callable[[int, int], Any]) -> tuple[Any, str]:
        """The value to the right of a label: the first non-empty cell (merged ranges taken as
        one) before the next label, within ``limit`` cells; with its address. For an empty field,
        the address of the first cell after the label (where the value belongs), so a finding
        can point at it. ``is_label(row, col)`` says whether a cell is a label (the parser and
        the national forms each know their own)."""
        r, c = pos
        start = self.end_col(r, c) + 1
        col, seen = start, 0
        while col < self.width and seen < limit:
            ar, ac = self.anchor(r, col)
            if ar == r:
                v = self.raw(ar, ac)
                if v is not None and v != "" and not (isinstance(v, str) and not v.strip()):
                    if is_label(ar, ac):
                        break
                    return v, a1(ar, ac)
            col = self.end_col(r, col) + 1
            seen += 1
        return "", a1(r, start)

    def end_row(self, r: int, c: int) -> int:
        ar, ac = self.anchor(r, c)
        return self._extent.get((ar, ac), (ar, ac))[0]

    def key(self, r: int, c: int) -> str:
        v = self.raw(*self.anchor(r, c))
        return key(v) if v.__class__ is str and _MAYBE_LABEL.search(v) else ""

    def labels(self) -> Iterable[tuple[Pos, str]]:
        return self._index().items()

    def row_labels(self, r: int) -> list[tuple[int, str]]:
        """(column, key) of the cells in row r that may be labels (``_MAYBE_LABEL``); cached."""
        got = self._by_row.get(r)
        if got is None:
            if 0 <= r < self.height and _MAYBE_LABEL.search(self.texts()[r]):
                got = [(c, key(v)) for c, v in enumerate(self.rows[r])
                       if v.__class__ is str and _MAYBE_LABEL.search(v)]
            else:
                got = []
            self._by_row[r] = got
        return got

    def _top_labels(self) -> list[tuple[Pos, str]]:
        """(top-left cell, label without a trailing colon) of every label cell, sorted."""
        if self._tops is None:
            covered = self._anchor
            self._tops = [(pos, k.rstrip(":")) for pos, k in sorted(self._index().items())
                          if covered.get(pos, pos) == pos]
        return self._tops

    def exact(self, label: str) -> list[Pos]:
        """Sorted top-left cells whose label is ``label``."""
        if self._exact is None:
            self._exact = {}
            for pos, text in self._top_labels():
                self._exact.setdefault(text, []).append(pos)
        return self._exact.get(label, [])

    def positions(self, pattern: re.Pattern[str]) -> list[Pos]:
        """Sorted top-left cells whose label matches ``pattern``, one of the parser's label
        patterns. All are found in one pass over the sheet."""
        if self._found is None:  # keyed by the pattern's text: a Pattern's hash is not cached
            self._found = {}
            for pos, text in self._top_labels():
                for pat in _classify(text):
                    self._found.setdefault(pat.pattern, []).append(pos)
        return self._found.get(pattern.pattern, [])


# --- the parser --------------------------------------------------------------------------------

def department(grids: list[Grid], props: dict[str, str], name: str = "") -> Department:
    """The department of a book's grids and custom properties (the template version, the unit,
    the kind of output): what reading a file and the ribbon's live book both come to. A book
    without a project table, a department sheet or a template version is refused with
    :class:`NotAPerformanceBook`, naming what was found."""
    dept = parse_book(grids, props.get(L.VERSION_PROPERTY))
    dept.book_unit = props.get(L.UNIT_PROPERTY, "")
    dept.output = props.get(L.OUTPUT_PROPERTY, "")
    if not (dept.projects or dept.template_version or dept.name or dept.units):
        label = f"{name}:" if name else ""
        found, missing = ("、".join(x) or "无" for x in labels_found(grids))
        raise NotAPerformanceBook(
            f"无法读取工作簿 {label}这不是预算绩效目标工作簿(没有项目支出绩效目标表;"
            f"找到: {found};没有找到: {missing})",
            f"not a performance-target workbook: no project table found (found: {found}; "
            f"not found: {missing})")
    return dept


def parse_book(grids: list[Grid], template_version: str | None = None,
               forms: Forms | None = None) -> Department:
    """The department of ``grids``: our template's when ``template_version`` is given, else any
    book in the seed's layout or another form users send. Our project sheets are located by the
    heads in ``forms`` (:data:`LEARNED` by default) where one fits."""
    if (other := follow_up(grids)) is not None:
        return other  # a monitoring or scoring book (read/followup.py)
    forms = LEARNED if forms is None else forms
    dept = Department(template_version=template_version)
    ours = template_version is not None
    for g in grids:
        if g.name in L.PERFXL_SHEETS or (ours and g.name in L.AUX_SHEETS):
            continue
        if g.name == L.SHEET_DEPARTMENT or (not ours and _is_department_sheet(g)):
            parse_department(g, dept)
            continue
        if not ours and (evaluated := read_selfeval(g)) is not None:
            evaluated.into(dept)  # a 绩效自评 book (selfeval_read.py)
            continue
        if not ours and (sent := read_form(g)) is not None:
            sent.into(dept)  # another form users send (forms.py)
            continue
        one = _one_table(g)
        if one and (at := forms.fit(g)) is not None:
            located = [at]  # a form learned before: the fields at its cells, no search
        else:
            if ours and _template_head(g):
                g.index_rows = L.FIRST_INDICATOR_ROW  # rows below are indicator rows, by row
            located = [locate(g, block)
                       for block in _blocks(g, g.positions(_LABELS["project.code"]))]
            if one and len(located) == 1:
                forms.learn(g, located[0])
        for at in located:
            p = _project(g, at, ours)
            if p is None:
                dept.skipped.append(Skipped(g.name, "空白项目表", "blank project table",
                                            at.values.get("project.code", ("", ""))[1]))
            else:
                dept.projects.append(p)
        if not located:
            dept.skipped.append(Skipped(
                g.name, "不是项目支出绩效目标表(未找到「项目编码」)",
                "not a project table: no 项目编码 label found"))
    for i, p in enumerate(dept.projects, start=1):
        if not p.seq:
            p.seq = i
    known = {u.code for u in dept.units}
    for p in dept.projects:
        if p.unit_code and p.unit_code not in known:
            dept.units.append(Unit(p.unit_code, p.unit_name))
            known.add(p.unit_code)
        if not p.unit_name:
            p.unit_name = dept.unit_name(p.unit_code)
    return dept


# label patterns, matched against key() without a trailing colon
_MONEY = r"(?:\((?P<unit>万?元)\))?"
_LABELS: dict[str, re.Pattern[str]] = {
    "project.code": re.compile(r"^项目(编码|代码)$"),
    "project.name": re.compile(r"^项目名称$"),
    "project.budget": re.compile(rf"^(项目|年度)?预算(数|金额){_MONEY}$"),
    "project.fiscal": re.compile(rf"^(其中[:,]?)?财政(资金|拨款){_MONEY}$"),
    "project.other": re.compile(rf"^其他资金{_MONEY}$"),
    "project.purpose": re.compile(r"^(及)?资金用途$"),
    "project.goals": re.compile(r"^(项目|年度)?绩效目标$"),
    "funds": re.compile(r"^预算规模(及资金用途)?$"),
    "plan": re.compile(r"^(资金支出)?(计划)?\(%\)$|^资金支出(计划)?(\(%\))?$"),
    "unit.code": re.compile(r"^单位编码$"),
    "unit.name": re.compile(r"^单位名称$"),
}
_HEADERS = {
    "level1": re.compile(r"^一级指标$"),
    "level2": re.compile(r"^二级指标$"),
    "level3": re.compile(r"^三级指标$"),
    "description": re.compile(r"^(绩效)?指标(描述|内容|解释)$"),
    "value": re.compile(r"^指标值$"),
    "basis": re.compile(r"^指标值(确定|设定)?依据$|^确定依据$"),
}
_QUARTER = re.compile(r"^(3|6|10|12)月(底|末)$")
_TITLE = re.compile(r"^(?P<seq>\d+)[.、]?(?P<name>.*?)(项目支出)?绩效目标表$", re.S)
_MONEY_UNIT = re.compile(r"(?:金额)?单位:(?P<unit>万?元)")
_UNIT_LINE = re.compile(
    r"^\s*(?P<code>[0-9０-９]{6})\s*(?P<name>.*?)\s*((金额)?单位\s*[:：]\s*万?元)?\s*$", re.S)


# A title (…绩效目标表) or a 项目编码 label, as raw text may write them (spaced, full-width).
_MAYBE_BLOCK = re.compile("表|项\\s*目\\s*[编代]")
_PATTERNS = (*_LABELS.values(), *_HEADERS.values(), _QUARTER)
_LONGEST_LABEL = 24
"""No label pattern matches a longer text (the longest, 其中:财政资金(万元), has 11 characters)."""


@functools.lru_cache(maxsize=16384)
def _classify(k: str) -> tuple[re.Pattern[str], ...]:
    """The label patterns a cell's key matches (most cells: none). Keys repeat across sheets and
    books, so this is cached."""
    label = k.rstrip(":")
    if len(label) > _LONGEST_LABEL:
        return ()
    return tuple(p for p in _PATTERNS if p.match(label))


def _label(k: str) -> str:
    return k.rstrip(":")


def _template_head(g: Grid) -> bool:
    """The sheet still has our template's head (labels where we wrote them) and one table only,
    so the labels above the indicator table are all the parser needs to index."""
    return (_is_code_label(g.key(L.ROW_CODE, 0))
            and bool(_HEADERS["level1"].match(_label(g.key(L.ROW_HEADER, 0)))) and _one_table(g))


def _one_table(g: Grid) -> bool:
    return sum(t.count("项目编码") for t in g.texts()) == 1


def _is_code_label(k: str) -> bool:
    return bool(_LABELS["project.code"].match(_label(k)))


def is_any_label(k: str) -> bool:
    """A cell's key (``values.key``) is one of the labels the parser looks for."""
    return bool(_classify(k))




@dataclass
class _Block:
    anchor: Pos
    top: int      # first row that may hold the title / unit line
    bottom: int   # first row after the block


def _blocks(g: Grid, anchors: list[Pos]) -> list[_Block]:
    """One block per 项目编码 label; a block's title area starts after the previous table."""
    blocks = []
    for i, (r, c) in enumerate(anchors):
        bottom = anchors[i + 1][0] if i + 1 < len(anchors) else g.height
        blocks.append(_Block((r, c), 0, bottom))
    for prev, nxt in itertools.pairwise(blocks):  # only when a sheet holds several tables
        end = _table_end(g, prev)
        nxt.top = end
        prev.bottom = end
    return blocks


def _find(g: Grid, pattern: re.Pattern[str], rows: range) -> Pos | None:
    """The first cell (by row, then column) in ``rows`` whose label matches."""
    return _first(g.positions(pattern), rows)


def _find_exact(g: Grid, label: str, rows: range) -> Pos | None:
    """The first cell (by row, then column) in ``rows`` whose label is ``label``."""
    return _first(g.exact(label), rows)


def _first(found: list[Pos], rows: range) -> Pos | None:
    i = bisect.bisect_left(found, (rows.start, -1))
    return found[i] if i < len(found) and found[i][0] < rows.stop else None


def _right(g: Grid, pos: Pos, limit: int = 6) -> tuple[Any, str]:
    """:meth:`Grid.right_of` with the parser's labels (any text that reads as a field's label)."""
    return g.right_of(pos, limit, lambda r, c: (k := g.key(r, c)) and (
        is_any_label(k) or bool(_MONEY_UNIT.fullmatch(k))))  # 单位:元 is no field's value


def _money_factor(g: Grid, rows: range, budget_label: str) -> tuple[Decimal, str]:
    m = _LABELS["project.budget"].match(_label(budget_label))
    if m and m.group("unit"):
        return (WAN if m.group("unit") == "万元" else Decimal(1)), m.group("unit")
    for r in rows:
        for _c, k in g.row_labels(r):
            mu = _MONEY_UNIT.search(k)
            if mu:
                return (WAN if mu.group("unit") == "万元" else Decimal(1)), mu.group("unit")
    return Decimal(1), ""


@dataclass
class Located:
    """Where a project table's fields are: what the parser reads, whichever way it found them."""

    values: dict[str, tuple[Any, str]]
    """field → (cell value, A1 address), in the order of the cell map."""
    seq: int = 0
    factor: Decimal = Decimal(1)
    money_unit: str = ""
    plan: list[Pos] | None = None
    """The cells below the four quarter labels (3, 6, 10, 12月底)."""
    plan_values: list[Pos] | None = None
    """Where those cells' values are (the top-left of a merged range), when known already."""
    table: tuple[tuple[str, ...], tuple[int, ...], int, int] | None = None
    """Indicator columns (fields, columns), first row and the row after the last candidate."""


def locate(g: Grid, b: _Block) -> Located:
    """Find each field of a project table by its label (the general way)."""
    ar, _ = b.anchor
    body = range(ar, b.bottom)
    head = range(b.top, ar)
    at = Located({})
    values = at.values

    def field_at(name: str, rows: range = body) -> None:
        pos = _find(g, _LABELS[name], rows)
        if pos is not None:
            values[name] = _right(g, pos)

    values["project.code"] = _right(g, b.anchor)
    field_at("project.name")
    for r in head:
        for c, k in g.row_labels(r):
            if m := _TITLE.match(k):
                at.seq = int(m.group("seq"))
                values["title"] = (g.raw(r, c), a1(r, c))
    _unit(g, head, values)
    budget_pos = _find(g, _LABELS["project.budget"], body)
    at.factor, at.money_unit = _money_factor(g, range(b.top, ar + 3),
                                             g.key(*budget_pos) if budget_pos else "")
    for f in ("project.budget", "project.fiscal", "project.other"):
        field_at(f)
    _purpose(g, body, budget_pos, values)
    field_at("project.goals")
    at.plan = _quarters(g, body)
    header = _find(g, _HEADERS["level1"], body)
    if header is not None:
        names, where = _columns(g, header[0])
        at.table = (names, where, g.end_row(*header) + 1, min(body.stop, g.height))
    return at


def _project(g: Grid, at: Located, fractions: bool) -> Project | None:
    """The project from its located fields: text, exact amounts, the plan, the indicators."""
    values = at.values
    cells: dict[str, Any] = {f: addr for f, (_v, addr) in values.items()}
    raw: dict[str, str] = {}

    def get(f: str) -> Any:
        return values[f][0] if f in values else ""

    code_raw = text(get("project.code"))
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", code_raw))
    amounts: dict[str, Decimal | None] = {}
    as_text: dict[str, str] = {}
    for f in ("project.budget", "project.fiscal", "project.other"):
        v = get(f)
        try:
            amounts[f] = amount(v, at.factor)
        except ValueError:
            amounts[f] = None
            raw[f] = text(v)
        else:
            if v.__class__ is str and amounts[f] is not None and g.typed:
                as_text[f] = v.strip()  # read as meant; the book's own sums skip it
    whole = bool(at.plan and fractions and _whole_percents(_cell_values(g, at.plan,
                                                                         at.plan_values)))
    plan = (_plan(g, at.plan, cells, raw, fractions and not whole, at.plan_values) if at.plan
            else None)
    indicators = _indicator_rows(g, *at.table) if at.table else []
    name = text(get("project.name"))
    if not (code or name or any(v is not None for v in amounts.values()) or indicators):
        return None  # blank, or only headers (e.g. a summary table with a 项目编码 column)
    title = _TITLE.match(key(get("title"))) if "title" in values else None
    return Project(
        seq=at.seq, unit_code=unicodedata.normalize("NFKC", text(get("unit.code"))).strip(),
        unit_name=text(get("unit.name")), code=code, name=name,
        budget=amounts["project.budget"], fiscal=amounts["project.fiscal"],
        other=amounts["project.other"], purpose=text(get("project.purpose")),
        goals=text(get("project.goals")), plan=plan, indicators=indicators, sheet=g.name,
        code_raw=code_raw, raw=raw, cells=cells, amount_unit=at.money_unit,
        title=title.group("name") if title else "", text_amounts=as_text,
        uncalculated=_uncalculated(g, at, amounts, plan, cells), plan_whole_percents=whole,
    )


def _uncalculated(g: Grid, at: Located, amounts: dict[str, Decimal | None], plan: Plan | None,
                  cells: dict[str, Any]) -> set[str]:
    """The project's money and plan cells that are empty because they hold a formula without a
    computed value: the finding says so, not 未填写. The book is asked only when such a cell is
    empty (most projects have none)."""
    empty = [(addr, addr) for f, d in amounts.items() if d is None and f in at.values
             for v, addr in (at.values[f],) if v is None or v == ""]
    if at.plan:
        tops = at.plan_values or [g.anchor(r, c) for r, c in at.plan]
        empty += [(addr, a1(*top)) for q, (addr, top)
                  in enumerate(zip(cells["project.plan"], tops, strict=True))
                  if (plan is None or plan[q] is None) and g.raw(*top) in ("", None)]
    if not empty:
        return set()
    found = g.uncalculated()
    return {addr for addr, top in empty if addr in found or top in found}


def _cell_values(g: Grid, places: list[Pos], anchors: list[Pos] | None) -> list[Any]:
    """The values of the plan's cells (from the top-left of a merged range)."""
    return [g.raw(r, c) for r, c in anchors] if anchors else [g.value(r, c) for r, c in places]


def _whole_percents(values: list[Any]) -> bool:
    """Four numbers, each above 1 and at most 100, not decreasing (25, 50, 75, 100): percents
    written as whole numbers, not fractions."""
    numbers = [v for v in values if v.__class__ in (int, float)]
    return (len(numbers) == 4 and all(1 < v <= 100 for v in numbers)
            and numbers == sorted(numbers))


# Fields a sheet in the form must have filled (else it is read by label).
_FILLED = ("project.code", "project.name", "unit.code", "unit.name", "project.budget",
           "project.fiscal", "project.other", "project.purpose", "project.goals")
_FIXED, _FILL, _TITLE_CELL, _PLAN_CELL, _UNIT_CELL = "fixed", "fill", "title", "plan", "unit"


@dataclass
class Form:
    """The head of a project sheet (the rows above its indicators), learned from a sheet the
    label search has read, whatever made it (our template, or a hand-made book in the seed's
    layout, shifted, in 万元 …): the cells holding labels or any other fixed text, the cells
    holding values, the merged ranges, and where the label search found each field.

    Another sheet (in any book) whose head has exactly this text in these cells, these merges,
    every value filled with text that is no label, title or money unit, and nothing else, is one
    the label search would read at exactly the same cells (every label it could match is where
    it was, every walk from a label to its value stops at the same cell, the unit line and the
    title are the same cells): :meth:`locate` returns those cells without searching, after
    checking the head cell by cell. Anything else is read by label. A test compares both ways
    on every sheet of many books of each layout.
    """

    rows: int
    merges: tuple[tuple[int, int, int, int], ...]
    cells: dict[Pos, tuple[str, Any]]
    """head cell → (kind, its fixed text, or the field): every cell of the head not empty."""
    reference: Located
    plan_values: list[Pos]
    """The top-left cells holding the plan's values (the head's merged ranges are the same)."""
    code_row: int = 0
    """The row of the 项目编码 label: the head above it is where the unit line is looked for."""
    any_order: bool = False
    """The head's merged ranges overlap nowhere, so their order changes no cell's top-left:
    ``merges`` are sorted, and a head with the same ranges in any order is the form's (a program
    that writes a sheet's ranges from a set writes them in another order on each sheet)."""

    @classmethod
    def of(cls, g: Grid, at: Located) -> Form | None:
        """The form of ``g``, which the label search located at ``at``; None when its head is
        not one to rely on."""
        if at.table is None or at.plan is None or any(f not in at.values for f in _FILLED):
            return None
        rows = at.table[2]
        code_at = L.parse_a1(at.values["project.code"][1])
        if code_at is None or code_at[0] + 3 > rows or any(r >= rows for r, _c in at.plan):
            return None  # the money unit and the plan are looked for below the head
        code_row = code_at[0]
        unit_line = (at.values["unit.code"][1] == at.values["unit.name"][1]
                     and _find(g, _LABELS["unit.code"], range(0, code_row)) is None)
        cells: dict[Pos, tuple[str, Any]] = {}
        for f, (_v, addr) in at.values.items():
            pos = L.parse_a1(addr)
            if unit_line and f == "unit.name":
                continue  # the unit line: one cell for both unit fields
            if pos is None or pos[0] >= rows or pos in cells:
                return None
            cells[pos] = (_TITLE_CELL if f == "title" else
                          _UNIT_CELL if unit_line and f == "unit.code" else _FILL, f)
        for pos in at.plan:
            if cells.setdefault(pos, (_PLAN_CELL, "project.plan"))[0] != _PLAN_CELL:
                return None
        fill_right = {(r, c) for (r, c), (what, _f) in cells.items() if what == _FILL}
        if any(r == pr and c > pc for r, c in fill_right for pr, pc in at.plan):
            return None  # a walk from a label to its value might cross a plan cell
        for r in range(min(rows, g.height)):
            for c, v in enumerate(g.rows[r]):
                if (r, c) in cells or v is None or v == "":
                    continue
                cells[(r, c)] = (_FIXED, v)  # a label, or any text the same in every sheet
        merges = _head_merges(g, rows)
        any_order = _disjoint(merges)
        form = cls(rows, tuple(sorted(merges)) if any_order else merges, cells, at,
                   [g.anchor(r, c) for r, c in at.plan], code_row, any_order)
        return form if form.locate(g) is not None else None

    def __post_init__(self) -> None:
        unit = [pos for pos, (what, _f) in self.cells.items() if what == _UNIT_CELL]
        self._unit = unit[0] if unit else None
        self._values = [(f, L.parse_a1(addr) or (0, 0), addr)
                        for f, (_v, addr) in self.reference.values.items()
                        if not (unit and f.startswith("unit."))]
        # per head row: its width, the fixed columns and texts, the columns that must be empty,
        # and the value cells (checked one by one: kind, and whether it comes before the unit
        # line, so must not read as one)
        self._rows: list[tuple[int, Callable[[Any], Any], Any, Callable[[Any], Any],
                               list[tuple[int, str, bool]]]] = []
        for r in range(self.rows):
            mine = sorted((c, kind) for (rr, c), kind in self.cells.items() if rr == r)
            width = mine[-1][0] + 1 if mine else 0
            fixed = [(c, text) for c, (what, text) in mine if what == _FIXED]
            taken = {c for c, _ in mine}
            self._rows.append((width, _getter([c for c, _ in fixed]),
                               tuple(t for _, t in fixed),
                               _getter([c for c in range(width) if c not in taken]),
                               [(c, what, self._unit is not None and r < self.code_row
                                 and (r, c) < self._unit)
                                for c, (what, _) in mine if what != _FIXED]))

    def locate(self, g: Grid) -> Located | None:
        """The fields of ``g`` at this form's cells, or None when ``g``'s head differs."""
        if g.height < self.rows:
            return None
        merges = _head_merges(g, self.rows)
        if (tuple(sorted(merges)) if self.any_order else merges) != self.merges:
            return None
        seq = 0
        unit_line = None
        for row, (width, fixed, expected, empty, values) in zip(g.rows[:self.rows], self._rows,
                                                                strict=True):
            if (len(row) < width or fixed(row) != expected
                    or not _EMPTY.issuperset(empty(row)) or not _EMPTY.issuperset(row[width:])):
                return None
            for c, what, before_unit in values:
                v = row[c]
                if before_unit and v.__class__ is str and _UNIT_LINE.match(v):
                    return None  # the search would take this cell for the unit line
                if what == _PLAN_CELL:
                    if v.__class__ is str and _significant(v):
                        return None
                elif v.__class__ is not str:
                    if what in (_TITLE_CELL, _UNIT_CELL) or v is None:
                        return None
                elif not v.strip() or _significant(v) != (what == _TITLE_CELL):
                    return None
                elif what == _TITLE_CELL:
                    k = key(v)
                    m = _TITLE.match(k)
                    if m is None or _classify(k) or _MONEY_UNIT.search(k):
                        return None
                    seq = int(m.group("seq"))
                elif what == _UNIT_CELL:
                    unit_line = _UNIT_LINE.match(v)
                    if unit_line is None:
                        return None
        ref, rows = self.reference, g.rows
        got = {f: (rows[r][c], addr) for f, (r, c), addr in self._values}
        if unit_line is not None:
            addr = ref.values["unit.code"][1]
            got["unit.code"] = (unit_line.group("code"), addr)
            got["unit.name"] = (unit_line.group("name"), addr)
            got = {f: got[f] for f in ref.values}  # in the order of the cell map
        names, where, start, _stop = ref.table or ((), (), 0, 0)
        return Located(got, seq, ref.factor, ref.money_unit, ref.plan, self.plan_values,
                       (names, where, start, g.height))


_EMPTY = frozenset(("", None))


def _getter(items: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """``operator.itemgetter`` that always returns a tuple (of one item, or none)."""
    if len(items) > 1:
        return operator.itemgetter(*items)
    if items:
        only = items[0]
        return lambda seq: (seq[only],)
    return lambda seq: ()


class Forms:
    """The forms learned from the sheets read so far, the latest first (a few: a book holds one,
    a batch of books a handful of template versions)."""

    KEEP = 8

    def __init__(self) -> None:
        self._forms: list[Form] = []

    def fit(self, g: Grid) -> Located | None:
        """``g``'s fields at the cells of a form learned before (in any book), if one fits."""
        for i, form in enumerate(self._forms):
            at = form.locate(g)
            if at is not None:
                if i:  # the form that fits goes first: the next sheet is most likely the same
                    self._forms.insert(0, self._forms.pop(i))
                return at
        return None

    def learn(self, g: Grid, at: Located) -> Form | None:
        """Learn the form of ``g``, which the label search located at ``at``, for the next
        sheets; None when its head is not one to rely on."""
        form = Form.of(g, at)
        if form is not None:
            self._forms.insert(0, form)
            del self._forms[self.KEEP:]
        return form

    def clear(self) -> None:
        """Forget every form learned."""
        self._forms.clear()


LEARNED = Forms()
"""The forms learned in this process, shared by every book it reads (a batch of books from one
template searches for labels once); ``LEARNED.clear()`` forgets them. A form only ever gives the
cells the label search would find, so what is read never depends on what was learned before."""


def _head_merges(g: Grid, rows: int) -> tuple[tuple[int, int, int, int], ...]:
    """The merged ranges that start in the head, in the book's order (the same order for every
    sheet our template writes; another order is simply not the form)."""
    return tuple(m for m in g.merges if m[0] < rows)


def _disjoint(merges: Sequence[tuple[int, int, int, int]], most: int = 64) -> bool:
    """No two of these merged ranges share a cell (nor is one given twice); more than ``most``
    are not compared (taken as overlapping: their order is then kept)."""
    if len(merges) > most:
        return False
    return all(a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
               for a, b in itertools.combinations(merges, 2))


@functools.lru_cache(maxsize=16384)
def _significant(v: str) -> bool:
    """Text the label search would take for a label, a title or a money unit (cached: the
    same names and labels come back in every sheet)."""
    if not _MAYBE_LABEL.search(v):
        return False
    k = key(v)
    return bool(_classify(k) or _TITLE.match(k) or _MONEY_UNIT.search(k))


def _unit(g: Grid, head: range, values: dict[str, tuple[Any, str]]) -> None:
    code_pos = _find(g, _LABELS["unit.code"], head)
    if code_pos:
        values["unit.code"] = _right(g, code_pos)
        name_pos = _find(g, _LABELS["unit.name"], head)
        if name_pos:
            values["unit.name"] = _right(g, name_pos)
        return
    for r in head:
        for c, v in enumerate(g.rows[r] if r < g.height else ()):
            m = _UNIT_LINE.match(v) if v.__class__ is str else None
            if m:
                values["unit.code"] = (m.group("code"), a1(r, c))
                values["unit.name"] = (m.group("name"), a1(r, c))
                return


def _purpose(g: Grid, body: range, budget_pos: Pos | None,
             values: dict[str, tuple[Any, str]]) -> None:
    pos = _find(g, _LABELS["project.purpose"], body)
    if pos:
        values["project.purpose"] = _right(g, pos)
        return
    funds = _find(g, _LABELS["funds"], body)
    if funds is None or budget_pos is None:
        return
    r = budget_pos[0] + 1
    label_end = g.end_col(*funds)
    for c in range(label_end + 1, g.width):
        ar, ac = g.anchor(r, c)
        v = g.raw(ar, ac)
        if ar == r and v not in (None, "") and not (g.key(ar, ac) and is_any_label(g.key(ar, ac))):
            values["project.purpose"] = (v, a1(ar, ac))
            return
    values["project.purpose"] = ("", a1(r, label_end + 1))


def _quarters(g: Grid, body: range) -> list[Pos] | None:
    """The cells below the 3/6/10/12月底 labels, when all four are there."""
    quarters: dict[int, Pos] = {}
    for pos in g.positions(_QUARTER):
        if pos[0] in body:
            m = _QUARTER.match(_label(g.key(*pos)))
            if m:
                quarters.setdefault(int(m.group(1)), pos)
    if len(quarters) < 4:
        return None
    return [(g.end_row(r, c) + 1, c) for r, c in (quarters[m] for m in (3, 6, 10, 12))]


def _plan(g: Grid, places: list[Pos], cells: dict[str, Any], raw: dict[str, str],
          fractions: bool, anchors: list[Pos] | None = None) -> Plan | None:
    cells["project.plan"] = [a1(r, c) for r, c in places]
    values = _cell_values(g, places, anchors)
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    as_fractions = fractions or (bool(numbers) and all(v <= 1 for v in numbers))
    out: list[Decimal | None] = []
    for v in values:
        try:
            out.append(percent(v, as_fractions))
        except ValueError:
            out.append(None)
            raw["project.plan"] = text(v)
    if all(v is None for v in out) and "project.plan" not in raw:
        return None
    return (out[0], out[1], out[2], out[3])


def _columns(g: Grid, header_row: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The indicator table's fields and their columns, from its header row."""
    cols: dict[str, int] = {}
    for c, k in g.row_labels(header_row):
        for f, pat in _HEADERS.items():
            if f not in cols and pat.match(_label(k)):
                cols[f] = c
    return tuple(cols), tuple(cols.values())


def _indicators(g: Grid, body: range) -> list[Indicator]:
    header = _find(g, _HEADERS["level1"], body)
    if header is None:
        return []
    return _indicator_rows(g, *_columns(g, header[0]), g.end_row(*header) + 1,
                           min(body.stop, g.height))


def _indicator_rows(g: Grid, names: tuple[str, ...], where: tuple[int, ...], start: int,
                    stop: int) -> list[Indicator]:
    """The indicator rows from ``start``: until a note, the next table, or ``stop``."""
    pick, at1, at2, others, columns, index, width, get = _table_columns(names, where)
    rows, texts = g.rows, g.texts()
    # the table's cells inside a merged range (not its top-left): row → (field index, top-left);
    # from the merged ranges below ``start`` only, as Grid._anchor maps them (the last wins)
    cover: dict[Pos, Pos] = {}
    for r0, c0, r1, c1 in g.merges_between(start, stop):
        for c in where:
            if c0 <= c <= c1:
                for r in range(max(r0, start), min(r1 + 1, stop)):
                    cover[(r, c)] = (r0, c0)
    merged: dict[int, list[tuple[int, Pos]]] = {}
    for (r, c), top in cover.items():
        if top != (r, c):
            merged.setdefault(r, []).append((index[c], top))
    out = []
    group: tuple[str, str] | None = None  # the last 一级指标 above: its text and cell
    for r in range(start, stop):
        # values straight from the row (a merged cell from its top-left); addresses only for
        # the rows that are indicators
        line = rows[r]
        values: Sequence[Any]
        if len(line) >= width:
            values = get(line)
        else:
            values = [line[c] if c < len(line) else None for c in where]
        inside = merged.get(r)
        if inside:
            values = list(values)
            for i, (tr, tc) in inside:
                values[i] = g.raw(tr, tc)
        try:
            vals = list(map(str.strip, values))  # the common case: every cell holds text
        except TypeError:
            vals = [v.strip() if v.__class__ is str else text(v) for v in values]
        vals.append("")
        first = text_key(vals[at1])
        if first.startswith(_NOTES) or (_MAYBE_BLOCK.search(texts[r])
                                        and any(_starts_block(k) for _c, k in g.row_labels(r))):
            break  # a note below the table, or the next table's title / 项目编码
        if not any(others(vals)):
            if first and first not in LEVELS and not vals[at2]:
                break  # a note below the table, not an indicator
            if first:
                group = (vals[at1], _level1_cell(r, inside, at1, columns))
            continue  # blank, or a placeholder row (categories only)
        number = str(r + 1)
        cells = {f: letter + number for f, letter in columns}
        if inside:
            for i, (tr, tc) in inside:
                cells[names[i]] = a1(tr, tc)
        level1, level2, level3, description, value, basis = pick(vals)
        if first:
            group = (vals[at1], cells["level1"])
        elif group is not None:
            # a blank 一级指标 belongs to the group above it, merged or not (as the book's live
            # checks read it): the group's cell stands for it
            level1, cells["level1"] = group
        out.append(Indicator(level1, level2, level3, description, value, basis, cells))
    return out


def _level1_cell(r: int, inside: list[tuple[int, Pos]] | None, at1: int,
                 columns: list[tuple[str, str]]) -> str:
    """Row ``r``'s 一级指标 cell: the top-left of the merged range it is in, else its own."""
    for i, (tr, tc) in inside or ():
        if i == at1:
            return a1(tr, tc)
    return f"{columns[at1][1]}{r + 1}"


@functools.lru_cache(maxsize=256)
def _table_columns(names: tuple[str, ...], where: tuple[int, ...]) -> tuple[
        Callable[[Any], tuple[Any, ...]], int, int, Callable[[Any], tuple[Any, ...]],
        list[tuple[str, str]], dict[int, int], int, Callable[[Any], tuple[Any, ...]]]:
    """What reading an indicator table's rows needs from its columns alone (the same for every
    sheet of a form, so worked out once): the getter of the six fields (a missing one reads as
    the "" appended to each row), where 一级 and 二级 are, the getter of the other fields, each
    field's column letters, column → field index, the row width needed and the cells' getter."""
    absent = len(names)  # index of the "" appended to each row's values
    pick = operator.itemgetter(*(names.index(f) if f in names else absent for f in _HEADERS))
    at1 = names.index("level1") if "level1" in names else absent
    at2 = names.index("level2") if "level2" in names else absent
    others = _getter([i for i, f in enumerate(names) if f not in _CATEGORIES])
    columns = [(f, L.column_letters(c)) for f, c in zip(names, where, strict=True)]
    index = {c: i for i, c in enumerate(where)}
    width = max(where, default=-1) + 1
    return pick, at1, at2, others, columns, index, width, _getter(list(where))


_NOTES = ("注", "备注", "填表", "说明")
_CATEGORIES = frozenset(("level1", "level2"))


@functools.lru_cache(maxsize=16384)
def _starts_block(k: str) -> bool:
    """A title (1.xxx绩效目标表) or a 项目编码 label: the next project table begins."""
    return bool(_TITLE.match(k)) or _is_code_label(k)


def _table_end(g: Grid, b: _Block) -> int:
    """The row after a block's last indicator row (where the next block's title area starts)."""
    inds = _indicators(g, range(b.anchor[0], b.bottom))
    last = b.anchor[0]
    for ind in inds:
        for addr in ind.cells.values():  # A1 addresses: the row after the column's letters
            row = int(addr.lstrip(_LETTERS)) - 1
            if row > last:
                last = row
    return last + 1


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --- 部门整体 ----------------------------------------------------------------------------------

def _is_department_sheet(g: Grid) -> bool:
    if "部门整体" in g.name:
        return True
    # A label keyed 一、总体绩效目标 holds 总 and 绩 as they are (no other character normalises
    # to either): only the cells of rows holding both are keyed, and only those cells holding
    # both (the labels the label search indexes: Grid.labels).
    stop = g.height if g.index_rows is None else min(g.index_rows, g.height)
    texts = g.texts()
    for r in range(stop):
        t = texts[r]
        if "总" in t and "绩" in t:
            for v in g.rows[r]:
                if (v.__class__ is str and "总" in v and "绩" in v and _MAYBE_LABEL.search(v)
                        and key(v) == _OVERALL):
                    return True
    return False


_OVERALL = key(L.LABEL_OVERALL)


def parse_department(g: Grid, dept: Department) -> None:
    """The 部门整体 sheet of our layout: fields by label, then its sections in order."""
    everything = range(0, g.height)

    def at(label: str) -> tuple[Any, str] | None:
        pos = _find_exact(g, _label(key(label)), everything)
        return _right(g, pos) if pos else None

    def txt(label: str) -> str:
        got = at(label)
        return text(got[0]) if got else ""

    dept.name = txt(L.LABEL_DEPT_NAME)
    dept.region = txt(L.LABEL_DEPT_REGION)
    dept.title = txt(L.LABEL_DEPT_TITLE)
    year = at(L.LABEL_DEPT_YEAR)
    if year and year[0] not in ("", None):
        try:
            dept.year = int(decimal(year[0]) or 0) or None
        except ValueError:
            dept.year = None
    declared = at(L.LABEL_DECLARED)
    if declared:
        dept.cells["department.total"] = declared[1]
        try:
            dept.declared_total = amount(declared[0])
        except ValueError:
            dept.declared_total = None

    sections = {name: _find_exact(g, key(name), everything)
                for name in (L.LABEL_UNITS, L.LABEL_OVERALL, L.LABEL_SCORING, L.LABEL_MEASURES)}
    rows = sorted(p[0] for p in sections.values() if p)

    def section_rows(name: str) -> range:
        pos = sections[name]
        if pos is None:
            return range(0)
        nxt = [r for r in rows if r > pos[0]]
        return range(pos[0] + 1, nxt[0] if nxt else g.height)

    for r in section_rows(L.LABEL_UNITS):
        code, name = text(g.value(r, 0)), text(g.value(r, 2))
        if code and key(code) != key(L.LABEL_UNIT_CODE):
            dept.units.append(Unit(unicodedata.normalize("NFKC", code), name))

    overall = section_rows(L.LABEL_OVERALL)
    if overall:
        dept.overall_goal = text(g.value(overall.start, 0))

    scoring = section_rows(L.LABEL_SCORING)
    s = Scoring()
    if scoring:
        dept.scoring_intro = text(g.value(scoring.start, 0))
    in_table = False
    for r in scoring:
        a, b = key(g.value(r, 0)), key(g.value(r, 1))
        if a == "序号":
            in_table = True
            continue
        if in_table:
            if b == "合计":
                in_table = False
                dept.cells["department.scoring"] = a1(r, 2)
            elif b:
                s.items.append(ScoringItem(text(g.value(r, 1)), _int(g.value(r, 2)),
                                           _int(g.value(r, 3)), text(g.value(r, 4))))
            continue
        label = _label(a)
        if label == L.LABEL_BONUS:
            s.bonus_text = text(g.value(r, 2))
        elif label == "每次加分(下限)":
            s.bonus_min = _int(g.value(r, 2))
        elif label == "每次加分(上限)":
            s.bonus_max = _int(g.value(r, 2))
        elif label == L.LABEL_BONUS_CAP:
            s.bonus_cap = _int(g.value(r, 2))
            dept.cells["department.bonus_cap"] = a1(r, 2)
        elif label.startswith(L.LABEL_DEDUCTION) and g.value(r, 2) not in ("", None):
            s.deductions.append(Deduction(_int(g.value(r, 2)), text(g.value(r, 3))))
    dept.scoring = s

    for r in section_rows(L.LABEL_MEASURES):
        title, body = text(g.value(r, 1)), text(g.value(r, 2))
        if title or body:
            dept.measures.append(Measure(title, body))


def _int(v: Any) -> int:
    try:
        d = decimal(v)
    except ValueError:
        return 0
    return int(d) if d is not None else 0
