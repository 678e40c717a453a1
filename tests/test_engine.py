"""The training loop end to end through the Python API: convergence to f*, equivalences,
determinism, budgets, logging cadence, stop conditions and the run-folder contract."""

import json

import numpy as np
import pandas as pd
import pytest

import optrun
from optrun.engine import StopFlag
from optrun.errors import OptrunError
from optrun.prepare import auto_log_every

CONTRACT_COLUMNS = ["step", "epoch", "samples", "time_s", "lr", "loss", "batch_loss", "grad_norm", "evals"]  # evals: §9.5


def run(cfg, tmp_path, overrides=None, **kw):
    return optrun.train(cfg, overrides=overrides, out=tmp_path / "runs", plots=False, **kw)


def trace_bytes_without_time(run_dir):
    df = pd.read_csv(run_dir / "trace.csv")
    return df.drop(columns=["time_s"]).to_csv(index=False)


def test_run_folder_contract(base_config, tmp_path):
    r = run(base_config, tmp_path)
    assert r.run_dir.parent == tmp_path / "runs"
    assert {p.name for p in r.run_dir.iterdir()} >= {"config.yaml", "trace.csv", "summary.json"}
    df = r.trace
    assert list(df.columns) == CONTRACT_COLUMNS + ["w_x1", "w_x2", "b"]
    assert df["step"].tolist() == list(range(51))
    assert df.loc[0, ["w_x1", "w_x2", "b"]].tolist() == [0.0, 0.0, 0.0]
    s = json.loads((r.run_dir / "summary.json").read_text())
    for key in ("status", "stop_reason", "steps", "epochs", "final_loss", "f_star", "suboptimality",
                "params", "theta_star", "r2", "wall_time_s", "seed", "config_hash", "versions", "diagnostics"):
        assert key in s, key
    assert s["steps"] == 50 and s["status"] == "completed"
    assert s["final_loss"] == df["loss"].iloc[-1]
    assert s["params"] == dict(zip(["w_x1", "w_x2", "b"], df.iloc[-1][["w_x1", "w_x2", "b"]]))
    assert set(s["versions"]) == {"optrun", "numpy", "python"}
    # the resolved config in the folder reruns as is, to the same trace
    again = run(r.run_dir / "config.yaml", tmp_path)
    assert trace_bytes_without_time(again.run_dir) == trace_bytes_without_time(r.run_dir)


def test_first_gd_step_by_hand(base_config, tmp_path, linear_csv):
    data = np.loadtxt(linear_csv, delimiter=",", skiprows=1)
    X, y = data[:, :2], data[:, 2]
    g = np.concatenate([X.T @ (0 - y) / len(y), [np.mean(0 - y)]])  # half-MSE gradient at 0
    r = run(base_config, tmp_path, ["train.steps=1"])
    np.testing.assert_allclose(r.trace.iloc[1][["w_x1", "w_x2", "b"]].to_numpy(float), -0.1 * g, rtol=1e-14)
    assert r.trace["lr"].iloc[1] == 0.1
    # the full-batch batch_loss of step 1 is the loss at the start
    assert r.trace["batch_loss"].iloc[1] == r.trace["loss"].iloc[0] == pytest.approx(np.mean(y**2) / 2)


def test_gd_converges_to_f_star(base_config, tmp_path):
    r = run(base_config, tmp_path, ["train.steps=500", "optimizer.lr=0.5"])
    s = r.summary
    assert abs(s["suboptimality"]) < 1e-12  # at f* up to rounding
    theta = np.array(list(s["params"].values()))
    star = np.array(list(s["theta_star"].values()))
    np.testing.assert_allclose(theta, star, atol=1e-7)
    # f - f* never goes below zero (up to rounding): f* is the true optimum, not the best seen
    assert (r.trace["loss"] - s["f_star"]).min() > -1e-12


def test_minibatch_of_size_n_without_shuffle_is_full_batch(base_config, tmp_path):
    full = run(base_config, tmp_path)
    mb = run(base_config, tmp_path, ["batch.mode=minibatch", "batch.size=40", "batch.shuffle=false"])
    a, b = full.trace.drop(columns="time_s"), mb.trace.drop(columns="time_s")
    pd.testing.assert_frame_equal(a, b)


