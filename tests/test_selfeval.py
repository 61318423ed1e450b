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


# --- 2–4. the book: written, filled at the cells read reports, read back, checked, recalculated ---

import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import openpyxl  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from perfxl.cli import main  # noqa: E402

SUMMARY = "汇总"
W_OUT, W_BEN, W_SAT = Fraction(50, 4), Fraction(30, 4), Fraction(10)
"""The demo's projects have 4 产出, 4 效益 and 1 满意度 indicators: the default 分值."""

# project 1: every kind of target (the demo's are all ≥95 百分比)
TARGETS = ["≥95 百分比", "=12 个", "2021年12月底", "≤80000 元", "优", "≥95 百分比", "=12 个",
           "2021年6月底", "≥90 %"]
# what the year brought: (实际完成值, 偏差原因, 得分 entered for a qualitative one)
P1 = [(90, "", None), (15, "超计划完成", None), (dt.datetime(2021, 11, 20), "", None),
      (100000, "设备涨价", None), ("部分达成", "宣传不足", 5), (120, "", None),
      (9, "", None), (dt.datetime(2021, 7, 15), "工期延误", None), (95, "", None)]
SPENT = {1: 60000, 2: 70000, 3: 150000, 4: 190000, 5: 50000, 6: 380000, 7: 150000}
P6_FIRST_WEIGHT = 20  # entered: the 分值 then add up to 107.5
P7_GRADE = ("达成", 2)  # 被帮扶贫困村(%) has no target: scored by hand, outside 达成's 6–7.5


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def weights(n: int) -> list[Fraction]:
    return [W_OUT] * 4 + [W_BEN] * 4 + [W_SAT] if n == 9 else []


def expected_project(seq: int, budget: int) -> dict[str, Any]:
    """Each project's scores by the issue's rules, from what the test enters."""
    w = weights(9)
    spent = SPENT[seq]
    rate = Fraction(spent, budget)
    execution = cents(min(rate, Fraction(1)) * 10)
    if seq == 1:
        scores = [expected("≥", Fraction(95), Fraction(90), w[0]),
                  expected("=", Fraction(12), Fraction(15), w[1]),
                  cents(w[2]),  # 2021-11-20 is before 2021-12-31
                  expected("≤", Fraction(80000), Fraction(100000), w[3]),
                  cents(5),  # entered
                  cents(w[5]),  # 120 ≥ 95: full, not more
                  expected("=", Fraction(12), Fraction(9), w[6]),
                  cents(0),  # 2021-07-15 is after 2021-06-30
                  cents(w[8])]
    else:
        if seq == 6:
            w[0] = Fraction(P6_FIRST_WEIGHT)
        scores = [cents(x) for x in w]  # 95 against ≥95 everywhere: full
        if seq == 7:
            scores[4] = cents(P7_GRADE[1])
    total = execution + sum(scores)
    return {"rate": rate, "execution": execution, "scores": scores, "total": total,
            "grade": "优" if total >= 90 else "良" if total >= 80 else "中" if total >= 60 else "差",
            "weights": w}


@pytest.fixture(scope="module")
def targets_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from perfxl import embedded, populate

    dept = embedded()
    for ind, value in zip(dept.projects[0].indicators, TARGETS, strict=True):
        ind.value = value
    path = tmp_path_factory.mktemp("selfeval") / "targets.xlsx"
    populate(dept, path)
    return path


