"""Never lose a file: every write goes through perfxl/files.py, tried as a careful user would and
under real faults (a full tmpfs, a read-only mount, kill -9, hard links, bind mounts, symlinks,
closed and unencodable standard output).

Each test names the case of the README's promise it checks ("Hostile and broken files").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfxl import embedded, populate
from perfxl.files import atomic_path, backup, clean_stale, open_in_place

ROOT = Path(__file__).resolve().parents[1]
DEMO = "2021_行政审批部门_绩效目标.xlsx"
RESULT_SHEET = "xl/worksheets/"


def cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The real console command, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def sentence(r: subprocess.CompletedProcess[str]) -> None:
    """A failure as perfxl promises it: exit 2, one sentence starting 错误, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert r.stderr.startswith("错误: "), r.stderr
    assert "Traceback" not in r.stderr and "内部错误" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def sheets(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


@pytest.fixture
def book(demo_book: Path, tmp_path: Path) -> Path:
    path = tmp_path / "books" / "dept.xlsx"
    path.parent.mkdir()
    shutil.copyfile(demo_book, path)
    return path


@contextlib.contextmanager
def mounted(kind: str, where: Path, *options: str) -> Iterator[Path]:
    """A real mount (tmpfs or bind), skipped with the reason where the machine refuses."""
    where.mkdir(parents=True, exist_ok=True)
    cmd = ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)] \
        if kind == "tmpfs" else ["mount", "--bind", options[0], str(where)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount here: {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(0, free - leave))


# --- 1. an output is never one of the inputs --------------------------------------------------------

def test_no_command_writes_over_one_of_its_inputs(book: Path, tmp_path: Path) -> None:
    """Case 1: validate DIR -o DIR/a.xlsx, split UNIT -o ., merge … -o INPUT, summarize -o BOOK,
    populate DATA -o DATA: each refused before any work, every input byte-identical."""
    folder = book.parent
    other = folder / "a.xlsx"
    shutil.copyfile(book, other)
    units = tmp_path / "units"
    assert cli("split", book, "-o", units).returncode == 0
    unit = next(units.iterdir())
    data = tmp_path / "data.yaml"
    shutil.copyfile(ROOT / "perfxl" / "data" / "2021_行政审批部门.yaml", data)
    before = {p: sha(p) for p in (book, other, unit, data)}
    for args in (["validate", book, "-o", book], ["validate", folder, "-o", other],
                 ["validate", folder, "--format", "json", "-o", book, "--force"],
                 ["split", unit, "-o", units, "--force"],
                 ["merge", units, book, "-o", book, "--force"],
                 ["merge", units, "-o", unit, "--force"],
                 ["merge", units, "--plan", book, "-o", book, "--force"],
                 ["summarize", book, "-o", book, "--force"],
                 ["populate", data, "-o", data, "--force"],
                 ["template", "--data", data, "-o", data, "--force"]):
        r = cli(*args)
        sentence(r)
        assert "就是输入文件" in r.stderr, (args, r.stderr)
        assert {p: sha(p) for p in before} == before, args
    assert sorted(p.name for p in folder.iterdir()) == ["a.xlsx", "dept.xlsx"]


def test_identity_not_path_text(book: Path, tmp_path: Path) -> None:
    """Case 2: a hard link, a symlink, a bind mount of the folder and a name differing only by
    case all reach the input: refused, the input unchanged."""
    folder = book.parent
    os.link(book, tmp_path / "hard.xlsx")
    (tmp_path / "soft.xlsx").symlink_to(book)
    before = sha(book)
    for out in (tmp_path / "hard.xlsx", tmp_path / "soft.xlsx", folder / "DEPT.XLSX"):
        r = cli("validate", book, "-o", out, "--force")
        sentence(r)
        assert "就是输入文件" in r.stderr
    with mounted("bind", tmp_path / "bound", str(folder)) as bound:
        r = cli("validate", book, "-o", bound / book.name, "--force")
        sentence(r)
        r = cli("summarize", bound / book.name, "-o", book, "--force")
        sentence(r)
    assert sha(book) == before
    assert (tmp_path / "soft.xlsx").is_symlink()


# --- 3/4. in place: backups, symlinks, read-only books ---------------------------------------------

def test_in_place_twice_keeps_the_original_in_a_backup(book: Path) -> None:
    """Case 3: the first backup keeps the original; a second run never replaces it (its own
    backup goes to -2) and a third run, on an unchanged book, reuses that; the CLI says where."""
    original = book.read_bytes()
    first = cli("validate", book, "--in-place")
    assert first.returncode == 1, first.stderr
    bak = book.with_name("dept.perfxl-backup.xlsx")
    assert f"原文件已备份 (backup of the original): {bak}" in first.stdout
    annotated = book.read_bytes()
    assert "校验结果" in sheets(book) and bak.read_bytes() == original
    second = cli("validate", book, "--in-place")
    assert second.returncode == 1
    bak2 = book.with_name("dept.perfxl-backup-2.xlsx")
    assert bak.read_bytes() == original and bak2.read_bytes() == annotated
    assert str(bak2) in second.stdout
    # two at once: both succeed or one says why; the original backup is never touched
    runs = [subprocess.Popen([sys.executable, "-m", "perfxl", "validate", str(book),
                              "--in-place"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in runs:
        _, err = p.communicate(timeout=180)
        assert p.returncode in (1, 2) and "Traceback" not in err
    assert bak.read_bytes() == original and bak2.read_bytes() == annotated
    assert zipfile.ZipFile(book).testzip() is None and not temps(book.parent)


def test_backup_on_a_full_disk_keeps_the_existing_backup(demo_book: Path, tmp_path: Path) -> None:
    """Case 3: the failed backup leaves the only copy of the original whole, and the book."""
    with mounted("tmpfs", tmp_path / "small", "size=256k") as disk:
        book = disk / "dept.xlsx"
        shutil.copyfile(demo_book, book)
        old_backup = disk / "dept.perfxl-backup.xlsx"
        old_backup.write_bytes(b"the original, saved by an earlier run" * 100)
        keep = sha(old_backup), sha(book)
        fill(disk, 16 << 10)
        r = cli("validate", book, "--in-place")
        sentence(r)
        assert "磁盘空间不足" in r.stderr and "备份" in r.stderr
        assert (sha(old_backup), sha(book)) == keep
        assert temps(disk) == []


def test_in_place_through_a_symlink_changes_the_real_book(book: Path, tmp_path: Path) -> None:
    """Case 4: the link stays a link, the real book is annotated, the backup is beside it;
    Excel's ~$ owner file beside the real book is seen."""
    link = tmp_path / "link.xlsx"
    link.symlink_to(book)
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(b"x")
    before = sha(book)
    r = cli("validate", link, "--in-place")
    sentence(r)
    assert "正在 Excel 中打开" in r.stderr and sha(book) == before
    owner.unlink()
    r = cli("validate", link, "--in-place")
    assert r.returncode == 1, r.stderr
    assert link.is_symlink() and link.resolve() == book
    assert "校验结果" in sheets(book)
    assert book.with_name("dept.perfxl-backup.xlsx").read_bytes() != book.read_bytes()


def test_a_read_only_book_is_not_changed_in_place(book: Path) -> None:
    """Case 4: 0444 is a no; no backup is made that would block later runs."""
    book.chmod(0o444)
    before = sha(book)
    for args in (["validate", book, "--in-place"], ["summarize", book, "--in-place"]):
        r = cli(*args)
        sentence(r)
        assert "只读" in r.stderr
    assert sha(book) == before and stat.S_IMODE(book.stat().st_mode) == 0o444
    assert sorted(p.name for p in book.parent.iterdir()) == ["dept.xlsx"]


# --- 5. modes follow the umask; in place keeps mode and group --------------------------------------

@pytest.mark.parametrize("mask", [0o002, 0o022, 0o077])
def test_new_files_follow_the_umask(tmp_path: Path, mask: int) -> None:
    code = (f"import os, sys; os.umask({mask}); sys.argv = ['perfxl', 'demo', '-o', "
            f"{str(tmp_path)!r}]; from perfxl.cli import run; run()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / DEMO).stat().st_mode) == 0o666 & ~mask


def test_in_place_keeps_mode_and_group(book: Path) -> None:
    book.chmod(0o664)
    group = 100 if os.geteuid() == 0 else os.getegid()
    with contextlib.suppress(PermissionError):
        os.chown(book, -1, group)
    before = book.stat()
    assert cli("validate", book, "--in-place").returncode == 1
    after = book.stat()
    assert stat.S_IMODE(after.st_mode) == 0o664
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino  # replaced by one rename, not rewritten in place


# --- 6. one write per output, from one read of each input -------------------------------------------

def test_merge_full_disk_leaves_no_half_book(demo_book: Path, tmp_path: Path) -> None:
    """Case 6: the merged book is built, marked and written once: a full disk leaves nothing
    at the target (never a book without its 校验结果), and the error names the target."""
    units = tmp_path / "units"
    assert cli("split", demo_book, "-o", units).returncode == 0
    with mounted("tmpfs", tmp_path / "small", "size=512k") as disk:
        fill(disk, 40 << 10)
        r = cli("merge", units, "-o", disk / "merged.xlsx")
        sentence(r)
        assert "merged.xlsx" in r.stderr and ".tmp" not in r.stderr
        assert not (disk / "merged.xlsx").exists() and temps(disk) == []


def _links_resolve(path: Path) -> None:
    """Every hyperlink of the 校验结果 sheet points at a sheet that exists in the book."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["校验结果"]
    targets = [c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink]
    assert targets
    for t in targets:
        sheet = t.rsplit("!", 1)[0].strip("'").replace("''", "'")
        assert sheet in wb.sheetnames, (t, wb.sheetnames)


def test_two_merges_at_once_give_one_runs_book(demo_book: Path, tmp_path: Path) -> None:
    """Case 6: two merges onto one output: the book that stands is one run's whole."""
    units = tmp_path / "units"
    assert cli("split", demo_book, "-o", units).returncode == 0
    a, b = sorted(units.iterdir())
    out = tmp_path / "out.xlsx"
    for _ in range(3):
        runs = [subprocess.Popen([sys.executable, "-m", "perfxl", "merge", str(src), "-o",
                                  str(out), "--force"], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for src in (a, b)]
        for p in runs:
            p.communicate(timeout=180)
            assert p.returncode in (0, 1), p.returncode
        from perfxl.read import read_book

        dept = read_book(out)
        assert len({p.unit_code for p in dept.projects}) == 1
        _links_resolve(out)
    assert not temps(tmp_path)


def test_validate_reads_the_book_once_while_it_is_resaved(demo_book: Path,
                                                           tmp_path: Path) -> None:
    """Case 6: the book is re-saved (atomically, as Excel does) between two versions with
    different sheets while `validate -o` runs: the annotated copy is always one version whole."""
    units = tmp_path / "units"
    assert cli("split", demo_book, "-o", units).returncode == 0
    versions = [demo_book.read_bytes(), next(units.iterdir()).read_bytes()]
    book = tmp_path / "book.xlsx"
    book.write_bytes(versions[0])
    stop = threading.Event()

    def resave() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            tmp = tmp_path / "saving.part"
            tmp.write_bytes(versions[i % 2])
            os.replace(tmp, book)
            time.sleep(0.003)

    saver = threading.Thread(target=resave)
    saver.start()
    try:
        for n in range(4):
            out = tmp_path / f"checked{n}.xlsx"
            r = cli("validate", book, "-o", out)
            assert r.returncode == 1, r.stderr
            _links_resolve(out)
    finally:
        stop.set()
        saver.join()


# --- 7. kill -9 -------------------------------------------------------------------------------------

def _is_whole_book(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        return z.testzip() is None and "xl/workbook.xml" in z.namelist()


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.5, 2.2])
def test_kill_9_at_any_moment_loses_nothing(book: Path, tmp_path: Path, delay: float) -> None:
    """Case 7: kill -9 of `validate -o`, `validate --in-place` and `merge -o` at varied moments:
    the input is byte-identical (or, in place, either the original or the whole annotated book
    with the original in its backup), the target is absent or a whole book with its 校验结果,
    and the next run in that folder removes the temporary file the killed one left."""
    original = book.read_bytes()
    out = tmp_path / "out.xlsx"
    for args, target in ((["validate", book, "-o", out], out),
                         (["validate", book, "--in-place"], book),
                         (["merge", book.parent, "-o", out, "--force"], out)):
        p = subprocess.Popen([sys.executable, "-m", "perfxl", *map(str, args)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if target == book:
            if book.read_bytes() != original:
                assert _is_whole_book(book) and "校验结果" in sheets(book)
                assert book.with_name("dept.perfxl-backup.xlsx").read_bytes() == original
            for extra in book.parent.glob("dept.perfxl-backup*.xlsx"):
                assert extra.read_bytes() == original
                extra.unlink()
            book.write_bytes(original)
        else:
            assert book.read_bytes() == original
            if target.exists():
                assert _is_whole_book(target) and "校验结果" in sheets(target)
                target.unlink()
    # the next write in each folder cleans what the killed runs left
    assert cli("validate", book, "-o", out, "--force").returncode == 1
    assert cli("validate", book, "-o", book.parent / "again.xlsx").returncode == 1
    assert temps(tmp_path) == [] and temps(book.parent) == []


def test_killed_validate_takes_its_workers_with_it(demo_book: Path, tmp_path: Path) -> None:
    """Case 7: kill -9 of `validate DIR -o` ends its worker processes too."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        os.link(demo_book, folder / f"b{i:03}.xlsx")
    p = subprocess.Popen([sys.executable, "-m", "perfxl", "validate", str(folder), "--jobs", "2",
                          "-o", str(tmp_path / "review.xlsx")], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
        children = _children(p.pid)
    assert children, "the command did not start worker processes"
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 5
    while any(_running(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(c) for c in children)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# --- 8. full disk, read-only file systems, long names, names from data ------------------------------

def test_read_only_mount_and_long_names_are_sentences(demo_book: Path, tmp_path: Path) -> None:
    with mounted("tmpfs", tmp_path / "ro", "size=1m", "ro") as ro:
        r = cli("validate", demo_book, "-o", ro / "out.xlsx")
        sentence(r)
        assert "只读" in r.stderr
    long_name = "长" * 81 + "x.xlsx"  # 81 × 3 + 6 = 249 bytes: a valid name
    assert len(long_name.encode()) <= 255
    r = cli("validate", demo_book, "-o", tmp_path / long_name)
    assert r.returncode == 1, r.stderr  # the temporary name does not make it too long
    book = tmp_path / long_name
    r = cli("validate", book, "--in-place")
    assert r.returncode == 1, r.stderr  # the backup's name is shortened to fit
    too_long = "长" * 90 + ".xlsx"
    r = cli("validate", demo_book, "-o", tmp_path / too_long)
    sentence(r)
    assert "太长" in r.stderr


def test_split_keeps_unit_books_inside_the_folder(tmp_path: Path) -> None:
    """Case 8: a unit code such as ../../x cannot lead a unit book out of the output folder."""
    import dataclasses

    dept = embedded()
    evil = dataclasses.replace(dept.units[0], code="../../x")
    dept = dataclasses.replace(
        dept, units=[evil, *dept.units[1:]],
        projects=[dataclasses.replace(p, unit_code="../../x") if p.unit_code == dept.units[0].code
                  else p for p in dept.projects])
    book = tmp_path / "in" / "book.xlsx"
    book.parent.mkdir()
    populate(dept, book)
    out = tmp_path / "deep" / "er" / "out"
    r = cli("split", book, "-o", out)
    assert r.returncode == 0, r.stderr
    made = sorted(p.name for p in out.iterdir())
    assert len(made) == 2 and all("/" not in n and not n.startswith(".") for n in made)
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["er"]
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob("*.xlsx"))


_CROSS_BOOK_ON_DISK = """
import sys
from pathlib import Path
from perfxl.batch import BookResult, CrossBook
from perfxl.errors import PerfxlError
from perfxl.rules import RulesConfig
try:
    with CrossBook(RulesConfig()) as cross:  # a province's codes: more than its cache holds
        for b in range(400):
            codes = {f"130303{b:05d}{i:05d}X": ("项目", "B3", "名称" * 10, "001")
                     for i in range(100)}
            cross.add(BookResult(Path(f"{b}.xlsx"), codes=codes))
        cross.findings()
except PerfxlError as e:
    print(f"错误: {e}", file=sys.stderr)
    sys.exit(e.exit_code)
"""


def test_the_cross_book_check_on_a_full_temporary_folder_is_a_sentence(tmp_path: Path) -> None:
    """Case 8: the codes of the cross-book check wait on disk, in the temporary folder; when it
    is full, the check stops with a sentence (and with room, the same run passes)."""
    with mounted("tmpfs", tmp_path / "tmp", "size=32m") as disk:
        run = [sys.executable, "-c", _CROSS_BOOK_ON_DISK]
        env = {**os.environ, "TMPDIR": str(disk)}
        roomy = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT,
                               check=False, timeout=300)
        assert roomy.returncode == 0, roomy.stderr
        fill(disk, 16 << 10)
        r = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT, check=False,
                           timeout=300)
        sentence(r)
        assert "临时文件夹" in r.stderr and "TMPDIR" in r.stderr
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


# --- 9. standard output -----------------------------------------------------------------------------

def test_closed_and_full_stdout_are_sentences(demo_book: Path, tmp_path: Path) -> None:
    py = f"{sys.executable} -m perfxl"
    for redirect in (">&-", "> /dev/full"):
        r = subprocess.run(["sh", "-c", f"exec {py} validate '{demo_book}' {redirect}"],
                           cwd=ROOT, capture_output=True, text=True, check=False)
        sentence(r)
        assert "标准输出" in r.stderr


def test_an_unencodable_console_still_gets_the_report(demo_book: Path, tmp_path: Path) -> None:
    """Case 9: cp1252 (an English Windows console or redirect): the book is written, the report
    printed with ? for what cannot be shown, the exit code is the verdict's."""
    out = tmp_path / "checked.xlsx"
    r = subprocess.run([sys.executable, "-m", "perfxl", "validate", str(demo_book), "-o",
                        str(out)], cwd=ROOT, capture_output=True, check=False,
                       env={**os.environ, "PYTHONIOENCODING": "cp1252"})
    assert r.returncode == 1, r.stderr
    assert b"?" in r.stdout and b"130303216DIAX82DQONDM" in r.stdout
    assert out.exists() and b"Traceback" not in r.stderr


# --- 10. an existing file is replaced only with --force --------------------------------------------

def test_existing_files_are_replaced_only_with_force(demo_book: Path, tmp_path: Path) -> None:
    """Case 10: every writing command refuses an existing target and names --force."""
    units = tmp_path / "units"
    assert cli("split", demo_book, "-o", units).returncode == 0
    data = ROOT / "perfxl" / "data" / "2021_行政审批部门.yaml"
    target = tmp_path / "filled.xlsx"
    demo_dir = tmp_path / "demo"
    demo_dir.mkdir()
    addin = tmp_path / "addin"
    addin.mkdir()
    cases = [
        (["template", "-o", target], target),
        (["template", "--data", data, "-o", target], target),
        (["populate", data, "-o", target], target),
        (["validate", demo_book, "-o", target], target),
        (["validate", units, "-o", target], target),
        (["summarize", demo_book, "-o", target], target),
        (["merge", units, "-o", target], target),
        (["demo", "-o", demo_dir], demo_dir / DEMO),
        (["split", demo_book, "-o", units], next(units.iterdir())),
        (["addin", "build", "-o", addin], addin / "perfxl.xlam"),
    ]
    for args, path in cases:
        path.write_bytes(b"a filled book the user typed for a week")
        r = cli(*args)
        sentence(r)
        assert "已存在" in r.stderr and "--force" in r.stderr, (args, r.stderr)
        assert path.read_bytes() == b"a filled book the user typed for a week", args
        r = cli(*args, "--force")
        assert r.returncode in (0, 1), (args, r.stderr)
        assert zipfile.is_zipfile(path), args


# --- 11. review links to books with # in their names ------------------------------------------------

def test_review_links_escape_hash(demo_book: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(demo_book, folder / "a#b.xlsx")
    review = tmp_path / "review.xlsx"
    assert cli("validate", folder, "-o", review).returncode == 1
    with zipfile.ZipFile(review) as z:
        rels = [z.read(n).decode() for n in z.namelist() if n.endswith(".rels")
                and "worksheets/_rels" in n]
    # XlsxWriter writes relative links with Windows separators, as Excel does
    targets = [t.split('"')[0].replace("\\", "/") for r in rels
               for t in r.split('Target="')[1:]]
    assert targets and all(urllib.parse.unquote(t) == "in/a#b.xlsx" for t in targets), targets
    assert (review.parent / urllib.parse.unquote(targets[0])).is_file()


# --- the fault-injection loop: every writing command on a full disk --------------------------------

def _commands(tmp: Path, units: Path, book: Path, out: Path) -> list[tuple[str, list[object],
                                                                          Path, Path | None]]:
    """(name, args, the target, the input that must stay byte-identical) for every command that
    writes; an in-place command's target is its input."""
    data = ROOT / "perfxl" / "data" / "2021_行政审批部门.yaml"
    return [
        ("demo", ["demo", "-o", out.parent, "--force"], out.parent / DEMO, None),
        ("template", ["template", "-o", out, "--force"], out, None),
        ("template --data", ["template", "--data", data, "-o", out, "--force"], out, data),
        ("populate", ["populate", data, "-o", out, "--force"], out, data),
        ("validate -o", ["validate", book, "-o", out, "--force"], out, book),
        ("validate DIR -o", ["validate", units, "-o", out, "--force"], out, None),
        ("validate --in-place", ["validate", book, "--in-place"], book, book),
        ("summarize -o", ["summarize", book, "-o", out, "--force"], out, book),
        ("summarize --in-place", ["summarize", book, "--in-place"], book, book),
        ("merge", ["merge", units, "-o", out, "--force"], out, None),
        ("split", ["split", book, "-o", out.parent, "--force"], out.parent / "630001_x", book),
        ("addin build", ["addin", "build", "-o", out.parent, "--force"],
         out.parent / "perfxl.xlam", None),
    ]


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_every_writing_command_under_a_fault(demo_book: Path, tmp_path: Path,
                                             fault: str) -> None:
    """Input byte-identical, the target the old file, no temporary file, exit 2 with one
    sentence — never 3 — for every command that writes, on a full disk and a read-only one."""
    units = tmp_path / "units"
    assert cli("split", demo_book, "-o", units).returncode == 0
    options = ("size=1m",)
    with mounted("tmpfs", tmp_path / "disk", *options) as disk:
        out = disk / "out.xlsx"
        book = disk / "book.xlsx"
        shutil.copyfile(demo_book, book)
        olds = {}
        for _, _, target, _ in _commands(tmp_path, units, book, out):
            if target != book and not target.name.startswith("630001"):
                target.write_bytes(b"old")
                olds[target] = b"old"
        if fault == "full":
            fill(disk, 8 << 10)
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        book_sha = sha(book)
        for name, args, _target, source in _commands(tmp_path, units, book, out):
            r = cli(*args)
            sentence(r)
            assert ("磁盘空间不足" if fault == "full" else "只读") in r.stderr, (name, r.stderr)
            if source is not None:
                assert sha(source) == (book_sha if source == book else sha(source)), name
            for path, data in olds.items():
                assert path.read_bytes() == data, (name, path)
            assert sha(book) == book_sha, name
            assert temps(disk) == [], name
            assert sorted(p.name for p in disk.iterdir()) == sorted(
                ["book.xlsx", *(p.name for p in olds), *(["filler"] if fault == "full" else [])]
            ), name


# --- the module itself --------------------------------------------------------------------------------

def test_atomic_path_cleans_up_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target, force=True) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and temps(tmp_path) == []


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    from perfxl import files

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    dead = tmp_path / f".perfxl-{files.host_tag()}-{p.pid}-0123abcd.tmp"
    alive = tmp_path / f".perfxl-{files.host_tag()}-{os.getpid()}-0123abcd.tmp"
    other_host = tmp_path / f".perfxl-ffffffff-{p.pid}-0123abcd.tmp"
    users = tmp_path / ".dept.xlsx.tmp"
    for f in (dead, alive, other_host, users):
        f.write_bytes(b"x")
    assert clean_stale(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f.name for f in (alive, other_host, users))


def test_backup_reuses_same_bytes_and_never_replaces(book: Path) -> None:
    first = backup(open_in_place(book))
    assert backup(open_in_place(book)) == first
    book.write_bytes(b"changed")
    second = backup(open_in_place(book))
    assert second.name == "dept.perfxl-backup-2.xlsx" and first.read_bytes() != b"changed"
