"""Objectives: linear and logistic regression with their losses, gradients and Hessians side by side.

Notation. ``X`` is the raw ``(n, d)`` feature matrix, *without* a column of ones. The parameters
are one flat vector ``theta = [w_1 .. w_d, b]`` (``b`` only when ``fit_intercept``); write
``X~ = [X, 1]`` for the design with the intercept column, so the linear predictor is

    z = X~ theta = X w + b.

The intercept is added inside (``X @ w + b``): X is never copied or stacked with a column of ones,
so one objective evaluation on big data costs exactly two matrix-vector products, ``X @ w`` and
``X.T @ r``, at memory-bandwidth speed.

Every loss is a **batch mean** (``reduction: mean``, the default) or a **batch sum**
(``reduction: sum``, the lecture's ``1/2 sum_i r_i^2`` form) of a per-sample loss l(z_i, y_i), plus
penalties on ``w`` only. With ``m = 1/n`` (mean) or ``m = 1`` (sum):

    F(theta) = m sum_i l(z_i, y_i) + (l2/2) ||w||^2 + l1 ||w||_1

    grad F   = m X~^T l'(z, y) + l2 P theta + l1 sign(P theta)
    hess F   = m X~^T diag(l''(z, y)) X~ + l2 P

(``sum`` multiplies the data term by n for every loss; the penalties are never multiplied,
DESIGN §9.7.)

where ``l'`` and ``l''`` are derivatives with respect to z and ``P = diag(1, .., 1, 0)`` selects
the weights (the intercept is never penalised). The l1 term uses the subgradient ``sign(w)``
(0 at w_j = 0) and is ignored by the Hessian.

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
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from optrun.errors import OptrunError

MODELS = ("linear", "logistic")
LOSSES = ("mse", "half_mse", "bce", "gaussian_nll")
REDUCTIONS = ("mean", "sum")

# Rows per block when the Hessian is accumulated block by block (bounded extra memory).
_HESSIAN_BLOCK_BYTES = 8 * 2**20


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


# --------------------------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """Model + loss + penalties: ``F(theta) = mean_i l(z_i, y_i) + (l2/2)||w||^2 + l1||w||_1``.

    ``model``: ``"linear"`` (z is the prediction) or ``"logistic"`` (sigmoid(z) is P(y = 1)).
    ``loss``: ``"mse"`` (mean r^2), ``"half_mse"`` (mean r^2 / 2), ``"bce"`` (mean Bernoulli
    negative log-likelihood; logistic only) or ``"gaussian_nll"`` (mean Gaussian negative
    log-likelihood; linear only). For the logistic model, mse/half_mse means the
    residual of the probability, ``sigmoid(z) - y`` (non-convex). See the module docstring for
    every formula. Penalties act on ``w`` only, never on the intercept ``b``.
    ``sigma``: the known noise standard deviation of the Gaussian model (linear only); ``None``
    (default) profiles s2 out (s2 = RSS/n at each theta). Used by ``gaussian_nll`` and by
    :func:`log_likelihood`. ``reduction``: ``"mean"`` (default) or ``"sum"`` of the per-sample
    losses (sum = n times the mean data term; penalties unchanged).

    All methods take the raw feature matrix ``X`` (n, d) without a column of ones; the result keeps
    the floating dtype of ``X`` for the matrix products (float32 data stay float32, X is never
    upcast or copied) and gradients/Hessians are returned in the dtype of ``theta``.
    """

    model: str = "linear"
    loss: str = "mse"
    fit_intercept: bool = True
    l2: float = 0.0
    l1: float = 0.0
    sigma: float | None = None
    reduction: str = "mean"

    def __post_init__(self):
        if self.model not in MODELS:
            raise OptrunError(f"model.name: unknown model {self.model!r}; expected one of: {', '.join(MODELS)}")
        if self.loss not in LOSSES:
            raise OptrunError(f"loss.name: unknown loss {self.loss!r}; expected one of: {', '.join(LOSSES)}")
        if self.model == "linear" and self.loss == "bce":
            raise OptrunError("loss.name: bce needs model logistic (model is linear); use mse or half_mse")
        if self.model == "logistic" and self.loss == "gaussian_nll":
            raise OptrunError("loss.name: gaussian_nll needs model linear (model is logistic); use bce")
        if self.reduction not in REDUCTIONS:
            raise OptrunError(f"loss.reduction: expected mean or sum, got {self.reduction!r}")
        if self.sigma is not None:
            v = self.sigma
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                    or not np.isfinite(v) or v <= 0:
                raise OptrunError(f"loss.sigma: expected a finite number > 0 (or null), got {v!r}")
            if self.model != "linear":
                raise OptrunError("loss.sigma: the noise level of the Gaussian model needs model linear")
            object.__setattr__(self, "sigma", float(v))
        for key in ("l2", "l1"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise OptrunError(f"loss.{key}: expected a number >= 0, got {v!r}")
            if not np.isfinite(v) or v < 0:
                raise OptrunError(f"loss.{key}: expected a finite number >= 0, got {v!r}")
            object.__setattr__(self, key, float(v))
        object.__setattr__(self, "fit_intercept", bool(self.fit_intercept))

    # ---- shapes ---------------------------------------------------------------------------

    def n_params(self, d: int) -> int:
        """Number of parameters for d features: d weights, plus 1 with an intercept."""
        return int(d) + (1 if self.fit_intercept else 0)

    def split(self, theta) -> tuple[np.ndarray, float]:
        """``theta -> (w, b)``; ``b`` is 0.0 without an intercept. ``w`` is a view of theta."""
        theta = np.asarray(theta)
        if self.fit_intercept:
            return theta[:-1], theta[-1]
        return theta, theta.dtype.type(0) if np.issubdtype(theta.dtype, np.floating) else 0.0

    def _check(self, theta, X) -> tuple[np.ndarray, np.ndarray]:
        # Called on every step: test ``dtype.kind`` (a field read) rather than np.issubdtype
        # (~1.5 us of Python each time, a visible share of a step on a small problem).
        theta = np.asarray(theta)
        if theta.dtype.kind != "f":
            theta = theta.astype(np.float64)
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n, d) array, got shape {X.shape}")
        if theta.shape != (self.n_params(X.shape[1]),):
            raise ValueError(
                f"theta has shape {theta.shape}; expected ({self.n_params(X.shape[1])},) for "
                f"{X.shape[1]} features{' + intercept' if self.fit_intercept else ''}"
            )
        return theta, X

    def data_weight(self, n: int) -> float:
        """``m`` in ``F = m sum_i l_i + penalties``: ``1/n`` for reduction mean, ``1`` for sum."""
        return 1.0 / n if self.reduction == "mean" else 1.0

    def linear_predictor(self, theta, X) -> np.ndarray:
        """Linear predictor ``z = X w + b`` computed in the dtype of X (one matvec, no copy of X).

        No shape check (the caller's ``theta`` and ``X`` must fit: p = d (+ 1)).
        """
        return self._z(np.asarray(theta), np.asarray(X))

    def per_sample_loss(self, z, y) -> np.ndarray:
        """Per-sample losses ``l(z_i, y_i)`` (no penalty, no reduction); z may be a stack (k, n).

        The data term is their mean (reduction mean) or sum. For profiled ``gaussian_nll`` the
        variance is the MLE of the rows given (per row of a stack).
        """
        return self._per_sample.value(np.asarray(z), np.asarray(y))

    def per_sample_loss_and_dz(self, z, y) -> tuple[np.ndarray, np.ndarray]:
        """``(l(z_i, y_i), l'(z_i, y_i))``: per-sample losses and their derivatives in z_i."""
        return self._per_sample.value_and_dz(np.asarray(z), np.asarray(y))

    def _z(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Linear predictor ``z = X w + b`` (thin alias kept for old callers; see linear_predictor)."""
        w, b = self.split(theta)
        xdt = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
        z = X @ w.astype(xdt, copy=False)
        if self.fit_intercept:
            z += xdt.type(b)
        return z

    # ---- predictions ------------------------------------------------------------------------

    def predict(self, theta, X) -> np.ndarray:
        """Linear: ``X w + b``. Logistic: the probability ``sigmoid(X w + b)``."""
        theta, X = self._check(theta, X)
        z = self._z(theta, X)
        return sigmoid(z) if self.model == "logistic" else z

    # ---- penalties ------------------------------------------------------------------------

    def penalty(self, theta) -> float:
        """``(l2/2) ||w||^2 + l1 ||w||_1`` (intercept excluded)."""
        if self.l2 == 0.0 and self.l1 == 0.0:
            return 0.0
        w, _ = self.split(np.asarray(theta))
        w = w.astype(np.float64)
        return 0.5 * self.l2 * float(w @ w) + self.l1 * float(np.abs(w).sum())

    def _add_penalty_grad(self, g: np.ndarray, theta: np.ndarray) -> None:
        """``g += l2 P theta + l1 sign(P theta)`` in place (subgradient 0 at w_j = 0)."""
        if not (self.l2 or self.l1):
            return
        d = theta.shape[0] - (1 if self.fit_intercept else 0)
        w = theta[:d]
        if self.l2:
            g[:d] += self.l2 * w
        if self.l1:
            g[:d] += self.l1 * np.sign(w)

    # ---- loss, gradient, Hessian ----------------------------------------------------------

    @property
    def _per_sample(self) -> _Loss:
        """The per-sample loss functions (kept as a thin alias; prefer :meth:`per_sample_loss`)."""
        if self.loss == "gaussian_nll":
            return _GAUSSIAN_PROFILED if self.sigma is None else _gaussian_fixed(self.sigma)
        return _LOSS_TABLE[(self.model, self.loss)]

    def _reduce(self, loss_i: np.ndarray) -> float:
        if self.reduction == "mean":
            return _mean(loss_i)
        return float(np.add.reduce(loss_i))

    def data_loss(self, theta, X, y) -> float:
        """``m sum_i l(z_i, y_i)``: the mean (or sum) data loss without penalties."""
        theta, X = self._check(theta, X)
        z = self._z(theta, X)
        return self._reduce(self._per_sample.value(z, np.asarray(y)))

    def value(self, theta, X, y) -> float:
        """``F(theta)``: data loss (mean or sum) plus penalties."""
        return self.data_loss(theta, X, y) + self.penalty(theta)

    def value_and_grad(self, theta, X, y) -> tuple[float, np.ndarray]:
        """``(F(theta), grad F(theta))`` from one residual computation.

        Cost: ``z = X @ w`` and ``X.T @ l'(z, y)``, two matrix-vector products.
        ``grad_w = X^T l' / n + l2 w + l1 sign(w)``, ``grad_b = mean(l')``.
        """
        theta, X = self._check(theta, X)
        n = X.shape[0]
        z = self._z(theta, X)
        loss_i, dz = self._per_sample.value_and_dz(z, np.asarray(y))
        dz = dz.astype(z.dtype, copy=False)  # keep X's dtype: X.T @ float64 would upcast (copy) X
        g = np.empty(theta.shape, dtype=theta.dtype)
        d = X.shape[1]
        if self.reduction == "mean":
            g[:d] = (X.T @ dz) / n
            if self.fit_intercept:
                g[d] = np.add.reduce(dz) / n  # = dz.sum() / n
        else:  # sum: no division at all (n times the mean's gradient, up to its rounding)
            g[:d] = X.T @ dz
            if self.fit_intercept:
                g[d] = np.add.reduce(dz)
        self._add_penalty_grad(g, theta)
        return self._reduce(loss_i) + self.penalty(theta), g

    def grad(self, theta, X, y) -> np.ndarray:
        """``grad F(theta) = m X~^T l'(z, y) + l2 P theta + l1 sign(P theta)`` (m = 1/n or 1)."""
        return self.value_and_grad(theta, X, y)[1]

    def curvature(self, theta, X, y) -> np.ndarray:
        """Per-sample curvature ``l''(z_i, y_i)`` (the diagonal weights of the Hessian), shape (n,).

        Not multiplied by the reduction weight m. For profiled gaussian_nll only the diagonal part
        1/s2 (the Hessian has a rank-one correction, see :meth:`hessian`).
        """
        theta, X = self._check(theta, X)
        z = self._z(theta, X)
        c = self._per_sample.d2z(z, np.asarray(y))
        return np.broadcast_to(np.asarray(c, dtype=z.dtype), z.shape)

    def hessian(self, theta, X, y) -> np.ndarray:
        """``m X~^T diag(l''(z, y)) X~ + l2 P``, shape (p, p); l1 is ignored (not differentiable).

        m = 1/n (reduction mean) or 1 (sum). Profiled gaussian_nll adds its rank-one term
        ``-2 m u u^T / (n s2^2)`` with ``u = X~^T r`` (zero at theta*).

        Linear: ``c X~^T X~ / n`` (c = 2 for mse, 1 for half_mse), constant in theta.
        Logistic bce: ``X~^T diag(p (1 - p)) X~ / n + l2 P``, positive semi-definite.
        Logistic (half_)mse: may be indefinite. Accumulated over row blocks (bounded memory).
        """
        theta, X = self._check(theta, X)
        n, d = X.shape
        p = self.n_params(d)
        z = self._z(theta, X)
        c = self._per_sample.d2z(z, np.asarray(y))
        H = np.zeros((p, p), dtype=np.float64)
        rows = max(1, _HESSIAN_BLOCK_BYTES // max(1, d * X.itemsize))
        if np.ndim(c) == 0:  # constant curvature (linear): c X~^T X~ / n
            for i in range(0, n, rows):
                Xb = X[i : i + rows]
                H[:d, :d] += Xb.T @ Xb  # symmetric rank-k update (BLAS syrk)
                if self.fit_intercept:
                    H[:d, d] += Xb.sum(axis=0, dtype=np.float64)
            if self.fit_intercept:
                H[d, d] = n
            H *= float(c)
        else:
            s = np.asarray(c, dtype=z.dtype)
            nonneg = bool(np.all(s >= 0))
            r = np.sqrt(s) if nonneg else None
            for i in range(0, n, rows):
                Xb, sb = X[i : i + rows], s[i : i + rows]
                if nonneg:  # B^T B with B = diag(sqrt(s)) X: syrk, half the flops of a gemm
                    B = Xb * r[i : i + rows, None]
                    H[:d, :d] += B.T @ B
                else:
                    H[:d, :d] += Xb.T @ (Xb * sb[:, None])
                if self.fit_intercept:
                    H[:d, d] += Xb.T @ sb
                    H[d, d] += float(np.sum(sb, dtype=np.float64))
        H[:d, :d] = 0.5 * (H[:d, :d] + H[:d, :d].T)  # exactly symmetric (BLAS rounding is not)
        if self.fit_intercept:
            H[d, :d] = H[:d, d]
        if self.loss == "gaussian_nll" and self.sigma is None and n:
            # F = log(RSS)/2 + const: hess = X~^T X~ / RSS - 2 u u^T / RSS^2; with c = 1/s2 the
            # first part is already in H (times n), so subtract 2 u u^T / (n s2^2) before the / n.
            r = (z - np.asarray(y)).astype(np.float64)
            v = float(np.mean(r * r))
            u = np.empty(p)
            u[:d] = X.T @ r  # (float32 X is upcast here: the Newton Hessian is small-p work)
            if self.fit_intercept:
                u[d] = r.sum()
            if v > 0:
                H -= (2.0 / (n * v * v)) * np.outer(u, u)
        if self.reduction == "mean":
            H /= n
        if self.l2:
            H[np.arange(d), np.arange(d)] += self.l2
        return H.astype(theta.dtype, copy=False)


def validate_targets(model: str, y, where: str, first_line: int = 2, lines=None) -> None:
    """Raise :class:`OptrunError` unless the targets suit the model.

    Logistic regression needs every target to be 0 or 1; the message says how many are not and
    gives the first offending one. ``first_line`` is the line number of ``y[0]`` in the file
    (the header is line 1), so the message points where a user would look; ``lines`` (the file
    line of each row, for CSVs with skipped blank lines) overrides it.
    Linear regression accepts any finite target.
    """
    y = np.asarray(y)

    def line(i: int) -> int:
        return int(lines[i]) if lines is not None else i + first_line

    n = y.shape[0]
    if n == 0:
        raise OptrunError(f"{where}: no rows")
    bad_finite = ~np.isfinite(y)
    if bad_finite.any():
        i = int(np.flatnonzero(bad_finite)[0])
        raise OptrunError(f"{where}: {int(bad_finite.sum())} of {n} targets are not finite (first at line {line(i)}: {y[i]})")
    if model == "logistic":
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise OptrunError(
                f"{where}: model logistic needs targets 0 or 1; {int(bad.sum())} of {n} are not "
                f"(first at line {line(i)}: {y[i]:g})"
            )


def log_likelihood(obj: Objective, theta, X, y) -> float:
    """The total log-likelihood ``sum_i log p(y_i | x_i, theta)`` of the model (no penalties).

    Linear (Gaussian, y_i ~ N(z_i, s2)): with ``obj.sigma`` set, ``-n/2 log(2 pi sigma^2) -
    RSS/(2 sigma^2)``; otherwise s2 is profiled at this theta (s2 = RSS/n, its MLE) and the value
    is ``-n/2 (log(2 pi RSS/n) + 1)`` (``+inf`` when RSS = 0). Logistic (Bernoulli, P(y=1) =
    sigmoid(z)): ``-sum_i softplus((1 - 2 y_i) z_i)`` (exactly minus the bce sum). Independent
    of ``loss`` and ``reduction``: it is the model's likelihood, computed in float64. See
    DESIGN §9.7 (a total over rows, not per row).
    """
    theta, X = obj._check(theta, X)
    y = np.asarray(y, dtype=np.float64)
    z = obj._z(theta.astype(np.float64), X).astype(np.float64, copy=False)
    n = z.shape[0]
    if obj.model == "logistic":
        return -float(np.sum(_softplus_signed(z, y, np.exp(-np.abs(z)))))
    r = z - y
    rss = float(r @ r)
    if obj.sigma is not None:
        s2 = obj.sigma * obj.sigma
        return -0.5 * n * math.log(2.0 * math.pi * s2) - rss / (2.0 * s2)
    if rss == 0.0:
        return math.inf
    return -0.5 * n * (math.log(2.0 * math.pi * rss / n) + 1.0)
