"""Render a workbook to PNG pages with LibreOffice (formulas recalculated).

Usage: python tools/render.py BOOK.xlsx OUTDIR [--sheet NAME] [--dpi 80]
Prints the paths of the PNG files, one per line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The helper lives in tests/ (shared with the test-suite); import it by path so
# this works from any working directory.
_TESTS = Path(__file__).resolve().parent.parent / "tests"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", type=Path, help="workbook (.xlsx, .xlsm, .ods, .xls)")
    parser.add_argument("outdir", type=Path, help="directory for the PNG pages")
    parser.add_argument("--sheet", help="render only this sheet")
    parser.add_argument("--dpi", type=int, default=80, help="resolution (default 80)")
    parser.add_argument(
        "--single-page",
        action="store_true",
        help="one page per sheet instead of the print layout",
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds per step (default 120)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(_TESTS))
    from libreoffice import render_png

    try:
        pages = render_png(
            args.book,
            args.outdir,
            sheet=args.sheet,
            dpi=args.dpi,
            single_page=args.single_page,
            timeout=args.timeout,
        )
    except (OSError, KeyError, RuntimeError, ValueError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    for page in pages:
        print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
