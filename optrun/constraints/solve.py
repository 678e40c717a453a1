"""The constrained reference: θ*, f*, multipliers, KKT residuals and the Lagrange dual.

Problem (DESIGN §9.3): min f(θ) s.t. g(θ) ≤ 0, Aθ = b, with the inequalities of
``ConstraintSet`` and L(θ, λ, ν) = f + λᵀg + νᵀ(Aθ − b), λ ≥ 0.

How θ* is found (all exact to rounding, certified by the KKT residuals):

* **Quadratic f** (least squares — linear model with mse/half_mse and any l2 — and
  f = ½θᵀQθ + qᵀθ + c): f(θ) = f(0) + ∇f(0)ᵀθ + ½θᵀHθ with the constant Hessian H of
  ``Objective.hessian``; one QP (``qp.solve_qp``) over the polyhedral part. Singular H (collinear
  columns, p > n): θ* is the minimum-norm point of the optimal set (``qp.min_norm_qp``; no
  regularisation), the convention of the unconstrained reference.
* **Logistic (bce)**: SQP with the exact Hessian — each Newton step solves the QP
  min ∇fᵀd + ½dᵀ∇²f d over the linear constraints at θ_k + d (iterates stay feasible because the
  set is convex), then a backtracking (Armijo, halving) line search on f along d. Stops when the
  step is at rounding level; the multipliers are those of the last QP (stationarity residual
  ‖∇²f d‖). No minimiser (e.g. separable data in an unbounded feasible set) → ``OptrunError``.
* **L2 ball** (ord 2, not polyhedral), with anything else: ‖w‖₂ − r ≤ 0 has multiplier μ; with
  η = μ/‖w*‖₂ the optimum minimises f + (η/2)‖w‖² over the linear part (same KKT system), and
  ‖w(η)‖ is non-increasing in η. So: solve with η = 0; if ‖w‖ ≤ r, μ = 0; else find η with
  ‖w(η)‖ = r by Illinois regula falsi on ψ(η) = 1/‖w(η)‖ − 1/r (nearly linear in η, like the
  trust-region secular equation), bracketed by doubling, to a bracket width of a few ulps; each
  evaluation is an exact inner QP/SQP. Then μ = η‖w‖. Exact (no Dykstra).
* **L1 / L∞ balls** are polyhedral (``ConstraintSet.polyhedron``) and go into the QP directly.

The dual function d(λ, ν) = inf_θ L: for quadratic f with linear constraints (and μ = 0) the
closed form const − ½qᵀH⁺q when q ∈ range(H), −∞ otherwise; with an active L1/L∞ norm
multiplier the inner infimum is a QP (lifted norm), −∞ when unbounded; with an active L2 norm
multiplier and for logistic f: an inner damped Newton minimisation of L in θ (logistic, μ = 0 or
ord 2 via a smooth inner search is NOT done: ``None``). Under Slater, d* = d(λ*, ν*) = p*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optrun.constraints.qp import QPUnbounded, min_norm_qp, nnls, phase_one, solve_qp
from optrun.constraints.sets import ConstraintSet
from optrun.errors import OptrunError

_EPS = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------------------------
# A quadratic objective f = ½θᵀAθ + bᵀθ + c (model: quadratic), duck-typed like Objective
# --------------------------------------------------------------------------------------------


class NoMinimiser(OptrunError):
    """The objective has no minimiser on the feasible set (unbounded below or not attained)."""


@dataclass(frozen=True, eq=False)
class QuadraticObjective:
    """f(θ) = ½ θᵀAθ + bᵀθ + c (A symmetrised); X and y are ignored."""

    A: np.ndarray
    b: np.ndarray
    c: float = 0.0

    def value_and_grad(self, theta, X=None, y=None):
        A = 0.5 * (np.asarray(self.A, float) + np.asarray(self.A, float).T)
        t = np.asarray(theta, float)
        g = A @ t + np.asarray(self.b, float)
        return float(0.5 * t @ A @ t + np.asarray(self.b, float) @ t + self.c), g

    def value(self, theta, X=None, y=None):
        return self.value_and_grad(theta)[0]

    def grad(self, theta, X=None, y=None):
        return self.value_and_grad(theta)[1]

    def hessian(self, theta=None, X=None, y=None):
        return 0.5 * (np.asarray(self.A, float) + np.asarray(self.A, float).T)


def _kind(obj) -> str:
    if getattr(obj, "model", None) == "quadratic" or (hasattr(obj, "A") and hasattr(obj, "b") and not hasattr(obj, "loss")):
        return "quadratic"
    if getattr(obj, "l1", 0.0):
        raise OptrunError("constraints: the constrained reference does not handle loss.l1 > 0 (use the l2 penalty or a norm constraint)")
    if obj.model == "linear":
        return "quadratic"
    if obj.model == "logistic" and obj.loss == "bce":
        return "logistic"
    raise OptrunError(f"constraints: no exact constrained reference for model {obj.model} with loss {obj.loss} (not convex)")


def _quadratic_parts(obj, X, y, p):
    """(H, c, f0): f(θ) = f0 + cᵀθ + ½θᵀHθ, from the objective's Hessian and its gradient at 0."""
    z = np.zeros(p)
    f0, c = obj.value_and_grad(z, X, y)
    H = np.asarray(obj.hessian(z, X, y), dtype=np.float64)
    return 0.5 * (H + H.T), np.asarray(c, dtype=np.float64), float(f0)


