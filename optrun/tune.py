"""Equal-budget tuning: the same number of trials per optimizer, then the best of each over seeds.

    from optrun import tune
    result = tune.tune("configs/compare_optimizers.yaml", optimizers=["sgd", "adam"], budget=20,
                       seeds=3, search="sobol", score="final_subopt", jobs=2)
    result.folder, result.ranking           # the tune folder, one ranking row per optimizer

A comparison of optimizers is fair only when each was tuned with the same effort (AlgoPerf's
rule). ``tune`` gives every optimizer exactly ``budget`` trials over *its own* search space
(:data:`DEFAULT_SPACES`, overridable with ``--space``), scores each trial by one stated
criterion, then reruns the best setting of each optimizer over ``seeds`` *fresh* seeds (seed+1,
..., seed+K: the seed the setting was chosen on is not reused, so the band is not biased by the
selection) and ranks the optimizers by the median score over those seeds.

Search spaces. A dimension is ``log(a,b)`` (log-uniform: the learning rates), ``lin(a,b)``
(uniform: momentum, betas), ``int(a,b)`` (inclusive) or a list of choices ``a|b|c``. A point u of
the unit cube [0, 1)^d maps to log: 10^(log10 a + u (log10 b − log10 a)), lin: a + u (b − a),
int: ⌊a + u (b − a + 1)⌋, choice: choices[⌊u n⌋]. Values are rounded to 4 significant digits, so
every setting prints exactly and can be typed back (``--filter optimizer.lr=0.0123``).

Search methods (each gives exactly ``budget`` points):

* ``sobol``: points 1..budget of the unscrambled Sobol sequence (:func:`optrun.sobol.sobol`, equal
  to SciPy's ``Sobol(d, scramble=False)``); point 0, the corner (every lower bound), is skipped;
* ``random``: uniform points from ``numpy.random.default_rng(SeedSequence([seed, i]))`` with i the
  optimizer's position in the list;
* ``grid``: budget = m_1 · … · m_d with the factors as equal as possible (20 over 2 dimensions:
  5 × 4; a prime budget over 2 dimensions is budget × 1, and the second dimension stays at its
  midpoint); the points are cell midpoints (i + ½)/m_j, so no trial sits on a bound.

Scores (lower is better; a diverged or failed trial scores +inf): ``final_subopt`` (f − f* at the
end; f when f* is unknown), ``steps_to_target``, ``evals_to_target`` (the trace's ``evals``,
else ``samples``: per-sample gradient evaluations), ``time_to_target`` (seconds). The target is
``--target`` or 1e-3 × the median initial f − f*; a run that never reaches it is right-censored
(> its budget), never dropped (:func:`optrun.stats.censored_quantile`). With a to-target score
every run logs every step (``train.log_every: 1``) unless the config fixes ``log_every``: the
first crossing is found at a resolution that does not depend on the budget, and
``tune.json`` states it.

The folder ``<out>/tune-<name>-<id>/`` (the id hashes the planned trial configs, the score and
the seeds, so the same command finds the same folder and resumes it: a run whose config hash is
already there with a finished status is not run again) holds ``tune.json``, ``runs/``,
``trials.csv`` (one row per trial), ``ranking.csv`` (one row per optimizer: rank, the chosen
hyperparameters, the median score over the seeds and its band) and ``plots/`` (the result
figure and the learning-rate sensitivity of the trials).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.executors import run_all, train_into

SEARCHES = ("sobol", "random", "grid")
SCORES = ("final_subopt", "steps_to_target", "evals_to_target", "time_to_target")
DONE_STATUSES = ("completed", "converged", "diverged")
RUNS_SUBDIR = "runs"

# --------------------------------------------------------------------------------------------
# Search spaces


@dataclass(frozen=True)
class Dim:
    """One searched hyperparameter. ``key`` is the optimizer's (``lr``) or an entry of a pair
    (``betas.0``); ``scale`` is log | lin | int | choice."""

    key: str
    scale: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def at(self, u: float) -> Any:
        """The value at u ∈ [0, 1) (see the module docstring), 4 significant digits."""
        u = min(max(float(u), 0.0), 1.0 - 1e-12)
        if self.scale == "choice":
            return self.choices[int(u * len(self.choices))]
        if self.scale == "int":
            return int(min(self.high, math.floor(self.low + u * (self.high - self.low + 1))))
        if self.scale == "log":
            a, b = math.log10(self.low), math.log10(self.high)
            return _round4(10.0 ** (a + u * (b - a)))
        return _round4(self.low + u * (self.high - self.low))

    def text(self) -> str:
        if self.scale == "choice":
            return "|".join(json.dumps(c) if not isinstance(c, str) else c for c in self.choices)
        return f"{self.scale}({self.low:g},{self.high:g})"


def _round4(x: float) -> float:
    return float(f"{x:.4g}")


def _d(key: str, spec: str) -> Dim:
    return parse_dim(key, spec, "DEFAULT_SPACES")


#: The default search space of each optimizer (others: lr log-uniform in [1e-5, 1]).
#: Learning rates span four to five decades around the usual values; momentum-like constants
#: span the range practitioners use. Everything else keeps torch's default.
DEFAULT_SPACES: dict[str, tuple[tuple[str, str], ...]] = {
    "sgd": (("lr", "log(1e-4,1)"),),
    "momentum": (("lr", "log(1e-4,1)"), ("momentum", "lin(0,0.99)")),
    "nag": (("lr", "log(1e-4,1)"), ("momentum", "lin(0,0.99)")),
    "adagrad": (("lr", "log(1e-4,10)"),),
    "rmsprop": (("lr", "log(1e-5,1)"), ("alpha", "lin(0.9,0.999)")),
    "adadelta": (("lr", "log(1e-2,100)"), ("rho", "lin(0.8,0.99)")),
    "adam": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "adamax": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "nadam": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "newton": (("lr", "lin(0.1,1)"),),
}
FALLBACK_SPACE = (("lr", "log(1e-5,1)"),)

_DIM = re.compile(r"^\s*(log|lin|int)\s*\(([^,]+),([^,]+)\)\s*$")


def parse_dim(key: str, spec: str, where: str = "--space") -> Dim:
    """``log(1e-4,1)`` | ``lin(0,0.99)`` | ``int(1,64)`` | ``a|b|c`` -> :class:`Dim`."""
    m = _DIM.match(spec)
    if m:
        scale = m.group(1)
        try:
            low, high = float(m.group(2)), float(m.group(3))
        except ValueError:
            raise OptrunError(f"{where} {key}={spec}: bounds must be numbers") from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise OptrunError(f"{where} {key}={spec}: expected finite bounds with low < high")
        if scale == "log" and low <= 0:
            raise OptrunError(f"{where} {key}={spec}: log() needs positive bounds")
        if scale == "int":
            if low != int(low) or high != int(high):
                raise OptrunError(f"{where} {key}={spec}: int() needs integer bounds")
            low, high = int(low), int(high)
        return Dim(key, scale, low, high)
    if "|" in spec:
        choices = tuple(config_mod.parse_yaml(c.strip(), f"{where} {key}") for c in spec.split("|"))
        return Dim(key, "choice", choices=choices)
    raise OptrunError(f"{where} {key}={spec!r}: expected log(a,b), lin(a,b), int(a,b) or choices a|b|c")


def parse_space(text: str) -> tuple[str, str, Dim | Any]:
    """``OPT:KEY=SPEC`` -> (optimizer, key, Dim), or (optimizer, key, fixed value) when SPEC is a
    plain value (``adam:eps=1e-6``: the key is fixed and no longer searched)."""
    opt, sep, rest = text.partition(":")
    key, sep2, spec = rest.partition("=")
    if not sep or not sep2 or not opt.strip() or not key.strip() or not spec.strip():
        raise OptrunError(f"--space {text!r}: expected OPT:KEY=log(a,b) | lin(a,b) | int(a,b) | a|b|c | value "
                          "(e.g. sgd:lr=log(1e-3,1))")
    opt, key, spec = opt.strip(), key.strip(), spec.strip()
    if _DIM.match(spec) or "|" in spec:
        return opt, key, parse_dim(key, spec, f"--space {opt}:")
    return opt, key, config_mod.parse_yaml(spec, f"--space {text!r}")


def space_for(name: str, extra: list[tuple[str, str, Any]] = ()) -> tuple[list[Dim], dict]:
    """The searched dimensions and the fixed values of one optimizer: its default space, then
    the ``--space`` entries for it (a Dim replaces or adds a dimension, a value fixes the key)."""
    from optrun import optim

    spec = optim.get_spec(name)
    base = DEFAULT_SPACES.get(spec.name, FALLBACK_SPACE if "lr" in spec.params else ())
    dims = {k: _d(k, s) for k, s in base}
    fixed: dict[str, Any] = {}
    for opt, key, val in extra:
        if opt != name:
            continue
        top = key.split(".")[0]
        if top not in spec.params:
            from optrun._text import did_you_mean

            raise OptrunError(f"--space {opt}:{key}: {opt} has no hyperparameter {top!r}"
                              f"{did_you_mean(top, sorted(spec.params), style='paren')}")
        if isinstance(val, Dim):
            dims[key] = val
            fixed.pop(key, None)
        else:
            fixed[key] = val
            dims.pop(key, None)
    return list(dims.values()), fixed


# --------------------------------------------------------------------------------------------
# Points in the unit cube


def grid_shape(n: int, d: int) -> list[int]:
    """Factors m_1 ≥ … ≥ m_d with product exactly n, as equal as possible (the largest smallest
    factor, then lexicographically smallest largest one)."""
    if d == 0:
        return []
    best: list[int] | None = None

    def rec(rest: int, k: int, cap: int, acc: list[int]):
        nonlocal best
        if k == 1:
            if rest <= cap:
                cand = acc + [rest]
                key = (min(cand), [-c for c in cand])
                if best is None or key > (min(best), [-c for c in best]):
                    best = cand
            return
        for f in range(min(cap, rest), 0, -1):
            if rest % f == 0:
                rec(rest // f, k - 1, f, acc + [f])

    rec(n, d, n, [])
    return best or [n] + [1] * (d - 1)


def unit_points(search: str, n: int, d: int, seed: int = 0, stream: int = 0):
    """``n`` points of [0, 1)^d by ``search`` (see the module docstring), shape (n, d)."""
    import numpy as np

    from optrun.sobol import MAX_DIM, sobol

    if d == 0:
        return np.zeros((n, 0))
    if search == "sobol":
        if d > MAX_DIM:
            raise OptrunError(f"--search sobol: at most {MAX_DIM} searched hyperparameters, got {d}")
        return sobol(n + 1, d)[1:]
    if search == "random":
        return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)])).random((n, d))
    if search == "grid":
        shape = grid_shape(n, d)
        axes = [(np.arange(m) + 0.5) / m for m in shape]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)
    raise OptrunError(f"--search: expected one of {', '.join(SEARCHES)}, got {search!r}")


def settings(dims: list[Dim], fixed: dict, search: str, n: int, seed: int = 0, stream: int = 0) -> list[dict]:
    """The ``n`` hyperparameter settings (dotted keys, e.g. ``betas.0``) of one optimizer."""
    pts = unit_points(search, n, len(dims), seed, stream)
    return [{**fixed, **{dim.key: dim.at(u) for dim, u in zip(dims, row)}} for row in pts]


def hyperparams(name: str, values: dict) -> dict:
    """Dotted settings -> the optimizer section: ``betas.0``/``betas.1`` become ``betas`` (the
    entry not searched keeps torch's default)."""
    from optrun import optim

    spec = optim.get_spec(name)
    out: dict[str, Any] = {}
    for key, v in values.items():
        top, _, idx = key.partition(".")
        if idx:
            cur = out.get(top)
            if cur is None:
                cur = list(spec.params[top].default)
            cur[int(idx)] = v
            out[top] = cur
        else:
            out[top] = v
    return out


def setting_text(values: dict) -> str:
    """``lr=0.0123 momentum=0.9``: exact values (4 significant digits already)."""
    return " ".join(f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class Planned:
    """One planned run: a trial (phase ``trial``) or a rerun of the best setting (``rerun``)."""

    phase: str
    optimizer: str
    index: int  # trial number within the optimizer, or the rerun's seed number
    seed: int
    values: dict
    name: str
    config: dict
    config_hash: str


def read_base_config(path: str | Path) -> dict:
    """The config as a raw dict with a relative CSV ``dataset.path`` made absolute."""
    path = Path(path)
    raw = config_mod.read_config_file(path)
    ds = raw.get("dataset")
    if isinstance(ds, dict) and ds.get("path") is not None:
        p = Path(str(ds["path"])).expanduser()
        if not p.is_absolute():
            p = path.resolve().parent / p
        raw = {**raw, "dataset": {**ds, "path": str(p.resolve())}}
    return raw


def _plan_one(raw: dict, phase: str, opt: str, index: int, seed: int, values: dict, base: str,
              log_every: int | None, where: str) -> Planned:
    cfg = copy.deepcopy(raw)
    old = cfg.get("optimizer")
    schedule = old.get("schedule") if isinstance(old, dict) else None
    cfg["optimizer"] = {"name": opt, **hyperparams(opt, values)}
    if schedule is not None:
        cfg["optimizer"]["schedule"] = schedule
    cfg["seed"] = seed
    if log_every is not None:
        cfg.setdefault("train", {})
        if isinstance(cfg["train"], dict):
            cfg["train"] = {**cfg["train"], "log_every": log_every}
    name = f"{base}-{opt}-t{index:02d}" if phase == "trial" else f"{base}-{opt}-best-s{seed}"
    cfg["name"] = name
    try:
        resolved = config_mod.load(cfg, None)
    except OptrunError as exc:
        raise OptrunError(f"{exc} (in {where}: {opt} {setting_text(values)})") from None
    resolved["name"] = name
    return Planned(phase, opt, index, seed, values, name, cfg, config_mod.config_hash(resolved))


def _resolution(raw: dict, score: str) -> int | None:
    """``log_every`` forced on every run: 1 for a to-target score unless the config sets it."""
    train = raw.get("train") if isinstance(raw.get("train"), dict) else {}
    if score == "final_subopt" or train.get("log_every", "auto") != "auto":
        return None
    return 1


# --------------------------------------------------------------------------------------------
# Scoring


def _budget_units(summary: dict, trace) -> dict:
    last = trace.iloc[-1] if trace is not None and len(trace) else None
    col = "evals" if trace is not None and "evals" in trace.columns else "samples"
    return {"steps_to_target": summary.get("total_steps") or summary.get("steps"),
            "evals_to_target": float(last[col]) if last is not None else None,
            "time_to_target": float(last["time_s"]) if last is not None else None}


def crossing(trace, f_star: float | None, target: float | None) -> dict:
    """First logged row with f − f* ≤ target: its step, evals (``evals`` or ``samples``) and
    time; None where it never gets there (right-censored) or f* is unknown."""
    import numpy as np

    out = {"steps_to_target": None, "evals_to_target": None, "time_to_target": None}
    if trace is None or f_star is None or target is None or not len(trace):
        return out
    sub = trace["loss"].to_numpy(float) - f_star
    hit = np.flatnonzero(np.isfinite(sub) & (sub <= target))
    if hit.size:
        row = trace.iloc[int(hit[0])]
        col = "evals" if "evals" in trace.columns else "samples"
        out.update(steps_to_target=int(row["step"]), evals_to_target=float(row[col]),
                   time_to_target=float(row["time_s"]))
    return out


def run_record(p: Planned, folder: Path | None, error: str | None = None) -> dict:
    """What a run gives the tuner: status, f*, final f − f*, the initial gap, its trace."""
    rec = {"phase": p.phase, "optimizer": p.optimizer, "index": p.index, "seed": p.seed, "values": p.values,
           "status": "failed", "final_subopt": None, "f_star": None, "f0_gap": None, "run_dir": None,
           "error": error, "_trace": None, "_summary": {}}
    if folder is None:
        return rec
    from optrun.rundir import RunFolder

    run = RunFolder(folder)
    s = run.summary
    trace = run.trace if s.get("status") in DONE_STATUSES else None
    f_star = s.get("f_star")
    sub = s.get("suboptimality")
    if sub is None and s.get("final_loss") is not None and f_star is None:
        sub = s.get("final_loss")  # no f*: the final objective is the score
    rec.update(status=s.get("status"), final_subopt=sub, f_star=f_star, run_dir=str(folder), _trace=trace,
               _summary=s)
    if trace is not None and f_star is not None and len(trace):
        rec["f0_gap"] = float(trace["loss"].iloc[0]) - f_star
    return rec


def score_of(rec: dict, score: str, target: float | None) -> float:
    """The trial's score (lower is better): +inf for a diverged/failed run or one that never
    reached the target."""
    if rec["status"] not in ("completed", "converged"):
        return math.inf
    if score == "final_subopt":
        v = rec["final_subopt"]
        return float(v) if v is not None and math.isfinite(v) else math.inf
    v = crossing(rec["_trace"], rec["f_star"], target)[score]
    return float(v) if v is not None else math.inf


# --------------------------------------------------------------------------------------------
# Running


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


def _check(optimizers: list[str], budget: int, seeds: int, search: str, score: str, target) -> list[str]:
    from optrun import optim

    if not optimizers:
        raise OptrunError("--optimizers: give at least one optimizer, e.g. sgd,momentum,adam")
    if budget < 1:
        raise OptrunError(f"--budget: expected an integer >= 1 (trials per optimizer), got {budget}")
    if seeds < 1:
        raise OptrunError(f"--seeds: expected an integer >= 1, got {seeds}")
    if search not in SEARCHES:
        raise OptrunError(f"--search: expected one of {', '.join(SEARCHES)}, got {search!r}")
    if score not in SCORES:
        raise OptrunError(f"--score: expected one of {', '.join(SCORES)}, got {score!r}")
    if target is not None and not (target > 0 and math.isfinite(target)):
        raise OptrunError(f"--target: expected a positive number (an f - f* level), got {target}")
    names = [optim.resolve_name(o.strip()) if hasattr(optim, "resolve_name") else o.strip() for o in optimizers]
    if len(set(names)) != len(names):
        raise OptrunError("--optimizers: an optimizer is listed twice")
    for n in names:
        optim.get_spec(n)  # unknown names raise with a suggestion
    return names


def plan_trials(raw: dict, optimizers: list[str], budget: int, search: str, score: str,
                spaces: list[str] | None = None, base: str = "tune") -> tuple[list[Planned], dict]:
    """Every trial, ``budget`` per optimizer, validated and hashed; and the spaces (as text)."""
    extra = [parse_space(s) for s in spaces or []]
    unknown = {o for o, _, _ in extra} - set(optimizers)
    if unknown:
        raise OptrunError(f"--space {sorted(unknown)[0]}: not one of the tuned optimizers ({', '.join(optimizers)})")
    seed = int(raw.get("seed", 0) or 0)
    log_every = _resolution(raw, score)
    planned, space_text = [], {}
    for stream, opt in enumerate(optimizers):
        dims, fixed = space_for(opt, extra)
        space_text[opt] = {**{d.key: d.text() for d in dims}, **{k: v for k, v in fixed.items()}}
        for i, values in enumerate(settings(dims, fixed, search, budget, seed, stream)):
            planned.append(_plan_one(raw, "trial", opt, i, seed, values, base, log_every, "trial"))
    counts = {o: sum(p.optimizer == o for p in planned) for o in optimizers}
    if set(counts.values()) != {budget}:  # the fairness rule, checked, not assumed
        raise OptrunError(f"tune: unequal budgets {counts}")  # pragma: no cover
    return planned, space_text


def tune(config: str | Path, optimizers: list[str], budget: int, seeds: int = 3, search: str = "sobol",
         score: str = "final_subopt", target: float | None = None, spaces: list[str] | None = None,
         out: str | Path = "runs", name: str | None = None, jobs: int = 1, executor: str = "local",
         address: Any = None, plots: bool = True, fmt: str = "png", stop=None,
         on_run: Callable[[Planned, dict], None] | None = None) -> TuneResult:
    """Tune each optimizer with ``budget`` trials, rerun the best of each over ``seeds`` fresh
    seeds, rank; see the module docstring. Raises OptrunError before anything runs for a bad
    config, optimizer or space."""
    from optrun.control import StopFlag
    from optrun.rundir import slugify, write_json

    optimizers = _check(optimizers, budget, seeds, search, score, target)
    path = Path(config)
    raw = read_base_config(path)
    base = slugify(name or raw.get("name") or path.stem)
    trials, space_text = plan_trials(raw, optimizers, budget, search, score, spaces, base)
    ident = json.dumps({"trials": sorted(p.config_hash for p in trials), "score": score, "seeds": seeds,
                        "target": target}, sort_keys=True)
    folder = Path(out) / f"tune-{base}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    runs_dir = folder / RUNS_SUBDIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    seed = int(raw.get("seed", 0) or 0)
    resolution = _resolution(raw, score)
    meta = {"config": str(path), "optimizers": optimizers, "budget": budget, "trials_per_optimizer": budget,
            "seeds": [seed + 1 + k for k in range(seeds)], "trial_seed": seed, "search": search, "score": score,
            "target": target, "spaces": space_text,
            "resolution": ({"log_every": resolution or (raw.get("train") or {}).get("log_every", "auto"),
                            "note": "first logged row with f - f* <= target"} if score != "final_subopt" else None),
            "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(folder / "tune.json", meta)
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

    reruns: list[Planned] = []
    if not interrupted:
        log_every = _resolution(raw, score)
        for opt in optimizers:
            b = best.get(opt)
            if b is None:
                continue
            for k in range(seeds):
                reruns.append(_plan_one(raw, "rerun", opt, k, seed + 1 + k, b["values"], base, log_every, "rerun"))
        rerun_recs, sk2 = _execute(reruns, runs_dir, jobs, executor, address, stop, on_run)
        skipped += sk2
        interrupted = stop.requested or any(r["status"] in ("not_run", "interrupted") for r in rerun_recs)
        for r in rerun_recs:
            r["score"] = score_of(r, score, target)
    else:
        rerun_recs = []
    ranking = rank(optimizers, recs, rerun_recs, best, score, target)
    trial_rows = [_trial_row(r) for r in recs]
    _write_tables(folder, trial_rows, ranking)
    meta["ranking"] = [{k: v for k, v in row.items()} for row in ranking]
    write_json(folder / "tune.json", _json_ready(meta))
    figures = []
    if plots and ranking:
        figures = _figures(folder, recs, rerun_recs, ranking, score, target, fmt)
    failed = sum(r["status"] == "failed" for r in recs + rerun_recs)
    return TuneResult(folder, ranking, trial_rows, target, score, interrupted, failed, skipped, figures)


def _best(recs: list[dict], optimizers: list[str]) -> dict[str, dict]:
    """The best trial of each optimizer: lowest score, then lowest final f − f*, then first."""
    out = {}
    for opt in optimizers:
        mine = [r for r in recs if r["optimizer"] == opt and r["status"] != "not_run"]
        if not mine:
            continue

        def key(r):
            fs = r["final_subopt"] if r["final_subopt"] is not None and r["status"] in ("completed", "converged") else math.inf
            return (r["score"], fs if math.isfinite(fs) else math.inf, r["index"])

        out[opt] = min(mine, key=key)
    return out


def _budget_of(rec: dict, score: str) -> float:
    if rec["_trace"] is None:
        return math.inf
    return float(_budget_units(rec["_summary"], rec["_trace"])[score] or math.inf)


def rank(optimizers: list[str], trials: list[dict], reruns: list[dict], best: dict, score: str,
         target: float | None) -> list[dict]:
    """One row per optimizer: its chosen setting, the median score over the reruns with the
    10–90 % band (censored order statistics ⌈qK⌉), how many reached the target, best first."""
    from optrun.stats import censored_quantile

    rows = []
    for opt in optimizers:
        mine = [r for r in trials if r["optimizer"] == opt]
        b = best.get(opt)
        rr = [r for r in reruns if r["optimizer"] == opt and r["status"] != "not_run"]
        vals = [r["score"] for r in rr]
        budget = max((_budget_of(r, score) for r in rr), default=math.inf) if score != "final_subopt" else math.inf
        med, lo, hi = (censored_quantile(vals, budget, q) for q in (0.5, 0.1, 0.9))
        rows.append({
            "optimizer": opt,
            "hyperparameters": setting_text(b["values"]) if b else "",
            "score": med.value if rr else None,
            "score_above": med.above if rr else None,
            "band_low": lo.value if rr else None,
            "band_high": hi.value if rr else hi.above,
            "reached": med.reached if rr else 0,
            "seeds": len(rr),
            "trial_score": (b["score"] if b and math.isfinite(b["score"]) else None),
            "trials": len(mine),
            "diverged_trials": sum(r["status"] == "diverged" for r in mine),
            "median_final_subopt": censored_quantile([r["final_subopt"] for r in rr], math.inf).value if rr else None,
            "_values": b["values"] if b else {},
        })
    rows.sort(key=lambda r: (r["score"] is None, r["score"] if r["score"] is not None else 0.0, -r["reached"],
                             r["median_final_subopt"] if r["median_final_subopt"] is not None else math.inf))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        for k, v in r.pop("_values").items():
            r[f"hp.{k}"] = v
    return rows


RANKING_COLUMNS = ["rank", "optimizer", "hyperparameters", "score", "score_above", "band_low", "band_high",
                   "reached", "seeds", "trial_score", "trials", "diverged_trials", "median_final_subopt"]


def _trial_row(r: dict) -> dict:
    row = {"optimizer": r["optimizer"], "trial": r["index"], "seed": r["seed"], "status": r["status"],
           "score": r["score"] if math.isfinite(r.get("score", math.inf)) else None,
           "final_subopt": r["final_subopt"], "run_dir": Path(r["run_dir"]).name if r["run_dir"] else ""}
    row.update({f"hp.{k}": v for k, v in r["values"].items()})
    return row


def _write_tables(folder: Path, trials: list[dict], ranking: list[dict]) -> None:
    from optrun.rundir import write_csv

    def hp_cols(rows):
        seen: list[str] = []
        for r in rows:
            seen += [k for k in r if k.startswith("hp.") and k not in seen]
        return seen

    write_csv(folder / "trials.csv", trials, ["optimizer", "trial", "seed", "status", "score", "final_subopt",
                                              *hp_cols(trials), "run_dir"])
    write_csv(folder / "ranking.csv", ranking, [*RANKING_COLUMNS, *hp_cols(ranking)])


def _json_ready(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    return x


def _figures(folder: Path, trials: list[dict], reruns: list[dict], ranking: list[dict], score: str,
             target: float | None, fmt: str) -> list[Path]:
    """``plots/tune.<fmt>`` (the chosen setting of each optimizer over the seeds, and the ranking)
    and ``plots/sensitivity.<fmt>`` (each trial's score against its learning rate)."""
    from optrun.plots import many

    out = folder / "plots"
    out.mkdir(exist_ok=True)
    curves = {}
    for r in reruns:
        t = r["_trace"]
        if t is not None and r["f_star"] is not None:
            curves.setdefault(r["optimizer"], []).append((t["step"].to_numpy(float), t["loss"].to_numpy(float) - r["f_star"]))
    points = [{"optimizer": r["optimizer"], "lr": r["values"].get("lr"), "score": r["score"],
               "status": r["status"], "seed": r["seed"]} for r in trials]
    label = {"final_subopt": "final f − f*", "steps_to_target": "steps to target",
             "evals_to_target": "evaluations to target", "time_to_target": "seconds to target"}[score]
    figs = [many.tune_figure(curves, ranking, out / f"tune.{fmt}", score_label=label, target=target)]
    if any(p["lr"] is not None for p in points):
        figs.append(many.sensitivity_figure(points, out / f"sensitivity.{fmt}", score_label=label))
    return figs
