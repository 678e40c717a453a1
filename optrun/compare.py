"""Fair comparisons: one base config, a grid of varied values, N seeds each, one folder.

    from optrun import compare
    result = compare.compare("configs/compare_batch_modes.yaml",
                             vary=["batch.mode=full,stochastic,minibatch"], seeds=3)
    result.folder, result.table          # the comparison folder, one row per run

``--vary`` syntax (:func:`parse_vary`), one axis per ``--vary``; several axes form a grid:

* ``KEY=v1,v2,...`` with a dotted key (``optimizer.lr=0.1,0.01``, ``batch.mode=full,stochastic``);
  values are typed like YAML, and commas inside ``[...]`` do not split
  (``optimizer.betas=[0.9,0.999],[0.8,0.99]``). The value syntax is `optrun sweep`'s, so
  ``optimizer.lr='logspace(-3,-1,3)'`` and ``batch.size='range(8,33,8)'`` work too.
* ``batch.mode=full,stochastic,minibatch``: stochastic runs use size 1 (the base config's
  ``batch.size`` is for minibatch); full batch ignores the size.
* ``optimizer.name=sgd,momentum,adam`` or ``optimizer=adam:lr=0.01,sgd:lr=0.1``: each value names
  an optimizer, optionally followed by ``:hp=value`` pairs. A varied optimizer starts from *its
  own defaults* (torch's), then takes the inline values, then the command line's common
  ``optimizer.*`` overrides; the base config's other optimizer hyperparameters are dropped (they
  belong to the base optimizer), its ``schedule`` is kept.

Order of application for each combination: base config -> varied optimizer (reset) -> common
``KEY=VALUE`` overrides -> the other varied values. Every combination is validated before the
first run starts, so a typo costs nothing.

The folder ``<out>/<stamp>-compare-<name>-<hex>/`` holds the run folders, ``comparison.csv``
(one row per run), ``comparison.json`` (what was varied, the seeds, the target) and ``plots/``
(the overlay figures). Comparisons are fair by construction: same data, same init rule, same
budget; when batch modes differ the figures use epochs (equal passes over the data), and
"steps/epochs/samples to target" are read from the first logged row where f - f* <= target.

The runs go through :func:`optrun.executors.run_all`, the sweep's executors: each trains in a
hidden staging folder and appears in the comparison folder complete; ``jobs=N`` runs N at once
in spawned processes, with the same rows in the same order.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.executors import run_all, train_into
from optrun.grid import parse_optimizer_specs, parse_values

OPTIMIZER_KEYS = ("optimizer", "optimizer.name")


# ============================================================================================
# --vary parsing and expansion


@dataclass
class VaryAxis:
    key: str  # dotted key, or "optimizer" (a whole optimizer: name + inline hyperparameters)
    values: list[Any]
    labels: list[str]
    text: str = ""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "(" + ",".join(_fmt(x) for x in v) + ")"
    if isinstance(v, dict):
        return " ".join([str(v.get("name", "?"))] + [f"{k}={_fmt(x)}" for k, x in v.items() if k != "name"])
    return str(v)


def value_label(key: str, value: Any) -> str:
    """Legend text for one varied value: ``adam lr=0.01``, ``full batch``, ``lr=0.1``."""
    if key in OPTIMIZER_KEYS:
        return _fmt(value)
    if key == "batch.mode":
        return {"full": "full batch", "stochastic": "stochastic", "minibatch": "minibatch"}.get(str(value), str(value))
    leaf = key.split(".")[-1]
    return f"{leaf}={_fmt(value)}"


def parse_vary(text: str) -> VaryAxis:
    """Parse one ``--vary`` argument (see the module docstring)."""
    where = f"--vary {text!r}"
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise OptrunError(f"{where}: expected KEY=v1,v2,... (e.g. optimizer.lr=0.1,0.01 or optimizer=adam:lr=0.01,sgd:lr=0.1)")
    if key.split(".")[0] not in config_mod.SECTIONS:
        raise OptrunError(f"{where}: unknown section {key.split('.')[0]!r}; expected one of: {', '.join(config_mod.SECTIONS)}")
    if key == "seed":
        raise OptrunError(f"{where}: use --seeds N to repeat runs over seeds")
    values: list[Any]
    if key in OPTIMIZER_KEYS:  # each value a whole optimizer: adam:lr=0.01,sgd:lr=0.1
        values = parse_optimizer_specs(rest, where)
        key = "optimizer"
    else:  # the same value syntax as `optrun sweep`: lists, range(), linspace(), logspace()
        values = parse_values(rest, where)
    if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
        raise OptrunError(f"{where}: a value is listed twice")
    return VaryAxis(key=key, values=values, labels=[value_label(key, v) for v in values], text=text)


def expand(axes: list[VaryAxis]) -> list[list[tuple[str, Any, str]]]:
    """The grid: one list of (key, value, label) per combination, first axis slowest."""
    keys = [a.key for a in axes]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise OptrunError(f"--vary: {sorted(dup)[0]} is varied twice; give all its values in one --vary")
    return [list(combo) for combo in itertools.product(*[list(zip([a.key] * len(a.values), a.values, a.labels)) for a in axes])]


def combo_config(raw: dict, overrides: list[str], combo: list[tuple[str, Any, str]]) -> tuple[dict, dict[str, str]]:
    """The raw (unresolved) config of one combination, and the origin of each key for errors."""
    cfg = copy.deepcopy(raw)
    common = [config_mod.parse_override(o) for o in overrides or []]
    varied = {k for k, _, _ in combo}
    for k, _ in common:
        if k in varied or (k == "optimizer.name" and "optimizer" in varied):
            raise OptrunError(f"override {k}: this key is varied with --vary; remove the override")
    origin: dict[str, str] = {}
    for key, value, _ in combo:
        if key == "optimizer":
            base = cfg.get("optimizer")
            schedule = base.get("schedule") if isinstance(base, dict) else None
            opt = dict(value)
            if schedule is not None and "schedule" not in opt:
                opt["schedule"] = schedule
            cfg["optimizer"] = opt
            origin["optimizer"] = f"--vary optimizer={_fmt(value)}"
    cfg, o1 = config_mod.apply_overrides(cfg, dict(common))
    origin.update({k: f"override {k}" for k in o1})
    rest = {k: v for k, v, _ in combo if k != "optimizer"}
    if rest.get("batch.mode") == "stochastic" and "batch.size" not in rest:
        # stochastic means size 1: a base config's minibatch size must not make it an error
        rest["batch.size"] = None
    cfg, _ = config_mod.apply_overrides(cfg, rest)
    origin.update({k: f"--vary {k}={_fmt(v)}" for k, v in rest.items()})
    return cfg, origin


# ============================================================================================
# Running


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


CSV_FIXED = ["label", "seed", "status", "stop_reason", "steps_to_target", "epochs_to_target", "samples_to_target",
             "time_to_target_s", "steps", "epochs", "samples", "final_loss", "f_star", "final_subopt", "best_subopt",
             "wall_time_s", "run_dir"]


def _slug(labels: list[str]) -> str:
    from optrun.rundir import slugify

    return slugify("_".join(labels).replace(" ", "-").replace("=", ""), max_len=30)


def to_target(trace, f_star: float | None, target: float | None) -> dict:
    """First logged row with f - f* <= target: its step, epoch, samples and time (or None)."""
    out = {"steps_to_target": None, "epochs_to_target": None, "samples_to_target": None, "time_to_target_s": None}
    if f_star is None or target is None:
        return out
    sub = trace["loss"].to_numpy(float) - f_star
    import numpy as np

    hit = np.flatnonzero(np.isfinite(sub) & (sub <= target))
    if hit.size:
        row = trace.iloc[int(hit[0])]
        out.update(steps_to_target=int(row["step"]), epochs_to_target=float(row["epoch"]),
                   samples_to_target=int(row["samples"]), time_to_target_s=float(row["time_s"]))
    return out


def _median(vals: list) -> float | None:
    v = sorted(x for x in vals if x is not None and isinstance(x, (int, float)) and math.isfinite(x))
    if not v:
        return None
    k = len(v)
    return float(v[k // 2]) if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


#: the to-target column of each x unit, and the summary field that is its budget
UNITS = {"step": ("steps_to_target", "steps"), "epoch": ("epochs_to_target", "epochs"),
         "samples": ("samples_to_target", "samples"), "time": ("time_to_target_s", "wall_time_s")}


def censored_to_target(rs: list[dict], x: str) -> dict:
    """Median and 10-90 % band of "to target" over the runs of one setting, a run that never
    reached the target counted as right-censored (> its budget), never dropped
    (:func:`optrun.stats.censored_quantile`, order statistic ⌈q·n⌉). A diverged or failed run
    did not reach it either."""
    from optrun.stats import censored_quantile

    unit, budget_key = UNITS[x]
    vals = [r.get(unit) for r in rs]
    budget = max((float(r[budget_key]) for r in rs if isinstance(r.get(budget_key), (int, float))), default=math.inf)
    med, lo, hi = (censored_quantile(vals, budget, q) for q in (0.5, 0.1, 0.9))
    return {"median_to_target": med.value, "median_to_target_above": med.above, "reached_target": med.reached,
            "band_to_target": [lo.value, hi.value if hi.value is not None else None],
            "to_target_text": med.text("{:.4g}") if rs else ""}


def rank_settings(rows: list[dict], x: str) -> list[dict]:
    """One row per combination: how many runs reached the target ("n reached"), the censored
    median and band of the runs to target, medians of the rest; best first: a setting whose
    median is observed beats one whose median is censored; then the median; then more reached;
    then the final suboptimality. A setting where most runs diverged or failed ranks last."""
    unit = UNITS[x][0]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    out = []
    for label, rs in by.items():
        statuses: dict[str, int] = {}
        for r in rs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        out.append({
            "label": label,
            "runs": len(rs),
            "statuses": statuses,
            **censored_to_target(rs, x),
            "to_target_unit": unit,
            "median_final_loss": _median([r["final_loss"] for r in rs if r["status"] != "diverged"]),
            "median_final_subopt": _median([r["final_subopt"] for r in rs if r["status"] != "diverged"]),
            "median_wall_time_s": _median([r["wall_time_s"] for r in rs]),
            "values": rs[0].get("_values", {}),
        })

    def key(s):
        bad = sum(v for k, v in s["statuses"].items() if k in ("diverged", "failed"))
        mt = s["median_to_target"]
        fs = s["median_final_subopt"]
        return (bad * 2 > s["runs"], mt is None, mt if mt is not None else 0.0, -s["reached_target"],
                fs if fs is not None else math.inf)

    out.sort(key=key)
    for i, s in enumerate(out, 1):
        s["rank"] = i
    return out


def compare(
    config: str | Path,
    vary: list[str],
    overrides: list[str] | None = None,
    seeds: int = 1,
    out: str | Path = "runs",
    target: float | None = None,
    x: str | None = None,
    name: str | None = None,
    plots: bool = True,
    run_plots: bool = False,
    fmt: str = "png",
    projection: str = "hessian",
    animate: bool = False,
    figure=None,
    stop=None,
    on_run: Callable[[int, int, str, dict | None], None] | None = None,
    jobs: int = 1,
    resolution: int | None = None,
    baselines: str | None = None,
) -> Comparison:
    """Run the base config once per combination of ``vary`` values and seed; see the module doc.

    ``resolution``: every run logs every ``resolution`` steps (default 1, unless the config sets
    ``train.log_every``), so the first crossing of the target is found at a resolution that does
    not depend on the budget; ``comparison.json`` states it (``target_resolution``).
    ``baselines="theory"`` adds the theory-tuned baselines (:func:`theory_baselines`).

    ``on_run(i, total, label, summary_or_None)`` is called before (summary None) and after each run.
    ``jobs > 1`` runs that many at once (spawned processes); the comparison is the same. Raises
    OptrunError for a bad config or ``--vary`` before anything is written.
    """
    from optrun.control import StopFlag
    from optrun.rundir import create_run_dir, write_json

    _check_args(vary, seeds, target, baselines)
    axes = [parse_vary(v) for v in vary]
    path = Path(config)
    raw = config_mod.read_config_file(path)
    if baselines:
        axes = _with_baselines(axes, raw, overrides or [], path)
    raw, log_every = _with_resolution(raw, resolution)
    resolved = _resolve_all(raw, overrides or [], expand(axes), path)
    seed_list = [int(resolved[0][0]["seed"]) + i for i in range(seeds)]
    if x is None:  # batch modes differ: equal work is equal epochs
        x = "epoch" if len({r[0]["batch"]["mode"] for r in resolved}) > 1 else "step"
    folder = create_run_dir(out, f"compare-{name or raw.get('name') or path.stem}")
    vary_meta = {a.key: a.values for a in axes}
    meta = {"config": str(path), "overrides": list(overrides or []), "vary": vary_meta,
            "vary_args": [a.text for a in axes], "seeds": seed_list, "x": x, "target": target,
            "target_resolution": {"log_every": log_every, "unit": "steps",
                                  "rule": "first logged row with f - f* <= target"},
            "baselines": baselines, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(folder / "comparison.json", meta)

    stop = stop if stop is not None else StopFlag()
    runs = _runs(resolved, seed_list, run_plots, fmt)
    rows = _run_all(runs, folder, list(vary_meta), jobs, stop, on_run)
    interrupted = any(r["status"] == "interrupted" for r, _ in rows) or (stop.requested and len(rows) < len(runs))
    target, meta["target_rule"] = _target(rows, target)
    final_rows = _finish_rows(rows, target)
    meta["target"] = target
    write_json(folder / "comparison.json", meta)
    write_csv(folder / "comparison.csv", final_rows, list(vary_meta))
    settings = rank_settings(final_rows, x)
    meta["settings"] = [_json_number(st) for st in settings]  # numbers stay numbers
    write_json(folder / "comparison.json", meta)
    figures = _overlays(final_rows, folder, fmt, x, projection, animate, figure) if plots else []
    for r in final_rows:
        r.pop("_values", None)
    return Comparison(folder=folder, rows=final_rows, settings=settings, target=target, x=x, vary=vary_meta,
                      failed=sum(r["status"] == "failed" for r in final_rows), interrupted=interrupted,
                      figures=figures)


def _json_number(x: Any) -> Any:
    """JSON-ready with numbers kept as numbers (a non-finite float becomes null)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_number(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_number(v) for v in x]
    return x