# --------------------------------------------------------------------------------------------
# The core: minimise over the feasible set
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Solution:
    """θ, λ (order of ``cs.labels()``), ν, the norm subgradient s (p-vector, μ s is the norm
    term of stationarity), the L2-ball parameter η = μ/‖w‖ (0 otherwise) and iterations."""

    theta: np.ndarray
    lam: np.ndarray
    nu: np.ndarray
    subgradient: np.ndarray
    eta: float
    iterations: int


def _rows_to_lam(cs: ConstraintSet, rows, lam_rows, theta, eta):
    """QP row multipliers → λ in label order, plus the norm subgradient."""
    p = cs.p
    idx = {("lower", i): k for k, (kind, i) in enumerate(cs.labels()) if kind == "lower"}
    idx.update({("upper", i): k for k, (kind, i) in enumerate(cs.labels()) if kind == "upper"})
    idx.update({("inequality", i): k for k, (kind, i) in enumerate(cs.labels()) if kind == "inequality"})
    lam = np.zeros(len(cs.labels()))
    plus, minus = np.zeros(p), np.zeros(p)
    mu_sum = 0.0
    for (kind, i), v in zip(rows, lam_rows):
        if kind in ("lower", "upper", "inequality"):
            lam[idx[(kind, i)]] = v
        elif kind == "norm+":
            plus[i] += v
        elif kind == "norm-":
            minus[i] += v
        elif kind == "norm":
            mu_sum = v
    s = np.zeros(p)
    if cs.norm_ord is not None:
        k = [j for j, (kind, _) in enumerate(cs.labels()) if kind == "norm"][0]
        if cs.norm_ord == math.inf:
            mu = float(plus.sum() + minus.sum())
        elif cs.norm_ord == 1.0:
            mu = float(mu_sum)
        else:
            w = theta[cs.weight_mask()]
            mu = float(eta * np.linalg.norm(w))
        lam[k] = mu
        if cs.norm_ord == 2.0:
            s = cs.norm_subgradient(theta)
        elif mu > 0:
            s = (plus - minus) / mu
        else:
            s = cs.norm_subgradient(theta)
    return lam, s


def _inner_quadratic(cs, H, c, where):
    """η ↦ exact minimiser of ½θᵀ(H + ηP)θ + cᵀθ over the polyhedral part (QP)."""
    E, e, C, d, n, rows = cs.polyhedron(include_norm=cs.norm_ord != 2.0)
    p = cs.p
    P = np.diag(cs.weight_mask().astype(float))

    def inner(eta, x0=None):
        Hn = np.zeros((n, n))
        Hn[:p, :p] = H + eta * P
        cn = np.r_[c, np.zeros(n - p)]
        ev = np.linalg.eigvalsh(Hn[:p, :p])
        singular = ev[0] <= 1e-9 * max(1.0, ev[-1])
        res = (min_norm_qp if singular else solve_qp)(Hn, cn, E, e, C, d, where=where)
        return res.x[:p], res.lam, res.nu, rows, res.iterations

    return inner


