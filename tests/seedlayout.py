"""Workbooks typed by hand in the seed's own layout, to test the reader on books it did not make.

The seed (``shared/seeds/000_b45d36f4926a891c.txt``, 第二部分 预算项目绩效目标) lays out each
project as a 7-column table. This helper writes that table with plain openpyxl (no perfxl template,
no perfxl code) from a department data dict (the ``perfxl/1`` YAML/JSON shape), with switches for
the ways real hand-made books differ: offsets, 万元, blank rows, split codes, full-width text, one
sheet for all projects, and unrelated sheets.

Layout of one table at offset 0 (row numbers relative to the table's first row)::

    1  A:G "{seq}.{name}绩效目标表"
    2  A:E "{unit code} {unit name}" | G 单位:元 / 单位:万元
    3  A 项目编码 | B:C code | D 项目名称 | E:G name
    4  A 预算规模 | B 预算数 | C budget | D 其中:财政资金 | E fiscal | F 其他资金 | G other
    5  A 及资金用途 | B:G purpose
    6  A 资金支出 | B 3月底 | C 6月底 | D 10月底 | E 12月底
    7  A 计划(%)  | B..E "25.00%" … (empty when plan is None)
    8  A 绩效目标 | B:G goals (wrapped)
    9  A 一级指标 | B 二级指标 | C 三级指标 | D:E 绩效指标描述 | F 指标值 | G 指标值确定依据
    10+ per indicator: A level1 (merged down over equal neighbours) | B | C | D:E | F | G

Run ``python tests/seedlayout.py DATA.yaml OUTDIR`` to write a few variants for eyeballing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

WIDTH = 7  # columns of one project table
GAP = 2  # empty rows between tables on one sheet
ONE_SHEET_TITLE = "项目表"
JUNK_BELOW = "填表说明:请认真填写"
JUNK_RIGHT = "备注:本表仅供参考"
JUNK_RIGHT_COL = 12  # column (1-based, before the offset) of the far-right note

_FULL_WIDTH = str.maketrans("0123456789.%-+,", "０１２３４５６７８９．％－＋，")
_WRAP = Alignment(wrap_text=True, vertical="center")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def to_full_width(s: str) -> str:
    """ASCII digits and ``.%-+,`` → their full-width forms (``80000.00`` → ``８００００．００``)."""
    return s.translate(_FULL_WIDTH)


def _exact_float(d: Decimal) -> float:
    """``d`` as a float that reads back as exactly ``d`` (at most 15 significant digits)."""
    digits = len(d.normalize().as_tuple().digits)
    assert digits <= 15, (
        f"{d} has {digits} significant digits, too many for an exact float"
    )
    f = float(d)
    assert Decimal(repr(f)) == d, f"{d} does not round-trip through float ({f!r})"
    return f


def amount_cell(
    raw: object, *, wan_yuan: bool = False, full_width: bool = False
) -> float | str:
    """The cell value for an amount given in 元: a number (元 or 万元), or full-width text."""
    d = Decimal(str(raw))
    if wan_yuan:
        d = d / 10000
    if full_width:
        # 元 keep their two decimals as typed; 万元 are written with just the digits they need.
        s = f"{d:f}" if not wan_yuan else f"{d.normalize():f}"
        return to_full_width(s)
    return _exact_float(d)


def percent_cell(raw: object, *, full_width: bool = False) -> str:
    """A plan percentage as hand-typed text: ``25.00`` → ``25.00%`` (or ``２５．００％``)."""
    s = f"{raw}%"
    return to_full_width(s) if full_width else s


def display_code(code: str, seq: int) -> str:
    """The project code as OCR/hand typing splits it: odd seq breaks the line, even seq a space."""
    if seq % 2:
        return code[:-1] + "\n" + code[-1]
    return code[:10] + " " + code[10:]


def sheet_name(seq: int) -> str:
    """Per-project sheet name, alternating two hand-made forms: ``1`` (odd seq), ``项目2``."""
    return str(seq) if seq % 2 else f"项目{seq}"


def _labels(full_width: bool, wan_yuan: bool) -> dict[str, str]:
    colon, lp, rp = ("：", "（", "）") if full_width else (":", "(", ")")
    return {
        "fiscal": f"其中{colon}财政资金",
        "unit": f"单位{colon}{'万元' if wan_yuan else '元'}",
        "plan": f"计划{lp}%{rp}",
        "dot": "．" if full_width else ".",
    }


def _blank_after(n_indicators: int) -> dict[int, int]:
    """Indicator index → empty rows inserted after it (only inside the table, never trailing)."""
    return {i: k for i, k in ((1, 1), (4, 2)) if i < n_indicators - 1}


class _Table:
    """Writes one project table at (top, left) of a sheet; ``bottom`` is its last row afterwards."""

    def __init__(self, ws: Worksheet, top: int, left: int) -> None:
        self.ws, self.top, self.left = ws, top, left
        self.bottom = top

    def put(
        self,
        row: int,
        col: int,
        value: object,
        *,
        to_col: int | None = None,
        align: Alignment | None = None,
    ) -> None:
        """Write ``value`` at table-relative 1-based (row, col); merge across to ``to_col``."""
        r, c = self.top + row - 1, self.left + col - 1
        cell = self.ws.cell(row=r, column=c, value=None if value == "" else value)
        if align is not None:
            cell.alignment = align
        if to_col is not None and to_col > col:
            self.ws.merge_cells(
                start_row=r,
                start_column=c,
                end_row=r,
                end_column=self.left + to_col - 1,
            )
        self.bottom = max(self.bottom, r)

    def merge_down(self, row: int, to_row: int, col: int) -> None:
        c = self.left + col - 1
        self.ws.merge_cells(
            start_row=self.top + row - 1,
            start_column=c,
            end_row=self.top + to_row - 1,
            end_column=c,
        )


def _write_project(
    t: _Table,
    project: Mapping[str, Any],
    unit_name: str,
    *,
    wan_yuan: bool,
    blank_rows: bool,
    split_codes: bool,
    full_width: bool,
) -> None:
    """Write one project's table (see the module docstring for the layout)."""
    lab = _labels(full_width, wan_yuan)
    seq = int(project["seq"])
    code = str(project["code"])

    def money(key: str) -> float | str:
        return amount_cell(project[key], wan_yuan=wan_yuan, full_width=full_width)

    t.put(
        1, 1, f"{seq}{lab['dot']}{project['name']}绩效目标表", to_col=7, align=_CENTER
    )
    t.ws.cell(row=t.top, column=t.left).font = Font(bold=True, size=14)
    t.put(2, 1, f"{project['unit']} {unit_name}", to_col=5)
    t.put(2, 7, lab["unit"])
    code_text = display_code(code, seq) if split_codes else code
    t.put(3, 1, "项目编码")
    t.put(3, 2, code_text, to_col=3, align=_WRAP if "\n" in code_text else None)
    t.put(3, 4, "项目名称")
    t.put(3, 5, project["name"], to_col=7)
    for col, value in enumerate(
        (
            "预算规模",
            "预算数",
            money("budget"),
            lab["fiscal"],
            money("fiscal"),
            "其他资金",
            money("other"),
        ),
        start=1,
    ):
        t.put(4, col, value)
    t.put(5, 1, "及资金用途")
    t.put(5, 2, project["purpose"], to_col=7, align=_WRAP)
    for col, value in enumerate(
        ("资金支出", "3月底", "6月底", "10月底", "12月底"), start=1
    ):
        t.put(6, col, value)
    t.put(7, 1, lab["plan"])
    for col, pct in enumerate(project.get("plan") or (), start=2):
        t.put(7, col, percent_cell(pct, full_width=full_width))
    t.put(8, 1, "绩效目标")
    t.put(8, 2, project["goals"], to_col=7, align=_WRAP)
    for col, value in (
        (1, "一级指标"),
        (2, "二级指标"),
        (3, "三级指标"),
        (4, "绩效指标描述"),
        (6, "指标值"),
        (7, "指标值确定依据"),
    ):
        t.put(9, col, value, to_col=5 if col == 4 else None, align=_CENTER)

    indicators: Sequence[Mapping[str, Any]] = project.get("indicators") or ()
    blanks = _blank_after(len(indicators)) if blank_rows else {}
    row = 10
    run_start = (
        0  # first row of the current level1 run (equal values, no blank row between)
    )
    prev: object = object()
    for i, ind in enumerate(indicators):
        level1 = ind.get("level1", "")
        if level1 != prev:
            _close_run(t, run_start, row - 1)
            t.put(row, 1, level1, align=_CENTER)
            run_start, prev = row, level1
        t.put(row, 2, ind.get("level2", ""), align=_WRAP)
        t.put(row, 3, ind.get("level3", ""), align=_WRAP)
        t.put(row, 4, ind.get("description", ""), to_col=5, align=_WRAP)
        t.put(row, 6, ind.get("value", ""), align=_WRAP)
        t.put(row, 7, ind.get("basis", ""), align=_WRAP)
        if blanks.get(i):
            _close_run(t, run_start, row)
            run_start = 0
            row += blanks[i]
            prev = (
                object()
            )  # a blank row ends the merge: the next row writes level1 again
        row += 1
    _close_run(t, run_start, row - 1)


