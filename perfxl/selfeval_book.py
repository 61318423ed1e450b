"""The 绩效自评 book (``perfxl selfeval``): one 项目支出绩效自评表 per project, carried from the
targets book, and a 汇总 of every project's score and grade, by unit and for the department.

Written whole with XlsxWriter in the house style (styles.py, the fixed build date, a protected
sheet with its input cells unlocked). Every score is a live formula of the cells the user fills
(全年执行数, 实际完成值, 分值), with the value Python computes by the same rules
(selfeval.py) cached beside it; only portable functions (formula.PORTABLE_FUNCTIONS). The
department's score is the mean of its projects' scores weighted by 全年预算数 (A), over the
projects scored; each unit's likewise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout as L
from .files import Given, atomic_path
from .formula import quote_sheet
from .model import Department, Project, Unit
from .rules import RulesConfig
from .selfeval import (
    BANDS,
    ZERO,
    as_date,
    deadline,
    from_targets,
    grade,
    rounded,
)
from .styles import (
    BUILD_DATE,
    FONT,
    HEADER_FILL,
    LABEL_FILL,
    LINK,
    MONEY,
    NOTE,
    TITLE_FONT,
    row_height,
)
from .template import print_setup, write_amount

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

TITLE = "项目支出绩效自评表"
SUMMARY_TITLE = "项目支出绩效自评汇总"
LABEL_EXECUTION = "预算执行"
BUDGET_HEADERS = ("年初预算数", "全年预算数(A)", "全年执行数(B)", "执行率(B/A)", "分值", "得分",
                  "偏差原因分析及改进措施")
LABEL_GOALS = "年度总体目标"
GOAL_HEADERS = ("预期目标", "实际完成情况")
INDICATOR_HEADERS = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                     "偏差原因分析及改进措施")
LABEL_TOTAL = "总分"
LABEL_GRADE = "等级"

# the project sheet: columns A..I
WIDTHS = (12, 14, 24, 15, 14, 9, 9, 20, 20)
LAST = len(WIDTHS) - 1
ROW_TITLE, ROW_YEAR, ROW_UNIT, ROW_CODE, ROW_BUDGET_HEAD, ROW_BUDGET, ROW_GOALS_HEAD, \
    ROW_GOALS, ROW_HEADER = range(9)
FIRST_ROW = ROW_HEADER + 1
COL_TARGET, COL_ACTUAL, COL_WEIGHT, COL_SCORE, COL_REASON = 3, 4, 5, 6, 7
BUDGET_COLS = {"budget_initial": 1, "budget": 2, "spent": 3, "execution_rate": 4,
               "execution_points": 5, "execution_score": 6, "execution_reason": 7}

# the 汇总: a ranked project table, then the units and the department
SUMMARY_HEADERS = ("排名", "单位编码", "单位名称", "项目编码", "项目名称", "全年预算数", "全年执行数",
                   "执行率", "总分", "等级")
SUMMARY_WIDTHS = (6, 9, 32, 24, 34, 14, 14, 9, 9, 6)
UNIT_HEADERS = ("单位编码", "单位名称", "全年预算数", "全年执行数", "执行率", "加权得分", "等级")
LABEL_BY_UNIT = "按单位及部门"
S_BUDGET, S_SPENT, S_RATE, S_SCORE, S_GRADE = 5, 6, 7, 8, 9
S_WEIGHTED, S_WEIGHT = 11, 12
"""Hidden helper columns of the 汇总: 全年预算数 × 总分 and 全年预算数, for the scored projects."""
S_HEADER_ROW = 3
DEPARTMENT_ROW_LABEL = "部门得分"
MEAN_NOTE = ("注:单位和部门得分为已评分项目总分按全年预算数(A)加权的平均数;排名随得分实时更新,"
             "行按生成时的得分排列。")

_PROTECTION = {"format_columns": True, "format_rows": True, "select_locked_cells": True,
               "select_unlocked_cells": True}


@dataclass
class _Formats:
    title: Format
    sub: Format
    note: Format
    label: Format
    header: Format
    text: Format          # input text
    text_locked: Format   # carried text
    centre_locked: Format
    money: Format         # input amount
    money_locked: Format
    percent_locked: Format
    score: Format         # input score / 分值
    score_locked: Format
    total: Format
    total_score: Format
    total_money: Format
    text_centre: Format   # input text, centred
    link: Format
    date: Format
    right: Format

    @classmethod
    def of(cls, wb: Workbook) -> _Formats:
        base: dict[str, Any] = {"font_name": FONT, "font_size": 10, "valign": "vcenter",
                                "text_wrap": True}
        boxed = {**base, "border": 1}

        def f(props: dict[str, Any], **kw: Any) -> Format:
            return wb.add_format({**props, **kw})

        return cls(
            title=f(base, font_name=TITLE_FONT, font_size=16, bold=True, align="center"),
            sub=f(base, align="center"), note=f(base, font_color=NOTE),
            label=f(boxed, align="center", bg_color=LABEL_FILL, bold=True),
            header=f(boxed, align="center", bg_color=HEADER_FILL, bold=True),
            text=f(boxed, locked=False, num_format="@"), text_locked=f(boxed),
            centre_locked=f(boxed, align="center"),
            money=f(boxed, locked=False, num_format=MONEY),
            money_locked=f(boxed, num_format=MONEY),
            percent_locked=f(boxed, num_format="0.00%", align="center"),
            score=f(boxed, locked=False, num_format="0.00", align="center"),
            score_locked=f(boxed, num_format="0.00", align="center"),
            total=f(boxed, bold=True, align="center", bg_color=LABEL_FILL),
            total_score=f(boxed, bold=True, align="center", bg_color=LABEL_FILL,
                          num_format="0.00"),
            total_money=f(boxed, bold=True, bg_color=LABEL_FILL, num_format=MONEY),
            text_centre=f(boxed, locked=False, num_format="@", align="center"),
            link=f(boxed, font_color=LINK, underline=1),
            date=f(boxed, locked=False, num_format="yyyy-mm-dd", align="center"),
            right=f(base, align="right"),
        )


# --- the job ------------------------------------------------------------------------------------

def carry(dept: Department, cfg: RulesConfig) -> Department:
    """Each project of the targets ``dept`` with its self-evaluation carried forward
    (``selfeval.from_targets``) and its sheet name; the department's form set to the
    self-evaluation's."""
    for p in dept.projects:
        p.selfeval = from_targets(p, cfg)
    return place(dept)


