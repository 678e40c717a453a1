"""ConstraintSet validation, g/h and Jacobians, and every projection against a brute-force QP (cvxpy)."""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest

from optrun.constraints import (
    ConstraintSet,
    fit_multipliers,
    kkt_residuals,
    project,
    project_affine,
    project_l1_ball,
)
from optrun.errors import OptrunError


def cvx_constraints(cs, th):
    w = th[np.flatnonzero(cs.weight_mask())]
    out = []
    lo, up = np.isfinite(cs.lower), np.isfinite(cs.upper)
    if lo.any():
        out.append(th[np.flatnonzero(lo)] >= cs.lower[lo])
    if up.any():
        out.append(th[np.flatnonzero(up)] <= cs.upper[up])
    if cs.norm_ord is not None:
        out.append(cp.norm(w, cs.norm_ord) <= cs.radius)
    if cs.has("equality"):
        out.append(cs.A @ th == cs.b)
    if cs.has("inequality"):
        out.append(cs.G @ th <= cs.h)
    return out


@pytest.mark.parametrize(
    "cfg, key",
    [
        ({"upper": [1.0, 2.0]}, "constraints.upper"),
        ({"lower": [0.0, float("nan"), 0.0]}, "constraints.lower"),
        ({"lower": 1.0, "upper": 0.5}, "constraints.upper"),
        ({"norm": {"ord": 2, "radius": 0.0}}, "constraints.norm.radius"),
        ({"norm": {"ord": 3, "radius": 1.0}}, "constraints.norm.ord"),
        ({"equality": {"A": [[1, 1]], "b": [1]}}, "constraints.equality.A"),
        ({"equality": {"A": [[1, 1, 0], [2, 2, 0]], "b": [1, 3]}}, "constraints.equality"),
        ({"inequality": {"G": [[1, 0, 0]], "h": [1, 2]}}, "constraints.inequality.h"),
        ({"inequality": {"G": [[1, 0, float("inf")]], "h": [1]}}, "constraints.inequality.G"),
        ({"bogus": 1}, "constraints.bogus"),
    ],
)
def test_validation_names_the_key(cfg, key):
    with pytest.raises(OptrunError) as e:
        ConstraintSet.from_config(cfg, 3, True)
    assert str(e.value).startswith(key)


def test_empty_feasible_sets_raise_with_reason():
    with pytest.raises(OptrunError, match="feasible set is empty: lower, inequality"):
        ConstraintSet.from_config({"lower": 1.0, "inequality": {"G": [[1, 1, 0]], "h": [1.5]}}, 3, True)
    with pytest.raises(OptrunError, match=r"constraints.norm: .*‖w‖₂ ≥ 2"):
        ConstraintSet.from_config({"norm": {"ord": 2, "radius": 1.0}, "lower": [2.0, None, None]}, 3, True)
    with pytest.raises(OptrunError, match="feasible set is empty: norm, equality"):
        ConstraintSet.from_config({"norm": {"ord": 1, "radius": 1.0}, "equality": {"A": [[1, -1, 0]], "b": [3]}}, 3, True)
    # The intercept is not in the ball: b = 5 is fine.
    ConstraintSet.from_config({"norm": {"ord": "inf", "radius": 1.0}, "equality": {"A": [[0, 0, 1]], "b": [5]}}, 3, True)


def test_ord_spellings():
    for o, v in [(1, 1.0), (2, 2.0), ("inf", math.inf), (".inf", math.inf), (float("inf"), math.inf)]:
        assert ConstraintSet.from_config({"norm": {"ord": o, "radius": 1}}, 2, False).norm_ord == v


