"""Analytic objectives: derivatives vs finite differences, minimisers vs the literature,
quadratic classification, the lecture's x^2 steps and Newton's one step on a quadratic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optrun import analytic, optim
from optrun.analytic import AnalyticObjective, describe, make_function, make_objective, quadratic
from optrun.errors import OptrunError
from optrun.reference import convexity

NAMES = ["x_squared", "quadratic_bowl", "rosenbrock", "beale", "himmelblau", "booth", "matyas",
         "saddle", "x_squared_y"]

# literature minimisers (Rosenbrock 1960, Beale 1958, Himmelblau 1972, Jamil & Yang 2013)
LITERATURE = {
    "x_squared": [[0.0]],
    "quadratic_bowl": [[0.0, 0.0]],
    "rosenbrock": [[1.0, 1.0]],
    "beale": [[3.0, 0.5]],
    "himmelblau": [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]],
    "booth": [[1.0, 3.0]],
    "matyas": [[0.0, 0.0]],
    "saddle": [],
    "x_squared_y": [],
}


def central_grad(f, t, h=1e-6):
    return np.array([(f(t + h * e) - f(t - h * e)) / (2 * h) for e in np.eye(t.size)])


def central_jac(g, t, h=1e-6):
    return np.array([(g(t + h * e) - g(t - h * e)) / (2 * h) for e in np.eye(t.size)]).T


def test_registry_lists_every_required_function_with_its_signature_schema():
    specs = analytic.functions()
    assert set(NAMES) <= set(specs)
    assert specs["rosenbrock"].defaults == {"a": 1.0, "b": 100.0}
    assert specs["quadratic_bowl"].defaults == {"condition_number": 10.0}
    assert specs["x_squared"].n_params == 1 and specs["beale"].n_params == 2
    for s in specs.values():
        assert s.summary and "f" in s.doc


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_match_central_differences(name):
    fn = make_function(name)
    rng = np.random.default_rng(3)
    for _ in range(5):
        lo, hi = np.array(fn.frame).T
        t = rng.uniform(lo, hi) * 0.5  # beale's y^3 terms are large at the frame's edge
        g, H = fn.grad(t), fn.hessian(t)
        g_fd = central_grad(fn.value, t)
        H_fd = central_jac(fn.grad, t)
        scale = 1.0 + np.abs(g).max()
        assert np.abs(g - g_fd).max() <= 1e-6 * scale * (1 + abs(fn.value(t)))
        assert np.abs(H - H_fd).max() <= 1e-6 * (1.0 + np.abs(H).max())
        np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("name", NAMES)
def test_minimisers_match_literature_and_are_stationary(name):
    fn = make_function(name)
    lit = LITERATURE[name]
    assert len(fn.minimizers) == len(lit)
    for m, ref in zip(fn.minimizers, lit):
        np.testing.assert_allclose(m, ref, atol=1e-6)  # the literature gives 6 decimals
        assert np.abs(fn.grad(m)).max() <= 1e-12
        assert abs(fn.value(m) - fn.f_star) <= 1e-24
        assert np.linalg.eigvalsh(fn.hessian(m))[0] > 0  # a strict local minimum
    if lit:
        assert fn.f_star == 0.0
    else:
        assert fn.f_star is None and "unbounded below" in fn.note
    d = describe(name)
    json.dumps(d, allow_nan=False)
    assert set(d) == {"f_star", "theta_star", "minimizers", "note"}
    if name == "himmelblau":
        assert d["theta_star"] is None and len(d["minimizers"]) == 4 and d["f_star"] == 0.0
    elif lit:
        assert d["theta_star"] == d["minimizers"][0]


def test_function_params():
    fn = make_function("rosenbrock", {"a": 2, "b": 5})
    np.testing.assert_array_equal(fn.theta_star, [2.0, 4.0])
    assert fn.value([2.0, 4.0]) == 0.0 and fn.value([0.0, 0.0]) == 4.0
    bowl = make_function("quadratic_bowl", {"condition_number": 100})
    np.testing.assert_array_equal(bowl.hessian([0.3, 0.1]), np.diag([1.0, 100.0]))
    assert bowl.value([2.0, 1.0]) == 0.5 * (4.0 + 100.0)
    with pytest.raises(OptrunError, match="model.function_params.c: rosenbrock has no parameter 'c'"):
        make_function("rosenbrock", {"c": 1})
    with pytest.raises(OptrunError, match="model.function_params.a: expected a finite number"):
        make_function("rosenbrock", {"a": float("nan")})
    with pytest.raises(OptrunError, match="model.function_params.condition_number"):
        make_function("quadratic_bowl", {"condition_number": 0})
    with pytest.raises(OptrunError, match="model.function: unknown function 'rosenbrok'"):
        make_function("rosenbrok")


def test_lecture_x_squared_gradient_steps():
    obj = make_objective("x_squared")
    assert obj.param_names == ["x1"]
    for x0, lr, expect in [(2.0, 0.01, 1.96), (-3.0, 0.1, -2.4)]:
        opt = optim.create("sgd", lr=lr)
        theta = np.array([x0])
        new, _ = opt.update(obj.grad(theta), opt.init(theta), theta, 1, lr)
        assert new[0] == expect  # exact, as on the slide
        assert obj.value(new) <= obj.value(theta)
    # x^2 y: df/dx = 2xy, df/dy = x^2
    xy = make_objective("x_squared_y")
    np.testing.assert_array_equal(xy.grad([3.0, -2.0]), [-12.0, 9.0])


def test_objective_interface_ignores_data():
    obj = make_objective("rosenbrock")
    X0, y0 = np.zeros((0, 2)), np.zeros(0)
    t = np.array([-1.5, 2.0])
    f, g = obj.value_and_grad(t, X0, y0)
    assert isinstance(f, float) and f == obj.value(t, X0, y0) == obj.data_loss(t, X0, y0)
    np.testing.assert_array_equal(g, obj.grad(t, X0, y0))
    assert obj.hessian(t, X0, y0).shape == (2, 2)
    assert obj.param_names == ["x1", "x2"] and obj.n_params(0) == 2
    assert obj.grad(t.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="expected \\(2,\\)"):
        obj.value(np.zeros(3))


# ---------------------------------------------------------------------------------------------
# quadratics
# ---------------------------------------------------------------------------------------------


def test_positive_definite_quadratic():
    A, b, c = [[3.0, 1.0], [1.0, 2.0]], [-1.0, 0.0], 0.5
    fn = quadratic(A, b, c)
    ts = np.linalg.solve(np.array(A), -np.array(b))
    np.testing.assert_allclose(fn.theta_star, ts, rtol=1e-15)
    assert fn.f_star == pytest.approx(fn.value(ts), abs=1e-15) and fn.note == ""
    assert np.abs(fn.grad(fn.theta_star)).max() <= 1e-15
    rng = np.random.default_rng(0)
    t = rng.standard_normal(2)
    np.testing.assert_allclose(fn.grad(t), central_grad(fn.value, t), atol=1e-8)


def test_newton_lands_on_the_quadratic_minimiser_in_one_step():
    rng = np.random.default_rng(1)
    Q = rng.standard_normal((4, 4))
    A = Q @ Q.T + 0.5 * np.eye(4)
    b = rng.standard_normal(4)
    obj = make_objective("quadratic", {"A": A.tolist(), "b": b.tolist(), "c": 1.0})
    opt = optim.create("newton")
    theta = np.array([5.0, -3.0, 2.0, 7.0])
    new, _ = opt.update(obj.grad(theta), opt.init(theta), theta, 1, 1.0, hessian=obj.hessian(theta))
    np.testing.assert_allclose(new, obj.fn.theta_star, rtol=1e-12, atol=1e-12)
    assert np.abs(obj.grad(new)).max() <= 1e-12
    # and on Booth's function (a quadratic in disguise)
    booth = make_objective("booth")
    t = np.array([-5.0, -5.0])
    new, _ = opt.update(booth.grad(t), opt.init(t), t, 1, 1.0, hessian=booth.hessian(t))
    np.testing.assert_allclose(new, [1.0, 3.0], atol=1e-14)


def test_singular_psd_quadratic_min_norm_and_unbounded():
    fn = quadratic([[1.0, 1.0], [1.0, 1.0]], [1.0, 1.0])  # b in range(A)
    np.testing.assert_allclose(fn.theta_star, [-0.5, -0.5], rtol=1e-14)  # pinv solution
    np.testing.assert_allclose(fn.theta_star, -np.linalg.pinv([[1.0, 1.0], [1.0, 1.0]]) @ [1.0, 1.0], rtol=1e-14)
    assert fn.f_star == pytest.approx(-0.5, abs=1e-15) and "minimiser not unique" in fn.note
    assert fn.value([-1.0, 0.0]) == pytest.approx(fn.f_star, abs=1e-15)  # another minimiser
    bad = quadratic([[1.0, 1.0], [1.0, 1.0]], [1.0, 0.0])  # b not in range
    assert bad.f_star is None and bad.theta_star is None and "unbounded below" in bad.note
    zero = quadratic([[0.0]], [0.0], 2.0)
    assert zero.f_star == 2.0 and zero.theta_star[0] == 0.0


def test_indefinite_quadratic_is_unbounded():
    fn = quadratic([[1.0, 0.0], [0.0, -1.0]])
    d = describe("quadratic", {"A": [[1.0, 0.0], [0.0, -1.0]]})
    assert fn.f_star is None and d["f_star"] is None and d["minimizers"] == []
    assert "unbounded below" in d["note"]


def test_quadratic_validation():
    with pytest.raises(OptrunError, match="model.A: must be symmetric"):
        quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(OptrunError, match="model.A: entries must be finite"):
        quadratic([[1.0, float("inf")], [float("inf"), 1.0]])
    with pytest.raises(OptrunError, match="model.A: expected a square matrix"):
        quadratic([[1.0, 2.0]])
    with pytest.raises(OptrunError, match="model.A"):
        quadratic([[1.0, 2.0], [3.0]])
    with pytest.raises(OptrunError, match="model.b: expected 2 numbers"):
        quadratic([[1.0, 0.0], [0.0, 1.0]], [1.0])
    with pytest.raises(OptrunError, match="model.c"):
        quadratic([[1.0]], [0.0], float("nan"))
    with pytest.raises(OptrunError, match="model.A: a quadratic needs"):
        make_objective("quadratic", {})


def test_convexity_of_analytic_objectives():
    assert convexity(make_objective("booth"))["convex"] is True
    r = convexity(make_objective("rosenbrock"))
    assert r["convex"] is False
    assert np.linalg.eigvalsh(make_function("rosenbrock").hessian(r["witness"]))[0] < 0
    assert convexity(make_objective("saddle"))["convex"] is False
    assert convexity(AnalyticObjective(quadratic([[2.0, 0.0], [0.0, 0.0]])))["convex"] is True
