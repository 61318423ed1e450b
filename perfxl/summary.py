"""The 汇总 sheet: one row per project grouped by unit, subtotals, the total, the reconciliation
and two native charts.

Amounts are formulas referring to the project sheets (an edit in Excel flows into the totals) and
carry cached values (so calamine, pandas and previewers show the numbers without recalculating).
Unit subtotals and the total use SUBTOTAL(9, …), which skips the subtotals nested in its range.
The sheet follows the book as it is edited: each project's 错误/警告 are its sheet's live counts
(live.py) plus the last full check's findings of the rules that are not live; a project without
a spending plan shows 未填 (and the row under 合计 says how many the totals leave out); the
reconciliation's sentence holds while the numbers it explains do, and says when they changed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import formula as F
from . import layout as L
from . import live
from .consolidate import AGREE, SHORT, Reconciliation, Totals, describe, plan_amounts
from .findings import ERROR, WARNING, Report
from .layout import a1, column_letters
from .marks import cell_ref
from .model import Department, Project
from .styles import row_height

if TYPE_CHECKING:
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from .styles import Styles

HEADERS = ("单位编码", "单位名称", "序号", "项目编码", "项目名称", "预算数", "财政资金", "其他资金",
           "3月底", "6月底", "10月底", "12月底", "指标数", "错误", "警告")
WIDTHS = (9, 22, 5, 24, 30, 14, 14, 12, 13, 13, 13, 14, 7, 6, 6)
COL_BUDGET, COL_FISCAL, COL_OTHER, COL_Q1 = 5, 6, 7, 8
COL_ERRORS, COL_WARNINGS = 13, 14
HEADER_ROW, FIRST_ROW = 3, 4
UNIT_COLOURS = ("#4472C4", "#ED7D31", "#70AD47", "#FFC000", "#5B9BD5", "#A5A5A5", "#7030A0",
                "#C00000")
CHART_DATA_COL = 17  # R: hidden chart data, right of the printed table
CHART_HEIGHT = 310  # pixels
CHART_GAP = 12
"""Pixels between the table and the charts (in the row under the table, not a row of its own:
the demo's table and charts fit one page)."""
ZERO = Decimal(0)

# Printing: A4 landscape, fit to the page's width.
PAGE_INCHES = (11.69, 8.27)
MARGIN_INCHES = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}
DEFAULT_ROW = 15.0  # points

MISSING_PLAN = "未填"
"""A plan amount of a project whose spending plan (of that quarter) is not filled in: text, so
the subtotals (SUBTOTAL skips text) leave it out, and the row under 合计 counts it."""
OMITTED_LABEL = "支出计划未填的项目(不计入合计)"
LIVE_COUNTS_NOTE = ("注:错误、警告数随填写实时更新(可实时检查的规则),"
                    "并包括上次完整校验发现的其他问题。")
LIVE_COUNTS_NOTE_UNCHECKED = ("注:错误、警告数随填写实时更新(可实时检查的规则);"
                              "其他问题需完整校验(功能区「绩效目标 → 校验」或 perfxl validate)。")
CHANGED = ("差额已变为 {} 元(上次汇总后有修改),请重新汇总:功能区「绩效目标 → 汇总」"
           "或 perfxl summarize")
"""The reconciliation's sentence once the numbers it explained have changed."""
MONEY_TEXT = "#,##0.00"
"""TEXT()'s format of an amount in a sentence: as consolidate.describe writes it."""
MAX_FORMULA = 8000
"""Characters of a formula (Excel allows 8,192); a longer sentence is written as text."""
MAX_LITERAL = 200
"""Characters of a string in a formula (Excel allows 255): longer text is joined from pieces."""


ref = cell_ref  # a cell of another sheet, as formulas and links name it

# --- the table, shared by the XlsxWriter sheet below and the ribbon's live-book writer (xl.py) ---

@dataclass(frozen=True)
class Formula:
    """A cell formula; ``cached`` is the value it has now (stored beside it, so a book that is
    never recalculated still shows the number). Plain strings are always written as text."""

    text: str
    cached: Any = None


