"""Proximal methods for ``F = smooth + l1 ||w||_1``: ISTA, FISTA (with restart), proximal SGD, CD.

None of these is in torch.optim. They take the l1 term *exactly* instead of through its
subgradient: the non-smooth part enters only through its proximal operator

    prox_{γ l1 ||.||_1}(v)_j = sign(v_j) max(|v_j| − γ l1, 0)      (weights only, never b)

which sets weights to exactly 0. The engine passes what each optimizer lists in ``needs``
(see :class:`~optrun.optim.registry.Optimizer`):

* ``prox``: ``prox(v, step)``, the operator above for this objective (identity when l1 = 0);
  with ``prox`` in needs, ``grad`` is the gradient of the SMOOTH part (data + l2) only;
* ``lipschitz``: L, the reference's Lipschitz constant of ∇smooth (the default step is 1/L);
* ``closure``: ``closure(θ) -> (F(θ), ∇smooth(θ))`` on this step's batch (FISTA evaluates its
  gradient at the extrapolated point; F includes the l1 term, for the function restart);
* ``batch``: ``(objective, Xb, yb, idx)`` (coordinate descent works on the rows themselves).

Without ``prox`` (l1 = 0 or a bare call) the proximal step is the identity: ISTA is gradient
descent and FISTA is Nesterov's accelerated gradient method.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple, Optional

import numpy as np

from optrun.errors import OptrunError
from optrun.optim._schema import PositiveFloat
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register

RESTARTS = ("none", "function", "gradient")


def _identity_prox(v, step):
    return v


def _step_size(lr, lipschitz, name: str) -> float:
    """γ = lr when given, else 1/L (the engine passes L as the ``lipschitz`` extra)."""
    if lr is not None:
        return float(lr)
    if lipschitz is None or not np.isfinite(lipschitz) or lipschitz <= 0:
        raise ValueError(f"{name} with lr = null takes the step 1/L: pass lipschitz=L (> 0), got {lipschitz!r}")
    return 1.0 / float(lipschitz)


# --------------------------------------------------------------------------------------------
# ISTA


class ISTAState(NamedTuple):
    step_size: float  # γ of the last step (for the trace)


def _ista_init(theta0) -> ISTAState:
    return ISTAState(float("nan"))


def ista_update(grad, state, theta, t, lr, prox=None, lipschitz=None, **_extras):
    """x ← prox_{γ l1}(x − γ ∇smooth(x))."""
    step = _step_size(lr, lipschitz, "ista")
    prox = prox or _identity_prox
    g, theta = grad_theta(grad, theta)
    new = prox(theta - step * g, step)
    return np.asarray(new, dtype=theta.dtype), ISTAState(step)


def _step_or_none(step) -> float | None:
    # before the first step the step size is unknown (NaN): strict JSON says null
    step = float(step)
    return step if np.isfinite(step) else None


def _report_step(state) -> dict:
    return {"step_size": _step_or_none(state.step_size)}


@register("ista", family="proximal")
def ista(lr: Optional[PositiveFloat] = None) -> Optimizer:
    """ISTA: proximal gradient descent (forward-backward splitting) for smooth + l1.

    Update (∇f = gradient of the smooth part: data + (l2/2)||w||²; the engine passes ``prox``)::

        θ ← prox_{γ l1}(θ − γ ∇f(θ))          prox: soft-threshold each weight by γ·l1, b untouched

    Defaults: lr = null, meaning γ = 1/L with L the Lipschitz constant of ∇f given by the engine
    (the reference's largest Hessian eigenvalue; logistic: the bound ||[X, 1]||²/(4n)). A number
    is a fixed step (times the schedule factor); it converges for γ < 2/L.

    Guarantee (Beck & Teboulle 2009, Thm 3.1): with γ = 1/L,
    F(θ_k) − F* ≤ L ||θ_0 − θ*||² / (2k), and F(θ_k) decreases monotonically. Weights become
    exactly 0 (not merely small) where the optimum has zeros, after finitely many steps.
    Textbook: Daubechies, Defrise & De Mol 2004 (iterative soft-thresholding); with l1 = 0 it is
    gradient descent. Not in torch.optim. ``report()``: ``step_size``.
    """
    return Optimizer(init=_ista_init, update=ista_update, report=_report_step,
                     needs=frozenset({"prox", "lipschitz"}))


# --------------------------------------------------------------------------------------------
# FISTA


class FISTAState(NamedTuple):
    y: np.ndarray  # the extrapolated point y_k where the next gradient is taken
    t_k: float  # the momentum sequence t_k (t_1 = 1)
    f_prev: float  # F(x_{k−1}) for the function restart (nan before the first step)
    restarts: int  # adaptive restarts so far
    step_size: float


def _fista_init(theta0) -> FISTAState:
    return FISTAState(as_float(theta0).copy(), 1.0, float("nan"), 0, float("nan"))


def fista_update(grad, state, theta, t, lr, prox=None, closure=None, lipschitz=None, *, restart,
                 **_extras):
    """x_k = prox(y_k − γ ∇f(y_k)); then y_{k+1} by the momentum rule (or a restart)."""
    step = _step_size(lr, lipschitz, "fista")
    prox = prox or _identity_prox
    x_prev = as_float(theta)
    y = state.y
    if t == 1 or np.array_equal(y, x_prev):
        g_y = np.asarray(grad, dtype=x_prev.dtype)  # the engine's gradient is already at y
    else:
        if closure is None:
            raise ValueError("fista needs closure=callable(theta) -> (loss, grad) for the gradient at y_k")
        g_y = np.asarray(closure(y)[1], dtype=x_prev.dtype)
    x = np.asarray(prox(y - step * g_y, step), dtype=x_prev.dtype)
    t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * state.t_k * state.t_k))
    f_x = float("nan")
    restarted = False
    if restart == "gradient":
        # O'Donoghue & Candès (2015) gradient scheme: (y_k − x_k)ᵀ(x_k − x_{k−1}) > 0, i.e. the
        # gradient-mapping step and the momentum point in opposite directions.
        restarted = float((y - x) @ (x - x_prev)) > 0
    elif restart == "function":
        if closure is None:
            raise ValueError("fista with restart = function needs closure=callable(theta) -> (loss, grad)")
        f_x = float(closure(x)[0])
        restarted = bool(np.isfinite(state.f_prev)) and f_x > state.f_prev
    if restarted:
        t_next, y_next = 1.0, x.copy()
    else:
        y_next = x + ((state.t_k - 1.0) / t_next) * (x - x_prev)
    new_state = FISTAState(y_next, t_next, f_x, state.restarts + int(restarted), step)
    return x, new_state


def _fista_report(state: FISTAState) -> dict:
    return {"step_size": _step_or_none(state.step_size), "restarts": int(state.restarts)}


@register("fista", family="proximal")
def fista(lr: Optional[PositiveFloat] = None, restart: str = "none") -> Optimizer:
    """FISTA: accelerated proximal gradient (Beck & Teboulle 2009), optional adaptive restart.

    Update (∇f = gradient of the smooth part; t_1 = 1, y_1 = θ_0)::

        x_k     = prox_{γ l1}(y_k − γ ∇f(y_k))
        t_{k+1} = (1 + sqrt(1 + 4 t_k²)) / 2
        y_{k+1} = x_k + ((t_k − 1) / t_{k+1}) (x_k − x_{k−1})

    The logged θ is the proximal point x_k (not y_k); y_k lives in the state, and ∇f(y_k) comes
    from the engine's ``closure`` (one more evaluation per step; none when y_k = x_{k−1}, as on
    the first step and after a restart).

    Defaults: lr = null (γ = 1/L from the engine's ``lipschitz``), restart = none.
    ``restart`` (O'Donoghue & Candès 2015, "Adaptive restart for accelerated gradient schemes"):
    ``function`` sets t ← 1 and y ← x_k when F(x_k) > F(x_{k−1}) (one more closure call per step,
    whose loss must include the l1 term); ``gradient`` when (y_k − x_k)ᵀ(x_k − x_{k−1}) > 0 (no
    extra evaluation). Restarting recovers linear convergence on strongly convex problems.

    Guarantee (Beck & Teboulle 2009, Thm 4.4): with γ = 1/L,
    F(x_k) − F* ≤ 2 L ||θ_0 − θ*||² / (k + 1)²; F(x_k) is not monotone without restart.
    With l1 = 0 this is Nesterov's (1983) accelerated gradient method. Not in torch.optim.
    ``report()``: ``step_size``, ``restarts``.
    """
    if restart not in RESTARTS:
        raise OptrunError(f"optimizer.restart: expected one of {', '.join(RESTARTS)}, got {restart!r}")
    return Optimizer(init=_fista_init, update=partial(fista_update, restart=restart),
                     report=_fista_report, needs=frozenset({"prox", "closure", "lipschitz"}))


# --------------------------------------------------------------------------------------------
# Proximal SGD


def prox_sgd_update(grad, state, theta, t, lr, prox=None, **_extras):
    """θ ← prox_{γ_t l1}(θ − γ_t g_batch)."""
    prox = prox or _identity_prox
    g, theta = grad_theta(grad, theta)
    new = prox(theta - lr * g, lr)
    return np.asarray(new, dtype=theta.dtype), ISTAState(float(lr))


@register("prox_sgd", family="proximal")
def prox_sgd(lr: PositiveFloat = 1e-3) -> Optimizer:
    """Proximal SGD: a stochastic / mini-batch gradient step on the smooth part, then the prox.

    Update (g = gradient of the smooth part on this step's batch; γ_t = lr × schedule factor)::

        θ ← prox_{γ_t l1}(θ − γ_t g)

    Defaults: lr = 1e-3 (as sgd). With full batches it is ISTA with a fixed step. With
    stochastic gradients a constant step stalls at a noise floor proportional to γ; a decaying
    schedule (e.g. inverse_time, γ_t ∝ 1/t) converges (Rosasco, Villa & Vũ 2014; Atchadé,
    Fort & Moulines 2017). Unlike subgradient SGD on the l1 term, the prox gives exact zeros.
    Textbook: Duchi & Singer 2009 (FOBOS, forward-backward splitting). Not in torch.optim.
    ``report()``: ``step_size``.
    """
    return Optimizer(init=_ista_init, update=prox_sgd_update, report=_report_step,
                     needs=frozenset({"prox"}))


# --------------------------------------------------------------------------------------------
# Cyclic coordinate descent


class CDState(NamedTuple):
    halvings: int  # safeguard halvings of logistic coordinate Newton steps so far


def _cd_init(theta0) -> CDState:
    return CDState(0)


def _soft(v: float, tau: float) -> float:
    return math.copysign(max(abs(v) - tau, 0.0), v)


def _cd_sweep_ls(w, b, X, y, c, l1, l2, fit_intercept):
    """Exact coordinate minimisation of mean c·r² + (l2/2)||w||² + l1||w||_1, then b exactly."""
    n, d = X.shape
    r = X @ w + b - y
    k = 2.0 * c / n
    for j in range(d):
        xj = X[:, j]
        hj = k * float(xj @ xj) + l2
        old = w[j]
        if hj <= 0.0:  # a zero column without l2: only the l1 term depends on w_j
            new = 0.0 if l1 > 0 else old
        else:
            new = _soft(hj * old - (k * float(xj @ r) + l2 * old), l1) / hj
        if new != old:
            r += (new - old) * xj
            w[j] = new
    if fit_intercept:
        shift = float(np.mean(r))  # argmin_b mean (r + δ)² is δ = −mean(r)
        b -= shift
    return w, b


def _logistic_coord_value(z, y, n, extra):
    return float(np.sum(np.logaddexp(0.0, z) - y * z)) / n + extra


def _cd_sweep_logistic(w, b, X, y, l1, l2, fit_intercept):
    """A safeguarded proximal Newton step per coordinate on mean bce + penalties, then on b."""
    n, d = X.shape
    z = X @ w + b
    halvings = 0

    def newton_1d(xj, old, pen_l1, pen_l2):
        nonlocal z, halvings
        q = 1.0 / (1.0 + np.exp(-z))
        g = (float(xj @ (q - y)) if xj is not None else float(np.sum(q - y))) / n + pen_l2 * old
        curv = q * (1.0 - q)
        h = (float((xj * xj) @ curv) if xj is not None else float(np.sum(curv))) / n + pen_l2
        if h <= 0.0:
            return old
        new = _soft(h * old - g, pen_l1) / h
        if new == old:
            return old

        def coord_f(v):
            zz = z + (v - old) * (xj if xj is not None else 1.0)
            return _logistic_coord_value(zz, y, n, 0.5 * pen_l2 * v * v + pen_l1 * abs(v)), zz

        f_old = coord_f(old)[0]
        for _ in range(50):  # the Newton model can overshoot far from the optimum: halve
            f_new, z_new = coord_f(new)
            if f_new <= f_old:
                z = z_new
                return new
            new = 0.5 * (new + old)
            halvings += 1
        return old

    for j in range(d):
        w[j] = newton_1d(X[:, j], w[j], l1, l2)
    if fit_intercept:
        b = newton_1d(None, b, 0.0, 0.0)
    return w, b, halvings


def cd_update(grad, state, theta, t, lr, batch=None, **_extras):
    """One full cyclic sweep w_1, …, w_d, then b, on this step's rows."""
    if batch is None:
        raise ValueError("cd needs batch=(objective, Xb, yb, idx)")
    obj, Xb, yb = batch[0], np.asarray(batch[1], dtype=np.float64), np.asarray(batch[2], dtype=np.float64)
    dtype = as_float(theta).dtype  # the sweep is float64 (scalar Newton steps); θ keeps its dtype
    theta = np.array(theta, dtype=np.float64)
    d = Xb.shape[1]
    w = theta[:d].copy()
    b = float(theta[d]) if obj.fit_intercept else 0.0
    if obj.model == "linear":
        w, b = _cd_sweep_ls(w, b, Xb, yb, 1.0 if obj.loss == "mse" else 0.5, obj.l1, obj.l2,
                            obj.fit_intercept)
        halvings = 0
    elif obj.loss == "bce":
        w, b, halvings = _cd_sweep_logistic(w, b, Xb, yb, obj.l1, obj.l2, obj.fit_intercept)
    else:
        raise OptrunError(f"optimizer cd: logistic with loss {obj.loss} is not supported (use bce)")
    new = np.r_[w, b] if obj.fit_intercept else w
    return new.astype(dtype, copy=False), CDState(state.halvings + halvings)  # θ's dtype


def _cd_report(state: CDState) -> dict:
    return {"ls_trials": int(state.halvings)}


@register("cd", family="proximal")
def cd() -> Optimizer:
    """Cyclic coordinate descent: one step is one full sweep over w_1, …, w_d, then b.

    θ = (w, b); each coordinate of θ is minimised in turn with the others held fixed.

    Update (on this step's rows; g_j, H_j the partial derivative and curvature of the smooth part
    data + (l2/2)||w||² in coordinate j at the current point, updated after every coordinate)::

        for j = 1..d:  w_j ← soft(H_j w_j − g_j, l1) / H_j       (soft(v, τ) = sign(v) max(|v| − τ, 0))
        b ← b − g_b / H_b                                        (unpenalised)

    Least squares (mse, half_mse): H_j = 2c ||X_j||²/n + l2 is exact, so each coordinate and the
    intercept are minimised exactly (b ← b − mean(r)). Logistic (bce): a proximal Newton step per
    coordinate with H_j = X_jᵀ diag(p(1 − p)) X_j / n + l2, halved until the objective does not
    increase (the count is ``report()["ls_trials"]``).

    Defaults: no hyperparameters (no lr: the step is exact). Needs the ``batch`` extra.
    Textbook: Friedman, Hastie & Tibshirani 2007/2010 (glmnet, "pathwise coordinate
    optimization"); Tseng 2001 for convergence of cyclic CD on smooth + separable objectives;
    Wright 2015 ("Coordinate descent algorithms") for the survey. Not in torch.optim.
    """
    return Optimizer(init=_cd_init, update=cd_update, report=_cd_report, needs=frozenset({"batch"}))
