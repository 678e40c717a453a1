"""Run folders for a sweep's payloads: :func:`run_payloads` trains the runs that can share a
stack together and writes each run's folder as ``optrun train`` does, with the API's own
functions (passed in by the caller: this level imports neither the API nor the executors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from optrun.control import StopFlag
from optrun.rundir import write_json
from optrun.vectorized.groups import plan_groups
from optrun.vectorized.loop import run_group


def run_payloads(payloads: list[dict], into: str | Path, *, api: Any, staging: Any, fallback: Callable,
                 stop: StopFlag | None = None) -> list[dict]:
    """Train a sweep's payloads (:func:`optrun.sweep.staging._payload`) with the runs that can
    share a stack trained together; one outcome per payload as the executors return it
    (``index, status, stop_reason, final_loss, wall_time_s, config_hash, error, run_dir``).

    Each run folder is written as ``optrun train`` writes it, by the API's own functions: the
    caller passes ``api`` (:mod:`optrun.api`: ``load_problem``, ``open_run``, ``build_summary``) and
    ``staging`` (:mod:`optrun.executors.staging`: ``staging_dir``, ``move_into``,
    ``read_outcome``, ``public``, ``remove_staging``), as the executors are passed ``api.train``:
    this layer imports neither. Folders are made in a staging folder and moved into ``into``
    complete. The summary's ``engine`` is ``"vectorized"``, and ``vectorized_group`` the size of
    the stack. ``fallback(payload) -> outcome`` runs a payload the ordinary way: one that does
    not load (its error becomes a failed folder there) or that wants plots.
    """
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    stop = stop or StopFlag()
    outcomes: dict[int, dict] = {}
    loaded = []
    for pos, payload in enumerate(payloads):
        try:
            if payload.get("plots"):
                raise ValueError("plots")
            cfg, problem = api.load_problem(payload["config"], payload.get("overrides"), payload["name"])
            loaded.append((pos, payload, cfg, problem))
        except Exception:
            outcomes[pos] = fallback(payload)
    for members in plan_groups([m[3] for m in loaded]):
        group = [loaded[j] for j in members]
        if stop.requested:
            for pos, payload, _, _ in group:
                outcomes[pos] = {"index": payload["index"], "status": "not_run", "run_dir": None}
        else:
            outcomes.update(_run_stack(group, into, api, staging, stop))
    return [outcomes[pos] for pos in range(len(payloads))]


def _run_stack(group: list[tuple], into: Path, api: Any, staging: Any, stop: StopFlag) -> dict[int, dict]:
    """Train one stack (``(pos, payload, cfg, problem)`` each) into staging folders, then move the
    folders into ``into``; the outcomes by position. A failure fails every run of the stack."""
    outcomes: dict[int, dict] = {}
    stages, runs = [], []
    try:
        for _, payload, cfg, problem in group:
            stages.append(staging.staging_dir(into))
            labels = {k: payload[k] for k in ("note", "tags") if payload.get(k)}  # sweep --note/--tag
            runs.append(api.open_run(cfg, problem, stages[-1], payload["name"], labels))
        results = run_group([g[3] for g in group], [r.writer for r in runs], stop)
        for (pos, payload, _, problem), run, result in zip(group, runs, results):
            run.writer.close()
            problem.engine = "vectorized"
            summary = api.build_summary(problem, result, run.cfg_hash, run.ident["name"], run.writer.rows_written)
            summary["vectorized_group"] = len(group)
            summary.update({k: run.ident[k] for k in ("note", "tags") if k in run.ident})
            write_json(run.dir / "summary.json", summary)
            # the outcome read_outcome would read back, from the summary just written
            outcome = {"index": payload["index"], **{k: summary.get(k) for k in _OUTCOME_KEYS}}
            outcomes[pos] = staging.public(outcome, staging.move_into(run.dir, into))
    except Exception as exc:
        _fail_group(runs, exc)
        for (pos, payload, _, _), stage in zip(group, stages):
            outcome = staging.read_outcome(payload, stage, error=f"{type(exc).__name__}: {exc}"[:500])
            folder = outcome["folder"]
            outcomes[pos] = staging.public(outcome, staging.move_into(folder, into) if folder else None)
    finally:
        for stage in stages:
            staging.remove_staging(stage)
    return outcomes


_OUTCOME_KEYS = ("status", "stop_reason", "final_loss", "wall_time_s", "config_hash", "error")


def _fail_group(runs, exc: BaseException) -> None:
    """A failure inside a stack fails every run of it: a ``failed`` summary in each open folder."""
    from optrun.rundir import status_summary

    error = f"{type(exc).__name__}: {exc}"
    for run in runs:
        try:
            run.writer.abandon()
            write_json(run.dir / "summary.json", status_summary("failed", f"internal error: {error}", run.ident,
                                                                error=error))
        except Exception:  # the disk may be full: the folder stays "running", resume reruns it
            pass