def place(dept: Department) -> Department:
    """Give every project of a self-evaluation its sheet name (``1.项目名称``, unique, never
    汇总) and the self-evaluation's form, as the book is written (also for a book split or
    merged: the projects keep what was entered)."""
    from .forms import SELFEVAL

    taken = {L.SHEET_SUMMARY.casefold()}
    for p in dept.projects:
        p.sheet = L.project_sheet_name(p.seq, p.name, taken)
        p.form = SELFEVAL
    dept.form = SELFEVAL
    return dept


def write_selfeval(path: str | Path, dept: Department, cfg: RulesConfig | None = None, *,
                   unit: Unit | None = None, inputs: Given = (), force: bool = False) -> Path:
    """Write the self-evaluation book of ``dept`` (projects placed by :func:`carry` or
    :func:`place`) through ``files.atomic_path`` (never over one of ``inputs``; over a file only
    with ``force``). ``unit``: a book handed out to one unit (``perfxl split``)."""
    path = Path(path)
    with atomic_path(path, inputs, force=force) as tmp:
        build(tmp, dept, cfg or RulesConfig(), unit=unit)
    return path


def build(path: Path, dept: Department, cfg: RulesConfig, *, unit: Unit | None = None) -> None:
    from .xlsx import workbook_class  # the house Workbook: linear costs, same bytes

    wb = workbook_class()(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd"})
    wb.set_properties({"title": f"{dept.year or ''}年{dept.name}{TITLE}", "author": "perfxl",
                       "created": BUILD_DATE, "comments": "perfxl selfeval"})
    wb.set_custom_property(L.OUTPUT_PROPERTY, "selfeval")
    if unit is not None:
        wb.set_custom_property(L.UNIT_PROPERTY, unit.code)
    fm = _Formats.of(wb)
    summary = wb.add_worksheet(L.SHEET_SUMMARY)
    refs = [project_sheet(wb, fm, p, dept.year, cfg) for p in dept.projects]
    summary_sheet(summary, fm, dept, refs, cfg)
    summary.activate()
    wb.close()


# --- one project ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetRefs:
    """Where a project sheet keeps what the 汇总 reads (A1, on ``sheet``)."""

    project: Project
    sheet: str
    budget: str
    spent: str
    score: str


def _cached(d: Decimal | None) -> Any:
    return "" if d is None else float(d)


def project_sheet(wb: Workbook, fm: _Formats, p: Project, year: int | None,
                  cfg: RulesConfig) -> SheetRefs:
    se = p.selfeval or from_targets(p, cfg)
    ws = wb.add_worksheet(p.sheet)
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)
    full = float(sum(WIDTHS))
    ws.merge_range(ROW_TITLE, 0, ROW_TITLE, LAST, TITLE, fm.title)
    ws.set_row(ROW_TITLE, 30)
    ws.merge_range(ROW_YEAR, 0, ROW_YEAR, LAST - 1, f"({year}年度)" if year else "", fm.sub)
    ws.write_string(ROW_YEAR, LAST, L.LABEL_MONEY_UNIT, fm.right)

    ws.write_string(ROW_UNIT, 0, L.LABEL_UNIT_CODE, fm.label)
    ws.write_string(ROW_UNIT, 1, p.unit_code, fm.centre_locked)
    ws.write_string(ROW_UNIT, 2, L.LABEL_UNIT_NAME, fm.label)
    ws.merge_range(ROW_UNIT, 3, ROW_UNIT, LAST, p.unit_name, fm.text_locked)
    ws.set_row(ROW_UNIT, 22)
    ws.write_string(ROW_CODE, 0, L.LABEL_CODE, fm.label)
    ws.merge_range(ROW_CODE, 1, ROW_CODE, 2, p.code, fm.text_locked)
    ws.write_string(ROW_CODE, 3, L.LABEL_NAME, fm.label)
    ws.merge_range(ROW_CODE, 4, ROW_CODE, LAST, p.name, fm.text_locked)
    ws.set_row(ROW_CODE, row_height((p.name, float(sum(WIDTHS[4:]))), minimum=22))

    # 预算执行: 年初预算数, 全年预算数 (A), 全年执行数 (B), 执行率, 分值, 得分, 偏差原因
    ws.merge_range(ROW_BUDGET_HEAD, 0, ROW_BUDGET, 0, LABEL_EXECUTION, fm.label)
    for c, h in enumerate(BUDGET_HEADERS, start=1):
        if c == COL_REASON:
            ws.merge_range(ROW_BUDGET_HEAD, c, ROW_BUDGET_HEAD, LAST, h, fm.header)
        else:
            ws.write_string(ROW_BUDGET_HEAD, c, h, fm.header)
    ws.set_row(ROW_BUDGET_HEAD, 24)
    r = ROW_BUDGET
    cell = {k: L.a1(r, c) for k, c in BUDGET_COLS.items()}
    write_amount(ws, r, 1, se.budget_initial, fm.money)
    write_amount(ws, r, 2, se.budget, fm.money)
    write_amount(ws, r, 3, se.spent, fm.money)
    b, a, rate, pts = cell["spent"], cell["budget"], cell["execution_rate"], \
        cell["execution_points"]
    ws.write_formula(r, 4, f'=IF(AND(ISNUMBER({a}),ISNUMBER({b})),IF({a}>0,{b}/{a},""),"")',
                     fm.percent_locked, _ratio(se.budget, se.spent))
    ws.write_number(r, 5, float(se.execution_points), fm.score_locked)
    ws.write_formula(r, 6, f'=IF(ISNUMBER({rate}),ROUND({pts}*MIN({rate},1),2),"")',
                     fm.score_locked, _cached(se.execution_score))
    ws.merge_range(r, COL_REASON, r, LAST, "", fm.text)
    if se.execution_reason:
        ws.write_string(r, COL_REASON, se.execution_reason, fm.text)
    ws.set_row(r, 30)

    # 年度总体目标: 预期目标 (the targets' 绩效目标) and 实际完成情况
    ws.merge_range(ROW_GOALS_HEAD, 0, ROW_GOALS, 0, LABEL_GOALS, fm.label)
    ws.merge_range(ROW_GOALS_HEAD, 1, ROW_GOALS_HEAD, 4, GOAL_HEADERS[0], fm.header)
    ws.merge_range(ROW_GOALS_HEAD, 5, ROW_GOALS_HEAD, LAST, GOAL_HEADERS[1], fm.header)
    ws.merge_range(ROW_GOALS, 1, ROW_GOALS, 4, p.goals, fm.text_locked)
    ws.merge_range(ROW_GOALS, 5, ROW_GOALS, LAST, "", fm.text)
    if se.goal_actual:
        ws.write_string(ROW_GOALS, 5, se.goal_actual, fm.text)
    ws.set_row(ROW_GOALS, row_height((p.goals, float(sum(WIDTHS[1:5]))),
                                     (se.goal_actual, float(sum(WIDTHS[5:]))), minimum=45))

    # the indicators
    for c, h in enumerate(INDICATOR_HEADERS):
        if c == COL_REASON:
            ws.merge_range(ROW_HEADER, c, ROW_HEADER, LAST, h, fm.header)
        else:
            ws.write_string(ROW_HEADER, c, h, fm.header)
    ws.set_row(ROW_HEADER, 24)
    inds = se.indicators
    i = 0
    while i < len(inds):  # 一级指标 merged down its run, as on the targets sheet
        run = 1
        while i + run < len(inds) and inds[i].level1 and inds[i + run].level1 == inds[i].level1:
            run += 1
        top = FIRST_ROW + i
        if run > 1:
            ws.merge_range(top, 0, top + run - 1, 0, inds[i].level1, fm.centre_locked)
        else:
            ws.write_string(top, 0, inds[i].level1, fm.centre_locked)
        i += run
    for j, ind in enumerate(inds):
        r = FIRST_ROW + j
        ws.write_string(r, 1, ind.level2, fm.centre_locked)
        ws.write_string(r, 2, ind.level3, fm.text_locked)
        ws.write_string(r, COL_TARGET, ind.target, fm.centre_locked)
        _indicator_inputs(wb, ws, fm, r, ind, year)
        ws.merge_range(r, COL_REASON, r, LAST, "", fm.text)
        if ind.reason:
            ws.write_string(r, COL_REASON, ind.reason, fm.text)
        ws.set_row(r, row_height((ind.level3, WIDTHS[2]), (ind.target, WIDTHS[3]),
                                 (ind.reason, WIDTHS[7] + WIDTHS[8]), minimum=22))
    last = FIRST_ROW + len(inds) - 1

    # 总分 and 等级
    t = last + 1
    ws.merge_range(t, 0, t, COL_WEIGHT - 1, LABEL_TOTAL, fm.total)
    span = f"{L.a1(FIRST_ROW, COL_WEIGHT)}:{L.a1(last, COL_WEIGHT)}" if inds else ""
    scores = f"{L.a1(FIRST_ROW, COL_SCORE)}:{L.a1(last, COL_SCORE)}" if inds else ""
    ws.write_formula(t, COL_WEIGHT, f"=SUM({pts}{',' + span if span else ''})", fm.total_score,
                     float(se.weight_total()))
    ws.write_formula(t, COL_SCORE, f'=IF(ISNUMBER({b}),ROUND(SUM({cell["execution_score"]}'
                                   f'{"," + scores if scores else ""}),2),"")',
                     fm.total_score, _cached(se.score))
    ws.write_string(t, COL_REASON, LABEL_GRADE, fm.total)
    total = L.a1(t, COL_SCORE)
    ws.write_formula(t, LAST, _grade_formula(total, cfg), fm.total, se.grade)
    ws.set_row(t, 24)
    note = (f"注:执行率得分 = min(B/A, 1) × 分值;定量指标按完成值与指标值的比例得分(≥ 越高越好,"
            f"≤ 越低越好,超出目标一倍得 0 分);时效指标按期完成得满分;定性指标在得分栏按档次填写:"
            f"达成 {_pct(cfg.selfeval_band_achieved)}–100%、部分达成 {_pct(cfg.selfeval_band_partial)}–"
            f"{_pct(cfg.selfeval_band_achieved)}%、未达成 0–{_pct(cfg.selfeval_band_partial)}% 的分值。"
            f"得分低于分值、执行率低于 {_pct(cfg.selfeval_execution_floor)}% 时须填写偏差原因。")
    ws.merge_range(t + 2, 0, t + 2, LAST, note, fm.note)
    ws.set_row(t + 2, row_height((note, full)))
    ws.freeze_panes(ROW_CODE + 1, 0)
    print_setup(ws, t + 2, LAST, landscape=False)
    ws.protect("", _PROTECTION)
    return SheetRefs(p, p.sheet, cell["budget"], cell["spent"], total)


