"""The CLI: real runs through click's CliRunner and one real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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

    def boom(path: Path, *args: object) -> None:
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
