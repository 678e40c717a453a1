"""l1-penalised objectives done exactly: soft-thresholding, l1_max, the optimum, the duality gap.

The objective (see :mod:`optrun.models`), written as a sum over rows so that its Fenchel dual
is explicit (``X~ = [X, 1]``, ``z = X w + b``, the intercept ``b`` never penalised)::

    F(theta) = sum_i phi_i(z_i) + h(w),     phi_i(z) = l(z, y_i) / n,
    h(w)     = (l2/2) ||w||^2 + l1 ||w||_1

Supported: linear with ``mse`` (l = r^2) or ``half_mse`` (l = r^2/2): the lasso and the elastic
net; logistic with ``bce``: L1 (and elastic-net) logistic regression. Logistic with (half_)mse is
non-convex and has no certificate; it raises :class:`OptrunError`.

**Dual and gap.** With dual variables u in R^n (one per row) the Fenchel dual is::

    D(u) = - sum_i phi_i*(u_i) - h*(-X^T u),   subject to  sum_i u_i = 0  (the free intercept)

    h*(v) = sum_j (|v_j| - l1)_+^2 / (2 l2)          (l2 > 0)
          = 0 if ||v||_inf <= l1, +inf otherwise      (l2 = 0, the lasso)

Weak duality: ``D(u) <= F* <= F(theta)`` for every feasible u. At the optimum the dual
solution is the *generalized residual* ``u_i = phi_i'(z_i) = l'(z_i, y_i) / n`` (the residual
``2 c r_i / n`` for least squares, ``(sigmoid(z_i) - y_i) / n`` for logistic). For any theta,
:func:`duality_gap` builds a feasible u from that residual (Massias, Gramfort & Salmon 2018,
"Celer"; benchopt's lasso): first make ``sum u = 0`` (least squares: subtract the mean, which is
the residual at the best intercept for this w; logistic: shrink the larger-signed side of
``sigmoid(z) - y`` toward zero, which keeps every ``p_i = y_i + n u_i`` a probability), then
rescale ``u <- alpha u`` with ``alpha = min(1, l1 / ||X^T u||_inf)`` so ``||X^T u||_inf <= l1``.
The gap ``F(theta) - D(u)`` is computed as a sum of Fenchel-Young terms, each >= 0 in exact
arithmetic, so rounding cannot make it meaningfully negative (no cancellation of two O(F)
numbers)::

    gap = sum_i [phi_i(z_i) + phi_i*(u_i) - u_i z_i] + sum_j [h_j(w_j) + h_j*(v_j) - v_j w_j]
    least squares (c = 1 or 1/2):  phi + phi* - u z = (c/n) (r_i - n u_i / (2c))^2
    logistic:                      phi + phi* - u z = KL(p_i || sigmoid(z_i)) / n
    penalty (v = -X^T u):          l1 |w_j| - clip(v_j, -l1, l1) w_j + (l2/2) (w_j - t_j)^2,
                                   t_j = soft(v_j, l1) / l2  (the last term only when l2 > 0)

Cost: two matrix-vector products (``X w`` and ``X^T u``), O(nd); it is cheap enough to log at
every step. At theta* the gap is 0 (up to rounding), and it is >= 0 everywhere.

**l1_max.** theta = (0, b0) with b0 the intercept-only optimum (mean(y) for least squares,
logit(mean(y)) for logistic, 0 without an intercept) is optimal iff
``||grad_w smooth(theta0)||_inf <= l1``; so ``l1_max = ||grad_w smooth(0, b0)||_inf`` exactly
(the l2 term vanishes at w = 0).

**The optimum** (:func:`solve`), independent of any run:

* least squares: cyclic coordinate descent with active-set cycling on the *centred* problem
  (``X - mean``, ``y - mean``; then ``b = mean(y) - mean(X) w``, an exact identity for an
  unpenalised intercept), each coordinate minimised exactly:
  ``w_j <- soft(H_j w_j - g_j, l1) / H_j`` with ``H_j = 2c ||X_j||^2 / n + l2``;
* logistic: proximal Newton (glmnet, Friedman, Hastie & Tibshirani 2010; newGLMNET, Yuan, Ho &
  Lin 2012): the quadratic model of the smooth part at theta is minimised with the l1 term by
  the same coordinate descent (intercept exactly, unpenalised), then a backtracking line search
  on F (Armijo on the model decrease);
* both: once the support and the signs have settled, a *polish* step solves the smooth problem
  on the support with the signs fixed by Newton (one linear solve for least squares); it is kept
  only if the signs stay and the duality gap does not grow. Iterations stop when the gap is below
  ``tol`` (relative to F, default 1e-12) or no longer decreases.

The package: ``prox`` (:func:`soft_threshold`, :func:`prox_l1`), ``problem`` (the supported
problems, :func:`smooth_part`, :func:`l1_max`), ``gap`` (:func:`duality_gap`,
:func:`kkt_residual`), ``coordinate`` (the solvers behind :func:`solve`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optrun.models import Objective
from optrun.sparse.coordinate import _solve_logistic, _solve_ls
from optrun.sparse.gap import duality_gap, kkt_residual
from optrun.sparse.problem import _as_arrays, _intercept_only, _kind, l1_max, smooth_part
from optrun.sparse.prox import prox_l1, soft_threshold

__all__ = ["SparseReference", "duality_gap", "kkt_residual", "l1_max", "prox_l1", "smooth_part",
           "soft_threshold", "solve"]


@dataclass(frozen=True)
class SparseReference:
    """The exact optimum of an l1-penalised objective.

    ``theta_star`` ([w, b]), ``f_star = F(theta_star)``, ``gap`` (the duality gap at theta_star:
    a certificate, ``f_star - F* <= gap``), ``support`` (indices j with ``w_j != 0``, the
    intercept never counted), ``l1_max`` (the smallest l1 with ``w* = 0``), ``iterations``
    (full coordinate sweeps for least squares, proximal Newton steps for logistic).
    """

    theta_star: np.ndarray
    f_star: float
    gap: float
    support: list[int]
    l1_max: float
    iterations: int


def solve(obj: Objective, X, y, tol: float = 1e-12, max_iter: int = 10_000) -> SparseReference:
    """The exact optimum of ``F`` with its l1 term: lasso / elastic net / L1-logistic.

    Stops when ``duality_gap <= tol * |F|`` (or after ``max_iter`` sweeps / Newton steps; the
    returned ``gap`` says how close it got). See the module docstring for the method.
    """
    kind = _kind(obj)
    X, y = _as_arrays(X, y)
    lmax = l1_max(obj, X, y)
    d = X.shape[1]
    if obj.l1 >= lmax:  # the KKT condition of w = 0 holds: theta0 = (0, b0) is the optimum
        theta = np.zeros(obj.n_params(d))
        if obj.fit_intercept:
            theta[-1] = _intercept_only(obj, y)
        theta, gap, its = theta, duality_gap(obj, theta, X, y), 0
    elif kind == "ls":
        theta, gap, its = _solve_ls(obj, X, y, tol, max_iter)
    else:
        theta, gap, its = _solve_logistic(obj, X, y, tol, max_iter)
    return SparseReference(
        theta_star=theta,
        f_star=float(obj.value(theta, X, y)),
        gap=float(gap),
        support=[int(j) for j in np.flatnonzero(theta[:d])],
        l1_max=lmax,
        iterations=int(its),
    )
