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


# --- hostile and broken inputs (sniff.py, limits.py) --------------------------------------------

class UnsupportedFormat(ReadError):
    """The file is not a workbook perfxl reads: a PDF, a Word document, a web page saved as .xls…
    ``kind`` names what it is (``pdf``, ``html``, ``docx`` …)."""

    def __init__(self, zh: str, en: str = "", *, kind: str = "") -> None:
        super().__init__(zh, en)
        self.kind = kind


class EncryptedBook(ReadError):
    """The workbook is encrypted with a password (a CFB container with EncryptionInfo, or an .xls
    with a FILEPASS record): it cannot be read until the password is removed."""


class DamagedFile(ReadError):
    """The file is empty, truncated or damaged (a zip without its directory, a bad checksum…)."""


class UnsafeFile(ReadError):
    """The file holds something a workbook never does and attacks use: a DTD or entity
    declarations in an XML part, overlapping or duplicated zip entries, a zip entry larger than
    it says it is."""


class LimitExceeded(ReadError):
    """A book past one of the reading limits (limits.py), refused by the limit's name and numbers
    before it is parsed."""

    def __init__(self, zh: str, en: str = "", *, limit: str = "", actual: int | float = 0,
                 maximum: int | float = 0) -> None:
        super().__init__(zh, en)
        self.limit = limit
        self.actual = actual
        self.maximum = maximum


class OwnOutput(ReadError):
    """A report perfxl wrote (a review book), found among the books to read: not a submission.
    A folder's run passes it over with a note (``note``) rather than an error."""

    def __init__(self, zh: str, en: str = "", *, note: str = "") -> None:
        super().__init__(zh, en)
        self.note = note


class NotAPerformanceBook(ReadError):
    """A readable workbook that holds no performance-target table (项目支出绩效目标表) at all."""


# --- data files (datafile.py) -------------------------------------------------------------------

class DataFileError(ReadError):
    """A data file that does not follow its format: every problem found, each as ``(path, zh,
    en)`` with the key path of the value (``projects[3].budget``); nothing has been written.

    ``str()`` is the headline sentence and then one line per problem, Chinese first with English
    beside it (the first ``SHOWN`` problems, and how many more there are).
    """

    SHOWN = 200

    def __init__(self, zh: str, en: str, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        super().__init__(zh + "\n" + "\n".join(f"  {p}: {z}" for p, z, _ in problems),
                         en + "\n" + "\n".join(f"  {p}: {e}" for p, _, e in problems))
        self.headline = f"{zh} ({en})"

    def __str__(self) -> str:
        lines = [f"  {p}: {z} ({e})" for p, z, e in self.problems[:self.SHOWN]]
        more = len(self.problems) - self.SHOWN
        if more > 0:
            lines.append(f"  … 另有 {more} 处问题 ({more} more problems)")
        return "\n".join([self.headline, *lines])
