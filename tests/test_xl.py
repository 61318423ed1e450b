"""The ribbon's Python side (perfxl.xl): the buttons on real files through the tests' openpyxl
adapter (openpyxl_book.py), and the xlwings adapter against a stand-in of the few xlwings calls
it makes.

The stand-in (``FakeBook`` and friends) is the only one the project allows: Excel does not run
here. It models exactly what XlwingsBook uses — sheets, used range, values (assigned strings are
parsed as Excel parses typed input), merged areas, notes signed with Application.UserName,
conditional formats, hyperlinks, sheets.add/delete/copy, books.open, the folder dialog, alerts
and the status bar — and is loaded from real .xlsx files, so both adapters run on the same books
and must agree.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl_book import OpenpyxlBook

from perfxl import live, marks, xl
from perfxl.layout import LIVE_LAST_COLUMN
from perfxl.live_sheets import book_checks
from perfxl.marks import AUTHOR, ERROR_FORMULA, RESULT_SHEET, WARNING_FORMULA
from perfxl.read import department, read_book, read_grids
from perfxl.validate import validate_book

# --- the xlwings stand-in -------------------------------------------------------------------------

Pos = tuple[int, int]
_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def _pos(ref: str) -> Pos:
    m = _A1.match(ref.strip().upper())
    assert m, ref
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _typed(value: Any) -> tuple[Any, str | None]:
    """(value, formula) as Excel stores what COM assigns: strings are parsed like typed input."""
    if not isinstance(value, str):
        return value, None
    if value.startswith("'"):
        return value[1:], None
    if value.startswith("="):
        return None, value
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", value):
        return float(value), None
    return value, None


class FakeNote:
    def __init__(self, sheet: FakeSheet, pos: Pos, text: str, author: str) -> None:
        self.sheet, self.pos, self.text, self.author = sheet, pos, text, author

    def delete(self) -> None:
        del self.sheet.notes_at[self.pos]


class _Obj:
    """A COM-like object with settable attributes."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


class FakeCondition:
    def __init__(self, sheet: FakeSheet, cells: set[Pos], formula: str) -> None:
        self.sheet, self.cells, self.Formula1 = sheet, cells, formula
        self.Interior, self.Font = _Obj(Color=None), _Obj(Color=None)

    def Delete(self) -> None:
        self.sheet.conditions.remove(self)


