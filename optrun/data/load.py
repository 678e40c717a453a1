"""The entry points: :func:`load_dataset` (what a run trains on) and :func:`list_datasets`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optrun.data import generators
from optrun.data.builtin import SOURCES, builtin_names, builtin_path, builtin_source
from optrun.data.checks import check_magnitudes, check_spec, csv_path, split_indices, standardize
from optrun.data.csv import read_csv
from optrun.data.dataset import COMMON_KEYS, Dataset
from optrun.data.formats import read_data_file
from optrun.models import validate_targets


def load_dataset(spec: dict, base_dir: Path | None, rng_data: np.random.Generator,
                 rng_split: np.random.Generator, model: str, dtype: str = "float64") -> Dataset:
    """Build the :class:`Dataset` of a resolved ``dataset:`` config section.

    ``spec["name"]`` is ``csv`` (a data file: ``path`` is required, a relative path resolves against
    ``base_dir``; CSV, ``.npy`` or Parquet by the suffix or ``format``, see :mod:`optrun.data.formats`), a registered generator (its parameters are the other keys, drawn from
    ``rng_data``), or a built-in file name; :func:`~optrun.data.checks.check_spec` checks the
    section first. Then: 0/1 targets are checked for the logistic model, the validation split is
    drawn from ``rng_split``, features are standardized with the training statistics if asked,
    and the arrays are converted to ``dtype`` (float64 or float32).
    """
    spec = check_spec(spec, model=model, dtype=dtype)
    dt = np.dtype(dtype)
    name = spec["name"]
    if name in generators.names():
        ds = generators.generate(name, {k: v for k, v in spec.items() if k not in COMMON_KEYS}, rng_data)
        X, y, feats, target, source, info = ds.X, ds.y, ds.feature_names, ds.target_name, ds.source, ds.info
        where, lines = f"dataset {name}", None
    else:
        path = csv_path(spec["path"], base_dir) if name == "csv" else builtin_path(name)
        source = str(path) if name == "csv" else f"built-in {name}: {SOURCES.get(name, path.name)}"
        X, y, feats, target, lines = read_data_file(path, spec.get("target"), spec.get("features"), spec.get("format"))
        info, where = {}, str(path)
    validate_targets(model, y, f"{where}: column {target!r}" if lines is not None else where, lines=lines)

    X_val = y_val = None
    frac = float(spec.get("validation_fraction") or 0.0)
    if frac > 0:
        tr, va = split_indices(X.shape[0], frac, rng_split)
        X, X_val, y, y_val = X[tr], X[va], y[tr], y[va]
    if spec.get("standardize"):
        X, X_val, mean, std = standardize(X, X_val, feats)
        info = {**info, "standardize_mean": mean.tolist(), "standardize_std": std.tolist()}

    with np.errstate(over="ignore"):
        X, y = np.ascontiguousarray(X, dtype=dt), np.ascontiguousarray(y, dtype=dt)
        if X_val is not None:
            X_val, y_val = np.ascontiguousarray(X_val, dtype=dt), np.ascontiguousarray(y_val, dtype=dt)
    check_magnitudes(where, feats, target, dt, X, y, X_val, y_val)
    return Dataset(X=X, y=y, feature_names=list(feats), target_name=target, X_val=X_val, y_val=y_val,
                   source=source, info=info)


def list_datasets() -> list[dict]:
    """One dict per built-in dataset and generator, for ``optrun datasets``.

    Keys: name, kind (builtin | generator), task (regression | classification), rows, features,
    feature_names, target, source. A built-in file's task is read off its targets; a
    generator's is the one it declares.
    """
    out = []
    for name in builtin_names():
        X, y, feats, target = read_csv(builtin_path(name))
        task = "classification" if np.all((y == 0) | (y == 1)) else "regression"
        out.append({
            "name": name, "kind": "builtin", "task": task, "rows": int(X.shape[0]),
            "features": int(X.shape[1]), "feature_names": feats, "target": target,
            "source": builtin_source(name),
        })
    return out + generators.generator_rows()
