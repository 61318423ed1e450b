"""The other forms users send (perfxl/forms.py), typed by hand the way an office types them.

The national 项目支出绩效目标申报表 (Ministry of Finance layout) and the 一体化 system's indicator
import sheet are built here with plain openpyxl from their field lists (the README's "Other forms
users send"): a merged title, labels on the left and values on the right, 项目资金(万元) over
年度资金总额 / 其中:财政拨款 / 其他资金, the 绩效指标 table with merged 一级 cells. Every book goes
through the real CLI (`perfxl read --format json`, `perfxl validate --format json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.worksheet import Worksheet

from perfxl import read_book
from perfxl.cli import main
from perfxl.rules import rule_label

CODE = "130303216DIAX82DQONDM"  # 21 characters, region 130303, year 21 (the seed's first code)
UNIT = "秦皇岛市山海关区行政审批局本级"
DEPARTMENT = "秦皇岛市山海关区行政审批局"
GOALS = "1. 完成全年行政审批事项的专家评审工作\n2. 评审意见按时反馈,提高审批质量"

# (一级, 二级, 三级, 指标性质, 指标值, 度量单位): the three value columns of the split version;
# the other versions type them as one value. Two rows are the form's unfilled placeholders.
INDICATORS = [
    ("产出指标", "数量指标", "指标1：专家评审项目数(个)", "≥", "120", "个"),
    ("产出指标", "质量指标", "评审意见采纳率", "≥", "95", "%"),
    ("产出指标", "质量指标", "指标2：", "", "", ""),
    ("产出指标", "时效指标", "评审完成时间", "≤", "2021年12月底", ""),
    ("产出指标", "成本指标", "专家评审费", "≤", "8", "万元"),
    ("效益指标", "社会效益指标", "审批事项按时办结率", "≥", "98", "%"),
    ("效益指标", "生态效益指标", "", "", "", ""),
    ("效益指标", "可持续影响指标", "审批服务长效机制", "定性", "达到", ""),
    ("满意度指标", "服务对象满意度指标", "服务对象满意度", "≥", "90", "%"),
]
# what the reader gives back: placeholders skipped, the numbering 指标1: dropped, values joined
READ_BACK = [
    ["产出指标", "数量指标", "专家评审项目数(个)", "≥120个"],
    ["产出指标", "质量指标", "评审意见采纳率", "≥95%"],
    ["产出指标", "时效指标", "评审完成时间", "≤2021年12月底"],
    ["产出指标", "成本指标", "专家评审费", "≤8万元"],
    ["效益指标", "社会效益指标", "审批事项按时办结率", "≥98%"],
    ["效益指标", "可持续影响指标", "审批服务长效机制", "达到"],
    ["满意度指标", "服务对象满意度指标", "服务对象满意度", "≥90%"],
]


def run(*args: str | Path) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def read_json(book: Path) -> dict[str, Any]:
    code, out, err = run("read", book, "--format", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def validate_json(book: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = run("validate", book, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)


def put(ws: Worksheet, row: int, c0: int, value: Any, c1: int | None = None,
        row1: int | None = None) -> None:
    """A value typed at (row, c0), merged to (row1, c1) when given (1-based)."""
    ws.cell(row, c0, value)
    if (c1 or c0) > c0 or (row1 or row) > row:
        ws.merge_cells(start_row=row, start_column=c0, end_row=row1 or row, end_column=c1 or c0)


def national_sheet(ws: Worksheet, *, name: str = "行政审批等专家评审费", code: str | None = None,
                   unit: str = UNIT, money_label: str = "项目资金\n（万元）",
                   amounts: tuple[Any, Any, Any] = (8, 8, 0), goals_label: str = "总体目标",
                   values: str = "one", scoring: bool = False, mid_term: bool = False,
                   year_line: str = "（2021年度）", indicators: list[tuple[str, ...]] | None = None,
                   ) -> None:
    """One 项目支出绩效目标申报表 on ``ws``.

    ``values``: "one" (指标值), "split" (指标性质 | 指标值 | 度量单位), "split2" (the same under a
    merged 指标值 heading, on a second header row); ``scoring`` adds 评(扣)分标准 and 备注;
    ``mid_term`` is the original layout: 中期 and 年度 side by side (资金, 目标, 指标值);
    ``code`` adds a 项目编码 row above 项目名称.
    """
    value_heads = {"one": ["指标值"], "split": ["指标性质", "指标值", "度量单位"],
                   "split2": ["指标性质", "指标值", "度量单位"]}[values]
    if mid_term:
        value_heads = ["中期指标值", "年度指标值"]
    heads = ["一级指标", "二级指标", "三级指标", *value_heads,
             *(["评（扣）分标准", "备注"] if scoring else [])]
    last = 1 + len(heads)  # column A holds the labels, the table starts in B
    put(ws, 1, 1, "项目支出绩效目标申报表", last)
    put(ws, 2, 1, year_line, last)
    r = 3
    if code is not None:
        put(ws, r, 1, "项目编码")
        put(ws, r, 2, code, last)
        r += 1
    put(ws, r, 1, "项目名称")
    put(ws, r, 2, name, last)
    put(ws, r + 1, 1, "主管部门")
    put(ws, r + 1, 2, DEPARTMENT, 3)
    put(ws, r + 1, 4, "实施单位")
    put(ws, r + 1, 5, unit, last)
    put(ws, r + 2, 1, "项目属性")
    put(ws, r + 2, 2, "经常性项目", 3)
    put(ws, r + 2, 4, "项目期")
    put(ws, r + 2, 5, "1年", last)
    r += 3
    put(ws, r, 1, money_label, row1=r + 2)
    subs = ("年度资金总额：", "其中：财政拨款", "其他资金")
    for i, (sub, amount) in enumerate(zip(subs, amounts, strict=True)):
        if mid_term:
            put(ws, r + i, 2, sub.replace("年度", "中期"))
            put(ws, r + i, 3, amount * 3 if isinstance(amount, (int, float)) else amount)
            put(ws, r + i, 4, sub)
            put(ws, r + i, 5, amount, last)
        else:
            put(ws, r + i, 2, sub)
            put(ws, r + i, 3, amount, last)
    r += 3
    if mid_term:
        put(ws, r, 1, "总体目标", row1=r + 1)
        put(ws, r, 2, "中期目标（2021-2023年）", 3)
        put(ws, r, 4, "年度目标", last)
        put(ws, r + 1, 2, "1. 三年内完成评审体系建设", 3)
        put(ws, r + 1, 4, GOALS, last)
        r += 2
    else:
        put(ws, r, 1, goals_label)
        put(ws, r, 2, GOALS, last)
        r += 1
    header = r
    for c, h in enumerate(heads, start=2):
        ws.cell(r, c, h)
    if values == "split2":  # 指标值 over its three parts, the other headings merged down
        for c in range(2, last + 1):
            if c not in (5, 6, 7):
                ws.merge_cells(start_row=r, start_column=c, end_row=r + 1, end_column=c)
        for c, h in zip((5, 6, 7), value_heads, strict=True):
            ws.cell(r + 1, c, h)
        ws.cell(r, 5, "指标值")
        ws.merge_cells(start_row=r, start_column=5, end_row=r, end_column=7)
        r += 1
    first = r + 1
    rows = indicators if indicators is not None else INDICATORS
    for i, (l1, l2, l3, nature, value, measure) in enumerate(rows):
        row = first + i
        ws.cell(row, 3, l2)
        ws.cell(row, 4, l3)
        if i == 0 or rows[i - 1][0] != l1:
            ws.cell(row, 2, l1)
        if values in ("split", "split2") and not mid_term:
            ws.cell(row, 5, nature or None)
            ws.cell(row, 6, value or None)
            ws.cell(row, 7, measure or None)
        else:
            typed = ("" if nature == "定性" else nature) + value + measure if value else None
            ws.cell(row, last - (2 if scoring else 0), typed)
            if mid_term:
                ws.cell(row, 5, typed)
        if scoring and l3:
            ws.cell(row, last - 1, "完成得满分,未完成按比例扣分")
    # 一级 merged over its run, 二级 over a repeated category; 绩效指标 down the whole table
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            if i - 1 > start:
                ws.merge_cells(start_row=first + start, start_column=2, end_row=first + i - 1,
                               end_column=2)
            start = i
    for i in range(1, len(rows)):
        if rows[i][:2] == rows[i - 1][:2]:
            ws.merge_cells(start_row=first + i - 1, start_column=3, end_row=first + i,
                           end_column=3)
    put(ws, header, 1, "绩效指标", row1=first + len(rows) - 1)


def national_book(path: Path, sheets: int = 1, **options: Any) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "项目1"
    national_sheet(ws, **options)
    for n in range(2, sheets + 1):
        national_sheet(wb.create_sheet(f"项目{n}"), name=f"项目{n}", **options)
    wb.save(path)
    return path


def indicator_rows(p: dict[str, Any]) -> list[list[str]]:
    return [[i["level1"], i["level2"], i["level3"], i["value"]] for i in p["indicators"]]


def findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["sheet"], f["cell"]) for f in report["findings"]]


# --- the national form -----------------------------------------------------------------------

def test_national_form_is_read_in_wan_yuan_with_its_cells(tmp_path: Path) -> None:
    doc = read_json(national_book(tmp_path / "申报表.xlsx"))
    assert doc["form"] == "national"
    assert (doc["department"], doc["year"]) == (DEPARTMENT, 2021)
    (p,) = doc["projects"]
    assert (p["name"], p["code"], p["unit_code"], p["unit_name"]) == (
        "行政审批等专家评审费", "", "", UNIT)
    assert (p["budget"], p["fiscal"], p["other"], p["amount_unit"]) == (
        "80000.00", "80000.00", "0.00", "万元")
    assert p["goals"] == GOALS and p["plan"] is None and p["form"] == "national"
    assert indicator_rows(p) == READ_BACK
    assert p["cells"] == {
        "title": "A1", "project.name": "B3", "project.code": "A3", "unit.name": "E4",
        "unit.code": "E4", "project.budget": "C6", "project.fiscal": "C7",
        "project.other": "C8", "project.goals": "B9"}
    # 一级 merged over its run points at its top cell; the placeholders (rows 13, 17) are skipped
    assert [i["cells"]["level1"] for i in p["indicators"]] == ["B11"] * 4 + ["B16"] * 2 + ["B19"]
    assert p["indicators"][1]["cells"] == {"level1": "B11", "level2": "C12", "level3": "D12",
                                           "value": "E12"}
    assert set(p["absent"]) >= {"project.code", "unit.code", "project.plan",
                                "indicator.description", "indicator.basis"}


def test_national_form_without_codes_gets_one_finding_per_code(tmp_path: Path) -> None:
    book = national_book(tmp_path / "申报表.xlsx")
    code, report = validate_json(book)
    assert code == 1
    # no "未填写" for the fields the form has no place for (plan, description, basis), no
    # required-missing for filled cells: only the two codes, each where it belongs
    assert findings(report) == [("code-absent-in-form", "项目1", "A3"),
                                ("code-absent-in-form", "项目1", "E4")]
    messages = [f["message"] for f in report["findings"]]
    assert "项目编码" in messages[0] and "项目名称" in messages[0]
    assert "单位编码" in messages[1] and "实施单位" in messages[1]
    assert all(f["severity"] == "error" and f["code"] == "PX104" for f in report["findings"])


def test_a_code_row_and_a_unit_code_make_the_form_complete(tmp_path: Path) -> None:
    """The half-read case: with a 项目编码 row the label search used to find a table, report
    filled cells as empty and take 万元 for 元."""
    book = national_book(tmp_path / "申报表.xlsx", code=CODE, unit=f"630001 {UNIT}")
    (p,) = read_json(book)["projects"]
    assert (p["code"], p["unit_code"], p["unit_name"]) == (CODE, "630001", UNIT)
    assert (p["budget"], p["fiscal"], p["other"]) == ("80000.00", "80000.00", "0.00")
    assert p["cells"]["project.code"] == "B3" and p["cells"]["project.name"] == "B4"
    assert p["cells"]["project.budget"] == "C7" and p["cells"]["project.goals"] == "B10"
    assert "project.code" not in p["absent"] and "unit.code" not in p["absent"]
    assert indicator_rows(p) == READ_BACK
    code, report = validate_json(book)
    assert (code, report["findings"]) == (0, [])


@pytest.mark.parametrize("unit", [f"630001-{UNIT}", f"[630001]{UNIT}", f"６３０００１　{UNIT}"])
def test_a_unit_code_written_before_the_name(tmp_path: Path, unit: str) -> None:
    book = national_book(tmp_path / "申报表.xlsx", code=CODE, unit=unit)
    (p,) = read_json(book)["projects"]
    assert (p["unit_code"], p["unit_name"]) == ("630001", UNIT)
    assert [(u.code, u.name) for u in read_book(book).units] == [("630001", UNIT)]


def test_two_forms_down_one_sheet(tmp_path: Path) -> None:
    """Offices paste one project's form under the other's."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "申报表"
    national_sheet(ws, code=CODE)
    below = ws.max_row + 2
    scratch = wb.create_sheet("草稿")
    national_sheet(scratch, name="跨省通办专项经费", code=OTHER, amounts=(15, 12, 3),
                   goals_label="年度绩效目标")
    for row in scratch.iter_rows():
        for cell in row:
            if cell.value is not None:
                ws.cell(below + cell.row - 1, cell.column, cell.value)
    for rng in scratch.merged_cells.ranges:
        ws.merge_cells(start_row=below + rng.min_row - 1, start_column=rng.min_col,
                       end_row=below + rng.max_row - 1, end_column=rng.max_col)
    del wb["草稿"]
    wb.save(tmp_path / "两表.xlsx")
    p, q = read_json(tmp_path / "两表.xlsx")["projects"]
    assert (p["code"], p["budget"], q["code"], q["name"], q["budget"], q["fiscal"]) == (
        CODE, "80000.00", OTHER, "跨省通办专项经费", "150000.00", "120000.00")
    assert indicator_rows(p) == READ_BACK and indicator_rows(q) == READ_BACK
    assert p["cells"]["project.code"] == "B3"
    assert q["cells"]["project.code"] == f"B{below + 2}"
    assert q["cells"]["title"] == f"A{below}"
    assert q["indicators"][0]["cells"]["value"] == f"E{below + 11}"


