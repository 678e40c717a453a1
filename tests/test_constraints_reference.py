"""The constrained reference against cvxpy: θ*, f*, multipliers, KKT, duality, penalty ⇔ constraint."""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest

from optrun.constraints import (
    ConstraintSet,
    QuadraticObjective,
    dual_quadratic,
    solve_constrained,
)
from optrun.constraints.solve import _quadratic_parts
from optrun.errors import OptrunError
from optrun.models import Objective

CFGS = [
    {"lower": 0.0},
    {"upper": [0.5, None, None, None]},
    {"lower": -0.2, "upper": 0.3},
    {"norm": {"ord": 2, "radius": 0.8}},
    {"norm": {"ord": 1, "radius": 0.8}},
    {"norm": {"ord": "inf", "radius": 0.4}},
    {"norm": {"ord": 2, "radius": 50.0}},  # inactive
    {"equality": {"A": [[1, 1, 1, 1]], "b": [1.0]}},
    {"inequality": {"G": [[1, -1, 0, 0], [0, 0, 1, 1]], "h": [0.1, 0.2]}},
    {"norm": {"ord": 1, "radius": 0.6}, "lower": [None, -0.1, None, None], "equality": {"A": [[1, 0, 1, 0]], "b": [0.3]}},
    {"norm": {"ord": 2, "radius": 0.7}, "inequality": {"G": [[1, 1, 0, 0]], "h": [0.1]}, "upper": 1.0},
    {"norm": {"ord": "inf", "radius": 0.5}, "equality": {"A": [[1, 1, 0, 0], [2, 2, 0, 0]], "b": [0.2, 0.4]}},  # redundant rows
]
# (index, model, loss, intercept, l2, collinear)
CASES = [(i, m, loss, icpt, l2, coll)
         for i in range(len(CFGS))
         for (m, loss, icpt, l2, coll) in [("linear", "half_mse", True, 0.0, False), ("linear", "mse", False, 0.1, False),
                                           ("logistic", "bce", True, 0.0, False)]]
CASES += [(i, "linear", "half_mse", True, 0.0, True) for i in (0, 3, 4, 7)]  # collinear columns: singular H


def _data(model, collinear, seed, intercept):
    rng = np.random.default_rng(seed)
    n, d = 40, 4 if not intercept else 3
    X = rng.standard_normal((n, d))
    if collinear:
        X[:, 1] = X[:, 0]
    wt = np.array([1.0, -2.0, 0.5, 0.7])[:d]
    z = X @ wt + 0.3
    if model == "linear":
        return X, z + 0.2 * rng.standard_normal(n)
    return X, (z + 1.0 * rng.standard_normal(n) > 0).astype(float)


def _cvx(obj, X, y, cs):
    from test_constraints_sets import cvx_constraints

    n = X.shape[0]
    Xt = np.hstack([X, np.ones((n, 1))]) if obj.fit_intercept else X
    th = cp.Variable(cs.p)
    w = th[np.flatnonzero(cs.weight_mask())]
    z = Xt @ th
    if obj.model == "linear":
        f = (0.5 if obj.loss == "half_mse" else 1.0) * cp.sum_squares(z - y) / n
    else:
        f = cp.sum(cp.logistic(z) - cp.multiply(y, z)) / n
    f = f + 0.5 * obj.l2 * cp.sum_squares(w)
    cons = cvx_constraints(cs, th)
    pr = cp.Problem(cp.Minimize(f), cons)
    try:
        pr.solve(solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13, max_iter=400)
    except cp.error.SolverError:
        pr.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return pr, th, cons


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}-{'b' if c[3] else 'nob'}{'-coll' if c[5] else ''}" for c in CASES])
def test_reference_matches_cvxpy(case):
    i, model, loss, icpt, l2, coll = case
    X, y = _data(model, coll, i, icpt)
    obj = Objective(model, loss, icpt, l2=l2)
    cs = ConstraintSet.from_config(CFGS[i], 4, icpt)
    ref = solve_constrained(obj, X, y, cs)
    pr, th, cons = _cvx(obj, X, y, cs)
    assert pr.status in ("optimal", "optimal_inaccurate")
    assert abs(ref.f_star - pr.value) <= 1e-9 * (1 + abs(pr.value))
    assert ref.f_star <= pr.value + 1e-12  # ours is at least as good
    # Our own certificate: the four KKT residuals at θ*.
    assert max(ref.kkt.values()) <= 1e-10, ref.kkt
    ball2 = cs.norm_ord == 2.0
    if not coll:
        tol = 5e-6 if ball2 else 1e-7  # Clarabel's SOCP stops near 1e-6; its QP/LP reach 1e-8
        assert np.max(np.abs(ref.theta_star - th.value)) <= tol
    else:  # singular H: the minimum-norm optimum, duplicated columns split evenly
        assert ref.theta_star[0] == pytest.approx(ref.theta_star[1], abs=1e-10)
    # Multipliers where they are unique (no duplicated columns, no redundant rows).
    if not coll and i != 11:
        m = ref.multipliers
        k = 0
        for kind in ("lower", "upper"):
            fin = np.isfinite(getattr(cs, kind))
            if fin.any():
                assert np.allclose(np.array(m[kind])[fin], cons[k].dual_value, atol=1e-5 if ball2 else 1e-6)
                assert np.all(np.array(m[kind])[~fin] == 0)
                k += 1
        if cs.norm_ord is not None:
            assert m["norm"] == pytest.approx(float(cons[k].dual_value), abs=1e-5 if ball2 else 1e-6)
            k += 1
        if cs.has("equality"):
            assert np.allclose(m["equality"], cons[k].dual_value, atol=1e-6)
            k += 1
        if cs.has("inequality"):
            assert np.allclose(m["inequality"], cons[k].dual_value, atol=1e-6)
    # Active flags agree with the multipliers (strict complementarity on these problems).
    for kind in ("lower", "upper"):
        for a, v in zip(ref.active[kind], ref.multipliers[kind]):
            assert a or v == 0.0
    # Strong duality where the dual is computed (quadratic objectives, no active L2 ball).
    if model == "linear" and not (ball2 and ref.multipliers["norm"] > 0):
        assert ref.dual_optimum is not None
        assert abs(ref.duality_gap_star) <= 1e-10 * (1 + abs(ref.f_star))


