"""perfxl's XlsxWriter Workbook (perfxl/xlsx.py) writes the bytes stock XlsxWriter writes: wide
column ranges kept as ranges, rows written from the cells they hold, names checked by a set."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from xlsxwriter.exceptions import DuplicateWorksheetName

from perfxl.styles import BUILD_DATE
from perfxl.xlsx import Columns, workbook_class


def _book(cls: Any, path: Path) -> dict[str, bytes]:
    wb = cls(str(path), {"strings_to_formulas": False})
    wb.set_properties({"created": BUILD_DATE})
    free = wb.add_format({"locked": False})
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("项目")
    for c in range(7):
        ws.set_column(c, c, 10 + c)
    ws.set_column(7, 200, None, free)  # wide: one range
    ws.set_column(40, 45, None, bold, {"hidden": True})  # later, inside it: wins there
    ws.set_column(300, 16383, None, free)  # wide, to the last column
    ws.set_column(500, 500, 30)  # inside the wide range, after it
    ws.set_column(190, 310, None, bold)  # a wide range over the end of one and a gap
    for r in range(40):
        ws.write_string(r, 0, f"行{r}")
        if r % 3 == 0:
            ws.write_number(r, 41, r)  # no format: the column's
        if r in (0, 7, 14):
            ws.write_formula(r, 60, f"=SUM(A1:A{r + 1})", None, 0)
        if r == 20:
            ws.write_blank(r, 400, None, bold)
            ws.write_comment(r, 3, "注")
    ws.write_comment(33, 5, "只有注释的行")
    ws.set_row(35, 30)  # a row with a height and no cells
    ws.merge_range(2, 1, 3, 4, "合并", bold)
    wb.add_worksheet("二")
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_the_same_bytes_as_stock_xlsxwriter(tmp_path: Path) -> None:
    ours = _book(workbook_class(), tmp_path / "ours.xlsx")
    stock = _book(xlsxwriter.Workbook, tmp_path / "stock.xlsx")
    assert ours.keys() == stock.keys()
    for name in stock:
        assert ours[name] == stock[name], name
    sheet = stock["xl/worksheets/sheet1.xml"]
    assert b'max="16384"' in sheet and b'spans="1:61"' in sheet and b'spans="1:42"' in sheet


def _links(cls: Any, path: Path, *, ordered: bool = True) -> dict[str, bytes]:
    """A constant-memory book of external and internal links, in the order rows are written,
    or with the columns of a row written right to left and a cell's link written twice."""
    wb = cls(str(path), {"constant_memory": True, "strings_to_urls": False})
    wb.set_properties({"created": BUILD_DATE})
    link = wb.add_format({"font_color": "blue", "underline": 1})
    ws = wb.add_worksheet("问题")
    for r in range(1, 300):
        ws.write_string(r, 0, f"dept_{r % 7}.xlsx")
        cols = (8, 3) if not ordered and r % 5 == 0 else (3, 8)
        for c in cols:
            ws.write_url(r, c, f"external:../书 {r % 7}.xlsx#'{r}.项目'!C{r % 30 + 1}", link,
                         f"C{r % 30 + 1}")
        if not ordered and r == 10:
            ws.write_url(r, 8, "external:again.xlsx#A1", link, "A1")
        if r % 50 == 0:
            ws.write_url(r, 9, "internal:'问题'!A1", link, "顶部")
    wb.add_worksheet("工作簿").write_url(0, 0, "external:dept_1.xlsx", link, "dept_1.xlsx")
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("ordered", [True, False], ids=["in-order", "out-of-order"])
def test_links_kept_on_disk_write_the_same_bytes(tmp_path: Path, ordered: bool) -> None:
    ours = _links(workbook_class(), tmp_path / "ours.xlsx", ordered=ordered)
    stock = _links(xlsxwriter.Workbook, tmp_path / "stock.xlsx", ordered=ordered)
    assert ours.keys() == stock.keys()
    for name in stock:
        assert ours[name] == stock[name], name
    rels = stock["xl/worksheets/_rels/sheet1.xml.rels"]
    assert rels.count(b"<Relationship ") == 299 * 2  # a cell linked twice keeps its last link


def test_links_wait_on_disk_not_in_memory(tmp_path: Path) -> None:
    wb = workbook_class()(str(tmp_path / "b.xlsx"), {"constant_memory": True})
    ws = wb.add_worksheet("问题")
    for r in range(1, 1000):
        ws.write_url(r, 8, f"external:dept_{r}.xlsx#'1.项目'!B3", None, "B3")
    assert not ws.hyperlinks  # XlsxWriter would hold 999 links here
    wb.close()
    with zipfile.ZipFile(tmp_path / "b.xlsx") as z:
        assert z.read("xl/worksheets/sheet1.xml").count(b"<hyperlink ") == 999


def test_columns_later_settings_win() -> None:
    cols = Columns()
    cols[3] = "a"
    cols.set_range(0, 99, "wide")
    assert cols[3] == "wide" and 150 not in cols and cols.get(150, "none") == "none"
    cols[5] = "b"
    cols.set_range(90, 120, "c")
    assert cols[5] == "b" and cols[95] == "c" and cols.get(89) == "wide"
    assert cols.runs() == [(0, 4, "wide"), (5, 5, "b"), (6, 89, "wide"), (90, 120, "c")]
    with pytest.raises(KeyError):
        cols[121]


def test_a_sheet_name_used_twice_is_refused(tmp_path: Path) -> None:
    wb = workbook_class()(str(tmp_path / "x.xlsx"))
    wb.add_worksheet("表A")
    with pytest.raises(DuplicateWorksheetName):
        wb.add_worksheet("表a")
    wb.close()
