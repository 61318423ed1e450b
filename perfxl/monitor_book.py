"""Write the 绩效运行监控 book (``perfxl monitor``): 说明, then one 绩效运行监控表 per project.

Written whole with XlsxWriter in the house style (styles.py, the fixed build date, cached values
beside formulas): what the targets book fixed (unit, project, 年初预算数, the indicators and their
年度指标值) is locked; what the unit reports is unlocked. The checks of ``monitor.py`` a formula
can decide are conditional formats over the cells they read, so a sheet marks a missing reason as
it is typed; ``perfxl validate`` reports the same findings at the same cells.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from . import layout as L
from . import monitor as M
from .files import atomic_path
from .findings import ERROR, WARNING
from .formula import absolute, quote_sheet
from .layout import a1
from .live import counts_text
from .rules import RULES, RulesConfig
from .styles import BUILD_DATE, FONT, LABEL_FILL, PERCENT, Styles, row_height

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from .files import Given
    from .model import Department, Project, Unit

GUIDE_WIDTH = 90
COL_ERRORS, COL_WARNINGS = M.COLUMNS, M.COLUMNS + 1
"""Hidden columns right of the table: each row's live errors and warnings; row 1 their sums."""
ROW_STATUS = M.ROW_GOALS + 1
_PROTECTION = {"format_columns": True, "format_rows": True, "select_locked_cells": True,
               "select_unlocked_cells": True}


def write_monitor(path: str | Path, dept: Department, *, month: int = M.DEFAULT_MONTH,
                  unit: Unit | None = None, inputs: Given = (), force: bool = False,
                  config: RulesConfig | None = None) -> Path:
    """Write the monitoring book of ``dept`` for months 1–``month`` to ``path`` (atomically,
    never over one of ``inputs``). A project that already has its monitoring (read from a
    monitoring book) keeps what was reported; the others are carried from their targets.
    ``unit``: a book handed out to one unit (``perfxl split``), marked as the targets' are."""
    path = Path(path)
    with atomic_path(path, inputs, force=force) as tmp:
        build(tmp, dept, month, config or RulesConfig(), unit)
    return path


def build(path: Path, dept: Department, month: int, cfg: RulesConfig,
          unit: Unit | None = None) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    title = f"{dept.year or ''}年{dept.name}{M.TITLE_SUFFIX}"
    wb.set_properties({"title": title, "author": "perfxl", "created": BUILD_DATE,
                       "comments": f"perfxl monitor 1-{month}"})
    wb.set_custom_property(L.OUTPUT_PROPERTY, M.FORM)
    if unit is not None:
        wb.set_custom_property(L.UNIT_PROPERTY, unit.code)
    st = Styles(wb)
    extra = _Formats(wb)
    taken: set[str] = {L.SHEET_GUIDE.casefold()}
    sheets = []
    for i, p in enumerate(dept.projects, start=1):
        m = p.monitor if p.monitor is not None and p.monitor.month == month else \
            _carried(p, month)
        sheets.append((_sheet_name(p, i, taken), p, m, counts(m, cfg)))
    guide_sheet(wb, st, title, month, cfg, [(name, n) for name, _, _, n in sheets])
    for name, p, m, n in sheets:
        monitor_sheet(wb, st, extra, name, p, m, cfg, n)
    wb.worksheets()[0].activate()
    wb.close()


def counts(m: M.Monitor, cfg: RulesConfig) -> tuple[int, int]:
    """(errors, warnings) of a monitoring now: the cached values of its live counts."""
    broken = M.budget_rules(m, cfg) + [s for i in m.indicators for s in M.indicator_rules(i)]
    severities = [cfg.severity(RULES[s]) for s in broken]
    return severities.count(ERROR), severities.count(WARNING)


def _carried(p: Project, month: int) -> M.Monitor:
    if p.monitor is None:
        return M.carried(p, month)
    m = M.carried(p, month)  # another month: the budgets stay, the reports start afresh
    m.budget_initial, m.budget = p.monitor.budget_initial, p.monitor.budget
    return m


def _sheet_name(p: Project, seq: int, taken: set[str]) -> str:
    """The targets book's sheet name (``1.项目名称``) where it has one, unique in the book."""
    base = p.sheet or f"{p.seq or seq}.{p.name}"
    for ch in "[]:*?/\\":
        base = base.replace(ch, "_")
    name, n = base[:31], 2
    while name.casefold() in taken:
        suffix = f"({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.casefold())
    return name