def _indicator_inputs(wb: Workbook, ws: Worksheet, fm: _Formats, r: int, ind: Any,
                      year: int | None) -> None:
    """实际完成值, 分值 and 得分 of one indicator row: the 得分 a formula of the first two by the
    target's kind (a qualitative one an input within its band)."""
    act, wt = L.a1(r, COL_ACTUAL), L.a1(r, COL_WEIGHT)
    write_amount(ws, r, COL_WEIGHT, ind.weight, fm.score)
    pv = ind.parsed
    if pv is None or pv.kind == "grade":
        if ind.actual not in (None, ""):
            ws.write_string(r, COL_ACTUAL, str(ind.actual), fm.text_centre)
        else:
            ws.write_blank(r, COL_ACTUAL, None, fm.text_centre)
        ws.data_validation(r, COL_ACTUAL, r, COL_ACTUAL, {
            "validate": "list", "source": list(BANDS), "error_type": "information",
            "input_title": "定性指标", "input_message": "选择 达成 / 部分达成 / 未达成,再在得分栏按档次填写得分",
            "error_title": "定性指标", "error_message": "请选择 达成、部分达成 或 未达成。"})
        write_amount(ws, r, COL_SCORE, ind.score, fm.score)
        ws.data_validation(r, COL_SCORE, r, COL_SCORE, {
            "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": f"={wt}",
            "error_type": "warning", "error_title": "得分",
            "error_message": "得分应在 0 与分值之间。"})
        return
    if pv.kind == "date":
        when = as_date(ind.actual)
        if when is not None:
            ws.write_datetime(r, COL_ACTUAL, dt.datetime.combine(when, dt.time()), fm.date)
        else:
            ws.write_blank(r, COL_ACTUAL, None, fm.date)
        limit = deadline(ind.target)
        serial = (limit - dt.date(1899, 12, 30)).days if limit else 0
        met = f"{act}>={serial}" if pv.op in ("≥", ">") else f"{act}<{serial + 1}"
        formula = f'=IF(ISNUMBER({act}),IF({met},ROUND({wt},2),0),"")'
    else:
        unit = pv.unit.replace('"', "")
        fmt = wb.add_format({"font_name": FONT, "font_size": 10, "valign": "vcenter",
                             "border": 1, "locked": False, "align": "center",
                             "num_format": f'General" {unit}"' if unit else "General"})
        write_amount(ws, r, COL_ACTUAL, ind.actual if isinstance(ind.actual, Decimal) else None, fmt)
        formula = f'=IF(ISNUMBER({act}),{_share(act, wt, pv.op, pv.number or ZERO)},"")'
    ws.write_formula(r, COL_SCORE, formula, fm.score_locked, _cached(ind.score))


