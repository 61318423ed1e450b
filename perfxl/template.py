"""Build the template workbook (blank, or filled with a department) in the official form.

Written whole with XlsxWriter, never by editing a copy of a template file: numbers as numbers with
formats, dropdowns, locked labels and unlocked inputs, print setup, and a fixed creation date so two
builds of the same data give the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout as L
from . import live
from .consolidate import totals as compute_totals
from .files import atomic_path
from .marks import live_totals
from .model import LEVELS, QUARTERS, Department, Indicator, Project, Unit
from .progress import QUIET, Progress
from .rules import RulesConfig
from .source_sheet import sources_sheet
from .styles import BUILD_DATE, Styles, row_height
from .summary import summary_sheet
from .xlsx import workbook_class

if TYPE_CHECKING:
    from collections.abc import Sequence

    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from .consolidate import Totals
    from .files import Given
    from .findings import Finding, Report
    from .source_sheet import Source

def write_book(path: str | Path, dept: Department | None = None, *, report: Report | None = None,
               totals: Totals | None = None, unit: Unit | None = None,
               sources: Sequence[Source] | None = None, inputs: Given = (),
               force: bool = False, config: RulesConfig | None = None,
               progress: Progress | None = None) -> Path:
    """Write the book to ``path`` (atomically): the blank template when ``dept`` is None.

    Gives every project its sheet name and cells (``layout.place``); the 汇总 sheet shows
    ``totals`` (computed when not given) and, with a ``report``, the findings per project.
    ``unit`` marks a book handed out to one unit (``perfxl split``); ``sources`` adds the 来源
    sheet of a merge. The write goes through ``files.atomic_path``: never over one of ``inputs``,
    never over an existing file unless ``force``.
    """
    path = Path(path)
    with atomic_path(path, inputs, force=force) as tmp:
        build(tmp, dept, report, totals, unit, sources, config=config, progress=progress)
    return path


def book_bytes(dept: Department | None, report: Report | None = None,
               totals: Totals | None = None, unit: Unit | None = None,
               sources: Sequence[Source] | None = None, *, placed: bool = False,
               config: RulesConfig | None = None,
               progress: Progress | None = None) -> tuple[bytes, dict[str, live.SheetChecks]]:
    """The book :func:`write_book` writes, as bytes (for a step that finishes it, such as
    marking the findings, before the one write to its target), and the live checks it placed
    (:func:`build`). XlsxWriter writes it to a private scratch folder, keeping its sheets in
    temporary files rather than memory. ``placed``: the department already has its sheet names
    and cells (``layout.place``), as its findings do."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="perfxl-") as scratch:
        path = Path(scratch) / "book.xlsx"
        checks = build(path, dept, report, totals, unit, sources, placed=placed, config=config,
                       progress=progress)
        return path.read_bytes(), checks