@dataclass(frozen=True)
class Link:
    """Text linking to a cell of the book."""

    text: str
    sheet: str
    cell: str


Value = str | int | float | Decimal | Formula | Link | None


@dataclass
class TableRow:
    kind: str
    """project | subtotal | total | omitted (under 合计: the projects its plan amounts leave
    out) | section | reconciliation | explanation | note | counts-note (last, on how the 错误/警告
    columns are counted: beside 单位:元 in the sheet's header where the writer can put it)"""
    cells: list[Value]
    project: Project | None = None


def table(dept: Department, t: Totals, report: Report | None, *,
          ours: bool = True) -> list[TableRow]:
    """The rows of the 汇总 below its header (from row FIRST_ROW), formulas in A1 terms.

    Amounts are formulas into the project sheets (cell map) where the cell holds the amount in 元
    as written; otherwise (万元, text) the computed amount. Plan amounts are 预算数 × the plan
    cell in our books (Excel percentages), values otherwise; 未填 where the plan is not filled
    in. 错误/警告 are the project sheet's live counts plus the constant of the other rules'
    findings in ``report`` (the report's counts for a project without a cell map).
    """
    counts = Counter((f.sheet, f.severity) for f in report.findings) if report else Counter()
    live_slugs = set(live.live_rules())
    other = Counter((f.sheet, f.severity) for f in report.findings
                    if f.rule not in live_slugs) if report else Counter()
    rows: list[TableRow] = []
    budget_cells: dict[int, str] = {}  # project index → its 预算数 cell on the 汇总
    index = {id(p): i for i, p in enumerate(dept.projects)}

    def sheet_row() -> int:  # 1-based row number of the next row
        return FIRST_ROW + len(rows) + 1

    project_rows: list[TableRow] = []

    def counted(projects: list[TableRow], col: int) -> int | None:
        numbers = [v for r in projects if isinstance(v := _cached(r.cells[col]), int)]
        return sum(numbers) if numbers else None

    def totals_row(kind: str, label: str, name: str, first: int, projects: list[TableRow],
                   budget: Decimal) -> TableRow:
        last = sheet_row() - 1
        ps = [r.project for r in projects if r.project is not None]
        sums: list[Any] = [budget, sum((p.fiscal or ZERO for p in ps), ZERO),
                           sum((p.other or ZERO for p in ps), ZERO),
                           *[sum((plan_amounts(p)[q] for p in ps), ZERO) for q in range(4)],
                           sum(len(p.indicators) for p in ps),
                           counted(projects, COL_ERRORS), counted(projects, COL_WARNINGS)]
        cells: list[Value] = [label, name, None, None, None]
        for c, cached in enumerate(sums, start=COL_BUDGET):
            col = column_letters(c)
            cells.append(None if cached is None else
                         Formula(f"=SUBTOTAL(9,{col}{first}:{col}{last})", cached))
        return TableRow(kind, cells)

    subtotal_rows: dict[str, int] = {}
    for unit in _units(dept):
        projects = [p for p in dept.projects if p.unit_code == unit]
        first = sheet_row()
        unit_rows = []
        for p in projects:
            budget_cells[index[id(p)]] = f"{column_letters(COL_BUDGET)}{sheet_row()}"
            row = TableRow("project", _project_cells(p, sheet_row(), counts, other, report, ours),
                           p)
            rows.append(row)
            unit_rows.append(row)
        project_rows += unit_rows
        subtotal_rows[unit] = sheet_row()
        rows.append(totals_row("subtotal", f"{unit} 小计", dept.unit_name(unit), first, unit_rows,
                               t.by_unit.get(unit, ZERO)))
    total_row = sheet_row()
    rows.append(totals_row("total", "合计", f"{len(dept.projects)} 个项目", FIRST_ROW + 1,
                           project_rows, t.total))
    rows.append(_omitted_row(project_rows, FIRST_ROW + 1, total_row - 1))
    rows.append(TableRow("blank", []))
    rows.append(TableRow("section", ["对账 (申报总额与计算合计)"]))
    recs: list[tuple[str, Reconciliation, str, int | None]] = []
    if t.department:
        from_sheet = t.department.declared == dept.declared_total and ours
        declared = ref(L.SHEET_DEPARTMENT, dept.cells.get("department.total", "C6")) \
            if from_sheet else ""
        recs.append(("部门", t.department, declared, total_row))
    recs += [(f"{u.scope} {dept.unit_name(u.scope)}", u, "", subtotal_rows.get(u.scope))
             for u in t.units]
    if not recs:
        rows.append(TableRow("note", ["未提供申报总额:在「部门整体」的「部门预算总额(元)」中填写,"
                                      "或运行 perfxl summarize --declared-total 金额"]))
    budget = column_letters(COL_BUDGET)
    for label, rec, declared, computed in recs:
        at = sheet_row()
        source = "(部门整体)" if declared else ""
        rows += [
            TableRow("reconciliation", [f"{label}申报总额{source}", None, None, None, None,
                                        Formula(f"={declared}", rec.declared) if declared
                                        else rec.declared]),
            TableRow("reconciliation", ["计算合计", None, None, None, None,
                                        Formula(f"={budget}{computed}", rec.computed)
                                        if computed else rec.computed]),
            TableRow("reconciliation", ["差额 (计算合计 − 申报总额)", None, None, None, None,
                                        Formula(f"={budget}{at + 1}-{budget}{at}",
                                                rec.difference)]),
            TableRow("explanation", [_explanation(rec, dept, f"{budget}{at + 2}", budget_cells)]),
        ]
    if any(p.cells for p in dept.projects):
        rows.append(TableRow("counts-note", [LIVE_COUNTS_NOTE if report
                                             else LIVE_COUNTS_NOTE_UNCHECKED]))
    return rows


