"""Progress of the long jobs: what populate, summarize, split and merge tell (perfxl.progress),
and the bar the CLI draws from it on a terminal."""

from __future__ import annotations

import os
import pty
import select
from pathlib import Path

from click.testing import CliRunner

from perfxl import pipeline
from perfxl.cli import TerminalProgress, main
from perfxl.dataset import embedded, embedded_path
from perfxl.progress import Progress


class Told(Progress):
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.done: dict[str, int] = {}

    def stage(self, name: str, total: int | None = None) -> None:
        self.stages.append((name, total))
        self.done[name] = 0

    def advance(self, n: int = 1) -> None:
        name = self.stages[-1][0]
        self.done[name] += n

    def counted(self) -> dict[str, tuple[int | None, int]]:
        """Each counted stage → (its total, what was done)."""
        return {name: (total, self.done[name]) for name, total in self.stages if total}


def test_populate_counts_the_sheets_built_and_written(tmp_path: Path) -> None:
    told = Told()
    pipeline.populate(embedded_path(), tmp_path / "a.xlsx", progress=told)
    assert [name for name, _ in told.stages] == [
        "读取数据 (reading the data)", "生成 (building)", "写出 (writing)"]
    # 7 project sheets; 说明, 部门整体, 7 projects, 汇总, 选项
    assert told.counted() == {"生成 (building)": (7, 7), "写出 (writing)": (11, 11)}


def test_summarize_split_and_merge_tell_their_stages(tmp_path: Path) -> None:
    book = tmp_path / "dept.xlsx"
    pipeline.department_book(embedded(), book)
    told = Told()
    pipeline.summarize_book(book, out=tmp_path / "s.xlsx", progress=told)
    names = [name for name, _ in told.stages]
    assert names == ["读取 (reading)", "校验 (checking)", "生成 (building)", "写出 (writing)",
                     "标注 (marking)", "保存 (saving)"]
    counted = told.counted()
    assert all(total == done for total, done in counted.values())
    assert counted["标注 (marking)"][0] == 11  # the sheets the book had before 校验结果

    told = Told()
    units = pipeline.split(book, tmp_path / "units", progress=told)
    assert len(units) == 2 and told.counted()["写出单位工作簿 (writing the unit books)"] == (2, 2)

    told = Told()
    pipeline.merge([tmp_path / "units"], tmp_path / "m.xlsx", progress=told)
    assert told.stages[0] == ("读取 (reading)", 2) and told.done["读取 (reading)"] == 2
    assert told.counted()["生成 (building)"] == (7, 7)


def test_the_bar_on_a_terminal() -> None:
    master, slave = pty.openpty()
    with open(slave, "w", encoding="utf-8") as stream:
        bar = TerminalProgress(stream, after=0)
        bar._timer.join()  # shown
        bar.stage("生成 (building)", 3)
        for _ in range(3):
            bar.advance()
        bar.stop()
    out = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert "生成 (building)" in text and "3/3" in text


def test_no_bar_when_stderr_is_no_terminal(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["populate", str(embedded_path()), "-o",
                                  str(tmp_path / "a.xlsx")])
    assert r.exit_code == 0, r.output
    assert "生成" not in r.output.replace("已生成", "")
