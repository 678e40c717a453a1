"""The compiled engine (optrun/compiled.py, train.engine: compiled) against the NumPy engine.

Equality: every supported optimizer x batch mode (stochastic, shuffled mini-batch, full) gives
the NumPy engine's trace to rounding (rtol 1e-10 on every column but time_s; observed ~1e-14),
and the torch golden trajectories pass through it at rtol 1e-10. Without numba (or for what it
does not run) `auto` is the NumPy engine, and `compiled` is a config error.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import optrun
from optrun import compiled
from optrun.errors import OptrunError

GOLDEN = Path(__file__).parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())["runs"]
HAS_NUMBA = compiled.available()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba (the 'fast' extra) is not installed")

# Compiling a rule takes 5-10 s cold (a fresh clone has no numba cache), so by default the matrix
# runs on sgd and adam (the two code shapes: a momentum buffer, moment estimates) with the golden
# runs of the optimizers that test compiles anyway; OPTRUN_COMPILED_MATRIX=1 runs every supported
# optimizer (about 5 minutes cold, 30 s warm).
import os  # noqa: E402

FULL_MATRIX = os.environ.get("OPTRUN_COMPILED_MATRIX") == "1"
MATRIX = compiled.SUPPORTED_OPTIMIZERS if FULL_MATRIX else ("sgd", "adam")

MODES = {"stochastic": {"mode": "stochastic", "shuffle": True},
         "minibatch": {"mode": "minibatch", "size": 7, "shuffle": True},
         "full": {"mode": "full"}}
LRS = {"sgd": 0.02, "momentum": 0.01, "nag": 0.01, "adagrad": 0.1, "adadelta": 1.0, "rmsprop": 0.01,
       "adam": 0.05, "adamw": 0.05, "amsgrad": 0.05, "adamax": 0.05, "nadam": 0.05}


def config(opt, mode, engine, model="linear", loss="mse", l2=0.0, steps=60, extra=None):
    data = {"name": f"synthetic_{model}", "n_samples": 30, "n_features": 3}
    return {"seed": 3, "dataset": data, "model": {"name": model, "init": "normal"},
            "loss": {"name": loss, "l2": l2}, "optimizer": {"name": opt, **(extra or {})}, "batch": MODES[mode],
            "train": {"steps": steps, "log_every": 4, "engine": engine}}


def assert_same_trace(a, b, rtol=1e-10):
    assert list(a.trace.columns) == list(b.trace.columns)
    cols = [c for c in a.trace.columns if c != "time_s"]
    np.testing.assert_allclose(b.trace[cols].to_numpy(float), a.trace[cols].to_numpy(float), rtol=rtol, atol=1e-13)
    assert a.summary["status"] == b.summary["status"]


@needs_numba
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("opt", MATRIX)
def test_every_optimizer_and_batch_mode_equals_numpy(opt, mode, tmp_path):
    cfg = config(opt, mode, "numpy", l2=0.01, extra={"lr": LRS[opt]})
    a = optrun.train(cfg, out=tmp_path, plots=False)
    b = optrun.train({**cfg, "train": {**cfg["train"], "engine": "compiled"}}, out=tmp_path, plots=False)
    assert a.summary["engine"] == "numpy" and b.summary["engine"] == "compiled"
    assert_same_trace(a, b)


@needs_numba
@pytest.mark.parametrize("model,loss", [("linear", "half_mse"), ("logistic", "bce"), ("logistic", "half_mse")])
def test_losses_and_options_equal_numpy(model, loss, tmp_path):
    extra = {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01, "decoupled_weight_decay": True}
    cfg = config("adam", "minibatch", "numpy", model, loss, l2=0.1, extra=extra)
    cfg["optimizer"]["schedule"] = {"name": "cosine", "warmup_steps": 5}
    a = optrun.train(cfg, out=tmp_path, plots=False)
    b = optrun.train({**cfg, "train": {**cfg["train"], "engine": "compiled"}}, out=tmp_path, plots=False)
    assert_same_trace(a, b)


@needs_numba
def test_divergence_tol_and_stop_rules_match(tmp_path):
    for mode, extra, train in [("stochastic", {"lr": 50.0}, {}), ("full", {"lr": 5.0}, {}),
                               ("full", {"lr": 0.1}, {"tol": 1e-3, "steps": 2000})]:
        cfg = config("sgd", mode, "numpy", extra=extra)
        cfg["train"].update(train)
        a = optrun.train(cfg, out=tmp_path, plots=False)
        b = optrun.train({**cfg, "train": {**cfg["train"], "engine": "compiled"}}, out=tmp_path, plots=False)
        assert a.summary["status"] in ("diverged", "converged")
        assert a.summary["stop_reason"] == b.summary["stop_reason"]
        assert_same_trace(a, b)


@needs_numba
@pytest.mark.parametrize("d,batch,log_every", [(3, {"mode": "stochastic", "shuffle": True}, 5000),
                                               (3, {"mode": "minibatch", "size": 7, "shuffle": True}, 1000),
                                               (100, {"mode": "minibatch", "size": 7, "shuffle": True}, 1000),
                                               (100, {"mode": "minibatch", "size": 3000, "shuffle": True}, 3)])
def test_stretches_longer_than_a_chunk_of_gathered_rows(d, batch, log_every, tmp_path):
    # 9,000 rows: a stretch gathers its rows in chunks of 4,096 (compiled._CHUNK_ROWS), which
    # 7-row batches do not divide (a batch at a chunk's end starts the next chunk), and the
    # epoch's last batch is short (9,000 = 7 x 1,285 + 5); stretches of 5,000 and 7,000 rows.
    # With 100 features a chunk is 2,621 rows (compiled._CHUNK_VALUES), below a 3,000-row batch,
    # which is then copied whole
    assert compiled._CHUNK_ROWS < 9000 and compiled._CHUNK_ROWS % 7
    assert 7 < compiled._CHUNK_VALUES // 100 < 3000 and (compiled._CHUNK_VALUES // 100) % 7
    cfg = {"seed": 1, "dataset": {"name": "synthetic_linear", "n_samples": 9000, "n_features": d},
           "model": "linear", "loss": "half_mse", "optimizer": {"name": "momentum", "lr": 0.002, "momentum": 0.9},
           "batch": batch, "train": {"epochs": 2, "log_every": log_every, "engine": "numpy"}}
    a = optrun.train(cfg, out=tmp_path, plots=False)
    b = optrun.train({**cfg, "train": {**cfg["train"], "engine": "compiled"}}, out=tmp_path, plots=False)
    assert len(a.trace) >= 3 and a.summary["steps"] in (18000, 2572, 6)
    assert_same_trace(a, b)


GOLDEN_RUNS = [r for r in MANIFEST if r["optimizer"] in MATRIX and (FULL_MATRIX or r["loss"] == "half_mse")]


@needs_numba
@pytest.mark.parametrize("run", GOLDEN_RUNS, ids=[r["id"] for r in GOLDEN_RUNS])
def test_golden_torch_trajectories_through_the_compiled_engine(run, tmp_path):
    # tests/test_engine_golden.py's replay, with train.engine: compiled
    import pandas as pd

    opt = {"name": run["optimizer"], **run["hyperparams"]}
    if run["schedule"]:
        opt["schedule"] = run["schedule"]
    mode = "full" if run["batch_size"] == 24 else ("stochastic" if run["batch_size"] == 1 else "minibatch")
    batch = {"mode": mode, "shuffle": False, **({"size": run["batch_size"]} if mode == "minibatch" else {})}
    cfg = {"seed": 0, "dataset": {"name": "csv", "path": str(GOLDEN / "data" / f"{run['dataset']}.csv")},
           "model": {"name": run["model"], "init": run["init"]}, "loss": run["loss"], "optimizer": opt,
           "batch": batch, "train": {"steps": run["steps"], "log_every": 1, "engine": "compiled"}}
    result = optrun.train(cfg, out=tmp_path, plots=False)
    assert result.summary["engine"] == "compiled"
    golden = pd.read_csv(GOLDEN / run["file"])
    np.testing.assert_allclose(result.trace["loss"], golden["loss"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.trace[["w_x1", "w_x2", "b"]].to_numpy(), golden[["w1", "w2", "b"]].to_numpy(),
                               rtol=1e-10, atol=1e-12)


# ---- the choice of engine (these run without numba too) ----------------------------------------


def test_auto_is_numpy_without_numba_and_compiled_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(compiled, "available", lambda: False)
    cfg = config("sgd", "stochastic", "auto", extra={"lr": 0.01}, steps=200_000)
    cfg["train"]["steps"] = 5  # the choice is made in prepare; keep the run itself short
    r = optrun.train(cfg, out=tmp_path, plots=False)
    assert r.summary["engine"] == "numpy"
    with pytest.raises(OptrunError, match="compiled needs numba") as exc:
        optrun.train(config("sgd", "stochastic", "compiled", extra={"lr": 0.01}), out=tmp_path, plots=False)
    assert exc.value.key == "train.engine"


@pytest.mark.parametrize("change,what", [
    ({"optimizer": {"name": "lbfgs"}}, "optimizer lbfgs"),
    ({"optimizer": {"name": "sgd", "line_search": "armijo"}}, "line search"),
    ({"loss": {"name": "mse", "l1": 0.1}}, "l1 penalty"),
    ({"constraints": {"upper": 1.0}}, "constraints"),
])
def test_unsupported_features_fall_back_or_fail(change, what, monkeypatch, tmp_path):
    monkeypatch.setattr(compiled, "available", lambda: True)
    cfg = {**config("sgd", "full", "compiled", extra={"lr": 0.01}, steps=3), **change}
    with pytest.raises(OptrunError, match=what):
        optrun.train(cfg, out=tmp_path, plots=False)
    cfg["train"]["engine"] = "auto"
    assert optrun.train(cfg, out=tmp_path, plots=False).summary["engine"] == "numpy"


def test_hyperparameters_follow_the_rule_signature():
    from optrun import optim

    opt = optim.create("adam", lr=0.1, betas=[0.8, 0.9], amsgrad=True, weight_decay=0)
    assert compiled.hyperparameters(opt.update) == ((0.8, 0.9), 1e-8, 0.0, True, False)
