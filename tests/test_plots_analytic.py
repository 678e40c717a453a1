"""Runs without data (``model: function | quadratic``) in the ordinary figures, and the ``evals``
x axis: checked on the titles, warnings, file lists and the arrays behind the curves."""

from __future__ import annotations

import json

import numpy as np
import pytest

import optrun
from optrun.plots import arrays, catalog
from optrun.plots.labels import analytic_text, problem_text
from optrun.plots.model import X_COLUMNS, X_LABELS, Y_KINDS


def test_analytic_problem_text_names_the_formula():
    ros = {"model": {"name": "function", "function": "rosenbrock", "function_params": {}}, "loss": {"name": None}}
    assert problem_text(ros) == "rosenbrock (a=1, b=100)"  # the registry's defaults filled in
    ros["model"]["function_params"] = {"b": 10.0}
    assert problem_text(ros) == "rosenbrock (a=1, b=10)"
    assert problem_text({"model": {"name": "function", "function": "himmelblau"}}) == "himmelblau"
    quad = {"model": {"name": "quadratic", "A": [[2.0]], "b": [1.0], "c": 0.0}, "constraints": {"upper": [1.0]}}
    assert problem_text(quad) == "quadratic f(θ) = ½θᵀAθ + bᵀθ subject to constraints"
    assert analytic_text({"name": "quadratic", "c": 2.5}) == "quadratic f(θ) = ½θᵀAθ + bᵀθ + 2.5"


@pytest.mark.parametrize("model", [{"name": "function", "function": "x_squared", "init": [3.0]},
                                   {"name": "quadratic", "A": [[3, 1], [1, 2]], "b": [-1, 0], "init": [2, 2]}])
def test_runs_without_data_draw_without_a_warning(tmp_path, capsys, model):
    res = optrun.train({"model": model, "optimizer": {"name": "sgd", "lr": 0.1}, "train": {"steps": 8}},
                       out=tmp_path, quiet=True)
    err = capsys.readouterr().err
    assert "not drawn" not in err and "cannot reload" not in err, err
    summary = json.loads((res.run_dir / "summary.json").read_text())
    assert "data.png" not in summary["plots"]
    assert sorted(summary["plots"]) == sorted(p.name for p in (res.run_dir / "plots").glob("*.png"))
    assert "contour.png" in summary["plots"]
    groups = arrays.group_runs([arrays.load_run(res.run_dir)])[0]
    ctx = catalog.Context(groups)
    assert ctx.load_problem() is None  # the objective is rebuilt from the config alone
    title = ctx.titles[0]
    assert "?" not in title and "None" not in title and "regression" not in title
    assert title.startswith("x_squared" if model["name"] == "function" else "quadratic f(θ) = ½θᵀAθ + bᵀθ")
    if model["name"] == "quadratic":  # the plain contour builder reloads it too (not only the lecture's)
        cd = arrays.contour_data(groups, "step")
        assert not isinstance(cd, str) and cd.f_ref == pytest.approx(-0.2, abs=1e-12)  # f* = −½bᵀA⁻¹b


def test_x_evals_on_every_curve_figure(tmp_path):
    from typer.testing import CliRunner

    from optrun.cli.app import app

    assert X_COLUMNS["evals"] == "evals" and "gradient evaluations" in X_LABELS["evals"]
    cfg = {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": 24, "n_features": 1, "noise": 0.3},
           "model": "linear", "loss": "half_mse", "optimizer": {"name": "sgd", "lr": 0.1},
           "batch": {"mode": "minibatch", "size": 4}, "train": {"steps": 12}}
    run_dir = optrun.train(cfg, out=tmp_path / "runs", plots=False).run_dir
    run = arrays.load_run(run_dir)
    evals = run.trace["evals"].to_numpy(float)
    np.testing.assert_array_equal(np.diff(evals), 4.0)  # a minibatch of 4 costs 4 per-sample gradients a step
    groups = arrays.group_runs([run])[0]
    for y in Y_KINDS:
        panel = arrays.curve_panel(groups, "evals", y)
        assert panel.xlabel == X_LABELS["evals"]
        for s in panel.series:
            assert set(s.x) <= set(evals)
    params = arrays.params_data(groups, "evals")
    assert params.xlabel == X_LABELS["evals"]
    out = tmp_path / "figs"
    res = CliRunner().invoke(app, ["plot", str(run_dir), "--x", "evals", "--out", str(out), "-q",
                                   *[a for y in Y_KINDS for a in ("--y", y)]])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.rglob("*.png")) == sorted(f"{y}.png" for y in Y_KINDS)
    res = CliRunner().invoke(app, ["plot", str(run_dir), "--x", "evals", "--out", str(tmp_path / "all"), "-q"])
    assert res.exit_code == 0 and not list((tmp_path / "all").rglob("*_error.txt")), res.output
