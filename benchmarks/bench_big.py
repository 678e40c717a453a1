"""Target 3: big full-batch least squares, 10^6 x 100 float64 (800 MB).

A full-batch GD step needs ``z = X w`` and ``X^T r``: two passes over X, so the memory bandwidth
sets its floor. The engine's step (update + loss and gradient at the new parameters + trace row)
is timed step by step through the ``progress`` callback and compared with those two
matrix-vector products alone. ``tracemalloc`` (NumPy reports its buffers to it) gives the peak
memory allocated *during* the steps: a per-step copy of X would show up as hundreds of MB.
The same with ``dtype: float32`` (half the bytes to stream).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc

import numpy as np

from _harness import Row, fmt_s, fmt_x
from _problems import linear_data, problem_from_arrays


def config(n: int, d: int, steps: int, dtype: str) -> dict:
    return {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": n, "n_features": d},
            "model": "linear", "loss": "half_mse", "optimizer": {"name": "gd", "lr": 0.5},
            "batch": "full", "train": {"steps": steps, "log_every": 1, "dtype": dtype}}


def matvec_pair(X: np.ndarray, repeat: int) -> float:
    """Best time of ``X @ w`` plus ``X.T @ r``: what one step cannot go below."""
    w = np.full(X.shape[1], 0.01, dtype=X.dtype)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = X @ w
        X.T @ r
        best = min(best, time.perf_counter() - t0)
    return best


def engine_steps(X, y, steps: int, dtype: str) -> list[float]:
    """Wall time of each engine step (trace written to no file: 101 columns, negligible here)."""
    from optrun import engine
    from optrun.trace import TraceWriter, trace_columns

    problem = problem_from_arrays(config(*X.shape, steps, dtype), X, y)
    stamps = []
    writer = TraceWriter(None, trace_columns(problem.param_names, False))
    engine.run(problem, writer, progress=lambda step, total: stamps.append(time.perf_counter()))
    return list(np.diff(stamps))


def peak_during_steps(X, y, dtype: str) -> float:
    """Peak MB allocated while the engine runs 3 steps (tracemalloc, baseline excluded)."""
    from optrun import engine
    from optrun.trace import TraceWriter, trace_columns

    problem = problem_from_arrays(config(*X.shape, 3, dtype), X, y)
    writer = TraceWriter(None, trace_columns(problem.param_names, False))
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    engine.run(problem, writer)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20


def run(quick: bool) -> tuple[list[Row], list[str]]:
    n, d = (200_000, 100) if quick else (1_000_000, 100)
    steps, rounds = (4, 4) if quick else (4, 4)
    T = "3 big full batch"
    rows: list[Row] = []
    X, y = linear_data(n, d)
    results = {}
    for dtype in ("float64", "float32"):
        if dtype == "float32":  # convert, and let the float64 arrays go (never both copies twice)
            X, y = X.astype(np.float32), y.astype(np.float32)
        # Interleaved rounds (matvecs, then a short engine run), best of all: the machine may be
        # shared, and other processes' memory traffic only ever slows a pass over X down.
        mv, per_step = float("inf"), []
        for _ in range(rounds):
            mv = min(mv, matvec_pair(X, 3))
            per_step += engine_steps(X, y, steps, dtype)
        peak = peak_during_steps(X, y, dtype)
        step, median = min(per_step), statistics.median(per_step)
        results[dtype] = step
        size = f"{n:,} x {d} {dtype} ({X.nbytes / 2**20:.0f} MB)"
        rows.append(Row(T, f"{size}: X @ w + X.T @ r", fmt_s(mv)))
        rows.append(Row(T, f"{size}: one GD step (engine)", f"{fmt_s(step)} (median {fmt_s(median)})",
                        f"{fmt_x(step / mv)} (wall)", "<= 1.15x the 2 matvecs", step / mv <= 1.15,
                        f"median: {fmt_x(median / mv)}"))
        rows.append(Row(T, f"{size}: peak memory allocated during the steps", f"{peak:.1f} MB",
                        f"{peak / (X.nbytes / 2**20):.3f} of X", "no copy of X", peak < 0.5 * X.nbytes / 2**20))
    rows.append(Row(T, "float32 speed-up of a GD step", "", f"{fmt_x(results['float64'] / results['float32'])} (wall)",
                    "about 2x", results["float64"] / results["float32"] >= 1.6))
    return rows, []


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
