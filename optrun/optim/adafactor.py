"""Adafactor with torch's defaults and relative step sizes (torch.optim.Adafactor)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, NamedTuple

import numpy as np

from optrun.optim._schema import Bound, NonNegFloat, NonPosFloat, OptionalNonNegFloat, PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



class AdafactorState(NamedTuple):
    variance: np.ndarray  # V: second-moment estimate (unfactored: θ is a vector), V_0 = 0


def _init(theta0) -> AdafactorState:
    return AdafactorState(np.zeros_like(as_float(theta0)))


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """torch.lerp's formula: start + w (end − start) for w < ½, else end − (end − start)(1 − w).

    (Exact at w = 1, which Adafactor's first step uses: V_1 = g².)
    """
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def adafactor_update(grad, state, theta, t, lr, hessian=None, *,
                     beta2_decay, eps, d, weight_decay, **_extras):
    eps1, eps2 = eps
    if eps1 is None:
        g, theta = grad_theta(grad, theta)
        eps1 = float(np.finfo(theta.dtype).eps)  # torch: finfo(param.dtype).eps
    else:
        g, theta = grad_theta(grad, theta)
    t = float(t)
    one_minus_beta2 = t**beta2_decay  # 1 − β2_t = t^c (c = beta2_decay ≤ 0; 1 at t = 1)
    rho = min(lr, 1.0 / t**0.5)  # relative step size
    rms_theta = np.linalg.norm(theta) / theta.size**0.5
    alpha = max(eps2, rms_theta) * rho  # before the weight decay
    if weight_decay:
        theta = theta * (1.0 - lr * weight_decay)
    v = lerp(state.variance, g * g, one_minus_beta2)
    update = g / np.sqrt(np.maximum(v, eps1 * eps1))  # eps1² clamp INSIDE the sqrt
    denom = max(1.0, np.linalg.norm(update) / (update.size**0.5 * d))  # update clipping
    return theta - (alpha / denom) * update, AdafactorState(v)


@register("adafactor", family="adaptive")
def adafactor(
    lr: PositiveFloat = 1e-2,
    beta2_decay: NonPosFloat = -0.8,
    eps: tuple[OptionalNonNegFloat, NonNegFloat] = (None, 1e-3),
    d: Annotated[float, Bound(ge=1)] = 1.0,
    weight_decay: NonNegFloat = 0.0,
) -> Optimizer:
    """Adafactor (Shazeer & Stern 2018), as torch.optim.Adafactor runs it on a vector θ.

    Update (torch 2.13 ``_single_tensor_adafactor``), t from 1, V_0 = 0, ε1 = eps[0]
    (null: the machine epsilon of θ's dtype, as torch), ε2 = eps[1]::

        β̂ ← t^c                                  (c = beta2_decay; 1 − β2_t = t^c)
        ρ ← min(γ, 1/sqrt(t))                     (relative step size; γ = lr)
        α ← max(ε2, RMS(θ)) · ρ                   (θ BEFORE the decay; RMS = ‖θ‖/sqrt(p))
        θ ← θ (1 − γ λ)                           (weight_decay λ, decoupled, × lr not × α)
        V ← V + β̂ (g² − V)                       (torch.lerp; V_1 = g²)
        U ← g / sqrt(max(V, ε1²))
        θ ← θ − α / max(1, RMS(U)/d) · U          (update clipping at threshold d)

    Defaults: lr = 1e-2, beta2_decay = −0.8 (≤ 0), eps = [null, 1e-3], d = 1.0 (≥ 1),
    weight_decay = 0.

    optrun's θ = [w, b] is ONE vector, so it is never factored (torch factors the second
    moment into row and column statistics only for matrices) and RMS(θ), RMS(U) are taken over
    all parameters, intercept included; torch with separate w and b tensors computes them per
    tensor and gives a different trajectory. First step: U = sign(g) (|g| > ε1), RMS(U) ≤ 1, so
    θ1 = θ0 − max(ε2, RMS(θ0)) · min(γ, 1) · sign(g).
    Paper differences: torch has no first moment (β1 = 0, as the paper recommends) and uses
    ρ = min(lr, 1/sqrt(t)) with lr as the cap (paper: min(10⁻², 1/sqrt(t))); the paper's
    ε1 = 1e-30 is added to g² rather than clamping V; Hugging Face's Adafactor differs again
    (scale_parameter/relative_step flags, ε1 added to g²).
    """
    update = partial(adafactor_update, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                     weight_decay=weight_decay)
    return Optimizer(init=_init, update=update)
