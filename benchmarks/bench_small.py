"""Target 2: engine overhead on a small problem.

Adam on 200 x 3 linear data (half_mse, intercept: 4 parameters), every step logged, in the three
batch modes (full, mini-batch of 32, stochastic). Candidates:

* ``optrun.train`` through the Python API (config -> run folder with trace.csv, no plots), after
  the imports are warm (start-up is target 1's business);
* ``engine.run`` alone, trace written to a file (the part of the API that scales with steps);
* a hand-written NumPy loop doing *the same math* (same formulas, same order of operations, same
  shuffling stream), keeping its rows in a preallocated array. It reproduces optrun's parameters
  bit for bit, which the benchmark checks: the ratio is pure overhead, not different arithmetic;
* the same training with ``torch.optim.Adam`` on the CPU (forward, backward, step, and the
  full-data loss and gradient norm for every row; one intra-op thread), when torch is installed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from _harness import Clock, Row, best_of, compare, fmt_t, fmt_x, have

LR, SEED, N, D = 0.01, 0, 200, 3
MODES = {"full": None, "minibatch": 32, "stochastic": 1}


def config(mode: str, steps: int) -> dict:
    batch = {"mode": mode} if mode != "minibatch" else {"mode": mode, "size": MODES[mode]}
    return {"seed": SEED, "dataset": {"name": "synthetic_linear", "n_samples": N, "n_features": D},
            "model": "linear", "loss": "half_mse", "optimizer": {"name": "adam", "lr": LR},
            "batch": batch, "train": {"steps": steps, "log_every": 1}}


# --------------------------------------------------------------------------------------------
# The hand-written loop: what a careful student writes, with optrun's formulas


def hand_adam(X, y, mode, steps, shuffle_rng, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    n, d = X.shape
    bs = {"full": n, "minibatch": 32, "stochastic": 1}[mode]

    def loss_grad(theta, Xb, yb):  # half mean squared error and its gradient, intercept last
        r = Xb @ theta[:d] + theta[d] - yb
        g = np.empty_like(theta)
        g[:d] = Xb.T @ r / len(yb)
        g[d] = r.sum() / len(yb)
        return float(np.mean(0.5 * r * r)), g

    theta, m, v = np.zeros(d + 1), np.zeros(d + 1), np.zeros(d + 1)
    rows = np.empty((steps + 1, 8 + d + 1))
    cpu0 = time.process_time()
    start = time.perf_counter()
    loss, g_full = loss_grad(theta, X, y)
    rows[0, :8] = (0, 0, 0, 0.0, np.nan, loss, np.nan, np.linalg.norm(g_full))
    rows[0, 8:] = theta
    batches, samples = [], 0
    for t in range(1, steps + 1):
        if mode == "full":
            batch_loss, g = loss, g_full
            nb = n
        else:
            if not batches:
                perm = shuffle_rng.permutation(n)
                batches = [perm[s : s + bs] for s in range(0, n, bs)][::-1]
            idx = batches.pop()
            batch_loss, g = loss_grad(theta, X[idx], y[idx])
            nb = len(idx)
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        theta = theta - (lr / (1 - b1**t)) * m / (np.sqrt(v) / (1 - b2**t) ** 0.5 + eps)
        samples += nb
        loss, g_full = loss_grad(theta, X, y)
        rows[t, :8] = (t, samples / n, samples, time.perf_counter() - start, lr, loss, batch_loss,
                       np.linalg.norm(g_full))
        rows[t, 8:] = theta
    return (time.perf_counter() - start, time.process_time() - cpu0), rows


def torch_adam(X, y, mode, steps, lr=LR):
    import torch

    # One thread: 4-element tensors never use intra-op parallelism, and an idle OpenMP pool
    # would spin on the other core, slowing down (and adding CPU time to) whatever runs next.
    torch.set_num_threads(1)
    n, d = X.shape
    bs = {"full": n, "minibatch": 32, "stochastic": 1}[mode]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    theta = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=lr)
    gen = torch.Generator().manual_seed(SEED)

    def loss_of(Xb, yb):
        r = Xb @ theta[:d] + theta[d] - yb
        return 0.5 * (r * r).mean()

    rows = np.empty((steps + 1, 8 + d + 1))
    cpu0 = time.process_time()
    start = time.perf_counter()
    loss = loss_of(Xt, yt)
    loss.backward()
    rows[0, :8] = (0, 0, 0, 0.0, np.nan, loss.item(), np.nan, theta.grad.norm().item())
    rows[0, 8:] = theta.detach().numpy()
    batches, samples = [], 0
    for t in range(1, steps + 1):
        if mode == "full":  # theta.grad holds the full gradient at theta_{t-1} from the last row
            batch_loss, nb = loss.item(), n
        else:
            if not batches:
                perm = torch.randperm(n, generator=gen)
                batches = [perm[s : s + bs] for s in range(0, n, bs)][::-1]
            idx = batches.pop()
            opt.zero_grad()
            bl = loss_of(Xt[idx], yt[idx])
            bl.backward()
            batch_loss, nb = bl.item(), len(idx)
        opt.step()
        samples += nb
        opt.zero_grad()
        loss = loss_of(Xt, yt)  # full-data loss and gradient for the row (and the next full step)
        loss.backward()
        rows[t, :8] = (t, samples / n, samples, time.perf_counter() - start, lr, loss.item(), batch_loss,
                       theta.grad.norm().item())
        rows[t, 8:] = theta.detach().numpy()
    return (time.perf_counter() - start, time.process_time() - cpu0), rows


# --------------------------------------------------------------------------------------------


def run(quick: bool) -> tuple[list[Row], list[str]]:
    import optrun
    from optrun import config as config_mod, engine
    from optrun.prepare import prepare
    from optrun.trace import TraceWriter, trace_columns

    steps = 3000 if quick else 10_000
    repeat = 5 if quick else 11
    torch_version = have("torch")
    rows: list[Row] = []
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-small-"))

    for mode in MODES:
        cfg = config(mode, steps)
        resolved = config_mod.load(cfg)

        def api():
            optrun.train(cfg, out=tmp / "runs", plots=False)

        def engine_only(path=tmp / "trace.csv"):
            problem = prepare(resolved)  # fresh problem: the shuffle stream is consumed by a run
            writer = TraceWriter(path, trace_columns(problem.param_names, False))
            with Clock() as clock:
                engine.run(problem, writer)
                writer.close()
            return clock.times

        def hand():
            problem = prepare(resolved)
            return hand_adam(problem.data.X, problem.data.y, mode, steps, problem.shuffle_rng)[0]

        candidates = {"api": api, "engine": engine_only, "engine_nofile": lambda: engine_only(None), "hand": hand}
        api()  # warm-up: imports, first-call caches
        best = best_of(candidates, repeat)
        if torch_version:  # ten times slower: fewer rounds
            problem = prepare(resolved)
            X, y = problem.data.X, problem.data.y
            best["torch"] = best_of({"torch": lambda: torch_adam(X, y, mode, steps)[0]}, 3)["torch"]

        # Same math: the hand loop must reproduce optrun's trace values exactly.
        problem = prepare(resolved)
        result = engine.run(problem, TraceWriter(None, trace_columns(problem.param_names, False)))
        problem = prepare(resolved)
        _, hand_rows = hand_adam(problem.data.X, problem.data.y, mode, steps, problem.shuffle_rng)
        same = np.array_equal(result.theta, hand_rows[-1, 8:]) and result.loss == hand_rows[-1, 5]
        if not same:
            notes.append(f"small/{mode}: the hand loop did NOT reproduce optrun's parameters bit for bit")
        if torch_version:
            _, trows = torch_adam(X, y, mode, min(steps, 200))
            problem = prepare(resolved)
            _, hrows = hand_adam(X, y, mode, min(steps, 200), problem.shuffle_rng)
            if mode == "full":
                diff = float(np.max(np.abs(trows[:, 8:] - hrows[:, 8:])))
                notes.append(f"small/full: torch.optim.Adam and optrun's Adam agree to {diff:.1e} "
                             "(max parameter difference over 200 steps)")

        per = lambda t: f"{t.cpu / steps * 1e6:.1f} us/step cpu"
        label = {"full": "full batch", "minibatch": "mini-batch 32", "stochastic": "stochastic"}[mode]
        T = "2 small problem"
        hand_t = best["hand"]
        rows.append(Row(T, f"{label}: hand NumPy loop, same math ({steps:,} steps)", fmt_t(hand_t),
                        note=per(hand_t) + ("; bit-identical parameters" if same else "; MISMATCH")))
        rows.append(compare(T, f"{label}: optrun.train (API, run folder)", best["api"], hand_t,
                            "<= 1.5x the hand loop", lambda r: r <= 1.5, note=per(best["api"])))
        rows.append(compare(T, f"{label}: engine.run, trace to a file", best["engine"], hand_t,
                            note=per(best["engine"])))
        rows.append(compare(T, f"{label}: engine.run, no trace file", best["engine_nofile"], hand_t,
                            note=per(best["engine_nofile"])))
        if torch_version:
            tt = best["torch"]
            # torch / optrun, so the goal reads "at least 10x". torch's runs are ten times longer and
            # timed in rounds of their own: this ratio compares best times.
            r_cpu, r_wall = tt.cpu / best["api"].cpu, tt.wall / best["api"].wall
            rows.append(Row(T, f"{label}: torch.optim.Adam (CPU)", fmt_t(tt), f"{fmt_x(r_cpu)} (cpu)",
                            ">= 10x optrun's time", r_cpu >= 10, f"wall: {fmt_x(r_wall)}; {per(tt)}"))
        else:
            rows.append(Row(T, f"{label}: torch.optim.Adam (CPU)", "skipped", note="torch not installed"))
    shutil.rmtree(tmp, ignore_errors=True)  # the run folders made here
    return rows, notes


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
    print("\n".join(n))
