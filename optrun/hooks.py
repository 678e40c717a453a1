"""Step hooks: what a run adds around the optimizer's update, without touching the loop's shape.

The engine (one loop) asks each hook, at every step, to transform the batch gradient
(``grad``), to act on the new iterate (``after``), and, at every logged row, for the values of
its own trace columns (``values``). A hook carries its own state (the multipliers); it is built
by ``prepare`` from the config, never chosen by name inside the engine.

Constraints (DESIGN.md §9.3, §9.7), with L(θ, λ, ν) = f(θ) + Σ λ_i g_i(θ) + Σ ν_j h_j(θ):

* :class:`Projection` (``method: project``): θ ← Π_C(θ) after every optimizer step, the exact
  Euclidean projection onto the feasible set. Its multipliers (for the KKT residual) are the ones
  that minimise the stationarity residual subject to λ ≥ 0.
* :class:`PrimalDual` (``method: primal_dual``): the optimizer steps θ on L(·, λ, ν) (the
  gradient gets Σ λ_i ∇g_i + Aᵀν), then the multipliers take a projected ascent step
  λ ← max(0, λ + η g(θ)), ν ← ν + η h(θ) with η = ``dual_lr`` (Arrow–Hurwicz–Uzawa).
* :class:`AugmentedLagrangian` (``method: augmented_lagrangian``): the optimizer steps θ on the
  augmented Lagrangian L_ρ = f + (ρ/2)Σ max(0, g_i + λ_i/ρ)² − Σλ_i²/(2ρ) + νᵀh + (ρ/2)‖h‖²,
  whose gradient is ∇f + Σ max(0, λ_i + ρ g_i)∇g_i + Aᵀ(ν + ρh); then the method-of-multipliers
  update λ ← max(0, λ + ρ g), ν ← ν + ρ h (Hestenes 1969, Powell 1969; one primal step per
  multiplier update: the "linearized" variant).

Every constrained run logs ``infeasibility`` (largest violation) and ``kkt_residual`` (the
largest of the four KKT residuals with the method's current multipliers); the two multiplier
methods add ``dual_value`` (the ordinary Lagrange dual function d(λ, ν), where it has a closed
form: quadratic objectives, least squares) and ``duality_gap`` = f(θ_t) − d(λ_t, ν_t). Their
iterates may be infeasible, so the gap may be negative; weak duality d ≤ p* always holds.

L1 (DESIGN.md §9.4): :class:`L1Certificate` logs ``duality_gap`` (a certified upper bound on
f − f*, from a dual-feasible point built from the residual) and ``nnz`` (nonzero weights).
"""

from __future__ import annotations

import math

import numpy as np


class StepHook:
    """The protocol (every method optional to override): identity, no columns."""

    columns: tuple[str, ...] = ()

    def start(self, theta: np.ndarray) -> np.ndarray:
        """The iterate the run starts from (a projection may move an infeasible start)."""
        return theta

    def grad(self, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g

    def after(self, theta: np.ndarray, t: int) -> np.ndarray:
        return theta

    def values(self, theta: np.ndarray, loss: float, g_full: np.ndarray) -> tuple:
        return ()

    def report(self) -> dict:
        return {}


# --------------------------------------------------------------------------------------------
# Constraints


def _kkt_max(res: dict) -> float:
    return float(max(res.values()))


class _Constrained(StepHook):
    """Shared by the three constraint methods: the set, and the quadratic model of f (for the
    closed-form dual function: f(θ) = f0 + cᵀθ + ½θᵀHθ, None when f is not quadratic)."""

    def __init__(self, cs, quadratic: tuple | None):
        self.cs = cs
        self.quadratic = quadratic

    def _dual(self, lam: np.ndarray, nu: np.ndarray) -> float:
        if self.quadratic is None:
            return math.nan
        from optrun.constraints import dual_quadratic

        H, c, f0 = self.quadratic
        d = dual_quadratic(self.cs, H, c, f0, (lam, nu))
        return math.nan if d is None else float(d)


class Projection(_Constrained):
    columns = ("infeasibility", "kkt_residual")

    def __init__(self, cs, quadratic=None):
        super().__init__(cs, quadratic)
        self.moved_start = False

    def start(self, theta):
        new = self.after(theta, 0)
        self.moved_start = bool(np.any(new != theta))
        return new

    def after(self, theta, t):
        from optrun.constraints import project

        # the projection works in float64; θ goes back in its own dtype (train.dtype: float32
        # keeps θ float32, rounded as torch would store a projected parameter)
        return project(self.cs, theta).astype(theta.dtype, copy=False)

    def values(self, theta, loss, g_full):
        from optrun.constraints import fit_multipliers, kkt_residuals

        mult = fit_multipliers(self.cs, g_full, theta)
        return self.cs.infeasibility(theta), _kkt_max(kkt_residuals(self.cs, g_full, theta, mult))

    def report(self):
        return {"projected_start": self.moved_start}


class PrimalDual(_Constrained):
    columns = ("infeasibility", "kkt_residual", "dual_value", "duality_gap")

    def __init__(self, cs, quadratic=None, dual_lr: float = 0.1):
        super().__init__(cs, quadratic)
        self.step = float(dual_lr)
        self.lam = np.zeros(len(cs.labels()))
        self.nu = np.zeros(cs.A.shape[0])

    def _multiplier_terms(self, theta, lam, nu):
        # Σ λ_i ∇g_i + Aᵀν; the norm's ∇g is a subgradient (w/‖w‖ for ord 2)
        return self.cs.jac_g(theta).T @ lam + self.cs.A.T @ nu

    def grad(self, theta, g):
        return g + self._multiplier_terms(theta, self.lam, self.nu)

    def after(self, theta, t):
        self.lam = np.maximum(0.0, self.lam + self.step * self.cs.g(theta))
        self.nu = self.nu + self.step * self.cs.h_eq(theta)
        return theta

    def values(self, theta, loss, g_full):
        from optrun.constraints import kkt_residuals

        kkt = _kkt_max(kkt_residuals(self.cs, g_full, theta, (self.lam, self.nu)))
        dual = self._dual(self.lam, self.nu)
        return self.cs.infeasibility(theta), kkt, dual, loss - dual

    def report(self):
        return {"multipliers": self.cs.pack(self.lam, self.nu)}


class AugmentedLagrangian(PrimalDual):
    def __init__(self, cs, quadratic=None, rho: float = 1.0):
        super().__init__(cs, quadratic, dual_lr=rho)
        self.rho = float(rho)

    def grad(self, theta, g):
        lam_hat = np.maximum(0.0, self.lam + self.rho * self.cs.g(theta))
        nu_hat = self.nu + self.rho * self.cs.h_eq(theta)
        return g + self._multiplier_terms(theta, lam_hat, nu_hat)


def constraint_hook(cs, method: str, quadratic=None, dual_lr: float = 0.1, rho: float = 1.0) -> StepHook:
    """The hook of a ``constraints.method``."""
    if method == "project":
        return Projection(cs, quadratic)
    if method == "primal_dual":
        return PrimalDual(cs, quadratic, dual_lr)
    return AugmentedLagrangian(cs, quadratic, rho)


# --------------------------------------------------------------------------------------------
# L1


class L1Certificate(StepHook):
    columns = ("duality_gap", "nnz")

    def __init__(self, obj, X, y, weight_mask: np.ndarray):
        self.obj, self.X, self.y = obj, X, y
        self.mask = weight_mask

    def values(self, theta, loss, g_full):
        from optrun.sparse import duality_gap

        return float(duality_gap(self.obj, theta, self.X, self.y)), int(np.count_nonzero(theta[self.mask]))
