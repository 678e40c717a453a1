"""Running of :mod:`optrun.tune`: the tune folder (its id hashes the planned trials, the score and
the seeds, so the same command resumes it), the trials and the reruns of the best settings through
:func:`optrun.executors.run_all` (a finished run whose config hash is there is not run again), then
the ranking, the tables and the figures."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from optrun import config as config_mod
from optrun.executors import run_all, train_into
from optrun.tune.output import _figures, _trial_row, _write_tables
from optrun.tune.plan import Planned, _check, _plan_one, _resolution, plan_trials
from optrun.tune.ranking import _best, rank
from optrun.tune.scoring import DONE_STATUSES, run_record, score_of

RUNS_SUBDIR = "runs"


@dataclass
class TuneResult:
    folder: Path
    ranking: list[dict]
    trials: list[dict]
    target: float | None
    score: str
    interrupted: bool = False
    failed: int = 0
    skipped: int = 0
    figures: list[Path] = field(default_factory=list)


def _work(payload: dict, out: Path, stop=None) -> dict:
    """The tuner's work function for :func:`optrun.executors.run_all` (api looked up now)."""
    from optrun import api

    return train_into(api.train, payload, out, stop)


def _done_by_hash(runs_dir: Path) -> dict[str, Path]:
    """``config_hash -> newest finished run folder`` directly under ``runs_dir``."""
    from optrun.rundir import RunFolder, find_run_folders

    out: dict[str, Path] = {}
    if not runs_dir.is_dir():
        return out
    for path in find_run_folders(runs_dir, recursive=False):
        run = RunFolder(path)
        s = run.summary if run.readable else {}
        if s.get("config_hash") and s.get("status") in DONE_STATUSES and path != runs_dir:
            out[s["config_hash"]] = path
    return out


def _execute(planned: list[Planned], runs_dir: Path, jobs: int, executor: str, address, stop,
             on_run: Callable | None) -> tuple[list[dict], int]:
    """Run what is not done yet; one record per planned run (in plan order), and the skip count."""
    done = _done_by_hash(runs_dir)
    todo = [i for i, p in enumerate(planned) if p.config_hash not in done]
    folders: dict[int, Path | None] = {i: done[p.config_hash] for i, p in enumerate(planned) if p.config_hash in done}
    errors: dict[int, str | None] = {}
    payloads = [{"index": i, "config": planned[i].config, "overrides": None, "name": planned[i].name,
                 "plots": False} for i in todo]
    for outcome in run_all(payloads, _work, into=runs_dir, jobs=jobs, executor=executor, address=address, stop=stop):
        i = outcome["index"]
        if outcome["status"] == "not_run":
            continue
        folders[i] = Path(outcome["run_dir"]) if outcome.get("run_dir") else None
        errors[i] = outcome.get("error")
        if on_run:
            on_run(planned[i], outcome)
    recs = []
    for i, p in enumerate(planned):
        if i in folders:
            recs.append(run_record(p, folders[i], errors.get(i)))
        else:
            recs.append({**run_record(p, None), "status": "not_run"})
    return recs, len(planned) - len(todo)


