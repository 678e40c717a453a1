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
