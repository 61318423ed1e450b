"""perfxl monitor: the 绩效运行监控 book written from the demo targets book, filled at the cells
``perfxl read`` reports (openpyxl, as a unit would in Excel), read back, validated, and
recalculated in LibreOffice, whose execution rates and marks must agree with the full check."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from perfxl.cli import main
from perfxl.findings import ERROR, WARNING
from perfxl.marks import ERROR_FILL, WARNING_FILL

P1, P2, P3 = "1.行政审批等专家评审费", "2.推动全区企业开办\"一窗通,零成本,即使办\"开办费", \
    "3.百事通改革网络建设及设备费"
P5, P7 = "5.政府采购评审费", "7.青龙帮扶杨树底下村修桥资金"


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def read_json(book: Path) -> dict[str, Any]:
    r = run("read", str(book), "--format", "json")
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.output)
    return data


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("targets")
    r = run("demo", "-o", str(out))
    assert r.exit_code == 0, r.output
    [book] = out.glob("*.xlsx")
    return book


@pytest.fixture(scope="module")
def monitor_book(targets: Path) -> Path:
    out = targets.parent.parent / "monitor" / "监控.xlsx"
    r = run("monitor", str(targets), "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "7 个项目" in r.output and "1-6月" in r.output
    return out


def by_sheet(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["sheet"]: p for p in data["projects"]}


# --- the book as written -----------------------------------------------------------------------

def test_the_book_carries_every_project_and_target(targets: Path, monitor_book: Path) -> None:
    before, after = read_json(targets), read_json(monitor_book)
    assert after["form"] == "monitor" and after["year"] == 2021 and after["department"] == "行政审批部门"
    assert [(p["code"], p["name"], p["unit_code"], p["budget"]) for p in after["projects"]] == \
        [(p["code"], p["name"], p["unit_code"], p["budget"]) for p in before["projects"]]
    for old, new in zip(before["projects"], after["projects"], strict=True):
        m = new["monitor"]
        assert m["month"] == 6 and m["time_progress"] == "50.00"
        assert m["budget_initial"] == m["budget"] == old["budget"]
        assert m["spent"] is None and m["execution_rate"] is None
        assert [(i["level1"], i["level2"], i["level3"], i["target"]) for i in m["indicators"]] \
            == [(i["level1"], i["level2"], i["level3"], i["value"]) for i in old["indicators"]]
        assert all(i["forecast"] == "" and i["likelihood"] == "" for i in m["indicators"])
    # project 7's 经济效益 row has no 指标值 in the seed: carried as it is
    assert any(i["target"] == "" for i in by_sheet(after)[P7]["monitor"]["indicators"])


def test_a_fresh_book_has_no_findings(monitor_book: Path) -> None:
    r = run("validate", str(monitor_book), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["findings"] == []


def test_month_option_and_labels(targets: Path, tmp_path: Path) -> None:
    out = tmp_path / "m7.xlsx"
    r = run("monitor", str(targets), "-o", str(out), "--month", "7")
    assert r.exit_code == 0, r.output
    m = read_json(out)["projects"][0]["monitor"]
    assert m["month"] == 7 and m["time_progress"] == "58.33"
    ws = openpyxl.load_workbook(out)[P1]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"1-7月执行数", "1-7月实际完成值", "全年预计完成值", "完成目标可能性", "经费保障",
            "硬件条件保障"} <= texts
    assert ws["H5"].value == "=7/12"


def test_protection_and_dropdown(monitor_book: Path) -> None:
    ws = openpyxl.load_workbook(monitor_book)[P1]
    assert ws.protection.sheet
    cells = by_sheet(read_json(monitor_book))[P1]["monitor"]
    first = cells["indicators"][0]["cells"]
    for ref in (cells["cells"]["budget"], cells["cells"]["spent"], cells["cells"]["reason"],
                first["actual"], first["forecast"], first["funds"], first["likelihood"],
                first["note"]):
        assert ws[ref].protection.locked is False, ref
    for ref in (cells["cells"]["budget_initial"], cells["cells"]["execution_rate"],
                first["level3"], first["target"]):
        assert ws[ref].protection.locked is not False, ref
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert any(dv.formula1 == '"确定能,有可能,完全不可能"' and first["likelihood"] in dv.sqref
               for dv in lists)


def test_every_formula_is_portable(monitor_book: Path) -> None:
    from book_formulas import formulas

    from perfxl.formula import PORTABLE_FUNCTIONS, functions_in

    found = list(formulas(monitor_book))
    assert {"cell", "conditional"} <= {f.kind for f in found}
    assert [f for f in found if functions_in(f.text) - PORTABLE_FUNCTIONS] == []


def test_cached_values_beside_formulas(monitor_book: Path) -> None:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(monitor_book))
    rows = book.get_sheet_by_name(P1).to_python()
    assert rows[4][7] == 0.5  # 时间进度 6/12, shown without a recalculation
    assert rows[4][6] == ""  # 执行率: nothing spent yet


# --- filled in, read back, checked ---------------------------------------------------------------

FILL = {
    # project 1: 20,000 of 80,000 spent (25 % against 50 %): behind, no reason
    P1: {"spent": 20000, "rows": {
        0: {"actual": 40, "forecast": 90, "likelihood": "确定能"},     # short, certain, no reason
        1: {"forecast": "96%", "likelihood": "有可能"},                  # not short, unsure, no reason
        2: {"forecast": "９４ 百分比", "likelihood": "有可能", "funds": "经费未到位"},  # short, reasoned
        3: {"forecast": 95, "likelihood": "确定能"},                     # met exactly
    }},
    # project 2: 90,000 of 70,000, typed as text: overspent
    P2: {"spent": "90,000", "rows": {}},
    # project 3: 60,000 of 150,000 (40 %): exactly 10 points behind, not more
    P3: {"spent": 60000, "rows": {}},
    # project 5: 10,000 of 50,000 (20 %) with a reason
    P5: {"spent": 10000, "reason": "评审集中在下半年", "rows": {
        0: {"forecast": "abc", "likelihood": "确定能"},                  # not a number: no compare
    }},
}


def expected(margin: Decimal = Decimal(10)) -> set[tuple[str, str, str, str]]:
    """(sheet, cell, rule, severity) the full check must report for FILL, worked out by hand
    from the demo's budgets and targets (≥95 百分比 on every row filled)."""
    budgets = {P1: Decimal(80000), P2: Decimal(70000), P3: Decimal(150000), P5: Decimal(50000)}
    out = set()
    for sheet, fill in FILL.items():
        spent = Decimal(str(fill["spent"]).replace(",", ""))
        if spent > budgets[sheet]:
            out.add((sheet, "E5", "monitor-overspent", ERROR))
        behind = Decimal(50) - spent * 100 / budgets[sheet]
        if behind > margin and not fill.get("reason"):
            out.add((sheet, "I5", "monitor-spending-behind", WARNING))
    out |= {(P1, "G10", "monitor-forecast-short", ERROR),
            (P1, "L10", "monitor-likelihood-certain", ERROR),
            (P1, "G11", "monitor-likelihood-unreasoned", ERROR)}
    return out


