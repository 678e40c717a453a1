"""Run optrun's performance benchmarks and record the results.

    python benchmarks/run.py             # full run (~10 min), writes benchmarks/results/full.md
    python benchmarks/run.py --quick     # smaller sizes (~2 min), writes benchmarks/results/quick.md
    python benchmarks/run.py --only startup,small

Sections (the targets of the performance issue; docs/performance.md explains each):

    startup  1  CLI start-up against `import typer` / `import numpy, yaml`   (bench_startup.py)
    small    2  engine overhead on 200 x 3 Adam vs a hand loop and torch     (bench_small.py)
    big      3  10^6 x 100 GD step vs two matvecs; float32                   (bench_big.py)
    sgd      4  per-sample SGD epoch vs NumPy loop and scikit-learn          (bench_sgd.py)
    trace    5  writing a 10^6-row trace vs the training behind it           (bench_trace.py)
    memory   6  peak RSS for 10^4, 10^5, 10^6 steps                          (bench_memory.py)
    bigdata  7  train 10^6 x 100 end to end vs its floor; peak memory; CSV    (bench_bigdata.py)
                vs pandas.read_csv; Gram vs QR reference
    compiled 17.1 the compiled engine: per-sample SGD vs scikit-learn; small Adam  (bench_compiled.py)
                vs a hand NumPy loop (skipped without numba)
    vectorized 17.4 a 100-run lr x seed sweep: --vectorize vs -j 1 (and vs 0.1.0   (bench_vectorized.py)
                at /tmp/base when checked out there)

torch and scikit-learn are optional peers: without them their rows say "skipped". Benchmarks are
never part of the test suite (pytest collects tests/ only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Measure the optrun of this checkout, not an installed one: here and in every child process
# (the `optrun` console script of an editable install would import another checkout).
sys.path.insert(1, str(HERE.parent))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p)

from _harness import Row, machine, table, write_results  # noqa: E402

SECTIONS = ("startup", "small", "big", "sgd", "trace", "memory", "bigdata", "compiled", "vectorized")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats (~2 min)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default: benchmarks/results/{full,quick}.md, plus .json; "
                             "{full,quick}-partial.md with --only)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    mode = "quick" if args.quick else "full"
    partial = "" if set(only) == set(SECTIONS) else "-partial"  # never overwrite a complete record
    out = args.out or HERE / "results" / f"{mode}{partial}.md"
    os.environ.setdefault("MPLBACKEND", "Agg")

    info = machine()
    print(f"optrun benchmarks ({mode}); load average {info['load_average_at_start']}", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    t0 = time.perf_counter()
    for name in SECTIONS:
        if name not in only:
            continue
        module = __import__(f"bench_{name}")
        s0 = time.perf_counter()
        print(f"- {name} ...", end=" ", flush=True)
        try:
            r, n = module.run(quick=args.quick)
        except Exception as exc:  # one broken section must not hide the others' results
            traceback.print_exc()
            r, n = [Row(name, "section failed", f"{type(exc).__name__}: {exc}", met=False)], []
        rows += r
        notes += n
        print(f"{time.perf_counter() - s0:.0f} s", flush=True)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    seconds = time.perf_counter() - t0
    write_results(out, mode, info, rows, notes, seconds)
    print()
    print(table(rows))
    if notes:
        print()
        print("\n".join(f"- {n}" for n in notes))
    judged = [r for r in rows if r.met is not None]
    missed = [r for r in judged if not r.met]
    print(f"\n{len(judged) - len(missed)} of {len(judged)} targets met; {seconds:.0f} s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
