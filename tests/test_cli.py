"""The CLI: real runs through click's CliRunner and one real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from perfxl.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = "2021_行政审批部门_绩效目标.xlsx"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_demo_writes_the_department_book(tmp_path: Path) -> None:
    code, out, _ = run("demo", "-o", str(tmp_path / "out"))
    assert code == 0
    assert (tmp_path / "out" / DEMO).is_file()
    assert "1100000.00" in out and "630001" in out and "7 个项目" in out


def test_demo_as_a_real_command(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "perfxl", "demo", "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / DEMO).stat().st_size > 10_000
    r = subprocess.run([sys.executable, "-m", "perfxl", "read", str(tmp_path / DEMO),
                        "--format", "json"], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["projects"]) == 7


def test_read_json_shape(tmp_path: Path, demo_book: Path) -> None:
    code, out, _ = run("read", str(demo_book), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= {"department", "year", "template_version", "units", "projects", "skipped"}
    assert doc["department"] == "行政审批部门" and doc["year"] == 2021
    assert doc["units"][0] == {"code": "630001", "name": "秦皇岛市山海关区行政审批局本级"}
    p = doc["projects"][0]
    assert set(p) >= {"seq", "sheet", "unit_code", "unit_name", "code", "name", "budget", "fiscal",
                      "other", "purpose", "goals", "plan", "indicators", "cells"}
    assert (p["budget"], p["fiscal"], p["other"]) == ("80000.00", "80000.00", "0.00")
    assert p["plan"] == ["25.00", "50.00", "75.00", "100.00"]
    assert doc["projects"][3]["plan"] is None
    assert p["cells"]["project.plan"] == ["B7", "D7", "E7", "F7"]
    assert set(p["indicators"][0]) == {"level1", "level2", "level3", "description", "value",
                                       "basis", "cells"}
    assert p["indicators"][0]["cells"]["value"] == "F10"
    total = sum(float(x["budget"]) for x in doc["projects"])
    assert total == 1_100_000


def test_read_text_and_data(demo_book: Path) -> None:
    code, out, _ = run("read", str(demo_book))
    assert code == 0 and "1,100,000.00" in out and "青龙帮扶" in out
    code, out, _ = run("read", str(demo_book), "--format", "data")
    assert code == 0 and json.loads(out)["format"] == "perfxl/1"


def test_template_and_populate(tmp_path: Path) -> None:
    from perfxl import read_book
    from perfxl.dataset import embedded_path

    code, out, _ = run("template", "-o", str(tmp_path / "blank.xlsx"))
    assert code == 0 and read_book(tmp_path / "blank.xlsx").projects == []
    code, _, _ = run("template", "-o", str(tmp_path / "t.xlsx"), "--data", str(embedded_path()))
    assert code == 0 and len(read_book(tmp_path / "t.xlsx").projects) == 7
    code, out, _ = run("populate", str(embedded_path()), "-o", str(tmp_path / "p.xlsx"))
    assert code == 0 and "7 个项目" in out
    assert (tmp_path / "p.xlsx").read_bytes() == (tmp_path / "t.xlsx").read_bytes()


def test_errors_are_messages_with_exit_code_2(tmp_path: Path) -> None:
    code, _, err = run("read", str(tmp_path / "missing.xlsx"))
    assert code == 2 and err.startswith("错误: 找不到文件") and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("projects: [{budget: 1.5}]", encoding="utf-8")
    code, _, err = run("populate", str(bad), "-o", str(tmp_path / "x.xlsx"))
    assert code == 2 and "不符合格式" in err and not (tmp_path / "x.xlsx").exists()
    code, _, err = run("populate", str(bad), "-o", str(bad))
    assert code == 2 and "拒绝覆盖" in err and bad.read_text(encoding="utf-8").startswith("projects")
    code, _, err = run("template", "-o", str(tmp_path / "no" / "such" / "dir.xlsx"))
    assert code == 0 and (tmp_path / "no" / "such" / "dir.xlsx").is_file()  # folders made


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: object) -> None:
    """A crash while writing leaves the previous book intact and no temp files behind."""
    import perfxl.template as t

    out = tmp_path / "book.xlsx"
    out.write_bytes(b"old contents")

    def boom(path: Path, *args: object, **kwargs: object) -> None:
        path.write_bytes(b"half a book")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(t, "build", boom)  # type: ignore[attr-defined]
    code, _, err = run("template", "-o", str(out), "--force")
    assert code == 2 and "磁盘空间不足" in err
    assert out.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert re.search(rf"perfxl {name}\b", readme), f"perfxl {name} is not in README.md"


# --- what a newcomer meets: help, usage errors, Ctrl-C, output names ----------------------------

BILINGUAL = re.compile(r"[^(]*[\u4e00-\u9fff][^(]*\(.*[A-Za-z]{3}.*\)\.?", re.DOTALL)
"""中文 first, then the English in parentheses (a paragraph)."""


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...],
                                                                               click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            found += _commands(cmd, (*path, name))
        else:
            found.append(((*path, name), cmd))
    return found


def test_every_help_text_is_chinese_first_with_english_beside() -> None:
    for path, cmd in _commands(main):
        assert cmd.help, path
        for paragraph in cmd.help.strip().replace("\b\n", "").split("\n\n"):
            assert BILINGUAL.fullmatch(paragraph.strip()), (path, paragraph)
        if path:
            assert cmd.short_help and BILINGUAL.fullmatch(cmd.short_help), (path, cmd.short_help)
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help and BILINGUAL.fullmatch(param.help), (path, param.opts)
        code, out, err = run(*path, "--help")
        assert code == 0, err
        assert out.startswith("用法 (Usage): ") and "选项 (Options):" in out
        assert "显示本帮助并退出 (show this message and exit)." in out
        assert "Usage:" not in out and "Show this message" not in out and "[default:" not in out
    code, out, _ = run("--help")
    assert "命令 (Commands):" in out and "显示版本并退出 (show the version and exit)." in out
    code, out, _ = run("validate", "--help")
    assert "[默认 (default): text]" in out and "退出码 (exit code): 0 没有错误 (no errors)" in out
    code, out, _ = run("merge", "--help")
    assert "必填 (required)]" in out


@pytest.mark.parametrize(("args", "zh", "en"), [
    (("read", "{tmp}"), "'BOOK' 的取值无效: '{tmp}' 是文件夹,这里要的是文件",
     "Invalid value for 'BOOK': File '{tmp}' is a directory"),
    (("read",), "缺少参数 'BOOK'", "Missing argument 'BOOK'"),
    (("template",), "缺少选项 '-o' / '--out'", "Missing option '-o' / '--out'"),
    (("read", "x.xlsx", "--fromat", "json"), "没有选项 '--fromat',是不是要用 '--format'?",
     "No such option '--fromat'. Did you mean '--format'?"),
    (("valdate", "x.xlsx"), "没有命令 'valdate',是不是要用 'validate'?",
     "No such command 'valdate'. Did you mean 'validate'?"),
    (("validate", "x.xlsx", "--format", "xml"),
     "'--format' 的取值无效: 'xml' 不是可选的值,应为 'text', 'json' 之一",
     "Invalid value for '--format': 'xml' is not one of 'text', 'json'"),
    (("validate", "x.xlsx", "--jobs", "99"), "'--jobs' 的取值无效: 99 不在允许的范围 0<=x<=64 内",
     "99 is not in the range 0<=x<=64"),
    (("validate", "x.xlsx", "-o"), "选项 '-o' 后面要跟一个值", "Option '-o' requires an argument"),
    (("demo", "extra"), "多余的参数: extra", "Got unexpected extra argument (extra)"),
    (("validate", "x.xlsx", "-o", "y.xlsx", "--in-place"), "-o 与 --in-place 只能选一个",
     "use either -o or --in-place"),
    (("summarize", "x.xlsx", "--declared-unit", "630001"),
     "--declared-unit 的取值无效: 应写作 单位编码=金额,如 630001=500000,而不是 '630001'",
     "expected CODE=AMOUNT, e.g. 630001=500000, not '630001'"),
    (("summarize", "x.xlsx", "--declared-unit", "630001=abc"),
     "--declared-unit 的取值无效: 'abc' 不是金额", "not an amount: 'abc'"),
])
def test_click_usage_errors_are_chinese_first(tmp_path: Path, args: tuple[str, ...], zh: str,
                                              en: str) -> None:
    code, out, err = run(*(a.format(tmp=tmp_path) for a in args))
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"错误: {zh.format(tmp=tmp_path)} (") and last.endswith(")"), err
    assert en.format(tmp=tmp_path) in last
    assert "Error:" not in err and "Usage:" not in err and "Traceback" not in err


def test_usage_error_shows_the_usage_and_where_help_is() -> None:
    code, _, err = run("read")
    assert code == 2 and err.splitlines()[:2] == ["用法 (Usage): main read [OPTIONS] BOOK",
                                    "帮助 (help): main read --help"]


@pytest.mark.parametrize("args", [
    ("template", "-o", "{tmp}/book.csv"),
    ("populate", "{data}", "-o", "{tmp}/book"),
    ("merge", "{demo}", "-o", "{tmp}/merged.ods"),
    ("summarize", "{demo}", "-o", "{tmp}/book.xlsm"),
    ("validate", "{demo}", "{demo}", "-o", "{tmp}/review.csv"),
    ("validate", "{demo}", "-o", "{tmp}/annotated.xlsm"),
])
def test_a_book_is_written_only_under_a_name_that_fits_it(tmp_path: Path, demo_book: Path,
                                                         args: tuple[str, ...]) -> None:
    from perfxl.dataset import embedded_path

    code, out, err = run(*(a.format(tmp=tmp_path, data=embedded_path(), demo=demo_book)
                           for a in args))
    assert code == 2 and out == "" and "Traceback" not in err
    assert re.fullmatch(r"错误: (输出的工作簿应以 \.xlsx 结尾|标注副本应与原工作簿 .* 一样以 \.xlsx 结尾)"
                        r": \S+ \(.* must end in \.xlsx: \S+\)\n", err), err
    assert list(tmp_path.iterdir()) == []


def test_book_names_that_fit(tmp_path: Path, demo_book: Path) -> None:
    from perfxl.outputs import book_output

    assert book_output(tmp_path / "A.XLSX") == tmp_path / "A.XLSX"
    assert book_output("x.xlsm", copy_of="in.xlsm") == Path("x.xlsm")
    assert book_output("x.xlsx", copy_of="old.xls") == Path("x.xlsx")  # refused later, by annotate
    code, _, err = run("validate", str(demo_book), "-o", str(tmp_path / "checked.XLSX"))
    assert code == 1 and (tmp_path / "checked.XLSX").is_file(), err


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the workers start")
def test_ctrl_c_while_validating_a_folder_exits_130(tmp_path: Path, demo_book: Path) -> None:
    """Ctrl-C on a terminal interrupts the whole process group: the command and its workers."""
    import os
    import shutil
    import signal
    import time

    folder = tmp_path / "books"
    folder.mkdir()
    for i in range(300):
        shutil.copyfile(demo_book, folder / f"{i:03}.xlsx")
    proc = subprocess.Popen([sys.executable, "-m", "perfxl", "validate", str(folder), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the workers are forked once validating starts
        # Not during a fork itself: Python drops a KeyboardInterrupt raised in its at-fork hooks.
        time.sleep(0.2)
        assert proc.poll() is None, "finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - sent < 15  # the workers are ended, not waited for
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip() == "已中断 (interrupted)" and out == ""


def test_text_report_written_to_a_file_keeps_every_message_whole(demo_book: Path) -> None:
    """Cut with … only on a terminal: piped or redirected, each finding is whole on its line."""
    code, out, _ = run("validate", str(demo_book), "--format", "json")
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert max(len(m) for m in messages) > 100  # longer than any terminal column for them
    code, out, _ = run("validate", str(demo_book))
    assert code == 1 and "…" not in out
    lines = out.splitlines()
    for message in messages:
        assert any(message in line for line in lines), message
    code, out, _ = run("validate", str(demo_book), str(demo_book))
    assert "…" not in out and all(len(line) < 1000 for line in out.splitlines())


def test_a_long_write_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    """populate of a 300-project department on a terminal: a progress bar names its steps (on
    stderr, cleared when done); the same command into a pipe prints no bar."""
    import os
    import pty
    import random

    import yaml

    sys.path.insert(0, str(ROOT))
    from benchmarks.generate import department
    from perfxl.dataset import to_data

    data = tmp_path / "big.yaml"
    data.write_text(yaml.safe_dump(to_data(department(1, 300, random.Random(3))),
                                   allow_unicode=True), encoding="utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # the child: perfxl on a terminal
        os.execvp(sys.executable, [sys.executable, "-m", "perfxl", "populate", str(data), "-o",
                                   str(tmp_path / "big.xlsx")])
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen[-2000:]
    assert "生成 (building)".encode() in seen and b"300" in seen
    piped = subprocess.run([sys.executable, "-m", "perfxl", "populate", str(data), "-o",
                            str(tmp_path / "again.xlsx")], capture_output=True, text=True,
                           check=False)
    assert piped.returncode == 0 and "building" not in piped.stderr + piped.stdout


@pytest.mark.parametrize("command", ["demo", "template", "populate", "split"])
def test_the_rules_file_reaches_the_live_formulas(command: str, tmp_path: Path) -> None:
    """--rules on every command that writes a book: its thresholds and severities are in the
    book's live checks (a 22-character code, no description-repeats-name test)."""
    import shutil
    import zipfile

    from perfxl.dataset import embedded_path

    rules = tmp_path / "r.yaml"
    rules.write_text("thresholds:\n  code_length: 22\n"
                     "rules:\n  description-repeats-name: {severity: off}\n", encoding="utf-8")
    data = tmp_path / "d.yaml"
    shutil.copyfile(embedded_path(), data)
    out = tmp_path / "out"
    args = {"demo": ["demo", "-o", str(out)],
            "template": ["template", "-o", str(tmp_path / "t.xlsx"), "--data", str(data)],
            "populate": ["populate", str(data), "-o", str(tmp_path / "t.xlsx")],
            "split": ["split", str(tmp_path / "t.xlsx"), "-o", str(out)]}[command]
    if command == "split":
        assert run("populate", str(data), "-o", str(tmp_path / "t.xlsx"))[0] == 0
    described: list[int] = []
    for with_rules in (False, True):
        code, _, err = run(*args, "--force", *(["--rules", str(rules)] if with_rules else []))
        assert code in (0, 1), err
        book = next(out.glob("*.xlsx")) if command in ("demo", "split") else tmp_path / "t.xlsx"
        with zipfile.ZipFile(book) as z:
            xml = "".join(z.read(n).decode() for n in z.namelist()
                          if n.startswith("xl/worksheets/sheet") or n == "xl/sharedStrings.xml")
        lengths = set(re.findall(r"\(LEN\(\$[A-Z]+\$1\)=(\d+)\)", xml))
        assert lengths == ({"22"} if with_rules else {"21"})
        # description-repeats-name turned off: one rule fewer on each description column
        described.append(len(re.findall(r'<conditionalFormatting sqref="D9:D\d+">', xml))
                         + len(re.findall(r'<cfRule[^>]*>(?:(?!</cfRule>).)*ASC\(D9\)', xml)))
    assert described[0] > described[1] > 0