def _share(act: str, wt: str, op: str, target: Decimal) -> str:
    """The score formula of a numeric indicator (selfeval.ratio in cell terms)."""
    if target == 0:
        met = f"{act}>=0" if op in ("≥", ">") else f"{act}<=0"
        return f"IF({met},ROUND({wt},2),0)"
    t = f"{target:f}"
    higher, lower = f"{act}/{t}", f"1-({act}-{t})/{t}"
    share = higher if op in ("≥", ">") else lower if op in ("≤", "<") else f"{higher},{lower}"
    return f"ROUND({wt}*MAX(0,MIN({share},1)),2)"


def _grade_formula(cell: str, cfg: RulesConfig) -> str:
    e, g, f = (f"{x:f}" for x in (cfg.selfeval_grade_excellent, cfg.selfeval_grade_good,
                                  cfg.selfeval_grade_fair))
    return (f'=IF(ISNUMBER({cell}),IF({cell}>={e},"优",IF({cell}>={g},"良",'
            f'IF({cell}>={f},"中","差"))),"")')


def _pct(d: Decimal) -> str:
    return f"{d.normalize():f}"


# --- the 汇总 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    """A project's place on the 汇总: its rank among the scored (1 + those scoring more)."""

    refs: SheetRefs
    rank: int | None


