"""Line searches along a direction d: Armijo backtracking and torch's strong-Wolfe search.

Both take ``phi(step) -> (loss, grad)``, the objective and its gradient at θ + step·d (a
closure over θ and d, so one call is one evaluation), and never evaluate more than their
budget. Pure functions over NumPy arrays.

* :func:`backtracking` — Armijo (sufficient decrease) backtracking, Boyd & Vandenberghe,
  *Convex Optimization* §9.2 (Algorithm 9.2): start at ``step0``, multiply by β ∈ (0, 1) until
  f(θ + s d) ≤ f(θ) + α s ∇f(θ)ᵀd, α ∈ (0, ½).
* :func:`strong_wolfe` — the strong-Wolfe bracketing + zoom search of torch.optim.LBFGS
  (``torch/optim/lbfgs.py:_strong_wolfe``, a port of minFunc / torch7's lswolfe.lua), line by
  line, with cubic interpolation (:func:`cubic_interpolate`); c1 = 1e-4, c2 = 0.9.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Phi = Callable[[float], tuple[float, np.ndarray]]


class LineSearchResult(NamedTuple):
    step: float  # the accepted step s (θ_new = θ + s d)
    loss: float  # f(θ + s d)
    grad: np.ndarray  # ∇f(θ + s d)
    evals: int  # calls of phi
    ok: bool  # the condition holds at the accepted step (False: budget exhausted)


def backtracking(phi: Phi, f0: float, gtd: float, step0: float = 1.0, *, alpha: float = 0.25,
                 beta: float = 0.5, max_evals: int = 50) -> LineSearchResult:
    """Armijo backtracking: the first s = step0·β^k with f(θ + s d) ≤ f0 + α s gtd.

    ``gtd`` = ∇f(θ)ᵀd must be < 0 (a descent direction). A non-finite trial value counts as a
    failure of the condition (so a step into overflow is shortened, not accepted). After
    ``max_evals`` trials the last (smallest) step is returned with ``ok=False``.
    """
    s = float(step0)
    for k in range(1, max_evals + 1):
        f, g = phi(s)
        if np.isfinite(f) and f <= f0 + alpha * s * gtd:
            return LineSearchResult(s, float(f), g, k, True)
        if k < max_evals:
            s *= beta
    return LineSearchResult(s, float(f), g, max_evals, False)


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clipped to ``bounds``.

    torch's ``_cubic_interpolate``: the midpoint of the bounds when the cubic has no minimiser.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(phi: Phi, d: np.ndarray, step: float, f: float, g: np.ndarray, gtd: float, *,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                 max_ls: int = 25) -> LineSearchResult:
    """torch's strong-Wolfe line search, step for step (same trials, same bracket updates).

    Finds s with f(θ + s d) ≤ f + c1 s gtd and |∇f(θ + s d)ᵀd| ≤ −c2 gtd, starting from
    ``step``; at most ``max_ls`` further trials after the first. Returns the best point of
    the final bracket (``ok`` says whether the strong-Wolfe conditions were met).
    """
    d_norm = np.abs(d).max()
    t = step
    f_new, g_new = phi(t)
    evals = 1
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]  # torch leaves this unset here (it never reads it: done
        # is False but ls_iter == max_ls ends the zoom loop below before it is used)

    # zoom
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return LineSearchResult(float(bracket[low_pos]), float(bracket_f[low_pos]), bracket_g[low_pos],
                            evals, bool(done))
