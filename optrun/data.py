"""Datasets: the CSV loader, the built-in CSV files, synthetic generators, standardization, split.

Built-in datasets are the CSV files in the ``datasets/`` folder at the repository root, next to
the ``optrun/`` package; ``dataset.name: women`` means ``datasets/women.csv``. They are found via
``Path(__file__).resolve().parent.parent / "datasets"``, which works for a source checkout and an
editable install (``pip install -e .``); a non-editable wheel does not ship them (use
``dataset.name: csv`` with a ``path`` then). ``datasets/README.md`` gives each file's source and
licence.

The CSV loader uses the ``csv`` module and NumPy only (importing pandas would cost more time than
reading these files). Every error it raises is an :class:`OptrunError` with one line that names the
file, the line number as an editor shows it (the header is line 1), the column and the bad text.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optrun._text import did_you_mean
from optrun.errors import OptrunError
from optrun.models import validate_targets  # also re-exported: data.validate_targets

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"

#: Generator name -> its parameters and their defaults (the config validates keys against this).
GENERATORS: dict[str, dict] = {
    "synthetic_linear": {"n_samples": 200, "n_features": 2, "noise": 0.1, "condition_number": 1.0},
    "synthetic_logistic": {"n_samples": 200, "n_features": 2, "condition_number": 1.0, "label_noise": 0.1},
}

#: Largest magnitude accepted in the data. Losses square residuals and the reference optimum
#: forms X^T X: beyond ~1e150 they overflow to inf and LAPACK fails, so such a cell is refused
#: with its line and column (rescale the column instead).
MAX_ABS_VALUE = 1e100

#: Generator limits: more would not fit in memory or take ages in the reference optimum.
MAX_GENERATED_CELLS = 2 * 10**7
MAX_GENERATED_FEATURES = 2000
MAX_CONDITION_NUMBER = 1e16
MAX_NOISE = 1e6

#: Keys every dataset section may have besides the generator parameters.
COMMON_KEYS = ("name", "path", "target", "features", "standardize", "validation_fraction")

# Short provenance of the shipped files (details and licences: datasets/README.md).
_BUILTIN_SOURCES = {
    "women": "R datasets::women (World Almanac 1975), public domain",
    "longley": "Longley (1967) via NIST StRD / statsmodels, public domain; very ill-conditioned",
    "iris_virginica": "Fisher's iris (1936), versicolor vs virginica, via scikit-learn; not separable",
    "breast_cancer": "Wisconsin diagnostic breast cancer (UCI, CC BY 4.0) via scikit-learn; separable",
}


@dataclass
class Dataset:
    """Training data (and an optional validation split) ready for an objective.

    ``X`` is ``(n, d)`` C-contiguous (float64 unless ``dtype="float32"`` was asked for), ``y`` is
    ``(n,)``; ``X_val``/``y_val`` are ``None`` without a validation split. ``source`` describes
    where the data came from; ``info`` holds extras (the true parameters of a synthetic set,
    the standardization mean/std, ...).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])


def _suggest(word: str, choices) -> str:
    return did_you_mean(word, choices, style="paren")


