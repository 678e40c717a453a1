"""Gradient descent with the Polyak step size (exact f*), and its stochastic form (SPS)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register


class PolyakState(NamedTuple):
    step_size: float  # γ_t of the last step (nan before the first)


def _init(theta0) -> PolyakState:
    return PolyakState(float("nan"))


def polyak_update(grad, state, theta, t, lr, hessian=None, *, batch=None, f_star=None,
                  max_lr=None, **_extras):
    if f_star is None:
        raise ValueError("polyak needs the exact optimum: the 'f_star' extra is None")
    if batch is None:
        raise ValueError("polyak needs the 'batch' extra (for the batch loss at θ)")
    objective, Xb, yb, _ = batch
    g, theta = grad_theta(grad, theta)
    f = float(objective.value(theta, Xb, yb))
    gg = float(g @ g)
    gap = max(f - float(f_star), 0.0)  # a batch loss can be below f*: then no step
    step = lr * gap / gg if gg > 0 else 0.0
    if max_lr is not None:
        step = min(step, max_lr)
    return theta - step * g, PolyakState(step)


def _report(state: PolyakState) -> dict:
    step = float(state.step_size)
    return {"step_size": None if np.isnan(step) else step}  # None (JSON null) before step 1


@register("polyak", family="gd")
def polyak(lr: PositiveFloat = 1.0, max_lr: PositiveFloat | None = None) -> Optimizer:
    """Gradient descent with the Polyak step size γ_t = (f(θ) − f*)/‖∇f(θ)‖² (Polyak 1987).

    Update, with f the loss on this step's batch (engine "batch" extra), g its gradient and f*
    the EXACT optimum of the full problem (engine "f_star" extra, from the reference)::

        γ_t ← min(c⁻¹ · max(f(θ) − f*, 0) / ‖g‖², γ_max)       (0 if g = 0)
        θ ← θ − γ_t g

    c⁻¹ = lr (1 is Polyak's step), γ_max = max_lr (null: no cap). Defaults: lr = 1,
    max_lr = null. Full batch: for convex f, ‖θ_t − θ*‖ never increases and f_best − f* =
    O(1/sqrt(t)) (non-smooth), linear on strongly convex smooth f — with no knowledge of L.
    Mini-batches: this is SPS_max (Loizou, Vaswani, Laradji & Lacoste-Julien 2021) with f*
    (the full optimum) in place of inf f_B; they use f_B* = 0 under interpolation and c = ½;
    the cap γ_b is needed there for convergence to a neighbourhood. ``report()``: step_size.
    Needs f*: a run whose reference cannot compute f* cannot use polyak.
    """
    update = partial(polyak_update, max_lr=max_lr)
    return Optimizer(init=_init, update=update, needs=frozenset({"batch", "f_star"}), report=_report)