@pytest.mark.parametrize("values", ["split", "split2"])
def test_split_value_columns_are_joined_into_one_value(tmp_path: Path, values: str) -> None:
    rows = [*INDICATORS, ("满意度指标", "服务对象满意度指标", "投诉处理满意度", "≥", "", "%")]
    book = national_book(tmp_path / "申报表.xlsx", values=values, scoring=True, indicators=rows)
    (p,) = read_json(book)["projects"]
    # 指标性质 + 指标值 + 度量单位 → what values.parse_value reads; 定性 adds no operator
    assert indicator_rows(p) == [*READ_BACK, ["满意度指标", "服务对象满意度指标", "投诉处理满意度", ""]]
    first = 12 if values == "split2" else 11
    assert p["indicators"][0]["cells"]["value"] == f"F{first}"  # the 指标值 column
    assert p["cells"]["project.budget"] == "C6"
    code, report = validate_json(book)
    assert code == 1
    # only the missing value (at its 指标值 cell) and the two absent codes
    last = first + len(rows) - 1
    assert sorted(findings(report)) == sorted([
        ("indicator-value-missing", "项目1", f"F{last}"),
        ("code-absent-in-form", "项目1", "A3"), ("code-absent-in-form", "项目1", "E4")])


def test_an_operator_or_unit_already_typed_is_not_doubled(tmp_path: Path) -> None:
    rows = [("产出指标", "数量指标", "培训人数(人)", "≥", "≥300", "人"),
            ("效益指标", "社会效益指标", "群众办事时间压缩率", "≥", "30%", "%"),
            ("满意度指标", "服务对象满意度指标", "服务对象满意度", "大于等于", "95", "%")]
    book = national_book(tmp_path / "申报表.xlsx", values="split", indicators=rows)
    (p,) = read_json(book)["projects"]
    assert [i["value"] for i in p["indicators"]] == ["≥300人", "≥30%", "≥95%"]