def build(path: Path, dept: Department | None, report: Report | None = None,
          totals: Totals | None = None, unit: Unit | None = None,
          sources: Sequence[Source] | None = None, *, placed: bool = False,
          config: RulesConfig | None = None, live_checks: bool = True,
          progress: Progress | None = None) -> dict[str, live.SheetChecks]:
    """Write the book to ``path`` with XlsxWriter; the live checks placed, by sheet.
    ``live_checks=False`` leaves them out (only the benchmark that measures what they cost does
    that). ``progress`` is told of each project sheet built and each sheet written out."""
    tell = progress or QUIET
    wb = workbook_class()(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd",
    })
    title = f"{dept.year or ''}年{dept.name}预算绩效目标" if dept else "预算绩效目标表(模板)"
    wb.set_properties({"title": title, "author": "perfxl", "created": BUILD_DATE,
                       "comments": f"perfxl template {L.TEMPLATE_VERSION}"})
    wb.set_custom_property(L.VERSION_PROPERTY, L.TEMPLATE_VERSION)
    if unit is not None:
        wb.set_custom_property(L.UNIT_PROPERTY, unit.code)
    if sources is not None:  # a merged department book: never merged again as a unit's
        wb.set_custom_property(L.OUTPUT_PROPERTY, L.OUTPUT_MERGE)
    st = Styles(wb)
    guide = guide_sheet(wb, st)
    department_sheet(wb, st, dept)
    checks: list[live.SheetChecks] = []
    if dept and dept.projects:
        if not placed:
            L.place(dept)
        by_sheet: dict[str, list[Finding]] = {}
        for f in report.findings if report else ():
            by_sheet.setdefault(f.sheet, []).append(f)
        tell.stage(BUILDING, len(dept.projects))
        for p in dept.projects:
            checks.append(project_sheet(wb, st, p.sheet, p, config, dept.year,
                                        by_sheet.get(p.sheet, ()), live_checks=live_checks))
            tell.advance()
        summary_sheet(wb, st, dept, totals or compute_totals(dept), report)
        if sources is not None:
            sources_sheet(wb, st, sources)
    else:
        checks.append(project_sheet(wb, st, "1.项目名称", None, config,
                                    dept.year if dept else None, live_checks=live_checks))
        summary_placeholder(wb, st)
    guide_status(guide, st, sum(c.errors for c in checks), sum(c.warnings for c in checks))
    lists = lists_sheet(wb, st)
    sheets = [ws.name for ws in wb.worksheets()]
    if live_checks:  # the book's totals, on 选项 (hidden)
        book_totals = live.book_totals(sheets, [c.sheet for c in checks if c.sheet in sheets])
        cached = {live.TOTAL_CELLS[live.NAME_ERRORS]: sum(c.errors for c in checks),
                  live.TOTAL_CELLS[live.NAME_WARNINGS]: sum(c.warnings for c in checks)}
        for ref, formula in book_totals.items():
            r, c = L.parse_a1(ref) or (0, 0)
            lists.write_formula(r, c, formula, st.live, cached[ref])
        for name, formula in live.book_names(L.SHEET_LISTS).items():
            wb.define_name(name, formula)
    wb.worksheets()[0].activate()
    tell.stage(WRITING, len(wb.worksheets()))
    wb.on_sheet_written = tell.advance
    wb.close()
    return {c.sheet: c for c in checks} if live_checks else {}


BUILDING = "生成 (building)"
WRITING = "写出 (writing)"


def span(first: int, last: int, widths: tuple[int, ...] = L.COLUMN_WIDTHS) -> float:
    return float(sum(widths[first: last + 1]))


# --- sheets ------------------------------------------------------------------------------------

GUIDE_WIDTH = 72
GUIDE_STATUS_ROW = 1
"""Characters of the 说明 column, so that it is narrower than an A4 portrait page at 100%: a
sheet of one column is never scaled to fit the page's width (LibreOffice counts whole columns),
and LibreOffice draws a character of the default font up to a third wider than Excel does."""


