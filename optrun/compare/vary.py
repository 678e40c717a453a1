"""``--vary`` of :mod:`optrun.compare`: parsing (:func:`parse_vary`, the value syntax of
:mod:`optrun.grid`), the combinations (:func:`expand`, first axis slowest) and the raw config of
one combination (:func:`combo_config`: base -> varied optimizer (reset) -> common overrides ->
the other varied values)."""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from typing import Any

from optrun import config as config_mod
from optrun._text import short_key
from optrun.errors import OptrunError
from optrun.grid import parse_optimizer_specs, parse_values

OPTIMIZER_KEYS = ("optimizer", "optimizer.name")


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
    return f"{short_key(key)}={_fmt(value)}"


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