def _with_resolution(raw: dict, resolution: int | None) -> tuple[dict, Any]:
    """The config with ``train.log_every`` fixed (``resolution``, default 1 step) unless the
    config sets it; and the cadence in force. The automatic cadence depends on the budget
    (every step for short runs, every k steps for long ones), so "steps to target" read from it
    would too (60.11 epochs at a 100-epoch budget, 64.0 at 500 for the same trajectory)."""
    if resolution is not None and resolution < 1:
        raise OptrunError(f"--resolution: expected an integer >= 1 (steps), got {resolution}")
    train = raw.get("train") if isinstance(raw.get("train"), dict) else None
    if train is None:
        return raw, "auto"
    given = train.get("log_every", "auto")
    if given != "auto" and resolution is None:
        return raw, given
    k = int(resolution or 1)
    return {**raw, "train": {**train, "log_every": k}}, k


def theory_baselines(L: float, mu: float) -> list[dict]:
    """The theory-tuned baselines for an L-smooth, μ-strongly convex problem
    (:mod:`optrun.theory`): GD at 1/L and at 2/(L + μ), Polyak's optimal heavy ball and
    Nesterov's scheme for strongly convex f (the last two need μ > 0). Values to 6 significant
    digits (they print exactly and can be typed back)."""
    from optrun import theory

    r = lambda v: float(f"{v:.6g}")  # noqa: E731
    out = [{"name": "sgd", "lr": r(1.0 / L)}]
    if mu > 0:
        hb = theory.heavy_ball_optimal(L, mu)
        nv = theory.nesterov_strongly_convex(L, mu)
        out.append({"name": "sgd", "lr": r(theory.optimal_gd_lr(L, mu))})
        if r(hb["momentum"]) > 0:  # κ ≈ 1: the momentum methods are gradient descent
            out.append({"name": "sgd", "lr": r(hb["lr"]), "momentum": r(hb["momentum"])})
        if r(nv["momentum"]) > 0:
            out.append({"name": "sgd", "lr": r(nv["lr"]), "momentum": r(nv["momentum"]), "nesterov": True})
    unique: list[dict] = []
    for e in out:
        if e not in unique:
            unique.append(e)
    return unique


