"""Target 6: peak memory does not grow with the number of steps.

``optrun train`` (a fresh process each time, the command a user runs, through ``_peak.py``) of the same tiny problem
for 10^4, 10^5 and 10^6 steps with *every* step logged (so the trace has as many rows as steps);
the peak resident memory of each process is its ``VmHWM``. Training state is O(parameters)
and the trace writer streams fixed-size chunks to disk, so the peaks should be equal up to
noise while the trace grows a hundredfold.
"""

from __future__ import annotations

import json
import sys
import shutil
import tempfile
from pathlib import Path

from _harness import Row, fmt_s, run_child

CONFIG = """\
# memory benchmark: two parameters, full-batch GD, every step logged
name: memory
seed: 0
dataset: {name: women, standardize: true}
model: linear
loss: half_mse
optimizer: {name: gd, lr: 0.1}
batch: full
train: {steps: 1000, log_every: 1, engine: numpy}
"""
# engine: numpy: with numba installed, `auto` runs the longer runs (>= 10^5 steps) compiled, and
# numba's import and LLVM add ~120 MB of resident memory once, whatever the length: that would
# read as growth here. The compiled engine's own peak is reported on a separate row.


def run(quick: bool) -> tuple[list[Row], list[str]]:
    counts = (1_000, 10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-memory-"))
    cfg = tmp / "memory.yaml"
    cfg.write_text(CONFIG)
    T = "6 memory"
    rows, peaks = [], []
    peak_file = tmp / "peak_kb.txt"
    for steps in counts:
        wall, cpu, _, out = run_child([sys.executable, str(Path(__file__).with_name("_peak.py")), str(peak_file),
                                       "train", str(cfg), f"train.steps={steps}", "--no-plots", "--json",
                                       "--out", str(tmp / "runs")])
        peak = int(peak_file.read_text()) / 1024
        summary = json.loads(out)
        trace = Path(summary["run_dir"]) / "trace.csv"
        size = trace.stat().st_size
        peaks.append(peak)
        rows.append(Row(T, f"optrun train, {steps:,} steps, {summary['trace_rows']:,} trace rows",
                        f"peak RSS {peak:.1f} MB", note=f"trace.csv {size / 2**20:.1f} MB; took {fmt_s(wall)}"))
        trace.unlink()  # the big traces are not needed any more
    try:
        import numba  # noqa: F401
    except ImportError:
        pass
    else:
        run_child([sys.executable, str(Path(__file__).with_name("_peak.py")), str(peak_file), "train", str(cfg),
                   f"train.steps={counts[-1]}", "train.engine=compiled", "--no-plots", "--json", "--out", str(tmp / "runs")])
        rows.append(Row(T, f"optrun train, {counts[-1]:,} steps, train.engine: compiled (numba)",
                        f"peak RSS {int(peak_file.read_text()) / 1024:.1f} MB",
                        note="numba and LLVM resident once, whatever the length"))
    growth = peaks[-1] - peaks[0]
    flat = abs(growth) <= max(5.0, 0.05 * peaks[0])
    rows.append(Row(T, f"peak RSS growth from {counts[0]:,} to {counts[-1]:,} steps", f"{growth:+.1f} MB",
                    f"{peaks[-1] / peaks[0]:.3f}x", "flat (within 5%)", flat))
    shutil.rmtree(tmp, ignore_errors=True)  # the run folders made here
    return rows, []


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
