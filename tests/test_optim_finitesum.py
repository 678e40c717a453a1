"""SAG, SAGA, SVRG and the Polyak step: linear convergence on a strongly convex least squares at
a constant step, and the same solution as scikit-learn's sag / saga solvers and lstsq."""

from __future__ import annotations

import numpy as np
import pytest

from optrun import optim
from optrun.models import Objective

rng = np.random.default_rng(7)
N, D = 60, 3
X = rng.normal(size=(N, D))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.5 * rng.normal(size=N)
XT = np.column_stack([X, np.ones(N)])
THETA_STAR = np.linalg.lstsq(XT, Y, rcond=None)[0]
OBJ = Objective(model="linear", loss="half_mse")
F_STAR = OBJ.value(THETA_STAR, X, Y)
L_MAX = float(np.max(np.sum(XT * XT, axis=1)))  # smoothness of the worst f_i (½ squared loss)


def drive(opt, steps, bs=1, obj=OBJ, seed=0, f_star=F_STAR):
    """Shuffled epochs of batches of ``bs`` rows; returns ‖θ_t − θ*‖ after every epoch, θ, state."""
    order_rng = np.random.default_rng(seed)
    theta = np.zeros(D + 1)
    state = opt.init(theta)
    errs, t = [], 0
    while t < steps:
        perm = order_rng.permutation(N)
        for k in range(0, N, bs):
            idx = perm[k:k + bs]
            t += 1
            Xb, yb = X[idx], Y[idx]
            g = obj.grad(theta, Xb, yb)
            theta, state = opt.update(g, state, theta, t, opt.hyperparams["lr"],
                                      batch=(obj, Xb, yb, idx), data=(X, Y), f_star=f_star,
                                      prox=lambda v, s: v)
        errs.append(np.linalg.norm(theta - THETA_STAR))
    return np.array(errs), theta, state


@pytest.mark.parametrize("name, lr", [("sag", 1 / (4 * L_MAX)), ("saga", 1 / (3 * L_MAX)),
                                      ("svrg", 1 / (5 * L_MAX))])
def test_linear_convergence_at_a_constant_step(name, lr):
    opt = optim.create(name, lr=lr)
    errs, theta, state = drive(opt, 60 * N)
    np.testing.assert_allclose(theta, THETA_STAR, rtol=1e-8, atol=1e-9)
    # linear rate: every block of 10 epochs shrinks the error by a factor > 10 until rounding
    # (no sublinear O(1/t) tail and no noise floor, unlike plain SGD at a constant step)
    blocks = errs[9::10]
    live = np.flatnonzero(blocks[:-1] > 1e-10)
    assert len(live) >= 3 and np.all(blocks[live + 1] < 0.1 * blocks[live]), blocks
    assert opt.report(state)["row_grad_evals"] > 0


def test_sgd_at_the_same_step_stalls_at_a_noise_floor():
    errs, *_ = drive(optim.create("sgd", lr=1 / (4 * L_MAX)), 60 * N)
    sag_errs, *_ = drive(optim.create("sag", lr=1 / (4 * L_MAX)), 60 * N)
    assert errs[-1] > 1e-3 and sag_errs[-1] < 1e-9


@pytest.mark.parametrize("solver", ["sag", "saga"])
def test_agrees_with_scikit_learn(solver):
    """Ridge with α: sklearn minimises ‖y − Xw − b‖² + α‖w‖², i.e. optrun's l2 = α/n (½·MSE)."""
    from sklearn.linear_model import Ridge

    alpha = 3.0
    skl = Ridge(alpha=alpha, solver=solver, tol=1e-7, max_iter=100000, random_state=0).fit(X, Y)
    obj = Objective(model="linear", loss="half_mse", l2=alpha / N)
    opt = optim.create(solver, lr=1 / (3 * L_MAX))
    _, theta, _ = drive(opt, 50 * N, obj=obj)
    np.testing.assert_allclose(theta, [*skl.coef_, skl.intercept_], rtol=1e-6, atol=1e-8)
    exact = np.linalg.solve(XT.T @ XT / N + alpha / N * np.diag([1, 1, 1, 0]), XT.T @ Y / N)
    np.testing.assert_allclose(theta, exact, rtol=1e-9, atol=1e-11)


