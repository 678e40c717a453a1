"""L-BFGS exactly as torch.optim.LBFGS runs it: one optrun step = one ``step(closure)``."""

from __future__ import annotations

from functools import partial
from typing import Literal, NamedTuple

import numpy as np

from optrun.optim._schema import NonNegFloat, PositiveFloat, PositiveInt
from optrun.optim.linesearch import strong_wolfe
from optrun.optim._dtype import as_float, grad_theta
from optrun.optim.registry import Optimizer, register



class LBFGSState(NamedTuple):
    """torch's LBFGS state (kept across steps), as immutable values."""

    func_evals: int  # closure calls so far (torch's state["func_evals"])
    n_iter: int  # inner iterations so far (torch's state["n_iter"])
    d: np.ndarray | None  # last search direction
    t: float | None  # last step length
    old_dirs: tuple  # y_i = g_{i+1} − g_i (at most history_size)
    old_stps: tuple  # s_i = t_i d_i
    ro: tuple  # 1 / (y_iᵀ s_i)
    H_diag: float  # γ = sᵀy / yᵀy: the initial inverse-Hessian scale
    prev_flat_grad: np.ndarray | None
    prev_loss: float | None
    last_evals: int  # closure calls in the last step (torch counts the first one too)
    last_iters: int  # inner iterations in the last step


def _init(theta0) -> LBFGSState:
    return LBFGSState(0, 0, None, None, (), (), (), 1.0, None, None, 0, 0)


def two_loop(g: np.ndarray, old_dirs, old_stps, ro, H_diag) -> np.ndarray:
    """d = −H_k g by the L-BFGS two-loop recursion (Nocedal & Wright Alg. 7.4), torch's order."""
    num_old = len(old_dirs)
    al = [0.0] * num_old
    q = -g
    for i in range(num_old - 1, -1, -1):
        al[i] = (old_stps[i] @ q) * ro[i]
        q = q - al[i] * old_dirs[i]
    r = q * H_diag
    for i in range(num_old):
        be_i = (old_dirs[i] @ r) * ro[i]
        r = r + (al[i] - be_i) * old_stps[i]
    return r


def lbfgs_update(grad, state, theta, t, lr, hessian=None, *, closure=None, max_iter, max_eval,
                 tolerance_grad, tolerance_change, history_size, line_search_fn, **_extras):
    """One torch ``LBFGS.step(closure)``: up to ``max_iter`` inner iterations from θ.

    The loop is torch's; its parts are the helpers :func:`_update_memory` +
    :func:`two_loop` (the direction), :func:`_move` (the step, with or without the line search)
    and :func:`_stop` (the convergence checks).
    """
    if closure is None:
        raise ValueError("lbfgs needs the 'closure' extra: update(..., closure=f) with "
                         "f(theta) -> (loss, grad) on this step's batch")
    x = as_float(theta).copy()
    lr = float(lr)
    # torch's step() starts with a closure call; `grad` (the engine's, at the same point) is not
    # reused, so that the evaluation count is torch's own.
    loss, flat_grad = _eval(closure, x)
    current_evals = 1
    func_evals = state.func_evals + 1
    if np.abs(flat_grad).max() <= tolerance_grad:  # optimal: no iteration, state kept
        return x, state._replace(func_evals=func_evals, last_evals=1, last_iters=0)

    d, step = state.d, state.t
    old_dirs, old_stps, ro = list(state.old_dirs), list(state.old_stps), list(state.ro)
    H_diag, prev_flat_grad, prev_loss = state.H_diag, state.prev_flat_grad, state.prev_loss
    n_total = state.n_iter
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        n_total += 1
        # ---- direction (torch: "compute gradient descent direction")
        if n_total == 1:
            d = -flat_grad
            old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
        else:
            H_diag = _update_memory(flat_grad - prev_flat_grad, d * step, old_dirs, old_stps, ro,
                                    H_diag, history_size)
            d = two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)
        prev_flat_grad = flat_grad.copy()
        prev_loss = loss
        # ---- step length: min(1, 1/‖g‖₁)·lr on the very first iteration, lr afterwards
        step = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if n_total == 1 else lr
        gtd = flat_grad @ d
        if gtd > -tolerance_change:  # not a descent direction (to tolerance): stop
            break
        x, loss, flat_grad, step, ls_func_evals, opt_cond = _move(
            closure, x, loss, flat_grad, d, step, gtd, line_search_fn=line_search_fn,
            max_ls=max_eval - current_evals, evaluate=n_iter != max_iter,
            tolerance_grad=tolerance_grad)
        current_evals += ls_func_evals
        func_evals += ls_func_evals
        if _stop(n_iter, max_iter, current_evals, max_eval, opt_cond, d * step, loss - prev_loss,
                 tolerance_change):
            break

    new_state = LBFGSState(func_evals, n_total, d, step, tuple(old_dirs), tuple(old_stps),
                           tuple(ro), H_diag, prev_flat_grad, prev_loss, current_evals, n_iter)
    return x, new_state


def _update_memory(y, s, old_dirs, old_stps, ro, H_diag, history_size):
    """torch's "do lbfgs update (update memory)": keep the pair (s, y) if yᵀs > 1e-10.

    Appends to the lists in place (dropping the oldest pair at ``history_size``) and returns
    the new H_diag = yᵀs / yᵀy (unchanged when the pair fails the curvature condition).
    """
    ys = y @ s
    if ys <= 1e-10:  # curvature condition fails: the pair is skipped
        return H_diag
    if len(old_dirs) == history_size:
        old_dirs.pop(0)
        old_stps.pop(0)
        ro.pop(0)
    old_dirs.append(y)
    old_stps.append(s)
    ro.append(1.0 / ys)
    return ys / (y @ y)


