"""One planned entry, trained the way ``optrun train`` trains (:func:`optrun.api.train`).

An entry becomes a *payload* (a plain dict: the base config, the entry's overrides and name) and
:func:`train_entry` is the sweep's work function for :func:`optrun.executors.run_all`. It trains
into a private staging folder; the executor renames the finished folder into ``runs/``. A run
that fails before it has a folder (a data error found by ``prepare``) gets one anyway, holding its
resolved config and a ``failed`` summary, so every attempt is visible and resume retries it.
"""

from __future__ import annotations

from pathlib import Path

from optrun.executors import read_outcome, run_one, train_into
from optrun.sweep.plan import Entry, Sweep


def _payload(sweep: Sweep, entry: Entry, plots: bool) -> dict:
    return {"config": sweep.config, "overrides": entry.overrides, "name": entry.name,
            "index": entry.index, "config_hash": entry.config_hash, "plots": plots}


def train_entry(payload: dict, out: Path, stop=None) -> dict:
    """The sweep's work function: :func:`optrun.executors.train_into` with ``api.train`` (looked
    up now, so a monkeypatched ``optrun.api.train`` is used), plus a failure folder when the run
    failed before writing one."""
    from optrun import api

    outcome = train_into(api.train, payload, out, stop)
    if outcome["status"] == "not_run" or outcome["folder"] is not None:
        return outcome
    _failure_folder(payload, out, outcome["error"])
    return read_outcome(payload, out, outcome["error"])


def _failure_folder(payload: dict, out: Path, error: str) -> None:
    from optrun import config as config_mod
    from optrun.rundir import atomic_write_text, create_run_dir, status_summary, write_json

    run_dir = create_run_dir(out, payload["name"])
    try:
        cfg = config_mod.load(payload["config"], payload["overrides"])
        cfg["name"] = payload["name"]
        atomic_write_text(run_dir / "config.yaml", config_mod.dump(cfg))
    except Exception:  # pragma: no cover - the plan resolved this config already
        pass
    ident = {"name": payload["name"], "config_hash": payload["config_hash"], "seed": None}
    write_json(run_dir / "summary.json", status_summary("failed", error, ident, error=error))


def run_entry(sweep: Sweep, entry: Entry, plots: bool = False, stop=None) -> dict:
    """Run one planned entry in this process into ``sweep/runs/`` and return its outcome."""
    return run_one(train_entry, _payload(sweep, entry, plots), sweep.runs_dir, stop)
