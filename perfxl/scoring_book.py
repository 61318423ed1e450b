"""Write the department's 考核 scoring book (``perfxl scoring``): 说明 and the 考核评分 sheet.

The sheet is written by :func:`scoring_sheet` into any XlsxWriter workbook (house style: styles.py,
the fixed build date). The scheme (items and their points in both variants, the bonus range
and cap, the deduction points) is carried from the 部门整体 sheet and locked; the variant, each
item's 得分 with its note, and the bonus and deduction events are typed in. 分值 follows the
variant, and the subtotals, the bonus that counts (at most the cap) and 总分 are formulas with
their cached values; the checks of ``scoring.py`` are conditional formats on the cells they read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from . import layout as L
from . import scoring as S
from .files import atomic_path
from .formula import absolute
from .layout import a1
from .rules import RULES, RulesConfig
from .styles import BUILD_DATE, FONT, LABEL_FILL, Styles, row_height

if TYPE_CHECKING:
    from collections.abc import Callable

    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from .files import Given
    from .model import Department

WIDTHS = (6, 24, 56, 11, 11, 8, 10, 28)
COL_SEQ, COL_ITEM, COL_CONTENT, COL_CITY, COL_COUNTY, COL_POINTS, COL_SCORE, COL_NOTE = range(8)
ROW_TITLE, ROW_SCHEME, ROW_DEDUCTION_POINTS = 0, 1, 2
# the scheme line: 考核口径 [variant] 每次加分 [min] 至 [max] 最多加分 [cap]
COL_VARIANT, COL_BONUS_MIN, COL_BONUS_MAX, COL_BONUS_CAP = 1, 3, 5, 7
_PROTECTION = {"format_columns": True, "format_rows": True, "select_locked_cells": True,
               "select_unlocked_cells": True}


def write_scoring(path: str | Path, dept: Department, assessment: S.Assessment, *,
                  inputs: Given = (), force: bool = False,
                  config: RulesConfig | None = None) -> Path:
    """Write the scoring book of ``dept`` (atomically, never over one of ``inputs``)."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path, inputs, force=force) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                            "strings_to_urls": False,
                                            "strings_to_numbers": False})
        title = S.title(dept)
        wb.set_properties({"title": title, "author": "perfxl", "created": BUILD_DATE})
        wb.set_custom_property(L.OUTPUT_PROPERTY, S.FORM)
        st = Styles(wb)
        scoring_sheet(wb, st, title, assessment, dept.scoring.bonus_text,
                      [f"每次扣 {d.points} 分:{d.event}" for d in dept.scoring.deductions],
                      config)
        wb.close()
    return path


