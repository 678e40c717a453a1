"""The Gram (Cholesky) least-squares path against Householder QR, and its accuracy guard.

Both paths compute the same scaled triangular factor R (R^T R = X_s^T X_s, positive diagonal)
and z = R^-T X_s^T y_c, so on well-conditioned data they agree to rounding; on ill-conditioned
data the guard (kappa(G) = kappa(X_s)^2 <= 1e6) must send the problem to QR.
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun import data, reference
from optrun.models import Objective
from optrun.reference import compute_reference
from optrun.reference.least_squares import GRAM_MAX_CONDITION, gram_or_qr

NIST_B = np.array([15.0618722713733, -0.358191792925910e-01, -2.02022980381683, -1.03322686717359,
                   -0.511041056535807e-01, 1829.15146461355, -3482258.63459582])


def _data(n, d, cond, seed=0, offset=100.0):
    """Columns with prescribed singular values (cond = ratio), far from centred."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = (U * np.geomspace(1.0, cond, d)) @ V.T * np.sqrt(n) + offset
    y = X @ rng.standard_normal(d) + 3.0 + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gram_equals_qr_on_well_conditioned_data(fit_intercept, l2):
    X, y = _data(3000, 6, 10.0)
    obj = Objective("linear", "half_mse", l2=l2, fit_intercept=fit_intercept)
    Rg, zg, how = gram_or_qr(obj, X, y, l2=l2, method="gram")
    Rq, zq, _ = gram_or_qr(obj, X, y, l2=l2, method="qr")
    assert how == "gram"
    s = np.sign(np.diag(Rq))  # QR's diagonal may be negative; Cholesky's is positive
    np.testing.assert_allclose(Rg, Rq * s[:, None], rtol=0, atol=1e-13)
    np.testing.assert_allclose(zg, zq * s, rtol=0, atol=1e-11 * np.abs(zq).max())
    assert gram_or_qr(obj, X, y, l2=l2)[2] == "gram"


def test_reference_theta_matches_lstsq_on_the_gram_path():
    X, y = _data(5000, 8, 30.0, seed=1)
    obj = Objective("linear", "mse")
    ref = compute_reference(obj, X, y)
    A = np.hstack([X, np.ones((len(y), 1))])
    np.testing.assert_allclose(ref.theta_star, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-10)
    assert gram_or_qr(obj, X, y)[2] == "gram"


def test_guard_sends_ill_conditioned_data_to_qr_and_qr_stays_accurate():
    X, y = _data(2000, 5, 1e5, seed=2)  # kappa(X_s) ~ 1e5: kappa(G) ~ 1e10 > 1e6
    obj = Objective("linear", "half_mse")
    assert gram_or_qr(obj, X, y)[2] == "qr"
    assert gram_or_qr(obj, X, y, method="gram")[2] == "qr"  # the guard refuses the Gram result
    ref = compute_reference(obj, X, y)
    A = np.hstack([X, np.ones((len(y), 1))])
    np.testing.assert_allclose(ref.theta_star, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-9)


def test_guard_threshold_sits_between_the_two_sides():
    obj = Objective("linear", "half_mse", fit_intercept=False)
    X, y = _data(2000, 4, 300.0, seed=3, offset=0.0)  # kappa(G) ~ 1e5 < 1e6
    assert gram_or_qr(obj, X, y)[2] == "gram"
    X, y = _data(2000, 4, 3000.0, seed=3, offset=0.0)  # kappa(G) ~ 1e7 > 1e6
    assert gram_or_qr(obj, X, y)[2] == "qr"
    assert GRAM_MAX_CONDITION == 1e6


def test_longley_takes_the_gram_path_and_matches_nist(monkeypatch):
    """Centred and scaled, Longley's kappa(G) is ~1.2e4 (raw cond(X~) ~ 5e9): the guard keeps the
    Gram result, which matches NIST to ~1.5e-12 (bound ~ kappa(G) u); QR alone does too."""
    X, y, _, _ = data.read_csv(data.builtin_path("longley"))
    obj = Objective("linear", "half_mse")
    assert gram_or_qr(obj, X, y)[2] == "gram"
    ref = compute_reference(obj, X, y)
    np.testing.assert_allclose(ref.theta_star, NIST_B, rtol=5e-12)
    monkeypatch.setattr("optrun.reference.least_squares.GRAM_MAX_CONDITION", 1.0)  # force QR
    assert gram_or_qr(obj, X, y)[2] == "qr"
    np.testing.assert_allclose(compute_reference(obj, X, y).theta_star, NIST_B, rtol=1e-12)


def test_gram_path_with_small_blocks_and_an_exact_fit(monkeypatch):
    """Blocks of 37 rows; y in the span of [X, 1] (residual 0: the Gram of [X_s, y_c] would be
    singular, the d x d Gram is not)."""
    monkeypatch.setattr(reference, "_block_rows", lambda d: 37)
    X, _ = _data(500, 3, 5.0, seed=4)
    y = X @ np.array([1.0, -2.0, 0.5]) + 4.0
    ref = compute_reference(Objective("linear", "mse"), X, y)
    np.testing.assert_allclose(ref.theta_star, [1.0, -2.0, 0.5, 4.0], rtol=1e-11)