def _close_run(t: _Table, start: int, end: int) -> None:
    if start and end > start:
        t.merge_down(start, end, 1)


def _add_junk(ws: Worksheet, top: int, bottom: int, left: int) -> None:
    """Notes the reader must ignore: one two rows below the table, one far to its right."""
    ws.cell(row=bottom + 2, column=left, value=JUNK_BELOW)
    ws.cell(row=top + 2, column=left + JUNK_RIGHT_COL - 1, value=JUNK_RIGHT)


def _style_columns(ws: Worksheet, left: int) -> None:
    for i, width in enumerate((12, 14, 16, 14, 16, 14, 16)):
        ws.column_dimensions[get_column_letter(left + i)].width = width


def _extra_sheet(wb: Workbook, name: str, index: int) -> None:
    """A non-project sheet: text (even index, put first in the book) or numbers (odd, put last)."""
    if index % 2 == 0:
        ws = wb.create_sheet(name, 0)
        ws["A1"] = "说明"
        ws["A2"] = (
            "本工作簿由各预算单位按要求填报,经主管部门审核后统一报送。"
            "请勿修改表格结构,如有疑问请与财政局预算科联系。"
        )
        ws["A2"].alignment = _WRAP
        ws.merge_cells("A2:F4")
    else:
        ws = wb.create_sheet(name)
        ws["A1"] = "参考数据"
        for r, row in enumerate(((1, 2, 3), (4.5, 5.5, 6.5)), start=2):
            for c, value in enumerate(row, start=1):
                ws.cell(row=r, column=c, value=value)


