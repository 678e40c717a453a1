"""Reliability, part 2: runtime faults lose nothing and explain themselves.

Real subprocesses and real signals for SIGINT / SIGTERM / two SIGINTs / kill -9 / a crash / a
file-size limit (the disk "fills up"); in-process runs for the deterministic variants
(a second interrupt at a known step, divergence without warnings, a plotting failure).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import optrun
from optrun import api
from optrun.cli.app import app
from optrun.rundir import read_summary, read_trace, truncate_partial_line

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
ENV.pop("OPTRUN_DEBUG", None)

# a run that lasts far longer than any test: interrupted long before its budget
LONG = {
    "name": "long",
    "dataset": {"name": "synthetic_linear", "n_samples": 50},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"steps": 100_000_000, "log_every": 1},
}


def write_config(tmp_path: Path, cfg: dict, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def start(tmp_path: Path, cfg: dict, *args: str, **popen) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "optrun", "train", str(write_config(tmp_path, cfg)), "--out", str(out), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, **popen,
    )
    return proc, out


def wait_for_rows(proc: subprocess.Popen, out: Path, timeout: float = 90.0) -> Path:
    """Wait until the run's trace.csv holds data rows; return the run folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        traces = list(out.glob("*/trace.csv")) if out.is_dir() else []
        if traces and traces[0].stat().st_size > 2000:
            return traces[0].parent
        if proc.poll() is not None:
            pytest.fail(f"the run ended early (exit {proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no trace rows appeared")


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str, str]:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this guards against
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"the run did not stop: {stderr}")
    return proc.returncode, stdout, stderr


def assert_trace_consistent(run_dir: Path, summary: dict) -> "object":
    trace = read_trace(run_dir)
    steps = trace["step"].to_numpy()
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    assert int(steps[-1]) == summary["steps"]
    if "trace_rows" in summary:
        assert len(trace) == summary["trace_rows"]
    assert run_dir.joinpath("trace.csv").read_bytes().endswith(b"\n")
    return trace


def assert_clean_stderr(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "Warning" not in stderr, stderr


# --------------------------------------------------------------------------------------------
# Signals (real subprocesses)


def test_sigint_stops_after_the_step_keeps_the_trace_and_draws_plots(tmp_path):
    proc, out = start(tmp_path, LONG)
    run_dir = wait_for_rows(proc, out)
    proc.send_signal(signal.SIGINT)
    code, _, stderr = finish(proc)
    assert code == 130, stderr
    assert_clean_stderr(stderr)
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted"
    assert "SIGINT" in summary["stop_reason"] and f"step {summary['steps']}" in summary["stop_reason"]
    assert summary["final_loss"] is not None and summary["steps"] >= 4096
    trace = assert_trace_consistent(run_dir, summary)
    assert trace["loss"].iloc[-1] == pytest.approx(summary["final_loss"])
    assert (run_dir / "plots" / "loss.png").is_file(), sorted(p.name for p in run_dir.rglob("*"))
    assert not (run_dir / "error.txt").exists()


def test_sigterm_exits_143_with_an_interrupted_summary(tmp_path):
    proc, out = start(tmp_path, LONG, "--no-plots", "--json")
    run_dir = wait_for_rows(proc, out)
    proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(proc)
    assert code == 143, stderr
    assert_clean_stderr(stderr)
    doc = json.loads(stdout)  # --json still prints the (interrupted) summary
    assert doc["status"] == "interrupted" and doc["run_dir"] == str(run_dir)
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and "SIGTERM" in summary["stop_reason"]
    assert_trace_consistent(run_dir, summary)


def test_second_sigint_exits_at_once(tmp_path):
    proc, out = start(tmp_path, LONG)
    run_dir = wait_for_rows(proc, out)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.03)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    code, _, stderr = finish(proc)
    assert code == 130, stderr
    assert time.monotonic() - sent < 15  # no full plotting/cleanup: it leaves at once
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: ")
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted"
    trace = read_trace(run_dir)
    assert len(trace) >= 2 and np.all(np.diff(trace["step"].to_numpy()) > 0)


