"""Run folders for a sweep's payloads: :func:`run_payloads` trains the runs that can share a
stack together and writes each run's folder as ``optrun train`` does, with the API's own
functions (passed in by the caller: this level imports neither the API nor the executors)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from optrun import config as config_mod, engine
from optrun.control import StopFlag
from optrun.rundir import create_run_dir, json_text, sync_all, write_json, write_private_text
from optrun.vectorized.groups import plan_groups
from optrun.vectorized.loop import run_group
from optrun.vectorized.traces import StackTrace


def run_payloads(payloads: list[dict], into: str | Path, *, api: Any, staging: Any, fallback: Callable,
                 stop: StopFlag | None = None, on_outcome: Callable[[dict], None] | None = None) -> list[dict]:
    """Train a sweep's payloads (:func:`optrun.sweep.staging._payload`) with the runs that can
    share a stack trained together; one outcome per payload as the executors return it
    (``index, status, stop_reason, final_loss, wall_time_s, config_hash, error, run_dir``).

    Each run folder is written as ``optrun train`` writes it, by the API's own functions: the
    caller passes ``api`` (:mod:`optrun.api`: ``load_problem``, ``run_ident``, ``build_summary``) and
    ``staging`` (:mod:`optrun.executors.staging`: ``staging_dir``, ``move_into``,
    ``read_outcome``, ``public``, ``remove_staging``), as the executors are passed ``api.train``:
    this layer imports neither. Folders are made in a staging folder and moved into ``into``
    complete. The summary's ``engine`` is ``"vectorized"``, and ``vectorized_group`` the size of
    the stack. ``fallback(payload) -> outcome`` runs a payload the ordinary way: one that does
    not load (its error becomes a failed folder there) or that wants plots. ``on_outcome`` is
    called with each outcome as soon as it is final (its folder moved in), stack by stack: the
    sweep marks the entry's claim done there, so a stop between stacks loses nothing.
    """
    into = Path(into)
    done = on_outcome or (lambda outcome: None)
    into.mkdir(parents=True, exist_ok=True)
    stop = stop or StopFlag()
    outcomes: dict[int, dict] = {}
    loaded = []
    templates: dict[int, tuple] = {}
    for pos, payload in enumerate(payloads):
        try:
            if payload.get("plots"):
                raise ValueError("plots")
            loaded.append((pos, payload, *_load(api, payload, templates)))
        except Exception:
            outcomes[pos] = fallback(payload)
            done(outcomes[pos])
    for members in plan_groups([m[3] for m in loaded]):
        group = [loaded[j] for j in members]
        if stop.requested:
            for pos, payload, _, _ in group:
                outcomes[pos] = {"index": payload["index"], "status": "not_run", "run_dir": None}
        else:
            stacked = _run_stack(group, into, api, staging, stop)
            outcomes.update(stacked)
            for outcome in stacked.values():
                done(outcome)
    return [outcomes[pos] for pos in range(len(payloads))]


def _load(api: Any, payload: dict, templates: dict[int, tuple]) -> tuple[dict, Any]:
    """The payload's resolved config and problem, as ``api.load_problem`` gives them.

    The runs of a sweep share one base config and differ only in the values of the same axes,
    so the config is resolved once per base (the first payload's, kept in ``templates``) and
    each other run's is that config with its own axis values and name set: resolving costs ~0.5
    ms a run (its override texts, the schema), as much as training it. The copy is used only
    when its :func:`~optrun.config.config_hash` is the plan's hash for the entry (the config
    the plan resolved, value for value: an axis value that resolution would change, ``1`` for
    ``1.0`` say, or a default that depends on it, gives another hash); else the run is loaded
    the ordinary way.
    """
    from optrun.prepare import prepare

    overrides, base = payload.get("overrides"), payload["config"]
    template = templates.get(id(base))
    cfg = None
    if template is not None and isinstance(overrides, dict) and payload.get("config_hash"):
        cfg = _with_values(template[1], overrides, payload["name"])
        if cfg is not None and (cfg.get("plots") is not None or config_mod.config_hash(cfg) != payload["config_hash"]):
            cfg = None
    if cfg is None:
        cfg, problem = api.load_problem(base, overrides, payload["name"])
        if isinstance(overrides, dict):
            templates.setdefault(id(base), (base, cfg))  # the base is kept alive, so its id stays its own
        return cfg, problem
    with np.errstate(all="ignore"):
        return cfg, prepare(cfg)


def _with_values(resolved: dict, overrides: dict, name: str) -> dict | None:
    """A copy of ``resolved`` with each dotted key of ``overrides`` set to its value and the
    name set; None when a key is not a value of ``resolved`` (a whole section, a new key)."""
    cfg = copy.deepcopy(resolved)
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = cfg
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node or isinstance(node[leaf], dict):
            return None
        node[leaf] = copy.deepcopy(value)
    cfg["name"] = name
    return cfg


def _run_stack(group: list[tuple], into: Path, api: Any, staging: Any, stop: StopFlag) -> dict[int, dict]:
    """Train one stack (``(pos, payload, cfg, problem)`` each) into one staging folder, then move
    the run folders into ``into``; the outcomes by position. A failure fails every run of it.

    The folders hold what ``optrun train`` writes (``config.yaml`` by the same dump, the same
    summary keys plus ``vectorized_group``, ``trace.csv`` by the same formatting), written the
    way a private folder allows: no temporary files, no "running" summary (nobody can see the
    staging folder; a run killed there leaves nothing in ``into``), the traces in bulk
    (:class:`~optrun.vectorized.traces.StackTrace`) and one :func:`~optrun.rundir.sync_all`
    before the folders are renamed into place instead of an fsync per file."""
    outcomes: dict[int, dict] = {}
    stage = staging.staging_dir(into)
    runs: list[_Open] = []
    trace = StackTrace(engine.columns(group[0][3]))
    try:
        for _, payload, cfg, _ in group:
            runs.append(_open(api, trace, stage, payload, cfg))
        results = run_group([g[3] for g in group], trace.writers, stop)
        trace.close()
        summaries = [_summary(api, problem, run, result, len(group))
                     for (_, _, _, problem), run, result in zip(group, runs, results)]
        for run, summary in zip(runs, summaries):
            write_private_text(run.dir / "summary.json", json_text(summary))
        sync_all([run.dir / f for run in runs for f in _FILES])
        for (pos, payload, _, _), summary, run in zip(group, summaries, runs):
            # the outcome read_outcome would read back, from the summary just written
            outcome = {"index": payload["index"], **{k: summary.get(k) for k in _OUTCOME_KEYS}}
            outcomes[pos] = staging.public(outcome, staging.move_into(run.dir, into))
    except Exception as exc:
        _fail_group(trace, runs, exc)
        error = f"{type(exc).__name__}: {exc}"[:500]
        for j, (pos, payload, _, _) in enumerate(group):
            if pos not in outcomes:  # not moved in yet: its folder (if it has one) says failed
                folder = runs[j].dir if j < len(runs) else None
                outcome = {"index": payload["index"], "status": "failed", "stop_reason": f"internal error: {error}",
                           "config_hash": payload.get("config_hash"), "error": error}
                outcomes[pos] = staging.public(outcome, staging.move_into(folder, into) if folder else None)
    finally:
        staging.remove_staging(stage)
    return outcomes


_OUTCOME_KEYS = ("status", "stop_reason", "final_loss", "wall_time_s", "config_hash", "error")
_FILES = ("config.yaml", "summary.json", "trace.csv")


class _Open(NamedTuple):
    """An open run of a stack: its folder, trace writer and identity."""

    dir: Path
    writer: Any
    ident: dict


def _open(api: Any, trace: StackTrace, stage: Path, payload: dict, cfg: dict) -> _Open:
    """The run's folder in the stack's staging folder, with ``config.yaml`` and the trace header."""
    labels = {k: payload[k] for k in ("note", "tags") if payload.get(k)}  # sweep --note/--tag
    ident = api.run_ident(cfg, payload["name"], labels)
    folder = create_run_dir(stage, ident["name"])
    write_private_text(folder / "config.yaml", config_mod.dump(cfg))
    return _Open(folder, trace.open(folder / "trace.csv"), ident)


def _summary(api: Any, problem, run: _Open, result, k: int) -> dict:
    """The run's final summary, as ``optrun train`` builds it, plus ``vectorized_group``."""
    problem.engine = "vectorized"
    summary = api.build_summary(problem, result, run.ident["config_hash"], run.ident["name"], run.writer.rows_written)
    summary["vectorized_group"] = k
    summary.update({key: run.ident[key] for key in ("note", "tags") if key in run.ident})
    return summary


def _fail_group(trace: StackTrace, runs: list[_Open], exc: BaseException) -> None:
    """A failure inside a stack fails every run of it: each open folder keeps its whole trace
    rows and gets a ``failed`` summary."""
    from optrun.rundir import status_summary, truncate_partial_line

    error = f"{type(exc).__name__}: {exc}"
    trace.abandon()
    for run in runs:
        try:
            truncate_partial_line(run.dir / "trace.csv")
            write_json(run.dir / "summary.json", status_summary("failed", f"internal error: {error}", run.ident,
                                                                error=error))
        except Exception:  # the disk may be full: the folder has no summary, resume reruns it
            pass