def test_same_seed_byte_identical_and_seed_matters(base_config, tmp_path):
    over = ["batch.mode=minibatch", "batch.size=8", "train.steps=40", "optimizer.name=adam"]
    a = run(base_config, tmp_path, over)
    b = run(base_config, tmp_path, over)
    c = run(base_config, tmp_path, over + ["seed=1"])
    assert trace_bytes_without_time(a.run_dir) == trace_bytes_without_time(b.run_dir)
    assert trace_bytes_without_time(a.run_dir) != trace_bytes_without_time(c.run_dir)


def test_epoch_budget_and_accounting(base_config, tmp_path):
    r = run(base_config, tmp_path, ["train.epochs=2", "batch.mode=minibatch", "batch.size=16"])
    # 40 rows, batches of 16 -> 3 batches per epoch (16, 16, 8), 6 steps
    df = r.trace
    assert r.summary["steps"] == 6 and df["step"].iloc[-1] == 6
    assert df["samples"].tolist() == [0, 16, 32, 40, 56, 72, 80]
    np.testing.assert_allclose(df["epoch"], df["samples"] / 40)
    assert r.summary["epochs"] == 2.0


def test_log_every_keeps_last_step(base_config, tmp_path):
    r = run(base_config, tmp_path, ["train.log_every=7"])
    assert r.trace["step"].tolist() == [0, 7, 14, 21, 28, 35, 42, 49, 50]


def test_auto_log_every():
    assert auto_log_every(n=15, batch_size=15, total_steps=1000, full=True) == 1
    assert auto_log_every(n=10**6, batch_size=10**6, total_steps=10**6, full=True) == 10
    assert auto_log_every(n=100, batch_size=10, total_steps=1000, full=False) == 1
    # large data: one full evaluation (n rows) per ceil(n / bs) steps of bs rows
    assert auto_log_every(n=100_000, batch_size=100, total_steps=10_000, full=False) == 1000


def test_divergence_is_a_result(base_config, tmp_path):
    r = run(base_config, tmp_path, ["optimizer.lr=50", "train.steps=1000"])
    s = r.summary
    assert s["status"] == "diverged" and "diverged at step" in s["stop_reason"]
    assert s["steps"] < 1000 and r.trace["step"].iloc[-1] == s["steps"]
    assert s["suboptimality"] is None or s["suboptimality"] > 1e6


def test_tolerance_converges(base_config, tmp_path):
    r = run(base_config, tmp_path, ["optimizer.lr=0.5", "train.steps=10000", "train.tol=1e-6"])
    s = r.summary
    assert s["status"] == "converged" and s["steps"] < 10000
    assert r.trace["grad_norm"].iloc[-1] <= 1e-6 < r.trace["grad_norm"].iloc[-2]


def test_stop_flag_interrupts_after_current_step(base_config, tmp_path):
    stop = StopFlag()
    calls = []

    def progress(step, total):
        calls.append(step)
        if step == 5:
            stop.request("interrupted (test)")

    r = run(base_config, tmp_path, stop=stop, progress=progress)
    assert r.summary["status"] == "interrupted" and r.summary["steps"] == 6
    assert r.trace["step"].iloc[-1] == 6


def test_validation_split_adds_val_loss(base_config, tmp_path):
    base_config["dataset"]["validation_fraction"] = 0.25
    r = run(base_config, tmp_path)
    assert "val_loss" in r.trace.columns and r.trace.columns.get_loc("val_loss") == 9  # after evals (DESIGN §9.5)
    assert r.summary["n_train"] == 30 and r.summary["n_val"] == 10
    assert r.summary["val_loss"] == pytest.approx(r.trace["val_loss"].iloc[-1])


def test_batch_larger_than_data_is_an_error_and_writes_nothing(base_config, tmp_path):
    with pytest.raises(OptrunError, match="batch.size: 64 is larger than the 40 training rows"):
        run(base_config, tmp_path, ["batch.mode=minibatch", "batch.size=64"])
    assert not (tmp_path / "runs").exists()


