"""``KEY=VALUE`` overrides: parsing them and setting them at their dotted paths."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from optrun._text import did_you_mean, short_repr
from optrun.config.keys import EXCLUSIVE_PAIRS, SECTIONS, SHORTHAND_KEY
from optrun.config.yaml_io import parse_yaml
from optrun.errors import OptrunError


def parse_override(text: str) -> tuple[str, Any]:
    """``"optimizer.lr=1e-3"`` -> ``("optimizer.lr", 0.001)``; the value is typed like YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    shown = short_repr(text)  # a 400-digit value is not echoed whole
    if not sep or not key:
        raise OptrunError(f"override {shown}: expected KEY=VALUE with a dotted key, e.g. optimizer.lr=0.1")
    parts = key.split(".")
    if any(not part.strip() for part in parts):
        raise OptrunError(f"override {shown}: {short_repr(key)} is not a dotted key path like optimizer.lr")
    value = parse_yaml(raw, f"override {shown}") if raw.strip() else None
    return key, value


def _items(overrides: list[str] | dict | str) -> list[tuple[str, Any]]:
    """The overrides as ``(dotted key, value)`` pairs, from a list of texts or a mapping."""
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, (list, tuple)):
        return [parse_override(str(o)) for o in overrides]
    items = [(str(k).strip(), v) for k, v in overrides.items()]
    for key, _ in items:
        if not key or any(not part.strip() for part in key.split(".")):
            raise OptrunError(f"override {key!r}: not a dotted key path like optimizer.lr")
    return items


#: where a bare key most likely belongs (``lr=0.1`` -> ``optimizer.lr``)
KEY_HINTS = {
    "lr": "optimizer.lr", "learning_rate": "optimizer.lr", "momentum": "optimizer.momentum",
    "betas": "optimizer.betas", "eps": "optimizer.eps", "weight_decay": "optimizer.weight_decay",
    "nesterov": "optimizer.nesterov", "schedule": "optimizer.schedule", "steps": "train.steps",
    "epochs": "train.epochs", "tol": "train.tol", "log_every": "train.log_every", "dtype": "train.dtype",
    "batch_size": "batch.size", "size": "batch.size", "mode": "batch.mode", "shuffle": "batch.shuffle",
    "l1": "loss.l1", "l2": "loss.l2", "init": "model.init", "fit_intercept": "model.fit_intercept",
    "path": "dataset.path", "target": "dataset.target", "features": "dataset.features",
    "standardize": "dataset.standardize", "n_samples": "dataset.n_samples", "noise": "dataset.noise",
}

#: optimizer names from other libraries and textbooks -> optrun's name for the same method
OPTIMIZER_HINTS = {
    "nesterov": "nag", "nesterov_momentum": "nag", "heavy_ball": "momentum", "heavyball": "momentum",
    "sgdm": "momentum", "gradient_descent": "sgd", "steepest_descent": "sgd", "bfgs": "lbfgs",
    "l-bfgs": "lbfgs", "l_bfgs": "lbfgs", "adam_w": "adamw", "newton_raphson": "newton",
    "proximal_gradient": "ista", "accelerated_proximal_gradient": "fista", "coordinate_descent": "cd",
}


def _check_item(key: str, value: Any, given: dict[str, Any]) -> None:
    """Mistakes an override can make that the schema would blame on the file."""
    parts = key.split(".")
    shown = f"override {key}={'' if value is None else _render(value)}"
    if len(parts) == 1 and key in SHORTHAND_KEY and value is None:
        raise OptrunError(f"{shown}: {key} needs a value (e.g. {key}={ {'optimizer': 'adam', 'dataset': 'women', 'model': 'linear', 'loss': 'mse', 'batch': 'full'}[key]})")
    other = EXCLUSIVE_PAIRS.get(key)
    if other in given and value is not None and given[other] is not None:
        raise OptrunError(f"{shown}: {other}={_render(given[other])} is given too; set only one of them")
    if key in ("optimizer", "optimizer.name") and isinstance(value, str):
        hint = OPTIMIZER_HINTS.get(value.strip().lower())
        if hint:
            from optrun.optim.registry import _ALIASES

            if value.strip().lower() not in _ALIASES:
                raise OptrunError(f"{shown}: unknown optimizer {value!r}; did you mean {hint!r}?")


def _section_of(cfg: dict, key: str, parts: list[str]) -> dict:
    """The mapping that holds the last part of ``key``, created (or expanded) on the way."""
    node = cfg
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str) and i == 0 and part in SHORTHAND_KEY:
            child = {SHORTHAND_KEY[part]: child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise OptrunError(f"override {key}: {'.'.join(parts[: i + 1])} is a value, not a section")
        node[part] = child
        node = child
    return node


def apply_overrides(cfg: dict, overrides: list[str] | dict | None) -> tuple[dict, dict[str, str]]:
    """Return a new config with the overrides set at their dotted paths.

    Also returns ``{dotted key: original text}`` so schema errors can name the override that
    caused them. Setting ``train.steps`` clears ``train.epochs`` and vice versa, so that
    ``train.steps=100`` works on a config that budgets epochs.
    """
    cfg = copy.deepcopy(cfg)
    if not overrides:
        return cfg, {}
    origin: dict[str, str] = {}
    given: dict[str, Any] = {}
    for key, value in _items(overrides):
        origin[key] = f"override {key}={_render(value)}"
        parts = key.split(".")
        if parts[0] not in SECTIONS:
            hint = KEY_HINTS.get(parts[0].lower()) if len(parts) == 1 else None
            if hint:
                raise OptrunError(f"override {key}: unknown section {parts[0]!r}; did you mean {hint!r}?")
            raise OptrunError(f"override {key}: unknown section {parts[0]!r}{did_you_mean(parts[0], SECTIONS, 'listing')}")
        _check_item(key, value, given)
        given[key] = value
        _section_of(cfg, key, parts)[parts[-1]] = value
        other = EXCLUSIVE_PAIRS.get(key)
        if other and value is not None:
            section, leaf = other.split(".")
            if isinstance(cfg.get(section), dict) and other not in origin:
                cfg[section].pop(leaf, None)
    return cfg, origin


def _render(value: Any) -> str:
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()
    except yaml.YAMLError:
        return short_repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def replaced_settings(cfg: dict, overrides: list[str] | dict | None) -> list[str]:
    """Notes on overrides that replace a whole section of ``cfg`` and so drop settings the
    config made there: ``optimizer=adam`` on a config with ``optimizer: {name: sgd, lr: 0.5}``
    drops lr 0.5 (adam runs at its own default). Said on screen so it never surprises."""
    notes = []
    for key, value in _items(overrides or []):
        old = cfg.get(key) if "." not in key else None
        if not isinstance(old, dict):
            continue
        kept = set(value) if isinstance(value, dict) else {SHORTHAND_KEY.get(key, "name")}
        dropped = {k: v for k, v in old.items() if k not in kept}
        if dropped:
            what = ", ".join(f"{k}={_render(v)}" for k, v in list(dropped.items())[:4])
            notes.append(f"override {key}={_render(value)} replaces the config's whole {key} section and drops "
                         f"{what}{' ...' if len(dropped) > 4 else ''} (the defaults apply; set a value again "
                         f"with {key}.KEY=VALUE)")
    return notes
