"""Planning of :mod:`optrun.tune`: the arguments checked, every trial and rerun as a validated,
hashed config (:class:`Planned`), the ``log_every`` forced for a to-target score."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.tune.points import SEARCHES, hyperparams, setting_text, settings
from optrun.tune.space import parse_space, space_for

SCORES = ("final_subopt", "steps_to_target", "evals_to_target", "time_to_target")


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
