"""Every file perfxl writes goes through this module; nothing else opens a file for writing.

What it promises (README, "Hostile and broken files"; tests/test_files.py checks each):

- An output is never one of the inputs. Files are compared by identity (device and inode, as
  ``os.path.samefile`` does), so a hard link, a bind mount or a symlink to an input is the input;
  a name that differs from an input's only by case in the input's own folder is refused too
  (on Windows and SMB shares it is the same file).
- An existing file is replaced only when the user says so (``force``, the CLI's ``--force``), or
  in place (``--in-place``), after a backup.
- One atomic rename per output: the whole book is written to a temporary file in the target's
  folder, flushed to disk, then renamed over the target. A crash, a kill or a full disk leaves the
  target as it was (absent, or the old file), never a part of a book.
- Temporary files are named ``.perfxl-<host>-<pid>-<random>.tmp`` (short, so a long target name
  still fits); any that a killed perfxl left in a folder it writes to are removed.
- New files get the mode the umask gives (``0666 & ~umask``), like any other program's. A book
  changed in place keeps its mode, group and (where permitted) owner; symlinks are written
  through, so the link stays a link. A read-only book (no write bit) is not changed in place.
- Backups (before an in-place change) are written atomically and never replace an older backup
  that holds a different book: ``NAME.perfxl-backup.xlsx``, then ``-2``, ``-3`` …; a backup that
  already holds the same bytes is reused. The path is returned so the CLI can say where it is.
- Every failure is a :class:`WriteError`: one sentence, Chinese first, English beside, exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import PerfxlError, ReadError, WriteError

BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".et", ".ods")
NAME_MAX = 255  # bytes in one file name on the file systems offices use (ext4, NTFS, SMB)


# --- inputs ---------------------------------------------------------------------------------------

def collect(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded to their workbooks (``BOOK_SUFFIXES``, sorted), without
    Excel's ``~$`` owner files and hidden files. Missing paths raise."""
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


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class Inputs:
    """The files a command reads, by identity, so that no output can be one of them.

    Folders are expanded as :func:`collect` does; every file in them counts, books or not.
    """

    def __init__(self, paths: Iterable[str | Path] = ()) -> None:
        self.ids: dict[tuple[int, int], Path] = {}
        self.names: dict[tuple[tuple[int, int], str], Path] = {}
        for item in paths:
            self.add(Path(item))

    def add(self, path: Path) -> None:
        files = [f for f in path.iterdir() if f.is_file()] if path.is_dir() else [path]
        for f in files:
            ident = _identity(f)
            if ident is None:
                continue
            self.ids[ident] = f
            folder = _identity(f.parent)
            if folder is not None:
                self.names[(folder, f.name.casefold())] = f

    def owner(self, target: Path) -> Path | None:
        """The input that ``target`` is (or would be, on a case-insensitive share), if any."""
        ident = _identity(target)
        if ident is not None and ident in self.ids:
            return self.ids[ident]
        folder = _identity(target.parent)
        if folder is None:
            return None
        return self.names.get((folder, target.name.casefold()))


Given = Inputs | Iterable[str | Path]
"""The inputs of a command: an :class:`Inputs`, or the paths (files or folders) it was given."""


# --- outputs ---------------------------------------------------------------------------------------

def real_target(target: str | Path) -> Path:
    """Where writing ``target`` lands: a symlink is followed, so the link itself stays a link."""
    p = Path(target)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


IN_PLACE_HINT = ("要改写原文件请用 --in-place", "use --in-place to change the book itself")


def check_output(target: str | Path, inputs: Given = (), *, force: bool = False,
                 hint: tuple[str, str] = ("请换一个输出文件名", "choose another name")) -> Path:
    """Refuse an output that is a folder, one of the inputs, or an existing file without
    ``force``; return the path the bytes will be written to (through symlinks). ``hint`` ends
    the sentence that refuses an input."""
    shown = Path(target)
    try:
        return _check_output(shown, inputs, force, hint)
    except OSError as e:  # a name too long, a folder we may not look into …
        raise _write_error(shown, e) from None


def _check_output(shown: Path, inputs: Given, force: bool, hint: tuple[str, str]) -> Path:
    if shown.is_dir():
        raise WriteError(f"输出路径是一个文件夹,请给出文件名: {shown}",
                         f"the output is a folder; give a file name: {shown}")
    real = real_target(shown)
    ins = inputs if isinstance(inputs, Inputs) else Inputs(inputs)
    source = ins.owner(real)
    if source is not None:
        raise WriteError(f"输出文件 {shown} 就是输入文件 {source},拒绝覆盖;{hint[0]}",
                         f"the output {shown} is the input {source}; {hint[1]}")
    if not force and (real.exists() or real.is_symlink()):
        raise WriteError(f"{shown} 已存在,未覆盖;要替换它请加 --force",
                         f"{shown} exists and was not replaced; add --force to replace it")
    return real