def fill(book: Path, dest: Path) -> None:
    """Type FILL into a copy of the book at the cells ``perfxl read`` reports."""
    projects = by_sheet(read_json(book))
    wb = openpyxl.load_workbook(book)
    for sheet, values in FILL.items():
        m = projects[sheet]["monitor"]
        ws = wb[sheet]
        ws[m["cells"]["spent"]] = values["spent"]
        if "reason" in values:
            ws[m["cells"]["reason"]] = values["reason"]
        for k, row in values["rows"].items():
            cells = m["indicators"][k]["cells"]
            for fld, value in row.items():
                ws[cells[fld]] = value
    wb.save(dest)


@pytest.fixture(scope="module")
def filled(monitor_book: Path) -> Path:
    dest = monitor_book.with_name("filled.xlsx")
    fill(monitor_book, dest)
    return dest


def findings(book: Path, *extra: str) -> set[tuple[str, str, str, str]]:
    r = run("validate", str(book), "--format", "json", *extra)
    assert r.exit_code in (0, 1), r.output
    return {(f["sheet"], f["cell"], f["rule"], f["severity"])
            for f in json.loads(r.output)["findings"]}


def test_read_as_text_shows_the_rates(filled: Path) -> None:
    r = run("read", str(filled))
    assert r.exit_code == 0, r.output
    assert "按绩效运行监控表读取" in r.output
    assert "1. 1-6月执行率 (execution rate) 25.00% / 时间进度 (time progress) 50.00%" in r.output


