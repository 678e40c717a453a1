"""Sweeps: grid parsing, the plan and its hashes, resume, executors, run-plan, the CLI."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optrun import sweep as sw
from optrun.cli.app import app
from optrun.errors import OptrunError

# ---------------------------------------------------------------------------------------------
# helpers

TINY = {
    "name": "tiny",
    "seed": 0,
    "dataset": {"name": "synthetic_linear", "n_samples": 40},
    "model": "linear",
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch": {"mode": "minibatch", "size": 8},
    "train": {"steps": 15},
}


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return p


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def sweep_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.name.startswith("sweep-"))


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def folder_contents(runs_dir: Path) -> dict:
    """config_hash -> (config.yaml, trace.csv without time_s, summary without timings)."""
    import pandas as pd

    out = {}
    for d in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        summary = json.loads((d / "summary.json").read_text())
        trace = pd.read_csv(d / "trace.csv").drop(columns=["time_s"])
        for k in ("wall_time_s",):
            summary.pop(k, None)
        out[summary["config_hash"]] = ((d / "config.yaml").read_text(), trace.to_csv(index=False), summary)
    return out


# ---------------------------------------------------------------------------------------------
# grid parsing


@pytest.mark.parametrize("text, key, values", [
    ("optimizer.lr=0.1,0.01", "optimizer.lr", [0.1, 0.01]),
    ("optimizer.lr=1e-3", "optimizer.lr", [0.001]),
    ("seed=range(3)", "seed", [0, 1, 2]),
    ("seed=range(2, 8, 3)", "seed", [2, 5]),
    ("seed=range(3),10", "seed", [0, 1, 2, 10]),
    ("x=linspace(0,1,5)", "x", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("x=linspace(0,1,11)", "x", [i / 10 for i in range(11)]),  # 0.3, not 0.30000000000000004
    ("optimizer.lr=logspace(-4,0,5)", "optimizer.lr", [1e-4, 1e-3, 1e-2, 1e-1, 1.0]),
    ("optimizer.lr=logspace(-2, -2, 1)", "optimizer.lr", [0.01]),
    ("optimizer.name=adam,sgd,nag", "optimizer.name", ["adam", "sgd", "nag"]),
    ("optimizer.betas=[0.9,0.99],[0.5,0.999]", "optimizer.betas", [[0.9, 0.99], [0.5, 0.999]]),
    ("batch.shuffle=true,false", "batch.shuffle", [True, False]),
    ("name='a,b',c", "name", ["a,b", "c"]),
])
def test_parse_axis(text, key, values):
    axis = sw.parse_axis(text)
    assert axis.key == key
    assert list(axis.values) == values
    assert [type(v) for v in axis.values] == [type(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=8))
def test_comma_lists_round_trip(values):
    axis = sw.parse_axis("optimizer.lr=" + ",".join(repr(v) for v in values))
    assert list(axis.values) == values
    assert [type(v) for v in axis.values] == [type(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(1, 7))
def test_range_is_python_range(start, stop, step):
    want = list(range(start, stop, step))
    if not want:  # an empty axis is an error (it would empty the whole grid)
        with pytest.raises(OptrunError, match="gives no values"):
            sw.parse_axis(f"seed=range({start},{stop},{step})")
        return
    assert list(sw.parse_axis(f"seed=range({start},{stop},{step})").values) == want


def test_logspace_matches_numpy():
    import numpy as np

    got = sw.parse_axis("optimizer.lr=logspace(-4,0,9)").values
    np.testing.assert_allclose(got, np.logspace(-4, 0, 9), rtol=1e-14)
    np.testing.assert_allclose(sw.parse_axis("x=linspace(-3,7,13)").values, np.linspace(-3, 7, 13), rtol=1e-14)


@pytest.mark.parametrize("text, fragment", [
    ("optimizer.lr", "expected KEY=v1,v2"),
    ("optimizer.lr=", "expected KEY=v1,v2"),
    ("=1,2", "expected KEY=v1,v2"),
    ("optimizer..lr=1", "dotted key"),
    ("optimizer.lr=0.1,,0.2", "empty value"),
    ("seed=range(1.5)", "range() takes 1 to 3 integers"),
    ("seed=range(0,5,0)", "step must not be zero"),
    ("x=linspace(0,1)", "(start, stop, count)"),
    ("x=logspace(0,1,2.5)", "(start, stop, count)"),
    ("x=linspace(a,1,3)", "'a' is not a number"),
    ("seed=range(0)", "'range(0)' gives no values"),  # the whole product would be empty
    ("seed=range(5,1)", "gives no values"),
    ("x=logspace(0,400,3)", "exponents must lie within -307..308"),  # 10.0**400: OverflowError (exit 1)
    ("x=logspace(-400,0,3)", "exponents must lie within -307..308"),  # 10.0**-400 == 0.0
])
def test_parse_axis_errors(text, fragment):
    with pytest.raises(OptrunError) as err:
        sw.parse_axis(text)
    assert fragment in str(err.value)


def test_grid_is_the_product_first_axis_slowest():
    axes = sw.parse_axes(["a.x=1,2", "b.y=range(3)"])
    g = sw.grid(axes)
    assert len(g) == 6
    assert g[0] == {"a.x": 1, "b.y": 0} and g[1] == {"a.x": 1, "b.y": 1} and g[3] == {"a.x": 2, "b.y": 0}
    with pytest.raises(OptrunError, match="given twice"):
        sw.parse_axes(["seed=1", "seed=2"])


# ---------------------------------------------------------------------------------------------
# the plan and its hashes


def test_hash_stable_under_axis_order_and_matches_train(cfg, tmp_path):
    a = sw.plan_sweep(cfg, ["optimizer.lr=0.1,0.05", "seed=range(2)"], out=tmp_path)
    b = sw.plan_sweep(cfg, ["seed=range(2)", "optimizer.lr=0.1,0.05"], out=tmp_path)
    assert {e.config_hash for e in a.entries} == {e.config_hash for e in b.entries}
    assert a.dir == b.dir  # same sweep folder: rerunning it in any axis order resumes it
    by_ov = {json.dumps(e.overrides, sort_keys=True): e for e in a.entries}
    for e in b.entries:
        twin = by_ov[json.dumps(e.overrides, sort_keys=True)]
        assert (e.name, e.config_hash) == (twin.name, twin.config_hash)
    # the planned hash is the one optrun train writes for that config
    import optrun

    e = a.entries[3]
    res = optrun.train(str(cfg), overrides=e.overrides, name=e.name, out=tmp_path / "t", plots=False)
    assert res.summary["config_hash"] == e.config_hash


def test_hash_ignores_key_order_in_the_config_file(tmp_path):
    p1, p2 = tmp_path / "a.yaml", tmp_path / "b.yaml"
    p1.write_text(yaml.safe_dump(TINY, sort_keys=False))
    reordered = {k: TINY[k] for k in reversed(list(TINY))}
    reordered["optimizer"] = {"lr": 0.1, "name": "sgd"}
    p2.write_text(yaml.safe_dump(reordered, sort_keys=False))
    h1 = [e.config_hash for e in sw.plan_sweep(p1, ["seed=range(3)"], out=tmp_path).entries]
    h2 = [e.config_hash for e in sw.plan_sweep(p2, ["seed=range(3)"], out=tmp_path).entries]
    assert h1 == h2 and len(set(h1)) == 3


def test_plan_errors_before_anything_is_written(cfg, tmp_path):
    out = tmp_path / "out"
    res = invoke("sweep", cfg, "optimizer.lr=0.1,-1", "--out", out)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().startswith("error: ") and "lr" in res.stderr
    assert not out.exists()
    res = invoke("sweep", cfg, "optimizer.lrr=0.1,0.2", "--out", out)
    assert res.exit_code == 2 and "lrr" in res.stderr
    res = invoke("sweep", cfg, "seed=1,1", "--out", out)  # two grid points, one config
    assert res.exit_code == 2 and "the value 1 is given twice" in res.stderr
    assert not out.exists()


def test_csv_dataset_path_made_absolute(tmp_path, linear_csv):
    sub = tmp_path / "configs"
    sub.mkdir()
    c = dict(TINY, dataset={"name": "csv", "path": os.path.relpath(linear_csv, sub)})
    (sub / "c.yaml").write_text(yaml.safe_dump(c))
    plan = sw.plan_sweep(sub / "c.yaml", ["seed=range(2)"], out=tmp_path / "o")
    assert plan.config["dataset"]["path"] == str(linear_csv.resolve())


def test_dry_run_writes_nothing(cfg, tmp_path):
    out = tmp_path / "out"
    res = invoke("sweep", cfg, "optimizer.lr=logspace(-3,-1,3)", "seed=range(2)", "--out", out, "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["total"] == 6 and len(doc["runs"]) == 6 and doc["done"] == 0
    assert doc["runs"][0]["overrides"] == {"optimizer.lr": 0.001, "seed": 0}
    assert "6 runs" in res.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# running, summary.csv, resume


def test_sweep_folder_layout_and_summary(cfg, tmp_path):
    out = tmp_path / "out"
    res = invoke("sweep", cfg, "optimizer.lr=0.1,0.05", "seed=range(2)", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["total"] == 4 and doc["ran"] == 4 and doc["failed"] == 0
    (d,) = sweep_dirs(out)
    assert doc["sweep_dir"] == str(d)
    assert {p.name for p in d.iterdir()} == {"sweep.yaml", "plan.jsonl", "runs", "summary.csv"}
    spec = yaml.safe_load((d / "sweep.yaml").read_text())
    assert [a["key"] for a in spec["axes"]] == ["optimizer.lr", "seed"] and spec["runs"] == 4
    plan = [json.loads(line) for line in (d / "plan.jsonl").read_text().splitlines()]
    assert [p["index"] for p in plan] == [0, 1, 2, 3]
    assert all(set(p) == {"index", "overrides", "name", "config_hash"} for p in plan)
    runs = [p for p in (d / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 4 and all((r / "summary.json").is_file() and (r / "trace.csv").is_file() for r in runs)
    rows = read_csv(d / "summary.csv")
    assert [r["index"] for r in rows] == ["0", "1", "2", "3"]
    assert [r["config_hash"] for r in rows] == [p["config_hash"] for p in plan]
    assert rows[2]["optimizer.lr"] == "0.05" and rows[2]["seed"] == "0"
    assert all(r["status"] == "completed" and r["steps"] == "15" for r in rows)
    for r in rows:
        s = json.loads((d / r["run"] / "summary.json").read_text())
        assert s["config_hash"] == r["config_hash"] and float(r["final_loss"]) == s["final_loss"]


def test_resume_skips_done_and_reruns_failed_or_interrupted(cfg, tmp_path):
    out = tmp_path / "out"
    args = ("sweep", cfg, "seed=range(4)", "--out", out, "--json", "-q")
    assert invoke(*args).exit_code == 0
    (d,) = sweep_dirs(out)
    before = {p.name for p in (d / "runs").iterdir() if not p.name.startswith(".")}
    # same sweep again: nothing to do
    doc = json.loads(invoke(*args).stdout)
    assert doc["skipped"] == 4 and doc["ran"] == 0
    assert {p.name for p in (d / "runs").iterdir() if not p.name.startswith(".")} == before
    # one run failed, one was interrupted: only those two run again, into new folders
    rows = read_csv(d / "summary.csv")
    for row, status in ((rows[1], "failed"), (rows[3], "interrupted")):
        p = d / row["run"] / "summary.json"
        s = json.loads(p.read_text())
        s["status"] = status
        p.write_text(json.dumps(s))
    res = invoke("sweep", "--resume", d, "--json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["skipped"] == 2 and doc["ran"] == 2
    assert sorted(r["index"] for r in doc["runs"] if r["attempts"] == 2) == [1, 3]
    after = {p.name for p in (d / "runs").iterdir() if not p.name.startswith(".")}
    assert before < after and len(after) == 6  # old attempts are kept, never overwritten
    rows = read_csv(d / "summary.csv")
    assert all(r["status"] == "completed" for r in rows)
    # --resume takes the folder's own config: CONFIG with it is a usage error
    assert invoke("sweep", cfg, "--resume", d).exit_code == 2


def test_failures_reported_others_continue_exit_4(cfg, tmp_path):
    out = tmp_path / "out"
    # batch.size=100 > 40 rows: a data error found when the run starts, not when planning
    res = invoke("sweep", cfg, "batch.size=4,100,8", "--out", out)
    assert res.exit_code == 4, res.output
    assert "FAILED" in res.stderr and "batch.size=100" in res.stderr and "larger than" in res.stderr
    (d,) = sweep_dirs(out)
    rows = read_csv(d / "summary.csv")
    assert [r["status"] for r in rows] == ["completed", "failed", "completed"]
    assert "larger than" in rows[1]["error"]
    # the failed attempt has a folder (resume retries it; optrun runs lists it)
    s = json.loads((d / rows[1]["run"] / "summary.json").read_text())
    assert s["status"] == "failed" and s["config_hash"] == rows[1]["config_hash"]
    assert (d / rows[1]["run"] / "config.yaml").is_file()
    # --fail-fast: stop at the first failure
    out2 = tmp_path / "out2"
    res = invoke("sweep", cfg, "batch.size=100,4,8", "--out", out2, "--fail-fast", "--json")
    assert res.exit_code == 4
    doc = json.loads(res.stdout)
    assert doc["ran"] == 1 and doc["not_run"] == 2
    assert [r["status"] for r in doc["runs"]] == ["failed", "pending", "pending"]


def test_two_workers_equal_sequential(cfg, tmp_path):
    axes = ["optimizer.name=sgd,adam", "optimizer.lr=0.1,0.01", "seed=range(2)"]
    seq = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "seq"))
    par = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "par"))
    r1 = sw.execute(seq, jobs=1)
    r2 = sw.execute(par, jobs=2)
    assert len(r1.outcomes) == len(r2.outcomes) == 8 and not r1.failed and not r2.failed
    a, b = folder_contents(seq.runs_dir), folder_contents(par.runs_dir)
    assert a.keys() == b.keys() == {e.config_hash for e in seq.entries}
    assert a == b  # same configs, same traces (but time_s), same summaries (but wall time)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("run", "wall_time_s")} for r in rows]
    assert strip(read_csv(seq.dir / "summary.csv")) == strip(read_csv(par.dir / "summary.csv"))
    assert not (par.runs_dir / ".staging").exists()


def test_pool_workers_pin_blas_threads(tmp_path):
    before = {k: os.environ.get(k) for k in sw.BLAS_ENV}
    pool, _ = sw.make_pool(1, tmp_path)
    with pool:
        with sw._spawning():
            fut = pool.submit(sw._worker_env)
        env = fut.result()
    assert set(env.values()) == {"1"}
    assert {k: os.environ.get(k) for k in sw.BLAS_ENV} == before  # the parent's env is restored


# ---------------------------------------------------------------------------------------------
# job arrays: --plan-only + run-plan


def test_plan_only_and_run_plan_idempotent(cfg, tmp_path):
    out = tmp_path / "out"
    res = invoke("sweep", cfg, "seed=range(3)", "--out", out, "--plan-only", "--json")
    assert res.exit_code == 0, res.output
    d = Path(json.loads(res.stdout)["sweep_dir"])
    assert (d / "plan.jsonl").is_file() and not list((d / "runs").iterdir())
    # array task 1, twice: the second time is a no-op
    r1 = invoke("run-plan", d, "--index", 1, "--json")
    assert r1.exit_code == 0, r1.output
    doc1 = json.loads(r1.stdout)
    assert doc1["skipped"] is False and doc1["status"] == "completed"
    r2 = invoke("run-plan", d, "--index", 1, "--json")
    doc2 = json.loads(r2.stdout)
    assert r2.exit_code == 0 and doc2["skipped"] is True and doc2["run_dir"] == doc1["run_dir"]
    assert len([p for p in (d / "runs").iterdir() if not p.name.startswith(".")]) == 1
    plan = [json.loads(line) for line in (d / "plan.jsonl").read_text().splitlines()]
    assert doc1["config_hash"] == plan[1]["config_hash"]
    # the index may come from SLURM_ARRAY_TASK_ID
    r3 = CliRunner().invoke(app, ["run-plan", str(d), "--json"], env={"SLURM_ARRAY_TASK_ID": "2"})
    assert r3.exit_code == 0 and json.loads(r3.stdout)["config_hash"] == plan[2]["config_hash"]
    # out of range / not a sweep folder: usage errors
    assert invoke("run-plan", d, "--index", 3).exit_code == 2
    assert invoke("run-plan", tmp_path, "--index", 0).exit_code == 2
    # re-planning the same sweep keeps the plan; resuming runs only what is missing
    assert invoke("sweep", cfg, "seed=range(3)", "--out", out, "--plan-only").exit_code == 0
    assert [json.loads(line) for line in (d / "plan.jsonl").read_text().splitlines()] == plan
    doc = json.loads(invoke("sweep", "--resume", d, "--json").stdout)
    assert doc["skipped"] == 2 and doc["ran"] == 1
    assert [r["status"] for r in read_csv(d / "summary.csv")] == ["completed"] * 3


def test_run_plan_failed_entry_exit_4(cfg, tmp_path):
    plan = sw.write_sweep(sw.plan_sweep(cfg, ["batch.size=4,100"], out=tmp_path))
    res = invoke("run-plan", plan.dir, "--index", 1)
    assert res.exit_code == 4 and "FAILED" in res.stderr


# ---------------------------------------------------------------------------------------------
# Ctrl-C


def test_stop_before_a_run_starts_writes_nothing(cfg, tmp_path):
    from optrun.engine import StopFlag

    plan = sw.write_sweep(sw.plan_sweep(cfg, ["seed=range(3)"], out=tmp_path))
    stop = StopFlag()
    stop.request("test")
    assert sw.run_entry(plan, plan.entries[0], stop=stop)["status"] == "not_run"
    assert [p for p in plan.runs_dir.iterdir() if not p.name.startswith(".")] == []
    report = sw.execute(plan, stop=stop)
    assert report.outcomes == [] and report.not_run == 3 and report.interrupted
    assert [r["status"] for r in read_csv(plan.dir / "summary.csv")] == ["pending"] * 3


LONG = dict(TINY, dataset={"name": "synthetic_linear", "n_samples": 50}, batch="full",
            train={"steps": 2_000_000, "engine": "numpy"})  # numpy: a stop lands every step (a compiled stretch is uninterruptible)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_cleanly_and_resumes(tmp_path, jobs):
    cfg = tmp_path / "long.yaml"
    cfg.write_text(yaml.safe_dump(LONG))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "optrun", "sweep", str(cfg), "seed=range(4)", "--out", str(out), "-j", jobs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until a run is training (its trace.csv exists, unfinished)
        if list(out.glob("sweep-*/runs/.staging/*/*/trace.csv")):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    (d,) = sweep_dirs(out)
    rows = read_csv(d / "summary.csv")
    statuses = [r["status"] for r in rows]
    assert "interrupted" in statuses and set(statuses) <= {"interrupted", "pending"}
    assert statuses.count("interrupted") <= int(jobs)  # no new run started after Ctrl-C
    assert not list((d / "runs").glob(".staging/*"))
    # nothing counts as done, so rerunning the sweep runs every entry again
    loaded = sw.load_sweep(d)
    assert sw.pending_entries(loaded) == loaded.entries


def test_grid_parses_optimizer_specs():
    from optrun.grid import parse_optimizer_specs

    assert parse_optimizer_specs("adam:lr=0.01:betas=[0.9,0.99],sgd:lr=,newton", "w") == [
        {"name": "adam", "lr": 0.01, "betas": [0.9, 0.99]}, {"name": "sgd", "lr": None}, {"name": "newton"}]
    with pytest.raises(OptrunError, match="w: 'adam:lr': expected NAME:hp=value"):
        parse_optimizer_specs("adam:lr", "w")
    with pytest.raises(OptrunError, match="two commas"):
        parse_optimizer_specs("adam,,sgd", "w")


# ---------------------------------------------------------------------------------------------
# the executor contract, with a work function that trains nothing


def fake_work(payload, out, stop=None):
    """Writes a run folder holding only a summary: status from the payload."""
    folder = out / f"20990101-000000-{payload['name']}-abcdef"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"status": payload["status"]}))
    return {"index": payload["index"], "status": payload["status"], "folder": folder}


def test_run_all_sequential_contract(tmp_path):
    from optrun.control import StopFlag
    from optrun.executors import run_all

    payloads = [{"index": i, "name": f"r{i}", "status": s} for i, s in enumerate(["completed", "failed", "completed"])]
    started, seen = [], []
    stop = StopFlag()
    for outcome in run_all(payloads, fake_work, into=tmp_path / "into", stop=stop,
                           on_start=lambda p: started.append(p["index"])):
        seen.append(outcome)
        if outcome["status"] == "failed":
            stop.request("fail fast")  # between two outcomes: the third is never handed out
    assert started == [0, 1] and [o["index"] for o in seen] == [0, 1]
    assert all(Path(o["run_dir"]).parent == tmp_path / "into" and "folder" not in o for o in seen)
    assert sorted(p.name for p in (tmp_path / "into").iterdir()) == [Path(o["run_dir"]).name for o in seen]
    with pytest.raises(OptrunError, match="expected local or dask"):
        run_all(payloads, fake_work, into=tmp_path, executor="ray")


def test_plan_errors_name_the_file_or_the_override_that_set_the_key(tmp_path):
    base = {"seed": 0, "dataset": {"name": "women"}, "model": "linear", "loss": "mse", "train": {"steps": 5}}
    bad_key = tmp_path / "unk.yaml"
    bad_key.write_text(yaml.safe_dump({**base, "optimiser": {"name": "sgd"}}))
    with pytest.raises(OptrunError) as err:
        sw.plan_sweep(bad_key, ["seed=0,1"], out=tmp_path / "o")
    assert str(err.value).startswith(f"{bad_key}: unknown key 'optimiser'")  # not "config: ..."
    bad_betas = tmp_path / "betas.yaml"
    bad_betas.write_text(yaml.safe_dump({**base, "optimizer": {"name": "adam", "betas": [0.9, 2.0]}}))
    with pytest.raises(OptrunError) as err:
        sw.plan_sweep(bad_betas, ["optimizer.lr=0.1,0.2"], out=tmp_path / "o")
    assert str(err.value).startswith(f"{bad_betas}: optimizer.betas:")  # the axis did not set betas
    with pytest.raises(OptrunError) as err:
        sw.plan_sweep(bad_betas, ["optimizer.betas=[0.9, 0.99],[0.9, 3]"], out=tmp_path / "o")
    assert "override optimizer.betas=[0.9, 3]: optimizer.betas:" in str(err.value)
    assert not (tmp_path / "o").exists()


def test_a_missing_data_file_is_found_when_planning(tmp_path):
    # it would fail every grid point: exit 2 and nothing written, as optrun train does
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"seed": 0, "dataset": {"name": "csv", "path": "nope.csv"}, "model": "linear",
                                   "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.1}, "train": {"steps": 5}}))
    with pytest.raises(OptrunError, match=r"nope\.csv: file not found"):
        sw.plan_sweep(cfg, ["seed=range(3)"], out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra, words", [(["--plan-only"], "nothing runs with --plan-only"),
                                          (["-j", "2"], "drop -j/--jobs"), (["--executor", "dask"], "drop -j/--jobs")])
def test_vectorize_refuses_options_it_would_ignore(cfg, tmp_path, extra, words):
    res = invoke("sweep", cfg, "seed=0,1", "--vectorize", "--out", tmp_path / "o", *extra)
    assert res.exit_code == 2 and res.stderr.startswith("error: --vectorize") and words in res.stderr, res.output
    assert not (tmp_path / "o").exists()
