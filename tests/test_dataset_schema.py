"""Data files are checked whole before anything is written: bounded reading, then the pydantic
schema of perfxl/1, every problem with its key path, exit code 2 (real files, the real CLI)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_roundtrip import departments

from perfxl import read_book
from perfxl.cli import main
from perfxl.datafile import MAX_BYTES, MAX_NODES
from perfxl.dataset import embedded_path, to_data
from perfxl.model import Department

UNITS = [{"code": "630001", "name": "行政审批局本级"}, {"code": "630003", "name": "政务服务中心"}]


def _file(tmp_path: Path, data: Any, name: str = "data.yaml") -> Path:
    """``data`` written as a real data file: a str as it stands, else dumped as YAML/JSON."""
    f = tmp_path / name
    if isinstance(data, str):
        text = data
    elif name.endswith(".json"):
        text = json.dumps(data, ensure_ascii=False)
    else:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    f.write_text(text, encoding="utf-8")
    return f


def _good(**changes: Any) -> dict[str, Any]:
    """A small valid data file (two units, two projects), with ``changes`` to its projects."""
    projects = [
        {"seq": 1, "unit": "630001", "code": "130303216DIAX82DQONDM", "name": "专家评审费",
         "budget": "80000.00", "fiscal": "80000.00", "other": "0.00", "purpose": "评审经费",
         "plan": ["25.00", "50.00", "75.00", "100.00"], "goals": "1. 保障评审",
         "indicators": [{"level1": "产出指标", "level2": "数量指标", "level3": "评审次数",
                         "description": "全年评审", "value": "≥12 次", "basis": "年度工作计划"}]},
        {"seq": 2, "unit": "630003", "code": "13030321ZRRK9DQ3GKQMC", "name": "网络建设",
         "budget": "200000.00", "fiscal": "200000.00", "other": "0.00"},
    ]
    for path, value in changes.items():
        i, key = path.split(".")
        projects[int(i)][key] = value
    return {"format": "perfxl/1",
            "department": {"name": "行政审批部门", "year": 2021, "declared_total": "280000.00"},
            "units": [dict(u) for u in UNITS], "projects": projects}


def _refused(tmp_path: Path, data_file: Path, *paths: str, command: str = "populate") -> str:
    """Run the CLI on ``data_file``: exit 2, one line naming each key path, nothing written."""
    out = tmp_path / "book.xlsx"
    args = (["populate", str(data_file), "-o", str(out)] if command == "populate"
            else ["template", "--data", str(data_file), "-o", str(out)])
    before = set(tmp_path.iterdir())
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    err = r.stderr
    assert err.startswith("错误: 数据文件") and "Traceback" not in err and "内部错误" not in err
    for path in paths:
        line = next((x for x in err.splitlines() if x.strip().startswith(f"{path}:")), None)
        assert line is not None, f"{path} not in\n{err}"
        zh, _, en = line.partition(" (")
        assert any("\u4e00" <= c <= "\u9fff" for c in zh) and en.rstrip().endswith(")"), line
    assert not out.exists() and set(tmp_path.iterdir()) == before  # no book, no temp file
    return err


# --- what users sent (the cases), each refused with its key path ------------------------

def test_wrong_types_are_refused_with_their_paths_not_an_internal_error(tmp_path: Path) -> None:
    data = {"format": "perfxl/1", "department": "行政审批部门", "units": UNITS, "projects": [1, 2]}
    err = _refused(tmp_path, _file(tmp_path, data), "department", "projects[0]", "projects[1]")
    assert "应为映射" in err and "not a number" in err


def test_wrong_types_inside_projects(tmp_path: Path) -> None:
    data = _good(**{"0.indicators": {"level1": "产出指标"}, "1.plan": "25%",
                    "0.name": ["a", "b"], "1.purpose": True})
    _refused(tmp_path, _file(tmp_path, data), "projects[0].indicators", "projects[1].plan",
             "projects[0].name", "projects[1].purpose")


def test_missing_department_name(tmp_path: Path) -> None:
    data = _good()
    del data["department"]["name"]
    assert "缺少必填项" in _refused(tmp_path, _file(tmp_path, data), "department.name")
    data["department"]["name"] = "  "
    assert "不能为空" in _refused(tmp_path, _file(tmp_path, data), "department.name")


@pytest.mark.parametrize("units", [None, [], "missing"])
def test_missing_units(tmp_path: Path, units: Any) -> None:
    data = _good()
    if units == "missing":
        del data["units"]
    else:
        data["units"] = units
    err = _refused(tmp_path, _file(tmp_path, data), "units")
    assert "projects[" not in err  # the projects' units are not each reported again


def test_project_of_an_unknown_unit(tmp_path: Path) -> None:
    err = _refused(tmp_path, _file(tmp_path, _good(**{"1.unit": "639999"})), "projects[1].unit")
    assert "639999" in err and "projects[0]" not in err


def test_duplicate_unit_codes(tmp_path: Path) -> None:
    data = _good()
    data["units"].append({"code": "630001", "name": "重复的单位"})
    err = _refused(tmp_path, _file(tmp_path, data), "units[2].code")
    assert "630001" in err and "units[0]" not in err and "units[1]" not in err


def test_codes_must_be_text(tmp_path: Path) -> None:
    """An unquoted YAML code is a number: 001001 would be octal 513, so codes must be quoted."""
    text = ('department: {name: 部门}\nunits: [{code: 001001, name: 单位}]\n'
            'projects: [{unit: "513"}]\n')
    err = _refused(tmp_path, _file(tmp_path, text), "units[0].code")
    assert "带引号" in err


@pytest.mark.parametrize(("field", "text"), [
    ("0.purpose", "字" * 32_768),
    ("1.name", "𠀀" * 16_384),  # outside the BMP: two UTF-16 units each, as Excel counts
    ("0.goals", "a" * 100_000),
], ids=["cjk", "astral", "ascii"])
def test_text_past_the_excel_cell_limit(tmp_path: Path, field: str, text: str) -> None:
    i, key = field.split(".")
    err = _refused(tmp_path, _file(tmp_path, _good(**{field: text})), f"projects[{i}].{key}")
    assert "32,767" in err


@pytest.mark.parametrize(("amount", "unit", "words"), [
    ("999999999999999.99", "元", "15 位有效数字"),
    ("1000000000000000", "元", "15 位有效数字"),
    ("900000000000000", "万元", "15 位有效数字"),     # 9×10^14 万元 = 9×10^18 元
    ("0.001", "元", "小数超过两位"),
    ("0.0000001", "万元", "小数超过两位"),              # 0.001 元
    (80000.1, "元", "不要写成小数"),
    ("八万", "元", "不是金额"),
    (True, "元", "应为文本或整数"),
])
def test_amounts_excel_cannot_hold_exactly(tmp_path: Path, amount: Any, unit: str,
                                           words: str) -> None:
    data = _good(**{"0.budget": amount})
    data["department"]["amount_unit"] = unit
    err = _refused(tmp_path, _file(tmp_path, data), "projects[0].budget")
    assert words in err


def test_declared_total_is_checked_like_any_amount(tmp_path: Path) -> None:
    data = _good()
    data["department"]["declared_total"] = "1234567890123456"
    _refused(tmp_path, _file(tmp_path, data), "department.declared_total")


@pytest.mark.parametrize("year", [10**30, 1999, 2101, "二〇二一", 2021.5, True])
def test_years_outside_the_sane_range(tmp_path: Path, year: Any) -> None:
    data = _good()
    data["department"]["year"] = year
    _refused(tmp_path, _file(tmp_path, data), "department.year")


def test_every_problem_at_once_in_yaml_and_json(tmp_path: Path) -> None:
    data = _good(**{"0.budget": "999999999999999.99", "1.unit": "X", "0.seq": 0,
                    "1.plan": ["25", "50"], "0.budgt": "1"})
    del data["department"]["name"]
    data["department"]["year"] = 10**30
    data["units"].append(dict(UNITS[0]))
    paths = ("department.name", "department.year", "units[2].code", "projects[0].budget",
             "projects[0].seq", "projects[0].budgt", "projects[1].unit", "projects[1].plan")
    for name in ("data.yaml", "data.json"):
        sub = tmp_path / name.split(".")[1]
        sub.mkdir()
        err = _refused(sub, _file(sub, data, name), *paths)
        assert f"共 {len(paths)} 处问题" in err and f"{len(paths)} problems" in err


def test_the_schema_exports_as_json_schema() -> None:
    from perfxl.datafile import DataFile

    schema = DataFile.model_json_schema()
    assert schema["required"] == ["department", "units"]
    assert schema["additionalProperties"] is False
    project = schema["$defs"]["ProjectData"]
    assert project["required"] == ["unit"] and "budget" in project["properties"]


def test_template_data_is_refused_the_same_way(tmp_path: Path) -> None:
    _refused(tmp_path, _file(tmp_path, _good(**{"1.unit": "X"})), "projects[1].unit",
             command="template")


# --- bounded reading ----------------------------------------------------------------------------

def _bomb(levels: int = 9) -> str:
    lines = ['format: perfxl/1', 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines += [f"department: {{name: *l{levels - 1}, year: 2021}}",
              'units: [{code: "630001", name: 单位}]']
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_alias_bomb_is_refused_quickly_in_bounded_memory(tmp_path: Path) -> None:
    """Nested anchors that stand for 8×9^8 ≈ 344 million strings, as a department's name."""
    bomb = _file(tmp_path, _bomb())
    out = tmp_path / "book.xlsx"
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "perfxl", "populate", str(bomb), "-o", str(out)],
                       capture_output=True, text=True, timeout=120, check=False,
                       preexec_fn=_limit_memory)
    took = time.monotonic() - start
    assert r.returncode == 2, r.stderr
    assert "data_nodes" in r.stderr and "Traceback" not in r.stderr
    assert took < 30 and not out.exists()


