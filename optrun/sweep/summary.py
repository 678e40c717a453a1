"""``summary.csv``: one row per planned run, rebuilt from the run folders as they are now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optrun.sweep.plan import SUMMARY_FILE, Sweep, attempts_by_hash, best_attempt

SUMMARY_CSV_COLUMNS = ["index", "config_hash", "run", "name", "status", "stop_reason", "steps", "epochs",
                       "final_loss", "f_star", "suboptimality", "r2", "accuracy", "val_loss", "wall_time_s",
                       "attempts", "error"]


def summary_rows(sweep: Sweep) -> list[dict]:
    """One row per planned run (plan order): the newest finished attempt, else the newest;
    ``pending`` when there is none."""
    from optrun.rundir import summary_fields

    found = attempts_by_hash(sweep.runs_dir)
    rows = []
    for e in sweep.entries:
        best = best_attempt(found.get(e.config_hash, []))
        row: dict[str, Any] = {"index": e.index, "config_hash": e.config_hash}
        row.update({k: e.overrides.get(k) for k in sweep.axes})
        if best is None:
            row.update({"run": None, "name": e.name, "status": "pending"})
        else:
            run_dir, summary = best
            row.update({"run": run_dir.relative_to(sweep.dir).as_posix(), "attempts": len(found[e.config_hash])})
            row.update(summary_fields(summary))
        rows.append(row)
    return rows


def write_summary(sweep: Sweep) -> Path:
    """Write ``summary.csv`` (atomically): index, config_hash, the axes, then the results."""
    from optrun.rundir import write_csv

    fixed = SUMMARY_CSV_COLUMNS
    columns = fixed[:2] + [k for k in sweep.axes if k not in fixed] + fixed[2:]
    path = sweep.dir / SUMMARY_FILE
    try:
        write_csv(path, summary_rows(sweep), columns)
    except OSError as exc:  # a read-only sweep folder: a user's folder, not a bug
        from optrun.errors import OptrunError

        raise OptrunError(f"{sweep.dir}: cannot write {SUMMARY_FILE}: {exc.strerror or exc}") from None
    return path
