"""``train.dtype: float32`` is float32 all the way: parameters, optimizer state and updates, as
torch 2.13 runs with ``set_default_dtype(float32)`` (tests/golden/float32, written by
``python tests/golden/make_golden.py float32``; this test never needs torch).

Two replays per golden run:

* rule level: optrun's update fed torch's own float32 gradients (recorded in the trace), so only
  the optimizer arithmetic is compared. Not bit-exact: on this CPU torch fuses ``add(alpha=)``
  and ``lerp`` into FMAs and its float32 sqrt is off by 1 ulp for ~20% of inputs; the
  trajectories agree to a few float32 ulps (RTOL below);
* pipeline: config -> data -> engine with ``train.dtype: float32`` (optrun's own float32
  gradients, which round differently from autograd's): a looser float32 tolerance.

The "stagnate" runs start at b = 4096 with updates of b below half an ulp: torch leaves b
exactly 4096 for 40 steps, and so must optrun in float32 (while float64 moves it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import optrun
from optrun import optim

GOLDEN = Path(__file__).resolve().parent / "golden" / "float32"
RUNS = json.loads((GOLDEN / "manifest.json").read_text())["runs"]
IDS = [r["id"] for r in RUNS]
RULE_RTOL, RULE_ATOL = 2e-6, 1e-7  # a few float32 ulps (worst seen: 9.3e-7 relative)
PIPE_RTOL, PIPE_ATOL = 1e-5, 1e-6  # own float32 gradients (worst seen: 1.1e-6 relative)


def golden(spec) -> np.ndarray:
    return np.loadtxt(GOLDEN / spec["file"], delimiter=",", skiprows=1)


def replay_rule(spec, dtype=np.float32) -> np.ndarray:
    """θ_t for t = 0..steps from torch's recorded gradients, in ``dtype``."""
    rec = golden(spec)
    opt = optim.create(spec["optimizer"], **spec["hyperparams"])
    theta = np.asarray(spec["init"], dtype=dtype)
    state = opt.init(theta)
    out = [theta]
    for t in range(1, spec["steps"] + 1):
        g = rec[t, 5:8].astype(dtype)
        theta, state = opt.update(g, state, theta, t, opt.hyperparams["lr"])
        assert theta.dtype == dtype
        for leaf in state:
            if isinstance(leaf, np.ndarray | np.floating):
                assert leaf.dtype == dtype, (spec["id"], type(state).__name__)
        out.append(theta)
    return np.array(out)


@pytest.mark.parametrize("spec", RUNS, ids=IDS)
def test_rule_matches_torch_float32(spec):
    want = golden(spec)[:, 2:5]
    got = replay_rule(spec)
    np.testing.assert_allclose(got, want, rtol=RULE_RTOL, atol=RULE_ATOL, err_msg=spec["id"])


def config_for(spec) -> dict:
    mode = {24: "full", 1: "stochastic"}.get(spec["batch_size"], "minibatch")
    batch = {"mode": mode, "shuffle": False, **({"size": spec["batch_size"]} if mode == "minibatch" else {})}
    return {
        "seed": 0,
        "dataset": {"name": "csv", "path": str(GOLDEN.parent / "data" / f"{spec['dataset']}.csv")},
        "model": {"name": spec["model"], "init": spec["init"]},
        "loss": spec["loss"],
        "optimizer": {"name": spec["optimizer"], **spec["hyperparams"]},
        "batch": batch,
        "train": {"steps": spec["steps"], "log_every": 1, "dtype": "float32"},
    }


@pytest.mark.parametrize("spec", RUNS, ids=IDS)
def test_pipeline_matches_torch_float32(spec, tmp_path):
    result = optrun.train(config_for(spec), out=tmp_path, plots=False)
    want = golden(spec)
    params = result.trace[["w_x1", "w_x2", "b"]].to_numpy()
    np.testing.assert_allclose(params, want[:, 2:5], rtol=PIPE_RTOL, atol=PIPE_ATOL, err_msg=spec["id"])
    np.testing.assert_allclose(result.trace["loss"], want[:, 1], rtol=PIPE_RTOL, atol=PIPE_ATOL)
    if spec["id"].endswith("_stagnate"):
        assert (params[:, 2] == 4096.0).all(), "float32 must stagnate below half an ulp, as torch"


@pytest.mark.parametrize("spec", [r for r in RUNS if r["id"].endswith("_stagnate")],
                         ids=[i for i in IDS if i.endswith("_stagnate")])
def test_stagnation_below_half_an_ulp(spec):
    """torch keeps b = 4096 exactly; optrun in float32 too; the same rule in float64 moves b."""
    assert (golden(spec)[:, 4] == 4096.0).all()
    assert (replay_rule(spec)[:, 2] == 4096.0).all()
    assert (replay_rule(spec, np.float64)[-1, 2] != 4096.0)


def test_f_star_rounding_is_the_float32_bound(tmp_path):
    """The float32 floor is the float64 one scaled by eps32/eps64 (plus the θ* grid term), and
    a converged float32 run's loss − f* sits within it while exceeding the float64 floor."""
    spec = next(r for r in RUNS if r["id"] == "adagrad_linear_full")
    cfg = config_for(spec)
    cfg["optimizer"] = {"name": "sgd", "lr": 0.5}
    cfg["train"]["steps"] = 400
    r32 = optrun.train(cfg, out=tmp_path / "a", plots=False)
    cfg["train"]["dtype"] = "float64"
    r64 = optrun.train(cfg, out=tmp_path / "b", plots=False)
    b32 = r32.summary["diagnostics"]["f_star_rounding"]
    b64 = r64.summary["diagnostics"]["f_star_rounding"]
    ratio = float(np.finfo(np.float32).eps / np.finfo(np.float64).eps)
    assert b32 == pytest.approx(b64 * ratio, rel=1e-6)
    f_star = r64.summary["diagnostics"]["f_star"]
    gap32 = r32.trace["loss"].iloc[-1] - f_star
    assert abs(gap32) <= b32
    assert abs(r64.trace["loss"].iloc[-1] - f_star) <= b64 < abs(gap32) or gap32 == 0


@pytest.mark.parametrize("method", ["project", "primal_dual", "augmented_lagrangian"])
def test_constrained_float32_runs_stay_float32(method, tmp_path):
    """A constraint hook must not turn θ into float64 (the projection computes in float64): every
    logged parameter of a float32 run is a float32 number."""
    cfg = {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": 40, "n_features": 2},
           "model": "linear", "loss": "half_mse", "optimizer": {"name": "sgd", "lr": 0.3},
           "constraints": {"lower": [0.1, 0.1, None], "upper": [0.3, 0.3, None], "method": method},
           "train": {"steps": 30, "log_every": 1, "dtype": "float32"}}
    r = optrun.train(cfg, out=tmp_path, plots=False)
    P = r.trace[["w_x1", "w_x2", "b"]].to_numpy()
    assert np.all(np.isfinite(P)) and np.ptp(P[:, 0]) > 0
    np.testing.assert_array_equal(P.astype(np.float32).astype(np.float64), P)
