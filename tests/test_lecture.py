"""The lecture, topic by topic, through the public entry points (optrun.train and the CLI).

Each test is a worked example of /work/shared/LECTURE.md (or a contract of DESIGN.md §9 that a
student meets on the way), checked against a number computed by hand or by an independent
solver. Plots are off (the figures have their own tests), so the whole file runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from optrun.api import train
from optrun.cli.app import app
from optrun.errors import OptrunError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def run(cfg, overrides=None, tmp=None):
    return train(cfg, overrides, out=tmp, plots=False)


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# --------------------------------------------------------------------------------------------
# Part 1 §4: gradient descent on f(x) = x², by hand


@pytest.mark.parametrize("name, x0, lr, first", [("x_squared_gd", 2.0, 0.01, 1.96), ("x_squared_neg", -3.0, 0.1, -2.4)])
def test_x_squared_steps_exactly(tmp_path, name, x0, lr, first):
    tr = run(CONFIGS / f"{name}.yaml", tmp=tmp_path).trace
    x = tr["x1"].to_numpy()
    assert x[0] == x0 and x[1] == pytest.approx(first, abs=1e-15)
    # every step is x <- (1 - 2 lr) x, and f(x_{t+1}) <= f(x_t)
    np.testing.assert_allclose(x, x0 * (1 - 2 * lr) ** np.arange(len(x)), rtol=1e-13)
    np.testing.assert_allclose(tr["loss"], x**2, rtol=1e-15)
    assert np.all(np.diff(tr["loss"]) <= 0)


def test_x_squared_first_step_in_the_cli_trace(tmp_path):
    res = cli("train", CONFIGS / "x_squared_gd.yaml", "--out", tmp_path, "--no-plots")
    assert res.exit_code == 0, res.output
    (trace,) = tmp_path.glob("*/trace.csv")
    rows = trace.read_text().splitlines()
    header = rows[0].split(",")
    assert float(rows[2].split(",")[header.index("x1")]) == 1.96


# --------------------------------------------------------------------------------------------
# Part 2 §9: Newton–Raphson


def test_newton_on_a_quadratic_lands_in_one_step(tmp_path):
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([-1.0, 0.0])
    cfg = {"model": {"name": "quadratic", "A": A.tolist(), "b": b.tolist(), "init": [2.0, 2.0]},
           "optimizer": "newton", "train": {"steps": 1, "log_every": 1}}
    r = run(cfg, tmp=tmp_path)
    star = np.linalg.solve(A, -b)  # (0.4, -0.2)
    np.testing.assert_allclose(r.trace[["x1", "x2"]].to_numpy()[1], star, atol=1e-15)
    assert r.summary["f_star"] == pytest.approx(0.5 * b @ star, abs=1e-15)  # −½ bᵀA⁻¹b = −0.2


def test_newton_raphson_config_is_the_tangent_rule(tmp_path):
    # x_{k+1} = x_k - f'(x_k)/f''(x_k) on f = x⁴/4 - x: 2, 17/12, ... -> 1, the error squared
    x = run(CONFIGS / "newton_raphson.yaml", tmp=tmp_path).trace["x1"].to_numpy()
    want = [2.0]
    for _ in range(len(x) - 1):
        want.append(want[-1] - (want[-1] ** 3 - 1) / (3 * want[-1] ** 2))
    np.testing.assert_allclose(x, want, rtol=1e-13)
    assert x[1] == pytest.approx(17 / 12, rel=1e-15)
    err = np.abs(x - 1.0)[1:5]
    assert np.all(err[1:] <= 1.1 * err[:-1] ** 2)  # quadratic convergence: e_{k+1} ≈ e_k²
    # on x² the tangent rule lands in one step: 2 - 4/2 = 0 (to rounding: the solve goes through
    # a Cholesky factor, sqrt(2) twice, so the step leaves 2.2e-16)
    tr = run(CONFIGS / "newton_raphson.yaml", ["model.function=x_squared"], tmp_path).trace
    assert tr["x1"].iloc[0] == 2.0 and abs(tr["x1"].iloc[1]) <= 4e-16


# --------------------------------------------------------------------------------------------
# Part 1 §3: Gaussian MLE ⇔ least squares; reduction: sum


def test_gaussian_nll_and_half_mse_share_theta_star(tmp_path):
    ts = {}
    for loss in ("gaussian_nll", "half_mse"):
        r = run(CONFIGS / "mle_gaussian.yaml", [f"loss.name={loss}"], tmp_path)
        ts[loss] = np.array(list(r.summary["theta_star"].values()))
        assert r.summary["suboptimality"] < 1e-8, loss
        np.testing.assert_allclose(list(r.summary["params"].values()), ts[loss], atol=1e-4)
    np.testing.assert_allclose(ts["gaussian_nll"], ts["half_mse"], rtol=1e-12)
    # women.csv: the least-squares line of height on standardized weight
    w = np.loadtxt(CONFIGS.parent / "datasets" / "women.csv", delimiter=",", skiprows=1)
    z = (w[:, 0] - w[:, 0].mean()) / w[:, 0].std()
    coef = np.linalg.lstsq(np.column_stack([z, np.ones(len(z))]), w[:, 1], rcond=None)[0]
    np.testing.assert_allclose(ts["half_mse"], coef, rtol=1e-12)


def test_reduction_sum_scales_gradient_and_two_over_L_by_n(tmp_path):
    cfg = {"dataset": {"name": "women", "standardize": True}, "model": "linear",
           "loss": {"name": "half_mse"}, "optimizer": {"name": "gd", "lr": 0.01}, "batch": "full",
           "train": {"steps": 1, "log_every": 1}}
    mean = run(cfg, tmp=tmp_path)
    total = run(cfg, ["loss.reduction=sum"], tmp_path)
    n = 15
    g_mean, g_sum = mean.trace["grad_norm"].iloc[0], total.trace["grad_norm"].iloc[0]
    assert g_sum == pytest.approx(n * g_mean, rel=1e-13)
    assert total.trace["loss"].iloc[0] == pytest.approx(n * mean.trace["loss"].iloc[0], rel=1e-13)
    assert total.summary["f_star"] == pytest.approx(n * mean.summary["f_star"], rel=1e-13)
    lr_mean, lr_sum = mean.summary["diagnostics"]["max_stable_lr"], total.summary["diagnostics"]["max_stable_lr"]
    assert lr_sum == pytest.approx(lr_mean / n, rel=1e-13)
    np.testing.assert_allclose(list(total.summary["theta_star"].values()), list(mean.summary["theta_star"].values()),
                               rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Part 1 §5: logistic regression, MSE vs the negative log-likelihood


def _min_eig_at(cfg_path, loss, theta, tmp_path):
    """The smallest Hessian eigenvalue of the run's objective at theta, by central differences of
    the run's own gradient (independent of the summary's sampling)."""
    from optrun import config as config_mod
    from optrun.prepare import prepare

    p = prepare(config_mod.load(cfg_path, [f"loss.name={loss}"]))
    X, y = p.data.X, p.data.y
    theta, h = np.asarray(theta, dtype=float), 1e-5
    H = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        e = np.zeros(theta.size)
        e[j] = h
        H[:, j] = (p.objective.value_and_grad(theta + e, X, y)[1] - p.objective.value_and_grad(theta - e, X, y)[1]) / (2 * h)
    return float(np.linalg.eigvalsh((H + H.T) / 2)[0])


def test_convexity_logistic_mse_false_with_a_valid_witness_bce_true(tmp_path):
    cfg = CONFIGS / "logistic_mse_nonconvex.yaml"
    mse = run(cfg, ["train.steps=50"], tmp_path).summary["convexity"]
    assert mse["convex"] is False and mse["min_hessian_eigenvalue"] < 0
    assert _min_eig_at(cfg, "mse", mse["witness"], tmp_path) < -1e-6
    bce = run(cfg, ["loss.name=bce", "train.steps=50"], tmp_path).summary["convexity"]
    assert bce["convex"] is True and bce["witness"] is None


# --------------------------------------------------------------------------------------------
# Part 2 §5–7: the Lagrange example, by every method


@pytest.mark.parametrize("method", ["project", "primal_dual", "augmented_lagrangian"])
def test_lagrange_example_every_method(tmp_path, method):
    r = run(CONFIGS / "lagrange_example.yaml", [f"constraints.method={method}"], tmp_path)
    s, tr = r.summary, r.trace
    np.testing.assert_allclose(list(s["params"].values()), [1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(list(s["theta_star"].values()), [1.0, 1.0], atol=1e-14)
    assert s["f_star"] == pytest.approx(2.0, abs=1e-14)
    assert s["multipliers"]["equality"] == pytest.approx([-2.0], abs=1e-12)  # ν = −2
    assert s["dual_optimum"] == pytest.approx(2.0, abs=1e-12) and abs(s["duality_gap_star"]) < 1e-12
    assert tr["kkt_residual"].iloc[-1] < 1e-12 and tr["kkt_residual"].iloc[0] > 0.5
    if method != "project":
        assert abs(tr["duality_gap"].iloc[-1]) < 1e-12
        assert np.all(tr["dual_value"].dropna() <= 2.0 + 1e-12)  # weak duality along the way
        assert s["final_multipliers"]["equality"] == pytest.approx([-2.0], abs=1e-10)


# --------------------------------------------------------------------------------------------
# Part 2 §8: constrained least squares against an independent QP (cvxpy)

LSQ_CONSTRAINED = {
    "seed": 3,
    "dataset": {"name": "synthetic_linear", "n_samples": 40, "n_features": 3, "noise": 0.3},
    "model": "linear", "loss": "half_mse", "batch": "full",
    "constraints": {"lower": [0.0, -0.2, None, None], "upper": [0.3, None, None, None],
                    "inequality": {"G": [[1.0, 1.0, 1.0, 0.0]], "h": [0.2]},
                    "method": "project", "dual_lr": 0.5, "rho": 1.0},
    "optimizer": {"name": "gd", "lr": 0.2}, "train": {"steps": 1500},
}


def _cvxpy_reference(problem):
    cp = pytest.importorskip("cvxpy")
    X, y = problem.data.X, problem.data.y
    Xt = np.column_stack([X, np.ones(len(X))])
    th = cp.Variable(4)
    cons = [th[0] >= 0, th[1] >= -0.2, th[0] <= 0.3, th[0] + th[1] + th[2] <= 0.2]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Xt @ th - y) / len(y)), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return th.value, prob.value


@pytest.mark.parametrize("method", ["project", "primal_dual", "augmented_lagrangian"])
def test_constrained_least_squares_every_method_reaches_the_reference(tmp_path, method):
    from optrun import config as config_mod
    from optrun.prepare import prepare

    r = run(LSQ_CONSTRAINED, [f"constraints.method={method}"], tmp_path)
    s, tr = r.summary, r.trace
    ts, fs = _cvxpy_reference(prepare(config_mod.load(LSQ_CONSTRAINED)))
    np.testing.assert_allclose(list(s["theta_star"].values()), ts, atol=1e-7)
    assert s["f_star"] == pytest.approx(fs, rel=1e-9)
    assert any(any(v) if isinstance(v, list) else bool(v) for v in s["active"].values())  # something binds
    np.testing.assert_allclose(list(s["params"].values()), list(s["theta_star"].values()), atol=1e-6)
    assert tr["kkt_residual"].iloc[-1] < 1e-6 and tr["infeasibility"].iloc[-1] < 1e-6
    if method != "project":
        assert abs(tr["duality_gap"].iloc[-1]) < 1e-6
        assert abs(s["duality_gap_star"]) < 1e-10


def test_infeasible_constraints_exit_2_with_the_reason(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**LSQ_CONSTRAINED, "constraints": {"lower": 1.0, "upper": 0.0}}))
    res = cli("train", cfg, "--out", tmp_path / "runs", "--no-plots")
    assert res.exit_code == 2 and "empty feasible set" in res.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    cfg.write_text(yaml.safe_dump({**LSQ_CONSTRAINED, "constraints": {"equality": {"A": [[1, 0, 0, 0], [2, 0, 0, 0]], "b": [1, 1]}}}))
    res = cli("train", cfg, "--out", tmp_path / "runs", "--no-plots")
    assert res.exit_code == 2 and "inconsistent equalities" in res.output


def test_a_start_outside_the_set_is_projected(tmp_path):
    r = run(CONFIGS / "lagrange_example.yaml", ["train.steps=1", "train.log_every=1"], tmp_path)
    assert r.summary["optimizer_report"]["projected_start"] is True
    # row 0 is the projected start: (3, 0) onto x1 + x2 = 2 is (2.5, -0.5)
    assert r.trace[["x1", "x2"]].iloc[0].tolist() == pytest.approx([2.5, -0.5], abs=1e-15)
    inside = run(CONFIGS / "lagrange_example.yaml", ["train.steps=1", "model.init=[2,0]"], tmp_path)
    assert inside.summary["optimizer_report"]["projected_start"] is False


# --------------------------------------------------------------------------------------------
# L1 exactly: ISTA O(1/k), FISTA O(1/k²), exact zeros


def test_ista_fista_rates_and_exact_zeros(tmp_path):
    cfg = CONFIGS / "lasso_ista_fista.yaml"
    runs = {o: run(cfg, [f"optimizer.name={o}", "train.steps=200"], tmp_path) for o in ("ista", "fista", "sgd")}
    s = runs["ista"].summary
    f_star, L = s["f_star"], 1.0 / s["optimizer_report"]["step_size"]
    theta0 = np.zeros(len(s["params"]))
    R2 = float(np.sum((theta0 - np.array(list(s["theta_star"].values()))) ** 2))
    for o, bound in (("ista", lambda k: L * R2 / (2 * k)), ("fista", lambda k: 2 * L * R2 / (k + 1) ** 2)):
        tr = runs[o].trace
        k = tr["step"].to_numpy()[1:]
        gap = tr["loss"].to_numpy()[1:] - f_star
        assert np.all(gap <= bound(k) + 1e-12), o  # Beck & Teboulle (2009), Thms 3.1 and 4.4
        assert np.all(gap >= -1e-12), o
    zeros = [k for k, v in s["theta_star"].items() if v == 0.0]
    assert zeros and set(s["support"]) == set(s["theta_star"]) - set(zeros) - {"b"}
    for o in ("ista", "fista"):
        p = runs[o].summary["params"]
        assert all(p[k] == 0.0 for k in zeros), o
        assert runs[o].trace["nnz"].iloc[-1] == len(s["support"])
    # subgradient descent never lands on an exact zero
    assert runs["sgd"].trace["nnz"].iloc[-1] == len(s["params"]) - 1


# --------------------------------------------------------------------------------------------
# §9.2 odds and ends: steps 0, the intercept-only model


def test_steps_zero_writes_row_zero_only(tmp_path):
    r = run(CONFIGS / "mle_gaussian.yaml", ["train.steps=0"], tmp_path)
    assert len(r.trace) == 1 and r.trace["step"].iloc[0] == 0
    assert r.summary["steps"] == 0 and r.summary["status"] == "completed"
    assert r.summary["params"] == {"w_weight": 0.0, "b": 0.0}


def test_intercept_only_model(tmp_path):
    cfg = {"dataset": {"name": "women", "features": []}, "model": "linear", "loss": "half_mse",
           "optimizer": {"name": "gd", "lr": 0.5}, "batch": "full", "train": {"steps": 60}}
    r = run(cfg, tmp=tmp_path)
    heights = np.arange(58.0, 73.0)
    assert list(r.summary["params"]) == ["b"]
    assert r.summary["theta_star"]["b"] == pytest.approx(heights.mean(), rel=1e-15)
    assert r.summary["params"]["b"] == pytest.approx(heights.mean(), rel=1e-12)
    with pytest.raises(OptrunError, match="no parameter"):
        run(cfg, ["model.fit_intercept=false"], tmp_path)


# --------------------------------------------------------------------------------------------
# Regressions found working through the lecture


def test_a_model_without_data_reruns_from_its_config_yaml_and_compares(tmp_path):
    # config.yaml of a function/quadratic run holds loss {name: null, l2: 0, l1: 0}; it used to be
    # refused ("model function is its own objective"), so rerun, compare and sweep all failed
    first = run(CONFIGS / "x_squared_gd.yaml", ["train.steps=2"], tmp_path)
    again = run(first.run_dir / "config.yaml", tmp=tmp_path / "again")
    assert again.trace["x1"].tolist() == first.trace["x1"].tolist()
    res = cli("compare", CONFIGS / "lagrange_example.yaml", "--vary", "constraints.method=project,primal_dual",
              "--out", tmp_path / "cmp", "--no-plots")
    assert res.exit_code == 0, res.output
    (csv,) = (tmp_path / "cmp").glob("*/comparison.csv")
    assert "failed" not in csv.read_text()
    with pytest.raises(OptrunError, match="its own objective"):
        run(CONFIGS / "x_squared_gd.yaml", ["loss.l2=0.1"], tmp_path)


def test_ridge_with_l2_from_the_ball_multiplier_has_the_same_theta_star(tmp_path):
    ball = run(CONFIGS / "ridge_vs_ball.yaml", ["train.steps=0"], tmp_path).summary
    w = np.array(list(ball["theta_star"].values()))[:-1]
    r, lam = 1000.0, ball["multipliers"]["norm"]
    assert ball["active"]["norm"] is True and np.linalg.norm(w) == pytest.approx(r, rel=1e-12) and lam > 0
    ridge = run(CONFIGS / "ridge_vs_ball.yaml", ["train.steps=0", "constraints=null", f"loss.l2={lam / r!r}"], tmp_path).summary
    np.testing.assert_allclose(list(ridge["theta_star"].values()), list(ball["theta_star"].values()), rtol=1e-10)


def test_nnls_on_longley_against_scipy(tmp_path):
    from scipy.optimize import nnls

    s = run(CONFIGS / "nnls.yaml", ["train.steps=0"], tmp_path).summary
    d = np.loadtxt(CONFIGS.parent / "datasets" / "longley.csv", delimiter=",", skiprows=1)
    X, y = (d[:, :-1] - d[:, :-1].mean(0)) / d[:, :-1].std(0), d[:, -1]
    w, _ = nnls(X, y - y.mean())  # centred features: the free intercept is mean(y)
    ts = np.array(list(s["theta_star"].values()))
    np.testing.assert_allclose(ts[:-1], w, rtol=1e-9, atol=1e-9 * np.abs(w).max())
    assert ts[-1] == pytest.approx(y.mean(), rel=1e-14)
    assert [bool(a) for a in s["active"]["lower"][:-1]] == list(w == 0)
    assert all(m > 0 for m, a in zip(s["multipliers"]["lower"], s["active"]["lower"]) if a)


def test_an_empty_polyhedron_says_why_once(tmp_path):
    cfg = {**LSQ_CONSTRAINED, "constraints": {"inequality": {"G": [[1, 0, 0, 0], [-1, 0, 0, 0]], "h": [-1, -1]}}}
    with pytest.raises(OptrunError) as err:
        run(cfg, tmp=tmp_path)
    msg = str(err.value)
    assert msg.count("feasible set is empty") == 1 and "the inequality constraints cannot all hold" in msg


def test_lasso_and_the_l1_ball_of_its_radius_have_the_same_theta_star(tmp_path):
    """Issue #14 part 4: the l1 penalty's θ*(l1) and the least squares constrained to the l1 ball of
    radius ‖w*(l1)‖₁ are the same point (the penalty is the ball's Lagrangian form, with the
    ball's multiplier μ = l1)."""
    lasso = run(CONFIGS / "lasso_ista_fista.yaml", ["train.steps=0"], tmp_path).summary
    w = np.array(list(lasso["theta_star"].values()))[:-1]
    radius = float(np.abs(w).sum())
    ball = run(CONFIGS / "lasso_ista_fista.yaml",
               ["train.steps=0", "loss.l1=0", f"constraints={{norm: {{ord: 1, radius: {radius!r}}}}}"], tmp_path).summary
    a, b = (np.array(list(s["theta_star"].values())) for s in (lasso, ball))
    np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9)
    assert ball["active"]["norm"] is True
    assert ball["multipliers"]["norm"] == pytest.approx(2.0, rel=1e-6)  # the config's l1