def _inner_logistic(cs, obj, X, y, where, max_iter=100):
    """η ↦ minimiser of f + (η/2)‖w‖² over the polyhedral part by SQP (exact Hessian, Armijo)."""
    E, e, C, d, n, rows = cs.polyhedron(include_norm=cs.norm_ord != 2.0)
    p = cs.p
    mask = cs.weight_mask()
    start = phase_one(E, e, C, d, n, where=where)

    def F(x, eta):
        f, g = obj.value_and_grad(x[:p], X, y)
        w = x[:p][mask]
        gn = np.zeros(n)
        gn[:p] = g
        gn[:p][mask] += eta * w
        return f + 0.5 * eta * float(w @ w), gn

    def inner(eta, x0=None):
        x = start.copy() if x0 is None else np.asarray(x0, float).copy()
        if x0 is not None and x.size != n:
            x = start.copy()
        fx, gx = F(x, eta)
        total = 0
        for it in range(1, max_iter + 1):
            Hn = np.zeros((n, n))
            Hn[:p, :p] = obj.hessian(x[:p], X, y)
            Hn[:p, :p][np.ix_(mask, mask)] += eta * np.eye(int(mask.sum()))
            res = solve_qp(Hn, gx - Hn @ x, E, e, C, d, x0=x, where=where)
            total += res.iterations
            dx = res.x - x
            step = float(np.max(np.abs(dx), initial=0.0))
            if step <= 1e-9 * (1.0 + float(np.max(np.abs(x), initial=0.0))):
                return res.x[:p], res.lam, res.nu, rows, total  # stationarity error O(‖dx‖²)
            slope = float(gx @ dx)
            if -slope <= 10 * _EPS * abs(fx):  # predicted decrease below f's rounding: x + dx is it
                return res.x[:p], res.lam, res.nu, rows, total
            a = 1.0
            while True:
                fn, gn = F(x + a * dx, eta)
                if fn <= fx + 1e-4 * a * slope or a < 1e-12:
                    break
                a *= 0.5
            if a < 1e-12 or fn > fx + 1e3 * _EPS * abs(fx):
                return res.x[:p], res.lam, res.nu, rows, total  # no decrease possible: rounding floor
            x, fx, gx = x + a * dx, fn, gn
            if np.max(np.abs(x)) > 1e8:
                break
        raise NoMinimiser(
            f"{where}: the constrained logistic problem has no minimiser (SQP did not converge; "
            "separable data in an unbounded feasible set?)"
        )

    return inner


def _ball_search(cs, inner, where):
    """Exact L2-ball handling: η = 0, else the root of ψ(η) = 1/‖w(η)‖ − 1/r (module docstring)."""
    mask, r = cs.weight_mask(), cs.radius
    nrm = lambda out: float(np.linalg.norm(out[0][mask]))  # noqa: E731
    try:
        out0 = inner(0.0)
    except (NoMinimiser, QPUnbounded):  # no minimiser without the ball: ‖w(0)‖ = ∞ > r
        out0 = None
    total = 0 if out0 is None else out0[4]
    if out0 is not None and nrm(out0) <= r * (1 + 4 * _EPS):
        return out0, 0.0, total
    psi = lambda out: 1.0 / max(nrm(out), 1e-300) - 1.0 / r  # noqa: E731
    lo, olo, plo = 0.0, out0, (-1.0 / r if out0 is None else psi(out0))
    hi = 1.0
    while True:
        ohi = inner(hi, None if out0 is None else out0[0])
        total += ohi[4]
        phi = psi(ohi)
        if phi >= 0:
            break
        lo, olo, plo = hi, ohi, phi
        hi *= 10.0
        if hi > 1e30:
            raise OptrunError(f"{where}: the L2 ball multiplier search did not bracket (‖w‖ stays above the radius)")
    side = 0
    for _ in range(200):
        if phi == 0.0 or hi - lo <= 4 * _EPS * hi:
            break
        m = hi - phi * (hi - lo) / (phi - plo)
        if not (lo < m < hi):
            m = 0.5 * (lo + hi)
        om = inner(m, ohi[0])
        total += om[4]
        pm = psi(om)
        if pm >= 0:
            hi, ohi, phi = m, om, pm
            if side == 1:
                plo *= 0.5  # Illinois: halve the stale end
            side = 1
        else:
            lo, olo, plo = m, om, pm
            if side == -1:
                phi *= 0.5
            side = -1
    # The end with the smaller |‖w‖ − r| (hi is feasible: ‖w‖ ≤ r).
    best, eta = (ohi, hi) if lo == 0.0 or olo is None or abs(nrm(ohi) - r) <= abs(nrm(olo) - r) else (olo, lo)
    return best, eta, total


