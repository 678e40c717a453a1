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
    monkeypatch.setattr(generators, "MAX_GENERATED_CELLS", 1000)
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
    assert "1000000 rows x 10 features needs about 0." in msg and "0.10 GiB available" in msg
    generators.validate_generator_params("synthetic_linear", {"n_samples": 10**5, "n_features": 10})
    monkeypatch.setattr(generators, "available_memory", lambda: None)  # unknown: no check
    generators.validate_generator_params("synthetic_linear", {"n_samples": 10**6, "n_features": 10})


def test_available_memory_reads_the_machine():
    avail = generators.available_memory()
    assert avail is None or 2**26 < avail < 2**50
    # 1e6 x 100 float64 (the benchmark set): X alone plus a block and four n-vectors
    assert generators.generation_bytes(10**6, 100) < 1.15 * 8 * 10**8