def test_saga_l1_with_the_prox_matches_scikit_learn_lasso():
    from sklearn.linear_model import Lasso

    lam = 0.3
    skl = Lasso(alpha=lam, tol=1e-12, max_iter=100000).fit(X, Y)  # ½·MSE + λ‖w‖₁
    obj = Objective(model="linear", loss="half_mse", l1=lam)

    def prox(v, s):  # soft-thresholding of the weights, never the intercept
        out = v.copy()
        out[:D] = np.sign(v[:D]) * np.maximum(np.abs(v[:D]) - s * lam, 0.0)
        return out

    opt = optim.create("saga", lr=1 / (3 * L_MAX))
    theta, state = np.zeros(D + 1), opt.init(np.zeros(D + 1))
    order = np.random.default_rng(0)
    t = 0
    for _ in range(80):
        for i in order.permutation(N):
            t += 1
            idx = np.array([i])
            theta, state = opt.update(None, state, theta, t, opt.hyperparams["lr"],
                                      batch=(obj, X[idx], Y[idx], idx), prox=prox)
    np.testing.assert_allclose(theta, [*skl.coef_, skl.intercept_], rtol=1e-6, atol=1e-8)


def test_polyak_full_batch_linear_convergence_and_cap():
    opt = optim.create("polyak")
    assert opt.needs == {"batch", "f_star"}
    theta, state = np.zeros(D + 1), opt.init(np.zeros(D + 1))
    gaps = []
    for t in range(1, 201):
        f, g = OBJ.value_and_grad(theta, X, Y)
        theta, state = opt.update(g, state, theta, t, 1.0, batch=(OBJ, X, Y, np.arange(N)),
                                  f_star=F_STAR)
        expected = max(f - F_STAR, 0.0) / (g @ g)  # a rounding-level negative gap: no step
        assert opt.report(state)["step_size"] == pytest.approx(expected, rel=1e-9)
        gaps.append(OBJ.value(theta, X, Y) - F_STAR)
    np.testing.assert_allclose(theta, THETA_STAR, rtol=1e-7)
    gaps = np.array(gaps)
    k = np.flatnonzero(gaps > 1e-13)
    assert np.exp(np.mean(np.log(gaps[k[1:]] / gaps[k[:-1]]))) < 0.95  # geometric decrease
    # the cap binds on the first step from 0
    capped = optim.create("polyak", max_lr=1e-3)
    f, g = OBJ.value_and_grad(np.zeros(D + 1), X, Y)
    th1, st = capped.update(g, capped.init(th1 := np.zeros(D + 1)), th1, 1, 1.0,
                            batch=(OBJ, X, Y, np.arange(N)), f_star=F_STAR)
    np.testing.assert_allclose(th1, -1e-3 * g)
    with pytest.raises(ValueError, match="f_star"):
        opt.update(g, state, theta, 1, 1.0, batch=(OBJ, X, Y, np.arange(N)), f_star=None)


def test_stochastic_polyak_converges_on_an_interpolating_problem():
    """SPS_max: with f* = 0 attained by every row (y = Xθ exactly), mini-batch Polyak converges."""
    Yi = XT @ np.array([1.0, -2.0, 0.5, 0.3])
    opt = optim.create("polyak", lr=0.5, max_lr=10.0)
    theta, state = np.zeros(D + 1), opt.init(np.zeros(D + 1))
    order = np.random.default_rng(1)
    t = 0
    for _ in range(100):
        for k in range(0, N, 6):
            idx = order.permutation(N)[:6]
            t += 1
            g = OBJ.grad(theta, X[idx], Yi[idx])
            theta, state = opt.update(g, state, theta, t, 0.5, batch=(OBJ, X[idx], Yi[idx], idx), f_star=0.0)
    np.testing.assert_allclose(theta, [1.0, -2.0, 0.5, 0.3], atol=1e-8)