def _shorten(items, limit: int = 12) -> str:
    items = list(items)
    s = ", ".join(items[:limit])
    return s + (f", ... ({len(items)} in all)" if len(items) > limit else "")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _read_csv_lines(path, target=None, features=None):
    """``read_csv`` plus the file line number of every data row (for later messages)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise OptrunError(f"{path}: file not found")
    if path.is_dir():
        raise OptrunError(f"{path}: is a directory; expected a CSV file")
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue  # blank line
                if header is None:
                    header = [c.strip() for c in row]
                    header_line = reader.line_num
                    continue
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise OptrunError(f"{path}: not a UTF-8 text file (byte {e.start}: {e.reason})") from None
    except csv.Error as e:
        raise OptrunError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from None
    except OSError as e:
        raise OptrunError(f"{path}: cannot read the file ({e.strerror})") from None

    if header is None:
        raise OptrunError(f"{path}: file is empty; expected a header row of column names, then data rows")
    if all(_is_number(c) for c in header):
        raise OptrunError(
            f"{path}: line {header_line} looks like data ({_shorten(header, 5)}); the first row must be a header "
            "naming the columns, e.g. x1,x2,y"
        )
    for j, name in enumerate(header):
        if not name:
            raise OptrunError(f"{path}: line {header_line}: column {j + 1} has an empty name")
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise OptrunError(f"{path}: line {header_line}: duplicate column name {name!r} (columns {seen[name] + 1} and {j + 1})")
        seen[name] = j
    if len(header) < 2:
        hint = ""
        if any(sep in header[0] for sep in ";\t|"):
            hint = "; columns must be separated by commas"
        raise OptrunError(
            f"{path}: line {header_line}: found one column ({header[0]!r}); expected at least a feature "
            f"and a target{hint}"
        )
    if not rows:
        raise OptrunError(f"{path}: has a header but no data rows")
    ncol = len(header)
    for row, ln in zip(rows, lines):
        if len(row) != ncol:
            raise OptrunError(f"{path}: line {ln} has {len(row)} values but the header has {ncol} columns")

    # --- which columns
    if target is None:
        target = header[-1]
    target = str(target)
    if target not in seen:
        raise OptrunError(
            f"{path}: target column {target!r} not found{_suggest(target, header)}; columns: {_shorten(header)}"
        )
    if features is None:
        features = [h for h in header if h != target]
    else:
        if isinstance(features, str):
            features = [features]
        features = [str(f) for f in features]
        if not features:
            raise OptrunError(f"{path}: features is an empty list; name at least one column")
        dup = [f for i, f in enumerate(features) if f in features[:i]]
        if dup:
            raise OptrunError(f"{path}: feature {dup[0]!r} is listed twice")
        for f in features:
            if f not in seen:
                raise OptrunError(
                    f"{path}: feature column {f!r} not found{_suggest(f, header)}; columns: {_shorten(header)}"
                )
            if f == target:
                raise OptrunError(f"{path}: column {f!r} is the target; it cannot also be a feature")
    for f in features:
        if any(ch in f for ch in ',"\r\n'):
            raise OptrunError(
                f"{path}: line {header_line}: feature column {f!r} has a comma, quote or line break in its name; "
                "rename it (it becomes a trace.csv column w_<name>)"
            )
    cols = [seen[f] for f in features] + [seen[target]]

    # --- numbers: a fast vectorised path, and a cell-by-cell scan to explain any failure
    try:
        arr = np.array([[row[j] for j in cols] for row in rows], dtype=np.float64)
        ok = bool(np.all(np.abs(arr) <= MAX_ABS_VALUE))  # False for NaN and inf too
    except ValueError:
        ok = False
    if not ok:
        for row, ln in zip(rows, lines):
            for j in cols:
                text = row[j].strip()
                where = f"{path}: line {ln}, column {header[j]!r}"
                if not text:
                    raise OptrunError(f"{where}: empty cell; every selected cell must be a number")
                try:
                    v = float(text)
                except ValueError:
                    raise OptrunError(f"{where}: {text!r} is not a number") from None
                if not math.isfinite(v):
                    raise OptrunError(f"{where}: {text!r} is not a finite number (NaN/inf are not allowed)")
                if abs(v) > MAX_ABS_VALUE:
                    raise OptrunError(
                        f"{where}: {text!r} is too large; values must lie within +-{MAX_ABS_VALUE:g} "
                        "(rescale the column)"
                    )
        raise OptrunError(f"{path}: could not read the numbers")  # pragma: no cover
    X = np.ascontiguousarray(arr[:, :-1])
    y = np.ascontiguousarray(arr[:, -1])
    return X, y, list(features), target, np.asarray(lines)


def read_csv(path, target=None, features=None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Read a numeric CSV with a header row: ``(X, y, feature_names, target_name)``.

    ``target`` defaults to the last column, ``features`` to every other column (in file order).
    Columns not selected may hold anything (e.g. text labels). Blank lines are skipped.
    """
    X, y, names, target, _ = _read_csv_lines(path, target, features)
    return X, y, names, target


# --------------------------------------------------------------------------------------------
# Built-in files
# --------------------------------------------------------------------------------------------


def builtin_names() -> list[str]:
    """Names of the shipped CSV datasets (``datasets/<name>.csv``)."""
    if not DATASETS_DIR.is_dir():
        return []
    return sorted(p.stem for p in DATASETS_DIR.glob("*.csv"))


def builtin_path(name: str) -> Path:
    """``datasets/<name>.csv`` next to the package; OptrunError if there is no such dataset."""
    names = builtin_names()
    if name not in names or "/" in name or "\\" in name:
        raise OptrunError(
            f"dataset.name: no built-in dataset {name!r}{_suggest(str(name), names)}; "
            f"built-in: {', '.join(names) or '(none found in ' + str(DATASETS_DIR) + ')'}"
        )
    return DATASETS_DIR / f"{name}.csv"


