"""The Excel ribbon's Python side: ``on_ribbon(id)`` runs what a 绩效目标 button asks for.

The VBA dispatcher (xlmacros/PerfxlRibbon.bas) calls ``on_ribbon`` through xlwings' RunPython
with the id of the button pressed. The book is the one the user has open in Excel
(``xw.Book.caller()``), so it is read and written *live*, through xlwings, not as a file: Excel
holds it open (and may hold unsaved edits), which is why the CLI's zip patching (perfxl.annotate)
cannot be used here. The user saves the book as usual.

Every button works on a small adapter (``Workbook``); ``XlwingsBook`` is the live book behind
the ribbon (xlwings is imported lazily, so the rest of perfxl runs where Excel does not). The
tests run the same buttons on files through an openpyxl adapter of their own.

The adapter reads each sheet as a grid (values and merged ranges) for the same reader, and places
what the CLI places (perfxl.marks, perfxl.live_sheets): each project sheet's live checks (hidden
formula cells, formula-driven conditional formats, names; replacing those of an earlier run),
conditional formats with perfxl's constant formulas for the findings no live check covers (so a
second run replaces them and the user's own fills stay), notes in the CLI's wording, the 校验结果
sheet with the live totals, a status and a hyperlink per finding, and the 汇总 sheet with
formulas that refer to the project sheets.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from . import layout as L
from . import live
from .errors import PerfxlError
from .findings import ERROR, WARNING, Finding, Report
from .forms import FORMS, MONITOR, SCORING, SELFEVAL
from .live_sheets import project_checks, targets
from .marks import (
    LIVE_ROW,
    MARK_COLOURS,
    MARK_FORMULAS,
    RESULT_COLUMNS,
    RESULT_HEADER_ROW,
    RESULT_SHEET,
    SUMMARY_ROW,
    anchor,
    cell_ref,
    is_live_mark,
    is_perfxl_note,
    live_totals,
    note_text,
    place,
    result_row,
    result_summary,
    status,
)
from .model import Department
from .read import Grid, department
from .styles import HEADER_FILL, MONEY, rgb
from .summary import Formula, Link, Value

__all__ = [
    "ACTIONS", "HELP", "MERGE", "NEW_PROJECT", "SUMMARIZE", "VALIDATE", "Formula", "Link",
    "SheetSpec", "Workbook", "XlwingsBook", "is_perfxl_note", "on_ribbon", "run",
]

VALIDATE = "perfxlValidate"
SUMMARIZE = "perfxlSummarize"
MERGE = "perfxlMerge"
NEW_PROJECT = "perfxlNewProject"
HELP = "perfxlHelp"

TITLE = "perfxl 绩效目标"


# --- what the adapters write -----------------------------------------------------------------

# Formula, Link and Value are summary.py's: the 汇总 table is built once, for both writers.


@dataclass
class SheetSpec:
    """A sheet perfxl writes whole: rows of values from A1, and a little formatting."""

    name: str
    rows: list[list[Value]]
    widths: Sequence[float] = ()
    header_row: int = 0            # 1-based; 0 = none. Bold on a light blue fill.
    bold_rows: Sequence[int] = ()  # 1-based
    money_cols: Sequence[int] = ()  # 1-based columns formatted #,##0.00
    tab_colour: tuple[int, int, int] | None = None


class Workbook(Protocol):
    """What the ribbon's actions need from a book; see XlwingsBook."""

    name: str

    def sheet_names(self) -> list[str]: ...
    def grid(self, sheet: str) -> Grid: ...
    def template_version(self) -> str | None: ...
    def clear_marks(self) -> None: ...
    def place_live(self, sheet: str, checks: live.SheetChecks | None) -> None: ...
    def set_names(self, names: dict[str, str], sheet: str | None = None) -> None: ...
    def sheets_with_name(self, name: str) -> list[str]: ...
    def mark(self, sheet: str, cells: dict[str, list[str]]) -> None: ...
    def add_note(self, sheet: str, cell: str, text: str) -> bool: ...
    def write_sheet(self, spec: SheetSpec, *, index: int) -> None: ...
    def activate(self, sheet: str) -> None: ...
    def add_project_sheet(self, template: Path, source: str, name: str, index: int) -> None: ...
    def pick_folder(self, title: str) -> Path | None: ...
    def ask(self, question: str) -> bool: ...
    def open_book(self, path: Path) -> None: ...
    def tell(self, message: str, *, alert: bool = False) -> None: ...
    def finish(self) -> None: ...


