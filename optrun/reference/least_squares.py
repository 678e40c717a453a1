"""Least squares and ridge by blockwise Householder QR; the profiled Gaussian NLL with a penalty.

See :mod:`optrun.reference` for the method (centred, column-scaled QR of ``[X_c D^-1, y_c]``, the
stacked ridge problem, the minimum-norm minimiser when ``X~`` is rank deficient). ``block_rows(d)``
gives the rows per QR block; it is passed in by :mod:`optrun.reference` (its ``_block_rows``, a
test seam), so no function here reads a block size of its own.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Iterator

import numpy as np

from optrun.models import Objective
from optrun.reference.result import _EPS, Optimum


def _qr_r(blocks: Iterable[np.ndarray]) -> np.ndarray:
    """Upper-triangular R with ``R^T R = A^T A`` for ``A = vstack(blocks)`` (Householder QR,
    one block at a time: memory is one block plus R)."""
    R = None
    for B in blocks:
        M = B if R is None else np.vstack([R, B])
        R = np.linalg.qr(M, mode="r")
    return R


def _ls_weight(obj: Objective, n: int, s2: float | None = None) -> float:
    """k in ``F = k ||X~ theta - y||^2 + (l2/2)||w||^2 + const`` for the linear model.

    ``k = m c`` with m = 1/n (mean) or 1 (sum) and c = 1 (mse), 1/2 (half_mse), 1/(2 s2)
    (gaussian_nll; s2 = sigma^2, or the given profiled value; 1/2 when neither is known, which
    does not change theta* without a penalty).
    """
    m = obj.data_weight(n)
    if obj.loss == "mse":
        return m
    if obj.loss == "gaussian_nll":
        s2 = obj.sigma**2 if obj.sigma is not None else s2
        if s2 is not None:
            return m / (2.0 * s2)
    return 0.5 * m


def _centre_and_scale(obj: Objective, X: np.ndarray, y: np.ndarray,
                      rows: int) -> tuple[np.ndarray, float, np.ndarray]:
    """``(mean(X), mean(y), D)``: the centring (zeros without an intercept) and the column norms D
    of the centred X (1 for a zero column), accumulated over row blocks."""
    n, d = X.shape
    if obj.fit_intercept:
        mu = X.mean(axis=0)
        ybar = float(y.mean())
    else:
        mu = np.zeros(d)
        ybar = 0.0
    sq = np.zeros(d)
    for i in range(0, n, rows):
        Xc = X[i : i + rows] - mu
        sq += np.einsum("ij,ij->j", Xc, Xc)
    scale = np.sqrt(sq)
    scale[scale == 0] = 1.0
    return mu, ybar, scale


def _hessian_factor(obj: Objective, Rw: np.ndarray, scale: np.ndarray, mu: np.ndarray, n: int) -> np.ndarray:
    """M = [[Rw D, 0], [sqrt(n) mu^T, sqrt(n)]]: [X_c, 1] T = X~ with T = [[I, 0], [mu^T, 1]] and
    X_c^T 1 = 0 give M^T M = X~^T X~ + kappa P."""
    d = Rw.shape[0]
    M = np.zeros((obj.n_params(d), obj.n_params(d)))
    M[:d, :d] = Rw * scale
    if obj.fit_intercept:
        M[d, :d] = math.sqrt(n) * mu
        M[d, d] = math.sqrt(n)
    return M


def _min_norm_theta(obj: Objective, X: np.ndarray, y: np.ndarray, rows: int) -> tuple[np.ndarray, str]:
    """Rank deficient: theta* is not unique. The minimum-norm minimiser in theta itself (lstsq on
    the QR factor of [X, 1, y], no centring or scaling), which is the limit of gradient descent
    started from theta = 0, and the note that says so."""
    n, d = X.shape
    p = obj.n_params(d)

    def raw_blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            Xb = X[i : i + rows]
            B = np.empty((Xb.shape[0], p + 1))
            B[:, :d] = Xb
            if obj.fit_intercept:
                B[:, d] = 1.0
            B[:, p] = y[i : i + rows]
            yield B

    R = _qr_r(raw_blocks())
    theta, _, rank, _ = np.linalg.lstsq(R[:p, :p], R[:p, p], rcond=None)
    return theta, (
        f"the design {'[X, 1]' if obj.fit_intercept else 'X'} has rank {rank} < {p} parameters: theta* is not unique; "
        "theta* is the minimum-norm minimiser (the limit of GD from theta = 0)"
    )


def _least_squares(obj: Objective, X: np.ndarray, y: np.ndarray, k: float,
                   block_rows: Callable[[int], int]) -> tuple[np.ndarray, str, np.ndarray]:
    """theta* of k||X~ theta - y||^2 + (l2/2)||w||^2 (see module docstring; k = c/n for a mean).

    Also returns a small p x p factor M with ``M^T M = X~^T X~ + kappa P``, so the Hessian
    ``2k M^T M`` and its spectrum come from the same single pass over the data.
    """
    n, d = X.shape
    kappa = obj.l2 / (2.0 * k)
    rows = block_rows(d)
    mu, ybar, scale = _centre_and_scale(obj, X, y, rows)

    def blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            B = np.empty((min(rows, n - i), d + 1))
            np.subtract(X[i : i + rows], mu, out=B[:, :d])
            B[:, :d] /= scale
            B[:, d] = y[i : i + rows] - ybar
            yield B
        if kappa > 0:
            P = np.zeros((d, d + 1))
            P[np.arange(d), np.arange(d)] = math.sqrt(kappa) / scale
            yield P

    R = _qr_r(blocks())
    Rw = np.zeros((d, d))
    Rw[: min(d, R.shape[0])] = R[:d, :d]
    z = np.zeros(d)
    z[: min(d, R.shape[0])] = R[:d, d]
    M = _hessian_factor(obj, Rw, scale, mu, n)
    sv = np.linalg.svd(Rw, compute_uv=False) if d else np.zeros(0)
    m = max(n, d + 1)
    rank_deficient = kappa == 0 and bool(sv.size) and sv.min() <= sv.max() * m * _EPS
    if not rank_deficient:
        v = np.linalg.lstsq(Rw, z, rcond=None)[0]
        w = v / scale
        theta = np.append(w, ybar - float(mu @ w)) if obj.fit_intercept else w
        return theta, "", M
    theta, note = _min_norm_theta(obj, X, y, rows)
    return theta, note, M


def _profiled_ridge(obj: Objective, X: np.ndarray, y: np.ndarray, block_rows: Callable[[int], int],
                    max_iter: int = 200) -> tuple[np.ndarray, str, int]:
    """theta* of the profiled Gaussian NLL with an l2 penalty, by a fixed-point iteration.

    Stationarity of ``log(RSS)/2 + (l2/2)||w||^2`` (times m n) is ``X~^T r / RSS + l2 P w = 0``,
    which is the ridge equation with ``k = m / (2 s2)`` at ``s2 = RSS(theta)/n``. So: solve the
    ridge problem at s2, update s2 = RSS/n, repeat until s2 stops changing. Each ridge solve
    lowers the objective (an MM step: log is concave, so its tangent majorises it), hence the
    iteration decreases F monotonically to a stationary point.
    """
    n = X.shape[0]
    theta, note, _ = _least_squares(obj, X, y, _ls_weight(obj, n, 1.0), block_rows)
    s2 = 1.0
    it = 0
    for it in range(1, max_iter + 1):
        r = obj.linear_predictor(theta, X) - y
        s2_new = float(r @ r) / n
        if not s2_new > 0:
            break
        done = abs(s2_new - s2) <= 4 * _EPS * s2_new
        s2 = s2_new
        if done:
            break
        theta, note, _ = _least_squares(obj, X, y, _ls_weight(obj, n, s2), block_rows)
    return theta, note, it


def linear_optimum(obj: Objective, X: np.ndarray, y: np.ndarray, block_rows: Callable[[int], int]) -> Optimum:
    """theta* of the linear model: least squares, ridge, the (profiled) Gaussian NLL; not with l1.

    The profiled Gaussian NLL is ``log(RSS)/2``: its Hessian at theta* is that of least squares
    scaled by ``1/s2`` with ``s2 = RSS*/n`` (the rank-one term vanishes there), and it has no
    minimiser when the model fits every row exactly (RSS = 0, F unbounded below).
    """
    n = X.shape[0]
    profiled = obj.loss == "gaussian_nll" and obj.sigma is None
    if obj.l1 > 0:
        return Optimum("unavailable", notes=["l1 penalty: no closed form; f* unavailable"])
    opt = Optimum("exact")
    if profiled and obj.l2 > 0:
        opt.theta_star, ls_note, opt.iterations = _profiled_ridge(obj, X, y, block_rows)
    else:
        opt.theta_star, ls_note, opt.factor = _least_squares(obj, X, y, _ls_weight(obj, n), block_rows)
        opt.factor_scale = 2.0 * _ls_weight(obj, n)
    if ls_note:
        opt.notes.append(ls_note)
    if profiled:
        r = obj.linear_predictor(opt.theta_star, X) - y
        s2 = float(r @ r) / n
        if opt.factor is not None:  # the spectrum at theta*, where s2 = RSS*/n
            opt.factor_scale = 2.0 * _ls_weight(obj, n, s2) if s2 > 0 else math.inf
        if not float(r @ r) > 0:
            opt.status, opt.theta_star, opt.factor = "unavailable", None, None
            opt.notes.append("the model fits every row exactly (RSS = 0): the profiled Gaussian "
                             "NLL is unbounded below; f* unavailable")
    return opt
