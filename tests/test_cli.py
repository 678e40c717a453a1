"""The CLI end to end: Typer's CliRunner in-process, and a real subprocess."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from optrun.cli.app import app


@pytest.fixture
def cfg_file(tmp_path, base_config):
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(base_config))
    return p


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_train_json_on_stdout(cfg_file, tmp_path):
    out = tmp_path / "runs"
    res = invoke("train", cfg_file, "optimizer.lr=0.2", "--out", out, "--json", "--no-plots")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    run_dir = doc["run_dir"]
    assert doc["status"] == "completed" and doc["steps"] == 50
    assert os.path.dirname(run_dir) == str(out)
    assert yaml.safe_load(open(os.path.join(run_dir, "config.yaml")))["optimizer"]["lr"] == 0.2


def test_train_bad_config_exit_2_one_line_nothing_written(tmp_path, cfg_file):
    out = tmp_path / "runs"
    res = invoke("train", cfg_file, "optimizer.lrr=0.1", "--out", out)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "lrr" in lines[0]
    assert "Traceback" not in res.output
    assert not out.exists()


def test_strict_diverged_exit_3(cfg_file, tmp_path):
    res = invoke("train", cfg_file, "optimizer.lr=100", "train.steps=500", "--out", tmp_path / "r", "--strict", "-q", "--no-plots")
    assert res.exit_code == 3
    res = invoke("train", cfg_file, "optimizer.lr=100", "train.steps=500", "--out", tmp_path / "r", "-q", "--no-plots")
    assert res.exit_code == 0  # a diverged run is a result, not an error


def test_config_command_prints_resolved(cfg_file):
    res = invoke("config", cfg_file, "optimizer.name=adam")
    assert res.exit_code == 0
    cfg = yaml.safe_load(res.stdout)
    assert cfg["optimizer"]["name"] == "adam" and cfg["optimizer"]["betas"] == [0.9, 0.999]
    schema = json.loads(invoke("config", "--schema").stdout)
    assert "optimizer" in schema["properties"]


def test_catalog_commands():
    res = invoke("optimizers")
    assert res.exit_code == 0 and "adam" in res.stderr and "nadam" in res.stderr
    res = invoke("optimizers", "adam", "--json")
    doc = json.loads(res.stdout)
    assert doc[0]["hyperparameters"]["lr"] == 0.001
    res = invoke("optimizers", "adm")
    assert res.exit_code == 2 and "did you mean 'adam'" in res.stderr
    res = invoke("datasets", "--json")
    names = {d["name"] for d in json.loads(res.stdout)}
    assert {"women", "synthetic_linear", "synthetic_logistic"} <= names


def test_subprocess_end_to_end(cfg_file, tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "optrun", "train", str(cfg_file), "--out", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "completed"
    assert "run folder" in proc.stderr and "f*" in proc.stderr
    files = set(os.listdir(doc["run_dir"]))
    assert {"config.yaml", "trace.csv", "summary.json", "plots"} <= files
    assert {"loss.png", "params.png"} <= set(os.listdir(os.path.join(doc["run_dir"], "plots")))
    bad = subprocess.run([sys.executable, "-m", "optrun", "train", str(tmp_path / "missing.yaml"), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "not found" in bad.stderr
