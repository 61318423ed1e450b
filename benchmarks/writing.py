"""Writing a department book, side by side with XlsxWriter alone writing the same cells.

    python benchmarks/writing.py [--runs 3] [--sizes 1000,10000]

For each size (projects in one department, generated with benchmarks/generate.py) it times, as
subprocesses, ``perfxl populate`` (data file → book), ``perfxl summarize`` (that book → a book
with a rebuilt 汇总) and ``perfxl merge`` (the book split into its units → one department book),
each beside its **baseline**: a script that makes the same XlsxWriter calls with stock
XlsxWriter and nothing else (:func:`replay`).

The baseline's calls are recorded once, untimed, from the very command it stands beside
(:func:`record`: every call perfxl makes on XlsxWriter's Workbook, worksheets and charts, with
its arguments), and the cells of the 校验结果 sheet that summarize and merge add by patching
the book's XML (values as read back, one format) are added as XlsxWriter writes of their own.
The replay then loads the calls and makes them, in order, on ``xlsxwriter.Workbook``: the
same cells, formats, formulas with their cached values, conditional formats, merges, data
validations, names and charts. One call is left out: the format of a project sheet's columns
right of its live cells, to the last column (XFD), makes stock XlsxWriter's write quadratic in
the columns (minutes for 1,000 sheets; perfxl/xlsx.py writes the same bytes linearly).

Each figure is the median of ``--runs`` rounds, the commands of a round run one after the
other, and each ratio also the median of the rounds' own ratios (``pairwise``: the machine's
load changes less within a round); memory is each process's own peak RSS (``wait4``; the
books and recordings are prepared in a child, so that the measuring process stays small: a
child's peak RSS starts from its parent's at the fork).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "writing"
WIDE = 64  # columns: a wider range given a format is the one call the replay leaves out
JOBS = ("populate", "summarize", "merge")
LIMITS = "cells=20M,entries=200K,unzipped=8G,merged=20M,book_area=100G,sheet_area=100M,timeout=3600"
"""The reading limits (perfxl/limits.py) for summarize and merge at 10,000 projects: such a book
has more cells, zip entries and merged cells than a book is allowed by default."""


# --- recording ---------------------------------------------------------------------------------

REF = "\x00ref"


def Ref(kind: str, n: int) -> tuple[str, str, int]:
    """An object of the book (format, sheet, chart) in a recorded call: a plain tuple, so that
    the replay needs nothing but pickle and XlsxWriter."""
    return (REF, kind, n)


class Recorder:
    """Every call made on a Workbook (and on the sheets, formats and charts it hands out), as
    ``(target, method, args, kwargs)`` with those objects as :class:`Ref`."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, str, tuple[Any, ...], dict[str, Any]]] = []
        self.ids: dict[int, tuple[str, str, int]] = {}
        self.depth = 0
        self.made: dict[str, int] = {}

    def ref(self, obj: Any, kind: str) -> tuple[str, str, int]:
        r = self.ids.get(id(obj))
        if r is None:
            r = self.ids[id(obj)] = Ref(kind, self.made.get(kind, 0))
            self.made[kind] = r[2] + 1
        return r

    def encode(self, v: Any) -> Any:
        if id(v) in self.ids:
            return self.ids[id(v)]
        if isinstance(v, dict):
            return {k: self.encode(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(self.encode(x) for x in v)
        return v


def recording_class(base: type, rec: Recorder) -> type:
    """``base`` (perfxl's Workbook) with every public call of the book, its sheets and charts
    recorded, outermost calls only (not XlsxWriter's calls to itself)."""

    def wrap(obj: Any, kind: str) -> None:
        cls = type(obj)
        for name in dir(cls):
            if name.startswith("_") or not callable(getattr(cls, name, None)):
                continue
            method = getattr(obj, name)
            setattr(obj, name, _recorded(rec, obj, kind, name, method))

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, filename: Any, options: Any = None) -> None:
            super().__init__(filename, options)
            rec.calls.append((None, "__init__", (), {"options": dict(options or {})}))
            rec.ids[id(self)] = rec.ref(self, "book")
            for name in ("add_worksheet", "add_format", "add_chart", "define_name",
                         "set_properties", "set_custom_property", "close"):
                setattr(self, name, _recorded(rec, self, "book", name, getattr(self, name)))

    def on_result(kind: str, result: Any) -> None:
        if kind in ("sheet", "chart"):
            wrap(result, kind)

    rec.on_result = on_result  # type: ignore[attr-defined]
    return Recording


def _recorded(rec: Recorder, obj: Any, kind: str, name: str, method: Any) -> Any:
    made = {"add_worksheet": "sheet", "add_format": "format", "add_chart": "chart"}.get(name)

    def call(*args: Any, **kwargs: Any) -> Any:
        if rec.depth:
            return method(*args, **kwargs)
        rec.depth += 1
        try:
            entry = (rec.ids[id(obj)], name, rec.encode(args), rec.encode(kwargs))
            result = method(*args, **kwargs)
        finally:
            rec.depth -= 1
        if made is not None:
            rec.ref(result, made)
            rec.on_result(made, result)  # type: ignore[attr-defined]
        if name == "add_format":  # its properties as given (perfxl passes fresh dicts)
            entry = (entry[0], name, (dict(args[0]) if args else {},), {})
        rec.calls.append(entry)
        return result

    return call


def record(job: Any, log: Path, output: Path) -> None:
    """Run ``job`` (a callable that runs one perfxl job in process) with every XlsxWriter call
    recorded, add the 校验结果 sheet's cells of ``output``, and pickle the calls to ``log``."""
    from perfxl import template
    from perfxl.xlsx import workbook_class

    rec = Recorder()
    original = template.workbook_class
    template.workbook_class = lambda: recording_class(workbook_class(), rec)  # type: ignore
    try:
        job()
    finally:
        template.workbook_class = original
    _results_sheet(rec, output)
    with open(log, "wb") as f:
        pickle.dump(rec.calls, f, protocol=pickle.HIGHEST_PROTOCOL)


def _results_sheet(rec: Recorder, output: Path) -> None:
    """The 校验结果 sheet of ``output`` (written by patching XML, not by XlsxWriter) as writes
    of its values, before the book is closed."""
    from python_calamine import CalamineWorkbook

    from perfxl.marks import RESULT_SHEET

    book = CalamineWorkbook.from_path(str(output))
    if RESULT_SHEET not in book.sheet_names:
        return
    close = next(i for i, c in enumerate(rec.calls) if c[1] == "close")
    sheet = Ref("sheet", rec.made.get("sheet", 0))
    fmt = Ref("format", rec.made.get("format", 0))
    book_ref = Ref("book", 0)
    calls: list[Any] = [(book_ref, "add_worksheet", (RESULT_SHEET,), {}),
                        (book_ref, "add_format", ({"border": 1, "text_wrap": True},), {})]
    for r, row in enumerate(book.get_sheet_by_name(RESULT_SHEET).to_python()):
        for c, v in enumerate(row):
            if v == "" or v is None:
                continue
            method = "write_number" if isinstance(v, (int, float)) else "write_string"
            calls.append((sheet, method, (r, c, v if method == "write_number" else str(v),
                                          fmt), {}))
    rec.calls[close:close] = calls


# --- the baseline: the recorded calls on stock XlsxWriter ---------------------------------------

def replay(log: Path, out: Path, *, stock: bool = False) -> None:
    """Make the calls of ``log`` on ``xlsxwriter.Workbook`` writing ``out``: lean (the default),
    with the formula step that looks for functions newer than Excel 2007 to prefix skipped
    (~130 regular expressions per formula; none of these formulas has such a function), or
    ``stock``: XlsxWriter as it is."""
    import xlsxwriter
    from xlsxwriter.worksheet import Worksheet

    if not stock:
        def prepare(self: Any, formula: str, expand_future_functions: bool = False) -> str:
            return formula.removeprefix("{").removeprefix("=").removesuffix("}")

        Worksheet._prepare_formula = prepare

    with open(log, "rb") as f:
        calls = pickle.load(f)
    objects: dict[str, list[Any]] = {"book": [], "sheet": [], "format": [], "chart": []}

    def resolve(v: Any) -> Any:
        if type(v) is tuple and len(v) == 3 and v[0] == REF:
            return objects[v[1]][v[2]]
        if type(v) is dict:
            return {k: resolve(x) for k, x in v.items()}
        if type(v) is list:
            return [resolve(x) for x in v]
        return v

    made = {"add_worksheet": "sheet", "add_format": "format", "add_chart": "chart"}
    for target, name, args, kwargs in calls:
        if target is None:
            objects["book"].append(xlsxwriter.Workbook(str(out), kwargs["options"]))
            continue
        if name == "set_column" and args[1] - args[0] >= WIDE and \
                (len(args) > 3 and args[3] is not None):
            continue  # the one call left out (see the module's docstring)
        obj = objects[target[1]][target[2]]
        result = getattr(obj, name)(*[resolve(a) for a in args],
                                    **{k: resolve(v) for k, v in kwargs.items()})
        if name in made:
            objects[made[name]].append(result)


# --- the measurement -----------------------------------------------------------------------------

def paths(projects: int) -> dict[str, Path]:
    folder = DATA / str(projects)
    return {"data": folder / "department.json", "book": folder / "department.xlsx",
            "units": folder / "units", "out": folder / "out",
            **{f"{job}.calls": folder / f"{job}.calls" for job in JOBS}}


def prepare(projects: int, jobs: tuple[str, ...] = JOBS) -> dict[str, Path]:
    """The data file, the book, the unit books and the recorded baselines for ``projects``
    (made once, under benchmarks/.data/writing/)."""
    from perfxl import pipeline
    from perfxl.dataset import to_data

    p = paths(projects)
    p["out"].mkdir(parents=True, exist_ok=True)
    if not p["data"].exists():
        sys.path.insert(0, str(ROOT))
        from benchmarks.generate import department

        dept = department(1, projects, random.Random(projects))
        p["data"].write_text(json.dumps(to_data(dept), ensure_ascii=False), encoding="utf-8")
    logs = {job: p[f"{job}.calls"] for job in JOBS}
    if not logs["populate"].exists() or not p["book"].exists():
        record(lambda: pipeline.populate(p["data"], p["book"], force=True), logs["populate"],
               p["book"])
    if "merge" in jobs and not p["units"].exists():
        pipeline.split(p["book"], p["units"], force=True)
    if "summarize" in jobs and not logs["summarize"].exists():
        target = p["out"] / "summarized.xlsx"
        record(lambda: pipeline.summarize_book(p["book"], out=target, force=True),
               logs["summarize"], target)
    if "merge" in jobs and not logs["merge"].exists():
        target = p["out"] / "merged.xlsx"
        record(lambda: pipeline.merge([p["units"]], target, force=True), logs["merge"],
               target)
    return p


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MB) of one subprocess."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def measure(sizes: list[int], runs: int, *, stock: bool = False,
            jobs: tuple[str, ...] = JOBS) -> dict[str, Any]:
    """The figures; ``stock``: also the populate baseline on XlsxWriter as it is (one run per
    size: its formula step makes it several times slower)."""
    perfxl = [sys.executable, "-m", "perfxl"]
    me = [sys.executable, str(Path(__file__).resolve()), "replay"]
    out: dict[str, Any] = {}
    if any(n > 1000 for n in sizes):
        os.environ.setdefault("PERFXL_LIMITS", LIMITS)
    for n in sizes:
        subprocess.run([*me[:2], "prepare", str(n), ",".join(jobs)], check=True, cwd=ROOT)
        p = paths(n)
        o = p["out"]
        cmds = {
            "populate": [*perfxl, "populate", str(p["data"]), "-o", str(o / "p.xlsx"),
                         "--force"],
            "summarize": [*perfxl, "summarize", str(p["book"]), "-o", str(o / "s.xlsx"),
                          "--force"],
            "merge": [*perfxl, "merge", str(p["units"]), "-o", str(o / "m.xlsx"), "--force"],
        }
        cmds = {job: cmd for job, cmd in cmds.items() if job in jobs}
        times: dict[str, list[tuple[float, float]]] = {}
        for _ in range(runs):
            for job, cmd in cmds.items():
                times.setdefault(job, []).append(run(cmd))
                times.setdefault(f"{job}_baseline", []).append(
                    run([*me, str(p[f"{job}.calls"]), str(o / f"{job}_baseline.xlsx")]))
        if stock:
            times["populate_baseline_stock"] = [run([*me, str(p["populate.calls"]),
                                                     str(o / "stock.xlsx"), "--stock"])]
        figures: dict[str, Any] = {"projects": n, "load": round(os.getloadavg()[0], 2)}
        for job, ts in times.items():
            figures[job] = {"seconds": round(statistics.median(t for t, _ in ts), 3),
                            "runs": [round(t, 3) for t, _ in ts],
                            "peak_mb": round(max(m for _, m in ts), 1)}
        for job in cmds:
            figures[job]["baseline_ratio"] = round(
                figures[job]["seconds"] / figures[f"{job}_baseline"]["seconds"], 2)
            figures[job]["baseline_ratio_pairwise"] = round(statistics.median(
                a / b for (a, _), (b, _) in zip(times[job], times[f"{job}_baseline"],
                                                strict=True)), 2)
        out[str(n)] = figures
    if len(sizes) > 1:
        small, large = str(min(sizes)), str(max(sizes))
        out["growth"] = {job: round(out[large][job]["seconds"] / out[small][job]["seconds"], 2)
                         for job in jobs if job in out[large] and job in out[small]}
        out["growth"]["projects"] = f"{large}/{small}"
    out["targets"] = {"baseline_ratio": 2.0, "growth_10x": 11.0}
    return out