def test_kill_9_leaves_status_running_and_a_parseable_trace(tmp_path):
    proc, out = start(tmp_path, LONG, "--no-plots")
    run_dir = wait_for_rows(proc, out)
    proc.kill()
    proc.communicate(timeout=60)
    summary = read_summary(run_dir)
    assert summary["status"] == "running"  # documented: nothing can run after SIGKILL
    assert summary["pid"] == proc.pid and summary["host"]
    trace = read_trace(run_dir)  # up to the last complete row
    assert len(trace) >= 2 and trace["step"].iloc[0] == 0
    assert trace["loss"].notna().all()


# --------------------------------------------------------------------------------------------
# A crash (a bug) in the middle of a run

CRASH = """
import sys
import optrun.engine as engine

_orig = engine.batch_indices

def _buggy(*args, **kwargs):
    for i, batch in enumerate(_orig(*args, **kwargs)):
        if i == 25:
            1 / 0  # an injected bug at step 26
        yield batch

engine.batch_indices = _buggy
from optrun.cli.app import main
sys.argv = ["optrun", *sys.argv[1:]]
main()
"""


def test_crash_mid_run_is_failed_with_error_txt_and_exit_1(tmp_path):
    cfg = write_config(tmp_path, {**LONG, "train": {"steps": 1000, "log_every": 1}})
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-c", CRASH, "train", str(cfg), "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("internal error: ZeroDivisionError")
    assert "optrun/engine.py" in line and "error.txt" in line and "Traceback" not in proc.stderr
    (run_dir,) = out.iterdir()
    summary = read_summary(run_dir)
    assert summary["status"] == "failed" and "ZeroDivisionError" in summary["error"]
    assert summary["steps"] == 25  # rows 0..25 were recorded before the bug
    error_txt = (run_dir / "error.txt").read_text()
    assert error_txt.startswith("Traceback") and "ZeroDivisionError" in error_txt and "_buggy" in error_txt
    assert_trace_consistent(run_dir, summary)


# --------------------------------------------------------------------------------------------
# The disk fills up in the middle of a run (a real file-size limit: writes fail with EFBIG)


def _limit_file_size():  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))


def test_disk_full_mid_run_keeps_whole_rows_and_explains(tmp_path):
    cfg = {**LONG, "train": {"steps": 20_000, "log_every": 1}}
    proc, out = start(tmp_path, cfg, "--no-plots", preexec_fn=_limit_file_size)
    code, _, stderr = finish(proc)
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "File too large" in lines[0] and "cannot write the run folder" in lines[0]
    (run_dir,) = out.iterdir()
    assert lines[0].startswith(f"error: {run_dir}")
    summary = read_summary(run_dir)
    assert summary["status"] == "failed" and "File too large" in summary["stop_reason"]
    raw = (run_dir / "trace.csv").read_bytes()
    assert raw.endswith(b"\n") and len(raw) <= 150_000  # cut back to its last complete row
    trace = read_trace(run_dir)
    assert len(trace) == raw.count(b"\n") - 1 and trace.notna().all(axis=1).iloc[1:].all()
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".*.tmp"))


# --------------------------------------------------------------------------------------------
# Divergence: a result, not an error; no numpy warnings on the screen


def test_divergence_is_a_result_with_step_and_reason_plots_and_no_warnings(tmp_path):
    cfg = {"dataset": "women", "optimizer": {"name": "sgd", "lr": 1000.0}, "train": {"steps": 200}}
    proc, out = start(tmp_path, cfg, "--json")  # with plots: matplotlib must stay quiet too
    code, stdout, stderr = finish(proc)
    assert code == 0, stderr
    assert_clean_stderr(stderr)
    doc = json.loads(stdout)
    run_dir = Path(doc["run_dir"])
    summary = read_summary(run_dir)
    assert summary["status"] == "diverged"
    assert "plots_error" not in summary, summary.get("plots_error")
    assert (run_dir / "plots" / "loss.png").is_file()  # drawn, with the divergence marked
    assert summary["diverged_at_step"] == summary["steps"] < 200
    assert f"diverged at step {summary['steps']}" in summary["stop_reason"]
    trace = assert_trace_consistent(run_dir, summary)
    assert not np.isfinite(trace["loss"].iloc[-1]) or trace["loss"].iloc[-1] > 1e10 * trace["loss"].iloc[0]

    res = CliRunner().invoke(app, ["train", str(tmp_path / "c.yaml"), "--out", str(out), "--strict", "--no-plots", "-q"])
    assert res.exit_code == 3


