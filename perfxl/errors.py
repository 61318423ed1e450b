"""The project's own error type: a message in Chinese first, English beside it, and an exit code."""

from __future__ import annotations


class PerfxlError(Exception):
    """An error a user can act on. The CLI prints ``str(err)`` and exits with ``exit_code``.

    Exit codes: 1 = the book has errors (validation), 2 = the input cannot be read or written.
    """

    exit_code = 2

    def __init__(self, zh: str, en: str = "", *, exit_code: int | None = None) -> None:
        self.zh = zh
        self.en = en
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(f"{zh} ({en})" if en else zh)


class ReadError(PerfxlError):
    """A book or data file cannot be read (missing, damaged, not a supported format)."""


class WriteError(PerfxlError):
    """An output cannot be written (folder missing, file locked, disk full)."""
