"""Batch index streams, the streaming trace writer, and run-folder creation."""

import itertools
import json

import numpy as np
import pytest

from optrun import rundir
from optrun.errors import OptrunError
from optrun.sampling import batch_indices
from optrun.trace import TraceWriter, trace_columns


def take(gen, k):
    return list(itertools.islice(gen, k))


def test_file_order_cycles_with_short_last_batch():
    got = take(batch_indices(10, 4, False, None), 4)
    assert [(s.start, s.stop) for s in got] == [(0, 4), (4, 8), (8, 10), (0, 4)]


def test_full_batch_is_one_slice():
    assert take(batch_indices(5, 5, False, None), 2) == [slice(None), slice(None)]


def test_shuffled_epochs_are_permutations_and_seeded():
    a = take(batch_indices(10, 3, True, np.random.default_rng(1)), 8)
    b = take(batch_indices(10, 3, True, np.random.default_rng(1)), 8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    epoch1 = np.concatenate(a[:4])
    epoch2 = np.concatenate(a[4:8])
    assert sorted(epoch1) == list(range(10)) and sorted(epoch2) == list(range(10))
    assert not np.array_equal(epoch1, epoch2)


def test_trace_writer_chunks_and_round_trips(tmp_path):
    import pandas as pd

    cols = trace_columns(["w_x", "b"], has_val=False)
    w = TraceWriter(tmp_path / "t.csv", cols, chunk_rows=3)
    rows = []
    for k in range(8):
        theta = np.array([0.1 * k, 1 / 3 + k])
        scal = (k, k / 8, k * 2, 0.001 * k, float("nan") if k == 0 else 0.5, 1.0 / (k + 1), float("nan") if k == 0 else 2.0 / 3, 1e-300 * k, 3 * k)
        w.record(scal, theta)
        rows.append(list(scal) + list(theta))
        if k == 4:
            # chunks of 3 were flushed: the file already holds 3 complete rows
            assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 3
    w.close()
    df = pd.read_csv(tmp_path / "t.csv")
    assert list(df.columns) == cols
    expected = np.array(rows)
    expected[:, 3] = np.round(expected[:, 3], 6)
    np.testing.assert_array_equal(df.to_numpy(), expected)  # exact: repr round-trips
    assert np.isnan(df["batch_loss"][0]) and df["step"].dtype == np.int64
    assert w.rows_written == 8 and w.last[0] == 7


def test_slugify_never_escapes():
    assert rundir.slugify("../../etc/passwd") == "etc-passwd"
    assert rundir.slugify("Adam / lr=0.1") == "adam-lr-0.1"
    assert rundir.slugify("...") == "run"
    assert "/" not in rundir.slugify("a/b\\c")


def test_run_dirs_are_unique(tmp_path):
    dirs = {rundir.create_run_dir(tmp_path, "x") for _ in range(50)}
    assert len(dirs) == 50 and all(d.parent == tmp_path for d in dirs)


def test_unwritable_out(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OptrunError, match="--out"):
        rundir.create_run_dir(f / "sub", "x")


def test_write_json_is_strict_and_atomic(tmp_path):
    p = tmp_path / "s.json"
    rundir.write_json(p, {"a": np.float64(1.5), "b": float("nan"), "c": np.arange(2)})
    assert json.loads(p.read_text()) == {"a": 1.5, "b": None, "c": [0, 1]}
    assert [x.name for x in tmp_path.iterdir()] == ["s.json"]


def test_atomic_files_get_the_ordinary_mode(tmp_path):
    import os

    rundir.atomic_write_text(tmp_path / "a.txt", "x")
    (tmp_path / "b.txt").write_text("x")
    expected = 0o666 & ~rundir._UMASK
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == (tmp_path / "b.txt").stat().st_mode & 0o777 == expected


def _cell(value, integer):
    """The cell rule, one cell at a time: the oracle for the bulk formatter."""
    if value != value:
        return ""
    return str(int(value)) if integer else repr(value)


def test_format_rows_matches_the_cell_rule():
    from optrun.trace import format_rows

    rng = np.random.default_rng(3)
    rows = rng.standard_normal((50, 6)) * 10.0 ** rng.integers(-300, 300, (50, 6))
    rows[:, 0] = np.arange(50)
    rows[3, 4], rows[7, 5], rows[9, 2] = np.nan, np.inf, -np.inf
    integer = [True, False, False, False, False, False]
    text = format_rows(rows, integer, time_col=3)
    expected = []
    for r in rows.tolist():
        r[3] = round(r[3], 6)
        expected.append(",".join(_cell(v, integer[j]) for j, v in enumerate(r)))
    assert text == "\n".join(expected) + "\n"


def test_trace_flushes_every_second_of_run_time(tmp_path):
    w = TraceWriter(tmp_path / "t.csv", trace_columns(["b"], False), chunk_rows=1000)
    for k, elapsed in enumerate([0.0, 0.4, 0.9, 1.2, 1.5]):
        w.record((k, 0.0, k, elapsed, 0.1, 1.0, 1.0, 0.0), np.array([0.0]))
    # the row at 1.2 s is more than a second after the last flush: rows 0-3 are on disk
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 4
    w.close()
