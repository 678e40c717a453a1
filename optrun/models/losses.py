"""Per-sample losses with their first and second derivatives in z, side by side (the loss table).

Each row of the table is a :class:`_Loss` of three functions of ``(z, y)``: the value ``l``,
``(l, l')`` from one residual computation, and ``l''``. :class:`optrun.models.Objective` sums
them over rows (mean or sum) and adds the penalties.

Per-sample losses (r = z - y, s = sigmoid(z)):

=====================  ======================  =====================  =======================================
model / loss           l(z, y)                 l'(z, y)               l''(z, y)
=====================  ======================  =====================  =======================================
linear, mse            r^2                     2 r                    2
linear, half_mse       r^2 / 2                 r                      1
linear, gaussian_nll   log(2 pi s2)/2          r / s2                 1 / s2
  (fixed sigma)          + r^2 / (2 s2)
logistic, bce          log(1 + e^z) - y z      s - y                  s (1 - s)
logistic, mse          (s - y)^2               2 (s - y) s (1 - s)    2 [s^2 (1-s)^2 + (s - y) s (1-s)(1-2s)]
logistic, half_mse     (s - y)^2 / 2           half of the above      half of the above
=====================  ======================  =====================  =======================================

``gaussian_nll`` is the negative log-density of y_i ~ N(z_i, s2). With ``loss.sigma`` given,
``s2 = sigma^2`` is fixed and the table row holds. Without it, s2 is *profiled out*: at every
theta it is the MLE ``s2(theta) = RSS/n = mean(r^2)`` over the rows at hand, so the mean loss is

    F(theta) = (1/2) log(2 pi RSS(theta)/n) + 1/2,    grad F = X~^T r / RSS = X~^T (r/s2) / n,
    hess F   = X~^T X~ / RSS - 2 u u^T / RSS^2        (u = X~^T r),

a monotone transform of the RSS, so its minimiser is the least-squares theta* (the lecture's
"Gaussian MLE <=> least squares"). The per-sample form ``log(2 pi s2)/2 + r_i^2/(2 s2)`` with the
batch's own s2 has exactly that mean and ``l' = r/s2``; the Hessian is *not* diagonal in z (the
rank-one term above, added by :meth:`Objective.hessian`; :meth:`Objective.curvature` gives only the
diagonal part 1/s2). It is not convex away from theta* (log of a convex function), and it tends to
-inf when the model fits the rows exactly (RSS = 0).

Stable logistic math: with e = exp(-|z|) (never overflows), ``log(1 + e^z) = max(z, 0) +
log1p(e)`` (this is ``np.logaddexp(0, z)``), ``sigmoid(z) = 1/(1+e)`` for z >= 0 and ``e/(1+e)``
otherwise, and ``s(1-s) = e/(1+e)^2``. For y in {0, 1} the bce value is
``log(1 + e^z) - y z = softplus((1 - 2y) z)``, computed as ``max(t, 0) + log1p(e)`` with
``t = (1 - 2y) z`` (|t| = |z|, so e is shared): a well-classified row keeps its tiny loss (z = 40,
y = 1 gives 4.2e-18, not the 0 that ``softplus(z) - z`` rounds to). The bce gradient is the analytic ``sigmoid(z) - y``, never
the derivative of the piecewise stable formula (at z = 0 that would give ``-y`` instead of the
correct ``0.5 - y``).

Logistic with (half_)mse is the non-convex choice the lecture warns about: its curvature
``l''`` is negative where the model is confidently wrong, so the Hessian can be indefinite.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import numpy as np


# --------------------------------------------------------------------------------------------
# Stable sigmoid pieces
# --------------------------------------------------------------------------------------------


def _sigmoid_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sigmoid(z), e)`` with ``e = exp(-|z|)``, branch-stable (no overflow for any finite z)."""
    e = np.exp(-np.abs(z))
    inv = 1.0 / (1.0 + e)
    s = np.where(z >= 0, inv, e * inv)
    return s, e