def guide_sheet(wb: Workbook, st: Styles) -> Worksheet:
    """The 说明 sheet; its row 2 is the book's live totals (:func:`guide_status`), written once
    the project sheets are (their cached counts are its cached value)."""
    ws = wb.add_worksheet(L.SHEET_GUIDE)
    ws.set_column(0, 0, GUIDE_WIDTH)
    ws.hide_gridlines(2)
    ws.write(0, 0, "预算绩效目标表 填写说明", st.title)
    ws.set_row(0, 30)
    lines = [
        "1. 本工作簿包括:说明、部门整体(部门整体绩效目标)、每个项目一张「项目支出绩效目标表」、汇总。",
        "2. 灰色单元格为表头,已锁定;白色单元格为填写区。工作表保护无密码,需要时可在「审阅 → 撤销工作表保护」中取消。",
        "3. 金额单位为元,保留两位小数;预算数 = 财政资金 + 其他资金。",
        "4. 资金支出计划填写截至 3月底、6月底、10月底、12月底 的累计支出比例(%),12月底应为 100%。",
        "5. 一级指标、二级指标从下拉列表选择(二级指标随一级指标变化);每个项目应至少有产出、效益、满意度指标各一条,并应有成本指标。",
        "6. 指标值写作「运算符 数值 单位」,如 ≥95%、≤80000元、=12个;时效指标写日期(如 2021年12月底);定性指标写 优/良/中/差 或 达到/基本达到。",
        "7. 新增项目:复制一张项目表(右键工作表标签 → 移动或复制 → 建立副本),再修改内容;新增指标行:在指标表中插入行。",
        "8. 填写完成后点击功能区「绩效目标 → 校验」,或运行 perfxl validate,按「校验结果」工作表逐条修改。",
        "9. 实时检查:能随输入判断的问题(如支出计划未填、项目编码格式不对)在填写时即以红色(错误)或黄色(警告)标出,"
        "改正后标记随即消失;每张项目表顶部显示该表的错误、警告数,本页顶部为全部项目的合计。"
        "其余问题需完整校验(功能区「绩效目标 → 校验」或 perfxl validate)。",
        f"模板版本: {L.TEMPLATE_VERSION}",
    ]
    for i, line in enumerate(lines, start=2):
        ws.write_string(i, 0, line, st.plain)
        ws.set_row(i, row_height((line, GUIDE_WIDTH)))
    print_setup(ws, 1 + len(lines), 0, landscape=False)
    ws.protect("", {"format_columns": True, "format_rows": True})
    return ws


def guide_status(ws: Worksheet, st: Styles, errors: int, warnings: int) -> None:
    """The 说明's line of the book's live totals (the workbook names of :func:`build`), as
    校验结果 shows them."""
    formula, text = live_totals(errors, warnings)
    ws.write_formula(GUIDE_STATUS_ROW, 0, formula, st.live_status, text)


