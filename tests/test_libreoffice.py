"""Checks with a real spreadsheet application: LibreOffice opens, recalculates and prints our books."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.libreoffice


def test_cached_totals_equal_recalculated(demo_book: Path, soffice: str) -> None:
    import openpyxl
    from libreoffice import recalculated_values

    cached = openpyxl.load_workbook(demo_book, data_only=True)["部门整体"]
    values = recalculated_values(demo_book, "部门整体")
    totals = [(r, row) for r, row in enumerate(values) if len(row) > 1 and row[1] == "合计"]
    assert len(totals) == 1
    r, row = totals[0]
    assert row[2:4] == [100, 100]
    assert [cached.cell(r + 1, 3).value, cached.cell(r + 1, 4).value] == [100, 100]


def test_demo_book_prints_one_page_per_sheet(demo_book: Path, soffice: str,
                                            tmp_path: Path) -> None:
    import subprocess

    from libreoffice import convert

    pdf = convert(demo_book, "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(line.split()[-1] for line in info.stdout.splitlines()
                     if line.startswith("Pages:")))
    assert pages == 10  # 说明, 部门整体, seven projects, 汇总: each fits one A4 page
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "行政审批等专家评审费绩效目标表" in text and "130303216DIAX82DQONDM" in text


def test_summary_recalculated_by_libreoffice_equals_cached(tmp_path: Path, soffice: str) -> None:
    """The 汇总 formulas, recalculated by a real spreadsheet, give our cached values; an edit of
    a project's 预算数 (saved without cached values, as openpyxl does) moves the totals."""
    import openpyxl
    from libreoffice import recalculated_values

    from perfxl import embedded
    from perfxl.populate import department_book

    book = tmp_path / "book.xlsx"
    department_book(embedded(), book)
    cached = openpyxl.load_workbook(book, data_only=True)["汇总"]
    recalculated = recalculated_values(book, "汇总")
    compared = 0
    for row in cached.iter_rows(min_row=5, max_col=15):
        for c in row:
            if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                assert recalculated[c.row - 1][c.column - 1] == pytest.approx(c.value), c.coordinate
                compared += 1
    assert compared > 100

    wb = openpyxl.load_workbook(book)
    wb["1.行政审批等专家评审费"]["C4"] = 90000
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    values = recalculated_values(edited, "汇总")
    total = next(r for r in values if r and r[0] == "合计")
    assert total[5] == 1110000
    diff = next(r for r in values if r and r[0] == "差额 (计算合计 − 申报总额)")
    assert diff[5] == 60000  # live: 计算合计 − 申报总额