def test_filled_book_reads_back(filled: Path) -> None:
    projects = by_sheet(read_json(filled))
    m = projects[P1]["monitor"]
    assert (m["spent"], m["budget"], m["execution_rate"], m["time_progress"]) == \
        ("20000.00", "80000.00", "25.00", "50.00")
    rows = m["indicators"]
    assert (rows[0]["actual"], rows[0]["forecast"], rows[0]["likelihood"]) == ("40", "90", "确定能")
    assert rows[2]["reasons"] == {"funds": "经费未到位", "rules": "", "staff": "", "hardware": "",
                                  "other": ""}
    assert projects[P2]["monitor"]["execution_rate"] == "128.57"
    assert projects[P5]["monitor"]["reason"] == "评审集中在下半年"


def test_validate_reports_the_findings_at_their_cells(filled: Path) -> None:
    assert findings(filled) == expected()
    r = run("validate", str(filled))
    assert r.exit_code == 1


def test_the_margin_comes_from_the_rules_file(filled: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("thresholds:\n  monitor_margin: 5\n", encoding="utf-8")
    got = findings(filled, "--rules", str(rules))
    assert got == expected(Decimal(5))
    assert (P3, "I5", "monitor-spending-behind", WARNING) in got  # 10 points behind > 5


def test_a_rule_turned_off_is_neither_found_nor_marked(targets: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  monitor-spending-behind: {enabled: false}\n"
                     "  monitor-likelihood-certain: {severity: warning}\n", encoding="utf-8")
    book, filled = tmp_path / "m.xlsx", tmp_path / "f.xlsx"
    assert run("monitor", str(targets), "-o", str(book), "--rules", str(rules)).exit_code == 0
    fill(book, filled)
    on = {(s, c, r, WARNING if r == "monitor-likelihood-certain" else sev)
          for s, c, r, sev in expected() if r != "monitor-spending-behind"}
    assert findings(filled, "--rules", str(rules)) == on
    ws = openpyxl.load_workbook(book)[P1]
    marked = {str(rng.sqref) for rng in ws.conditional_formatting}
    assert "I5:M5" not in marked and "E5:F5" in marked and "L10" in marked


def test_validate_writes_an_annotated_copy(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "checked.xlsx"
    r = run("validate", str(filled), "-o", str(out))
    assert r.exit_code == 1, r.output
    wb = openpyxl.load_workbook(out)
    assert "校验结果" in wb.sheetnames
    texts = [c.value for row in wb["校验结果"].iter_rows() for c in row]
    assert any(isinstance(t, str) and "monitor-forecast-short" in t for t in texts)
    # the annotated copy is still a monitoring book
    assert read_json(out)["form"] == "monitor"


def test_a_monitoring_book_carries_forward(filled: Path, tmp_path: Path) -> None:
    """A monitoring book given to perfxl monitor: the same month keeps what was reported,
    another starts afresh with the budgets kept."""
    same, later = tmp_path / "same.xlsx", tmp_path / "later.xlsx"
    assert run("monitor", str(filled), "-o", str(same)).exit_code == 0
    assert run("monitor", str(filled), "-o", str(later), "--month", "9").exit_code == 0
    assert findings(same) == expected()
    m = by_sheet(read_json(later))[P1]["monitor"]
    assert m["month"] == 9 and m["spent"] is None and m["budget"] == "80000.00"


@pytest.mark.libreoffice
def test_libreoffice_recalculates_rates_and_marks_the_findings(filled: Path,
                                                                soffice: str) -> None:
    from libreoffice import evaluate, recalculated_sheets

    sheets = recalculated_sheets(filled, [P1, P2, P3, P5, "说明"])
    # the live counts: each sheet's on 说明, their sum, the status line; as the full check finds
    want = expected()
    guide = sheets["说明"]
    rows = {row[0]: row[1:3] for row in guide if row and isinstance(row[0], str)}
    for sheet in (P1, P2, P3, P5):
        mine = [sev for s, _, _, sev in want if s == sheet]
        assert rows[sheet] == [mine.count(ERROR), mine.count(WARNING)], sheet
    errors, warnings = [sev for *_, sev in want].count(ERROR), [sev for *_, sev in want].count(
        WARNING)
    assert rows["合计"] == [errors, warnings]
    assert guide[1][0] == f"实时检查(随输入更新): 错误 {errors} 项,警告 {warnings} 项"
    assert sheets[P1][6][0] == "实时检查(随输入更新): 错误 3 项,警告 1 项"
    for sheet, spent, budget in ((P1, 20000, 80000), (P2, 90000, 70000), (P3, 60000, 150000),
                                 (P5, 10000, 50000)):
        rate = sheets[sheet][4][6]
        assert isinstance(rate, float) and abs(rate - spent / budget) < 1e-12, (sheet, rate)
        assert sheets[sheet][4][7] == pytest.approx(0.5)
    colour = {ERROR: ERROR_FILL, WARNING: WARNING_FILL}
    marks = {(sheet, flag.ranges.split(":")[0], flag.colour)
             for (sheet, _), flags in evaluate(filled).rules.items() for flag in flags}
    assert marks == {(sheet, cell, colour[sev]) for sheet, cell, _, sev in expected()}


@pytest.mark.libreoffice
def test_a_book_saved_by_libreoffice_reads_alike(filled: Path, tmp_path: Path,
                                                 soffice: str) -> None:
    from libreoffice import convert

    saved = convert(filled, "xlsx", tmp_path, recalc=True)
    assert read_json(saved)["form"] == "monitor"
    assert findings(saved) == expected()


# --- refused, in one sentence ----------------------------------------------------------------------

def one_sentence(r: Any) -> None:
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误") and "Traceback" not in r.output, \
        r.output


def test_output_equal_to_input_is_refused(targets: Path) -> None:
    before = targets.read_bytes()
    one_sentence(run("monitor", str(targets), "-o", str(targets)))
    one_sentence(run("monitor", str(targets), "-o", str(targets), "--force"))
    assert targets.read_bytes() == before


def test_missing_book(tmp_path: Path) -> None:
    one_sentence(run("monitor", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "m.xlsx")))
    assert not (tmp_path / "m.xlsx").exists()


def test_not_a_targets_book(tmp_path: Path) -> None:
    book = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "会议记录"
    wb.save(book)
    one_sentence(run("monitor", str(book), "-o", str(tmp_path / "m.xlsx")))
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    one_sentence(run("monitor", str(text), "-o", str(tmp_path / "m.xlsx")))
    assert not (tmp_path / "m.xlsx").exists()


def test_a_month_out_of_range_is_refused(targets: Path, tmp_path: Path) -> None:
    r = run("monitor", str(targets), "-o", str(tmp_path / "m.xlsx"), "--month", "13")
    assert r.exit_code == 2 and "Traceback" not in r.output


# --- the department's 考核 scoring sheet -----------------------------------------------------------

SCORES = [9, 26, 8, 10, Decimal("18.5"), 15, 9]
"""得分 of the seven items: (二) 26 is within its 30 points for 市直部门 and over its 25 for 县区,
(六) 15 over its 10 for 市直部门 and within its 15 for 县区."""
BONUSES = [2, 2, Decimal("1.5"), 3]      # 3 is not 1–2; 8.5 in all, over the cap of 5
DEDUCTIONS = [1, 3]                      # 3 is neither 1 nor 2


@pytest.fixture(scope="module")
def scoring_book(targets: Path) -> Path:
    out = targets.parent.parent / "scoring" / "考核.xlsx"
    r = run("scoring", str(targets), "-o", str(out))
    assert r.exit_code == 0, r.output
    return out


def score_fill(book: Path, dest: Path, variant: str) -> None:
    a = read_json(book)["assessment"]
    wb = openpyxl.load_workbook(book)
    ws = wb["考核评分"]
    ws[a["cells"]["variant"]] = variant
    for item, score in zip(a["items"], SCORES, strict=True):
        ws[item["cells"]["score"]] = float(score)
    for k, (event, points) in enumerate(zip(a["bonus"]["events"], BONUSES, strict=False)):
        ws[event["cells"]["event"]] = f"加分事项 {k + 1}"
        ws[event["cells"]["points"]] = float(points)
    for event, points in zip(a["deduction"]["events"], DEDUCTIONS, strict=False):
        ws[event["cells"]["event"]] = "通报批评"
        ws[event["cells"]["points"]] = points
    wb.save(dest)


def worked_out(variant: str, seed: dict[str, Any]) -> dict[str, Decimal]:
    """The totals by hand: the scheme's points from the seed data, the scores above."""
    items = seed["department"]["scoring"]["items"]
    key = "points_city" if variant == "市直部门" else "points_county"
    points = [Decimal(str(i[key])) for i in items]
    score = sum((Decimal(s) for s in SCORES), Decimal(0))
    bonus = sum((Decimal(b) for b in BONUSES), Decimal(0))
    deduction = sum((Decimal(d) for d in DEDUCTIONS), Decimal(0))
    return {"points": sum(points, Decimal(0)), "score": score, "bonus_total": bonus,
            "bonus_counted": min(bonus, Decimal(5)), "deduction_total": deduction,
            "total": score + min(bonus, Decimal(5)) - deduction}


def test_scoring_book_carries_the_scheme(scoring_book: Path, seed_data: dict[str, Any]) -> None:
    a = read_json(scoring_book)["assessment"]
    items = seed_data["department"]["scoring"]["items"]
    assert [(i["name"], i["points_city"], i["points_county"]) for i in a["items"]] == \
        [(i["name"], i["points_city"], i["points_county"]) for i in items]
    assert a["variant"] == "市直部门" and sum(i["points"] for i in a["items"]) == 100
    assert (a["bonus"]["per_event_min"], a["bonus"]["per_event_max"], a["bonus"]["cap"]) == \
        ("1.00", "2.00", "5.00")
    assert a["deduction"]["per_event"] == ["1.00", "2.00"]
    assert a["total"] == "0.00" and all(i["score"] is None for i in a["items"])
    assert run("validate", str(scoring_book)).exit_code == 0


@pytest.mark.parametrize("variant", ["市直部门", "县区"])
def test_scoring_totals_read_back_and_findings(scoring_book: Path, tmp_path: Path, variant: str,
                                               seed_data: dict[str, Any]) -> None:
    filled = tmp_path / "scored.xlsx"
    score_fill(scoring_book, filled, variant)
    a = read_json(filled)["assessment"]
    want = worked_out(variant, seed_data)
    assert a["variant"] == variant
    assert sum(Decimal(i["points"]) for i in a["items"]) == want["points"] == 100
    for fld in ("score", "bonus_total", "bonus_counted", "deduction_total", "total"):
        assert Decimal(a[fld]) == want[fld], fld
    got = findings(filled)
    cells = a["cells"]
    key = "points_city" if variant == "市直部门" else "points_county"
    over = {("考核评分", item["cells"]["score"], "scoring-score-out-of-range", ERROR)
            for item, scheme, score in zip(a["items"], seed_data["department"]["scoring"]["items"],
                                           SCORES, strict=True) if score > scheme[key]}
    # (二) 26 is over 县区's 25, (六) 15 over 市直部门's 10
    assert len(over) == 1
    assert got == over | {
        ("考核评分", a["bonus"]["events"][3]["cells"]["points"], "scoring-bonus-out-of-range",
         ERROR),
        ("考核评分", cells["bonus_total"], "scoring-bonus-over-cap", ERROR),
        ("考核评分", a["deduction"]["events"][1]["cells"]["points"],
         "scoring-deduction-not-allowed", ERROR)}


def test_scoring_refusals(targets: Path, monitor_book: Path, tmp_path: Path) -> None:
    one_sentence(run("scoring", str(targets), "-o", str(targets)))
    one_sentence(run("scoring", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "s.xlsx")))
    one_sentence(run("scoring", str(monitor_book), "-o", str(tmp_path / "s.xlsx")))  # no scheme
    assert not (tmp_path / "s.xlsx").exists()


