"""The form: sheet names, labels, and where our template puts each field.

The reader does not use the positions here (it finds fields by their labels); the writer does,
and tests compare the two.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from .model import LEVELS, QUARTERS

TEMPLATE_VERSION = "perfxl-2021.1"
DATA_FORMAT: Final = "perfxl/1"
"""The version of the data-file format (``format:`` in YAML/JSON data files)."""
VERSION_PROPERTY = "perfxl_template_version"
UNIT_PROPERTY = "perfxl_unit_code"
OUTPUT_PROPERTY = "perfxl_output"
"""What perfxl wrote a book as, when it is not a book to fill in: a review book (``review``,
``perfxl validate DIR -o``) or a merged department book (``merge``)."""
OUTPUT_REVIEW, OUTPUT_MERGE = "review", "merge"

SHEET_GUIDE = "说明"
SHEET_DEPARTMENT = "部门整体"
SHEET_SUMMARY = "汇总"
SHEET_LISTS = "选项"
SHEET_RESULTS = "校验结果"
SHEET_SOURCES = "来源"
AUX_SHEETS = (SHEET_GUIDE, SHEET_SUMMARY, SHEET_LISTS)
PERFXL_SHEETS = (SHEET_RESULTS, SHEET_SOURCES)
"""Sheets perfxl adds to any book it annotates or merges; the reader never parses them."""

BASIS_OPTIONS = ("年度工作计划", "计划标准", "行业标准", "历史标准", "预算支出标准", "其他标准")
LEVEL1_OPTIONS = tuple(LEVELS)

# Project sheet, columns A..G (0-based indexes for the writer).
COLUMNS = 7
COLUMN_WIDTHS = (13, 15, 24, 18, 18, 16, 17)
ROW_TITLE, ROW_UNIT, ROW_CODE, ROW_BUDGET, ROW_PURPOSE, ROW_PLAN_HEAD, ROW_PLAN, ROW_GOALS, \
    ROW_HEADER = range(9)
FIRST_INDICATOR_ROW = ROW_HEADER + 1
SPARE_INDICATOR_ROWS = 5
BLANK_INDICATOR_ROWS = 15

# Plan quarters: (first column, last column) of each merged label/value cell.
PLAN_SPANS = ((1, 2), (3, 3), (4, 4), (5, 6))

LABEL_UNIT_CODE = "单位编码"
LABEL_UNIT_NAME = "单位名称"
LABEL_MONEY_UNIT = "单位:元"
LABEL_CODE = "项目编码"
LABEL_NAME = "项目名称"
LABEL_FUNDS = "预算规模及资金用途"
LABEL_BUDGET = "预算数"
LABEL_FISCAL = "其中:财政资金"
LABEL_OTHER = "其他资金"
LABEL_PLAN = "资金支出计划(%)"
LABEL_GOALS = "绩效目标"
INDICATOR_HEADERS = ("一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据")

# Department sheet labels.
LABEL_DEPT_NAME = "部门名称"
LABEL_DEPT_REGION = "地区"
LABEL_DEPT_YEAR = "年度"
LABEL_DEPT_TITLE = "文本标题"
LABEL_DECLARED = "部门预算总额(元)"
LABEL_OVERALL = "一、总体绩效目标"
LABEL_SCORING = "二、分项绩效目标"
LABEL_MEASURES = "三、工作保障措施"
LABEL_UNITS = "预算单位"
SCORING_HEADERS = ("序号", "考核内容", "市直部门分值", "县区分值", "主要内容")
LABEL_BONUS = "加分"
LABEL_BONUS_CAP = "加分上限"
LABEL_DEDUCTION = "扣分"

# Live checks (live.py): hidden cells from column AO, rows 1–4 of every checked sheet, and a
# visible status line; the reader leaves both out of the sheet it reads.
LIVE_COLUMN = 40
"""AO: the first hidden column of the live cells (right of any table and of the 汇总's chart data)."""
FIRST_TEST_COLUMN = LIVE_COLUMN + 2
LIVE_LAST_COLUMN = LIVE_COLUMN + 47
"""CK: the last of the hidden columns every writer hides for the live cells (they fit in AO:CK)."""
LIVE_ROWS = 4
STATUS_TITLE = "实时检查(随输入更新)"


def without_live_cells(rows: list[Any]) -> list[Any]:
    """A sheet's rows without perfxl's live cells (rows 1–4 from column AO, when they are ours)
    and its live status line (row 1): what the user typed is all the reader sees."""
    if len(rows) < 2 or len(rows[1]) <= FIRST_TEST_COLUMN:
        return rows
    marker = rows[1][FIRST_TEST_COLUMN]
    if not (isinstance(marker, str) and marker.startswith("PX")):
        return rows
    rows = list(rows)
    for r in range(min(LIVE_ROWS, len(rows))):
        row = list(rows[r][:LIVE_COLUMN])
        if r == 0:
            row = [None if isinstance(v, str) and v.startswith(STATUS_TITLE) else v for v in row]
        while row and row[-1] in (None, ""):
            row.pop()
        rows[r] = row
    return rows


_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def project_sheet_name(seq: int, name: str, taken: set[str]) -> str:
    """``1.行政审批等专家评审费``: Excel-legal (≤31 chars, no []:*?/\\, unique ignoring case).

    ``taken`` holds the names in use, case-folded; the new name is added to it (folded)."""
    base = _FORBIDDEN.sub("_", f"{seq}.{name}".strip()).strip("'") or f"{seq}."
    candidate = base[:31]
    n = 2
    while candidate.casefold() in taken:
        suffix = f"({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate.casefold())
    return candidate


@functools.lru_cache(maxsize=65536)
def a1(row: int, col: int) -> str:
    """0-based (row, col) → ``A1``."""
    return f"{column_letters(col)}{row + 1}"


_A1_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")


def parse_a1(ref: str) -> tuple[int, int] | None:
    """``C4`` / ``$C$4`` → 0-based (row, col); None when it is not a cell inside Excel's grid."""
    m = _A1_REF.fullmatch(ref.strip())
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2))
    return (row - 1, col - 1) if 1 <= row <= 1_048_576 and 1 <= col <= 16_384 else None


