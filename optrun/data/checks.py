"""The dataset rules, in one place: what a ``dataset:`` section may say, and what data may hold.

:func:`check_spec` is the single implementation of the rules about a dataset section (csv needs
a path, a generator's parameters and only there, a known name, the validation fraction, the
dtype, and the model fitting the generator's declared task). The config calls it, so an error is
located in the config file or override, and :func:`~optrun.data.load_dataset` calls it, so a
direct call is checked the same way. Every error carries the dotted ``key`` it is about.

Also here: the rules on the numbers themselves (standardization, the validation split, the
magnitude limit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from optrun._text import did_you_mean
from optrun.data import generators
from optrun.data.builtin import builtin_names
from optrun.data.dataset import COMMON_KEYS
from optrun.errors import OptrunError

#: Largest magnitude accepted in the data. Losses square residuals and the reference optimum
#: forms X^T X: beyond ~1e150 they overflow to inf and LAPACK fails, so such a cell is refused
#: with its line and column (rescale the column instead).
MAX_ABS_VALUE = 1e100

#: The generator tasks each model can train on (logistic needs 0/1 targets).
MODEL_TASKS = {"linear": ("regression", "classification"), "logistic": ("classification",)}
_TARGETS = {"regression": "real-valued targets", "classification": "0/1 targets"}

DTYPES = ("float64", "float32")

#: ``dataset.format`` values (name: csv); without it the path's suffix decides (optrun.data.formats).
FILE_FORMATS = ("csv", "npy", "parquet")


def check_spec(spec: Mapping[str, Any], *, model: str | None = None, dtype: Any = "float64") -> dict:
    """Check a ``dataset:`` section (plus the model and ``train.dtype`` it is used with).

    Returns the section with a generator's parameters validated and their defaults filled in
    (a file dataset's section is returned as given). Raises OptrunError with ``key`` set.
    """
    spec = dict(spec)
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise OptrunError(f"dataset.name: expected csv, {', '.join(generators.names())} or a built-in name, "
                          f"got {name!r}", key="dataset.name")
    check_dtype(dtype)
    frac = spec.get("validation_fraction") or 0.0
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not (0.0 <= float(frac) < 1.0):
        raise OptrunError(f"dataset.validation_fraction: expected a number in [0, 1), got {frac!r}",
                          key="dataset.validation_fraction")
    if name in generators.names():
        return _check_generator(spec, model)
    if spec.get("format") is not None and (name != "csv" or spec["format"] not in FILE_FORMATS):
        if name != "csv":
            raise OptrunError(f"dataset.format: applies to name: csv (a data file), not to the dataset {name!r}",
                              key="dataset.format")
        raise OptrunError(f"dataset.format: expected {' | '.join(FILE_FORMATS)}, got {spec['format']!r}"
                          f"{did_you_mean(str(spec['format']), FILE_FORMATS, 'paren')}", key="dataset.format")
    if name == "csv":
        if not spec.get("path"):
            # the name asked for a file; an override of the name is what to blame
            raise OptrunError("dataset.path: required when dataset.name is csv", key="dataset.name")
    elif name in builtin_names():
        if spec.get("path") is not None:
            raise OptrunError(f"dataset.path: does not apply to the built-in dataset {name!r}; use name: csv",
                              key="dataset.path")
    else:
        choices = ["csv", *generators.names(), *builtin_names()]
        raise OptrunError(f"dataset.name: unknown dataset {name!r}{did_you_mean(name, choices, 'listing')}",
                          key="dataset.name")
    _refuse_extras(spec, name)
    return spec


def _check_generator(spec: dict, model: str | None) -> dict:
    name = spec["name"]
    for k in ("path", "format", "target", "features"):
        if spec.get(k) is not None:
            raise OptrunError(f"dataset.{k}: does not apply to the {name} generator", key=f"dataset.{k}")
    params = generators.validate_generator_params(name, {k: v for k, v in spec.items() if k not in COMMON_KEYS})
    task = generators.get_spec(name).task
    fits = MODEL_TASKS.get(model, generators.TASKS)
    if task not in fits:
        others = [g for g in generators.names() if generators.get_spec(g).task in fits]
        raise OptrunError(f"dataset.name: {name} makes {_TARGETS[task]} but model {model} needs "
                          f"{_TARGETS[fits[0]]}; use {' or '.join(others)}", key="dataset.name")
    return {**{k: spec[k] for k in ("name", "standardize", "validation_fraction") if k in spec}, **params}


def _refuse_extras(spec: dict, name: str) -> None:
    """A file dataset takes only the common keys; a generator's parameter there is named as such."""
    extras = [k for k in spec if k not in COMMON_KEYS]
    if not extras:
        return
    k = extras[0]
    takers = generators.takers(k)
    if takers:  # a generator parameter on a file dataset: say so rather than guess a key
        raise OptrunError(f"dataset.{k} is a parameter of the {' and '.join(takers)} generator"
                          f"{'s' * (len(takers) > 1)}, not of the dataset {name!r}", key=f"dataset.{k}")
    raise OptrunError(f"unknown key 'dataset.{k}'{did_you_mean(k, sorted(COMMON_KEYS), 'listing')}", key=f"dataset.{k}")


def check_dtype(dtype: Any) -> np.dtype:
    """``train.dtype`` as a numpy dtype: float64 or float32."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise OptrunError(f"train.dtype: expected float64 or float32, got {dtype!r}", key="train.dtype")
    return dt


def csv_path(path: str | Path, base_dir: Path | None) -> Path:
    """A ``dataset.path``, ``~`` expanded; a relative one resolves against ``base_dir`` if given."""
    p = Path(str(path)).expanduser()
    return Path(base_dir) / p if not p.is_absolute() and base_dir is not None else p


# --------------------------------------------------------------------------------------------
# The numbers


def standardize(X: np.ndarray, X_val: np.ndarray | None = None, feature_names=None):
    """``(X - mean) / std`` with the *training* mean and (population) std, applied to both parts.

    Returns ``(X_std, X_val_std, mean, std)``. A feature that is constant in the training rows
    cannot be standardized: OptrunError naming the column.
    """
    with np.errstate(all="ignore"):
        mean = X.mean(axis=0)
        std = X.std(axis=0)
    const = np.ptp(X, axis=0) == 0
    # values like 0 and 1e-320 differ, yet their std underflows to 0 (or is denormal): dividing
    # by it would make inf, so such a feature is refused like a constant one
    tiny = ~(std >= np.finfo(np.float64).tiny) & ~const
    if const.any() or tiny.any():
        j = int(np.flatnonzero(const | tiny)[0])
        name = feature_names[j] if feature_names is not None else f"column {j + 1}"
        what = (f"is constant in the training rows (every value is {X[0, j]:g})" if const[j] else
                f"varies too little in the training rows (standard deviation {std[j]:g})")
        raise OptrunError(
            f"dataset.standardize: feature {name!r} {what} and cannot be standardized; drop it from dataset.features",
            key="dataset.standardize",
        )
    Xs = np.ascontiguousarray((X - mean) / std)
    Xv = None if X_val is None else np.ascontiguousarray((X_val - mean) / std)
    return Xs, Xv, mean, std


def split_indices(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation row indices (each sorted, so file order is kept within a part).

    ``round(fraction * n)`` rows (halves rounded up) go to validation; both parts need at least
    2 rows.
    """
    n_val = int(math.floor(fraction * n + 0.5))
    if n_val < 2 or n - n_val < 2:
        raise OptrunError(
            f"dataset.validation_fraction: {fraction:g} of {n} rows gives {n_val} validation and "
            f"{n - n_val} training rows; each part needs at least 2 rows",
            key="dataset.validation_fraction",
        )
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


FLOAT32_MAX_ABS = 1e15


def check_magnitudes(where: str, feats, target, dt, *arrays) -> None:
    """Every value finite and within +-MAX_ABS_VALUE after the dtype conversion (float32 overflows
    beyond ~3.4e38; standardizing cannot produce inf, but a generator could in principle).

    ``arrays`` are ``X, y, X_val, y_val`` (the last two may be None); ``where`` names the source.
    """
    X, y, X_val, y_val = arrays
    for A, names in ((X, feats), (y[:, None], [target]), (X_val, feats),
                     (None if y_val is None else y_val[:, None], [target])):
        if A is None or A.size == 0:
            continue
        # float32: squares and sums of squares must stay finite too (the loss, the Hessian), so
        # |x| <= 1e15 (x² <= 1e30, summed over up to 1e8 rows below float32's 3.4e38)
        cap = MAX_ABS_VALUE if A.dtype == np.float64 else min(MAX_ABS_VALUE, FLOAT32_MAX_ABS)
        limit = A.dtype.type(cap)
        # max and min first: two reductions without a temporary copy of A (NaN propagates into
        # both, and then fails the comparison); the offending cell is located only on failure
        if A.max() <= limit and -A.min() <= limit:
            continue
        bad = ~(np.abs(A) <= limit)  # NaN and inf are bad too
        if bad.any():
            j = int(np.nonzero(bad)[1][0])
            hint = f" ({dt.name}: its squares must stay below {np.finfo(dt).max:.3g})" if dt != np.float64 else ""
            raise OptrunError(
                f"{where}: column {names[j]!r} holds a value too large to train on{hint}; "
                f"values must be finite and within +-{float(cap):g} (rescale the column)"
            )
