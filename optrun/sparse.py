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
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from optrun.errors import OptrunError
from optrun.models import Objective

_TINY = np.finfo(np.float64).tiny


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


# --------------------------------------------------------------------------------------------
# The proximal operator


def soft_threshold(v, tau):
    """``sign(v) max(|v| - tau, 0)``: the prox of ``tau ||.||_1`` (exact zeros inside [-tau, tau])."""
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.maximum(np.abs(v) - tau, 0.0)


def prox_l1(obj: Objective, theta, step: float) -> np.ndarray:
    """``prox_{step l1 ||w||_1}(theta)``: soft-threshold the weights by ``step * l1``, never b.

    The identity (a copy) when ``l1 = 0``.
    """
    theta = np.array(theta, dtype=np.float64)
    if obj.l1 == 0.0:
        return theta
    d = theta.shape[0] - (1 if obj.fit_intercept else 0)
    theta[:d] = soft_threshold(theta[:d], step * obj.l1)
    return theta


# --------------------------------------------------------------------------------------------
# Which problem, and its pieces


def _kind(obj: Objective) -> str:
    if obj.model == "linear" and obj.loss in ("mse", "half_mse"):
        return "ls"
    if obj.model == "logistic" and obj.loss == "bce":
        return "logistic"
    raise OptrunError(
        f"l1 reference: model {obj.model} with loss {obj.loss} is not convex; exact l1 optima are "
        "available for linear (mse, half_mse) and logistic (bce)"
    )


def _ls_c(obj: Objective) -> float:
    """c in the per-row loss ``c r^2``: 1 for mse, 1/2 for half_mse."""
    return 1.0 if obj.loss == "mse" else 0.5


def smooth_part(obj: Objective) -> Objective:
    """The objective without its l1 term: data + (l2/2)||w||^2 (differentiable)."""
    return dataclasses.replace(obj, l1=0.0)


