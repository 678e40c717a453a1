"""Exact l1 optima (lasso, elastic net, L1-logistic), l1_max and the duality gap.

Checked against scikit-learn and cvxpy with the EXACT mapping of objectives, against the KKT
conditions directly, and against a direct evaluation of the Fenchel dual.

Objective mappings (optrun: F = mean l(z, y) + (l2/2)||w||^2 + l1||w||_1, intercept free):
* sklearn Lasso(alpha) minimises (1/(2n))||y - Xw - b||^2 + alpha ||w||_1:
  half_mse (mean r^2/2) with l1 = alpha; mse (mean r^2) is twice that objective, so l1 = 2 alpha
  (and F = 2 * sklearn's objective, same minimiser).
* sklearn ElasticNet(alpha, l1_ratio) minimises (1/(2n))||r||^2 + alpha l1_ratio ||w||_1
  + (alpha (1 - l1_ratio)/2) ||w||^2: half_mse with l1 = alpha l1_ratio, l2 = alpha (1 - l1_ratio).
* sklearn LogisticRegression(C, l1_ratio=1) minimises ||w||_1 + C sum_i bce_i (sum form,
  intercept unpenalised for saga); dividing by C n gives mean bce + ||w||_1 / (C n), so
  C = 1 / (n l1).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optrun import sparse
from optrun.errors import OptrunError
from optrun.models import Objective


def problem(seed, n=50, d=12, rho=0.0, model="linear", k=4):
    """Gaussian features with correlation rho^|i-j| (rho = 0: independent), k true nonzeros."""
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T + rng.normal(0, 1, d)
    w = np.zeros(d)
    w[rng.choice(d, k, replace=False)] = rng.normal(0, 2, k)
    z = X @ w + 0.7 + 0.5 * rng.standard_normal(n)
    y = (z > np.median(z)).astype(float) if model == "logistic" else z
    return X, y


def kkt_residual(obj, theta, X, y):
    """Largest violation of 0 in grad smooth + l1 d|w| (intercept: grad_b = 0), relative to l1."""
    d = X.shape[1]
    g = sparse.smooth_part(obj).grad(theta, X, y)
    w = theta[:d]
    on = w != 0
    viol = np.where(on, np.abs(g[:d] + obj.l1 * np.sign(w)), np.maximum(np.abs(g[:d]) - obj.l1, 0))
    b = abs(g[d]) if obj.fit_intercept else 0.0
    return max(float(viol.max(initial=0.0)), b)


# --------------------------------------------------------------------------------------------
# The prox and l1_max


def test_soft_threshold_and_prox_leave_the_intercept():
    np.testing.assert_array_equal(sparse.soft_threshold([3.0, -0.5, 0.5, -2.0], 1.0), [2.0, 0.0, 0.0, -1.0])
    obj = Objective("linear", "half_mse", l1=2.0)
    np.testing.assert_array_equal(sparse.prox_l1(obj, [3.0, -0.5, 0.5], 0.5), [2.0, 0.0, 0.5])
    theta = np.array([3.0, -0.5, 0.5])
    assert np.array_equal(sparse.prox_l1(Objective(l1=0.0), theta, 0.5), theta)


@pytest.mark.parametrize("loss,factor", [("half_mse", 1.0), ("mse", 2.0)])
def test_l1_max_closed_form_least_squares(loss, factor):
    X, y = problem(0)
    n = len(y)
    expected = factor * np.max(np.abs(X.T @ (y - y.mean()))) / n  # grad_w at (0, mean y)
    assert sparse.l1_max(Objective("linear", loss), X, y) == pytest.approx(expected, rel=1e-13)
    # without an intercept theta0 = 0
    expected0 = factor * np.max(np.abs(X.T @ y)) / n
    assert sparse.l1_max(Objective("linear", loss, fit_intercept=False), X, y) == pytest.approx(expected0, rel=1e-13)


@pytest.mark.parametrize("model,loss", [("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce")])
def test_l1_max_is_the_threshold_of_the_zero_solution(model, loss):
    X, y = problem(3, rho=0.5, model=model)
    lmax = sparse.l1_max(Objective(model, loss), X, y)
    above = sparse.solve(Objective(model, loss, l1=lmax), X, y)
    assert above.support == [] and np.all(above.theta_star[:-1] == 0.0) and above.l1_max == lmax
    assert above.gap <= 1e-14 * above.f_star
    above2 = sparse.solve(Objective(model, loss, l1=3 * lmax, l2=0.5), X, y)
    assert above2.support == []
    below = sparse.solve(Objective(model, loss, l1=lmax * (1 - 1e-3)), X, y)
    assert len(below.support) == 1  # just below l1_max exactly one weight enters
    assert kkt_residual(Objective(model, loss, l1=lmax * (1 - 1e-3)), below.theta_star, X, y) < 1e-11


def test_unsupported_objectives_say_so():
    X, y = problem(0, model="logistic")
    with pytest.raises(OptrunError, match="not convex"):
        sparse.solve(Objective("logistic", "mse", l1=0.1), X, y)
    with pytest.raises(OptrunError, match="every target is 1"):
        sparse.l1_max(Objective("logistic", "bce"), X, np.ones_like(y))


# --------------------------------------------------------------------------------------------
# Lasso and elastic net against scikit-learn

# 24 problems: 4 data sets (independent and correlated features, n > d and n < d) x 2 losses x 3
# levels of l1 (small, medium, near l1_max).
LS_CASES = [(seed, rho, n, d, loss, frac)
            for seed, rho, n, d in [(0, 0.0, 60, 10), (1, 0.9, 50, 12), (2, 0.95, 30, 40), (3, 0.5, 80, 6)]
            for loss in ("half_mse", "mse") for frac in (0.02, 0.3, 0.97)]


@pytest.mark.parametrize("seed,rho,n,d,loss,frac", LS_CASES)
def test_lasso_matches_sklearn(seed, rho, n, d, loss, frac):
    from sklearn.linear_model import Lasso

    X, y = problem(seed, n=n, d=d, rho=rho)
    lmax = sparse.l1_max(Objective("linear", loss), X, y)
    l1 = frac * lmax
    alpha = l1 if loss == "half_mse" else l1 / 2  # sklearn's (1/(2n))||r||^2 is half_mse
    obj = Objective("linear", loss, l1=l1)
    ref = sparse.solve(obj, X, y)
    sk = Lasso(alpha=alpha, tol=1e-15, max_iter=1_000_000).fit(X, y)
    theta_sk = np.r_[sk.coef_, sk.intercept_]
    f_sk = obj.value(theta_sk, X, y)
    assert ref.gap <= 1e-12 * ref.f_star
    assert ref.f_star <= f_sk + 1e-14 * abs(f_sk)  # never worse than sklearn
    assert f_sk - ref.f_star <= 1e-11 * f_sk
    assert kkt_residual(obj, ref.theta_star, X, y) <= 1e-12 * max(1.0, lmax)
    if n > d or rho < 0.9:  # unique optimum: the minimisers agree
        np.testing.assert_allclose(ref.theta_star, theta_sk, atol=1e-8 * (1 + np.abs(theta_sk).max()))
        assert set(ref.support) == set(np.flatnonzero(np.abs(sk.coef_) > 1e-10))
    assert ref.l1_max == lmax and ref.iterations >= 1


@pytest.mark.parametrize("seed,rho,l1_ratio", [(0, 0.0, 0.5), (1, 0.9, 0.1), (2, 0.95, 0.9), (4, 0.3, 0.99)])
def test_elastic_net_matches_sklearn(seed, rho, l1_ratio):
    from sklearn.linear_model import ElasticNet

    X, y = problem(seed, n=40, d=15, rho=rho)
    alpha = 0.1
    obj = Objective("linear", "half_mse", l1=alpha * l1_ratio, l2=alpha * (1 - l1_ratio))
    ref = sparse.solve(obj, X, y)
    sk = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15, max_iter=1_000_000).fit(X, y)
    theta_sk = np.r_[sk.coef_, sk.intercept_]
    assert ref.gap <= 1e-12 * ref.f_star
    assert ref.f_star <= obj.value(theta_sk, X, y) + 1e-15
    np.testing.assert_allclose(ref.theta_star, theta_sk, atol=1e-9 * (1 + np.abs(theta_sk).max()))
    assert kkt_residual(obj, ref.theta_star, X, y) <= 1e-12


# --------------------------------------------------------------------------------------------
# L1-logistic against scikit-learn (saga) and cvxpy


@pytest.mark.parametrize("seed,rho,frac,l2", [(0, 0.0, 0.05, 0.0), (1, 0.8, 0.2, 0.0), (2, 0.0, 0.9, 0.0),
                                             (3, 0.95, 0.1, 0.0), (5, 0.5, 0.3, 0.05)])
def test_l1_logistic_matches_sklearn_and_cvxpy(seed, rho, frac, l2):
    import cvxpy as cp
    from sklearn.linear_model import LogisticRegression

    X, y = problem(seed, n=80, d=8, rho=rho, model="logistic")
    n, d = X.shape
    l1 = frac * sparse.l1_max(Objective("logistic", "bce"), X, y)
    obj = Objective("logistic", "bce", l1=l1, l2=l2)
    ref = sparse.solve(obj, X, y)
    assert ref.gap <= 1e-12 * ref.f_star
    assert kkt_residual(obj, ref.theta_star, X, y) <= 1e-10

    w, b = cp.Variable(d), cp.Variable()
    z = X @ w + b
    prob = cp.Problem(cp.Minimize(cp.sum(cp.logistic(z) - cp.multiply(y, z)) / n + l1 * cp.norm1(w)
                                  + l2 / 2 * cp.sum_squares(w)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        if prob.status != "optimal":  # the exponential cone at 1e-12 may stall: default tolerances
            prob.solve(solver="CLARABEL")
    theta_cvx = np.r_[w.value, b.value]
    assert ref.f_star <= obj.value(theta_cvx, X, y) + 1e-15  # never worse than the conic solver
    # cvxpy (interior point on an exponential cone) is the weaker oracle: ~1e-6 in theta
    np.testing.assert_allclose(ref.theta_star, theta_cvx, atol=1e-5)
    if l2 == 0:  # C = 1/(n l1), sum form; saga does not penalise the intercept
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(C=1 / (n * l1), l1_ratio=1.0, solver="saga", tol=1e-13,
                                    max_iter=200_000).fit(X, y)
        theta_sk = np.r_[sk.coef_[0], sk.intercept_]
        assert ref.f_star <= obj.value(theta_sk, X, y) + 1e-15
        np.testing.assert_allclose(ref.theta_star, theta_sk, atol=1e-8)
    # exact zeros exactly where the optimum has them
    assert set(ref.support) == set(np.flatnonzero(np.abs(theta_cvx[:d]) > 1e-6))
    assert np.all(ref.theta_star[np.setdiff1d(np.arange(d), ref.support)] == 0.0)


# --------------------------------------------------------------------------------------------
# The duality gap


GAP_OBJECTIVES = [
    ("linear", Objective("linear", "half_mse", l1=0.2)),
    ("linear", Objective("linear", "mse", l1=0.1, l2=0.3)),
    ("linear", Objective("linear", "half_mse", l1=0.05, fit_intercept=False)),
    ("logistic", Objective("logistic", "bce", l1=0.02)),
    ("logistic", Objective("logistic", "bce", l1=0.01, l2=0.1)),
    ("logistic", Objective("logistic", "bce", l1=0.03, fit_intercept=False)),
]


@pytest.mark.parametrize("model,obj", GAP_OBJECTIVES, ids=[f"{o.model}-{o.loss}-{o.l1}-{o.l2}-{o.fit_intercept}"
                                                          for _, o in GAP_OBJECTIVES])
def test_gap_is_a_nonnegative_bound_that_vanishes_at_the_optimum(model, obj):
    X, y = problem(7, n=40, d=6, rho=0.6, model=model)
    ref = sparse.solve(obj, X, y)
    assert 0.0 <= sparse.duality_gap(obj, ref.theta_star, X, y) <= 1e-12 * ref.f_star
    rng = np.random.default_rng(0)
    for scale in (1e-6, 1e-3, 0.1, 1.0, 10.0):
        for _ in range(20):
            theta = ref.theta_star + scale * rng.standard_normal(ref.theta_star.shape)
            gap = sparse.duality_gap(obj, theta, X, y)
            # weak duality: F(theta) - F* <= gap (up to the rounding of F)
            assert gap >= 0.0
            assert obj.value(theta, X, y) - ref.f_star <= gap + 1e-13 * ref.f_star


def test_gap_equals_primal_minus_an_explicit_dual_value():
    """The Fenchel-Young form equals F(theta) - D(u) with D evaluated directly (lasso, mse)."""
    X, y = problem(8, n=30, d=5)
    n = len(y)
    obj = Objective("linear", "mse", l1=0.3)
    theta = np.array([0.3, -0.2, 0.0, 1.0, 0.5, 0.4])
    r = X @ theta[:-1] + theta[-1] - y
    u = (2.0 / n) * (r - r.mean())  # the residual at the best intercept for w, as a dual point
    u *= min(1.0, obj.l1 / np.max(np.abs(X.T @ u)))  # ||X^T u||_inf <= l1
    # phi_i(z) = (z - y_i)^2 / n  =>  phi_i*(u) = u y_i + n u^2 / 4;  D(u) = -sum phi_i*(u_i)
    dual = -(u @ y) - n * (u @ u) / 4
    assert sparse.duality_gap(obj, theta, X, y) == pytest.approx(obj.value(theta, X, y) - dual, rel=1e-12)


def test_gap_is_cheap_on_big_data():
    """One O(nd) evaluation: two matrix-vector products (no solve, no d x d matrix)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50))
    y = X[:, 0] + rng.standard_normal(20000)
    gap = sparse.duality_gap(Objective("linear", "half_mse", l1=0.1), np.zeros(51), X, y)
    assert np.isfinite(gap) and gap > 0
