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

The per-sample losses l, l', l'' (the loss table, :mod:`optrun.models.losses`) are documented
there, with the profiled Gaussian NLL and the stable logistic formulas. The package:

* ``__init__``: :class:`Objective` (model + loss + penalties: value, gradient, Hessian) and the
  Hessian block size ``_HESSIAN_BLOCK_BYTES`` (a test seam, read by ``Objective.hessian``);
* ``losses``: the loss table and the stable sigmoid (:func:`sigmoid`);
* ``likelihood``: :func:`log_likelihood`, the model's total log-likelihood;
* ``targets``: :func:`validate_targets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optrun.errors import OptrunError
from optrun.models.likelihood import log_likelihood
from optrun.models.losses import _GAUSSIAN_PROFILED, _LOSS_TABLE, _gaussian_fixed, _Loss, _mean, sigmoid
from optrun.models.targets import validate_targets

__all__ = ["LOSSES", "MODELS", "REDUCTIONS", "Objective", "log_likelihood", "sigmoid", "validate_targets"]

MODELS = ("linear", "logistic")
LOSSES = ("mse", "half_mse", "bce", "gaussian_nll")
REDUCTIONS = ("mean", "sum")

# Rows per block when the Hessian is accumulated block by block (bounded extra memory).
_HESSIAN_BLOCK_BYTES = 8 * 2**20


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