def department_sheet(wb: Workbook, st: Styles, dept: Department | None) -> None:
    ws = wb.add_worksheet(L.SHEET_DEPARTMENT)
    widths = (8, 26, 13, 13, 70)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    full = float(sum(widths))
    d = dept or Department()
    r = 0
    heading = f"{d.year}年{d.name}部门整体绩效目标" if dept and d.year else "部门整体绩效目标"
    ws.merge_range(r, 0, r, 4, heading, st.title)
    ws.set_row(r, 32)
    r += 1

    def field(label: str, value: Any, fmt: Format) -> None:
        nonlocal r
        ws.merge_range(r, 0, r, 1, label, st.label_left)
        ws.merge_range(r, 2, r, 4, "", fmt)
        if value is None or value == "":
            pass
        elif isinstance(value, (int, Decimal)):
            ws.write_number(r, 2, float(value), fmt)
        else:
            ws.write_string(r, 2, str(value), fmt)
        r += 1

    field(L.LABEL_DEPT_NAME, d.name, st.text)
    field(L.LABEL_DEPT_REGION, d.region, st.text)
    field(L.LABEL_DEPT_YEAR, d.year, st.number)
    field(L.LABEL_DEPT_TITLE, d.title, st.text)
    field(L.LABEL_DECLARED, d.declared_total, st.money)

    def section(label: str) -> None:
        nonlocal r
        r += 1
        ws.merge_range(r, 0, r, 4, label, st.section)
        ws.set_row(r, 22)
        r += 1

    def paragraph(value: str) -> None:
        nonlocal r
        ws.merge_range(r, 0, r, 4, "", st.text)
        if value:
            ws.write_string(r, 0, value, st.text)
        ws.set_row(r, row_height((value, full), minimum=40))
        r += 1

    rows = L.department_rows(len(d.units), len(d.scoring.items), len(d.scoring.deductions))
    section(L.LABEL_UNITS)
    assert r == rows["units_header"], "layout.department_rows is out of step with the writer"
    ws.merge_range(r, 0, r, 1, L.LABEL_UNIT_CODE, st.header)
    ws.merge_range(r, 2, r, 4, L.LABEL_UNIT_NAME, st.header)
    r += 1
    for u in [*d.units, None, None]:
        ws.merge_range(r, 0, r, 1, "", st.text_center)
        ws.merge_range(r, 2, r, 4, "", st.text)
        if u:
            ws.write_string(r, 0, u.code, st.text_center)
            ws.write_string(r, 2, u.name, st.text)
        r += 1

    section(L.LABEL_OVERALL)
    paragraph(d.overall_goal)
    section(L.LABEL_SCORING)
    paragraph(d.scoring_intro)
    for c, h in enumerate(L.SCORING_HEADERS):
        ws.write_string(r, c, h, st.header)
    r += 1
    first = r
    items = d.scoring.items or []
    for i, item in enumerate(items):
        ws.write_string(r, 0, f"({_cn(i + 1)})", st.label)
        ws.write_string(r, 1, item.name, st.text)
        ws.write_number(r, 2, item.points_city, st.number)
        ws.write_number(r, 3, item.points_county, st.number)
        ws.write_string(r, 4, item.content, st.text)
        ws.set_row(r, row_height((item.content, widths[4]), (item.name, widths[1])))
        r += 1
    for _ in range(0 if items else 7):
        for c in range(5):
            ws.write_blank(r, c, None, st.number if c in (2, 3) else st.text)
        r += 1
    assert r == rows["scoring_total"], "layout.department_rows is out of step with the writer"
    ws.write_string(r, 0, "", st.total)
    ws.write_string(r, 1, "合计", st.total)
    city, county = d.scoring.totals()
    ws.write_formula(r, 2, f"=SUM(C{first + 1}:C{r})", st.total, city)
    ws.write_formula(r, 3, f"=SUM(D{first + 1}:D{r})", st.total, county)
    ws.write_string(r, 4, "两种口径均应为 100 分", st.total)
    r += 2
    s = d.scoring
    ws.merge_range(r, 0, r, 1, L.LABEL_BONUS, st.label_left)
    ws.merge_range(r, 2, r, 4, s.bonus_text, st.text)
    ws.set_row(r, row_height((s.bonus_text, widths[2] + widths[3] + widths[4])))
    r += 1
    for label, value in (("每次加分(下限)", s.bonus_min), ("每次加分(上限)", s.bonus_max),
                         (L.LABEL_BONUS_CAP, s.bonus_cap)):
        ws.merge_range(r, 0, r, 1, label, st.label_left)
        ws.write_number(r, 2, value, st.number)
        r += 1
    assert r - 1 == rows["bonus_cap"], "layout.department_rows is out of step with the writer"
    for x in [*s.deductions, None]:
        ws.merge_range(r, 0, r, 1, f"{L.LABEL_DEDUCTION}(每次)", st.label_left)
        ws.merge_range(r, 3, r, 4, "", st.text)
        if x:
            ws.write_number(r, 2, x.points, st.number)
            ws.write_string(r, 3, x.event, st.text)
        else:
            ws.write_blank(r, 2, None, st.number)
        r += 1

    section(L.LABEL_MEASURES)
    for i, m in enumerate([*d.measures] or [None, None, None]):
        ws.write_string(r, 0, f"({_cn(i + 1)})", st.label)
        ws.merge_range(r, 2, r, 4, "", st.text)
        if m:
            ws.write_string(r, 1, m.title, st.text)
            ws.write_string(r, 2, m.text, st.text)
            ws.set_row(r, row_height((m.text, widths[2] + widths[3] + widths[4]), minimum=40))
        else:
            ws.write_blank(r, 1, None, st.text)
            ws.set_row(r, 40)
        r += 1

    ws.freeze_panes(1, 0)
    print_setup(ws, r, 4, landscape=False)
    ws.protect("", _PROTECTION)