class FakeNames:
    """Worksheet.Names / Workbook.Names: Add redefines a name of the same scope."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names: dict[str, str] = dict(names or {})

    def Add(self, Name: str, RefersTo: str) -> None:
        self.names[Name] = RefersTo if RefersTo.startswith("=") else "=" + RefersTo

    def Item(self, name: str) -> _Obj:
        if name not in self.names:
            raise KeyError(name)  # COM raises com_error
        return _Obj(Name=name, RefersTo=self.names[name], Delete=lambda: self.names.pop(name))


class FakeProtection:
    """Worksheet.api's protection: Excel refuses to change a protected sheet's cells, formats
    and notes (error 1004); perfxl unprotects our template's sheets (no password) and protects
    them again."""

    def __init__(self, sheet: FakeSheet, protected: bool) -> None:
        self.sheet, self.ProtectContents = sheet, protected
        self.Protection = _Obj(**{k: True for k in xl._PERMISSIONS})
        self.Cells = _Obj(FormatConditions=_Conditions(sheet))
        self.Tab = _Obj(Color=None)
        self.Names = FakeNames()

    def Unprotect(self, password: str = "") -> None:
        assert password == ""
        self.ProtectContents = False

    def Protect(self, password: str = "", **options: Any) -> None:
        assert options.get("Contents") is True
        self.ProtectContents = True


def _writable(sheet: FakeSheet) -> None:
    assert not sheet.api.ProtectContents, f"{sheet.name} is protected"


class _RangeApi:
    """Range.api: conditional formats, array formulas, cell protection, whole columns."""

    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng
        self.FormatConditions = _Conditions(rng.sheet, rng.cells())
        self.Replace = lambda **kw: _replace(rng, **kw)
        rng_sheet = rng.sheet

        class _Columns:
            def __setattr__(self, key: str, value: Any) -> None:
                assert key == "Hidden"
                _writable(rng_sheet)
                for _r, c in rng.cells():
                    rng_sheet.hidden_columns.add(c) if value else \
                        rng_sheet.hidden_columns.discard(c)

        self.EntireColumn = _Columns()

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_") or key in ("FormatConditions", "EntireColumn", "Replace"):
            object.__setattr__(self, key, value)
            return
        _writable(self._rng.sheet)
        if key == "FormulaArray":
            assert len(value) <= 255, "Excel takes an array formula of 255 characters at most"
            for pos in self._rng.cells():
                self._rng.sheet.values.pop(pos, None)
                self._rng.sheet.formulas[pos] = "{" + value + "}"
        else:  # Locked, FormulaHidden
            self._rng._set_format(key, value)


def _replace(rng: FakeRange, What: str, Replacement: str, LookAt: int) -> None:
    """Range.Replace on formulas (an array formula stays one): at most 255 characters."""
    assert LookAt == 2 and len(What) <= 255 and len(Replacement) <= 255
    _writable(rng.sheet)
    for pos in rng.cells():
        if pos in rng.sheet.formulas:
            rng.sheet.formulas[pos] = rng.sheet.formulas[pos].replace(What, Replacement)


class _Conditions:
    def __init__(self, sheet: FakeSheet, cells: set[Pos] | None = None) -> None:
        self.sheet, self.cells = sheet, cells

    @property
    def Count(self) -> int:
        return len(self.sheet.conditions)

    def Item(self, i: int) -> FakeCondition:
        return self.sheet.conditions[i - 1]

    def Add(self, Type: int, Formula1: str) -> FakeCondition:
        assert Type == 2 and self.cells
        _writable(self.sheet)
        condition = FakeCondition(self.sheet, set(self.cells), Formula1)
        self.sheet.conditions.append(condition)
        return condition


class FakeRange:
    def __init__(self, sheet: FakeSheet, areas: list[tuple[int, int, int, int]]) -> None:
        self.sheet, self.areas = sheet, areas
        self.row, self.column = areas[0][0], areas[0][1]
        self.shape = (areas[0][2] - areas[0][0] + 1, areas[0][3] - areas[0][1] + 1)
        self.api = _RangeApi(self)
        self.font = _FontProxy(self)

    def cells(self) -> set[Pos]:
        return {(r, c) for r0, c0, r1, c1 in self.areas
                for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}

    @property
    def last_cell(self) -> FakeRange:
        r1, c1 = self.areas[0][2:]
        return FakeRange(self.sheet, [(r1, c1, r1, c1)])

    def options(self, ndim: int | None = None) -> FakeRange:
        assert ndim == 2
        return self

    @property
    def value(self) -> list[list[Any]]:
        r0, c0, r1, c1 = self.areas[0]
        return [[self.sheet.values.get((r, c)) for c in range(c0, c1 + 1)]
                for r in range(r0, r1 + 1)]

    @value.setter
    def value(self, block: Any) -> None:
        rows = block if isinstance(block, list) and block and isinstance(block[0], list) \
            else [[block]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                _writable(self.sheet)
                pos = (self.row + i, self.column + j)
                value, formula = _typed(v)
                self.sheet.values.pop(pos, None)
                self.sheet.formulas.pop(pos, None)
                if formula is not None:
                    self.sheet.formulas[pos] = formula
                elif value is not None:
                    self.sheet.values[pos] = value

    @property
    def merge_cells(self) -> bool | None:
        merged = [any(m[0] <= r <= m[2] and m[1] <= c <= m[3] for m in self.sheet.merges)
                  for r, c in self.cells()]
        return True if all(merged) else (False if not any(merged) else None)

    @property
    def merge_area(self) -> FakeRange:
        r, c = self.row, self.column
        for m in self.sheet.merges:
            if m[0] <= r <= m[2] and m[1] <= c <= m[3]:
                return FakeRange(self.sheet, [m])
        return self

    @property
    def note(self) -> FakeNote | None:
        return self.sheet.notes_at.get((self.row, self.column))

    def select(self) -> None:
        assert self.sheet.book.active == self.sheet.name  # Excel selects on the active sheet
        self.sheet.selected = (self.row, self.column)

    def clear_contents(self) -> None:
        _writable(self.sheet)
        for pos in self.cells():
            self.sheet.values.pop(pos, None)
            self.sheet.formulas.pop(pos, None)

    def add_note(self, text: str) -> FakeNote:
        _writable(self.sheet)
        author = self.sheet.book.app.api.UserName
        note = FakeNote(self.sheet, (self.row, self.column), text, author)
        self.sheet.notes_at[(self.row, self.column)] = note
        return note

    def add_hyperlink(self, address: str, text_to_display: str | None = None,
                      screen_tip: str | None = None) -> None:
        self.sheet.links[(self.row, self.column)] = (address, text_to_display)

    def _set_format(self, key: str, value: Any) -> None:
        for pos in self.cells():
            self.sheet.formats.setdefault(pos, {})[key] = value

    column_width = property(lambda self: None,
                            lambda self, w: self.sheet.widths.__setitem__(self.column, w))
    color = property(lambda self: None, lambda self, v: self._set_format("color", v))
    number_format = property(lambda self: None,
                             lambda self, v: self._set_format("number_format", v))


class _FontProxy:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    bold = property(lambda self: None, lambda self, v: self._rng._set_format("bold", v))


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book, self.name, self.visible = book, name, True
        self.values: dict[Pos, Any] = {}
        self.formulas: dict[Pos, str] = {}
        self.merges: list[tuple[int, int, int, int]] = []
        self.notes_at: dict[Pos, FakeNote] = {}
        self.conditions: list[FakeCondition] = []
        self.links: dict[Pos, tuple[str, str | None]] = {}
        self.formats: dict[Pos, dict[str, Any]] = {}
        self.widths: dict[int, float] = {}
        self.hidden_columns: set[int] = set()
        self.selected: Pos | None = None
        self.api = FakeProtection(self, False)

    def range(self, a: Any, b: Any = None) -> FakeRange:
        if isinstance(a, tuple):
            end = b if b is not None else a
            return FakeRange(self, [(a[0], a[1], end[0], end[1])])
        areas = []
        for part in a.split(","):
            first, _, last = part.partition(":")
            (r0, c0), (r1, c1) = _pos(first), _pos(last or first)
            areas.append((r0, c0, r1, c1))
        return FakeRange(self, areas)

    @property
    def used_range(self) -> FakeRange:
        cells = set(self.values) | set(self.formulas)
        cells |= {(m[2], m[3]) for m in self.merges} | {(m[0], m[1]) for m in self.merges}
        if not cells:
            return self.range((1, 1))
        return FakeRange(self, [(min(r for r, _ in cells), min(c for _, c in cells),
                                 max(r for r, _ in cells), max(c for _, c in cells))])

    @property
    def notes(self) -> list[FakeNote]:
        return list(self.notes_at.values())

    def delete(self) -> None:
        assert self.book.app.display_alerts is False  # Excel would ask otherwise
        self.book.sheets.items.remove(self)

    def activate(self) -> None:
        self.book.active = self.name

    def copy(self, before: FakeSheet | None = None, after: FakeSheet | None = None,
             name: str | None = None) -> FakeSheet:
        target = (before or after)
        assert target is not None
        assert target.book.app.display_alerts is False  # Excel asks about duplicate names
        clone = FakeSheet(target.book, name or self.name)
        clone.values, clone.merges = dict(self.values), list(self.merges)
        items = target.book.sheets.items
        items.insert(items.index(target) + (0 if before is not None else 1), clone)
        return clone


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book = book
        self.items: list[FakeSheet] = []

    def __iter__(self) -> Any:
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: str | int) -> FakeSheet:
        if isinstance(key, int):
            return self.items[key]
        return next(s for s in self.items if s.name == key)

    def add(self, name: str, before: FakeSheet | None = None,
            after: FakeSheet | None = None) -> FakeSheet:
        assert name not in [s.name for s in self.items]
        sheet = FakeSheet(self.book, name)
        if before is not None:
            self.items.insert(self.items.index(before), sheet)
        elif after is not None:
            self.items.insert(self.items.index(after) + 1, sheet)
        else:
            self.items.insert(0, sheet)
        return sheet


class FakeProperties:
    def __init__(self, props: dict[str, str]) -> None:
        self.props = props

    def Item(self, name: str) -> Any:
        if name not in self.props:
            raise KeyError(name)  # COM raises com_error
        return _Obj(Value=self.props[name])


class FakeBook:
    def __init__(self, app: FakeApp, path: Path) -> None:
        self.app, self.name, self.fullname = app, path.name, str(path)
        self.sheets = FakeSheets(self)
        self.active = ""
        self.closed = False
        wb = openpyxl.load_workbook(path, data_only=True)
        self.api = _Obj(CustomDocumentProperties=FakeProperties(
            {p.name: str(p.value) for p in wb.custom_doc_props.props}),
            Names=FakeNames({n: "=" + d.attr_text for n, d in wb.defined_names.items()}))
        for ws in wb.worksheets:
            sheet = FakeSheet(self, ws.title)
            sheet.visible = ws.sheet_state == "visible"
            sheet.api.ProtectContents = bool(ws.protection.sheet)
            sheet.api.Names = FakeNames({n: "=" + d.attr_text
                                         for n, d in ws.defined_names.items()})
            sheet.hidden_columns = {c for dim in ws.column_dimensions.values() if dim.hidden
                                    for c in range(dim.min, dim.max + 1)}
            self.sheets.items.append(sheet)
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None:
                        sheet.values[(cell.row, cell.column)] = cell.value
                    if cell.comment is not None:
                        sheet.notes_at[(cell.row, cell.column)] = FakeNote(
                            sheet, (cell.row, cell.column), cell.comment.text,
                            cell.comment.author or "")
            sheet.merges = [(m.min_row, m.min_col, m.max_row, m.max_col)
                            for m in ws.merged_cells.ranges]
            for cf in ws.conditional_formatting:
                cells = {(c[0], c[1]) for rng in cf.sqref.ranges for c in rng.cells}
                for rule in cf.rules:
                    if rule.formula:
                        sheet.conditions.append(FakeCondition(sheet, cells,
                                                              "=" + rule.formula[0]))

    def close(self) -> None:
        self.closed = True


class FakeBooks:
    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self.opened: list[FakeBook] = []

    def open(self, path: str) -> FakeBook:
        book = FakeBook(self.app, Path(path))
        self.opened.append(book)
        return book


class FakeApp:
    def __init__(self, folder: Path | None = None, answer: str = "no") -> None:
        self.status_bar: Any = False
        self.display_alerts = True
        self.alerts: list[tuple[str, str]] = []
        self.answer = answer
        self.books = FakeBooks(self)
        dialog = _Obj(Title="", Show=lambda: -1 if folder else 0,
                      SelectedItems=lambda i: str(folder))
        self.api = _Obj(UserName="Ada", FileDialog=lambda kind: dialog if kind == 4 else None)

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok",
              mode: str | None = None, callback: str | None = None) -> str:
        self.alerts.append((prompt, buttons))
        return self.answer if buttons == "yes_no" else "ok"


def fake_book(path: Path, **app: Any) -> FakeBook:
    return FakeBook(FakeApp(**app), path)


# --- helpers ------------------------------------------------------------------------------------

def _marks_openpyxl(path: Path) -> dict[str, dict[str, set[str]]]:
    """sheet → {"error"/"warning": cells} of perfxl's conditional formats in a file."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, dict[str, set[str]]] = {}
    for ws in wb.worksheets:
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                kind = {ERROR_FORMULA: "error", WARNING_FORMULA: "warning"}.get(
                    (rule.formula or [""])[0])
                if kind:
                    cells = {c for rng in cf.sqref.ranges for c in str(rng).split()}
                    out.setdefault(ws.title, {}).setdefault(kind, set()).update(
                        _expand(cells))
    return out


