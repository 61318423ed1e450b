"""Validation: the seed's defects are found at the right cells; each single mutation of a valid
book yields its rule at exactly the mutated cell."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from seedlayout import write_seed_layout_book

from perfxl import embedded, read_book, write_book
from perfxl.cli import main
from perfxl.findings import ERROR, WARNING, field_label
from perfxl.live import live_rules
from perfxl.marks import is_live_mark
from perfxl.model import Department, Indicator, Project, Unit
from perfxl.rules import CATALOGUE, RULES, RulesConfig, load_config, rule_label
from perfxl.validate import check, validate_book

P4 = "4.跨省通办及省内通办网络建设及设备费"
P7 = "7.青龙帮扶杨树底下村修桥资金"


def where(report: Any, rule: str) -> set[tuple[str, str]]:
    return {(f.sheet, f.cell) for f in report.findings if f.rule == rule}


def seed_expectations(report: Any, sheets: list[str], cells: dict[str, Any]) -> None:
    """The defects of the 2021 draft, each at its cell (cells from that book's map)."""
    s = sheets
    assert (s[3], cells[3]["project.plan"][0]) in where(report, "plan-missing")
    assert where(report, "indicator-value-missing") == {(s[6], cells[6]["ind"][4]["value"])}
    assert {sh for sh, _ in where(report, "indicator-set-copied")} == set(s[:5])
    assert where(report, "code-pattern") == {(s[4], cells[4]["project.code"]),
                                             (s[6], cells[6]["project.code"])}
    # 项目成本 valued in 百分比, on every project that has it
    for i in range(6):
        assert (s[i], cells[i]["ind"][3]["value"]) in where(report, "indicator-unit-mismatch")
    repeats = where(report, "description-repeats-name")
    assert (s[0], cells[0]["ind"][3]["description"]) in repeats      # 项目成本 / 项目成本
    assert (s[0], cells[0]["ind"][6]["description"]) in repeats      # 资源消耗 / 资源消耗
    severities = {f.rule: f.severity for f in report.findings}
    assert severities["plan-missing"] == severities["indicator-value-missing"] == ERROR
    assert severities["indicator-set-copied"] == severities["description-repeats-name"] == WARNING
    assert not report.valid


def cell_maps(dept: Department) -> tuple[list[str], dict[int, Any]]:
    return ([p.sheet for p in dept.projects],
            {i: {**p.cells, "ind": [ind.cells for ind in p.indicators]}
             for i, p in enumerate(dept.projects)})


def test_seed_expectations_on_the_demo_book(demo_book: Path) -> None:
    dept, report = validate_book(demo_book)
    sheets, cells = cell_maps(dept)
    assert sheets[3] == P4 and cells[3]["project.plan"][0] == "B7"
    seed_expectations(report, sheets, cells)
    assert (P7, "F14") in where(report, "indicator-value-missing")
    counts = Counter(f.rule for f in report.findings)
    assert counts["indicator-set-copied"] == 5 and counts["code-pattern"] == 2
    assert report.counts == {"error": 4, "warning": sum(counts.values()) - 4}


@pytest.mark.parametrize("variant", [{}, {"row_offset": 2, "col_offset": 1, "wan_yuan": True},
                                     {"split_codes": True, "blank_rows": True}])
def test_seed_expectations_on_hand_made_books(tmp_path: Path, seed_data: dict[str, Any],
                                              variant: dict[str, Any]) -> None:
    path = tmp_path / "hand.xlsx"
    write_seed_layout_book(path, seed_data, **variant)
    dept, report = validate_book(path)
    sheets, cells = cell_maps(dept)
    seed_expectations(report, sheets, cells)
    if variant.get("split_codes"):
        assert len(where(report, "code-whitespace")) == 7


# --- a valid book, and single mutations of it --------------------------------------------------

def valid_department() -> Department:
    ind = [
        Indicator("产出指标", "数量指标", "培训窗口人员(人)", "全年培训窗口工作人员人数", "≥200 人", "年度工作计划"),
        Indicator("产出指标", "质量指标", "办件差错率", "审批办件出现差错的比例", "≤1%", "行业标准"),
        Indicator("产出指标", "时效指标", "平台上线时间", "审批平台正式上线运行的时间", "2021年6月底", "年度工作计划"),
        Indicator("产出指标", "成本指标", "专家评审费", "全年专家评审费用支出", "≤80000 元", "预算支出标准"),
        Indicator("效益指标", "社会效益指标", "一次办结率", "一次办结事项占全部事项的比例", "≥90%", "历史标准"),
        Indicator("效益指标", "可持续影响指标", "制度化运行", "评审制度持续运行的年限", "≥3 年", "计划标准"),
        Indicator("满意度指标", "服务对象满意度指标", "办事群众满意度", "抽样调查中满意的群众比例", "≥95%", "年度工作计划"),
    ]
    p = Project(1, "630001", "秦皇岛市山海关区行政审批局本级", "130303216DIAX82DQONDM",
                "行政审批等专家评审费", Decimal(100000), Decimal(80000), Decimal(20000),
                "保障审批局专家评审经费", "1. 保障专家评审经费\n2. 保障审批业务顺利",
                (Decimal(25), Decimal(50), Decimal(75), Decimal(100)), ind)
    q = copy.deepcopy(p)
    q.seq, q.code, q.name = 2, "13030321VHLBBTHOZHGUK", "百事通改革网络建设及设备费"
    q.goals = "1. 完成百事通改革网络建设"
    q.indicators[1] = Indicator("产出指标", "质量指标", "网络验收合格率", "网络建设通过验收的比例", "=100%", "行业标准")
    q.indicators[4] = Indicator("效益指标", "社会效益指标", "网上办理率", "网上办理事项的比例", "≥80%", "历史标准")
    d = embedded()
    d.units = [Unit("630001", "秦皇岛市山海关区行政审批局本级")]
    d.projects = [p, q]
    return d


@pytest.fixture(scope="module")
def valid_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("valid") / "valid.xlsx"
    write_book(path, valid_department())
    return path


def test_the_valid_book_has_no_findings(valid_book: Path) -> None:
    _, report = validate_book(valid_book)
    assert [(f.rule, f.cell, f.message) for f in report.findings] == []
    assert report.valid


SHEET = "1.行政审批等专家评审费"
MUTATIONS = [  # (cell, new value, rule, severity)
    ("C4", 100001, "funds-mismatch", ERROR),
    ("G4", -20000, "amount-negative", ERROR),
    ("C4", "十万", "amount-not-number", ERROR),
    ("C4", None, "required-missing", ERROR),
    ("B3", None, "required-missing", ERROR),
    ("E3", None, "required-missing", ERROR),
    ("B8", None, "required-missing", ERROR),
    ("D7", 0.2, "plan-not-monotonic", ERROR),
    ("F7", 0.9, "plan-not-100", ERROR),
    ("B7", 1.5, "plan-out-of-range", ERROR),
    ("E7", None, "plan-missing", ERROR),
    ("B3", "13030321DIAX82DQONDM", "code-pattern", ERROR),
    ("B3", "130303216DIAX82 DQONDM", "code-whitespace", WARNING),
    ("B3", "13030321VHLBBTHOZHGUK", "project-code-duplicate", ERROR),
    ("F16", "≥80%", "satisfaction-below-floor", WARNING),
    ("F10", None, "indicator-value-missing", ERROR),
    ("F10", "很多", "indicator-value-unparseable", ERROR),
    ("F11", "≥120%", "indicator-unit-mismatch", WARNING),
    ("F13", "≤120000 元", "indicator-unit-mismatch", WARNING),
    ("F13", "≥95 百分比", "indicator-unit-mismatch", WARNING),
    ("F12", "≥95 百分比", "indicator-unit-mismatch", WARNING),
    ("F10", "≥95%", "indicator-unit-mismatch", WARNING),
    ("F14", "有效提升", "indicator-value-vague", WARNING),
    ("B10", "经济效益指标", "indicator-level-mismatch", ERROR),
    ("C11", None, "indicator-level-missing", ERROR),
    ("C11", "培训窗口人员(人)", "indicator-duplicate", ERROR),
    ("D14", "一次办结率", "description-repeats-name", WARNING),
    ("D14", None, "description-missing", WARNING),
    ("G14", None, "basis-missing", WARNING),
    ("B8", "1. 完成百事通改革网络建设", "goals-copied", WARNING),
]


def mutate(src: Path, dst: Path, cell: str, value: Any, sheet: str = SHEET) -> None:
    wb = openpyxl.load_workbook(src)
    c = wb[sheet][cell]
    c.value = value
    if isinstance(value, str):
        c.data_type = "s"
    wb.save(dst)


@pytest.mark.parametrize(("cell", "value", "rule", "severity"), MUTATIONS,
                         ids=[f"{m[2]}@{m[0]}" for m in MUTATIONS])
def test_single_mutation_yields_its_finding_at_the_cell(valid_book: Path, tmp_path: Path,
                                                        cell: str, value: Any, rule: str,
                                                        severity: str) -> None:
    path = tmp_path / "m.xlsx"
    mutate(valid_book, path, cell, value)
    _, report = validate_book(path)
    hits = [f for f in report.findings if f.rule == rule and f.sheet == SHEET and f.cell == cell]
    assert hits, [(f.rule, f.sheet, f.cell) for f in report.findings]
    assert hits[0].severity == severity and hits[0].code == RULES[rule].code
    assert hits[0].message and hits[0].message_en


def test_funds_mismatch_sits_on_the_budget_cell_whichever_amount_changed(
        valid_book: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    mutate(valid_book, path, "E4", 80000.01)
    _, report = validate_book(path)
    (f,) = report.findings
    assert (f.rule, f.cell) == ("funds-mismatch", "C4") and "财政资金 80,000.01 元" in f.message


def test_mutation_in_json_from_the_cli(valid_book: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    mutate(valid_book, path, "C4", 100001)
    r = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["valid"] is False and doc["counts"] == {"error": 1, "warning": 0}
    (f,) = doc["findings"]
    assert f == {
        "code": "PX201", "rule": "funds-mismatch", "severity": "error", "field": "project.budget",
        "unit_code": "630001", "project_code": "130303216DIAX82DQONDM",
        "project_name": "行政审批等专家评审费", "sheet": SHEET, "cell": "C4", "value": "100001.00",
        "message": "预算数 100,001.00 元 ≠ 财政资金 80,000.00 元 + 其他资金 20,000.00 元(相差 1.00 元)",
        "message_en": "budget 100,001.00 ≠ fiscal 80,000.00 + other 20,000.00 (difference 1.00)"}


def test_exit_codes(valid_book: Path, demo_book: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["validate", str(valid_book)]).exit_code == 0
    assert CliRunner().invoke(main, ["validate", str(demo_book)]).exit_code == 1
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 broken")
    r = CliRunner().invoke(main, ["validate", str(bad)])
    assert r.exit_code == 2 and "无法读取" in r.stderr


def test_department_scoring_must_add_to_100() -> None:
    d = valid_department()
    d.scoring.items[1].points_county = 30
    d.scoring.bonus_cap = 6
    d.cells["department.scoring"] = "C28"
    report = check(d)
    msgs = [(f.rule, f.cell, f.message) for f in report.findings if f.rule == "scoring-not-100"]
    assert ("scoring-not-100", "D28", "考核分值(县区)合计 105 分,应为 100 分") in msgs
    assert any("加分上限为 6 分" in m for _, _, m in msgs)


def test_category_missing_is_error_but_cost_only_a_warning() -> None:
    d = valid_department()
    d.projects[0].indicators = [i for i in d.projects[0].indicators
                                if i.level1 != "满意度指标" and i.level2 != "成本指标"]
    found = {(f.rule, f.severity, f.message) for f in check(d).findings
             if f.project_code == d.projects[0].code}
    assert ("indicator-category-missing", ERROR, "缺少满意度指标(每个项目应至少有一条)") in found
    assert ("indicator-category-missing", WARNING, "缺少成本指标(每个项目应至少有一条)") in found


def test_rules_file_changes_thresholds_and_severities(tmp_path: Path, demo_book: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text("thresholds:\n  code_length: 22\n  satisfaction_floor: 96\n"
                 "rules:\n  description-repeats-name: {enabled: false}\n"
                 "  indicator-set-copied: {severity: error}\n", encoding="utf-8")
    cfg = load_config(f)
    assert cfg.code_length == 22 and cfg.satisfaction_floor == Decimal(96)
    report = check(read_book(demo_book), cfg)
    rules = Counter(f.rule for f in report.findings)
    assert rules["description-repeats-name"] == 0
    assert rules["code-pattern"] == 5  # now the 21-character codes are the wrong ones
    assert rules["satisfaction-below-floor"] == 7  # ≥95 is below 96
    assert {f.severity for f in report.findings if f.rule == "indicator-set-copied"} == {ERROR}
    bad = tmp_path / "bad.yaml"
    bad.write_text("thresholds: {no_such: 1}", encoding="utf-8")
    r = CliRunner().invoke(main, ["validate", str(demo_book), "--rules", str(bad)])
    assert r.exit_code == 2 and "未知的阈值" in r.stderr


def test_the_catalogue_has_the_slugs_reviewers_filter_on() -> None:
    required = {
        "funds-mismatch", "amount-negative", "plan-missing", "plan-out-of-range",
        "plan-not-monotonic", "plan-not-100", "code-pattern", "code-whitespace",
        "required-missing", "indicator-level-missing", "indicator-level-mismatch",
        "indicator-category-missing", "indicator-duplicate", "indicator-value-missing",
        "indicator-value-unparseable", "indicator-unit-mismatch", "satisfaction-below-floor",
        "description-repeats-name", "indicator-value-vague", "indicator-set-copied",
        "goals-copied", "project-code-duplicate", "scoring-not-100"}
    assert required <= set(RULES)
    codes = [r.code for r in CATALOGUE]
    assert len(set(codes)) == len(codes) and all(c.startswith("PX") for c in codes)
    assert {r.engine for r in CATALOGUE} == {"pandera", "rule", "merge", "batch", "selfeval",
                                               "monitor", "scoring"}
    for r in CATALOGUE:
        assert r.field.split(".")[0] in ("project", "unit", "indicator", "department", "source",
                                         "selfeval", "monitor")
        assert re.fullmatch(r"[^()a-z]{3,14}", r.title_zh), r.title_zh  # short, no slug in it
        assert re.search(r"[\u4e00-\u9fff]", r.title_zh), r.title_zh
        assert field_label(r.field) != r.field, f"{r.field} has no Chinese name in FIELD_LABELS"
    assert len({r.title_zh for r in CATALOGUE}) == len(CATALOGUE)
    assert rule_label("plan-missing") == "缺少资金支出计划 (plan-missing)"
    assert field_label("project.plan") == "资金支出计划 (project.plan)"
    assert rule_label("not-a-rule") == "not-a-rule" and field_label("x.y") == "x.y"


def row_is_chinese_first(row: list[Any]) -> bool:
    """A 校验结果 row: 规则 and 字段 in Chinese with the slug and canonical field beside them."""
    rule, field = row[4], row[8]
    return bool(re.fullmatch(r"[^()]*[\u4e00-\u9fff][^()]* \([a-z0-9-]+\)", rule)
                and re.fullmatch(r"[\u4e00-\u9fff][^()]* \([a-z0-9.*]+\)", field))


def test_rules_command_and_generated_docs() -> None:
    root = Path(__file__).resolve().parents[1]
    r = CliRunner().invoke(main, ["rules", "--format", "json"])
    assert r.exit_code == 0
    entries = json.loads(r.stdout)
    assert {e["rule"] for e in entries} == set(RULES)
    floor = next(e for e in entries if e["rule"] == "satisfaction-below-floor")
    assert floor["thresholds"]["satisfaction_floor"]["default"] == "90"
    r = CliRunner().invoke(main, ["rules", "--format", "markdown"])
    assert (root / "docs" / "rules.md").read_text(encoding="utf-8") == r.stdout, (
        "docs/rules.md is out of date: perfxl rules --format markdown > docs/rules.md")
    r = CliRunner().invoke(main, ["rules"])
    assert r.exit_code == 0 and "funds-mismatch" in r.stdout


def test_pandera_sees_one_frame_per_table(demo_book: Path) -> None:
    from perfxl.schemas import failures

    frames = read_book(demo_book).frames()
    assert len(frames["indicators"]) == 63 and len(frames["projects"]) == 7
    got = failures(frames, RulesConfig())
    assert {(f["table"], f["rule"]) for f in got} == {("projects", "code-pattern"),
                                                      ("indicators", "indicator-value-missing")}


@pytest.mark.parametrize(("cell", "value", "rule"), [
    ("C4", 100001, "funds-mismatch"), ("D7", 0.2, "plan-not-monotonic"),
    ("F16", "≥80%", "satisfaction-below-floor"), ("B3", "13030321DIAX82DQONDM", "code-pattern"),
    ("F10", "很多", "indicator-value-unparseable")])
def test_mutation_is_marked_at_its_cell_in_the_annotated_book(valid_book: Path, tmp_path: Path,
                                                              cell: str, value: Any,
                                                              rule: str) -> None:
    mutated, checked = tmp_path / "m.xlsx", tmp_path / "checked.xlsx"
    mutate(valid_book, mutated, cell, value)
    before = mutated.read_bytes()
    r = CliRunner().invoke(main, ["validate", str(mutated), "-o", str(checked)])
    assert r.exit_code in (0, 1), r.output
    assert mutated.read_bytes() == before  # the input is never changed
    wb = openpyxl.load_workbook(checked)
    ws = wb[SHEET]
    marked = {str(c) for cf in ws.conditional_formatting for c in cf.sqref.ranges}
    assert any(cell in openpyxl.worksheet.cell_range.CellRange(m) for m in marked), marked
    note = ws[cell].comment
    results = wb["校验结果"]
    rows = [[c.value for c in row] for row in results.iter_rows(min_row=6)]
    hit = next(row for row in rows if row[4] == rule_label(rule) and row[9] == f"{SHEET}!{cell}")
    if rule in live_rules():  # its live check marks it, follows the typing: no note
        assert note is None and str(hit[2]).startswith("=IF(")
        live_marks = {str(c) for cf in ws.conditional_formatting for c in cf.sqref.ranges
                      for rule_ in cf.rules if is_live_mark(rule_.formula[0])}
        assert any(cell in openpyxl.worksheet.cell_range.CellRange(m) for m in live_marks)
    else:
        assert note is not None and note.author == "perfxl" and RULES[rule].code in note.text
        assert hit[2] == "需完整校验"
    assert row_is_chinese_first(hit)
    link = results.cell(rows.index(hit) + 6, 10).hyperlink
    assert link is not None and link.location == f"'{SHEET}'!{cell}"
