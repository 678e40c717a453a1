"""Logistic regression (bce): Newton / IRLS with step halving, separation, the quasi-separated infimum.

Newton from theta = 0 runs until the gradient norm reaches its rounding floor; without a penalty
an iterate that classifies every row strictly correctly certifies separation (f* = 0, no theta*),
and the exact LP of :mod:`optrun.reference.separation` decides the rest (complete, quasi-complete
or no separation). ``subsample(n, p)``: the rows of the Newton Hessian on big data, passed in by
:mod:`optrun.reference` (its ``_hessian_subsample``, a test seam).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from optrun.models import Objective
from optrun.reference.result import _EPS, Optimum
from optrun.reference.separation import _lp_separable, _separation


def _solve_psd(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``H s = g`` for a (near) positive semi-definite H, Jacobi-scaled, lstsq fallback."""
    dg = np.sqrt(np.abs(np.diag(H)))
    dg[dg == 0] = 1.0
    Hs = H / dg[:, None] / dg[None, :]
    gs = g / dg
    try:
        u = np.linalg.solve(Hs, gs)
        if not np.all(np.isfinite(u)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        u = np.linalg.lstsq(Hs, gs, rcond=None)[0]
    return u / dg


class Newton(NamedTuple):
    """The end of a Newton run: the last iterate, whether it converged (gradient at its rounding
    floor) or separated the data, its gradient norm, and the Hessian's row count (None: all)."""

    theta: np.ndarray
    iterations: int
    converged: bool
    separated: bool
    grad_norm: float
    hessian_rows: int | None


def _newton_logistic(obj: Objective, X: np.ndarray, y: np.ndarray, max_iter: int,
                     subsample: Callable[[int, int], np.ndarray | None]) -> Newton:
    """Newton-Raphson (IRLS) for logistic bce (+ l2) from theta = 0, damped by step halving.

    Stops when the gradient stops decreasing after reaching ``1e-9 * max(1, ||g(0)||)``
    (its rounding floor), or, without a penalty, as soon as an iterate separates the data.
    On big data the Hessian comes from the rows ``subsample(n, p)`` (see
    :func:`optrun.reference._hessian_subsample`).
    """
    n, d = X.shape
    p = obj.n_params(d)
    sub = subsample(n, p)
    rows = None if sub is None else int(sub.size)
    Xh, yh = (X, y) if sub is None else (X[sub], y[sub])
    sgn = 2.0 * y - 1.0
    theta = np.zeros(p)
    f, g = obj.value_and_grad(theta, X, y)
    gnorm = float(np.linalg.norm(g))
    tol = 1e-9 * max(1.0, gnorm)
    floor = 1e-15 * max(1.0, gnorm)
    check_sep = obj.l2 == 0
    it = 0
    while it < max_iter and gnorm > floor:
        step = _solve_psd(obj.hessian(theta, Xh, yh), g)
        slope = float(g @ step)
        if not (slope > 0):  # not a descent direction (numerical trouble): use the gradient
            step, slope = g, gnorm * gnorm
        t = 1.0
        while True:
            cand = theta - t * step
            f_c, g_c = obj.value_and_grad(cand, X, y)
            if np.isfinite(f_c) and f_c <= f - 1e-4 * t * slope + 8 * _EPS * abs(f):
                break
            t *= 0.5
            if t < 1e-12:
                break
        gn_c = float(np.linalg.norm(g_c))
        if not np.isfinite(f_c) or (t < 1e-12 and gn_c >= gnorm):
            break  # no progress possible
        if gnorm <= tol and gn_c >= gnorm:
            break  # at the rounding floor: keep the better iterate
        it += 1
        theta, f, g, gnorm = cand, f_c, g_c, gn_c
        if check_sep:
            z = obj.linear_predictor(theta, X)
            if np.min(sgn * z) > 1e-8 * max(1.0, float(np.max(np.abs(z)))):
                return Newton(theta, it, False, True, gnorm, rows)
    return Newton(theta, it, gnorm <= tol, False, gnorm, rows)


def _quasi_infimum(obj: Objective, X: np.ndarray, y: np.ndarray, keep: np.ndarray,
                   max_iter: int, subsample: Callable[[int, int], np.ndarray | None]) -> tuple[float, int]:
    """Infimum of the logistic bce under quasi-complete separation.

    Along the separating direction the separated rows' losses go to 0 while the tied rows'
    margins do not change, and the tied rows alone admit an MLE (a direction of recession for
    them would enlarge the separated set). So ``f* = m sum_{tied} l_i(theta_tied)`` with
    theta_tied their own Newton solution (m = 1/n of the *full* data, or 1 for a sum).
    """
    n = X.shape[0]
    Xk, yk = X[keep], y[keep]
    res = _newton_logistic(obj, Xk, yk, max_iter, subsample)
    z = obj.linear_predictor(res.theta, Xk)
    total = float(np.sum(obj.per_sample_loss(z, yk)))
    return total * obj.data_weight(n), res.iterations


def logistic_optimum(obj: Objective, X: np.ndarray, y: np.ndarray, max_iter: int,
                     subsample: Callable[[int, int], np.ndarray | None]) -> Optimum:
    """theta* of logistic bce (+ l2, no l1), or why there is none (separation).

    Without a penalty the MLE exists iff no direction d has s_i x~_i^T d >= 0 for every row
    with some row > 0 (Albert & Anderson 1984): decided exactly by a small LP, which also finds
    the rows a direction of recession separates (quasi-complete separation).
    """
    res = _newton_logistic(obj, X, y, max_iter, subsample)
    opt = Optimum("unavailable", iterations=res.iterations)
    if res.hessian_rows is not None:
        opt.extra["newton_hessian_rows"] = res.hessian_rows
    sep = None if obj.l2 > 0 else _separation(X, y, obj.fit_intercept)
    if res.separated or (sep is not None and sep["kind"] == "complete"):
        opt.status, opt.separable, opt.f_star, opt.infimum = "separable", True, 0.0, True
        via = "" if res.separated else " (linear program)"
        opt.notes.append(
            f"data are linearly separable{via}: the logistic MLE does not exist; "
            "f* = 0 (infimum), no theta*"
        )
    elif sep is not None and sep["kind"] == "quasi":
        _quasi_separated(opt, obj, X, y, sep, max_iter, subsample)
    elif res.converged:
        opt.status, opt.theta_star = "exact", res.theta
        if obj.l2 == 0:
            opt.separable = False if sep is not None else None
        else:
            opt.separable = _lp_separable(X, y, obj.fit_intercept)
        if obj.l2 > 0 and opt.separable:
            opt.notes.append("data are linearly separable; the l2 penalty keeps the minimiser finite")
    else:
        _not_converged(opt, obj, X, y, res, sep)
    return opt


def _quasi_separated(opt: Optimum, obj: Objective, X: np.ndarray, y: np.ndarray, sep: dict,
                     max_iter: int, subsample: Callable[[int, int], np.ndarray | None]) -> None:
    """Quasi-complete separation: f* is the infimum reached by the tied rows (in place on opt)."""
    n = X.shape[0]
    opt.status, opt.separable, opt.infimum = "quasi_separated", False, True
    keep = ~sep["separated_rows"]
    opt.f_star, sub_it = _quasi_infimum(obj, X, y, keep, max_iter, subsample)
    opt.iterations += sub_it
    opt.extra["separated_rows"] = int(sep["separated_rows"].sum())
    opt.extra["separation_direction"] = sep["direction"]
    opt.notes.append(
        f"quasi-complete separation: a direction d with (2y - 1) x~^T d >= 0 on every row "
        f"separates {opt.extra['separated_rows']} of {n} rows and leaves the rest tied; the "
        "logistic MLE does not exist (Albert & Anderson 1984); f* is the infimum, the "
        "loss of the tied rows at their own MLE, approached as ||theta|| -> infinity; "
        "no theta*"
    )


def _not_converged(opt: Optimum, obj: Objective, X: np.ndarray, y: np.ndarray, res: Newton,
                   sep: dict | None) -> None:
    """Newton neither converged nor separated: the LP decides, else f* is unavailable."""
    lp = _lp_separable(X, y, obj.fit_intercept) if obj.l2 == 0 else None
    if lp:
        opt.status, opt.separable, opt.f_star, opt.infimum = "separable", True, 0.0, True
        opt.notes.append(
            "data are linearly separable (linear program): the logistic MLE does not "
            "exist; f* = 0 (infimum), no theta*"
        )
    else:
        opt.status, opt.separable = "unavailable", lp
        opt.notes.append(
            f"Newton did not converge in {opt.iterations} iterations (gradient norm "
            f"{res.grad_norm:.3g})"
            + ("; the data may be quasi-completely separated" if obj.l2 == 0 and sep is None else "")
            + "; f* unavailable"
        )
