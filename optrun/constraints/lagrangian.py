"""KKT residuals, the multipliers of a (projected) iterate, and the Lagrange dual function.

With L(θ, λ, ν) = f + λᵀg + νᵀ(Aθ − b), λ ≥ 0 (DESIGN §9.3): :func:`kkt_residuals` measures the
four KKT conditions, :func:`fit_multipliers` finds the best multipliers for a given θ (NNLS, or a
small bounded least squares for an L1 ball with zero weights), :func:`dual_quadratic` evaluates
d(λ, ν) = inf_θ L for quadratic f.
"""

from __future__ import annotations

import math

import numpy as np

from optrun.constraints.qp import QPUnbounded, min_norm_qp, nnls, solve_qp
from optrun.constraints.sets import ConstraintSet

_EPS = float(np.finfo(np.float64).eps)


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
    labels = cs.labels()
    M, owner = _active_columns(cs, theta, active_tol)
    A = np.asarray(cs.A)
    lam = np.zeros(len(labels))
    zero_l1 = np.zeros(0, dtype=int)
    if cs.norm_ord == 1.0 and any(labels[k][0] == "norm" for k in owner):
        s0 = cs.norm_subgradient(theta)
        zero_l1 = np.flatnonzero(cs.weight_mask() & (s0 == 0))
    if zero_l1.size:
        return _l1_bounded_multipliers(cs, grad, M, owner, zero_l1, lam)
    if M.shape[1]:
        proj = _null_projector(A)
        x, _ = nnls(proj(M), -proj(grad))
        for k, v in zip(owner, x):
            lam[k] += v
        rest = grad + M @ x
    else:
        rest = grad
    nu = np.linalg.lstsq(A.T, -rest, rcond=None)[0] if A.shape[0] else np.zeros(0)
    return cs.pack(lam, nu)


def _active_columns(cs: ConstraintSet, theta: np.ndarray, active_tol: float) -> tuple[np.ndarray, list[int]]:
    """The gradient columns of the active constraints (p x k) and the label index owning each.

    A constraint is active when g_i(θ) ≥ −active_tol·(1 + |θ|∞). The norm contributes w/‖w‖ (ord
    2), sign(w) (ord 1) or one sign(w_j)e_j per tied largest |w_j| (ord ∞).
    """
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
    return np.array(cols).T.reshape(p, -1), owner


def _null_projector(A: np.ndarray):
    """v ↦ the component of v orthogonal to range(Aᵀ) (ν eliminated); the identity without A."""
    if not A.shape[0]:
        return lambda v: v
    U, s, _ = np.linalg.svd(A.T, full_matrices=False)
    U = U[:, s > max(A.shape) * _EPS * (s[0] if s.size else 0)]
    return lambda v: v - U @ (U.T @ v)


def _l1_bounded_multipliers(cs: ConstraintSet, grad: np.ndarray, M: np.ndarray, owner: list[int],
                            zero_l1: np.ndarray, lam: np.ndarray) -> dict:
    """ℓ1 with zero weights: μ s_j is free in [−μ, μ] there, so a bounded least squares (a small
    QP over λ ≥ 0, β with |β_j| ≤ μ, ν free) replaces the NNLS."""
    labels, p = cs.labels(), cs.p
    A = np.asarray(cs.A)
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
