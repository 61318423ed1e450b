"""Property: populate → read gives back exactly the data (hypothesis)."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfxl import read_book, write_book
from perfxl.dataset import to_data
from perfxl.model import LEVELS, Department, Indicator, Project, Unit
from perfxl.read.parser import is_any_label
from perfxl.values import key

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
OTHER = st.sampled_from(list("abcXYZ0123456789()（）,，。、:;“”\"'%+-=≥≤ ·《》[]"))


def _plain(s: str) -> bool:
    k = key(s)
    return (s == s.strip() and not is_any_label(k) and not k.endswith("绩效目标表")
            and not k.startswith(("注", "备注", "填表", "说明")))


text = st.text(st.one_of(CJK, CJK, OTHER), min_size=0, max_size=40).filter(_plain)
some_text = text.filter(bool)
paragraph = st.lists(some_text, min_size=1, max_size=3).map("\n".join)
fen = st.integers(min_value=0, max_value=10**12)  # up to 10^10 元, with fen
percent = st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n) / 100)
codes = st.text(st.sampled_from("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), min_size=1, max_size=24)


@st.composite
def indicators(draw: st.DrawFn) -> Indicator:
    level1 = draw(st.sampled_from(list(LEVELS)))
    level2 = draw(st.sampled_from(LEVELS[level1]))
    ind = Indicator(level1, level2, draw(text), draw(text), draw(text), draw(text))
    if not (ind.level3 or ind.description or ind.value or ind.basis):
        ind.level3 = draw(some_text)
    return ind


@st.composite
def projects(draw: st.DrawFn, seq: int, unit: Unit) -> Project:
    fiscal = Decimal(draw(fen)) / 100
    other = draw(st.one_of(st.just(Decimal("0.00")), fen.map(lambda f: Decimal(f) / 100)))
    plan = draw(st.one_of(st.none(), st.tuples(percent, percent, percent, percent)))
    return Project(
        seq=seq, unit_code=unit.code, unit_name=unit.name, code=draw(codes),
        name=draw(some_text), budget=fiscal + other, fiscal=fiscal, other=other,
        purpose=draw(text), goals=draw(paragraph), plan=plan,
        indicators=draw(st.lists(indicators(), min_size=1, max_size=30)),
    )


@st.composite
def departments(draw: st.DrawFn) -> Department:
    units = [Unit(f"{600001 + i}", draw(some_text)) for i in range(draw(st.integers(1, 2)))]
    n = draw(st.integers(1, 3))
    return Department(
        name=draw(some_text), year=draw(st.integers(2000, 2100)), overall_goal=draw(paragraph),
        declared_total=draw(st.one_of(st.none(), fen.map(lambda f: Decimal(f) / 100))),
        units=units,
        projects=[draw(projects(i + 1, draw(st.sampled_from(units)))) for i in range(n)],
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(departments())
def test_populate_then_read_is_identity(dept: Department) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        write_book(path, dept)
        back = read_book(path)
    assert to_data(back) == to_data(dept)
    assert back.total() == dept.total()