def project_sheet(wb: Workbook, st: Styles, name: str, p: Project | None,
                  cfg: RulesConfig | None = None, year: int | None = None,
                  findings: Sequence[Finding] = (), *,
                  live_checks: bool = True) -> live.SheetChecks:
    ws = wb.add_worksheet(name)
    for c, w in enumerate(L.COLUMN_WIDTHS):
        ws.set_column(c, c, w)
    full = span(0, L.COLUMNS - 1)
    last = L.COLUMNS - 1

    title = f"{p.seq}.{p.name}绩效目标表" if p else "项目支出绩效目标表"
    ws.merge_range(L.ROW_TITLE, 0, L.ROW_TITLE, last, title, st.title)
    ws.set_row(L.ROW_TITLE, row_height((title, full * 0.6), minimum=30))

    r = L.ROW_UNIT
    ws.write_string(r, 0, L.LABEL_UNIT_CODE, st.label)
    _merge(ws, r, 1, r, 1, p.unit_code if p else "", st.text_center)
    ws.write_string(r, 2, L.LABEL_UNIT_NAME, st.label)
    _merge(ws, r, 3, r, 5, p.unit_name if p else "", st.text)
    ws.write_string(r, 6, L.LABEL_MONEY_UNIT, st.money_unit)
    ws.set_row(r, 22)

    r = L.ROW_CODE
    ws.write_string(r, 0, L.LABEL_CODE, st.label)
    _merge(ws, r, 1, r, 2, p.code if p else "", st.text)
    ws.write_string(r, 3, L.LABEL_NAME, st.label)
    _merge(ws, r, 4, r, last, p.name if p else "", st.text)
    ws.set_row(r, row_height((p.name if p else "", span(4, last)), (p.code if p else "", span(1, 2))))

    r = L.ROW_BUDGET
    ws.merge_range(r, 0, L.ROW_PURPOSE, 0, L.LABEL_FUNDS, st.label)
    for col, label, value in ((1, L.LABEL_BUDGET, p.budget if p else None),
                              (3, L.LABEL_FISCAL, p.fiscal if p else None),
                              (5, L.LABEL_OTHER, p.other if p else None)):
        ws.write_string(r, col, label, st.label)
        write_amount(ws, r, col + 1, value, st.money)
    ws.set_row(r, 24)
    purpose = p.purpose if p else ""
    _merge(ws, L.ROW_PURPOSE, 1, L.ROW_PURPOSE, last, purpose, st.text)
    ws.set_row(L.ROW_PURPOSE, row_height((purpose, span(1, last)), minimum=30))

    ws.merge_range(L.ROW_PLAN_HEAD, 0, L.ROW_PLAN, 0, L.LABEL_PLAN, st.label)
    for (c0, c1), q in zip(L.PLAN_SPANS, QUARTERS, strict=True):
        _merge(ws, L.ROW_PLAN_HEAD, c0, L.ROW_PLAN_HEAD, c1, q, st.label)
    plan = p.plan if p and p.plan else (None, None, None, None)
    for (c0, c1), pct in zip(L.PLAN_SPANS, plan, strict=True):
        _merge(ws, L.ROW_PLAN, c0, L.ROW_PLAN, c1, None, st.percent)
        if pct is not None:
            ws.write_number(L.ROW_PLAN, c0, float(pct / 100), st.percent)
    ws.data_validation(L.ROW_PLAN, 1, L.ROW_PLAN, last, {
        "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1,
        "error_type": "warning", "input_title": "累计支出比例",
        "input_message": "截至该月底累计支出占预算的比例,如 25%", "error_title": "比例应在 0–100% 之间",
        "error_message": "累计支出比例应在 0% 到 100% 之间。"})
    ws.data_validation(L.ROW_BUDGET, 2, L.ROW_BUDGET, last, {
        "validate": "decimal", "criteria": ">=", "value": 0, "error_type": "warning",
        "error_title": "金额", "error_message": "金额应为不小于 0 的数字(单位:元)。"})

    goals = p.goals if p else ""
    ws.write_string(L.ROW_GOALS, 0, L.LABEL_GOALS, st.label)
    _merge(ws, L.ROW_GOALS, 1, L.ROW_GOALS, last, goals, st.text)
    ws.set_row(L.ROW_GOALS, row_height((goals, span(1, last)), minimum=45))

    r = L.ROW_HEADER
    for col, h in zip((0, 1, 2, 3, 5, 6), L.INDICATOR_HEADERS, strict=True):
        if col == 3:
            ws.merge_range(r, 3, r, 4, h, st.header)
        else:
            ws.write_string(r, col, h, st.header)
    ws.set_row(r, 24)

    indicators: list[Indicator | None]
    if p and p.indicators:
        indicators = [*p.indicators, *[None] * L.SPARE_INDICATOR_ROWS]
    else:
        indicators = [Indicator(level1=l1, level2=l2) for l1, l2s in LEVELS.items() for l2 in l2s]
        indicators += [None] * (L.BLANK_INDICATOR_ROWS - len(indicators))
    first = L.FIRST_INDICATOR_ROW
    _indicator_rows(ws, st, first, indicators)
    end = first + len(indicators) - 1
    ws.data_validation(first, 0, end, 0, {
        "validate": "list", "source": list(L.LEVEL1_OPTIONS), "error_type": "stop",
        "error_title": "一级指标", "error_message": "请从下拉列表选择:产出指标、效益指标、满意度指标。"})
    col_a = f"$A${first + 1}:$A{first + 1}"
    ws.data_validation(first, 1, end, 1, {
        "validate": "list", "source": f'=INDIRECT(LOOKUP(2,1/({col_a}<>""),{col_a}))',
        "error_type": "stop", "error_title": "二级指标",
        "error_message": "二级指标应属于所选一级指标,请从下拉列表选择。"})
    ws.data_validation(first, 6, end, 6, {
        "validate": "list", "source": "=指标值确定依据", "error_type": "information",
        "error_title": "指标值确定依据", "error_message": "不在常用依据列表中,请确认。"})
    ws.merge_range(end + 2, 0, end + 2, last, "注:指标值写作「运算符 数值 单位」,如 ≥95%、≤80000元、=12个。",
                   st.note)

    ws.freeze_panes(L.ROW_CODE + 1, 0)
    print_setup(ws, end + 2, last, landscape=False)
    ws.repeat_rows(L.ROW_TITLE, L.ROW_UNIT)
    table = live.Table(L.ROW_HEADER + 1, end + 3, {
        f: L.column_letters(c) for f, c in L.INDICATOR_COLUMNS.items()})
    cells = p.cells if p and p.cells else L.PROJECT_CELLS
    ctx = live.context(cells, cfg or RulesConfig(), year=year, table=table)
    checks = live.sheet_checks(name, ctx, findings, started=p is not None)
    if live_checks:
        live_sheet(wb, ws, st, checks)
    ws.protect("", _PROTECTION)
    return checks