def test_the_python_composer_is_bounded_alike() -> None:
    """Without libyaml, PyYAML scans and parses in Python; the same bounded composer runs."""
    from perfxl.datafile import _PyLoader
    from perfxl.errors import LimitExceeded

    def load(text: str) -> Any:
        loader = _PyLoader(text)
        loader.bound(Path("data.yaml"))
        return loader.get_single_data()

    seed = embedded_path().read_text(encoding="utf-8")
    assert load(seed) == yaml.safe_load(seed)
    with pytest.raises(LimitExceeded) as e:
        load(_bomb())
    assert e.value.limit == "data_nodes" and e.value.maximum == MAX_NODES


def test_anchors_and_aliases_within_bounds_are_fine(tmp_path: Path) -> None:
    """The embedded dataset shares one indicator set by an anchor; safe_dump writes aliases."""
    r = CliRunner().invoke(main, ["populate", str(embedded_path()), "-o", str(tmp_path / "a.xlsx")])
    assert r.exit_code == 0, r.output
    data = _good()
    data["projects"][1]["indicators"] = data["projects"][0]["indicators"]  # dumped as an alias
    f = _file(tmp_path, data)
    assert "*id" in f.read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["populate", str(f), "-o", str(tmp_path / "b.xlsx")])
    assert r.exit_code == 0, r.output
    back = read_book(tmp_path / "b.xlsx").projects
    assert back[1].indicators == back[0].indicators and len(back[1].indicators) == 1