def test_annual_goal_label_and_amounts_in_yuan(tmp_path: Path) -> None:
    book = national_book(tmp_path / "申报表.xlsx", goals_label="年度绩效目标",
                         money_label="项目资金（元）", amounts=(80000, 75000.5, 4999.5))
    (p,) = read_json(book)["projects"]
    assert (p["budget"], p["fiscal"], p["other"], p["amount_unit"]) == (
        "80000.00", "75000.50", "4999.50", "元")
    assert p["goals"] == GOALS and p["cells"]["project.goals"] == "B9"


def test_wan_yuan_is_converted_exactly(tmp_path: Path) -> None:
    book = national_book(tmp_path / "申报表.xlsx", amounts=(12.3456, 10.0001, 2.3455))
    (p,) = read_json(book)["projects"]
    assert (p["budget"], p["fiscal"], p["other"]) == ("123456.00", "100001.00", "23455.00")
    _, report = validate_json(book)
    assert "funds-mismatch" not in {f["rule"] for f in report["findings"]}


def test_money_unit_from_a_unit_cell_or_unstated(tmp_path: Path) -> None:
    book = national_book(tmp_path / "万元.xlsx", money_label="项目资金",
                         year_line="（2021年度）    单位：万元")
    (p,) = read_json(book)["projects"]
    assert (p["budget"], p["amount_unit"]) == ("80000.00", "万元")
    book = national_book(tmp_path / "未注明.xlsx", money_label="项目资金", amounts=(80000, 80000, 0))
    (p,) = read_json(book)["projects"]
    assert (p["budget"], p["amount_unit"]) == ("80000.00", "")
    _, report = validate_json(book)
    assert ("money-unit-unstated", "项目1", "C6") in findings(report)


