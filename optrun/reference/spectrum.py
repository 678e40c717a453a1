"""The Hessian spectrum and what it says: conditioning, the rounding floor of f*, the GD rate note.

The spectrum comes from the singular values of a small triangular factor when one is at hand
(least squares: the factor of the same QR pass), else from ``eigvalsh`` of the Hessian, refined by
a blockwise QR of ``A = [sqrt(l''/n) X~; sqrt(l2) P]`` when that is ill-conditioned (``eig(A^T A)
= svd(A)^2`` keeps the small eigenvalues accurate). ``block_rows(d)``: the rows per block, passed
in by :mod:`optrun.reference` (its ``_block_rows``, a test seam).
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from optrun.models import Objective
from optrun.reference.least_squares import _qr_r
from optrun.reference.result import _EPS


def _spectrum_from_factor(M: np.ndarray, scale: float, m: int) -> tuple[np.ndarray, bool]:
    """Ascending eigenvalues of ``scale * M^T M`` from the singular values of M."""
    sv = np.linalg.svd(M, compute_uv=False) if M.size else np.zeros(0)
    eig = np.sort(scale * sv**2)
    smax = float(sv.max()) if sv.size else 0.0
    return eig, bool(sv.size and float(sv.min()) <= smax * m * _EPS)


def _hessian_spectrum(obj: Objective, X: np.ndarray, y: np.ndarray, theta: np.ndarray,
                      block_rows: Callable[[int], int]) -> tuple[np.ndarray, bool]:
    """Ascending eigenvalues of the Hessian at theta, and whether it is numerically singular.

    One pass forms the Hessian (``Objective.hessian``) for ``eigvalsh``. Its small eigenvalues
    carry an absolute error of about eps * L, so when the Hessian is ill-conditioned (kappa >
    1e6) and positive semi-definite, a second, slower pass recomputes the spectrum from the
    singular values of ``A = [sqrt(l''/n) X~; sqrt(l2) P]`` (blockwise QR), accurate to a few
    units of eps relative even for kappa ~ 1e20.
    """
    n, d = X.shape
    p = obj.n_params(d)
    H = obj.hessian(theta, X, y)
    eig = np.linalg.eigvalsh(H)
    L = float(np.max(np.abs(eig))) if eig.size else 0.0
    s = np.asarray(obj.curvature(theta, X, y), dtype=np.float64)
    psd = bool(np.all(s >= 0))
    if not psd or not eig.size or (eig[0] > 1e-6 * L):
        return eig, bool(eig.size and eig[0] <= L * max(n, p) * _EPS)
    rows = block_rows(p)
    w = np.sqrt(s * obj.data_weight(n))

    def blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            Xb = X[i : i + rows]
            B = np.empty((Xb.shape[0], p))
            B[:, :d] = Xb
            if obj.fit_intercept:
                B[:, d] = 1.0
            B *= w[i : i + rows, None]
            yield B
        if obj.l2 > 0:
            P = np.zeros((d, p))
            P[np.arange(d), np.arange(d)] = math.sqrt(obj.l2)
            yield P

    R = _qr_r(blocks())
    Rp = np.zeros((p, p))
    Rp[: min(p, R.shape[0])] = R[:p]
    return _spectrum_from_factor(Rp, 1.0, max(n, p))


def _rounding_floor(obj: Objective, theta: np.ndarray, X: np.ndarray, y: np.ndarray, f: float,
                    block_rows: Callable[[int], int]) -> float:
    """Estimated absolute rounding error of evaluating F(theta) in float64.

    Each z_i = x_i . w + b carries an error of about eps (sum_j |x_ij w_j| + |b|), which moves the
    loss by |l'(z_i)| times that; the mean and the penalty add about eps |F|. A run whose
    ``loss - f*`` is below this value (it can even be slightly negative) is at f* up to rounding.
    """
    n, d = X.shape
    w, b = obj.split(theta)
    z = obj.linear_predictor(theta, X)
    _, dz = obj.per_sample_loss_and_dz(z, y)
    aw = np.abs(w)
    rows = block_rows(d)
    total = 0.0
    for i in range(0, n, rows):
        mag = np.abs(X[i : i + rows]) @ aw + abs(float(b)) + np.abs(y[i : i + rows])
        total += float(np.abs(dz[i : i + rows]) @ mag)
    return 4.0 * _EPS * (abs(f) + total * obj.data_weight(n))


def gd_rate_note(L: float, mu: float, quadratic: bool = True, at: str = "theta_star",
                 l1: bool = False, separable: bool = False, convex: bool | None = True) -> str:
    """One or two sentences on what constant-step full-batch gradient descent can do here.

    For a quadratic with Hessian eigenvalues in [mu, L]: GD is stable iff ``lr < 2/L``; at
    ``lr = 1/L`` the error contracts by ``1 - mu/L = 1 - 1/kappa`` per step; the best constant
    step ``2/(L + mu)`` gives ``(kappa - 1)/(kappa + 1)``. At kappa = 1 (up to rounding) both are
    0: one step lands on theta*. For non-quadratic losses the numbers hold near the point where
    the Hessian was taken. ``separable``: the infimum is not attained (no rate). ``convex=False``:
    only the local stability bound is stated, never a rate or a strong-convexity constant.
    """
    if not (L > 0) or not math.isfinite(L):
        return "the Hessian is zero: no curvature information for a step size"
    where = "" if quadratic else (" near theta*" if at == "theta_star" else " near theta = 0")
    parts = [f"full-batch GD with a constant lr is stable{where} for lr < 2/L = {2.0 / L:.4g}"]
    if convex is False:
        parts.append(
            "the objective is not convex: there is no global rate, and the curvature at this one "
            "point gives no strong-convexity constant (GD may stop at any stationary point)"
        )
    elif separable:
        parts.append(
            "the loss has no minimiser (separation: its infimum is not attained): GD drives "
            "||w|| to infinity while the loss approaches the infimum slowly (like O(1/t) under "
            "strict separation)"
        )
    elif mu > 0:
        kappa = L / mu
        if kappa - 1.0 <= 64 * _EPS:  # kappa = 1 up to rounding: the contraction factor is 0
            parts.append(
                f"kappa = L/mu = 1: at lr = 1/L = {1.0 / L:.4g} gradient descent reaches theta* in "
                f"one step{'' if quadratic else ' (on the local quadratic model)'}"
            )
        else:
            steps = kappa * math.log(10.0)
            parts.append(
                f"kappa = L/mu = {kappa:.4g}: at lr = 1/L = {1.0 / L:.4g} the error contracts by a factor "
                f"1 - 1/kappa = {1.0 - 1.0 / kappa:.6g} per step (about {steps:.3g} steps per decimal "
                f"digit); the best constant lr 2/(L+mu) = {2.0 / (L + mu):.4g} gives (kappa-1)/(kappa+1) "
                f"= {(kappa - 1.0) / (kappa + 1.0):.6g}"
            )
    else:
        parts.append("the Hessian is singular (mu = 0): convergence along flat directions is sublinear")
    if l1:
        parts.append("the l1 term is not smooth and is ignored here (subgradient steps need a decaying lr)")
    return "; ".join(parts)


def conditioning(eig: np.ndarray, singular: bool, convex: bool | None) -> tuple[float, float, float | None, float | None, float | None]:
    """``(L, mu, strong, kappa, max_lr)`` from an ascending spectrum.

    L = largest eigenvalue, mu = smallest (0 when numerically singular), kappa = L / mu (inf when
    mu = 0), max_lr = 2 / L (None when L = 0). ``strong`` is mu, and both it and kappa are None
    when the objective is not convex: curvature at one point says nothing global.
    """
    L = float(eig[-1]) if eig.size else 0.0
    mu = 0.0 if singular else float(eig[0])
    kappa = (L / mu) if mu > 0 else math.inf
    max_lr = (2.0 / L) if L > 0 else None
    strong: float | None = mu
    if convex is False:  # curvature at one point says nothing global: no mu, no kappa
        strong, kappa = None, None
    return L, mu, strong, kappa, max_lr
