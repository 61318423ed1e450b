"""Data files of format ``perfxl/1``: a bounded reader and the schema, both applied before
anything is written.

``read_data`` turns a YAML or JSON file into plain Python values, within fixed limits that no
department's data comes near, refusing each by its name and numbers (``LimitExceeded``):

==============  ==========  =====================================================================
name            limit       what
==============  ==========  =====================================================================
data_size       64 MiB      the file itself (a department of 10,000 projects is about 24 MB)
data_depth      32          nesting of mappings and lists (the format needs 6)
data_aliases    1,000       YAML aliases (``*name``) in the file
data_nodes      10,000,000  values the document stands for once every alias is expanded
==============  ==========  =====================================================================

YAML anchors and aliases stay allowed (the embedded dataset shares one indicator set among five
projects, and ``yaml.safe_dump`` writes shared lists that way), but the reader counts, while it
composes the document, how many values each alias stands for: nested anchors ("billion laughs")
are refused as soon as the expansion passes ``data_nodes``, in time and memory proportional to the
file. An alias inside its own anchor (a cycle) and a key written twice in one mapping (YAML would
keep the last one silently) are refused too.

``validate`` then checks the values against :class:`DataFile`, a pydantic model of the format, and
collects every problem with its key path (``projects[3].budget``, indexes counted from 0) into one
:class:`~perfxl.errors.DataFileError`. Only what is structurally wrong, of the wrong type or past a
limit is refused here; what is merely incomplete or doubtful (a missing plan, an empty indicator
value, a budget that is not fiscal + other) loads, and validation reports it in the book.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import DataFileError, LimitExceeded, ReadError
from .layout import DATA_FORMAT as FORMAT
from .values import WAN, parse_decimal

try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML without libyaml: _PyLoader is used, CParser never
    CParser = object  # type: ignore[misc,assignment]

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_ALIASES = 1_000
MAX_NODES = 10_000_000
MAX_TEXT = 32_767
"""Excel's limit for one cell, in UTF-16 code units (a character outside the BMP counts twice)."""
MAX_DIGITS = 15
"""Significant digits Excel keeps of a number; amounts must also stay below 10^15 元 (one more
digit would be past what reading a book accepts as an amount)."""
YEARS = (2000, 2100)
POINTS = (0, 100)
"""Any one score of the 100-point scheme (items, bonus, deductions)."""
SEQS = (1, 99_999)


# --- reading, bounded ---------------------------------------------------------------------------

