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
from dataclasses import dataclass
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

    Two phases, as in torch: :func:`_bracket_phase` (extrapolate until an interval holds a
    point that satisfies the conditions) and :func:`_zoom_phase` (shrink it by safeguarded
    cubic interpolation). ``ls_iter`` (trials after the first) is shared by both.
    """
    d_norm = np.abs(d).max()
    br, done, ls_iter, evals = _bracket_phase(phi, d, step, f, g, gtd, c1, c2, max_ls)
    low_pos, done, evals = _zoom_phase(phi, d, d_norm, br, f, gtd, done, ls_iter, evals,
                                       c1=c1, c2=c2, tolerance_change=tolerance_change,
                                       max_ls=max_ls)
    return LineSearchResult(float(br.t[low_pos]), float(br.f[low_pos]), br.g[low_pos],
                            evals, bool(done))


@dataclass
class _Bracket:
    """torch's four parallel lists ``bracket``, ``bracket_f``, ``bracket_g``, ``bracket_gtd``.

    One point (the conditions already hold there: ``gtd`` unused) or two (the interval ends).
    """

    t: list
    f: list
    g: list
    gtd: list

    def put(self, i, t, f, g, gtd) -> None:
        """bracket[i], bracket_f[i], bracket_g[i], bracket_gtd[i] = t, f, g, gtd."""
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def ordered(self) -> tuple[int, int]:
        """(low_pos, high_pos): the end with the lower f first (torch: ``bracket_f[0] <= [-1]``)."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _trial(phi: Phi, d: np.ndarray, t: float) -> tuple[float, np.ndarray, float]:
    """One evaluation at step t: (f_new, g_new, gtd_new = g_newᵀd) (torch: obj_func + dot)."""
    f_new, g_new = phi(t)
    return f_new, g_new, g_new @ d


def _bracket_phase(phi, d, t, f, g, gtd, c1, c2, max_ls):
    """torch ``_strong_wolfe`` up to "# zoom": the first trial at ``t``, then extrapolation.

    Returns (bracket, done, ls_iter, evals); ``done`` when the strong-Wolfe conditions hold at
    a trial (a one-point bracket). Stops with a two-point bracket when the sufficient decrease
    fails, f stops decreasing, or the slope turns non-negative; after ``max_ls`` extrapolations
    the bracket is [0, t] (torch leaves bracket_gtd unset there; it is never read, since
    ls_iter == max_ls ends the zoom loop before its first use).
    """
    f_new, g_new, gtd_new = _trial(phi, d, t)
    evals = 1
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            break  # [t_prev, t] brackets a point of sufficient decrease
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([t], [f_new], [g_new], []), True, ls_iter, evals
        if gtd_new >= 0:
            break  # the slope changed sign inside [t_prev, t]
        # extrapolate: the cubic's minimiser within [t + 0.01 (t − t_prev), 10 t]
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new, gtd_new = _trial(phi, d, t)
        evals += 1
        ls_iter += 1
    else:  # max_ls extrapolations without a bracket
        return _Bracket([0, t], [f, f_new], [g, g_new], [gtd, gtd_new]), False, ls_iter, evals
    return _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]), False, ls_iter, evals


def _zoom_phase(phi, d, d_norm, br: _Bracket, f, gtd, done, ls_iter, evals, *, c1, c2,
                tolerance_change, max_ls):
    """torch ``_strong_wolfe`` from "# zoom" to the end: shrink ``br`` in place.

    Returns (low_pos, done, evals): the bracket end with the lowest f is the result. Stops when
    the conditions hold, the bracket is shorter than ``tolerance_change`` (in max-norm of the
    move), or the trial budget ``max_ls`` is spent.
    """
    insuf_progress = False
    low_pos, high_pos = br.ordered()
    while not done and ls_iter < max_ls:
        if abs(br.t[1] - br.t[0]) * d_norm < tolerance_change:
            break
        t, insuf_progress = _zoom_step(br, insuf_progress)
        f_new, g_new, gtd_new = _trial(phi, d, t)
        evals += 1
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= br.f[low_pos]:
            # Armijo fails or no better than the low end: t becomes the high end
            br.put(high_pos, t, f_new, g_new, gtd_new)
            low_pos, high_pos = br.ordered()
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br.t[high_pos] - br.t[low_pos]) >= 0:
                # the old high end is on the wrong side: the old low end replaces it
                br.put(high_pos, br.t[low_pos], br.f[low_pos], br.g[low_pos], br.gtd[low_pos])
            br.put(low_pos, t, f_new, g_new, gtd_new)
    return low_pos, done, evals


def _zoom_step(br: _Bracket, insuf_progress: bool) -> tuple[float, bool]:
    """torch's "compute new trial value" and "test that we are making sufficient progress".

    The cubic minimiser over the bracket, pushed 10 % of the bracket inside it when it lands
    that close to an end twice in a row (or at/outside an end). Returns (t, insuf_progress).
    """
    t = cubic_interpolate(br.t[0], br.f[0], br.gtd[0], br.t[1], br.f[1], br.gtd[1])
    hi, lo = max(br.t), min(br.t)
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) < eps:
        if insuf_progress or t >= hi or t <= lo:
            t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
            return t, False
        return t, True
    return t, False