def test_jobs_of_the_targets_refuse_these_books(monitor_book: Path, scoring_book: Path,
                                                tmp_path: Path) -> None:
    """汇总 is the targets book's; a scoring book is neither split nor merged."""
    for book in (monitor_book, scoring_book):
        one_sentence(run("summarize", str(book), "-o", str(tmp_path / "s.xlsx")))
    one_sentence(run("split", str(scoring_book), "-o", str(tmp_path / "units")))
    one_sentence(run("merge", str(scoring_book), "-o", str(tmp_path / "m.xlsx")))
    assert not list(tmp_path.iterdir())


def test_scoring_formulas_are_portable(scoring_book: Path) -> None:
    from book_formulas import formulas

    from perfxl.formula import PORTABLE_FUNCTIONS, functions_in

    found = list(formulas(scoring_book))
    assert {"cell", "conditional"} <= {f.kind for f in found}
    assert [f for f in found if functions_in(f.text) - PORTABLE_FUNCTIONS] == []


@pytest.mark.libreoffice
def test_libreoffice_gives_the_same_totals_and_marks(scoring_book: Path, tmp_path: Path,
                                                     seed_data: dict[str, Any],
                                                     soffice: str) -> None:
    from libreoffice import evaluate

    filled = tmp_path / "scored.xlsx"
    score_fill(scoring_book, filled, "县区")
    a = read_json(filled)["assessment"]
    want = worked_out("县区", seed_data)
    refs = {f: a["cells"][f] for f in ("score", "bonus_total", "bonus_counted",
                                        "deduction_total", "total")}
    done = evaluate(filled, [f"'考核评分'!{ref}" for ref in refs.values()])
    for fld, value in zip(refs, done.values, strict=True):
        assert isinstance(value, (int, float)) and abs(Decimal(str(value)) - want[fld]) < \
            Decimal("1e-9"), (fld, value)
    marks = {cell for (sheet, cell), flags in done.rules.items() if flags}
    assert marks == {f[1] for f in findings(filled)}