def scoring_sheet(wb: Workbook, st: Styles, title: str, a: S.Assessment, bonus_text: str = "",
                  deduction_texts: list[str] | None = None,
                  cfg: RulesConfig | None = None) -> Worksheet:
    """The 考核评分 sheet of ``a`` in ``wb``; ``a.cells`` gets the cells of its totals. Its
    marks take their severities from ``cfg`` (the rules file)."""
    cfg = cfg or RulesConfig()
    ws = wb.add_worksheet(S.SHEET)
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)
    last = len(WIDTHS) - 1
    boxed = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True,
             "border": 1}
    carried = wb.add_format({**boxed, "bg_color": LABEL_FILL, "align": "center"})
    carried_left = wb.add_format({**boxed, "bg_color": LABEL_FILL})
    computed = wb.add_format({**boxed, "bg_color": LABEL_FILL, "align": "center",
                              "num_format": "0.##"})
    score = wb.add_format({**boxed, "locked": False, "align": "center", "num_format": "0.##"})

    ws.merge_range(ROW_TITLE, 0, ROW_TITLE, last, title, st.title)
    ws.set_row(ROW_TITLE, 32)
    r = ROW_SCHEME
    ws.write_string(r, 0, S.LABEL_VARIANT, st.label)
    ws.write_string(r, COL_VARIANT, a.variant, st.text_center)
    ws.data_validation(r, COL_VARIANT, r, COL_VARIANT, {
        "validate": "list", "source": list(S.VARIANTS), "error_type": "stop",
        "error_title": S.LABEL_VARIANT, "error_message": "请选择:市直部门 或 县区。"})
    ws.write_string(r, 2, S.LABEL_BONUS_RANGE, st.label)
    ws.write_number(r, COL_BONUS_MIN, float(a.bonus_min), carried)
    ws.write_string(r, 4, "至", st.label)
    ws.write_number(r, COL_BONUS_MAX, float(a.bonus_max), carried)
    ws.write_string(r, 6, S.LABEL_BONUS_CAP, st.label)
    ws.write_number(r, COL_BONUS_CAP, float(a.bonus_cap), carried)
    ws.set_row(r, 24)
    r = ROW_DEDUCTION_POINTS
    ws.write_string(r, 0, S.LABEL_DEDUCTION_POINTS, st.label)
    ws.write_string(r, 1, "、".join(S.fmt_plain(d) for d in a.deduction_points), carried)
    ws.set_row(r, 24)
    variant = absolute(a1(ROW_SCHEME, COL_VARIANT))
    low, high = absolute(a1(ROW_SCHEME, COL_BONUS_MIN)), absolute(a1(ROW_SCHEME, COL_BONUS_MAX))
    cap = absolute(a1(ROW_SCHEME, COL_BONUS_CAP))

    r = 4
    heads = ("序号", S.LABEL_ITEM, "考核内容", f"分值({S.CITY})", f"分值({S.COUNTY})", "分值",
             S.LABEL_SCORE, "评分说明")
    for c, h in enumerate(heads):
        ws.write_string(r, c, h, st.header)
    ws.set_row(r, 28)
    first = r + 1
    for k, item in enumerate(a.items):
        r += 1
        ws.write_string(r, COL_SEQ, f"({_cn(k + 1)})", carried)
        ws.write_string(r, COL_ITEM, item.name, carried_left)
        ws.write_string(r, COL_CONTENT, item.content, carried_left)
        ws.write_number(r, COL_CITY, item.points_city, carried)
        ws.write_number(r, COL_COUNTY, item.points_county, carried)
        points = a1(r, COL_POINTS)
        ws.write_formula(r, COL_POINTS, f'=IF({variant}="{S.COUNTY}",{a1(r, COL_COUNTY)},'
                         f'{a1(r, COL_CITY)})', computed, item.points(a.variant))
        _number(ws, r, COL_SCORE, item.score, score)
        ws.write_string(r, COL_NOTE, item.note, st.text)
        ws.set_row(r, row_height((item.content, WIDTHS[COL_CONTENT] - 12),
                                 (item.name, WIDTHS[COL_ITEM]), (item.note, WIDTHS[COL_NOTE])))
        item.cells = {"score": a1(r, COL_SCORE), "points": points, "note": a1(r, COL_NOTE)}
        _mark(ws, st, cfg, "scoring-score-out-of-range", r, COL_SCORE,
              S.score_formula(absolute(a1(r, COL_SCORE)),
                                                    absolute(points)))
    end = r
    r += 1
    ws.merge_range(r, 0, r, 2, S.LABEL_SUBTOTAL, st.total)
    for c, cached in ((COL_CITY, sum(i.points_city for i in a.items)),
                      (COL_COUNTY, sum(i.points_county for i in a.items)),
                      (COL_POINTS, sum(i.points(a.variant) for i in a.items)),
                      (COL_SCORE, a.score())):
        ws.write_formula(r, c, f"=SUM({a1(first, c)}:{a1(end, c)})", st.total, _cached(cached))
    ws.write_blank(r, COL_NOTE, None, st.total)
    subtotal = a1(r, COL_SCORE)
    a.cells = {"sheet": S.SHEET, "variant": a1(ROW_SCHEME, COL_VARIANT), "score": subtotal}

    r += 2
    bonus_total, r = _events(ws, st, cfg, score, r, S.LABEL_BONUS, "加分", a.bonuses,
                             bonus_text, S.LABEL_BONUS_TOTAL, a.bonus_total(),
                             "scoring-bonus-out-of-range",
                             lambda ref: S.bonus_formula(ref, low, high))
    _mark(ws, st, cfg, "scoring-bonus-over-cap", *_rc(bonus_total),
          S.bonus_cap_formula(absolute(bonus_total), cap))
    r += 1
    ws.merge_range(r, 0, r, COL_POINTS, f"{S.LABEL_BONUS_COUNTED}(不超过最多加分)", st.total)
    counted = a1(r, COL_SCORE)
    ws.write_formula(r, COL_SCORE, f"=MIN({bonus_total},{cap})", st.total,
                     _cached(a.bonus_counted()))
    ws.write_blank(r, COL_NOTE, None, st.total)
    allowed = a.deduction_points
    r += 2
    deduction_total, r = _events(ws, st, cfg, score, r, S.LABEL_DEDUCTION, "扣分",
                                 a.deductions, "\n".join(deduction_texts or ()),
                                 S.LABEL_DEDUCTION_TOTAL, a.deduction_total(),
                                 "scoring-deduction-not-allowed",
                                 lambda ref: S.deduction_formula(ref, allowed))
    r += 2
    ws.merge_range(r, 0, r, COL_POINTS, f"{S.LABEL_TOTAL}(得分小计 + 计入的加分 − 扣分合计)",
                   st.total)
    total = a1(r, COL_SCORE)
    ws.write_formula(r, COL_SCORE, f"={subtotal}+{counted}-{deduction_total}", st.total,
                     _cached(a.total()))
    ws.write_blank(r, COL_NOTE, None, st.total)
    ws.set_row(r, 24)
    a.cells |= {"bonus_total": bonus_total, "bonus_counted": counted,
                "deduction_total": deduction_total, "total": total}

    ws.freeze_panes(ROW_DEDUCTION_POINTS + 1, 0)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.print_area(0, 0, r, last)
    ws.set_footer("&C第 &P 页,共 &N 页")
    ws.protect("", _PROTECTION)
    return ws


