"""An exact convex QP solver (primal active set) and a Lawson–Hanson NNLS, NumPy only.

    minimise  ½ xᵀHx + cᵀx   subject to   E x = e,   C x ≤ d,        H symmetric PSD

``solve_qp`` is the primal active-set method of Nocedal & Wright, *Numerical Optimization*
(2nd ed.), Algorithm 16.3, in its null-space form:

* a **feasible start** comes from a phase-1 linear program (same active-set code with H = 0):
  minimise t over (x, t) subject to E x = e, C x − t ≤ d, t ≥ 0, started from the minimum-norm
  solution of E x = e; t* > 0 proves the set empty (``OptrunError`` with t*, the smallest
  possible largest violation);
* each iteration minimises the quadratic on the working set W (equalities plus some
  inequalities held as equalities): with Z an orthonormal basis of null(A_W) (from an SVD) the
  step is p = −Z (ZᵀHZ)⁺ Zᵀg. **Singular H** (collinear least-squares columns, more parameters
  than rows, linear programs): where the reduced Hessian ZᵀHZ has a zero eigenvalue along which
  the gradient still descends, the step is that ray p = −Z_0 Z_0ᵀ g (no curvature), followed
  until a constraint blocks; none blocking means the problem is unbounded below
  (``OptrunError``). Otherwise the pseudo-inverse gives the minimum-norm step (no
  regularisation is added). ``min_norm_qp`` then picks the minimum-norm point of the optimal set;
* blocking constraints are added, the inequality with the most negative multiplier is dropped;
  a blocking row always has a_iᵀp > 0 while A_W p = 0, so W stays linearly independent; after
  ``2 n`` consecutive zero-length (degenerate) steps Bland's smallest-index rule is used for
  both choices, which rules out cycling, so the method terminates finitely;
* at the end the working-set system is re-solved once from the final point (one Newton
  correction) and the multipliers come from a least-squares solve of A_Wᵀ(λ, ν) = −(Hx + c).

Equality rows are first reduced to an orthonormal basis of their row space (SVD); redundant
consistent rows are allowed, inconsistent ones raise ``OptrunError``. Multipliers are returned
for the rows as given (for redundant rows: the minimum-norm choice). Rows of C are scaled to unit
norm internally (better conditioning of the ratio test); multipliers are scaled back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optrun.errors import OptrunError

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class QPResult:
    """The solution ``x``, multipliers ``lam`` (≥ 0, one per row of C) and ``nu`` (one per row of
    E), ``active`` (indices of the inequality rows in the final working set), ``iterations`` (of
    the main active-set loop, phase 1 excluded) and ``value`` = ½xᵀHx + cᵀx."""

    x: np.ndarray
    lam: np.ndarray
    nu: np.ndarray
    active: tuple
    iterations: int
    value: float


class QPUnbounded(OptrunError):
    """The quadratic program is unbounded below on its feasible set."""


class QPInfeasible(OptrunError):
    """The feasible set of the quadratic program is empty."""


def _as2d(M, n):
    if M is None:
        return np.zeros((0, n))
    M = np.asarray(M, dtype=np.float64)
    return M.reshape(-1, n) if M.size else np.zeros((0, n))


def _as1d(v, m):
    if v is None:
        return np.zeros(m)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    return v if v.size else np.zeros(0)


def _null_space(A: np.ndarray, n: int) -> np.ndarray:
    """Orthonormal basis of null(A) (A has independent rows): the last n − m right singular vectors."""
    if A.shape[0] == 0:
        return np.eye(n)
    _, _, Vt = np.linalg.svd(A, full_matrices=True)
    return Vt[A.shape[0]:].T


def _reduce_equalities(E: np.ndarray, e: np.ndarray, where: str):
    """E x = e  →  Q x = q with Q orthonormal rows spanning row(E); also the map back of multipliers.

    E = U S Vᵀ; Q = V_rᵀ, q = S_r⁻¹ U_rᵀ e; Eᵀν = Qᵀν̃ for ν = U_r S_r⁻¹ ν̃ (minimum-norm ν).
    Consistency: the residual of the least-squares solution must vanish (rank[E, e] = rank E).
    """
    n = E.shape[1]
    if E.shape[0] == 0:
        return np.zeros((0, n)), np.zeros(0), np.zeros((0, 0))
    U, s, Vt = np.linalg.svd(E, full_matrices=False)
    tol = max(E.shape) * _EPS * (s[0] if s.size else 0.0)
    r = int(np.sum(s > tol))
    Ur, sr = U[:, :r], s[:r]
    q = (Ur.T @ e) / sr
    x0 = Vt[:r].T @ q
    res = E @ x0 - e
    scale = max(1.0, float(np.max(np.abs(e))) if e.size else 1.0, float(np.max(np.abs(E)) * np.max(np.abs(x0)) if x0.size else 0.0))
    if np.max(np.abs(res), initial=0.0) > 1e3 * max(E.shape) * _EPS * scale:
        raise QPInfeasible(
            f"{where}: the equalities are inconsistent (rank [A, b] > rank A = {r}; "
            f"least-squares residual {np.max(np.abs(res)):.3g})"
        )
    back = Ur / sr  # ν = back @ ν̃
    return Vt[:r], q, back


def _active_set(H, c, Q, q, C, d, x, max_iter, where):
    """The main loop of Alg. 16.3 from a feasible x; returns x, working set, multipliers, iterations.

    Q has orthonormal independent rows (the reduced equalities), C has unit-norm rows.
    """
    n = x.size
    me = Q.shape[0]
    W: list[int] = []
    Hn = max(1.0, float(np.max(np.abs(H))) if H.size else 1.0)
    at_min = False
    zero_steps = 0
    bland = False
    for it in range(1, max_iter + 1):
        AW = np.vstack([Q, C[W]]) if W else Q
        g = H @ x + c
        if not at_min:
            p, ray = _eqp_step(H, c, g, AW, x, Hn)
            if np.max(np.abs(p), initial=0.0) <= 10 * _EPS * (1.0 + float(np.max(np.abs(x), initial=0.0))):
                at_min = True
            else:
                alpha, block = _ratio_test(C, d, x, p, W, ray)
                if block is None and ray:
                    raise QPUnbounded(f"{where}: the problem is unbounded below on the feasible set")
                x = x + alpha * p
                zero_steps = zero_steps + 1 if alpha == 0.0 else 0
                bland = bland or zero_steps > 2 * n
                if block is not None and (ray or alpha < 1.0):
                    W.append(block)
                    at_min = False
                else:
                    at_min = not ray
                continue
        # x minimises the quadratic on W: multipliers A_Wᵀ(ν, λ_W) = −g.
        mult = np.linalg.lstsq(AW.T, -g, rcond=None)[0] if AW.shape[0] else np.zeros(0)
        lamW = mult[me:]
        if not W:
            return x, W, mult, it
        lam_tol = 1e3 * n * _EPS * max(1.0, float(np.max(np.abs(g))), float(np.max(np.abs(mult))))
        neg = np.flatnonzero(lamW < -lam_tol)
        if neg.size == 0:
            return x, W, mult, it
        j = int(neg[np.argmin([W[k] for k in neg])]) if bland else int(np.argmin(lamW))
        W.pop(j)
        at_min = False
    raise OptrunError(f"{where}: the active-set QP did not terminate in {max_iter} iterations (degenerate problem?)")


def _eqp_step(H, c, g, AW, x, Hn):
    """The step p of the equality-constrained subproblem on the working set: (p, ray).

    With Z a basis of null(A_W) and Zᵀ H Z = V diag(ev) Vᵀ: p = −Z V ev⁻¹ Vᵀ Zᵀ g over the
    curved directions, unless g has a component along a flat one (ev ≈ 0, relative 1e3·n·eps):
    then p = −Z V_flat V_flatᵀ Zᵀ g is a ray of constant curvature 0 and decreasing f (``ray``).
    """
    n = x.size
    Z = _null_space(AW, n)
    if not Z.shape[1]:
        return np.zeros(n), False
    ev, V = np.linalg.eigh(Z.T @ H @ Z)
    gq = V.T @ (Z.T @ g)
    flat = ev <= 1e3 * n * _EPS * Hn
    gscale = 1e3 * n * _EPS * max(1.0, float(np.max(np.abs(c))) if c.size else 1.0, Hn * float(np.max(np.abs(x))))
    if np.any(flat) and np.linalg.norm(gq[flat]) > gscale:
        return -(Z @ (V[:, flat] @ gq[flat])), True
    u = -(V[:, ~flat] @ (gq[~flat] / ev[~flat]))
    return Z @ u, False


def _ratio_test(C, d, x, p, W, ray):
    """Ratio test over the inequalities not in W (a_iᵀp > 0 may block): (alpha, block).

    alpha = min(1, min_i slack_i / a_iᵀp) (no cap of 1 along a ray); ``block`` is the blocking
    row, None when none blocks.
    """
    Cp = C @ p
    slack = d - C @ x
    cand = [i for i in range(C.shape[0]) if i not in W and Cp[i] > 1e3 * _EPS * np.linalg.norm(p)]
    alpha, block = (np.inf if ray else 1.0), None
    for i in cand:  # increasing index: ties keep the smallest index (Bland)
        a = max(slack[i], 0.0) / Cp[i]
        if a < alpha:
            alpha, block = a, i
    return alpha, block


def _polish(H, c, Q, q, C, d, x, W):
    """One Newton correction of x on the final working set, then the multipliers (least squares)."""
    n = x.size
    AW = np.vstack([Q, C[W]]) if W else Q
    bW = np.concatenate([q, d[W]]) if W else q
    if AW.shape[0]:
        x = x - np.linalg.lstsq(AW, AW @ x - bW, rcond=None)[0]
    Z = _null_space(AW, n)
    if Z.shape[1]:
        g = H @ x + c
        ev, V = np.linalg.eigh(Z.T @ H @ Z)
        Hn = max(1.0, float(np.max(np.abs(H))) if H.size else 1.0)
        keep = ev > 1e3 * n * _EPS * Hn
        gq = V.T @ (Z.T @ g)
        x = x - Z @ (V[:, keep] @ (gq[keep] / ev[keep]))
    g = H @ x + c
    mult = np.linalg.lstsq(AW.T, -g, rcond=None)[0] if AW.shape[0] else np.zeros(0)
    return x, mult


def phase_one(E=None, e=None, C=None, d=None, n=None, *, where="constraints", x0=None):
    """A feasible point of {E x = e, C x ≤ d} or ``QPInfeasible`` with the reason.

    Phase-1 LP: minimise t over (x, t) s.t. E x = e, C x − t ≤ d, −t ≤ 0, from the minimum-norm
    solution of E x = e (with t its largest violation), solved by the same active-set loop with a
    zero Hessian. The set is empty iff t* > 0 (tolerance: 1e-9 relative to the data's scale).
    """
    if n is None:
        n = np.asarray(C if C is not None and np.size(C) else E).shape[-1]
    E, C = _as2d(E, n), _as2d(C, n)
    e, d = _as1d(e, E.shape[0]), _as1d(d, C.shape[0])
    Q, q, _ = _reduce_equalities(E, e, where)
    C, d, _ = _normalise_rows(C, d, where)
    return _feasible_start(Q, q, C, d, n, where, x0)


def _normalise_rows(C, d, where):
    norms = np.linalg.norm(C, axis=1)
    zero = norms == 0.0
    if np.any(zero & (d < 0)):
        i = int(np.flatnonzero(zero & (d < 0))[0])
        raise QPInfeasible(f"{where}: row {i} reads 0 ≤ {d[i]:g}, which is false")
    keep = ~zero
    scale = np.where(keep, norms, 1.0)
    return C[keep] / scale[keep, None], d[keep] / scale[keep], (keep, scale)


def _feasible_start(Q, q, C, d, n, where, x0=None):
    x = Q.T @ q if x0 is None else np.asarray(x0, dtype=np.float64).copy()
    if Q.shape[0] and x0 is not None:
        x = x - Q.T @ (Q @ x - q)
    scale = max(1.0, float(np.max(np.abs(d), initial=0.0)), float(np.max(np.abs(x), initial=0.0)))
    viol = float(np.max(C @ x - d, initial=0.0))
    if viol <= 1e-12 * scale:
        return x
    # Phase-1 LP in (x, t).
    Cp = np.hstack([C, -np.ones((C.shape[0], 1))])
    Cp = np.vstack([Cp, np.r_[np.zeros(n), -1.0]])
    dp = np.r_[d, 0.0]
    norms = np.linalg.norm(Cp, axis=1)
    Cp, dp = Cp / norms[:, None], dp / norms
    Qp = np.hstack([Q, np.zeros((Q.shape[0], 1))])
    cp = np.r_[np.zeros(n), 1.0]
    xt, _, _, _ = _active_set(np.zeros((n + 1, n + 1)), cp, Qp, q, Cp, dp, np.r_[x, viol], 50 * (n + C.shape[0] + 2), where)
    t = xt[-1]
    if t > 1e-9 * scale:
        raise QPInfeasible(f"{where}: the feasible set is empty (no point violates the constraints by less than {t:.6g})")
    x = xt[:n]
    return x


def solve_qp(H, c, E=None, e=None, C=None, d=None, *, x0=None, max_iter=None, where="qp") -> QPResult:
    """Minimise ½xᵀHx + cᵀx s.t. E x = e, C x ≤ d by the primal active-set method (module doc).

    ``H`` must be symmetric positive semidefinite (``OptrunError`` if it has an eigenvalue below
    −1e-10·‖H‖). ``x0`` (optional) is a starting guess; it is made feasible by phase 1 if needed.
    Raises ``QPInfeasible`` (empty feasible set, inconsistent equalities) or ``QPUnbounded``.
    """
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    n = c.size
    H = np.asarray(H, dtype=np.float64).reshape(n, n)
    H = 0.5 * (H + H.T)
    if n and np.linalg.eigvalsh(H)[0] < -1e-10 * max(1.0, float(np.max(np.abs(H)))):
        raise OptrunError(f"{where}: the quadratic is not convex (its Hessian has a negative eigenvalue)")
    E0, C0 = _as2d(E, n), _as2d(C, n)
    e0, d0 = _as1d(e, E0.shape[0]), _as1d(d, C0.shape[0])
    Q, q, back = _reduce_equalities(E0, e0, where)
    C, dd, (keep, scale) = _normalise_rows(C0, d0, where)
    x = _feasible_start(Q, q, C, dd, n, where, x0)
    if max_iter is None:
        max_iter = 50 * (n + C.shape[0] + 2)
    x, W, _, iters = _active_set(H, c, Q, q, C, dd, x, max_iter, where)
    x, mult = _polish(H, c, Q, q, C, dd, x, W)
    me = Q.shape[0]
    lam_kept = np.zeros(C.shape[0])
    lam_kept[W] = np.maximum(mult[me:], 0.0)
    lam = np.zeros(C0.shape[0])
    lam[np.flatnonzero(keep)] = lam_kept / scale[keep]
    nu = back @ mult[:me] if E0.shape[0] else np.zeros(0)
    active = tuple(int(i) for i in sorted(np.flatnonzero(keep)[W]))
    return QPResult(x, lam, nu, active, iters, float(0.5 * x @ H @ x + c @ x))


def min_norm_qp(H, c, E=None, e=None, C=None, d=None, *, where="qp") -> QPResult:
    """``solve_qp`` and, when H is singular, the minimum-norm point of the optimal set.

    For a convex QP, Hx and cᵀx are constant on the optimal set, which is therefore
    {feasible x : Hx = Hx*, cᵀx = cᵀx*}; the second QP minimises ½‖x‖² over it (strictly convex,
    so unique). The multipliers of the first solve are valid at every optimum (the multiplier set
    of a convex program does not depend on the primal solution) and are returned with it.
    """
    res = solve_qp(H, c, E, e, C, d, where=where)
    n = res.x.size
    Hs = 0.5 * (np.asarray(H, float) + np.asarray(H, float).T)
    ev = np.linalg.eigvalsh(Hs) if n else np.zeros(0)
    if n == 0 or ev[0] > 1e-9 * max(1.0, ev[-1]):
        return res
    E0 = _as2d(E, n)
    e0 = _as1d(e, E0.shape[0])
    # Range of H by its eigenvectors (rank-revealing); the rows of the new equalities.
    w, V = np.linalg.eigh(Hs)
    R = V[:, w > 1e-9 * max(1.0, w[-1])].T
    c = np.asarray(c, float)
    E2 = np.vstack([E0, R, c[None, :]])
    e2 = np.r_[e0, R @ res.x, c @ res.x]
    try:
        sec = solve_qp(np.eye(n), np.zeros(n), E2, e2, C, d, x0=res.x, where=where)
    except OptrunError:
        return res
    x = sec.x
    return QPResult(x, res.lam, res.nu, res.active, res.iterations + sec.iterations, float(0.5 * x @ Hs @ x + c @ x))


def nnls(A, b, max_iter=None) -> tuple[np.ndarray, float]:
    """Lawson–Hanson NNLS: argmin ‖Ax − b‖₂ s.t. x ≥ 0; returns (x, ‖Ax − b‖₂).

    Lawson & Hanson, *Solving Least Squares Problems* (1974), Ch. 23: grow the passive set P by
    the index of the largest positive dual w = Aᵀ(b − Ax); solve the unconstrained least squares
    on P (``lstsq``); if it leaves the positive orthant, step back to the boundary and drop the
    indices that hit zero. Same interface as ``scipy.optimize.nnls``.
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    m, n = A.shape
    x = np.zeros(n)
    P = np.zeros(n, dtype=bool)
    if max_iter is None:
        max_iter = 3 * n + 10
    tol = 10 * max(m, n) * _EPS * max(1.0, float(np.linalg.norm(A, 1)) * max(1.0, float(np.max(np.abs(b), initial=0.0))))
    w = A.T @ (b - A @ x)
    it = 0
    while (~P).any() and np.max(np.where(P, -np.inf, w)) > tol:
        it += 1
        if it > max_iter:
            break
        P[int(np.argmax(np.where(P, -np.inf, w)))] = True
        while True:
            s = np.zeros(n)
            s[P] = np.linalg.lstsq(A[:, P], b, rcond=None)[0]
            if np.all(s[P] > 0):
                x = s
                break
            bad = P & (s <= 0)
            alpha = np.min(x[bad] / (x[bad] - s[bad]))
            x = x + alpha * (s - x)
            P &= x > tol
            x[~P] = 0.0
        w = A.T @ (b - A @ x)
    return x, float(np.linalg.norm(A @ x - b))
