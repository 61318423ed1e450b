"""What the live checks cost: file size, LibreOffice open-and-recalculate time, and the time of
``perfxl validate``, for the same books written with and without them.

    python benchmarks/live.py [--runs 3] [--validate-runs N] [--json OUT.json]

Books: the embedded 2021 dataset (7 projects) and a seeded 100-project department of
benchmarks/generate.py, each checked once and written by ``template.build`` with the report
(so 汇总 and every other sheet are the same) with ``live_checks`` on and off; and an empty book,
whose time is LibreOffice's own start, load and save (the baseline). LibreOffice runs headless
in one private profile that pins recalculation on load (tests/libreoffice.py), warmed by one
run before the timed ones; the books take turns in every round. Two runs a book:

- *open and recalculate* (the target): ``--convert-to csv``, which loads the book, recalculates
  every formula of every sheet and writes only the first sheet's text (a few hundred bytes);
- *open, recalculate and save*: ``--convert-to xlsx``, which also writes every sheet, formulas
  and conditional formats back out (shown beside; its output is where the live counts are read).

Times are medians, raw and minus the baseline.
``perfxl validate BOOK --format json`` runs as a command, the four books taking turns likewise.
The books are not annotated (no 校验结果 sheet, no marks of the full check): both are exactly
what the template writes, so the difference is the live checks and nothing else.
Targets (with/without): size ≤ 1.3×, LibreOffice time ≤ 1.5×; a miss is printed as one.

As a check that the timed formulas compute what they should, the live counts LibreOffice gives
(the AO1/AP1 cells of every checked sheet) are compared with the findings of ``perfxl validate``
for the rules that are live.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE_TARGET, TIME_TARGET = 1.3, 1.5
GENERATED_PROJECTS, SEED = 100, 1


def _departments() -> dict[str, Any]:
    from benchmarks.generate import department
    from perfxl.dataset import embedded

    rng = random.Random(SEED * 1_000_003 + 1)  # as generate.py seeds its first book
    return {"7 projects (2021 dataset)": embedded(),
            f"{GENERATED_PROJECTS} projects (generated)": department(1, GENERATED_PROJECTS, rng)}


def write_pair(dept: Any, folder: Path, stem: str) -> tuple[Path, Path, tuple[int, int]]:
    """The department checked once, then written with and without live checks; and how many
    errors and warnings the check found for the rules that are live."""
    from perfxl.consolidate import totals
    from perfxl.layout import place
    from perfxl.live import live_rules
    from perfxl.template import build
    from perfxl.validate import check

    place(dept)
    report = check(dept, book=f"{stem}.xlsx")
    t = totals(dept)
    paths = folder / f"{stem}_live.xlsx", folder / f"{stem}_plain.xlsx"
    for path, on in zip(paths, (True, False), strict=True):
        build(path, dept, report, t, placed=True, live_checks=on)
    live = set(live_rules())
    found = [f for f in report.findings if f.rule in live]
    return (*paths, (sum(f.severity == "error" for f in found),
                     sum(f.severity == "warning" for f in found)))


def empty_book(path: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Sheet1")
    wb.close()
    return path


Times = dict[Path, dict[str, list[float]]]
"""Per book: its ``wall`` and ``cpu`` seconds (user + system of the command and the processes it
waited for), one per run."""


def in_turns(commands: dict[Path, list[str]], runs: int,
             done: Callable[[Path], bool] | None = None) -> Times:
    """Each book's command timed: one warm-up round, then ``runs`` rounds in which the books take
    turns (so that a slower or faster spell of the machine is shared by all). Wall time is what a
    user waits; CPU time is what the command itself costs, and stays put when other work shares
    the machine. Exit codes 0 and 1 (a verdict) count; ``done(book)`` says whether the command
    did its work."""
    times: Times = {b: {"wall": [], "cpu": []} for b in commands}
    for round_ in range(runs + 1):
        for book, cmd in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, check=False, timeout=600,
                                cwd=ROOT).returncode
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if rc not in (0, 1) or (done is not None and not done(book)):
                raise SystemExit(f"{' '.join(cmd)} failed (exit {rc})")
            if round_:
                times[book]["wall"].append(wall)
                times[book]["cpu"].append(after.ru_utime - before.ru_utime
                                          + after.ru_stime - before.ru_stime)
    return times


def soffice_times(books: list[Path], runs: int, out: Path, fmt: str = "xlsx") -> Times:
    """Headless LibreOffice load (every formula recalculated) and conversion of each book to
    ``fmt``, in one private profile; the last outputs stay in ``out``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from libreoffice import _profile, soffice  # the pinned recalculation profile of the tests

    binary = soffice()
    if binary is None:
        raise SystemExit("LibreOffice (soffice) not found: install libreoffice-calc")
    with _profile(recalc=True) as profile:
        return in_turns({b: [binary, profile, "--headless", "--invisible", "--nologo",
                             "--nodefault", "--norestore", "--nolockcheck", "--convert-to",
                             fmt, "--outdir", str(out / b.stem), str(b)] for b in books},
                        runs, done=lambda b: (out / b.stem / f"{b.stem}.{fmt}").is_file())