class _Formats:
    """The monitoring sheet's own formats, beside the house styles: computed cells (locked)."""

    def __init__(self, wb: Workbook) -> None:
        boxed = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True,
                 "border": 1}
        self.percent = wb.add_format({**boxed, "num_format": PERCENT, "align": "center",
                                      "bg_color": LABEL_FILL})
        self.money = wb.add_format({**boxed, "num_format": "#,##0.00", "bg_color": LABEL_FILL})
        self.carried = wb.add_format({**boxed, "bg_color": LABEL_FILL})
        self.carried_center = wb.add_format({**boxed, "bg_color": LABEL_FILL, "align": "center"})


def guide_sheet(wb: Workbook, st: Styles, title: str, month: int, cfg: RulesConfig,
                sheets: list[tuple[str, tuple[int, int]]]) -> None:
    """说明: how to fill the book in, then each project sheet's live counts (a link to the
    sheet, formulas over its hidden totals) and their sum in the status line at the top."""
    ws = wb.add_worksheet(L.SHEET_GUIDE)
    ws.set_column(0, 0, GUIDE_WIDTH)
    ws.set_column(1, 2, 10)
    ws.hide_gridlines(2)
    ws.merge_range(0, 0, 0, 2, title, st.title)
    ws.set_row(0, 30)
    lines = [
        f"{M.LABEL_MONTHS}: 1-{month}月;时间进度 = {month}/12。",
        "1. 每个项目一张「绩效运行监控表」,由预算绩效目标表带入:单位、项目、年初预算数、各项指标及年度指标值"
        "(灰色,已锁定);白色单元格为填写区。",
        f"2. 全年预算数默认等于年初预算数,预算调整后请改为调整后的数;{M.spent_label(month)}填截至"
        f"{month}月底的累计支出(元)。执行率 = 执行数 / 全年预算数,自动计算。",
        f"3. 执行率低于时间进度超过 {cfg.monitor_margin} 个百分点时,请填写「执行偏差原因」(黄色提示)。",
        f"4. 每项指标填写{M.actual_label(month)}和全年预计完成值,按年度指标值的单位填写数值(如 92 或 92%)。",
        "5. 全年预计完成值达不到年度指标值的,须在「偏差原因分析」的相应栏(经费保障、制度保障、人员保障、"
        "硬件条件保障、其他)写明原因,完成目标可能性不能选「确定能」(红色提示)。",
        "6. 完成目标可能性从下拉列表选择:确定能、有可能、完全不可能;选「有可能」或「完全不可能」的须写明偏差原因。",
        "7. 实时检查:以上问题在填写时即标出,改正后标记随即消失;每张监控表顶部显示该表的错误、警告数,"
        "下表与本页顶部为各表及全部项目的合计。填写完成后运行 perfxl validate 可得到完整的校验结果。",
    ]
    r = 2
    for line in lines:
        ws.merge_range(r, 0, r, 2, line, st.plain)
        ws.set_row(r, row_height((line, GUIDE_WIDTH + 20)))
        r += 1
    r += 1
    for c, h in enumerate(("项目(工作表)", "错误", "警告")):
        ws.write_string(r, c, h, st.header)
    first = r + 1
    for name, (errors, warnings) in sheets:
        r += 1
        ws.write_url(r, 0, f"internal:{quote_sheet(name)}!A1", st.link, name)
        for c, col, cached in ((1, COL_ERRORS, errors), (2, COL_WARNINGS, warnings)):
            ws.write_formula(r, c, f"={quote_sheet(name)}!{absolute(a1(0, col))}",
                             st.cell_center, cached)
    r += 1
    ws.write_string(r, 0, "合计", st.total)
    errors, warnings = (sum(n[k] for _, n in sheets) for k in (0, 1))
    for c, cached in ((1, errors), (2, warnings)):
        ref = f"{a1(first, c)}:{a1(r - 1, c)}" if sheets else None
        ws.write_formula(r, c, f"=SUM({ref})" if ref else "=0", st.total, cached)
    e, w = a1(r, 1), a1(r, 2)
    ws.merge_range(1, 0, 1, 2, "", st.live_status)
    ws.write_formula(1, 0, f'="{L.STATUS_TITLE}: 错误 "&{e}&" 项,警告 "&{w}&" 项"',
                     st.live_status, f"{L.STATUS_TITLE}: {counts_text(errors, warnings)}")
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.protect("", {"format_columns": True, "format_rows": True})


