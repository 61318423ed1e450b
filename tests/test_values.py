from decimal import Decimal

import pytest

from perfxl.values import amount, decimal, fmt_amount, key, parse_value, percent, text


def test_key_normalises_full_width_and_spaces() -> None:
    assert key("其中：财政资金") == "其中:财政资金"
    assert key(" 3 月底 ") == "3月底"
    assert key("８００００．００") == "80000.00"


@pytest.mark.parametrize(("cell", "expected"), [
    (80000.0, Decimal("80000")), (80000.1, Decimal("80000.1")), (12, Decimal(12)),
    ("80,000.00", Decimal("80000.00")), ("８００００．００", Decimal("80000.00")),
    ("1234.56元", Decimal("1234.56")), ("", None), (None, None),
])
def test_decimal_is_exact(cell: object, expected: Decimal | None) -> None:
    assert decimal(cell) == expected


@pytest.mark.parametrize("cell", ["八万", "abc", True, float("nan"), "1e999999999"])
def test_decimal_refuses_non_numbers(cell: object) -> None:
    with pytest.raises(ValueError):
        decimal(cell)


def test_wan_yuan_converts_exactly() -> None:
    assert amount(1.234567, Decimal(10000)) == Decimal("12345.67")
    assert amount(8, Decimal(10000)) == Decimal("80000")
    # the binary sum 0.1 + 0.2 is not what a user typed; repr keeps what the cell stores
    assert amount(0.1, Decimal(10000)) == Decimal("1000.0")


def test_fmt_amount_keeps_fen_and_never_rounds_away() -> None:
    assert fmt_amount(Decimal("80000")) == "80000.00"
    assert fmt_amount(Decimal("1E+5")) == "100000.00"
    assert fmt_amount(Decimal("0.005")) == "0.005"


def test_percent_text_fraction_and_plain() -> None:
    assert percent("25.00%", fractions=False) == Decimal("25.00")
    assert percent("２５．００％", fractions=True) == Decimal("25.00")
    assert percent(0.25, fractions=True) == Decimal("25.00")
    assert percent(25, fractions=False) == Decimal(25)
    assert percent("", fractions=True) is None


def test_text_of_numbers_and_dates() -> None:
    import datetime as dt

    assert text(95.0) == "95"
    assert text(0.5) == "0.5"
    assert text(dt.date(2021, 12, 31)) == "2021-12-31"
    assert text("  a b  ") == "a b"


@pytest.mark.parametrize(("raw", "kind", "op", "number", "unit"), [
    ("≥95 百分比", "number", "≥", Decimal(95), "百分比"),
    (">95 百分比", "number", ">", Decimal(95), "百分比"),
    ("＞＝95%", "number", "≥", Decimal(95), "%"),
    ("<=80000 元", "number", "≤", Decimal(80000), "元"),
    ("=12 个", "number", "=", Decimal(12), "个"),
    ("12", "number", "=", Decimal(12), ""),
    ("2021年12月底", "date", "=", None, "2021年12月底"),
    ("≤2021-06-30", "date", "≤", None, "2021-06-30"),
    ("优", "grade", "=", None, "优"),
    ("基本达到", "grade", "=", None, "基本达到"),
])
def test_parse_value(raw: str, kind: str, op: str, number: Decimal | None, unit: str) -> None:
    pv = parse_value(raw)
    assert pv is not None
    assert (pv.kind, pv.op, pv.number, pv.unit) == (kind, op, number, unit)


@pytest.mark.parametrize("raw", ["", "大约九成", "≥", "abc"])
def test_parse_value_refuses(raw: str) -> None:
    assert parse_value(raw) is None
