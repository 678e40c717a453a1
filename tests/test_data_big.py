"""Big data: the generator's memory check and its lean design, the fast CSV path, .npy/Parquet."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.data import generators
from optrun.errors import OptrunError


def test_lean_design_equals_the_qr_design_to_rounding():
    """G = U R (sign-fixed QR) has R = chol(G^T G)^T: the whitened design is the same matrix."""
    for kappa in (1.0, 1e4):
        X1, lam1 = generators._design(20_000, 12, kappa, np.random.default_rng(3))
        X2, lam2 = generators._design_lean(20_000, 12, kappa, np.random.default_rng(3))
        np.testing.assert_array_equal(lam1, lam2)
        assert np.abs(X1 - X2).max() <= 1e-13 * np.abs(X1).max()
        H = X2.T @ X2 / 20_000  # the prescribed spectrum, exactly centred
        np.testing.assert_allclose(np.linalg.eigvalsh(H), lam2, rtol=1e-10)
        assert np.abs(X2.mean(axis=0)).max() < 1e-12 * np.sqrt(kappa)


def test_big_sets_use_the_lean_design(monkeypatch):
    monkeypatch.setattr(generators, "LEAN_DESIGN_CELLS", 1000)
    calls = []
    monkeypatch.setattr(generators, "_design_lean", lambda *a: calls.append(a) or generators._design(*a))
    generators.generate("synthetic_linear", {"n_samples": 500, "n_features": 3})
    generators.generate("synthetic_linear", {"n_samples": 20, "n_features": 3})  # 60 cells: small
    assert len(calls) == 1


def test_memory_check_against_the_machine(monkeypatch):
    monkeypatch.setattr(generators, "available_memory", lambda: 100 * 2**20)  # 100 MiB
    with pytest.raises(OptrunError) as e:
        generators.validate_generator_params("synthetic_linear", {"n_samples": 10**6, "n_features": 10})
    msg = str(e.value)
    assert e.value.key == "dataset.n_samples"
    assert "1000000 rows x 10 features is too large for this machine: it needs about 0." in msg
    assert "and 0.10 GiB are available" in msg
    generators.validate_generator_params("synthetic_linear", {"n_samples": 10**5, "n_features": 10})
    monkeypatch.setattr(generators, "available_memory", lambda: None)  # unknown: no check
    generators.validate_generator_params("synthetic_linear", {"n_samples": 10**6, "n_features": 10})


def test_available_memory_reads_the_machine():
    avail = generators.available_memory()
    assert avail is None or 2**26 < avail < 2**50
    # 1e6 x 100 float64 (the benchmark set): X alone plus a block and four n-vectors
    assert generators.generation_bytes(10**6, 100) < 1.15 * 8 * 10**8


# ---------------------------------------------------------------------------------------------
# The fast CSV pass: same numbers, same lines, same messages


import test_data  # noqa: E402  (the careful pass's tests, rerun below through the fast pass)

from optrun.data import csv as csv_mod  # noqa: E402

CSV_TESTS = [name for name in dir(test_data) if name.startswith("test_") and any(
    w in name for w in ("read_csv", "csv_", "missing_file", "empty_and", "header_required", "non_numeric",
                        "line_numbers", "nan_inf", "unselected", "unknown_columns", "duplicate_and",
                        "ragged", "not_utf8", "relative_to_base"))]


def test_the_csv_message_tests_are_found():
    assert len(CSV_TESTS) >= 14


@pytest.mark.parametrize("name", CSV_TESTS)
def test_message_tests_pass_through_the_fast_pass(name, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_mod, "FAST_MIN_BYTES", 0)
    fn = getattr(test_data, name)
    import inspect

    params = inspect.signature(fn).parameters
    if "cell" in params:
        for cell, what in [("nan", "NaN"), ("inf", "NaN/inf"), ("", "empty cell"), ("  ", "empty cell")]:
            fn(tmp_path, cell, what)
    else:
        fn(**{k: v for k, v in {"tmp_path": tmp_path}.items() if k in params})


def _fast_only(monkeypatch):
    """Make the careful pass fail loudly: the fast pass must have answered alone."""
    monkeypatch.setattr(csv_mod, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(csv_mod, "read_rows", lambda *a: (_ for _ in ()).throw(AssertionError("careful pass ran")))


def test_fast_pass_equals_the_careful_pass(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 4)) * 10.0 ** rng.integers(-20, 20, (300, 4))
    rows = [",".join(repr(float(v)) for v in r) for r in A]
    rows[10:10] = [""]  # a blank line: the lines after it shift by one
    p = tmp_path / "f.csv"
    p.write_text("a,b,c,y\r\n" + "\r\n".join(rows) + "\r\n")
    careful = csv_mod.read_csv_lines(p, features=["c", "a"])
    _fast_only(monkeypatch)
    fast = csv_mod.read_csv_lines(p, features=["c", "a"])
    for u, v in zip(careful, fast):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert list(fast[4][9:12]) == [11, 13, 14]
    np.testing.assert_array_equal(fast[0], A[:, [2, 0]])  # repr round-trips: bit for bit


@pytest.mark.parametrize("text", [
    "x,y,z\n1,2,3\n4,5\n",  # short line, missing column unselected
    "x,y,z\n1,2,3\n4,5,6,7\n",  # long line
    "x,y,z\n1,2,3,\n4,5\n",  # one long, one short: totals cancel
    'x,y,z\n1,2,3\n"4",5,6\n',  # quotes: the careful pass
])
def test_fast_pass_defers_on_ragged_or_quoted_lines(text, tmp_path, monkeypatch):
    p = tmp_path / "r.csv"
    p.write_text(text)
    for target, features in (("z", ["x"]), (None, None)):
        try:
            assert csv_mod._fast_numbers(p, target, features) is None
        except Exception:  # noqa: BLE001  (a parser error defers too)
            pass


# ---------------------------------------------------------------------------------------------
# .npy and Parquet data files

from optrun.data import check_spec, load_dataset  # noqa: E402
from optrun.data.formats import read_data_file  # noqa: E402


def _rngs():
    a, b = np.random.SeedSequence(0).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def _table(n=40):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((n, 3))
    return np.column_stack([A, A @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(n)])


def _csv(tmp_path, A, names=("x1", "x2", "x3", "y")):
    p = tmp_path / "d.csv"
    p.write_text(",".join(names) + "\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in A) + "\n")
    return p


def test_npy_gives_the_same_dataset_as_csv(tmp_path):
    A = _table()
    np.save(tmp_path / "d.npy", A)
    spec = {"validation_fraction": 0.25, "standardize": True}
    a = load_dataset({"name": "csv", "path": str(_csv(tmp_path, A)), **spec}, None, *_rngs(), model="linear")
    b = load_dataset({"name": "csv", "path": "d.npy", **spec}, tmp_path, *_rngs(), model="linear")
    for u, v in ((a.X, b.X), (a.y, b.y), (a.X_val, b.X_val), (a.y_val, b.y_val)):
        np.testing.assert_array_equal(u, v)
    assert (a.feature_names, a.target_name) == (b.feature_names, b.target_name) == (["x1", "x2", "x3"], "y")


def test_npy_structured_array_names_the_columns_and_selects(tmp_path):
    rec = np.zeros(5, dtype=[("label", "U5"), ("h", "f8"), ("w", "i4")])
    rec["h"], rec["w"] = np.arange(5.0), np.arange(5) * 2
    np.save(tmp_path / "r.npy", rec)
    X, y, feats, target, rows = read_data_file(tmp_path / "r.npy", target="w", features=["h"])
    assert (feats, target) == (["h"], "w") and list(rows) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(y, [0, 2, 4, 6, 8])
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "r.npy").value)
    assert "column 'label' does not hold numbers" in msg  # the default features include it


def test_npy_messages_name_row_and_column(tmp_path):
    A = _table(6)
    A[3, 1] = np.nan
    np.save(tmp_path / "n.npy", A)
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "n.npy").value)
    assert msg == f"{tmp_path / 'n.npy'}: row 4, column 'x2': 'nan' is not a finite number (NaN/inf are not allowed)"
    np.save(tmp_path / "t.npy", np.zeros(3))
    assert "expected a 2-D array" in str(pytest.raises(OptrunError, read_data_file, tmp_path / "t.npy").value)
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "d.npy", target="why").value)
    assert "file not found" in msg
    np.save(tmp_path / "d.npy", _table(4))
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "d.npy", target="yy").value)
    assert "target column 'yy' not found (did you mean 'y'?)" in msg
    (tmp_path / "bad.npy").write_text("x,y\n1,2\n")
    assert "not a NumPy .npy file" in str(pytest.raises(OptrunError, read_data_file, tmp_path / "bad.npy").value)


def test_format_key_rules():
    assert check_spec({"name": "csv", "path": "a.dat", "format": "npy"})["format"] == "npy"
    with pytest.raises(OptrunError) as e:
        check_spec({"name": "csv", "path": "a", "format": "parquett"})
    assert e.value.key == "dataset.format" and "did you mean 'parquet'" in str(e.value)
    with pytest.raises(OptrunError) as e:
        check_spec({"name": "women", "format": "npy"})
    assert e.value.key == "dataset.format"
    with pytest.raises(OptrunError) as e:
        check_spec({"name": "synthetic_linear", "format": "npy"})
    assert e.value.key == "dataset.format"


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *a, **kw):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "d.parquet").value)
    assert 'needs pyarrow; install the extra: pip install "optrun[parquet]"' in msg


def test_parquet_gives_the_same_dataset_as_csv(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    A = _table()
    cols = {"label": [f"r{i}" for i in range(len(A))], **{n: A[:, j] for j, n in enumerate(["x1", "x2", "x3", "y"])}}
    pq.write_table(pa.table(cols), tmp_path / "d.parquet")
    a = load_dataset({"name": "csv", "path": str(_csv(tmp_path, A))}, None, *_rngs(), model="linear")
    b = load_dataset({"name": "csv", "path": "d.parquet", "features": ["x1", "x2", "x3"]}, tmp_path, *_rngs(),
                     model="linear")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "d.parquet").value)
    assert "column 'label' does not hold numbers" in msg
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "y": [1.0, 2.0, 3.0]}), tmp_path / "n.parquet")
    msg = str(pytest.raises(OptrunError, read_data_file, tmp_path / "n.parquet").value)
    assert msg.endswith("n.parquet: row 2, column 'x': empty cell; every selected cell must be a number")
