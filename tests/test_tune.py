"""optrun tune (equal budgets, Sobol points, resume), the figures of many runs and the theory check."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import yaml

from optrun import api, config, tune as T
from optrun.errors import OptrunError
from optrun.plots import many


def _config(tmp_path, steps=15, **extra):
    cfg = {"name": "t", "seed": 3,
           "dataset": {"name": "synthetic_linear", "n_samples": 40, "n_features": 2, "noise": 0.5,
                       "condition_number": 10},
           "model": {"name": "linear", "fit_intercept": False, "init": [0.0, 2.0]},
           "loss": "half_mse", "optimizer": {"name": "sgd", "lr": 0.05}, "batch": "full",
           "train": {"steps": steps}, **extra}
    p = tmp_path / "base.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


# ---- search spaces and points --------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The balance properties")
def test_sobol_search_uses_the_sobol_sequence_without_its_corner():
    qmc = pytest.importorskip("scipy.stats.qmc")
    pts = T.unit_points("sobol", 20, 3)
    assert np.array_equal(pts, qmc.Sobol(3, scramble=False).random(21)[1:])
    dims, fixed = T.space_for("adam")
    assert [d.key for d in dims] == ["lr", "betas.0", "betas.1"] and fixed == {}
    got = T.settings(dims, fixed, "sobol", 8)
    ref = qmc.Sobol(3, scramble=False).random(9)[1:]
    for s, u in zip(got, ref):  # lr log-uniform in [1e-5, 1], betas uniform: 4 significant digits
        assert s["lr"] == pytest.approx(10 ** (-5 + 5 * u[0]), rel=5e-4)
        assert s["betas.0"] == pytest.approx(0.8 + 0.19 * u[1], rel=5e-4)
        assert s["lr"] == float(f"{s['lr']:.4g}")  # prints exactly


def test_grid_shape_is_exact_and_balanced():
    assert T.grid_shape(20, 1) == [20]
    assert T.grid_shape(20, 2) == [5, 4]
    assert T.grid_shape(20, 3) == [5, 2, 2]
    assert T.grid_shape(7, 2) == [7, 1]
    pts = T.unit_points("grid", 20, 2)
    assert pts.shape == (20, 2) and sorted(set(pts[:, 0])) == [0.1, 0.3, 0.5, 0.7, 0.9]
    r1, r2 = T.unit_points("random", 5, 2, seed=1, stream=0), T.unit_points("random", 5, 2, seed=1, stream=1)
    assert not np.array_equal(r1, r2) and np.array_equal(r1, T.unit_points("random", 5, 2, seed=1, stream=0))


def test_space_overrides_and_pairs():
    extra = [T.parse_space("momentum:lr=log(1e-3,1e-1)"), T.parse_space("momentum:momentum=0.9")]
    dims, fixed = T.space_for("momentum", extra)
    assert [d.text() for d in dims] == ["log(0.001,0.1)"] and fixed == {"momentum": 0.9}
    assert T.hyperparams("adam", {"lr": 0.01, "betas.1": 0.99}) == {"lr": 0.01, "betas": [0.9, 0.99]}
    assert T.parse_dim("x", "a|b").at(0.6) == "b" and T.parse_dim("x", "int(1,4)").at(0.99) == 4
    with pytest.raises(OptrunError, match="no hyperparameter"):
        T.space_for("sgd", [T.parse_space("sgd:betas=lin(0,1)")])
    with pytest.raises(OptrunError, match="positive"):
        T.parse_dim("lr", "log(0,1)")


@pytest.mark.parametrize("search", T.SEARCHES)
def test_equal_budgets_counted_per_optimizer(tmp_path, search):
    raw = config.read_base_config(_config(tmp_path))
    planned, spaces = T.plan_trials(raw, ["sgd", "momentum", "adam"], 6, search, "final_subopt")
    counts = {o: sum(p.optimizer == o for p in planned) for o in ("sgd", "momentum", "adam")}
    assert counts == {"sgd": 6, "momentum": 6, "adam": 6}
    assert len({p.config_hash for p in planned}) == 18  # every trial is a distinct config
    assert spaces["momentum"] == {"lr": "log(0.0001,1)", "momentum": "lin(0,0.99)"}


# ---- a whole tune --------------------------------------------------------------------------


def test_tune_ranks_every_optimizer_and_resumes(tmp_path):
    cfg = _config(tmp_path)
    res = T.tune(cfg, ["sgd", "momentum", "adam"], budget=4, seeds=2, out=tmp_path / "o", plots=True)
    trials = list(csv.DictReader(open(res.folder / "trials.csv")))
    assert {o: sum(r["optimizer"] == o for r in trials) for o in ("sgd", "momentum", "adam")} == \
        {"sgd": 4, "momentum": 4, "adam": 4}
    ranking = list(csv.DictReader(open(res.folder / "ranking.csv")))
    assert [r["rank"] for r in ranking] == ["1", "2", "3"] and {r["optimizer"] for r in ranking} == {"sgd", "momentum", "adam"}
    for row in res.ranking:  # the band holds the median; the chosen lr is the best trial's
        assert row["seeds"] == 2 and row["band_low"] <= row["score"] <= row["band_high"]
        mine = [r for r in trials if r["optimizer"] == row["optimizer"] and r["score"]]
        best = min(mine, key=lambda r: float(r["score"]))
        assert row["hp.lr"] == float(best["hp.lr"]) and row["trial_score"] == pytest.approx(float(best["score"]))
    scores = [r["score"] for r in res.ranking]
    assert scores == sorted(scores)
    meta = json.loads((res.folder / "tune.json").read_text())
    assert meta["seeds"] == [4, 5] and meta["trial_seed"] == 3 and meta["trials_per_optimizer"] == 4
    assert {p.name for p in res.figures} == {"tune.png", "sensitivity.png"}
    runs = sorted(p.name for p in (res.folder / "runs").iterdir())
    assert len(runs) == 12 + 6
    again = T.tune(cfg, ["sgd", "momentum", "adam"], budget=4, seeds=2, out=tmp_path / "o", plots=False)
    assert again.folder == res.folder and again.skipped == 18
    assert sorted(p.name for p in (res.folder / "runs").iterdir()) == runs
    assert [r["score"] for r in again.ranking] == scores


def test_tune_to_target_logs_every_step_and_censors(tmp_path):
    cfg = _config(tmp_path, steps=30)
    res = T.tune(cfg, ["sgd", "adagrad"], budget=3, seeds=2, score="steps_to_target", out=tmp_path / "o",
                 plots=False, spaces=["sgd:lr=1e-4"])  # a fixed tiny lr: sgd never reaches the target
    meta = json.loads((res.folder / "tune.json").read_text())
    assert meta["resolution"]["log_every"] == 1 and res.target > 0
    sgd = next(r for r in res.ranking if r["optimizer"] == "sgd")
    assert sgd["score"] is None and sgd["score_above"] == 30 and sgd["reached"] == 0 and sgd["rank"] == 2


def test_tune_rejects_bad_arguments_before_running(tmp_path):
    cfg = _config(tmp_path)
    with pytest.raises(OptrunError, match="listed twice"):
        T.tune(cfg, ["sgd", "sgd"], budget=2, out=tmp_path / "o")
    with pytest.raises(OptrunError, match="not one of the tuned"):
        T.tune(cfg, ["sgd"], budget=2, spaces=["adam:lr=log(1e-3,1)"], out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


# ---- figures of many runs ------------------------------------------------------------------


def test_sensitivity_and_heatmap_data_from_a_known_table(tmp_path):
    pts = [{"optimizer": "sgd", "lr": 0.1, "score": 1.0, "status": "completed"},
           {"optimizer": "sgd", "lr": 0.1, "score": 3.0, "status": "completed"},
           {"optimizer": "sgd", "lr": 1.0, "score": math.inf, "status": "diverged"},
           {"optimizer": "sgd", "lr": 0.01, "score": 5.0, "status": "completed"}]
    d = many.sensitivity_data(pts)["sgd"]
    assert d["lr"].tolist() == [0.01, 0.1, 1.0] and d["median"][:2].tolist() == [5.0, 2.0]
    assert d["low"][1] == 1.0 and d["high"][1] == 3.0 and np.isnan(d["median"][2]) and d["diverged"].tolist() == [1.0]
    hm = many.heatmap_data([{**p, "momentum": 0.9 if i % 2 else 0.0} for i, p in enumerate(pts)], "lr", "momentum")
    assert hm["x"] == [0.01, 0.1, 1.0] and hm["y"] == [0.0, 0.9]
    assert hm["mean"][0, 1] == 1.0 and hm["mean"][1, 1] == 3.0 and hm["diverged"][0, 2] and hm["count"][0, 2] == 0
    assert many.sensitivity_figure(pts, tmp_path / "s.png").is_file()
    assert many.heatmap_figure([{**p, "momentum": 0.9 if i % 2 else 0.0} for i, p in enumerate(pts)], "lr",
                               "momentum", tmp_path / "h.png").is_file()
    costs = np.array([[10.0, 20.0], [5.0, math.inf], [8.0, 4.0]])
    assert many.profile_figure(costs, ["a", "b"], tmp_path / "p.png").is_file()
    assert many.profile_figure(costs, ["a", "b"], tmp_path / "d.png", kind="data").is_file()
    np.testing.assert_allclose(many.relative_subopt(np.array([3.0, 2.0, 1.5]), 1.0), [1.0, 0.5, 0.25])


def _gd_run(tmp_path, lr, steps=60):
    cfg = yaml.safe_load(_config(tmp_path, steps=steps).read_text())
    cfg["optimizer"] = {"name": "sgd", "lr": lr}
    cfg["train"]["log_every"] = 1
    res = api.train(cfg, out=tmp_path / f"r{lr}", plots=False)
    from optrun.rundir import RunFolder

    run = RunFolder(res.run_dir)
    return run.summary, run.trace


def test_theory_bound_holds_for_gd_and_the_check_fires_on_a_wrong_lr(tmp_path):
    summary, trace = _gd_run(tmp_path, 0.05)
    lam = np.asarray(summary["diagnostics"]["hessian_eigenvalues"])
    steps, loss = trace["step"].to_numpy(float), trace["loss"].to_numpy(float)
    th = many.theory_curve(summary, {"name": "sgd", "lr": 0.05}, steps, loss)
    assert th is not None and th["violation"] is None
    assert th["rate"] == pytest.approx(np.max(np.abs(1 - 0.05 * lam)))
    # the slowest mode dominates: the measured rate per step tends to rho^2
    sub = loss - summary["f_star"]
    assert sub[-1] / sub[-2] == pytest.approx(th["rate"] ** 2, rel=1e-3)
    # claim a larger stable lr than the one used (2/(L + mu), the fastest): the run breaks it
    wrong = 2.0 / (lam.max() + lam.min())
    th2 = many.theory_curve(summary, {"name": "sgd", "lr": wrong}, steps, loss)
    assert th2["violation"] is not None and th2["violation"] > 0
    path, found = many.theory_figure([("claimed", summary, {"name": "sgd", "lr": wrong}, steps, loss)],
                                     tmp_path / "th.png", relative=True)
    assert path.is_file() and found[0]["violation_step"] == steps[th2["violation"]]


def test_theory_figure_is_drawn_for_gradient_descent_and_the_bound_holds(tmp_path):
    """The `theory` figure of the catalog: drawn for a full-batch GD run (constant lr), with the
    rate ρ^{2k}(f₀ − f*) of the reference's spectrum above the measured curve; not for adam."""
    from optrun.plots import catalog, rundata

    base = {"seed": 3, "dataset": {"name": "synthetic_linear", "n_samples": 200, "n_features": 2, "condition_number": 20},
            "model": {"name": "linear", "fit_intercept": False, "init": [0.0, 3.5]}, "loss": "half_mse",
            "batch": "full", "train": {"steps": 60}}
    gd = api.train({**base, "optimizer": {"name": "sgd", "lr": 0.05}}, out=tmp_path, plots=False)
    adam = api.train({**base, "optimizer": {"name": "adam", "lr": 0.05}}, out=tmp_path, plots=False)
    spec = catalog.FIGURES["theory"]
    run = rundata.load_run(gd.run_dir)
    assert spec.applies([run]) and not spec.applies([rundata.load_run(adam.run_dir)])
    th = many.theory_curve(run.summary, run.config["optimizer"], run.trace["step"].to_numpy(float),
                           run.trace["loss"].to_numpy(float))
    lam = np.array(run.summary["diagnostics"]["hessian_eigenvalues"])
    assert th["rate"] == pytest.approx(max(abs(1 - 0.05 * lam)), rel=1e-12) and th["violation"] is None
    # `optrun plot RUN` (draw_runs) draws it; a run's own figures (train: draw_run) leave it out
    # unless the config's plots section asks for it
    from optrun.plots import draw_run, draw_runs
    from optrun.plots.style import FigureOptions

    assert "theory.png" in [p.name for p in draw_runs([gd.run_dir], tmp_path / "p")]
    assert "theory.png" not in [p.name for p in draw_run(gd.run_dir)]
    asked = FigureOptions(figures=("loss", "theory"))
    assert [p.name for p in draw_run(gd.run_dir, out=tmp_path / "q", options=asked)] == ["loss.png", "theory.png"]