def test_g_h_jacobians_and_infeasibility():
    cs = ConstraintSet.from_config(
        {"lower": [0.0, None, None], "upper": [None, 1.0, None], "norm": {"ord": 2, "radius": 1.5},
         "equality": {"A": [[1, 1, 1]], "b": [2]}, "inequality": {"G": [[1, -1, 0]], "h": [0.5]}}, 3, True)
    th = np.array([-0.5, 2.0, 3.0])
    g = cs.g(th)
    assert cs.labels() == [("lower", 0), ("upper", 1), ("norm", 0), ("inequality", 0)]
    assert np.allclose(g, [0.5, 1.0, math.hypot(0.5, 2.0) - 1.5, -3.0])  # intercept not in the norm
    assert np.allclose(cs.h_eq(th), [2.5])
    assert cs.infeasibility(th) == pytest.approx(2.5)
    J, eps = cs.jac_g(th), 1e-6
    for j in range(3):
        e = np.zeros(3); e[j] = eps
        assert np.allclose((cs.g(th + e) - cs.g(th - e)) / (2 * eps), J[:, j], atol=1e-8)
    assert np.allclose(cs.jac_h(), [[1, 1, 1]])
    mult = cs.pack([1.0, 2.0, 3.0, 4.0], [5.0])
    assert mult == {"lower": [1.0, 0.0, 0.0], "upper": [0.0, 2.0, 0.0], "norm": 3.0, "equality": [5.0], "inequality": [4.0]}
    lam, nu = cs.unpack(mult)
    assert np.allclose(lam, [1, 2, 3, 4]) and np.allclose(nu, [5])


PROJ_CFGS = [
    {"lower": -0.3, "upper": [0.4, 0.2, None, 1.0]},
    {"norm": {"ord": 2, "radius": 0.7}},
    {"norm": {"ord": 1, "radius": 0.7}},
    {"norm": {"ord": "inf", "radius": 0.3}},
    {"equality": {"A": [[1, 2, 0, 1], [0, 1, 1, 0]], "b": [0.5, -0.2]}},
    {"norm": {"ord": 2, "radius": 0.6}, "lower": [0.0, None, None, None], "inequality": {"G": [[1, 1, 1, 0]], "h": [0.3]}},
    {"norm": {"ord": 1, "radius": 0.5}, "equality": {"A": [[0, 0, 1, 1]], "b": [0.4]}, "upper": 0.8},
    {"norm": {"ord": "inf", "radius": 0.4}, "inequality": {"G": [[1, -1, 0, 0], [0, 1, -1, 0]], "h": [0.0, 0.1]}},
    {"lower": 0.0, "equality": {"A": [[1, 1, 1, 1]], "b": [1.0]}},  # the simplex
]


@pytest.mark.parametrize("i", range(len(PROJ_CFGS)))
@pytest.mark.parametrize("intercept", [True, False])
def test_projection_matches_brute_force_qp(i, intercept):
    cs = ConstraintSet.from_config(PROJ_CFGS[i], 4, intercept)
    rng = np.random.default_rng(i)
    for _ in range(3):
        v = 1.5 * rng.standard_normal(4)
        th = cp.Variable(4)
        pr = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(th - v)), cvx_constraints(cs, th))
        pr.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        x = project(cs, v)
        tol = 5e-6 if cs.norm_ord == 2.0 else 1e-8  # Clarabel SOCP is only ~1e-6 here; our KKT (below) is 1e-15
        assert np.max(np.abs(x - th.value)) <= tol
        assert cs.infeasibility(x) <= 1e-13
        # The projection's multipliers (NNLS) certify it: stationarity of ½‖θ − v‖².
        m = fit_multipliers(cs, x - v, x)
        assert max(kkt_residuals(cs, x - v, x, m).values()) <= 1e-10
        assert np.allclose(project(cs, x), x, atol=1e-12)  # idempotent


def test_l1_ball_projection_closed_form():
    assert np.allclose(project_l1_ball([3.0, -1.0, 0.5], 2.0), [2.0, 0.0, 0.0])
    assert np.allclose(project_l1_ball([1.0, 1.0], 1.0), [0.5, 0.5])
    assert np.allclose(project_l1_ball([0.2, -0.3], 1.0), [0.2, -0.3])
    assert np.allclose(project_affine([0.0, 0.0], [[1.0, 1.0], [2.0, 2.0]], [2.0, 4.0]), [1.0, 1.0])