def tune(config: str | Path, optimizers: list[str], budget: int, seeds: int = 3, search: str = "sobol",
         score: str = "final_subopt", target: float | None = None, spaces: list[str] | None = None,
         out: str | Path = "runs", name: str | None = None, jobs: int = 1, executor: str = "local",
         address: Any = None, plots: bool = True, fmt: str = "png", stop=None,
         on_run: Callable[[Planned, dict], None] | None = None) -> TuneResult:
    """Tune each optimizer with ``budget`` trials, rerun the best of each over ``seeds`` fresh
    seeds, rank; see the module docstring. Raises OptrunError before anything runs for a bad
    config, optimizer or space."""
    from optrun.control import StopFlag
    from optrun.rundir import write_json

    optimizers = _check(optimizers, budget, seeds, search, score, target)
    raw, base, trials, folder, meta = _open(config, name, optimizers, budget, seeds, search, score, target,
                                            spaces, out)
    runs_dir = folder / RUNS_SUBDIR
    stop = stop if stop is not None else StopFlag()

    recs, skipped = _execute(trials, runs_dir, jobs, executor, address, stop, on_run)
    interrupted = stop.requested or any(r["status"] in ("not_run", "interrupted") for r in recs)
    gaps = sorted(r["f0_gap"] for r in recs if r["f0_gap"] is not None)
    if target is None and score != "final_subopt":
        target = 1e-3 * gaps[len(gaps) // 2] if gaps and gaps[len(gaps) // 2] > 0 else None
        meta["target_rule"] = "1e-3 x the median initial f - f*"
    meta["target"] = target
    for r in recs:
        r["score"] = score_of(r, score, target)
    best = _best(recs, optimizers)

    rerun_recs: list[dict] = []
    if not interrupted:
        reruns = _plan_reruns(raw, optimizers, best, seeds, base, score)
        rerun_recs, sk2 = _execute(reruns, runs_dir, jobs, executor, address, stop, on_run)
        skipped += sk2
        interrupted = stop.requested or any(r["status"] in ("not_run", "interrupted") for r in rerun_recs)
        for r in rerun_recs:
            r["score"] = score_of(r, score, target)
    ranking = rank(optimizers, recs, rerun_recs, best, score, target)
    trial_rows = [_trial_row(r) for r in recs]
    _write_tables(folder, trial_rows, ranking)
    meta["ranking"] = [{k: v for k, v in row.items()} for row in ranking]
    write_json(folder / "tune.json", meta)  # a non-finite number becomes null (rundir.json_safe)
    figures = []
    if plots and ranking:
        figures = _figures(folder, recs, rerun_recs, ranking, score, target, fmt)
    failed = sum(r["status"] == "failed" for r in recs + rerun_recs)
    return TuneResult(folder, ranking, trial_rows, target, score, interrupted, failed, skipped, figures)


def _open(config: str | Path, name: str | None, optimizers: list[str], budget: int, seeds: int, search: str,
          score: str, target: float | None, spaces: list[str] | None, out: str | Path):
    """Plan the trials, create the tune folder (named by the hash of the plan) and write its first
    ``tune.json``: ``(raw config, base name, trials, folder, meta)``."""
    from optrun.rundir import slugify, write_json

    path = Path(config)
    raw = config_mod.read_base_config(path)
    base = slugify(name or raw.get("name") or path.stem)
    trials, space_text = plan_trials(raw, optimizers, budget, search, score, spaces, base)
    ident = json.dumps({"trials": sorted(p.config_hash for p in trials), "score": score, "seeds": seeds,
                        "target": target}, sort_keys=True)
    folder = Path(out) / f"tune-{base}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    (folder / RUNS_SUBDIR).mkdir(parents=True, exist_ok=True)
    seed = int(raw.get("seed", 0) or 0)
    resolution = _resolution(raw, score)
    meta = {"config": str(path), "optimizers": optimizers, "budget": budget, "trials_per_optimizer": budget,
            "seeds": [seed + 1 + k for k in range(seeds)], "trial_seed": seed, "search": search, "score": score,
            "target": target, "spaces": space_text,
            "resolution": ({"log_every": resolution or (raw.get("train") or {}).get("log_every", "auto"),
                            "note": "first logged row with f - f* <= target"} if score != "final_subopt" else None),
            "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(folder / "tune.json", meta)
    return raw, base, trials, folder, meta


def _plan_reruns(raw: dict, optimizers: list[str], best: dict, seeds: int, base: str, score: str) -> list[Planned]:
    """The best setting of each optimizer on the fresh seeds seed+1, ..., seed+K."""
    seed = int(raw.get("seed", 0) or 0)
    log_every = _resolution(raw, score)
    reruns: list[Planned] = []
    for opt in optimizers:
        b = best.get(opt)
        if b is None:
            continue
        for k in range(seeds):
            reruns.append(_plan_one(raw, "rerun", opt, k, seed + 1 + k, b["values"], base, log_every, "rerun"))
    return reruns