@pytest.fixture(scope="module")
def book(targets_book: Path) -> Path:
    out = targets_book.with_name("自评.xlsx")
    done = run("selfeval", str(targets_book), "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "7 个项目" in done.output
    return out


def read_json(path: Path) -> dict[str, Any]:
    done = run("read", str(path), "--format", "json")
    assert done.exit_code == 0, done.output
    data: dict[str, Any] = json.loads(done.output)
    return data


@pytest.fixture(scope="module")
def filled(book: Path) -> Path:
    """The book filled in with openpyxl at the cells ``perfxl read`` reports."""
    data = read_json(book)
    wb = openpyxl.load_workbook(book)
    for p in data["projects"]:
        se, ws = p["selfeval"], wb[p["sheet"]]
        seq = p["seq"]
        ws[se["cells"]["spent"]] = SPENT[seq]
        for j, ind in enumerate(se["indicators"]):
            c = ind["cells"]
            if seq == 1:
                actual, reason, score = P1[j]
                ws[c["actual"]] = actual
                if reason:
                    ws[c["reason"]] = reason
                if score is not None:
                    ws[c["score"]] = score
            elif seq == 7 and j == 4:
                ws[c["actual"]], ws[c["score"]] = P7_GRADE
            else:
                ws[c["actual"]] = 95
            if seq == 6 and j == 0:
                ws[c["weight"]] = P6_FIRST_WEIGHT
    out = book.with_name("自评_填写.xlsx")
    wb.save(out)
    return out


def test_the_book_carries_every_project_and_indicator(book: Path) -> None:
    data = read_json(book)
    assert data["form"] == "selfeval" and data["department"] == "行政审批部门"
    assert data["year"] == 2021
    assert [p["seq"] for p in data["projects"]] == list(range(1, 8))
    first = data["projects"][0]["selfeval"]
    assert first["budget_initial"] == first["budget"] == "80000.00"
    assert first["spent"] is None and first["score"] is None and first["grade"] is None
    assert [i["target"] for i in first["indicators"]] == TARGETS
    assert [i["weight"] for i in first["indicators"]] == \
        ["12.50"] * 4 + ["7.50"] * 4 + ["10.00"]
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[0] == SUMMARY
    ws = wb[data["projects"][0]["sheet"]]
    assert ws.protection.sheet
    cells = first["indicators"][0]["cells"]
    assert not ws[cells["actual"]].protection.locked  # inputs unlocked
    assert not ws[cells["reason"]].protection.locked
    assert ws[cells["score"]].protection.locked  # a formula
    assert str(ws[cells["score"]].value).startswith("=IF(ISNUMBER(")
    grade_cell = first["indicators"][4]["cells"]["score"]  # 优: the user scores it
    assert not ws[grade_cell].protection.locked and ws[grade_cell].value is None


def test_read_scores_the_filled_book_by_the_rules(filled: Path) -> None:
    data = read_json(filled)
    for p in data["projects"]:
        se = p["selfeval"]
        want = expected_project(p["seq"], int(D(p["budget"])))
        assert se["spent"] == f"{SPENT[p['seq']]}.00"
        assert se["execution_rate"] == str(cents(want["rate"] * 100)), p["seq"]
        assert se["execution_score"] == str(want["execution"]), p["seq"]
        assert [i["score"] for i in se["indicators"]] == [str(s) for s in want["scores"]], \
            p["seq"]
        assert se["score"] == str(want["total"]) and se["grade"] == want["grade"], p["seq"]
    first = data["projects"][0]["selfeval"]["indicators"]
    assert first[2]["actual"] == "2021-11-20" and first[0]["actual"] == "90"


def test_validate_finds_what_is_missing_at_its_cells(filled: Path) -> None:
    data = read_json(filled)
    done = run("validate", str(filled), "--format", "json")
    assert done.exit_code == 1, done.output
    found = {(f["rule"], f["sheet"], f["cell"]) for f in json.loads(done.output)["findings"]}
    p1, p6, p7 = (data["projects"][i] for i in (0, 5, 6))
    i1 = p1["selfeval"]["indicators"]
    want = {
        # 75 % spent, no reason
        ("selfeval-execution-reason-missing", p1["sheet"],
         p1["selfeval"]["cells"]["execution_reason"]),
        # 90 of ≥95 and 9 of =12: below 分值 without a reason
        ("selfeval-reason-missing", p1["sheet"], i1[0]["cells"]["reason"]),
        ("selfeval-reason-missing", p1["sheet"], i1[6]["cells"]["reason"]),
        ("selfeval-weights-not-100", p6["sheet"], p6["selfeval"]["cells"]["weight_total"]),
        ("selfeval-grade-score-out-of-band", p7["sheet"],
         p7["selfeval"]["indicators"][4]["cells"]["score"]),
        # and scored 2 of 7.5 without a reason
        ("selfeval-reason-missing", p7["sheet"],
         p7["selfeval"]["indicators"][4]["cells"]["reason"]),
    }
    assert found == want
    # with reasons the over-achieved, the partial and the late have none: they were given
    assert ("selfeval-reason-missing", p1["sheet"], i1[3]["cells"]["reason"]) not in found


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_same_scores(filled: Path, soffice: str) -> None:
    from libreoffice import recalculated_sheets

    data = read_json(filled)
    sheets = [p["sheet"] for p in data["projects"]]
    values = recalculated_sheets(filled, [*sheets, SUMMARY])

    def at(sheet: str, cell: str) -> Any:
        from perfxl.layout import parse_a1

        pos = parse_a1(cell)
        assert pos is not None
        rows = values[sheet]
        return rows[pos[0]][pos[1]] if pos[0] < len(rows) and pos[1] < len(rows[pos[0]]) \
            else None

    totals = {}
    for p in data["projects"]:
        se, sheet = p["selfeval"], p["sheet"]
        want = expected_project(p["seq"], int(D(p["budget"])))
        assert at(sheet, se["cells"]["execution_score"]) == pytest.approx(float(want["execution"]))
        got = [at(sheet, i["cells"]["score"]) for i in se["indicators"]]
        assert got == pytest.approx([float(s) for s in want["scores"]]), sheet
        assert at(sheet, se["cells"]["score"]) == pytest.approx(float(want["total"]))
        assert at(sheet, se["cells"]["grade"]) == want["grade"]
        totals[p["code"]] = (want["total"], int(D(p["budget"])), p["unit_code"])
    # the 汇总: each project's score and rank, the units' and the department's score
    rows = values[SUMMARY]
    listed = {r[3]: r for r in rows if r and len(r) > 9 and r[3] in totals}
    assert len(listed) == 7
    for code, (total, _, _) in totals.items():
        rank = 1 + sum(1 for t, _, _ in totals.values() if t > total)
        assert listed[code][0] == rank, code
        assert listed[code][8] == pytest.approx(float(total))
    department = next(r for r in rows if r and isinstance(r[2], str) and
                      r[2].startswith("部门得分"))
    mean = cents(sum(Fraction(t) * b for t, b, _ in totals.values()) /
                 sum(b for _, b, _ in totals.values()))
    assert department[8] == pytest.approx(float(mean))
    for unit in ("630001", "630003"):
        line = next(r for r in rows if r and r[1] == unit and isinstance(r[2], str)
                    and "个项目" in r[2])
        mine = [(t, b) for t, b, u in totals.values() if u == unit]
        assert line[8] == pytest.approx(float(cents(sum(Fraction(t) * b for t, b in mine) /
                                                    sum(b for _, b in mine))))


@pytest.mark.parametrize("case", ["same", "missing", "not-a-book", "already"])
def test_refusals_are_one_sentence(case: str, book: Path, targets_book: Path,
                                   tmp_path: Path) -> None:
    if case == "same":
        args = ["selfeval", str(targets_book), "-o", str(targets_book), "--force"]
    elif case == "missing":
        args = ["selfeval", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "o.xlsx")]
    elif case == "not-a-book":
        other = tmp_path / "other.xlsx"
        wb = openpyxl.Workbook()
        wb.active["A1"] = "会议记录"
        wb.save(other)
        args = ["selfeval", str(other), "-o", str(tmp_path / "o.xlsx")]
    else:
        args = ["selfeval", str(book), "-o", str(tmp_path / "o.xlsx")]
    done = run(*args)
    assert done.exit_code == 2, done.output
    message = done.stderr.strip()
    assert message.startswith("错误: ") and "(" in message and "\n" not in message
    assert "Traceback" not in done.output
    assert not (tmp_path / "o.xlsx").exists()


