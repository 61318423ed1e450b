"""The 校验结果 sheet of an annotated book: a title, the book's live totals (a formula over its
names, when it has live checks), the last full check's line, and a filterable table with a
frozen header, one row per finding (marks.result_row) with its status and a link to its cell."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from .. import layout as L
from ..findings import ERROR
from ..marks import (
    CELL_COLUMN,
    LIVE_ROW,
    RESULT_COLUMNS,
    RESULT_HEADER_ROW,
    RESULT_SHEET,
    STATUS_COLUMN,
    SUMMARY_ROW,
    ResultSummary,
    Status,
    live_totals,
    place,
    quote_sheet,
    result_row,
    status,
)
from ..ooxml import CT_WORKSHEET, MAIN, R
from ..styles import argb, text_lines
from .package import XML_SPACE, _el, _Package, _qname, _set_override, _xml_text
from .workbook import _a1, _Book, _column, _Located, _Styles


def _place(loc: _Located) -> str:
    """Where the finding's mark is (a merged cell's top-left), else where it points."""
    if loc.sheet is not None and loc.cell is not None:
        return place(loc.finding, loc.sheet.name, _a1(loc.cell))
    return place(loc.finding)


def _add_result_sheet(pkg: _Package, book: _Book, located: Sequence[_Located], styles: _Styles,
                      summary: ResultSummary, *, position: int,
                      statuses: dict[int, str] | None = None,
                      live_counts: tuple[int, int] | None = None,
                      totals: dict[str, str] | None = None) -> None:
    """Insert 校验结果 at ``position``; ``statuses``: the live status formula of a finding (by
    its index in ``located``); ``live_counts``: the book's live totals now (None: the book has
    no live checks, so no line of them); ``totals``: the hidden cells of the book's live totals
    (live.book_totals) that the workbook names refer to."""
    folder = posixpath.dirname(book.part)
    part = pkg.free_name(posixpath.join(folder, "worksheets", "sheet{}.xml"))
    pkg.put_xml(part, _result_sheet(located, styles, summary, statuses or {}, live_counts,
                                    totals or {}))
    _set_override(pkg, part, CT_WORKSHEET)
    book.insert_sheet(position, RESULT_SHEET, part)
    last = RESULT_HEADER_ROW + len(located)
    sheet = quote_sheet(RESULT_SHEET)
    book.add_local_name("_xlnm._FilterDatabase", position,
                        f"{sheet}!$A${RESULT_HEADER_ROW}:${_column(len(RESULT_COLUMNS))}${last}", hidden=True)
    book.add_local_name("_xlnm.Print_Titles", position, f"{sheet}!${RESULT_HEADER_ROW}:${RESULT_HEADER_ROW}",
                        hidden=False)


def _row_values(loc: _Located, state: Status) -> list[Any]:
    return result_row(loc.finding, _place(loc), state)


def _result_sheet(located: Sequence[_Located], styles: _Styles, summary: ResultSummary,
                  statuses: dict[int, str], live_counts: tuple[int, int] | None,
                  totals: dict[str, str]) -> Any:
    """The 校验结果 worksheet: title, live totals, summary, and a filterable table with frozen
    header."""
    ws = etree.Element(f"{{{MAIN}}}worksheet", nsmap={None: MAIN, "r": R})
    last = RESULT_HEADER_ROW + len(located)
    last_col = _column(len(RESULT_COLUMNS))
    ws.append(_el(ws, "sheetPr", _el(ws, "tabColor", rgb=argb(summary.tab)),
                  _el(ws, "pageSetUpPr", fitToPage="1")))
    ws.append(_el(ws, "dimension", ref=f"A1:{last_col}{last}"))
    first_body = f"A{RESULT_HEADER_ROW + 1}"
    ws.append(_el(ws, "sheetViews", _el(
        ws, "sheetView",
        _el(ws, "pane", ySplit=str(RESULT_HEADER_ROW), topLeftCell=first_body, activePane="bottomLeft",
            state="frozen"),
        _el(ws, "selection", pane="bottomLeft", activeCell=first_body, sqref=first_body),
        tabSelected="1", workbookViewId="0")))
    ws.append(_el(ws, "sheetFormatPr", defaultRowHeight="15"))
    hidden = [(L.parse_a1(ref) or (0, 0))[1] + 1 for ref in totals]  # the book's live totals
    ws.append(_el(ws, "cols", *(_el(ws, "col", min=str(i), max=str(i), width=str(width),
                                    customWidth="1")
                                for i, (_, width) in enumerate(RESULT_COLUMNS, start=1)),
                  *(_el(ws, "col", min=str(i), max=str(i), width="9", hidden="1")
                    for i in sorted(hidden))))
    data = _el(ws, "sheetData")
    ws.append(data)
    xf = styles.xf
    _add_row(data, 1, [(RESULT_SHEET, xf["title"])], height="24")
    if live_counts is not None:
        formula, text = live_totals(*live_counts)
        row = _add_row(data, LIVE_ROW, [(Status(formula, text), xf["summary-live"])])
        for (ref, total), value in zip(totals.items(), live_counts, strict=False):
            c = etree.SubElement(row, _qname(data, "c"), r=ref, s=str(xf["live"]))
            etree.SubElement(c, _qname(data, "f")).text = total.lstrip("=")
            etree.SubElement(c, _qname(data, "v")).text = str(value)
    _add_row(data, SUMMARY_ROW, [(summary.text, xf[summary.role])])
    _add_row(data, RESULT_HEADER_ROW, [(name, xf["header"]) for name, _ in RESULT_COLUMNS])
    links = _el(ws, "hyperlinks")
    for number, loc in enumerate(located, start=1):
        state = status(statuses.get(number - 1))
        link = _finding_row(data, RESULT_HEADER_ROW + number, number, loc, state, xf)
        if link is not None:
            links.append(link)
    ws.append(_el(ws, "autoFilter", ref=f"A{RESULT_HEADER_ROW}:{last_col}{last}"))
    if len(links):
        ws.append(links)
    ws.append(_el(ws, "pageMargins", left="0.4", right="0.4", top="0.6", bottom="0.6",
                  header="0.3", footer="0.3"))
    ws.append(_el(ws, "pageSetup", paperSize="9", orientation="landscape", fitToHeight="0"))
    return ws


def _finding_row(data: Any, row: int, number: int, loc: _Located, state: Status,
                 xf: dict[str, int]) -> Any:
    """One finding as a table row; returns its hyperlink (None when it has no cell to go to)."""
    values: list[Any] = [number, *_row_values(loc, state)]
    roles = ["number", "error" if loc.finding.severity == ERROR else "warning"]
    roles += ["text"] * (len(values) - len(roles))
    roles[STATUS_COLUMN - 1] = "status"
    link = None
    if loc.sheet is not None and loc.cell is not None:
        roles[CELL_COLUMN - 1] = "link"
        link = _el(data, "hyperlink", ref=f"{_column(CELL_COLUMN)}{row}",
                   location=f"{quote_sheet(loc.sheet.name)}!{_a1(loc.cell)}",
                   display=str(values[CELL_COLUMN - 1]))
    lines = max(text_lines(value.text if isinstance(value, Status) else str(value), width - 1.5)
                for value, (_, width) in zip(values, RESULT_COLUMNS, strict=True))
    _add_row(data, row, [(value, xf[role]) for value, role in zip(values, roles, strict=True)],
             height=str(15 * lines) if lines > 1 else "")
    return link


def _add_row(data: Any, row: int, cells: Sequence[tuple[Any, int]], *,
             height: str = "") -> Any:
    """A row of cells; text as inline strings, so sharedStrings.xml stays as it is and a value
    starting with ``=`` is text, never a formula; a :class:`Status` with a formula is that
    formula with its value."""
    el = etree.SubElement(data, _qname(data, "row"), r=str(row))
    if height:
        el.set("ht", height)
        el.set("customHeight", "1")
    for col, (value, style) in enumerate(cells, start=1):
        c = etree.SubElement(el, _qname(data, "c"), r=f"{_column(col)}{row}", s=str(style))
        if isinstance(value, Status):
            if value.formula is None:
                value = value.text
            else:
                c.set("t", "str")
                etree.SubElement(c, _qname(data, "f")).text = value.formula.lstrip("=")
                etree.SubElement(c, _qname(data, "v")).text = _xml_text(value.text)
                continue
        if isinstance(value, int):
            etree.SubElement(c, _qname(data, "v")).text = str(value)
        elif value:
            c.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(c, _qname(data, "is")), _qname(data, "t"))
            t.text = _xml_text(value)
            if value != value.strip():
                t.set(XML_SPACE, "preserve")
    return el
