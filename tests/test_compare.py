"""optrun compare: --vary parsing and expansion, the comparison folder, the CLI."""

import csv
import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from optrun import compare as C
from optrun.cli.app import app
from optrun.errors import OptrunError
from optrun.plots import arrays


def base(**over):
    cfg = {
        "name": "tiny",
        "seed": 0,
        "dataset": {"name": "synthetic_linear", "n_samples": 16, "n_features": 1, "noise": 0.3},
        "model": "linear",
        "loss": "half_mse",
        "optimizer": {"name": "sgd", "lr": 0.2, "schedule": {"name": "cosine"}},
        "batch": {"mode": "full", "size": 4},
        "train": {"epochs": 4},
    }
    cfg.update(over)
    return cfg


@pytest.fixture
def cfg_file(tmp_path):
    p = tmp_path / "base.yaml"
    p.write_text(yaml.safe_dump(base()))
    return p


# --------------------------------------------------------------------------------------------
# --vary


def test_parse_vary_values_are_typed():
    ax = C.parse_vary("optimizer.lr=0.1,1e-2")
    assert ax.key == "optimizer.lr" and ax.values == [0.1, 0.01] and ax.labels == ["lr=0.1", "lr=0.01"]
    ax = C.parse_vary("batch.mode=full,stochastic,minibatch")
    assert ax.values == ["full", "stochastic", "minibatch"] and ax.labels[0] == "full batch"
    ax = C.parse_vary("optimizer.betas=[0.9,0.999],[0.8, 0.99]")
    assert ax.values == [[0.9, 0.999], [0.8, 0.99]]


def test_parse_vary_shares_the_sweep_value_syntax():
    assert C.parse_vary("optimizer.lr=logspace(-3,-1,3)").values == [0.001, 0.01, 0.1]
    assert C.parse_vary("batch.size=range(8,25,8)").values == [8, 16, 24]


def test_parse_vary_per_optimizer_values():
    ax = C.parse_vary("optimizer=adam:lr=0.01:betas=[0.8,0.9],sgd:lr=0.1,newton")
    assert ax.key == "optimizer"
    assert ax.values == [{"name": "adam", "lr": 0.01, "betas": [0.8, 0.9]}, {"name": "sgd", "lr": 0.1}, {"name": "newton"}]
    assert ax.labels == ["adam lr=0.01 betas=(0.8,0.9)", "sgd lr=0.1", "newton"]
    assert C.parse_vary("optimizer.name=sgd,adam").values == [{"name": "sgd"}, {"name": "adam"}]


@pytest.mark.parametrize("bad", ["optimizer.lr", "optimizer.lr=", "optimzer.lr=1,2", "optimizer.lr=0.1,,0.2",
                                 "optimizer.lr=0.1,0.1", "optimizer=adam:lr", "seed=1,2"])
def test_parse_vary_errors(bad):
    with pytest.raises(OptrunError, match="--vary|section"):
        C.parse_vary(bad)


def test_expand_is_a_grid_first_axis_slowest():
    combos = C.expand([C.parse_vary("optimizer.name=sgd,adam"), C.parse_vary("optimizer.lr=0.1,0.01,0.001")])
    assert len(combos) == 6
    assert [(c[0][2], c[1][2]) for c in combos][:3] == [("sgd", "lr=0.1"), ("sgd", "lr=0.01"), ("sgd", "lr=0.001")]
    with pytest.raises(OptrunError, match="varied twice"):
        C.expand([C.parse_vary("optimizer.lr=1,2"), C.parse_vary("optimizer.lr=3,4")])


