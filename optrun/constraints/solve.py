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

The parts: :mod:`optrun.constraints.minimise` (the inner QP/SQP solvers and the L2-ball search),
:mod:`optrun.constraints.lagrangian` (KKT residuals, multipliers of an iterate, the dual
function); their public names are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optrun.constraints.lagrangian import dual_quadratic, fit_multipliers, kkt_residuals
from optrun.constraints.minimise import (
    NoMinimiser,
    Solution,
    _inner_logistic,
    _inner_quadratic,
    _minimise,
    minimise_quadratic,
)
from optrun.constraints.sets import ConstraintSet
from optrun.errors import OptrunError

__all__ = [
    "ConstrainedReference", "NoMinimiser", "QuadraticObjective", "Solution", "active_flags",
    "dual_quadratic", "fit_multipliers", "kkt_residuals", "minimise_quadratic", "solve_constrained",
]


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
