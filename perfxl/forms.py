"""The other forms users send, read into the same model as our own project tables.

The label search in read/parser.py reads our template and the seed's hand-typed layout, where a 项目编码
label anchors each table. Users also send forms issued by others; these are recognised here by
their labels on a :class:`~perfxl.read.Grid` and read into Projects with their cell map:

- the Ministry of Finance **项目支出绩效目标申报表** (the national layout many provinces use): 项目名称,
  主管部门, 实施单位, 项目属性, 项目期, 项目资金(万元) with 年度资金总额 / 其中:财政拨款 / 其他资金
  (the original also has 中期资金总额 beside them), 总体目标 or 年度绩效目标 (or 中期目标 /
  年度目标 side by side), and the 绩效指标 table: 一级指标 / 二级指标 / 三级指标 / 指标值 (or
  指标性质 / 指标值 / 度量单位, or 中期指标值 / 年度指标值), often with 评(扣)分标准 and 备注.
  Usually no 项目编码 and no code in 实施单位;
- the 一体化 system's **indicator import sheet**: one row per indicator — 具体项目代码 (or 项目代码),
  一级/二级/三级绩效指标名称 (codes in columns beside the names, or before them: ``11-数量指标``),
  绩效指标说明, 指标值, 评(扣)分标准, 备注. No amounts, no goals, usually no unit;
- a **list of projects**, one per row (项目代码 | 项目名称 | … as column headers, no indicator
  table): not a target table. It is recognised only to be skipped with the reason (the label
  search would take the header to the right of 项目代码 for the project's name).

Fields a form has no place for are listed in ``Project.absent``; the rules report them once, as
such (``code-absent-in-form``, ``amounts-absent-in-form``), never as empty cells. 评(扣)分标准 and
备注 have no field in the model and are not read.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .layout import a1
from .model import LEVELS, Department, Indicator, Project, Skipped
from .values import OPERATORS, WAN, amount, key, text

if TYPE_CHECKING:
    from .read import Grid

Pos = tuple[int, int]

NATIONAL = "national"
IMPORT = "import"
SELFEVAL = "selfeval"
"""A 绩效自评 book perfxl selfeval wrote (selfeval_read.py reads it)."""
MONITOR = "monitor"
"""A 绩效运行监控 book (perfxl monitor; read by read/monitor.py, not here)."""
SCORING = "scoring"
"""A 考核 scoring book (perfxl scoring; read by read/scoring.py, not here)."""
FORMS: dict[str, tuple[str, str]] = {
    NATIONAL: ("项目支出绩效目标申报表", "national project performance-target form"),
    IMPORT: ("一体化系统绩效指标导入表", "integrated-system indicator import sheet"),
    SELFEVAL: ("项目支出绩效自评表", "project self-evaluation form"),
    MONITOR: ("绩效运行监控表", "performance monitoring form"),
    SCORING: ("部门整体绩效考核评分表", "department assessment scoring sheet"),
}
"""Form id (``Project.form``, ``Department.form``, the JSON's ``form``) → names (zh, en)."""


@dataclass
class FormSheet:
    """What one sheet in a known form holds: projects, or why it was skipped."""

    form: str
    projects: list[Project] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    department: str = ""
    year: int | None = None

    def into(self, dept: Department) -> None:
        dept.projects.extend(self.projects)
        dept.skipped.extend(self.skipped)
        if self.department and not dept.name:
            dept.name = self.department
        if self.year and dept.year is None:
            dept.year = self.year
        if self.projects and self.form in FORMS and not dept.form:
            dept.form = self.form


def read_form(g: Grid) -> FormSheet | None:
    """``g`` read in the known form it is in; None when it is in none (the label search's turn).

    Each form is told by labels ours never has: 实施单位 or 主管部门 with 项目资金 or 资金总额
    for the national form; 项目代码 with 三级指标 and 指标值 in one header row for the import
    sheet; 项目代码 beside 项目名称 in a header row, and no 一级 anywhere, for a list. Most
    sheets are told apart by a few searches over their text, without looking at a cell.
    """
    rows = g.texts()
    sheet = "\n".join(rows)  # one search each over the sheet's text decides for most sheets
    if _UNIT_HINT.search(sheet) and _FUNDS_HINT.search(sheet):
        got = _national(g)
        if got is not None:
            return got
    if "三级" in sheet and _CODE_HINT.search(sheet):
        for r, t in enumerate(rows):
            if "三级" in t and _CODE_HINT.search(t) and (got := _import(g, r)) is not None:
                return got
    if "一级" not in sheet and _CODE_HINT.search(sheet) and _project_list(g, rows):
        return FormSheet("list", skipped=[Skipped(
            g.name, "项目清单(每行一个项目,「项目编码/项目代码」是列标题),不是项目支出绩效目标表",
            "a list of projects, one per row (项目编码/项目代码 is a column header), "
            "not a project table")])
    return None


# --- labels ----------------------------------------------------------------------------------

_UNIT_HINT = re.compile(r"实\s*施\s*单\s*位|主\s*管\s*部\s*门")
_FUNDS_HINT = re.compile(r"资\s*金\s*总\s*额|项\s*目\s*资\s*金")
_CODE_HINT = re.compile(r"[代编]\s*码")
_MONEY = r"(?:\((?P<unit>万?元)\))?"


class _Table:
    """Label patterns by name, each matching a whole label; compiled when first needed (most
    books never need them)."""

    def __init__(self, source: dict[str, str]) -> None:
        self.source = source

    @functools.cached_property
    def patterns(self) -> dict[str, re.Pattern[str]]:
        return {name: re.compile(f"^(?:{p})$") for name, p in self.source.items()}

    def __getitem__(self, name: str) -> re.Pattern[str]:
        return self.patterns[name]


# The national form's labels, by the part they name; first match wins (the order matters).
_NATIONAL = _Table({
    "project.name": r"(具体)?项目名称",
    "project.code": r"(具体)?项目(编码|代码)",
    "department": r"主管部门(及代码|\(代码\)|名称)?(\(代码\))?",
    "unit": r"(实施|项目|预算)单位(及代码|\(代码\)|名称)?(\(代码\))?",
    "unit.code": r"(实施|项目|预算)?单位(编码|代码)",
    "attribute": r"项目属性",
    "period": r"项目(周期|期限|期)",
    "funds": rf"(项目资金|资金情况){_MONEY}",
    "total": rf"(年度)?资金总额{_MONEY}",
    "total_mid": rf"中期资金总额{_MONEY}",
    "fiscal": rf"(其中[:,]?)?财政(拨款|资金){_MONEY}",
    "other": rf"其他资金{_MONEY}",
    "goals": r"总体(绩效)?目标|年度(总体|绩效)目标|(项目)?绩效目标",
    "goals_annual": r"年度目标(\(.*\))?",
    "goals_mid": r"中期(绩效)?目标(\(.*\))?",
    "indicators": r"绩效指标",
    "level1": r"一级(绩效)?指标(名称)?",
    "level2": r"二级(绩效)?指标(名称)?",
    "level3": r"三级(绩效)?指标(名称)?",
    "value": r"(年度)?指标值",
    "value_mid": r"中期指标值",
    "nature": r"指标(值)?性质|指标方向",
    "measure": r"(度量|计量|指标值?)单位",
    "description": r"(绩效)?指标(描述|说明|解释|内容)",
    "basis": r"指标值(确定|设定)?依据|(确定|设定)依据",
    "scoring": r"评\(扣\)分(标准|依据)|评分标准|扣分标准",
    "remark": r"备注",
})

# The import sheet's column headers.
_IMPORT = _Table({
    "project.code": r"(具体)?项目(代码|编码)",
    "project.name": r"(具体)?项目名称",
    "unit.code": r"(项目|预算|实施)?单位(代码|编码)",
    "unit.name": r"(项目|预算|实施)单位(名称)?|单位名称",
    "level1": r"一级(绩效)?指标(名称)?",
    "level2": r"二级(绩效)?指标(名称)?",
    "level3": r"三级(绩效)?指标(名称)?",
    "description": r"(绩效)?指标(说明|描述|解释|内容)",
    "value": r"(年度)?指标值",
    "nature": r"指标(值)?性质|指标方向",
    "measure": r"(度量|计量|指标值?)单位",
    "basis": r"指标值(确定|设定)?依据",
})


@functools.lru_cache(maxsize=4096)
def _label_key(v: str) -> str:
    """A cell's text as a label: NFKC, no whitespace, no leading ``*`` (a required column in
    import sheets), no trailing colon; "" for long text (no label is long)."""
    return key(v).lstrip("*").rstrip(":") if len(v) <= 40 else ""


def _classifier(table: _Table) -> Callable[[str], str]:
    @functools.lru_cache(maxsize=4096)
    def classify(k: str) -> str:
        return next((name for name, pat in table.patterns.items() if pat.match(k)), "") \
            if k else ""
    return classify


_national_label = _classifier(_NATIONAL)
_import_label = _classifier(_IMPORT)


class _Labels:
    """The label cells of a sheet (top-left cells only), by name and by position."""

    def __init__(self, g: Grid, classify: Callable[[str], str]) -> None:
        self.at: dict[str, list[Pos]] = {}
        self.of: dict[Pos, str] = {}
        self.text: dict[Pos, str] = {}
        for r, row in enumerate(g.rows):
            for c, v in enumerate(row):
                if v.__class__ is str and v and g.anchor(r, c) == (r, c):
                    k = _label_key(v)
                    name = classify(k)
                    if name:
                        self.at.setdefault(name, []).append((r, c))
                        self.of[(r, c)] = name
                        self.text[(r, c)] = k

    def first(self, name: str, rows: range) -> Pos | None:
        return next((p for p in self.at.get(name, ()) if p[0] in rows), None)

    def all(self, name: str, rows: range) -> list[Pos]:
        return [p for p in self.at.get(name, ()) if p[0] in rows]

    def money_unit(self, pos: Pos | None) -> str:
        """万元 or 元 when the label at ``pos`` states it (项目资金(万元)), else ""."""
        if pos is None:
            return ""
        m = _NATIONAL[self.of[pos]].match(self.text[pos])
        return (m.groupdict().get("unit") or "") if m else ""


def _blank(v: Any) -> bool:
    return v is None or (v.__class__ is str and not v.strip())


def _right(g: Grid, labels: _Labels, pos: Pos, limit: int = 8) -> tuple[Any, str]:
    """:meth:`Grid.right_of` with this form's labels."""
    return g.right_of(pos, limit, lambda r, c: (r, c) in labels.of)


def _below(g: Grid, labels: _Labels, pos: Pos) -> tuple[Any, str] | None:
    """The value under a column header (the header row above a row of values), if any."""
    r = g.end_row(*pos) + 1
    ar, ac = g.anchor(r, pos[1])
    v = g.raw(ar, ac)
    if ar == r and not _blank(v) and (ar, ac) not in labels.of:
        return v, a1(ar, ac)
    return None


def _value(g: Grid, labels: _Labels, pos: Pos) -> tuple[Any, str]:
    """``_right``, or the value below when the label heads a column: its right neighbour is
    another label (项目资金 laid out as a header row over a row of amounts)."""
    got = _right(g, labels, pos)
    if _blank(got[0]):
        nxt = g.anchor(pos[0], g.end_col(*pos) + 1)
        if nxt in labels.of:
            return _below(g, labels, pos) or got
    return got


# --- the national form -----------------------------------------------------------------------

_TITLE = re.compile("申报表|绩效目标表")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_MONEY_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(?P<unit>万?元)")
_UNIT_WITH_CODE = re.compile(
    r"^[\[【(（]?(?P<code>\d{6,})[\]】)）]?\s*[-－—_:：、]?\s*(?P<name>\D.*)$", re.S)
"""A unit (or department) code of six digits or more before its name; a year (2021年…) is not."""
_NUMBERED = re.compile(r"^\s*指标\s*\d+\s*[:：、.]\s*")
_NOTE = re.compile(r"^\s*(注\s*\d*\s*[:：.、]|填表说明|说明\s*[:：]|备注\s*[:：]"
                   r"|填报(人|单位|日期)|审核人|联系(人|电话)|(单位)?负责人)")
"""A note or the signature line below a table (``注:``, ``填报人:`` …), not an indicator
named 注册…"""
_WORD_OPS = {"大于等于": "≥", "不低于": "≥", "不少于": "≥", "至少": "≥", "不小于": "≥",
             "小于等于": "≤", "不高于": "≤", "不超过": "≤", "不多于": "≤", "不大于": "≤",
             "等于": "=", "大于": ">", "高于": ">", "小于": "<", "低于": "<"}
# what the national form has no place for (the plan, 资金用途); the indicator columns it lacks
# are added per sheet
_NATIONAL_ABSENT = frozenset({"project.plan", "project.purpose"})


def _national(g: Grid) -> FormSheet | None:
    labels = _Labels(g, _national_label)
    names = labels.at.get("project.name", [])
    if not names or not ("unit" in labels.at or "department" in labels.at) or not (
            "funds" in labels.at or "total" in labels.at):
        return None  # not this form (or too little of it to tell)
    sheet = FormSheet(NATIONAL)
    for i, anchor in enumerate(names):
        head = range(names[i - 1][0] + 1 if i else 0, anchor[0])
        body = range(anchor[0], names[i + 1][0] if i + 1 < len(names) else g.height)
        p = _national_project(g, labels, anchor, head, body, sheet)
        if p is None:
            sheet.skipped.append(Skipped(g.name, f"空白的{FORMS[NATIONAL][0]}",
                                         f"blank {FORMS[NATIONAL][1]}"))
        else:
            sheet.projects.append(p)
    return sheet


def _national_project(g: Grid, labels: _Labels, anchor: Pos, head: range, body: range,
                      sheet: FormSheet) -> Project | None:
    cells: dict[str, Any] = {}
    absent = set(_NATIONAL_ABSENT)

    def at(name: str, fld: str, rows: range = body) -> str:
        pos = labels.first(name, rows)
        if pos is None:
            return ""
        v, cells[fld] = _right(g, labels, pos)
        return text(v)

    # the title (项目支出绩效目标申报表) and the year line ((2021年度)) above the table
    for r in head:
        for c, t in enumerate(g.rows[r]):
            if t.__class__ is str and t.strip():
                if "title" not in cells and _TITLE.search(key(t)):
                    cells["title"] = a1(r, c)
                if (m := _YEAR.search(t)) and sheet.year is None:
                    sheet.year = int(m.group(1))
    name = at("project.name", "project.name")
    # a 项目编码 row added just above 项目名称, or anywhere below it
    code_pos = labels.first("project.code", range(max(head.start, anchor[0] - 2), body.stop))
    code_raw = ""
    if code_pos is not None:
        got, cells["project.code"] = _right(g, labels, code_pos)
        code_raw = text(got)
    else:  # the form has no 项目编码 row: it belongs above 项目名称
        absent.add("project.code")
        cells["project.code"] = a1(*anchor)
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", code_raw))

    department = _without_code(at("department", "department"))[1]
    if department and not sheet.department:
        sheet.department = department
    cells.pop("department", None)
    unit_text = at("unit", "unit.name")
    unit_code, unit_name = _without_code(unit_text)
    if unit_code:
        cells["unit.code"] = cells["unit.name"]
    elif labels.first("unit.code", body) is not None:
        unit_code = unicodedata.normalize("NFKC", at("unit.code", "unit.code")).strip()
    else:
        absent.add("unit.code")
        cells.setdefault("unit.name", a1(*anchor))  # no 实施单位 label: the project's label
        cells["unit.code"] = cells["unit.name"]

    # 项目资金: the year's total and its parts (中期 columns beside them are not read)
    header = labels.first("level1", body)
    funds_rows = range(body.start, header[0] if header else body.stop)
    funds = labels.first("funds", funds_rows)
    total = labels.first("total", funds_rows)
    fiscal = _near(labels.all("fiscal", funds_rows), total)
    other = _near(labels.all("other", funds_rows), total)
    money_unit = next((u for u in map(labels.money_unit, (funds, total, fiscal, other)) if u), "")
    if not money_unit:
        money_unit = _stated_unit(g, range(head.start, funds_rows.stop))
    factor = WAN if money_unit == "万元" else Decimal(1)
    amounts: dict[str, Decimal | None] = {}
    raw: dict[str, str] = {}
    for fld, pos in (("project.budget", total or funds), ("project.fiscal", fiscal),
                     ("project.other", other)):
        v: Any = ""
        if pos is not None:
            v, cells[fld] = _value(g, labels, pos)
        try:
            amounts[fld] = amount(v, factor)
        except ValueError:
            amounts[fld] = None
            raw[fld] = text(v)

    goals = _goals(g, labels, funds_rows, cells)
    indicators = _national_indicators(g, labels, header, body, absent) if header else []
    if not (code or name or any(a is not None for a in amounts.values()) or raw or indicators):
        return None
    return Project(
        seq=0, unit_code=unit_code, unit_name=unit_name, code=code, name=name,
        budget=amounts["project.budget"], fiscal=amounts["project.fiscal"],
        other=amounts["project.other"], goals=goals, indicators=indicators, sheet=g.name,
        code_raw=code_raw, amount_unit=money_unit, raw=raw, cells=cells, form=NATIONAL,
        absent=frozenset(absent))


def _without_code(s: str) -> tuple[str, str]:
    """(code, name) of ``630001 单位名称`` / ``101001-单位名称`` / ``[101001]单位名称``; ("", s)
    when the text starts with no code."""
    m = _UNIT_WITH_CODE.match(unicodedata.normalize("NFKC", s).strip())
    if m is None:
        return "", s
    return m.group("code"), m.group("name").strip()


def _near(found: list[Pos], total: Pos | None) -> Pos | None:
    """The 财政拨款 / 其他资金 label belonging to the year's total: in its column below it (the
    form's layout, with 中期 columns beside it), else on its row to the right (laid out in a row),
    else the first one."""
    if total is None:
        return found[0] if found else None
    r0, c0 = total
    return (next((p for p in found if p[1] == c0 and r0 < p[0] <= r0 + 4), None)
            or next((p for p in found if p[0] == r0 and p[1] > c0), None)
            or next((p for p in found if p[0] >= r0), None))


def _stated_unit(g: Grid, rows: range) -> str:
    """The money unit of a ``单位:万元`` cell in ``rows`` (above the indicator table), or ""."""
    for r in rows:
        for v in g.rows[r] if r < g.height else ():
            if v.__class__ is str and "单位" in v and (m := _MONEY_UNIT.search(key(v))):
                return m.group("unit")
    return ""


def _goals(g: Grid, labels: _Labels, rows: range, cells: dict[str, Any]) -> str:
    """总体目标 / 年度绩效目标 text; with 中期目标 and 年度目标 side by side, the year's (below
    its header)."""
    for pos in labels.all("goals_annual", rows):
        if any(q[0] == pos[0] for q in labels.all("goals_mid", rows)):
            r = g.end_row(*pos) + 1
            got = _below(g, labels, pos)
            v, cells["project.goals"] = got or ("", a1(r, pos[1]))
            return text(v)
    found = sorted(labels.all("goals", rows) + labels.all("goals_annual", rows))
    if not found:
        return ""
    pos = found[0]
    v, cells["project.goals"] = _right(g, labels, pos)
    if _blank(v) and g.end_col(*pos) + 1 >= g.width:  # a heading across the table: text below
        got = _below(g, labels, pos)
        if got:
            v, cells["project.goals"] = got
    return text(v)


_COLUMNS = frozenset(("level1", "level2", "level3", "value", "value_mid", "nature", "measure",
                      "description", "basis", "scoring", "remark"))
"""The indicator table's column headers (绩效指标, the label left of the table, is not one)."""


def _header_columns(g: Grid, labels: _Labels, header: Pos) -> tuple[dict[str, int], int]:
    """The indicator table's columns by field, and its first row. A second header row under a
    merged 指标值 (指标性质 / 指标值 / 度量单位) refines the first."""
    rows = range(header[0], g.end_row(*header) + 1)
    last = rows.stop - 1
    cols: dict[str, int] = {}
    subs = {"nature", "measure", "value"}

    def take(r: int, override: bool) -> int:
        end = r
        for c in range(g.width):
            name = labels.of.get((r, c))
            if name in _COLUMNS and (override or name not in cols):
                cols[name] = c
                end = max(end, g.end_row(r, c))
        return end

    for r in rows:  # a row under the first, inside its merged cells, refines it
        last = max(last, take(r, r > header[0]))
    nxt = last + 1
    below = {labels.of[(nxt, c)] for c in range(g.width) if (nxt, c) in labels.of}
    if below and below <= subs:
        last = max(last, take(nxt, True))
    if "value" not in cols and "value_mid" in cols:
        cols["value"] = cols["value_mid"]
    return cols, last + 1


def _national_indicators(g: Grid, labels: _Labels, header: Pos, body: range,
                         absent: set[str]) -> list[Indicator]:
    cols, start = _header_columns(g, labels, header)
    absent.update(f"indicator.{f}" for f in ("description", "basis") if f not in cols)
    return list(_indicator_rows(g, cols, range(start, body.stop), stop_at_title=True))


def _indicator_rows(g: Grid, cols: dict[str, int], rows: range, *,
                    stop_at_title: bool) -> Iterable[Indicator]:
    """One Indicator per row that holds one, until a note or (national form) the next title.
    一级/二级 are filled down only through merged cells, as the label search does."""
    texts = g.texts()
    fields = [f for f in ("level1", "level2", "level3", "description", "value", "basis",
                          "nature", "measure") if f in cols]
    for r in rows:
        if stop_at_title and _TITLE.search(texts[r]):
            break
        first = next((v for v in g.rows[r] if not _blank(v)), None)
        if first.__class__ is str and _NOTE.match(first):
            break  # 注: / 填表说明 below the table
        got: dict[str, str] = {}
        where: dict[str, str] = {}
        for f in fields:
            ar, ac = g.anchor(r, cols[f])
            got[f] = text(g.raw(ar, ac))
            where[f] = a1(ar, ac)
        level3 = _NUMBERED.sub("", _without_number(got.get("level3", "")))
        value = _joined(got.get("nature", ""), got.get("value", ""), got.get("measure", ""))
        if not (level3 or value or got.get("description") or got.get("basis")):
            continue  # blank, or a placeholder (categories only, or 指标1: with nothing)
        level1 = _without_number(got.get("level1", ""))
        level2 = _without_number(got.get("level2", ""))
        cells: dict[str, str] = {f: where[f] for f in ("level1", "level2", "level3",
                                                        "description", "basis") if f in where}
        if "value" in where:
            cells["value"] = where["value"]
        if "level1" not in cols:  # the sheet has no 一级 column: 一级 follows from 二级
            level1 = _PARENT.get(level2, "")
            if "level2" in where:
                cells["level1"] = where["level2"]
        yield Indicator(level1, level2, level3, got.get("description", ""), value,
                        got.get("basis", ""), cells)


_PARENT = {l2: l1 for l1, l2s in LEVELS.items() for l2 in l2s}
"""二级 → its 一级 (each 二级 belongs to one 一级 only)."""
_CODE_BEFORE_NAME = re.compile(r"^\d+\s*[-－—_:：、]\s*(?=\D)")


def _without_number(s: str) -> str:
    """A category or indicator name without the code written before it (``11-数量指标``)."""
    return _CODE_BEFORE_NAME.sub("", s, count=1).strip()


def _joined(nature: str, value: str, measure: str) -> str:
    """指标性质 + 指标值 + 度量单位 as one value the rest of perfxl parses (``≥`` ``95`` ``%`` →
    ``≥95%``); a value that already carries its operator or unit keeps them as written."""
    value = value.strip()
    if not value:
        return ""
    k = key(nature)
    op = OPERATORS.get(k, "") or _WORD_OPS.get(k, "")
    v = key(value)
    if op and not (OPERATORS.get(v[:2]) or OPERATORS.get(v[:1])):
        value = op + value
    unit = measure.strip()
    if unit and not v.endswith(key(unit)):
        value += unit
    return value


# --- the 一体化 import sheet -------------------------------------------------------------------

_IMPORT_ABSENT = frozenset({"project.budget", "project.fiscal", "project.other", "project.plan",
                            "project.purpose", "project.goals"})
_CODE_AND_NAME = re.compile(r"^(?P<code>[0-9A-Za-z]+)\s*[-－—_]\s*(?P<name>.*[^\x00-\x7f].*)$",
                            re.S)


def _import(g: Grid, r: int) -> FormSheet | None:
    """The import sheet whose header row is ``r``: projects by their code, in order."""
    cols: dict[str, int] = {}
    end = r
    for c, v in enumerate(g.rows[r]):
        if v.__class__ is str and g.anchor(r, c) == (r, c):
            name = _import_label(_label_key(v))
            if name and name not in cols:
                cols[name] = c
                end = max(end, g.end_row(r, c))
    if not {"project.code", "level3", "value"} <= cols.keys():
        return None
    absent = set(_IMPORT_ABSENT)
    absent.update(f for f in ("project.name", "unit.code", "unit.name") if f not in cols)
    absent.update(f"indicator.{f}" for f in ("description", "basis") if f not in cols)
    by_code: dict[str, Project] = {}
    for row in range(end + 1, g.height):
        first = next((v for v in g.rows[row] if not _blank(v)), None)
        if first.__class__ is str and _NOTE.match(first):
            break  # 注: / 填表说明 below the rows
        ind = next(iter(_indicator_rows(g, cols, range(row, row + 1), stop_at_title=False)), None)
        if ind is None:
            continue
        ar, ac = g.anchor(row, cols["project.code"])
        code_raw = text(g.raw(ar, ac))
        code, name = unicodedata.normalize("NFKC", code_raw), ""
        if m := _CODE_AND_NAME.match(code):  # 代码-名称, as the system's dropdowns write it
            code, name = m.group("code"), m.group("name").strip()
        code = re.sub(r"\s+", "", code)
        p = by_code.get(code)
        if p is None:
            p = by_code[code] = Project(
                seq=0, unit_code="", unit_name="", code=code, name=name, budget=None,
                fiscal=None, other=None, sheet=g.name, code_raw=code_raw,
                cells={"project.code": a1(ar, ac)}, form=IMPORT, absent=frozenset(absent))
        for fld, attr in (("project.name", "name"), ("unit.code", "unit_code"),
                          ("unit.name", "unit_name")):
            if fld in cols:  # the first filled cell of the project's rows
                nr, nc = g.anchor(row, cols[fld])
                v = text(g.raw(nr, nc))
                p.cells.setdefault(fld, a1(nr, nc))
                if v and not getattr(p, attr):
                    setattr(p, attr, unicodedata.normalize("NFKC", v) if attr == "unit_code" else v)
        p.indicators.append(ind)
    sheet = FormSheet(IMPORT, projects=list(by_code.values()))
    if not sheet.projects:
        sheet.skipped.append(Skipped(g.name, f"空白的{FORMS[IMPORT][0]}(没有指标行)",
                                     f"blank {FORMS[IMPORT][1]} (no indicator rows)"))
    return sheet


# --- a list of projects ------------------------------------------------------------------------

def _project_list(g: Grid, rows: list[str]) -> bool:
    """A row of column headers where 项目代码 and 项目名称 stand side by side (no indicator table
    on the sheet: checked by the caller)."""
    for r, t in enumerate(rows):
        if not _CODE_HINT.search(t):
            continue
        row = g.rows[r]
        for c, v in enumerate(row):
            if v.__class__ is not str or _import_label(_label_key(v)) != "project.code":
                continue
            for n in (g.end_col(r, c) + 1, c - 1):
                w = g.raw(*g.anchor(r, n)) if n >= 0 else None
                if w.__class__ is str and _import_label(_label_key(w)) == "project.name":
                    return True
    return False


# --- why a book was refused ---------------------------------------------------------------------

_WANTED = _Table({  # shown when not found → the labels that count as found
    "项目名称": r"(具体)?项目名称",
    "项目编码/项目代码": r"(具体)?项目(编码|代码)",
    "预算数/项目资金": r"(项目|年度)?预算(数|金额)(\(万?元\))?|(项目资金|(年度)?资金总额)(\(万?元\))?",
    "绩效目标/总体目标": r"(项目|年度)?绩效目标|(年度)?总体(绩效)?目标|年度目标",
    "一级/二级/三级指标": r"绩效指标|[一二三]级(绩效)?指标(名称)?",
    "指标值": r"(年度)?指标值",
})
_WANTED_HINT = re.compile("项目|预算|资金|目标|指标")


def labels_found(grids: Iterable[Grid]) -> tuple[list[str], list[str]]:
    """The labels of a project table found in a book (as written, the first of each kind) and
    the kinds not found, for the message that refuses a book in a form perfxl does not know."""
    found: dict[str, str] = {}
    for g in grids:
        for r, t in enumerate(g.texts()):
            if not _WANTED_HINT.search(t):
                continue
            for v in g.rows[r]:
                if v.__class__ is str and (k := _label_key(v)):
                    for shown, pat in _WANTED.patterns.items():
                        if shown not in found and pat.match(k):
                            found[shown] = k
        if len(found) == len(_WANTED.source):
            break
    return ([found[s] for s in _WANTED.source if s in found],
            [s for s in _WANTED.source if s not in found])