@pytest.mark.libreoffice
def test_cached_values_are_what_libreoffice_calculates(targets_book: Path, tmp_path: Path,
                                                       soffice: str) -> None:
    """A book written from a filled-in model: the values Python caches beside the formulas
    (what previewers and pandas show) are the ones LibreOffice recalculates."""
    from libreoffice import recalculated_sheets

    from perfxl.read import read_book
    from perfxl.selfeval import score_all
    from perfxl.selfeval_book import carry, write_selfeval

    dept = carry(read_book(targets_book), CFG)
    entered: dict[int, list[Decimal | None]] = {}
    for p in dept.projects:
        se = p.selfeval
        assert se is not None
        se.spent = D(SPENT[p.seq])
        scores: list[Decimal | None] = []
        for j, ind in enumerate(se.indicators):
            if p.seq == 1:
                actual, ind.reason, score = P1[j]
                ind.actual = actual.date() if isinstance(actual, dt.datetime) else \
                    actual if isinstance(actual, str) else D(actual)
                scores.append(None if score is None else D(score))
            else:
                ind.actual = D(95) if ind.target else "达成"
                scores.append(None if ind.target else D(7))
        entered[p.seq] = scores
        score_all(se, CFG, scores)
    path = write_selfeval(tmp_path / "filled.xlsx", dept, CFG)
    cached = openpyxl.load_workbook(path, data_only=True)
    sheets = [p.sheet for p in dept.projects]
    values = recalculated_sheets(path, [*sheets, SUMMARY])
    compared = 0
    for name in [*sheets, SUMMARY]:
        ws = cached[name]
        for r, row in enumerate(values[name]):
            for c, v in enumerate(row):
                mine = ws.cell(r + 1, c + 1).value
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    assert mine == pytest.approx(v), (name, r + 1, c + 1)
                    compared += 1
                else:
                    assert (mine in (None, "") and v is None) or mine == v, (name, r + 1, c + 1)
    assert compared > 150
    assert read_json(path)["projects"][0]["selfeval"]["score"] == \
        str(expected_project(1, 80000)["total"])


