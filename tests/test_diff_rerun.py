"""``optrun diff`` and ``optrun rerun --verify``: through the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import optrun
from optrun.cli.app import app
from optrun.diff import diff_runs
from optrun.errors import OptrunError
from optrun.rerun import compare_traces, rerun

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def two_runs(base_config, tmp_path):
    a = optrun.train(base_config, out=tmp_path / "runs", plots=False)
    b = optrun.train(base_config, overrides=["optimizer.lr=0.05", "seed=3"], out=tmp_path / "runs", plots=False)
    return a, b


def test_diff_names_the_changed_keys_and_both_metrics(two_runs):
    a, b = two_runs
    d = diff_runs(a.run_dir, b.run_dir)
    assert d["config"] == {"optimizer.lr": [0.1, 0.05], "seed": [0, 3]}
    assert d["metrics"]["final_loss"] == [a.summary["final_loss"], b.summary["final_loss"]]
    assert d["metrics"]["f_star"][0] == d["metrics"]["f_star"][1]  # same data: same optimum
    assert d["versions"]["numpy"][0] == d["versions"]["numpy"][1]


def test_diff_cli_json_and_table(two_runs):
    a, b = two_runs
    r = invoke("diff", a.run_dir, b.run_dir, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"config", "metrics", "versions"} and out["config"]["optimizer.lr"] == [0.1, 0.05]
    r = invoke("diff", a.run_dir, b.run_dir)
    assert r.exit_code == 0 and "optimizer.lr" in r.output
    r = invoke("diff", a.run_dir, a.run_dir.parent / "nope")
    assert r.exit_code == 2 and r.output.startswith("error: ")


def test_rerun_verify_reproduces_byte_for_byte(two_runs, tmp_path):
    a, _ = two_runs
    result, check = rerun(a.run_dir, out=tmp_path / "again", verify=True, plots=False)
    assert check.equal and check.rows == a.summary["trace_rows"]
    assert result.run_dir != a.run_dir and result.summary["config_hash"] == a.summary["config_hash"]


def test_verify_finds_the_first_difference_of_a_tampered_trace(two_runs, tmp_path):
    a, _ = two_runs
    result, _ = rerun(a.run_dir, out=tmp_path / "again", plots=False)
    trace = result.run_dir / "trace.csv"
    lines = trace.read_text().splitlines(keepends=True)
    cells = lines[5].split(",")
    header = lines[0].strip().split(",")
    j = header.index("loss")
    original = cells[j]
    cells[j] = repr(float(original) * (1 + 1e-15) + 1e-300)
    lines[5] = ",".join(cells)
    trace.write_text("".join(lines))
    check = compare_traces(a.run_dir, result.run_dir)
    assert not check.equal
    assert check.first_difference == {"row": 4, "step": "4", "column": "loss", "original": original, "rerun": cells[j]}


def test_timing_column_is_ignored(two_runs, tmp_path):
    a, _ = two_runs
    result, _ = rerun(a.run_dir, out=tmp_path / "again", plots=False)
    text = (result.run_dir / "trace.csv").read_text().splitlines()
    j = text[0].split(",").index("time_s")
    rows = [text[0]] + [",".join(c if k != j else "99.5" for k, c in enumerate(r.split(","))) for r in text[1:]]
    (result.run_dir / "trace.csv").write_text("\n".join(rows) + "\n")
    assert compare_traces(a.run_dir, result.run_dir).equal


def test_rerun_of_a_damaged_folder_is_a_user_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text("{}")
    (bad / "config.yaml").write_text("seed: !!python/object:os.system ls\n")
    with pytest.raises(OptrunError, match="cannot rerun"):
        rerun(bad, out=tmp_path / "o")


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
def test_every_example_config_reruns_identically(cfg, tmp_path):
    """The reproducibility promise on every shipped example (a short budget keeps it quick)."""
    raw = yaml.safe_load(cfg.read_text())
    if raw.get("dataset", {}) and isinstance(raw["dataset"], dict) and raw["dataset"].get("path"):
        raw["dataset"]["path"] = str((cfg.parent / raw["dataset"]["path"]).resolve())
    first = optrun.train(raw, overrides=["train.steps=30"], out=tmp_path / "a", plots=False)
    _, check = rerun(first.run_dir, out=tmp_path / "b", verify=True, plots=False)
    assert check.equal, check.first_difference


def test_notes_and_tags_are_stored_and_checked(base_config, tmp_path):
    r = invoke("train", _write(base_config, tmp_path), "--out", tmp_path / "o", "--no-plots", "--json",
               "--note", "why this run", "--tag", "lecture", "--tag", "a1")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["note"] == "why this run" and summary["tags"] == ["a1", "lecture"]
    on_disk = json.loads((Path(summary["run_dir"]) / "summary.json").read_text())
    assert on_disk["tags"] == ["a1", "lecture"]
    # labels never change what is computed
    plain = optrun.train(base_config, out=tmp_path / "p", plots=False)
    assert plain.summary["config_hash"] == summary["config_hash"] and "tags" not in plain.summary
    for bad in (["--tag", "two words"], ["--note", "two\nlines"]):
        r = invoke("train", _write(base_config, tmp_path), "--out", tmp_path / "o2", *bad)
        assert r.exit_code == 2 and r.output.startswith("error: ") and not (tmp_path / "o2").exists()


def _write(cfg, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