def live_sheet(wb: Workbook, ws: Worksheet, st: Styles, checks: live.SheetChecks) -> None:
    """Place a sheet's live checks (live.py): its hidden cells, its marks, its names."""
    for c in checks.cells:
        r, col = L.parse_a1(c.ref) or (0, 0)
        fmt = st.live if c.hidden else st.live_status
        if c.formula is None:
            ws.write_string(r, col, str(c.value), fmt)
        elif c.array:
            ws.write_array_formula(r, col, r, col, "{" + c.formula + "}", fmt, c.value)
        else:
            ws.write_formula(r, col, c.formula, fmt, c.value)
    for m in checks.marks:  # the mark's own formula, held once for every sheet (XlsxWriter
        # writes a formula criteria alike with or without its "=")
        ws.conditional_format(m.ref, {"type": "formula", "criteria": m.formula,
                                      "format": st.marks[m.severity]})
    ws.set_column(L.LIVE_COLUMN, L.LIVE_LAST_COLUMN, None, None, {"hidden": True})
    for name, ref in checks.names().items():
        wb.define_name(f"{live.F.quote_sheet(checks.sheet)}!{name}", ref)


def _indicator_rows(ws: Worksheet, st: Styles, first: int, rows: list[Indicator | None]) -> None:
    widths = L.COLUMN_WIDTHS
    r = first
    i = 0
    while i < len(rows):
        ind = rows[i]
        run = 1
        if ind and ind.level1:
            while i + run < len(rows) and (nxt := rows[i + run]) and nxt.level1 == ind.level1:
                run += 1
        _merge(ws, r, 0, r + run - 1, 0, ind.level1 if ind else "", st.text_center)
        for k in range(run):
            row = rows[i + k]
            rr = r + k
            ws.write_string(rr, 1, row.level2 if row else "", st.text_center)
            ws.write_string(rr, 2, row.level3 if row else "", st.text)
            _merge(ws, rr, 3, rr, 4, row.description if row else "", st.text)
            ws.write_string(rr, 5, row.value if row else "", st.text_center)
            ws.write_string(rr, 6, row.basis if row else "", st.text_center)
            if row:
                ws.set_row(rr, row_height((row.level3, widths[2]),
                                          (row.description, widths[3] + widths[4]),
                                          (row.value, widths[5]), (row.basis, widths[6]),
                                          (row.level2, widths[1]), minimum=22))
            else:
                ws.set_row(rr, 22)
        r += run
        i += run