@pytest.mark.libreoffice
def test_typed_in_libreoffice(book: Path, tmp_path: Path, soffice: str) -> None:
    """A unit fills project 1 by typing in LibreOffice (the sheet protected, its inputs open):
    the scores follow as it types, and the saved book reads back with the same scores."""
    from uno_session import edit

    p = read_json(book)["projects"][0]
    se, sheet = p["selfeval"], p["sheet"]
    typed = ["90", "15", "2021-11-20", "100000", "部分达成", "120", "9", "2021-07-15", "95"]
    ops: list[dict[str, Any]] = [
        {"op": "type", "sheet": sheet, "cell": se["cells"]["spent"], "text": "60000"}]
    for ind, text in zip(se["indicators"], typed, strict=True):
        ops.append({"op": "type", "sheet": sheet, "cell": ind["cells"]["actual"], "text": text})
    grade_row = se["indicators"][4]["cells"]
    ops.append({"op": "type", "sheet": sheet, "cell": grade_row["score"], "text": "5"})
    for j in (3, 4, 7):
        ops.append({"op": "type", "sheet": sheet, "cell": se["indicators"][j]["cells"]["reason"],
                    "text": "已说明原因"})
    reads = [se["cells"]["execution_score"], *(i["cells"]["score"] for i in se["indicators"]),
             se["cells"]["score"], se["cells"]["grade"]]
    ops += [{"op": "value", "sheet": sheet, "cell": c} for c in reads]
    out = tmp_path / "typed.xlsx"
    got = edit(book, ops, out)
    want = expected_project(1, 80000)
    assert got[0] == pytest.approx(float(want["execution"]))
    assert got[1:-2] == pytest.approx([float(s) for s in want["scores"]])
    assert got[-2] == pytest.approx(float(want["total"])) and got[-1] == want["grade"]
    back = read_json(out)["projects"][0]["selfeval"]
    assert back["score"] == str(want["total"]) and back["grade"] == want["grade"]
    assert back["indicators"][2]["actual"] == "2021-11-20"  # typed as a date


