"""The Adam family: Adam, AdamW, AMSGrad, AdaMax, NAdam (torch semantics)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim.adafactor import lerp
from optrun.optim._schema import Betas, NonNegFloat, PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



def apply_weight_decay(g, theta, lr, weight_decay, decoupled):
    """(gradient, parameters) after torch's weight decay, both using θ_{t−1}.

    Coupled: g + λθ (L2 in the loss). Decoupled (AdamW): θ(1 − γλ) before the adaptive step,
    so the decay is proportional to the lr of this step.
    """
    if not weight_decay:
        return g, theta
    if decoupled:
        return g, theta * (1.0 - lr * weight_decay)
    return g + weight_decay * theta, theta


def adam_moments(m, v, g, betas):
    """Adam's two moment EMAs (torch 2.13, all of the family): (m_t, v_t) from (m_{t−1}, v_{t−1}).

    m ← lerp(m, g, 1 − β1) (torch's formula: m + (1 − β1)(g − m) for β1 > ½) and
    v ← β2 v + (1 − β2) g², both from 0, neither bias-corrected.
    """
    beta1, beta2 = betas
    return lerp(m, g, 1.0 - beta1), beta2 * v + (1.0 - beta2) * g * g


# --------------------------------------------------------------------------------------------
# Adam / AdamW / AMSGrad


class AdamState(NamedTuple):
    exp_avg: np.ndarray  # m
    exp_avg_sq: np.ndarray  # v (raw, not bias-corrected)
    max_exp_avg_sq: np.ndarray  # max of the raw v (amsgrad only), starts at 0


def _adam_init(theta0):
    z = np.zeros_like(as_float(theta0))
    return AdamState(z, z.copy(), z.copy())


def adam_update(grad, state, theta, t, lr, hessian=None, *,
                betas, eps, weight_decay, amsgrad, decoupled_weight_decay):
    beta1, beta2 = betas
    g, theta = apply_weight_decay(*grad_theta(grad, theta), lr, weight_decay, decoupled_weight_decay)
    m, v = adam_moments(state.exp_avg, state.exp_avg_sq, g, betas)
    bc1 = 1.0 - beta1**t  # t starts at 1 (0 would divide by zero)
    bc2_sqrt = (1.0 - beta2**t) ** 0.5
    vmax = state.max_exp_avg_sq
    if amsgrad:
        # max of the RAW v; the current step's bias correction is applied after the max.
        vmax = np.maximum(vmax, v)
        den = np.sqrt(vmax) / bc2_sqrt + eps
    else:
        den = np.sqrt(v) / bc2_sqrt + eps  # sqrt(v̂) + eps: eps after the bias correction
    return theta - (lr / bc1) * m / den, AdamState(m, v, vmax)


def _adam(betas, eps, weight_decay, amsgrad, decoupled_weight_decay) -> Optimizer:
    update = partial(adam_update, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                     amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay)
    return Optimizer(init=_adam_init, update=update)


@register("adam", family="adam")
def adam(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
         weight_decay: NonNegFloat = 0.0, amsgrad: bool = False,
         decoupled_weight_decay: bool = False) -> Optimizer:
    """Adam (Kingma & Ba 2015, Algorithm 1), as torch.optim.Adam runs it.

    Update (torch 2.13 ``_single_tensor_adam``), t = step counter from 1::

        if λ:  decoupled ? θ ← θ (1 − γ λ)  :  g ← g + λ θ
        m ← m + (1 − β1)(g − m)                     (m_0 = 0)
        v ← β2 v + (1 − β2) g²                      (v_0 = 0)
        bc1 ← 1 − β1^t;   bc2 ← 1 − β2^t
        den ← sqrt(v) / sqrt(bc2) + eps             (= sqrt(v̂) + eps: eps after correction)
        θ ← θ − (γ / bc1) · m / den
        amsgrad: v_max ← max(v_max, v) (raw v) and den uses v_max instead of v

    Defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0, amsgrad = False,
    decoupled_weight_decay = False (True gives AdamW).

    Textbook: torch = Algorithm 1 of the paper (and Ruder). The paper's "efficient" form used by
    TF1/Keras, α_t = α sqrt(1 − β2^t)/(1 − β1^t) with ε̂ on the *uncorrected* sqrt(v), equals it
    only if ε̂ = ε sqrt(1 − β2^t) (about 32ε of difference at t = 1; visible at a large eps).
    optax.adam matches torch (its eps_root, inside the sqrt, defaults to 0).

    First step: −γ g/(|g| + eps) ≈ −γ sign(g) (an off-by-one t gives ≈ 0.744 γ; no bias
    correction gives ≈ 3.16 γ).
    """
    return _adam(betas, eps, weight_decay, amsgrad, decoupled_weight_decay)


@register("adamw", family="adam")
def adamw(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
          weight_decay: NonNegFloat = 1e-2, amsgrad: bool = False) -> Optimizer:
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, as torch.optim.AdamW.

    Update (torch: ``Adam(decoupled_weight_decay=True)``)::

        θ ← θ (1 − γ λ)               (θ_{t−1}, BEFORE the Adam step; the bias b too)
        ... then exactly Adam with the raw gradient g (λθ is NOT added to g) ...

    so θ_t = θ_{t−1} − γ λ θ_{t−1} − γ · (Adam direction). amsgrad = True is allowed.

    Defaults: as Adam except weight_decay = 1e-2.

    Textbook (L&H Alg. 2): θ_t = θ_{t−1} − η_t (α m̂/(sqrt(v̂) + ε) + λ θ_{t−1}), with η_t a
    schedule multiplier: the paper's decay is λ η_t, NOT multiplied by the lr α. torch's is
    γ λ, so a paper λ corresponds to torch weight_decay = λ / lr at a constant schedule.
    optax.adamw is the same as torch but defaults to weight_decay = 1e-4 and can mask
    parameters; torch (and optrun) decay every parameter, the intercept included.
    """
    return _adam(betas, eps, weight_decay, amsgrad, True)


@register("amsgrad", family="adam")
def amsgrad(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
            weight_decay: NonNegFloat = 0.0, decoupled_weight_decay: bool = False) -> Optimizer:
    """AMSGrad (Reddi, Kale & Kumar 2018): torch.optim.Adam(amsgrad=True) (a preset of ``adam``).

    Update (torch)::

        ... m, v as in Adam (with t from 1) ...
        v_max ← max(v_max, v)                        (max of the RAW v; v_max_0 = 0)
        den   ← sqrt(v_max) / sqrt(1 − β2^t) + eps   (current bias correction, AFTER the max)
        θ ← θ − (γ / (1 − β1^t)) · m / den

    Defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.

    Textbook (Reddi et al. Alg. 2; Ruder): v̂_t = max(v̂_{t−1}, v_t), θ −= η m_t/(sqrt(v̂_t) + ε)
    with NO bias correction of m or v. torch bias-corrects both, and corrects v after the max, so
    its effective v̂ is not monotone although v_max is (the torch docs had this wrong until late
    2024, pytorch #142041). optax.amsgrad takes the max of the bias-corrected v̂: no optax
    setting reproduces torch's AMSGrad.
    """
    return _adam(betas, eps, weight_decay, True, decoupled_weight_decay)


# --------------------------------------------------------------------------------------------
# AdaMax


class AdamaxState(NamedTuple):
    exp_avg: np.ndarray  # m
    exp_inf: np.ndarray  # u: exponentially weighted infinity norm, u_0 = 0


def _adamax_init(theta0):
    z = np.zeros_like(as_float(theta0))
    return AdamaxState(z, z.copy())


def adamax_update(grad, state, theta, t, lr, hessian=None, *, betas, eps, weight_decay):
    beta1, beta2 = betas
    g, theta = grad_theta(grad, theta)
    if weight_decay:
        g = g + weight_decay * theta
    m = lerp(state.exp_avg, g, 1.0 - beta1)
    u = np.maximum(beta2 * state.exp_inf, np.abs(g) + eps)  # eps INSIDE the max
    return theta - (lr / (1.0 - beta1**t)) * m / u, AdamaxState(m, u)


@register("adamax", family="adam")
def adamax(lr: PositiveFloat = 2e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
           weight_decay: NonNegFloat = 0.0) -> Optimizer:
    """AdaMax (Kingma & Ba 2015, Algorithm 2), as torch.optim.Adamax runs it.

    Update (torch 2.13 ``_single_tensor_adamax``), t from 1::

        g ← g + λ θ
        m ← m + (1 − β1)(g − m)
        u ← max(β2 u, |g| + eps)              (eps INSIDE the max; u_0 = 0)
        θ ← θ − (γ / (1 − β1^t)) · m / u

    Defaults: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.

    Textbook (K&B Alg. 2; Ruder): u_t = max(β2 u_{t−1}, |g_t|) with NO eps, no bias correction
    of u, α = 0.002. Many ports put eps in the denominator, m/(u + eps); torch and optax.adamax
    put it inside the max. First step: −γ g/(|g| + eps) ≈ −γ sign(g).
    """
    update = partial(adamax_update, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    return Optimizer(init=_adamax_init, update=update)


# --------------------------------------------------------------------------------------------
# NAdam


class NAdamState(NamedTuple):
    exp_avg: np.ndarray  # m (EMA with the constant β1)
    exp_avg_sq: np.ndarray  # v
    mu_product: np.floating  # P = Π_{i≤t} μ_i, a running product in θ's dtype (starts at 1)


def _nadam_init(theta0):
    z = np.zeros_like(as_float(theta0))
    return NAdamState(z, z.copy(), z.dtype.type(1.0))


def nadam_update(grad, state, theta, t, lr, hessian=None, *,
                 betas, eps, weight_decay, momentum_decay, decoupled_weight_decay):
    beta1, beta2 = betas
    g, theta = apply_weight_decay(*grad_theta(grad, theta), lr, weight_decay, decoupled_weight_decay)
    bc2 = 1.0 - beta2**t
    # Momentum schedule: 0.96^(tψ) = Dozat's 0.96^(t/250) at ψ = 0.004 (real exponent, not t//250).
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # running product, as torch keeps it (not a closed form): a 0-d tensor of the default dtype,
    # so a float32 run rounds P to float32 on every step; the step sizes below use float(P).
    mu_product = state.mu_product * mu
    p_now = float(mu_product)
    m, v = adam_moments(state.exp_avg, state.exp_avg_sq, g, betas)  # constant β1, not μ_t
    den = np.sqrt(v / bc2) + eps
    # torch's addcdiv(value=c): θ + (c · g) / den, c a Python float
    theta = theta - lr * (1.0 - mu) / (1.0 - p_now) * g / den
    theta = theta - lr * mu_next / (1.0 - p_now * mu_next) * m / den
    return theta, NAdamState(m, v, mu_product)


@register("nadam", family="adam")
def nadam(lr: PositiveFloat = 2e-3, betas: Betas = (0.9, 0.999), eps: PositiveFloat = 1e-8,
          weight_decay: NonNegFloat = 0.0, momentum_decay: NonNegFloat = 4e-3,
          decoupled_weight_decay: bool = False) -> Optimizer:
    """NAdam (Dozat 2016): Adam with Nesterov momentum, as torch.optim.NAdam runs it.

    Update (torch 2.13 ``_single_tensor_nadam``, which follows Keras), t from 1, ψ =
    momentum_decay::

        if λ:  decoupled ? θ ← θ (1 − γ λ)  :  g ← g + λ θ
        μ_t ← β1 (1 − ½ · 0.96^(t ψ));   μ_{t+1} ← β1 (1 − ½ · 0.96^((t+1) ψ))
        P ← P · μ_t                              (mu_product, P_0 = 1, kept in the state)
        m ← m + (1 − β1)(g − m)                  (CONSTANT β1, not μ_t)
        v ← β2 v + (1 − β2) g²
        den ← sqrt(v / (1 − β2^t)) + eps
        θ ← θ − γ (1 − μ_t) / (1 − P) · g / den − γ μ_{t+1} / (1 − P μ_{t+1}) · m / den

    Defaults: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0,
    momentum_decay = 4e-3, decoupled_weight_decay = False (True gives "NAdamW").

    The schedule 0.96^(tψ) is Dozat's 0.96^(t/250) and Keras' schedule_decay = 0.004; μ starts
    at ≈ 0.450 (not 0.9) and approaches β1 only over thousands of steps.
    Textbook: Dozat's Algorithm 2 (as usually transcribed) uses μ_t in the m recurrence and,
    per a comment in optax, multiplies n̂ by ν; Ruder's simplified NAdam has a constant β1 and no
    schedule. optax.nadam (= adam(nesterov=True)) has no μ schedule and no mu_product: a
    different algorithm.

    First step: θ1 = θ0 − γ (1 + μ_2 (1 − β1)/(1 − μ_1 μ_2)) · g/(|g| + eps)
    ≈ θ0 − 1.05645 γ sign(g) at the defaults.
    """
    update = partial(nadam_update, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                     momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay)
    return Optimizer(init=_nadam_init, update=update)
