"""The active-set QP and the Lawson–Hanson NNLS against cvxpy / scipy (test oracles only)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import nnls as scipy_nnls

from optrun.constraints import QPInfeasible, QPUnbounded, min_norm_qp, nnls, phase_one, solve_qp
from optrun.errors import OptrunError


def _cvx(H, c, E, e, C, d):
    n = c.size
    x = cp.Variable(n)
    cons = []
    if C.shape[0]:
        cons.append(C @ x <= d)
    if E.shape[0]:
        cons.append(E @ x == e)
    pr = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(H)) + c @ x), cons)
    try:
        pr.solve(solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13)
    except cp.error.SolverError:  # degenerate faces: Clarabel cannot always reach 1e-13
        pr.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return pr, x, cons


def _problem(rng, k):
    n = int(rng.integers(2, 7))
    rows = n + 3 if k % 3 else max(1, n - 2)  # every third: singular H (fewer rows than columns)
    M = rng.standard_normal((rows, n))
    H = M.T @ M
    x_feas = rng.standard_normal(n)
    m, me = int(rng.integers(1, 7)), int(rng.integers(0, 3))
    C = rng.standard_normal((m, n))
    d = C @ x_feas + rng.random(m) * (k % 2)  # odd k: strictly feasible; even k: x_feas on every face
    E = rng.standard_normal((me, n))
    e = E @ x_feas
    c = 3 * rng.standard_normal(n)
    if k % 3 == 0:
        c = H @ rng.standard_normal(n)  # keep the singular problems bounded
    return H, c, E, e, C, d


@pytest.mark.parametrize("k", range(24))
def test_qp_matches_cvxpy(k):
    rng = np.random.default_rng(100 + k)
    H, c, E, e, C, d = _problem(rng, k)
    res = solve_qp(H, c, E, e, C, d)
    pr, x, cons = _cvx(H, c, E, e, C, d)
    assert pr.status == "optimal"
    assert abs(res.value - pr.value) <= 1e-9 * (1 + abs(pr.value))
    # KKT of our own solution, to rounding.
    g = H @ res.x + c + C.T @ res.lam + E.T @ res.nu
    assert np.max(np.abs(g)) <= 1e-10 * (1 + np.max(np.abs(c)))
    assert np.max(C @ res.x - d) <= 1e-12 * (1 + np.max(np.abs(d)))
    assert np.all(res.lam >= 0) and np.max(np.abs(res.lam * (C @ res.x - d))) <= 1e-10
    if k % 3:  # strictly convex: unique x (multipliers can be non-unique on degenerate faces)
        assert np.max(np.abs(res.x - x.value)) <= 1e-7
        if k % 2:
            assert np.max(np.abs(res.lam - cons[0].dual_value)) <= 1e-7


def test_min_norm_on_singular_least_squares():
    # Two identical columns: w1 + w2 is determined, the split is not; min-norm splits evenly.
    rng = np.random.default_rng(3)
    a = rng.standard_normal(20)
    X = np.c_[a, a]
    y = 2 * a + 0.1 * rng.standard_normal(20)
    H, c = X.T @ X, -X.T @ y
    res = min_norm_qp(H, c, C=np.array([[1.0, 0.0]]), d=np.array([5.0]))
    s = (a @ y) / (a @ a)
    assert np.allclose(res.x, [s / 2, s / 2], atol=1e-12)


def test_infeasible_and_unbounded_raise():
    with pytest.raises(QPInfeasible, match="feasible set is empty"):
        solve_qp(np.eye(2), np.zeros(2), C=np.array([[1.0, 0], [-1.0, 0]]), d=np.array([-1.0, -1.0]))
    with pytest.raises(QPInfeasible, match="inconsistent"):
        solve_qp(np.eye(2), np.zeros(2), E=np.array([[1.0, 1], [2.0, 2]]), e=np.array([1.0, 3.0]))
    with pytest.raises(QPUnbounded, match="unbounded"):
        solve_qp(np.diag([1.0, 0.0]), np.array([0.0, 1.0]), C=np.array([[0.0, 1.0]]), d=np.array([1.0]))
    with pytest.raises(OptrunError, match="not convex"):
        solve_qp(np.diag([1.0, -1.0]), np.zeros(2))
    assert issubclass(QPInfeasible, OptrunError) and issubclass(QPUnbounded, OptrunError)


def test_redundant_equalities_and_degenerate_vertex():
    # x1 + x2 = 1 twice (consistent), and three constraints through the optimum (degenerate).
    E = np.array([[1.0, 1.0], [2.0, 2.0]])
    e = np.array([1.0, 2.0])
    C = np.array([[0.0, 1.0], [-1.0, 1.0], [-0.5, 1.0]])
    d = np.array([0.5, 0.0, 0.25])
    res = solve_qp(np.eye(2), np.array([3.0, -3.0]), E, e, C, d)
    assert np.allclose(res.x, [0.5, 0.5], atol=1e-14)
    g = res.x + np.array([3.0, -3.0]) + C.T @ res.lam + E.T @ res.nu
    assert np.max(np.abs(g)) <= 1e-13 and np.all(res.lam >= 0)
    assert np.allclose(E @ res.x, e, atol=1e-14)
    x = phase_one(E, e, C, d)
    assert np.all(C @ x <= d + 1e-12) and np.allclose(E @ x, e)


def test_linear_program_through_zero_hessian():
    # min -x1 - x2 on the unit box: a vertex, found by the zero-curvature ray steps.
    C = np.vstack([np.eye(2), -np.eye(2)])
    res = solve_qp(np.zeros((2, 2)), -np.ones(2), C=C, d=np.r_[np.ones(2), np.zeros(2)])
    assert np.allclose(res.x, [1, 1]) and np.allclose(res.lam, [1, 1, 0, 0])


@pytest.mark.parametrize("seed", range(15))
def test_nnls_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 12)), int(rng.integers(2, 9))
    A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    x1, r1 = nnls(A, b)
    x2, r2 = scipy_nnls(A, b)
    assert np.allclose(x1, x2, atol=1e-12) and abs(r1 - r2) <= 1e-12
