"""Least squares and ridge from the Gram matrix (Cholesky) when the conditioning allows it, by
blockwise Householder QR when it does not; the profiled Gaussian NLL with a penalty.

See :mod:`optrun.reference` for the method (centred, column-scaled QR of ``[X_c D^-1, y_c]``, the
stacked ridge problem, the minimum-norm minimiser when ``X~`` is rank deficient).

**The Gram path and its accuracy guard.** Both paths compute the same small triangular factor:
with ``A = X_s = X_c D^-1`` (centred, unit column norms) the Householder QR gives ``R`` with
``R^T R = A^T A (+ kappa D^-2)`` and ``z = R^-T A^T y_c``, and so does the Cholesky factor of the
Gram matrix ``G = A^T A (+ kappa D^-2) = R^T R`` (unique with a positive diagonal) with
``z = R^-T (A^T y_c)``. The Gram matrix is one pass of a symmetric rank-k update over the data
(BLAS-3, ``n p^2`` flops at full speed) against Householder QR's ``2 n p^2`` at a fraction of the
speed. Its price is accuracy: the solution of the normal equations has a relative error of
order ``kappa(G) u`` with ``kappa(G) = kappa(A)^2`` (u = 2^-53 ~ 1.1e-16), where QR's is of order
``kappa(A) u`` (plus ``kappa(A)^2 u`` times the relative residual). The guard: the Gram result is
kept only if ``kappa(G) = (s_max / s_min)^2`` of the computed R is at most
:data:`GRAM_MAX_CONDITION` = 1e6, i.e. a relative error of at most ~1e-10 in the scaled weights;
otherwise (and when Cholesky breaks down) the factor is recomputed by QR. Estimating
``kappa(G)`` from the computed R is safe: when ``kappa(G)`` is near 1/u the estimate is
inaccurate but still far above 1e6, so the guard never keeps an ill-conditioned Gram result.
Longley: raw ``cond(X~)`` ~ 5e9, but after centring and scaling ``kappa(G)`` ~ 1.2e4, so it takes
the Gram path and matches the NIST certified values to 1.5e-12 (the bound: 1.2e4 u ~ 1.4e-12).

``block_rows(d)``
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


#: Largest condition number of the scaled Gram matrix for which its Cholesky solution is kept
#: (relative error of order kappa(G) u <= 1e6 * 1.1e-16 ~ 1e-10); above it, Householder QR.
GRAM_MAX_CONDITION = 1e6


def _gram_factor(obj: Objective, X: np.ndarray, y: np.ndarray, kappa: float,
                 rows: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray] | None:
    """``(R, z, ybar, mu, scale)`` from the Cholesky factor of the scaled, centred Gram matrix;
    None when Cholesky breaks down or the guard (``kappa(G) <= GRAM_MAX_CONDITION``) fails.

    One pass over the data after the mean: ``C = sum_blocks (X_b - mu)^T (X_b - mu)`` (a rank-k
    update per block: no copy of X beyond one block) and ``c = sum_blocks (X_b - mu)^T (y_b - ybar)``.
    The column norms are ``D = sqrt(diag C)``, so ``G = D^-1 C D^-1 (+ kappa D^-2)``.
    """
    n, d = X.shape
    if obj.fit_intercept:
        mu, ybar = X.mean(axis=0), float(y.mean())
    else:
        mu, ybar = np.zeros(d), 0.0
    C = np.zeros((d, d))
    c = np.zeros(d)
    B = np.empty((min(rows, n), d))
    for i in range(0, n, rows):
        Bi = B[: min(rows, n - i)]
        np.subtract(X[i : i + rows], mu, out=Bi)
        C += Bi.T @ Bi  # NumPy calls syrk for a.T @ a
        c += Bi.T @ (y[i : i + rows] - ybar)
    scale = np.sqrt(np.diag(C).copy())
    scale[scale == 0] = 1.0
    G = C / np.outer(scale, scale)
    if kappa > 0:
        G[np.diag_indices(d)] += kappa / scale**2
    try:
        R = np.linalg.cholesky(G).T  # upper, R^T R = G
    except np.linalg.LinAlgError:
        return None
    sv = np.linalg.svd(R, compute_uv=False)
    if not (sv.min() > 0 and (sv.max() / sv.min()) ** 2 <= GRAM_MAX_CONDITION):
        return None
    z = np.linalg.solve(R.T, c / scale)  # R^T z = A^T y_c (a triangular system)
    return R, z, ybar, mu, scale


def gram_or_qr(obj: Objective, X: np.ndarray, y: np.ndarray, l2: float = 0.0,
               block_rows: Callable[[int], int] = lambda d: 65536, method: str = "auto"):
    """The scaled triangular factor ``(R, z, method)`` of the least-squares problem, by the Gram
    path (``method="gram"``), QR (``"qr"``) or the guard's choice (``"auto"``); for tests and
    benchmarks. ``l2`` adds ``l2 / (2k)`` with k as for half_mse (the stacked ridge rows)."""
    n, d = X.shape
    kappa = l2 / (2.0 * _ls_weight(obj, n)) if l2 else 0.0
    rows = block_rows(d)
    if method in ("auto", "gram"):
        g = _gram_factor(obj, X, y, kappa, rows)
        if g is not None or method == "gram":
            return (None, None, "qr") if g is None else (g[0], g[1], "gram")
    mu, ybar, scale = _centre_and_scale(obj, X, y, rows)
    R = _qr_r(_scaled_blocks(X, y, kappa, rows, mu, ybar, scale))
    return R[:d, :d], R[:d, d], "qr"


def _scaled_blocks(X: np.ndarray, y: np.ndarray, kappa: float, rows: int, mu: np.ndarray, ybar: float,
                   scale: np.ndarray) -> Iterator[np.ndarray]:
    """``[X_c D^-1, y_c]`` in row blocks, then the ridge rows ``[sqrt(kappa) D^-1, 0]`` (for QR)."""
    n, d = X.shape
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
    g = _gram_factor(obj, X, y, kappa, rows) if d else None
    if g is not None:
        Rw, z, ybar, mu, scale = g
    else:
        mu, ybar, scale = _centre_and_scale(obj, X, y, rows)

        R = _qr_r(_scaled_blocks(X, y, kappa, rows, mu, ybar, scale))
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