@functools.lru_cache(maxsize=1024)
def column_letters(col: int) -> str:
    """0-based column → ``A``, ``Z``, ``AA`` …"""
    letters = ""
    c = col + 1
    while c:
        c, rem = divmod(c - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


__all__ = ["LEVELS", "QUARTERS", "a1", "project_sheet_name"]


# --- where our template puts each field: the writer's cell map ---------------------------------

PROJECT_CELLS: dict[str, str | list[str]] = {
    "title": a1(ROW_TITLE, 0), "unit.code": a1(ROW_UNIT, 1), "unit.name": a1(ROW_UNIT, 3),
    "project.code": a1(ROW_CODE, 1), "project.name": a1(ROW_CODE, 4),
    "project.budget": a1(ROW_BUDGET, 2), "project.fiscal": a1(ROW_BUDGET, 4),
    "project.other": a1(ROW_BUDGET, 6), "project.purpose": a1(ROW_PURPOSE, 1),
    "project.plan": [a1(ROW_PLAN, c0) for c0, _ in PLAN_SPANS],
    "project.goals": a1(ROW_GOALS, 1),
}
INDICATOR_COLUMNS = {"level1": 0, "level2": 1, "level3": 2, "description": 3, "value": 5,
                     "basis": 6}


def department_rows(n_units: int, n_items: int, n_deductions: int) -> dict[str, int]:
    """0-based rows of the 部门整体 cells that findings and formulas point at."""
    declared = 5
    units_header = declared + 3
    overall = units_header + 1 + n_units + 2 + 1  # blank row, then the section label
    scoring_header = overall + 2 + 2 + 1          # paragraph, blank, label, intro paragraph
    total = scoring_header + 1 + (n_items or 7)
    bonus_cap = total + 2 + 3
    return {"declared": declared, "units_header": units_header, "scoring_header": scoring_header,
            "scoring_total": total, "bonus_cap": bonus_cap,
            "deductions": bonus_cap + 1, "measures": bonus_cap + 1 + n_deductions + 1 + 2}


def place(dept: Any) -> None:
    """Give every project its sheet name and every field its cell, as our template writes them.

    The writer uses these names; the reader finds the same addresses by label (a test checks
    both agree), so a book we write can be annotated without being read back.
    """
    taken = {n.casefold() for n in (*AUX_SHEETS, SHEET_DEPARTMENT)}
    for p in dept.projects:
        p.sheet = project_sheet_name(p.seq, p.name, taken)
        p.cells = {k: (list(v) if isinstance(v, list) else v) for k, v in PROJECT_CELLS.items()}
        p.amount_unit = "元"  # our sheets state 单位:元
        run_start = 0
        for j, ind in enumerate(p.indicators):
            if j == 0 or not ind.level1 or ind.level1 != p.indicators[j - 1].level1:
                run_start = j
            row = FIRST_INDICATOR_ROW + j
            ind.cells = {f: a1(row, c) for f, c in INDICATOR_COLUMNS.items()}
            ind.cells["level1"] = a1(FIRST_INDICATOR_ROW + run_start, 0)
    rows = department_rows(len(dept.units), len(dept.scoring.items), len(dept.scoring.deductions))
    dept.cells = {"department.total": a1(rows["declared"], 2)}
    if dept.scoring.items:
        dept.cells["department.scoring"] = a1(rows["scoring_total"], 2)
        dept.cells["department.bonus_cap"] = a1(rows["bonus_cap"], 2)