def test_combo_config_rules():
    raw = base(optimizer={"name": "sgd", "lr": 0.2, "momentum": 0.5, "schedule": {"name": "cosine"}})
    (combo,) = C.expand([C.parse_vary("optimizer=adam:lr=0.05")])
    cfg, _ = C.combo_config(raw, ["train.epochs=2"], combo)
    # a varied optimizer starts from its defaults (momentum dropped), keeps the schedule
    assert cfg["optimizer"] == {"name": "adam", "lr": 0.05, "schedule": {"name": "cosine"}}
    assert cfg["train"]["epochs"] == 2
    # common optimizer.* overrides apply after the reset
    (combo,) = C.expand([C.parse_vary("optimizer.name=rmsprop")])
    cfg, _ = C.combo_config(raw, ["optimizer.lr=0.3"], combo)
    assert cfg["optimizer"]["name"] == "rmsprop" and cfg["optimizer"]["lr"] == 0.3
    # stochastic means size 1, whatever the base minibatch size
    combos = C.expand([C.parse_vary("batch.mode=stochastic,minibatch")])
    assert C.combo_config(raw, [], combos[0])[0]["batch"]["size"] is None
    assert C.combo_config(raw, [], combos[1])[0]["batch"]["size"] == 4
    with pytest.raises(OptrunError, match="varied"):
        C.combo_config(raw, ["optimizer.lr=0.1"], C.expand([C.parse_vary("optimizer.lr=1,2")])[0])


def test_to_target_reads_the_first_row_below_target():
    import pandas as pd

    t = pd.DataFrame({"step": [0, 1, 2, 3], "epoch": [0, .5, 1, 1.5], "samples": [0, 8, 16, 24],
                      "time_s": [0, .1, .2, .3], "loss": [5.0, 2.0, 1.05, 1.01]})
    assert C.to_target(t, 1.0, 0.06) == {"steps_to_target": 2, "epochs_to_target": 1.0, "samples_to_target": 16,
                                          "time_to_target_s": 0.2}
    assert C.to_target(t, 1.0, 1e-3)["steps_to_target"] is None
    assert C.to_target(t, None, 0.1)["epochs_to_target"] is None


def test_a_constrained_run_is_at_the_target_only_when_feasible_too():
    # an infeasible iterate can sit below f* (primal-dual on the Lagrange example, step 4:
    # f = 1.48 < p* = 2 with 0.79 of infeasibility): it has not arrived
    import pandas as pd

    from optrun.tune.scoring import crossing

    t = pd.DataFrame({"step": [0, 1, 2, 3], "epoch": [0, 1, 2, 3], "samples": [0, 9, 18, 27],
                      "time_s": [0, .1, .2, .3], "loss": [6.5, 1.48, 1.999, 2.001],
                      "infeasibility": [1.0, 0.79, 0.002, 0.0]})
    assert C.to_target(t, 2.0, 0.005)["steps_to_target"] == 2
    assert C.to_target(t, 2.0, 0.001)["steps_to_target"] == 3  # 0.002 off the constraint is too far
    assert crossing(t, 2.0, 0.005)["steps_to_target"] == 2
    assert C.to_target(t.drop(columns="infeasibility"), 2.0, 0.005)["steps_to_target"] == 1  # unconstrained