def read_data(path: str | Path) -> Any:
    """The plain values of a data file (.json as JSON, anything else as YAML), within the limits."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ReadError(f"找不到数据文件: {p}", f"data file not found: {p}") from None
    except OSError as e:
        raise ReadError(f"无法读取数据文件 {p}: {e.strerror or e}",
                        f"cannot read data file {p}") from None
    if len(raw) > MAX_BYTES:
        raise _limit(p, "data_size", "文件大小", "file size", max(len(raw), _size(p)), MAX_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReadError(f"数据文件不是 UTF-8 编码的文本: {p}",
                        f"data file is not UTF-8 text: {p}") from None
    if p.suffix.lower() == ".json":
        return _read_json(text, p)
    return _read_yaml(text, p)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _limit(p: Path, limit: str, what_zh: str, what_en: str, actual: int, maximum: int,
           line: str = "") -> LimitExceeded:
    """Past a reading limit; ``actual`` is where counting stopped (the file may hold more)."""
    at_zh = f"(第 {line} 行)" if line else ""
    at_en = f" (line {line})" if line else ""
    return LimitExceeded(
        f"数据文件 {p.name} 的{what_zh}超过上限 {limit} = {maximum:,}{at_zh},拒绝读取",
        f"data file {p.name}: the {what_en} is over the limit {limit} = {maximum:,}{at_en}; refused",
        limit=limit, actual=actual, maximum=maximum)


class _Bounded(Composer):
    """The composer of a safe loader, bounding nesting, aliases and the size of the document
    behind its aliases, and refusing a key written twice in one mapping, while the document is
    composed (before any value is built)."""

    path = Path()
    depth = aliases = 0
    nodes: dict[int, int]  # id(node) → values it stands for, aliases expanded

    def bound(self, path: Path) -> None:
        self.path = path
        self.nodes = {}

    if TYPE_CHECKING:  # from the parser it is mixed with
        def peek_event(self) -> Any: ...
        def check_event(self, *choices: Any) -> bool: ...

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            line = str(self.peek_event().start_mark.line + 1)
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _limit(self.path, "data_aliases", "别名(*)个数", "number of YAML aliases",
                             self.aliases, MAX_ALIASES, line)
            node = super().compose_node(parent, index)
            if id(node) not in self.nodes:
                raise ReadError(
                    f"数据文件 {self.path.name} 第 {line} 行: 别名引用了包含它自己的锚点(循环),拒绝读取",
                    f"data file {self.path.name}, line {line}: an alias inside its own anchor "
                    "(a cycle); refused")
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _limit(self.path, "data_depth", "嵌套层数", "nesting depth", self.depth, MAX_DEPTH,
                         str(self.peek_event().start_mark.line + 1))
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        assert node is not None  # (the stubs allow None; the composer never returns it)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(self.nodes[id(x)] for x in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(self.nodes[id(k)] + self.nodes[id(v)] for k, v in node.value)
            self._check_keys(node)
        if n > MAX_NODES:
            raise _limit(self.path, "data_nodes", "内容(展开别名后的值的个数)",
                         "number of values (aliases expanded)", n, MAX_NODES,
                         str(node.start_mark.line + 1))
        self.nodes[id(node)] = n
        return node

    def _check_keys(self, node: yaml.MappingNode) -> None:
        seen: set[tuple[str, str]] = set()
        for k, _ in node.value:
            if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                continue
            if (k.tag, k.value) in seen:
                line = k.start_mark.line + 1
                raise ReadError(
                    f"数据文件 {self.path.name} 第 {line} 行: 键 {_shown(k.value)} 在同一映射中重复出现",
                    f"data file {self.path.name}, line {line}: key {_shown(k.value)} appears twice "
                    "in one mapping")
            seen.add((k.tag, k.value))


class _PyLoader(_Bounded, yaml.SafeLoader):
    """Scanning and parsing in Python (PyYAML built without libyaml)."""


class _CLoader(_Bounded, CParser, SafeConstructor, Resolver):
    """Scanning and parsing by libyaml (four times faster), composing by :class:`_Bounded`."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


def _read_yaml(text: str, p: Path) -> Any:
    loader = _CLoader(text) if yaml.__with_libyaml__ else _PyLoader(text)
    loader.bound(p)
    try:
        return loader.get_single_data()
    except ReadError:
        raise
    except yaml.MarkedYAMLError as e:  # syntax errors: where, and what
        mark = e.problem_mark or e.context_mark
        at = f" 第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        at_en = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = "; ".join(x for x in (e.context, e.problem) if x)
        raise ReadError(f"数据文件格式错误 {p.name}{at}: {what}",
                        f"data file {p.name} is not valid YAML{at_en}") from None
    except yaml.YAMLError as e:
        raise ReadError(f"数据文件格式错误 {p.name}: {e}",
                        f"data file {p.name} is not valid YAML") from None
    except (ValueError, TypeError, RecursionError) as e:  # e.g. an integer of 5,000 digits
        raise ReadError(f"数据文件格式错误 {p.name}: {e}",
                        f"data file {p.name} is not valid YAML") from None
    finally:
        loader.dispose()


