"""The ribbon's buttons (perfxl.xl) on a closed .xlsx/.xlsm file, for the tests: an adapter of
perfxl.xl.Workbook that edits the file with openpyxl and saves it to another file.

It places the marks perfxl.marks defines and the live checks perfxl.live_sheets chooses, as
XlwingsBook does in Excel and the CLI's zip patcher does in a file, so the tests can run the
ribbon's logic on real files and compare what each writer leaves. openpyxl drops cached formula values on save, so for users the CLI (``perfxl validate
-o``, ``perfxl summarize``) is the way to mark a closed file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.hyperlink import Hyperlink

from perfxl import layout as L
from perfxl import live
from perfxl.files import atomic_path, check_output
from perfxl.marks import MARK_COLOURS, MARK_FORMULAS, cell_ref, is_live_mark, is_perfxl_note
from perfxl.read import Grid
from perfxl.styles import HEADER_FILL, LINK, MONEY, argb
from perfxl.summary import Formula, Link
from perfxl.xl import SheetSpec


@dataclass
class OpenpyxlBook:
    """A workbook file, edited with openpyxl and saved (atomically) to ``out`` by ``finish``.

    Non-interactive: the folder a merge asks for, the answer to a question, and the books it
    would open are given or recorded (``folder``, ``answer``, ``opened``, ``messages``).
    """

    path: Path
    out: Path
    folder: Path | None = None
    answer: bool = False
    opened: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path, self.out = Path(self.path), Path(self.out)
        # openpyxl's save drops cached formula values: never over the book it read
        check_output(self.out, [self.path], force=True)
        keep_vba = self.path.suffix.lower() in (".xlsm", ".xltm", ".xlam")
        self.wb = openpyxl.load_workbook(self.path, keep_vba=keep_vba, rich_text=True)
        self.values = openpyxl.load_workbook(self.path, data_only=True)
        self.name = self.path.name
        self._written: set[str] = set()

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def grid(self, sheet: str) -> Grid:
        ws = self.wb[sheet]
        src = self.values[sheet] if sheet in self.values.sheetnames and \
            sheet not in self._written else ws
        rows = [list(r) for r in src.iter_rows(values_only=True)]
        merges = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                  for m in ws.merged_cells.ranges]
        return Grid(sheet, rows, merges, hidden=ws.sheet_state != "visible")

    def template_version(self) -> str | None:
        for prop in self.wb.custom_doc_props.props:
            if prop.name == L.VERSION_PROPERTY:
                return str(prop.value)
        return None

    def clear_marks(self) -> None:
        for ws in self.wb.worksheets:
            kept = ConditionalFormattingList()
            for cf in ws.conditional_formatting:
                for rule in cf.rules:
                    if not (rule.type == "expression" and rule.formula
                            and rule.formula[0] in MARK_FORMULAS.values()):
                        kept.add(str(cf.sqref), rule)
            ws.conditional_formatting = kept
            for row in ws.iter_rows():
                for cell in row:
                    if cell.comment is not None and is_perfxl_note(cell.comment.text,
                                                                   cell.comment.author):
                        cell.comment = None

    def place_live(self, sheet: str, checks: live.SheetChecks | None) -> None:
        ws = self.wb[sheet]
        kept = ConditionalFormattingList()
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                if not any(is_live_mark(f) for f in rule.formula or ()):
                    kept.add(str(cf.sqref), rule)
        ws.conditional_formatting = kept
        marker = ws.cell(2, L.FIRST_TEST_COLUMN + 1).value
        if isinstance(marker, str) and marker.startswith("PX"):
            for r in range(1, L.LIVE_ROWS + 1):
                for c in range(L.LIVE_COLUMN + 1, ws.max_column + 1):
                    ws.cell(r, c).value = None
            for cell in ws[1]:  # the status line: its formula, or its text once recalculated
                if isinstance(cell.value, str) and cell.value.lstrip('="').startswith(
                        L.STATUS_TITLE):
                    cell.value = None
        if checks is None:
            return
        for c in checks.cells:
            cell = ws[c.ref]
            if c.formula is None:
                cell.value = str(c.value)
                cell.data_type = "s"
            elif c.array:
                cell.value = ArrayFormula(c.ref, c.formula)
            else:
                cell.value = c.formula
            cell.protection = Protection(locked=True, hidden=True)
            if not c.hidden:
                cell.font = Font(bold=True, color=argb(LINK))
        for col in range(L.LIVE_COLUMN + 1, L.LIVE_LAST_COLUMN + 2):
            ws.column_dimensions[get_column_letter(col)].hidden = True
        for m in checks.marks:
            font, fill = (argb(colour) for colour in MARK_COLOURS[m.severity])
            ws.conditional_formatting.add(m.ref, FormulaRule(
                formula=[m.formula], font=Font(color=font),
                fill=PatternFill(fill_type="solid", start_color=fill, end_color=fill,
                                 bgColor=fill)))

    def set_names(self, names: dict[str, str], sheet: str | None = None) -> None:
        scope = self.wb[sheet].defined_names if sheet is not None else self.wb.defined_names
        for name in (live.NAME_ERRORS, live.NAME_WARNINGS):
            scope.pop(name, None)
            if name in names:
                scope[name] = DefinedName(name, attr_text=names[name].lstrip("="))

    def sheets_with_name(self, name: str) -> list[str]:
        return [ws.title for ws in self.wb.worksheets if name in ws.defined_names]

    def mark(self, sheet: str, cells: dict[str, list[str]]) -> None:
        ws = self.wb[sheet]
        for severity, addresses in cells.items():
            if not addresses:
                continue
            font, fill = (argb(colour) for colour in MARK_COLOURS[severity])
            rule = FormulaRule(formula=[MARK_FORMULAS[severity]], font=Font(color=font),
                               fill=PatternFill(fill_type="solid", start_color=fill,
                                                end_color=fill, bgColor=fill))
            ws.conditional_formatting.add(" ".join(addresses), rule)

    def add_note(self, sheet: str, cell: str, text: str) -> bool:
        target = self.wb[sheet][cell]
        if target.comment is not None:
            return False
        comment = Comment(text, "perfxl")
        comment.width, comment.height = 320, 30 + 18 * text.count("\n")
        target.comment = comment
        return True

    def write_sheet(self, spec: SheetSpec, *, index: int) -> None:
        if spec.name in self.wb.sheetnames:
            del self.wb[spec.name]
        ws = self.wb.create_sheet(spec.name, index)
        self._written.add(spec.name)
        for r, row in enumerate(spec.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c)
                if isinstance(value, Formula):
                    cell.value = value.text
                elif isinstance(value, Link):
                    cell.value = value.text
                    cell.data_type = "s"
                    cell.hyperlink = Hyperlink(ref=cell.coordinate, display=value.text,
                                               location=cell_ref(value.sheet, value.cell))
                    cell.font = Font(color=argb(LINK), underline="single")
                elif isinstance(value, str):
                    cell.value = value
                    cell.data_type = "s"  # text stays text: "630001" is a code, "=x" no formula
                elif isinstance(value, Decimal):
                    cell.value = float(value)
                else:
                    cell.value = value
                if c in spec.money_cols and r > spec.header_row:
                    cell.number_format = MONEY
        for i, w in enumerate(spec.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        for r in [*spec.bold_rows, *([spec.header_row] if spec.header_row else [])]:
            for cell in ws[r]:
                font = copy.copy(cell.font)
                font.bold = True
                cell.font = font
        if spec.header_row:
            for cell in ws[spec.header_row]:
                cell.fill = PatternFill("solid", start_color=argb(HEADER_FILL),
                                        end_color=argb(HEADER_FILL))
            ws.freeze_panes = ws.cell(spec.header_row + 1, 1)
        if spec.tab_colour is not None:
            ws.sheet_properties.tabColor = "FF{:02X}{:02X}{:02X}".format(*spec.tab_colour)

    def activate(self, sheet: str) -> None:
        for ws in self.wb.worksheets:
            ws.sheet_view.tabSelected = False
        self.wb.active = self.wb.sheetnames.index(sheet)
        self.wb[sheet].sheet_view.tabSelected = True

    def add_project_sheet(self, template: Path, source: str, name: str, index: int) -> None:
        src = openpyxl.load_workbook(template)[source]
        ws = self.wb.create_sheet(name, index)
        _copy_sheet(src, ws)
        self._written.add(name)

    def pick_folder(self, title: str) -> Path | None:
        return self.folder

    def ask(self, question: str) -> bool:
        self.messages.append(question)
        return self.answer

    def open_book(self, path: Path) -> None:
        self.opened.append(Path(path))

    def tell(self, message: str, *, alert: bool = False) -> None:
        self.messages.append(message)

    def finish(self) -> None:
        with atomic_path(self.out, [self.path], force=True) as tmp:
            self.wb.save(tmp)


def _copy_sheet(src: Any, dst: Any) -> None:
    """A worksheet from another workbook: cells with their formats, merges, sizes, data
    validations, print setup and protection (openpyxl copies sheets only within a book)."""
    for row in src.iter_rows():
        for cell in row:
            target = dst.cell(cell.row, cell.column)
            if cell.value is not None:
                target.value = cell.value
                target.data_type = cell.data_type
            if cell.has_style:
                target.font = copy.copy(cell.font)
                target.fill = copy.copy(cell.fill)
                target.border = copy.copy(cell.border)
                target.alignment = copy.copy(cell.alignment)
                target.protection = copy.copy(cell.protection)
                target.number_format = cell.number_format
    for merged in src.merged_cells.ranges:
        dst.merge_cells(str(merged))
    for key, dim in src.column_dimensions.items():
        dst.column_dimensions[key].width = dim.width
    for key, rdim in src.row_dimensions.items():
        if rdim.height is not None:
            dst.row_dimensions[key].height = rdim.height
    for dv in src.data_validations.dataValidation:
        dst.add_data_validation(copy.copy(dv))
    dst.protection = copy.copy(src.protection)
    dst.page_setup.orientation = src.page_setup.orientation
    dst.page_setup.paperSize = src.page_setup.paperSize
    dst.freeze_panes = src.freeze_panes