# --- the buttons -----------------------------------------------------------------------------

def on_ribbon(control_id: str) -> None:
    """Entry point of the ribbon's VBA dispatcher: run button ``control_id`` on the caller book."""
    import xlwings as xw

    run(control_id, XlwingsBook(xw.Book.caller()))


def run(control_id: str, book: Workbook) -> str:
    """Run one button on ``book``; returns (and tells the user) what happened.

    A PerfxlError becomes a message box; any other error goes to xlwings, which shows it.
    """
    action = ACTIONS.get(control_id)
    if action is None:
        message = f"未知的按钮: {control_id} (unknown button)"
        book.tell(message, alert=True)
        return message
    try:
        message = action(book)
        book.finish()
    except PerfxlError as e:
        message = f"错误: {e}"
        book.tell(message, alert=True)
        return message
    book.tell(message, alert=True)
    return message


def read(book: Workbook) -> Department:
    """The live book read as the CLI reads its file (the same refusal of a book that is not a
    performance-target workbook); of its custom properties, the template version."""
    grids = [book.grid(name) for name in book.sheet_names()]
    version = book.template_version()
    return department(grids, {} if version is None else {L.VERSION_PROPERTY: version}, book.name)


def rules_in_effect() -> Any:
    """The rules the command line would use without ``--rules`` (settings.rules_file)."""
    from .rules import load_config
    from .settings import rules_file

    return load_config(rules_file())


def validate(book: Workbook, config: Any = None) -> str:
    """校验: check the book, mark the cells, write 校验结果; the counts as a sentence."""
    from .validate import check

    book.tell("perfxl: 正在校验…")
    dept = read(book)
    config = config or rules_in_effect()
    report = check(dept, config, book=book.name)
    write_findings(book, report, dept, config)
    c = report.counts
    if not report.findings:
        return "校验通过:没有错误或警告。"
    return (f"校验完成:错误 {c[ERROR]} 项,警告 {c[WARNING]} 项 — "
            f"见「{RESULT_SHEET}」工作表(点击单元格地址可跳转)。")


def write_findings(book: Workbook, report: Report, dept: Department | None = None,
                   config: Any = None) -> None:
    """Replace perfxl's marks, notes, live checks and 校验结果 sheet with those of ``report``;
    with ``dept`` (the book as read) and the ``config`` it was checked with, each project sheet
    gets its live checks (perfxl.live_sheets), and the findings they cover no other mark."""
    names = book.sheet_names()
    located = locate(book, report.findings, names)
    book.clear_marks()
    checks: dict[str, live.SheetChecks] = {}
    if dept is not None:
        by_sheet: dict[str, list[Finding]] = {}
        for f in report.findings:
            by_sheet.setdefault(f.sheet, []).append(f)
        for p in list(targets(dept, names)):
            found = project_checks(dept, p, book.grid(p.sheet), config,
                                   by_sheet.get(p.sheet, ()))
            book.place_live(p.sheet, found)
            book.set_names({} if found is None else found.names(), p.sheet)
            if found is not None:
                checks[p.sheet] = found
    statuses: dict[int, str] = {}
    by_cell: dict[str, dict[str, list[Finding]]] = {}
    for i, (finding, sheet, cell) in enumerate(located):
        formula = checks[sheet].status(finding) if sheet in checks else None
        if formula is not None:
            statuses[i] = formula
        elif sheet and cell:
            by_cell.setdefault(sheet, {}).setdefault(cell, []).append(finding)
    for sheet, cells in by_cell.items():
        errors = [c for c, fs in cells.items() if any(f.severity == ERROR for f in fs)]
        warnings = [c for c in cells if c not in errors]
        book.mark(sheet, {ERROR: errors, WARNING: warnings})
        for cell, listed in cells.items():
            book.add_note(sheet, cell, note_text(listed, report.checked_at))
    intro = names.index(L.SHEET_GUIDE) + 1 if L.SHEET_GUIDE in names else 0
    if RESULT_SHEET in names and names.index(RESULT_SHEET) < intro:
        intro -= 1
    order = [n for n in names if n != RESULT_SHEET]
    order.insert(intro, RESULT_SHEET)
    having = set(book.sheets_with_name(live.NAME_ERRORS))
    checked = [n for n in order if n in checks or n in having]
    book.set_names(live.book_names(RESULT_SHEET) if checked else {})
    counts = (sum(c.errors for c in checks.values()), sum(c.warnings for c in checks.values()))
    book.write_sheet(result_sheet(report, located, statuses, counts if checked else None,
                                  live.book_totals(order, checked) if checked else None),
                     index=intro)
    book.activate(RESULT_SHEET)


