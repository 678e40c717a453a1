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


def _payload(sweep: Sweep, entry: Entry, plots: bool, force: bool = False, labels: dict | None = None) -> dict:
    """``labels``: ``{"note", "tags"}`` for the run's summary (default: the sweep's own, from
    ``sweep.yaml``); they never change the config or its hash."""
    labels = sweep_labels(sweep) if labels is None else labels
    return {"config": sweep.config, "overrides": entry.overrides, "name": entry.name,
            "index": entry.index, "config_hash": entry.config_hash, "plots": plots,
            "runs_dir": str(sweep.runs_dir), "force": force,
            "note": labels.get("note"), "tags": list(labels.get("tags") or ())}


def sweep_labels(sweep: Sweep) -> dict:
    """The note and tags ``optrun sweep --note/--tag`` stored in ``sweep.yaml`` (``labels``), so
    that ``optrun run-plan`` tasks label their runs the same way; ``{}`` when there are none."""
    labels = sweep.spec.get("labels")
    if not isinstance(labels, dict):
        return {}
    out: dict = {}
    if isinstance(labels.get("note"), str):
        out["note"] = labels["note"]
    if isinstance(labels.get("tags"), list) and all(isinstance(t, str) for t in labels["tags"]):
        out["tags"] = list(labels["tags"])
    return out


def train_entry(payload: dict, out: Path, stop=None) -> dict:
    """The sweep's work function: :func:`optrun.executors.train_into` with ``api.train`` (looked
    up now, so a monkeypatched ``optrun.api.train`` is used), plus a failure folder when the run
    failed before writing one."""
    from optrun import api
    from optrun.sweep import claims
    from optrun.sweep.plan import DONE_STATUSES

    claim = None
    if payload.get("runs_dir"):  # exactly once: another process may hold (or have done) this entry
        runs_dir = Path(payload["runs_dir"])
        claim = claims.acquire(runs_dir / claims.CLAIMS, payload["config_hash"], runs_dir,
                               force=payload.get("force", False))
        if isinstance(claim, str):
            return {"index": payload["index"], "status": "skipped", "stop_reason": claim, "folder": None}
    try:
        outcome = train_into(api.train, payload, out, stop)
        if outcome["status"] != "not_run" and outcome["folder"] is None:
            _failure_folder(payload, out, outcome["error"])
            outcome = read_outcome(payload, out, outcome["error"])
    except BaseException:
        if claim is not None:
            claim.release()
        raise
    if claim is not None:
        if outcome["status"] in DONE_STATUSES and outcome["folder"] is not None:
            claim.done(Path(outcome["folder"]).name)
        else:
            claim.release()
    return outcome


def lost_folder(payload: dict, into: Path, status: str, reason: str) -> Path:
    """A run folder for a run whose process was lost (its worker killed, a second Ctrl-C): the
    resolved config and a ``failed``/``interrupted`` summary, so ``summary.csv`` shows what
    happened and a resume runs it again. Written in a staging folder, then moved in."""
    from optrun.executors import move_into, remove_staging, staging_dir

    stage = staging_dir(into)
    try:
        _failure_folder(payload, stage, reason, status=status)
        folder = next(p for p in stage.iterdir() if p.is_dir())
        return move_into(folder, into)
    finally:
        remove_staging(stage)


def _failure_folder(payload: dict, out: Path, error: str, status: str = "failed") -> None:
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
    write_json(run_dir / "summary.json", status_summary(status, error, ident, error=error if status == "failed" else None))


def run_entry(sweep: Sweep, entry: Entry, plots: bool = False, stop=None, force: bool = False,
              labels: dict | None = None) -> dict:
    """Run one planned entry in this process into ``sweep/runs/`` and return its outcome
    (status ``skipped`` with the reason when another process holds or has done it)."""
    from optrun.executors import clean_stale_staging

    clean_stale_staging(sweep.runs_dir)
    return run_one(train_entry, _payload(sweep, entry, plots, force, labels), sweep.runs_dir, stop)