def _minimise(cs: ConstraintSet, inner, where) -> Solution:
    if cs.norm_ord == 2.0:
        out, eta, total = _ball_search(cs, inner, where)
    else:
        out = inner(0.0)
        eta, total = 0.0, out[4]
    theta, lam_rows, nu, rows, _ = out
    lam, s = _rows_to_lam(cs, rows, lam_rows, theta, eta)
    return Solution(theta, lam, np.asarray(nu, float), s, eta, total)


def minimise_quadratic(cs: ConstraintSet, H, c, where="constraints") -> Solution:
    """Exact minimiser of ½θᵀHθ + cᵀθ (H PSD) over the feasible set of ``cs`` (with multipliers)."""
    H = np.asarray(H, dtype=np.float64)
    return _minimise(cs, _inner_quadratic(cs, 0.5 * (H + H.T), np.asarray(c, float), where), where)


# --------------------------------------------------------------------------------------------
# KKT residuals and the multipliers of a projected iterate
# --------------------------------------------------------------------------------------------


def _as_lam_nu(cs, multipliers):
    if isinstance(multipliers, dict):
        return cs.unpack(multipliers)
    lam, nu = multipliers
    return np.asarray(lam, float).reshape(-1), np.asarray(nu, float).reshape(-1)


def kkt_residuals(cs: ConstraintSet, grad, theta, multipliers, subgradient=None) -> dict:
    """The four KKT residuals at θ with multipliers (dict of §9.3 or (λ, ν) in label order).

    stationarity = ‖∇f + Σλ_i∇g_i + Aᵀν‖∞ (the norm's ∇g is ``subgradient`` if given, else the
    element of ∂‖w‖ that best cancels the rest, ``ConstraintSet.norm_subgradient``);
    primal_feasibility = largest violation; dual_feasibility = max(0, −min λ);
    complementary_slackness = max |λ_i g_i(θ)|.
    """
    theta = np.asarray(theta, float)
    lam, nu = _as_lam_nu(cs, multipliers)
    labels = cs.labels()
    nk = [k for k, (kind, _) in enumerate(labels) if kind == "norm"]
    lam_wo = lam.copy()
    if nk:
        lam_wo[nk[0]] = 0.0
    J = cs.jac_g(theta)
    rest = np.asarray(grad, float) + J.T @ lam_wo + cs.A.T @ nu
    if nk:
        mu = float(lam[nk[0]])
        s = subgradient if subgradient is not None else cs.norm_subgradient(theta, rest, mu)
        rest = rest + mu * np.asarray(s, float)
    g = cs.g(theta)
    return {
        "stationarity": float(np.max(np.abs(rest), initial=0.0)),
        "primal_feasibility": cs.infeasibility(theta),
        "dual_feasibility": float(max(0.0, -float(np.min(lam, initial=0.0)))),
        "complementary_slackness": float(np.max(np.abs(lam * g), initial=0.0)),
    }


