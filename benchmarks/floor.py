"""The parse floor: unzip and expat-parse every sheet and shared-strings part of the books.

No reader can do less work than this and still see every cell; perfxl's times are reported as
ratios to it.
"""

from __future__ import annotations

import sys
import xml.parsers.expat
import zipfile
from pathlib import Path


def parse_floor(paths: list[Path]) -> int:
    """Unzip and expat-parse every worksheet and sharedStrings part (no handlers: the least work
    that touches every byte of every cell); returns the number of bytes parsed."""
    size = 0
    for path in paths:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/sheet") or name == "xl/sharedStrings.xml":
                    data = z.read(name)
                    xml.parsers.expat.ParserCreate().Parse(data, True)
                    size += len(data)
    return size


if __name__ == "__main__":
    import time

    books = sorted(Path(sys.argv[1]).glob("*.xlsx"))
    t = time.perf_counter()
    n = parse_floor(books)
    print(f"{len(books)} books, {n} bytes of XML, {time.perf_counter() - t:.3f} s")