def _with_baselines(axes: list[VaryAxis], raw: dict, overrides: list[str], path: Path) -> list[VaryAxis]:
    """``--baselines theory``: append the theory-tuned optimizers to the optimizer axis (made
    from the base optimizer when there is none). L and μ come from the reference of the base
    config (its Hessian eigenvalues at θ*)."""
    from optrun import prepare as prepare_mod

    others = [a for a in axes if a.key not in OPTIMIZER_KEYS]
    if any(a.key.startswith("optimizer.") for a in others):
        raise OptrunError("--baselines theory: the baselines set the optimizer's lr and momentum; vary whole "
                          "optimizers (--vary optimizer=adam:lr=0.01,...) instead of optimizer.* keys")
    cfg, origin = combo_config(raw, overrides, [])
    res = config_mod.resolve(cfg, where=str(path), origin=origin, base_dir=path.resolve().parent)
    ref = prepare_mod.prepare(res).reference
    L = float(getattr(ref, "lipschitz", 0.0) or 0.0) if ref is not None else 0.0
    mu = float(getattr(ref, "strong_convexity", 0.0) or 0.0) if ref is not None else 0.0
    if not (L > 0 and math.isfinite(L)):
        raise OptrunError("--baselines theory: the reference has no curvature L for this problem")
    extra = theory_baselines(L, mu)
    opt_axis = next((a for a in axes if a.key == "optimizer"), None)
    if opt_axis is None:
        base = {k: v for k, v in (res["optimizer"] or {}).items() if k != "schedule"}
        opt_axis = VaryAxis("optimizer", [base], [value_label("optimizer", base)], "optimizer (base)")
    seen = {json.dumps(v, sort_keys=True, default=str) for v in opt_axis.values}
    values = list(opt_axis.values) + [e for e in extra if json.dumps(e, sort_keys=True) not in seen]
    labels = list(opt_axis.labels) + [f"theory: {_baseline_label(e, L, mu)}" for e in extra
                                      if json.dumps(e, sort_keys=True) not in seen]
    new = VaryAxis("optimizer", values, labels, opt_axis.text + " + --baselines theory")
    return [new if a is opt_axis else a for a in axes] if opt_axis in axes else [new, *axes]