def ranking(refs: list[SheetRefs]) -> list[Standing]:
    """Projects grouped by unit (in the book's order of units), each unit's by score, best
    first (unscored last, in book order); ranks across the department, ties sharing one."""
    scores = [r.project.selfeval.score for r in refs if r.project.selfeval is not None
              and r.project.selfeval.score is not None]
    units: dict[str, list[SheetRefs]] = {}
    for r in refs:
        units.setdefault(r.project.unit_code, []).append(r)
    out = []
    for members in units.values():
        ordered = sorted(members, key=lambda r: (_score(r) is None, -(_score(r) or ZERO)))
        for r in ordered:
            s = _score(r)
            out.append(Standing(r, None if s is None else 1 + sum(1 for x in scores if x > s)))
    return out


def _score(r: SheetRefs) -> Decimal | None:
    return r.project.selfeval.score if r.project.selfeval is not None else None


def weighted(pairs: list[tuple[Decimal | None, Decimal | None]]) -> Decimal | None:
    """The mean of scores weighted by budget, over the (budget, score) pairs scored; None when
    no budget is scored."""
    den = sum((b or ZERO for b, s in pairs if s is not None), ZERO)
    if den <= 0:
        return None
    return rounded(sum(((b or ZERO) * s for b, s in pairs if s is not None), ZERO) / den)


