"""The sweep's faster paths write what the plain ones write (docs/performance.md, "Vectorised
sweeps (0.2)"):

* ``config.yaml`` by libyaml (``config.dump``) is byte for byte PyYAML's pure-Python dump: on
  every example config, and on random configs of what the C path accepts (others go to Python);
* a stack's ``trace.csv`` written in blocks (:class:`optrun.vectorized.traces.StackTrace`) is
  byte for byte what a :class:`optrun.trace.TraceWriter` fed the same rows writes;
* a ``--vectorize`` sweep's folder equals a ``-j 1`` sweep's: plan.jsonl, every run's
  config.yaml byte for byte, summary.csv apart from timing, folder names and the last digits of
  the losses (the stacked gradient's rounding);
* :class:`optrun.rundir.RunFolder` reads ``config.yaml`` only when asked, with the same result.
"""

from __future__ import annotations

import csv
import string
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from optrun import config as config_mod
from optrun.cli.app import app
from optrun.config import yaml_io
from optrun.rundir import RunFolder
from optrun.trace import TraceWriter
from optrun.vectorized.traces import StackTrace

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def _python_dump(value) -> str:
    return yaml.dump(value, Dumper=yaml_io.PyDumper, sort_keys=False, default_flow_style=None)


# ---- config.yaml by libyaml ------------------------------------------------------------------


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_example_configs_dump_as_python_yaml_does(path):
    cfg = config_mod.load(path)
    assert yaml_io._same_in_c(cfg)  # the fast path is the one taken
    assert config_mod.dump(cfg) == _python_dump(cfg)


_TEXT = st.one_of(st.text(alphabet="".join(map(chr, range(0x20, 0x7F))), min_size=1, max_size=120),
                  st.sampled_from(["null", "yes", "on", "1e-3", "0x1f", "~", "-", "- a", "a: b", "1:30", " a", "a ",
                                   "#x", "'q'", '"q"', "a" * 130]))
_ANY_TEXT = st.one_of(_TEXT, st.text(max_size=40))  # with non-ASCII, control characters, ""
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True))


def _trees(text):
    leaves = st.one_of(_SCALARS, text)
    return st.dictionaries(st.one_of(text, st.integers()),
                           st.recursive(leaves, lambda ch: st.one_of(st.lists(ch, max_size=6),
                                                                     st.dictionaries(text, ch, max_size=6)),
                                        max_leaves=20), max_size=8)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(_trees(_TEXT))
def test_c_dump_equals_python_dump_on_what_it_accepts(value):
    assert yaml_io._same_in_c(value)
    assert config_mod.dump(value) == _python_dump(value)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(_trees(_ANY_TEXT))
def test_dump_equals_python_dump_on_any_config(value):
    assert config_mod.dump(value) == _python_dump(value)


_FLOATS = st.floats(allow_nan=False)  # NaN is not equal to itself


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), _FLOATS, _ANY_TEXT,
                              st.from_regex(r"\A[0-9a-f]{8}\Z"), st.from_regex(r"\A[-+]?[0-9]+[eE][-+]?[0-9]+\Z")),
                    lambda ch: st.one_of(st.lists(ch, max_size=5), st.dictionaries(_ANY_TEXT, ch, max_size=5)),
                    max_leaves=25))
def test_what_optrun_writes_as_yaml_it_reads_back(value):
    # PyYAML quotes by YAML 1.1, optrun reads YAML 1.2 numbers: a sweep id such as 58052e01 was
    # written bare and read back as 580520.0, and that sweep could not be resumed
    doc = {"k": value}
    assert yaml_io.parse_yaml(config_mod.dump(doc), "x") == doc


def test_a_sweep_whose_id_looks_like_a_number_resumes(tmp_path, monkeypatch):
    from optrun import sweep as sw
    from optrun.sweep import plan as plan_mod

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(SWEEP))
    monkeypatch.setattr(plan_mod, "sweep_id", lambda entries: "58052e01")
    folder = sw.write_sweep(sw.plan_sweep(cfg, ["seed=range(2)"], out=tmp_path / "o"))
    assert "sweep_id: '58052e01'" in (folder.dir / "sweep.yaml").read_text()
    assert sw.load_sweep(folder.dir).spec["sweep_id"] == "58052e01"
    # a folder written before the fix (the id bare) still loads
    path = folder.dir / "sweep.yaml"
    path.write_text(path.read_text().replace("sweep_id: '58052e01'", "sweep_id: 58052e01"))
    assert sw.load_sweep(folder.dir).spec["sweep_id"] == "58052e01"