def _explanation(rec: Reconciliation, dept: Department, difference: str,
                 budget_cells: dict[int, str]) -> Value:
    """The reconciliation's sentence, as a formula that follows 差额 (``difference``, its cell):
    the totals agree when it is 0; the last 汇总's sentence while what that sentence says still
    holds (the budgets of the projects it names add up to 差额 exactly; a gap it could not
    explain is the same); the sentence for a shortfall with its amount; otherwise that 差额 has
    changed and 汇总 should be run again. Cached: the sentence of the last 汇总."""
    said = describe(rec, dept)[0]
    d = difference
    amount = f'TEXT({d},"{MONEY_TEXT}")'
    before, after = SHORT[0].split("{}")
    short = f'{_literal(before)}&TEXT(-{d},"{MONEY_TEXT}")&{_literal(after)}'
    before, after = CHANGED.split("{}")
    changed = f"{_literal(before)}&{amount}&{_literal(after)}"
    if rec.difference > 0:
        if rec.explained_by and all(i in budget_cells for c in rec.explained_by for i in c):
            holds = "*".join(f"(ROUND({d}-({'+'.join(budget_cells[i] for i in combo)}),2)=0)"
                             for combo in rec.explained_by)
        else:
            holds = f"(ROUND({d}-{rec.difference:f},2)=0)"
        changed = f"IF({holds},{_literal(said)},{changed})"
    formula = f"=IF(ROUND({d},2)=0,{_literal(AGREE[0])},IF({d}<0,{short},{changed}))"
    return Formula(formula, said) if len(formula) <= MAX_FORMULA else said


def _literal(s: str) -> str:
    """A string in a formula, joined from pieces Excel accepts (at most 255 characters each)."""
    pieces = [s[i:i + MAX_LITERAL] for i in range(0, len(s), MAX_LITERAL)] or [""]
    return "&".join(F.text(piece) for piece in pieces)


def _omitted_row(projects: list[TableRow], first: int, last: int) -> TableRow:
    """Under 合计: in each plan column, how many projects the totals leave out (未填), or
    nothing."""
    cells: list[Value] = [OMITTED_LABEL, None, None, None, None, None, None, None]
    for q in range(4):
        col = column_letters(COL_Q1 + q)
        n = sum(1 for r in projects if _cached(r.cells[COL_Q1 + q]) == MISSING_PLAN)
        counted = f'COUNTIF({col}{first}:{col}{last},"{MISSING_PLAN}")'
        cells.append(Formula(f'=IF({counted}>0,"未含 "&{counted}&" 个项目","")',
                             f"未含 {n} 个项目" if n else ""))
    return TableRow("omitted", [*cells, None, None, None])