@dataclass(frozen=True)
class Snapshot:
    """What a file was when it was read: an in-place write refuses if it changed since."""

    ident: tuple[int, int]
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        return cls.from_stat(os.stat(path))

    @classmethod
    def from_stat(cls, st: os.stat_result) -> Snapshot:
        return cls((st.st_dev, st.st_ino), st.st_size, st.st_mtime_ns)


@contextlib.contextmanager
def atomic_path(target: str | Path, inputs: Given = (), *,
                force: bool = False, like: os.stat_result | None = None,
                unchanged: Snapshot | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block ends without an error the file
    written there replaces ``target`` in one rename.

    ``inputs``: files the output must not be. ``force``: an existing ``target`` may be replaced
    (else it is refused, and a file that appears meanwhile is not replaced either). ``like``: the
    stat of the book being replaced in place (mode, group and owner are kept). ``unchanged``: the
    book as it was read; if it changed since, nothing is replaced. Missing folders are created.
    Any failure removes the temporary file and raises :class:`WriteError` naming ``target``.
    """
    shown = Path(target)
    real = check_output(shown, inputs, force=force)
    folder = real.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _write_error(shown, e) from None
    clean_stale(folder)
    tmp = folder / _temp_name()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except OSError as e:
        raise _write_error(shown, e) from None
    try:
        yield tmp
        _settle(tmp, like)
        if unchanged is not None and _changed(real, unchanged):
            raise WriteError(f"{shown} 在处理期间被修改(可能有人正在保存它),未写入;请稍后重试",
                             f"{shown} changed while perfxl worked on it; nothing written, retry")
        _publish(tmp, real, shown, replace=force)
        _sync_folder(folder)
    except PerfxlError:
        raise
    except BaseException as e:
        cause = _os_error(e)
        if cause is None:
            raise
        raise _write_error(shown, cause) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes(target: str | Path, data: bytes, inputs: Given = (), *,
                force: bool = False) -> Path:
    """``data`` to ``target`` through :func:`atomic_path`."""
    with atomic_path(target, inputs, force=force) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def _publish(tmp: Path, real: Path, shown: Path, *, replace: bool) -> None:
    if replace:
        os.replace(tmp, real)
        return
    try:  # no-clobber: a file created meanwhile (another run) is not replaced
        os.link(tmp, real)
    except FileExistsError:
        raise WriteError(f"{shown} 已存在(刚被另一个程序写入),未覆盖;要替换它请加 --force",
                         f"{shown} appeared meanwhile and was not replaced; add --force") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        if real.exists():  # a file system without hard links (FAT, some shares)
            raise WriteError(f"{shown} 已存在,未覆盖;要替换它请加 --force",
                             f"{shown} exists; add --force to replace it") from None
        os.replace(tmp, real)


def _settle(tmp: Path, like: os.stat_result | None) -> None:
    """Flush the bytes to disk and give the file its final mode (and owner, in place)."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    if like is None:
        os.chmod(tmp, 0o666 & ~umask())
        return
    with contextlib.suppress(OSError):  # only root may give a file away; a group we are in is fine
        os.chown(tmp, like.st_uid, like.st_gid)
    with contextlib.suppress(OSError):
        os.chown(tmp, -1, like.st_gid)
    os.chmod(tmp, like.st_mode & 0o7777)


def _changed(path: Path, then: Snapshot) -> bool:
    try:
        return Snapshot.of(path) != then
    except OSError:
        return True


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_umask: int | None = None


def umask() -> int:
    """The process's umask (read once: setting it is the only way to read it portably)."""
    global _umask
    if _umask is None:
        _umask = os.umask(0o022)
        os.umask(_umask)
    return _umask


# --- temporary files -------------------------------------------------------------------------------

_TEMP = re.compile(r"^\.perfxl-([0-9a-f]{8})-(\d+)-[0-9a-f]{8}\.tmp$")


@functools.cache
def host_tag() -> str:
    """This machine's tag in temporary names (a checksum of its host name)."""
    import socket
    import zlib

    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _temp_name() -> str:
    return f".perfxl-{host_tag()}-{os.getpid()}-{os.urandom(4).hex()}.tmp"


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary files that perfxl processes of this host left in ``folder`` when they
    were killed (their process no longer exists). Others' files are never touched."""
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMP.match(name)
        if m is None or m.group(1) != host_tag() or _alive(int(m.group(2))):
            continue
        with contextlib.suppress(OSError):
            (folder / name).unlink()
            removed.append(folder / name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, not ours to signal
        return True
    return True


# --- reading a book once, changing it in place ------------------------------------------------------

@dataclass
class Original:
    """A book as read for an in-place change: where it really is, its bytes (the only read),
    and what it was, so the write can keep its mode and refuse if it changed meanwhile."""

    path: Path  # as given (maybe a symlink)
    real: Path
    data: bytes
    stat: os.stat_result

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot.from_stat(self.stat)


def read_once(path: str | Path) -> tuple[bytes, os.stat_result]:
    """A file's bytes and its stat, read once (every later step works on these bytes)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except FileNotFoundError:
        raise ReadError(f"找不到文件: {p}", f"file not found: {p}") from None
    except IsADirectoryError:
        raise ReadError(f"这是一个文件夹,不是工作簿: {p}", f"is a folder, not a workbook: {p}") from None
    except OSError as e:
        raise ReadError(f"无法读取 {p}: {e.strerror}", f"cannot read {p}: {e.strerror}") from None
    return data, st


def open_in_place(path: str | Path) -> Original:
    """Read a book that is about to be changed in place, refusing what must not be changed:
    a book open in Excel (its ``~$`` owner file beside the book or beside the link to it) and a
    read-only book."""
    shown = Path(path)
    real = Path(os.path.realpath(shown))
    for folder_file in {shown, real}:
        if folder_file.with_name("~$" + folder_file.name).exists():
            raise WriteError(f"{shown.name} 正在 Excel 中打开,请关闭后重试",
                             f"{shown.name} is open in Excel; close it first")
    data, st = read_once(real)
    if not st.st_mode & 0o222:
        raise WriteError(f"{shown} 是只读文件,未修改;请先取消只读属性,或用 -o 写到新文件",
                         f"{shown} is read-only and was not changed; use -o to write a copy")
    return Original(shown, real, data, st)


def backup(original: Original) -> Path:
    """Keep the book's bytes beside it before it is changed: ``NAME.perfxl-backup.xlsx`` (then
    ``-2``, ``-3`` …). An existing backup is never replaced; one holding these very bytes is
    reused. Written atomically, with the book's mode."""
    import hashlib

    real = original.real
    digest = hashlib.sha256(original.data).digest()
    n = 1
    while n < 10_000:
        name = _backup_name(real, n)
        if name.exists():
            if name.stat().st_size == len(original.data) and \
                    hashlib.sha256(name.read_bytes()).digest() == digest:
                return name
            n += 1
            continue
        try:
            with atomic_path(name, force=False, like=original.stat) as tmp:
                tmp.write_bytes(original.data)
        except WriteError as e:
            if name.exists():  # another run made this backup meanwhile: look at it again
                continue
            raise WriteError(f"无法备份 {original.path.name},原文件未修改: {e.zh}",
                             f"cannot back up {original.path.name}; the book was not changed: "
                             f"{e.en}") from None
        return name
    raise WriteError(f"{real.parent} 中的备份太多,请清理后重试", "too many backups; clean up first")


def _backup_name(real: Path, n: int) -> Path:
    tag = ".perfxl-backup" + ("" if n == 1 else f"-{n}")
    stem = real.stem
    room = NAME_MAX - len((tag + real.suffix).encode())
    while len(stem.encode()) > room:  # a long name is shortened, never refused
        stem = stem[:-1]
    return real.with_name(f"{stem}{tag}{real.suffix}")


def write_in_place(original: Original) -> contextlib.AbstractContextManager[Path]:
    """:func:`atomic_path` for a book changed in place: after :func:`backup`, keeping the book's
    mode and owner, and refusing if the book changed since it was read."""
    return atomic_path(original.real, force=True, like=original.stat,
                       unchanged=original.snapshot)


# --- names made from data ---------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


def safe_name(text: str, suffix: str = "") -> str:
    """A file name from data (a unit's code and name): no folder separators, no characters
    Windows refuses, no leading dots, at most ``NAME_MAX`` bytes with ``suffix``."""
    name = _UNSAFE.sub("_", text).strip("._ ") or "_"
    while len((name + suffix).encode()) > NAME_MAX:
        name = name[:-1]
    return name + suffix


# --- errors -----------------------------------------------------------------------------------------

def _os_error(e: BaseException) -> OSError | None:
    """The OSError behind an exception (XlsxWriter wraps it in its own FileCreateError)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [e]
    while stack:
        x = stack.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, OSError):
            return x
        stack += [x.__cause__, x.__context__,
                  *(a for a in getattr(x, "args", ()) if isinstance(a, BaseException))]
    return None


def _write_error(target: Path, e: OSError) -> WriteError:
    code = e.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"磁盘空间不足,未写入 {target}(原有文件未改变)",
                          f"disk full: {target} was not written (any existing file is unchanged)")
    if code == errno.EROFS:
        return WriteError(f"{target.parent} 所在的磁盘是只读的,未写入 {target.name}",
                          f"read-only file system: {target} was not written")
    if code in (errno.EACCES, errno.EPERM):
        return WriteError(f"没有写入权限,未写入 {target}(文件夹只读,或文件正在 Excel 中打开)",
                          f"permission denied: {target} was not written (read-only folder, "
                          "or the book is open in Excel)")
    if code == errno.ENAMETOOLONG:
        return WriteError(f"文件名或路径太长,未写入 {target.name};请用较短的名字",
                          f"file name or path too long: {target.name}; use a shorter name")
    if code == errno.ENOENT:
        return WriteError(f"输出文件夹不存在,未写入 {target}", f"folder missing: {target}")
    if code == errno.ENOTDIR:
        return WriteError(f"输出路径中有一部分不是文件夹,未写入 {target}",
                          f"a part of the output path is not a folder: {target}")
    reason = e.strerror or type(e).__name__
    return WriteError(f"无法写入 {target}: {reason}", f"cannot write {target}: {reason}")
