"""Per-coordinate adaptive step sizes: Adagrad, Adadelta, RMSprop (torch semantics)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import NonNegFloat, PositiveFloat, UnitFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



# --------------------------------------------------------------------------------------------
# Adagrad


class AdagradState(NamedTuple):
    sum: np.ndarray  # S: running sum of squared gradients, S_0 = initial_accumulator_value


def _adagrad_init(theta0, *, initial_accumulator_value):
    return AdagradState(np.full_like(as_float(theta0), initial_accumulator_value))


def adagrad_update(grad, state, theta, t, lr, hessian=None, *, lr_decay, weight_decay, eps):
    g, theta = grad_theta(grad, theta)
    if weight_decay:
        g = g + weight_decay * theta
    clr = lr / (1.0 + (t - 1) * lr_decay)  # (t − 1): the first step is not decayed
    s = state.sum + g * g
    # eps OUTSIDE the sqrt (Duchi's δI + diag(G)^½), unlike Ruder's sqrt(G + ε).
    return theta - clr * g / (np.sqrt(s) + eps), AdagradState(s)


@register("adagrad", family="adaptive")
def adagrad(lr: PositiveFloat = 1e-2, lr_decay: NonNegFloat = 0.0, weight_decay: NonNegFloat = 0.0,
            initial_accumulator_value: NonNegFloat = 0.0, eps: PositiveFloat = 1e-10) -> Optimizer:
    """Adagrad (Duchi, Hazan & Singer 2011), as torch.optim.Adagrad runs it.

    Update (torch 2.13 ``_single_tensor_adagrad``), t = step counter from 1::

        g ← g + λ θ                               (weight_decay λ, coupled)
        clr ← γ / (1 + (t − 1) · lr_decay)         (first step not decayed)
        S ← S + g²                                 (S_0 = initial_accumulator_value)
        θ ← θ − clr · g / (sqrt(S) + eps)          (eps OUTSIDE the sqrt)

    Defaults: lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0,
    eps = 1e-10.

    Textbook: Ruder writes θ ← θ − η g / sqrt(G + ε) (eps inside, ε ≈ 1e-8, η = 0.01); Duchi et
    al.'s diagonal form δI + diag(G)^½ has it outside, like torch. lr_decay and
    initial_accumulator_value are torch additions. optax.adagrad differs: eps = 1e-7 *inside*
    the sqrt and initial_accumulator_value = 0.1 by default, no lr_decay.

    With S_0 = 0 the first step is −γ g/(|g| + eps) ≈ −γ sign(g).
    """
    update = partial(adagrad_update, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
    init = partial(_adagrad_init, initial_accumulator_value=initial_accumulator_value)
    return Optimizer(init=init, update=update)


# --------------------------------------------------------------------------------------------
# Adadelta


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray  # V = E[g²]
    acc_delta: np.ndarray  # U = E[Δ²] of the UNSCALED Δ


def _adadelta_init(theta0):
    z = np.zeros_like(as_float(theta0))
    return AdadeltaState(z, z.copy())


def adadelta_update(grad, state, theta, t, lr, hessian=None, *, rho, eps, weight_decay):
    g, theta = grad_theta(grad, theta)
    if weight_decay:
        g = g + weight_decay * theta
    v = rho * state.square_avg + (1.0 - rho) * g * g
    # Numerator uses U from the previous step; eps in both sqrts (else U_0 = 0 never moves).
    delta = np.sqrt(state.acc_delta + eps) / np.sqrt(v + eps) * g
    u = rho * state.acc_delta + (1.0 - rho) * delta * delta  # Δ before the lr multiplier
    return theta - lr * delta, AdadeltaState(v, u)


@register("adadelta", family="adaptive")
def adadelta(lr: PositiveFloat = 1.0, rho: UnitFloat = 0.9, eps: PositiveFloat = 1e-6,
             weight_decay: NonNegFloat = 0.0) -> Optimizer:
    """Adadelta (Zeiler 2012), as torch.optim.Adadelta runs it (with an extra lr multiplier).

    Update (torch 2.13 ``_single_tensor_adadelta``)::

        g ← g + λ θ
        V ← ρ V + (1 − ρ) g²                          (E[g²], V_0 = 0)
        Δ ← sqrt(U + eps) / sqrt(V + eps) · g         (U from the PREVIOUS step, U_0 = 0)
        U ← ρ U + (1 − ρ) Δ²                          (accumulates the UNSCALED Δ)
        θ ← θ − γ Δ

    Defaults: lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0.

    Textbook (Zeiler Alg. 1; Ruder): Δx = −(RMS[Δx]_{t−1} / RMS[g]_t) g with
    RMS[y] = sqrt(E[y²] + ε): there is no learning rate (torch = Zeiler exactly at lr = 1).
    torch's lr (a "step rate", pytorch PR #568) multiplies the applied change only; U remembers
    the unscaled Δ. Zeiler's experiments used ρ = 0.95; torch and Ruder use 0.9.
    optax.adadelta is the same rule but pass learning_rate=1.0: its default None performs
    gradient ascent (optax 0.2.8).

    Adadelta starts very slowly: the first step is ≈ γ sqrt(eps/(1 − ρ)) ≈ 3.16e-3 γ per
    coordinate at the defaults. That is correct behaviour, not a bug.
    """
    update = partial(adadelta_update, rho=rho, eps=eps, weight_decay=weight_decay)
    return Optimizer(init=_adadelta_init, update=update)


# --------------------------------------------------------------------------------------------
# RMSprop


class RMSpropState(NamedTuple):
    square_avg: np.ndarray  # V = EMA of g²
    grad_avg: np.ndarray  # A = EMA of g (centered only)
    momentum_buffer: np.ndarray  # B (momentum > 0 only), B_0 = 0


def _rmsprop_init(theta0):
    z = np.zeros_like(as_float(theta0))
    return RMSpropState(z, z.copy(), z.copy())


def rmsprop_update(grad, state, theta, t, lr, hessian=None, *,
                   alpha, eps, weight_decay, momentum, centered):
    g, theta = grad_theta(grad, theta)
    if weight_decay:
        g = g + weight_decay * theta
    v = alpha * state.square_avg + (1.0 - alpha) * g * g
    a = state.grad_avg
    if centered:
        a = a + (1.0 - alpha) * (g - a)  # torch's lerp
        # V − A² ≥ 0 mathematically but may cancel to ~0; torch does not clip it, nor do we.
        den = np.sqrt(v - a * a) + eps
    else:
        den = np.sqrt(v) + eps  # eps OUTSIDE the sqrt, no bias correction
    buf = state.momentum_buffer
    if momentum > 0:
        buf = momentum * buf + g / den  # buffer of normalised gradients, lr outside
        new_theta = theta - lr * buf
    else:
        new_theta = theta - lr * g / den
    return new_theta, RMSpropState(v, a, buf)


@register("rmsprop", family="adaptive")
def rmsprop(lr: PositiveFloat = 1e-2, alpha: UnitFloat = 0.99, eps: PositiveFloat = 1e-8,
            weight_decay: NonNegFloat = 0.0, momentum: NonNegFloat = 0.0,
            centered: bool = False) -> Optimizer:
    """RMSprop (Hinton, Coursera lecture 6e), as torch.optim.RMSprop runs it.

    Update (torch 2.13 ``_single_tensor_rmsprop``)::

        g ← g + λ θ
        V ← α V + (1 − α) g²                    (V_0 = 0, no bias correction)
        if centered:  A ← A + (1 − α)(g − A);  den ← sqrt(V − A²) + eps     (Graves 2013)
        else:         den ← sqrt(V) + eps       (eps OUTSIDE the sqrt)
        if μ > 0:     B ← μ B + g / den;  θ ← θ − γ B     (B_0 = 0, lr outside)
        else:         θ ← θ − γ g / den

    Defaults: lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0,
    centered = False.

    Textbook: Hinton uses decay 0.9 and no eps; Ruder θ −= η g/sqrt(E[g²] + ε) with decay 0.9,
    η = 1e-3 (eps inside); Graves' centered form has eps inside and lr inside the momentum.
    torch differs in the decay (0.99), eps outside the sqrt ("TensorFlow interchanges these two
    operations"), and lr outside the momentum buffer. optax.rmsprop defaults to decay = 0.9
    and eps_in_sqrt = True; with decay = 0.99, eps_in_sqrt = False it matches torch.

    With V_0 = 0 and no bias correction the first step is γ g/(sqrt(1 − α)|g| + eps)
    ≈ 10 γ sign(g) for α = 0.99: ten times Adam's, so RMSprop needs a smaller lr.
    """
    update = partial(rmsprop_update, alpha=alpha, eps=eps, weight_decay=weight_decay,
                     momentum=momentum, centered=centered)
    return Optimizer(init=_rmsprop_init, update=update)
