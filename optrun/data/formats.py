"""Data files besides CSV: ``.npy`` (NumPy) and Parquet, with the CSV reader's checks and messages.

``dataset: {name: csv, path: ...}`` names a data file; its format follows the suffix (``.csv``,
``.npy``, ``.parquet`` / ``.pq``) unless ``format: csv | npy | parquet`` says otherwise. Every
reader returns ``(X, y, feature_names, target, lines)`` like :func:`~optrun.data.csv.read_csv_lines`
and applies the same rules: named, unique columns (at least a feature and a target), the
target defaulting to the last column and the features to every other one, every selected value a
finite number within +-MAX_ABS_VALUE. A binary file has no text lines, so a message names the
*row* (counted from 1) and the column; ``lines`` holds those row numbers.

* ``.npy``: a 2-D numeric array ``(rows, columns)`` whose columns are named ``x1 .. x(k-1), y``
  (as the generators name theirs), or a 1-D structured array whose numeric fields name the
  columns. Read with ``allow_pickle=False`` (a file cannot run code).
* Parquet: needs pyarrow (``pip install "optrun[parquet]"``); only the selected columns are read.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from optrun.data.checks import MAX_ABS_VALUE
from optrun.data.csv import Table, _cell_problem, _check_header, read_csv_lines, select_columns
from optrun.errors import OptrunError

#: File suffix -> format.
SUFFIXES = {".csv": "csv", ".npy": "npy", ".parquet": "parquet", ".pq": "parquet"}
FORMATS = ("csv", "npy", "parquet")


def file_format(path, fmt: str | None = None) -> str:
    """The format of a data file: ``fmt`` if given, else from the suffix (csv when unknown, as
    before: a ``.txt`` or ``.dat`` file holding comma-separated values still reads)."""
    if fmt is not None:
        return fmt
    return SUFFIXES.get(Path(str(path)).suffix.lower(), "csv")


#: the reads kept by :func:`shared_reads` (None outside it)
_SHARED: dict | None = None


@contextlib.contextmanager
def shared_reads():
    """Within the block, a data file read again (the same file, size and modification time, the
    same columns and format) is not parsed again: the runs of one sweep read their data file
    once instead of once a run (a 10^5-row CSV takes ~0.1 s to parse). Every read gets its own
    copies of the arrays, so no run sees another's changes; the kept reads go with the block."""
    global _SHARED
    outer, _SHARED = _SHARED, ({} if _SHARED is None else _SHARED)
    try:
        yield
    finally:
        _SHARED = outer


def read_data_file(path, target=None, features=None, fmt: str | None = None):
    """``(X, y, feature_names, target, lines)`` of a data file in any supported format (inside
    :func:`shared_reads`, parsed once per file)."""
    cache, key = _SHARED, None
    if cache is not None:
        try:
            st = os.stat(path)
            key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, target,
                   None if features is None else tuple(features), fmt)
        except (OSError, TypeError, ValueError):
            key = None
    if key is None or key not in cache:
        read = _read_data_file(path, target, features, fmt)
        if key is None:
            return read
        cache[key] = read
    X, y, feats, tgt, lines = cache[key]
    return X.copy(), y.copy(), list(feats), tgt, None if lines is None else lines.copy()


def _read_data_file(path, target, features, fmt):
    kind = file_format(path, fmt)
    if kind == "npy":
        return read_npy_lines(path, target, features)
    if kind == "parquet":
        return read_parquet_lines(path, target, features)
    return read_csv_lines(path, target, features)


def existing_file(path) -> Path:
    """``path`` as a Path when it is an existing file; else the readers' OptrunError."""
    path = Path(path).expanduser()
    if not path.exists():
        raise OptrunError(f"{path}: file not found")
    if path.is_dir():
        raise OptrunError(f"{path}: is a directory; expected a data file")
    return path