def test_init_list_wrong_length(base_config, tmp_path):
    base_config["model"] = {"name": "linear", "init": [1.0, 2.0]}
    with pytest.raises(OptrunError, match=r"model.init: expected 3 values \(w_x1, w_x2, b\), got 2"):
        run(base_config, tmp_path)


def test_load_run_matches(base_config, tmp_path):
    r = run(base_config, tmp_path)
    back = optrun.load_run(r.run_dir)
    assert back.summary == r.summary
    pd.testing.assert_frame_equal(back.trace, r.trace)


def test_interrupt_on_an_unlogged_step_records_the_current_loss(base_config, tmp_path):
    """A stop between two logged rows forces a row whose loss belongs to the final parameters."""
    from optrun.models import Objective

    stop = StopFlag()
    calls = []

    def progress(step, total):
        calls.append(step)
        if step == 10:
            stop.request("interrupted (test)")

    over = ["batch.mode=minibatch", "batch.size=8", "train.steps=100", "train.log_every=10"]
    r = run(base_config, tmp_path, over, stop=stop, progress=progress)
    s = r.summary
    assert s["status"] == "interrupted" and s["steps"] == 11  # step 11 is not on the cadence
    data = np.loadtxt(base_config["dataset"]["path"], delimiter=",", skiprows=1)
    theta = np.array(list(s["params"].values()))
    obj = Objective(model="linear", loss="half_mse", fit_intercept=True)
    assert s["final_loss"] == pytest.approx(obj.value(theta, data[:, :2], data[:, 2]), rel=1e-14)
    assert r.trace["loss"].iloc[-1] == s["final_loss"] != r.trace["loss"].iloc[-2]


def test_engine_reads_the_typed_problem_not_the_config(base_config):
    """tol and divergence_factor travel on the Problem; the engine never looks at problem.config."""
    from optrun import config, engine, optim, prepare

    class Rows:
        def __init__(self):
            self.rows = []

        def record(self, scalars, theta):
            self.rows.append(scalars)

    cfg = config.resolve({**base_config, "train": {"steps": 50, "tol": 1e-3, "divergence_factor": 50.0}})
    problem = prepare.prepare(cfg)
    assert (problem.tol, problem.divergence_factor) == (1e-3, 50.0)
    problem.config = {}  # would raise KeyError if the engine still read it
    result = engine.run(problem, Rows())
    assert result.status == "completed"  # 50 steps of lr 0.1 do not reach 1e-3
    problem.tol = 1e6  # the first evaluated step meets it
    result = engine.run(problem, Rows())
    assert result.status == "converged" and result.stop_reason.endswith("<= tol 1e+06 at step 1")
    problem.tol, problem.optimizer = 0.0, optim.create("sgd", lr=10.0)
    result = engine.run(problem, Rows())
    assert result.status == "diverged" and "exceeded 5e+01 x the initial loss" in result.stop_reason


def test_line_search_step_and_trials_are_in_the_trace(tmp_path):
    """sgd with an Armijo line search: the trace has the accepted step and the trials, and every
    accepted step satisfies the Armijo condition f(θ - s g) <= f(θ) - α s ‖g‖² (full batch)."""
    cfg = {"seed": 0, "dataset": {"name": "women", "standardize": False}, "model": "linear", "loss": "half_mse",
           "optimizer": {"name": "sgd", "lr": 5.0, "line_search": "armijo"}, "batch": "full", "train": {"steps": 30}}
    r = optrun.train(cfg, out=tmp_path, plots=False)
    t = r.trace
    assert {"step_size", "ls_trials"} <= set(t.columns)
    alpha = 0.25  # ls_alpha's default (Boyd & Vandenberghe's range 0.01-0.3)
    f, g, s = t["loss"].to_numpy(), t["grad_norm"].to_numpy(), t["step_size"].to_numpy()
    assert np.all(s[1:] <= 5.0) and np.all(t["ls_trials"].to_numpy()[1:] >= 1)
    assert np.all(f[1:] <= f[:-1] - alpha * s[1:] * g[:-1] ** 2 * (1 - 1e-12) + 1e-12 * np.abs(f[:-1]))
    # every trial is one evaluation of the 15 rows
    assert t["evals"].iloc[-1] == 15 * t["ls_trials"].iloc[1:].sum()
