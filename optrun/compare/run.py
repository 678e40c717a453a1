"""Running of :mod:`optrun.compare`: :func:`compare` (a ladder: plan, folder and
``comparison.json``, the runs through :func:`optrun.executors.run_all`, the target, the rows, the
ranking, the figures) and the work function, which looks up ``optrun.api.train`` at call time
(so a monkeypatched ``api.train`` is used)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from optrun.compare.output import _overlays, write_csv
from optrun.compare.plan import _plan, _runs
from optrun.compare.ranking import _finish_rows, _target, rank_settings
from optrun.executors import run_all, train_into


@dataclass
class Comparison:
    folder: Path
    rows: list[dict]  # one per run (the rows of comparison.csv)
    settings: list[dict]  # one per combination, ranked
    target: float | None
    x: str
    vary: dict
    failed: int = 0
    interrupted: bool = False
    figures: list[Path] = field(default_factory=list)


def compare(config: str | Path, vary: list[str], overrides: list[str] | None = None, seeds: int = 1,
            out: str | Path = "runs", target: float | None = None, x: str | None = None, name: str | None = None,
            plots: bool = True, run_plots: bool = False, fmt: str = "png", projection: str = "hessian",
            animate: bool = False, figure=None, stop=None,
            on_run: Callable[[int, int, str, dict | None], None] | None = None, jobs: int = 1,
            resolution: int | None = None, baselines: str | None = None, note: str | None = None,
            tags: list[str] | tuple[str, ...] = ()) -> Comparison:
    """Run the base config once per combination of ``vary`` values and seed; see the module doc.

    ``resolution``: every run logs every ``resolution`` steps (default 1, unless the config sets
    ``train.log_every``), so the first crossing of the target is found at a resolution that does
    not depend on the budget; ``comparison.json`` states it (``target_resolution``).
    ``baselines="theory"`` adds the theory-tuned baselines (:func:`theory_baselines`).

    ``on_run(i, total, label, summary_or_None)`` is called before (summary None) and after each run.
    ``jobs > 1`` runs that many at once (spawned processes); the comparison is the same.
    ``note``/``tags`` label every run (its ``summary.json``, for ``optrun runs --tag``) and are
    recorded in ``comparison.json``. Raises OptrunError for a bad config, ``--vary``, note or tag
    before anything is written.
    """
    from optrun.api import run_labels
    from optrun.control import StopFlag
    from optrun.rundir import create_run_dir, write_json

    labels = run_labels(note, tags)
    path = Path(config)
    raw, axes, resolved, log_every = _plan(path, vary, overrides or [], seeds, target, resolution, baselines)
    seed_list = [int(resolved[0][0]["seed"]) + i for i in range(seeds)]
    if x is None:  # batch modes differ: equal work is equal epochs
        x = "epoch" if len({r[0]["batch"]["mode"] for r in resolved}) > 1 else "step"
    folder = create_run_dir(out, f"compare-{name or raw.get('name') or path.stem}")
    vary_meta = {a.key: a.values for a in axes}
    meta = {"config": str(path), "overrides": list(overrides or []), "vary": vary_meta,
            "vary_args": [a.text for a in axes], "seeds": seed_list, "x": x, "target": target,
            "target_resolution": {"log_every": log_every, "unit": "steps",
                                  "rule": "first logged row with f - f* <= target"},
            "baselines": baselines, **labels, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(folder / "comparison.json", meta)

    stop = stop if stop is not None else StopFlag()
    runs = _runs(resolved, seed_list, run_plots, fmt)
    for r in runs:
        r["payload"].update(labels)  # note, tags: into each run's summary.json
    rows = _run_all(runs, folder, list(vary_meta), jobs, stop, on_run)
    interrupted = any(r["status"] == "interrupted" for r, _ in rows) or (stop.requested and len(rows) < len(runs))
    target, meta["target_rule"] = _target(rows, target)
    final_rows = _finish_rows(rows, target)
    meta["target"] = target
    write_json(folder / "comparison.json", meta)
    write_csv(folder / "comparison.csv", final_rows, list(vary_meta))
    settings = rank_settings(final_rows, x)
    meta["settings"] = settings  # through rundir.json_safe: numbers stay numbers, a non-finite one null
    write_json(folder / "comparison.json", meta)
    figures = _overlays(final_rows, folder, fmt, x, projection, animate, figure, target) if plots else []
    for r in final_rows:
        r.pop("_values", None)
    return Comparison(folder=folder, rows=final_rows, settings=settings, target=target, x=x, vary=vary_meta,
                      failed=sum(r["status"] == "failed" for r in final_rows), interrupted=interrupted,
                      figures=figures)


def _train_run(payload: dict, out: Path, stop=None) -> dict:
    """The comparison's work function for :func:`optrun.executors.run_all` (``api.train`` looked
    up now, so a monkeypatched ``optrun.api.train`` is used). A run stopped at once (a second
    Ctrl-C) gets no row and ends the comparison, as in 0.1; its folder is kept."""
    from optrun import api

    try:
        return train_into(api.train, payload, out, stop)
    except KeyboardInterrupt:
        if stop is not None and not stop.requested:
            stop.request("interrupted")
        folder = next((p for p in out.iterdir() if p.is_dir()), None)
        return {"index": payload["index"], "status": "not_run", "folder": folder}


def _run_all(runs: list[dict], folder: Path, vary_keys: list[str], jobs: int, stop,
             on_run: Callable | None) -> list[tuple[dict, Any]]:
    """Run everything (until a stop), in run order: one ``(row, trace or None)`` per run that ran."""
    total = len(runs)

    def started(payload: dict) -> None:
        if on_run:
            run = runs[payload["index"]]
            on_run(payload["index"] + 1, total, f"{run['label']} (seed {run['seed']})", None)

    rows = []
    for outcome in run_all([r["payload"] for r in runs], _train_run, into=folder, jobs=jobs, stop=stop,
                           on_start=started):
        if outcome["status"] == "not_run":
            continue
        run = runs[outcome["index"]]
        row, summary, trace = _row(outcome, run, vary_keys)
        rows.append((outcome["index"], row, trace))
        if on_run:
            on_run(outcome["index"] + 1, total, f"{run['label']} (seed {run['seed']})", summary)
    return [(row, trace) for _, row, trace in sorted(rows, key=lambda t: t[0])]


def _row(outcome: dict, run: dict, vary_keys: list[str]) -> tuple[dict, dict, Any]:
    """The comparison.csv row of one finished run, its summary, its trace (None if it failed)."""
    from optrun.rundir import RunFolder

    if outcome["status"] == "failed":  # the training raised: no result to read back
        summary, run_dir, trace = {"status": "failed", "stop_reason": outcome.get("error")}, None, None
    else:
        folder = RunFolder(outcome["run_dir"])
        summary, run_dir, trace = folder.summary, folder.path, folder.trace
    # the varied values as they are (a float in full, shortest round-trip; an optimizer as JSON):
    # the 6-digit labels cannot be typed back, these can
    row = {k: run["values"][k] for k in vary_keys}
    row.update(label=run["label"], seed=run["seed"], status=summary.get("status"),
               stop_reason=summary.get("stop_reason"), steps=summary.get("steps"), epochs=summary.get("epochs"),
               samples=summary.get("samples"), final_loss=summary.get("final_loss"), f_star=summary.get("f_star"),
               final_subopt=summary.get("suboptimality"), wall_time_s=summary.get("wall_time_s"),
               run_dir=run_dir.name if run_dir else "", _values=run["values"])
    row.update(best_subopt=None, steps_to_target=None, epochs_to_target=None, samples_to_target=None,
               time_to_target_s=None)
    return row, summary, trace
