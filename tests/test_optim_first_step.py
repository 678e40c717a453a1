"""First steps of every optimizer against the closed forms of shared/OPTIMIZERS.md.

From θ0 with gradient g and no history, each rule reduces to a formula one can check by hand,
e.g. Adam: θ1 = θ0 − γ g/(|g| + eps). The gradient has coordinates of very different sizes
(and a zero) so that an eps in the wrong place or a missing bias correction shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optrun import optim

G = np.array([0.5, -2.0, 1e-3, 0.0])
THETA0 = np.array([0.3, -0.1, 2.0, 1.0])
ABSG = np.abs(G)


def first_step(name, hessian=None, theta0=THETA0, lr=None, **hp):
    opt = optim.create(name, **hp)
    lr = opt.hyperparams["lr"] if lr is None else lr
    theta1, _ = opt.update(G, opt.init(theta0), theta0, 1, lr, hessian=hessian)
    return theta1


def nadam_factor(beta1=0.9, psi=4e-3):
    mu1 = beta1 * (1 - 0.5 * 0.96 ** (1 * psi))
    mu2 = beta1 * (1 - 0.5 * 0.96 ** (2 * psi))
    return 1 + mu2 * (1 - beta1) / (1 - mu1 * mu2)


def adafactor_first(th, g, lr, eps2=1e-3, eps1=np.finfo(float).eps, d=1.0, wd=0.0):
    """θ1 = θ0(1 − γλ) − max(ε2, RMS(θ0))·min(γ, 1)·U/max(1, RMS(U)/d), U = g/sqrt(max(g², ε1²))."""
    u = g / np.sqrt(np.maximum(g * g, eps1 * eps1))
    alpha = max(eps2, np.sqrt(np.mean(th * th))) * min(lr, 1.0)
    return th * (1 - lr * wd) - alpha / max(1.0, np.sqrt(np.mean(u * u)) / d) * u


# (id, optimizer, hyperparams, expected θ1 as a function of (θ0, g, γ))
CASES = [
    ("sgd", "sgd", {"lr": 0.1}, lambda th, g, lr: th - lr * g),
    ("sgd_wd", "sgd", {"lr": 0.1, "weight_decay": 0.5}, lambda th, g, lr: th - lr * (g + 0.5 * th)),
    # torch creates the buffer as g_1: the first step is NOT dampened.
    ("sgd_dampening", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
     lambda th, g, lr: th - lr * g),
    ("momentum", "momentum", {"lr": 0.1}, lambda th, g, lr: th - lr * g),
    ("nag", "nag", {"lr": 0.1}, lambda th, g, lr: th - lr * (1 + 0.9) * g),
    ("sgd_nesterov", "sgd", {"lr": 0.1, "momentum": 0.5, "nesterov": True},
     lambda th, g, lr: th - lr * 1.5 * g),
    ("adagrad", "adagrad", {"lr": 0.1}, lambda th, g, lr: th - lr * g / (np.abs(g) + 1e-10)),
    ("adagrad_eps", "adagrad", {"lr": 0.1, "eps": 0.01},
     lambda th, g, lr: th - lr * g / (np.abs(g) + 0.01)),
    # (t − 1)·lr_decay: the first step is not decayed.
    ("adagrad_lr_decay", "adagrad", {"lr": 0.1, "lr_decay": 0.5, "eps": 0.01},
     lambda th, g, lr: th - lr * g / (np.abs(g) + 0.01)),
    ("adagrad_init_acc", "adagrad", {"lr": 0.1, "initial_accumulator_value": 0.25},
     lambda th, g, lr: th - lr * g / (np.sqrt(0.25 + g * g) + 1e-10)),
    ("adadelta", "adadelta", {},
     lambda th, g, lr: th - lr * math.sqrt(1e-6) / np.sqrt(0.1 * g * g + 1e-6) * g),
    ("adadelta_lr_rho", "adadelta", {"lr": 10.0, "rho": 0.5, "eps": 0.01},
     lambda th, g, lr: th - lr * math.sqrt(0.01) / np.sqrt(0.5 * g * g + 0.01) * g),
    ("rmsprop", "rmsprop", {},
     lambda th, g, lr: th - lr * g / (math.sqrt(1 - 0.99) * np.abs(g) + 1e-8)),
    ("rmsprop_eps", "rmsprop", {"eps": 0.01, "alpha": 0.9},
     lambda th, g, lr: th - lr * g / (math.sqrt(0.1) * np.abs(g) + 0.01)),
    # centered: V − A² = (1 − α)g² − (1 − α)²g² = α(1 − α)g²
    ("rmsprop_centered", "rmsprop", {"centered": True, "eps": 0.01},
     lambda th, g, lr: th - lr * g / (math.sqrt(0.99 * 0.01) * np.abs(g) + 0.01)),
    # momentum: B_1 = g/den, so the first step is the plain one
    ("rmsprop_momentum", "rmsprop", {"momentum": 0.9, "eps": 0.01},
     lambda th, g, lr: th - lr * g / (0.1 * np.abs(g) + 0.01)),
    ("adam", "adam", {}, lambda th, g, lr: th - lr * g / (np.abs(g) + 1e-8)),
    ("adam_eps", "adam", {"lr": 0.1, "eps": 0.01}, lambda th, g, lr: th - lr * g / (np.abs(g) + 0.01)),
    ("adam_l2", "adam", {"lr": 0.1, "eps": 0.01, "weight_decay": 0.5},
     lambda th, g, lr: th - lr * (g + 0.5 * th) / (np.abs(g + 0.5 * th) + 0.01)),
    ("amsgrad", "amsgrad", {"eps": 0.01}, lambda th, g, lr: th - lr * g / (np.abs(g) + 0.01)),
    # decoupled: θ(1 − γλ) first, then the Adam step from the raw gradient
    ("adamw", "adamw", {"lr": 0.1, "eps": 0.01},
     lambda th, g, lr: th * (1 - lr * 0.01) - lr * g / (np.abs(g) + 0.01)),
    ("adam_decoupled", "adam", {"lr": 0.1, "weight_decay": 0.5, "decoupled_weight_decay": True},
     lambda th, g, lr: th * (1 - lr * 0.5) - lr * g / (np.abs(g) + 1e-8)),
    ("adamax", "adamax", {"eps": 0.01}, lambda th, g, lr: th - lr * g / (np.abs(g) + 0.01)),
    ("nadam", "nadam", {}, lambda th, g, lr: th - lr * nadam_factor() * g / (np.abs(g) + 1e-8)),
    ("nadam_eps_psi", "nadam", {"eps": 0.01, "momentum_decay": 0.1, "betas": (0.8, 0.99)},
     lambda th, g, lr: th - lr * nadam_factor(0.8, 0.1) * g / (np.abs(g) + 0.01)),
    ("nadam_decoupled", "nadam", {"weight_decay": 2.0, "decoupled_weight_decay": True},
     lambda th, g, lr: th * (1 - lr * 2.0) - lr * nadam_factor() * g / (np.abs(g) + 1e-8)),
    # RAdam: ρ_1 = 1 ≤ 5, so the first steps are bias-corrected momentum SGD (m̂_1 = g)
    ("radam", "radam", {"lr": 0.1, "eps": 0.01}, lambda th, g, lr: th - lr * g),
    ("radam_decoupled", "radam", {"lr": 0.1, "weight_decay": 0.5, "decoupled_weight_decay": True},
     lambda th, g, lr: th * (1 - lr * 0.5) - lr * g),
    ("radam_wd", "radam", {"lr": 0.1, "weight_decay": 0.5}, lambda th, g, lr: th - lr * (g + 0.5 * th)),
    # Rprop: Δ_1 = lr (prev = 0: factor 1), clipped to step_sizes; a zero gradient does not move
    ("rprop", "rprop", {"lr": 0.1}, lambda th, g, lr: th - lr * np.sign(g)),
    ("rprop_clip", "rprop", {"lr": 0.1, "step_sizes": (0.25, 1.0)}, lambda th, g, lr: th - 0.25 * np.sign(g)),
    # ASGD: θ1 = θ0(1 − λγ) − γ(g + λ_wd θ0)
    ("asgd", "asgd", {"lr": 0.1, "lambd": 0.5}, lambda th, g, lr: th * (1 - 0.5 * lr) - lr * g),
    ("asgd_wd", "asgd", {"lr": 0.1, "weight_decay": 0.3},
     lambda th, g, lr: th * (1 - 1e-4 * lr) - lr * (g + 0.3 * th)),
    ("adafactor", "adafactor", {}, adafactor_first),
    ("adafactor_eps_d_wd", "adafactor", {"lr": 2.0, "eps": (0.01, 0.5), "d": 1.0, "weight_decay": 0.1},
     lambda th, g, lr: adafactor_first(th, g, lr, eps2=0.5, eps1=0.01, wd=0.1)),
    # L-BFGS, one inner iteration: θ1 = θ0 − min(1, 1/‖g‖₁)·γ·g (no history yet)
    ("lbfgs", "lbfgs", {"lr": 0.7, "max_iter": 1},
     lambda th, g, lr: th - min(1.0, 1.0 / np.abs(g).sum()) * lr * g),
]


def linear_closure(theta0):
    """f(θ) = gᵀ(θ − θ0): its gradient is G everywhere (the closure of a first-step case)."""
    return lambda th: (float(G @ (th - theta0)), G.copy())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_first_step_closed_form(case):
    _, name, hp, expected = case
    opt = optim.create(name, **hp)
    lr = opt.hyperparams["lr"]
    extras = {"closure": linear_closure(THETA0)} if "closure" in opt.needs else {}
    theta1, _ = opt.update(G, opt.init(THETA0), THETA0, 1, lr, **extras)
    np.testing.assert_allclose(theta1, expected(THETA0, G, lr), rtol=1e-12, atol=1e-15)


def test_every_optimizer_has_a_first_step_case():
    # the proximal family's first steps are computed by hand in tests/test_optim_proximal.py
    covered = {optim.resolve_name(c[1]) for c in CASES} | {"newton"} | FINITE_SUM | PROXIMAL
    assert covered == set(optim.names())


def test_nadam_first_step_factor_is_1_05645():
    assert nadam_factor() == pytest.approx(1.05645, abs=5e-6)


def test_sign_like_first_steps():
    """Adam, AdaMax, AMSGrad, Adagrad move ≈ γ·sign(g); RMSprop ≈ 10γ; NAdam ≈ 1.056γ."""
    g = np.array([3.0, -0.2])
    for name, factor in (("adam", 1.0), ("adamax", 1.0), ("amsgrad", 1.0), ("adagrad", 1.0),
                         ("rmsprop", 10.0), ("nadam", 1.05645)):
        opt = optim.create(name, lr=0.01)
        theta1, _ = opt.update(g, opt.init(np.zeros(2)), np.zeros(2), 1, 0.01)
        np.testing.assert_allclose(theta1, -0.01 * factor * np.sign(g), rtol=1e-5)


def test_newton_first_step_solves_the_system():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    H = A @ A.T + 0.5 * np.eye(4)
    theta1 = first_step("newton", hessian=H, lr=0.5)
    np.testing.assert_allclose(theta1, THETA0 - 0.5 * np.linalg.solve(H, G), rtol=1e-12)
    # damping δ and weight decay λ: (H + (λ + δ) I) d = g + λ θ
    opt = optim.create("newton", damping=0.3, weight_decay=0.2)
    theta1, _ = opt.update(G, opt.init(THETA0), THETA0, 1, 1.0, hessian=H)
    d = np.linalg.solve(H + 0.5 * np.eye(4), G + 0.2 * THETA0)
    np.testing.assert_allclose(theta1, THETA0 - d, rtol=1e-12)


def test_second_step_adam_by_hand():
    """Two Adam steps with constant gradient g: m̂ = g and v̂ = g², so each step is γ g/(|g|+ε)."""
    opt = optim.create("adam", lr=0.1, eps=0.01)
    state = opt.init(THETA0)
    theta, state = opt.update(G, state, THETA0, 1, 0.1)
    theta, state = opt.update(G, state, theta, 2, 0.1)
    np.testing.assert_allclose(theta, THETA0 - 2 * 0.1 * G / (ABSG + 0.01), rtol=1e-12, atol=1e-15)
    # the raw moments after two steps: m = (1 − β1²) g, v = (1 − β2²) g²
    np.testing.assert_allclose(state.exp_avg, (1 - 0.9**2) * G, rtol=1e-14)
    np.testing.assert_allclose(state.exp_avg_sq, (1 - 0.999**2) * G**2, rtol=1e-12)


def test_second_step_momentum_dampening_by_hand():
    """b_1 = g_1 (undampened), b_2 = μ b_1 + (1 − τ) g_2; θ_2 = θ_1 − γ b_2."""
    opt = optim.create("sgd", lr=0.1, momentum=0.9, dampening=0.5)
    g2 = np.array([1.0, 1.0, -1.0, 2.0])
    state = opt.init(THETA0)
    th1, state = opt.update(G, state, THETA0, 1, 0.1)
    th2, state = opt.update(g2, state, th1, 2, 0.1)
    b2 = 0.9 * G + 0.5 * g2
    np.testing.assert_allclose(th2, THETA0 - 0.1 * G - 0.1 * b2, rtol=1e-14)
    np.testing.assert_allclose(state.momentum_buffer, b2, rtol=1e-14)


def test_radam_rectified_step_by_hand():
    """β2 = 0.5: ρ∞ = 3 < 5, never rectified (momentum SGD); β2 = 0.9: ρ_t > 5 from t = 6 on."""
    from optrun.optim.radam import rectification, rho

    assert rho(1, 0.999) == pytest.approx(1.0, rel=1e-9)
    assert [t for t in range(1, 10) if rho(t, 0.999) > 5] == [6, 7, 8, 9]
    # constant gradient: m̂ = g, v = (1 − β2^t) g², so the step is γ r_t g sqrt(1−β2^t)/(sqrt(v)+eps)
    opt = optim.create("radam", lr=0.1, eps=0.01, betas=(0.9, 0.999))
    theta, state = THETA0, opt.init(THETA0)
    for t in range(1, 7):
        prev = theta
        theta, state = opt.update(G, state, theta, t, 0.1)
    bc2 = 1 - 0.999**6
    step = 0.1 * rectification(6, 0.999) * math.sqrt(bc2) * G / (np.sqrt(bc2) * ABSG + 0.01)
    np.testing.assert_allclose(theta, prev - step, rtol=1e-12, atol=1e-15)


def test_rprop_second_step_by_hand():
    """Same sign: Δ ×= η+; sign change: Δ ×= η− and no move; zero product: Δ unchanged."""
    opt = optim.create("rprop", lr=0.1, etas=(0.5, 1.2))
    g1 = np.array([1.0, 1.0, 0.0, 2.0])
    g2 = np.array([3.0, -1.0, 5.0, 0.0])
    state = opt.init(THETA0)
    th1, state = opt.update(g1, state, THETA0, 1, 0.1)
    th2, state = opt.update(g2, state, th1, 2, 123.0)  # the lr of later steps is ignored
    np.testing.assert_allclose(state.step_size, [0.12, 0.05, 0.1, 0.1])
    np.testing.assert_allclose(th2 - th1, [-0.12, 0.0, -0.1, 0.0])
    np.testing.assert_array_equal(state.prev, [3.0, 0.0, 5.0, 0.0])  # masked gradient kept


def test_asgd_average_from_t0_is_the_mean_of_the_iterates():
    opt = optim.create("asgd", lr=0.1, t0=3.0, lambd=0.0)
    rng = np.random.default_rng(0)
    theta, state, iterates = THETA0, opt.init(THETA0), []
    for t in range(1, 11):
        theta, state = opt.update(rng.normal(size=4), state, theta, t, 0.1)
        iterates.append(theta)
    # μ_t = 1/max(1, t − 1 − t0): ax copies θ up to t = t0 + 2 = 5, then averages the iterates
    # from there on: ax_10 = mean(θ_5..θ_10)
    np.testing.assert_allclose(opt.report(state)["ax"], np.mean(iterates[4:], axis=0), rtol=1e-13)


FINITE_SUM = {"sag", "saga", "svrg", "polyak"}
PROXIMAL = {"ista", "fista", "prox_sgd", "cd"}


def test_finite_sum_and_polyak_first_steps():
    """From empty memory: SAG and SAGA step along the batch gradient (S/m = mean of the batch's
    row gradients; SAGA's table average is 0), SVRG along μ = ∇F(θ0) (snapshot = θ0, so
    ∇f_B(θ) − ∇f_B(θ̃) = 0), Polyak by (f − f*)/‖g‖²."""
    from optrun.models import Objective

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    obj = Objective(model="linear", loss="half_mse")
    idx = np.array([2, 5, 7])
    ex = dict(batch=(obj, X[idx], y[idx], idx), data=(X, y), f_star=-0.5, prox=lambda v, s: v)
    g_batch = obj.grad(THETA0, X[idx], y[idx])
    for name, expected in (("sag", THETA0 - 0.1 * g_batch), ("saga", THETA0 - 0.1 * g_batch),
                           ("svrg", THETA0 - 0.1 * obj.grad(THETA0, X, y))):
        opt = optim.create(name, lr=0.1)
        theta1, _ = opt.update(g_batch, opt.init(THETA0), THETA0, 1, 0.1, **ex)
        np.testing.assert_allclose(theta1, expected, rtol=1e-13)
    opt = optim.create("polyak")
    theta1, _ = opt.update(g_batch, opt.init(THETA0), THETA0, 1, 1.0, **ex)
    f = obj.value(THETA0, X[idx], y[idx])
    np.testing.assert_allclose(theta1, THETA0 - (f + 0.5) / (g_batch @ g_batch) * g_batch, rtol=1e-13)
