"""Which runs go together: :func:`why_not` (a run that cannot be stacked), :func:`group_key`
(runs that may share a stack) and :func:`plan_groups`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from optrun.vectorized.objective import _LOSSES

#: at most this many runs in one stack (each keeps an open trace file and a row buffer)
MAX_GROUP = 256


def why_not(problem) -> str | None:
    """Why ``problem`` cannot run in a stack (None: it can)."""
    obj, opt = problem.objective, problem.optimizer
    checks = [
        (getattr(obj, "model", None) is None, "an objective without data"),
        ((getattr(obj, "model", None), getattr(obj, "loss", None)) not in _LOSSES, "a loss other than mse/half_mse/bce"),
        (getattr(obj, "l1", 0.0) > 0, "an l1 penalty"),
        (bool(problem.hooks), "constraints or certificates (hooks)"),
        (problem.stop_rules is not None, "stop rules (target, patience, time budget)"),
        (bool(opt.needs), f"an optimizer that needs {', '.join(sorted(opt.needs))}"),
        (opt.hyperparams.get("lr") is None, "an optimizer without an lr"),
        ("ax" in opt.report(opt.init(problem.theta0)), "an averaged iterate"),
        ("row_grad_evals" in opt.report(opt.init(problem.theta0)), "an optimizer that counts its own evaluations"),
    ]
    return next((why for bad, why in checks if bad), None)


def _fingerprint(arrays) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def group_key(problem) -> str | None:
    """A key equal for runs that may share a stack (None: the run goes alone).

    The resolved config without its seed, name and optimizer hyperparameters (optimizer name and
    schedule kept), the data (a hash of X, y and the validation split) and, for shuffled
    mini-batches, the seed (the batch order comes from it).
    """
    if why_not(problem) is not None:
        return None
    cfg = {k: v for k, v in problem.config.items() if k not in ("seed", "name")}
    # numbers (and tuples of numbers: betas) may vary; a switch (nesterov, amsgrad) may not
    cfg["optimizer"] = {k: v for k, v in problem.config["optimizer"].items() if not _numeric(v) or k == "schedule"}
    ds = problem.data
    same_batches = None if not problem.shuffle else problem.config["seed"]
    return json.dumps([cfg, _fingerprint([ds.X, ds.y, ds.X_val, ds.y_val]), same_batches,
                       getattr(getattr(problem.optimizer.update, "func", None), "__qualname__", None)],
                      sort_keys=True, default=str)


def _numeric(v) -> bool:
    if isinstance(v, (list, tuple)):
        return bool(v) and all(_numeric(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plan_groups(problems: list) -> list[list[int]]:
    """Indices of ``problems`` in groups to run together (first-seen order; singletons alone)."""
    groups: dict[Any, list[int]] = {}
    for i, p in enumerate(problems):
        key = group_key(p)
        key = ("alone", i) if key is None else key
        groups.setdefault(key, []).append(i)
    out = []
    for members in groups.values():
        out.extend(members[j:j + MAX_GROUP] for j in range(0, len(members), MAX_GROUP))
    return out
