"""The reference cache: a hit returns the identical Reference, any change of data or objective misses."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.models import Objective
from optrun.reference import cache, compute_reference


@pytest.fixture
def small_cells(monkeypatch):
    monkeypatch.setattr(cache, "CACHE_MIN_CELLS", 0)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    return X, X @ [1.0, 2.0, -1.0] + 0.1 * rng.standard_normal(200)


def _counting():
    calls = []

    def compute(obj, X, y, **kw):
        calls.append(1)
        return compute_reference(obj, X, y, **kw)

    return compute, calls


@pytest.mark.parametrize("obj", [Objective("linear", "half_mse", l2=0.1), Objective("logistic", "bce"),
                                 Objective("linear", "mse", l1=0.2)])
def test_hit_returns_the_same_reference(obj, tmp_path, small_cells):
    X, y = _data()
    if obj.model == "logistic":
        y = (y > 0).astype(float)
        y[:5] = 1 - y[:5]
    compute, calls = _counting()
    a = cache.cached_reference(obj, X, y, cache_dir=tmp_path, compute=compute)
    b = cache.cached_reference(obj, X, y, cache_dir=tmp_path, compute=compute)
    assert len(calls) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    assert a.to_dict() == b.to_dict()
    for f in ("theta_star", "hessian_eigenvalues"):
        u, v = getattr(a, f), getattr(b, f)
        assert (u is None and v is None) or (np.array_equal(u, v) and u.dtype == v.dtype)


def test_any_change_misses(tmp_path, small_cells):
    X, y = _data()
    compute, calls = _counting()
    obj = Objective("linear", "half_mse")
    cache.cached_reference(obj, X, y, cache_dir=tmp_path, compute=compute)
    X2 = X.copy()
    X2[7, 1] = np.nextafter(X2[7, 1], 1.0)  # one ulp
    cache.cached_reference(obj, X2, y, cache_dir=tmp_path, compute=compute)
    cache.cached_reference(Objective("linear", "half_mse", fit_intercept=False), X, y, cache_dir=tmp_path,
                           compute=compute)
    cache.cached_reference(obj, X[:, :2], y, cache_dir=tmp_path, compute=compute)
    assert len(calls) == 4


def test_opt_out_small_data_and_damaged_entries(tmp_path, monkeypatch):
    X, y = _data()
    compute, calls = _counting()
    obj = Objective("linear", "half_mse")
    cache.cached_reference(obj, X, y, cache_dir=tmp_path, compute=compute)  # 600 cells: not cached
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(cache, "CACHE_MIN_CELLS", 0)
    monkeypatch.setenv("OPTRUN_REFERENCE_CACHE", "off")
    assert cache.cache_folder() is None
    cache.cached_reference(obj, X, y, compute=compute)
    monkeypatch.setenv("OPTRUN_REFERENCE_CACHE", str(tmp_path / "c"))
    assert cache.cache_folder() == tmp_path / "c"
    cache.cached_reference(obj, X, y, compute=compute)
    (entry,) = (tmp_path / "c").glob("*.json")
    entry.write_text("{not json")
    ref = cache.cached_reference(obj, X, y, compute=compute)  # damaged: recomputed, rewritten
    assert len(calls) == 4 and ref.status == "exact"
    cache.cached_reference(obj, X, y, compute=compute)
    assert len(calls) == 4
    monkeypatch.delenv("OPTRUN_REFERENCE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_folder() == tmp_path / "xdg" / "optrun" / "reference"
    assert cache.cache_folder(False) is None