def test_split_and_merge_keep_every_entry(filled: Path, tmp_path: Path) -> None:
    """A filled 绩效自评 book split by unit and merged again: each unit's book holds its
    projects, and the merged book reads back with every entry and score of the original."""
    original = {p["code"]: p for p in read_json(filled)["projects"]}
    done = run("split", str(filled), "-o", str(tmp_path / "units"))
    assert done.exit_code == 0, done.output
    books = sorted((tmp_path / "units").glob("*.xlsx"))
    assert [b.name[:6] for b in books] == ["630001", "630003"]
    first = read_json(books[0])
    assert first["form"] == "selfeval" and {p["unit_code"] for p in first["projects"]} == {"630001"}
    assert openpyxl.load_workbook(books[0]).custom_doc_props["perfxl_unit_code"].value == "630001"
    merged = tmp_path / "merged.xlsx"
    done = run("merge", *map(str, books), "-o", str(merged))
    assert done.exit_code == 0, done.output
    back = read_json(merged)
    assert back["department"] == "行政审批部门" and back["form"] == "selfeval"
    assert {p["code"]: p["selfeval"] for p in back["projects"]} == \
        {code: p["selfeval"] for code, p in original.items()}
    targets = tmp_path / "targets.xlsx"
    run("demo", "-o", str(tmp_path))
    demo = next(tmp_path.glob("2021_*.xlsx")).rename(targets)
    done = run("merge", str(books[0]), str(demo), "-o", str(tmp_path / "mixed.xlsx"))
    assert done.exit_code == 2 and "不能与绩效目标工作簿合并" in done.stderr
    assert not (tmp_path / "mixed.xlsx").exists()


def test_read_as_text_gives_the_department_score(filled: Path) -> None:
    data = read_json(filled)
    wants = [(expected_project(p["seq"], int(D(p["budget"])))["total"], int(D(p["budget"])))
             for p in data["projects"]]
    mean = cents(sum(Fraction(t) * b for t, b in wants) / sum(b for _, b in wants))
    done = run("read", str(filled))
    assert done.exit_code == 0, done.output
    assert "绩效自评" in done.output
    assert f"部门 (department): 得分 (score, budget-weighted) {mean}" in done.output


def test_summarize_rebuilds_it_ranked_by_the_scores(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "rebuilt.xlsx"
    done = run("summarize", str(filled), "-o", str(out))
    assert done.exit_code == 0, done.output
    before, after = read_json(filled), read_json(out)
    assert after["form"] == "selfeval"
    assert {p["code"]: p["selfeval"] for p in after["projects"]} == \
        {p["code"]: p["selfeval"] for p in before["projects"]}
    ws = openpyxl.load_workbook(out, data_only=True)[SUMMARY]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[1] == "630001" and r[3]]
    scores = [r[8] for r in rows]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)  # best first, cached
    assert rows[-1][0] == 7  # project 1 (78.73) is last of the seven


def test_the_ribbon_checks_a_selfeval_book(filled: Path, tmp_path: Path) -> None:
    """校验 on the live book (through the openpyxl stand-in) finds what the command finds and
    lists it in 校验结果; 汇总 says the 汇总 is formulas already, and leaves the book as it was."""
    from openpyxl_book import OpenpyxlBook

    from perfxl import xl

    out = tmp_path / "ribbon.xlsx"
    message = xl.run(xl.VALIDATE, OpenpyxlBook(filled, out))
    done = run("validate", str(filled), "--format", "json")
    counts = json.loads(done.output)["counts"]
    assert message.startswith(f"校验完成:错误 {counts['error']} 项,警告 {counts['warning']} 项")
    wb = openpyxl.load_workbook(out)
    codes = [c.value for row in wb["校验结果"].iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("PX95")]
    assert len(codes) == counts["error"] + counts["warning"] > 0
    assert read_json(out)["form"] == "selfeval"
    said = xl.run(xl.SUMMARIZE, OpenpyxlBook(filled, tmp_path / "summarized.xlsx"))
    assert said.startswith("绩效自评工作簿的汇总表随输入自动更新")
    refused = xl.run(xl.NEW_PROJECT, OpenpyxlBook(filled, tmp_path / "new.xlsx"))
    assert refused.startswith("错误: 这是项目支出绩效自评表工作簿") and "\n" not in refused