def _events(ws: Worksheet, st: Styles, cfg: RulesConfig, score: Format, r: int, label: str,
            points_head: str, events: list[S.Event], scheme: str, total_label: str,
            cached: Decimal, slug: str, check: Callable[[str], str]) -> tuple[str, int]:
    """A list of bonus or deduction events with its total; (the total's cell, its row)."""
    last = len(WIDTHS) - 1
    ws.merge_range(r, 0, r, last, label, st.section)
    ws.set_row(r, 22)
    if scheme:
        r += 1
        ws.merge_range(r, 0, r, last, scheme, st.note)
        ws.set_row(r, row_height((scheme, float(sum(WIDTHS)))))
    r += 1
    ws.write_string(r, COL_SEQ, "序号", st.header)
    ws.merge_range(r, COL_ITEM, r, COL_POINTS, "事项", st.header)
    ws.write_string(r, COL_SCORE, points_head, st.header)
    ws.write_string(r, COL_NOTE, "说明", st.header)
    first = r + 1
    for k, e in enumerate(events, start=1):
        r += 1
        ws.write_number(r, COL_SEQ, k, st.cell_center)
        ws.merge_range(r, COL_ITEM, r, COL_POINTS, e.event, st.text)
        _number(ws, r, COL_SCORE, e.points, score)
        ws.write_string(r, COL_NOTE, e.note, st.text)
        ws.set_row(r, row_height((e.event, float(sum(WIDTHS[1:6]))), minimum=22))
        e.cells = {"event": a1(r, COL_ITEM), "points": a1(r, COL_SCORE), "note": a1(r, COL_NOTE)}
        _mark(ws, st, cfg, slug, r, COL_SCORE, check(absolute(a1(r, COL_SCORE))))
    r += 1
    ws.merge_range(r, 0, r, COL_POINTS, total_label, st.total)
    ref = a1(r, COL_SCORE)
    ws.write_formula(r, COL_SCORE, f"=SUM({a1(first, COL_SCORE)}:{a1(r - 1, COL_SCORE)})",
                     st.total, _cached(cached))
    ws.write_blank(r, COL_NOTE, None, st.total)
    return ref, r


def _rc(ref: str) -> tuple[int, int]:
    at = L.parse_a1(ref)
    assert at is not None
    return at


def _mark(ws: Worksheet, st: Styles, cfg: RulesConfig, slug: str, r: int, c: int,
          condition: str) -> None:
    """The live mark of rule ``slug`` in its severity from the rules file (none when off)."""
    severity = cfg.severity(RULES[slug])
    if severity != "off":
        ws.conditional_format(r, c, r, c, {"type": "formula", "criteria": f"={condition}>0",
                                           "format": st.marks[severity]})


def _number(ws: Worksheet, r: int, c: int, value: Decimal | None, fmt: Format) -> None:
    if value is None:
        ws.write_blank(r, c, None, fmt)
    else:
        ws.write_number(r, c, float(value), fmt)


def _cached(d: Decimal | int) -> float | int:
    return int(d) if d == int(d) else float(d)


def _cn(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else str(n)