def _finish(path: Path, header: list[str], columns: dict, target, features):
    """Select the columns (the CSV rules and words), check the values, split X and y."""
    _check_header(path, header, 1)
    features, target = select_columns(Table(path, header, 1, [], []), target, features)
    names = [*features, target]
    arr = np.empty((len(columns[names[0]]), len(names)))
    for j, name in enumerate(names):
        arr[:, j] = columns[name]
    if arr.shape[0] == 0:
        raise OptrunError(f"{path}: has columns but no rows")
    bad = ~(np.abs(arr) <= MAX_ABS_VALUE)  # NaN too
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        problem = _cell_problem(repr(float(arr[i, j])))
        raise OptrunError(f"{path}: row {i + 1}, column {names[j]!r}: {problem}")
    return (np.ascontiguousarray(arr[:, :-1]), np.ascontiguousarray(arr[:, -1]), features, target,
            np.arange(1, arr.shape[0] + 1))


def read_npy_lines(path, target=None, features=None):
    """A ``.npy`` data file (see the module docstring)."""
    path = existing_file(path)
    try:
        a = np.load(path, allow_pickle=False, mmap_mode="r")
    except ValueError as e:
        raise OptrunError(f"{path}: not a NumPy .npy file of numbers ({e})") from None
    except OSError as e:
        raise OptrunError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if a.dtype.names:  # a structured array: its fields are the columns
        header = list(a.dtype.names)
        if a.ndim != 1:
            raise OptrunError(f"{path}: expected a 1-D structured array (one record per row), got shape {a.shape}")
        columns = {h: a[h] for h in header}
        for h in header:
            if a.dtype[h].kind not in "biuf" or a.dtype[h].shape:
                columns[h] = None
    else:
        if a.ndim != 2:
            raise OptrunError(f"{path}: expected a 2-D array (rows x columns: features, then the target), "
                              f"got shape {a.shape}")
        if a.dtype.kind not in "biuf":
            raise OptrunError(f"{path}: expected numbers, got an array of dtype {a.dtype}")
        header = [f"x{j + 1}" for j in range(a.shape[1] - 1)] + ["y"]
        columns = {h: a[:, j] for j, h in enumerate(header)}
    return _finish(path, header, _numeric(path, columns), target, features)


class _Columns(dict):
    """Columns by name; a non-numeric one raises when it is *selected* (others may hold anything)."""

    path: Path

    def __getitem__(self, name):
        col = super().__getitem__(name)
        if col is None:
            raise OptrunError(f"{self.path}: column {name!r} does not hold numbers; every selected column must")
        return col


def _numeric(path: Path, columns: dict) -> _Columns:
    out = _Columns(columns)
    out.path = path
    return out


def read_parquet_lines(path, target=None, features=None):
    """A Parquet data file (needs pyarrow; only the selected columns are read)."""
    path = existing_file(path)
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise OptrunError(f'{path}: reading a Parquet file needs pyarrow; install the extra: pip install "optrun[parquet]"'
                          ) from None
    try:
        schema = pq.read_schema(path)
    except Exception as e:  # noqa: BLE001  (pyarrow's own error types)
        raise OptrunError(f"{path}: not a readable Parquet file ({e})") from None
    header = list(schema.names)
    _check_header(path, header, 1)
    feats, tgt = select_columns(Table(path, header, 1, [], []), target, features)
    wanted = [*feats, tgt]
    table = pq.read_table(path, columns=wanted)
    columns = {}
    for name in wanted:
        col = table.column(name)
        numeric = pat.is_integer(col.type) or pat.is_floating(col.type) or pat.is_boolean(col.type)
        columns[name] = col.to_numpy(zero_copy_only=False).astype(np.float64) if numeric else None
        if numeric and col.null_count:  # a missing value: name its row like an empty CSV cell
            i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise OptrunError(f"{path}: row {i + 1}, column {name!r}: empty cell; every selected cell must be a number")
    return _finish(path, header, _numeric(path, columns), tgt, feats)
