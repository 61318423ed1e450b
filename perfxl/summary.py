"""The 汇总 sheet: one row per project grouped by unit, subtotals, the total, the reconciliation
and two native charts.

Amounts are formulas referring to the project sheets (an edit in Excel flows into the totals) and
carry cached values (so calamine, pandas and previewers show the numbers without recalculating).
Unit subtotals and the total use SUBTOTAL(9, …), which skips the subtotals nested in its range.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from . import layout as L
from .consolidate import Reconciliation, Totals, describe, plan_amounts
from .findings import ERROR, WARNING, Report
from .layout import a1, column_letters
from .model import Department, Project

if TYPE_CHECKING:
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from .template import Styles

HEADERS = ("单位编码", "单位名称", "序号", "项目编码", "项目名称", "预算数", "财政资金", "其他资金",
           "3月底", "6月底", "10月底", "12月底", "指标数", "错误", "警告")
WIDTHS = (9, 22, 5, 24, 30, 14, 14, 12, 13, 13, 13, 14, 7, 6, 6)
COL_BUDGET, COL_FISCAL, COL_OTHER, COL_Q1 = 5, 6, 7, 8
HEADER_ROW, FIRST_ROW = 3, 4
UNIT_COLOURS = ("#4472C4", "#ED7D31", "#70AD47", "#FFC000", "#5B9BD5", "#A5A5A5", "#7030A0",
                "#C00000")
CHART_DATA_COL = 17  # R: hidden chart data, right of the printed table


def ref(sheet: str, cell: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + cell


def summary_sheet(wb: Workbook, st: Styles, dept: Department, t: Totals,
                  report: Report | None) -> None:
    ws = wb.add_worksheet(L.SHEET_SUMMARY)
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)
    last = len(HEADERS) - 1
    ws.merge_range(0, 0, 0, last, f"{dept.year or ''}年{dept.name}项目支出绩效目标汇总表", st.title)
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last, "单位:元", st.money_unit)
    _header(ws, st)

    counts = Counter((f.sheet, f.severity) for f in report.findings) if report else Counter()
    r = FIRST_ROW
    project_rows: list[tuple[int, Project]] = []
    for (subtotal, unit), first in zip(_subtotal_rows(dept), _first_rows(dept), strict=True):
        for p in [p for p in dept.projects if p.unit_code == unit]:
            _project_row(ws, st, r, p, counts, report is not None)
            project_rows.append((r, p))
            r += 1
        assert r == subtotal
        _subtotal_row(ws, st, r, first, r - 1, f"{unit} 小计", dept.unit_name(unit),
                      [t.by_unit.get(unit, Decimal(0))], dept, unit, counts, report)
        r += 1
    total_row = r
    _subtotal_row(ws, st, r, FIRST_ROW, r - 1, "合计", f"{len(dept.projects)} 个项目",
                  [t.total], dept, None, counts, report)
    r += 2
    r = _reconciliation(ws, st, r, t, dept, total_row)
    _charts(wb, ws, dept, project_rows, total_row, r + 1)

    ws.freeze_panes(FIRST_ROW, 0)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW - 1, HEADER_ROW)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.print_area(0, 0, r + 18, last)
    ws.set_footer("&C第 &P 页,共 &N 页")


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


def _project_row(ws: Worksheet, st: Styles, r: int, p: Project, counts: Counter[tuple[str, str]],
                 checked: bool) -> None:
    from .template import row_height

    cells = L.PROJECT_CELLS
    ws.write_string(r, 0, p.unit_code, st.cell_center)
    ws.write_string(r, 1, p.unit_name, st.cell)
    ws.write_number(r, 2, p.seq, st.cell_center)
    ws.write_url(r, 3, f"internal:{ref(p.sheet, 'A1')}", st.link, p.code)
    ws.write_string(r, 4, p.name, st.cell)
    ws.set_row(r, row_height((p.name, WIDTHS[4]), (p.unit_name, WIDTHS[1]), minimum=18))
    for col, fld, value in ((COL_BUDGET, "project.budget", p.budget),
                            (COL_FISCAL, "project.fiscal", p.fiscal),
                            (COL_OTHER, "project.other", p.other)):
        ws.write_formula(r, col, f"={ref(p.sheet, str(cells[fld]))}", st.cell_money,
                         float(value or 0))
    budget_cell = a1(r, COL_BUDGET)
    for q, (cell, amount) in enumerate(zip(cells["project.plan"], plan_amounts(p), strict=True)):
        ws.write_formula(r, COL_Q1 + q, f"={budget_cell}*{ref(p.sheet, cell)}", st.cell_money,
                         float(amount))
    ws.write_number(r, 12, len(p.indicators), st.cell_center)
    if checked:
        ws.write_number(r, 13, counts[(p.sheet, ERROR)], st.cell_center)
        ws.write_number(r, 14, counts[(p.sheet, WARNING)], st.cell_center)
    else:
        ws.write_blank(r, 13, None, st.cell_center)
        ws.write_blank(r, 14, None, st.cell_center)


def _subtotal_row(ws: Worksheet, st: Styles, r: int, first: int, last: int, label: str,
                  name: str, cached: list[Decimal], dept: Department, unit: str | None,
                  counts: Counter[tuple[str, str]], report: Report | None) -> None:
    projects = [p for p in dept.projects if unit is None or p.unit_code == unit]
    ws.merge_range(r, 0, r, 1, label, st.total_left)
    ws.merge_range(r, 2, r, 4, name, st.total_left)
    values = [cached[0], sum((p.fiscal or Decimal(0) for p in projects), Decimal(0)),
              sum((p.other or Decimal(0) for p in projects), Decimal(0))]
    plans = [sum((plan_amounts(p)[q] for p in projects), Decimal(0)) for q in range(4)]
    for c, v in zip(range(COL_BUDGET, COL_Q1 + 4), [*values, *plans], strict=True):
        col = column_letters(c)
        ws.write_formula(r, c, f"=SUBTOTAL(9,{col}{first + 1}:{col}{last + 1})", st.total_money,
                         float(v))
    ws.write_formula(r, 12, f"=SUBTOTAL(9,M{first + 1}:M{last + 1})", st.total,
                     sum(len(p.indicators) for p in projects))
    for c, sev in ((13, ERROR), (14, WARNING)):
        col = column_letters(c)
        if report is None:
            ws.write_blank(r, c, None, st.total)
        else:
            ws.write_formula(r, c, f"=SUBTOTAL(9,{col}{first + 1}:{col}{last + 1})", st.total,
                             sum(counts[(p.sheet, sev)] for p in projects))


def _reconciliation(ws: Worksheet, st: Styles, r: int, t: Totals, dept: Department,
                    total_row: int) -> int:
    """Declared total, computed total, difference and its explanation, one block per scope."""
    from .template import row_height

    ws.merge_range(r, 0, r, 4, "对账 (申报总额与计算合计)", st.section)
    r += 1
    recs: list[tuple[str, Reconciliation, str, str]] = []
    if t.department:
        from_sheet = t.department.declared == dept.declared_total
        declared_ref = ref(L.SHEET_DEPARTMENT, dept.cells.get("department.total", "C6")) \
            if from_sheet else ""
        recs.append(("部门", t.department, declared_ref, a1(total_row, COL_BUDGET)))
    for u in t.units:
        unit_row = next((row for row, label in _subtotal_rows(dept) if label == u.scope), None)
        recs.append((f"{u.scope} {dept.unit_name(u.scope)}", u, "",
                     a1(unit_row, COL_BUDGET) if unit_row is not None else ""))
    if not recs:
        ws.merge_range(r, 0, r, 14, "未提供申报总额:在「部门整体」的「部门预算总额(元)」中填写,"
                       "或运行 perfxl summarize --declared-total 金额", st.note)
        return r + 1
    for label, rec, declared_ref, computed_ref in recs:
        source = "(部门整体)" if declared_ref else ""
        rows = ((f"{label}申报总额{source}", f"={declared_ref}" if declared_ref else None,
                 rec.declared),
                ("计算合计", f"={computed_ref}" if computed_ref else None, rec.computed),
                ("差额 (计算合计 − 申报总额)", f"={a1(r + 1, COL_BUDGET)}-{a1(r, COL_BUDGET)}",
                 rec.difference))
        for k, (name, formula, value) in enumerate(rows):
            ws.merge_range(r + k, 0, r + k, 4, name, st.label_left)
            if formula:
                ws.write_formula(r + k, COL_BUDGET, formula, st.cell_money, float(value))
            else:
                ws.write_number(r + k, COL_BUDGET, float(value), st.cell_money)
        zh, _ = describe(rec, dept)
        ws.merge_range(r, COL_FISCAL, r + 2, 14, zh, st.cell)
        ws.set_row(r + 2, max(20, row_height((zh, 100)) - 40))
        r += 4
    return r


def _first_rows(dept: Department) -> list[int]:
    return [FIRST_ROW] + [row + 1 for row, _ in _subtotal_rows(dept)[:-1]]


def _subtotal_rows(dept: Department) -> list[tuple[int, str]]:
    """(row, unit code) of each unit's 小计 row, as summary_sheet lays them out."""
    out, r = [], FIRST_ROW
    for unit in _units(dept):
        r += sum(p.unit_code == unit for p in dept.projects)
        out.append((r, unit))
        r += 1
    return out


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
    bars.set_size({"width": 620, "height": 330})
    ws.insert_chart(top, 0, bars, {"x_offset": 5, "y_offset": 5})

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
    line.set_size({"width": 560, "height": 330})
    ws.insert_chart(top, 6, line, {"x_offset": 30, "y_offset": 5})