def monitor_sheet(wb: Workbook, st: Styles, fx: _Formats, name: str, p: Project,
                  m: M.Monitor, cfg: RulesConfig, cached: tuple[int, int] = (0, 0)) -> None:
    ws = wb.add_worksheet(name)
    for c, w in enumerate(M.WIDTHS):
        ws.set_column(c, c, w)
    last = M.COLUMNS - 1
    full = float(sum(M.WIDTHS))
    title = f"{p.seq}.{p.name}{M.TITLE_SUFFIX}" if p.seq else f"{p.name}{M.TITLE_SUFFIX}"
    ws.merge_range(M.ROW_TITLE, 0, M.ROW_TITLE, last, title, st.title)
    ws.set_row(M.ROW_TITLE, row_height((title, full * 0.6), minimum=30))

    r = M.ROW_UNIT
    ws.write_string(r, 0, L.LABEL_UNIT_CODE, st.label)
    ws.write_string(r, 1, p.unit_code, fx.carried_center)
    ws.write_string(r, 2, L.LABEL_UNIT_NAME, st.label)
    ws.merge_range(r, 3, r, 7, p.unit_name, fx.carried)
    ws.merge_range(r, 8, r, 9, M.LABEL_MONTHS, st.label)
    ws.merge_range(r, 10, r, 11, f"1-{m.month}月", fx.carried_center)
    ws.write_string(r, 12, L.LABEL_MONEY_UNIT, st.money_unit)
    ws.set_row(r, 22)
    r = M.ROW_CODE
    ws.write_string(r, 0, L.LABEL_CODE, st.label)
    ws.merge_range(r, 1, r, 2, p.code, fx.carried)
    ws.write_string(r, 3, L.LABEL_NAME, st.label)
    ws.merge_range(r, 4, r, last, p.name, fx.carried)
    ws.set_row(r, row_height((p.name, sum(M.WIDTHS[4:])), (p.code, sum(M.WIDTHS[1:3]))))

    budget_block(ws, st, fx, m, cfg)

    goals = p.goals
    ws.write_string(M.ROW_GOALS, 0, M.LABEL_GOALS, st.label)
    ws.merge_range(M.ROW_GOALS, 1, M.ROW_GOALS, last, goals, fx.carried)
    ws.set_row(M.ROW_GOALS, row_height((goals, full - M.WIDTHS[0]), minimum=30))

    heads = {M.COL_L1: "一级指标", M.COL_L2: "二级指标", M.COL_L3: "三级指标",
             M.COL_TARGET: M.LABEL_TARGET, M.COL_ACTUAL: M.actual_label(m.month),
             M.COL_FORECAST: M.LABEL_FORECAST, M.COL_LIKELIHOOD: M.LABEL_LIKELIHOOD,
             M.COL_NOTE: M.LABEL_NOTE}
    for c, h in heads.items():
        ws.merge_range(M.ROW_HEAD, c, M.ROW_SUBHEAD, c, h, st.header)
    ws.merge_range(M.ROW_HEAD, M.COL_CAUSES[0], M.ROW_HEAD, M.COL_CAUSES[-1], M.LABEL_REASONS,
                   st.header)
    for c, (_, h) in zip(M.COL_CAUSES, M.CAUSES, strict=True):
        ws.write_string(M.ROW_SUBHEAD, c, h, st.header)
    ws.set_row(M.ROW_HEAD, 22)
    ws.set_row(M.ROW_SUBHEAD, 28)

    r = M.FIRST_ROW
    for i in m.indicators:
        indicator_row(ws, st, fx, r, i, cfg)
        r += 1
    if m.indicators:
        ws.data_validation(M.FIRST_ROW, M.COL_LIKELIHOOD, r - 1, M.COL_LIKELIHOOD, {
            "validate": "list", "source": list(M.LIKELIHOODS), "error_type": "stop",
            "error_title": M.LABEL_LIKELIHOOD,
            "error_message": "请从下拉列表选择:确定能、有可能、完全不可能。"})
    note = ("注:实际完成值和预计完成值按年度指标值的单位填写数值(如 92 或 92%);预计达不到年度指标值,"
            "或完成目标可能性不是「确定能」的,须在偏差原因分析的相应栏写明原因。")
    ws.merge_range(r + 1, 0, r + 1, last, note, st.note)
    ws.set_row(r + 1, row_height((note, full)))

    # the sheet's live counts (hidden, row 1) and its status line above the table
    end = max(r - 1, M.ROW_BUDGET)
    for col, value in ((COL_ERRORS, cached[0]), (COL_WARNINGS, cached[1])):
        ws.write_formula(0, col, f"=SUM({a1(M.ROW_BUDGET, col)}:{a1(end, col)})", st.live,
                         value)
    ws.set_column(COL_ERRORS, COL_WARNINGS, None, None, {"hidden": True})
    errors, warnings = a1(0, COL_ERRORS), a1(0, COL_WARNINGS)
    ws.merge_range(ROW_STATUS, 0, ROW_STATUS, last, "", st.live_status)
    ws.write_formula(ROW_STATUS, 0,
                     f'="{L.STATUS_TITLE}: 错误 "&{errors}&" 项,警告 "&{warnings}&" 项"',
                     st.live_status, f"{L.STATUS_TITLE}: {counts_text(*cached)}")
    ws.freeze_panes(M.ROW_SUBHEAD + 1, 0)
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.print_area(0, 0, r + 1, last)
    ws.repeat_rows(M.ROW_HEAD, M.ROW_SUBHEAD)
    ws.set_footer("&C第 &P 页,共 &N 页")
    ws.protect("", _PROTECTION)


