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


# --------------------------------------------------------------------------------------------
# The CLI's structure (architecture 0.2): one command list, one status map, one choice check


def test_every_command_module_is_in_the_one_list():
    """Adding a command is one module plus one line in app.COMMANDS: a module left out is seen."""
    import pathlib

    from optrun.cli import app as app_mod

    names = [n for n, _ in app_mod.COMMANDS]
    assert [c.name for c in app.registered_commands] == names and len(set(names)) == len(names)
    helpers = {"__init__", "app", "common", "render"}
    modules = {p.stem for p in pathlib.Path(app_mod.__file__).parent.glob("*.py")} - helpers
    listed = {f.__module__.rsplit(".", 1)[1] for _, f in app_mod.COMMANDS}
    assert listed == modules


def test_cli_modules_use_no_private_library_names():
    """``from optrun.sweep import _fmt_value`` or ``sweep_mod._x`` would tie the CLI to internals."""
    import ast
    import pathlib

    from optrun.cli import app as app_mod

    bad = []
    for path in pathlib.Path(app_mod.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optrun.") \
                    and not node.module.startswith("optrun.cli"):
                bad += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and (node.value.id.endswith("_mod") or node.value.id == "api") \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                bad.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert not bad


def test_one_status_style_map():
    """Every status has one colour; no other CLI module keeps its own status map."""
    import ast
    import pathlib

    from optrun.cli import common

    statuses = {"completed", "converged", "diverged", "interrupted", "failed", "running", "pending", "unreadable"}
    assert statuses <= set(common.STATUS_STYLE)
    assert common.STATUS_STYLE["diverged"] != common.STATUS_STYLE["failed"]  # a result, not a failure
    assert common.styled("diverged") == "[yellow]diverged[/]" and common.styled("odd") == "odd"
    for path in pathlib.Path(common.__file__).parent.glob("*.py"):
        if path.name == "common.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                assert not {"diverged", "failed"} & keys, f"{path.name}: a second status map"


@pytest.mark.parametrize("args, line", [
    (["train", "{cfg}", "--format", "jpg", "--out", "{tmp}/runs"], "error: --format: expected png, svg or pdf, got 'jpg'"),
    (["runs", "{tmp}", "--format", "xml"], "error: --format: expected one of table, csv, json, md, got 'xml'"),
    (["sweep", "{cfg}", "seed=1,2", "--executor", "ray", "--out", "{tmp}/runs"], "error: --executor: expected local or dask, got 'ray'"),
    (["plot", "{tmp}", "--y", "bogus"], "Invalid value for --y: 'bogus': expected loss, subopt, grad_norm or dist"),
    (["plot", "{tmp}", "--yscale", "ln"], "Invalid value for --yscale: expected log or linear"),
    (["compare", "{cfg}", "--vary", "seed=1,2", "--x", "steps", "--out", "{tmp}/runs"],
     "Invalid value for --x: expected step, epoch, samples, evals or time"),
    (["compare", "{cfg}", "--vary", "seed=1,2", "--format", "jpg", "--out", "{tmp}/runs"], "Invalid value for --format: expected png, svg or pdf"),
])
def test_check_choice_keeps_each_commands_wording(args, line, cfg_file, tmp_path):
    res = invoke(*[a.replace("{cfg}", str(cfg_file)).replace("{tmp}", str(tmp_path)) for a in args])
    assert res.exit_code == 2
    assert line in " ".join(res.stderr.split()), res.stderr
    assert not (tmp_path / "runs").exists()  # a bad choice is refused before anything is written


def test_check_choice_passes_a_valid_or_absent_value():
    from optrun.cli.common import check_choice, or_list

    assert check_choice("svg", ("png", "svg"), "--format") == "svg"
    assert check_choice(None, ("png", "svg"), "--x") is None  # an option not given
    assert or_list(["a"]) == "a" and or_list(["a", "b", "c"]) == "a, b or c"


def test_api_errors_name_the_argument_and_the_cli_names_the_flag(tmp_path, monkeypatch, base_config):
    """The API never speaks CLI flags: a folder it cannot write is keyed ``out``; the CLI alone
    prints ``--out`` (docs/reliability.md keeps that wording)."""
    import errno

    from optrun import api, rundir
    from optrun.cli.common import cli_message
    from optrun.errors import OptrunError

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rundir.os, "fsync", no_space)
    out = tmp_path / "runs"
    with pytest.raises(OptrunError) as info:
        api.train(base_config, out=out, plots=False)
    exc = info.value
    assert exc.key == "out" and "--" not in str(exc)
    assert str(exc) == f"{out}: cannot write the run folder: No space left on device; nothing was kept"
    assert cli_message(exc) == f"--out {exc}"
    assert cli_message(OptrunError("--out x: y", key="out")) == "--out x: y"  # never said twice
    assert list(out.iterdir()) == []  # rolled back: no run folder


def test_load_run_reads_through_the_run_folder(tmp_path, base_config):
    """load_run is RunFolder read back: summary, lazy trace, config; a damaged folder says why."""
    from optrun import api
    from optrun.errors import OptrunError

    result = api.train(base_config, out=tmp_path, plots=False)
    back = api.load_run(result.run_dir)
    assert back.summary == result.summary and back.config["seed"] == 0
    assert back.trace["step"].iloc[-1] == back.summary["steps"]
    with pytest.raises(OptrunError, match="not a run folder"):
        api.load_run(tmp_path)
    (result.run_dir / "summary.json").write_text("{oops")
    with pytest.raises(OptrunError, match="invalid JSON"):
        api.load_run(result.run_dir)


def test_console_script_freezes_the_collector_on_the_way_out(tmp_path):
    """The interpreter's last collection would walk every object the command made (~0.17 s with
    matplotlib loaded, docs/performance.md): main() freezes them once the command is done, and
    atexit handlers still run."""
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: sys.stderr.write(f'frozen={gc.get_freeze_count() > 0}\\n'))\n"
            "from optrun.cli.app import main\n"
            "sys.argv = ['optrun', '--version']\n"
            "main()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "frozen=True" in res.stderr


@pytest.mark.parametrize("args, words", [
    (["sweep", "{cfg}", "-s", "x"], "No such option: -s (see 'optrun sweep --help')"),
    (["run-plan", "{tmp}", "--index", "abc"], "'abc' is not a valid int"),
    (["compare", "{cfg}"], "give at least one --vary"),
    (["bogus"], "No such command 'bogus'"),
    (["plot", "{tmp}", "--dpi", "0"], "expected a whole number between 30 and 1200, got 0"),
    (["train"], "Missing argument 'config'"),
])
def test_usage_errors_are_one_line_exit_2(args, words, cfg_file, tmp_path):
    res = invoke(*[a.replace("{cfg}", str(cfg_file)).replace("{tmp}", str(tmp_path)) for a in args])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and words in res.stderr, res.stderr
    assert "Usage:" not in res.stderr and "Traceback" not in res.stderr