def fit_multipliers(cs: ConstraintSet, grad, theta, active_tol: float = 1e-8) -> dict:
    """Multipliers for a (projected) iterate: argmin ‖∇f + Σλ_i∇g_i + Aᵀν‖₂ s.t. λ ≥ 0 (NNLS).

    Only constraints with g_i(θ) ≥ −active_tol·(1 + |θ|∞) take part (λ_i = 0 for the others, so
    complementary slackness holds). ν is free: it is eliminated by projecting onto the orthogonal
    complement of range(Aᵀ), then recovered by least squares. Norm: ord 2 the column w/‖w‖; ord ∞
    one column sign(w_j)e_j per tied largest |w_j| (μ = their sum, an exact parametrisation of
    μ∂‖w‖∞); ord 1 the column sign(w), and when some w_j = 0 the terms μ s_j ∈ [−μ, μ] there are free:
    then a small bounded least squares (active-set QP) replaces the NNLS. The 2-norm is minimised; the reported residual is the ∞-norm.
    """
    theta = np.asarray(theta, float)
    grad = np.asarray(grad, float)
    p, labels = cs.p, cs.labels()
    g = cs.g(theta)
    tol = active_tol * (1.0 + float(np.max(np.abs(theta), initial=0.0)))
    J = cs.jac_g(theta)
    cols, owner = [], []
    for k, (kind, _) in enumerate(labels):
        if g[k] < -tol:
            continue
        if kind != "norm":
            cols.append(J[k]); owner.append(k)
            continue
        w = theta[cs.weight_mask()]
        widx = np.flatnonzero(cs.weight_mask())
        if cs.norm_ord == 2.0 and np.linalg.norm(w) > 0:
            cols.append(cs.norm_subgradient(theta)); owner.append(k)
        elif cs.norm_ord == 1.0:
            col = np.zeros(p); col[widx] = np.sign(cs.norm_subgradient(theta)[widx])
            cols.append(col); owner.append(k)
        elif cs.norm_ord == math.inf and w.size:
            big = np.max(np.abs(w))
            for j in np.flatnonzero(np.abs(w) >= big - 1e-9 * max(1.0, big)):
                col = np.zeros(p); col[widx[j]] = np.sign(w[j]) if w[j] != 0 else 1.0
                cols.append(col); owner.append(k)
    M = np.array(cols).T.reshape(p, -1)
    A = np.asarray(cs.A)
    if A.shape[0]:
        U, s, _ = np.linalg.svd(A.T, full_matrices=False)
        U = U[:, s > max(A.shape) * _EPS * (s[0] if s.size else 0)]
        proj = lambda v: v - U @ (U.T @ v)  # noqa: E731
    else:
        proj = lambda v: v  # noqa: E731
    lam = np.zeros(len(labels))
    zero_l1 = np.zeros(0, dtype=int)
    if cs.norm_ord == 1.0 and any(labels[k][0] == "norm" for k in owner):
        s0 = cs.norm_subgradient(theta)
        zero_l1 = np.flatnonzero(cs.weight_mask() & (s0 == 0))
    if zero_l1.size:
        # ℓ1 with zero weights: μ s_j is free in [−μ, μ] there, so a bounded least squares
        # (a small QP over λ ≥ 0, β with |β_j| ≤ μ, ν free) replaces the NNLS.
        k_norm = owner.index([k for k, (kind, _) in enumerate(labels) if kind == "norm"][0])
        nl, nz, m = M.shape[1], zero_l1.size, A.shape[0]
        B = np.hstack([M, np.eye(p)[:, zero_l1], A.T])
        Cq = np.zeros((nl + 2 * nz, nl + nz + m))
        Cq[:nl, :nl] = -np.eye(nl)
        for t in range(nz):
            Cq[nl + 2 * t, nl + t], Cq[nl + 2 * t, k_norm] = 1.0, -1.0
            Cq[nl + 2 * t + 1, nl + t], Cq[nl + 2 * t + 1, k_norm] = -1.0, -1.0
        res = min_norm_qp(B.T @ B, B.T @ grad, C=Cq, d=np.zeros(nl + 2 * nz), where="multipliers")
        for k, v in zip(owner, np.maximum(res.x[:nl], 0.0)):
            lam[k] += v
        return cs.pack(lam, res.x[nl + nz:] if m else np.zeros(0))
    if M.shape[1]:
        x, _ = nnls(proj(M), -proj(grad))
        for k, v in zip(owner, x):
            lam[k] += v
        rest = grad + M @ x
    else:
        rest = grad
    nu = np.linalg.lstsq(A.T, -rest, rcond=None)[0] if A.shape[0] else np.zeros(0)
    return cs.pack(lam, nu)