def budget_block(ws: Worksheet, st: Styles, fx: _Formats, m: M.Monitor,
                 cfg: RulesConfig) -> None:
    """The spending line: labels above, values below; 执行率 a formula with its cached value."""
    head, row = M.ROW_BUDGET_HEAD, M.ROW_BUDGET
    labels = {"budget_initial": M.LABEL_INITIAL, "budget": M.LABEL_BUDGET,
              "spent": M.spent_label(m.month), "execution_rate": M.LABEL_RATE,
              "time_progress": M.LABEL_PROGRESS, "reason": M.LABEL_SPENDING_REASON}
    cells = {f: a1(row, c0) for f, (c0, _) in M.BUDGET_SPANS.items()}
    for f, (c0, c1) in M.BUDGET_SPANS.items():
        _merge(ws, head, c0, c1, labels[f], st.label)
    ws.set_row(head, 22)
    _money(ws, row, M.BUDGET_SPANS["budget_initial"], m.budget_initial, fx.money)
    _money(ws, row, M.BUDGET_SPANS["budget"], m.budget, st.money)
    _money(ws, row, M.BUDGET_SPANS["spent"], m.spent, st.money)
    budget, spent = cells["budget"], cells["spent"]
    rate = m.execution_rate
    c = M.BUDGET_SPANS["execution_rate"][0]
    ws.write_formula(row, c, "=" + M.rate_formula(spent, budget), fx.percent,
                     "" if rate is None else float(rate / 100))
    c = M.BUDGET_SPANS["time_progress"][0]
    ws.write_formula(row, c, f"={m.month}/12", fx.percent, m.month / 12)
    _merge(ws, row, *M.BUDGET_SPANS["reason"], m.reason, st.text)
    ws.set_row(row, row_height((m.reason, sum(M.WIDTHS[8:])), minimum=24))
    ws.data_validation(row, M.BUDGET_SPANS["budget"][0], row, M.BUDGET_SPANS["spent"][1], {
        "validate": "decimal", "criteria": ">=", "value": 0, "error_type": "warning",
        "error_title": "金额", "error_message": "金额应为不小于 0 的数字(单位:元)。"})
    a = {f: absolute(x) for f, x in cells.items()}
    broken = set(M.budget_rules(m, cfg))
    _place(ws, st, cfg, row, M.budget_formulas(a, cfg), broken,
           {"spent": M.BUDGET_SPANS["spent"], "reason": M.BUDGET_SPANS["reason"]})


