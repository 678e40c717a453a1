"""The proximal operator of the l1 term: soft-thresholding (weights only, never the intercept)."""

from __future__ import annotations

import numpy as np

from optrun.models import Objective


def soft_threshold(v, tau):
    """``sign(v) max(|v| - tau, 0)``: the prox of ``tau ||.||_1`` (exact zeros inside [-tau, tau])."""
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.maximum(np.abs(v) - tau, 0.0)


def prox_l1(obj: Objective, theta, step: float) -> np.ndarray:
    """``prox_{step l1 ||w||_1}(theta)``: soft-threshold the weights by ``step * l1``, never b.

    The identity (a copy) when ``l1 = 0``.
    """
    theta = np.array(theta, dtype=np.float64)
    if obj.l1 == 0.0:
        return theta
    d = theta.shape[0] - (1 if obj.fit_intercept else 0)
    theta[:d] = soft_threshold(theta[:d], step * obj.l1)
    return theta