# --------------------------------------------------------------------------------------------
# The Lagrange dual function
# --------------------------------------------------------------------------------------------


def dual_quadratic(cs: ConstraintSet, H, c, f0, multipliers) -> float | None:
    """d(λ, ν) = inf_θ [f0 + cᵀθ + ½θᵀHθ + λᵀg(θ) + νᵀ(Aθ − b)] for H PSD; −inf if unbounded.

    Linear part: q = c + (linear rows)ᵀλ + Aᵀν and const = f0 − λᵀ(bounds, h) − νᵀb, so without an
    active norm multiplier d = const − ½qᵀH⁺q if q ∈ range(H) (tested by the least-squares
    residual of Hθ = −q), else −∞. With μ > 0 and ord 1/∞ the infimum of the quadratic plus
    μ‖w‖ is a QP (lifted norm); with ord 2 it is found by the same 1-D search as the reference
    (min ½θᵀHθ + qᵀθ + μ‖w‖: w = 0 or (H + ηP)θ = −q with η‖w(η)‖ = μ) — here ``None``.
    """
    H = 0.5 * (np.asarray(H, float) + np.asarray(H, float).T)
    c = np.asarray(c, float)
    lam, nu = _as_lam_nu(cs, multipliers)
    p = cs.p
    q = c + cs.A.T @ nu
    const = float(f0) - float(nu @ cs.b)
    mu = 0.0
    for (kind, i), v in zip(cs.labels(), lam):
        if kind == "lower":
            q[i] -= v; const += v * cs.lower[i]
        elif kind == "upper":
            q[i] += v; const -= v * cs.upper[i]
        elif kind == "inequality":
            q += v * cs.G[i]; const -= v * cs.h[i]
        else:
            mu = float(v); const -= v * cs.radius
    if mu == 0.0:
        x = np.linalg.lstsq(H, -q, rcond=None)[0]
        scale = max(1.0, float(np.max(np.abs(q))), float(np.max(np.abs(H))) * float(np.max(np.abs(x), initial=0.0)))
        if np.max(np.abs(H @ x + q), initial=0.0) > 1e-9 * scale:
            return -math.inf
        return const + 0.5 * float(q @ x)
    if cs.norm_ord == 2.0:
        return None
    widx = np.flatnonzero(cs.weight_mask())
    dw = widx.size
    if cs.norm_ord == 1.0:  # min ... + μ Σ s, −s ≤ w ≤ s
        n = p + dw
        cn = np.r_[q, mu * np.ones(dw)]
        C = np.zeros((2 * dw, n))
        for t, j in enumerate(widx):
            C[2 * t, j], C[2 * t, p + t] = 1.0, -1.0
            C[2 * t + 1, j], C[2 * t + 1, p + t] = -1.0, -1.0
    else:  # min ... + μ t, −t ≤ w_j ≤ t
        n = p + 1
        cn = np.r_[q, mu]
        C = np.zeros((2 * dw, n))
        for t, j in enumerate(widx):
            C[2 * t, j], C[2 * t, p] = 1.0, -1.0
            C[2 * t + 1, j], C[2 * t + 1, p] = -1.0, -1.0
    Hn = np.zeros((n, n))
    Hn[:p, :p] = H
    try:
        res = solve_qp(Hn, cn, C=C, d=np.zeros(2 * dw), where="dual")
    except QPUnbounded:
        return -math.inf
    return const + res.value


