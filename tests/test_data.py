"""Data: CSV loader and its error messages, built-in files, generators, standardization, split."""

from __future__ import annotations

from typing import Annotated

import annotated_types as at
import numpy as np
import pytest

from optrun import data
from optrun.data import generators
from optrun.data import Dataset, load_dataset, read_csv, standardize
from optrun.errors import OptrunError


def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def rngs(seed=0):
    a, b = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def err(fn, *args, **kw) -> str:
    with pytest.raises(OptrunError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------------------------------------
# read_csv
# ---------------------------------------------------------------------------------------------


def test_read_csv_defaults_and_selection(tmp_path):
    p = write(tmp_path, "a,b,label,c\n1,2,x,3\n4,5,y,6\n\n7,8,z,9\n")
    X, y, names, target = read_csv(p, features=["a", "b"])
    assert names == ["a", "b"] and target == "c"
    np.testing.assert_array_equal(X, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(y, [3, 6, 9])
    assert X.dtype == np.float64 and X.flags.c_contiguous and y.shape == (3,)
    X, y, names, target = read_csv(p, target="a", features=["c", "b"])
    assert names == ["c", "b"] and target == "a"
    np.testing.assert_array_equal(X[:, 0], [3, 6, 9])


def test_read_csv_handles_bom_quotes_spaces(tmp_path):
    p = write(tmp_path, '\ufeff"x 1", y\n 1.5 , 2e1\n-3,  4\n')
    X, y, names, target = read_csv(p)
    assert names == ["x 1"] and target == "y"
    np.testing.assert_array_equal(X[:, 0], [1.5, -3.0])
    np.testing.assert_array_equal(y, [20.0, 4.0])


def test_missing_file_and_directory(tmp_path):
    msg = err(read_csv, tmp_path / "nope.csv")
    assert "nope.csv" in msg and "not found" in msg
    msg = err(read_csv, tmp_path)
    assert str(tmp_path) in msg and "directory" in msg


def test_empty_and_header_only(tmp_path):
    msg = err(read_csv, write(tmp_path, "", "empty.csv"))
    assert "empty.csv" in msg and "empty" in msg
    msg = err(read_csv, write(tmp_path, "\n\n", "blank.csv"))
    assert "blank.csv" in msg and "empty" in msg
    msg = err(read_csv, write(tmp_path, "x,y\n", "hdr.csv"))
    assert "hdr.csv" in msg and "no data rows" in msg


def test_header_required(tmp_path):
    msg = err(read_csv, write(tmp_path, "1,2\n3,4\n", "nohdr.csv"))
    assert "nohdr.csv" in msg and "line 1" in msg and "header" in msg


def test_non_numeric_cell_names_file_line_column_text(tmp_path):
    p = write(tmp_path, "x,y\n1,2\n3,4\n5,abc\n", "bad.csv")
    msg = err(read_csv, p)
    assert "bad.csv" in msg and "line 4" in msg and "'y'" in msg and "'abc'" in msg


def test_line_numbers_count_blank_lines(tmp_path):
    p = write(tmp_path, "x,y\n\n1,2\n\n3,oops\n", "gaps.csv")
    msg = err(read_csv, p)
    assert "line 5" in msg and "'oops'" in msg


@pytest.mark.parametrize("cell,what", [("nan", "NaN"), ("inf", "NaN/inf"), ("-Infinity", "finite"), ("", "empty cell"), ("  ", "empty cell")])
def test_nan_inf_empty_cells(tmp_path, cell, what):
    p = write(tmp_path, f"x,y\n1,2\n{cell},4\n", "nan.csv")
    msg = err(read_csv, p)
    assert "nan.csv" in msg and "line 3" in msg and "'x'" in msg and what in msg


def test_unselected_columns_may_hold_anything(tmp_path):
    p = write(tmp_path, "name,x,y\nalice,1,2\nbob,3,nan_is_ok_here_no\n", "mixed.csv")
    msg = err(read_csv, p, features=["x"])  # y is selected (target) and bad
    assert "'y'" in msg
    p = write(tmp_path, "name,x,y\nalice,1,2\nbob,3,4\n", "mixed2.csv")
    X, y, names, _ = read_csv(p, features=["x"])
    assert names == ["x"]
    msg = err(read_csv, p)  # default features include 'name'
    assert "'name'" in msg and "'alice'" in msg and "line 2" in msg


def test_unknown_columns_with_suggestion(tmp_path):
    p = write(tmp_path, "height,weight\n1,2\n3,4\n", "w.csv")
    msg = err(read_csv, p, target="wieght")
    assert "w.csv" in msg and "'wieght'" in msg and "did you mean 'weight'" in msg
    msg = err(read_csv, p, features=["hieght"])
    assert "'hieght'" in msg and "did you mean 'height'" in msg
    msg = err(read_csv, p, features=["weight"])
    assert "target" in msg
    # features: [] is the intercept-only model of DESIGN.md §9.2: no feature columns, the target kept
    X, y, names, _ = read_csv(p, features=[])
    assert names == [] and X.shape == (2, 0) and list(y) == [2.0, 4.0]


def test_duplicate_and_empty_column_names(tmp_path):
    msg = err(read_csv, write(tmp_path, "x,x,y\n1,2,3\n", "dup.csv"))
    assert "dup.csv" in msg and "duplicate column name 'x'" in msg
    msg = err(read_csv, write(tmp_path, "x,,y\n1,2,3\n", "emptyname.csv"))
    assert "column 2" in msg and "empty name" in msg


def test_ragged_rows_and_wrong_separator(tmp_path):
    msg = err(read_csv, write(tmp_path, "x,y\n1,2\n3\n", "ragged.csv"))
    assert "line 3" in msg and "1 values" in msg and "2 columns" in msg
    msg = err(read_csv, write(tmp_path, "x;y\n1;2\n", "semi.csv"))
    assert "semi.csv" in msg and "commas" in msg


def test_not_utf8(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("x,y\n1,2\n\xe9,3\n".encode("latin-1"))
    msg = err(read_csv, p)
    assert "latin.csv" in msg and "UTF-8" in msg


# ---------------------------------------------------------------------------------------------
# built-in datasets
# ---------------------------------------------------------------------------------------------


def test_builtin_names_and_contents():
    names = data.builtin_names()
    for n in ("women", "longley", "iris_virginica", "breast_cancer"):
        assert n in names
    X, y, feats, target = read_csv(data.builtin_path("women"))
    assert feats == ["weight"] and target == "height" and X.shape == (15, 1)
    np.testing.assert_array_equal(y, np.arange(58, 73))
    np.testing.assert_array_equal(X[:, 0], [115, 117, 120, 123, 126, 129, 132, 135, 139, 142, 146, 150, 154, 159, 164])
    X, y, feats, target = read_csv(data.builtin_path("longley"))
    assert X.shape == (16, 6) and target == "employed" and feats[-1] == "year"
    X, y, _, target = read_csv(data.builtin_path("iris_virginica"))
    assert X.shape == (100, 4) and y.sum() == 50 and set(np.unique(y)) == {0.0, 1.0}
    X, y, _, target = read_csv(data.builtin_path("breast_cancer"))
    assert X.shape == (569, 30) and y.sum() == 212 and target == "malignant"
    assert (data.DATASETS_DIR / "README.md").is_file()


def test_builtin_path_unknown():
    msg = err(data.builtin_path, "womem")
    assert "womem" in msg and "did you mean 'women'" in msg
    err(data.builtin_path, "../optrun/errors")


def test_list_datasets():
    rows = data.list_datasets()
    by = {r["name"]: r for r in rows}
    for r in rows:
        assert {"name", "task", "rows", "features", "target", "source"} <= set(r)
    assert by["women"]["task"] == "regression" and by["women"]["rows"] == 15 and by["women"]["features"] == 1
    assert by["iris_virginica"]["task"] == "classification"
    assert by["breast_cancer"]["rows"] == 569
    assert by["synthetic_logistic"]["kind"] == "generator"


# ---------------------------------------------------------------------------------------------
# synthetic generators
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gen", [data.synthetic_linear, data.synthetic_logistic])
def test_generators_reproducible(gen):
    a = gen(n_samples=50, n_features=3, rng=np.random.default_rng(11))
    b = gen(n_samples=50, n_features=3, rng=np.random.default_rng(11))
    c = gen(n_samples=50, n_features=3, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.feature_names == ["x1", "x2", "x3"] and a.target_name == "y"
    assert a.X.flags.c_contiguous and a.n == 50 and a.d == 3


@pytest.mark.parametrize("kappa", [1.0, 3.0, 100.0, 1e6])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_generator_condition_number(kappa, d):
    ds = data.synthetic_linear(n_samples=64, n_features=d, condition_number=kappa, rng=5)
    A = np.hstack([ds.X, np.ones((64, 1))])
    eig = np.linalg.eigvalsh(A.T @ A / 64)
    assert eig[-1] / eig[0] == pytest.approx(kappa, rel=1e-8)
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-12 * np.sqrt(kappa))
    if d >= 2:  # without the intercept too
        eig = np.linalg.eigvalsh(ds.X.T @ ds.X / 64)
        assert eig[-1] / eig[0] == pytest.approx(kappa, rel=1e-8)


def test_synthetic_linear_noise_and_truth():
    ds = data.synthetic_linear(n_samples=400, n_features=2, noise=0.0, rng=1)
    w_b = np.array(ds.info["true_theta"])
    np.testing.assert_allclose(ds.X @ w_b[:2] + w_b[2], ds.y, atol=1e-12)
    ds = data.synthetic_linear(n_samples=4000, n_features=2, noise=0.5, rng=1)
    w_b = np.array(ds.info["true_theta"])
    assert np.std(ds.y - ds.X @ w_b[:2] - w_b[2]) == pytest.approx(0.5, rel=0.05)


def test_synthetic_logistic_label_noise():
    clean = data.synthetic_logistic(n_samples=200, label_noise=0.0, rng=3)
    noisy = data.synthetic_logistic(n_samples=200, label_noise=0.1, rng=3)
    np.testing.assert_array_equal(clean.X, noisy.X)
    assert set(np.unique(noisy.y)) <= {0.0, 1.0}
    assert int(np.sum(clean.y != noisy.y)) == 20 == noisy.info["flipped"]
    w_b = np.array(clean.info["true_theta"])
    np.testing.assert_array_equal(clean.y, (clean.X @ w_b[:2] + w_b[2] > 0).astype(float))


def test_generator_parameter_validation():
    assert data.validate_generator_params("synthetic_linear", {}) == data.GENERATORS["synthetic_linear"]
    out = data.validate_generator_params("synthetic_logistic", {"n_samples": 1000.0, "label_noise": 0})
    assert out["n_samples"] == 1000 and isinstance(out["n_samples"], int) and out["label_noise"] == 0.0
    assert "dataset.n_samples" in err(data.validate_generator_params, "synthetic_linear", {"n_samples": 2, "n_features": 5})
    assert "dataset.noise" in err(data.validate_generator_params, "synthetic_linear", {"noise": -1})
    assert "dataset.label_noise" in err(data.validate_generator_params, "synthetic_logistic", {"label_noise": 0.7})
    assert "dataset.condition_number" in err(data.validate_generator_params, "synthetic_linear", {"condition_number": 0.5})
    assert "dataset.n_features" in err(data.validate_generator_params, "synthetic_linear", {"n_features": True})
    assert "dataset.n_samples" in err(data.validate_generator_params, "synthetic_linear", {"n_samples": 10.5})
    msg = err(data.validate_generator_params, "synthetic_linear", {"nosie": 1})
    assert "dataset.nosie" in msg and "did you mean 'noise'" in msg


# ---------------------------------------------------------------------------------------------
# standardize and split
# ---------------------------------------------------------------------------------------------


def test_standardize_uses_training_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, (50, 2))
    Xv = rng.normal(5, 3, (10, 2))
    Xs, Xvs, mean, std = standardize(X, Xv)
    np.testing.assert_allclose(Xs.mean(0), 0, atol=1e-14)
    np.testing.assert_allclose(Xs.std(0), 1, rtol=1e-14)
    np.testing.assert_allclose(Xvs, (Xv - X.mean(0)) / X.std(0), rtol=1e-14)
    np.testing.assert_array_equal(mean, X.mean(0))
    assert standardize(X)[1] is None


def test_standardize_constant_feature():
    X = np.array([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0]])
    msg = err(standardize, X, None, ["a", "flat"])
    assert "'flat'" in msg and "constant" in msg and "dataset.standardize" in msg


def test_load_dataset_split_and_standardize():
    spec = {"name": "iris_virginica", "standardize": True, "validation_fraction": 0.2}
    ds = load_dataset(spec, None, *rngs(1), model="logistic")
    assert ds.n == 80 and ds.X_val.shape == (20, 4) and ds.y_val.shape == (20,)
    np.testing.assert_allclose(ds.X.mean(0), 0, atol=1e-13)
    np.testing.assert_allclose(ds.X.std(0), 1, rtol=1e-13)
    # the two parts partition the file's rows (undo the standardization to compare)
    X, y, _, _ = read_csv(data.builtin_path("iris_virginica"))
    mean, std = np.array(ds.info["standardize_mean"]), np.array(ds.info["standardize_std"])
    rows = np.vstack([ds.X * std + mean, ds.X_val * std + mean])
    assert sorted(map(tuple, np.round(rows, 9))) == sorted(map(tuple, np.round(X, 9)))
    # reproducible with the same split stream, different with another
    again = load_dataset(spec, None, *rngs(1), model="logistic")
    np.testing.assert_array_equal(again.X, ds.X)
    other = load_dataset(spec, None, *rngs(2), model="logistic")
    assert not np.array_equal(other.X, ds.X)


def test_split_keeps_file_order_within_parts():
    ds = load_dataset({"name": "women", "validation_fraction": 0.3}, None, *rngs(0), model="linear")
    assert ds.n == 10 and ds.X_val.shape[0] == 5  # round(4.5) -> 5: halves round up
    assert np.all(np.diff(ds.y) > 0) and np.all(np.diff(ds.y_val) > 0)


@pytest.mark.parametrize("frac", [0.05, 0.95])
def test_split_too_small(frac):
    msg = err(load_dataset, {"name": "women", "validation_fraction": frac}, None, *rngs(0), model="linear")
    assert "dataset.validation_fraction" in msg and "15 rows" in msg and "at least 2" in msg


def test_load_csv_relative_to_base_dir(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "a,b,t\n1,2,0\n2,1,1\n3,5,1\n4,0,0\n", "mine.csv")
    ds = load_dataset({"name": "csv", "path": "sub/mine.csv", "target": "t"}, tmp_path, *rngs(0), model="logistic")
    assert ds.feature_names == ["a", "b"] and ds.target_name == "t" and ds.X_val is None
    assert "mine.csv" in ds.source
    msg = err(load_dataset, {"name": "csv", "path": "sub/mine.csv", "target": "b"}, tmp_path, *rngs(0), model="logistic")
    assert "mine.csv" in msg and "'b'" in msg and "0 or 1" in msg and "line 2" in msg and "2 of 4" in msg
    msg = err(load_dataset, {"name": "csv"}, tmp_path, *rngs(0), model="linear")
    assert "dataset.path" in msg


def test_load_synthetic_and_errors():
    spec = {"name": "synthetic_logistic", "n_samples": 60, "n_features": 3, "condition_number": 5.0,
            "label_noise": 0.1, "standardize": False, "validation_fraction": 0.0}
    ds = load_dataset(spec, None, *rngs(4), model="logistic")
    assert ds.X.shape == (60, 3) and "synthetic_logistic" in ds.source
    again = load_dataset(spec, None, *rngs(4), model="logistic")
    np.testing.assert_array_equal(ds.X, again.X)
    msg = err(load_dataset, {"name": "synthetic_linear"}, None, *rngs(0), model="logistic")
    assert "synthetic_linear" in msg and "0/1" in msg
    msg = err(load_dataset, {"name": "synthetic_linear", "path": "x.csv"}, None, *rngs(0), model="linear")
    assert "dataset.path" in msg
    msg = err(load_dataset, {"name": "longly"}, None, *rngs(0), model="linear")
    assert "'longly'" in msg and "did you mean 'longley'" in msg
    msg = err(load_dataset, {"name": "women", "validation_fraction": 1.5}, None, *rngs(0), model="linear")
    assert "dataset.validation_fraction" in msg


def test_load_dataset_float32():
    ds = load_dataset({"name": "women"}, None, *rngs(0), model="linear", dtype="float32")
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.float32 and ds.X.flags.c_contiguous
    assert "train.dtype" in err(load_dataset, {"name": "women"}, None, *rngs(0), model="linear", dtype="int8")


def test_dataset_dataclass():
    ds = Dataset(X=np.zeros((3, 2)), y=np.zeros(3), feature_names=["a", "b"], target_name="t")
    assert ds.n == 3 and ds.d == 2 and ds.X_val is None and ds.info == {}


def test_validate_targets_exported():
    data.validate_targets("logistic", np.array([0.0, 1.0]), "x")
    assert "0 or 1" in err(data.validate_targets, "logistic", np.array([0.0, 3.0]), "x")


# ---------------------------------------------------------------------------------------------
# the CSV reader's three steps
# ---------------------------------------------------------------------------------------------


def test_csv_steps_rows_columns_numbers(tmp_path):
    from optrun.data.csv import read_rows, select_columns, to_numbers

    p = write(tmp_path, "a, b ,name,t\n\n1,2,x,0\n3,4,y,1\n", "s.csv")
    table = read_rows(p)
    assert table.header == ["a", "b", "name", "t"] and table.header_line == 1
    assert table.lines == [3, 4] and table.rows[1] == ["3", "4", "y", "1"]  # blank line 2 skipped
    assert select_columns(table) == (["a", "b", "name"], "t")
    assert select_columns(table, target="a", features="b") == (["b"], "a")
    np.testing.assert_array_equal(to_numbers(table, ["b", "t"]), [[2.0, 0.0], [4.0, 1.0]])
    msg = err(to_numbers, table, ["a", "name"])
    assert msg == f"{p}: line 3, column 'name': 'x' is not a number"


# ---------------------------------------------------------------------------------------------
# the generator registry
# ---------------------------------------------------------------------------------------------


def test_registry_is_the_schema_and_the_listing():
    assert generators.names() == ["synthetic_linear", "synthetic_logistic"]
    assert {n: generators.get_spec(n).task for n in generators.names()} == {
        "synthetic_linear": "regression", "synthetic_logistic": "classification"}
    # the signature is the schema (rng is positional-only, so not a parameter)
    assert list(data.GENERATORS["synthetic_linear"]) == ["n_samples", "n_features", "noise", "condition_number"]
    assert data.GENERATORS["synthetic_logistic"] == {"n_samples": 200, "n_features": 2, "condition_number": 1.0,
                                                     "label_noise": 0.1}
    rows = {r["name"]: r for r in data.list_datasets() if r["kind"] == "generator"}
    assert rows["synthetic_linear"] == {
        "name": "synthetic_linear", "kind": "generator", "task": "regression", "rows": 200, "features": 2,
        "feature_names": ["x1", "x2"], "target": "y",
        "source": "generated: n_samples=200, n_features=2, noise=0.1, condition_number=1.0"}


@pytest.mark.parametrize("params, key, needle", [
    ({"noise": float("inf")}, "noise", "dataset.noise: expected a number in [0, 1e+06], got inf"),
    ({"condition_number": float("nan")}, "condition_number", "dataset.condition_number: expected a number in [1, 1e+16]"),
    ({"n_features": 2001}, "n_features", "dataset.n_features: expected an integer in [1, 2000], got 2001"),
    ({"n_samples": 10**9, "n_features": 100}, "n_samples", "dataset.n_samples: 1000000000 rows x 100 features is too large for this machine: it needs about"),
    ({"n_sample": 5}, "n_sample", "unknown key 'dataset.n_sample' for synthetic_linear; did you mean 'n_samples'?"),
    ({"standardise": True}, "standardise", "did you mean 'standardize'?"),
])
def test_generator_messages_and_keys(params, key, needle):
    with pytest.raises(OptrunError) as e:
        data.validate_generator_params("synthetic_linear", params)
    assert needle in str(e.value) and e.value.key == f"dataset.{key}"


def test_adding_a_generator_is_one_decorated_function(monkeypatch, tmp_path):
    """A new generator is validated, generated, listed, and checked against the model by its task."""
    from optrun import config

    monkeypatch.setattr(generators, "_REGISTRY", dict(generators._REGISTRY))

    @generators.register_generator("constant_rows", task="regression")
    def constant_rows(rng, /, n_samples: generators.Samples = 10, n_features: generators.Features = 1,
                      level: Annotated[float, at.Ge(0)] = 2.0) -> generators.Generated:
        """Rows of ones times ``level``, targets ``level`` (for tests)."""
        return generators.Generated(np.full((n_samples, n_features), level), np.full(n_samples, level), {})

    ds = constant_rows(n_samples=4, level=3)
    assert ds.X.shape == (4, 1) and ds.y.tolist() == [3.0] * 4 and ds.info["level"] == 3.0
    assert ds.source == "constant_rows(n_samples=4, n_features=1, level=3.0)"
    assert any(r["name"] == "constant_rows" and r["task"] == "regression" for r in data.list_datasets())
    base = {"dataset": {"name": "constant_rows", "level": 5}, "optimizer": "sgd", "train": {"steps": 1}}
    assert config.resolve(base)["dataset"] == {"name": "constant_rows", "standardize": False,
                                               "validation_fraction": 0.0, "n_samples": 10, "n_features": 1,
                                               "level": 5.0}
    assert "dataset.level: expected a number >= 0, got -1" in err(config.resolve, {**base, "dataset": {
        "name": "constant_rows", "level": -1}})
    msg = err(config.resolve, {**base, "model": "logistic"})
    assert msg == ("config: dataset.name: constant_rows makes real-valued targets but model logistic needs 0/1 "
                   "targets; use synthetic_logistic")
    with pytest.raises(ValueError, match="registered twice"):
        generators.register_generator("constant_rows", task="regression")(constant_rows.__wrapped__)
    with pytest.raises(ValueError, match="unknown task"):
        generators.register_generator("x", task="ranking")


# ---------------------------------------------------------------------------------------------
# check_spec: the one implementation of the dataset rules
# ---------------------------------------------------------------------------------------------

SPEC_CASES = [
    # (spec, model, dtype, key, message)
    ({"name": "csv"}, "linear", "float64", "dataset.name", "dataset.path: required when dataset.name is csv"),
    ({"name": "women", "path": "x.csv"}, "linear", "float64", "dataset.path",
     "dataset.path: does not apply to the built-in dataset 'women'; use name: csv"),
    ({"name": "synthetic_linear", "features": ["a"]}, "linear", "float64", "dataset.features",
     "dataset.features: does not apply to the synthetic_linear generator"),
    ({"name": "women", "n_samples": 5}, "linear", "float64", "dataset.n_samples",
     "dataset.n_samples is a parameter of the synthetic_linear and synthetic_logistic generators, "
     "not of the dataset 'women'"),
    ({"name": "women", "label_noise": 0.2}, "linear", "float64", "dataset.label_noise",
     "dataset.label_noise is a parameter of the synthetic_logistic generator, not of the dataset 'women'"),
    ({"name": "csv", "path": "a.csv", "targte": "y"}, "linear", "float64", "dataset.targte",
     "unknown key 'dataset.targte'; did you mean 'target'?"),
    ({"name": "wmen"}, "linear", "float64", "dataset.name", "dataset.name: unknown dataset 'wmen'; did you mean 'women'?"),
    ({"name": "women", "validation_fraction": 1.0}, "linear", "float64", "dataset.validation_fraction",
     "dataset.validation_fraction: expected a number in [0, 1), got 1.0"),
    ({"name": "women"}, "linear", "int8", "train.dtype", "train.dtype: expected float64 or float32, got 'int8'"),
    ({"name": "synthetic_linear"}, "logistic", "float64", "dataset.name",
     "dataset.name: synthetic_linear makes real-valued targets but model logistic needs 0/1 targets; "
     "use synthetic_logistic"),
]


@pytest.mark.parametrize("spec, model, dtype, key, message", SPEC_CASES)
def test_check_spec_rules(spec, model, dtype, key, message):
    with pytest.raises(OptrunError) as e:
        data.check_spec(spec, model=model, dtype=dtype)
    assert (str(e.value), e.value.key) == (message, key)


@pytest.mark.parametrize("spec, model, dtype, key, message", [c for c in SPEC_CASES if c[2] == "float64"])
def test_config_and_load_dataset_say_the_same(spec, model, dtype, key, message):
    """config.resolve delegates to check_spec (the message, located), and so does load_dataset."""
    from optrun import config

    cfg = {"dataset": spec, "model": model, "optimizer": "sgd", "train": {"steps": 1}}
    if spec.get("validation_fraction") == 1.0:  # the schema refuses it first, with its own words
        assert "dataset.validation_fraction" in err(config.resolve, cfg)
    else:
        assert err(config.resolve, cfg, where="c.yaml") == f"c.yaml: {message}"
    assert err(load_dataset, spec, None, *rngs(0), model=model) == message


def test_check_spec_fills_generator_defaults_and_keeps_files_as_given():
    out = data.check_spec({"name": "synthetic_logistic", "n_samples": 50.0, "validation_fraction": 0.2}, model="logistic")
    assert out == {"name": "synthetic_logistic", "validation_fraction": 0.2, "n_samples": 50, "n_features": 2,
                   "condition_number": 1.0, "label_noise": 0.1}
    assert isinstance(out["n_samples"], int)
    spec = {"name": "csv", "path": "a.csv", "target": "y", "standardize": True}
    assert data.check_spec(spec, model="logistic") == spec
    assert data.check_spec({"name": "synthetic_logistic"}, model="linear")["name"] == "synthetic_logistic"