def indicator_row(ws: Worksheet, st: Styles, fx: _Formats, r: int, i: M.MonitorIndicator,
                  cfg: RulesConfig) -> None:
    ws.write_string(r, M.COL_L1, i.level1, fx.carried_center)
    ws.write_string(r, M.COL_L2, i.level2, fx.carried_center)
    ws.write_string(r, M.COL_L3, i.level3, fx.carried)
    ws.write_string(r, M.COL_TARGET, i.target, fx.carried_center)
    ws.write_string(r, M.COL_ACTUAL, i.actual, st.text_center)
    ws.write_string(r, M.COL_FORECAST, i.forecast, st.text_center)
    for c, (k, _) in zip(M.COL_CAUSES, M.CAUSES, strict=True):
        ws.write_string(r, c, i.reasons.get(k, ""), st.text)
    ws.write_string(r, M.COL_LIKELIHOOD, i.likelihood, st.text_center)
    ws.write_string(r, M.COL_NOTE, i.note, st.text)
    texts = [(i.level3, M.WIDTHS[M.COL_L3]), (i.level2, M.WIDTHS[M.COL_L2]),
             (i.target, M.WIDTHS[M.COL_TARGET]), (i.note, M.WIDTHS[M.COL_NOTE]),
             *[(i.reasons.get(k, ""), M.WIDTHS[c]) for c, (k, _) in
               zip(M.COL_CAUSES, M.CAUSES, strict=True)]]
    ws.set_row(r, row_height(*texts, minimum=22))
    cells = {"forecast": a1(r, M.COL_FORECAST), "likelihood": a1(r, M.COL_LIKELIHOOD),
             **{k: a1(r, c) for c, (k, _) in zip(M.COL_CAUSES, M.CAUSES, strict=True)}}
    formulas = M.indicator_formulas(i, {f: absolute(x) for f, x in cells.items()})
    _place(ws, st, cfg, r, formulas, set(M.indicator_rules(i)),
           {"reasons": (M.COL_CAUSES[0], M.COL_CAUSES[-1]),
            "likelihood": (M.COL_LIKELIHOOD, M.COL_LIKELIHOOD)})


def _place(ws: Worksheet, st: Styles, cfg: RulesConfig, r: int, formulas: dict[str, str],
           broken: set[str], spans: dict[str, tuple[int, int]]) -> None:
    """A row's live checks: each rule's mark (a conditional format over the columns of the field
    it points at, in its severity from the rules file; none when turned off) and the row's
    counts of errors and warnings in the hidden columns, cached as ``broken`` says."""
    counts: dict[str, list[str]] = {ERROR: [], WARNING: []}
    cached = {ERROR: 0, WARNING: 0}
    for slug, condition in formulas.items():
        severity = cfg.severity(RULES[slug])
        if severity == "off":
            continue
        c0, c1 = spans[M.MARKED_AT[slug]]
        _mark(ws, st, (r, c0, r, c1), condition, severity)
        counts[severity].append(f"({condition}>0)")
        cached[severity] += slug in broken
    for severity, col in ((ERROR, COL_ERRORS), (WARNING, COL_WARNINGS)):
        terms = counts[severity]
        ws.write_formula(r, col, "=" + ("+".join(terms) if terms else "0"), st.live,
                         cached[severity])


def _mark(ws: Worksheet, st: Styles, box: tuple[int, int, int, int], condition: str,
          severity: str) -> None:
    """A formula-driven mark in the colours of ``severity`` (marks.MARK_COLOURS)."""
    r0, c0, r1, c1 = box
    ws.conditional_format(r0, c0, r1, c1, {"type": "formula", "criteria": f"={condition}>0",
                                           "format": st.marks[severity]})


def _merge(ws: Worksheet, r: int, c0: int, c1: int, value: str, fmt: Format) -> None:
    if c0 == c1:
        ws.write_string(r, c0, value, fmt)
    else:
        ws.merge_range(r, c0, r, c1, value, fmt)


def _money(ws: Worksheet, r: int, span: tuple[int, int], value: Decimal | None,
           fmt: Format) -> None:
    c0, c1 = span
    if c1 > c0:
        ws.merge_range(r, c0, r, c1, "", fmt)
    if value is None:
        ws.write_blank(r, c0, None, fmt)
    else:
        ws.write_number(r, c0, float(value), fmt)