@pytest.mark.parametrize(("name", "text", "limit"), [
    ("deep.yaml", "department: {name: 部门}\nx: " + "[" * 40 + "]" * 40 + "\n", "data_depth"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "data_depth"),
    ("deep2.json", '{"a": ' * 40 + "1" + "}" * 40, "data_depth"),
    ("aliases.yaml", "_a: &a x\nx: [" + ", ".join(["*a"] * 1001) + "]\n", "data_aliases"),
    ("wide.yaml", "_a: &a [" + ", ".join(["1"] * 10_001) + "]\nx: [" + ", ".join(["*a"] * 1000)
     + "]\n", "data_nodes"),
], ids=["yaml-depth", "json-recursion", "json-depth", "aliases", "nodes"])
def test_reading_limits(tmp_path: Path, name: str, text: str, limit: str) -> None:
    err = _refused(tmp_path, _file(tmp_path, text, name))
    assert limit in err


def test_file_size_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("# " + "x" * MAX_BYTES + "\n", encoding="utf-8")
    assert "data_size" in _refused(tmp_path, f)


@pytest.mark.parametrize(("name", "text", "words"), [
    ("cycle.yaml", "_a: &a [1, *a]\n", "循环"),
    ("twice.yaml", 'department: {name: 部门, name: 别的部门}\n', "重复出现"),
    ("twice.json", '{"department": {"name": "部门", "name": "别的部门"}}', "重复出现"),
    ("tag.yaml", "x: !!python/object/apply:os.system [echo]\n", "格式错误"),
    ("syntax.yaml", "department: [1, 2\n", "第 2 行"),
], ids=["cycle", "yaml-twice", "json-twice", "tag", "syntax"])
def test_unreadable_structures(tmp_path: Path, name: str, text: str, words: str) -> None:
    assert words in _refused(tmp_path, _file(tmp_path, text, name))


