"""Benchmarks, side by side in one run: `perfxl validate` on folders of our template's books, of
books typed by hand in the seed's layout and of both mixed, each against the parse floor of the
same folder; growth from 200 to 400 books and the peak memory; a province (``--province N``
department books, with ``--format json`` and with ``-o REVIEW.xlsx``, against a tenth of it);
the single-book command against importing pandas + pandera; a merge, the summary writer, and
what the live checks cost (benchmarks/live.py: size, LibreOffice recalculation, validate; needs
LibreOffice; ``--skip-live`` leaves it out); and writing a department of 1,000 and 10,000
projects beside XlsxWriter alone writing the same cells (benchmarks/writing.py; ``--no-10000``,
``--writing-only``).

    python benchmarks/run.py [--runs 3] [--quick] [--province 10000] [--skip-live] [--no-10000]
                             [--writing-only]

Books are generated (seeded) under benchmarks/.data on first use (benchmarks/generate.py); the
mixed folder links the odd books of the template folder and the even books of the seed-layout
one (what ``generate.py --layout mixed`` writes). Each figure is the median of ``--runs`` runs
(the province: one run each, it is long); a floor and the command it is compared with are run
alternately, so a change of the machine's load falls on both. Commands run as real subprocesses
with default settings, each started by a small launcher process that reports its wall and CPU
seconds (all its processes) and the peak RSS of its largest process (its own or a worker's). The
load average before and after is recorded: wall ratios measured on a busy machine are worse than
on an idle one (the floor is one process, perfxl uses every core and starts pandas); the CPU
ratios ("cpu: …") are less bent by other work.
Results are printed and written to benchmarks/results/latest.json (quick.json with --quick).

perfxl is measured as an installed tool runs: its modules compiled to bytecode once, as pip does
on install (a source checkout under PYTHONDONTWRITEBYTECODE=1, as on the reference machine, would
otherwise compile the whole package again in every run, ≈ 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
sys.path.insert(0, str(ROOT))

from benchmarks import writing  # noqa: E402
from benchmarks.floor import parse_floor  # noqa: E402

PERFXL = [sys.executable, "-m", "perfxl"]
TARGETS = {"validate_template/floor": 2.5, "validate_seed/floor": 3.0,
           "validate_mixed/floor": 3.0, "validate_seed_400/validate_seed": 2.1,
           "peak_mb_400": 300, "validate_demo/import": 1.3,
           "province_json/tenth": 11.0, "province_review/tenth": 11.0}
"""The goals (issue 16). A province is linear when N books take at most 1.1 × 10 times a tenth."""


def books(name: str, count: int, projects: int, layout: str = "template",
          distinct: int = 0) -> Path:
    folder = DATA / name
    if len(list(folder.glob("*.xlsx"))) < count:
        from benchmarks.generate import main as generate

        generate([str(folder), "--books", str(count), "--projects", str(projects),
                  "--layout", layout, "--distinct", str(distinct)])
    return folder


def linked(name: str, sources: list[Path]) -> Path:
    """A folder of links to ``sources`` (a mixed folder, a tenth of a province)."""
    folder = DATA / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xlsx"):
        old.unlink()
    for path in sources:
        (folder / path.name).symlink_to(path.resolve())
    return folder


_LAUNCH = """import os, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, wall, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)
"""
"""Runs a command and reports its exit code, wall and CPU seconds (its processes and their
workers) and the peak RSS of its largest process. A fresh small process, because a child starts
with its parent's peak RSS (and run.py's own is large)."""


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and the peak RSS (MB) of the command's largest process."""
    done = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    rc, wall, cpu, peak = done.stdout.split()
    if int(rc) not in (0, 1):  # 1 is a verdict (errors found); else no measurement
        raise SystemExit(f"{' '.join(cmd)} exited {rc}")
    return float(wall), float(cpu), float(peak)


Measure = Callable[[], tuple[float, float, float]]


def floor_of(folder: Path) -> Measure:
    paths = sorted(folder.glob("*.xlsx"))

    def measure() -> tuple[float, float, float]:
        t, c = time.perf_counter(), time.process_time()
        parse_floor(paths)
        return time.perf_counter() - t, time.process_time() - c, 0.0

    return measure


def side_by_side(runs: int, **measures: Measure) -> dict[str, dict[str, Any]]:
    """Each measure run ``runs`` times, taking turns: the median wall and CPU seconds and the
    largest peak."""
    times: dict[str, list[float]] = {k: [] for k in measures}
    cpus: dict[str, list[float]] = {k: [] for k in measures}
    peaks: dict[str, float] = dict.fromkeys(measures, 0.0)
    for _ in range(runs):
        for name, measure in measures.items():
            seconds, cpu, peak = measure()
            times[name].append(seconds)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
    return {k: {"seconds": round(statistics.median(v), 3), "runs": [round(x, 3) for x in v],
                "cpu_seconds": round(statistics.median(cpus[k]), 3),
                **({"peak_mb": round(peaks[k], 1)} if peaks[k] else {})}
            for k, v in times.items()}