# --- split and merge ------------------------------------------------------------------------------

def test_split_and_merge_monitoring_books(filled: Path, targets: Path, tmp_path: Path) -> None:
    """Each unit gets its own monitoring book, reports kept; merging them back gives the
    department's monitoring book with the same reports and findings."""
    r = run("split", str(filled), "-o", str(tmp_path / "units"))
    assert r.exit_code == 0, r.output
    books = sorted((tmp_path / "units").glob("*.xlsx"))
    assert [b.name[:6] for b in books] == ["630001", "630003"]
    for book in books:
        data = read_json(book)
        assert data["form"] == "monitor" and len(data["units"]) == 1
        assert {p["unit_code"] for p in data["projects"]} == {data["units"][0]["code"]}
    assert by_sheet(read_json(books[0]))[P1]["monitor"]["spent"] == "20000.00"
    merged = tmp_path / "merged.xlsx"
    r = run("merge", *map(str, books), "-o", str(merged))
    assert r.exit_code == 0, r.output
    strip = ("sheet",)
    before = [{k: v for k, v in p.items() if k not in strip} for p in read_json(filled)["projects"]]
    after = [{k: v for k, v in p.items() if k not in strip} for p in read_json(merged)["projects"]]
    assert after == before
    assert findings(merged) == expected()
    # not with a targets book, nor with another month
    one_sentence(run("merge", str(books[0]), str(targets), "-o", str(tmp_path / "x.xlsx")))
    later = tmp_path / "later.xlsx"
    assert run("monitor", str(books[1]), "-o", str(later), "--month", "9").exit_code == 0
    one_sentence(run("merge", str(books[0]), str(later), "-o", str(tmp_path / "x.xlsx")))
    assert not (tmp_path / "x.xlsx").exists()


