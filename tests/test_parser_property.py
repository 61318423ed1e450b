"""Property tests on the layout parser: any grid of values — the labels of the form in random
places, numbers, dates, text, empty cells, merged ranges that overlap, run off the sheet or are
upside down — either parses into a Department (whose totals and JSON work) or raises the
project's error. Nothing else: no IndexError, no KeyError, no hang."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfxl.errors import PerfxlError
from perfxl.model import Department
from perfxl.read import Grid, parse_book

LABELS = (
    "项目编码", "项目代码", "项目名称", "预算数", "预算数(万元)", "项目预算金额(元)", "其中:财政资金",
    "财政拨款", "其他资金", "资金用途", "及资金用途", "绩效目标", "年度绩效目标", "预算规模及资金用途",
    "预算规模", "资金支出计划(%)", "资金支出", "计划(%)", "3月底", "6月底", "10月底", "12月底", "3月末",
    "一级指标", "二级指标", "三级指标", "绩效指标描述", "指标内容", "指标值", "指标值确定依据", "确定依据",
    "单位编码", "单位名称", "单位:万元", "单位:元", "金额单位:万元", "1.行政审批等专家评审费绩效目标表",
    "12、某项目项目支出绩效目标表", "630001 秦皇岛市山海关区行政审批局本级 单位:元", "６３０００３ 政务服务中心",
    "产出指标", "效益指标", "满意度指标", "数量指标", "质量指标", "时效指标", "成本指标", "经济效益指标",
    "服务对象满意度指标", "部门整体", "部门名称", "地区", "年度", "文本标题", "部门预算总额", "单位名单",
    "总体绩效目标", "分项绩效目标", "序号", "合计", "加分项", "每次加分(下限)", "每次加分(上限)",
    "加分上限", "扣分", "扣分项", "工作保障措施", "注:本表", "填表说明", "备注", "说明",
)
VALUES = ("≥95 百分比", "≤80000 元", "=12 个", "优", "基本达到", "25%", "100%", "八万", "1,234.50",
          "１２３", "130303216DIAX82DQONDM", "130303 216DIAX\n82DQOND M", "年度工作计划", "", " ",
          "\t", "=SUM(A1)", "0.25", "-1", "1e309", "nan", "NaN", "inf", "2021-12-31")

cells = st.one_of(
    st.none(),
    st.sampled_from(LABELS),
    st.sampled_from(VALUES),
    st.text(max_size=12),
    # magnitudes up to 10^15 (a thousand trillion 元); larger ones are tested in test_hostile
    # (test_a_huge_amount_is_read_or_refused_cleanly: a known bug in values.fmt_amount)
    st.floats(min_value=-1e15, max_value=1e15) | st.sampled_from((float("nan"), float("inf"))),
    st.integers(min_value=-10**15, max_value=10**15),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1)),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(days=-10**5), max_value=dt.timedelta(days=10**5)),
)
rows = st.lists(st.lists(cells, max_size=10), max_size=30)
merges = st.lists(st.tuples(*[st.integers(min_value=-2, max_value=35)] * 4), max_size=8)
sheet_names = st.one_of(st.sampled_from(("部门整体", "汇总", "说明", "选项", "校验结果", "来源",
                                         "1.项目", "Sheet1")), st.text(min_size=1, max_size=10))


@st.composite
def grids(draw: Any) -> Grid:
    return Grid(draw(sheet_names), draw(rows), draw(merges), draw(st.booleans()))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(grids(), min_size=0, max_size=4),
       st.sampled_from((None, "perfxl-2021.1")))
def test_any_grid_parses_or_raises_the_projects_error(books: list[Grid],
                                                      version: str | None) -> None:
    try:
        dept = parse_book(books, version)
    except PerfxlError:
        return
    assert isinstance(dept, Department)
    dept.total()  # the model it returns is usable
    dept.to_json()


def _form(code: Any, budget: Any, plan: list[Any], indicator: list[Any]) -> list[list[Any]]:
    """The seed's layout, with the values drawn: the parser goes all the way through it."""
    return [
        ["1.某项目绩效目标表"],
        ["630001 某单位", None, None, None, None, None, "单位:元"],
        ["项目编码", code, None, "项目名称", "某项目"],
        ["预算规模及资金用途", "预算数", budget, "其中:财政资金", budget, "其他资金", 0],
        [None, "资金用途", "用途"],
        ["资金支出计划(%)", "3月底", None, "6月底", "10月底", "12月底"],
        [None, *plan],
        ["绩效目标", "目标"],
        ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"],
        indicator,
    ]


@settings(max_examples=300, deadline=None)
@given(cells, cells, st.lists(cells, min_size=5, max_size=5), st.lists(cells, min_size=6,
                                                                       max_size=6))
def test_the_form_with_any_values_parses_or_raises(code: Any, budget: Any, plan: list[Any],
                                                   indicator: list[Any]) -> None:
    grid = Grid("1.某项目", _form(code, budget, plan, indicator), [(5, 1, 5, 2), (6, 1, 6, 2)])
    try:
        dept = parse_book([grid])
    except PerfxlError:
        return
    assert isinstance(dept, Department)
    dept.total()
    dept.to_json()


ranges = st.tuples(st.integers(0, 60), st.integers(0, 8), st.integers(-2, 60), st.integers(0, 8))


@given(st.lists(ranges, max_size=120), st.integers(-5, 70), st.integers(-5, 70))
@settings(max_examples=300, deadline=None)
def test_the_ranges_reaching_into_rows_are_every_such_range_in_order(
        merges: list[tuple[int, int, int, int]], start: int, stop: int) -> None:
    """Grid.merges_between finds them by their first row (a sheet of many ranges): the same
    ranges as a walk over all of them, in the book's order, upside-down ones included."""
    g = Grid("s", [[""]], merges)
    assert g.merges_between(start, stop) == [m for m in merges if m[2] >= start and m[0] < stop]