def _cached(v: Value) -> Any:
    return v.cached if isinstance(v, Formula) else v


def _project_cells(p: Project, r: int, counts: Counter[tuple[str, str]],
                   other: Counter[tuple[str, str]], report: Report | None,
                   ours: bool) -> list[Value]:
    def amount(fld: str, value: Decimal | None) -> Value:
        cell = p.cells.get(fld)
        if isinstance(cell, str) and value is not None and p.amount_unit in ("元", "") \
                and fld not in p.raw and fld not in p.text_amounts:  # text: SUM would skip it
            return Formula(f"={ref(p.sheet, cell)}", value)
        return value

    plan_cells = p.cells.get("project.plan")
    budget = f"{column_letters(COL_BUDGET)}{r}"
    plan: list[Value] = []
    for q, value in enumerate(plan_amounts(p)):
        cached = value if p.plan is not None and p.plan[q] is not None else MISSING_PLAN
        if ours and isinstance(plan_cells, list):
            plan.append(Formula(_plan_amount(budget, ref(p.sheet, plan_cells[q]),
                                             p.plan_whole_percents), cached))
        else:
            plan.append(cached)
    return [p.unit_code, p.unit_name, p.seq, Link(p.code or p.name, p.sheet, "A1"), p.name,
            amount("project.budget", p.budget), amount("project.fiscal", p.fiscal),
            amount("project.other", p.other), *plan, len(p.indicators),
            *(_findings(p, severity, counts, other, report) for severity in (ERROR, WARNING))]


def _plan_amount(budget: str, cell: str, whole_percents: bool) -> str:
    """预算数 × the plan cell, as the reader takes it: a number (an Excel percentage; a whole
    percent when the plan is written so), or text spelling a percent (``25%``); 未填 otherwise
    (blank, or text that is no percent: the check's plan-missing)."""
    scale = "/100" if whole_percents else ""
    spelled = f'VALUE(SUBSTITUTE(ASC(TRIM({cell})),"%",""))'
    return (f"=IF(ISNUMBER({cell}),{budget}*{cell}{scale},"
            f'IFERROR({budget}*{spelled}/100,"{MISSING_PLAN}"))')


def _findings(p: Project, severity: str, counts: Counter[tuple[str, str]],
              other: Counter[tuple[str, str]], report: Report | None) -> Value:
    """A project's errors or warnings: its sheet's live count (live.py) plus the last full
    check's findings of the rules that are not live (a constant); the report's count where the
    project has no cell map. A sheet that carries no live count (a book never marked by perfxl)
    counts the last check's findings of the live rules instead."""
    found = counts[(p.sheet, severity)] if report else None
    if not p.cells:
        return found
    cell = ref(p.sheet, live.ERRORS_CELL if severity == ERROR else live.WARNINGS_CELL)
    if found is None:
        return Formula(f"={cell}", 0)
    rest = other[(p.sheet, severity)]
    formula = f"=IF(ISNUMBER({cell}),{cell},{found - rest})"
    return Formula(formula + (f"+{rest}" if rest else ""), found)


# --- the XlsxWriter sheet --------------------------------------------------------------------------

