"""Reliability, part 1: every bad input is one clear line, exit 2, and leaves nothing on disk.

Each case goes through the real CLI (Typer's CliRunner, in-process) and must give:
exit code 2, exactly one stderr line starting ``error: ``, the file/key/row named, no traceback,
and no run folder under ``--out``. docs/reliability.md lists the messages.

Runtime faults (divergence, interrupts, crashes, full disk) are in test_reliability_faults.py,
the property-based tests in test_reliability_fuzz.py.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from optrun.cli.app import app

# --------------------------------------------------------------------------------------------
# Building blocks

LIN_ROWS = "\n".join(f"{i % 7 * 0.5},{(i * 3) % 5 - 2.0},{1.0 + i * 0.25}" for i in range(30))


def base_config(csv: Path) -> dict:
    return {
        "seed": 0,
        "dataset": {"name": "csv", "path": str(csv)},
        "model": "linear",
        "loss": "half_mse",
        "optimizer": {"name": "sgd", "lr": 0.05},
        "batch": "full",
        "train": {"steps": 5},
    }


class Case:
    """One bad input: how to build it and what the error line must contain."""

    def __init__(self, needles, *, config=None, text=None, csv=None, overrides=(), path=None, args=()):
        self.needles = needles if isinstance(needles, (list, tuple)) else [needles]
        self.config = config  # callable(cfg) mutating the base config
        self.text = text  # raw YAML text instead of the base config
        self.csv = csv  # CSV text (str or bytes) for the dataset instead of the good one
        self.overrides = list(overrides)
        self.path = path  # callable(tmp_path) -> the config path to pass
        self.args = list(args)


def _set(section, **kw):
    def mutate(cfg):
        if isinstance(cfg.get(section), dict):
            cfg[section].update(kw)
        else:
            cfg[section] = kw

    return mutate


def _put(**kw):
    return lambda cfg: cfg.update(kw)


def _csv_opts(**kw):
    return lambda cfg: cfg["dataset"].update(kw)


CASES = {
    # ---- the config file itself
    "missing_file": Case(["nope.yaml", "not found"], path=lambda tmp: tmp / "nope.yaml"),
    "directory": Case(["is a directory"], path=lambda tmp: tmp),
    "empty_file": Case(["c.yaml", "empty"], text=""),
    "whitespace_only": Case(["c.yaml", "empty"], text="\n  \n# only a comment\n"),
    "invalid_yaml_bracket": Case(["c.yaml", "invalid YAML", "line 2", "column"], text="seed: [1\n"),
    "invalid_yaml_indent": Case(["c.yaml", "invalid YAML", "line 2, column 12"], text="dataset: women\n  optimizer: sgd\n"),
    "invalid_yaml_tab": Case(["c.yaml", "invalid YAML", "line"], text="dataset:\n\tname: women\n"),
    "top_level_list": Case(["c.yaml", "top level", "got a list"], text="- dataset: women\n- optimizer: sgd\n"),
    "top_level_scalar": Case(["c.yaml", "top level", "got a string"], text="just words\n"),
    "duplicate_top_key": Case(["c.yaml", "duplicate key 'seed'", "line 2"], text="seed: 1\nseed: 2\n"),
    "duplicate_nested_key": Case(
        ["duplicate key 'lr'"], text="dataset: women\noptimizer: {name: sgd, lr: 0.1, lr: 0.2}\ntrain: {steps: 3}\n"
    ),
    "list_as_key": Case(["c.yaml", "line 1", "key must be a plain"], text="? [a, b]\n: 1\n"),
    "python_tag_apply": Case(
        ["c.yaml", "not allowed", "python/object/apply"], text="seed: !!python/object/apply:os.system ['true']\n"
    ),
    "python_tag_name": Case(["not allowed", "python/name"], text="dataset: !!python/name:os.system\n"),
    "custom_tag": Case(["not allowed"], text="seed: !secret 3\n"),
    # ---- unknown keys at every level, each with a suggestion
    "unknown_top_key": Case(["c.yaml", "'optimiser'", "did you mean 'optimizer'"], config=_put(optimiser="adam")),
    "unknown_dataset_key": Case(["dataset.targte", "did you mean 'target'"], config=_csv_opts(targte="y")),
    "unknown_generator_key": Case(
        ["dataset.n_sample", "did you mean 'n_samples'"], config=_put(dataset={"name": "synthetic_linear", "n_sample": 5})
    ),
    "unknown_model_key": Case(["model.fit_intercpt", "did you mean 'fit_intercept'"], config=_set("model", name="linear", fit_intercpt=True)),
    "unknown_loss_key": Case(["loss.l22", "did you mean 'l2'"], config=_set("loss", name="mse", l22=0.1)),
    "unknown_optimizer_key": Case(["optimizer.betaz", "did you mean 'betas'"], config=_put(optimizer={"name": "adam", "betaz": [0.9, 0.99]})),
    "unknown_schedule_key": Case(
        ["optimizer.schedule.warmup", "did you mean 'warmup_steps'"],
        config=_put(optimizer={"name": "sgd", "lr": 0.1, "schedule": {"name": "cosine", "warmup": 3}}),
    ),
    "unknown_batch_key": Case(["batch.szie", "did you mean 'size'"], config=_set("batch", mode="minibatch", szie=4)),
    "unknown_train_key": Case(["train.stesp", "did you mean 'steps'"], config=_set("train", stesp=3)),
    # ---- wrong types
    "seed_not_int": Case(["c.yaml", "seed", "integer", "'abc'"], config=_put(seed="abc")),
    "steps_not_int": Case(["train.steps", "integer", "'many'"], config=_put(train={"steps": "many"})),
    "steps_fractional": Case(["train.steps", "fractional"], config=_put(train={"steps": 2.5})),
    "steps_boolean": Case(["train.steps", "expected a number, got true"], config=_put(train={"steps": True})),
    "shuffle_not_bool": Case(["batch.shuffle", "boolean", "'maybe'"], config=_put(batch={"mode": "minibatch", "shuffle": "maybe"})),
    "features_not_list": Case(["dataset.features", "list"], config=_csv_opts(features="x1")),
    "section_is_list": Case(["train", "expected a mapping", "list"], config=_put(train=[1, 2])),
    "lr_not_number": Case(["optimizer.lr", "'fast'"], config=_put(optimizer={"name": "sgd", "lr": "fast"})),
    "epochs_infinite": Case(["train.epochs", "finite"], text=None, config=_put(train={"epochs": float("inf")})),
    # ---- bounds
    "lr_zero": Case(["optimizer.lr", "> 0", "got 0"], config=_put(optimizer={"name": "sgd", "lr": 0})),
    "lr_negative": Case(["optimizer.lr", "> 0", "-0.1"], config=_put(optimizer={"name": "adam", "lr": -0.1})),
    "lr_infinite": Case(["optimizer.lr", "finite"], config=_put(optimizer={"name": "sgd", "lr": float("inf")})),
    "beta2_one": Case(["optimizer.betas", "[0, 1)", "1.0"], config=_put(optimizer={"name": "adam", "betas": [0.9, 1.0]})),
    "beta1_negative": Case(["optimizer.betas", "[0, 1)"], config=_put(optimizer={"name": "adam", "betas": [-0.1, 0.999]})),
    "eps_zero": Case(["optimizer.eps", "> 0"], config=_put(optimizer={"name": "adam", "eps": 0.0})),
    "eps_negative": Case(["optimizer.eps", "> 0"], config=_put(optimizer={"name": "rmsprop", "eps": -1e-8})),
    "batch_size_zero": Case(["batch.size", "0"], config=_put(batch={"mode": "minibatch", "size": 0})),
    "batch_size_above_n": Case(["c.yaml", "batch.size", "1000", "30 training rows"], config=_put(batch={"mode": "minibatch", "size": 1000})),
    "steps_and_epochs": Case(["train", "exactly one of steps or epochs", "both"], config=_put(train={"steps": 3, "epochs": 2})),
    "neither_steps_nor_epochs": Case(["train", "exactly one of steps or epochs", "neither"], config=_put(train={"tol": 0.1})),
    "no_train_section": Case(["missing required section 'train'"], config=lambda c: c.pop("train")),
    "steps_absurd": Case(["train.steps", "less than or equal"], config=_put(train={"steps": 10**15})),
    "negative_l2": Case(["loss.l2", "greater than or equal to 0"], config=_set("loss", name="mse", l2=-1.0)),
    "generator_too_big": Case(["dataset.n_samples", "too large"], config=_put(dataset={"name": "synthetic_linear", "n_samples": 10**9})),
    # ---- unknown names, with suggestions
    "unknown_optimizer": Case(["optimizer.name", "'adamm'", "did you mean 'adam'"], config=_put(optimizer="adamm")),
    "unknown_model": Case(["model.name", "'logistc'", "did you mean 'logistic'"], config=_put(model="logistc")),
    "unknown_loss": Case(["loss.name", "'hlaf_mse'", "did you mean 'half_mse'"], config=_put(loss="hlaf_mse")),
    "unknown_dataset": Case(["dataset.name", "'wmen'", "did you mean 'women'"], config=_put(dataset="wmen")),
    "unknown_schedule": Case(
        ["optimizer.schedule.name", "'cosin'", "did you mean 'cosine'"],
        config=_put(optimizer={"name": "sgd", "lr": 0.1, "schedule": "cosin"}),
    ),
    "unknown_batch_mode": Case(["batch.mode", "did you mean 'minibatch'"], config=_put(batch="mini")),
    "bce_with_linear": Case(["loss.name", "bce needs model logistic"], config=_put(loss="bce")),
    # ---- hyperparameters of another optimizer
    "momentum_on_adam": Case(
        ["optimizer.momentum", "'adam' has no hyperparameter 'momentum'", "sgd"],
        config=_put(optimizer={"name": "adam", "momentum": 0.9}),
    ),
    "betas_on_sgd": Case(["optimizer.betas", "'sgd'", "adam"], config=_put(optimizer={"name": "sgd", "lr": 0.1, "betas": [0.9, 0.99]})),
    # ---- init
    "init_wrong_length": Case(["c.yaml", "model.init", "expected 3 values", "w_x1, w_x2, b", "got 2"], config=_set("model", name="linear", init=[1.0, 2.0])),
    "init_not_finite": Case(["model.init", "finite"], config=_set("model", name="linear", init=[1.0, float("nan"), 0.0])),
    "init_unknown_word": Case(["model.init", "'ones'"], config=_set("model", name="linear", init="ones")),
    # ---- overrides
    "override_no_equals": Case(["override 'optimizer.lr'", "KEY=VALUE"], overrides=["optimizer.lr"]),
    "override_empty_key": Case(["override '=3'", "KEY=VALUE"], overrides=["=3"]),
    "override_empty_part": Case(["override 'optimizer..lr=3'", "dotted key"], overrides=["optimizer..lr=3"]),
    "override_unknown_section": Case(["override optimiser.lr", "did you mean 'optimizer'"], overrides=["optimiser.lr=1"]),
    "override_unknown_key": Case(["override optimizer.lrr=1", "did you mean 'lr'"], overrides=["optimizer.lrr=1"]),
    "override_into_value": Case(["override train.steps.x", "is a value, not a section"], overrides=["train.steps.x=1"]),
    "override_bad_yaml": Case(["override 'optimizer.lr=[1'", "invalid YAML"], overrides=["optimizer.lr=[1"]),
    "override_bad_value": Case(["override batch.size=abc", "batch.size"], overrides=["batch.mode=minibatch", "batch.size=abc"]),
    "override_names_semantic_error": Case(["override batch.size=999", "larger than the 30 training rows"], overrides=["batch.mode=minibatch", "batch.size=999"]),
    "override_python_tag": Case(["not allowed"], overrides=["seed=!!python/object/apply:os.getpid []"]),
    # ---- data
    "csv_missing": Case(["nope.csv", "not found"], config=_csv_opts(path="nope.csv")),
    "csv_is_directory": Case(["is a directory"], config=_csv_opts(path=".")),
    "csv_empty": Case(["d.csv", "empty", "header"], csv=""),
    "csv_header_only": Case(["d.csv", "header but no data rows"], csv="x1,x2,y\n"),
    "csv_non_numeric": Case(["d.csv", "line 3", "column 'x2'", "'abc' is not a number"], csv="x1,x2,y\n1,2,3\n4,abc,6\n7,8,9\n"),
    "csv_empty_cell": Case(["d.csv", "line 2", "column 'x1'", "empty cell"], csv="x1,x2,y\n,2,3\n4,5,6\n7,8,9\n"),
    # str.strip removes \x1c (a separator), float() does not: the scan must judge the raw cell
    "csv_control_character": Case(["d.csv", "line 3", "column 'x1'", "'4\\x1c' is not a number"],
                                  csv="x1,x2,y\n1,2,3\n4\x1c,5,6\n7,8,9\n"),
    "csv_nan": Case(["d.csv", "line 4", "column 'y'", "'nan'", "finite"], csv="x1,x2,y\n1,2,3\n4,5,6\n7,8,nan\n"),
    "csv_inf": Case(["d.csv", "line 2", "column 'x1'", "'-inf'", "finite"], csv="x1,x2,y\n-inf,2,3\n4,5,6\n7,8,9\n"),
    "csv_huge_value": Case(["d.csv", "line 3", "column 'x1'", "too large"], csv="x1,x2,y\n1,2,3\n1e300,5,6\n7,8,9\n"),
    "csv_ragged_row": Case(["d.csv", "line 3", "2 values", "3 columns"], csv="x1,x2,y\n1,2,3\n4,5\n7,8,9\n"),
    "csv_not_utf8": Case(["d.csv", "UTF-8"], csv=b"x1,x2,y\n\xff\xfe,1,2\n"),
    "csv_no_header": Case(["d.csv", "header"], csv="1,2,3\n4,5,6\n"),
    "csv_semicolons": Case(["d.csv", "one column", "commas"], csv="x1;x2;y\n1;2;3\n"),
    "csv_comma_in_feature_name": Case(["d.csv", "'a,b'", "rename"], csv='"a,b",x2,y\n1,2,3\n4,5,6\n7,8,9\n'),
    "csv_missing_target": Case(["d.csv", "target column 'z'", "not found", "x1, x2, y"], csv="x1,x2,y\n1,2,3\n4,5,6\n", config=_csv_opts(target="z")),
    "csv_missing_feature": Case(["d.csv", "feature column 'x3'", "not found"], csv="x1,x2,y\n1,2,3\n4,5,6\n", config=_csv_opts(features=["x1", "x3"])),
    "csv_constant_feature_standardized": Case(
        ["c.yaml", "dataset.standardize", "feature 'x1' is constant"],
        csv="x1,x2,y\n1,2,3\n1,5,6\n1,8,8\n", config=_csv_opts(standardize=True),
    ),
    "logistic_targets_not_01": Case(
        ["d.csv", "column 'y'", "targets 0 or 1", "line 3"],
        csv="x1,x2,y\n1,2,0\n4,5,2\n7,8,1\n", config=_put(model="logistic", loss="bce"),
    ),
    "logistic_on_linear_generator": Case(
        ["dataset.name", "synthetic_logistic"], config=_put(dataset="synthetic_linear", model="logistic", loss="bce")
    ),
    "too_few_rows_for_validation": Case(
        ["c.yaml", "dataset.validation_fraction", "at least 2 rows"],
        csv="x1,x2,y\n1,2,3\n4,5,6\n7,8,9\n", config=_csv_opts(validation_fraction=0.5),
    ),
    # ---- output folder
    "out_is_a_file": Case(["--out", "not a folder"], args=["--out", "{tmp}/afile"]),
    "out_under_a_file": Case(["--out", "cannot create the output folder"], args=["--out", "{tmp}/afile/runs"]),
    # ---- CLI options
    "bad_plot_format": Case(["--format", "png, svg or pdf", "'jpg'"], args=["--format", "jpg"]),
}


def _materialise(case: Case, tmp_path: Path) -> tuple[list[str], Path]:
    good_csv = tmp_path / "good.csv"
    good_csv.write_text("x1,x2,y\n" + LIN_ROWS + "\n")
    (tmp_path / "afile").write_text("not a folder\n")
    cfg = base_config(good_csv)
    if case.csv is not None:
        data = tmp_path / "d.csv"
        data.write_bytes(case.csv if isinstance(case.csv, bytes) else case.csv.encode())
        cfg["dataset"]["path"] = str(data)
    if case.config is not None:
        case.config(cfg)
    cfg_path = tmp_path / "c.yaml"
    if case.text is not None:
        cfg_path.write_text(case.text)
    else:
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    if case.path is not None:
        cfg_path = case.path(tmp_path)
    out = tmp_path / "runs"
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    if "--out" not in args:
        args += ["--out", str(out)]
    return ["train", str(cfg_path), *case.overrides, *args, "--no-plots"], out


def _run_dirs(tmp_path: Path) -> list[Path]:
    """Every run folder anywhere under tmp_path (a run folder holds config.yaml or summary.json)."""
    return [p.parent for p in tmp_path.rglob("*") if p.name in ("config.yaml", "summary.json", "trace.csv")]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(name, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)  # relative CSV paths resolve against the config folder, not here
    argv, out = _materialise(case, tmp_path)
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in case.needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert "Traceback" not in res.output and res.stdout == ""
    assert not (out.exists() and any(out.iterdir())), "a run folder was left behind"
    assert _run_dirs(tmp_path) == []


def test_python_tags_are_never_constructed(tmp_path):
    """The refused tag would create a file if it were ever constructed."""
    marker = tmp_path / "constructed"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"seed: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\ndataset: women\n")
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "runs")])
    assert res.exit_code == 2 and "not allowed" in res.stderr
    assert not marker.exists()


def test_config_command_shares_the_messages(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: women\noptimizer: adamm\ntrain: {steps: 2}\n")
    res = CliRunner().invoke(app, ["config", str(cfg)])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [res.stderr.strip()] and "did you mean 'adam'" in res.stderr


def test_error_line_is_one_line_even_when_the_input_has_newlines(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text('"multi\\nline\\nkey": 1\n')
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "runs")])
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1


# --------------------------------------------------------------------------------------------
# Output folder: full disk, unwritable folder, names that try to escape --out


def test_full_disk_at_start_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    """ENOSPC while writing config.yaml (simulated at fsync, where NFS and full disks report it)."""
    from optrun import rundir

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rundir.os, "fsync", no_space)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: women\noptimizer: {name: sgd, lr: 0.0001}\ntrain: {steps: 3}\n")
    out = tmp_path / "runs"
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(out), "--no-plots"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --out ")
    assert "No space left on device" in lines[0] and "Traceback" not in res.output
    assert out.is_dir() and list(out.iterdir()) == []  # no run folder, no temp file


def test_atomic_write_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch):
    from optrun import rundir

    target = tmp_path / "summary.json"
    rundir.write_json(target, {"status": "running"})

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir.os, "fsync", no_space)
    with pytest.raises(OSError):
        rundir.write_json(target, {"status": "completed", "big": list(range(10000))})
    assert json.loads(target.read_text()) == {"status": "running"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # the temp file is gone


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        res = CliRunner().invoke(app, ["train", str(Path(__file__).parent.parent / "configs" / "height_weight_gd.yaml"),
                                       "--out", str(ro), "--no-plots"])
        assert res.exit_code == 2 and res.stderr.startswith("error: --out ") and "not writable" in res.stderr
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("run_name", ["../../escape", "a/b\\c", "/etc/passwd", "..", "名前 with spaces", "x" * 300])
def test_run_name_is_sanitized_and_never_escapes_out(tmp_path, run_name):
    cfg = tmp_path / "sub" / "c.yaml"
    cfg.parent.mkdir()
    cfg.write_text("dataset: women\noptimizer: {name: sgd, lr: 0.0001}\ntrain: {steps: 2}\n")
    out = tmp_path / "sub" / "runs"
    res = CliRunner().invoke(app, ["train", str(cfg), "--out", str(out), "--name", run_name, "--no-plots", "--json", "-q"])
    assert res.exit_code == 0, res.output
    run_dir = Path(json.loads(res.stdout)["run_dir"])
    assert run_dir.parent.resolve() == out.resolve()
    assert [p for p in tmp_path.rglob("summary.json")] == [run_dir / "summary.json"]
    assert "/" not in run_dir.name and "\\" not in run_dir.name and ".." not in run_dir.name
    assert len(run_dir.name) < 80


def test_concurrent_runs_never_share_a_folder(tmp_path):
    """Many processes/threads creating run folders with one name in one --out at once."""
    from concurrent.futures import ThreadPoolExecutor

    from optrun.rundir import create_run_dir

    with ThreadPoolExecutor(16) as pool:
        dirs = list(pool.map(lambda _: create_run_dir(tmp_path, "same-name"), range(64)))
    assert len(set(dirs)) == 64 and all(d.is_dir() and d.parent == tmp_path for d in dirs)


def test_reader_never_sees_a_half_written_summary(tmp_path):
    """A reader polling summary.json while it is rewritten always parses a whole document."""
    import threading

    from optrun.rundir import write_json

    path = tmp_path / "summary.json"
    write_json(path, {"i": -1})
    done = threading.Event()
    errors = []

    def reader():
        while not done.is_set():
            try:
                json.loads(path.read_text())
            except Exception as exc:  # pragma: no cover - the failure this test exists for
                errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(80):
            write_json(path, {"i": i, "payload": "x" * 20000})
    finally:
        done.set()
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 79
