"""Snapshot perfxl's observable outputs, to show that a restructuring changed nothing users get.

Usage:
    python tools/snapshot.py OUTDIR            # with the perfxl to snapshot on PYTHONPATH
    python tools/snapshot.py --compare BASE NEW

A snapshot holds the CLI's output of demo, template, split, merge, ``validate -o``, ``summarize``,
``validate DIR -o review`` and ``read`` (``cmds.json``); the sha256 of every zip part of the books
they write, with check times masked (``parts.json``); and ``read``/``validate`` JSON of every file
of ``../shared/corpus``, of generated benchmark books (template and seed layout) and of the demo
(``json.json``). ``--compare`` prints what differs, with each snapshot's own folder masked.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
TIME = re.compile(rb"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
READABLE = (".xlsx", ".xls", ".xlsm", ".ods", ".csv", ".xlsb")


def snapshot(out: Path) -> None:
    import perfxl
    from perfxl.read import read_book
    from perfxl.validate import check

    out.mkdir(parents=True, exist_ok=True)
    books = out / "books"
    inputs = out / "inputs"
    for layout in ("template", "seed"):
        if not (inputs / layout).exists():
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"),
                            str(inputs / layout), "--books", "6", "--projects", "8",
                            "--layout", layout], check=True, capture_output=True)

    def run(*args: object) -> tuple[int, str]:
        r = subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)],
                           capture_output=True, text=True, check=False)
        return r.returncode, TIME.sub(b"TIME", r.stdout.encode()).decode()

    demo = books / "2021_行政审批部门_绩效目标.xlsx"
    cmds = {
        "demo": run("demo", "-o", books, "--force"),
        "template": run("template", "-o", books / "template.xlsx", "--force"),
        "split": run("split", demo, "-o", books / "split", "--force"),
        "merge": run("merge", books / "split", "-o", books / "merged.xlsx", "--force"),
        "validate-o": run("validate", demo, "-o", books / "annotated.xlsx", "--force",
                          "--format", "json"),
        "summarize": run("summarize", demo, "-o", books / "summ.xlsx", "--force", "--format",
                         "json"),
        "validate-dir": run("validate", inputs / "template", inputs / "seed", "--format",
                            "json", "-o", books / "review.xlsx", "--force"),
        "read": run("read", demo, "--format", "json"),
    }
    (out / "cmds.json").write_text(json.dumps(cmds, ensure_ascii=False, indent=1))
    parts = {}
    for book in sorted(books.rglob("*.xlsx")):
        with zipfile.ZipFile(book) as z:
            for name in z.namelist():
                parts[f"{book.relative_to(books)}:{name}"] = hashlib.sha256(
                    TIME.sub(b"TIME", z.read(name))).hexdigest()
    (out / "parts.json").write_text(json.dumps(parts, indent=1, sort_keys=True))

    def reading(path: Path) -> dict[str, Any]:
        try:
            dept = read_book(path)
        except perfxl.PerfxlError as e:
            return {"error": str(e)}
        report = check(dept, book=path.name).to_json()
        report.pop("checked_at", None)
        return {"read": dept.to_json(), "validate": report}

    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in READABLE)
    files += [*sorted(inputs.rglob("*.xlsx")), demo]
    result = {str(p.relative_to(ROOT.parent) if p.is_relative_to(ROOT.parent) else
                  p.relative_to(out)): reading(p) for p in files}
    (out / "json.json").write_text(json.dumps(result, ensure_ascii=False, indent=1,
                                              sort_keys=True, default=str))
    print(f"{len(result)} inputs, {len(parts)} book parts, {len(cmds)} commands")


def compare(base: Path, new: Path) -> int:
    differences = 0
    for name in ("cmds.json", "parts.json", "json.json"):
        a = json.loads((base / name).read_text().replace(str(base), "OUT"))
        b = json.loads((new / name).read_text().replace(str(new), "OUT"))
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                differences += 1
                print(name, key, str(a.get(key))[:300], "|", str(b.get(key))[:300])
    print("differences:", differences)
    return 1 if differences else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    snapshot(Path(sys.argv[1]))