def _expand(refs: set[str]) -> set[str]:
    from openpyxl.utils import range_boundaries
    from openpyxl.utils.cell import get_column_letter

    out = set()
    for ref in refs:
        c0, r0, c1, r1 = range_boundaries(ref)
        out |= {f"{get_column_letter(c)}{r}" for r in range(r0, r1 + 1)
                for c in range(c0, c1 + 1)}
    return out


def _marks_fake(book: FakeBook) -> dict[str, dict[str, set[str]]]:
    from openpyxl.utils.cell import get_column_letter

    out: dict[str, dict[str, set[str]]] = {}
    for sheet in book.sheets:
        for cond in sheet.conditions:
            kind = {"=" + ERROR_FORMULA: "error", "=" + WARNING_FORMULA: "warning"}.get(
                cond.Formula1)
            if kind:
                out.setdefault(sheet.name, {}).setdefault(kind, set()).update(
                    f"{get_column_letter(c)}{r}" for r, c in cond.cells)
    return out


# --- the openpyxl adapter on real files -----------------------------------------------------------

def test_validate_marks_a_copy_like_the_cli(demo_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "checked.xlsx"
    message = xl.run(xl.VALIDATE, OpenpyxlBook(demo_book, out))
    _, report = validate_book(demo_book)
    c = report.counts
    assert f"错误 {c['error']} 项,警告 {c['warning']} 项" in message
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["说明", RESULT_SHEET]
    ws = wb[RESULT_SHEET]
    assert ws.cell(5, 1).value == "序号"
    rows = list(ws.iter_rows(min_row=6, values_only=True))
    assert len(rows) == len(report.findings)
    for number, (row, finding) in enumerate(zip(rows, report.findings, strict=True), start=1):
        assert row[0] == number and row[3] == finding.code and row[10] == finding.message
    link = ws.cell(6, 10).hyperlink
    first = report.findings[0]
    assert link.location == f"'{first.sheet}'!{first.cell}"
    marks = _marks_openpyxl(out)
    # the first error is a live one (plan-missing): its live check marks it, nothing else
    assert first.rule in live.live_rules()
    assert first.cell not in marks[first.sheet].get("error", set())
    assert wb[first.sheet][first.cell].comment is None
    assert str(ws.cell(6, 3).value).startswith("=IF(") and "未修正" in ws.cell(6, 3).value
    assert str(ws.cell(2, 1).value).startswith('="实时检查(随输入更新): 错误 "&perfxl_live_errors')
    i, other = next((i, f) for i, f in enumerate(report.findings)
                    if f.rule not in live.live_rules() and f.cell)
    assert other.cell in marks[other.sheet][other.severity]
    assert ws.cell(6 + i, 3).value == "需完整校验"
    note = wb[other.sheet][other.cell].comment
    assert note.author == AUTHOR and other.code in note.text
    assert re.fullmatch(r"\(校验时间 \d{4}-\d\d-\d\d \d\d:\d\d,需完整校验后更新\)",
                        note.text.splitlines()[-1])
    # the book still reads the same
    assert read_book(out).to_json()["projects"] == read_book(demo_book).to_json()["projects"]


def test_validating_again_replaces_the_marks_and_keeps_the_users(demo_book: Path,
                                                                 tmp_path: Path) -> None:
    from openpyxl.comments import Comment

    _, report = validate_book(demo_book)
    target = next(f for f in report.findings if f.severity == "warning")
    user = tmp_path / "user.xlsx"
    wb = openpyxl.load_workbook(demo_book)
    wb[target.sheet][target.cell].comment = Comment("my own note", "Ada")
    wb.save(user)
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    xl.run(xl.VALIDATE, OpenpyxlBook(user, once))
    xl.run(xl.VALIDATE, OpenpyxlBook(once, twice))
    assert _marks_openpyxl(once) == _marks_openpyxl(twice)
    wb = openpyxl.load_workbook(twice)
    assert wb[target.sheet][target.cell].comment.text == "my own note"
    assert wb.sheetnames.count(RESULT_SHEET) == 1
    # every conditional format is perfxl's: a constant mark per sheet and severity of the
    # findings no live check covers, and each project sheet's live marks once (not twice)
    grids, props = read_grids(twice)
    dept = department(grids, props, twice.name)
    checks = book_checks(dept, {g.name: g for g in grids}.get, xl.rules_in_effect(),
                         report.findings)
    assert sorted(checks) == sorted(p.sheet for p in dept.projects)
    for ws in wb.worksheets:
        formulas = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
        constant = _marks_openpyxl(twice).get(ws.title, {})
        live_marks = [f for f in formulas if marks.is_live_mark(f)]
        assert len(live_marks) == len(checks[ws.title].marks if ws.title in checks else ())
        assert len(formulas) == len(constant) + len(live_marks), ws.title
        assert len([n for n in ws.defined_names if n.startswith("perfxl_live")]) == \
            (2 if ws.title in checks else 0)


@pytest.mark.libreoffice
def test_summary_formulas_recalculate_to_the_totals(demo_book: Path, tmp_path: Path,
                                                   soffice: str) -> None:
    from libreoffice import recalculated_values

    out = tmp_path / "summary.xlsx"
    message = xl.run(xl.SUMMARIZE, OpenpyxlBook(demo_book, out))
    assert "1100000.00" in message and "5.政府采购评审费" in message
    values = recalculated_values(out, "汇总")
    total = next(row for row in values if row and row[0] == "合计")
    assert total[5] == 1_100_000
    subtotals = {row[0]: row[5] for row in values if row and str(row[0]).endswith("小计")}
    assert subtotals == {"630001 小计": 500_000, "630003 小计": 600_000}
    assert any(row and row[0] == "差额 (计算合计 − 申报总额)" and row[5] == 50_000
               for row in values)


def test_new_project_sheet_comes_from_the_template(demo_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.xlsx"
    message = xl.run(xl.NEW_PROJECT, OpenpyxlBook(demo_book, out))
    assert "8.项目名称" in message
    wb = openpyxl.load_workbook(out)
    names = wb.sheetnames
    assert names.index("8.项目名称") == names.index("7.青龙帮扶杨树底下村修桥资金") + 1
    ws = wb["8.项目名称"]
    assert ws.protection.sheet and len(ws.data_validations.dataValidation) >= 3
    assert ws["A3"].value == "项目编码"
    dept = read_book(out)
    assert len(dept.projects) == 7
    assert ("8.项目名称", "空白项目表") in [(s.sheet, s.reason) for s in dept.skipped]


def test_merge_button_merges_a_folder(demo_book: Path, tmp_path: Path) -> None:
    from perfxl.pipeline import split

    units = tmp_path / "units"
    split(demo_book, units)
    book = OpenpyxlBook(demo_book, tmp_path / "unused.xlsx", folder=units)
    message = xl.run(xl.MERGE, book)
    merged = tmp_path / "units_合并.xlsx"
    assert book.opened == [merged] and "7 个项目" in message
    assert len(read_book(merged).projects) == 7
    assert xl.run(xl.MERGE, OpenpyxlBook(demo_book, tmp_path / "x.xlsx")) == "已取消合并。"


def test_help_opens_the_readme_section(demo_book: Path, tmp_path: Path) -> None:
    opened: list[str] = []
    book = OpenpyxlBook(demo_book, tmp_path / "x.xlsx")
    message = xl.show_help(book, opener=opened.append)
    assert opened and opened[0].startswith("file:")
    page = Path(opened[0].removeprefix("file://"))
    text = page.read_text(encoding="utf-8")
    assert "Excel ribbon (Windows)" in text and "新建项目" in text and "## Commands" not in text
    assert str(page) in message


def test_errors_and_unknown_buttons_are_told(demo_book: Path, tmp_path: Path) -> None:
    book = OpenpyxlBook(demo_book, tmp_path / "x.xlsx")
    assert "未知的按钮" in xl.run("perfxlNope", book)
    blank = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(blank)
    message = xl.run(xl.SUMMARIZE, OpenpyxlBook(blank, tmp_path / "y.xlsx"))
    assert message.startswith("错误:") and "没有项目" in message
    assert not (tmp_path / "y.xlsx").exists()


def test_the_ribbon_and_the_cli_give_one_verdict(demo_book: Path, tmp_path: Path,
                                                 seed_data: dict[str, Any]) -> None:
    """校验 on the ribbon reads a book as ``perfxl validate`` does: a book without a project
    table is refused with the CLI's sentence; ours and one typed by hand in the seed's layout
    get the CLI's counts."""
    import json

    from click.testing import CliRunner
    from seedlayout import write_seed_layout_book

    from perfxl.cli import main

    other = tmp_path / "通知.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "通知"
    wb.active["A1"] = "关于报送2025年预算绩效目标的通知"
    wb.save(other)
    refused = CliRunner().invoke(main, ["validate", str(other)])
    assert refused.exit_code == 2
    sentence = refused.stderr.strip()
    assert "这不是预算绩效目标工作簿" in sentence
    for ribbon in (OpenpyxlBook(other, tmp_path / "x.xlsx"), xl.XlwingsBook(fake_book(other))):
        assert xl.run(xl.VALIDATE, ribbon) == sentence
    assert not (tmp_path / "x.xlsx").exists()

    hand = tmp_path / "手工.xlsx"
    write_seed_layout_book(hand, seed_data, wan_yuan=True, row_offset=2, blank_rows=True)
    for path in (demo_book, hand):
        cli = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
        assert cli.exit_code in (0, 1), cli.output
        counts = json.loads(cli.stdout)["counts"]
        message = xl.run(xl.VALIDATE, OpenpyxlBook(path, tmp_path / f"checked_{path.name}"))
        if counts["error"] or counts["warning"]:
            assert f"错误 {counts['error']} 项,警告 {counts['warning']} 项" in message
        else:
            assert message == "校验通过:没有错误或警告。"


# --- the xlwings adapter, on the stand-in --------------------------------------------------------

def test_grids_from_xlwings_match_calamine(demo_book: Path) -> None:
    book = xl.XlwingsBook(fake_book(demo_book))
    grids, props = read_grids(demo_book)
    assert book.template_version() == props["perfxl_template_version"]
    for g in grids:
        mine = book.grid(g.name)
        assert sorted(mine.merges) == sorted(g.merges), g.name
        for r in range(max(g.height, mine.height)):
            for c in range(max(g.width, mine.width)):
                a, b = g.raw(r, c), mine.raw(r, c)
                assert (a if a != "" else None) == (b if b != "" else None), (g.name, r, c)
    assert xl.read(book).to_json() == read_book(demo_book).to_json()


def test_xlwings_validate_marks_like_openpyxl(demo_book: Path, tmp_path: Path) -> None:
    fake = fake_book(demo_book)
    message = xl.run(xl.VALIDATE, xl.XlwingsBook(fake))
    out = tmp_path / "checked.xlsx"
    assert xl.run(xl.VALIDATE, OpenpyxlBook(demo_book, out)) == message
    assert _marks_fake(fake) == _marks_openpyxl(out)
    assert fake.app.alerts[-1] == (message, "ok") and fake.app.status_bar is False
    assert fake.app.api.UserName == "Ada"  # restored after signing the notes perfxl
    wb = openpyxl.load_workbook(out)
    for sheet in fake.sheets:
        if sheet.name == RESULT_SHEET:
            continue
        for (r, c), note in sheet.notes_at.items():
            assert note.author == AUTHOR
            assert wb[sheet.name].cell(r, c).comment.text == note.text
    names = [s.name for s in fake.sheets]
    assert names[:2] == ["说明", RESULT_SHEET] and fake.active == RESULT_SHEET
    results = next(s for s in fake.sheets if s.name == RESULT_SHEET)
    ws = wb[RESULT_SHEET]
    for (r, c), value in results.values.items():
        if r > 3:  # below the title and the summary (which holds the time of the check)
            assert ws.cell(r, c).value == value, (r, c)
    address, text = results.links[(6, 10)]
    assert address == "#" + ws.cell(6, 10).hyperlink.location and text == ws.cell(6, 10).value
    # unit codes went in with the text prefix: Excel keeps them as text, not 630001.0
    assert "630001" in [results.values.get((r, 6)) for r in range(6, 40)]


LAST_LIVE_COLUMN = LIVE_LAST_COLUMN + 1  # 1-based: openpyxl's save mangles the columns after


def _live_openpyxl(path: Path) -> dict[str, Any]:
    """sheet → its live cells (formulas, array formulas as ``{…}``), live marks and names."""
    from openpyxl.utils.cell import get_column_letter
    from openpyxl.worksheet.formula import ArrayFormula

    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {"": {n: "=" + d.attr_text for n, d in wb.defined_names.items()
                                if n.startswith("perfxl_live")}}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows(min_row=1, max_row=4):
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula):
                    v = "{" + str(v.text) + "}"
                if v is not None and (c.column > 40 or str(v).lstrip('="').startswith("实时检查")):
                    cells[(c.row, c.column)] = v
        rules = {(frozenset(_expand({str(r) for r in cf.sqref.ranges})), "=" + rule.formula[0])
                 for cf in ws.conditional_formatting for rule in cf.rules
                 if marks.is_live_mark(rule.formula[0])}
        names = {n: "=" + d.attr_text for n, d in ws.defined_names.items()}
        # (openpyxl's own save groups the unlocked columns up to XFD with hidden ones: only the
        # live block's columns are compared)
        hidden = {c for dim in ws.column_dimensions.values() if dim.hidden
                  for c in range(dim.min, min(dim.max, LAST_LIVE_COLUMN) + 1)}
        out[ws.title] = (cells, rules, names, {get_column_letter(c) for c in hidden if c > 40})
    return out


def _live_fake(book: FakeBook) -> dict[str, Any]:
    from openpyxl.utils.cell import get_column_letter

    out: dict[str, Any] = {"": {n: v for n, v in book.api.Names.names.items()
                                if n.startswith("perfxl_live")}}
    for sheet in book.sheets:
        cells = {pos: v for pos, v in {**sheet.values, **sheet.formulas}.items()
                 if pos[0] <= 4 and (pos[1] > 40 or str(v).lstrip('="').startswith("实时检查"))}
        rules = {(frozenset(f"{get_column_letter(c)}{r}" for r, c in cond.cells), cond.Formula1)
                 for cond in sheet.conditions if marks.is_live_mark(cond.Formula1)}
        hidden = {get_column_letter(c) for c in sheet.hidden_columns if 40 < c <= LAST_LIVE_COLUMN}
        out[sheet.name] = (cells, rules, dict(sheet.api.Names.names), hidden)
    return out


def test_xlwings_places_the_live_checks_like_openpyxl(demo_book: Path, tmp_path: Path) -> None:
    """The ribbon replaces the template's live checks with the same set (one per project
    sheet), through Excel's protection of our sheets, as the tests' openpyxl adapter does."""
    fake = fake_book(demo_book)
    protected = {s.name for s in fake.sheets if s.api.ProtectContents}
    assert len(protected) >= 7  # the project sheets of our template are protected
    xl.run(xl.VALIDATE, xl.XlwingsBook(fake))
    out = tmp_path / "checked.xlsx"
    xl.run(xl.VALIDATE, OpenpyxlBook(demo_book, out))
    mine, theirs = _live_fake(fake), _live_openpyxl(out)
    dept = read_book(demo_book)
    for p in dept.projects:
        cells, rules, names, hidden = theirs[p.sheet]
        assert mine[p.sheet] == theirs[p.sheet], p.sheet
        assert cells[(1, 9)].startswith('="实时检查') and str(cells[(2, 43)]).startswith("PX")
        assert any(str(v).startswith("{=") for v in cells.values())  # array formulas
        assert rules and set(names) == {"perfxl_live_errors", "perfxl_live_warnings"}
        assert {"AO", "AP", "AQ"} <= hidden
    assert mine[""] == theirs[""] and set(theirs[""]) == {"perfxl_live_errors",
                                                          "perfxl_live_warnings"}
    assert {s.name for s in fake.sheets if s.api.ProtectContents} == protected  # again


def test_xlwings_validate_replaces_cli_marks(demo_book: Path, tmp_path: Path) -> None:
    """A book the CLI annotated: the ribbon replaces the CLI's marks and notes, and keeps a
    user's note; a second run changes nothing."""

    from perfxl.pipeline import validate_file

    cli = tmp_path / "cli.xlsx"
    report = validate_file(demo_book, out=cli).report
    fake = fake_book(cli)
    target = next(f for f in report.findings if f.severity == "error")
    sheet = fake.sheets[target.sheet]
    pos = next(p for p in sheet.notes_at if sheet.notes_at[p].author == AUTHOR)
    sheet.notes_at[pos] = FakeNote(sheet, pos, "my own note", "Ada")
    xl.run(xl.VALIDATE, xl.XlwingsBook(fake))
    first = _marks_fake(fake)
    assert first == _marks_openpyxl(cli)
    counts = {s.name: (len(s.conditions), len(s.notes_at)) for s in fake.sheets}
    xl.run(xl.VALIDATE, xl.XlwingsBook(fake))
    assert _marks_fake(fake) == first
    assert {s.name: (len(s.conditions), len(s.notes_at)) for s in fake.sheets} == counts
    assert sheet.notes_at[pos].text == "my own note"
    assert [s.name for s in fake.sheets].count(RESULT_SHEET) == 1


def test_xlwings_summary_writes_formulas(demo_book: Path) -> None:
    fake = fake_book(demo_book)
    before = [s.name for s in fake.sheets]
    message = xl.run(xl.SUMMARIZE, xl.XlwingsBook(fake))
    assert "1100000.00" in message
    summary = fake.sheets["汇总"]
    assert [s.name for s in fake.sheets] == before and fake.active == "汇总"
    first = next(r for (r, c), v in summary.values.items() if c == 1 and v == "630001")
    assert summary.formulas[(first, 6)] == "='1.行政审批等专家评审费'!C4"
    plan = "'1.行政审批等专家评审费'!B7"
    assert summary.formulas[(first, 9)].startswith(f"=IF(ISNUMBER({plan}),F{first}*{plan},")
    total = next(r for (r, c), v in summary.values.items() if c == 1 and v == "合计")
    assert summary.formulas[(total, 6)] == f"=SUBTOTAL(9,F{first}:F{total - 1})"
    assert summary.links[(first, 4)][0] == "#'1.行政审批等专家评审费'!A1"
    assert summary.formats[(first, 6)]["number_format"] == xl.MONEY


def test_xlwings_new_project_copies_the_template_sheet(demo_book: Path) -> None:
    fake = fake_book(demo_book)
    xl.run(xl.NEW_PROJECT, xl.XlwingsBook(fake))
    names = [s.name for s in fake.sheets]
    assert names[names.index("7.青龙帮扶杨树底下村修桥资金") + 1] == "8.项目名称"
    template = fake.app.books.opened[0]
    assert template.closed and fake.sheets["8.项目名称"].values[(3, 1)] == "项目编码"


def test_xlwings_merge_asks_for_a_folder_and_opens_the_result(demo_book: Path,
                                                              tmp_path: Path) -> None:
    from perfxl.pipeline import split

    units = tmp_path / "units"
    split(demo_book, units)
    fake = fake_book(demo_book, folder=units)
    message = xl.run(xl.MERGE, xl.XlwingsBook(fake))
    merged = tmp_path / "units_合并.xlsx"
    assert [b.fullname for b in fake.app.books.opened] == [str(merged)]
    assert "7 个项目" in message and merged.exists()
    cancelled = fake_book(demo_book)
    assert xl.run(xl.MERGE, xl.XlwingsBook(cancelled)) == "已取消合并。"


def test_xlwings_merge_conflict_asks(demo_book: Path, tmp_path: Path) -> None:
    from perfxl.pipeline import split

    units = tmp_path / "units"
    split(demo_book, units)
    changed = next(units.glob("630001_*.xlsx"))
    wb = openpyxl.load_workbook(changed)
    ws = wb[wb.sheetnames[2]]
    ws["B5"] = "改过的资金用途"
    wb.save(units / "630001_copy.xlsx")
    refused = fake_book(demo_book, folder=units, answer="no")
    assert "合并已停止" in xl.run(xl.MERGE, xl.XlwingsBook(refused))
    assert "较新的版本" in refused.app.alerts[0][0] and refused.app.alerts[0][1] == "yes_no"
    accepted = fake_book(demo_book, folder=units, answer="yes")
    assert "合并完成" in xl.run(xl.MERGE, xl.XlwingsBook(accepted))


def test_on_ribbon_runs_on_the_caller_book(demo_book: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_book(demo_book)
    module = types.ModuleType("xlwings")
    module.Book = types.SimpleNamespace(caller=lambda: fake)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xlwings", module)
    xl.on_ribbon(xl.VALIDATE)
    assert RESULT_SHEET in [s.name for s in fake.sheets]
    assert fake.app.alerts and "校验完成" in fake.app.alerts[-1][0]


def test_long_mark_lists_are_split_for_com() -> None:
    cells = [f"A{n}" for n in range(1, 200)]
    chunks = xl._address_chunks(cells)
    assert all(len(chunk) <= 255 for chunk in chunks)
    assert ",".join(chunks).split(",") == cells


def test_perfxl_notes_are_recognised() -> None:
    assert marks.is_perfxl_note("anything", "perfxl")
    assert marks.is_perfxl_note("【错误 PX301】资金支出计划未填写\n【警告 PX701】x", "Ada")
    assert not marks.is_perfxl_note("【错误 PX301】x\nmy addition", "Ada")
    assert not marks.is_perfxl_note("my note", "Ada")


# --- the same verdict as the command line, rules file included ------------------------------------

def _cli_counts(book: Path, *args: str, env: dict[str, str]) -> dict[str, int]:
    import json
    import os
    import subprocess

    r = subprocess.run([sys.executable, "-m", "perfxl", "validate", str(book), "--format", "json",
                        *args], capture_output=True, text=True, check=False,
                       env={**os.environ, **env})
    assert r.returncode in (0, 1), r.stderr
    counts: dict[str, int] = json.loads(r.stdout)["counts"]
    return counts


@pytest.mark.parametrize("where", ["environment", "settings"])
def test_ribbon_and_cli_use_the_same_rules_file(demo_book: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                where: str) -> None:
    """A rules file in effect (PERFXL_RULES in the environment, or in the user's perfxl.conf as
    `perfxl addin install --rules` writes it) reaches the ribbon's 校验 and `perfxl validate`
    alike: the same counts, different from the defaults'."""
    from perfxl.settings import RULES_KEY, user_config_file, write_config

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  plan-missing: {severity: off}\n  description-repeats-name: "
                     "{severity: error}\n", encoding="utf-8")
    home = tmp_path / "home"
    env = {"USERPROFILE": str(home), "HOME": str(home)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(RULES_KEY, raising=False)
    defaults = _cli_counts(demo_book, env=env)
    if where == "environment":
        env[RULES_KEY] = str(rules)
        monkeypatch.setenv(RULES_KEY, str(rules))
    else:
        write_config(user_config_file(), {RULES_KEY: str(rules)})
    cli = _cli_counts(demo_book, env=env)
    assert cli != defaults
    message = xl.run(xl.VALIDATE, OpenpyxlBook(demo_book, tmp_path / "checked.xlsx"))
    assert f"错误 {cli['error']} 项,警告 {cli['warning']} 项" in message
    assert cli == _cli_counts(demo_book, "--rules", str(rules), env=env)


def test_a_long_array_formula_goes_in_through_short_pieces() -> None:
    """Excel takes 255 characters through Range.FormulaArray: a longer formula is entered as a
    skeleton whose placeholders Range.Replace fills in, each piece short enough."""
    formula = "=ROUND(SUM(IFERROR((" + "+".join(
        f'(LEN(TRIM($C${r}:$C${r + 20}))>0)*ISNUMBER(FIND("(",$D${r}:$D${r + 20}))'
        for r in range(10, 40)) + ")*1,0)),0)"
    assert len(formula) > 1500
    skeleton, parts = xl.formula_parts(formula)
    assert len(skeleton) <= 255 and all(len(text) <= 255 for _, text in parts)
    text = skeleton
    for token, piece in reversed(parts):
        assert text.count(token) == 1
        text = text.replace(token, piece)
    assert text == formula
    assert xl.formula_parts("=SUM(A1:A3)") == ("=SUM(A1:A3)", [])
