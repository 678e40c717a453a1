"""The Dask executor against a real ``distributed.LocalCluster`` started here.

Workers run in their own processes and send the run folders back as bytes; the client writes
them. The result must equal the local sweep's, file for file (but timings).
"""

import json

import pytest
import yaml

distributed = pytest.importorskip("distributed")

from optrun import sweep as sw  # noqa: E402

from test_sweep import TINY, folder_contents, read_csv  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=50) as c:
        yield c


def test_dask_sweep_equals_local(tmp_path, linear_csv, cluster):
    # a CSV dataset: the client sends the file's bytes, the workers train on their own copy
    cfg = tmp_path / "csv.yaml"
    cfg.write_text(yaml.safe_dump(dict(TINY, dataset={"name": "csv", "path": str(linear_csv)})))
    axes = ["optimizer.name=sgd,adam", "optimizer.lr=0.1,0.01", "seed=range(2)"]
    local = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "local"))
    remote = sw.write_sweep(sw.plan_sweep(cfg, axes, out=tmp_path / "dask"))
    r_local = sw.execute(local, jobs=1)
    seen = []
    r_dask = sw.execute(remote, executor="dask", address=cluster.scheduler_address,
                        on_result=lambda e, o: seen.append((e.index, o["status"])))
    assert not r_local.failed and not r_dask.failed
    assert sorted(i for i, _ in seen) == list(range(8))
    a, b = folder_contents(local.runs_dir), folder_contents(remote.runs_dir)
    assert a.keys() == b.keys() == {e.config_hash for e in local.entries}
    assert a == b  # config.yaml (original CSV path), trace, summary: all equal
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("run", "wall_time_s")} for r in rows]
    assert strip(read_csv(local.dir / "summary.csv")) == strip(read_csv(remote.dir / "summary.csv"))
    assert not (remote.runs_dir / ".staging").exists()
    # resume works the same way: all done, nothing sent
    again = sw.execute(remote, executor="dask", address=cluster.scheduler_address)
    assert again.skipped == 8 and not again.outcomes


def test_dask_failure_and_cli(tmp_path, cluster):
    from typer.testing import CliRunner

    from optrun.cli.app import app

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    res = CliRunner().invoke(app, ["sweep", str(cfg), "batch.size=4,100", "--out", str(tmp_path / "o"),
                                   "--executor", "dask", "--address", cluster.scheduler_address, "--json"])
    assert res.exit_code == 4, res.output
    doc = json.loads(res.stdout)
    assert [r["status"] for r in doc["runs"]] == ["completed", "failed"]
    assert "larger than" in doc["runs"][1]["error"]
    res = CliRunner().invoke(app, ["sweep", str(cfg), "seed=1,2", "--out", str(tmp_path / "o"),
                                   "--executor", "dask", "--address", "tcp://127.0.0.1:1"])
    assert res.exit_code == 2 and "cannot connect" in res.stderr


def test_dask_stop_interrupts_running_and_skips_the_rest(tmp_path, cluster):
    import threading
    import time

    from test_sweep import LONG

    cfg = tmp_path / "long.yaml"
    cfg.write_text(yaml.safe_dump(LONG))
    plan = sw.write_sweep(sw.plan_sweep(cfg, ["seed=range(6)"], out=tmp_path))
    from optrun.engine import StopFlag

    stop = StopFlag()
    started = time.time()
    # each run takes tens of seconds: after 4 s two are in progress on the two (warm) workers
    threading.Timer(4.0, stop.request, args=("test",)).start()
    report = sw.execute(plan, executor="dask", address=cluster.scheduler_address, stop=stop)
    assert time.time() - started < 25
    assert report.interrupted and report.outcomes
    assert {o["status"] for o in report.outcomes} == {"interrupted"}
    assert len(report.outcomes) <= 2  # two workers: at most two runs were in progress
    rows = read_csv(plan.dir / "summary.csv")
    assert {r["status"] for r in rows} <= {"interrupted", "pending"}
    assert len(sw.pending_entries(plan)) == 6  # nothing counts as done
