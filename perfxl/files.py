"""Files: the inputs a command is given, and writing outputs without losing data (temp file in
the target folder, fsync, then rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import ReadError, WriteError

BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".et", ".ods")


def collect(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded to their workbooks (``BOOK_SUFFIXES``, sorted), without
    Excel's ``~$`` owner files. Missing paths raise."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and
                          f.suffix.lower() in BOOK_SUFFIXES and not f.name.startswith(("~$", ".")))
        elif p.exists():
            out.append(p)
        else:
            raise ReadError(f"找不到输入: {p}", f"input not found: {p}")
    return out


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    A crash, an exception or a full disk leaves any existing ``target`` untouched.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError(f"输出目录不存在: {folder}", f"output folder does not exist: {folder}")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except PermissionError:
        raise WriteError(f"无法写入 {target}:文件可能正在 Excel 中打开,请关闭后重试",
                         f"cannot write {target}: it may be open in Excel") from None
    except OSError as e:
        raise WriteError(f"无法写入 {target}: {e.strerror}", f"cannot write {target}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def backup(path: str | Path) -> Path:
    """Copy a book before changing it in place: ``<name>.perfxl-backup<suffix>`` beside it.

    Refuses while Excel has the book open (its ``~$`` owner file is beside it).
    """
    import shutil

    from .errors import PerfxlError

    p = Path(path)
    if p.with_name("~$" + p.name).exists():
        raise PerfxlError(f"{p.name} 正在 Excel 中打开,请关闭后重试",
                          f"{p.name} is open in Excel; close it first")
    target = p.with_name(f"{p.stem}.perfxl-backup{p.suffix}")
    try:
        shutil.copy2(p, target)
    except OSError as e:
        raise WriteError(f"无法备份 {p.name}: {e.strerror}", f"cannot back up {p.name}") from None
    return target
