"""The duality gap (a certificate valid at ANY theta) and the KKT residual of the l1 problem.

The gap is a sum of Fenchel-Young terms, each >= 0, so rounding cannot make it meaningfully
negative; see :mod:`optrun.sparse` for the dual, the feasible dual point and the formulas.
"""

from __future__ import annotations

import numpy as np

from optrun.models import Objective
from optrun.sparse.problem import _as_arrays, _kind, _ls_c, _sigmoid, _softplus, smooth_part


def _penalty_fy(w: np.ndarray, v: np.ndarray, l1: float, l2: float) -> float:
    """``sum_j h_j(w_j) + h_j*(v_j) - v_j w_j`` (>= 0 when h*(v) is finite), in non-negative pieces."""
    vc = np.clip(v, -l1, l1)
    out = l1 * np.abs(w) - vc * w  # >= 0 because |vc| <= l1
    if l2 > 0:
        t = (v - vc) / l2  # soft(v, l1) / l2: the weight for which v is the penalty's gradient
        out = out + 0.5 * l2 * (w - t) ** 2
    return float(np.sum(np.maximum(out, 0.0)))


def _bernoulli_kl(a: np.ndarray, s: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``KL(p || q)`` per row, where ``a = |q - y|`` is the probability given to the wrong class,
    ``p = y + s (q - y)`` (s in [0, 1], so p stays between y and q) and ``m = (2y - 1) z``.

    ``KL = s a log s + (1 - s a) [log(1 - s a) - log(1 - a)]`` with ``1 - a = sigmoid(m)``,
    ``log(1 - a) = -softplus(-m)`` and ``1 - s a = (1 - s) + s sigmoid(m)`` (no cancellation for
    confident rows), ``0 log 0 = 0``, and exactly 0 where s = 1; clipped at 0 (rounding only).
    """
    one_minus_sa = (1.0 - s) + s * _sigmoid(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(s > 0, s * a * np.log(np.where(s > 0, s, 1.0)), 0.0)
        second = one_minus_sa * (np.log(np.where(one_minus_sa > 0, one_minus_sa, 1.0)) + _softplus(-m))
    kl = np.where(s == 1.0, 0.0, first + second)
    return np.maximum(kl, 0.0)


def kkt_residual(obj: Objective, theta, X, y) -> float:
    """Largest violation of the optimality condition ``0 in grad smooth + l1 d||w||_1``.

    On the support ``|g_j + l1 sign(w_j)|``, off it ``max(|g_j| - l1, 0)``, and ``|g_b|`` for the
    intercept (g = gradient of the smooth part). 0 exactly at the optimum.
    """
    X, y = _as_arrays(X, y)
    theta = np.asarray(theta, dtype=np.float64)
    d = X.shape[1]
    g = smooth_part(obj).grad(theta, X, y)
    w = theta[:d]
    viol = np.where(w != 0, np.abs(g[:d] + obj.l1 * np.sign(w)), np.maximum(np.abs(g[:d]) - obj.l1, 0.0))
    out = float(viol.max(initial=0.0))
    return max(out, abs(float(g[d]))) if obj.fit_intercept else out


def duality_gap(obj: Objective, theta, X, y) -> float:
    """``F(theta) - D(u(theta)) >= 0`` for ANY theta, with a dual-feasible u built from the
    generalized residual (see the module docstring). 0 at theta* (up to rounding); O(nd).

    For ``l2 > 0`` the dual is feasible for every u; the gap is the smaller of the unscaled and
    the rescaled residual's (both valid).
    """
    kind = _kind(obj)
    X, y = _as_arrays(X, y)
    theta = np.asarray(theta, dtype=np.float64)
    n, d = X.shape
    w, b = obj.split(theta)
    b = float(b)
    z = X @ w + b
    l1, l2 = obj.l1, obj.l2
    if kind == "ls":
        c = _ls_c(obj)
        r = z - y
        psi = r - r.mean() if obj.fit_intercept else r  # residual at the best intercept for w
        u1 = (2.0 * c / n) * psi
        data_fy = lambda alpha: (c / n) * float(np.sum((r - alpha * psi) ** 2))  # noqa: E731
    else:
        q = _sigmoid(z)
        psi = q - y
        s = np.ones(n)
        if obj.fit_intercept:  # make sum(u) = 0 by shrinking the heavier side toward y
            pos, neg = float(psi[psi > 0].sum()), float(-psi[psi < 0].sum())
            if pos > neg:
                s[psi > 0] = neg / pos
            elif neg > pos:
                s[psi < 0] = pos / neg
        u1 = s * psi / n
        a = np.abs(psi)
        m = np.where(y > 0.5, z, -z)
        data_fy = lambda alpha: float(np.sum(_bernoulli_kl(a, alpha * s, m))) / n  # noqa: E731
    v1 = -(X.T @ u1)
    vmax = float(np.max(np.abs(v1))) if d else 0.0
    alpha_feas = 1.0 if vmax <= l1 else l1 / vmax
    alphas = [alpha_feas] if l2 == 0 or alpha_feas == 1.0 else [alpha_feas, 1.0]
    gaps = [data_fy(al) + _penalty_fy(w, al * v1, l1, l2) for al in alphas]
    return float(min(gaps))
