"""What ``summary.json`` says beyond the 0.1 results: the lecture's second half (DESIGN.md §9).

* ``log_likelihood``: ``{final, optimum}``, the model's total log-likelihood (Gaussian for the
  linear model, σ² profiled at that θ unless ``loss.sigma``; Bernoulli for logistic) at the final
  θ and at θ* — the MLE ⇔ least-squares link in numbers;
* ``convexity``: ``{convex, min_hessian_eigenvalue, witness}``; convex by construction (least
  squares, bce) is stated without sampling; otherwise the Hessian is sampled over a frame around
  θ* and the run's start and end, and a negative eigenvalue is a witness of non-convexity;
* constraints: ``multipliers``, ``active``, ``kkt = {optimum, final}``, ``dual_optimum``,
  ``duality_gap_star``;
* l1: ``support`` (names of the nonzero weights of θ*), ``l1_max``, ``duality_gap`` at the end.
"""

from __future__ import annotations

import math

import numpy as np


def _finite(v) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def log_likelihoods(problem, theta: np.ndarray) -> dict | None:
    from optrun.models import Objective, log_likelihood

    obj = problem.objective
    if not isinstance(obj, Objective) or obj.loss not in ("mse", "half_mse", "gaussian_nll", "bce"):
        return None
    X, y = problem.data.X.astype(np.float64, copy=False), problem.data.y.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        final = log_likelihood(obj, theta, X, y)
        ts = problem.reference.theta_star
        optimum = log_likelihood(obj, ts, X, y) if ts is not None else None
    return {"final": _finite(final), "optimum": _finite(optimum)}


def convexity_report(problem, theta: np.ndarray) -> dict:
    """Convexity of the objective (see the module docstring)."""
    from optrun.reference import convexity

    ref, obj = problem.reference, problem.objective
    eig = np.asarray(ref.hessian_eigenvalues, dtype=float)
    if _by_construction(obj):
        return {"convex": True, "min_hessian_eigenvalue": _finite(float(eig[0])) if eig.size else None,
                "witness": None, "how": "by construction (a convex loss of a linear predictor)"}
    centre = ref.theta_star if ref.theta_star is not None else theta
    pts = np.array([problem.theta0, theta, centre], dtype=np.float64)
    frame = getattr(obj, "frame", None) or [(float(lo) - 1.0, float(hi) + 1.0)
                                             for lo, hi in zip(pts.min(axis=0), pts.max(axis=0))]
    X, y = problem.data.X.astype(np.float64, copy=False), problem.data.y.astype(np.float64, copy=False)
    rep = convexity(obj, X, y, frame=frame, path=pts, n_samples=32)
    return {"convex": rep["convex"], "min_hessian_eigenvalue": _finite(rep["min_hessian_eigenvalue"]),
            "witness": rep["witness"], "how": "sampled Hessians over the frame and the run's path"}


def _by_construction(obj) -> bool:
    from optrun.models import Objective

    if not isinstance(obj, Objective):
        return False
    if obj.model == "linear":
        return obj.loss != "gaussian_nll" or obj.sigma is not None
    return obj.loss == "bce"


def constraint_results(problem, theta: np.ndarray) -> dict:
    """Multipliers, active set, KKT at θ* and at the final θ, d* and the gap p* − d*."""
    from optrun.constraints import fit_multipliers, kkt_residuals

    cs, cref = problem.constraint_set, problem.constrained
    X, y = problem.data.X.astype(np.float64, copy=False), problem.data.y.astype(np.float64, copy=False)
    g_final = problem.objective.value_and_grad(theta, X, y)[1]
    hook_mult = next((h.report().get("multipliers") for h in problem.hooks if hasattr(h, "lam")), None)
    final_mult = hook_mult if hook_mult is not None else fit_multipliers(cs, g_final, theta)
    out = {"kkt": {"optimum": cref.kkt if cref is not None else None,
                   "final": kkt_residuals(cs, g_final, theta, final_mult)},
           "final_multipliers": final_mult, "infeasibility": float(cs.infeasibility(theta))}
    if cref is not None:
        out.update(multipliers=cref.multipliers, active=cref.active, dual_optimum=cref.dual_optimum,
                   duality_gap_star=cref.duality_gap_star)
    else:
        out.update(multipliers=None, active=None, dual_optimum=None, duality_gap_star=None)
    return out


def l1_results(problem, theta: np.ndarray) -> dict:
    from optrun.sparse import duality_gap

    sref = problem.sparse
    weights = problem.param_names[: -1] if problem.objective.fit_intercept else problem.param_names
    X, y = problem.data.X.astype(np.float64, copy=False), problem.data.y.astype(np.float64, copy=False)
    return {"support": [weights[j] for j in sref.support], "l1_max": float(sref.l1_max),
            "duality_gap": _finite(duality_gap(problem.objective, theta, X, y)),
            "duality_gap_star": _finite(sref.gap)}


def extra_results(problem, theta: np.ndarray) -> dict:
    """Every 0.2 section that applies to this problem."""
    out: dict = {}
    ll = log_likelihoods(problem, theta)
    if ll is not None:
        out["log_likelihood"] = ll
    with np.errstate(all="ignore"):
        out["convexity"] = convexity_report(problem, theta)
        if problem.constraint_set is not None:
            out.update(constraint_results(problem, theta))
        if problem.sparse is not None:
            out.update(l1_results(problem, theta))
    return out
