"""What convergence theory predicts for a run, from the reference's curvature (L, μ, κ).

Every function is pure over NumPy arrays and states its assumptions. The curves are drawn on
loss / suboptimality figures, and :func:`first_violation` flags a measured curve that breaks a
bound it should obey (a wrong learning rate, a bug, or a problem outside the assumptions).

Notation: f is L-smooth and μ-strongly convex (a quadratic with Hessian eigenvalues
λ_1..λ_p in [μ, L] is the model case), κ = L/μ, e_k = θ_k − θ*, step size γ.

* Gradient descent on a quadratic, exactly: e_k = (I − γH)^k e_0, so with H = V diag(λ) Vᵀ and
  c = Vᵀe_0, f(θ_k) − f* = ½ Σ_i λ_i c_i² (1 − γλ_i)^{2k}  (:func:`gd_quadratic_curve`).
  Its bound: f(θ_k) − f* ≤ ρ^{2k} (f(θ_0) − f*) with ρ = max_i |1 − γλ_i| (:func:`gd_rate`);
  the best constant step is γ = 2/(L + μ), ρ = (κ − 1)/(κ + 1).
* Heavy ball (Polyak 1964) at its optimal setting for quadratics: γ = 4/(√L + √μ)²,
  β = ((√κ − 1)/(√κ + 1))², asymptotic rate (√κ − 1)/(√κ + 1) per step in ‖e_k‖.
* Nesterov for strongly convex functions (Nesterov 2004, (2.2.19)): γ = 1/L, β = (√κ − 1)/(√κ + 1),
  f(θ_k) − f* ≤ (1 − 1/√κ)^k (f(θ_0) − f* + μ/2 ‖e_0‖²).

In torch's parameterisation (optrun's ``momentum``), heavy ball is ``sgd`` with ``momentum=β``
and ``dampening=0``: b ← βb + g, θ ← θ − γb is exactly θ_{k+1} = θ_k − γg_k + β(θ_k − θ_{k−1}).
"""

from __future__ import annotations

import math

import numpy as np


def gd_rate(lr: float, eigenvalues: np.ndarray) -> float:
    """ρ = max_i |1 − γλ_i|: the contraction of ‖e_k‖ per gradient step (< 1 iff γ < 2/L)."""
    lam = np.asarray(eigenvalues, dtype=float)
    return float(np.max(np.abs(1.0 - lr * lam)))


def gd_quadratic_curve(lr: float, eigenvalues: np.ndarray, coefficients: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """f(θ_k) − f* of gradient descent on a quadratic, for every k in ``steps`` (exact).

    ``coefficients`` are c = Vᵀ(θ_0 − θ*) in the eigenbasis of the Hessian.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    c2 = np.asarray(coefficients, dtype=float) ** 2
    k = np.asarray(steps, dtype=float)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * np.sum(lam * c2 * (1.0 - lr * lam) ** (2.0 * k), axis=1)


def gd_bound(lr: float, eigenvalues: np.ndarray, f0_gap: float, steps: np.ndarray) -> np.ndarray:
    """The bound ρ^{2k}(f(θ_0) − f*) of gradient descent on a quadratic."""
    rho = gd_rate(lr, eigenvalues)
    with np.errstate(over="ignore"):
        return f0_gap * rho ** (2.0 * np.asarray(steps, dtype=float))


def optimal_gd_lr(L: float, mu: float) -> float:
    """γ = 2/(L + μ), the constant step that minimises ρ."""
    return 2.0 / (L + mu)


def heavy_ball_optimal(L: float, mu: float) -> dict:
    """Polyak's optimal heavy-ball setting for a quadratic: lr, momentum and the rate."""
    sl, sm = math.sqrt(L), math.sqrt(mu)
    q = (sl - sm) / (sl + sm)
    return {"lr": 4.0 / (sl + sm) ** 2, "momentum": q * q, "rate": q}


def nesterov_strongly_convex(L: float, mu: float) -> dict:
    """Nesterov's constant-momentum scheme for μ-strongly convex f: lr 1/L, momentum and rate."""
    sk = math.sqrt(L / mu)
    return {"lr": 1.0 / L, "momentum": (sk - 1.0) / (sk + 1.0), "rate": 1.0 - 1.0 / sk}


def nesterov_bound(L: float, mu: float, f0_gap: float, e0_sq: float, steps: np.ndarray) -> np.ndarray:
    """(1 − 1/√κ)^k (f(θ_0) − f* + μ/2 ‖e_0‖²)."""
    rate = nesterov_strongly_convex(L, mu)["rate"]
    return (f0_gap + 0.5 * mu * e0_sq) * rate ** np.asarray(steps, dtype=float)


def first_violation(measured: np.ndarray, bound: np.ndarray, rtol: float = 1e-6, atol: float = 0.0) -> int | None:
    """Index of the first point where ``measured`` exceeds ``bound`` beyond rounding, or None.

    ``atol`` is the floor below which the comparison is meaningless (the rounding of f*).
    """
    m, b = np.asarray(measured, dtype=float), np.asarray(bound, dtype=float)
    bad = np.flatnonzero(np.isfinite(m) & (m > b * (1.0 + rtol) + atol))
    return int(bad[0]) if bad.size else None
