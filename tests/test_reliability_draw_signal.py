"""Ctrl-C while the figures are drawn: exit 130, the run folder complete, and said so."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_sigint_while_drawing_exits_130_with_the_run_complete(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"dataset": {"name": "synthetic_linear", "n_samples": 200, "n_features": 6},
                                   "optimizer": {"name": "sgd", "lr": 0.01}, "batch": "full",
                                   "train": {"steps": 200}}))
    out = tmp_path / "out"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "optrun", "train", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the final summary is written before the figures are drawn
        found = glob.glob(str(out / "*" / "summary.json"))
        try:
            if found and json.loads(open(found[0]).read()).get("status") == "completed":
                break
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            pytest.skip("the figures were drawn before the signal could be sent")
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0 and "interrupted while drawing" not in err:
        pytest.skip("the signal arrived after the figures were drawn")
    assert proc.returncode == 130, err
    assert "interrupted while drawing the figures: the run is complete" in err and "Traceback" not in err
    run = glob.glob(str(out / "*"))[0]
    summary = json.loads(open(os.path.join(run, "summary.json")).read())
    assert summary["status"] == "completed" and summary["steps"] == 200


def test_a_run_whose_folder_is_deleted_stops_with_one_line(tmp_path):
    """The run folder removed under a running `optrun train`: exit 2 with one line that names the
    folder and the reason, within about a second (the next flush), never a traceback."""
    import shutil

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"dataset": {"name": "synthetic_linear", "n_samples": 200, "n_features": 3},
                                   "optimizer": {"name": "sgd", "lr": 0.01}, "batch": "full",
                                   "train": {"steps": 5_000_000, "log_every": 1000}}))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "optrun", "train", str(cfg), "--out", str(out), "--no-plots"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not glob.glob(str(out / "*" / "trace.csv")):
        time.sleep(0.02)
    time.sleep(0.3)
    run = glob.glob(str(out / "*"))[0]
    shutil.rmtree(run)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "cannot write the run folder" in err
    assert os.path.basename(run) in err