def _baseline_label(e: dict, L: float, mu: float) -> str:
    if e.get("nesterov"):
        return f"Nesterov (lr=1/L, momentum={e['momentum']:g})"
    if e.get("momentum"):
        return f"heavy ball (lr={e['lr']:g}, momentum={e['momentum']:g})"
    if math.isclose(e["lr"], 1.0 / L, rel_tol=1e-5):
        return f"GD lr=1/L={e['lr']:g}"
    return f"GD lr=2/(L+mu)={e['lr']:g}"


def _check_args(vary: list[str], seeds: int, target: float | None, baselines: str | None = None) -> None:
    if baselines not in (None, "theory"):
        raise OptrunError(f"--baselines: expected theory, got {baselines!r}")
    if not vary and not baselines:
        raise OptrunError("--vary: give at least one KEY=v1,v2,... to compare")
    if seeds < 1:
        raise OptrunError(f"--seeds: expected an integer >= 1, got {seeds}")
    if target is not None and not (target > 0 and math.isfinite(target)):
        raise OptrunError(f"--target: expected a positive number (an f - f* level), got {target}")


def _resolve_all(raw: dict, overrides: list[str], combos: list, path: Path) -> list[tuple[dict, list[str], dict]]:
    """Validate every combination before anything runs (a typo costs nothing): one
    ``(resolved config, labels, {key: value})`` per combination."""
    resolved = []
    for combo in combos:
        cfg, origin = combo_config(raw, overrides, combo)
        try:
            res = config_mod.resolve(cfg, where=str(path), origin=origin, base_dir=path.resolve().parent)
        except OptrunError as exc:
            labels = ", ".join(lbl for _, _, lbl in combo)
            raise OptrunError(f"{exc} (in the combination {labels})") from None
        resolved.append((res, [lbl for _, _, lbl in combo], {k: v for k, v, _ in combo}))
    return resolved