def test_lecture_example():
    # min x1² + x2² s.t. x1 + x2 = 2: ∂L/∂x = 2x + ν = 0 → x1 = x2 = 1, ν = −2.
    cs = ConstraintSet.from_config({"equality": {"A": [[1, 1]], "b": [2]}}, 2, False)
    ref = solve_constrained(QuadraticObjective(2 * np.eye(2), np.zeros(2)), None, None, cs)
    assert np.allclose(ref.theta_star, [1, 1], atol=1e-15)
    assert ref.multipliers["equality"] == pytest.approx([-2.0], abs=1e-14)
    assert ref.f_star == pytest.approx(2.0) and ref.dual_optimum == pytest.approx(2.0)
    # d(ν) = −ν²/2 − 2ν in closed form: maximal at ν = −2.
    for nu in (-3.0, -1.0, 0.5):
        d = dual_quadratic(cs, 2 * np.eye(2), np.zeros(2), 0.0, ([], [nu]))
        assert d == pytest.approx(-nu * nu / 2 - 2 * nu) and d <= 2.0


@pytest.mark.parametrize("i", [0, 2, 4, 5, 7, 8, 9])
def test_weak_duality_at_random_multipliers(i):
    X, y = _data("linear", False, i, True)
    obj = Objective("linear", "half_mse", True)
    cs = ConstraintSet.from_config(CFGS[i], 4, True)
    ref = solve_constrained(obj, X, y, cs)
    H, c, f0 = _quadratic_parts(obj, X, y, 4)
    rng = np.random.default_rng(i)
    for _ in range(20):
        lam = rng.exponential(size=len(cs.labels()))
        nu = rng.standard_normal(cs.A.shape[0])
        d = dual_quadratic(cs, H, c, f0, (lam, nu))
        assert d <= ref.f_star + 1e-12
    # Unbounded below: H singular and q outside its range → −∞.
    Hs = np.diag([1.0, 1.0, 1.0, 0.0])
    cs0 = ConstraintSet.from_config({"lower": 0.0}, 4, True)
    assert dual_quadratic(cs0, Hs, np.zeros(4), 0.0, ([0, 0, 0, 1.0], [])) == -math.inf


def test_penalty_constraint_link():
    # ‖w‖₂ ≤ r with multiplier μ  ⇔  ridge with l2 = μ/‖w*‖₂ (penalty (l2/2)‖w‖²).
    X, y = _data("linear", False, 1, True)
    cs = ConstraintSet.from_config({"norm": {"ord": 2, "radius": 0.9}}, 4, True)
    ref = solve_constrained(Objective("linear", "half_mse", True), X, y, cs)
    mu = ref.multipliers["norm"]
    assert mu > 0 and ref.active["norm"]
    l2 = mu / np.linalg.norm(ref.theta_star[:3])
    ridge = Objective("linear", "half_mse", True, l2=l2)
    H, c, _ = _quadratic_parts(ridge, X, y, 4)
    assert np.allclose(np.linalg.solve(H, -c), ref.theta_star, atol=1e-12)


def test_logistic_bounded_by_constraints_on_separable_data():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    cs = ConstraintSet.from_config({"norm": {"ord": 2, "radius": 3.0}}, 2, True)
    ref = solve_constrained(Objective("logistic", "bce", True), X, y, cs)
    assert ref.theta_star[0] == pytest.approx(3.0, abs=1e-12) and max(ref.kkt.values()) <= 1e-10


def test_unsupported_objectives_raise():
    X, y = _data("linear", False, 0, True)
    cs = ConstraintSet.from_config({"lower": 0.0}, 4, True)
    with pytest.raises(OptrunError, match="l1"):
        solve_constrained(Objective("linear", "mse", True, l1=0.1), X, y, cs)
    with pytest.raises(OptrunError, match="not convex"):
        solve_constrained(Objective("logistic", "mse", True), X, (y > 0).astype(float), cs)
    with pytest.raises(OptrunError, match="not convex"):
        solve_constrained(QuadraticObjective(np.diag([1.0, -1.0, 1.0, 1.0]), np.zeros(4)), None, None, cs)