def locate(book: Workbook, findings: Sequence[Finding],
           names: Sequence[str]) -> list[tuple[Finding, str, str]]:
    """(finding, sheet, cell) with the cell moved to its merged range's top-left; sheet and cell
    are empty when the book has no such sheet."""
    grids: dict[str, Grid] = {}
    out = []
    for f in findings:
        if not (f.sheet and f.cell and f.sheet in names and f.sheet != RESULT_SHEET):
            out.append((f, "", ""))
            continue
        if f.sheet not in grids:
            grids[f.sheet] = book.grid(f.sheet)
        pos = L.parse_a1(f.cell)
        if pos is None:
            out.append((f, "", ""))
            continue
        out.append((f, f.sheet, L.a1(*anchor(grids[f.sheet].merges, *pos))))
    return out


def result_sheet(report: Report, located: Sequence[tuple[Finding, str, str]],
                 statuses: dict[int, str] | None = None,
                 live_counts: tuple[int, int] | None = None,
                 totals: dict[str, str] | None = None) -> SheetSpec:
    """The 校验结果 sheet: as the CLI writes it (perfxl.annotate), the live totals (when the
    book has live checks) above the full check's line, one row per finding with its status."""
    summary = result_summary(report.findings, report.checked_at, report.book)
    rows: list[list[Value]] = [[RESULT_SHEET]]
    if live_counts is not None:
        formula, text = live_totals(*live_counts)
        row: list[Value] = [Formula(formula, text)]
        for (ref, total), value in zip((totals or {}).items(), live_counts, strict=False):
            col = (L.parse_a1(ref) or (0, 0))[1]  # the hidden cells the book's names refer to
            row += [None] * (col - len(row)) + [Formula(total, value)]
        rows.append(row)
    else:
        rows.append([])
    rows += [[summary.text], []]
    assert len(rows) == LIVE_ROW + 2 == SUMMARY_ROW + 1
    rows.append([name for name, _ in RESULT_COLUMNS])
    assert len(rows) == RESULT_HEADER_ROW
    for number, (f, sheet, cell) in enumerate(located, start=1):
        where: Value = Link(place(f, sheet, cell), sheet, cell) if sheet else place(f)
        state = status((statuses or {}).get(number - 1))
        shown: Value = state.text if state.formula is None else Formula(state.formula,
                                                                          state.text)
        rows.append([number, *result_row(f, where, shown)])
    return SheetSpec(RESULT_SHEET, rows, widths=[w for _, w in RESULT_COLUMNS],
                     header_row=RESULT_HEADER_ROW, bold_rows=(1, LIVE_ROW, SUMMARY_ROW),
                     tab_colour=rgb(summary.tab))


def summarize(book: Workbook, config: Any = None) -> str:
    """汇总: rebuild the 汇总 sheet (formulas into the project sheets) and report the totals."""
    from .consolidate import describe, totals
    from .validate import check
    from .values import fmt_amount

    book.tell("perfxl: 正在汇总…")
    dept = read(book)
    from .pipeline import targets_only

    targets_only(dept, Path(book.name), "汇总", "summarized")  # a monitoring or scoring book
    if dept.form == SELFEVAL:  # its 汇总 is formulas already: scores, 排名, unit and department
        return ("绩效自评工作簿的汇总表随输入自动更新(得分、排名、单位和部门得分均为公式);"
                "按最新得分重新排列项目请运行 perfxl summarize (the 汇总 of a self-evaluation "
                "book updates itself; perfxl summarize re-orders it by the latest scores).")
    if not dept.projects:
        raise PerfxlError("工作簿中没有项目支出绩效目标表,无法汇总", "no project tables to summarize")
    report = check(dept, config or rules_in_effect(), book=book.name)
    t = totals(dept)
    names = book.sheet_names()
    if L.SHEET_SUMMARY in names:
        index = names.index(L.SHEET_SUMMARY)
    else:
        index = max(names.index(p.sheet) for p in dept.projects) + 1
    book.write_sheet(summary_sheet(dept, t, report, ours=dept.template_version is not None),
                     index=index)
    book.activate(L.SHEET_SUMMARY)
    message = (f"汇总完成:{len(dept.projects)} 个项目,合计 {fmt_amount(t.total)} 元。")
    if t.department:
        message += "\n" + describe(t.department, dept)[0]
    return message


