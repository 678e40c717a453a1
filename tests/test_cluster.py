"""Many runs on a laptop or a cluster (issue 19): run-plan --shard/--range with -j, the claims
before dispatch, notes and tags on compare/sweep and in `optrun runs`, compare -j, --report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import test_sweep  # tests/ is on sys.path under pytest (as in test_sweep_dask)
from optrun import sweep as sw
from optrun.cli.app import app
from optrun.errors import OptrunError
from optrun.sweep import claims

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
       "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
ENV.pop("OPTRUN_DEBUG", None)
ENV.pop("SLURM_ARRAY_TASK_ID", None)

# test_sweep's tiny problem, smaller still: a 100-entry plan of these runs in seconds
TINY = dict(test_sweep.TINY, dataset={"name": "synthetic_linear", "n_samples": 30}, train={"steps": 5})


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return p


def invoke(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def summaries(runs_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(runs_dir.glob("*/summary.json"))]


# --------------------------------------------------------------------------------------------
# shards and ranges


def test_shards_partition_the_plan_and_ranges_are_half_open():
    entries = [sw.Entry(i, {}, f"e{i}", f"h{i}") for i in range(23)]
    for n in range(1, 8):
        parts = [[e.index for e in sw.select(entries, shard=(k, n))] for k in range(n)]
        assert sorted(i for p in parts for i in p) == list(range(23))  # every entry in exactly one shard
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        assert parts[n - 1] == list(range(n - 1, 23, n))  # k, k+n, k+2n, ...
    assert [e.index for e in sw.select(entries, span=sw.parse_range("20:100", 23))] == [20, 21, 22]  # clipped
    assert sw.parse_range("5:", 23) == (5, 23) and sw.parse_range(":4", 23) == (0, 4) and sw.parse_range("3:3", 23) == (3, 3)
    assert sw.parse_shard(" 3/4 ") == (3, 4)
    for bad in ("4/4", "1/0", "-1/4", "1", "a/b", "1/2/3", ""):
        with pytest.raises(OptrunError, match="--shard"):
            sw.parse_shard(bad)
    for bad in ("5:2", "23:30", "x:y", "1", "-1:3", "1:2:3"):
        with pytest.raises(OptrunError, match="--range"):
            sw.parse_range(bad, 23)


def test_sharded_plan_in_four_parallel_processes_equals_the_unsharded_sweep(cfg, tmp_path):
    """A 100-entry plan in 4 shards at once (plus a fifth process over the whole range, which
    overlaps all of them): exactly 100 runs, each once, with the unsharded sweep's final losses."""
    axes = ["seed=range(25)", "optimizer.lr=0.02,0.05,0.1,0.2"]
    plan = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "sharded"))
    assert len(plan.entries) == 100
    cmd = [sys.executable, "-m", "optrun", "run-plan", str(plan.dir), "-q", "--json"]
    procs = [subprocess.Popen(cmd + ["--shard", f"{k}/4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=ENV) for k in range(4)]
    procs.append(subprocess.Popen(cmd + ["--range", "0:100", "-j", "2"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=ENV))
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        docs.append(json.loads(out))
    for k, doc in enumerate(docs[:4]):
        assert doc["indices"] == list(range(k, 100, 4)) and doc["failed"] == 0 and doc["not_run"] == 0
        assert doc["ran"] + doc["skipped"] + len(doc["held"]) == 25
    assert docs[4]["ran"] + docs[4]["skipped"] + len(docs[4]["held"]) == 100
    assert sum(d["ran"] for d in docs) == 100  # each entry ran in exactly one process

    runs = summaries(plan.runs_dir)
    assert len(runs) == 100 and {s["status"] for s in runs} == {"completed"}
    assert sorted(s["config_hash"] for s in runs) == sorted(e.config_hash for e in plan.entries)
    assert not (plan.runs_dir / ".staging").exists()
    assert all("done" in json.loads(p.read_text()) for p in (plan.runs_dir / ".claims").iterdir())

    ref = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "whole"))
    sw.execute(ref)
    losses = {s["config_hash"]: s["final_loss"] for s in runs}
    assert losses == {s["config_hash"]: s["final_loss"] for s in summaries(ref.runs_dir)}  # bit for bit

    again = invoke("run-plan", plan.dir, "--range", "0:100", "-q", "--json")
    doc = json.loads(again.stdout)
    assert again.exit_code == 0 and doc["ran"] == 0 and doc["skipped"] == 100
    assert len(summaries(plan.runs_dir)) == 100


def test_run_plan_selection_errors_are_one_line_exit_2(cfg, tmp_path):
    plan = sw.write_sweep(sw.plan_sweep(cfg, ["seed=range(3)"], out=tmp_path))
    for args, fragment in [(["--shard", "4/4"], "k must be 0..3"), (["--shard", "1/0"], "at least 1"),
                           (["--shard", "one/two"], "expected k/n"), (["--range", "2:1"], "a must not exceed b"),
                           (["--range", "3:9"], "entries 0..2"), (["--range", "1-2"], "expected a:b"),
                           (["--shard", "0/2", "--range", "0:1"], "not both"),
                           (["--index", "1", "--shard", "0/2"], "not both"),
                           (["--shard", "0/2", "--force"], "--index only")]:
        res = invoke("run-plan", plan.dir, *args)
        assert res.exit_code == 2 and fragment in res.stderr, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ")
    assert not list(plan.runs_dir.iterdir())  # nothing ran


def test_shard_inside_an_array_task_and_claims_before_dispatch(cfg, tmp_path):
    """$SLURM_ARRAY_TASK_ID (which fills --index) does not conflict with --shard; an entry a live
    process holds is not dispatched; the shard's runs carry the sweep's --note/--tag."""
    res = invoke("sweep", cfg, "seed=range(4)", "--out", tmp_path, "--plan-only", "--json",
                 "--tag", "study", "--note", "array of shards")
    plan = sw.load_sweep(json.loads(res.stdout)["sweep_dir"])
    assert plan.spec["labels"] == {"note": "array of shards", "tags": ["study"]}
    held = claims.acquire(plan.runs_dir / claims.CLAIMS, plan.entries[3].config_hash, plan.runs_dir)  # this pid: alive
    assert isinstance(held, claims.Claim)
    res = invoke("run-plan", plan.dir, "--shard", "1/2", "--json", env={"SLURM_ARRAY_TASK_ID": "1"})
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["indices"] == [1, 3] and doc["ran"] == 1
    assert doc["held"] == [{"index": 3, "reason": f"running in pid {os.getpid()} on {os.uname().nodename}"}]
    (run,) = summaries(plan.runs_dir)
    assert run["name"] == "tiny-seed=1" and run["tags"] == ["study"] and run["note"] == "array of shards"
    held.release()
    res = invoke("run-plan", plan.dir, "--shard", "1/2", "--json", "--tag", "rerun")  # its own labels replace the sweep's
    assert json.loads(res.stdout)["ran"] == 1
    (third,) = [s for s in summaries(plan.runs_dir) if s["name"] == "tiny-seed=3"]
    assert third["tags"] == ["rerun"] and "note" not in third


def test_a_done_claim_whose_folder_is_still_in_staging_is_not_stale(tmp_path):
    """The done marker is written just before the folder is renamed into runs/: in that moment
    another process must not take the claim over (it would run the entry a second time)."""
    runs_dir = tmp_path / "runs"
    cdir = runs_dir / claims.CLAIMS
    claim = claims.acquire(cdir, "h1", runs_dir)
    folder = runs_dir / ".staging" / "host~1-abcd" / "20260101-000000-x-123456"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"status": "completed"}))
    claim.done(folder.name)
    assert claims.acquire(cdir, "h1", runs_dir) == f"finishing: {folder.name}"
    assert claims.acquire(cdir, "h1", runs_dir, force=True) == f"finishing: {folder.name}"  # never one in flight
    assert claims.held(cdir, "h1", runs_dir) == f"finishing: {folder.name}"
    os.replace(folder, runs_dir / folder.name)
    assert claims.acquire(cdir, "h1", runs_dir) == f"already done: {folder.name}"
    (runs_dir / folder.name / "summary.json").unlink()  # the folder lost its result: stale
    assert claims.held(cdir, "h1", runs_dir) is None
    assert isinstance(claims.acquire(cdir, "h1", runs_dir), claims.Claim)