def table(figures: dict[str, Any]) -> str:
    lines = ["writing            seconds  baseline  ratio  pairwise  peak MB"]
    for n, f in figures.items():
        if not n.isdigit():
            continue
        for job in JOBS:
            if job not in f:
                continue
            lines.append(f"{job:<9} {n:>6}  {f[job]['seconds']:>8.2f}  "
                         f"{f[f'{job}_baseline']['seconds']:>8.2f}  "
                         f"{f[job]['baseline_ratio']:>5.2f}  "
                         f"{f[job].get('baseline_ratio_pairwise', 0):>8.2f}  "
                         f"{f[job]['peak_mb']:>7.0f}")
    if "growth" in figures:
        lines.append(f"growth {figures['growth']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["prepare"]:
        prepare(int(args[1]), tuple(args[2].split(",")))
        return
    if args[:1] == ["replay"]:
        replay(Path(args[1]), Path(args[2]), stock="--stock" in args)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--stock", action="store_true",
                    help="also the populate baseline on XlsxWriter as it is")
    ap.add_argument("--jobs", default=",".join(JOBS))
    a = ap.parse_args(args)
    figures = measure([int(s) for s in a.sizes.split(",")], a.runs, stock=a.stock,
                      jobs=tuple(a.jobs.split(",")))
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    print(table(figures))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