def test_the_original_layout_with_mid_term_columns_reads_the_year(tmp_path: Path) -> None:
    book = national_book(tmp_path / "申报表.xlsx", mid_term=True)
    (p,) = read_json(book)["projects"]
    assert (p["budget"], p["fiscal"], p["other"]) == ("80000.00", "80000.00", "0.00")
    assert p["cells"]["project.budget"] == "E6" and p["cells"]["project.fiscal"] == "E7"
    assert p["goals"] == GOALS and p["cells"]["project.goals"] == "D10"
    assert indicator_rows(p) == READ_BACK
    assert p["indicators"][0]["cells"]["value"] == "F12"  # 年度指标值, not 中期


def test_one_form_per_sheet_and_an_annotated_copy(tmp_path: Path) -> None:
    book = national_book(tmp_path / "申报表.xlsx", sheets=2, code=CODE)
    doc = read_json(book)
    assert [(p["seq"], p["sheet"], p["name"]) for p in doc["projects"]] == [
        (1, "项目1", "行政审批等专家评审费"), (2, "项目2", "项目2")]
    out = tmp_path / "checked.xlsx"
    code, _, err = run("validate", book, "-o", out)
    assert code == 1, err
    checked = openpyxl.load_workbook(out)
    rows = list(checked["校验结果"].iter_rows(values_only=True))
    # both projects carry the same code: each is listed and marked at its own 项目编码 cell,
    # and each 实施单位 (no unit code) at its own sheet
    assert {row[9] for row in rows
            if row[4] == rule_label("project-code-duplicate")} == {"项目1!B3", "项目2!B3"}
    assert {row[9] for row in rows
            if row[4] == rule_label("code-absent-in-form")} == {"项目1!E5", "项目2!E5"}
    for sheet in ("项目1", "项目2"):
        assert "项目编码" in checked[sheet]["B3"].comment.text
        assert "单位编码" in checked[sheet]["E5"].comment.text