def command(*args: str) -> Measure:
    return lambda: run([*PERFXL, *args])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="20/40 books instead of 200/400, a province of 200")
    ap.add_argument("--province", type=int, default=0,
                    help="department books in the province run (default 10000; 200 --quick)")
    ap.add_argument("--skip-live", action="store_true", help="leave out the live checks' cost")
    ap.add_argument("--no-10000", dest="large_writing", action="store_false",
                    help="writing: 1,000 projects only (10,000 take minutes)")
    ap.add_argument("--writing-only", action="store_true",
                    help="measure writing only; the other figures of the results file stay")
    args = ap.parse_args(argv)
    results = ROOT / "benchmarks" / "results" / ("quick.json" if args.quick else "latest.json")
    sizes = [1000, 10000] if args.large_writing else [1000]
    n = 20 if args.quick else 200
    province = args.province or (200 if args.quick else 10000)
    import compileall

    compileall.compile_dir(ROOT / "perfxl", quiet=1)
    if args.writing_only:
        kept = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
        kept["writing"] = writing.measure(sizes, args.runs)
        results.write_text(json.dumps(kept, ensure_ascii=False, indent=2) + "\n",
                           encoding="utf-8")
        print(writing.table(kept["writing"]))
        return
    template = books(f"template_{n}", n, 25)
    seed, seed2 = books(f"seed_{n}", n, 25, "seed"), books(f"seed_{2 * n}", 2 * n, 25, "seed")
    mixed = linked(f"mixed_{n}", [template / f"dept_{i:04d}.xlsx" if i % 2 else
                                  seed / f"dept_{i:04d}.xlsx" for i in range(1, n + 1)])
    every = books(f"province_{province}", province, 3, "seed", distinct=min(province, 400))
    tenth = linked(f"province_{province}_tenth", sorted(every.glob("*.xlsx"))[:province // 10])
    out: dict[str, Any] = {"machine": {"python": platform.python_version(),
                                       "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                                       "load_before": [round(x, 2) for x in os.getloadavg()]}}

    for name, folder in (("template", template), ("seed", seed), ("mixed", mixed)):
        got = side_by_side(args.runs, floor=floor_of(folder),
                           validate=command("validate", str(folder), "--format", "json"))
        out[f"floor_{name}"], out[f"validate_{name}"] = got["floor"], got["validate"]
    got = side_by_side(args.runs, small=command("validate", str(seed), "--format", "json"),
                       large=command("validate", str(seed2), "--format", "json"))
    out["validate_seed_200"], out["validate_seed_400"] = got["small"], got["large"]

    review = Path(tempfile.mkdtemp(prefix="perfxl-bench-")) / "review.xlsx"
    for kind, extra in (("json", ["--format", "json"]), ("review", ["-o", str(review), "--force"])):
        got = side_by_side(1, tenth=command("validate", str(tenth), *extra),
                           every=command("validate", str(every), *extra))
        out[f"province_{kind}"] = {"books": province, **got["every"]}
        out[f"province_{kind}_tenth"] = {"books": province // 10, **got["tenth"]}

    demo_dir = Path(tempfile.mkdtemp(prefix="perfxl-bench-"))
    subprocess.run([*PERFXL, "demo", "-o", str(demo_dir)], check=True, capture_output=True)
    demo = next(demo_dir.glob("*.xlsx"))
    got = side_by_side(args.runs, imports=lambda: run([sys.executable, "-c",
                                                       "import pandas, pandera.pandas"]),
                       demo=command("validate", str(demo), "--format", "json"))
    out["import_pandas_pandera"], out["validate_demo"] = got["imports"], got["demo"]

    big = next(iter(sorted(template.glob("*.xlsx"))))
    units = demo_dir / "units"
    subprocess.run([*PERFXL, "split", str(big), "-o", str(units)], check=True,
                   capture_output=True)
    got = side_by_side(args.runs,
                       merge=command("merge", str(units), "-o", str(demo_dir / "merged.xlsx"),
                                     "--force"),
                       summary=command("summarize", str(big), "-o",
                                       str(demo_dir / "summary.xlsx"), "--force"))
    out["merge_one_department"], out["summary_writer"] = got["merge"], got["summary"]
    if not args.skip_live:
        from benchmarks import live

        out["live"] = live.measure(args.runs)
    out["writing"] = writing.measure(sizes, args.runs)
    out["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]

    def s(k: str) -> float:
        return float(out[k]["seconds"])

    def cpu(k: str) -> float:
        return float(out[k]["cpu_seconds"])

    ratios = {
        "validate_template/floor": s("validate_template") / s("floor_template"),
        "validate_seed/floor": s("validate_seed") / s("floor_seed"),
        "validate_mixed/floor": s("validate_mixed") / s("floor_mixed"),
        "validate_seed_400/validate_seed": s("validate_seed_400") / s("validate_seed_200"),
        "peak_mb_400": out["validate_seed_400"]["peak_mb"],
        "validate_demo/import": s("validate_demo") / s("import_pandas_pandera"),
        "province_json/tenth": s("province_json") / s("province_json_tenth"),
        "province_review/tenth": s("province_review") / s("province_review_tenth"),
        "province_peak_mb/tenth": out["province_json"]["peak_mb"]
        / out["province_json_tenth"]["peak_mb"],
        # CPU seconds (every process of the command) over the floor's: what the wall ratios
        # come to on an idle machine with one core; less bent by other work on the machine
        "cpu: validate_template/floor": cpu("validate_template") / cpu("floor_template"),
        "cpu: validate_seed/floor": cpu("validate_seed") / cpu("floor_seed"),
        "cpu: validate_mixed/floor": cpu("validate_mixed") / cpu("floor_mixed"),
        "cpu: validate_demo/import": cpu("validate_demo") / cpu("import_pandas_pandera"),
        "cpu: province_json/tenth": cpu("province_json") / cpu("province_json_tenth"),
    }
    out["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    out["targets"] = TARGETS
    out["met"] = {k: out["ratios"][k] <= v for k, v in TARGETS.items()}
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    width = max(map(len, out))
    for k, v in out.items():
        if k not in ("live", "writing"):
            print(f"{k:<{width}}  {json.dumps(v, ensure_ascii=False)}")
    if "live" in out:
        from benchmarks import live

        print(live.table(out["live"]))
    print(writing.table(out["writing"]))


if __name__ == "__main__":
    main()
