"""Throughput of a 100-run sweep: `optrun sweep -j 1`, `-j 2` versus a shell loop of `optrun train`.

Every variant trains the same 100 tiny experiments (the `women` data, full-batch GD, 200 steps,
10 learning rates x 10 seeds, no plots) from a cold command line, so the numbers include what a
user waits for: interpreter start-up and imports, planning, training, writing the folders.

    python benchmarks/sweep_throughput.py                 # prints and writes the results file
    python benchmarks/sweep_throughput.py --runs 20       # a quicker look
    python benchmarks/sweep_throughput.py --dask tcp://127.0.0.1:8786   # add an existing cluster

Results: benchmarks/results/sweep_throughput.md (overwritten).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CONFIG = {
    "name": "bench",
    "seed": 0,
    "dataset": {"name": "women", "standardize": True},
    "model": "linear",
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch": "full",
    "train": {"steps": 200},
}


# Runs long enough (~0.1 s of training each) for worker processes to pay for themselves.
HEAVY = {**CONFIG, "name": "bench-heavy", "dataset": {"name": "synthetic_linear", "n_samples": 5000, "n_features": 20},
         "train": {"steps": 1000}}


def grid(n_runs: int) -> tuple[list[float], list[int]]:
    n_lr = 10 if n_runs >= 10 else n_runs
    n_seed = max(1, n_runs // n_lr)
    lrs = [float(f"{10 ** (-3 + 2.5 * i / max(1, n_lr - 1)):.15g}") for i in range(n_lr)]
    return lrs, list(range(n_seed))


def timed(cmd, **kw) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}): {' '.join(map(str, cmd))[:300]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def count_runs(root: Path) -> int:
    return sum(1 for _ in root.rglob("summary.json"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--dask", metavar="ADDRESS", help="also time --executor dask on this scheduler")
    ap.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "sweep_throughput.md")
    args = ap.parse_args()

    lrs, seeds = grid(args.runs)
    n = len(lrs) * len(seeds)
    work = Path(tempfile.mkdtemp(prefix="optrun-bench-"))
    cfg = work / "bench.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    optrun = [sys.executable, "-m", "optrun"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    lr_axis = "optimizer.lr=" + ",".join(repr(x) for x in lrs)
    seed_axis = f"seed=range({len(seeds)})"
    results: list[tuple[str, str, float, int]] = []

    def record(label: str, command: str, seconds: float, out: Path) -> None:
        made = count_runs(out)
        results.append((label, command, seconds, made))
        print(f"{label:<34} {seconds:8.2f} s  {made / seconds:7.2f} runs/s  ({made} runs)", flush=True)

    # 1. a shell loop: one `optrun train` process per run
    out = work / "loop"
    script = (f"for lr in {' '.join(repr(x) for x in lrs)}; do for seed in {' '.join(map(str, seeds))}; do "
              f"{sys.executable} -m optrun train {cfg} optimizer.lr=$lr seed=$seed --out {out} --no-plots -q; done; done")
    record("shell loop of optrun train", "for lr ...; do for seed ...; do optrun train ...; done; done",
           timed(["bash", "-c", script], env=env), out)

    # 2. GNU parallel -j 2 over `optrun train` (if installed)
    if shutil.which("parallel"):
        out = work / "parallel"
        cmd = ["parallel", "--will-cite", "-j", "2", *optrun, "train", str(cfg), "optimizer.lr={1}", "seed={2}",
               "--out", str(out), "--no-plots", "-q", ":::", *map(repr, lrs), ":::", *map(str, seeds)]
        record("GNU parallel -j 2 of optrun train", "parallel -j 2 optrun train ... ::: lrs ::: seeds",
               timed(cmd, env=env), out)

    # 3. optrun sweep, one process and two worker processes
    for jobs in (1, 2):
        out = work / f"sweep-j{jobs}"
        cmd = [*optrun, "sweep", str(cfg), lr_axis, seed_axis, "--out", str(out), "-j", str(jobs), "-q"]
        record(f"optrun sweep -j {jobs}", f"optrun sweep CONFIG optimizer.lr=... seed=range({len(seeds)}) -j {jobs}",
               timed(cmd, env=env), out)

    # 4. resuming the finished sweep (everything already done): the cost of the check
    out = work / "sweep-j1"
    cmd = [*optrun, "sweep", str(cfg), lr_axis, seed_axis, "--out", str(out), "-q"]
    t = timed(cmd, env=env)
    results.append(("rerun of the finished sweep (resume)", "same command again: all skipped", t, 0))
    print(f"{'rerun of the finished sweep':<34} {t:8.2f} s  (all {n} skipped)", flush=True)

    # 5. heavier runs: where -j 2 pays off (shell loop left out: it is start-up bound either way)
    heavy = work / "heavy.yaml"
    heavy.write_text(yaml.safe_dump(HEAVY))
    for jobs in (1, 2):
        out = work / f"heavy-j{jobs}"
        cmd = [*optrun, "sweep", str(heavy), lr_axis, seed_axis, "--out", str(out), "-j", str(jobs), "-q"]
        record(f"heavier runs: optrun sweep -j {jobs}", f"same grid, synthetic_linear 5000x20, 1000 steps, -j {jobs}",
               timed(cmd, env=env), out)

    if args.dask:
        out = work / "sweep-dask"
        cmd = [*optrun, "sweep", str(cfg), lr_axis, seed_axis, "--out", str(out), "--executor", "dask",
               "--address", args.dask, "-q"]
        record("optrun sweep --executor dask", f"--executor dask --address {args.dask}", timed(cmd, env=env), out)

    write_results(args.results, n, results, f"{len(lrs)} learning rates x {len(seeds)} seeds")
    shutil.rmtree(work, ignore_errors=True)


def write_results(path: Path, n: int, results, grid_text: str = "10 learning rates x 10 seeds") -> None:
    import numpy as np

    import optrun

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",) * 3
    base = next(sec for label, _, sec, _ in results if label.startswith("shell loop"))
    lines = [
        "# Sweep throughput",
        "",
        f"{n} tiny runs (`women`, full-batch GD, 200 steps, {grid_text}, no plots),",
        "timed from a cold command line: interpreter start-up, imports, planning, training and",
        "writing every run folder. The heavier rows run the same grid on `synthetic_linear` (5000 rows,",
        "20 features, 1000 full-batch steps: about 0.2 s of training each). Produced by",
        "`python benchmarks/sweep_throughput.py` (OMP/OPENBLAS/MKL threads = 1 everywhere).",
        "",
        "| variant | wall time (s) | runs/s | speed-up vs shell loop |",
        "|---|---:|---:|---:|",
    ]
    for label, _, sec, made in results:
        rate = f"{made / sec:.1f}" if made else "-"
        speedup = "" if label.startswith("heavier") else f"{base / sec:.1f}x"
        lines.append(f"| {label} | {sec:.2f} | {rate} | {speedup} |")
    lines += [
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, optrun {optrun.__version__}; load average at the end "
        f"{', '.join(f'{x:.1f}' if isinstance(x, float) else x for x in load)}.",
        "",
        "Reading: a shell loop pays Python start-up and imports (NumPy, pandas, pydantic, Typer) for",
        "every run, which is nearly the whole cost of a tiny run; `optrun sweep` pays them once",
        "(`-j 1`) or once per worker (`-j N`: spawned processes, one BLAS thread each, about a second",
        "to start), so on tiny runs it is an order of magnitude or more faster than a loop, and GNU",
        "parallel over `optrun train` only divides the start-up cost by the number of jobs. What is",
        "left per run in a sweep is mostly file-system work (three fsync'ed atomic writes, the trace,",
        "the rename into the sweep folder) and config resolution, so `-j 2` gains little on tiny runs",
        "and pays off on runs with real compute (the heavier rows). The resume row is the cost of",
        "rerunning a finished sweep: planning plus reading every `summary.json`.",
        "A load average above the CPU count means other processes shared the CPUs during the",
        "measurement: the parallel variants then gain less than they would on an idle machine.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
