"""The math under fair comparisons: Sobol points, right-censored medians, profiles, theory rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optrun import stats, theory
from optrun.sobol import MAX_DIM, sobol


@pytest.mark.parametrize("d", [1, 2, 3, 7, MAX_DIM])
def test_sobol_equals_scipy_unscrambled(d):
    qmc = pytest.importorskip("scipy.stats.qmc")
    assert np.array_equal(sobol(512, d), qmc.Sobol(d, scramble=False).random(512))


def test_sobol_first_points_by_hand():
    # dimension 1 is van der Corput in base 2 (Gray order), dimension 2 uses m = 1
    assert sobol(4, 2).tolist() == [[0, 0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]
    with pytest.raises(ValueError):
        sobol(4, MAX_DIM + 1)


def test_censored_median_counts_the_unreached_seed():
    # the rmsprop case: four seeds reached, one did not; the median is 144, not 121
    med = stats.censored_quantile([144, 200, 98, 98, None], budget=500)
    assert (med.value, med.reached, med.n) == (144, 4, 5)
    # three of five unreached: the median is not observed, only known to exceed the budget
    med = stats.censored_quantile([10, None, 12, None, None], budget=300)
    assert med.value is None and med.above == 300 and med.text() == "> 300 (2/5 reached)"


def test_performance_and_data_profiles_from_a_known_table():
    inf = math.inf
    # 3 problems x 2 solvers: solver 0 best on p0, p1; solver 1 best on p2; solver 1 fails p1
    costs = np.array([[10.0, 20.0], [5.0, inf], [8.0, 4.0]])
    taus = np.array([1.0, 2.0, 4.0])
    rho = stats.performance_profile(costs, taus)
    np.testing.assert_allclose(rho, [[2 / 3, 1.0, 1.0], [1 / 3, 2 / 3, 2 / 3]])
    d = stats.data_profile(costs, np.array([4.0, 10.0, 20.0]))
    np.testing.assert_allclose(d, [[0.0, 1.0, 1.0], [1 / 3, 1 / 3, 2 / 3]])


def _quadratic_gd(H, theta0, theta_star, lr, steps):
    e, out = theta0 - theta_star, []
    for _ in range(steps + 1):
        out.append(0.5 * e @ H @ e)
        e = e - lr * (H @ e)
    return np.array(out)


def test_gd_theory_curve_equals_the_measured_curve():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = np.array([0.1, 0.5, 2.0, 5.0])
    H = Q @ np.diag(lam) @ Q.T
    theta_star, theta0 = rng.standard_normal(4), rng.standard_normal(4)
    lr = 0.3
    measured = _quadratic_gd(H, theta0, theta_star, lr, 60)
    w, V = np.linalg.eigh(H)
    curve = theory.gd_quadratic_curve(lr, w, V.T @ (theta0 - theta_star), np.arange(61))
    np.testing.assert_allclose(curve, measured, rtol=1e-10, atol=1e-300)
    bound = theory.gd_bound(lr, w, measured[0], np.arange(61))
    assert theory.first_violation(measured, bound) is None
    # the check fires on a deliberately wrong lr: the run used 0.45 > 2/L = 0.4 (it diverges)
    wrong = _quadratic_gd(H, theta0, theta_star, 0.45, 60)
    assert theory.first_violation(wrong, bound) is not None


def test_optimal_settings_match_the_textbook():
    L, mu = 100.0, 1.0
    assert theory.optimal_gd_lr(L, mu) == pytest.approx(2 / 101)
    assert theory.gd_rate(2 / 101, np.array([mu, L])) == pytest.approx(99 / 101)
    hb = theory.heavy_ball_optimal(L, mu)
    assert hb["rate"] == pytest.approx(9 / 11) and hb["momentum"] == pytest.approx((9 / 11) ** 2)
    assert hb["lr"] == pytest.approx(4 / 121)
    nes = theory.nesterov_strongly_convex(L, mu)
    assert nes == pytest.approx({"lr": 0.01, "momentum": 9 / 11, "rate": 0.9})


def test_heavy_ball_at_its_optimal_setting_contracts_at_its_rate():
    lam = np.array([1.0, 3.0, 10.0, 100.0])
    H = np.diag(lam)
    hb = theory.heavy_ball_optimal(lam.max(), lam.min())
    theta, prev = np.ones(4), np.ones(4)
    for _ in range(400):
        theta, prev = theta - hb["lr"] * (H @ theta) + hb["momentum"] * (theta - prev), theta
    # ‖e_k‖ ~ k·q^k for the double root at the extreme eigenvalues
    assert np.linalg.norm(theta) <= 400 * hb["rate"] ** 400 * 10
    assert np.linalg.norm(theta) > hb["rate"] ** 400 * 1e-3


def test_no_rate_bound_for_a_constrained_run(tmp_path):
    # the GD bound is a rate of unconstrained descent; on the Lagrange example an infeasible
    # primal-dual iterate sits below f*, and the figure drew "breaks its bound" spikes
    from pathlib import Path

    import optrun
    from optrun.plots.many import has_theory, theory_curve
    from optrun.plots.rundata import load_run

    cfg = Path(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    free = optrun.train(cfg, overrides=["constraints=null"], out=tmp_path, plots=False)
    run = optrun.train(cfg, overrides=["constraints.method=primal_dual"], out=tmp_path, plots=False)
    opt = {"name": "sgd", "lr": 0.1}
    steps, loss = run.trace["step"].to_numpy(float), run.trace["loss"].to_numpy(float)
    assert theory_curve(free.summary, opt, steps, free.trace["loss"].to_numpy(float)) is not None
    assert theory_curve(run.summary, opt, steps, loss) is None
    assert not has_theory([load_run(run.run_dir)])


def test_the_loss_figure_says_why_a_constrained_run_dips_below_f_star(tmp_path):
    from pathlib import Path

    import optrun
    from optrun.plots import catalog, rundata

    cfg = Path(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    run = optrun.train(cfg, overrides=["constraints.method=primal_dual"], out=tmp_path, plots=False)
    assert (run.trace["loss"] - run.summary["f_star"]).min() < -0.1  # infeasible iterates below p*
    groups, _ = rundata.group_runs([rundata.load_run(run.run_dir)])
    _, sub = catalog.build_loss(catalog.Context(groups, lecture={}))
    notes = " ".join(sub.notes)
    assert "while an iterate is infeasible" in notes and "rounding, not progress" not in notes


def test_rate_bounds_only_where_they_apply_and_floored(tmp_path):
    # the GD bound is a rate of full-batch descent on a smooth objective: not of sampled
    # gradients (the batch-mode comparison flagged its stochastic runs as "breaking" it) nor of
    # the subgradient method on an l1 objective
    from pathlib import Path

    import optrun
    from optrun.plots import rundata
    from optrun.plots.many import has_theory, run_theory, theory_data

    configs = Path(__file__).resolve().parents[1] / "configs"
    base = configs / "compare_batch_modes.yaml"

    def run(cfg, *overrides):
        return rundata.load_run(optrun.train(cfg, overrides=list(overrides), out=tmp_path, plots=False).run_dir)

    full = run(base, "batch.mode=full")
    assert run_theory(full) is not None and has_theory([full])
    assert run_theory(run(base, "batch=stochastic")) is None
    assert run_theory(run(base, "batch.mode=minibatch")) is None
    lasso = run(configs / "lasso_ista_fista.yaml", "optimizer.name=sgd", "optimizer.lr=0.01", "train.steps=20")
    assert run_theory(lasso) is None and not has_theory([lasso])
    # f − f* at rounding level (a converged run) is drawn at the floor, not at 1e-300
    groups, _ = rundata.group_runs([run(base, "batch.mode=full", "train.epochs=null", "train.steps=2000",
                                        "optimizer.lr=0.5")])
    (d,) = theory_data(groups)
    assert d["color"] == groups[0].color  # the run's colour of every other figure, not matplotlib's cycle
    assert d["subopt"].min() > 0 and d["bound"].min() >= d["subopt"].min() * (1 - 1e-12) and d["subopt"].min() < 1e-12
