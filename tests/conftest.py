"""Shared fixtures: the embedded data, the demo book, and paths into ../shared."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
sys.path.insert(0, str(Path(__file__).parent))  # test helpers: seedlayout, libreoffice


@pytest.fixture(scope="session")
def seed_data() -> dict[str, Any]:
    from perfxl.dataset import embedded_path

    data: dict[str, Any] = yaml.safe_load(embedded_path().read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from perfxl import embedded, populate

    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    populate(embedded(), path)
    return path


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice, which .ci/run installs; skipped only when .ci/run says it could not."""
    import os

    from libreoffice import soffice as find

    path = find()
    if path is None:
        reason = os.environ.get("PERFXL_SKIP_LIBREOFFICE")
        if reason:
            pytest.skip(f"LibreOffice not installed: {reason}")
        pytest.fail("LibreOffice (soffice) is not installed; .ci/run installs it "
                    "(or set PERFXL_SKIP_LIBREOFFICE=<reason> to skip these tests)")
    return path


def with_cross(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The books of a many-book JSON report with the cross-book findings (reported after every
    book, each naming its book) back in each book's report, as ``batch.validate_paths`` holds
    them."""
    books = [dict(b) for b in doc["books"]]
    by_name = {b["book"]: b for b in books}
    for entry in doc["cross_book"]:
        found = dict(entry)
        b = by_name[found.pop("book")]
        b["findings"] = [*b["findings"], found]
        b["counts"] = {**b["counts"], found["severity"]: b["counts"][found["severity"]] + 1}
        b["valid"] = b["counts"]["error"] == 0
    return books
