"""The embedded 2021 dataset is the seed, defects included; data files load exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from perfxl import ReadError, embedded, load
from perfxl.dataset import from_data, to_data


def test_seed_facts() -> None:
    d = embedded()
    assert (d.name, d.year) == ("行政审批部门", 2021)
    assert [u.code for u in d.units] == ["630001", "630003"]
    assert [p.seq for p in d.projects] == [1, 2, 3, 4, 5, 6, 7]
    assert [p.budget for p in d.projects] == [Decimal(x) for x in (
        "80000", "70000", "150000", "200000", "50000", "400000", "150000")]
    assert d.total() == Decimal("1100000.00")
    assert d.unit_totals() == {"630001": Decimal("500000"), "630003": Decimal("600000")}
    assert d.declared_total == Decimal("1050000")
    assert d.total() - d.declared_total == d.projects[4].budget  # project 5 explains the gap
    assert d.scoring.totals() == (100, 100)
    assert [(i.points_city, i.points_county) for i in d.scoring.items][1] == (30, 25)
    assert d.scoring.bonus_cap == 5 and [x.points for x in d.scoring.deductions] == [1, 2]
    assert len(d.measures) == 3


def test_seed_defects_are_kept() -> None:
    p = embedded().projects
    assert p[3].plan is None                                      # project 4: no plan
    assert p[6].indicators[4].level3 == "被帮扶贫困村(%)"
    assert p[6].indicators[4].value == ""                         # project 7: value missing
    assert all(p[i].indicators == p[0].indicators for i in range(1, 5))  # copied set
    assert [len(x.code) for x in p] == [21, 21, 21, 21, 22, 21, 22]
    assert all(i.basis == "年度工作计划" for x in p for i in x.indicators)
    assert p[0].indicators[3].value == "≥95 百分比"                 # 项目成本 in 百分比
    assert p[6].indicators[0].value == ">95 百分比"
    assert sum(len(x.indicators) for x in p) == 63


def test_yaml_and_json_load_the_same(tmp_path: Path, seed_data: dict[str, Any]) -> None:
    j = tmp_path / "d.json"
    j.write_text(json.dumps(seed_data, ensure_ascii=False), encoding="utf-8")
    assert load(j) == embedded()
    assert to_data(from_data(to_data(embedded()))) == to_data(embedded())


def test_wan_yuan_data_file(tmp_path: Path) -> None:
    f = tmp_path / "w.yaml"
    f.write_text("department: {name: 部门, year: 2022, amount_unit: 万元}\n"
                 "units: [{code: '600001', name: 单位}]\n"
                 "projects: [{unit: '600001', code: X, name: N, budget: '1.234567',"
                 " fiscal: '1.234567', other: '0'}]\n", encoding="utf-8")
    assert load(f).projects[0].budget == Decimal("12345.67")


@pytest.mark.parametrize(("content", "message"), [
    ("projects: [{budget: 80000.1}]", "不符合格式"),
    ("[1, 2", "格式错误"),
    ("- a\n- b\n", "不符合格式"),
    ("format: other/9\n", "不符合格式"),
    ("projects: [{plan: [1, 2]}]", "不符合格式"),
])
def test_bad_data_files_are_refused_clearly(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ReadError, match=message) as e:
        load(f)
    assert e.value.exit_code == 2


def test_missing_data_file() -> None:
    with pytest.raises(ReadError, match="找不到数据文件"):
        load("/nonexistent/data.yaml")
