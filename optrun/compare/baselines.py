"""``--baselines theory`` of :mod:`optrun.compare`: the theory-tuned optimizers (from the
reference's L and μ, :mod:`optrun.theory`) appended to the optimizer axis."""

from __future__ import annotations

import json
import math
from pathlib import Path

from optrun import config as config_mod
from optrun.compare.vary import OPTIMIZER_KEYS, VaryAxis, combo_config, value_label
from optrun.errors import OptrunError


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