def test_what_libyaml_writes_differently_goes_to_python():
    # the two emitters differ on these (an empty key: "? ''"; folding of escaped strings)
    for value in ({"": None}, {"a": "é"}, {"a": "x\ty"}, {"a": ["\x07"]}, {1.5: 2}, {True: 1}, {"a": (1, 2)}):
        assert not yaml_io._same_in_c(value)
        assert config_mod.dump(value) == _python_dump(value)


# ---- traces in blocks ------------------------------------------------------------------------


COLUMNS = ["step", "epoch", "samples", "time_s", "lr", "loss", "batch_loss", "grad_norm", "evals", "w_x", "b"]


@pytest.mark.parametrize("max_cells", [1 << 18, 40])  # one flush at close; a flush every few steps
def test_stack_trace_files_equal_trace_writer_files(tmp_path, max_cells):
    rng = np.random.default_rng(0)
    k, steps = 4, 30
    stack = StackTrace(COLUMNS, max_cells=max_cells)
    writers = [stack.open(tmp_path / f"s{i}.csv") for i in range(k)]
    alone = [TraceWriter(tmp_path / f"a{i}.csv", COLUMNS, chunk_rows=7) for i in range(k)]
    for t in range(steps):
        active = [i for i in range(k) if t < steps - 5 * i]  # runs leave the stack at different steps
        rows = rng.normal(size=(len(active), len(COLUMNS))) * 10.0 ** rng.integers(-300, 300, size=(len(active), 1))
        rows[:, 0], rows[:, 2], rows[:, 8] = t, 15 * t, 15 * t
        rows[:, 3] = rng.random() * t
        if t == 0:
            rows[:, 4] = rows[:, 6] = np.nan
        if t == 3:
            rows[0, 5] = np.inf
        stack.record_block(np.array(active[::-1]), rows[::-1].copy())  # any order of runs
        for i, row in zip(active, rows):
            alone[i].record(tuple(row[:9].tolist()), row[9:])
    writers[1].record(tuple(range(9)), np.array([0.5, -0.0]))  # one row, as engine.run gives it
    alone[1].record(tuple(range(9)), np.array([0.5, -0.0]))
    stack.close()
    for w, a in zip(writers, alone):
        a.close()
        assert w.rows_written == a.rows_written
        np.testing.assert_array_equal(w.last, a.last)
    for i in range(k):
        assert (tmp_path / f"s{i}.csv").read_bytes() == (tmp_path / f"a{i}.csv").read_bytes()


# ---- whole sweeps ----------------------------------------------------------------------------


SWEEP = {
    "name": "eq", "seed": 0,
    "dataset": {"name": "women", "standardize": True},
    "model": {"name": "linear", "init": "normal"},
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch": "full",
    "train": {"steps": 25, "log_every": 1},
}
#: summary.csv columns that may differ: the clock, the folder (a timestamp and random suffix) and
#: numbers carrying the stacked gradient's rounding (compared at rtol 1e-12)
TIMING, FOLDER, ROUNDED = {"wall_time_s"}, {"run"}, {"final_loss", "suboptimality", "r2"}


def _sweep(tmp_path: Path, cfg: Path, *extra: str) -> Path:
    out = tmp_path / ("v" if extra else "s")
    res = CliRunner().invoke(app, ["sweep", str(cfg), "optimizer.lr=0.01,0.1,0.5", "seed=range(3)", "--out",
                                   str(out), "--quiet", "-j", "1", *extra])
    assert res.exit_code == 0, res.output
    return next(out.iterdir())


