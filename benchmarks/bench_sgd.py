"""Target 4: one epoch of per-sample (stochastic) SGD on 10^5 x 10 data, constant lr.

Candidates:

* scikit-learn's ``SGDRegressor`` (compiled Cython loop; squared_error = half_mse, one epoch,
  constant lr, no penalty), when scikit-learn is installed;
* a plain NumPy loop: one sample, one update, the step's parameters and batch loss kept in a
  preallocated array (what a student writes);
* optrun's engine stepping through the epoch, one trace row per epoch (``log_every = n``): the
  per-step cost of sampling, gradient, update and stop checks;
* optrun with *every step in the trace* (``log_every: 1``). Each row's ``loss`` and ``grad_norm``
  are full-training-set quantities (the trace contract), so every logged step also evaluates the
  objective on all n rows: O(n d) per step instead of O(d). Timed on the first ``k`` steps and
  scaled to the epoch, next to the same NumPy loop doing that same full evaluation per step.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from _harness import Clock, Row, best_of, fmt_t, fmt_x, have
from _problems import linear_data, problem_from_arrays

LR = 0.01


def config(n: int, d: int, steps: int, log_every: int) -> dict:
    return {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": n, "n_features": d},
            "model": "linear", "loss": "half_mse", "optimizer": {"name": "sgd", "lr": LR},
            "batch": {"mode": "stochastic", "shuffle": True},
            "train": {"steps": steps, "log_every": log_every}}


def numpy_sgd(X, y, order, full_eval: bool = False):
    """Per-sample SGD on half_mse; with ``full_eval`` also the full-data loss and gradient norm
    after every step, as optrun's trace rows hold them."""
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    rows = np.empty((len(order) + 1, 5 + d + 1))  # step, samples, batch_loss, loss, grad_norm, params
    with Clock() as clock:
        for t, i in enumerate(order, 1):
            x = X[i]
            r = x @ w + b - y[i]
            w = w - LR * r * x
            b = b - LR * r
            rows[t, :3] = (t, t, 0.5 * r * r)
            if full_eval:
                res = X @ w + b - y
                g = np.empty(d + 1)
                g[:d] = X.T @ res / n
                g[d] = res.sum() / n
                rows[t, 3:5] = (np.mean(0.5 * res * res), np.linalg.norm(g))
            rows[t, 5 : 5 + d] = w
            rows[t, -1] = b
    return clock.times, np.append(w, b)


def optrun_sgd(X, y, steps: int, log_every: int, path):
    from optrun import engine
    from optrun.trace import TraceWriter, trace_columns

    problem = problem_from_arrays(config(*X.shape, steps, log_every), X, y)
    writer = TraceWriter(path, trace_columns(problem.param_names, False))
    with Clock() as clock:
        result = engine.run(problem, writer)
        writer.close()
    return clock.times, result.theta


def sklearn_sgd(X, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    model = SGDRegressor(loss="squared_error", penalty=None, alpha=0.0, learning_rate="constant", eta0=LR,
                         max_iter=1, tol=None, shuffle=True, random_state=0, fit_intercept=True, average=False)
    with warnings.catch_warnings(), Clock() as clock:
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return clock.times, np.append(model.coef_, model.intercept_)


def run(quick: bool) -> tuple[list[Row], list[str]]:
    from optrun.prepare import streams

    n, d = (20_000, 10) if quick else (100_000, 10)
    k = 1_000 if quick else 2_000  # steps timed with every row in the trace, then scaled to n
    repeat = 3
    X, y = linear_data(n, d, seed=1)
    order = streams(0)["shuffle"].permutation(n)  # optrun's first-epoch order (same seed)
    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-sgd-"))
    sk = have("sklearn")

    cands = {
        "numpy": lambda: numpy_sgd(X, y, order)[0],
        "optrun": lambda: optrun_sgd(X, y, n, n, tmp / "epoch.csv")[0],
        "numpy_full": lambda: numpy_sgd(X, y, order[:k], full_eval=True)[0],
        "optrun_full": lambda: optrun_sgd(X, y, k, 1, tmp / "every.csv")[0],
    }
    if sk:
        cands["sklearn"] = lambda: sklearn_sgd(X, y)[0]
    best = best_of(cands, repeat)
    scale = n / k
    for key in ("numpy_full", "optrun_full"):
        best[key].wall *= scale
        best[key].cpu *= scale

    # Same algorithm: optrun and the NumPy loop visit the same samples in the same order.
    (_, th_np), (_, th_or) = numpy_sgd(X, y, order), optrun_sgd(X, y, n, n, None)
    agree = float(np.max(np.abs(th_np - th_or)))
    notes = [f"sgd: after one epoch optrun and the NumPy loop agree to {agree:.1e} (max parameter difference)"]
    if sk:
        _, th_sk = sklearn_sgd(X, y)
        notes.append(f"sgd: scikit-learn (its own shuffling) ends {float(np.max(np.abs(th_sk - th_or))):.1e} "
                     "from optrun (max parameter difference; same algorithm, different sample order)")

    T = "4 per-sample SGD"
    per = lambda t: f"{t.cpu / n * 1e6:.2f} us/step cpu"
    size = f"{n:,} x {d}, 1 epoch"
    rows = []
    if sk:
        rows.append(Row(T, f"{size}: scikit-learn SGDRegressor (compiled)", fmt_t(best["sklearn"]), note=per(best["sklearn"])))
    else:
        rows.append(Row(T, f"{size}: scikit-learn SGDRegressor", "skipped", note="scikit-learn not installed"))
    rows.append(Row(T, f"{size}: plain NumPy loop", fmt_t(best["numpy"]),
                    fmt_x(best["sklearn"].cpu and best["numpy"].cpu / best["sklearn"].cpu) + " vs sklearn" if sk else "",
                    note=per(best["numpy"])))
    rows.append(Row(T, f"{size}: optrun, one trace row per epoch", fmt_t(best["optrun"]),
                    f"{fmt_x(best['optrun'].cpu / best['numpy'].cpu)} vs NumPy"
                    + (f", {fmt_x(best['optrun'].cpu / best['sklearn'].cpu)} vs sklearn" if sk else ""),
                    "(report)", note=per(best["optrun"])))
    rows.append(Row(T, f"{size}: NumPy loop + full-data loss/grad per step", fmt_t(best["numpy_full"]),
                    note=f"first {k:,} steps x {scale:g}"))
    rows.append(Row(T, f"{size}: optrun, every step in the trace", fmt_t(best["optrun_full"]),
                    f"{fmt_x(best['optrun_full'].wall / best['numpy_full'].wall)} vs NumPy+eval (wall)"
                    + (f", {fmt_x(best['optrun_full'].wall / best['sklearn'].wall)} vs sklearn" if sk else ""),
                    "(report)", note=f"first {k:,} steps x {scale:g}; each row costs an O(n d) evaluation (multi-threaded BLAS: wall)"))
    shutil.rmtree(tmp, ignore_errors=True)  # the run folders made here
    return rows, notes


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
    print("\n".join(n))
