"""Objective: loss values vs direct formulas, gradients and Hessians vs finite differences."""

from __future__ import annotations

import itertools
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optrun import models
from optrun.errors import OptrunError
from optrun.models import Objective, sigmoid, validate_targets

COMBOS = [("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce"), ("logistic", "mse"), ("logistic", "half_mse")]
PENALTIES = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.2), (0.3, 0.2)]


def make_data(model, n=40, d=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * scale
    if model == "logistic":
        y = (rng.random(n) < 0.5).astype(float)
    else:
        y = X @ rng.standard_normal(d) + 0.5 + 0.3 * rng.standard_normal(n)
    return X, y


def theta_away_from_zero(p, seed=1, scale=1.0):
    """Parameters whose weights are far from 0 (the l1 term is differentiable there)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.3, 1.0, p) * rng.choice([-1.0, 1.0], p)
    return t * scale


def fd_grad(f, theta, h=1e-6):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h * max(1.0, abs(theta[i]))
        g[i] = (f(theta + e) - f(theta - e)) / (2 * e[i])
    return g


def fd_jac(grad, theta, h=1e-6):
    p = theta.size
    H = np.zeros((p, p))
    for i in range(p):
        e = np.zeros_like(theta)
        e[i] = h * max(1.0, abs(theta[i]))
        H[:, i] = (grad(theta + e) - grad(theta - e)) / (2 * e[i])
    return H


@pytest.mark.parametrize(("model", "loss"), COMBOS)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize(("l2", "l1"), PENALTIES)
def test_gradient_and_hessian_match_finite_differences(model, loss, fit_intercept, l2, l1):
    X, y = make_data(model)
    obj = Objective(model, loss, fit_intercept=fit_intercept, l2=l2, l1=l1)
    theta = theta_away_from_zero(obj.n_params(X.shape[1]))
    g = obj.grad(theta, X, y)
    g_fd = fd_grad(lambda t: obj.value(t, X, y), theta)
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-8)
    H = obj.hessian(theta, X, y)
    H_fd = fd_jac(lambda t: obj.grad(t, X, y), theta)
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize(("model", "loss"), [c for c in COMBOS if c[0] == "logistic"])
def test_logistic_derivatives_with_large_logits(model, loss):
    # |z| up to ~60: exp(z) is far from overflow but naive formulas lose everything;
    # the stable forms still agree with finite differences.
    X, y = make_data(model, n=30, d=2, seed=3)
    obj = Objective(model, loss)
    theta = np.array([15.0, -12.0, 3.0])
    z = X @ theta[:2] + theta[2]
    assert np.abs(z).max() > 40
    g_fd = fd_grad(lambda t: obj.value(t, X, y), theta, h=1e-7)
    np.testing.assert_allclose(obj.grad(theta, X, y), g_fd, rtol=1e-5, atol=1e-9)
    H_fd = fd_jac(lambda t: obj.grad(t, X, y), theta, h=1e-7)
    np.testing.assert_allclose(obj.hessian(theta, X, y), H_fd, rtol=1e-4, atol=1e-9)


def test_loss_values_match_direct_formulas():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((25, 3))
    y_lin = rng.standard_normal(25)
    y_bin = (rng.random(25) < 0.4).astype(float)
    theta = np.array([0.5, -1.0, 0.25, 0.7])
    w, b = theta[:3], theta[3]
    z = X @ w + b
    pen = 0.5 * 0.3 * np.sum(w**2) + 0.2 * np.sum(np.abs(w))
    p = 1 / (1 + np.exp(-z))

    def val(model, loss, y):
        return Objective(model, loss, l2=0.3, l1=0.2).value(theta, X, y)

    assert val("linear", "mse", y_lin) == pytest.approx(np.mean((z - y_lin) ** 2) + pen, rel=1e-14)
    assert val("linear", "half_mse", y_lin) == pytest.approx(np.mean((z - y_lin) ** 2) / 2 + pen, rel=1e-14)
    bce = -np.mean(y_bin * np.log(p) + (1 - y_bin) * np.log(1 - p))
    assert val("logistic", "bce", y_bin) == pytest.approx(bce + pen, rel=1e-13)
    assert val("logistic", "mse", y_bin) == pytest.approx(np.mean((p - y_bin) ** 2) + pen, rel=1e-13)
    assert val("logistic", "half_mse", y_bin) == pytest.approx(np.mean((p - y_bin) ** 2) / 2 + pen, rel=1e-13)
    obj = Objective("logistic", "bce", l2=0.3, l1=0.2)
    assert obj.data_loss(theta, X, y_bin) == pytest.approx(bce, rel=1e-13)
    assert obj.penalty(theta) == pytest.approx(pen, rel=1e-15)
    # np.logaddexp form of the brief
    assert obj.data_loss(theta, X, y_bin) == pytest.approx(np.mean(np.logaddexp(0, z) - y_bin * z), rel=1e-14)


@pytest.mark.parametrize(("model", "loss"), COMBOS)
def test_value_and_grad_consistent(model, loss):
    X, y = make_data(model)
    obj = Objective(model, loss, l2=0.1, l1=0.05)
    theta = theta_away_from_zero(4)
    v, g = obj.value_and_grad(theta, X, y)
    assert v == obj.value(theta, X, y)
    np.testing.assert_array_equal(g, obj.grad(theta, X, y))


def test_bce_gradient_at_zero_is_exactly_half_minus_y():
    obj = Objective("logistic", "bce")
    X = np.array([[1.0], [1.0]])
    for y in (np.array([1.0, 1.0]), np.array([0.0, 0.0])):
        g = obj.grad(np.zeros(2), X, y)
        assert g[0] == 0.5 - y[0] and g[1] == 0.5 - y[0]
    # general data: dz = 0.5 - y exactly, so grad = X~^T (0.5 - y) / n
    X, y = make_data("logistic", n=17)
    g = obj.grad(np.zeros(4), X, y)
    r = 0.5 - y
    np.testing.assert_array_equal(g[:3], (X.T @ r) / 17)
    assert g[3] == r.sum() / 17
    assert obj.value(np.zeros(4), X, y) == pytest.approx(np.log(2), rel=1e-15)


def test_bce_stable_at_huge_logits_without_warnings():
    obj = Objective("logistic", "bce")
    X = np.array([[1.0], [1.0], [1.0], [1.0]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            # z = +1000 for every row: rows with y = 0 cost 1000 each, rows with y = 1 cost ~0
            v, g = obj.value_and_grad(np.array([1000.0, 0.0]), X, y)
            assert v == pytest.approx(500.0, rel=1e-15)
            np.testing.assert_array_equal(g, [0.5, 0.5])  # mean(sigmoid(1000) - y) = mean(1 - y)
            v, g = obj.value_and_grad(np.array([-1000.0, 0.0]), X, y)
            assert v == pytest.approx(500.0, rel=1e-15)
            np.testing.assert_array_equal(g, [-0.5, -0.5])
            H = obj.hessian(np.array([1000.0, 0.0]), X, y)
            assert np.all(np.isfinite(H)) and np.all(H >= 0)
            for loss in ("mse", "half_mse"):
                o = Objective("logistic", loss)
                v, g = o.value_and_grad(np.array([1000.0, 0.0]), X, y)
                assert np.isfinite(v) and np.all(np.isfinite(g))
                assert np.all(np.isfinite(o.hessian(np.array([-1000.0, 0.0]), X, y)))
            s = sigmoid(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]))
            assert s[2] == 0.5 and s[-1] == 1.0 and s[0] == 0.0
            assert s[1] == pytest.approx(np.exp(-50.0), rel=1e-14)


@settings(max_examples=200, deadline=None, database=None)
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_sigmoid_symmetric_and_bounded(z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a, b = sigmoid(np.array([z, -z]))
    assert 0.0 <= a <= 1.0
    assert a + b == pytest.approx(1.0, abs=1e-15)


def test_penalties_never_touch_the_intercept():
    X, y = make_data("linear")
    theta = theta_away_from_zero(4)
    plain = Objective("linear", "half_mse")
    pen = Objective("linear", "half_mse", l2=0.7, l1=0.3)
    g0, g1 = plain.grad(theta, X, y), pen.grad(theta, X, y)
    assert g1[-1] == g0[-1]
    np.testing.assert_allclose(g1[:3] - g0[:3], 0.7 * theta[:3] + 0.3 * np.sign(theta[:3]), rtol=1e-12)
    H0, H1 = plain.hessian(theta, X, y), pen.hessian(theta, X, y)
    np.testing.assert_allclose(H1 - H0, np.diag([0.7, 0.7, 0.7, 0.0]), atol=1e-14)
    # l1 subgradient is 0 at w_j = 0
    t = np.zeros(4)
    np.testing.assert_array_equal(pen.grad(t, X, y), plain.grad(t, X, y))


def test_closed_form_hessians():
    X, y = make_data("linear", n=30)
    Xt = np.hstack([X, np.ones((30, 1))])
    th = theta_away_from_zero(4)
    np.testing.assert_allclose(Objective("linear", "mse").hessian(th, X, y), 2 * Xt.T @ Xt / 30, rtol=1e-13)
    np.testing.assert_allclose(Objective("linear", "half_mse", l2=0.5).hessian(th, X, y),
                               Xt.T @ Xt / 30 + np.diag([0.5, 0.5, 0.5, 0]), rtol=1e-13)
    Xl, yl = make_data("logistic", n=30)
    Xlt = np.hstack([Xl, np.ones((30, 1))])
    p = 1 / (1 + np.exp(-(Xlt @ th)))
    np.testing.assert_allclose(Objective("logistic", "bce", l2=0.5).hessian(th, Xl, yl),
                               Xlt.T @ (Xlt * (p * (1 - p))[:, None]) / 30 + np.diag([0.5, 0.5, 0.5, 0]), rtol=1e-12)
    # without an intercept the Hessian is d x d
    assert Objective("linear", "mse", fit_intercept=False).hessian(th[:3], X, y).shape == (3, 3)


def test_hessian_blockwise_accumulation(monkeypatch):
    X, y = make_data("logistic", n=101, d=3)
    obj = Objective("logistic", "bce", l2=0.1)
    th = theta_away_from_zero(4)
    H_one = obj.hessian(th, X, y)
    monkeypatch.setattr(models, "_HESSIAN_BLOCK_BYTES", 3 * 8 * 7)  # 7 rows per block
    np.testing.assert_allclose(obj.hessian(th, X, y), H_one, rtol=1e-13)


@pytest.mark.parametrize(("model", "loss"), COMBOS)
def test_float32_stays_float32(model, loss):
    X, y = make_data(model, n=50)
    obj = Objective(model, loss, l2=0.1)
    th = theta_away_from_zero(4)
    X32, y32, th32 = X.astype(np.float32), y.astype(np.float32), th.astype(np.float32)
    v, g = obj.value_and_grad(th32, X32, y32)
    assert g.dtype == np.float32
    assert obj.hessian(th32, X32, y32).dtype == np.float32
    assert obj.predict(th32, X32).dtype == np.float32
    v64, g64 = obj.value_and_grad(th, X, y)
    assert v == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-5)
    # float64 theta with float32 X: X is not upcast, the gradient keeps theta's dtype
    _, g_mixed = obj.value_and_grad(th, X32, y)
    assert g_mixed.dtype == np.float64


@pytest.mark.parametrize(("model", "loss"), [("linear", "mse"), ("logistic", "bce")])
def test_value_and_grad_does_not_copy_X(model, loss):
    X, y = make_data(model, n=40_000, d=50)  # X is 16 MB
    obj = Objective(model, loss, l2=0.1)
    th = theta_away_from_zero(51)
    obj.value_and_grad(th, X, y)
    tracemalloc.start()
    try:
        obj.value_and_grad(th, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 4  # a few n-vectors, never a copy of X


def test_predict_and_split():
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    th = np.array([0.5, -0.25, 1.0])
    np.testing.assert_allclose(Objective("linear", "mse").predict(th, X), [1.0, 1.25])
    np.testing.assert_allclose(Objective("logistic", "bce").predict(th, X), 1 / (1 + np.exp(-np.array([1.0, 1.25]))))
    w, b = Objective("linear").split(th)
    np.testing.assert_array_equal(w, [0.5, -0.25])
    assert b == 1.0
    w, b = Objective("linear", fit_intercept=False).split(th[:2])
    assert b == 0.0 and w.shape == (2,)
    assert Objective(fit_intercept=True).n_params(3) == 4
    assert Objective(fit_intercept=False).n_params(3) == 3
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        Objective("linear").value(np.zeros(2), X, np.zeros(2))


def test_objective_validation_errors():
    with pytest.raises(OptrunError, match="loss.name: bce needs model logistic"):
        Objective("linear", "bce")
    with pytest.raises(OptrunError, match="model.name: unknown model 'ridge'"):
        Objective("ridge", "mse")
    with pytest.raises(OptrunError, match="loss.name: unknown loss 'mae'"):
        Objective("linear", "mae")
    with pytest.raises(OptrunError, match="loss.l2"):
        Objective("linear", "mse", l2=-1.0)
    with pytest.raises(OptrunError, match="loss.l1"):
        Objective("linear", "mse", l1=float("nan"))
    obj = Objective("logistic", "bce", l2=1)
    assert obj.l2 == 1.0 and isinstance(obj.l2, float)
    with pytest.raises(Exception):
        obj.l2 = 2.0  # frozen


def test_validate_targets():
    validate_targets("linear", np.array([0.3, 2.0]), "x.csv")
    validate_targets("logistic", np.array([0.0, 1.0, 1.0]), "x.csv")
    with pytest.raises(OptrunError) as e:
        validate_targets("logistic", np.array([0.0, 1.0, 2.0, 1.0, 0.5]), "data.csv column 'y'")
    msg = str(e.value)
    assert "data.csv column 'y'" in msg and "2 of 5" in msg and "line 4" in msg and ": 2" in msg
    with pytest.raises(OptrunError, match="not finite"):
        validate_targets("linear", np.array([0.0, np.inf]), "x.csv")


def test_all_combinations_constructible():
    for (model, loss), fi in itertools.product(COMBOS, (True, False)):
        assert Objective(model, loss, fit_intercept=fi).n_params(2) == 2 + fi


# ---------------------------------------------------------------------------------------------
# 0.2: public predictor/per-sample API, gaussian_nll, reduction, log-likelihood, BCE precision
# ---------------------------------------------------------------------------------------------


def test_public_predictor_and_per_sample_loss_match_the_aliases():
    X, y = make_data("logistic")
    obj = Objective("logistic", "bce")
    t = theta_away_from_zero(4)
    z = obj.linear_predictor(t, X)
    np.testing.assert_array_equal(z, obj._z(t, X))
    np.testing.assert_array_equal(obj.per_sample_loss(z, y), obj._per_sample.value(z, y))
    assert obj.per_sample_loss(z, y).mean() == pytest.approx(obj.data_loss(t, X, y), rel=1e-15)
    l, dz = obj.per_sample_loss_and_dz(z, y)
    np.testing.assert_allclose(dz, sigmoid(z) - y, rtol=1e-15)


def test_bce_keeps_tiny_losses_of_well_classified_rows():
    obj = Objective("logistic", "bce")
    z = np.array([40.0, -40.0, 40.0, -40.0, 0.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    exact = np.log1p(np.exp(-40.0))  # 4.248354255291589e-18
    l = obj.per_sample_loss(z, y)
    assert l[0] == exact and l[1] == exact and l[0] > 0
    assert l[2] == 40.0 + exact and l[3] == 40.0 + exact and l[4] == np.log(2.0)
    l2, _ = obj.per_sample_loss_and_dz(z, y)
    np.testing.assert_array_equal(l, l2)


@pytest.mark.parametrize("sigma", [None, 0.7])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gaussian_nll_derivatives_match_finite_differences(sigma, reduction, l2):
    X, y = make_data("linear", n=30)
    obj = Objective("linear", "gaussian_nll", sigma=sigma, reduction=reduction, l2=l2)
    t = theta_away_from_zero(4)
    f = lambda u: obj.value(u, X, y)  # noqa: E731
    g = obj.grad(t, X, y)
    np.testing.assert_allclose(g, fd_grad(f, t), rtol=1e-6, atol=1e-7 * (1 + np.abs(g).max()))
    H = obj.hessian(t, X, y)
    Hfd = fd_jac(lambda u: obj.grad(u, X, y), t)
    np.testing.assert_allclose(H, Hfd, rtol=1e-5, atol=1e-6 * np.abs(H).max())


def test_gaussian_nll_values():
    X, y = make_data("linear", n=25)
    t = theta_away_from_zero(4)
    r = X @ t[:3] + t[3] - y
    s2 = np.mean(r * r)
    prof = Objective("linear", "gaussian_nll")
    assert prof.value(t, X, y) == pytest.approx(0.5 * np.log(2 * np.pi * s2) + 0.5, rel=1e-14)
    fixed = Objective("linear", "gaussian_nll", sigma=2.0)
    per_row = 0.5 * np.log(2 * np.pi * 4.0) + r * r / 8.0
    assert fixed.value(t, X, y) == pytest.approx(per_row.mean(), rel=1e-14)
    # minus the log-likelihood, per row
    assert models.log_likelihood(prof, t, X, y) == pytest.approx(-25 * prof.value(t, X, y), rel=1e-14)
    assert models.log_likelihood(fixed, t, X, y) == pytest.approx(-per_row.sum(), rel=1e-14)
    # a stack of predictors (plots): one profiled variance per row of the stack
    z = X @ t[:3] + t[3]
    Z = np.vstack([z, z + 1.0])
    L = prof.per_sample_loss(Z, y).mean(axis=1)
    assert L[0] == pytest.approx(prof.value(t, X, y), rel=1e-14)


@pytest.mark.parametrize(("model", "loss"), COMBOS + [("linear", "gaussian_nll")])
def test_reduction_sum_scales_the_data_term_by_n_exactly(model, loss):
    X, y = make_data(model, n=64)  # n a power of two: dividing by n is exact
    t = theta_away_from_zero(4)
    mean = Objective(model, loss, l2=0.3, l1=0.2)
    total = Objective(model, loss, l2=0.3, l1=0.2, reduction="sum")
    pen = mean.penalty(t)
    assert total.data_loss(t, X, y) == 64 * mean.data_loss(t, X, y)
    assert total.value(t, X, y) == pytest.approx(64 * (mean.value(t, X, y) - pen) + pen, rel=1e-14)
    m0, s0 = Objective(model, loss), Objective(model, loss, reduction="sum")
    np.testing.assert_array_equal(s0.grad(t, X, y), 64 * m0.grad(t, X, y))
    np.testing.assert_allclose(s0.hessian(t, X, y), 64 * m0.hessian(t, X, y), rtol=1e-13, atol=1e-13)
    # penalties are not multiplied
    d = total.grad(t, X, y) - s0.grad(t, X, y)
    np.testing.assert_allclose(d, mean.grad(t, X, y) - m0.grad(t, X, y), rtol=1e-12, atol=1e-13)


def test_bernoulli_log_likelihood_is_minus_the_bce_sum():
    X, y = make_data("logistic")
    t = theta_away_from_zero(4)
    obj = Objective("logistic", "bce")
    p = sigmoid(X @ t[:3] + t[3])
    direct = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert models.log_likelihood(obj, t, X, y) == pytest.approx(direct, rel=1e-13)
    assert models.log_likelihood(obj, t, X, y) == pytest.approx(-Objective("logistic", "bce", reduction="sum").value(t, X, y), rel=1e-15)


def test_new_fields_validation():
    with pytest.raises(OptrunError, match="loss.name: gaussian_nll needs model linear"):
        Objective("logistic", "gaussian_nll")
    with pytest.raises(OptrunError, match="loss.reduction: expected mean or sum"):
        Objective("linear", "mse", reduction="total")
    with pytest.raises(OptrunError, match="loss.sigma"):
        Objective("linear", "gaussian_nll", sigma=0.0)
    with pytest.raises(OptrunError, match="loss.sigma"):
        Objective("logistic", "bce", sigma=1.0)
    assert Objective("linear", "gaussian_nll", sigma=2).sigma == 2.0
    assert Objective().reduction == "mean" and Objective().sigma is None