def live_counts(book: Path) -> tuple[int, int]:
    """Errors and warnings of the live checks as a recalculated book holds them (AO1/AP1)."""
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True, data_only=True)
    try:
        errors = warnings = 0
        for ws in wb.worksheets:
            e, w = ws["AO1"].value, ws["AP1"].value
            if isinstance(e, (int, float)) and isinstance(w, (int, float)):
                errors, warnings = errors + int(e), warnings + int(w)
        return errors, warnings
    finally:
        wb.close()


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def measure(runs: int = 3, validate_runs: int | None = None) -> dict[str, Any]:
    """Every figure of this benchmark, as a JSON-able dict (benchmarks/run.py stores it)."""
    import compileall

    compileall.compile_dir(ROOT / "perfxl", quiet=1)  # as installed (see benchmarks/run.py)
    perfxl = [sys.executable, "-m", "perfxl"]
    validate_runs = validate_runs or max(runs, 5)
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": runs, "validate_runs": validate_runs,
        "targets": {"size": SIZE_TARGET, "libreoffice": TIME_TARGET}, "books": {}}
    with tempfile.TemporaryDirectory(prefix="perfxl-bench-live-") as tmp:
        folder = Path(tmp)
        pairs = {name: write_pair(dept, folder, f"book{i}")
                 for i, (name, dept) in enumerate(_departments().items())}
        empty = empty_book(folder / "empty.xlsx")
        order = [empty, *(p for live, plain, _ in pairs.values() for p in (live, plain))]
        office = soffice_times(order, runs, folder / "open", "csv")
        saved = soffice_times(order, runs, folder / "out")
        checked = in_turns({b: [*perfxl, "validate", str(b), "--format", "json"]
                            for b in order[1:]}, validate_runs)
        base = {k: median(v) for k, v in office[empty].items()}
        base_saved = {k: median(v) for k, v in saved[empty].items()}
        result["libreoffice_empty_book"] = {
            **base, "runs": {k: [round(x, 3) for x in v] for k, v in office[empty].items()},
            "saved": {**base_saved,
                      "runs": {k: [round(x, 3) for x in v] for k, v in saved[empty].items()}}}

        def lo_times(times: Times, book: Path, zero: dict[str, float]) -> dict[str, Any]:
            lo = {k: median(v) for k, v in times[book].items()}
            return {**lo, **{f"{k}_net": round(v - zero[k], 3) for k, v in lo.items()},
                    "runs": {k: [round(x, 3) for x in v] for k, v in times[book].items()}}

        for name, (live, plain, expected) in pairs.items():
            entry: dict[str, Any] = {}
            for key, book in (("with", live), ("without", plain)):
                entry[key] = {
                    "bytes": book.stat().st_size,
                    "libreoffice": lo_times(office, book, base),
                    "libreoffice_saved": lo_times(saved, book, base_saved),
                    "validate": {**{k: median(v) for k, v in checked[book].items()},
                                 "runs": {k: [round(x, 3) for x in v]
                                          for k, v in checked[book].items()}},
                }
            w, wo = entry["with"], entry["without"]
            entry["ratios"] = {"size": _ratio(w["bytes"], wo["bytes"])} | {
                f"{what}_{k}": _ratio(w[what][k], wo[what][k])
                for what, ks in (("libreoffice", ("wall", "wall_net", "cpu", "cpu_net")),
                                 ("libreoffice_saved", ("wall_net", "cpu_net")),
                                 ("validate", ("wall", "cpu"))) for k in ks}
            entry["met"] = {k: r is not None and r <= (SIZE_TARGET if k == "size" else TIME_TARGET)
                            for k, r in entry["ratios"].items()
                            if k in ("size", "libreoffice_wall_net", "libreoffice_cpu_net")}
            got = live_counts(folder / "out" / live.stem / live.name)
            entry["live_counts"] = {"libreoffice": list(got), "validate": list(expected),
                                    "agree": got == expected}
            result["books"][name] = entry
    return result