def test_vectorized_sweep_folder_equals_sequential(tmp_path):
    cfg = tmp_path / "eq.yaml"
    cfg.write_text(yaml.safe_dump(SWEEP))
    seq, vec = _sweep(tmp_path, cfg), _sweep(tmp_path, cfg, "--vectorize")
    assert seq.name == vec.name
    assert (seq / "plan.jsonl").read_bytes() == (vec / "plan.jsonl").read_bytes()
    rows_s = list(csv.DictReader((seq / "summary.csv").open()))
    rows_v = list(csv.DictReader((vec / "summary.csv").open()))
    assert len(rows_s) == len(rows_v) == 9
    for a, b in zip(rows_s, rows_v):
        assert {k: v for k, v in a.items() if k not in TIMING | FOLDER | ROUNDED} == \
               {k: v for k, v in b.items() if k not in TIMING | FOLDER | ROUNDED}
        for k in ROUNDED:
            assert (a[k] == b[k] == "") or np.isclose(float(a[k]), float(b[k]), rtol=1e-12, atol=0)
        fa, fb = seq / a["run"], vec / b["run"]
        assert fa.name.split("-", 2)[2].rsplit("-", 1)[0] == fb.name.split("-", 2)[2].rsplit("-", 1)[0]
        assert (fa / "config.yaml").read_bytes() == (fb / "config.yaml").read_bytes()
        ta, tb = (fa / "trace.csv").read_text().splitlines(), (fb / "trace.csv").read_text().splitlines()
        assert ta[0] == tb[0] and len(ta) == len(tb) == 27
    assert not (vec / "runs" / ".staging").exists()


# ---- RunFolder -------------------------------------------------------------------------------


def test_run_folder_reads_config_only_when_asked(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "completed"}')
    (tmp_path / "config.yaml").write_text("a: 1\na: 2\n")  # a duplicate key: the strict loader refuses it
    run = RunFolder(tmp_path)
    assert run.status == "completed" and run._config is None  # not read yet
    assert run.config == {} and "duplicate key 'a'" in run.config_problem
    (tmp_path / "config.yaml").write_text("seed: 3\n")
    fresh = RunFolder(tmp_path)
    assert fresh.config_problem is None and fresh.config == {"seed": 3}


@pytest.mark.parametrize("max_cells", [1 << 18, 40])
def test_runs_fed_row_by_row_write_trace_writer_files(tmp_path, max_cells):
    # runs that leave the stack for engine.run are fed by record(), 512 rows a block
    rng = np.random.default_rng(1)
    stack = StackTrace(COLUMNS, max_cells=max_cells)
    runs = [stack.open(tmp_path / f"s{i}.csv") for i in range(2)]
    alone = [TraceWriter(tmp_path / f"a{i}.csv", COLUMNS) for i in range(2)]
    for t in range(1300):
        for i in range(2):
            if i == 0 or t < 700:
                row = rng.normal(size=len(COLUMNS))
                scalars = (t, t / 15, 15 * t, t * 1e-4, *row[4:8].tolist(), 15 * t)
                runs[i].record(scalars, row[9:])
                alone[i].record(scalars, row[9:])
    stack.close()
    for i in range(2):
        alone[i].close()
        assert runs[i].rows_written == alone[i].rows_written
        assert (tmp_path / f"s{i}.csv").read_bytes() == (tmp_path / f"a{i}.csv").read_bytes()


def test_vectorized_sweep_runs_each_entry_exactly_once(tmp_path):
    """--vectorize takes the same claims as -j 1 (tests/test_reliability_sweep_faults.py): an entry
    another live process holds is skipped, the rest are marked done, and a rerun skips them all."""
    import json
    import os
    import socket

    import optrun.sweep as sw
    from optrun.sweep import claims

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**SWEEP, "train": {"steps": 5}}))
    plan = sw.write_sweep(sw.plan_sweep(cfg, ["optimizer.lr=0.1,0.2", "seed=range(2)"], out=tmp_path / "s"))
    busy = plan.entries[0]
    cdir = plan.runs_dir / claims.CLAIMS
    cdir.mkdir(parents=True)
    (cdir / busy.config_hash).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    report = sw.execute(plan, vectorize=True)
    assert [o["index"] for o in report.elsewhere] == [busy.index]
    assert sorted(o["index"] for o in report.outcomes) == [e.index for e in plan.entries[1:]]
    for o in report.outcomes:
        claim = json.loads((cdir / plan.entries[o["index"]].config_hash).read_text())
        assert o["status"] == "completed" and claim == {"done": Path(o["run_dir"]).name}
    assert json.loads((cdir / busy.config_hash).read_text())["pid"] == os.getppid()  # not taken, not released
    again = sw.execute(plan, entries=plan.entries, vectorize=True)
    assert not again.outcomes and len(again.elsewhere) == len(plan.entries)


