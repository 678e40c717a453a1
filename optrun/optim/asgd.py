"""ASGD: averaged stochastic gradient descent (torch.optim.ASGD)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import NonNegFloat, PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



class ASGDState(NamedTuple):
    eta: float  # step size of the NEXT update (torch's state["eta"]); nan until the first step
    mu: float  # averaging weight of the NEXT update, starts at 1
    ax: np.ndarray  # the averaged iterate, starts at 0


def _init(theta0) -> ASGDState:
    return ASGDState(float("nan"), 1.0, np.zeros_like(as_float(theta0)))


def asgd_update(grad, state, theta, t, lr, hessian=None, *, lambd, alpha, t0, weight_decay,
                **_extras):
    g, theta = grad_theta(grad, theta)
    # torch creates eta = lr with the state (first step); afterwards eta is the value computed
    # at the end of the previous step, from that step's lr: a schedule reaches ASGD one step late.
    # Python floats: an np.float64 scalar would upcast a float32 θ (NEP 50)
    eta = float(lr) if t == 1 else float(state.eta)
    if weight_decay:
        g = g + weight_decay * theta
    theta = theta * (1.0 - lambd * eta)  # the λ "decay term"
    theta = theta - eta * g
    if state.mu != 1.0:
        ax = state.ax + (theta - state.ax) * state.mu
    else:
        ax = theta.copy()  # torch copies (no rounding from ax + (θ − ax)·1)
    # np.float64: overflow gives inf (silenced by the engine), not a Python OverflowError.
    eta_next = np.float64(lr) / (1.0 + lambd * np.float64(lr) * t) ** alpha
    mu_next = 1.0 / max(1.0, t - t0)
    return theta, ASGDState(float(eta_next), float(mu_next), ax)


def _report(state: ASGDState) -> dict:
    return {"ax": [float(v) for v in state.ax]}


@register("asgd", family="gd")
def asgd(
    lr: PositiveFloat = 1e-2,
    lambd: NonNegFloat = 1e-4,
    alpha: NonNegFloat = 0.75,
    t0: NonNegFloat = 1e6,
    weight_decay: NonNegFloat = 0.0,
) -> Optimizer:
    """Averaged SGD (Polyak & Juditsky 1992; Bottou 2012), as torch.optim.ASGD runs it.

    Update (torch 2.13 ``_single_tensor_asgd``), t from 1, state η_1 = γ, μ_1 = 1, ax_0 = 0::

        g ← g + λ_wd θ                          (weight_decay, coupled)
        θ ← θ (1 − λ η_t) − η_t g               (λ = lambd: a decay toward 0)
        ax ← θ                  if μ_t = 1
        ax ← ax + μ_t (θ − ax)  otherwise       (running average of the iterates)
        η_{t+1} ← γ / (1 + λ γ t)^α;   μ_{t+1} ← 1 / max(1, t − t0)

    Defaults: lr = 1e-2, lambd = 1e-4, alpha = 0.75, t0 = 1e6, weight_decay = 0.

    The parameters θ are the plain SGD iterate; the averaged iterate ax (what the theory is
    about) is reported by ``report(state) = {"ax": [...]}`` (trace columns ``ax_<param>`` and
    ``ax_loss``). With the default t0 = 1e6 averaging never starts in a short run: ax = θ.
    With an integer t0 = k, ax_t = θ_t up to t = k + 2 and then the running mean of the iterates
    from there on: ax_t = mean(θ_{k+2}, ..., θ_t).

    Differences: torch's η_t uses the lr and t of the PREVIOUS step (η_1 = γ), so an lr schedule
    acts one step late; the λ-decay θ(1 − λη) is torch's (Bottou's ASGD with λ the L2 strength),
    not part of Polyak–Juditsky averaging. optax has no ASGD.
    """
    update = partial(asgd_update, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay)
    return Optimizer(init=_init, update=update, report=_report)