def test_compare_ranks_the_lagrange_methods_by_feasible_arrival(tmp_path):
    from pathlib import Path as P

    cfg = P(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    res = C.compare(cfg, ["constraints.method=project,primal_dual,augmented_lagrangian"], out=tmp_path,
                    plots=False)
    by = {s["label"].split("=")[-1]: s for s in res.settings}
    steps = {k: v["median_to_target"] for k, v in by.items()}
    assert steps["project"] < steps["augmented_lagrangian"] < steps["primal_dual"]


# --------------------------------------------------------------------------------------------
# the comparison folder


def test_compare_folder_csv_and_figures(cfg_file, tmp_path):
    res = C.compare(cfg_file, vary=["batch.mode=full,stochastic"], seeds=2, out=tmp_path / "out")
    assert res.folder.parent == tmp_path / "out" and res.x == "epoch"  # batch modes differ: equal work
    rows = list(csv.DictReader(open(res.folder / "comparison.csv")))
    assert len(rows) == 4
    assert list(rows[0])[:4] == ["batch.mode", "label", "seed", "status"]
    assert [r["seed"] for r in rows] == ["0", "1", "0", "1"]
    for r in rows:
        run = res.folder / r["run_dir"]
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == r["status"] == "completed"
        assert float(r["final_subopt"]) == pytest.approx(summary["suboptimality"])
        assert float(r["epochs"]) == pytest.approx(4.0)
        tt = C.to_target(arrays.load_run(run).trace, summary["f_star"], res.target)
        assert (r["steps_to_target"] or None) == (str(tt["steps_to_target"]) if tt["steps_to_target"] is not None else None)
    meta = json.loads((res.folder / "comparison.json").read_text())
    assert meta["vary"] == {"batch.mode": ["full", "stochastic"]} and meta["seeds"] == [0, 1]
    assert meta["target"] == pytest.approx(res.target) and res.target > 0
    names = {p.name for p in res.figures}
    assert {"loss.png", "grad_norm.png", "params.png", "contour.png", "data.png"} <= names
    assert all(p.parent == res.folder / "plots" for p in res.figures)
    assert [s["label"] for s in res.settings] and sorted(s["rank"] for s in res.settings) == [1, 2]
    # the overlay groups the seeds into bands that contain their median
    from optrun.plots.draw import expand_dirs

    dirs, meta2, labels = expand_dirs([res.folder])
    assert len(dirs) == 4 and meta2["x"] == "epoch" and set(labels.values()) == {"full batch", "stochastic"}
    groups, _ = arrays.group_runs([arrays.load_run(d) for d in dirs], labels)
    assert [g.label for g in groups] == ["full batch", "stochastic"]
    panel = arrays.curve_panel(groups, "epoch", "subopt")
    assert len(panel.bands) == 2
    for b in panel.bands:
        ok = np.isfinite(b.median)
        assert np.all(b.lo[ok] <= b.median[ok]) and np.all(b.median[ok] <= b.hi[ok])


def test_compare_bad_combination_writes_nothing(cfg_file, tmp_path):
    with pytest.raises(OptrunError, match="in the combination"):
        C.compare(cfg_file, vary=["optimizer=adam:lrr=0.1"], out=tmp_path / "out", plots=False)
    assert not (tmp_path / "out").exists()


def test_diverged_is_a_result_and_failures_are_counted(cfg_file, tmp_path, monkeypatch):
    res = C.compare(cfg_file, vary=["optimizer.lr=0.2,3.5"], overrides=["train.epochs=60"], out=tmp_path / "a",
                    plots=False)
    assert [r["status"] for r in res.rows] == ["completed", "diverged"] and res.failed == 0
    assert res.settings[-1]["label"] == "lr=3.5"  # diverged ranks last

    from optrun import api

    real = api.train

    def flaky(cfg, **kw):
        if cfg["optimizer"]["lr"] == 0.1:
            raise RuntimeError("boom")
        return real(cfg, **kw)

    monkeypatch.setattr(api, "train", flaky)
    res = C.compare(cfg_file, vary=["optimizer.lr=0.2,0.1"], out=tmp_path / "b", plots=False)
    assert res.failed == 1 and res.rows[1]["status"] == "failed" and "boom" in res.rows[1]["stop_reason"]
    r = CliRunner().invoke(app, ["compare", str(cfg_file), "--vary", "optimizer.lr=0.2,0.1", "--out",
                                 str(tmp_path / "c"), "--no-plots", "-q"])
    assert r.exit_code == 4


def test_cli_compare_json_and_usage_errors(cfg_file, tmp_path):
    r = CliRunner().invoke(app, ["compare", str(cfg_file), "train.epochs=2", "--vary", "optimizer=sgd:lr=0.2,adam:lr=0.1",
                                 "--out", str(tmp_path / "o"), "--json", "--no-plots"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [row["label"] for row in doc["runs"]] == ["sgd lr=0.2", "adam lr=0.1"]
    assert {s["label"] for s in doc["settings"]} == {"sgd lr=0.2", "adam lr=0.1"} and doc["x"] == "step"
    assert all(row["epochs"] == 2 for row in doc["runs"])
    r = CliRunner().invoke(app, ["compare", str(cfg_file), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2  # no --vary
    r = CliRunner().invoke(app, ["compare", str(cfg_file), "--vary", "optimizer.lr=0.1,oops", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "error:" in r.output


def test_two_workers_give_the_same_comparison(cfg_file, tmp_path):
    """jobs=2 (spawned processes, completion order) writes the comparison.csv of jobs=1, row for
    row, but the folder names and the timings."""
    kw = dict(vary=["optimizer=sgd:lr=0.2,adam:lr=0.1"], seeds=2, plots=False, overrides=["train.epochs=2"])
    one = C.compare(cfg_file, out=tmp_path / "one", **kw)
    two = C.compare(cfg_file, out=tmp_path / "two", jobs=2, **kw)
    timing = ("run_dir", "wall_time_s", "time_to_target_s")

    def rows(res):
        return [{k: v for k, v in r.items() if k not in timing}
                for r in csv.DictReader(open(res.folder / "comparison.csv"))]

    assert len(rows(one)) == 4 and rows(one) == rows(two)
    assert [r["label"] for r in rows(two)] == ["sgd lr=0.2"] * 2 + ["adam lr=0.1"] * 2
    assert two.target == one.target and not two.failed and not two.interrupted
    assert [s["label"] for s in two.settings] == [s["label"] for s in one.settings]
    for res in (one, two):  # every run folder moved in whole; no .staging left behind
        dirs = [p for p in res.folder.iterdir() if p.is_dir()]
        assert len(dirs) == 4 and all((d / "summary.json").is_file() and (d / "trace.csv").is_file() for d in dirs)


def test_stop_before_the_first_run_writes_no_row(cfg_file, tmp_path):
    from optrun.control import StopFlag

    stop = StopFlag()
    stop.request("test")
    res = C.compare(cfg_file, vary=["optimizer.lr=0.2,0.1"], out=tmp_path / "o", plots=False, stop=stop)
    assert res.rows == [] and res.interrupted and res.failed == 0
    assert (res.folder / "comparison.csv").read_text().count("\n") == 1  # the header only


def test_interrupt_at_once_ends_the_comparison_without_a_row(cfg_file, tmp_path, monkeypatch):
    """A second Ctrl-C inside a run (api.train raises Interrupted): as in 0.1, that run gets no
    row, no further run starts, and what ran is kept and ranked."""
    from optrun import api

    real, calls = api.train, []

    def second_ctrl_c(cfg, **kw):
        calls.append(cfg["optimizer"]["lr"])
        if len(calls) == 2:
            raise api.Interrupted("stopped at once")
        return real(cfg, **kw)

    monkeypatch.setattr(api, "train", second_ctrl_c)
    res = C.compare(cfg_file, vary=["optimizer.lr=0.2,0.1,0.05"], out=tmp_path / "o", plots=False)
    assert calls == [0.2, 0.1] and res.interrupted and res.failed == 0
    assert [r["label"] for r in res.rows] == ["lr=0.2"] and [s["label"] for s in res.settings] == ["lr=0.2"]


# --------------------------------------------------------------------------------------------
# statistics a paper can use (issue 18)


def test_unreached_seeds_are_censored_in_medians_and_rankings():
    # the rmsprop case: 144, 200, 98, 98 and one seed that never reached the target
    rows = [{"label": "rmsprop", "status": "completed", "steps_to_target": v, "steps": 500, "final_loss": 1.0,
             "final_subopt": 0.1, "wall_time_s": 0.1} for v in (144, 200, 98, 98, None)]
    rows += [{"label": "adam", "status": "completed", "steps_to_target": v, "steps": 500, "final_loss": 1.0,
              "final_subopt": 0.1, "wall_time_s": 0.1} for v in (130, None, None)]
    ranked = C.rank_settings(rows, "step")
    rms = next(s for s in ranked if s["label"] == "rmsprop")
    assert rms["median_to_target"] == 144 and rms["reached_target"] == 4  # not 121, the median of four
    assert rms["to_target_text"] == "144 (4/5 reached)" and rms["band_to_target"] == [98.0, None]
    adam = next(s for s in ranked if s["label"] == "adam")
    assert adam["median_to_target"] is None and adam["median_to_target_above"] == 500
    assert [s["label"] for s in ranked] == ["rmsprop", "adam"]  # an observed median beats a censored one


def test_resolution_is_fixed_and_stated(cfg_file, tmp_path):
    res = C.compare(cfg_file, vary=["optimizer.lr=0.2"], out=tmp_path / "o", plots=False)
    meta = json.loads((res.folder / "comparison.json").read_text())
    assert meta["target_resolution"]["log_every"] == 1
    run = res.folder / res.rows[0]["run_dir"]
    assert json.loads((run / "summary.json").read_text())["log_every"] == 1
    assert isinstance(meta["settings"][0]["median_final_subopt"], float)  # numbers stay numbers
    raw, k = C._with_resolution({"train": {"steps": 10, "log_every": 7}}, None)
    assert k == 7 and raw["train"]["log_every"] == 7
    with pytest.raises(OptrunError, match="resolution"):
        C._with_resolution({"train": {"steps": 10}}, 0)


def test_theory_baselines_from_L_and_mu():
    b = C.theory_baselines(100.0, 1.0)
    assert b[0] == {"name": "sgd", "lr": 0.01} and b[1] == {"name": "sgd", "lr": pytest.approx(2 / 101, rel=1e-5)}
    assert b[2]["momentum"] == pytest.approx((9 / 11) ** 2, rel=1e-5) and b[2]["lr"] == pytest.approx(4 / 121, rel=1e-5)
    assert b[3] == {"name": "sgd", "lr": 0.01, "momentum": pytest.approx(9 / 11, rel=1e-5), "nesterov": True}
    assert C.theory_baselines(4.0, 0.0) == [{"name": "sgd", "lr": 0.25}]  # no mu: GD at 1/L only
    assert C.theory_baselines(2.0, 2.0) == [{"name": "sgd", "lr": 0.5}]  # kappa = 1: all coincide


def test_baselines_theory_adds_the_theory_tuned_runs(tmp_path):
    cfg_file = tmp_path / "ill.yaml"
    cfg_file.write_text(yaml.safe_dump(base(dataset={"name": "synthetic_linear", "n_samples": 30, "n_features": 2,
                                                     "noise": 0.3, "condition_number": 10},
                                            model={"name": "linear", "fit_intercept": False})))
    res = C.compare(cfg_file, vary=["optimizer=adam:lr=0.05"], baselines="theory", out=tmp_path / "o", plots=False)
    labels = [r["label"] for r in res.rows]
    assert labels[0] == "adam lr=0.05" and len(labels) == 5
    assert any(lbl.startswith("theory: GD lr=1/L") for lbl in labels)
    assert any(lbl.startswith("theory: Nesterov") for lbl in labels)
    with pytest.raises(OptrunError, match="baselines"):
        C.compare(cfg_file, vary=["optimizer.lr=0.1,0.2"], baselines="theory", out=tmp_path / "p", plots=False)


def test_a_failed_run_says_why_on_its_progress_line(cfg_file, tmp_path):
    res = CliRunner().invoke(app, ["compare", str(cfg_file), "--vary", "batch.mode=full,minibatch",
                                   "batch.size=100000", "--out", str(tmp_path / "o"), "--no-plots"])
    assert res.exit_code == 4, res.output
    line = next(ln for ln in res.stderr.splitlines() if "minibatch" in ln and "failed" in ln)
    assert "is larger than the" in line and "training rows" in line


@pytest.mark.parametrize("key, value, label", [
    ("optimizer.lr", 0.1, "lr=0.1"), ("loss.l2", 0.5, "l2=0.5"), ("loss.name", "bce", "loss=bce"),
    ("model.name", "logistic", "model=logistic"), ("batch.mode", "full", "full batch"), ("seed", 3, "seed=3"),
])
def test_value_labels_name_a_section_for_its_name(key, value, label):
    from optrun.compare.vary import value_label

    assert value_label(key, value) == label


def test_a_setting_whose_runs_all_failed_says_failed():
    rs = [{"status": "failed", "steps_to_target": None, "steps": None}] * 2
    assert C.censored_to_target(rs, "step")["to_target_text"] == "failed"
    ok = [{"status": "completed", "steps_to_target": None, "steps": 100}]
    assert C.censored_to_target(ok, "step")["to_target_text"].startswith("> 100")