def summary_sheet(wb: Workbook, st: Styles, dept: Department, t: Totals,
                  report: Report | None) -> None:
    ws = wb.add_worksheet(L.SHEET_SUMMARY)
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)
    heights: dict[int, float] = {}

    def height(row: int, points: float) -> None:
        ws.set_row(row, points)
        heights[row] = points

    last = len(HEADERS) - 1
    ws.merge_range(0, 0, 0, last, f"{dept.year or ''}年{dept.name}项目支出绩效目标汇总表", st.title)
    height(0, 30)
    rows = table(dept, t, report)
    notes = [row for row in rows if row.kind == "counts-note"]
    if notes:  # the header's row 2, left of 单位:元 (no row of the printed page is added)
        ws.merge_range(1, 0, 1, last - 2, str(notes[0].cells[0]), st.note)
        ws.merge_range(1, last - 1, 1, last, "单位:元", st.money_unit)
    else:
        ws.merge_range(1, 0, 1, last, "单位:元", st.money_unit)
    _header(ws, st)
    height(HEADER_ROW - 1, 20)
    height(HEADER_ROW, 20)
    project_rows: list[tuple[int, Project]] = []
    total_row = FIRST_ROW
    r = FIRST_ROW
    for row in rows:
        if row.kind == "counts-note":
            continue
        if row.kind == "project" and row.project is not None:
            _write_cells(ws, st, r, row.cells, st.cell, st.cell_money, st.cell_center)
            p = row.project
            height(r, row_height((p.name, WIDTHS[4]), (p.unit_name, WIDTHS[1]), minimum=18))
            project_rows.append((r, p))
        elif row.kind in ("subtotal", "total"):
            ws.merge_range(r, 0, r, 1, str(row.cells[0]), st.total_left)
            ws.merge_range(r, 2, r, 4, str(row.cells[1]), st.total_left)
            _write_cells(ws, st, r, row.cells[5:], st.total, st.total_money, st.total,
                         start=COL_BUDGET)
            if row.kind == "total":
                total_row = r
        elif row.kind == "omitted":
            ws.merge_range(r, 0, r, 4, str(row.cells[0]), st.label_left)
            _write_cells(ws, st, r, row.cells[5:], st.cell_center, st.cell_center,
                         st.cell_center, start=COL_BUDGET)
        elif row.kind == "section":
            ws.merge_range(r, 0, r, 4, str(row.cells[0]), st.section)
        elif row.kind == "reconciliation":
            ws.merge_range(r, 0, r, 4, str(row.cells[0]), st.label_left)
            _write_cells(ws, st, r, row.cells[5:6], st.cell, st.cell_money, st.cell,
                         start=COL_BUDGET)
        elif row.kind in ("explanation", "note"):
            fmt = st.cell if row.kind == "explanation" else st.note
            v = row.cells[0]
            ws.merge_range(r, 0, r, last, "", fmt)
            _write_cells(ws, st, r, [v], fmt, fmt, fmt)
            # as tall as the longest sentence the formula can say
            texts = [str(_cached(v)), AGREE[0], CHANGED.format("-000,000,000,000.00")] \
                if isinstance(v, Formula) else [str(v)]
            height(r, max(row_height((t, float(sum(WIDTHS))), minimum=DEFAULT_ROW)
                          for t in texts))
        r += 1
    top = r  # the charts, CHART_GAP below the table
    _charts(wb, ws, dept, project_rows, total_row, top)
    if project_rows and charts_cross_the_page(sum(heights.get(i, DEFAULT_ROW) for i in range(top))):
        ws.set_h_pagebreaks([top])

    ws.freeze_panes(FIRST_ROW, 0)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW - 1, HEADER_ROW)
    ws.set_margins(**MARGIN_INCHES)
    ws.print_area(0, 0, r + 18, last)
    ws.set_footer("&C第 &P 页,共 &N 页")


def charts_cross_the_page(table_points: float) -> bool:
    """Whether the table and the charts below it are more than one printed page, so the charts
    go on a page of their own rather than across the page break.

    The sheet prints fit to the page's width: a column of w characters is w * 7 + 5 pixels
    (XlsxWriter's default font), ¾ point each; Excel scales by whole percents, and the page is
    that much taller in the sheet's points. 2% are kept spare.
    """
    width = sum(w * 7 + 5 for w in WIDTHS) * 0.75
    printable_width = (PAGE_INCHES[0] - MARGIN_INCHES["left"] - MARGIN_INCHES["right"]) * 72
    scale = min(100, math.floor(100 * printable_width / width)) / 100
    page = (PAGE_INCHES[1] - MARGIN_INCHES["top"] - MARGIN_INCHES["bottom"]) * 72 / scale
    charts = (CHART_HEIGHT + CHART_GAP) * 0.75
    return table_points + charts > page * 0.98


