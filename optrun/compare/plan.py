"""Planning of :mod:`optrun.compare`: the arguments checked, the axes parsed, every combination
resolved before anything runs (a typo costs nothing), the logging resolution fixed, and one run
per combination and seed."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from optrun import config as config_mod
from optrun.compare.baselines import _with_baselines
from optrun.compare.vary import VaryAxis, combo_config, expand, parse_vary
from optrun.errors import OptrunError


def _plan(path: Path, vary: list[str], overrides: list[str], seeds: int, target: float | None,
          resolution: int | None, baselines: str | None) -> tuple[dict, list[VaryAxis], list, Any]:
    """Check, parse and resolve everything: ``(raw config, axes, resolved combinations, log_every)``."""
    _check_args(vary, seeds, target, baselines)
    axes = [parse_vary(v) for v in vary]
    raw = config_mod.read_config_file(path)
    if baselines:
        axes = _with_baselines(axes, raw, overrides, path)
    raw, log_every = _with_resolution(raw, resolution)
    return raw, axes, _resolve_all(raw, overrides, expand(axes), path), log_every


def _check_args(vary: list[str], seeds: int, target: float | None, baselines: str | None = None) -> None:
    if baselines not in (None, "theory"):
        raise OptrunError(f"--baselines: expected theory, got {baselines!r}")
    if not vary and not baselines:
        raise OptrunError("--vary: give at least one KEY=v1,v2,... to compare")
    if seeds < 1:
        raise OptrunError(f"--seeds: expected an integer >= 1, got {seeds}")
    if target is not None and not (target > 0 and math.isfinite(target)):
        raise OptrunError(f"--target: expected a positive number (an f - f* level), got {target}")


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


def _slug(labels: list[str]) -> str:
    from optrun.rundir import slugify

    return slugify("_".join(labels).replace(" ", "-").replace("=", ""), max_len=30)
