"""Newton–Raphson with a graceful fallback for singular Hessians (not in torch.optim)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import NonNegFloat, PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register
from optrun.optim.sgd import ArmijoAlpha, ArmijoBeta, LineSearch, search

# Pivot ratio below which a Cholesky factor is treated as singular (per parameter, like lstsq's
# default rcond = max(M, N)·eps): the solve would then amplify rounding into a huge step.
_RCOND_PER_PARAM = np.finfo(np.float64).eps

_REASONS = {
    0: None,
    1: "Hessian not positive definite (Cholesky failed)",
    2: "Hessian numerically singular (Cholesky pivot ratio below p*eps)",
}
_FALLBACK = "; used the pseudo-inverse of |H| (eigenvalues below p*eps*max dropped)"


class NewtonState(NamedTuple):
    fallback_steps: int  # steps that could not use the Cholesky solve
    fallback_reason: int  # code of the last fallback's reason (0 = none), see _REASONS
    ls_step: float = float("nan")  # accepted step of the last line search
    ls_trials: int = 0  # closure calls of the last step (line search on)


def _init(theta0) -> NewtonState:
    return NewtonState(0, 0)


def newton_direction(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, int]:
    """Solve h d = g; return (d, reason code). Code 0: Cholesky; else the fallback's reason.

    Fallback: eigen-decompose the symmetrised h, take |eigenvalues| (never step uphill along
    negative curvature) and drop those below p·eps·max, i.e. the minimum-norm (pseudo-inverse)
    step. For least squares with collinear columns the gradient lies in the range of H, so this
    is the minimum-norm Newton step; it never blows up along directions without curvature.
    """
    p = g.shape[0]
    rcond = p * _RCOND_PER_PARAM
    try:
        chol = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        code = 1
    else:
        piv = np.diag(chol) ** 2
        if piv.min() > rcond * piv.max():
            return np.linalg.solve(chol.T, np.linalg.solve(chol, g)), 0
        code = 2
    w, v = np.linalg.eigh(0.5 * (h + h.T))
    w = np.abs(w)
    keep = w > rcond * w.max() if w.max() > 0 else np.zeros(p, dtype=bool)
    vk = v[:, keep]
    return vk @ ((vk.T @ g) / w[keep]), code


def newton_update(grad, state, theta, t, lr, hessian=None, *, damping, weight_decay,
                  closure=None, line_search="none", ls_alpha=0.25, ls_beta=0.5, **_extras):
    if hessian is None:
        raise ValueError("newton needs the batch Hessian: call update(..., hessian=H)")
    g, theta = grad_theta(grad, theta)
    h = np.asarray(hessian, dtype=np.float64)  # the solve is float64 (small p); d is cast back
    shift = damping + weight_decay
    if weight_decay:
        g = g + weight_decay * theta  # coupled L2: (λ/2)||θ||² adds λθ to g and λI to H
    if shift:
        h = h + shift * np.eye(h.shape[0])
    d, code = newton_direction(h, g.astype(np.float64))
    d = d.astype(theta.dtype)
    if code:
        state = state._replace(fallback_steps=state.fallback_steps + 1, fallback_reason=code)
    if line_search == "none":
        return theta - lr * d, state
    if closure is None:
        raise ValueError("newton with a line search needs the 'closure' extra")
    f0, g0 = closure(theta)
    f0, g0 = float(f0), np.asarray(g0, dtype=theta.dtype)
    if weight_decay:
        f0, g0 = f0 + 0.5 * weight_decay * float(theta @ theta), g0 + weight_decay * theta
    if not float(g0 @ d) > 0:  # −d is not a descent direction (or g = 0): do not move
        return theta.copy(), state._replace(ls_step=0.0, ls_trials=1)
    res = search(line_search, closure, theta, -d, f0, g0, lr, weight_decay, ls_alpha, ls_beta)
    return theta - res.step * d, state._replace(ls_step=res.step, ls_trials=1 + res.evals)


def _report(state: NewtonState) -> dict:
    reason = _REASONS[state.fallback_reason]
    return {
        "newton_fallback_steps": int(state.fallback_steps),
        "newton_fallback_reason": None if reason is None else reason + _FALLBACK,
    }


def _report_ls(state: NewtonState) -> dict:
    step = float(state.ls_step)
    return {**_report(state), "step_size": None if np.isnan(step) else step,
            "ls_trials": int(state.ls_trials)}


@register("newton", family="newton")
def newton(
    lr: PositiveFloat = 1.0,
    damping: NonNegFloat = 0.0,
    weight_decay: NonNegFloat = 0.0,
    line_search: LineSearch = "none",
    ls_alpha: ArmijoAlpha = 0.25,
    ls_beta: ArmijoBeta = 0.5,
) -> Optimizer:
    """Newton–Raphson (= IRLS for logistic regression), with damping and a singular fallback.

    Update, with H the Hessian of the batch-mean loss at θ (the engine passes ``hessian=``)::

        g ← g + λ θ;   H ← H + λ I                (weight_decay λ: coupled L2, bias included)
        solve (H + δ I) d = g                     (δ = damping; Cholesky)
        θ ← θ − γ d                               (γ = lr: a step-size / damping factor)

    Defaults: lr = 1.0 (the plain Newton step), damping = 0, weight_decay = 0.

    Linear least squares: H = X̃ᵀX̃/n is constant and one full step (γ = 1, δ = 0) lands on the
    OLS solution θ* from any start. Logistic regression: H = X̃ᵀ W X̃/n with W = diag(p(1 − p)),
    and Newton is IRLS; from θ = 0 it converges quadratically on non-separable data (separable
    data has no finite optimum: H then becomes singular and θ grows without bound). The Newton
    step is invariant to the scale of the loss, so γ is a damping factor, not a learning rate.
    δ > 0 is the Levenberg–Marquardt-style shift toward gradient descent (step ≈ g/δ for large δ).

    Fallback: if Cholesky fails (H not positive definite) or H is numerically singular (pivot
    ratio below p·eps), the step uses the pseudo-inverse of |H| from an eigen-decomposition
    (directions without curvature are not moved). Each such step is counted in the state, and
    ``report()`` gives ``newton_fallback_steps`` and ``newton_fallback_reason`` for summary.json.
    Not in torch.optim; the golden test compares with a torch autograd-Hessian Newton solve.

    Damped Newton (``line_search`` = armijo; Boyd & Vandenberghe §9.5, Alg. 9.5, via the engine's
    "closure" extra): with the Newton step Δ = −d and F = batch loss + (λ/2)‖θ‖²,
    s ← γ; while F(θ + sΔ) > F(θ) + α s ∇Fᵀ Δ: s ← β s;  θ ← θ + sΔ.  α = ls_alpha = 0.25,
    β = ls_beta = 0.5 (B&V: α ∈ (0, ½), β ∈ (0, 1)); ∇FᵀΔ = −λ(θ)², minus the squared Newton
    decrement. Near θ* the full step s = 1 is accepted (the quadratic phase); far away the
    damped phase decreases F by at least a constant per step, where plain Newton (lr = 1, no
    search) can overshoot and diverge on logistic regression. ``strong_wolfe`` uses torch's
    strong-Wolfe search instead. ``report()`` adds ``step_size`` and ``ls_trials``.
    Defaults: line_search = none, ls_alpha = 0.25, ls_beta = 0.5.
    """
    update = partial(newton_update, damping=damping, weight_decay=weight_decay,
                     line_search=line_search, ls_alpha=ls_alpha, ls_beta=ls_beta)
    if line_search == "none":
        return Optimizer(init=_init, update=update, needs_hessian=True, report=_report)
    return Optimizer(init=_init, update=update, needs=frozenset({"hessian", "closure"}),
                     report=_report_ls)
