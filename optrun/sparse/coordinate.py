"""The exact l1 optimum: coordinate descent (least squares), proximal Newton (logistic), polish.

Coordinate descent with active-set cycling minimises each coordinate of a quadratic + l1 model
exactly; for logistic regression that model is the second-order model of the smooth part
(glmnet / newGLMNET), followed by an Armijo line search on F. Both stop on the duality gap and
finish with a Newton *polish* on the support with the signs fixed (see :mod:`optrun.sparse`).
"""

from __future__ import annotations

import math

import numpy as np

from optrun.models import Objective
from optrun.sparse.gap import duality_gap, kkt_residual
from optrun.sparse.problem import _TINY, _intercept_only, _kind, _ls_c, _sigmoid, smooth_part


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
