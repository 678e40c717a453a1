"""Gradient descent, heavy-ball momentum and Nesterov momentum (``torch.optim.SGD``).

One update rule, three registered entry points: ``sgd`` (alias ``gd``) with torch's full set of
knobs, and the presets ``momentum`` (momentum = 0.9) and ``nag`` (momentum = 0.9, Nesterov).
Batch, stochastic and mini-batch gradient descent are the same optimizer with different
samplers (the batch mode belongs to the run, not to the optimizer).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal, NamedTuple

import numpy as np

from optrun.errors import OptrunError
from optrun.optim._schema import Bound, NonNegFloat, PositiveFloat, UnitFloat
from optrun.optim.linesearch import backtracking, strong_wolfe
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register

LineSearch = Literal["none", "armijo", "strong_wolfe"]
ArmijoAlpha = Annotated[float, Bound(gt=0, lt=0.5)]
ArmijoBeta = Annotated[float, Bound(gt=0, lt=1)]


class SGDState(NamedTuple):
    """``momentum_buffer``: torch's b (a sum of raw gradients, lr outside). Unused if μ = 0.

    ``ls_step`` / ``ls_trials``: the accepted step and the number of trial evaluations of the
    last line search (line_search ≠ none only).
    """

    momentum_buffer: np.ndarray
    ls_step: float = float("nan")
    ls_trials: int = 0


def _init(theta0: np.ndarray) -> SGDState:
    return SGDState(np.zeros_like(as_float(theta0)))


def sgd_update(grad, state, theta, t, lr, hessian=None, *,
               momentum, dampening, weight_decay, nesterov, **_extras):
    """One torch SGD step: coupled L2, momentum buffer created as g_1, lr outside the buffer."""
    g, theta = grad_theta(grad, theta)
    if weight_decay:
        g = g + weight_decay * theta
    if momentum:
        # torch creates the buffer lazily as a copy of the first gradient: b_1 = g_1, NOT
        # dampened. With the state kept pure, "first call" is t == 1.
        if t == 1:
            buf = g.copy()
        else:
            buf = momentum * state.momentum_buffer + (1.0 - dampening) * g
        # the constructor, not state._replace: the compiled engine runs this very function under
        # numba (optrun/compiled.py), which builds NamedTuples but has no _replace
        state = SGDState(buf, state.ls_step, state.ls_trials)
        # Nesterov uses the buffer *after* this step's update (b_t, not b_{t-1}).
        direction = g + momentum * buf if nesterov else buf
    else:
        direction = g
    return theta - lr * direction, state


def search(kind, closure, theta, d, f0, g0, step0, weight_decay, alpha, beta):
    """Line search along d from θ (the objective: the closure plus the coupled (λ/2)‖θ‖²).

    Returns the LineSearchResult; ``kind`` is "armijo" (backtracking from step0, B&V Alg. 9.2)
    or "strong_wolfe" (torch's search from step0, c1 = 1e-4, c2 = 0.9, at most 25 trials).
    """
    def phi(a):
        x = theta + a * d
        f, g = closure(x)
        g = np.asarray(g, dtype=x.dtype)
        if weight_decay:
            f, g = f + 0.5 * weight_decay * float(x @ x), g + weight_decay * x
        return float(f), g

    gtd = float(g0 @ d)
    if kind == "armijo":
        return backtracking(phi, f0, gtd, step0, alpha=alpha, beta=beta)
    return strong_wolfe(phi, d, step0, f0, g0, gtd)


def sgd_ls_update(grad, state, theta, t, lr, hessian=None, *, closure=None, line_search,
                  weight_decay, ls_alpha, ls_beta, **_extras):
    """Full-batch gradient descent with a line search: d = −∇F(θ), θ ← θ + s d."""
    if closure is None:
        raise ValueError("sgd with a line search needs the 'closure' extra")
    theta = as_float(theta)
    f0, g0 = closure(theta)  # the loss at θ (the engine's gradient has no loss with it)
    g0 = np.asarray(g0, dtype=theta.dtype)
    f0 = float(f0)
    if weight_decay:
        f0, g0 = f0 + 0.5 * weight_decay * float(theta @ theta), g0 + weight_decay * theta
    if not np.any(g0):  # stationary: nothing to search
        return theta.copy(), state._replace(ls_step=0.0, ls_trials=1)
    res = search(line_search, closure, theta, -g0, f0, g0, lr, weight_decay, ls_alpha, ls_beta)
    return theta - res.step * g0, state._replace(ls_step=res.step, ls_trials=1 + res.evals)


def ls_report(state) -> dict:
    """``step_size``: the accepted step of the last line search; ``ls_trials``: closure calls
    in that step (the evaluation at θ included)."""
    step = float(state.ls_step)
    return {"step_size": None if np.isnan(step) else step, "ls_trials": int(state.ls_trials)}


def _build(momentum: float, dampening: float, weight_decay: float, nesterov: bool,
           line_search: str = "none", ls_alpha: float = 0.25, ls_beta: float = 0.5) -> Optimizer:
    if line_search != "none":
        if momentum:
            raise OptrunError(
                f"optimizer.line_search: a line search needs momentum = 0 (the step length is "
                f"searched along −∇F), got momentum={momentum!r}"
            )
        update = partial(sgd_ls_update, line_search=line_search, weight_decay=weight_decay,
                         ls_alpha=ls_alpha, ls_beta=ls_beta)
        return Optimizer(init=_init, update=update, needs=frozenset({"closure"}), report=ls_report)
    if nesterov and (momentum <= 0 or dampening != 0):
        # torch.optim.SGD raises the same: the reformulated Nesterov step needs a buffer.
        raise OptrunError(
            "optimizer.nesterov: Nesterov momentum requires momentum > 0 and dampening = 0 "
            f"(as in torch), got momentum={momentum!r}, dampening={dampening!r}"
        )
    update = partial(sgd_update, momentum=momentum, dampening=dampening,
                     weight_decay=weight_decay, nesterov=nesterov)
    return Optimizer(init=_init, update=update)


@register("sgd", family="gd", aliases=("gd",))
def sgd(
    lr: PositiveFloat = 1e-3,
    momentum: NonNegFloat = 0.0,
    dampening: UnitFloat = 0.0,
    weight_decay: NonNegFloat = 0.0,
    nesterov: bool = False,
    line_search: LineSearch = "none",
    ls_alpha: ArmijoAlpha = 0.25,
    ls_beta: ArmijoBeta = 0.5,
) -> Optimizer:
    """Gradient descent / SGD, as torch.optim.SGD runs it (optional momentum, Nesterov, line search).

    Update (torch 2.13 ``_single_tensor_sgd``), g = gradient of the batch-mean loss::

        g ← g + λ θ                          (weight_decay λ: coupled L2, bias included)
        if μ > 0:
            b ← g                 if t = 1   (buffer created as a copy of g: not dampened)
            b ← μ b + (1 − τ) g   otherwise  (τ = dampening)
            d ← g + μ b  if nesterov  else  b
        else:  d ← g
        θ ← θ − γ d                          (γ = lr of this step)

    Defaults: lr = 1e-3 (torch 2.13; older torch required lr), momentum = 0, dampening = 0,
    weight_decay = 0, nesterov = False. nesterov requires momentum > 0 and dampening = 0.

    Textbook (Ruder 2016): θ ← θ − η ∇J(θ); batch, stochastic and mini-batch GD differ only in
    the rows the gradient is computed on. optax.sgd is identical. First step from θ0:
    θ1 = θ0 − γ g(θ0). Gradients are batch means (a sum would tie the step to the batch size);
    the scale of the loss matters: plain MSE doubles the gradient of ½·MSE.

    Momentum differences (see ``momentum``): torch keeps lr outside the buffer and creates the
    buffer as g_1; the textbook has v = μ v + η g with v_0 = 0. They agree for a constant lr and
    τ = 0, and differ under an lr schedule or with dampening.

    Line search (not in torch; ``line_search`` ≠ none needs momentum = 0 and the engine's
    "closure" extra; meant for full batches): d = −∇F(θ) with F = batch loss + (λ/2)‖θ‖², and
    the step s starts at γ (the lr of this step) and is chosen by

    * ``armijo``: backtracking (Boyd & Vandenberghe §9.2, Alg. 9.2): s ← β s until
      F(θ + s d) ≤ F(θ) + α s ∇Fᵀd; α = ls_alpha = 0.25, β = ls_beta = 0.5 (α ∈ (0, ½),
      β ∈ (0, 1)); at most 50 trials.
    * ``strong_wolfe``: torch.optim.LBFGS's strong-Wolfe search (c1 = 1e-4, c2 = 0.9, cubic
      interpolation; ≤ 25 further trials), which may also lengthen the step.

    θ ← θ + s d. ``report()`` gives ``step_size`` (the accepted s) and ``ls_trials`` (closure
    calls of the step, the one at θ included). Defaults: line_search = none, ls_alpha = 0.25,
    ls_beta = 0.5.
    """
    return _build(momentum, dampening, weight_decay, nesterov, line_search, ls_alpha, ls_beta)


@register("momentum", family="momentum")
def momentum(
    lr: PositiveFloat = 1e-3,
    momentum: NonNegFloat = 0.9,
    dampening: UnitFloat = 0.0,
    weight_decay: NonNegFloat = 0.0,
) -> Optimizer:
    """Heavy-ball momentum: torch.optim.SGD with momentum = 0.9 (a preset of ``sgd``).

    Update (torch)::

        g ← g + λ θ
        b ← g if t = 1 else μ b + (1 − τ) g      (b_1 = g_1, NOT dampened)
        θ ← θ − γ b

    Defaults: lr = 1e-3, momentum μ = 0.9, dampening τ = 0, weight_decay λ = 0.

    Textbook (Polyak 1964; Ruder; Sutskever et al. 2013 with the opposite sign):
    v_t = μ v_{t−1} + η ∇J(θ), θ ← θ − v_t, v_0 = 0. Differences:

    1. lr placement: torch's b is a sum of raw gradients with γ outside (v = γ b). Identical for
       a constant lr; under a schedule a new lr rescales the whole velocity in torch, while the
       textbook scales only new gradients.
    2. The buffer starts as g_1, not 0. With τ ≠ 0 the first gradient is not dampened (a
       zero-initialised dampened buffer would make the first step (1 − τ) times too small).
    3. torch's dampening is not the EMA form v = μ v + (1 − μ) g unless τ = μ.

    optax.sgd(lr, momentum=μ) (``trace``: m = g + μ m, m_0 = 0) equals torch with τ = 0; optax has
    no dampening. First step: θ1 = θ0 − γ g(θ0).
    """
    return _build(momentum, dampening, weight_decay, False)


@register("nag", family="momentum")
def nag(
    lr: PositiveFloat = 1e-3,
    momentum: PositiveFloat = 0.9,
    weight_decay: NonNegFloat = 0.0,
) -> Optimizer:
    """Nesterov accelerated gradient: torch.optim.SGD(momentum=0.9, nesterov=True) (preset).

    Update (torch; the gradient is taken at the stored parameters)::

        g ← g + λ θ
        b ← g if t = 1 else μ b + g
        θ ← θ − γ (g + μ b)                 (uses the NEW buffer b_t)

    Defaults: lr = 1e-3, momentum μ = 0.9 (must be > 0, as torch requires), weight_decay = 0;
    dampening is always 0 (torch requires it for Nesterov).

    Textbook (Nesterov 1983; Sutskever et al. 2013; Ruder): v_t = μ v_{t−1} +
    η ∇J(θ_{t−1} − μ v_{t−1}), θ_t = θ_{t−1} − v_t (gradient at the look-ahead point).
    Difference: the rules are equivalent but the *iterates are different variables*: torch's
    parameter is the look-ahead point φ_t = θ_t − μ v_t (with v = γ b; the reformulation of
    Bengio et al. 2012). A look-ahead implementation that records θ_t gives a different
    trajectory; recording φ_t reproduces torch. The logged loss is the loss at φ_t.

    optax.sgd(lr, momentum, nesterov=True) is the same as torch. First step from θ0:
    θ1 = θ0 − γ (1 + μ) g(θ0).
    """
    return _build(momentum, 0.0, weight_decay, True)
