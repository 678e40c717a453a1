"""A disk cache of reference optima, keyed by a hash of the data and the objective.

The reference (theta*, f*, the Hessian spectrum) depends only on the objective and the data, and
on big data it costs a few passes over X. A sweep that trains many optimizers on one dataset, or a
rerun, computes the same reference each time; :func:`cached_reference` computes it once.

* **Key**: SHA-1 of the optrun version, the objective (every field of its frozen dataclass), the
  shapes and dtypes of X and y and their bytes (C order). SHA-1 runs at ~2 GB/s here; the key
  guards against stale results, not against an adversary. A new optrun version never reads an
  old entry (the reference code may have changed).
* **Folder**: ``$OPTRUN_REFERENCE_CACHE`` if set, else ``$XDG_CACHE_HOME/optrun/reference``, else
  ``~/.cache/optrun/reference``. One JSON file per entry (``<key>.json``, written atomically);
  delete the folder to empty the cache.
* **Opt-out**: ``OPTRUN_REFERENCE_CACHE=off`` (or ``0``, ``no``, ``false``), or ``cache_dir=False``.
* Only data with at least :data:`CACHE_MIN_CELLS` values are cached: below that, computing is
  cheaper than hashing and reading a file.
* Entries are JSON (floats written by ``repr``, so they round-trip exactly; inf and NaN as
  JSON's ``Infinity``/``NaN``), never pickle: reading a cache file cannot run code. A damaged
  or unreadable entry is ignored and recomputed; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np

from optrun._version import __version__
from optrun.models import Objective
from optrun.reference.result import Reference

#: Data with fewer values (n * d) are not cached.
CACHE_MIN_CELLS = 10**6
_OFF = ("off", "0", "no", "false", "")


def cache_folder(cache_dir=None) -> Path | None:
    """The cache folder (see the module docstring); None when the cache is off."""
    if cache_dir is False:
        return None
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("OPTRUN_REFERENCE_CACHE")
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "optrun" / "reference"


def data_key(obj: Objective, X: np.ndarray, y: np.ndarray, **options) -> str:
    """Hex SHA-1 of the version, the objective, ``options`` and the data (shapes, dtypes, bytes)."""
    h = hashlib.sha1()
    head = {"optrun": __version__, "objective": repr(obj), "options": sorted(options.items()),
            "X": [list(X.shape), X.dtype.str], "y": [list(y.shape), y.dtype.str]}
    h.update(json.dumps(head, sort_keys=True, default=str).encode())
    for a in (X, y):
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


def cached_reference(obj: Objective, X, y, *, cache_dir=None, compute=None, **options) -> Reference:
    """``compute(obj, X, y, **options)`` (default :func:`optrun.reference.compute_reference`),
    read from the cache when the same objective met the same data before."""
    if compute is None:
        from optrun.reference import compute_reference as compute
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    folder = cache_folder(cache_dir)
    if folder is None or X.size < CACHE_MIN_CELLS:
        return compute(obj, X, y, **options)
    path = folder / f"{data_key(obj, X, y, **options)}.json"
    ref = _read(path)
    if ref is None:
        ref = compute(obj, X, y, **options)
        _write(path, ref)
    return ref


def _encode(v):
    if isinstance(v, np.ndarray):
        return {"__array__": v.tolist(), "dtype": v.dtype.str}
    if isinstance(v, dict):
        return {"__dict__": {k: _encode(x) for k, x in v.items()}}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_encode(x) for x in v]
    return v


def _decode(v):
    if isinstance(v, dict) and "__array__" in v:
        return np.array(v["__array__"], dtype=np.dtype(v["dtype"]))
    if isinstance(v, dict) and "__dict__" in v:
        return {k: _decode(x) for k, x in v["__dict__"].items()}
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def _read(path: Path) -> Reference | None:
    try:
        with open(path, encoding="utf-8") as fh:
            entry = json.load(fh)
        return Reference(**{f.name: _decode(entry[f.name]) for f in fields(Reference)})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, ref: Reference) -> None:
    entry = {f.name: _encode(getattr(ref, f.name)) for f in fields(Reference)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entry, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk: the run goes on without the cache