def list_datasets() -> list[dict]:
    """One dict per built-in dataset and generator, for ``optrun datasets``.

    Keys: name, kind (builtin | generator), task (regression | classification), rows, features,
    feature_names, target, source.
    """
    out = []
    for name in builtin_names():
        X, y, feats, target = read_csv(builtin_path(name))
        task = "classification" if np.all((y == 0) | (y == 1)) else "regression"
        out.append({
            "name": name, "kind": "builtin", "task": task, "rows": int(X.shape[0]),
            "features": int(X.shape[1]), "feature_names": feats, "target": target,
            "source": _BUILTIN_SOURCES.get(name, f"datasets/{name}.csv"),
        })
    for name, params in GENERATORS.items():
        out.append({
            "name": name, "kind": "generator",
            "task": "classification" if name == "synthetic_logistic" else "regression",
            "rows": params["n_samples"], "features": params["n_features"],
            "feature_names": [f"x{j + 1}" for j in range(params["n_features"])], "target": "y",
            "source": "generated: " + ", ".join(f"{k}={v}" for k, v in params.items()),
        })
    return out


# --------------------------------------------------------------------------------------------
# Synthetic generators
# --------------------------------------------------------------------------------------------


def _as_int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or (
        isinstance(v, (float, np.floating)) and not float(v).is_integer()
    ):
        raise OptrunError(f"dataset.{name}: expected a whole number >= {lo}, got {v!r}")
    v = int(v)
    if v < lo:
        raise OptrunError(f"dataset.{name}: expected a whole number >= {lo}, got {v}")
    return v


