"""绩效自评 (perfxl selfeval): the scoring rules, the book, reading it back, its checks.

The expected scores are computed here independently of perfxl/selfeval.py, from the rules as
the issue states them (Fraction arithmetic, rounded half up to 0.01), and compared with what
perfxl computes, with what it caches in the book, and with what LibreOffice recalculates.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from perfxl.rules import RulesConfig, load_config
from perfxl.selfeval import (
    Scored,
    SelfEval,
    band_of,
    deadline,
    default_weights,
    execution,
    grade,
    in_band,
    indicator_score,
    score_all,
)

D = Decimal
CFG = RulesConfig()


def cents(x: Fraction | int) -> Decimal:
    """A score as the rules give it: to 0.01, half up."""
    return (D(Fraction(x).numerator) / D(Fraction(x).denominator)).quantize(
        D("0.01"), rounding=ROUND_HALF_UP)


def expected(op: str, target: Fraction, actual: Fraction, weight: Fraction) -> Decimal:
    """The issue's rule for a numeric indicator, written out case by case."""
    if op == "≥":
        share = Fraction(1) if actual >= target else actual / target
    elif op == "≤":
        if actual <= target:
            share = Fraction(1)
        elif actual >= 2 * target:
            share = Fraction(0)
        else:
            share = 1 - (actual - target) / target
    else:  # =
        if actual == target:
            share = Fraction(1)
        elif actual < target:
            share = actual / target
        else:
            share = max(Fraction(0), 1 - (actual - target) / target)
    return cents(max(Fraction(0), share) * weight)


# --- 1. the rules, in Python -----------------------------------------------------------------------

@pytest.mark.parametrize(("target", "op", "t", "actual"), [
    ("≥95%", "≥", 95, "90"), ("≥95%", "≥", 95, "95"), ("≥95%", "≥", 95, "120"),
    ("≥95 百分比", "≥", 95, "0"), ("≤80000元", "≤", 80000, "60000"),
    ("≤80000元", "≤", 80000, "80000"), ("≤80000元", "≤", 80000, "100000"),
    ("≤80000元", "≤", 80000, "159999"), ("≤80000元", "≤", 80000, "200000"),
    ("=12个", "=", 12, "12"), ("=12个", "=", 12, "9"), ("=12个", "=", 12, "15"),
    ("=12个", "=", 12, "30"), ("≥3 天", "≥", 3, "2.5"),
])
def test_numeric_scores_follow_the_rules(target: str, op: str, t: int, actual: str) -> None:
    weight = D("12.5")
    ind = Scored(target=target, actual=D(actual), weight=weight)
    assert indicator_score(ind) == expected(op, Fraction(t), Fraction(actual), Fraction("12.5"))


def test_dates_are_met_or_not() -> None:
    assert deadline("2021年12月底") == dt.date(2021, 12, 31)
    assert deadline("2021-06-30") == dt.date(2021, 6, 30)
    assert deadline("2021年7月前") == dt.date(2021, 6, 30)
    on_time = Scored(target="2021年12月底", actual=dt.date(2021, 12, 31), weight=D(10))
    late = Scored(target="2021年12月底", actual=dt.datetime(2022, 1, 1), weight=D(10))
    assert indicator_score(on_time) == D(10)
    assert indicator_score(late) == 0
    assert indicator_score(Scored(target="2021年12月底", actual="年底前", weight=D(10))) is None


def test_weights_split_each_group_to_the_fen() -> None:
    demo = ["产出指标"] * 4 + ["效益指标"] * 4 + ["满意度指标"]
    assert default_weights(demo, CFG) == [D("12.5")] * 4 + [D("7.5")] * 4 + [D(10)]
    three = default_weights(["产出指标"] * 3 + ["效益指标"] * 7 + ["满意度指标"], CFG)
    assert three[:3] == [D("16.67"), D("16.67"), D("16.66")]
    assert sum(three) + CFG.selfeval_execution_points == 100


def test_execution_rate_and_grade() -> None:
    assert execution(D(80000), D(72000), D(10)) == (D("90.00"), D("9.00"))
    assert execution(D(80000), D(90000), D(10)) == (D("112.50"), D("10.00"))
    assert execution(D(80000), None, D(10)) == (None, None)
    assert [grade(D(x), CFG) for x in ("90", "89.99", "80", "60", "59.99")] == \
        ["优", "良", "良", "中", "差"]


def test_qualitative_bands() -> None:
    assert band_of("优", "达成") == "达成"
    assert band_of("优", "良") == "部分达成"
    assert band_of("达到", "基本达到") == "部分达成"
    assert band_of("优", "差") == "未达成"
    assert band_of("优", "还行") == ""
    w = D(10)
    assert in_band(D(8), "达成", w, CFG) and in_band(D(10), "达成", w, CFG)
    assert not in_band(D(8), "部分达成", w, CFG) and in_band(D(6), "部分达成", w, CFG)
    assert in_band(D("5.99"), "未达成", w, CFG) and not in_band(D(6), "未达成", w, CFG)


def test_total_from_the_parts() -> None:
    se = SelfEval(budget=D(80000), spent=D(60000), indicators=[
        Scored(level1="产出指标", target="≥95%", actual=D(90), weight=D(50)),
        Scored(level1="效益指标", target="优", actual="良", weight=D(30)),
        Scored(level1="满意度指标", target="≥90%", actual=D(95), weight=D(10))])
    score_all(se, CFG, [None, D(20), None])
    parts = [cents(Fraction(10) * Fraction(60000, 80000)), cents(Fraction(50) * Fraction(90, 95)),
             D(20), D(10)]
    assert se.score == sum(parts)
    assert se.grade == grade(sum(parts), CFG)


def test_the_rules_file_tunes_the_points(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("thresholds:\n  selfeval_output_points: 60\n  selfeval_benefit_points: 20\n",
                     encoding="utf-8")
    cfg = load_config(rules)
    assert default_weights(["产出指标", "效益指标"], cfg) == [D(60), D(20)]
