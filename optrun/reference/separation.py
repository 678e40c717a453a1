"""Does the logistic MLE exist? Linear separation decided exactly by a phase-1 simplex (no scipy).

With ``a_i = (2 y_i - 1) x~_i`` (``x~ = [x, 1]`` with an intercept): the data are *strictly*
separable when some theta has ``a_i^T theta > 0`` for every row (Gordan's alternative, decided by
:func:`_lp_separable`), and the unpenalised MLE fails to exist when some direction d has
``A d >= 0``, ``A d != 0`` (Albert & Anderson 1984; Stiemke's alternative, :func:`_separation`,
which also peels off the rows a direction of recession separates: quasi-complete separation).
Both are small phase-1 LPs with p (+ 1) equality rows, solved by the dense simplex :func:`_phase1`.
"""

from __future__ import annotations

import numpy as np

_LP_MAX_ENTRIES = 2_000_000  # skip the separability LP beyond n * p entries


def _signed_design(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Rows ``a_i = (2 y_i - 1) x~_i`` scaled to unit length (a positive row scaling changes no
    sign of ``a_i^T d``, so neither separation question), zero rows kept as zeros."""
    n, d = X.shape
    A = np.empty((n, d + (1 if fit_intercept else 0)))
    A[:, :d] = X
    if fit_intercept:
        A[:, d] = 1.0
    A *= (2.0 * y - 1.0)[:, None]
    norm = np.linalg.norm(A, axis=1)
    norm[norm == 0] = 1.0
    return A / norm[:, None]


def _phase1(M: np.ndarray, b: np.ndarray, tol: float = 1e-11) -> tuple[bool, np.ndarray] | None:
    """Is ``{x >= 0 : M x = b}`` non-empty? Dense phase-1 simplex (Dantzig's rule, Bland's on stalls).

    Returns ``(True, x)`` with a feasible x, or ``(False, z)`` with a Farkas certificate:
    ``M^T z >= 0`` and ``b^T z < 0``. ``None`` if the pivot budget runs out. M is m x N with m
    small (the number of parameters, + 1): one pivot costs O(m (N + m)). The entering column is
    the most negative reduced cost; after m degenerate pivots in a row, Bland's rule (the lowest
    eligible index enters and leaves), which cannot cycle, takes over until a pivot makes
    progress. That matters here: the separation LPs are highly degenerate (almost every
    right-hand side is 0).
    """
    m, N = M.shape
    sgn = np.where(b < 0, -1.0, 1.0)
    T = np.hstack([M * sgn[:, None], np.eye(m)])
    rhs = b * sgn
    basis = np.arange(N, N + m)
    cost = np.zeros(N + m)
    cost[N:] = 1.0
    scale = max(1.0, float(np.abs(rhs).sum()))
    stall = 0  # consecutive degenerate pivots: after m of them, Bland's rule takes over
    red = cost - cost[basis] @ T  # reduced costs, updated with every pivot like a tableau row
    for _ in range(50 * (N + m)):
        enter = np.flatnonzero(red < -tol)
        if enter.size == 0:  # optimal by the updated row: confirm with freshly computed costs
            red = cost - cost[basis] @ T
            enter = np.flatnonzero(red < -tol)
        if enter.size and stall < m:  # Dantzig: the steepest reduced cost (fewer pivots)
            enter = enter[np.argmin(red[enter])][None]
        if enter.size == 0:
            value = float(cost[basis] @ rhs)
            if value <= 1e-9 * scale:
                x = np.zeros(N + m)
                x[basis] = rhs
                return True, x[:N]
            y = cost[basis] @ T[:, N:]  # simplex multipliers c_B^T B^-1
            return False, -sgn * y
        j = int(enter[0])
        col = T[:, j]
        rows = np.flatnonzero(col > tol)
        ratios = rhs[rows] / col[rows]
        best = ratios.min()
        tied = rows[ratios <= best + 1e-12 * max(1.0, abs(best))]
        i = int(tied[np.argmin(basis[tied])])
        stall = stall + 1 if best <= 0.0 else 0
        piv = T[i, j]
        T[i] /= piv
        rhs[i] /= piv
        f = T[:, j].copy()
        f[i] = 0.0
        T -= np.outer(f, T[i])
        rhs -= f * rhs[i]
        red -= red[j] * T[i]
        np.maximum(rhs, 0.0, out=rhs)  # exact arithmetic keeps rhs >= 0; drop rounding below 0
        basis[i] = j
    return None


def _separation(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> dict | None:
    """Does the logistic MLE (no penalty) exist? Exact answer by linear programming, no scipy.

    With ``a_i = (2y_i - 1) x~_i``, the MLE does not exist iff some d has ``A d >= 0`` and
    ``A d != 0`` (Albert & Anderson 1984; d is a direction along which every row's loss is
    non-increasing and some row's loss goes to 0). By Stiemke's theorem of the alternative this
    fails iff some ``lambda > 0`` (every entry) has ``A^T lambda = 0``; scaled, ``lambda >= 1``,
    a phase-1 LP with only p equality rows: :func:`_phase1`. Its Farkas certificate is such a d.

    The rows a direction of recession can separate (``a_i^T d > 0``) are found by peeling: drop
    the rows the certificate separates and ask again on the rest, until the rest admits an MLE.
    Returns None when undecided (too big, or the pivot budget ran out); else ``{"kind": "none" |
    "quasi" | "complete", "separated_rows": bool mask, "direction": d or None}``. "complete"
    means every row is separated (strict linear separation, f* = 0).
    """
    n, d = X.shape
    p = d + (1 if fit_intercept else 0)
    if n * p > _LP_MAX_ENTRIES or n == 0:
        return None
    A = _signed_design(X, y, fit_intercept)
    rest = np.ones(n, dtype=bool)
    total = np.zeros(p)
    while rest.any():
        Ar = A[rest]
        out = _phase1(Ar.T, -Ar.sum(axis=0))  # lambda = 1 + x >= 1 with A^T lambda = 0
        if out is None:
            return None
        feasible, z = out
        if feasible:
            break
        nz = float(np.linalg.norm(z))
        if not nz > 0:
            return None
        z = z / nz
        margins = Ar @ z
        tol = 1e-9
        if margins.min() < -tol or margins.max() <= tol:
            return None  # the certificate does not hold up to rounding: undecided
        hit = np.flatnonzero(rest)[margins > tol]
        # one direction for all stages: c * total + z, c large enough that the rows separated
        # at earlier stages (a_i^T total > 0) stay separated whatever z does to them
        done = ~rest
        if done.any():
            mt, mz = A[done] @ total, A[done] @ z
            c = max(1.0, 2.0 * float(np.max(-mz / mt)))
            total = c * total + z
        else:
            total = z
        rest[hit] = False
    separated = ~rest
    if not separated.any():
        return {"kind": "none", "separated_rows": separated, "direction": None}
    kind = "complete" if separated.all() else "quasi"
    return {"kind": kind, "separated_rows": separated, "direction": total / np.linalg.norm(total)}


def _lp_separable(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> bool | None:
    """Is there theta with ``(2y_i - 1) z_i > 0`` for every row (strict linear separation)?

    By Gordan's theorem of the alternative, exactly when no ``lambda >= 0`` with ``sum lambda =
    1`` has ``A^T lambda = 0`` (``a_i = (2y_i - 1) x~_i``): a phase-1 LP with p + 1 rows, solved
    by :func:`_phase1` (no scipy). ``None`` when the problem is too big or undecided.
    """
    n, d = X.shape
    p = d + (1 if fit_intercept else 0)
    if n * p > _LP_MAX_ENTRIES or n == 0:
        return None
    A = _signed_design(X, y, fit_intercept)
    M = np.vstack([A.T, np.ones((1, n))])
    b = np.zeros(p + 1)
    b[p] = 1.0
    out = _phase1(M, b)
    if out is None:
        return None
    return not out[0]
