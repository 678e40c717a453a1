"""The core of the constrained reference: minimise over the feasible set, with multipliers.

An *inner* solver maps the L2-ball parameter eta to the exact minimiser of f + (eta/2)||w||^2 over
the polyhedral part: one QP for quadratic f (:func:`_inner_quadratic`), SQP with the exact Hessian
for logistic f (:func:`_inner_logistic`). :func:`_minimise` runs it once (eta = 0), or, with an
L2 ball, inside the 1-D multiplier search :func:`_ball_search` (see :mod:`optrun.constraints.solve`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optrun.constraints.qp import QPUnbounded, min_norm_qp, phase_one, solve_qp
from optrun.constraints.sets import ConstraintSet
from optrun.errors import OptrunError

_EPS = float(np.finfo(np.float64).eps)


class NoMinimiser(OptrunError):
    """The objective has no minimiser on the feasible set (unbounded below or not attained)."""



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
