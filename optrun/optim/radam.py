"""RAdam: Adam with a rectified adaptive step (torch.optim.RAdam)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import Betas, NonNegFloat, PositiveFloat
from optrun.optim.adam import adam_moments, apply_weight_decay
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



class RAdamState(NamedTuple):
    exp_avg: np.ndarray  # m
    exp_avg_sq: np.ndarray  # v (raw)


def _init(theta0) -> RAdamState:
    z = np.zeros_like(as_float(theta0))
    return RAdamState(z, z.copy())


def rho(t: int, beta2: float) -> float:
    """Length of the approximated SMA: ρ_t = ρ∞ − 2 t β2^t / (1 − β2^t), ρ∞ = 2/(1 − β2) − 1."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    return rho_inf - 2.0 * t * beta2**t / (1.0 - beta2**t)


def rectification(t: int, beta2: float) -> float:
    """r_t = sqrt((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t)), used only when ρ_t > 5."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    r = rho(t, beta2)
    return ((r - 4) * (r - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * r)) ** 0.5


def radam_update(grad, state, theta, t, lr, hessian=None, *,
                 betas, eps, weight_decay, decoupled_weight_decay, **_extras):
    beta1, beta2 = betas
    g, theta = apply_weight_decay(*grad_theta(grad, theta), lr, weight_decay, decoupled_weight_decay)
    m, v = adam_moments(state.exp_avg, state.exp_avg_sq, g, betas)
    bc1 = 1.0 - beta1**t
    bc2 = 1.0 - beta2**t
    m_hat = m / bc1
    if rho(t, beta2) > 5.0:
        # eps is added to the UNcorrected sqrt(v), then multiplied by sqrt(bc2) (torch).
        # torch's Python-float / tensor is reciprocal(tensor) · float
        adaptive = (1.0 / (np.sqrt(v) + eps)) * bc2**0.5
        theta = theta - m_hat * lr * adaptive * rectification(t, beta2)
    else:
        theta = theta - m_hat * lr  # SGD with (bias-corrected) momentum while ρ_t ≤ 5
    return theta, RAdamState(m, v)


@register("radam", family="adam")
def radam(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
          weight_decay: NonNegFloat = 0.0, decoupled_weight_decay: bool = False) -> Optimizer:
    """RAdam (Liu et al. 2020, "On the variance of the adaptive learning rate"), as torch.optim.RAdam.

    Update (torch 2.13 ``_single_tensor_radam``), t from 1::

        if λ:  decoupled ? θ ← θ (1 − γ λ)  :  g ← g + λ θ
        m ← m + (1 − β1)(g − m);   v ← β2 v + (1 − β2) g²          (m_0 = v_0 = 0)
        m̂ ← m / (1 − β1^t)
        ρ∞ ← 2/(1 − β2) − 1;   ρ_t ← ρ∞ − 2 t β2^t / (1 − β2^t)
        if ρ_t > 5:
            r_t ← sqrt((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
            θ ← θ − γ m̂ · r_t · sqrt(1 − β2^t) / (sqrt(v) + eps)    (eps on the RAW sqrt(v))
        else:
            θ ← θ − γ m̂                                             (no adaptive term)

    Defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0,
    decoupled_weight_decay = False (True gives "RAdamW": decay θ(1 − γλ) before the step).

    With β2 = 0.999, ρ_t ≤ 5 for t ≤ 5: the first five steps are bias-corrected momentum SGD,
    so the first step is θ1 = θ0 − γ g (NOT Adam's −γ sign(g)). Paper (Alg. 2): threshold
    ρ_t > 4 and eps-free v̂; torch (and optax.radam, threshold 5) use 5 and put eps on the
    uncorrected sqrt(v) (so a large eps acts like eps/sqrt(1 − β2^t) in Adam's convention).
    """
    update = partial(radam_update, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                     decoupled_weight_decay=decoupled_weight_decay)
    return Optimizer(init=_init, update=update)
