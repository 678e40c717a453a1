"""Quadratics ``f = 1/2 theta^T A theta + b^T theta + c`` (A symmetric, any sign), classified exactly."""

from __future__ import annotations

import numpy as np

from optrun.analytic.registry import _EPS, AnalyticFunction, _a, _number
from optrun.errors import OptrunError


def _matrix(A) -> np.ndarray:
    try:
        M = np.array(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptrunError(f"model.A: expected a square matrix of numbers (a list of rows), got {A!r}") from None
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise OptrunError(f"model.A: expected a square matrix (a list of d rows of d numbers), got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise OptrunError("model.A: entries must be finite numbers")
    return M


def quadratic(A, b=None, c: float = 0.0) -> AnalyticFunction:
    """f(theta) = 1/2 theta^T A theta + b^T theta + c with A symmetric (any sign), classified exactly.

    grad = A theta + b, Hessian = A. ``b`` defaults to zeros. A must be symmetric up to
    ``1e-12 max|A|`` (then it is symmetrised). Classification by ``eigh(A)`` with the tolerance
    ``tol = d eps max|lambda|`` (the rounding of the eigenvalues):

    * every lambda > tol (positive definite): theta* = -A^-1 b by a linear solve (no inverse),
      f* = c + b^T theta* / 2;
    * every lambda >= -tol with some |lambda| <= tol (PSD, singular): bounded below iff b lies in
      range(A) (its component in the null space is at most ``100 d eps ||b||``); then f* is
      finite and theta* is the minimum-norm minimiser ``-A^+ b`` (pseudo-inverse from the same
      eigendecomposition), note "minimiser not unique"; otherwise unbounded below;
    * some lambda < -tol (indefinite or negative): unbounded below, f* None.
    """
    M = _matrix(A)
    d = M.shape[0]
    scale = float(np.max(np.abs(M)))
    if np.any(np.abs(M - M.T) > 1e-12 * scale):
        i, j = np.unravel_index(int(np.argmax(np.abs(M - M.T))), M.shape)
        raise OptrunError(f"model.A: must be symmetric; A[{i}][{j}] = {M[i, j]:g} but A[{j}][{i}] = {M[j, i]:g}")
    M = 0.5 * (M + M.T)
    bv = _vector(b, d)
    cv = _number(c, "model.c")
    minimizers, f_star, note, convex = _classify(M, bv, cv)

    def value(t):
        t = _a(t)
        return float(0.5 * t @ (M @ t) + bv @ t + cv)

    center = minimizers[0] if minimizers else np.zeros(d)
    init = np.ones(d) if not minimizers or np.any(center != 1.0) else np.zeros(d)
    half = max(3.0, 1.5 * float(np.max(np.abs(init - center))))
    return AnalyticFunction(
        "quadratic", d, value, lambda t: M @ _a(t) + bv, lambda t: M.copy(), minimizers=minimizers,
        f_star=f_star, note=note, init=init, frame=tuple((float(x - half), float(x + half)) for x in center),
        convex=convex, params={"A": M.tolist(), "b": bv.tolist(), "c": cv},
    )


def _vector(b, d: int) -> np.ndarray:
    """``b`` as d finite float64 numbers (zeros when None)."""
    if b is None:
        return np.zeros(d)
    try:
        bv = np.array(b, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptrunError(f"model.b: expected a list of {d} numbers, got {b!r}") from None
    if bv.shape != (d,):
        raise OptrunError(f"model.b: expected {d} numbers (A is {d} x {d}), got shape {bv.shape}")
    if not np.all(np.isfinite(bv)):
        raise OptrunError("model.b: entries must be finite numbers")
    return bv


def _classify(M: np.ndarray, bv: np.ndarray, cv: float) -> tuple[tuple, float | None, str, bool]:
    """``(minimizers, f_star, note, convex)`` of 1/2 t^T M t + bv^T t + cv from ``eigh(M)``
    (the three cases of :func:`quadratic`)."""
    d = M.shape[0]
    lam, V = np.linalg.eigh(M)
    tol = d * _EPS * float(np.max(np.abs(lam)))
    if lam[0] > tol:
        theta = -np.linalg.solve(M, bv)
        return (theta,), cv + 0.5 * float(bv @ theta), "", True
    if lam[0] >= -tol:
        pos = lam > tol
        b_null = V[:, ~pos] @ (V[:, ~pos].T @ bv)
        if float(np.linalg.norm(b_null)) <= 100 * d * _EPS * float(np.linalg.norm(bv)):
            theta = -(V[:, pos] @ ((V[:, pos].T @ bv) / lam[pos]))
            note = (f"A is singular (rank {int(pos.sum())} < {d}): minimiser not unique; theta* is the "
                    "minimum-norm minimiser -A^+ b")
            return (theta,), cv + 0.5 * float(bv @ theta), note, True
        return (), None, "A is singular and b is not in the range of A: unbounded below (f* = -inf)", True
    return (), None, (f"A has a negative eigenvalue ({lam[0]:.4g}): f is unbounded below (f* = -inf); "
                      "its stationary points are not minima"), False