def _runs(resolved: list, seed_list: list[int], run_plots: bool, fmt: str) -> list[dict]:
    """One run per combination and seed, combination slowest: its payload for the executors,
    its legend label, its varied values and its seed."""
    runs = []
    for res, labels, values in resolved:
        for seed in seed_list:
            cfg = copy.deepcopy(res)
            cfg["seed"] = seed
            payload = {"index": len(runs), "config": cfg, "overrides": None, "name": f"{_slug(labels)}-s{seed}",
                       "plots": run_plots, "plot_format": fmt}
            runs.append({"payload": payload, "label": ", ".join(labels), "values": values, "seed": seed})
    return runs


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


def _target(rows: list[tuple[dict, Any]], target: float | None) -> tuple[float | None, str]:
    """The target level: given, or 1/1000 of the median initial suboptimality; and its rule."""
    if target is not None:
        return target, "given (--target)"
    f0s = [float(t["loss"].iloc[0]) - r["f_star"] for r, t in rows if t is not None and r["f_star"] is not None]
    med = _median(f0s) if f0s else None
    return (1e-3 * med if med and med > 0 else None), "1e-3 x the median initial f - f*"


def _finish_rows(rows: list[tuple[dict, Any]], target: float | None) -> list[dict]:
    """Fill in the to-target columns and the best suboptimality from each trace."""
    import numpy as np

    final_rows = []
    for r, t in rows:
        if t is not None:
            r.update(to_target(t, r["f_star"], target))
            if r["f_star"] is not None:
                sub = t["loss"].to_numpy(float) - r["f_star"]
                sub = sub[np.isfinite(sub)]
                r["best_subopt"] = float(sub.min()) if sub.size else None
        final_rows.append(r)
    return final_rows


def _overlays(rows: list[dict], folder: Path, fmt: str, x: str, projection: str, animate: bool,
              figure=None) -> list[Path]:
    """The overlay figures of the runs that have a folder (``plots/``); ``figure``: the
    :class:`optrun.plots.style.FigureOptions` (style, title, size...)."""
    done = [folder / r["run_dir"] for r in rows if r["run_dir"]]
    if not done:
        return []
    from optrun.plots import draw_runs

    labels_by_dir = {r["run_dir"]: r["label"] for r in rows if r["run_dir"]}
    return draw_runs(done, folder / "plots", fmt=fmt, x=x, projection=projection, animate=animate,
                     labels=labels_by_dir, options=figure)


def write_csv(path: Path, rows: list[dict], vary_keys: list[str]) -> None:
    """``comparison.csv``: the varied values first, then the fixed columns (empty = none, also
    for a non-finite number); cells by the one rule, :func:`optrun.rundir.write_csv`."""
    from optrun.rundir import write_csv as write_rows

    clean = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()} for r in rows]
    write_rows(path, clean, [*vary_keys, *CSV_FIXED])