def _read_json(text: str, p: Path) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise ReadError(f"数据文件 {p.name}: 键 {_shown(k)} 在同一对象中重复出现",
                                f"data file {p.name}: key {_shown(k)} appears twice in one object")
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise _limit(p, "data_depth", "嵌套层数", "nesting depth", MAX_DEPTH + 1, MAX_DEPTH) from None
    except ValueError as e:  # JSONDecodeError carries its position
        raise ReadError(f"数据文件格式错误 {p.name}: {e}",
                        f"data file {p.name} is not valid JSON") from None
    depth, nodes = _extent(data)
    if depth > MAX_DEPTH:
        raise _limit(p, "data_depth", "嵌套层数", "nesting depth", depth, MAX_DEPTH)
    if nodes > MAX_NODES:
        raise _limit(p, "data_nodes", "内容(值的个数)", "number of values", nodes, MAX_NODES)
    return data


def _extent(data: Any) -> tuple[int, int]:
    """Nesting depth and number of values of a JSON document (iteratively: no recursion)."""
    depth = nodes = 0
    stack = [(data, 1)]
    while stack:
        x, d = stack.pop()
        nodes += 1
        if isinstance(x, dict | list):
            depth = max(depth, d)
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return depth, nodes


# --- the schema ---------------------------------------------------------------------------------

def _problem(kind: str, zh: str, en: str) -> PydanticCustomError:
    """A refusal in our words; the message template is the English, ``zh`` rides in the context."""
    return PydanticCustomError(f"perfxl_{kind}", "{en}", {"zh": zh, "en": en})


def _shown(v: Any) -> str:
    """A value as quoted in a message: short, and never the repr of a whole structure."""
    if isinstance(v, str):
        return f"“{v[:40]}…”" if len(v) > 40 else f"“{v}”"
    if isinstance(v, bool) or v is None or isinstance(v, int | float | Decimal | dt.date):
        s = str(v)
        return s if len(s) <= 40 else s[:40] + "…"
    return _kind(v)[1]


def _kind(v: Any) -> tuple[str, str]:
    if v is None:
        return "空值", "null"
    if isinstance(v, bool):
        return "真假值", "a boolean"
    if isinstance(v, int | float):
        return "数字", "a number"
    if isinstance(v, str):
        return "文本", "text"
    if isinstance(v, dict):
        return "映射", "a mapping"
    if isinstance(v, list | tuple | set | frozenset):
        return "列表", "a list"
    if isinstance(v, dt.date | dt.time):
        return "日期", "a date"
    if isinstance(v, bytes):
        return "二进制数据", "binary data"
    return type(v).__name__, type(v).__name__


def _cell_sized(s: str) -> str:
    n = len(s.encode("utf-16-le")) // 2
    if n > MAX_TEXT:
        raise _problem("text_too_long", f"文本长 {n:,} 个字符,超过 Excel 单元格上限 {MAX_TEXT:,} 个",
                       f"text of {n:,} characters is over Excel's cell limit of {MAX_TEXT:,}")
    return s


def _text(v: Any) -> str:
    """Text as written; a number or date is taken as its text (as before); None is empty."""
    if v is None:
        return ""
    if isinstance(v, bool):
        raise _problem("text_type", f"应为文本,实为真假值 {v}(YAML 把 yes/no/true/false 读作真假值,请加引号)",
                       f"should be text, not the boolean {v} (YAML reads yes/no/true/false as "
                       "booleans: quote it)")
    if isinstance(v, str):
        return _cell_sized(v)
    if isinstance(v, int | float | dt.date):
        return _cell_sized(str(v))
    zh, en = _kind(v)
    raise _problem("text_type", f"应为文本,实为{zh}", f"should be text, not {en}")


def _filled(v: str) -> str:
    if not v.strip():
        raise _problem("empty", "不能为空", "must not be empty")
    return v