@pytest.mark.parametrize("overrides", [
    ["optimizer.name=sgd", "optimizer.lr=1e300"],
    ["optimizer.name=sgd", "optimizer.lr=1e6"],
    ["optimizer.name=adam", "optimizer.lr=1e6"],
    ["optimizer.name=newton", "optimizer.lr=1e6"],
    ["loss.name=mse", "optimizer.name=sgd", "optimizer.lr=1e300"],
])
def test_overflowing_logistic_runs_emit_no_warnings(tmp_path, overrides):
    cfg = {"dataset": {"name": "synthetic_logistic", "n_samples": 100}, "model": "logistic",
           "optimizer": "sgd", "batch": {"mode": "minibatch", "size": 10}, "train": {"steps": 60}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any numpy/matplotlib warning would fail the run
        result = optrun.train(cfg, overrides=overrides, out=tmp_path, plots=False)
    assert result.summary["status"] in ("completed", "diverged")
    if result.summary["status"] == "diverged":
        assert result.summary["diverged_at_step"] == result.summary["steps"]
    assert_trace_consistent(result.run_dir, result.summary)


# --------------------------------------------------------------------------------------------
# Interrupts at a known step (in-process, deterministic)


class InterruptAt:
    """A stop flag for the engine: the first interrupt (a request) or a second one (a
    KeyboardInterrupt, as the signal handler raises) arrives at the k-th check."""

    def __init__(self, k: int, second: bool):
        self.k, self.second, self.checks, self.reason = k, second, 0, "interrupted (test)"

    @property
    def requested(self) -> bool:
        self.checks += 1
        if self.checks >= self.k:
            if self.second:
                raise KeyboardInterrupt
            return True
        return False

    def request(self, reason: str = "interrupted") -> None:  # pragma: no cover
        self.reason = reason


def test_first_interrupt_at_a_known_step(tmp_path):
    # check 1 is before the run folder exists; check t+1 follows step t
    result = optrun.train(LONG, overrides=["train.steps=1000"], out=tmp_path, plots=False, stop=InterruptAt(101, False))
    s = result.summary
    assert s["status"] == "interrupted" and s["steps"] == 100 and "at step 100" in s["stop_reason"]
    assert_trace_consistent(result.run_dir, s)


def test_second_interrupt_mid_training_keeps_every_recorded_row(tmp_path):
    with pytest.raises(api.Interrupted) as info:
        optrun.train(LONG, overrides=["train.steps=1000"], out=tmp_path, plots=False, stop=InterruptAt(101, True))
    assert isinstance(info.value, KeyboardInterrupt)
    run_dir = info.value.run_dir
    s = read_summary(run_dir)
    assert s["status"] == "interrupted" and "stopped at once" in s["stop_reason"]
    assert s["steps"] == 99 and s["trace_rows"] == 100  # rows 0..99; step 100 never finished
    assert_trace_consistent(run_dir, s)


def test_interrupt_before_training_writes_nothing(tmp_path):
    with pytest.raises(api.Interrupted) as info:
        optrun.train(LONG, out=tmp_path / "runs", plots=False, stop=InterruptAt(1, False))
    assert info.value.run_dir is None and not (tmp_path / "runs").exists()


def test_signal_handler_first_requests_then_raises():
    from optrun.cli.common import EXIT_SIGINT, EXIT_SIGTERM, Signals
    from optrun.engine import StopFlag

    stop = StopFlag()
    sig = Signals(stop)
    sig._handler(signal.SIGTERM, None)
    assert stop.requested and "SIGTERM" in stop.reason and sig.exit_code == EXIT_SIGTERM
    with pytest.raises(KeyboardInterrupt):
        sig._handler(signal.SIGINT, None)
    assert sig.exit_code == EXIT_SIGTERM  # the first signal decides the exit code
    assert Signals.stopped_at_once  # the console script will skip finalization (see cli.app.main)
    Signals.stopped_at_once = False  # process-wide: do not leak into later in-process tests
    assert Signals(StopFlag()).exit_code == EXIT_SIGINT


# --------------------------------------------------------------------------------------------
# Plotting failures and bugs after training never lose the run


def test_plotting_failure_never_loses_the_run(tmp_path, monkeypatch):
    import optrun.plots

    def broken(run_dir, **kwargs):
        raise RuntimeError("the plotting code has a bug")

    monkeypatch.setattr(optrun.plots, "draw_run", broken)
    cfg = write_config(tmp_path, {"dataset": "women", "optimizer": {"name": "sgd", "lr": 1e-4}, "train": {"steps": 5}})
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "runs"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    run_dir = Path(doc["run_dir"])
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and "the plotting code has a bug" in summary["plots_error"]
    assert "RuntimeError" in (run_dir / "plots_error.txt").read_text()
    assert "warning: plots failed" in res.stderr and "Traceback" not in res.stderr


def test_bug_after_training_marks_the_run_failed(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("summary bug")

    monkeypatch.setattr(api, "build_summary", broken)
    cfg = write_config(tmp_path, {"dataset": "women", "optimizer": {"name": "sgd", "lr": 1e-4}, "train": {"steps": 5}})
    out = tmp_path / "runs"
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(out), "--no-plots"])
    assert res.exit_code == 1
    assert res.stderr.startswith("internal error: ValueError: summary bug") and len(res.stderr.splitlines()) == 1
    (run_dir,) = out.iterdir()
    assert read_summary(run_dir)["status"] == "failed" and (run_dir / "error.txt").is_file()
    assert_trace_consistent(run_dir, {"steps": 5})