def _write_cells(ws: Worksheet, st: Styles, r: int, cells: list[Value], text: Any, money: Any,
                 number: Any, *, start: int = 0) -> None:
    for c, v in enumerate(cells, start=start):
        fmt = money if COL_BUDGET <= c < COL_Q1 + 4 else number if c in (2, 12, 13, 14) else text
        if isinstance(v, Formula):
            ws.write_formula(r, c, v.text, fmt, _number(v.cached))
        elif isinstance(v, Link):
            ws.write_url(r, c, f"internal:{ref(v.sheet, v.cell)}", st.link, v.text)
        elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            ws.write_number(r, c, float(v), fmt)
        elif v is None:
            ws.write_blank(r, c, None, fmt)
        else:
            ws.write_string(r, c, str(v), fmt)


def _number(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def _units(dept: Department) -> list[str]:
    seen = [u.code for u in dept.units]
    return seen + sorted({p.unit_code for p in dept.projects} - set(seen))


def _header(ws: Worksheet, st: Styles) -> None:
    top = HEADER_ROW - 1
    for c, h in enumerate(HEADERS):
        if COL_Q1 <= c < COL_Q1 + 4:
            ws.write_string(HEADER_ROW, c, h, st.header)
        else:
            ws.merge_range(top, c, HEADER_ROW, c, h, st.header)
    ws.merge_range(top, COL_Q1, top, COL_Q1 + 3, "计划累计支出", st.header)
    ws.set_row(top, 20)
    ws.set_row(HEADER_ROW, 20)


def _charts(wb: Workbook, ws: Worksheet, dept: Department, rows: list[tuple[int, Project]],
            total_row: int, top: int) -> None:
    if not rows:
        return
    units = _units(dept)
    base = CHART_DATA_COL
    ws.write_string(FIRST_ROW - 1, base, "图表数据")
    for k, u in enumerate(units):  # series names are taken from these cells, never parsed
        ws.write_string(FIRST_ROW - 1, base + 1 + k, f"{u} {dept.unit_name(u)}")
    for n, (r, p) in enumerate(rows):
        row = FIRST_ROW + n
        ws.write_string(row, base, f"{p.seq}.{p.name}"[:16])
        col = base + 1 + units.index(p.unit_code)
        ws.write_formula(row, col, f"={a1(r, COL_BUDGET)}", None, float(p.budget or 0))
    ws.set_column(base, base + len(units), None, None, {"hidden": True})
    end = FIRST_ROW + len(rows) - 1
    sheet = L.SHEET_SUMMARY

    bars = wb.add_chart({"type": "column", "subtype": "stacked"})
    for k in range(len(units)):
        bars.add_series({
            "name": [sheet, FIRST_ROW - 1, base + 1 + k],
            "categories": [sheet, FIRST_ROW, base, end, base],
            "values": [sheet, FIRST_ROW, base + 1 + k, end, base + 1 + k],
            "fill": {"color": UNIT_COLOURS[k % len(UNIT_COLOURS)]}, "gap": 60,
        })
    bars.set_title({"name": "各项目预算数(按单位)", "name_font": {"size": 12}})
    bars.set_y_axis({"num_format": "#,##0", "name": "元"})
    bars.set_legend({"position": "bottom"})
    bars.show_hidden_data()
    bars.set_size({"width": 620, "height": CHART_HEIGHT})
    ws.insert_chart(top, 0, bars, {"x_offset": 5, "y_offset": CHART_GAP})

    line = wb.add_chart({"type": "line"})
    line.add_series({
        "name": "计划累计支出",
        "categories": [sheet, HEADER_ROW, COL_Q1, HEADER_ROW, COL_Q1 + 3],
        "values": [sheet, total_row, COL_Q1, total_row, COL_Q1 + 3],
        "marker": {"type": "circle", "size": 6}, "data_labels": {"value": True,
                                                                 "num_format": "#,##0"},
    })
    line.set_title({"name": "资金支出计划(累计,元)", "name_font": {"size": 12}})
    line.set_y_axis({"num_format": "#,##0", "min": 0})
    line.set_legend({"none": True})
    line.set_size({"width": 560, "height": CHART_HEIGHT})
    ws.insert_chart(top, 6, line, {"x_offset": 30, "y_offset": CHART_GAP})