def write_seed_layout_book(
    path: str | os.PathLike[str],
    data: Mapping[str, Any],
    *,
    units: Iterable[str] | None = None,
    row_offset: int = 0,
    col_offset: int = 0,
    wan_yuan: bool = False,
    blank_rows: bool = False,
    split_codes: bool = False,
    full_width: bool = False,
    one_sheet: bool = False,
    extra_sheets: Iterable[str] = (),
) -> None:
    """Write ``data``'s projects as hand-typed seed-layout tables into a new workbook at ``path``.

    ``units`` keeps only those units' projects (default all). Offsets shift every table down/right
    and add junk notes outside the tables. Per-project sheets are named ``1``/``项目2``/``3``…;
    ``one_sheet`` stacks all tables on ``项目表`` with two empty rows between them.
    """
    if row_offset < 0 or col_offset < 0:
        raise ValueError("offsets must be >= 0")
    unit_names = {str(u["code"]): str(u["name"]) for u in data.get("units") or ()}
    wanted = None if units is None else [str(u) for u in units]
    unknown = [u for u in wanted or () if u not in unit_names]
    if unknown:
        raise ValueError(f"unknown unit codes: {unknown}")
    projects = [
        p
        for p in data.get("projects") or ()
        if wanted is None or str(p["unit"]) in wanted
    ]
    extras = list(extra_sheets)
    names = (
        [ONE_SHEET_TITLE]
        if one_sheet
        else [sheet_name(int(p["seq"])) for p in projects]
    )
    clash = set(extras) & set(names)
    if clash or len(set(extras)) != len(extras):
        raise ValueError(
            f"extra sheet names clash or repeat: {sorted(clash) or extras}"
        )

    options = {
        "wan_yuan": wan_yuan,
        "blank_rows": blank_rows,
        "split_codes": split_codes,
        "full_width": full_width,
    }
    junk = bool(row_offset or col_offset)
    top, left = 1 + row_offset, 1 + col_offset
    wb = Workbook()
    wb.remove(wb.active)
    ws: Worksheet | None = None
    if one_sheet:
        ws = wb.create_sheet(ONE_SHEET_TITLE)
        _style_columns(ws, left)
    first_top, bottom = top, top - GAP - 1
    for p in projects:
        if not one_sheet:
            ws = wb.create_sheet(sheet_name(int(p["seq"])))
            _style_columns(ws, left)
            bottom = top - GAP - 1
        assert ws is not None
        t = _Table(ws, bottom + GAP + 1, left)
        _write_project(t, p, unit_names.get(str(p["unit"]), ""), **options)
        bottom = t.bottom
        if junk and not one_sheet:
            _add_junk(ws, t.top, bottom, left)
    if junk and one_sheet and ws is not None and projects:
        _add_junk(ws, first_top, bottom, left)
    for i, name in enumerate(extras):
        _extra_sheet(wb, name, i)
    if not wb.sheetnames:
        wb.create_sheet("Sheet1")
    wb.save(os.fspath(path))


VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "offset": {"row_offset": 3, "col_offset": 2},
    "wan_yuan": {"wan_yuan": True},
    "blank_rows": {"blank_rows": True},
    "split_codes": {"split_codes": True},
    "full_width": {"full_width": True},
    "one_sheet": {"one_sheet": True, "row_offset": 1, "col_offset": 1},
    "extra_sheets": {"extra_sheets": ("说明", "参考")},
    "everything": {
        "row_offset": 2,
        "col_offset": 1,
        "wan_yuan": True,
        "blank_rows": True,
        "split_codes": True,
        "full_width": True,
        "extra_sheets": ("说明", "参考"),
    },
}


def main(argv: Sequence[str]) -> int:
    """``seedlayout.py DATA.yaml OUTDIR``: write each of ``VARIANTS`` to OUTDIR."""
    import yaml

    if len(argv) != 2:
        print("usage: python tests/seedlayout.py DATA.yaml OUTDIR", file=sys.stderr)
        return 2
    data = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, kwargs in VARIANTS.items():
        target = out / f"seedlayout_{name}.xlsx"
        write_seed_layout_book(target, data, **kwargs)
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