def summary_sheet(dept: Department, t: Any, report: Report | None, *, ours: bool) -> SheetSpec:
    """The 汇总 of summary.py (the same table: values, formulas into the project sheets,
    subtotals, reconciliation) as a SheetSpec for the live book; Excel computes the formulas."""
    from .summary import FIRST_ROW, HEADERS, WIDTHS, table

    rows: list[list[Value]] = [[f"{dept.year or ''}年{dept.name}项目支出绩效目标汇总表"],
                               ["单位:元"], [], list(HEADERS)]
    assert len(rows) == FIRST_ROW
    bold = [1, FIRST_ROW]
    for row in table(dept, t, report, ours=ours):
        rows.append(list(row.cells))
        if row.kind in ("subtotal", "total", "section"):
            bold.append(len(rows))
    return SheetSpec(L.SHEET_SUMMARY, rows, widths=WIDTHS, header_row=FIRST_ROW,
                     bold_rows=bold, money_cols=range(6, 13))


def merge(book: Workbook) -> str:
    """合并: merge the books of a folder the user picks into a new book beside it, and open it."""
    from .merge import MergeConflict
    from .pipeline import merge as merge_books

    folder = book.pick_folder("选择存放各单位报送工作簿的文件夹")
    if folder is None:
        return "已取消合并。"
    out = _free_path(folder.parent / f"{folder.name}_合并.xlsx")
    book.tell(f"perfxl: 正在合并 {folder} …")
    try:
        result = merge_books([folder], out, config=rules_in_effect())
    except MergeConflict as e:
        if not book.ask(f"{e.zh}\n\n按修改时间取较新的版本继续合并吗?"):
            return "合并已停止:同一项目在两个文件中内容不同。"
        result = merge_books([folder], out, on_conflict="newest", config=rules_in_effect())
    book.open_book(out)
    read_ok = sum(1 for s in result.sources if s.dept is not None and not s.error)
    message = (f"合并完成:{len(result.sources)} 个文件中 {read_ok} 个已合并,"
               f"{len(result.dept.projects)} 个项目 → {out}")
    if not result.complete:
        message += "\n有文件未能合并,原因见「来源」工作表。"
    return message


def _free_path(path: Path) -> Path:
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    return candidate


def new_project(book: Workbook) -> str:
    """新建项目: a blank project sheet from the template, after the last project sheet."""
    from .template import write_book

    dept = read(book)
    if dept.form in FOLLOW_UP:  # its sheets are carried from a targets book
        zh, en = FORMS[dept.form]
        raise PerfxlError(f"这是{zh}工作簿:请在预算绩效目标工作簿中新增项目,再重新生成本工作簿",
                          f"this is a {en} book: add the project to the targets book, then "
                          "write this book again")
    names = book.sheet_names()
    seq = max([p.seq for p in dept.projects] + [0]) + 1
    name = L.project_sheet_name(seq, "项目名称", {n.casefold() for n in names})
    sheets = [p.sheet for p in dept.projects if p.sheet in names]
    if sheets:
        index = max(names.index(s) for s in sheets) + 1
    elif L.SHEET_SUMMARY in names:
        index = names.index(L.SHEET_SUMMARY)
    else:
        index = len(names)
    with tempfile.TemporaryDirectory(prefix="perfxl-new-") as tmp:
        template = Path(tmp) / "template.xlsx"
        write_book(template)
        book.add_project_sheet(template, _BLANK_PROJECT_SHEET, name, index)
    book.activate(name)
    return f"已新增项目表「{name}」:请填写项目编码、名称、预算和绩效指标。"


FOLLOW_UP = (SELFEVAL, MONITOR, SCORING)
"""The books of the year after the targets: carried from a targets book, never given a project."""
_BLANK_PROJECT_SHEET = "1.项目名称"  # the project sheet of the blank template (template.build)


