"""Stopping rules (train.target, patience, time_budget) and the geometric logging cadence."""

from __future__ import annotations

import json

import numpy as np
import pytest

import optrun
from optrun.errors import OptrunError
from optrun.prepare import geometric_steps
from optrun.stopping import StopRules

GD = {"seed": 0, "dataset": {"name": "women", "standardize": True}, "model": "linear", "loss": "half_mse",
      "optimizer": {"name": "sgd", "lr": 0.5}, "batch": "full", "train": {"steps": 2000}}


def test_target_stops_at_the_first_step_below_it(tmp_path):
    r = optrun.train(GD, overrides=["train.target=1e-8"], out=tmp_path, plots=False)
    gap = r.trace["loss"].to_numpy() - r.summary["f_star"]
    k = int(np.argmax(gap <= 1e-8))  # the first row at or below the target
    assert r.summary["status"] == "converged" and "target reached" in r.summary["stop_reason"]
    assert r.summary["steps"] == r.trace["step"].iloc[k] and k == len(gap) - 1
    assert gap[k - 1] > 1e-8


def test_relative_target_uses_the_initial_gap(tmp_path):
    r = optrun.train(GD, overrides=["train.target=1e-3", "train.target_relative=true"], out=tmp_path, plots=False)
    gap = r.trace["loss"].to_numpy() - r.summary["f_star"]
    assert gap[-1] <= 1e-3 * gap[0] < gap[-2]


def test_target_resolution_does_not_depend_on_the_budget(tmp_path):
    """Mini-batch runs check the target 8 times per epoch whatever the budget (and the logging)."""
    cfg = {**GD, "dataset": {"name": "synthetic_linear", "n_samples": 400, "n_features": 3}, "batch": {"mode": "minibatch", "size": 10},
           "optimizer": {"name": "sgd", "lr": 0.05}}
    steps = [optrun.train(cfg, overrides=["train.target=1e-2", f"train.epochs={e}"], out=tmp_path, plots=False).summary["steps"]
             for e in (100, 500)]
    assert steps[0] == steps[1] and steps[0] % 5 == 0  # 40 steps per epoch / 8 checks


def test_target_without_f_star_is_a_user_error(tmp_path):
    cfg = {**GD, "dataset": "iris_virginica", "model": "logistic", "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.1}}
    with pytest.raises(OptrunError, match="train.target: needs the exact optimum"):
        optrun.train(cfg, overrides=["train.target=1e-3"], out=tmp_path, plots=False)


def test_patience_and_time_budget_rules():
    rules = StopRules(patience=3, min_progress=0.1)
    rules.start(10.0)
    assert rules.check(1, 8.0, 0.0) is None  # progress: 20 %
    assert rules.check(2, 7.9, 0.0) is None and rules.check(3, 7.8, 0.0) is None
    status, reason = rules.check(4, 7.7, 0.0)
    assert status == "completed" and "in 3 steps" in reason
    timed = StopRules(time_budget=2.0)
    timed.start(1.0)
    assert timed.check(5, None, 1.9) is None and timed.check(6, None, 2.0)[0] == "completed"


def test_geometric_cadence():
    steps = sorted(geometric_steps(10_000))
    assert steps[:10] == list(range(1, 11)) and steps[-1] == 10_000
    ratios = np.diff(np.log(steps[10:]))
    assert np.all(ratios > 0) and np.all(ratios <= np.log(1.1) + 0.1)
    assert 60 < len(steps) < 120  # ~24 per decade over three decades


def test_geometric_trace(tmp_path):
    r = optrun.train(GD, overrides=["train.log_every=geometric", "optimizer.lr=0.01"], out=tmp_path, plots=False)
    assert r.trace["step"].tolist() == [0, *sorted(geometric_steps(2000))]
    assert json.loads((r.run_dir / "summary.json").read_text())["trace_rows"] == len(r.trace)
