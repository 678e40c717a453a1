"""Reliability 0.2 (issue #11), bad input through the real CLI: unbounded work refused before it
starts (alias bombs, huge numbers and ranges), files that are not regular files (FIFOs, devices,
directories, symlink loops), YAML 1.2 numbers, damaged run and sweep folders, messages that
blame the override. Every case is a real ``python -m optrun`` subprocess with a hard timeout:
a hang fails the test instead of the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from optrun.config import parse_yaml
from optrun.errors import OptrunError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs and signals")

ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
ENV.pop("OPTRUN_DEBUG", None)

TINY = {"seed": 0, "dataset": {"name": "synthetic_linear", "n_samples": 20, "n_features": 2},
        "optimizer": {"name": "sgd", "lr": 0.05}, "batch": "full", "train": {"steps": 5}}


def cli(*args, timeout: float = 20, cwd=None) -> subprocess.CompletedProcess:
    """``optrun ARGS`` in a subprocess, killed after ``timeout`` s (a hang is a failure)."""
    return subprocess.run([sys.executable, "-m", "optrun", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=cwd)


def quick(*args):
    """The same command in this process (typer's runner): for the variants of a case whose
    representative runs in a real subprocess. Never used for a FIFO (a hang would hang pytest)."""
    from typer.testing import CliRunner

    from optrun.cli.app import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    res.returncode = res.exit_code
    return res


def one_error_line(res, *needles: str, code: int = 2) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, res.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def bomb(levels: int = 9) -> str:
    """A 'billion laughs' flow list: 10^levels values from ~100 written ones."""
    names = [chr(ord("a") + i) for i in range(levels)]
    parts = ["&a [x,x,x,x,x,x,x,x,x,x]"]
    parts += [f"&{q} [" + ",".join([f"*{p}"] * 10) + "]" for p, q in zip(names, names[1:])]
    return "[" + ", ".join(parts) + "]"


@pytest.fixture
def cfg(tmp_path) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return p


# ---------------------------------------------------------------------------------------------
# 1. Unbounded work before validation


def test_alias_bomb_refused_while_composing():
    with pytest.raises(OptrunError, match="billion laughs"):
        parse_yaml(bomb(), "x")
    with pytest.raises(OptrunError, match="recursive"):
        parse_yaml("a: &a [1, *a]", "x")
    # aliases that expand a little are fine, and merge keys work as in yaml.safe_load
    assert parse_yaml("a: &a [1, 2]\nb: [*a, *a]", "x") == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    text = "base: &b {lr: 0.1, eps: 1.0e-8}\nopt: {<<: *b, lr: 0.5}"
    assert parse_yaml(text, "x") == yaml.safe_load(text)


@pytest.mark.parametrize("where", ["config", "override", "axis", "copied_run"])
def test_alias_bomb_everywhere_exit_2_at_once(where, cfg, tmp_path):
    if where == "config":
        cfg.write_text(cfg.read_text().replace("lr: 0.05", f"lr: {bomb()}"))
        res = cli("train", cfg, "--out", tmp_path / "runs")
    elif where == "override":
        res = cli("train", cfg, f"optimizer.lr={bomb()}", "--out", tmp_path / "runs")
    elif where == "axis":
        res = cli("sweep", cfg, f"optimizer.lr={bomb()}", "--out", tmp_path / "runs")
    else:  # a run folder copied from elsewhere whose config.yaml was replaced
        run = tmp_path / "run"
        run.mkdir()
        (run / "config.yaml").write_text(f"seed: {bomb()}\n")
        (run / "summary.json").write_text(json.dumps({"status": "completed"}))
        res = cli("rerun", run, "--out", tmp_path / "runs")
    one_error_line(res, "billion laughs")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args,needle", [
    (["seed=" + "9" * 400], "400 digits"),
    (["train.steps=" + "1" * 5000], "5000 digits"),
])
def test_huge_numbers_refused_and_not_echoed(args, needle, cfg, tmp_path):
    line = one_error_line(cli("train", cfg, *args, "--out", tmp_path / "r"), needle)
    assert len(line) < 300


@pytest.mark.parametrize("axes,needle", [
    (["seed=range(1000000000)"], "at most 100000"),
    (["seed=range(1000)", "optimizer.lr=linspace(0.1,1,1000)"], "1000 x 1000 = 1000000 runs"),
    (["optimizer.lr=logspace(-4,0,1000000000000)"], "at most 100000"),
    (["seed=range(" + "9" * 400 + ")"], "at most 40 characters"),
    (["seed=1,2,1"], "given twice"),
])
def test_huge_grids_refused_before_expanding(axes, needle, cfg, tmp_path):
    line = one_error_line(quick("sweep", cfg, *axes, "--dry-run", "--out", tmp_path / "s"), needle)
    assert len(line) < 300


# ---------------------------------------------------------------------------------------------
# 2. Files that are not regular files


@pytest.fixture
def odd_files(tmp_path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    d = tmp_path / "dir"
    d.mkdir()
    return {"fifo": fifo, "loop": loop, "dir": d, "device": Path("/dev/zero")}


@pytest.mark.parametrize("kind,needle", [("fifo", "FIFO"), ("loop", "symlink loop"), ("dir", "directory"),
                                         ("device", "device")])
def test_config_not_a_regular_file(kind, needle, odd_files, tmp_path):
    one_error_line(cli("train", odd_files[kind], "--out", tmp_path / "r", timeout=10), needle)


@pytest.mark.parametrize("kind,needle", [
    ("fifo", "FIFO"), ("device", "device"),
    ("loop", "symlink loop"),
])
def test_csv_not_a_regular_file(kind, needle, odd_files, cfg, tmp_path):
    res = cli("train", cfg, f"dataset={{name: csv, path: '{odd_files[kind]}'}}", "--out", tmp_path / "r", timeout=10)
    one_error_line(res, needle)
    assert not (tmp_path / "r").exists()


def _run_folder(cfg, tmp_path) -> Path:
    import optrun

    return Path(optrun.train(str(cfg), out=tmp_path / "runs", plots=False).run_dir)


def test_run_folder_files_that_block(cfg, tmp_path):
    run = _run_folder(cfg, tmp_path)
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")
    for cmd in (["plot", run], ["rerun", run, "--out", tmp_path / "x"]):
        one_error_line(cli(*cmd, timeout=10), "FIFO")
    one_error_line(cli("run-plan", run / "summary.json", "--index", "0", timeout=10), "not a sweep folder")


# ---------------------------------------------------------------------------------------------
# 5. Readers trust nothing: one damaged input, exit 2 and one line


DAMAGED_SUMMARIES = [
    b'{"status": "compl',                       # truncated
    b'\xff\xfe{"status": 1}',                   # not UTF-8
    b"null", b"[1, 2]",                         # the wrong JSON type
    b"[" * 100_000 + b"]" * 100_000,            # absurdly nested
    b'{"status": "completed", "final_loss": "abc", "steps": [1]}',  # wrong field types
    b'{"status": ' + b"9" * 100_000 + b"}",     # an integer of 10^5 digits
]


def test_damaged_summary(cfg, tmp_path):
    import shutil

    from optrun.rundir import RunFolder

    good = _run_folder(cfg, tmp_path)
    for i, content in enumerate(DAMAGED_SUMMARIES):
        run = shutil.copytree(good, tmp_path / f"bad{i}")
        (run / "summary.json").write_bytes(content)
        folder = RunFolder(run)  # the one reader: never raises, says why
        assert folder.status == "unreadable" and folder.summary_problem
        with pytest.raises(OptrunError):
            folder.require()
    one_error_line(cli("plot", tmp_path / "bad4", timeout=15), "bad4")  # the CLI: exit 2, one line
    one_error_line(cli("rerun", tmp_path / "bad5", "--out", tmp_path / "x", timeout=15), "bad5")


def test_damaged_config_of_a_run(cfg, tmp_path):
    run = _run_folder(cfg, tmp_path)
    (run / "config.yaml").write_text("seed: !!python/object/apply:os.system [echo hi]\n")
    one_error_line(quick("rerun", run, "--out", tmp_path / "x"), "tags are not allowed")


# ---------------------------------------------------------------------------------------------
# 4. Sweep folders that disagree with themselves


def test_sweep_folder_edited_or_tagged(cfg, tmp_path):
    res = cli("sweep", cfg, "seed=1,2", "--plan-only", "--out", tmp_path / "s", "-q", "--json")
    d = Path(json.loads(res.stdout)["sweep_dir"])
    text = (d / "sweep.yaml").read_text()
    (d / "sweep.yaml").write_text(text.replace("lr: 0.05", "lr: 0.07"))  # the plan's hashes no longer match
    one_error_line(cli("sweep", "--resume", d), "disagree")
    one_error_line(quick("run-plan", d, "--index", "0"), "disagree")
    (d / "sweep.yaml").write_text(text + "evil: !!python/name:os.system\n")
    one_error_line(quick("sweep", "--resume", d), "tags are not allowed")
    (d / "sweep.yaml").write_text("- 1\n")
    one_error_line(quick("sweep", "--resume", d), "not a valid sweep file")
    (d / "sweep.yaml").write_text(text.replace("runs: 2", "runs: 3"))
    one_error_line(quick("sweep", "--resume", d), "says 3 runs")


# ---------------------------------------------------------------------------------------------
# 7. Numbers: YAML 1.2


@pytest.mark.parametrize("text,value", [
    ("010", 10), ("007", 7), ("1:30", "1:30"), ("0x1f", 31), ("0o17", 15), ("0b11", "0b11"),
    ("1e3", 1000.0), ("1e-3", 0.001), ("+5", 5), (".5", 0.5), ("1_000", 1000), ("-.inf", float("-inf")),
])
def test_yaml_12_numbers(text, value):
    assert parse_yaml(text, "x") == value


def test_yaml_12_numbers_through_the_cli(cfg, tmp_path):
    res = cli("train", cfg, "seed=010", "--out", tmp_path / "r", "--json", "-q", "--no-plots")
    assert res.returncode == 0 and json.loads(res.stdout)["seed"] == 10


# ---------------------------------------------------------------------------------------------
# 8. Messages that blame the override


@pytest.mark.parametrize("overrides,needles", [  # in this process: the override parser is the subject
    (["optimizer="], ["override optimizer=", "needs a value"]),
    (["train.epochs=1", "train.steps=2"], ["override train.steps=2", "train.epochs=1 is given too"]),
    (["lr=0.1"], ["override lr", "did you mean 'optimizer.lr'"]),
    (["optimizer.name=nesterov"], ["override optimizer.name=nesterov", "did you mean 'nag'"]),
    (["optimizer=heavy_ball"], ["did you mean 'momentum'"]),
])
def test_override_messages(overrides, needles, cfg, tmp_path):
    one_error_line(quick("train", cfg, *overrides, "--out", tmp_path / "r"), *needles)


def test_csv_typo_suggests_an_unused_column(tmp_path):
    from optrun.data.csv import read_csv

    p = tmp_path / "h.csv"
    p.write_text("height,weight,y\n1,2,3\n4,5,6\n")
    with pytest.raises(OptrunError) as exc:  # 'weight' is a feature already: never suggested
        read_csv(p, target="weigth", features=["weight"])
    assert "did you mean 'weight'" not in str(exc.value)
    with pytest.raises(OptrunError, match="did you mean 'weight'"):
        read_csv(p, target="y", features=["height", "weigth"])


def test_folder_names_keep_the_exponent_sign():
    from optrun.rundir import slugify

    assert slugify("lr=1e+20") != slugify("lr=1e-20")
    assert slugify("lr=1e+20") == "lr-1e20" and slugify("lr=1e-20") == "lr-1e-20"


def test_a_run_folder_with_a_fifo_summary_is_found_and_unreadable(tmp_path):
    from optrun.rundir import RunFolder, find_run_folders

    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    os.mkfifo(run / "summary.json")
    assert find_run_folders(tmp_path / "runs", recursive=False) == [run]
    folder = RunFolder(run)  # returns at once: the FIFO is never opened for a blocking read
    assert folder.status == "unreadable" and "FIFO" in folder.summary_problem
