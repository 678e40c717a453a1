"""Sweeps: a base config times a grid of axes, planned, run anywhere, resumed by config hash.

A sweep is a base config plus *axes* (``optimizer.lr='logspace(-4,0,9)'``, ``seed='range(5)'``;
the value syntax is :mod:`optrun.grid`'s); the runs are the product of the axes, first axis
slowest. Every run goes through the same code path as ``optrun train``
(:func:`optrun.api.train`), wherever it executes.

The sweep folder (``<out>/sweep-<slug>-<id>/``) holds::

    sweep.yaml     the base config (CSV paths made absolute), the axes, the run count
    plan.jsonl     one JSON line per run: index, overrides, name, config_hash
    runs/          the run folders, each moved in only when its files are complete
    summary.csv    one row per planned run, rebuilt from the run folders at the end

The sweep id is a hash of the *set* of planned config hashes, so rerunning the same sweep (with
its axes in any order) finds the same folder and resumes it: a planned run counts as done when a
run folder holds a ``summary.json`` with its ``config_hash`` and a finished status
(completed, converged or diverged). Failed and interrupted runs are run again, into new folders.

The modules: :mod:`~optrun.sweep.plan` (entries, the folder, resume),
:mod:`~optrun.sweep.staging` (one entry as a payload, the work function),
:mod:`~optrun.sweep.runner` (:func:`execute` over :func:`optrun.executors.run_all`: sequential,
``-j N`` spawned processes, or Dask), :mod:`~optrun.sweep.summary` (``summary.csv``),
:mod:`~optrun.sweep.claims` (exactly once) and :mod:`~optrun.sweep.shards` (``run-plan --shard
k/n`` / ``--range a:b``: many entries in one allocation). This
package imports NumPy only inside functions: process-pool workers must set their BLAS thread
variables *before* NumPy is first imported.
"""

from __future__ import annotations

from optrun._text import csv_cell as _csv_cell, split_top_level  # noqa: F401  (re-exported)
from optrun.executors import (  # noqa: F401  (re-exported: the executors lived here in 0.1)
    BLAS_ENV, STAGING, _spawning, _worker_env, make_pool, write_files,
)
from optrun.executors.staging import error_text as _error_text  # noqa: F401
from optrun.grid import (  # noqa: F401  (re-exported)
    Axis, _expand_function, _number, _tidy, grid, parse_axes, parse_axis, parse_values,
)
from optrun.sweep.plan import (  # noqa: F401  (re-exported)
    DONE_STATUSES, PLAN_FILE, RUNS_SUBDIR, SUMMARY_FILE, SWEEP_FILE, Entry, Sweep, _fmt_value, attempts_by_hash,
    base_name, best_attempt, default_sweep_dir, is_done, load_sweep, make_plan, pending_entries, plan_sweep,
    read_base_config, run_name, sweep_id, write_sweep,
)
from optrun.sweep.runner import Report, execute  # noqa: F401
from optrun.sweep.shards import parse_range, parse_shard, run_selection, select, to_run  # noqa: F401
from optrun.sweep.staging import _payload, run_entry, sweep_labels, train_entry  # noqa: F401
from optrun.sweep.summary import SUMMARY_CSV_COLUMNS, summary_rows, write_summary  # noqa: F401