def _move(closure, x, loss, flat_grad, d, step, gtd, *, line_search_fn, max_ls, evaluate,
          tolerance_grad):
    """torch's "optional line search: user function" block: θ ← θ + t d.

    Returns (x, loss, flat_grad, t, ls_func_evals, opt_cond). With the strong-Wolfe search t is
    its accepted step (≤ ``max_ls`` trials); without it t is the given step and the new point is
    evaluated unless ``evaluate`` is False (torch skips it after the last iteration).
    """
    if line_search_fn == "strong_wolfe":
        x_init = x

        def phi(a):
            return _eval(closure, x_init + a * d)

        res = strong_wolfe(phi, d, step, loss, flat_grad, gtd, max_ls=max_ls)
        x = x + res.step * d
        return x, res.loss, res.grad, res.step, res.evals, np.abs(res.grad).max() <= tolerance_grad
    x = x + step * d
    if not evaluate:
        return x, loss, flat_grad, step, 0, False
    loss, flat_grad = _eval(closure, x)
    return x, loss, flat_grad, step, 1, np.abs(flat_grad).max() <= tolerance_grad


def _stop(n_iter, max_iter, current_evals, max_eval, opt_cond, move, loss_change,
          tolerance_change) -> bool:
    """torch's "check conditions" block, in its order: iteration or evaluation budget spent,
    gradient small (``opt_cond``), max|t d| ≤ tolerance_change, |f − f_prev| < tolerance_change."""
    if n_iter == max_iter or current_evals >= max_eval or opt_cond:
        return True
    if np.abs(move).max() <= tolerance_change:
        return True
    return abs(loss_change) < tolerance_change


def _eval(closure, x):
    loss, g = closure(x)
    return float(loss), np.asarray(g, dtype=x.dtype)


def _report(state: LBFGSState) -> dict:
    return {"inner_evals": int(state.last_evals), "inner_iters": int(state.last_iters),
            "func_evals": int(state.func_evals), "n_iter": int(state.n_iter)}


@register("lbfgs", family="quasi_newton")
def lbfgs(
    lr: PositiveFloat = 1.0,
    max_iter: PositiveInt = 20,
    max_eval: PositiveInt | None = None,
    tolerance_grad: NonNegFloat = 1e-7,
    tolerance_change: NonNegFloat = 1e-9,
    history_size: PositiveInt = 100,
    line_search_fn: Literal["strong_wolfe"] | None = None,
) -> Optimizer:
    """L-BFGS (Liu & Nocedal 1989), as torch.optim.LBFGS runs it: one step = one ``step(closure)``.

    One optrun step (torch 2.13 ``LBFGS.step``) evaluates the batch objective with the closure
    (the engine's "closure" extra) and runs up to ``max_iter`` inner iterations k::

        if max|g| ≤ tolerance_grad: stop (no move)
        d ← −g                              (very first iteration of the run)
        d ← −H g                            (two-loop recursion over ≤ history_size pairs
                                             s = t d, y = Δg, kept only if yᵀs > 1e-10;
                                             H_0 = (sᵀy / yᵀy) I from the newest pair)
        t ← min(1, 1/‖g‖₁)·γ  on the very first iteration of the run, else γ   (γ = lr)
        if gᵀd > −tolerance_change: stop
        line_search_fn = null:          θ ← θ + t d, re-evaluate (except after iteration max_iter)
        line_search_fn = "strong_wolfe": t from the strong-Wolfe search (c1 = 1e-4, c2 = 0.9,
                                         at most max_eval − evals so far trials), θ ← θ + t d
        stop if k = max_iter, evals ≥ max_eval, max|g| ≤ tolerance_grad,
                max|t d| ≤ tolerance_change or |f − f_prev| < tolerance_change

    The memory, the last d and t, and the last gradient carry over to the next step (torch
    keeps them in the optimizer state): with mini-batches the pairs mix batches, as in torch.

    Defaults: lr = 1, max_iter = 20, max_eval = null (= max_iter·5 // 4 = 25),
    tolerance_grad = 1e-7, tolerance_change = 1e-9, history_size = 100, line_search_fn = null.

    ``report(state)``: ``inner_evals`` (closure calls in the last step, the first included, as
    torch counts them), ``inner_iters`` (inner iterations in the last step), ``func_evals`` and
    ``n_iter`` (running totals, torch's state). After convergence a step may not move at all;
    the run still records one row per step.

    Textbook (Nocedal & Wright Alg. 7.5): a line search satisfying the (strong) Wolfe conditions
    on every iteration, initial step 1, H_0 = γ_k I. Without a line search (torch's default)
    L-BFGS takes fixed steps of length lr and can diverge; minFunc and scipy's L-BFGS-B always
    search. scipy's ``maxiter`` counts iterations of one call, torch's ``max_iter`` those of one
    step(). The `grad` argument of update is not used: the closure's first evaluation replaces it.
    """
    if max_eval is None:
        max_eval = max_iter * 5 // 4
    update = partial(lbfgs_update, max_iter=max_iter, max_eval=max_eval,
                     tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                     history_size=history_size, line_search_fn=line_search_fn)
    return Optimizer(init=_init, update=update, needs=frozenset({"closure"}), report=_report)
