"""A 100-run lr x seed sweep: `optrun sweep -j 1` against `optrun sweep -j 1 --vectorize`.

The sweep: the `women` data (15 x 1, standardised), linear half-MSE, full-batch SGD, 10 learning
rates x 10 seeds; the seed changes only the initial point (``model.init: normal``), so the 100
runs form one stack of (100, 2) parameter vectors. Two run lengths (``RUNS``):

* ``short``: 200 steps, every step logged (the default cadence of a full-batch run): 20,100
  trace rows, so the output (100 folders, 260,000 formatted floats) is most of the work;
* ``long``: 2,000 steps, a row every 100: the work is training, the output small.

The ratios (times are taken as the best of ``--repeats``; ratios only are reported):

* ``command``: the whole cold command line (start-up, planning, 100 run folders, summary.csv),
  ``--vectorize`` against ``-j 1`` of this checkout, and against ``-j 1`` of optrun 0.1.0 (the
  issue's "today", commit b1fdd25, checked out with ``git worktree add /tmp/base b1fdd25``;
  ``--base`` names another folder; skipped when it is missing). The commands alternate, so a
  busy machine slows them alike; both checkouts are timed from bytecode (compileall first);
* ``ceiling``: ``-j 1`` against ``--plan-only`` (start-up and planning, no run at all): no
  execution, however fast, makes the command faster than this;
* ``in-process``: the sweep's execute step only (what ``-j 1`` spends per run: load, prepare,
  run folder, training, summary) against :func:`optrun.vectorized.run_payloads`;
* ``training``: 100 x :func:`optrun.engine.run` against one :func:`optrun.vectorized.run_group`
  on the same prepared problems, the rows kept unformatted on both sides (``TraceWriter(None)``
  for the lone runs, a stack sink taking the blocks for the stack).

    python benchmarks/bench_vectorized.py [--repeats 5] [--base /tmp/base]

Results: benchmarks/results/vectorized.md (overwritten).
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

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "name": "vec", "seed": 0,
    "dataset": {"name": "women", "standardize": True},
    "model": {"name": "linear", "init": "normal"},
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch": "full",
}
#: the run lengths measured: name -> the train section of CONFIG
RUNS = {"short": {"steps": 200, "log_every": 1}, "long": {"steps": 2000, "log_every": 100}}
LABELS = {"short": "200 steps, every step logged", "long": "2,000 steps, a row every 100"}
AXES = ["optimizer.lr=logspace(-3,-0.3,10)", "seed=range(10)"]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def command(cfg: Path, tmp: Path, mode: str, root: Path = ROOT) -> float:
    """Seconds of one cold ``optrun sweep`` (of the checkout ``root``) into a fresh folder;
    ``mode``: ``j1``, ``vectorize`` or ``plan`` (``--plan-only``)."""
    out = tmp / (mode + str(abs(hash(str(root)))))
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "optrun", "sweep", str(cfg), *AXES, "-j", "1", "--out", str(out), "--quiet"]
    cmd += {"j1": [], "vectorize": ["--vectorize"], "plan": ["--plan-only"]}[mode]
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def commands(cfg: Path, tmp: Path, repeats: int, base: Path | None) -> dict[str, float]:
    """Best times of the commands, run in turn ``repeats`` times."""
    runs = {"vectorize": ("vectorize", ROOT), "j1": ("j1", ROOT), "plan": ("plan", ROOT)}
    if base is not None:
        runs["base"] = ("j1", base)
    best = {k: float("inf") for k in runs}
    for _ in range(repeats):
        for k, (mode, root) in runs.items():
            best[k] = min(best[k], command(cfg, tmp, mode, root))
    return best


def compile_bytecode(*roots: Path) -> None:
    """Bytecode for both checkouts, as an installed optrun has (see bench_startup.py)."""
    for root in roots:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "optrun")], check=True,
                       capture_output=True)


def in_process(cfg: Path, tmp: Path, vectorize: bool) -> None:
    from optrun import sweep as sweep_mod

    out = tmp / ("iv" if vectorize else "is")
    shutil.rmtree(out, ignore_errors=True)
    sw = sweep_mod.write_sweep(sweep_mod.plan_sweep(cfg, AXES, out=out))
    report = sweep_mod.execute(sw, jobs=1, vectorize=vectorize)
    assert report.count("completed") == 100, report.to_dict()


def training(train: dict, repeats: int) -> tuple[float, float, float]:
    import numpy as np

    from optrun import config as config_mod, engine, vectorized
    from optrun.prepare import prepare
    from optrun.trace import TraceWriter
    from optrun.vectorized.traces import RunTrace, StackTrace

    class BlockSink(StackTrace):
        """The stack's rows kept as blocks, never formatted (as TraceWriter(None) keeps them)."""

        def open(self, path):
            self.writers.append(RunTrace(self, len(self.writers)))
            return self.writers[-1]

        def flush(self):
            for run in self.writers:
                run.hand_over()
            self._ids, self._rows, self._cells = [], [], 0

    overrides = [[f"optimizer.lr={10 ** (-3 + 2.7 * i / 9):.6g}", f"seed={s}"] for i in range(10) for s in range(10)]
    cfgs = [config_mod.load({**CONFIG, "train": train}, o) for o in overrides]

    def alone():
        ps = [prepare(c) for c in cfgs]
        ws = [TraceWriter(None, engine.columns(p)) for p in ps]
        t0 = time.perf_counter()
        res = [engine.run(p, w) for p, w in zip(ps, ws)]
        return time.perf_counter() - t0, res

    def stacked():
        ps = [prepare(c) for c in cfgs]
        sink = BlockSink(engine.columns(ps[0]))
        ws = [sink.open(None) for _ in ps]
        t0 = time.perf_counter()
        res = vectorized.run_group(ps, ws)
        return time.perf_counter() - t0, res

    ta = min(alone()[0] for _ in range(repeats))
    ts = min(stacked()[0] for _ in range(repeats))
    ra, rs = alone()[1], stacked()[1]
    err = max(float(np.max(np.abs(a.theta - b.theta) / np.maximum(np.abs(a.theta), 1e-300))) for a, b in zip(ra, rs))
    return ta, ts, err