def _code(v: Any) -> str:
    """A code is text: a YAML number would lose its leading zeros (``001001`` is octal 513)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return _cell_sized(v)
    if isinstance(v, int) and not isinstance(v, bool):
        raise _problem("code_type", f"编码应写成带引号的文本(如 \"{v}\"),不要写成数字:数字会丢掉前导 0",
                       f"write codes as quoted text (e.g. \"{v}\"), not as numbers, which lose "
                       "leading zeros")
    zh, en = _kind(v)
    raise _problem("code_type", f"编码应为文本,实为{zh}", f"a code should be text, not {en}")


_DIGITS = re.compile(r"[+-]?[0-9]+")


def _whole(lo: int, hi: int) -> BeforeValidator:
    """A whole number from lo to hi (an integer, or its digits as text); None passes."""
    def check(v: Any) -> int | None:
        if v is None:
            return None
        n: int | None = None
        if isinstance(v, int) and not isinstance(v, bool):
            n = v
        elif isinstance(v, float) and v.is_integer():
            n = int(v)
        elif isinstance(v, str) and _DIGITS.fullmatch(v.strip()):
            if len(v.strip()) > 18:  # never in range; int() of thousands of digits is refused
                raise _problem("range", f"{_shown(v)} 不在 {lo}–{hi} 之间",
                               f"{_shown(v)} is not between {lo} and {hi}")
            n = int(v.strip())
        if n is None:
            raise _problem("whole", f"应为整数,实为 {_shown(v)}", f"should be a whole number, not {_shown(v)}")
        if not lo <= n <= hi:
            raise _problem("range", f"{_shown(n)} 不在 {lo}–{hi} 之间",
                           f"{_shown(n)} is not between {lo} and {hi}")
        return n
    return BeforeValidator(check)


def _number_shape(d: Decimal) -> tuple[int, int]:
    """Significant digits and decimal places of ``d``, trailing zeros not counted (exactly: no
    rounding to a context precision)."""
    _, digits, exp = d.as_tuple()
    assert isinstance(exp, int)  # finite: parse_decimal gives no NaN or infinity
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        exp += 1
    return n, max(0, -exp)


def _amount(v: Any, info: ValidationInfo) -> Decimal | None:
    """An amount in 元 (exactly converted from 万元), within what Excel stores exactly."""
    if v is None or v == "":
        return None
    if isinstance(v, float):
        raise _problem("amount_float", f"金额 {v!r} 请写成带引号的文本(如 \"{v:.2f}\"),不要写成小数:"
                       "YAML/JSON 的小数是二进制近似值",
                       f"write the amount {v!r} as quoted text (e.g. \"{v:.2f}\"), not as a float, "
                       "which is a binary approximation")
    if isinstance(v, bool) or not isinstance(v, int | str):
        zh, en = _kind(v)
        raise _problem("amount_type", f"金额应为文本或整数,实为{zh}",
                       f"an amount should be text or an integer, not {en}")
    try:
        d = parse_decimal(v)
    except ValueError:
        raise _problem("amount_number", f"{_shown(v)} 不是金额", f"{_shown(v)} is not an amount") from None
    if d is None:
        return None
    wan = (info.context or {}).get("factor") == WAN
    digits, places = _number_shape(d)
    shift = 4 if wan else 0
    unit = "万元" if wan else "元"
    if (d.adjusted() + shift >= MAX_DIGITS and d != 0) or digits > MAX_DIGITS:
        raise _problem("amount_digits",
                       f"金额 {_shown(v)} {unit}超出 Excel 能精确保存的范围(以元计 15 位有效数字,"
                       "小于 10^15 元)",
                       f"the amount {_shown(v)} {unit} is past what Excel stores exactly (15 "
                       "significant digits in 元, below 10^15 元)")
    if places - shift > 2:
        in_yuan = "换算为元后" if wan else "的"
        raise _problem("amount_fen", f"金额 {_shown(v)} {unit}{in_yuan}小数超过两位(细于分)",
                       f"the amount {_shown(v)} {unit} has more than 2 decimals in 元 "
                       "(finer than a fen)")
    return d * WAN if wan else d * Decimal(1)


def _percent(v: Any) -> Decimal | None:
    """A cumulative percentage of the plan (25 for 25 %); a float is fine here (not money)."""
    if v is None or v == "":
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        zh, en = _kind(v)
        raise _problem("percent_type", f"百分比应为数字或文本,实为{zh}",
                       f"a percentage should be a number or text, not {en}")
    try:
        d = parse_decimal(v)
    except ValueError:
        raise _problem("percent_number", f"{_shown(v)} 不是百分比数字",
                       f"{_shown(v)} is not a percentage") from None
    assert d is not None
    if (d.adjusted() >= MAX_DIGITS and d != 0) or _number_shape(d)[0] > MAX_DIGITS:
        raise _problem("percent_digits", f"百分比 {_shown(v)} 超过 15 位有效数字",
                       f"the percentage {_shown(v)} has more than 15 significant digits")
    return d


def _plan(v: Any) -> Any:
    if v is None:
        return None
    if not isinstance(v, list):
        zh, en = _kind(v)
        raise _problem("plan_type", f"应为 4 个累计百分比(3、6、10、12月底)的列表或 null,实为{zh}",
                       f"should be a list of four cumulative percentages (end of March, June, "
                       f"October, December) or null, not {en}")
    if len(v) != 4:
        raise _problem("plan_length", f"应为 4 个累计百分比(3、6、10、12月底),实有 {len(v)} 个",
                       f"should hold four cumulative percentages (end of March, June, October, "
                       f"December), not {len(v)}")
    return v


def _null_as_empty(v: Any) -> Any:
    return [] if v is None else v


def _null_as_default(v: Any) -> Any:
    return {} if v is None else v


Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_text), AfterValidator(_filled)]
Code = Annotated[str, BeforeValidator(_code)]
Amount = Annotated[Decimal | None, BeforeValidator(_amount)]
Percent = Annotated[Decimal | None, BeforeValidator(_percent)]
Year = Annotated[int | None, _whole(*YEARS)]
Points = Annotated[int, _whole(*POINTS)]
Seq = Annotated[int | None, _whole(*SEQS)]


class _Format(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class IndicatorData(_Format):
    level1: Text = ""
    level2: Text = ""
    level3: Text = ""
    description: Text = ""
    value: Text = ""
    basis: Text = ""


class ProjectData(_Format):
    seq: Seq = None
    """Default: the project's place in ``projects``, from 1."""
    unit: Code
    code: Code = ""
    name: Text = ""
    budget: Amount = None
    fiscal: Amount = None
    other: Amount = None
    purpose: Text = ""
    plan: Annotated[list[Percent] | None, BeforeValidator(_plan)] = None
    """Cumulative percentages at the end of March, June, October and December, or null."""
    goals: Text = ""
    indicators: Annotated[list[IndicatorData], BeforeValidator(_null_as_empty)] = []

    @field_validator("unit")
    @classmethod
    def _declared(cls, unit: str, info: ValidationInfo) -> str:
        declared = (info.context or {}).get("declared")
        if declared is not None and unit not in declared:
            raise _problem("unit_unknown", f"单位 {_shown(unit)} 不在 units 中", f"unit "
                           f"{_shown(unit)} is not one of the units")
        return unit