def _as_arrays(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    return X, y


def _softplus(z):
    """``log(1 + e^z)``, stable for any z."""
    return np.logaddexp(0.0, z)


def _sigmoid(z):
    return np.exp(-_softplus(-z))


def _intercept_only(obj: Objective, y: np.ndarray) -> float:
    """The optimal intercept when every weight is 0 (0.0 without an intercept)."""
    if not obj.fit_intercept:
        return 0.0
    ybar = float(np.mean(y))
    if _kind(obj) == "ls":
        return ybar
    if ybar <= 0.0 or ybar >= 1.0:
        raise OptrunError(
            f"l1 reference: every target is {int(round(ybar))}: the unpenalised intercept has no "
            "finite optimum (f* = 0 is an infimum)"
        )
    return math.log(ybar) - math.log1p(-ybar)


def l1_max(obj: Objective, X, y) -> float:
    """The smallest l1 for which every weight of the optimum is 0.

    ``||grad_w smooth(theta0)||_inf`` at ``theta0 = (0, b0)``, b0 the intercept-only optimum
    (the KKT condition of w = 0: ``0 in grad_w + l1 [-1, 1]^d``). Exact (one gradient), and
    independent of ``obj.l1`` and ``obj.l2``.
    """
    X, y = _as_arrays(X, y)
    d = X.shape[1]
    if d == 0:
        return 0.0
    theta0 = np.zeros(obj.n_params(d))
    if obj.fit_intercept:
        theta0[-1] = _intercept_only(obj, y)
    g = smooth_part(obj).grad(theta0, X, y)
    return float(np.max(np.abs(g[:d])))


# --------------------------------------------------------------------------------------------
# The duality gap


def _penalty_fy(w: np.ndarray, v: np.ndarray, l1: float, l2: float) -> float:
    """``sum_j h_j(w_j) + h_j*(v_j) - v_j w_j`` (>= 0 when h*(v) is finite), in non-negative pieces."""
    vc = np.clip(v, -l1, l1)
    out = l1 * np.abs(w) - vc * w  # >= 0 because |vc| <= l1
    if l2 > 0:
        t = (v - vc) / l2  # soft(v, l1) / l2: the weight for which v is the penalty's gradient
        out = out + 0.5 * l2 * (w - t) ** 2
    return float(np.sum(np.maximum(out, 0.0)))


def _bernoulli_kl(a: np.ndarray, s: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``KL(p || q)`` per row, where ``a = |q - y|`` is the probability given to the wrong class,
    ``p = y + s (q - y)`` (s in [0, 1], so p stays between y and q) and ``m = (2y - 1) z``.

    ``KL = s a log s + (1 - s a) [log(1 - s a) - log(1 - a)]`` with ``1 - a = sigmoid(m)``,
    ``log(1 - a) = -softplus(-m)`` and ``1 - s a = (1 - s) + s sigmoid(m)`` (no cancellation for
    confident rows), ``0 log 0 = 0``, and exactly 0 where s = 1; clipped at 0 (rounding only).
    """
    one_minus_sa = (1.0 - s) + s * _sigmoid(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(s > 0, s * a * np.log(np.where(s > 0, s, 1.0)), 0.0)
        second = one_minus_sa * (np.log(np.where(one_minus_sa > 0, one_minus_sa, 1.0)) + _softplus(-m))
    kl = np.where(s == 1.0, 0.0, first + second)
    return np.maximum(kl, 0.0)


def kkt_residual(obj: Objective, theta, X, y) -> float:
    """Largest violation of the optimality condition ``0 in grad smooth + l1 d||w||_1``.

    On the support ``|g_j + l1 sign(w_j)|``, off it ``max(|g_j| - l1, 0)``, and ``|g_b|`` for the
    intercept (g = gradient of the smooth part). 0 exactly at the optimum.
    """
    X, y = _as_arrays(X, y)
    theta = np.asarray(theta, dtype=np.float64)
    d = X.shape[1]
    g = smooth_part(obj).grad(theta, X, y)
    w = theta[:d]
    viol = np.where(w != 0, np.abs(g[:d] + obj.l1 * np.sign(w)), np.maximum(np.abs(g[:d]) - obj.l1, 0.0))
    out = float(viol.max(initial=0.0))
    return max(out, abs(float(g[d]))) if obj.fit_intercept else out


def duality_gap(obj: Objective, theta, X, y) -> float:
    """``F(theta) - D(u(theta)) >= 0`` for ANY theta, with a dual-feasible u built from the
    generalized residual (see the module docstring). 0 at theta* (up to rounding); O(nd).

    For ``l2 > 0`` the dual is feasible for every u; the gap is the smaller of the unscaled and
    the rescaled residual's (both valid).
    """
    kind = _kind(obj)
    X, y = _as_arrays(X, y)
    theta = np.asarray(theta, dtype=np.float64)
    n, d = X.shape
    w, b = obj.split(theta)
    b = float(b)
    z = X @ w + b
    l1, l2 = obj.l1, obj.l2
    if kind == "ls":
        c = _ls_c(obj)
        r = z - y
        psi = r - r.mean() if obj.fit_intercept else r  # residual at the best intercept for w
        u1 = (2.0 * c / n) * psi
        data_fy = lambda alpha: (c / n) * float(np.sum((r - alpha * psi) ** 2))  # noqa: E731
    else:
        q = _sigmoid(z)
        psi = q - y
        s = np.ones(n)
        if obj.fit_intercept:  # make sum(u) = 0 by shrinking the heavier side toward y
            pos, neg = float(psi[psi > 0].sum()), float(-psi[psi < 0].sum())
            if pos > neg:
                s[psi > 0] = neg / pos
            elif neg > pos:
                s[psi < 0] = pos / neg
        u1 = s * psi / n
        a = np.abs(psi)
        m = np.where(y > 0.5, z, -z)
        data_fy = lambda alpha: float(np.sum(_bernoulli_kl(a, alpha * s, m))) / n  # noqa: E731
    v1 = -(X.T @ u1)
    vmax = float(np.max(np.abs(v1))) if d else 0.0
    alpha_feas = 1.0 if vmax <= l1 else l1 / vmax
    alphas = [alpha_feas] if l2 == 0 or alpha_feas == 1.0 else [alpha_feas, 1.0]
    gaps = [data_fy(al) + _penalty_fy(w, al * v1, l1, l2) for al in alphas]
    return float(min(gaps))


# --------------------------------------------------------------------------------------------
# The exact optimum


def _coordinate_sweep(js, H, u, model, l1) -> float:
    """One exact coordinate-minimisation sweep over ``js`` of a quadratic + l1 model.

    ``model(j, u_j)`` is the smooth model's partial derivative at the current point and ``H[j]``
    its (constant) curvature, so ``u_j <- soft(H_j u_j - g_j, l1) / H_j`` is the exact minimiser
    in u_j; ``model.move(j, delta)`` updates the bookkeeping. ``u`` is updated in place.
    Returns the largest ``|du_j| sqrt(H_j)`` (the move in the model's own metric).
    """
    biggest = 0.0
    for j in js:
        hj = H[j]
        old = u[j]
        if hj <= 0.0:  # a constant column with l2 = 0: only the l1 term depends on w_j
            new = 0.0 if l1 > 0 else old
        else:
            val = hj * old - model(j, old)
            new = math.copysign(max(abs(val) - l1, 0.0), val) / hj
        if new != old:
            u[j] = new
            model.move(j, new - old)
            biggest = max(biggest, abs(new - old) * math.sqrt(max(hj, 0.0)))
    return biggest


class _LSModel:
    """Gradient bookkeeping for least squares on centred data: r = Xc w - yc."""

    def __init__(self, Xc, yc, c, l2):
        self.Xc, self.r, self.k, self.l2 = Xc, -yc.copy(), 2.0 * c / Xc.shape[0], l2

    def __call__(self, j, wj):
        return self.k * float(self.Xc[:, j] @ self.r) + self.l2 * wj

    def move(self, j, delta):
        self.r += delta * self.Xc[:, j]


class _QuadModel:
    """The quadratic model of the smooth logistic part at w0: gradient g0 + X^T (W dz) + l2 (u - w0)."""

    def __init__(self, X, W, g0, w0, l2):
        self.X, self.W, self.g0, self.w0, self.l2 = X, W, g0, w0, l2
        self.dz = np.zeros(X.shape[0])

    def __call__(self, j, uj):
        return self.g0[j] + float(self.X[:, j] @ (self.W * self.dz)) + self.l2 * (uj - self.w0[j])

    def move(self, j, delta):
        self.dz += delta * self.X[:, j]


def _cd_solve(d, H, u, model, l1, tol, max_full, max_active=200, intercept=None) -> int:
    """Coordinate descent with active-set cycling: a full sweep, then sweeps over the nonzero
    coordinates until they move less than ``tol``; repeated until a full sweep moves less than
    ``tol`` or ``max_full`` full sweeps. ``intercept()`` (optional) minimises the unpenalised
    intercept exactly after each sweep. Returns the number of full sweeps.
    """
    sweeps = 0
    while sweeps < max_full:
        sweeps += 1
        moved = _coordinate_sweep(range(d), H, u, model, l1)
        if intercept is not None:
            moved = max(moved, intercept())
        if moved <= tol:
            break
        active = np.flatnonzero(u != 0.0)
        for _ in range(max_active):
            moved_a = _coordinate_sweep(active, H, u, model, l1)
            if intercept is not None:
                moved_a = max(moved_a, intercept())
            if moved_a <= tol:
                break
    return sweeps


def _polish(obj: Objective, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Newton on the support with the signs fixed; None unless the signs survive.

    On the support S with signs s the problem is smooth: ``smooth(w_S, b) + l1 s^T w_S``.
    Least squares: one Newton step is exact. Logistic: a few damped Newton steps.
    """
    d = X.shape[1]
    w = theta[:d]
    S = np.flatnonzero(w)
    sgn = np.sign(w[S])
    sm = smooth_part(obj)
    XS = X[:, S]
    idx = np.r_[S, d] if obj.fit_intercept else S
    th = theta[idx].copy()
    if th.size == 0:
        return None
    lin = np.zeros(th.size)
    lin[: S.size] = obj.l1 * sgn

    def val_grad(t):
        f, g = sm.value_and_grad(t, XS, y)
        return f + float(lin @ t), g + lin

    steps = 1 if _kind(obj) == "ls" else 30
    f, g = val_grad(th)
    for _ in range(steps):
        Hs = sm.hessian(th, XS, y)
        try:
            step = np.linalg.solve(Hs, g)
        except np.linalg.LinAlgError:
            return None
        a = 1.0
        while a > 1e-10:
            cand = th - a * step
            fc, gc = val_grad(cand)
            if fc <= f:
                break
            a *= 0.5
        else:
            break
        th, f, g = cand, fc, gc
        if np.max(np.abs(g)) <= 1e-15 * max(1.0, abs(f)):
            break
    if np.any(np.sign(th[: S.size]) != sgn):
        return None
    out = np.zeros_like(theta)
    out[idx] = th
    return out


def _solve_ls(obj, X, y, tol, max_iter):
    n, d = X.shape
    c = _ls_c(obj)
    if obj.fit_intercept:
        xbar, ybar = X.mean(axis=0), float(y.mean())
        Xc, yc = X - xbar, y - ybar
    else:
        xbar, ybar = np.zeros(d), 0.0
        Xc, yc = X, y
    H = (2.0 * c / n) * np.einsum("ij,ij->j", Xc, Xc) + obj.l2
    model = _LSModel(Xc, yc, c, obj.l2)
    w = np.zeros(d)

    def theta_of(w):
        return np.r_[w, ybar - float(xbar @ w)] if obj.fit_intercept else w.copy()

    tol_move = 1e-13 * (math.sqrt(float(yc @ yc) / n) + _TINY)

    def step(budget):
        return _cd_solve(d, H, w, model, obj.l1, tol_move, budget)

    return _iterate(obj, X, y, tol, max_iter, theta_of, lambda: w, step)


def _iterate(obj, X, y, tol, max_iter, theta_of, current, step):
    """Run ``step`` (one full sweep / one Newton step) until the gap is below ``tol * F`` or has
    not improved for 20 steps (rounding floor), then polish on the support."""
    its = 0
    best = None
    stale = 0
    while its < max_iter and stale < 20:
        its += step(1)
        theta = theta_of(current())
        f = obj.value(theta, X, y)
        gap = duality_gap(obj, theta, X, y)
        if best is None or gap < best[1]:
            best, stale = (theta, gap), 0
        else:
            stale += 1
        if gap <= tol * max(abs(f), _TINY):
            break
    theta, gap = best
    if np.any(theta[: X.shape[1]] != 0):
        pol = _polish(obj, theta, X, y)
        if pol is not None and kkt_residual(obj, pol, X, y) <= kkt_residual(obj, theta, X, y):
            theta, gap = pol, duality_gap(obj, pol, X, y)
    return theta, gap, its


def _solve_logistic(obj, X, y, tol, max_iter):
    n, d = X.shape
    l1, l2 = obj.l1, obj.l2
    X2 = X * X
    theta = np.zeros(obj.n_params(d))
    if obj.fit_intercept:
        theta[-1] = _intercept_only(obj, y)
    state = {"theta": theta}

    def newton_step(_budget):
        th = state["theta"]
        w, b = th[:d], (th[d] if obj.fit_intercept else 0.0)
        z = X @ w + b
        q = _sigmoid(z)
        W = q * (1.0 - q) / n
        g0 = X.T @ (q - y) / n + l2 * w
        gb = float(np.sum(q - y)) / n
        H = X2.T @ W + l2
        u = w.copy()
        model = _QuadModel(X, W, g0, w, l2)
        bstate = {"db": 0.0}
        hb = float(W.sum())

        def intercept():
            if not obj.fit_intercept or hb <= 0:
                return 0.0
            g = gb + float(W @ model.dz)
            delta = -g / hb
            bstate["db"] += delta
            model.dz += delta
            return abs(delta) * math.sqrt(hb)

        _cd_solve(d, H, u, model, l1, 1e-14, 200, intercept=intercept if obj.fit_intercept else None)
        direction = np.r_[u - w, bstate["db"]] if obj.fit_intercept else u - w
        gfull = np.r_[g0, gb] if obj.fit_intercept else g0
        f0 = obj.value(th, X, y)
        decrease = float(gfull @ direction) + l1 * (np.abs(u).sum() - np.abs(w).sum())
        a = 1.0
        cand = th + direction
        # Armijo backtracking on F (Yuan, Ho & Lin 2012), sigma = 0.01; when the predicted
        # decrease is below the rounding of F the model is exact there: take the full step.
        if -decrease > 1e-15 * abs(f0):
            for _ in range(60):
                cand = th + a * direction
                if obj.value(cand, X, y) <= f0 + 0.01 * a * decrease:
                    break
                a *= 0.5
            else:
                cand = th
        state["theta"] = cand
        return 1

    return _iterate(obj, X, y, tol, max_iter, lambda _t: state["theta"].copy(),
                    lambda: state["theta"], newton_step)


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
