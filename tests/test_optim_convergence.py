"""Every optimizer makes progress on least squares and logistic regression; Newton's properties.

Table-driven over the registry: a new optimizer needs a row in ``LR`` (its learning rate for
these problems) and nothing else. f* and θ* are computed here independently of optrun
(``numpy.linalg.lstsq``; a plain numpy Newton solve for the logistic MLE).
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun import optim


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def objective(theta, X, y, model):
    """(batch-mean loss, gradient, Hessian): ½·MSE for linear, BCE for logistic; θ = [w, b]."""
    n = len(y)
    Xt = np.column_stack([X, np.ones(n)])
    z = Xt @ theta
    if model == "linear":
        r = z - y
        return 0.5 * np.mean(r * r), Xt.T @ r / n, Xt.T @ Xt / n
    p = _sigmoid(z)
    value = np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))
    return value, Xt.T @ (p - y) / n, (Xt * (p * (1 - p))[:, None]).T @ Xt / n


def _least_squares():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=100)
    theta_star = np.linalg.lstsq(np.column_stack([X, np.ones(100)]), y, rcond=None)[0]
    return X, y, theta_star


def _logistic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (rng.uniform(size=200) < _sigmoid(X @ np.array([1.5, -1.0]) + 0.2)).astype(float)
    theta = np.zeros(3)
    for _ in range(40):  # plain Newton with numpy's LU solve: the reference, not optrun's
        _, g, h = objective(theta, X, y, "logistic")
        theta = theta - np.linalg.solve(h, g)
    assert np.linalg.norm(objective(theta, X, y, "logistic")[1]) < 1e-14
    return X, y, theta


PROBLEMS = {"linear": _least_squares(), "logistic": _logistic()}

# Learning rates for these two problems (L ≈ 1 for least squares, ≈ 0.25 for logistic).
LR = {
    "sgd": (0.5, 2.0), "momentum": (0.1, 0.5), "nag": (0.1, 0.5),
    "adagrad": (0.5, 0.5), "adadelta": (10.0, 10.0), "rmsprop": (0.01, 0.01),
    "adam": (0.1, 0.1), "adamw": (0.1, 0.1), "amsgrad": (0.1, 0.1),
    "adamax": (0.1, 0.1), "nadam": (0.1, 0.1), "newton": (1.0, 1.0),
    "asgd": (0.5, 2.0), "rprop": (0.01, 0.01), "adafactor": (1.0, 1.0), "radam": (0.1, 0.1),
    "lbfgs": (1.0, 0.3),
    "sag": (0.05, 0.2), "saga": (0.05, 0.2), "svrg": (0.05, 0.2), "polyak": (1.0, 1.0),
    # proximal: ista/fista at their default 1/L (lr None); cd has no lr
    "ista": (None, None), "fista": (None, None), "prox_sgd": (0.5, 2.0), "cd": (None, None),
}
# Hyperparameters beside lr for the progress tests (mini-batch L-BFGS: few inner iterations).
HP = {"lbfgs": {"max_iter": 3}}


def extras(opt, theta, Xb, yb, model, idx=None) -> dict:
    """The extras ``opt.needs`` on this batch (batch/data/f_star via optrun's own Objective,
    the same ½·MSE / BCE as ``objective`` above)."""
    out = {}
    if opt.needs & {"batch", "data", "f_star", "prox", "lipschitz"}:
        from optrun.models import Objective

        X, y, theta_star = PROBLEMS[model]
        obj = Objective(model=model, loss="half_mse" if model == "linear" else "bce")
        L = np.linalg.eigvalsh(objective(theta_star, X, y, "linear")[2]).max()
        out.update(batch=(obj, Xb, yb, idx), data=(X, y), prox=lambda v, s: v,
                   f_star=objective(theta_star, X, y, model)[0],
                   lipschitz=L if model == "linear" else L / 4)  # logistic: ‖X̃‖²/(4n)
    if "hessian" in opt.needs:
        out["hessian"] = objective(theta, Xb, yb, model)[2]
    if "closure" in opt.needs:
        out["closure"] = lambda th: objective(th, Xb, yb, model)[:2]
    return out


def run(name, model, steps, batch_size=None, **hp):
    X, y, theta_star = PROBLEMS[model]
    f_star = objective(theta_star, X, y, model)[0]
    lr = LR[name][model == "logistic"]
    opt = optim.create(name, **({} if lr is None else {"lr": lr}), **{**HP.get(name, {}), **hp})
    theta = np.zeros(X.shape[1] + 1)
    state = opt.init(theta)
    gaps = [objective(theta, X, y, model)[0] - f_star]
    n = len(y)
    bs = batch_size or n
    for t in range(1, steps + 1):
        j = (t - 1) % (n // bs)
        Xb, yb = X[j * bs:(j + 1) * bs], y[j * bs:(j + 1) * bs]
        _, g, _ = objective(theta, Xb, yb, model)
        theta, state = opt.update(g, state, theta, t, opt.hyperparams.get("lr"),
                                  **extras(opt, theta, Xb, yb, model, np.arange(j * bs, (j + 1) * bs)))
        gaps.append(objective(theta, X, y, model)[0] - f_star)
    return np.array(gaps), theta, state, opt


def test_lr_table_covers_the_registry():
    assert set(LR) == set(optim.names())


@pytest.mark.parametrize("model", ["linear", "logistic"])
@pytest.mark.parametrize("name", optim.names())
def test_full_batch_progress(name, model):
    gaps, theta, _, _ = run(name, model, steps=200)
    assert np.all(np.isfinite(gaps)) and np.all(gaps >= -1e-12)
    assert gaps[-1] < 1e-2 * gaps[0], f"{name} on {model}: gap {gaps[0]:.3g} -> {gaps[-1]:.3g}"


# full-batch methods by design: Newton (a rank-deficient batch Hessian), FISTA (momentum on noisy
# gradients accumulates the noise) and CD (exact coordinate minimisation of a changing batch)
FULL_BATCH_ONLY = {"newton", "fista", "cd"}


@pytest.mark.parametrize("model", ["linear", "logistic"])
@pytest.mark.parametrize("name", [n for n in optim.names() if n not in FULL_BATCH_ONLY])
def test_minibatch_progress(name, model):
    gaps, *_ = run(name, model, steps=200, batch_size=20)
    assert gaps[-1] < 0.1 * gaps[0], f"{name} on {model}: gap {gaps[0]:.3g} -> {gaps[-1]:.3g}"


# --------------------------------------------------------------------------------------------
# Newton


@pytest.mark.parametrize("scale", [0.5, 1.0])  # ½·MSE and MSE: the Newton step is scale-free
def test_newton_one_step_reaches_least_squares_optimum(scale):
    X, y, theta_star = PROBLEMS["linear"]
    _, g, h = objective(np.array([3.0, 1.0, -2.0, 5.0]), X, y, "linear")
    opt = optim.create("newton")
    theta0 = np.array([3.0, 1.0, -2.0, 5.0])
    theta1, state = opt.update(2 * scale * g, opt.init(theta0), theta0, 1, 1.0,
                               hessian=2 * scale * h)
    np.testing.assert_allclose(theta1, theta_star, rtol=1e-10, atol=1e-12)
    assert opt.report(state) == {"newton_fallback_steps": 0, "newton_fallback_reason": None}


def test_newton_weight_decay_reaches_ridge_optimum_with_bias_penalised():
    """Coupled weight decay λ penalises every coordinate (P = I, torch's convention)."""
    X, y, _ = PROBLEMS["linear"]
    n = len(y)
    Xt = np.column_stack([X, np.ones(n)])
    ridge = np.linalg.solve(Xt.T @ Xt / n + 0.3 * np.eye(4), Xt.T @ y / n)
    _, g, h = objective(np.zeros(4), X, y, "linear")
    opt = optim.create("newton", weight_decay=0.3)
    theta1, _ = opt.update(g, opt.init(np.zeros(4)), np.zeros(4), 1, 1.0, hessian=h)
    np.testing.assert_allclose(theta1, ridge, rtol=1e-10)


def test_newton_converges_quadratically_on_logistic():
    X, y, theta_star = PROBLEMS["logistic"]
    opt = optim.create("newton")
    theta = np.zeros(3)
    state = opt.init(theta)
    errors = [np.linalg.norm(theta - theta_star)]
    for t in range(1, 9):
        _, g, h = objective(theta, X, y, "logistic")
        theta, state = opt.update(g, state, theta, t, 1.0, hessian=h)
        errors.append(np.linalg.norm(theta - theta_star))
    errors = np.array(errors)
    assert errors[-1] < 1e-12
    k = np.flatnonzero(errors[:-1] > 1e-6)  # beyond that rounding, not the method, dominates
    ratios = errors[k + 1] / errors[k] ** 2
    assert len(k) >= 3 and ratios.max() < 5.0, ratios
    assert opt.report(state)["newton_fallback_steps"] == 0


def test_newton_damping_slows_but_converges():
    plain, *_ = run("newton", "logistic", steps=30)
    damped, *_ = run("newton", "logistic", steps=30, damping=0.1)
    assert plain[6] < 1e-14 < damped[6]  # a shifted Hessian converges linearly, not quadratically
    assert damped[-1] < 1e-10
    # a damping factor lr < 1 on least squares: the error shrinks by (1 - lr) per step
    X, y, theta_star = PROBLEMS["linear"]
    opt = optim.create("newton", lr=0.5)
    theta = np.zeros(4)
    _, g, h = objective(theta, X, y, "linear")
    theta1, _ = opt.update(g, opt.init(theta), theta, 1, 0.5, hessian=h)
    np.testing.assert_allclose(theta1, 0.5 * theta_star, rtol=1e-10)


def test_newton_large_damping_is_a_gradient_step():
    g = np.array([1.0, -2.0])
    opt = optim.create("newton", damping=1e6)
    theta1, _ = opt.update(g, opt.init(np.zeros(2)), np.zeros(2), 1, 1.0, hessian=np.eye(2))
    np.testing.assert_allclose(theta1, -g / (1e6 + 1))


def test_newton_singular_hessian_falls_back_to_minimum_norm_step():
    """Collinear features: H is singular; the fallback gives the minimum-norm LS solution."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 2))
    X = np.column_stack([x, 2.0 * x[:, 0]])  # third feature = 2 × first
    y = x @ np.array([1.0, -1.0]) + 0.5 + 0.1 * rng.normal(size=30)
    Xt = np.column_stack([X, np.ones(30)])
    _, g, h = objective(np.zeros(4), X, y, "linear")
    opt = optim.create("newton")
    theta1, state = opt.update(g, opt.init(np.zeros(4)), np.zeros(4), 1, 1.0, hessian=h)
    min_norm = np.linalg.lstsq(Xt, y, rcond=None)[0]
    np.testing.assert_allclose(theta1, min_norm, rtol=1e-8, atol=1e-10)
    report = opt.report(state)
    assert report["newton_fallback_steps"] == 1
    assert "pseudo-inverse" in report["newton_fallback_reason"]
    # the next step (already at the optimum) does not move and counts again
    _, g, h = objective(theta1, X, y, "linear")
    theta2, state = opt.update(g, state, theta1, 2, 1.0, hessian=h)
    np.testing.assert_allclose(theta2, theta1, atol=1e-10)
    assert opt.report(state)["newton_fallback_steps"] == 2


def test_newton_degenerate_hessians_never_give_nan_or_ascent():
    opt = optim.create("newton")
    g = np.array([1.0, -1.0])
    theta1, state = opt.update(g, opt.init(np.zeros(2)), np.zeros(2), 1, 1.0, hessian=np.zeros((2, 2)))
    np.testing.assert_array_equal(theta1, np.zeros(2))  # no curvature information: no move
    indefinite = np.diag([2.0, -4.0])
    theta1, state = opt.update(g, state, np.zeros(2), 2, 1.0, hessian=indefinite)
    assert np.all(np.isfinite(theta1)) and g @ (-theta1) > 0  # a descent direction
    np.testing.assert_allclose(theta1, [-0.5, 0.25])
    rep = opt.report(state)
    assert rep["newton_fallback_steps"] == 2 and "Cholesky failed" in rep["newton_fallback_reason"]


def test_newton_needs_the_hessian():
    opt = optim.create("newton")
    assert opt.needs_hessian
    with pytest.raises(ValueError, match="Hessian"):
        opt.update(np.ones(2), opt.init(np.zeros(2)), np.zeros(2), 1, 1.0)