def test_a_done_marker_is_replaced_whole_without_an_fsync(tmp_path, monkeypatch):
    """The marker only saves a scan (the folder is the truth): written through a temporary
    file and a rename, like every run-folder file, but not synced; run-folder files still are."""
    from optrun import rundir

    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    runs_dir = tmp_path / "runs"
    claim = claims.acquire(runs_dir / claims.CLAIMS, "h2", runs_dir)
    claim.done("20260101-000000-x-123456")
    assert json.loads(claim.path.read_text()) == {"done": "20260101-000000-x-123456"}
    assert [p.name for p in claim.path.parent.iterdir()] == ["h2"]  # no temporary file left
    assert synced == []
    rundir.atomic_write_text(tmp_path / "summary.json", "{}")
    assert len(synced) == 1


# --------------------------------------------------------------------------------------------
# notes and tags, --report


def test_sweep_and_compare_labels_listed_and_filtered(cfg, tmp_path):
    out = tmp_path / "runs"
    res = invoke("sweep", cfg, "seed=range(2)", "--out", out, "--tag", "lr-study", "--tag", "week1",
                 "--note", "Baseline before the fix", "--report", "-q", "--json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and Path(doc["report"]).is_file() and Path(doc["report"]).name == "report.html"
    for s in summaries(Path(doc["sweep_dir"]) / "runs"):
        assert s["tags"] == ["lr-study", "week1"] and s["note"] == "Baseline before the fix"
    res = invoke("compare", cfg, "--vary", "optimizer.lr=0.1,0.05", "--out", out, "--no-plots", "--tag", "lr-study",
                 "--note", "compare after the FIX", "--report", "-q", "--json")
    doc = json.loads(res.stdout)
    folder = Path(doc["comparison_dir"])
    assert res.exit_code == 0 and Path(doc["report"]) == folder / "report.html" and Path(doc["report"]).is_file()
    assert json.loads((folder / "comparison.json").read_text())["tags"] == ["lr-study"]
    assert invoke("train", cfg, "--out", out, "--no-plots", "-q").exit_code == 0  # no labels

    def listing(*args):
        res = invoke("runs", out, "--format", "json", *args)
        assert res.exit_code == 0, res.stderr
        return json.loads(res.stdout) if res.stdout.strip() else []

    everything = listing()
    assert len(everything) == 5 and all("tags" in r and "note" in r for r in everything)
    assert len(listing("--tag", "lr-study")) == 4
    assert len(listing("--tag", "lr-study", "--tag", "week1")) == 2  # all tags must match
    assert listing("--tag", "week1", "--tag", "nope") == []
    fixed = listing("--note-contains", "the fix")  # case-insensitive
    assert len(fixed) == 4 and {r["note"] for r in fixed} == {"Baseline before the fix", "compare after the FIX"}
    assert [r["tags"] for r in listing("--note-contains", "compare")] == [["lr-study"]] * 2
    csv_text = invoke("runs", out, "--format", "csv", "--tag", "week1").stdout
    assert csv_text.splitlines()[0].split(",")[-4:] == ["tags", "note", "config_hash", "run_dir"]
    assert ",lr-study,week1," not in csv_text and '"lr-study,week1"' in csv_text
    # columns only when a listed run has labels
    plain = invoke("runs", out, "--format", "csv", "--filter", "name=tiny").stdout
    assert "tags" not in plain.splitlines()[0] and len(plain.splitlines()) == 2


def test_bad_labels_and_report_usage_write_nothing(cfg, tmp_path):
    for cmd in (["sweep", cfg, "seed=range(2)"], ["compare", cfg, "--vary", "optimizer.lr=0.1,0.05", "--no-plots"]):
        res = invoke(*cmd, "--out", tmp_path / "o", "--tag", "has space")
        assert res.exit_code == 2 and "tag 'has space'" in res.stderr
        res = invoke(*cmd, "--out", tmp_path / "o", "--note", "two\nlines")
        assert res.exit_code == 2 and "note" in res.stderr
    res = invoke("sweep", cfg, "seed=range(2)", "--out", tmp_path / "o", "--plan-only", "--report")
    assert res.exit_code == 2 and "--report" in res.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------
# compare -j


def test_compare_two_jobs_equals_one(cfg, tmp_path):
    results = {}
    for j in (1, 2):
        res = invoke("compare", cfg, "--vary", "optimizer.name=sgd,adam", "--vary", "optimizer.lr=0.1,0.05",
                     "--seeds", "2", "-j", j, "--out", tmp_path / f"j{j}", "--no-plots", "-q", "--json")
        assert res.exit_code == 0, res.stderr
        results[j] = json.loads(res.stdout)
    one, two = results[1], results[2]
    timing = ("wall_time_s", "run_dir", "time_to_target_s")
    strip = [[{k: v for k, v in r.items() if k not in timing} for r in d["runs"]] for d in (one, two)]
    assert len(strip[0]) == 8 and strip[0] == strip[1]  # same rows, same order, same numbers
    strip = [[{k: v for k, v in s.items() if "time" not in k} for s in d["settings"]] for d in (one, two)]
    assert strip[0] == strip[1]
    for r1, r2 in zip(one["runs"], two["runs"]):  # the traces, byte for byte apart from timing
        t1, t2 = (pd.read_csv(Path(d["comparison_dir"]) / r["run_dir"] / "trace.csv").drop(columns="time_s")
                  for d, r in ((one, r1), (two, r2)))
        pd.testing.assert_frame_equal(t1, t2, check_exact=True)


def test_vectorized_sweep_keeps_the_labels(cfg, tmp_path):
    res = invoke("sweep", cfg, "optimizer.lr=0.1,0.05", "--vectorize", "--tag", "vec", "--note", "stacked",
                 "--out", tmp_path, "-q", "--json")
    runs = summaries(Path(json.loads(res.stdout)["sweep_dir"]) / "runs")
    assert res.exit_code == 0 and len(runs) == 2
    assert all(s["tags"] == ["vec"] and s["note"] == "stacked" and s.get("vectorized_group") == 2 for s in runs)


def test_an_unwritable_sweep_folder_is_exit_2_not_a_bug(tmp_path, monkeypatch):
    # read-only or immutable (chattr +i) folders: root's os.access says yes, the write says no
    import pathlib

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"seed": 0, "dataset": {"name": "women"}, "model": "linear", "loss": "mse",
                                   "optimizer": {"name": "sgd", "lr": 0.01}, "train": {"steps": 3}}))
    res = CliRunner().invoke(app, ["sweep", str(cfg), "seed=0,1", "--out", str(tmp_path / "o"), "--plan-only"])
    assert res.exit_code == 0, res.output
    folder = next((tmp_path / "o").iterdir())
    real_mkdir = pathlib.Path.mkdir

    def refuse(self, *a, **k):
        if ".staging" in str(self):
            raise PermissionError(1, "Operation not permitted", str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    for args in (["run-plan", str(folder), "--index", "0"], ["sweep", "--resume", str(folder)]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("error: ") and "cannot write the runs folder: Operation not permitted" in res.stderr
        assert "internal error" not in res.stderr and res.stderr.count("\n") == 1
    monkeypatch.setattr(pathlib.Path, "mkdir", real_mkdir)

    def no_csv(*a, **k):
        raise PermissionError(13, "Permission denied")

    import optrun.rundir as rundir_mod

    monkeypatch.setattr(rundir_mod, "write_csv", no_csv)  # summary.py imports it at call time
    res = CliRunner().invoke(app, ["sweep", "--resume", str(folder)])
    assert res.exit_code == 2 and "cannot write summary.csv: Permission denied" in res.stderr, res.output
