"""Cell values → domain values: text, exact amounts, percentages and indicator values.

Cells arrive from any grid source (calamine, openpyxl) as str, float, int, bool, date or None.
Labels and numbers are compared after NFKC (full-width → ASCII) with whitespace removed; text
fields are kept as written, only stripped.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from decimal import Decimal
from typing import NamedTuple

FEN = Decimal("0.01")
WAN = Decimal(10000)
MAX_NUMBER = Decimal(10) ** 15
"""Larger magnitudes are not amounts anyone budgets (and overflow integer fen): kept as text."""

_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")


def key(value: object) -> str:
    """Normalised form used to match labels: NFKC, no whitespace (``其中：财政资金`` → ``其中:财政资金``)."""
    if value is None or value == "":
        return ""
    return text_key(value) if isinstance(value, str) else text_key(str(value))


@functools.lru_cache(maxsize=65536)
def text_key(s: str) -> str:
    """``key`` of a ``str``, called directly in the hot loops over model text (always str)."""
    return "".join(unicodedata.normalize("NFKC", s).split())  # split(): the whitespace of \s


def text(value: object) -> str:
    """A text field as written: numbers without a spurious ``.0``, dates as ISO, stripped."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value).strip()


def _float_text(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return repr(value)


def decimal(value: object) -> Decimal | None:
    """An exact Decimal from a cell, or None when empty; raises ValueError when it is not a number.

    Floats go through ``repr`` (the shortest string that round-trips), so 80000.1 stays 80000.1
    and no binary noise enters the sums. Text may use full-width digits, thousands separators
    and a trailing 元.
    """
    d = parse_decimal(value)
    return None if d is None else _bounded(d)


def parse_decimal(value: object) -> Decimal | None:
    """``decimal`` without its bound on the magnitude (for checks that say how large it is)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(value)
        return Decimal(repr(value))
    k = key(value).replace(",", "")
    if k.endswith("元") and not k.endswith("万元"):
        k = k[:-1]
    if not k:
        return None
    if not _PLAIN_NUMBER.match(k):
        raise ValueError(value)
    return Decimal(k)


def _bounded(d: Decimal) -> Decimal:
    if abs(d) >= MAX_NUMBER:
        raise ValueError(d)
    return d


def amount(value: object, factor: Decimal = Decimal(1)) -> Decimal | None:
    """An amount in 元 from a cell in 元 (factor 1) or 万元 (factor 10000), exact.

    Text that states its own unit (``80000元``, ``8万``, ``8万元``) is read in that unit, whatever
    the table's: ``8万`` is 80,000 元 in a table in 元 and in one in 万元 alike.
    """
    if value.__class__ is str:
        k = key(value)
        for suffix, unit in _STATED_UNITS:
            if k.endswith(suffix):
                d = decimal(k[:-len(suffix)])
                return None if d is None else _bounded(d * unit)
    d = decimal(value)
    return None if d is None else d * factor


_STATED_UNITS = (("万元", WAN), ("万", WAN), ("元", Decimal(1)))


def fmt_amount(d: Decimal) -> str:
    """``80000`` → ``"80000.00"``; amounts finer than a fen keep their digits (never rounded away)."""
    q = d.quantize(FEN) if d == d.quantize(FEN) else d.normalize()
    return f"{q:f}"


def percent(value: object, fractions: bool) -> Decimal | None:
    """A percentage (25 for 25 %) from a cell.

    Text with ``%`` is read as written (``25.00%`` → 25.00). A number is a fraction (0.25) when the
    book stores the plan as Excel percentages (``fractions``), else a plain percent number (25).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _percent_text(value)
    d = decimal(value)
    if d is None:
        return None
    return d * 100 if fractions else d


@functools.lru_cache(maxsize=4096)
def _percent_text(value: str) -> Decimal | None:
    """``percent`` of text (the same few are typed in every plan: ``25.00%``, cached)."""
    k = key(value)
    return decimal(k[:-1] if k.endswith("%") else k)


# --- indicator values -------------------------------------------------------------------------

OPERATORS = {"≥": "≥", ">=": "≥", "≧": "≥", "≤": "≤", "<=": "≤", "≦": "≤", "=": "=", ">": ">",
             "<": "<", "≈": "≈"}
GRADES = ("优", "良", "中", "差", "达到", "基本达到", "未达到", "部分达到", "是", "否", "好", "较好",
          "一般", "合格", "不合格", "提高", "降低", "有效提升", "合理", "显著", "明显")
_NUMBER = re.compile(r"^(?P<num>[-+]?\d+(?:\.\d+)?)(?P<unit>\D.*)?$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?(底|末|前)?$")


class ParsedValue(NamedTuple):
    """An indicator value taken apart: ``≥95 百分比`` → op ``≥``, number 95, unit ``百分比``.

    ``kind`` is ``number`` (op/number/unit), ``date`` (a date or month, ``number`` None) or
    ``grade`` (qualitative: 优/良/达到 …; ``unit`` holds the grade).
    """

    kind: str
    op: str
    number: Decimal | None
    unit: str


@functools.lru_cache(maxsize=65536)
def parse_value(raw: str) -> ParsedValue | None:
    """Parse an indicator value as written; None when it does not parse (or is empty)."""
    k = key(raw)
    if not k:
        return None
    op = OPERATORS.get(k[:2], "")  # the two-character operators first (>=, <=)
    if op:
        k = k[2:]
    elif op := OPERATORS.get(k[:1], ""):
        k = k[1:]
    if _DATE.match(k):
        return ParsedValue("date", op or "=", None, k)
    m = _NUMBER.match(k)
    if m:
        return ParsedValue("number", op or "=", Decimal(m["num"]), m["unit"] or "")
    if k in GRADES:
        return ParsedValue("grade", op or "=", None, k)
    return None