def sigmoid(z) -> np.ndarray:
    """Branch-stable logistic function ``1 / (1 + exp(-z))``; ``sigmoid(0) == 0.5`` exactly."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    return _sigmoid_parts(z)[0]


def _mean(a: np.ndarray) -> float:
    """``float(np.mean(a))`` for a 1-D float array, bit for bit, without np.mean's Python layer.

    np.mean's dispatch costs ~4 us per call, a visible share of one step on a small problem. This
    is the same computation: the same pairwise sum (``np.add.reduce``, what ``a.sum()`` and np.mean
    call), divided by the count in float64 and rounded back to ``a``'s dtype, as np.mean does.
    """
    return float(a.dtype.type(np.add.reduce(a) / np.float64(a.shape[0])))


def _sigmoid_slope(e: np.ndarray) -> np.ndarray:
    """``s (1 - s) = e / (1 + e)^2`` from ``e = exp(-|z|)`` (symmetric in z, no cancellation)."""
    inv = 1.0 / (1.0 + e)
    return e * inv * inv


# --------------------------------------------------------------------------------------------
# Per-sample losses: value, first and second derivative with respect to z, side by side
# --------------------------------------------------------------------------------------------


class _Loss(NamedTuple):
    value: Callable  # (z, y) -> per-sample loss l(z, y)
    value_and_dz: Callable  # (z, y) -> (l(z, y), l'(z, y)), sharing one residual computation
    d2z: Callable  # (z, y) -> l''(z, y): an array, or a scalar when constant


def _sq_value(c):
    def value(z, y):
        r = z - y
        return c * r * r

    return value


def _sq_value_and_dz(c):
    two_c = 2.0 * c

    def value_and_dz(z, y):
        r = z - y
        # half_mse: 2c = 1 and l' is r itself (multiplying by 1.0 would only copy it, every step)
        return c * r * r, (r if two_c == 1.0 else two_c * r)

    return value_and_dz


def _sq_d2z(c):
    def d2z(z, y):
        return 2.0 * c

    return d2z


def _softplus_signed(z, y, e):
    """``log(1 + e^z) - y z = softplus((1 - 2y) z)`` for y in {0, 1}, from ``e = exp(-|z|)``.

    Written as one softplus, a confidently right row (t = (1 - 2y) z << 0) gives log1p(e) ~ e,
    accurate to the last bit, where ``softplus(z) - y z`` cancels to 0 (or to a rounding error).
    """
    t = (1.0 - 2.0 * y) * z
    return np.maximum(t, 0) + np.log1p(e)


def _bce_value(z, y):
    return _softplus_signed(z, y, np.exp(-np.abs(z)))


def _bce_value_and_dz(z, y):
    s, e = _sigmoid_parts(z)
    return _softplus_signed(z, y, e), s - y  # gradient: analytic sigmoid(z) - y


def _bce_d2z(z, y):
    return _sigmoid_slope(np.exp(-np.abs(z)))  # s (1 - s)


def _sigsq_value(c):
    def value(z, y):
        q = sigmoid(z) - y
        return c * q * q

    return value


def _sigsq_value_and_dz(c):
    def value_and_dz(z, y):
        s, e = _sigmoid_parts(z)
        q = s - y
        return c * q * q, (2.0 * c) * q * _sigmoid_slope(e)

    return value_and_dz


def _sigsq_d2z(c):
    def d2z(z, y):
        s, e = _sigmoid_parts(z)
        q = s - y
        ds = _sigmoid_slope(e)  # s'
        return (2.0 * c) * (ds * ds + q * ds * (1.0 - 2.0 * s))  # s'' = s' (1 - 2 s)

    return d2z


def _make_sq(c):
    return _Loss(_sq_value(c), _sq_value_and_dz(c), _sq_d2z(c))


def _make_sigsq(c):
    return _Loss(_sigsq_value(c), _sigsq_value_and_dz(c), _sigsq_d2z(c))


@functools.lru_cache(maxsize=64)
def _gaussian_fixed(sigma: float) -> _Loss:
    """Per-row Gaussian NLL with known sigma: ``log(2 pi s2)/2 + r^2/(2 s2)``, l' = r/s2, l'' = 1/s2."""
    s2 = sigma * sigma
    const, inv = 0.5 * math.log(2.0 * math.pi * s2), 1.0 / s2

    def value(z, y):
        r = z - y
        return const + (0.5 * inv) * r * r

    def value_and_dz(z, y):
        r = z - y
        return const + (0.5 * inv) * r * r, inv * r

    def d2z(z, y):
        return inv

    return _Loss(value, value_and_dz, d2z)


def _profiled_s2(r):
    """The MLE of the variance on these rows, ``mean(r^2)`` along the last axis (kept)."""
    return np.mean(r * r, axis=-1, keepdims=True)


def _gaussian_profiled_value(z, y):
    # log(2 pi s2)/2 + r^2/(2 s2), s2 = mean(r^2): the mean over rows is log(2 pi s2)/2 + 1/2.
    # Also works on a stack of predictors z (k, n) (one s2 per row of the stack; plots use that).
    r = z - y
    v = _profiled_s2(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(v > 0, r * r / v, 1.0)  # RSS = 0: every r_i = 0, the value is -inf anyway
        return 0.5 * np.log(2.0 * np.pi * v) + 0.5 * q


def _gaussian_profiled_value_and_dz(z, y):
    r = z - y
    v = _profiled_s2(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(v > 0, r / v, 0.0)  # l'_i = r_i / s2: grad = X~^T r / RSS
        return 0.5 * np.log(2.0 * np.pi * v) + 0.5 * q * r, q


def _gaussian_profiled_d2z(z, y):
    # the diagonal part only; Objective.hessian adds the rank-one term -2 u u^T / RSS^2
    v = float(_profiled_s2(z - y)[0])
    return 1.0 / v if v > 0 else math.inf


_GAUSSIAN_PROFILED = _Loss(_gaussian_profiled_value, _gaussian_profiled_value_and_dz, _gaussian_profiled_d2z)


_LOSS_TABLE: dict[tuple[str, str], _Loss] = {
    ("linear", "mse"): _make_sq(1.0),
    ("linear", "half_mse"): _make_sq(0.5),
    ("logistic", "bce"): _Loss(_bce_value, _bce_value_and_dz, _bce_d2z),
    ("logistic", "mse"): _make_sigsq(1.0),
    ("logistic", "half_mse"): _make_sigsq(0.5),
}
