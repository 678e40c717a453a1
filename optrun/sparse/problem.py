"""Which l1 problem (least squares or logistic), its smooth part, and ``l1_max`` (exact)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optrun.errors import OptrunError
from optrun.models import Objective

_TINY = np.finfo(np.float64).tiny


def _kind(obj: Objective) -> str:
    if obj.model == "linear" and obj.loss in ("mse", "half_mse"):
        return "ls"
    if obj.model == "logistic" and obj.loss == "bce":
        return "logistic"
    raise OptrunError(
        f"l1 reference: model {obj.model} with loss {obj.loss} is not convex; exact l1 optima are "
        "available for linear (mse, half_mse) and logistic (bce)"
    )


def _ls_c(obj: Objective) -> float:
    """c in the per-row loss ``c r^2``: 1 for mse, 1/2 for half_mse."""
    return 1.0 if obj.loss == "mse" else 0.5


def smooth_part(obj: Objective) -> Objective:
    """The objective without its l1 term: data + (l2/2)||w||^2 (differentiable)."""
    return dataclasses.replace(obj, l1=0.0)


def _as_arrays(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    return X, y


def _softplus(z):
    """``log(1 + e^z)``, stable for any z."""
    return np.logaddexp(0.0, z)


def _sigmoid(z):
    return np.exp(-_softplus(-z))


def _intercept_only(obj: Objective, y: np.ndarray) -> float:
    """The optimal intercept when every weight is 0 (0.0 without an intercept)."""
    if not obj.fit_intercept:
        return 0.0
    ybar = float(np.mean(y))
    if _kind(obj) == "ls":
        return ybar
    if ybar <= 0.0 or ybar >= 1.0:
        raise OptrunError(
            f"l1 reference: every target is {int(round(ybar))}: the unpenalised intercept has no "
            "finite optimum (f* = 0 is an infimum)"
        )
    return math.log(ybar) - math.log1p(-ybar)


def l1_max(obj: Objective, X, y) -> float:
    """The smallest l1 for which every weight of the optimum is 0.

    ``||grad_w smooth(theta0)||_inf`` at ``theta0 = (0, b0)``, b0 the intercept-only optimum
    (the KKT condition of w = 0: ``0 in grad_w + l1 [-1, 1]^d``). Exact (one gradient), and
    independent of ``obj.l1`` and ``obj.l2``.
    """
    X, y = _as_arrays(X, y)
    d = X.shape[1]
    if d == 0:
        return 0.0
    theta0 = np.zeros(obj.n_params(d))
    if obj.fit_intercept:
        theta0[-1] = _intercept_only(obj, y)
    g = smooth_part(obj).grad(theta0, X, y)
    return float(np.max(np.abs(g[:d])))