def test_merging_two_reports_of_one_project_is_a_conflict(filled: Path, monitor_book: Path,
                                                          tmp_path: Path) -> None:
    r = run("merge", str(filled), str(monitor_book), "-o", str(tmp_path / "m.xlsx"))
    assert r.exit_code == 1 and "monitor" in r.output, r.output
    r = run("merge", str(filled), str(monitor_book), "-o", str(tmp_path / "m.xlsx"),
            "--on-conflict", "first")
    assert r.exit_code == 0, r.output
    assert findings(tmp_path / "m.xlsx") == expected()


# --- the formulas and the full check agree on every kind of target -------------------------------

CASES = [  # (target, forecast, likelihood, a reason)
    ("≥95%", "94.9", "确定能", ""), ("≥95%", "９５%", "确定能", ""), ("≥95 百分比", "96 百分比", "", ""),
    ("≤80000元", "80,001元", "有可能", ""), ("≤80000元", "80000", "确定能", ""),
    ("=12个", "11", "确定能", "人员不足"), ("=12个", "13", "确定能", ""),
    (">3 天", "3", "完全不可能", ""), ("<10 小时", "9.5", "有可能", ""), ("<10 小时", "10", "", ""),
    ("2021年12月底", "2022年1月", "有可能", ""), ("优", "良", "确定能", ""), ("", "5", "有可能", "x"),
    ("≥95%", "abc", "确定能", ""), ("≥95%", "", "", ""),
]


