"""What a run over a province's books keeps of every book, in a temporary file instead of
memory: a line of the table of books, a link of the review book. Memory then stays flat however
many books (8 bytes an item, its place in the file)."""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import PerfxlError

T = TypeVar("T")


def temp_error(e: BaseException) -> PerfxlError:
    """A temporary file that cannot be written (a full or read-only temporary folder)."""
    return PerfxlError(f"临时文件夹无法写入({e}),无法继续;请腾出磁盘空间或设置 TMPDIR 后重试",
                       f"the temporary folder cannot be written ({e}); free disk space or set "
                       "TMPDIR and retry")


def on_disk(fn: Callable[[], T]) -> T:
    """``fn()``, a failure of its temporary file as :func:`temp_error`."""
    try:
        return fn()
    except OSError as e:
        raise temp_error(e) from None


class Spilled(Generic[T]):
    """A list that only grows, its items pickled into a temporary file as they come: read back
    in order (:meth:`__iter__`) or one by one (:meth:`__getitem__`). The file is removed when
    the list is closed or collected."""

    def __init__(self) -> None:
        self._file = on_disk(tempfile.TemporaryFile)
        self._at = array("q")
        self._end = 0

    def append(self, item: T) -> None:
        def write() -> None:
            self._file.seek(self._end)
            pickle.dump(item, self._file, pickle.HIGHEST_PROTOCOL)
            self._at.append(self._end)
            self._end = self._file.tell()
        on_disk(write)

    def __len__(self) -> int:
        return len(self._at)

    def __getitem__(self, i: int) -> T:
        def read() -> T:
            self._file.seek(self._at[i])
            item: T = pickle.load(self._file)
            return item
        return on_disk(read)

    def __iter__(self) -> Iterator[T]:
        for i in range(len(self._at)):  # an item appended meanwhile is read too
            yield self[i]

    def close(self) -> None:
        self._file.close()
