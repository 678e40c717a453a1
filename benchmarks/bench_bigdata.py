"""Target 7 (issue 17 part 2): big data end to end, each side in a fresh process, side by side.

* ``optrun train --no-plots`` on synthetic_linear 10^6 x 100 (generate with the exact spectrum,
  reference optimum, 10 full-batch GD steps) against its floor written by hand: draw the data,
  one Gram matrix ``X^T X``, 10 steps of two matrix-vector products. Wall-time ratio (BLAS uses
  every core on both sides); goal <= 3x.
* Peak resident memory of that run (``VmHWM`` of the process) against the bytes of the data
  (X and y); goal <= 1.5x.
* Reading a 10^6 x 10 CSV (~200 MB) with optrun's reader against ``pandas.read_csv``; goal <= 2x
  (aim: every round <= 1.5x; the note lists the ratio of every interleaved round).
* The least-squares reference: the Gram (Cholesky) path against Householder QR (stated).

``--quick`` uses 2 x 10^5 rows. The reference cache is switched off (OPTRUN_REFERENCE_CACHE=off)
so the reference is computed every time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _harness import REPO, Row, best_of, fmt_s, fmt_x, paired_ratio, run_child, Timing

HERE = Path(__file__).resolve().parent

CONFIG = """\
name: bigdata
seed: 0
dataset: {{name: synthetic_linear, n_samples: {n}, n_features: {d}}}
model: linear
loss: half_mse
optimizer: {{name: gd, lr: 0.5}}
batch: full
train: {{steps: 10}}
"""

FLOOR = """\
import sys, numpy as np
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))                     # draw the data
y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
G = X.T @ X                                         # one Gram matrix
w = np.zeros(d)
for _ in range(10):                                 # 10 steps of two matvecs
    r = X @ w - y
    w -= 0.5 / n * (X.T @ r)
with open(sys.argv[3], "w") as out:
    out.write(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""

# One BLAS thread on both sides: on a shared (oversubscribed) machine a multithreaded BLAS call
# waits for all its threads to be scheduled, and X^T X then varies 20x from run to run.
ENV = {"OPTRUN_REFERENCE_CACHE": "off", "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}


def _train_vs_floor(n: int, d: int, rounds: int) -> tuple[dict[str, Timing], dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-bigdata-"))
    (tmp / "big.yaml").write_text(CONFIG.format(n=n, d=d))
    (tmp / "floor.py").write_text(FLOOR)
    cmds = {
        "optrun": [sys.executable, str(HERE / "_peak.py"), str(tmp / "peak-optrun"), "train", str(tmp / "big.yaml"),
                   "--no-plots", "--out", str(tmp / "runs")],
        "floor": [sys.executable, str(tmp / "floor.py"), str(n), str(d), str(tmp / "peak-floor")],
    }
    walls = {k: [] for k in cmds}
    peaks = {}
    for _ in range(rounds):  # interleaved: a slow spell of a shared machine hits both sides
        for name, cmd in cmds.items():
            wall, _, _, _ = run_child(cmd, cwd=tmp, env=ENV)
            walls[name].append(wall)
            peaks[name] = int((tmp / f"peak-{name}").read_text()) * 1024
    return {k: Timing(min(v), float("nan"), v, v) for k, v in walls.items()}, peaks


def _csv_vs_pandas(n: int, rounds: int) -> dict[str, Timing]:
    import pandas as pd

    from optrun.data.csv import read_csv_lines

    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-csv-"))
    path = tmp / "big.csv"
    A = np.random.default_rng(0).standard_normal((n, 10))
    pd.DataFrame(A, columns=[f"x{j}" for j in range(1, 10)] + ["y"]).to_csv(path, index=False)
    t = best_of({"optrun": lambda: [read_csv_lines(path)], "pandas": lambda: [pd.read_csv(path)]}, rounds)
    path.unlink()
    return t


def _gram_vs_qr(n: int, d: int, rounds: int) -> dict[str, Timing]:
    from _problems import linear_data

    from optrun.models import Objective
    from optrun.reference.least_squares import gram_or_qr

    X, y = linear_data(n, d)
    obj = Objective("linear", "half_mse")
    # (a list, not a tuple: best_of reads a returned tuple as the callable's own times)
    return best_of({"gram": lambda: [gram_or_qr(obj, X, y, method="gram")],
                    "qr": lambda: [gram_or_qr(obj, X, y, method="qr")]}, rounds)


def run(quick: bool) -> tuple[list[Row], list[str]]:
    n, d = (200_000, 100) if quick else (1_000_000, 100)
    T = "7 big data"
    rows: list[Row] = []
    t, peaks = _train_vs_floor(n, d, 1 if quick else 2)
    r = paired_ratio(t["optrun"], t["floor"], "wall")
    data_bytes = 8 * n * (d + 1)
    rows.append(Row(T, f"floor: draw {n:,} x {d}, one X^T X, 10 x two matvecs", fmt_s(t["floor"].wall)))
    rows.append(Row(T, f"optrun train --no-plots ({n:,} x {d}: generate, reference, 10 GD steps)",
                    fmt_s(t["optrun"].wall), f"{fmt_x(r)} (wall)", "<= 3x the floor", r <= 3))
    rows.append(Row(T, "peak resident memory of that run (VmHWM)", f"{peaks['optrun'] / 2**20:.0f} MB",
                    f"{peaks['optrun'] / data_bytes:.2f}x the data", "<= 1.5x the data",
                    peaks["optrun"] <= 1.5 * data_bytes,
                    f"data (X, y) {data_bytes / 2**20:.0f} MB; the floor's peak {peaks['floor'] / 2**20:.0f} MB"))
    m = 200_000 if quick else 1_000_000
    c = _csv_vs_pandas(m, 3 if quick else 7)
    rc = paired_ratio(c["optrun"], c["pandas"], "wall")
    each = sorted(a / b for a, b in zip(c["optrun"].walls, c["pandas"].walls))
    rows.append(Row(T, f"read a {m:,} x 10 CSV: pandas.read_csv", fmt_s(c["pandas"].wall)))
    rows.append(Row(T, f"read a {m:,} x 10 CSV: optrun (fast pass)", fmt_s(c["optrun"].wall),
                    f"{fmt_x(rc)} (wall, median)", "<= 2x pandas", rc <= 2,
                    "rounds: " + ", ".join(f"{x:.2f}x" for x in each)))
    g = _gram_vs_qr(200_000, 100, 2)
    rows.append(Row(T, "least-squares factor, 200,000 x 100: Gram (Cholesky) vs Householder QR",
                    f"{fmt_s(g['gram'].wall)} vs {fmt_s(g['qr'].wall)}",
                    f"{fmt_x(paired_ratio(g['qr'], g['gram'], 'wall'))} faster (wall)", "(stated)", None))
    return rows, []


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
