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
    from perfxl.pipeline import department_book

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


def _flat(text: str) -> str:
    return "".join(text.split())


def test_guide_fits_the_page_width(tmp_path: Path, soffice: str) -> None:
    from libreoffice import pdf_texts, pdf_words, sheet_pdf

    from perfxl import write_book

    book = tmp_path / "t.xlsx"
    write_book(book)
    pdf = sheet_pdf(book, "说明", tmp_path)
    [((width, _), words)] = pdf_words(pdf)  # one page
    margin = 0.5 * 72
    assert min(w[0] for w in words) >= margin - 1 and max(w[2] for w in words) <= width - margin + 1
    text = _flat(pdf_texts(pdf)[0])
    assert "8.填写完成后" in text and "工作表逐条修改。" in text and "模板版本" in text


def test_summary_charts_do_not_straddle_a_page_break(tmp_path: Path, soffice: str) -> None:
    """22 projects: the table fills the first page, the charts are whole on the next one
    (placed under the table, they began at the foot of the first page)."""
    import random

    from libreoffice import pdf_texts, sheet_pdf

    from benchmarks.generate import department
    from perfxl.pipeline import department_book

    dept = department(22, 22, random.Random(22))
    book = tmp_path / "d.xlsx"
    department_book(dept, book)
    pages = [_flat(t) for t in pdf_texts(sheet_pdf(book, "汇总", tmp_path))]
    assert len(pages) >= 2
    charts = [i for i, t in enumerate(pages) if "各项目预算数" in t]
    assert len(charts) == 1
    page = pages[charts[0]]
    assert "资金支出计划(累计,元)" in page and "12月底" in page
    assert all(_flat(f"{u.code} {u.name}") in page for u in dept.units)  # the legend, below
    assert not any(p.code in page for p in dept.projects)  # a page of its own
    assert all(p.code in "".join(pages[:charts[0]]) for p in dept.projects)


def test_demo_summary_prints_table_and_charts_on_one_page(demo_book: Path, tmp_path: Path,
                                                          soffice: str) -> None:
    from libreoffice import pdf_texts, sheet_pdf

    [page] = [_flat(t) for t in pdf_texts(sheet_pdf(demo_book, "汇总", tmp_path))]
    assert "各项目预算数" in page and "资金支出计划(累计,元)" in page and "合计" in page


def test_review_book_prints_every_column_on_each_page(tmp_path: Path, soffice: str) -> None:
    """The review book of 20 books: landscape, fit to the width, the header on every page."""
    import random

    from click.testing import CliRunner
    from libreoffice import pdf_words, sheet_pdf

    from benchmarks.generate import department
    from perfxl.cli import main
    from perfxl.pipeline import department_book
    from perfxl.review import BOOKS, FINDINGS

    folder = tmp_path / "books"
    folder.mkdir()
    for i in range(20):
        department_book(department(i, 4 + i % 6, random.Random(i)), folder / f"dept_{i:02}.xlsx")
    review = tmp_path / "review.xlsx"
    r = CliRunner().invoke(main, ["validate", str(folder), "-o", str(review)])
    assert r.exit_code in (0, 1) and review.is_file(), r.output
    for sheet, header, most in (("工作簿", BOOKS, 1), ("问题", FINDINGS, 20)):
        pages = pdf_words(sheet_pdf(review, sheet, tmp_path / sheet))
        assert 1 <= len(pages) <= most, (sheet, len(pages))
        for (width, _), words in pages:
            assert max(w[2] for w in words) <= width
            top = min(w[1] for w in words)
            first_line = {w[4] for w in words if w[1] - top < 5}
            assert set(header) <= first_line, (sheet, set(header) - first_line)


def test_one_sheet_of_a_book_saved_by_libreoffice_prints_alone(demo_book: Path, soffice: str,
                                                               tmp_path: Path) -> None:
    """LibreOffice writes a print area's localSheetId before its name; the other sheets' print
    areas must still go (a hidden sheet with a print area is printed), as for our own books."""
    from libreoffice import convert, pdf_texts, sheet_pdf

    saved = convert(demo_book, "xlsx", tmp_path / "saved")
    sheet = "7.青龙帮扶杨树底下村修桥资金"
    pages = [_flat(t) for t in pdf_texts(sheet_pdf(saved, sheet, tmp_path / "pdf"))]
    assert len(pages) == 1
    assert sheet + "绩效目标表" in pages[0]
