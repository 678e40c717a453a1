"""Objectives: linear and logistic regression with their losses, gradients and Hessians side by side.

Notation. ``X`` is the raw ``(n, d)`` feature matrix, *without* a column of ones. The parameters
are one flat vector ``theta = [w_1 .. w_d, b]`` (``b`` only when ``fit_intercept``); write
``X~ = [X, 1]`` for the design with the intercept column, so the linear predictor is

    z = X~ theta = X w + b.

The intercept is added inside (``X @ w + b``): X is never copied or stacked with a column of ones,
so one objective evaluation on big data costs exactly two matrix-vector products, ``X @ w`` and
``X.T @ r``, at memory-bandwidth speed.

Every loss is a **batch mean** of a per-sample loss l(z_i, y_i), plus penalties on ``w`` only:

    F(theta) = (1/n) sum_i l(z_i, y_i) + (l2/2) ||w||^2 + l1 ||w||_1

    grad F   = X~^T l'(z, y) / n + l2 P theta + l1 sign(P theta)
    hess F   = X~^T diag(l''(z, y)) X~ / n + l2 P

where ``l'`` and ``l''`` are derivatives with respect to z and ``P = diag(1, .., 1, 0)`` selects
the weights (the intercept is never penalised). The l1 term uses the subgradient ``sign(w)``
(0 at w_j = 0) and is ignored by the Hessian.

Per-sample losses (r = z - y, s = sigmoid(z)):

=====================  ======================  =====================  =======================================
model / loss           l(z, y)                 l'(z, y)               l''(z, y)
=====================  ======================  =====================  =======================================
linear, mse            r^2                     2 r                    2
linear, half_mse       r^2 / 2                 r                      1
logistic, bce          log(1 + e^z) - y z      s - y                  s (1 - s)
logistic, mse          (s - y)^2               2 (s - y) s (1 - s)    2 [s^2 (1-s)^2 + (s - y) s (1-s)(1-2s)]
logistic, half_mse     (s - y)^2 / 2           half of the above      half of the above
=====================  ======================  =====================  =======================================

Stable logistic math: with e = exp(-|z|) (never overflows), ``log(1 + e^z) = max(z, 0) +
log1p(e)`` (this is ``np.logaddexp(0, z)``), ``sigmoid(z) = 1/(1+e)`` for z >= 0 and ``e/(1+e)``
otherwise, and ``s(1-s) = e/(1+e)^2``. The bce gradient is the analytic ``sigmoid(z) - y``, never
the derivative of the piecewise stable formula (at z = 0 that would give ``-y`` instead of the
correct ``0.5 - y``).

Logistic with (half_)mse is the non-convex choice the lecture warns about: its curvature
``l''`` is negative where the model is confidently wrong, so the Hessian can be indefinite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from optrun.errors import OptrunError

MODELS = ("linear", "logistic")
LOSSES = ("mse", "half_mse", "bce")

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


def _bce_value(z, y):
    # log(1 + e^z) - y z, stably: max(z, 0) + log1p(exp(-|z|)) - y z  (== np.logaddexp(0, z) - y z)
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z


def _bce_value_and_dz(z, y):
    s, e = _sigmoid_parts(z)
    return np.maximum(z, 0) + np.log1p(e) - y * z, s - y  # gradient: analytic sigmoid(z) - y


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
    ``loss``: ``"mse"`` (mean r^2), ``"half_mse"`` (mean r^2 / 2) or ``"bce"`` (mean Bernoulli
    negative log-likelihood; logistic only). For the logistic model, mse/half_mse means the
    residual of the probability, ``sigmoid(z) - y`` (non-convex). See the module docstring for
    every formula. Penalties act on ``w`` only, never on the intercept ``b``.

    All methods take the raw feature matrix ``X`` (n, d) without a column of ones; the result keeps
    the floating dtype of ``X`` for the matrix products (float32 data stay float32, X is never
    upcast or copied) and gradients/Hessians are returned in the dtype of ``theta``.
    """

    model: str = "linear"
    loss: str = "mse"
    fit_intercept: bool = True
    l2: float = 0.0
    l1: float = 0.0

    def __post_init__(self):
        if self.model not in MODELS:
            raise OptrunError(f"model.name: unknown model {self.model!r}; expected one of: {', '.join(MODELS)}")
        if self.loss not in LOSSES:
            raise OptrunError(f"loss.name: unknown loss {self.loss!r}; expected one of: {', '.join(LOSSES)}")
        if self.model == "linear" and self.loss == "bce":
            raise OptrunError("loss.name: bce needs model logistic (model is linear); use mse or half_mse")
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

    def _z(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Linear predictor ``z = X w + b`` computed in the dtype of X (one matvec, no copy of X)."""
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
        return _LOSS_TABLE[(self.model, self.loss)]

    def data_loss(self, theta, X, y) -> float:
        """``(1/n) sum_i l(z_i, y_i)``: the mean data loss without penalties."""
        theta, X = self._check(theta, X)
        z = self._z(theta, X)
        return _mean(self._per_sample.value(z, np.asarray(y)))

    def value(self, theta, X, y) -> float:
        """``F(theta)``: mean data loss plus penalties."""
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
        g[:d] = (X.T @ dz) / n
        if self.fit_intercept:
            g[d] = np.add.reduce(dz) / n  # = dz.sum() / n
        self._add_penalty_grad(g, theta)
        return _mean(loss_i) + self.penalty(theta), g

    def grad(self, theta, X, y) -> np.ndarray:
        """``grad F(theta) = X~^T l'(z, y) / n + l2 P theta + l1 sign(P theta)``."""
        return self.value_and_grad(theta, X, y)[1]

    def curvature(self, theta, X, y) -> np.ndarray:
        """Per-sample curvature ``l''(z_i, y_i)`` (the diagonal weights of the Hessian), shape (n,)."""
        theta, X = self._check(theta, X)
        z = self._z(theta, X)
        c = self._per_sample.d2z(z, np.asarray(y))
        return np.broadcast_to(np.asarray(c, dtype=z.dtype), z.shape)

    def hessian(self, theta, X, y) -> np.ndarray:
        """``X~^T diag(l''(z, y)) X~ / n + l2 P``, shape (p, p); l1 is ignored (not differentiable).

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