def show_help(book: Workbook, opener: Callable[[str], Any] | None = None) -> str:
    """帮助: open the README's section on the ribbon (as a local HTML page) in the browser."""
    import html
    import webbrowser

    text = help_text()
    from .files import write_bytes

    page = Path(tempfile.mkdtemp(prefix="perfxl-help-")) / "perfxl-help.html"  # a folder of its own
    write_bytes(page, ("<!doctype html><meta charset='utf-8'><title>perfxl 帮助</title>"
                       "<pre style='white-space:pre-wrap;font-family:sans-serif;max-width:60em'>"
                       f"{html.escape(text)}</pre>").encode())
    (opener or webbrowser.open)(page.as_uri())
    return f"已在浏览器中打开使用说明:{page}"


HELP_SECTION = "## Excel ribbon (Windows)"


def help_text() -> str:
    """The README's ribbon section: from the installed package's metadata (the README is its long
    description), or the README beside the package in a source checkout."""
    from importlib import metadata

    readme = ""
    with contextlib.suppress(metadata.PackageNotFoundError):
        readme = metadata.metadata("perfxl").get_payload() or ""  # type: ignore[attr-defined]
    if HELP_SECTION not in readme:
        local = Path(__file__).resolve().parents[1] / "README.md"
        if local.is_file():
            readme = local.read_text(encoding="utf-8")
    if HELP_SECTION not in readme:
        return "perfxl: 见 README.md「Excel ribbon (Windows)」一节。"
    section = readme[readme.index(HELP_SECTION):]
    nxt = section.find("\n## ", len(HELP_SECTION))
    return section if nxt < 0 else section[:nxt]


ACTIONS: dict[str, Callable[[Workbook], str]] = {
    VALIDATE: validate,
    SUMMARIZE: summarize,
    MERGE: merge,
    NEW_PROJECT: new_project,
    HELP: show_help,
}


# --- xlwings: the live book --------------------------------------------------------------------

_XL_EXPRESSION = 2          # XlFormatConditionType.xlExpression
_XL_PART = 2                # XlLookAt.xlPart
_PERMISSIONS = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
                "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
                "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
                "AllowUsingPivotTables")
"""The permissions of a protected sheet (Worksheet.Protection), kept when perfxl protects it
again."""
_FOLDER_PICKER = 4          # MsoFileDialogType.msoFileDialogFolderPicker


def _bgr(rgb: tuple[int, int, int]) -> int:
    """Excel's COM colour number for an RGB triple."""
    return rgb[0] + (rgb[1] << 8) + (rgb[2] << 16)


def _delete_conditions(sheet: Any, ours: Callable[[str], bool]) -> None:
    """Delete the sheet's conditional formats whose formula ``ours`` recognises."""
    conditions = sheet.api.Cells.FormatConditions
    for i in range(int(conditions.Count), 0, -1):
        condition = conditions.Item(i)
        try:
            formula = str(condition.Formula1)
        except Exception:  # data bars, colour scales: no Formula1
            continue
        if ours(formula):
            condition.Delete()