def test_a_blank_national_form_is_skipped_as_blank(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "填报"
    national_sheet(ws, name="", unit="", amounts=("", "", ""),
                   indicators=[("产出指标", "数量指标", "指标1：", "", "", "")])
    national_sheet(wb.create_sheet("项目"))
    wb.save(tmp_path / "blank.xlsx")
    doc = read_json(tmp_path / "blank.xlsx")
    assert [p["sheet"] for p in doc["projects"]] == ["项目"]
    assert doc["skipped"][0]["sheet"] == "填报" and "空白" in doc["skipped"][0]["reason"]


# --- the 一体化 import sheet -------------------------------------------------------------------

IMPORT_HEAD = ["*具体项目代码", "一级绩效指标代码", "一级绩效指标名称", "二级绩效指标代码",
               "二级绩效指标名称", "三级绩效指标代码", "三级绩效指标名称", "绩效指标说明", "*指标值",
               "评（扣）分标准", "备注"]
OTHER = "130303216DIAX82DQONDN"
IMPORT_ROWS = [
    [CODE, "1", "产出指标", "11", "数量指标", "1101", "专家评审项目数(个)", "年度评审的项目数",
     "≥120个", "完成得满分", ""],
    [CODE, "1", "产出指标", "14", "成本指标", "1401", "专家评审费", "", "≤8万元", "", ""],
    [CODE, "2", "效益指标", "22", "社会效益指标", "2201", "审批事项按时办结率", "按时办结的比例",
     "≥98%", "", ""],
    [CODE, "3", "满意度指标", "31", "服务对象满意度指标", "3101", "服务对象满意度", "问卷调查",
     "≥90%", "", "抽样"],
    [OTHER, "1", "1-产出指标", "11", "11-数量指标", "1101", "评审场次(场)", "全年场次", "≥12场",
     "", ""],
    [OTHER, "2", "2-效益指标", "22", "22-社会效益指标", "2201", "群众满意率", "问卷", "", "", ""],
]


def import_book(path: Path, head: list[str] = IMPORT_HEAD,
                rows: list[list[str]] = IMPORT_ROWS) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "绩效指标"
    ws.append(head)
    for row in rows:
        ws.append([v or None for v in row])
    wb.save(path)
    return path


def test_import_sheet_groups_indicators_by_project_code(tmp_path: Path) -> None:
    doc = read_json(import_book(tmp_path / "导入.xlsx"))
    assert doc["form"] == "import"
    assert [(p["seq"], p["code"], p["sheet"], len(p["indicators"])) for p in doc["projects"]] == [
        (1, CODE, "绩效指标", 4), (2, OTHER, "绩效指标", 2)]
    p, q = doc["projects"]
    # no amounts are invented: null, and no unit, goals or plan
    assert (p["budget"], p["fiscal"], p["other"], p["plan"], p["goals"]) == (
        None, None, None, None, "")
    assert {"project.budget", "project.goals", "unit.code", "project.name"} <= set(p["absent"])
    assert p["cells"] == {"project.code": "A2"} and q["cells"] == {"project.code": "A6"}
    assert [[i["level1"], i["level2"], i["level3"], i["description"], i["value"]]
            for i in q["indicators"]] == [  # the codes written before the names are dropped
        ["产出指标", "数量指标", "评审场次(场)", "全年场次", "≥12场"],
        ["效益指标", "社会效益指标", "群众满意率", "问卷", ""]]
    assert p["indicators"][0]["cells"] == {"level1": "C2", "level2": "E2", "level3": "G2",
                                           "description": "H2", "value": "I2"}
    assert doc["units"] == []


def test_import_sheet_findings_are_about_indicators_not_missing_amounts(tmp_path: Path) -> None:
    code, report = validate_json(import_book(tmp_path / "导入.xlsx"))
    assert code == 1
    assert sorted(findings(report)) == sorted([
        ("amounts-absent-in-form", "绩效指标", "A2"),       # once for the sheet
        ("description-missing", "绩效指标", "H3"),          # 专家评审费 has no 绩效指标说明
        ("indicator-value-missing", "绩效指标", "I7"),      # 群众满意率 has no value
        ("indicator-category-missing", "绩效指标", "C6"),   # the second project: no 满意度
        ("indicator-category-missing", "绩效指标", "C6"),   # … and no 成本指标 (a warning)
    ])
    sheet_note = next(f for f in report["findings"] if f["rule"] == "amounts-absent-in-form")
    assert sheet_note["severity"] == "warning" and "预算数" in sheet_note["message"]
    assert "2 个项目" in sheet_note["message"]


def test_import_sheet_with_names_units_and_without_level1(tmp_path: Path) -> None:
    head = ["项目代码", "项目名称", "单位代码", "单位名称", "二级绩效指标", "三级绩效指标名称",
            "指标性质", "指标值", "度量单位", "备注"]
    rows = [[CODE, "专家评审费", "630001", UNIT, "数量指标", "评审项目数(个)", "≥", "120", "个", ""],
            [CODE, "", "", "", "服务对象满意度指标", "服务对象满意度", "≥", "90", "%", ""],
            [f"{OTHER}-跨省通办", "", "630003", "政务服务中心", "质量指标", "通办事项办结率", "",
             "≥95%", "", ""]]
    doc = read_json(import_book(tmp_path / "导入.xlsx", head, rows))
    p, q = doc["projects"]
    assert (p["code"], p["name"], q["code"], q["name"]) == (CODE, "专家评审费", OTHER, "跨省通办")
    assert (p["unit_code"], p["unit_name"], q["unit_code"]) == ("630001", UNIT, "630003")
    assert [u["code"] for u in doc["units"]] == ["630001", "630003"]
    assert p["cells"]["project.name"] == "B2" and p["cells"]["unit.code"] == "C2"
    assert [i["value"] for i in p["indicators"]] == ["≥120个", "≥90%"]
    assert p["indicators"][0]["cells"]["value"] == "H2"
    # 一级 follows from 二级 (数量指标 belongs only to 产出指标), pointing at the 二级 cell
    assert [(i["level1"], i["cells"]["level1"]) for i in p["indicators"]] == [
        ("产出指标", "E2"), ("满意度指标", "E3")]
    assert not {"unit.code", "unit.name", "project.name"} & set(p["absent"])


# --- what perfxl does not read ---------------------------------------------------------------

def test_a_book_in_an_unknown_form_is_refused_with_the_labels_found(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["项目名称", "行政审批等专家评审费"])
    ws.append(["绩效指标", "专家评审项目数 ≥120个"])
    wb.save(tmp_path / "其他.xlsx")
    code, out, err = run("read", tmp_path / "其他.xlsx", "--format", "json")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "Traceback" not in err  # one sentence
    assert "不是预算绩效目标工作簿" in err
    assert "找到: 项目名称、绩效指标;没有找到: 项目编码/项目代码、预算数/项目资金" in err
    code, _, err = run("validate", tmp_path / "其他.xlsx")
    assert code == 2 and "没有找到: 项目编码/项目代码" in err


def test_a_list_of_projects_is_skipped_not_read_as_a_project(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "项目清单"
    ws.append(["序号", "项目代码", "项目名称", "项目单位", "金额(万元)"])
    ws.append([1, CODE, "行政审批等专家评审费", UNIT, 8])
    national_sheet(wb.create_sheet("申报表"), code=OTHER)
    wb.save(tmp_path / "清单.xlsx")
    doc = read_json(tmp_path / "清单.xlsx")
    assert [p["code"] for p in doc["projects"]] == [OTHER]
    assert doc["skipped"][0]["sheet"] == "项目清单" and "项目清单" in doc["skipped"][0]["reason"]