def summary_placeholder(wb: Workbook, st: Styles) -> None:
    ws = wb.add_worksheet(L.SHEET_SUMMARY)
    ws.set_column(0, 0, 90)
    ws.write_string(0, 0, "汇总", st.title)
    ws.write_string(2, 0, "本表由 perfxl 汇总生成(perfxl summarize,或功能区「绩效目标 → 汇总」)。", st.note)


def lists_sheet(wb: Workbook, st: Styles) -> Worksheet:
    """Hidden lists behind the dropdowns; each 二级 list is a defined name equal to its 一级."""
    ws = wb.add_worksheet(L.SHEET_LISTS)
    ws.write_string(0, 0, "一级指标", st.plain)
    for r, l1 in enumerate(LEVELS, start=1):
        ws.write_string(r, 0, l1, st.plain)
    for c, (l1, l2s) in enumerate(LEVELS.items(), start=1):
        ws.write_string(0, c, l1, st.plain)
        for r, l2 in enumerate(l2s, start=1):
            ws.write_string(r, c, l2, st.plain)
        col = chr(65 + c)
        wb.define_name(l1, f"='{L.SHEET_LISTS}'!${col}$2:${col}${len(l2s) + 1}")
    c = len(LEVELS) + 1
    col = chr(65 + c)
    ws.write_string(0, c, "指标值确定依据", st.plain)
    for r, b in enumerate(L.BASIS_OPTIONS, start=1):
        ws.write_string(r, c, b, st.plain)
    wb.define_name("指标值确定依据", f"='{L.SHEET_LISTS}'!${col}$2:${col}${len(L.BASIS_OPTIONS) + 1}")
    ws.hide()
    return ws


# --- helpers -----------------------------------------------------------------------------------

_PROTECTION = {"format_columns": True, "format_rows": True, "insert_rows": True,
               "delete_rows": True, "select_locked_cells": True, "select_unlocked_cells": True}


def _merge(ws: Worksheet, r0: int, c0: int, r1: int, c1: int, value: str | None, fmt: Format) -> None:
    if (r0, c0) == (r1, c1):
        if value:
            ws.write_string(r0, c0, value, fmt)
        else:
            ws.write_blank(r0, c0, None, fmt)
    else:
        ws.merge_range(r0, c0, r1, c1, "", fmt)
        if value:
            ws.write_string(r0, c0, value, fmt)


def write_amount(ws: Worksheet, r: int, c: int, value: Decimal | None, fmt: Format) -> None:
    """An exact amount as a number cell (blank when there is none)."""
    if value is None:
        ws.write_blank(r, c, None, fmt)
    else:
        ws.write_number(r, c, float(value), fmt)


def print_setup(ws: Worksheet, last_row: int, last_col: int, *, landscape: bool) -> None:
    """A4, one page wide, centred, with the page footer: every form sheet perfxl writes."""
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.print_area(0, 0, last_row, last_col)
    ws.set_footer("&C第 &P 页,共 &N 页")


def _cn(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else str(n)