# --- valid data still loads exactly and round-trips ---------------------------------------------

def _populate_and_read(data_file: Path, book: Path) -> Department:
    r = CliRunner().invoke(main, ["populate", str(data_file), "-o", str(book)])
    assert r.exit_code == 0, r.output
    return read_book(book)


def test_values_at_the_limits_are_accepted_and_read_back_exactly(tmp_path: Path) -> None:
    data = _good(**{"0.budget": "999999999999999", "0.fiscal": "999999999999999",
                    "1.budget": "9999999999999.99", "1.fiscal": "9999999999999.99",
                    "0.purpose": "字" * 32_767, "1.purpose": "𠀀" * 16_383 + "a",
                    "0.plan": ["0", "33.3333333333333", "66.6666666666667", "100"]})
    data["department"]["year"] = 2100
    back = _populate_and_read(_file(tmp_path, data), tmp_path / "b.xlsx")
    assert [p.budget for p in back.projects] == [Decimal("999999999999999"),
                                                 Decimal("9999999999999.99")]
    assert back.projects[0].purpose == "字" * 32_767
    assert back.projects[1].purpose == "𠀀" * 16_383 + "a"
    assert back.projects[0].plan == (0, Decimal("33.3333333333333"), Decimal("66.6666666666667"),
                                     100)
    assert back.year == 2100


def test_wan_yuan_is_converted_exactly_at_the_limit(tmp_path: Path) -> None:
    data = _good(**{"0.budget": "99999999999.9999", "0.fiscal": "99999999999.9999",
                    "0.other": "0", "1.budget": "0.0001", "1.fiscal": "0.0001", "1.other": 0})
    data["department"].update(amount_unit="万元", declared_total="12.3456")
    back = _populate_and_read(_file(tmp_path, data), tmp_path / "w.xlsx")
    assert [p.budget for p in back.projects] == [Decimal("999999999999999"), Decimal("1")]
    assert back.declared_total == Decimal("123456")


_FORMATS = st.sampled_from(["yaml", "json", "万元.yaml"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(departments(), _FORMATS)
def test_valid_data_files_round_trip(dept: Department, fmt: str) -> None:
    """A data file of any department the model can hold passes the schema, and the book the CLI
    writes from it reads back as the same data (in 元 also when the file is in 万元)."""
    data = to_data(dept)
    if fmt.startswith("万元"):
        data["department"]["amount_unit"] = "万元"
        for p in data["projects"]:
            for k in ("budget", "fiscal", "other"):
                p[k] = None if p[k] is None else f"{Decimal(p[k]).scaleb(-4):f}"
        if data["department"]["declared_total"] is not None:
            total = Decimal(data["department"]["declared_total"]).scaleb(-4)
            data["department"]["declared_total"] = f"{total:f}"
    with tempfile.TemporaryDirectory() as tmp:
        f = _file(Path(tmp), data, "data." + fmt.rsplit(".", 1)[-1])
        back = _populate_and_read(f, Path(tmp) / "book.xlsx")
    assert to_data(back) == to_data(dept)