def _as_float(name: str, v, lo: float, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(float(v)):
        raise OptrunError(f"dataset.{name}: expected a finite number, got {v!r}")
    v = float(v)
    if v < lo or (hi is not None and v > hi):
        rng = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
        raise OptrunError(f"dataset.{name}: expected a number {rng}, got {v:g}")
    return v


def validate_generator_params(name: str, params: dict) -> dict:
    """Check and type a generator's parameters (defaults filled in); OptrunError naming the key."""
    if name not in GENERATORS:
        raise OptrunError(f"dataset.name: unknown generator {name!r}{_suggest(name, GENERATORS)}")
    defaults = GENERATORS[name]
    for k in params:
        if k not in defaults:
            raise OptrunError(f"dataset.{k}: unknown parameter of {name}{_suggest(k, defaults)}; expected: {', '.join(defaults)}")
    p = {**defaults, **params}
    out = {
        "n_samples": _as_int("n_samples", p["n_samples"], 2),
        "n_features": _as_int("n_features", p["n_features"], 1),
    }
    if out["n_features"] > MAX_GENERATED_FEATURES:
        raise OptrunError(f"dataset.n_features: expected at most {MAX_GENERATED_FEATURES}, got {out['n_features']}")
    if out["n_samples"] * out["n_features"] > MAX_GENERATED_CELLS:
        raise OptrunError(
            f"dataset.n_samples: {out['n_samples']} rows x {out['n_features']} features is too large to generate; "
            f"expected n_samples * n_features <= {MAX_GENERATED_CELLS:.0e}"
        )
    if out["n_samples"] < out["n_features"] + 1:
        raise OptrunError(
            f"dataset.n_samples: {out['n_samples']} rows are too few for {out['n_features']} features; "
            f"expected at least n_features + 1 = {out['n_features'] + 1}"
        )
    if "noise" in defaults:
        out["noise"] = _as_float("noise", p["noise"], 0.0, MAX_NOISE)
    out["condition_number"] = _as_float("condition_number", p["condition_number"], 1.0, MAX_CONDITION_NUMBER)
    if "label_noise" in defaults:
        out["label_noise"] = _as_float("label_noise", p["label_noise"], 0.0, 0.5)
    return {k: out[k] for k in defaults}


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def _design(n: int, d: int, kappa: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Features with an exactly prescribed spectrum: ``X = sqrt(n) U diag(sqrt(lam)) V^T``.

    U (n x d) has orthonormal columns orthogonal to the ones vector (from the QR of a centred
    Gaussian matrix), V is a random rotation. Hence every column has mean 0 and
    ``X^T X / n = V diag(lam) V^T`` with ``lam`` log-spaced from 1 to kappa (``lam = [kappa]`` for
    d = 1), so ``X~^T X~ / n = blockdiag(V diag(lam) V^T, 1)`` has condition number exactly kappa
    with an intercept (and for d >= 2 without one).
    """
    lam = np.array([kappa]) if d == 1 else np.geomspace(1.0, kappa, d)
    G = rng.standard_normal((n, d))
    G -= G.mean(axis=0)
    U, R = np.linalg.qr(G)
    U *= np.where(np.diag(R) < 0, -1.0, 1.0)
    V, Rv = np.linalg.qr(rng.standard_normal((d, d)))
    V *= np.where(np.diag(Rv) < 0, -1.0, 1.0)
    X = np.ascontiguousarray((U * np.sqrt(n * lam)) @ V.T)
    return X, lam


def synthetic_linear(n_samples: int = 200, n_features: int = 2, noise: float = 0.1,
                     condition_number: float = 1.0, rng=None) -> Dataset:
    """Seeded linear-regression data ``y = X w + b + noise * N(0, 1)``.

    ``condition_number`` (kappa) is the condition number of ``X~^T X~ / n`` with ``X~ = [X, 1]``,
    i.e. of the Hessian of half_mse (and of mse) on the full generated set: the eigenvalues of
    ``X^T X / n`` are log-spaced from 1 to kappa (kappa alone for one feature) and the features are
    exactly centred, so the intercept adds the eigenvalue 1. A validation split or
    standardization changes it (standardization removes most of it). True weights and intercept
    are drawn from N(0, 1); they are in ``info["true_theta"]``. ``rng``: a numpy Generator (or a
    seed).
    """
    p = validate_generator_params("synthetic_linear", dict(
        n_samples=n_samples, n_features=n_features, noise=noise, condition_number=condition_number))
    rng = _rng(rng)
    n, d = p["n_samples"], p["n_features"]
    X, lam = _design(n, d, p["condition_number"], rng)
    w = rng.standard_normal(d)
    b = float(rng.standard_normal())
    y = X @ w + b + p["noise"] * rng.standard_normal(n)
    return Dataset(
        X=X, y=y, feature_names=[f"x{j + 1}" for j in range(d)], target_name="y",
        source="synthetic_linear(" + ", ".join(f"{k}={v}" for k, v in p.items()) + ")",
        info={"true_theta": [*w.tolist(), b], "feature_eigenvalues": lam.tolist(), **p},
    )


def synthetic_logistic(n_samples: int = 200, n_features: int = 2, condition_number: float = 1.0,
                       label_noise: float = 0.1, rng=None) -> Dataset:
    """Seeded binary classification data: ``y = [X w + b > 0]``, then a fraction flipped.

    Features as in :func:`synthetic_linear` (``condition_number`` is that of ``X~^T X~ / n``, which
    is also the condition number of the bce Hessian at theta = 0, ``X~^T X~ / (4n)``). True
    weights are N(0, 1), the intercept N(0, 0.5^2). Exactly ``round(label_noise * n)`` labels,
    chosen at random, are flipped; with ``label_noise = 0`` the data are linearly separable (no
    logistic MLE), with a few flipped labels they are (almost surely) not, so theta* exists.
    """
    p = validate_generator_params("synthetic_logistic", dict(
        n_samples=n_samples, n_features=n_features, condition_number=condition_number,
        label_noise=label_noise))
    rng = _rng(rng)
    n, d = p["n_samples"], p["n_features"]
    X, lam = _design(n, d, p["condition_number"], rng)
    w = rng.standard_normal(d)
    b = 0.5 * float(rng.standard_normal())
    y = (X @ w + b > 0).astype(np.float64)
    k = int(round(p["label_noise"] * n))
    flip = rng.choice(n, size=k, replace=False) if k else np.zeros(0, dtype=int)
    y[flip] = 1.0 - y[flip]
    return Dataset(
        X=X, y=y, feature_names=[f"x{j + 1}" for j in range(d)], target_name="y",
        source="synthetic_logistic(" + ", ".join(f"{k}={v}" for k, v in p.items()) + ")",
        info={"true_theta": [*w.tolist(), b], "flipped": int(k), "feature_eigenvalues": lam.tolist(), **p},
    )


_GENERATOR_FUNCS = {"synthetic_linear": synthetic_linear, "synthetic_logistic": synthetic_logistic}


# --------------------------------------------------------------------------------------------
# Standardization and validation split
# --------------------------------------------------------------------------------------------


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
            f"dataset.standardize: feature {name!r} {what} and cannot be standardized; drop it from dataset.features"
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
            f"{n - n_val} training rows; each part needs at least 2 rows"
        )
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# --------------------------------------------------------------------------------------------
# The one entry point used by a run
# --------------------------------------------------------------------------------------------


def load_dataset(spec: dict, base_dir: Path | None, rng_data: np.random.Generator,
                 rng_split: np.random.Generator, model: str, dtype: str = "float64") -> Dataset:
    """Build the :class:`Dataset` of a resolved ``dataset:`` config section.

    ``spec["name"]`` is ``csv`` (then ``path`` is required; a relative path resolves against
    ``base_dir``), a generator of :data:`GENERATORS` (its parameters are the other keys), or a
    built-in file name. Then: 0/1 targets are checked for the logistic model, the validation split
    is drawn from ``rng_split``, features are standardized with the training statistics if asked,
    and the arrays are converted to ``dtype`` (float64 or float32).
    """
    spec = dict(spec)
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise OptrunError(f"dataset.name: expected csv, {', '.join(GENERATORS)} or a built-in name, got {name!r}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise OptrunError(f"train.dtype: expected float64 or float32, got {dtype!r}") from None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise OptrunError(f"train.dtype: expected float64 or float32, got {dtype!r}")

    lines = None
    if name in GENERATORS:
        for k in ("path", "target", "features"):
            if spec.get(k) is not None:
                raise OptrunError(f"dataset.{k}: does not apply to the {name} generator")
        params = {k: v for k, v in spec.items() if k not in COMMON_KEYS}
        params = validate_generator_params(name, params)
        if model == "logistic" and name == "synthetic_linear":
            raise OptrunError(
                "dataset.name: synthetic_linear makes real-valued targets but model logistic needs 0/1 "
                "targets; use synthetic_logistic"
            )
        ds = _GENERATOR_FUNCS[name](**params, rng=rng_data)
        X, y, feats, target, source, info = ds.X, ds.y, ds.feature_names, ds.target_name, ds.source, ds.info
        where = f"dataset {name}"
    else:
        if name == "csv":
            if not spec.get("path"):
                raise OptrunError("dataset.path: required when dataset.name is csv")
            path = Path(str(spec["path"])).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            source = str(path)
        else:
            if spec.get("path") is not None:
                raise OptrunError(f"dataset.path: does not apply to the built-in dataset {name!r}; use name: csv")
            if name not in builtin_names():
                choices = ["csv", *GENERATORS, *builtin_names()]
                raise OptrunError(f"dataset.name: unknown dataset {name!r}{_suggest(name, choices)}; expected one of: {', '.join(choices)}")
            path = builtin_path(name)
            source = f"built-in {name}: {_BUILTIN_SOURCES.get(name, path.name)}"
        X, y, feats, target, lines = _read_csv_lines(path, spec.get("target"), spec.get("features"))
        info = {}
        where = f"{path}: column {target!r}"

    validate_targets(model, y, where, lines=lines)

    X_val = y_val = None
    frac = spec.get("validation_fraction") or 0.0
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not (0.0 <= float(frac) < 1.0):
        raise OptrunError(f"dataset.validation_fraction: expected a number in [0, 1), got {frac!r}")
    if frac > 0:
        tr, va = split_indices(X.shape[0], float(frac), rng_split)
        X, X_val, y, y_val = X[tr], X[va], y[tr], y[va]

    if spec.get("standardize"):
        X, X_val, mean, std = standardize(X, X_val, feats)
        info = {**info, "standardize_mean": mean.tolist(), "standardize_std": std.tolist()}

    with np.errstate(over="ignore"):
        X = np.ascontiguousarray(X, dtype=dt)
        y = np.ascontiguousarray(y, dtype=dt)
        if X_val is not None:
            X_val = np.ascontiguousarray(X_val, dtype=dt)
            y_val = np.ascontiguousarray(y_val, dtype=dt)
    _check_magnitudes(where, feats, target, dt, X, y, X_val, y_val)
    return Dataset(X=X, y=y, feature_names=list(feats), target_name=target, X_val=X_val, y_val=y_val,
                   source=source, info=info)


def _check_magnitudes(where, feats, target, dt, *arrays) -> None:
    """Every value finite and within +-MAX_ABS_VALUE after the dtype conversion (float32 overflows
    beyond ~3.4e38; standardizing cannot produce inf, but a generator could in principle)."""
    X, y = arrays[0], arrays[1]
    for A, names in ((X, feats), (y[:, None], [target]), (arrays[2], feats),
                     (None if arrays[3] is None else arrays[3][:, None], [target])):
        if A is None or A.size == 0:
            continue
        limit = A.dtype.type(min(MAX_ABS_VALUE, float(np.finfo(A.dtype).max)))
        bad = ~(np.abs(A) <= limit)  # NaN and inf are bad too
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            hint = f" ({dt.name} holds magnitudes up to {np.finfo(dt).max:.3g})" if dt != np.float64 else ""
            raise OptrunError(
                f"{where.split(': column')[0]}: column {names[j]!r} holds a value too large to train on{hint}; "
                f"values must be finite and within +-{MAX_ABS_VALUE:g} (rescale the column)"
            )
