"""Exact Euclidean projections onto the feasible sets of ``constraints`` (pure functions).

proj_S(v) = argmin_{θ ∈ S} ½‖θ − v‖². Closed forms:

* box [l, u]: componentwise clip;
* L2 ball {‖w‖₂ ≤ r}: w · min(1, r/‖w‖₂);
* L∞ ball: clip to [−r, r];
* L1 ball: the sort-based algorithm (Duchi, Shalev-Shwartz, Singer & Chandra, ICML 2008, Fig. 1;
  Condat 2016): if ‖w‖₁ > r, sort |w| decreasingly into μ, ρ = max{j : μ_j − (Σ_{i≤j} μ_i − r)/j
  > 0}, τ = (Σ_{i≤ρ} μ_i − r)/ρ, and the projection is sign(w) max(|w| − τ, 0); O(d log d);
* affine set {Aθ = b}: θ = v − A⁺(Av − b), the correction from ``lstsq`` (SVD) of A, never an
  inverse of AAᵀ (works for redundant rows too).

The norm balls act on the weights only (the intercept passes through unchanged). Any other
combination is the QP min ½‖θ − v‖² over the set (``optrun.constraints.solve.minimise_quadratic``:
the active-set QP, with the L2 ball through the exact 1-D search on its multiplier).
"""

from __future__ import annotations

import math

import numpy as np

from optrun.constraints.sets import ConstraintSet


def project_box(v, lower, upper) -> np.ndarray:
    """Clip v to [lower, upper] componentwise (±inf = no bound)."""
    return np.clip(np.asarray(v, dtype=np.float64), lower, upper)


def project_l2_ball(w, radius: float) -> np.ndarray:
    """Projection on {‖w‖₂ ≤ r}: w scaled by min(1, r/‖w‖₂)."""
    w = np.asarray(w, dtype=np.float64)
    n = float(np.linalg.norm(w))
    return w.copy() if n <= radius else w * (radius / n)


def project_linf_ball(w, radius: float) -> np.ndarray:
    """Projection on {‖w‖∞ ≤ r}: clip to [−r, r]."""
    return np.clip(np.asarray(w, dtype=np.float64), -radius, radius)


def project_l1_ball(w, radius: float) -> np.ndarray:
    """Projection on {‖w‖₁ ≤ r} by the sort-based threshold τ of Duchi et al. (2008)."""
    w = np.asarray(w, dtype=np.float64)
    a = np.abs(w)
    if a.sum() <= radius:
        return w.copy()
    mu = np.sort(a)[::-1]
    cs = np.cumsum(mu)
    j = np.arange(1, mu.size + 1)
    rho = int(np.flatnonzero(mu - (cs - radius) / j > 0)[-1])
    tau = (cs[rho] - radius) / (rho + 1)
    return np.sign(w) * np.maximum(a - tau, 0.0)


def project_affine(v, A, b) -> np.ndarray:
    """Projection on {θ : Aθ = b} (consistent): v − A⁺(Av − b) by least squares (SVD)."""
    v = np.asarray(v, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    if A.shape[0] == 0:
        return v.copy()
    return v - np.linalg.lstsq(A, A @ v - np.asarray(b, float), rcond=None)[0]


def project_norm_ball(w, ord: float, radius: float) -> np.ndarray:
    """Projection on {‖w‖_ord ≤ r} for ord 1, 2 or inf."""
    if ord == 2.0:
        return project_l2_ball(w, radius)
    if ord == 1.0:
        return project_l1_ball(w, radius)
    if ord == math.inf:
        return project_linf_ball(w, radius)
    raise ValueError(f"ord must be 1, 2 or inf, got {ord!r}")


def project(cs: ConstraintSet, v) -> np.ndarray:
    """Euclidean projection of v onto the feasible set of ``cs`` (exact; closed form when one kind).

    Single kinds use the closed forms above (box: lower and/or upper together); any other
    combination solves the QP min ½‖θ − v‖² over the set.
    """
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.size != cs.p:
        raise ValueError(f"v has {v.size} entries; the constraint set has {cs.p} parameters")
    kinds = {k for k in ("lower", "upper", "norm", "equality", "inequality") if cs.has(k)}
    if not kinds:
        return v.copy()
    if kinds <= {"lower", "upper"}:
        return project_box(v, cs.lower, cs.upper)
    if kinds == {"norm"}:
        out = v.copy()
        m = cs.weight_mask()
        out[m] = project_norm_ball(v[m], cs.norm_ord, cs.radius)
        return out
    if kinds == {"equality"}:
        return project_affine(v, cs.A, cs.b)
    from optrun.constraints.solve import minimise_quadratic  # same package (level 3)

    return minimise_quadratic(cs, np.eye(cs.p), -v, where="constraints projection").theta