# --------------------------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConstrainedReference:
    """The exact constrained optimum (DESIGN §9.3/§9.7) and its certificates.

    ``multipliers``: {lower: [p], upper: [p], norm: float | None, equality: [m], inequality: [k]};
    ``active``: same shape with booleans (g_i(θ*) ≥ −1e-9 (1 + |bound|); equalities omitted,
    norm None without a norm constraint); ``kkt``: the four residuals at θ*;
    ``dual_optimum`` d(λ*, ν*) and ``duality_gap_star`` p* − d* (None where the dual is not
    computed); ``subgradient``: the element of ∂‖w‖ used in stationarity.
    """

    theta_star: np.ndarray
    f_star: float
    multipliers: dict
    active: dict
    kkt: dict
    dual_optimum: float | None
    duality_gap_star: float | None
    method: str
    iterations: int
    subgradient: np.ndarray = field(repr=False, default=None)

    def to_dict(self) -> dict:
        return {
            "theta_star": [float(v) for v in self.theta_star],
            "f_star": float(self.f_star),
            "multipliers": self.multipliers,
            "active": self.active,
            "kkt": self.kkt,
            "dual_optimum": self.dual_optimum,
            "duality_gap_star": self.duality_gap_star,
            "method": self.method,
            "iterations": self.iterations,
        }


def active_flags(cs: ConstraintSet, theta, tol: float = 1e-9) -> dict:
    """Which inequalities bind at θ: g_i(θ) ≥ −tol·(1 + |constant|), in the shape of multipliers."""
    g = cs.g(theta)
    out = {"lower": [False] * cs.p, "upper": [False] * cs.p, "norm": None, "inequality": [False] * cs.G.shape[0]}
    for (kind, i), v in zip(cs.labels(), g):
        if kind == "lower":
            out["lower"][i] = bool(v >= -tol * (1 + abs(cs.lower[i])))
        elif kind == "upper":
            out["upper"][i] = bool(v >= -tol * (1 + abs(cs.upper[i])))
        elif kind == "norm":
            out["norm"] = bool(v >= -tol * (1 + cs.radius))
        else:
            out["inequality"][i] = bool(v >= -tol * (1 + abs(cs.h[i])))
    return out


def solve_constrained(obj, X, y, cs: ConstraintSet) -> ConstrainedReference:
    """θ*, f*, multipliers, active set, KKT residuals and d* of min f s.t. ``cs`` (module doc).

    ``obj``: an ``optrun.models.Objective`` (linear with mse/half_mse and any l2; logistic with
    bce and any l2; l1 must be 0) or a quadratic (``QuadraticObjective`` or any object with
    ``model == "quadratic"`` and ``A``, ``b``, ``c``), then X and y are ignored.
    """
    kind = _kind(obj)
    p = cs.p
    where = "constraints"
    if kind == "quadratic":
        if getattr(obj, "model", None) == "quadratic" and not isinstance(obj, QuadraticObjective):
            obj = QuadraticObjective(np.asarray(obj.A, float), np.asarray(obj.b, float), float(getattr(obj, "c", 0.0) or 0.0))
        H, c, f0 = _quadratic_parts(obj, X, y, p)
        ev = np.linalg.eigvalsh(H)
        if ev[0] < -1e-10 * max(1.0, abs(ev[-1])):
            raise OptrunError("constraints: the quadratic objective is not convex (A has a negative eigenvalue); no exact constrained reference")
        sol = _minimise(cs, _inner_quadratic(cs, H, c, where), where)
        method = "active-set QP" + (" + L2-ball multiplier search" if cs.norm_ord == 2.0 else "")
    else:
        sol = _minimise(cs, _inner_logistic(cs, obj, X, y, where), where)
        method = "SQP (exact Hessian, Armijo)" + (" + L2-ball multiplier search" if cs.norm_ord == 2.0 else "")
    theta = sol.theta
    f_star, grad = obj.value_and_grad(theta, X, y)
    mult = cs.pack(sol.lam, sol.nu)
    kkt = kkt_residuals(cs, grad, theta, (sol.lam, sol.nu), subgradient=sol.subgradient)
    dual = None
    if kind == "quadratic":
        dual = dual_quadratic(cs, H, c, f0, (sol.lam, sol.nu))
    gap = None if dual is None else float(f_star) - float(dual)
    return ConstrainedReference(
        theta_star=theta, f_star=float(f_star), multipliers=mult, active=active_flags(cs, theta), kkt=kkt,
        dual_optimum=None if dual is None else float(dual), duality_gap_star=gap, method=method,
        iterations=sol.iterations, subgradient=sol.subgradient,
    )
