"""Target 5: writing a 10^6-row trace costs less than the training that produced it.

A small full-batch problem (Adam on 200 x 3, the smallest realistic per-step cost, so the
hardest case for the writer) runs 10^6 steps with every step logged, its trace kept in memory
instead of written (training time). The same rows are then replayed through a
:class:`~optrun.trace.TraceWriter` writing ``trace.csv`` (writing time: ``record`` + formatting +
file writes, all of the writer's cost).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from _harness import Clock, Row, Timing, fmt_t, fmt_x


def run(quick: bool) -> tuple[list[Row], list[str]]:
    from optrun import config as config_mod, engine
    from optrun.prepare import prepare
    from optrun.trace import TraceWriter, trace_columns

    steps = 100_000 if quick else 1_000_000
    cfg = config_mod.load({
        "seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": 200, "n_features": 3},
        "model": "linear", "loss": "half_mse", "optimizer": {"name": "adam", "lr": 0.01},
        "batch": "full", "train": {"steps": steps, "log_every": 1}})
    problem = prepare(cfg)
    columns = trace_columns(problem.param_names, False)

    class KeepRows(TraceWriter):
        """Writes no file; keeps every flushed chunk of rows in memory for the replay."""

        def __init__(self):
            super().__init__(None, columns)
            self.chunks = []

        def flush(self):
            self.chunks.append(self._buf[: self._k].copy())
            super().flush()

    keep = KeepRows()
    with Clock() as train_clock:
        engine.run(problem, keep)
        keep.close()
    rows = np.concatenate(keep.chunks)
    ns = 8  # scalar columns before the parameters (no validation split here)
    path = Path(tempfile.mkdtemp(prefix="optrun-bench-trace-")) / "trace.csv"
    writer = TraceWriter(path, columns)
    with Clock() as write_clock:
        for r in rows:
            writer.record(tuple(r[:ns].tolist()), r[ns:])
        writer.close()
    size = path.stat().st_size
    t_train, t_write = train_clock, write_clock
    T = "5 trace I/O"
    ratio = t_write.times[1] / t_train.times[1]
    out = [
        Row(T, f"training that logs {len(rows):,} rows (Adam, 200 x 3, every step)",
            fmt_t(Timing(*t_train.times))),
        Row(T, f"writing those {len(rows):,} rows to trace.csv ({size / 2**20:.0f} MB)",
            fmt_t(Timing(*t_write.times)), f"{fmt_x(ratio)} (cpu)", "< 1x the training", ratio < 1,
            f"wall: {fmt_x(t_write.times[0] / t_train.times[0])}; "
            f"{t_write.times[1] / len(rows) * 1e6:.1f} us/row, {size / 2**20 / t_write.times[0]:.0f} MB/s"),
    ]
    shutil.rmtree(path.parent, ignore_errors=True)
    return out, []


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