class XlwingsBook:
    """The open book behind the ribbon, through xlwings (``xw.Book.caller()``)."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.app = book.app
        self.name = str(book.name)
        self._grids: dict[str, Grid] = {}

    def sheet_names(self) -> list[str]:
        return [str(s.name) for s in self.book.sheets]

    def grid(self, sheet: str) -> Grid:
        if sheet not in self._grids:
            self._grids[sheet] = self._read_grid(self.book.sheets[sheet])
        return self._grids[sheet]

    def _read_grid(self, sheet: Any) -> Grid:
        last = sheet.used_range.last_cell
        rows_n, cols_n = int(last.row), int(last.column)
        block = sheet.range((1, 1), (rows_n, cols_n)).options(ndim=2).value or [[]]
        rows = [list(r) for r in block]
        merges: list[tuple[int, int, int, int]] = []
        covered: set[tuple[int, int]] = set()
        for r in range(1, rows_n + 1):
            if sheet.range((r, 1), (r, cols_n)).merge_cells is False:
                continue  # one call per row; only rows with merged cells are looked at closely
            for c in range(1, cols_n + 1):
                if (r, c) in covered:
                    continue
                cell = sheet.range((r, c))
                if not cell.merge_cells:
                    continue
                area = cell.merge_area
                r0, c0 = int(area.row), int(area.column)
                h, w = area.shape
                merges.append((r0 - 1, c0 - 1, r0 + h - 2, c0 + w - 2))
                covered.update((rr, cc) for rr in range(r0, r0 + h) for cc in range(c0, c0 + w))
        return Grid(str(sheet.name), rows, merges, hidden=not sheet.visible)

    def template_version(self) -> str | None:
        try:
            value = self.book.api.CustomDocumentProperties.Item(L.VERSION_PROPERTY).Value
        except Exception:  # no such property (COM raises its own error types)
            return None
        return str(value) if value else None

    def clear_marks(self) -> None:
        for sheet in self.book.sheets:
            _delete_conditions(sheet, lambda f: f.lstrip("=") in MARK_FORMULAS.values())
            for note in list(sheet.notes):
                if is_perfxl_note(note.text, note.author):
                    note.delete()

    def place_live(self, sheet: str, checks: live.SheetChecks | None) -> None:
        """Replace the sheet's live checks: perfxl's live marks (told by their formulas), its
        live cells (when AQ2 holds a rule's code) and status line, then ``checks``'s."""
        ws = self.book.sheets[sheet]
        with self._unprotected(ws):
            _delete_conditions(ws, is_live_mark)
            marker = ws.range((2, L.FIRST_TEST_COLUMN + 1)).value
            if isinstance(marker, str) and marker.startswith("PX"):
                last = int(ws.used_range.last_cell.column)
                ws.range((1, L.LIVE_COLUMN + 1), (L.LIVE_ROWS, last)).clear_contents()
                block = ws.range((1, 1), (1, min(last, L.LIVE_COLUMN))).options(ndim=2).value
                for c, value in enumerate(block[0] if block else [], start=1):
                    if isinstance(value, str) and value.startswith(L.STATUS_TITLE):
                        ws.range((1, c)).clear_contents()
            self._grids.pop(sheet, None)
            if checks is None:
                return
            for cell in checks.cells:
                rng = ws.range(cell.ref)
                if cell.formula is None:
                    rng.value = "'" + str(cell.value)
                elif cell.array:
                    skeleton, parts = formula_parts(cell.formula)
                    rng.api.FormulaArray = skeleton
                    for token, text in reversed(parts):
                        rng.api.Replace(What=token, Replacement=text, LookAt=_XL_PART)
                else:
                    rng.value = cell.formula
                rng.api.Locked = True
                rng.api.FormulaHidden = True
                if not cell.hidden:
                    rng.font.bold = True
            ws.range((1, L.LIVE_COLUMN + 1),
                     (1, L.LIVE_LAST_COLUMN + 1)).api.EntireColumn.Hidden = True
            for m in checks.marks:
                # Excel reads a conditional format's relative references from the active
                # cell: make it the range's top-left, where the formula is written from
                ws.activate()
                ws.range(m.ref.split(":")[0]).select()
                font, fill = (rgb(colour) for colour in MARK_COLOURS[m.severity])
                condition = ws.range(m.ref).api.FormatConditions.Add(
                    Type=_XL_EXPRESSION, Formula1="=" + m.formula)
                condition.Interior.Color = _bgr(fill)
                condition.Font.Color = _bgr(font)

    def set_names(self, names: dict[str, str], sheet: str | None = None) -> None:
        """perfxl's live names of ``sheet`` (None: the book's) become ``names``."""
        scope = self.book.sheets[sheet].api if sheet is not None else self.book.api
        for name in (live.NAME_ERRORS, live.NAME_WARNINGS):
            if name in names:
                scope.Names.Add(Name=name, RefersTo=names[name])  # redefines one there
                continue
            with contextlib.suppress(Exception):  # COM raises when there is none
                scope.Names.Item(name).Delete()

    def sheets_with_name(self, name: str) -> list[str]:
        out = []
        for ws in self.book.sheets:
            with contextlib.suppress(Exception):  # COM raises when there is none
                ws.api.Names.Item(name)
                out.append(str(ws.name))
        return out

    def mark(self, sheet: str, cells: dict[str, list[str]]) -> None:
        ws = self.book.sheets[sheet]
        with self._unprotected(ws):
            for severity, addresses in cells.items():
                font, fill = (rgb(colour) for colour in MARK_COLOURS[severity])
                for chunk in _address_chunks(addresses):
                    condition = ws.range(chunk).api.FormatConditions.Add(
                        Type=_XL_EXPRESSION, Formula1="=" + MARK_FORMULAS[severity])
                    condition.Interior.Color = _bgr(fill)
                    condition.Font.Color = _bgr(font)

    def add_note(self, sheet: str, cell: str, text: str) -> bool:
        ws = self.book.sheets[sheet]
        rng = ws.range(cell)
        if rng.note is not None:  # the user's own note stays; the cell is still marked
            return False
        # Excel signs a new note with Application.UserName: sign it perfxl, as the CLI does.
        user = self.app.api.UserName
        self.app.api.UserName = "perfxl"
        try:
            with self._unprotected(ws):
                rng.add_note(text)
        finally:
            self.app.api.UserName = user
        return True

    @contextlib.contextmanager
    def _unprotected(self, ws: Any) -> Iterator[None]:
        """A sheet protected without a password (as our template's are) unprotected while
        perfxl writes to it, then protected again with the same permissions."""
        api = ws.api
        if not api.ProtectContents:
            yield
            return
        p = api.Protection
        allowed = {k: getattr(p, k) for k in _PERMISSIONS}
        try:
            api.Unprotect("")
        except Exception:  # a password: COM's own error
            raise PerfxlError(f"工作表「{ws.name}」受密码保护,请先撤销保护再校验",
                              f"sheet {ws.name} is protected with a password; unprotect it "
                              "first") from None
        try:
            yield
        finally:
            api.Protect("", DrawingObjects=True, Contents=True, Scenarios=True, **allowed)

    def write_sheet(self, spec: SheetSpec, *, index: int) -> None:
        names = self.sheet_names()
        with self._alerts_off():
            if spec.name in names:
                self.book.sheets[spec.name].delete()
                names.remove(spec.name)
            if index < len(names):
                ws = self.book.sheets.add(spec.name, before=self.book.sheets[names[index]])
            else:
                ws = self.book.sheets.add(spec.name, after=self.book.sheets[names[-1]])
        self._grids.pop(spec.name, None)
        width = max((len(r) for r in spec.rows), default=0)
        block = [[self._cell(v) for v in r] + [None] * (width - len(r)) for r in spec.rows]
        if block and width:
            ws.range((1, 1)).value = block
        for i, w in enumerate(spec.widths, start=1):
            ws.range((1, i)).column_width = w
        if spec.header_row and width:
            header = ws.range((spec.header_row, 1), (spec.header_row, width))
            header.font.bold = True
            header.color = rgb(HEADER_FILL)
        for r in spec.bold_rows:
            ws.range((r, 1), (r, max(width, 1))).font.bold = True
        for c in spec.money_cols:
            if len(spec.rows) > 1:
                ws.range((1, c), (len(spec.rows), c)).number_format = MONEY
        for r, row in enumerate(spec.rows, start=1):
            for c, v in enumerate(row, start=1):
                if isinstance(v, Link):
                    ws.range((r, c)).add_hyperlink(f"#{cell_ref(v.sheet, v.cell)}", v.text,
                                                   f"转到 {v.sheet}!{v.cell}")
        if spec.tab_colour is not None:
            ws.api.Tab.Color = _bgr(spec.tab_colour)

    @staticmethod
    def _cell(value: Value) -> Any:
        """What to assign through COM: Excel parses assigned strings as if typed, so text gets
        the apostrophe prefix (``'630001`` stays text, ``'=x`` is not a formula)."""
        if isinstance(value, Formula):
            return value.text
        if isinstance(value, Link):
            return "'" + value.text
        if isinstance(value, str):
            return "'" + value if value else None
        if isinstance(value, Decimal):
            return float(value)
        return value

    def activate(self, sheet: str) -> None:
        self.book.sheets[sheet].activate()

    def add_project_sheet(self, template: Path, source: str, name: str, index: int) -> None:
        names = self.sheet_names()
        src = self.app.books.open(str(template))
        try:
            sheet = src.sheets[source]
            # The sheet's dropdowns use the template's names (产出指标 …); without alerts Excel
            # keeps the book's own names of the same name instead of asking once per name.
            with self._alerts_off():
                if index < len(names):
                    sheet.copy(before=self.book.sheets[names[index]], name=name)
                else:
                    sheet.copy(after=self.book.sheets[names[-1]], name=name)
        finally:
            src.close()
        self._grids.clear()

    def pick_folder(self, title: str) -> Path | None:
        dialog = self.app.api.FileDialog(_FOLDER_PICKER)
        dialog.Title = title
        if dialog.Show() != -1:
            return None
        return Path(str(dialog.SelectedItems(1)))

    def ask(self, question: str) -> bool:
        return bool(self.app.alert(question, title=TITLE, buttons="yes_no") == "yes")

    def open_book(self, path: Path) -> None:
        self.app.books.open(str(path))

    def tell(self, message: str, *, alert: bool = False) -> None:
        self.app.status_bar = message.splitlines()[0] if message else False
        if alert:
            self.app.alert(message, title=TITLE)
            self.app.status_bar = False

    def finish(self) -> None:
        """Nothing to save: the book stays open in Excel and the user saves it."""

    @contextlib.contextmanager
    def _alerts_off(self) -> Iterator[None]:
        before = self.app.display_alerts
        self.app.display_alerts = False
        try:
            yield
        finally:
            self.app.display_alerts = before


COM_TEXT = 255
"""Characters Excel takes through COM for an array formula (Range.FormulaArray) and for the
text of a Range.Replace."""
_PART = "PERFXL{}X()"


def formula_parts(formula: str, limit: int = COM_TEXT) -> tuple[str, list[tuple[str, str]]]:
    """A formula longer than ``limit`` as a short skeleton and the parts that replace its
    placeholders, last first (Excel's way to enter a long array formula: assign the skeleton,
    then Range.Replace each placeholder, a call of an unknown function, by its text, which
    may hold earlier placeholders). A placeholder stands for what is inside a pair of
    parentheses, or for a run of the terms (joined by ``+`` or ``*``, not a function's
    arguments) inside one, so that each step is a formula Excel can parse. Each piece is at most ``limit`` characters."""
    parts: list[tuple[str, str]] = []
    text = formula
    while len(text) > limit:
        token = _PART.format(len(parts) + 1)
        spans = _groups(text)
        fits = [(a, b) for a, b in spans if len(token) < b - a <= limit]
        if fits:
            start, end = max(fits, key=lambda ab: ab[1] - ab[0])
        else:  # every group is too long or too short: a run of the terms of the longest
            found = None
            for a, b in sorted(spans, key=lambda ab: ab[0] - ab[1]):
                found = _run(text, a, b, limit, len(token))
                if found:
                    break
            if found is None:
                raise PerfxlError("公式过长,无法写入工作表",
                                  f"a formula too long to enter: {formula[:60]}…")
            start, end = found
        parts.append((token, text[start:end]))
        text = text[:start] + token + text[end:]
    return text, parts


def _groups(formula: str) -> list[tuple[int, int]]:
    """(start, end) of the text inside each pair of parentheses, strings skipped; the whole
    formula after ``=`` last."""
    out, open_at, quoted = [], [], False
    for i, ch in enumerate(formula):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            open_at.append(i + 1)
        elif ch == ")" and open_at:
            out.append((open_at.pop(), i))
    if formula.startswith("="):
        out.append((1, len(formula)))
    return out


def _run(text: str, start: int, end: int, limit: int, token: int) -> tuple[int, int] | None:
    """The longest run of whole terms inside ``text[start:end]`` (at its own depth) that is at
    most ``limit`` long and longer than a placeholder."""
    terms, depth, quoted, at = [], 0, False, start
    for i in range(start, end):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif depth == 0 and ch in "+*" and not (ch == "+" and text[i - 1] in "Ee"
                                                 and text[i - 2].isdigit()):
            terms.append((at, i))
            at = i + 1
    terms.append((at, end))
    best = None
    for i, (a, _) in enumerate(terms):
        for _, b in terms[i + 1:]:
            if b - a > limit:
                break
            if b - a > token and (best is None or b - a > best[1] - best[0]):
                best = (a, b)
    return best


def _address_chunks(addresses: Sequence[str], limit: int = 240) -> list[str]:
    """``B3,C4,…`` strings under COM's 255-character limit for a range address."""
    out: list[str] = []
    current = ""
    for address in addresses:
        candidate = f"{current},{address}" if current else address
        if len(candidate) > limit and current:
            out.append(current)
            candidate = address
        current = candidate
    if current:
        out.append(current)
    return out
