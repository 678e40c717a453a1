"""Rprop: resilient backpropagation, sign-based per-coordinate steps (torch.optim.Rprop)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.errors import OptrunError
from optrun.optim._schema import NonNegFloat, PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



class RpropState(NamedTuple):
    prev: np.ndarray  # the previous (masked) gradient, starts at 0
    step_size: np.ndarray  # Δ per coordinate; set to lr on the first step (torch: full_like(lr))


def _init(theta0) -> RpropState:
    z = np.zeros_like(as_float(theta0))
    return RpropState(z, z.copy())


def rprop_update(grad, state, theta, t, lr, hessian=None, *, etas, step_sizes, **_extras):
    etaminus, etaplus = etas
    lo, hi = step_sizes
    g, theta = grad_theta(grad, theta)
    # torch creates the step sizes when the state is created, from the lr of that (first) step:
    # later lr changes (schedules) never reach Rprop.
    step_size = np.full_like(theta, lr) if t == 1 else state.step_size
    s = np.sign(g * state.prev)
    factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(theta.dtype)  # torch's sign tensor
    step_size = np.clip(step_size * factor, lo, hi)
    g = np.where(s < 0, 0.0, g)  # a sign change: no move now, and no comparison next time
    return theta - np.sign(g) * step_size, RpropState(g, step_size)


@register("rprop", family="adaptive")
def rprop(
    lr: PositiveFloat = 1e-2,
    etas: tuple[PositiveFloat, PositiveFloat] = (0.5, 1.2),
    step_sizes: tuple[NonNegFloat, NonNegFloat] = (1e-6, 50.0),
) -> Optimizer:
    """Rprop (Riedmiller & Braun 1993), as torch.optim.Rprop runs it (the "Rprop−" variant).

    Update (torch 2.13 ``_single_tensor_rprop``), per coordinate, prev_0 = 0, Δ_0 = γ::

        s ← sign(g · prev)
        Δ ← clip(Δ · (η+ if s > 0, η− if s < 0, 1 if s = 0), Δmin, Δmax)
        g ← 0 where s < 0                  (no step after a sign change)
        θ ← θ − sign(g) · Δ
        prev ← g

    Defaults: lr = 1e-2 (only the initial Δ), etas = (η−, η+) = (0.5, 1.2), step_sizes =
    (Δmin, Δmax) = (1e-6, 50). Requires 0 < η− < 1 < η+ (as torch) and Δmin ≤ Δmax.

    First step: θ1 = θ0 − γ sign(g). The gradient's size never enters, only its sign; so Rprop
    is meant for full batches (mini-batch sign noise makes Δ shrink). lr is read once: an lr
    schedule has no effect after step 1 (as in torch). No weight_decay (torch has none).
    Textbook: Riedmiller & Braun's original Rprop undoes the last step after a sign change
    (weight backtracking, "Rprop+"); torch, like Igel & Hüsken's "Rprop−", only skips the step.
    """
    if not 0.0 < etas[0] < 1.0 < etas[1]:
        raise OptrunError(f"optimizer.etas: expected 0 < etaminus < 1 < etaplus (as in torch), got {list(etas)}")
    if step_sizes[0] > step_sizes[1]:
        raise OptrunError(f"optimizer.step_sizes: expected [min, max] with min <= max, got {list(step_sizes)}")
    update = partial(rprop_update, etas=tuple(etas), step_sizes=tuple(step_sizes))
    return Optimizer(init=_init, update=update)