@pytest.mark.libreoffice
def test_formulas_and_full_check_agree(tmp_path: Path, soffice: str) -> None:
    from libreoffice import evaluate

    from perfxl.model import Department, Indicator, Project
    from perfxl.monitor_book import write_monitor

    p = Project(seq=1, unit_code="630001", unit_name="单位", code="13030321X", name="项目",
                budget=Decimal(1000), fiscal=None, other=None, sheet="1.项目",
                indicators=[Indicator("产出指标", "数量指标", f"指标{k}", value=target)
                            for k, (target, *_) in enumerate(CASES)])
    book, filled = tmp_path / "m.xlsx", tmp_path / "f.xlsx"
    write_monitor(book, Department(name="部门", year=2021, projects=[p]))
    rows = read_json(book)["projects"][0]["monitor"]["indicators"]
    wb = openpyxl.load_workbook(book)
    ws = wb["1.项目"]
    for row, (_, forecast, likelihood, reason) in zip(rows, CASES, strict=True):
        ws[row["cells"]["forecast"]] = forecast
        ws[row["cells"]["likelihood"]] = likelihood
        ws[row["cells"]["other"]] = reason
    wb.save(filled)
    got = findings(filled)
    short, certain, unsure = ("monitor-forecast-short", "monitor-likelihood-certain",
                              "monitor-likelihood-unreasoned")
    by_hand = {(0, short), (0, certain),  # 94.9 < 95, no reason, 确定能
               (3, short),                # 80,001 > 80000
               (5, certain),              # 11 ≠ 12 with a reason, but 确定能
               (7, short),                # 3 is not > 3
               (8, unsure),               # 9.5 < 10 meets it; 有可能 without a reason
               (9, short),                # 10 is not < 10
               (10, unsure)}              # a date target: 有可能 without a reason
    assert got == {("1.项目", rows[k]["cells"]["likelihood" if rule == certain else "funds"],
                    rule, ERROR) for k, rule in by_hand}
    marks = {(sheet, flag.ranges.split(":")[0], flag.colour)
             for (sheet, _), flags in evaluate(filled).rules.items() for flag in flags}
    assert marks == {(s, c, ERROR_FILL) for s, c, _, _ in got}


# --- the ribbon's buttons ---------------------------------------------------------------------------

def test_the_ribbon_checks_a_monitoring_book(filled: Path, tmp_path: Path) -> None:
    from openpyxl_book import OpenpyxlBook

    from perfxl import xl

    out = tmp_path / "ribbon.xlsx"
    message = xl.run(xl.VALIDATE, OpenpyxlBook(filled, out))
    want = [sev for *_, sev in expected()]
    assert message.startswith(f"校验完成:错误 {want.count(ERROR)} 项,警告 {want.count(WARNING)} 项")
    wb = openpyxl.load_workbook(out)
    results = [c.value for row in wb["校验结果"].iter_rows() for c in row]
    assert sum(isinstance(v, str) and v.startswith("PX9") for v in results) == len(want)
    assert read_json(out)["form"] == "monitor"
    refused = xl.run(xl.SUMMARIZE, OpenpyxlBook(filled, tmp_path / "summarized.xlsx"))
    assert refused.startswith("错误") and "绩效运行监控表" in refused
    refused = xl.run(xl.NEW_PROJECT, OpenpyxlBook(filled, tmp_path / "new.xlsx"))
    assert refused.startswith("错误: 这是绩效运行监控表工作簿")


def test_a_folder_with_targets_monitoring_and_scoring_books(targets: Path, filled: Path,
                                                            scoring_book: Path,
                                                            tmp_path: Path) -> None:
    """A monitoring book carries its targets book's project codes: no cross-book duplicate."""
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    for book in (targets, filled, scoring_book):
        shutil.copy(book, folder / book.name)
    r = run("validate", str(folder), "--format", "json")
    books = {b["book"]: b for b in json.loads(r.output)["books"]}
    assert not any(f["rule"] == "project-code-cross-book" for b in books.values()
                   for f in b["findings"])
    assert {(f["sheet"], f["cell"], f["rule"], f["severity"])
            for f in books[filled.name]["findings"]} == expected()
    alone = run("validate", str(targets), "--format", "json")
    assert books[targets.name]["counts"] == json.loads(alone.output)["counts"]
