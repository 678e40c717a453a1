"""Proximal optimizers (ista, fista, prox_sgd, cd): first steps by hand, the O(1/k) and O(1/k^2)
bounds, exact zeros, and convergence to the exact l1 optimum of optrun.sparse.

The optimizers are driven by a small loop here, passing the engine's extras by hand
(``prox``, ``lipschitz``, ``closure``, ``batch``; see the module docstring of proximal.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun import optim, sparse
from optrun.errors import OptrunError
from optrun.models import Objective
from optrun.optim import registry

# proximal.py is not imported by optrun.optim yet (the engine does not pass the extras): register
# its optimizers only while these tests run, so the rest of the suite sees the registry it expects.
_BEFORE = (dict(registry._REGISTRY), dict(registry._ALIASES))
from optrun.optim import proximal  # noqa: E402  (registers ista, fista, prox_sgd, cd)

_OURS = {k: v for k, v in registry._REGISTRY.items() if k not in _BEFORE[0]}
_OUR_ALIASES = {k: v for k, v in registry._ALIASES.items() if k not in _BEFORE[1]}
for _k in _OURS:
    del registry._REGISTRY[_k]
for _k in _OUR_ALIASES:
    del registry._ALIASES[_k]


@pytest.fixture(autouse=True)
def _registered():
    registry._REGISTRY.update(_OURS)
    registry._ALIASES.update(_OUR_ALIASES)
    yield
    for k in _OURS:
        registry._REGISTRY.pop(k, None)
    for k in _OUR_ALIASES:
        registry._ALIASES.pop(k, None)


def problem(seed=0, n=60, d=8, model="linear", rho=0.5):
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T
    w = np.zeros(d)
    w[:3] = [1.5, -2.0, 1.0]
    z = X @ w + 0.5 + 0.5 * rng.standard_normal(n)
    y = (z > 0).astype(float) if model == "logistic" else z
    return X, y


def lipschitz(obj, X, y):
    """L of the smooth gradient: the Hessian's largest eigenvalue (linear: constant), and the
    bound ||[X, 1]||^2 / (4n) + l2 for logistic (as DESIGN §9.7 fixes)."""
    n, d = X.shape
    if obj.model == "linear":
        return float(np.linalg.eigvalsh(sparse.smooth_part(obj).hessian(np.zeros(d + 1), X, y))[-1])
    return float(np.linalg.norm(np.column_stack([X, np.ones(n)]), 2) ** 2 / (4 * n)) + obj.l2


def extras_for(obj, X, y, L=None, rows=None):
    sm = sparse.smooth_part(obj)
    Xb, yb = (X, y) if rows is None else (X[rows], y[rows])
    return {
        "prox": lambda v, step: sparse.prox_l1(obj, v, step),
        "lipschitz": L,
        "closure": lambda th: (obj.value(th, Xb, yb), sm.grad(th, Xb, yb)),
        "batch": (obj, Xb, yb, rows),
    }


def run(name, obj, X, y, steps, lr=None, batch_size=None, seed=0, **hp):
    opt = optim.create(name, **hp)
    L = lipschitz(obj, X, y)
    sm = sparse.smooth_part(obj)
    theta = np.zeros(X.shape[1] + 1)
    state = opt.init(theta)
    thetas = [theta]
    rng = np.random.default_rng(seed)
    n = len(y)
    for t in range(1, steps + 1):
        rows = None if batch_size is None else rng.choice(n, batch_size, replace=False)
        ex = extras_for(obj, X, y, L, rows)
        Xb, yb = (X, y) if rows is None else (X[rows], y[rows])
        step_lr = lr(t) if callable(lr) else lr
        theta, state = opt.update(sm.grad(theta, Xb, yb), state, theta, t, step_lr,
                                  **{k: ex[k] for k in opt.needs})
        thetas.append(theta)
    return np.array(thetas), opt, state


# --------------------------------------------------------------------------------------------
# Registry facts


def test_registered_in_family_proximal_with_their_needs():
    for name, needs in [("ista", {"prox", "lipschitz"}), ("fista", {"prox", "closure", "lipschitz"}),
                        ("prox_sgd", {"prox"}), ("cd", {"batch"})]:
        spec = optim.get_spec(name)
        assert spec.family == "proximal" and "Not in torch.optim" in spec.doc and "Defaults" in spec.doc
        opt = optim.create(name)
        assert opt.needs == needs and not opt.needs_hessian
    assert optim.create("ista").hyperparams == {"lr": None}
    assert optim.create("fista", restart="gradient").hyperparams == {"lr": None, "restart": "gradient"}
    with pytest.raises(OptrunError, match="optimizer.restart: expected one of none, function, gradient"):
        optim.create("fista", restart="always")
    with pytest.raises(OptrunError, match="optimizer.lr"):
        optim.create("ista", lr=-1.0)
    # needs_hessian and needs stay one fact
    assert optim.create("newton").needs == frozenset({"hessian"})
    assert "hessian" in registry.Optimizer(init=None, update=None, needs_hessian=True).needs


def test_without_lr_or_lipschitz_the_step_is_refused():
    opt = optim.create("ista")
    with pytest.raises(ValueError, match="lipschitz"):
        opt.update(np.ones(2), opt.init(np.zeros(2)), np.zeros(2), 1, None)


# --------------------------------------------------------------------------------------------
# First steps by hand


def test_ista_first_step_is_soft_thresholded_gradient_step():
    X, y = problem()
    obj = Objective("linear", "half_mse", l1=0.3)
    L = lipschitz(obj, X, y)
    theta0 = np.array([0.5, -0.2, 0.0, 0.1, 0.0, 0.0, 0.05, 0.0, 1.0])
    g = sparse.smooth_part(obj).grad(theta0, X, y)
    opt = optim.create("ista")
    theta1, state = opt.update(g, opt.init(theta0), theta0, 1, None, **{k: extras_for(obj, X, y, L)[k] for k in opt.needs})
    v = theta0 - g / L
    expected = np.r_[np.sign(v[:-1]) * np.maximum(np.abs(v[:-1]) - 0.3 / L, 0), v[-1]]
    np.testing.assert_allclose(theta1, expected, rtol=1e-15, atol=1e-16)
    assert np.count_nonzero(theta1[:-1] == 0.0) > 0  # exact zeros, not small numbers
    assert opt.report(state) == {"step_size": 1.0 / L}
    # with an explicit lr the step is lr; without prox (l1 = 0) it is a gradient step
    theta1b, _ = opt.update(g, opt.init(theta0), theta0, 1, 0.01)
    np.testing.assert_array_equal(theta1b, theta0 - 0.01 * g)


def test_fista_logs_the_proximal_point_and_extrapolates_in_the_state():
    X, y = problem(1)
    obj = Objective("linear", "mse", l1=0.05)
    L = lipschitz(obj, X, y)
    sm = sparse.smooth_part(obj)
    prox = lambda v, s: sparse.prox_l1(obj, v, s)  # noqa: E731
    x0 = np.zeros(9)
    traj, opt, state = run("fista", obj, X, y, steps=3)
    # by hand: t1 = 1, y1 = x0
    x1 = prox(x0 - sm.grad(x0, X, y) / L, 1 / L)
    t2 = (1 + np.sqrt(5)) / 2
    y2 = x1 + ((1 - 1) / t2) * (x1 - x0)  # = x1: no momentum on the first step
    x2 = prox(y2 - sm.grad(y2, X, y) / L, 1 / L)
    t3 = (1 + np.sqrt(1 + 4 * t2 * t2)) / 2
    y3 = x2 + ((t2 - 1) / t3) * (x2 - x1)
    x3 = prox(y3 - sm.grad(y3, X, y) / L, 1 / L)
    np.testing.assert_allclose(traj[1:], [x1, x2, x3], rtol=1e-13, atol=1e-15)
    t4 = (1 + np.sqrt(1 + 4 * t3 * t3)) / 2
    np.testing.assert_allclose(state.y, x3 + ((t3 - 1) / t4) * (x3 - x2), rtol=1e-13, atol=1e-15)
    assert state.t_k == pytest.approx(t4)


def test_prox_sgd_full_batch_is_ista_with_a_fixed_step():
    X, y = problem(2)
    obj = Objective("linear", "half_mse", l1=0.1)
    a, _, _ = run("ista", obj, X, y, steps=20, lr=0.05)
    b, _, _ = run("prox_sgd", obj, X, y, steps=20, lr=0.05)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# Rates: F(x_k) - F* <= L ||x0 - x*||^2 / (2k) (ISTA), 2 L ||x0 - x*||^2 / (k + 1)^2 (FISTA)

RATE_CASES = [("linear", "half_mse", 0.2, 0.0), ("linear", "mse", 0.05, 0.1), ("logistic", "bce", 0.02, 0.0)]


@pytest.mark.parametrize("model,loss,l1,l2", RATE_CASES)
def test_ista_and_fista_meet_their_worst_case_bounds(model, loss, l1, l2):
    X, y = problem(3, model=model, rho=0.9)
    obj = Objective(model, loss, l1=l1, l2=l2)
    ref = sparse.solve(obj, X, y)
    L = lipschitz(obj, X, y)
    r0 = float(np.sum(ref.theta_star**2))  # x0 = 0
    k = np.arange(1, 301)
    for name, bound in [("ista", L * r0 / (2 * k)), ("fista", 2 * L * r0 / (k + 1) ** 2)]:
        traj, _, _ = run(name, obj, X, y, steps=300)
        gaps = np.array([obj.value(th, X, y) for th in traj[1:]]) - ref.f_star
        assert np.all(gaps >= -1e-14) and np.all(gaps <= bound * (1 + 1e-9)), name
        if name == "ista":  # ISTA with 1/L is a descent method
            assert np.all(np.diff(gaps) <= 1e-15)
        # the duality gap certifies each iterate: F(x_k) - F* <= gap(x_k)
        dg = np.array([sparse.duality_gap(obj, th, X, y) for th in traj[1::30]])
        assert np.all(dg >= gaps[::30] - 1e-14)


@pytest.mark.parametrize("restart", ["function", "gradient"])
def test_fista_restart_converges_linearly_to_the_exact_optimum(restart):
    X, y = problem(4, rho=0.9)
    obj = Objective("linear", "half_mse", l1=0.05)
    ref = sparse.solve(obj, X, y)
    traj, opt, state = run("fista", obj, X, y, steps=400, restart=restart)
    plain, _, _ = run("fista", obj, X, y, steps=400)
    f_restart = obj.value(traj[-1], X, y) - ref.f_star
    f_plain = obj.value(plain[-1], X, y) - ref.f_star
    assert f_restart <= 1e-13 * ref.f_star and f_restart <= f_plain
    assert opt.report(state)["restarts"] >= 1


# --------------------------------------------------------------------------------------------
# Exact zeros and the exact optimum


@pytest.mark.parametrize("name,steps", [("ista", 3000), ("fista", 600), ("cd", 100)])
@pytest.mark.parametrize("model,loss,l1", [("linear", "half_mse", 0.1), ("logistic", "bce", 0.03)])
def test_iterates_reach_the_exact_optimum_with_its_zeros(name, steps, model, loss, l1):
    X, y = problem(5, model=model, rho=0.6)
    obj = Objective(model, loss, l1=l1)
    ref = sparse.solve(obj, X, y)
    assert 0 < len(ref.support) < X.shape[1]
    kw = {"restart": "gradient"} if name == "fista" else {}
    traj, _, _ = run(name, obj, X, y, steps=steps, **kw)
    final = traj[-1]
    assert obj.value(final, X, y) - ref.f_star <= 1e-12 * ref.f_star
    np.testing.assert_allclose(final, ref.theta_star, atol=1e-6)
    # finite identification: exactly the optimum's zeros are exactly zero
    assert np.flatnonzero(final[:-1]).tolist() == ref.support


def test_l1_above_l1_max_drives_every_weight_to_exactly_zero():
    X, y = problem(6)
    lmax = sparse.l1_max(Objective("linear", "mse"), X, y)
    obj = Objective("linear", "mse", l1=1.01 * lmax)
    for name in ("ista", "fista", "cd"):
        traj, _, _ = run(name, obj, X, y, steps=200)
        assert np.all(traj[-1][:-1] == 0.0), name
        assert traj[-1][-1] == pytest.approx(y.mean(), rel=1e-9)


@pytest.mark.parametrize("model,loss", [("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce")])
def test_cd_one_step_is_one_cyclic_sweep_of_coordinate_minimisations(model, loss):
    """Replay the sweep with scipy's 1-D minimiser on F along each coordinate (w_1..w_d, then b):
    exact for least squares; for logistic one Newton step per coordinate moves toward, not onto,
    the coordinate minimum, so there we check that each step decreases F and the sweep ends on
    the 1-D KKT of b to Newton accuracy."""
    from scipy.optimize import minimize_scalar

    X, y = problem(7, n=40, d=5, model=model)
    obj = Objective(model, loss, l1=0.05, l2=0.1)
    opt = optim.create("cd")
    theta = np.full(6, 0.3)
    theta1, state = opt.update(None, opt.init(theta), theta, 1, None, batch=(obj, X, y, None))
    if model == "linear":
        cur = theta.copy()
        for j in range(6):
            def along(v, j=j):
                th = cur.copy()
                th[j] = v
                return obj.value(th, X, y)
            cur[j] = minimize_scalar(along, bracket=(-5, 5), tol=1e-12).x
        np.testing.assert_allclose(theta1, cur, atol=1e-7)
        assert abs(sparse.smooth_part(obj).grad(theta1, X, y)[-1]) < 1e-14  # b exact, unpenalised
    else:
        assert obj.value(theta1, X, y) < obj.value(theta, X, y)
        assert opt.report(state) == {"ls_trials": 0}
    ref = sparse.solve(obj, X, y)
    traj, _, _ = run("cd", obj, X, y, steps=60)
    assert obj.value(traj[-1], X, y) - ref.f_star <= 1e-13 * ref.f_star


def test_prox_sgd_with_a_decaying_step_approaches_the_optimum():
    X, y = problem(8, n=200)
    obj = Objective("linear", "half_mse", l1=0.1)
    ref = sparse.solve(obj, X, y)
    L = lipschitz(obj, X, y)
    traj, _, _ = run("prox_sgd", obj, X, y, steps=3000, lr=lambda t: 0.5 / (L * (1 + t / 100)),
                     batch_size=10)
    start = obj.value(traj[0], X, y) - ref.f_star
    end = obj.value(traj[-1], X, y) - ref.f_star
    assert end < 1e-3 * start
    assert set(np.flatnonzero(traj[-1][:-1])) >= set(ref.support)