def test_vectorized_sweep_stopped_between_stacks_keeps_the_finished_runs_claimed(tmp_path, monkeypatch):
    """A stop (a second Ctrl-C) after the first stack: its runs are in runs/ and their claims say
    done (a concurrent sweep skips them); the second stack's entries are free again."""
    import json

    import optrun.sweep as sw
    from optrun.sweep import claims
    from optrun.vectorized import folders

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**SWEEP, "train": {"steps": 5}}))
    plan = sw.write_sweep(sw.plan_sweep(cfg, ["optimizer.name=sgd,adam", "seed=range(2)"], out=tmp_path / "s"))
    real, calls = folders._run_stack, []

    def second_stack_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(folders, "_run_stack", second_stack_interrupted)
    with pytest.raises(KeyboardInterrupt):
        sw.execute(plan, vectorize=True)
    finished = [p for p in plan.runs_dir.iterdir() if not p.name.startswith(".")]
    assert len(finished) == 2
    cdir = plan.runs_dir / claims.CLAIMS
    marks = {e.index: json.loads((cdir / e.config_hash).read_text()) if (cdir / e.config_hash).exists() else None
             for e in plan.entries}
    assert sorted(m["done"] for m in marks.values() if m) == sorted(p.name for p in finished)
    assert sum(m is None for m in marks.values()) == 2  # released: free for the next sweep
    monkeypatch.setattr(folders, "_run_stack", real)
    rest = sw.execute(plan, vectorize=True)  # a resume runs exactly the two left
    assert len(rest.outcomes) == 2 and {o["status"] for o in rest.outcomes} == {"completed"}


# ---- a sweep parses its data file once --------------------------------------------------------


def test_shared_reads_parse_a_file_once_and_hand_out_copies(tmp_path, monkeypatch):
    from optrun.data import formats

    path = tmp_path / "d.csv"
    path.write_text("x1,x2,y\n1,2,3\n4,5,6\n7,8,10\n")
    parsed = []
    real = formats.read_csv_lines
    monkeypatch.setattr(formats, "read_csv_lines", lambda *a: parsed.append(a) or real(*a))
    formats.read_data_file(path)
    formats.read_data_file(path)
    assert len(parsed) == 2  # outside the block: every read parses
    with formats.shared_reads():
        a = formats.read_data_file(path)
        b = formats.read_data_file(str(path))
        assert len(parsed) == 3
        a[0][0, 0] = 99.0  # one run's change is not another's data
        c = formats.read_data_file(path)
        assert len(parsed) == 3 and c[0][0, 0] == 1.0 and b[0][0, 0] == 1.0
        np.testing.assert_array_equal(c[1], [3.0, 6.0, 10.0])
        formats.read_data_file(path, "x1")  # other columns: another read
        assert len(parsed) == 4
        path.write_text("x1,x2,y\n1,2,3\n4,5,6\n7,8,11\n")  # the file changed (its size): read again
        np.testing.assert_array_equal(formats.read_data_file(path)[1], [3.0, 6.0, 11.0])
        assert len(parsed) == 5
    formats.read_data_file(path)
    assert len(parsed) == 6  # the kept reads went with the block


@pytest.mark.parametrize("extra", [(), ("--vectorize",)])
def test_a_sweep_parses_its_data_file_once(tmp_path, monkeypatch, extra):
    from optrun.data import formats

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)).tolist()
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,y\n" + "".join(f"{a!r},{b!r},{2 * a - b + 0.5!r}\n" for a, b in X))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**SWEEP, "dataset": {"name": "csv", "path": str(path)}}))
    parsed = []
    real = formats.read_csv_lines
    monkeypatch.setattr(formats, "read_csv_lines", lambda *a: parsed.append(a) or real(*a))
    folder = _sweep(tmp_path, cfg, *extra)
    rows = list(csv.DictReader((folder / "summary.csv").open()))
    assert len(rows) == 9 and {r["status"] for r in rows} == {"completed"}
    assert len(parsed) == 1
    # and each run is the run optrun train makes alone (which parses the file itself)
    import optrun

    one = next(r for r in rows if "lr-0.1-seed-2" in r["run"])
    alone = optrun.train({**SWEEP, "dataset": {"name": "csv", "path": str(path)}, "seed": 2,
                          "optimizer": {"name": "sgd", "lr": 0.1}}, out=tmp_path / "alone", plots=False)
    assert len(parsed) == 2
    ours = np.loadtxt(folder / one["run"] / "trace.csv", delimiter=",", skiprows=1, usecols=(5, 9, 10, 11))
    theirs = alone.trace[["loss", "w_x1", "w_x2", "b"]].to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
