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