def test_optrun_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTRUN_DEBUG", "1")
    monkeypatch.setattr(api, "build_summary", lambda *a, **k: 1 / 0)
    cfg = write_config(tmp_path, {"dataset": "women", "optimizer": {"name": "sgd", "lr": 1e-4}, "train": {"steps": 2}})
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "runs"), "--no-plots"])
    assert isinstance(res.exception, ZeroDivisionError)


# --------------------------------------------------------------------------------------------
# Reading a trace cut off by a kill


def test_read_trace_ignores_a_cut_off_last_line(tmp_path):
    (tmp_path / "trace.csv").write_text("step,loss\n0,1.5\n1,1.25\n2,1.1")
    assert read_trace(tmp_path)["step"].tolist() == [0, 1]
    truncate_partial_line(tmp_path / "trace.csv")
    assert (tmp_path / "trace.csv").read_text() == "step,loss\n0,1.5\n1,1.25\n"
    truncate_partial_line(tmp_path / "trace.csv")  # idempotent
    assert (tmp_path / "trace.csv").read_text() == "step,loss\n0,1.5\n1,1.25\n"
    (tmp_path / "summary.json").write_text('{"status": "running"}')
    assert optrun.load_run(tmp_path).trace["step"].tolist() == [0, 1]


def test_console_script_turns_a_bug_outside_commands_into_one_line(monkeypatch, capsys):
    import optrun.cli.app as cli_app

    def broken():
        raise RuntimeError("boom")

    monkeypatch.delenv("OPTRUN_DEBUG", raising=False)
    monkeypatch.setattr(cli_app, "app", broken)
    with pytest.raises(SystemExit) as info:
        cli_app.main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: RuntimeError: boom (at ") and len(err.splitlines()) == 1
    assert "OPTRUN_DEBUG=1" in err
