"""Validating a province's books on a Dask cluster (``pip install 'perfxl[dask]'``).

The same engine as ``batch.validate_paths``, with Dask tasks in place of local worker
processes: the books are split into chunks, each chunk is one task that reads its books in the
worker and checks them together (pandera once per table per chunk), and only each book's report
and totals come back. The cross-book check and the review book run here, on the driver, over
those small results. So the workers can be many machines reading a shared folder or an object
store, and the report is the one ``perfxl validate FOLDER`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .batch import BATCH, BookResult, CrossBook, check_read, few_collections
from .errors import PerfxlError, ReadError
from .rules import RulesConfig

if TYPE_CHECKING:
    from distributed import Client

    from .model import Department


def validate_on_dask(books: Sequence[str | Path], config: RulesConfig | None = None, *,
                     client: Client | None = None, chunk: int = 0,
                     review: str | Path | None = None, force: bool = False) -> list[BookResult]:
    """Validate ``books`` on the Dask cluster of ``client`` (default: the current client).

    A book is a local path the workers can read (a shared folder; ``files.collect`` expands a
    folder as the command does) or a URL that fsspec opens (``s3://…`` with s3fs installed,
    ``gs://…``, ``https://…``, ``file://…``). ``chunk`` books make one task (0: as many as
    keep every worker thread busy twice over, at most ``batch.BATCH``; 1: one task per book).

    Returns one ``BookResult`` per book in the order given, as ``validate_paths`` does: a book
    that cannot be read keeps its error sentence; the cross-book check is applied. With
    ``review``, the review book is written there too (never over one of the local books; over
    an existing file only with ``force``).
    """
    if chunk < 0:
        raise PerfxlError(f"chunk 不能为负数: {chunk}", f"chunk must be 0 or more: {chunk}")
    cfg = config or RulesConfig()
    books = list(books)
    results: list[BookResult] = []
    if books:
        client = client or _current_client()
        _check_protocols(books)
        threads = sum(client.nthreads().values()) or 1
        size = chunk or max(1, min(BATCH, -(-len(books) // (threads * 2))))
        chunks = [books[i:i + size] for i in range(0, len(books), size)]
        from distributed import KilledWorker

        futures = client.map(_check_books, chunks, cfg=cfg, pure=False)
        try:
            done = client.gather(futures)
        except KilledWorker:
            raise PerfxlError(
                "处理工作簿的 Dask 工作进程多次意外退出(可能是内存不足);请减小 chunk 重试",
                "Dask workers died on a chunk of books (out of memory?); retry with a "
                "smaller chunk") from None
        for part in done:
            results += part
    with CrossBook(cfg) as check:
        for r in results:
            check.add(r)
        cross = check.by_book()
    if review is not None:  # as the command writes it: the cross-book findings last
        from .review import Review

        local = [b for b in books if "://" not in str(b)]
        with Review(review, inputs=local, force=force) as book:
            for r in results:
                book.add(r)
            for i, found in cross.items():
                book.cross(i, found)
    for i, found in cross.items():
        report = results[i].report
        if report is not None:
            report.findings += found
    return results


def _current_client() -> Client:
    try:
        from distributed import default_client
    except ImportError:
        raise PerfxlError("未安装 Dask:请安装 pip install 'perfxl[dask]'",
                          "Dask is not installed: pip install 'perfxl[dask]'") from None
    try:
        return default_client()
    except ValueError:
        raise PerfxlError("没有连接 Dask 集群:请先创建 dask.distributed.Client",
                          "no Dask cluster: create a dask.distributed.Client first") from None


def _url(book: str | Path) -> str | None:
    """The book's URL, or None for a local path."""
    return book if isinstance(book, str) and "://" in book else None


def _check_protocols(books: list[str | Path]) -> None:
    """Every URL scheme is one fsspec knows and has its package for (s3fs for s3://…): one
    sentence here rather than a failure in every task."""
    schemes = {url.split("://", 1)[0] for b in books if (url := _url(b))}
    if not schemes:
        return
    import fsspec  # type: ignore[import-untyped]

    for scheme in sorted(schemes):
        try:
            fsspec.get_filesystem_class(scheme)
        except (ValueError, ImportError) as e:
            raise PerfxlError(f"无法读取 {scheme}:// 的地址: {e}",
                              f"cannot read {scheme}:// URLs: {e}") from None


def _check_books(books: list[str | Path], cfg: RulesConfig) -> list[BookResult]:
    """One task, in a worker: read each book of the chunk, check them together, keep only what
    the report needs (``batch.check_read``, as the local engine)."""

    with few_collections():
        results = check_read([_read(b) for b in books], cfg)
    for r, book in zip(results, books, strict=True):
        r.url = _url(book) or ""
    return results


def _read(book: str | Path) -> tuple[Path, Department | str]:
    """The book's model, or why it cannot be read (its Chinese sentence, as ``validate_paths``
    keeps it). A local book is read as the command reads it; a URL's bytes are fetched with
    fsspec and read by ``read.read_bytes``."""
    from .read import read_book, read_bytes

    url = _url(book)
    path = Path(book)
    try:
        if url is None:
            return path, read_book(path)
        return path, read_bytes(_fetch(url, path.name), path.name)
    except PerfxlError as e:
        return path, e.zh


def _fetch(url: str, name: str) -> bytes:
    """A book's bytes from its URL; past the file-size limit, refused by the limit's sentence
    without reading more of it."""
    import fsspec

    from .limits import current, over

    limit = current().file_size
    opened = fsspec.open(url, "rb")
    try:
        with opened as f:
            data: bytes = f.read(limit + 1)
        if len(data) > limit:
            raise over("file_size", name, "文件大小", "the file is",
                        opened.fs.size(opened.path) or len(data), limit, sizes=True)
    except FileNotFoundError:
        raise ReadError(f"找不到文件: {url}", f"file not found: {url}") from None
    except OSError as e:  # permission, a folder, the store's own errors
        reason = e.strerror or str(e) or type(e).__name__
        raise ReadError(f"无法打开 {name}: {reason}", f"cannot open {url}: {reason}") from None
    return data