def measure(repeats: int, base: Path | None) -> tuple[list[tuple[str, float]], float, float]:
    """(what, speed-up) rows, the largest relative difference of a final parameter (stacked vs
    alone) and the share of the short -j 1 sweep's in-process time spent training."""
    sys.path.insert(0, str(ROOT))
    compile_bytecode(ROOT, *([base] if base else []))
    rows, errs = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for run, train in RUNS.items():
            cfg = tmp / f"vec-{run}.yaml"
            cfg.write_text(yaml.safe_dump({**CONFIG, "train": train}))
            label = LABELS[run]
            best = commands(cfg, tmp, repeats, base)
            rows.append((f"command ({label}): cold `optrun sweep -j 1` vs `--vectorize` (this checkout)",
                         best["j1"] / best["vectorize"]))
            if base is not None:
                rows.append((f"command ({label}): optrun 0.1.0 `sweep -j 1` vs `--vectorize` (the issue's baseline)",
                             best["base"] / best["vectorize"]))
            rows.append((f"ceiling ({label}): `-j 1` vs `--plan-only` (start-up and planning, no run)",
                         best["j1"] / best["plan"]))
            if run == "short":
                i_s = _best(lambda: in_process(cfg, tmp, False), repeats)
                i_v = _best(lambda: in_process(cfg, tmp, True), repeats)
                rows.append((f"in-process sweep execute ({label}, 100 folders)", i_s / i_v))
            t_a, t_s, err = training(train, repeats)
            errs.append(err)
            rows.append((f"training only ({label}): 100 x engine.run vs run_group", t_a / t_s))
            if run == "short":
                share = t_a / i_s
    return rows, max(errs), share


def _base_checkout(path: Path) -> Path | None:
    return path if (path / "optrun" / "__init__.py").is_file() else None


def run(quick: bool):
    """Rows for ``benchmarks/run.py`` (section ``vectorized``, issue #17 part 4)."""
    from _harness import Row

    T = "17.4 vectorized"
    rows, err, share = measure(2 if quick else 5, _base_checkout(Path("/tmp/base")))
    out = []
    for what, ratio in rows:
        judged = what.startswith("command") and "this checkout" in what
        out.append(Row(T, what, f"{ratio:.1f}x faster", f"{ratio:.2f}x", ">= 10x (issue #17)" if judged else "",
                       ratio >= 10 if judged else None))
    notes = [f"vectorized: final parameters stacked vs alone differ by at most {err:.1e} (relative); "
             f"the short -j 1 sweep spends {share:.0%} of its in-process time training"]
    return out, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--base", type=Path, default=Path("/tmp/base"),
                        help="a checkout of optrun 0.1.0 (git worktree add /tmp/base b1fdd25)")
    args = parser.parse_args()
    rows, err, share = measure(args.repeats, _base_checkout(args.base))
    lines = ["# Vectorised sweep: 100 runs (lr x 10, seed x 10), women 15 x 1, full-batch SGD", "",
             f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}", "",
             "| what | speed-up (x) |", "|---|---:|"]
    lines += [f"| {what} | {ratio:.1f} |" for what, ratio in rows]
    lines += ["", f"largest relative difference of a final parameter, stacked vs alone: {err:.1e}",
              f"share of the short -j 1 in-process sweep spent training: {share:.0%}"]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "results" / "vectorized.md"
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