class UnitData(_Format):
    code: Annotated[str, BeforeValidator(_code), AfterValidator(_filled)]
    name: Text

    @field_validator("code")
    @classmethod
    def _unique(cls, code: str, info: ValidationInfo) -> str:
        seen = (info.context or {}).setdefault("seen", set())
        if code in seen:
            raise _problem("unit_twice", f"单位编码 {_shown(code)} 重复(前面已有此编码的单位)",
                           f"unit code {_shown(code)} is declared twice")
        seen.add(code)
        return code


class ScoringItemData(_Format):
    name: Text
    points_city: Points
    points_county: Points
    content: Text = ""


class BonusData(_Format):
    per_event_min: Points = 1
    per_event_max: Points = 2
    cap: Points = 5
    text: Text = ""


class DeductionData(_Format):
    points: Points
    event: Text


class ScoringData(_Format):
    items: Annotated[list[ScoringItemData], BeforeValidator(_null_as_empty)] = []
    bonus: Annotated[BonusData, BeforeValidator(_null_as_default)] = Field(
        default_factory=BonusData)
    deductions: Annotated[list[DeductionData], BeforeValidator(_null_as_empty)] = []


class MeasureData(_Format):
    title: Text
    text: Text = ""


class DepartmentData(_Format):
    name: Name
    region: Text = ""
    year: Year = None
    title: Text = ""
    amount_unit: Annotated[Literal["元", "万元"], BeforeValidator(lambda v: "元" if v is None else v)
                           ] = "元"
    """Every amount of the file is in this unit; 万元 is converted to 元 exactly."""
    declared_total: Amount = None
    overall_goal: Text = ""
    scoring_intro: Text = ""
    scoring: Annotated[ScoringData, BeforeValidator(_null_as_default)] = Field(
        default_factory=ScoringData)
    measures: Annotated[list[MeasureData], BeforeValidator(_null_as_empty)] = []


