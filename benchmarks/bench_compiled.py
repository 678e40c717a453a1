"""The compiled engine (0.2) side by side: ratios, never absolute times as the verdict.

    python benchmarks/bench_compiled.py [--n 100000] [--d 10] [--repeat 3]

1. One epoch of per-sample SGD on n x d linear data (half_mse, constant lr, shuffled, the
   default trace cadence ``log_every: auto``): optrun's NumPy engine, optrun's compiled engine,
   scikit-learn's ``SGDRegressor`` (Cython; max_iter=1, constant lr, no penalty, no trace).
   optrun's time is the engine's ``wall_time_s`` (the training loop with its trace rows; data
   generation and the reference optimum are outside, as sklearn's data is outside its fit).
2. A small full-batch Adam (200 x 3, 2000 steps, every step logged): both engines against a
   hand-written NumPy loop that keeps the same per-step numbers.

The compiled engine is warmed once (its code is then on disk, numba cache=True): the table
times the steady state; the first-ever compile is reported on its own line.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

import optrun

LR = 0.01


def sgd_config(n, d, engine):
    return {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": n, "n_features": d},
            "model": "linear", "loss": "half_mse", "optimizer": {"name": "sgd", "lr": LR},
            "batch": {"mode": "stochastic", "shuffle": True}, "train": {"epochs": 1, "engine": engine}}


def adam_config(engine):
    return {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": 200, "n_features": 3},
            "model": "linear", "loss": "mse", "optimizer": {"name": "adam", "lr": 0.01},
            "batch": {"mode": "full"}, "train": {"steps": 2000, "log_every": 1, "engine": engine}}


def engine_time(cfg, out, repeat):
    return min(optrun.train(cfg, out=out, plots=False).summary["wall_time_s"] for _ in range(repeat))


def sklearn_time(n, d, repeat):
    try:
        from sklearn.linear_model import SGDRegressor
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    best = np.inf
    for _ in range(repeat):
        m = SGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=LR, penalty=None, shuffle=True,
                         random_state=0)
        t0 = time.perf_counter()
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch
            m.fit(X, y)
        best = min(best, time.perf_counter() - t0)
    return best


def hand_adam(repeat, steps=2000):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    best = np.inf
    for _ in range(repeat):
        theta, m, v = np.zeros(4), np.zeros(4), np.zeros(4)
        rows = np.empty((steps + 1, 8))
        t0 = time.perf_counter()
        for t in range(1, steps + 1):
            r = X @ theta[:3] + theta[3] - y
            g = np.empty(4)
            g[:3] = 2 * X.T @ r / 200
            g[3] = 2 * r.sum() / 200
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            theta = theta - 0.01 / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
            rows[t, :4] = theta
            rows[t, 4] = np.mean(r * r)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(n: int, d: int, repeat: int) -> dict:
    """The timings (seconds) behind both comparisons; ``None`` where a peer is missing."""
    out = tempfile.mkdtemp()
    t0 = time.perf_counter()
    optrun.train(sgd_config(1000, d, "compiled"), out=out, plots=False)  # compile or load from disk
    optrun.train(adam_config("compiled"), out=out, plots=False)
    first = time.perf_counter() - t0
    return {"first": first, "sklearn": sklearn_time(n, d, repeat),
            "numpy": engine_time(sgd_config(n, d, "numpy"), out, 1),
            "compiled": engine_time(sgd_config(n, d, "compiled"), out, repeat),
            "hand": hand_adam(repeat), "small_numpy": engine_time(adam_config("numpy"), out, repeat),
            "small_compiled": engine_time(adam_config("compiled"), out, repeat)}


def run(quick: bool):
    """Rows for ``benchmarks/run.py`` (section ``compiled``, issue #17 part 1)."""
    from _harness import Row, fmt_s, fmt_x

    T = "17.1 compiled"
    try:
        import numba  # noqa: F401
    except ImportError:
        return [Row(T, "compiled engine", "skipped: numba not installed (pip install 'optrun[fast]')")], []
    n, d = 100_000, 10  # the size in both modes: at 2e4 samples fixed costs dominate both sides
    m = measure(n, d, 5)  # best of 5: each side takes 20-50 ms, and one slow spell moves a ratio by 0.5
    sk, hand = m["sklearn"], m["hand"]
    rows = [Row(T, f"per-sample SGD epoch {n:,} x {d}: scikit-learn SGDRegressor", fmt_s(sk) if sk else "skipped")]
    if sk:
        rows += [Row(T, "optrun compiled engine (default trace)", fmt_s(m["compiled"]), fmt_x(m["compiled"] / sk),
                     "<= 2x scikit-learn", m["compiled"] / sk <= 2),
                 Row(T, "optrun NumPy engine (default trace)", fmt_s(m["numpy"]), fmt_x(m["numpy"] / sk))]
    rows += [Row(T, "small full-batch Adam 200 x 3, 2000 steps, every step logged: hand NumPy loop", fmt_s(hand)),
             Row(T, "optrun compiled engine", fmt_s(m["small_compiled"]), fmt_x(m["small_compiled"] / hand),
                 "<= 1x the hand loop", m["small_compiled"] / hand <= 1),
             Row(T, "optrun NumPy engine", fmt_s(m["small_numpy"]), fmt_x(m["small_numpy"] / hand))]
    notes = [f"compiled: the first two compiled runs (compile, or load numba's disk cache) took {m['first']:.1f} s"]
    return rows, notes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    m = measure(a.n, a.d, a.repeat)
    sk, npy, comp, hand = m["sklearn"], m["numpy"], m["compiled"], m["hand"]
    small_np, small_c = m["small_numpy"], m["small_compiled"]

    def x(t, ref):
        return "skipped" if t is None or ref is None else f"{t / ref:.2f}x"

    print(f"per-sample SGD, one epoch of {a.n} x {a.d}, default trace (ratio to scikit-learn SGDRegressor)")
    print(f"  scikit-learn SGDRegressor        1.00x   ({sk * 1e6 / a.n:.3f} us/step)" if sk else "  scikit-learn  skipped")
    print(f"  optrun compiled engine           {x(comp, sk)}   ({comp * 1e6 / a.n:.3f} us/step)   target <= 2x")
    print(f"  optrun NumPy engine              {x(npy, sk)}   ({npy * 1e6 / a.n:.3f} us/step)")
    print("small full-batch Adam, 200 x 3, 2000 steps, every step logged (ratio to a hand NumPy loop)")
    print("  hand-written NumPy loop          1.00x")
    print(f"  optrun compiled engine           {x(small_c, hand)}")
    print(f"  optrun NumPy engine              {x(small_np, hand)}")
    print(f"warm-up (two compiled runs: compile on the first run ever, else load from the disk cache): {m['first']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