def summary_sheet(ws: Worksheet, fm: _Formats, dept: Department, refs: list[SheetRefs],
                  cfg: RulesConfig) -> None:
    for c, w in enumerate(SUMMARY_WIDTHS):
        ws.set_column(c, c, w)
    ws.set_column(S_WEIGHTED, S_WEIGHT, 12, None, {"hidden": True})
    last_col = len(SUMMARY_HEADERS) - 1
    title = f"{dept.year}年{dept.name}{SUMMARY_TITLE}" if dept.year else SUMMARY_TITLE
    ws.merge_range(0, 0, 0, last_col, title, fm.title)
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last_col, MEAN_NOTE, fm.note)
    ws.set_row(1, row_height((MEAN_NOTE, float(sum(SUMMARY_WIDTHS)))))
    ws.write_string(2, last_col, L.LABEL_MONEY_UNIT, fm.right)
    for c, h in enumerate(SUMMARY_HEADERS):
        ws.write_string(S_HEADER_ROW, c, h, fm.header)
    ws.write_string(S_HEADER_ROW, S_WEIGHTED, "预算×总分", fm.header)
    ws.write_string(S_HEADER_ROW, S_WEIGHT, "已评分预算", fm.header)
    first = S_HEADER_ROW + 1
    standings = ranking(refs)
    last = first + len(standings) - 1
    col = L.column_letters
    score_range = f"${col(S_SCORE)}${first + 1}:${col(S_SCORE)}${last + 1}"
    unit_rows: dict[str, list[int]] = {}
    for i, st in enumerate(standings):
        r = first + i
        n = r + 1
        p, se = st.refs.project, st.refs.project.selfeval
        assert se is not None
        unit_rows.setdefault(p.unit_code, []).append(r)
        sheet = quote_sheet(st.refs.sheet)
        score_cell = f"{col(S_SCORE)}{n}"
        ws.write_formula(r, 0, f'=IF(ISNUMBER({score_cell}),1+COUNTIF({score_range},">"&'
                               f'{score_cell}),"")', fm.centre_locked,
                         "" if st.rank is None else st.rank)
        ws.write_string(r, 1, p.unit_code, fm.centre_locked)
        ws.write_string(r, 2, p.unit_name, fm.text_locked)
        ws.write_string(r, 3, p.code, fm.text_locked)
        ws.write_url(r, 4, f"internal:{sheet}!A1", fm.link, p.name)
        ws.write_formula(r, S_BUDGET, f'=IF(ISNUMBER({sheet}!{st.refs.budget}),'
                                      f'{sheet}!{st.refs.budget},"")', fm.money_locked,
                         _cached(se.budget))
        ws.write_formula(r, S_SPENT, f'=IF(ISNUMBER({sheet}!{st.refs.spent}),'
                                     f'{sheet}!{st.refs.spent},"")', fm.money_locked,
                         _cached(se.spent))
        ws.write_formula(r, S_RATE, _rate(f"{col(S_BUDGET)}{n}", f"{col(S_SPENT)}{n}"),
                         fm.percent_locked, _ratio(se.budget, se.spent))
        ws.write_formula(r, S_SCORE, f'=IF(ISNUMBER({sheet}!{st.refs.score}),'
                                     f'{sheet}!{st.refs.score},"")', fm.score_locked,
                         _cached(se.score))
        ws.write_formula(r, S_GRADE, _grade_formula(score_cell, cfg), fm.centre_locked, se.grade)
        budget = f"{col(S_BUDGET)}{n}"
        ws.write_formula(r, S_WEIGHTED, f"=IF(ISNUMBER({score_cell}),N({budget})*{score_cell},0)",
                         fm.money_locked,
                         float((se.budget or ZERO) * se.score) if se.score is not None else 0)
        ws.write_formula(r, S_WEIGHT, f"=IF(ISNUMBER({score_cell}),N({budget}),0)",
                         fm.money_locked,
                         float(se.budget or ZERO) if se.score is not None else 0)
        ws.set_row(r, row_height((p.name, SUMMARY_WIDTHS[4]), (p.unit_name, SUMMARY_WIDTHS[2]),
                                 minimum=20))

    # by unit, then the department
    r = last + 3 if standings else first + 2
    ws.merge_range(r - 1, 0, r - 1, last_col, LABEL_BY_UNIT, fm.label)
    ws.write_string(r, 0, "", fm.header)
    ws.write_string(r, 1, UNIT_HEADERS[0], fm.header)
    ws.merge_range(r, 2, r, 4, UNIT_HEADERS[1], fm.header)
    for c, h in enumerate(UNIT_HEADERS[2:], start=S_BUDGET):
        ws.write_string(r, c, h, fm.header)
    ws.set_row(r, 20)
    r += 1
    everything = [p for p in dept.projects if p.selfeval is not None]

    def line(label_code: str, label_name: str, rows: list[int],
             projects: list[Project], bold: bool) -> None:
        nonlocal r
        text_fmt = fm.total if bold else fm.text_locked
        num_fmt = fm.total_score if bold else fm.score_locked
        money_fmt = fm.total_money if bold else fm.money_locked
        n = r + 1
        ws.write_string(r, 0, "", text_fmt)
        ws.write_string(r, 1, label_code, fm.total if bold else fm.centre_locked)
        ws.merge_range(r, 2, r, 4, label_name, text_fmt)

        def over(c: int) -> str:
            return ",".join(f"{col(c)}{x + 1}" for x in rows) or "0"

        ses = [p.selfeval for p in projects if p.selfeval is not None]
        budget = sum((s.budget or ZERO for s in ses), ZERO)
        spent = sum((s.spent or ZERO for s in ses), ZERO)
        ws.write_formula(r, S_BUDGET, f"=SUM({over(S_BUDGET)})", money_fmt, float(budget))
        ws.write_formula(r, S_SPENT, f"=SUM({over(S_SPENT)})", money_fmt, float(spent))
        ws.write_formula(r, S_RATE, _rate(f"{col(S_BUDGET)}{n}", f"{col(S_SPENT)}{n}"),
                         fm.percent_locked, _ratio(budget or None, spent))
        mean = weighted([(s.budget, s.score) for s in ses])
        w, d = f"SUM({over(S_WEIGHTED)})", f"SUM({over(S_WEIGHT)})"
        ws.write_formula(r, S_SCORE, f'=IF({d}>0,ROUND({w}/{d},2),"")', num_fmt, _cached(mean))
        ws.write_formula(r, S_GRADE, _grade_formula(f"{col(S_SCORE)}{n}", cfg),
                         fm.total if bold else fm.centre_locked,
                         "" if mean is None else grade(mean, cfg))
        r += 1

    for u in dept.units:
        projects = [p for p in everything if p.unit_code == u.code]
        if projects:
            line(u.code, f"{u.name}({len(projects)} 个项目)", unit_rows.get(u.code, []),
                 projects, bold=False)
    line("", f"{DEPARTMENT_ROW_LABEL}({dept.name or '部门'},{len(everything)} 个项目)",
         [x for rows in unit_rows.values() for x in rows], everything, bold=True)
    ws.freeze_panes(S_HEADER_ROW + 1, 0)
    print_setup(ws, r, last_col, landscape=True)
    ws.protect("", _PROTECTION)


def _rate(budget: str, spent: str) -> str:
    return f'=IF(AND(ISNUMBER({budget}),ISNUMBER({spent})),IF({budget}>0,{spent}/{budget},""),"")'


def _ratio(budget: Decimal | None, spent: Decimal | None) -> Any:
    return "" if budget is None or spent is None or budget <= 0 else float(spent / budget)