class DataFile(_Format):
    """A department data file, format ``perfxl/1``. Validate it through :func:`validate` (the
    cross-references and the 万元 conversion use the validation context it sets up)."""

    format: Literal["perfxl/1"] = FORMAT
    department: DepartmentData
    units: Annotated[list[UnitData], Field(min_length=1)]
    projects: Annotated[list[ProjectData], BeforeValidator(_null_as_empty)] = []

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any, info: ValidationInfo) -> Any:
        """Drop the free ``_`` keys (room for YAML anchors); put into the context what fields
        need from elsewhere in the file: the money unit and the declared unit codes."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
        ctx = info.context if info.context is not None else {}
        dept = data.get("department")
        ctx["factor"] = WAN if isinstance(dept, dict) and dept.get("amount_unit") == "万元" else 1
        units = data.get("units")
        ctx["declared"] = ({str(u["code"]) for u in units if isinstance(u, dict)
                            and isinstance(u.get("code"), str | int)}
                           if isinstance(units, list) and units else None)
        ctx["seen"] = set()
        return data


# --- messages for pydantic's own checks (ours carry their own) ----------------------------------

def _sentence(err: Any) -> tuple[str, str]:
    t, ctx, v = err["type"], err.get("ctx") or {}, err.get("input")
    if t.startswith("perfxl_"):
        return ctx["zh"], ctx["en"]
    if t == "missing":
        return "缺少必填项", "is required"
    if t == "extra_forbidden":
        return f"不是格式 {FORMAT} 中的键(拼写错误?)", f"is not a key of format {FORMAT} (a typo?)"
    if t in ("model_type", "model_attributes_type", "dict_type"):
        zh, en = _kind(v)
        return f"应为映射(键: 值),实为{zh}", f"should be a mapping (key: value), not {en}"
    if t in ("list_type", "tuple_type"):
        zh, en = _kind(v)
        return f"应为列表,实为{zh}", f"should be a list, not {en}"
    if t == "too_short":
        n = ctx["min_length"]
        return (f"至少应有 {n} 项,实有 {ctx['actual_length']} 项",
                f"should have at least {n} item{'s' if n != 1 else ''}, has {ctx['actual_length']}")
    if t == "too_long":
        return (f"至多应有 {ctx['max_length']} 项,实有 {ctx['actual_length']} 项",
                f"should have at most {ctx['max_length']} items, has {ctx['actual_length']}")
    if t == "literal_error":
        expected = str(ctx["expected"])
        return (f"应为 {expected.replace(' or ', ' 或 ')},实为 {_shown(v)}",
                f"should be {expected}, not {_shown(v)}")
    return "不符合格式", str(err.get("msg", t))


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(顶层 top level)"


def validate(data: Any, source: str = "data") -> DataFile:
    """``data`` checked against the format, or one DataFileError with every problem found."""
    try:
        return DataFile.model_validate(data, context={})
    except ValidationError as e:
        problems = [(_path(err["loc"]), *_sentence(err)) for err in e.errors(include_url=False)]
    n = len(problems)
    raise DataFileError(f"数据文件 {source} 不符合格式 {FORMAT},共 {n} 处问题,未写入任何文件",
                        f"data file {source} does not follow format {FORMAT}: {n} "
                        f"problem{'s' if n != 1 else ''}; nothing was written", problems)
