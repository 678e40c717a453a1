"""`optrun runs`: listings read from run folders; and many `optrun train` at once into one --out."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import optrun
from optrun import runs as runs_mod
from optrun.cli.app import app
from optrun.errors import OptrunError

TINY = {
    "seed": 0,
    "dataset": {"name": "women"},
    "model": "linear",
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.5},
    "batch": "full",
    "train": {"steps": 10},
}
TINY["dataset"]["standardize"] = True


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def mixed(tmp_path):
    """A root with train runs (sgd, adam, a diverged one) and a 2-run sweep below it."""
    root = tmp_path / "runs"
    optrun.train(TINY, out=root, plots=False, name="gd")
    optrun.train(TINY, overrides={"optimizer.name": "adam", "optimizer.lr": 0.1}, out=root, plots=False, name="adam")
    optrun.train(TINY, overrides={"optimizer.lr": 5.0, "train.steps": 60}, out=root, plots=False, name="big-lr")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(dict(TINY, name="sw")))
    res = invoke("sweep", cfg, "seed=1,2", "--out", root, "-q")
    assert res.exit_code == 0, res.output
    return root


def test_find_runs_recursive_and_skips_hidden(mixed):
    (mixed / ".hidden" / "x").mkdir(parents=True)
    (mixed / ".hidden" / "x" / "summary.json").write_text("{}")
    found = runs_mod.find_runs(mixed)
    assert len(found) == 5
    assert sum("sweep-sw-" in str(p) for p in found) == 2
    with pytest.raises(OptrunError, match="not found"):
        runs_mod.find_runs(mixed / "nope")


def test_listing_columns_show_varied_keys(mixed):
    listing = runs_mod.list_runs(mixed)
    assert len(listing.rows) == 5
    # varied across the five: lr, steps, seed; not the shared keys
    assert {"optimizer.lr", "train.steps", "seed"} <= set(listing.varied)
    assert "dataset.name" not in listing.varied and "model.name" not in listing.varied
    assert "optimizer.betas" not in listing.varied  # only adam has it: not a varied setting
    assert listing.columns[:3] == ["run", "name", "optimizer"]
    assert listing.columns[-5:] == ["status", "steps", "final_loss", "suboptimality", "wall_time_s"]
    by_name = {r["name"]: r for r in listing.rows}
    assert by_name["adam"]["optimizer"] == "adam" and by_name["adam"]["optimizer.lr"] == 0.1
    assert by_name["big-lr"]["status"] == "diverged"
    # restricted to the sweep, only the seed varies
    (sweep_dir,) = [p for p in mixed.iterdir() if p.name.startswith("sweep-")]
    sub = runs_mod.list_runs(sweep_dir)
    assert sub.varied == ["seed"]
    assert all(r["run"].startswith("runs/") for r in sub.rows)


def test_filters(mixed):
    def names(*filters):
        return sorted(r["name"] for r in runs_mod.list_runs(mixed, filters=list(filters)).rows)

    assert names("optimizer.name=adam") == ["adam"]
    assert names("optimizer=adam") == ["adam"]  # a column works too
    assert names("status=diverged") == ["big-lr"]
    assert names("status=diverged,completed") == names()  # V1,V2: any of them
    assert names("status!=completed") == ["big-lr"]
    assert names("optimizer.lr=0.5", "seed=0") == ["gd"]  # repeated filters: all must hold
    assert names("seed>=1") == ["sw-seed=1", "sw-seed=2"]
    assert names("final_loss<1", "optimizer.name=sgd") == ["gd", "sw-seed=1", "sw-seed=2"]
    assert names("r2>0.9") == ["gd", "sw-seed=1", "sw-seed=2"]  # a summary key
    assert names("optimizer.lr=5e0") == ["big-lr"]  # numbers compare as numbers
    with pytest.raises(OptrunError, match="did you mean 'optimizer.lr'"):
        runs_mod.list_runs(mixed, filters=["optimizer.lrr=1"])
    with pytest.raises(OptrunError, match="expected KEY=VALUE"):
        runs_mod.list_runs(mixed, filters=["optimizer.lr"])
    with pytest.raises(OptrunError, match="needs a number"):
        runs_mod.list_runs(mixed, filters=["steps>abc"])


def test_sort(mixed):
    rows = runs_mod.list_runs(mixed, sort="final_loss").rows
    losses = [r["final_loss"] for r in rows]
    assert losses == sorted(losses) and rows[-1]["name"] == "big-lr"
    rows = runs_mod.list_runs(mixed, sort="-optimizer.lr").rows
    assert rows[0]["name"] == "big-lr" and rows[-1]["name"] == "adam"
    # a key only some runs have (adam's betas): those runs first, the others after, either way
    rows = runs_mod.list_runs(mixed, sort="-optimizer.betas").rows
    assert rows[0]["name"] == "adam"
    with pytest.raises(OptrunError, match="--sort"):
        runs_mod.list_runs(mixed, sort="nope")


def test_cli_formats(mixed):
    res = invoke("runs", mixed, "--format", "csv", "--sort", "name")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["name"] for r in rows] == ["adam", "big-lr", "gd", "sw-seed=1", "sw-seed=2"]
    assert {"config_hash", "run_dir", "optimizer.lr", "status"} <= set(rows[0])
    res = invoke("runs", mixed, "--json", "--filter", "status=diverged")
    doc = json.loads(res.stdout)
    assert len(doc) == 1 and doc[0]["status"] == "diverged" and Path(doc[0]["run_dir"]).is_dir()
    res = invoke("runs", mixed, "--format", "md", "--filter", "optimizer.name=sgd")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("| run | name | optimizer |") and len(lines) == 2 + 4
    res = invoke("runs", mixed)  # the table goes to stderr
    assert res.exit_code == 0 and res.stdout == "" and "big-lr" in res.stderr and "diverged" in res.stderr
    assert invoke("runs", mixed, "--format", "xml").exit_code == 2
    assert invoke("runs", mixed, "--filter", "bogus=1").exit_code == 2
    assert invoke("runs", mixed / "missing").exit_code == 2


def test_listing_survives_copying_and_partial_folders(mixed, tmp_path):
    copy = tmp_path / "elsewhere" / "copied"
    shutil.copytree(mixed, copy)
    a = runs_mod.to_json(runs_mod.list_runs(mixed, sort="run"))
    b = runs_mod.to_json(runs_mod.list_runs(copy, sort="run"))
    for ra, rb in zip(a, b):
        ra.pop("run_dir"), rb.pop("run_dir")
    assert a == b
    # a run still going (summary says running, no final metrics) and a broken summary are listed
    running = copy / "20990101-000000-live-abcdef"
    running.mkdir()
    (running / "summary.json").write_text(json.dumps({"status": "running", "name": "live", "config_hash": "x"}))
    broken = copy / "20990101-000000-broken-abcdef"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    rows = {r["run"]: r for r in runs_mod.list_runs(copy).rows}
    assert rows[running.name]["status"] == "running" and rows[running.name]["final_loss"] is None
    assert rows[broken.name]["status"] == "unreadable"


def test_single_run_folder_and_empty_root(tmp_path):
    res = optrun.train(TINY, out=tmp_path / "r", plots=False)
    listing = runs_mod.list_runs(res.run_dir)
    assert len(listing.rows) == 1 and listing.rows[0]["run"] == res.run_dir.name
    (tmp_path / "empty").mkdir()
    r = invoke("runs", tmp_path / "empty", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_16_concurrent_train_processes_one_out(tmp_path):
    """Sixteen `optrun train` started at once, same config, same name, same --out: sixteen
    distinct, complete run folders."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(dict(TINY, name="same")))
    out = tmp_path / "runs"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "optrun", "train", str(cfg), f"seed={i}", "--out", str(out),
                               "--no-plots", "--json", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
             for i in range(16)]
    docs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        docs.append(json.loads(stdout))
    dirs = {d["run_dir"] for d in docs}
    assert len(dirs) == 16
    folders = sorted(p for p in out.iterdir())
    assert len(folders) == 16 and {str(p) for p in folders} == dirs
    for d in folders:
        assert {"config.yaml", "trace.csv", "summary.json"} <= {p.name for p in d.iterdir()}
        s = json.loads((d / "summary.json").read_text())
        assert s["status"] == "completed" and s["steps"] == 10
        assert len((d / "trace.csv").read_text().splitlines()) == 1 + s["trace_rows"]
    listing = runs_mod.list_runs(out)
    assert sorted(r["seed"] for r in listing.rows) == list(range(16)) and listing.varied == ["seed"]


