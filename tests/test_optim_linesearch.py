"""Line searches (sgd / newton ``line_search``) and L-BFGS's evaluation counts.

The Armijo condition is checked at every accepted step, damped Newton (B&V §9.5) against plain
Newton from a far start on logistic regression, and the quadratic tail of damped Newton.
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun import optim
from optrun.optim.linesearch import backtracking, cubic_interpolate, strong_wolfe


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic(theta, X, y):
    """(mean BCE, gradient, Hessian), θ = [w, b]."""
    Xt = np.column_stack([X, np.ones(len(y))])
    z = Xt @ theta
    p = _sigmoid(z)
    f = np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))
    return f, Xt.T @ (p - y) / len(y), (Xt * (p * (1 - p))[:, None]).T @ Xt / len(y)


rng = np.random.default_rng(1)
X = rng.normal(size=(200, 2))
y = (rng.uniform(size=200) < _sigmoid(X @ np.array([1.5, -1.0]) + 0.2)).astype(float)
theta_star = np.zeros(3)
for _ in range(40):
    _, g_, h_ = logistic(theta_star, X, y)
    theta_star = theta_star - np.linalg.solve(h_, g_)
F_STAR = logistic(theta_star, X, y)[0]
FAR = np.array([6.0, 6.0, -4.0])  # far from θ* ≈ (1.4, −0.9, 0.2): p(1 − p) ≈ 0 on most rows


def closure(th):
    return logistic(th, X, y)[:2]


def drive(opt, theta0, steps):
    theta, state = theta0.copy(), opt.init(theta0)
    rows = []
    for t in range(1, steps + 1):
        f, g, h = logistic(theta, X, y)
        new, state = opt.update(g, state, theta, t, opt.hyperparams["lr"], hessian=h, closure=closure)
        rows.append((theta, f, g, new, opt.report(state)))
        theta = new
    return theta, rows


@pytest.mark.parametrize("name, hp", [("sgd", {"lr": 8.0}), ("newton", {}),
                                      ("sgd", {"lr": 8.0, "weight_decay": 0.05})])
def test_armijo_condition_holds_at_every_accepted_step(name, hp):
    opt = optim.create(name, line_search="armijo", **hp)
    assert opt.needs >= {"closure"}
    lam = hp.get("weight_decay", 0.0)
    _, rows = drive(opt, FAR, 30)
    for theta, f, g, new, rep in rows:
        s = rep["step_size"]
        assert 0 < s <= opt.hyperparams["lr"] and rep["ls_trials"] >= 2
        F = lambda th: logistic(th, X, y)[0] + 0.5 * lam * th @ th  # noqa: E731
        gF = g + lam * theta
        d = (new - theta) / s  # the search direction
        assert F(new) <= F(theta) + 0.25 * s * gF @ d + 1e-15
        # backtracking: s is the FIRST of lr, lr/2, ... to pass, so 2s failed (unless s = lr)
        if s < opt.hyperparams["lr"]:
            assert F(theta + 2 * s * d) > F(theta) + 0.25 * 2 * s * gF @ d


def test_damped_newton_converges_where_plain_newton_diverges():
    plain = optim.create("newton")
    theta, _ = drive(plain, FAR, 8)
    assert not (np.all(np.isfinite(theta)) and np.linalg.norm(theta - theta_star) < 1.0)
    damped = optim.create("newton", line_search="armijo")  # α = 0.25, β = 0.5 (B&V)
    assert damped.hyperparams["ls_alpha"] == 0.25 and damped.hyperparams["ls_beta"] == 0.5
    theta, rows = drive(damped, FAR, 25)
    np.testing.assert_allclose(theta, theta_star, rtol=1e-10, atol=1e-12)
    steps = [r[4]["step_size"] for r in rows]
    assert min(steps) < 1.0  # the damped phase did shorten steps
    fs = [r[1] for r in rows]
    assert all(b <= a for a, b in zip(fs, fs[1:]))  # monotone decrease


def test_damped_newton_quadratic_tail():
    """Once near θ*, the full step s = 1 is accepted and the error squares each step."""
    damped = optim.create("newton", line_search="armijo")
    _, rows = drive(damped, FAR, 25)
    errors = np.array([np.linalg.norm(r[0] - theta_star) for r in rows])
    steps = np.array([r[4]["step_size"] for r in rows])
    tail = np.flatnonzero((errors < 0.1) & (errors > 1e-7))
    assert len(tail) >= 2 and np.all(steps[tail] == 1.0)
    ratios = errors[tail + 1] / errors[tail] ** 2
    assert ratios.max() < 5.0, ratios
    assert rows[tail[-1]][4]["ls_trials"] == 2  # θ and one trial: no backtracking


def test_sgd_strong_wolfe_conditions():
    opt = optim.create("sgd", lr=1.0, line_search="strong_wolfe")
    _, rows = drive(opt, np.zeros(3), 30)
    for theta, f, g, new, rep in rows:
        s = rep["step_size"]
        d = -g
        f_new, g_new = closure(new)
        assert f_new <= f + 1e-4 * s * g @ d + 1e-15
        assert abs(g_new @ d) <= 0.9 * abs(g @ d) + 1e-15
    gaps = [r[1] - F_STAR for r in rows]
    assert all(b < a for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-4 * gaps[0]


def test_line_search_rules():
    from optrun.errors import OptrunError

    with pytest.raises(OptrunError, match="optimizer.line_search: a line search needs momentum = 0"):
        optim.create("sgd", line_search="armijo", momentum=0.9)
    with pytest.raises(OptrunError, match=r"optimizer.ls_alpha: expected a number in \(0, 0.5\)"):
        optim.create("newton", line_search="armijo", ls_alpha=0.5)
    with pytest.raises(OptrunError, match="optimizer.line_search: expected one of 'none', 'armijo'"):
        optim.create("sgd", line_search="wolfe")
    assert optim.create("sgd").needs == frozenset()  # no closure unless a search is asked for


def test_backtracking_on_a_parabola_by_hand():
    # f(x) = x², from x = 1 along d = −2: trials s = 1 (f = 1), ½ (f = 0): accepted at ½
    phi = lambda s: ((1 - 2 * s) ** 2, np.array([2 * (1 - 2 * s)]))  # noqa: E731
    res = backtracking(phi, 1.0, -4.0, 1.0, alpha=0.25, beta=0.5)
    assert (res.step, res.evals, res.ok, res.loss) == (0.5, 2, True, 0.0)
    nan_phi = lambda s: (np.nan if s > 0.3 else (1 - 2 * s) ** 2, np.zeros(1))  # noqa: E731
    assert backtracking(nan_phi, 1.0, -4.0, 1.0).step == 0.25  # non-finite trials are rejected


def test_cubic_interpolation_and_wolfe_on_a_quadratic():
    # the cubic through a quadratic's data is the quadratic: its minimiser is exact
    f = lambda x: (x - 0.3) ** 2  # noqa: E731
    df = lambda x: 2 * (x - 0.3)  # noqa: E731
    assert cubic_interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0)) == pytest.approx(0.3)
    phi = lambda s: (f(s), np.array([df(s)]))  # noqa: E731
    res = strong_wolfe(phi, np.array([1.0]), 1.0, f(0.0), np.array([df(0.0)]), df(0.0))
    assert res.ok and res.step == pytest.approx(0.3) and res.evals == 2


def test_lbfgs_counts_evaluations_like_torch():
    """No line search: 1 evaluation at θ, then one after each inner iteration but the last."""
    for max_iter in (1, 3, 5):
        opt = optim.create("lbfgs", lr=0.1, max_iter=max_iter, max_eval=100, tolerance_change=0.0)
        theta, state = opt.update(None, opt.init(FAR), FAR, 1, 0.1, closure=closure)
        rep = opt.report(state)
        assert rep["inner_evals"] == max_iter and rep["inner_iters"] == max_iter
        assert rep["func_evals"] == max_iter and rep["n_iter"] == max_iter
    # max_eval = null is max_iter·5 // 4 (= 3 for max_iter = 3): it stops the step after 2 iterations
    opt = optim.create("lbfgs", lr=0.1, max_iter=3, tolerance_change=0.0)
    _, state = opt.update(None, opt.init(FAR), FAR, 1, 0.1, closure=closure)
    assert opt.report(state)["inner_evals"] == 3 and opt.report(state)["inner_iters"] == 2
    # strong Wolfe on the full batch: converges to θ* and never exceeds max_eval per step
    opt = optim.create("lbfgs", line_search_fn="strong_wolfe", max_iter=10)
    theta, state = FAR.copy(), opt.init(FAR)
    for t in range(1, 6):
        theta, state = opt.update(None, state, theta, t, 1.0, closure=closure)
        assert opt.report(state)["inner_evals"] <= 12  # max_eval = 10·5 // 4
    # torch stops a step once |Δf| < tolerance_change = 1e-9: θ is then within ~sqrt(1e-9) of θ*
    assert logistic(theta, X, y)[0] - F_STAR < 1e-9
    np.testing.assert_allclose(theta, theta_star, rtol=1e-4)
    # at the optimum (max|g| ≤ tolerance_grad) a step evaluates once and does not move
    again, state2 = opt.update(None, state, theta, 6, 1.0, closure=closure)
    if np.abs(closure(theta)[1]).max() <= 1e-7:
        np.testing.assert_array_equal(again, theta)
        assert opt.report(state2)["inner_evals"] == 1 and state2.n_iter == state.n_iter
