"""Benchmarks, side by side in one run: the parse floor, `perfxl validate` on folders, a merge, the
summary writer, the single-book command against importing pandas + pandera, and what the live
checks cost (benchmarks/live.py: size, LibreOffice recalculation, validate; needs LibreOffice),
and writing a department of 1,000 and 10,000 projects beside XlsxWriter alone writing the same
cells (benchmarks/writing.py).

    python benchmarks/run.py [--runs 3] [--quick] [--no-10000] [--writing-only]

Books are generated (seeded) under benchmarks/.data on first use. Each figure is the median of
``--runs`` runs; commands run as real subprocesses with default settings; memory is the peak RSS
of the largest process (``ru_maxrss`` of the waited children). Results are printed and written to
benchmarks/results/latest.json.

perfxl is measured as an installed tool runs: its modules compiled to bytecode once, as pip does
on install (a source checkout under PYTHONDONTWRITEBYTECODE=1, as on the reference machine, would
otherwise compile the whole package again in every run, ≈ 50 ms).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
sys.path.insert(0, str(ROOT))

from benchmarks import live, writing  # noqa: E402
from benchmarks.floor import parse_floor  # noqa: E402


def books(name: str, count: int, projects: int, layout: str = "template") -> Path:
    folder = DATA / name
    if len(list(folder.glob("*.xlsx"))) < count:
        from benchmarks.generate import main as generate

        generate([str(folder), "--books", str(count), "--projects", str(projects),
                  "--layout", layout])
    return folder


def timed(cmd: list[str], runs: int) -> dict[str, Any]:
    """Median wall time of a command, and the peak RSS of its largest process (MB)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            check=False, cwd=ROOT).returncode
        times.append(time.perf_counter() - t)
        if rc not in (0, 1):  # 1 is a verdict (errors found); anything else is no measurement
            raise SystemExit(f"{' '.join(cmd)} exited {rc}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(statistics.median(times), 3), "runs": [round(x, 3) for x in times],
            "peak_mb": round(peak, 1)}


def floor(folder: Path, runs: int) -> dict[str, Any]:
    paths = sorted(folder.glob("*.xlsx"))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        parse_floor(paths)
        times.append(time.perf_counter() - t)
    return {"seconds": round(statistics.median(times), 3), "books": len(paths)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20/40 books instead of 200/400")
    ap.add_argument("--no-10000", dest="large_writing", action="store_false",
                    help="writing: 1,000 projects only (10,000 take minutes)")
    ap.add_argument("--writing-only", action="store_true",
                    help="measure writing only; the other figures of the results file stay")
    args = ap.parse_args(argv)
    results = ROOT / "benchmarks" / "results" / ("quick.json" if args.quick else "latest.json")
    sizes = [1000, 10000] if args.large_writing else [1000]
    import compileall

    compileall.compile_dir(ROOT / "perfxl", quiet=1)
    if args.writing_only:
        kept = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
        kept["writing"] = writing.measure(sizes, args.runs)
        results.write_text(json.dumps(kept, ensure_ascii=False, indent=2) + "\n",
                           encoding="utf-8")
        print(writing.table(kept["writing"]))
        return
    n = 20 if args.quick else 200
    perfxl = [sys.executable, "-m", "perfxl"]
    small, large = books(f"template_{n}", n, 25), books(f"template_{2 * n}", 2 * n, 25)
    seed = books("seed_50", 50, 25, layout="seed")
    out: dict[str, Any] = {"machine": {"python": platform.python_version(),
                                       "cpus": __import__("os").cpu_count()}}

    out["floor_small"] = floor(small, args.runs)
    out["validate_small"] = timed([*perfxl, "validate", str(small), "--format", "json"],
                                  args.runs)
    out["floor_large"] = floor(large, args.runs)
    out["validate_large"] = timed([*perfxl, "validate", str(large), "--format", "json"],
                                  args.runs)
    out["floor_seed"] = floor(seed, args.runs)
    out["validate_seed"] = timed([*perfxl, "validate", str(seed), "--format", "json"], args.runs)

    demo_dir = Path(tempfile.mkdtemp(prefix="perfxl-bench-"))
    subprocess.run([*perfxl, "demo", "-o", str(demo_dir)], check=True, capture_output=True)
    demo = next(demo_dir.glob("*.xlsx"))
    out["import_pandas_pandera"] = timed([sys.executable, "-c", "import pandas, pandera.pandas"],
                                         args.runs)
    out["validate_demo"] = timed([*perfxl, "validate", str(demo), "--format", "json"], args.runs)

    big = next(iter(sorted(small.glob("*.xlsx"))))
    units = demo_dir / "units"
    subprocess.run([*perfxl, "split", str(big), "-o", str(units)], check=True,
                   capture_output=True)
    out["merge_one_department"] = timed(
        [*perfxl, "merge", str(units), "-o", str(demo_dir / "merged.xlsx"), "--force"],
        args.runs)
    out["summary_writer"] = timed(
        [*perfxl, "summarize", str(big), "-o", str(demo_dir / "summary.xlsx"), "--force"],
        args.runs)
    out["live"] = live.measure(args.runs)
    out["writing"] = writing.measure(sizes, args.runs)

    ratios = {
        "validate_small/floor": out["validate_small"]["seconds"] / out["floor_small"]["seconds"],
        "validate_large/validate_small": out["validate_large"]["seconds"]
        / out["validate_small"]["seconds"],
        "validate_seed/floor_seed": out["validate_seed"]["seconds"]
        / out["floor_seed"]["seconds"],
        "validate_demo/import": out["validate_demo"]["seconds"]
        / out["import_pandas_pandera"]["seconds"],
    }
    out["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    out["targets"] = {"validate_small/floor": 3.0, "validate_large/validate_small": 2.3,
                      "validate_demo/import": 1.5, "peak_mb": 500}
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    width = max(map(len, out))
    for k, v in out.items():
        if k not in ("live", "writing"):
            print(f"{k:<{width}}  {json.dumps(v, ensure_ascii=False)}")
    print(live.table(out["live"]))
    print(writing.table(out["writing"]))


if __name__ == "__main__":
    main()
