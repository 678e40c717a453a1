"""Vectorised sweeps (optrun/vectorized.py): a stack of runs equals the runs alone.

* the stacked objective equals :meth:`Objective.value_and_grad` row by row (rtol 1e-13);
* every trace column of every run of an lr grid equals the lone run's (engine.run) at rtol
  1e-12, for sgd, momentum, nag, adagrad, rmsprop and adam, full batch and unshuffled mini-batch;
  also a seed grid (different initial points) and a group where some runs diverge or converge;
* the torch golden trajectories pass through the stacked loop as groups of one at rtol 1e-10;
* a rule that cannot take a column falls back to the lone runs (results identical bit for bit);
* the sweep folders are what ``optrun train`` writes (config.yaml byte for byte, the summary's keys).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optrun import api, config as config_mod, engine, models, vectorized
from optrun.executors import staging
from optrun.prepare import prepare
from test_engine_golden import MANIFEST, config_for

GOLDEN = Path(__file__).parent / "golden"


class Rows:
    """A trace writer that keeps every row in memory."""

    def __init__(self):
        self.rows = []

    def record(self, scalars, theta):
        self.rows.append(np.concatenate([np.asarray(scalars, dtype=float), np.asarray(theta, dtype=float)]))

    def array(self):
        return np.array(self.rows)


def _problems(base: dict, overrides: list[dict]):
    return [prepare(config_mod.load(base, [f"{k}={v}" for k, v in o.items()])) for o in overrides]


def _alone_and_stacked(base, overrides):
    alone, stacked = [], []
    res_alone = []
    for p in _problems(base, overrides):
        w = Rows()
        res_alone.append(engine.run(p, w))
        alone.append(w)
    problems = _problems(base, overrides)
    writers = [Rows() for _ in problems]
    res_stacked = vectorized.run_group(problems, writers)
    return (alone, res_alone), (writers, res_stacked), problems


# values that pass near 0 (an intercept of 1e-6 beside O(1) weights) differ by a few ulps of the
# O(1) terms they are the difference of
ATOL = 1e-15


def _assert_same_runs(alone, stacked, columns, rtol=1e-12, normwise=False):
    """Every column at ``rtol``; ``normwise``: the parameters within rtol x the row's largest
    (a diverging run's small intercept carries the rounding of its huge weights)."""
    (wa, ra), (ws, rs) = alone, stacked
    timecol = columns.index("time_s")
    params = slice(columns.index("evals") + 1 + ("val_loss" in columns), None)
    for a, s, x, y in zip(wa, ws, ra, rs):
        A, S = a.array(), s.array()
        assert A.shape == S.shape
        A[:, timecol] = S[:, timecol] = 0.0
        if normwise:
            scale = np.abs(A[:, params]).max(axis=1, keepdims=True)
            np.testing.assert_allclose(S[:, params], A[:, params], rtol=0, atol=rtol * scale.max())
            A, S = A[:, :params.start], S[:, :params.start]
        np.testing.assert_allclose(S, A, rtol=rtol, atol=ATOL)
        assert (x.status, x.stop_reason, x.steps, x.samples, x.evals) == (y.status, y.stop_reason, y.steps, y.samples, y.evals)
        np.testing.assert_allclose(y.theta, x.theta, rtol=rtol,
                                   atol=rtol * np.abs(x.theta).max() if normwise else ATOL)
        assert y.optimizer_report == x.optimizer_report


LINEAR = {
    "seed": 3,
    "dataset": {"name": "synthetic_linear", "n_samples": 60, "n_features": 3, "noise": 0.1, "condition_number": 10},
    "model": {"name": "linear", "init": "normal"},
    "loss": {"name": "half_mse", "l2": 0.01},
    "optimizer": {"name": "sgd"},
    "batch": {"mode": "full"},
    "train": {"steps": 60, "log_every": 1},
}
LOGISTIC = {
    "seed": 1,
    "dataset": {"name": "synthetic_logistic", "n_samples": 80, "n_features": 2, "label_noise": 0.1},
    "model": "logistic", "loss": "bce",
    "optimizer": {"name": "adam"},
    "batch": {"mode": "minibatch", "size": 16, "shuffle": False},
    "train": {"steps": 50, "log_every": 3},
}


# ---- the stacked objective -------------------------------------------------------------------


@pytest.mark.parametrize("model,loss", [("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce"),
                                        ("logistic", "mse"), ("logistic", "half_mse")])
@pytest.mark.parametrize("fit_intercept,l2,reduction", [(True, 0.0, "mean"), (True, 0.3, "sum"), (False, 0.1, "mean")])
def test_stack_value_and_grad_equals_objective(model, loss, fit_intercept, l2, reduction):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = (rng.random(50) < 0.5).astype(float) if model == "logistic" else rng.standard_normal(50)
    obj = models.Objective(model=model, loss=loss, fit_intercept=fit_intercept, l2=l2, reduction=reduction)
    Theta = rng.standard_normal((7, obj.n_params(4)))
    values, G = vectorized.stack_value_and_grad(obj, Theta, X, y)
    for i, theta in enumerate(Theta):
        v, g = obj.value_and_grad(theta, X, y)
        assert values[i] == pytest.approx(v, rel=1e-13)
        np.testing.assert_allclose(G[i], g, rtol=1e-13, atol=1e-15)


def test_stack_value_and_grad_refuses_l1():
    obj = models.Objective(l1=0.1)
    with pytest.raises(ValueError, match="not vectorised"):
        vectorized.stack_value_and_grad(obj, np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(4))


# ---- traces equal the lone runs --------------------------------------------------------------


# below each rule's divergence threshold: a diverging run is compared norm-wise below
OPTIMIZERS = {"sgd": [0.01, 0.03, 0.05, 0.1, 0.19], "momentum": [0.01, 0.03, 0.1, 0.2],
              "nag": [0.01, 0.03, 0.1], "adagrad": [0.05, 0.2, 1.0], "rmsprop": [0.001, 0.01, 0.05],
              "adam": [0.001, 0.01, 0.1, 0.5]}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("base", [LINEAR, LOGISTIC], ids=["linear-full", "logistic-minibatch"])
def test_lr_grid_traces_equal_lone_runs(name, base):
    base = {**base, "optimizer": {"name": name}}
    alone, stacked, problems = _alone_and_stacked(base, [{"optimizer.lr": lr} for lr in OPTIMIZERS[name]])
    assert vectorized.plan_groups(problems) == [list(range(len(problems)))]
    _assert_same_runs(alone, stacked, engine.columns(problems[0]))


def test_seed_grid_with_shared_data_is_one_stack():
    """With data from a CSV, the seed changes only θ0: one stack of different starting points."""
    base = {**config_for(MANIFEST[0]), "model": {"name": "linear", "init": "normal"}, "train": {"steps": 30, "log_every": 2}}
    grid = [{"seed": s, "optimizer.lr": lr} for s in range(4) for lr in (0.05, 0.2)]
    alone, stacked, problems = _alone_and_stacked(base, grid)
    assert len({p.theta0.tobytes() for p in problems}) == 4
    assert vectorized.plan_groups(problems) == [list(range(8))]
    _assert_same_runs(alone, stacked, engine.columns(problems[0]))


def test_seed_that_changes_the_data_splits_the_groups():
    problems = _problems(LINEAR, [{"seed": s, "optimizer.lr": lr} for s in (0, 1) for lr in (0.1, 0.2)])
    assert vectorized.plan_groups(problems) == [[0, 1], [2, 3]]


def test_runs_that_diverge_or_converge_leave_the_stack():
    base = {**LINEAR, "optimizer": {"name": "sgd"}, "train": {"steps": 400, "log_every": 7, "tol": 1e-6}}
    alone, stacked, problems = _alone_and_stacked(base, [{"optimizer.lr": lr} for lr in (0.001, 0.1, 0.5, 5.0, 50.0)])
    statuses = [r.status for r in stacked[1]]
    assert "diverged" in statuses and "converged" in statuses and "completed" in statuses
    _assert_same_runs(alone, stacked, engine.columns(problems[0]), normwise=True)


def test_validation_split_and_schedule():
    base = {**LINEAR, "dataset": {**LINEAR["dataset"], "validation_fraction": 0.25},
            "optimizer": {"name": "adam", "schedule": {"name": "cosine"}}}
    alone, stacked, problems = _alone_and_stacked(base, [{"optimizer.lr": lr, "optimizer.betas": b}
                                                          for lr in (0.01, 0.1) for b in ("[0.9,0.999]", "[0.5,0.99]")])
    assert "val_loss" in engine.columns(problems[0])
    _assert_same_runs(alone, stacked, engine.columns(problems[0]))


def test_a_rule_that_cannot_take_a_column_runs_alone():
    """sgd's ``if momentum:`` cannot branch on a column: the probe sends the group to engine.run."""
    base = {**LINEAR, "optimizer": {"name": "sgd", "lr": 0.05}}
    overrides = [{"optimizer.momentum": m} for m in (0.5, 0.9)]
    update = vectorized.stacked_update([p.optimizer for p in _problems(base, overrides)])
    assert isinstance(update.keywords["momentum"], np.ndarray)
    alone, stacked, problems = _alone_and_stacked(base, overrides)
    for a, s in zip(alone[0], stacked[0]):
        A, S = a.array(), s.array()
        A[:, 3] = S[:, 3] = 0
        assert np.array_equal(A, S, equal_nan=True)  # the lone engine ran: bit for bit


def test_why_not():
    p = _problems({**LINEAR, "loss": {"name": "half_mse", "l1": 0.1}}, [{}])[0]
    assert vectorized.why_not(p) == "an l1 penalty"
    p = _problems({**LINEAR, "optimizer": {"name": "lbfgs"}}, [{}])[0]
    assert vectorized.why_not(p).startswith("an optimizer that needs")
    assert vectorized.group_key(p) is None
    assert vectorized.why_not(_problems(LINEAR, [{}])[0]) is None


# ---- the torch golden trajectories, as groups of one -----------------------------------------


def test_golden_trajectories_through_the_stacked_loop():
    checked = 0
    for run in MANIFEST:
        problem = prepare(config_mod.load(config_for(run)))
        if vectorized.why_not(problem) is not None:
            continue
        w = Rows()
        [result] = vectorized.run_group([problem], [w])
        cols = engine.columns(problem)
        trace = pd.DataFrame(w.array(), columns=cols)
        golden = pd.read_csv(GOLDEN / run["file"])
        assert trace["step"].tolist() == golden["step"].tolist(), run["id"]
        np.testing.assert_allclose(trace["loss"], golden["loss"], rtol=1e-10, atol=1e-12, err_msg=run["id"])
        np.testing.assert_allclose(trace[["w_x1", "w_x2", "b"]].to_numpy(), golden[["w1", "w2", "b"]].to_numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=run["id"])
        checked += 1
    assert checked >= 100  # every golden run of an extras-free optimizer with an lr


# ---- run folders -----------------------------------------------------------------------------


def test_run_payloads_write_the_folders_train_writes(tmp_path):
    base = {**LINEAR, "train": {"steps": 20, "log_every": 1}}
    payloads = [{"config": base, "overrides": [f"optimizer.lr={lr}"], "name": f"r{i}", "index": i, "plots": False}
                for i, lr in enumerate((0.05, 0.1, 0.2))]
    fallback_calls = []
    outcomes = vectorized.run_payloads(payloads, tmp_path / "runs", api=api, staging=staging,
                                       fallback=fallback_calls.append)
    assert not fallback_calls
    assert [o["status"] for o in outcomes] == ["completed"] * 3
    for payload, outcome in zip(payloads, outcomes):
        alone = api.train(payload["config"], overrides=payload["overrides"], out=tmp_path / "alone",
                          name=payload["name"], plots=False)
        folder = Path(outcome["run_dir"])
        assert folder.parent == tmp_path / "runs" and f"-{payload['name']}-" in folder.name
        assert (folder / "config.yaml").read_bytes() == (alone.run_dir / "config.yaml").read_bytes()
        summary = json.loads((folder / "summary.json").read_text())
        assert set(summary) - set(alone.summary) == {"vectorized_group"}
        assert summary["engine"] == "vectorized" and summary["vectorized_group"] == 3
        assert summary["config_hash"] == alone.summary["config_hash"] == outcome["config_hash"]
        trace = pd.read_csv(folder / "trace.csv")
        assert list(trace.columns) == list(alone.trace.columns)
        np.testing.assert_allclose(trace.drop(columns="time_s"), alone.trace.drop(columns="time_s"), rtol=1e-12)
    assert not (tmp_path / "runs" / ".staging").exists()


def test_a_failure_inside_a_stack_fails_every_run_of_it(tmp_path, monkeypatch):
    from optrun.vectorized import folders

    def boom(problems, writers, stop=None):
        writers[0].record(tuple(range(9)), np.zeros(4))  # a row buffered, never written
        raise RuntimeError("stack broke")

    monkeypatch.setattr(folders, "run_group", boom)
    base = {**LINEAR, "train": {"steps": 5, "log_every": 1}}
    payloads = [{"config": base, "overrides": {"optimizer.lr": lr}, "name": f"r{i}", "index": i, "plots": False,
                 "config_hash": f"h{i}"} for i, lr in enumerate((0.05, 0.1))]
    outcomes = vectorized.run_payloads(payloads, tmp_path / "runs", api=api, staging=staging, fallback=None)
    assert [o["status"] for o in outcomes] == ["failed", "failed"]
    for o in outcomes:
        folder = Path(o["run_dir"])
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "failed" and summary["error"] == "RuntimeError: stack broke"
        assert o["error"] == "RuntimeError: stack broke"
        assert (folder / "trace.csv").read_text().count("\n") == 1  # the header only: whole rows
        assert (folder / "config.yaml").is_file()
    assert not (tmp_path / "runs" / ".staging").exists()