def table(result: dict[str, Any]) -> str:
    """The figures as a small text table; a missed target reads MISSED."""
    e0 = result["libreoffice_empty_book"]
    s0 = e0["saved"]
    lines = [f"live checks, {result['date']}, {result['cpus']} cores (load average "
             f"{result['load_average'][0]} at the start); medians of {result['runs']} LibreOffice "
             f"and {result['validate_runs']} validate runs",
             "LibreOffice open = headless load with every formula recalculated (--convert-to "
             "csv: the first sheet's text); saved = the same and every sheet saved as .xlsx",
             f"empty book (LibreOffice's start, load, save): open {e0['wall']:.2f} s wall, "
             f"{e0['cpu']:.2f} s CPU; saved {s0['wall']:.2f} s, {s0['cpu']:.2f} s; "
             f"net = minus the empty book",
             f"{'book':<26} {'':>7} {'size KB':>8} {'open':>6} {'net':>6} {'CPU net':>7} "
             f"{'saved':>6} {'net':>6} {'CPU net':>7} {'validate':>8} {'CPU':>6}"]

    def x(v: float | None, unit: str = "×") -> str:
        return "n/a" if v is None else f"{v:.2f}{unit}"

    for name, e in result["books"].items():
        for key in ("with", "without"):
            b, lo, sv, va = (e[key], e[key]["libreoffice"], e[key]["libreoffice_saved"],
                             e[key]["validate"])
            lines.append(f"{name if key == 'with' else '':<26} {key:>7} {b['bytes'] / 1024:8.1f} "
                         f"{lo['wall']:6.2f} {lo['wall_net']:6.2f} {lo['cpu_net']:7.2f} "
                         f"{sv['wall']:6.2f} {sv['wall_net']:6.2f} {sv['cpu_net']:7.2f} "
                         f"{va['wall']:8.3f} {va['cpu']:6.3f}")
        r = e["ratios"]
        verdict = {k: "met" if ok else "MISSED" for k, ok in e["met"].items()}
        lines.append(f"{'':<26} {'ratio':>7} {x(r['size']):>8} {x(r['libreoffice_wall']):>6} "
                     f"{x(r['libreoffice_wall_net']):>6} {x(r['libreoffice_cpu_net']):>7} "
                     f"{'':>6} {x(r['libreoffice_saved_wall_net']):>6} "
                     f"{x(r['libreoffice_saved_cpu_net']):>7} {x(r['validate_wall']):>8} "
                     f"{x(r['validate_cpu']):>6}")
        lines.append(f"{'':<26} {'':>7} targets: size ≤ {SIZE_TARGET}× {verdict['size']}; "
                     f"LibreOffice open net ≤ {TIME_TARGET}×: wall "
                     f"{verdict['libreoffice_wall_net']}, CPU {verdict['libreoffice_cpu_net']}")
        c = e["live_counts"]
        lines.append(f"{'':<26} {'':>7} live errors, warnings after LibreOffice's recalculation "
                     f"{c['libreoffice']}; validate, live rules {c['validate']}"
                     + ("" if c["agree"] else "  DISAGREE"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=3, help="LibreOffice runs per book")
    ap.add_argument("--validate-runs", type=int, help="validate runs per book (default: "
                    "--runs, at least 5)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    result = measure(args.runs, args.validate_runs)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
