"""Every torch golden trajectory replayed through the whole pipeline (config -> data ->
sampler -> engine -> trace.csv), not just through the optimizer's update function: the
batch order, the step counter, the schedule and the logged loss must all agree with torch."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optrun
from optrun import optim

GOLDEN = Path(__file__).parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())["runs"]


def config_for(run):
    hp = dict(run["hyperparams"])
    opt = {"name": run["optimizer"], **hp}
    if run["schedule"]:
        opt["schedule"] = run["schedule"]
    n = 24
    mode = "full" if run["batch_size"] == n else ("stochastic" if run["batch_size"] == 1 else "minibatch")
    batch = {"mode": mode, "shuffle": False}
    if mode == "minibatch":
        batch["size"] = run["batch_size"]
    return {
        "seed": 0,
        "dataset": {"name": "csv", "path": str(GOLDEN / "data" / f"{run['dataset']}.csv")},
        "model": {"name": run["model"], "init": run["init"]},
        "loss": run["loss"],
        "optimizer": opt,
        "batch": batch,
        "train": {"steps": run["steps"], "log_every": 1},
    }


@pytest.mark.parametrize("run", MANIFEST, ids=[r["id"] for r in MANIFEST])
def test_pipeline_replays_torch(run, tmp_path):
    result = optrun.train(config_for(run), out=tmp_path, plots=False)
    golden = pd.read_csv(GOLDEN / run["file"])
    trace = result.trace
    assert trace["step"].tolist() == golden["step"].tolist()
    np.testing.assert_allclose(trace["loss"], golden["loss"], rtol=1e-10, atol=1e-12)
    params = trace[["w_x1", "w_x2", "b"]].to_numpy()
    np.testing.assert_allclose(params, golden[["w1", "w2", "b"]].to_numpy(), rtol=1e-10, atol=1e-12)