def test_damaged_folders_are_listed_with_their_problem(tmp_path):
    root = tmp_path / "runs"
    good = optrun.train(TINY, out=root, plots=False, name="good").run_dir
    plain = runs_mod.to_csv(runs_mod.list_runs(root))
    assert "problem" not in plain.splitlines()[0]  # healthy listings keep their columns
    bad_summary = root / "20990101-000000-badsum-abcdef"
    shutil.copytree(good, bad_summary)
    (bad_summary / "summary.json").write_bytes(b"\xff\xfe not json")
    bad_config = root / "20990101-000000-badcfg-abcdef"
    shutil.copytree(good, bad_config)
    (bad_config / "config.yaml").write_text("optimizer: {name: sgd\n")  # unclosed flow mapping
    listing = runs_mod.list_runs(root, sort="run")
    assert listing.columns[-1] == "problem"
    rows = {r["run"]: r for r in listing.rows}
    assert rows[good.name]["problem"] is None and rows[good.name]["status"] == "completed"
    assert rows[bad_summary.name]["status"] == "unreadable"
    assert "summary.json" in rows[bad_summary.name]["problem"]
    # the summary is fine, the config is not: the results are listed, the reason too
    assert rows[bad_config.name]["status"] == "completed" and "invalid YAML" in rows[bad_config.name]["problem"]
    csv_rows = list(csv.DictReader(io.StringIO(runs_mod.to_csv(listing))))
    assert [r["problem"] == "" for r in csv_rows] == [r["run"] == good.name for r in csv_rows]
    res = invoke("runs", root)  # the table shows the reason
    assert res.exit_code == 0 and "unreadable" in res.stderr and "invalid YAML" in res.stderr


def test_filters_match_the_printed_precision_and_alternatives():
    from optrun import runs as R

    f = R.parse_filter("optimizer.lr=0.464159")
    assert f.matches(0.464158883361278) and not f.matches(0.4641)
    short = R.parse_filter("optimizer.lr=0.1")  # fewer than 4 digits: must be equal
    assert short.matches(0.1) and not short.matches(0.14)
    alt = R.parse_filter("optimizer.name=adam|sgd")
    assert alt.matches("adam") and alt.matches("sgd") and not alt.matches("nag")
    assert R.parse_filter("optimizer.lr!=0.2154|0.01").matches(0.1)
    assert not R.parse_filter("optimizer.lr!=0.2154|0.01").matches(0.215443469003188)
    assert R.significant_digits("1e-3") == 1 and R.significant_digits("2.50") == 3


def test_no_match_message_counts_the_runs(tmp_path):
    from optrun import runs as R

    empty = R.Listing(tmp_path, [], [], [], total=0)
    assert empty.empty_message() == f"no run folders under {tmp_path}"
    some = R.Listing(tmp_path / "grid", [], [], [], total=175)
    assert some.empty_message() == f"no runs match the filters (175 runs under {tmp_path / 'grid'})"
