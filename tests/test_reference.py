"""Reference optimum: least squares, ridge, logistic Newton, separability, spectrum, to_dict."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from optrun import data, reference
from optrun.models import Objective
from optrun.reference import compute_reference, gd_rate_note

# NIST StRD "Longley" certified regression coefficients (b0 = intercept, b1..b6 in column order
# GNP deflator, GNP, unemployed, armed forces, population, year).
NIST_LONGLEY = {
    "b0": -3482258.63459582,
    "b1": 15.0618722713733,
    "b2": -0.358191792925910e-01,
    "b3": -2.02022980381683,
    "b4": -1.03322686717359,
    "b5": -0.511041056535807e-01,
    "b6": 1829.15146461355,
}
NIST_LONGLEY_RESIDUAL_SD = 304.854073561965


def longley():
    X, y, _, _ = data.read_csv(data.builtin_path("longley"))
    return X, y


def with_ones(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def exact_least_squares(path):
    """Exact rational least-squares solution of the CSV (decimal text -> Fractions)."""
    import csv

    rows = list(csv.reader(open(path)))[1:]
    A = [[Fraction(c) for c in r[:-1]] + [Fraction(1)] for r in rows]
    b = [Fraction(r[-1]) for r in rows]
    p = len(A[0])
    M = [[sum(a[i] * a[j] for a in A) for j in range(p)] + [sum(a[i] * bb for a, bb in zip(A, b))] for i in range(p)]
    for c in range(p):
        piv = next(r for r in range(c, p) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        for r in range(p):
            if r != c and M[r][c] != 0:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return np.array([float(M[i][p] / M[i][i]) for i in range(p)])


# ---------------------------------------------------------------------------------------------
# least squares
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "half_mse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_least_squares_matches_lstsq(loss, fit_intercept):
    ds = data.synthetic_linear(n_samples=80, n_features=4, noise=0.5, condition_number=50, rng=3)
    X, y = ds.X + 0.7, ds.y  # shifted features: intercept and weights interact
    obj = Objective("linear", loss, fit_intercept=fit_intercept)
    ref = compute_reference(obj, X, y)
    A = with_ones(X) if fit_intercept else X
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(ref.theta_star, theta, rtol=1e-11, atol=1e-12)
    r = A @ theta - y
    c = 1.0 if loss == "mse" else 0.5
    assert ref.f_star == pytest.approx(c * np.mean(r**2), rel=1e-12)
    assert ref.status == "exact" and ref.note == "" and ref.separable is None and ref.iterations == 0
    assert ref.grad_norm < 1e-12


def test_longley_matches_nist_certified_values_and_exact_rationals():
    X, y = longley()
    ref = compute_reference(Objective("linear", "half_mse"), X, y)
    nist = np.array([NIST_LONGLEY[f"b{i}"] for i in (1, 2, 3, 4, 5, 6, 0)])
    np.testing.assert_allclose(ref.theta_star, nist, rtol=1e-11)
    exact = exact_least_squares(data.builtin_path("longley"))
    np.testing.assert_allclose(exact, nist, rtol=1e-13)  # the oracle itself agrees with NIST
    np.testing.assert_allclose(ref.theta_star, exact, rtol=1e-11)
    # residual standard deviation sqrt(RSS / (n - p)) = sqrt(2 n f* / (n - 7))
    assert np.sqrt(2 * 16 * ref.f_star / (16 - 7)) == pytest.approx(NIST_LONGLEY_RESIDUAL_SD, rel=1e-10)


def test_longley_spectrum_is_accurate():
    mpmath = pytest.importorskip("mpmath")
    X, y = longley()
    ref = compute_reference(Objective("linear", "half_mse"), X, y)
    mpmath.mp.dps = 50
    A = mpmath.matrix([[mpmath.mpf(repr(v)) for v in row] + [1] for row in X.tolist()])
    exact = sorted(float(e) for e in mpmath.eigsy((A.T * A) / 16, eigvals_only=True))
    np.testing.assert_allclose(ref.hessian_eigenvalues, exact, rtol=1e-10)
    assert ref.condition_number == pytest.approx(exact[-1] / exact[0], rel=1e-10)
    assert ref.condition_number > 1e19  # far beyond 1/eps: normal equations would fail


@pytest.mark.parametrize("loss", ["mse", "half_mse"])
def test_ridge_optimum(loss):
    ds = data.synthetic_linear(n_samples=60, n_features=3, noise=1.0, condition_number=20, rng=1)
    X, y = ds.X + 2.0, ds.y
    obj = Objective("linear", loss, l2=0.4)
    ref = compute_reference(obj, X, y)
    g = obj.grad(ref.theta_star, X, y)
    assert np.linalg.norm(g) < 1e-12
    # closed form (well conditioned here): (c X~^T X~ / n * 2 + l2 P) theta = 2c X~^T y / n
    c = 1.0 if loss == "mse" else 0.5
    A = with_ones(X)
    P = np.diag([1.0, 1.0, 1.0, 0.0])
    theta = np.linalg.solve(2 * c * A.T @ A / 60 + 0.4 * P, 2 * c * A.T @ y / 60)
    np.testing.assert_allclose(ref.theta_star, theta, rtol=1e-11)
    assert ref.f_star == pytest.approx(obj.value(theta, X, y), rel=1e-13)
    # the intercept is unpenalised: b* = mean(y) - mean(X) w*
    assert ref.theta_star[-1] == pytest.approx(y.mean() - X.mean(0) @ ref.theta_star[:3], rel=1e-12)


def test_ridge_on_longley_has_zero_gradient():
    X, y = longley()
    obj = Objective("linear", "half_mse", l2=1e-3)
    ref = compute_reference(obj, X, y)
    g = obj.grad(ref.theta_star, X, y)
    # relative to the size of the gradient's terms (|X| * |residual| ~ 1e5 * 1e3)
    assert np.linalg.norm(g) < 1e-9 * np.abs(X).max() * np.abs(y - y.mean()).max()
    assert ref.status == "exact"


def test_rank_deficient_least_squares_gives_minimum_norm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 2))
    X = np.hstack([x, x[:, :1]])  # duplicated column
    y = x @ [1.0, -2.0] + 0.1 * rng.standard_normal(30)
    ref = compute_reference(Objective("linear", "half_mse"), X, y)
    theta = np.linalg.lstsq(with_ones(X), y, rcond=None)[0]
    np.testing.assert_allclose(ref.theta_star, theta, rtol=1e-10, atol=1e-12)
    assert "rank 3 < 4" in ref.note and "minimum-norm" in ref.note
    assert ref.condition_number == np.inf and ref.strong_convexity == 0.0
    d = ref.to_dict()
    assert d["condition_number"] is None
    json.dumps(d, allow_nan=False)


def test_blockwise_qr_agrees_with_one_block(monkeypatch):
    ds = data.synthetic_linear(n_samples=500, n_features=5, condition_number=100, rng=4)
    obj = Objective("linear", "mse", l2=0.01)
    one = compute_reference(obj, ds.X, ds.y)
    monkeypatch.setattr(reference, "_BLOCK_BYTES", 8 * 7 * 10)  # 256-row minimum blocks
    monkeypatch.setattr(reference, "_block_rows", lambda d: 37)
    many = compute_reference(obj, ds.X, ds.y)
    np.testing.assert_allclose(many.theta_star, one.theta_star, rtol=1e-12)
    np.testing.assert_allclose(many.hessian_eigenvalues, one.hessian_eigenvalues, rtol=1e-12)


def test_float32_data_reference_is_float64():
    ds = data.synthetic_linear(n_samples=50, n_features=2, rng=0)
    X32, y32 = ds.X.astype(np.float32), ds.y.astype(np.float32)
    ref = compute_reference(Objective("linear", "mse"), X32, y32)
    theta = np.linalg.lstsq(with_ones(X32.astype(np.float64)), y32.astype(np.float64), rcond=None)[0]
    assert ref.theta_star.dtype == np.float64
    np.testing.assert_allclose(ref.theta_star, theta, rtol=1e-11)


# ---------------------------------------------------------------------------------------------
# logistic
# ---------------------------------------------------------------------------------------------


def long_newton(obj, X, y, iters=60):
    """Independent plain Newton (no line search, np.linalg.solve) for a non-separable problem."""
    theta = np.zeros(obj.n_params(X.shape[1]))
    for _ in range(iters):
        theta = theta - np.linalg.solve(obj.hessian(theta, X, y), obj.grad(theta, X, y))
    return theta


@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_newton_on_iris(l2, fit_intercept):
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    obj = Objective("logistic", "bce", fit_intercept=fit_intercept, l2=l2)
    ref = compute_reference(obj, X, y)
    assert ref.status == "exact"
    if l2 == 0:
        assert ref.separable is False  # Newton converged: the MLE exists
    assert np.linalg.norm(obj.grad(ref.theta_star, X, y)) < 1e-10
    assert ref.grad_norm < 1e-10
    np.testing.assert_allclose(ref.theta_star, long_newton(obj, X, y), rtol=1e-9, atol=1e-10)
    assert ref.f_star == pytest.approx(obj.value(ref.theta_star, X, y), rel=1e-15)
    assert 0 < ref.iterations < 30
    # the loss at theta* is below the loss at any nearby point
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert obj.value(ref.theta_star + 1e-3 * rng.standard_normal(ref.theta_star.size), X, y) > ref.f_star


def test_newton_with_subsampled_hessian(monkeypatch):
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    obj = Objective("logistic", "bce", l2=0.01)
    full = compute_reference(obj, X, y)
    assert "newton_hessian_rows" not in full.to_dict()
    sub = np.sort(np.random.default_rng(0).choice(100, size=40, replace=False))
    monkeypatch.setattr(reference, "_hessian_subsample", lambda n, p: sub)
    ref = compute_reference(obj, X, y)
    assert ref.to_dict()["newton_hessian_rows"] == 40
    assert ref.grad_norm < 1e-10
    assert ref.iterations > full.iterations  # linear instead of quadratic convergence
    np.testing.assert_allclose(ref.theta_star, full.theta_star, rtol=1e-9)


def test_hessian_subsample_rule():
    assert reference._hessian_subsample(10_000, 5) is None
    rows = reference._hessian_subsample(1_000_000, 101)
    assert rows.size == 20_200 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, reference._hessian_subsample(1_000_000, 101))  # fixed seed


def test_ill_conditioned_logistic_spectrum_uses_qr():
    mpmath = pytest.importorskip("mpmath")
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    X = X * np.array([1e4, 1.0, 1.0, 1e-3])  # badly scaled features: kappa ~ 1e16
    obj = Objective("logistic", "bce")
    ref = compute_reference(obj, X, y)
    assert ref.status == "exact" and ref.condition_number > 1e12
    s = obj.curvature(ref.theta_star, X, y)
    mpmath.mp.dps = 40
    A = mpmath.matrix([[mpmath.mpf(float(v)) for v in row] for row in (with_ones(X) * np.sqrt(s / 100)[:, None]).tolist()])
    exact = sorted(float(e) for e in mpmath.eigsy(A.T * A, eigvals_only=True))
    np.testing.assert_allclose(ref.hessian_eigenvalues, exact, rtol=1e-9)


def test_f_star_rounding_estimate():
    X, y = longley()
    Xs = (X - X.mean(0)) / X.std(0)
    obj = Objective("linear", "half_mse")
    ref = compute_reference(obj, Xs, y)
    assert 0 < ref.f_star_rounding < 1e-10 * ref.f_star
    theta = np.linalg.lstsq(with_ones(Xs), y, rcond=None)[0]
    assert abs(obj.value(theta, Xs, y) - ref.f_star) <= ref.f_star_rounding


def test_logistic_synthetic_with_label_noise_has_mle():
    ds = data.synthetic_logistic(n_samples=300, n_features=3, condition_number=10, label_noise=0.1, rng=2)
    obj = Objective("logistic", "bce")
    ref = compute_reference(obj, ds.X, ds.y)
    assert ref.status == "exact" and ref.separable is False
    assert ref.grad_norm < 1e-10


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_separable_data_detected(fit_intercept):
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    ref = compute_reference(Objective("logistic", "bce", fit_intercept=fit_intercept), X, y)
    assert ref.status == "separable" and ref.separable is True
    assert ref.f_star == 0.0 and ref.theta_star is None
    assert "separable" in ref.note and "does not exist" in ref.note and "f* = 0" in ref.note
    assert ref.hessian_at == "zero"
    json.dumps(ref.to_dict(), allow_nan=False)


def test_separable_real_and_synthetic_data():
    X, y, _, _ = data.read_csv(data.builtin_path("breast_cancer"))
    ref = compute_reference(Objective("logistic", "bce"), X, y)
    assert ref.status == "separable" and ref.f_star == 0.0 and ref.theta_star is None
    ds = data.synthetic_logistic(n_samples=100, label_noise=0.0, rng=0)
    assert compute_reference(Objective("logistic", "bce"), ds.X, ds.y).status == "separable"
    # with an l2 penalty a minimiser exists even on separable data
    obj = Objective("logistic", "bce", l2=0.1)
    ref = compute_reference(obj, ds.X, ds.y)
    assert ref.status == "exact" and ref.grad_norm < 1e-10
    if ref.separable is not None:  # decided by the optional scipy LP
        assert ref.separable is True and "l2 penalty" in ref.note


def test_non_separable_toy():
    X = np.array([[-1.0], [0.0], [1.0], [2.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    ref = compute_reference(Objective("logistic", "bce"), X, y)
    assert ref.status == "exact" and ref.separable is False and ref.grad_norm < 1e-12


def test_lp_separability_check():
    pytest.importorskip("scipy")
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    assert reference._lp_separable(X, np.array([0.0, 0.0, 1.0, 1.0]), True) is True
    assert reference._lp_separable(X, np.array([0.0, 1.0, 0.0, 1.0]), True) is False
    # through the origin only: all-positive rows labelled 0 and 1 cannot be separated
    Xp = np.array([[1.0], [2.0]])
    assert reference._lp_separable(Xp, np.array([0.0, 1.0]), False) is False
    assert reference._lp_separable(Xp, np.array([0.0, 1.0]), True) is True


def test_newton_not_converging_falls_back_to_lp():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    ref = compute_reference(Objective("logistic", "bce"), X, y, max_newton_iter=0)
    lp = reference._lp_separable(X, y, True)
    if lp is None:
        assert ref.status == "unavailable" and "did not converge" in ref.note
    else:
        assert ref.status == "separable" and "linear program" in ref.note


# ---------------------------------------------------------------------------------------------
# unavailable cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model,loss", [("linear", "mse"), ("logistic", "bce")])
def test_l1_is_unavailable(model, loss):
    X, y = (longley() if model == "linear" else data.read_csv(data.builtin_path("iris_virginica"))[:2])
    ref = compute_reference(Objective(model, loss, l1=0.1), X, y)
    assert ref.status == "unavailable" and ref.f_star is None and ref.theta_star is None
    assert ref.note.startswith("l1 penalty: no closed form; f* unavailable")
    assert "l1" in ref.gd_rate_note
    d = ref.to_dict()
    assert d["f_star"] is None and d["theta_star"] is None
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("loss", ["mse", "half_mse"])
def test_logistic_mse_is_unavailable_non_convex(loss):
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    ref = compute_reference(Objective("logistic", loss), X, y)
    assert ref.status == "unavailable" and ref.f_star is None and ref.theta_star is None
    assert "non-convex" in ref.note
    assert ref.hessian_at == "zero"
    # at theta = 0: l'' = 2c * (1/4)^2 for every row -> (c/8) X~^T X~ / n
    c = 1.0 if loss == "mse" else 0.5
    A = with_ones(X)
    np.testing.assert_allclose(ref.hessian_eigenvalues, np.linalg.eigvalsh(c / 8 * A.T @ A / 100), rtol=1e-9)
    json.dumps(ref.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------------------------------
# spectrum and diagnostics
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss,c", [("half_mse", 1.0), ("mse", 2.0)])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_spectrum_matches_numpy(loss, c, l2):
    ds = data.synthetic_linear(n_samples=120, n_features=3, condition_number=30, rng=7)
    X = ds.X + 1.5
    ref = compute_reference(Objective("linear", loss, l2=l2), X, ds.y)
    A = with_ones(X)
    H = c * A.T @ A / 120 + l2 * np.diag([1.0, 1.0, 1.0, 0.0])
    eig = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(ref.hessian_eigenvalues, eig, rtol=1e-10)
    assert ref.lipschitz == pytest.approx(eig[-1], rel=1e-12)
    assert ref.strong_convexity == pytest.approx(eig[0], rel=1e-10)
    assert ref.condition_number == pytest.approx(eig[-1] / eig[0], rel=1e-10)
    assert ref.max_stable_lr == pytest.approx(2 / eig[-1], rel=1e-12)


def test_synthetic_condition_number_is_exact():
    for kappa in (1.0, 10.0, 1e4):
        ds = data.synthetic_linear(n_samples=100, n_features=4, condition_number=kappa, rng=0)
        ref = compute_reference(Objective("linear", "half_mse"), ds.X, ds.y)
        assert ref.condition_number == pytest.approx(kappa, rel=1e-8)


def test_logistic_spectrum_at_theta_star():
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    obj = Objective("logistic", "bce", l2=0.01)
    ref = compute_reference(obj, X, y)
    eig = np.linalg.eigvalsh(obj.hessian(ref.theta_star, X, y))
    np.testing.assert_allclose(ref.hessian_eigenvalues, eig, rtol=1e-8)
    assert ref.hessian_at == "theta_star"
    assert ref.max_stable_lr == pytest.approx(2 / eig[-1], rel=1e-10)


def test_to_dict_is_plain_json():
    X, y = longley()
    ref = compute_reference(Objective("linear", "mse"), X, y)
    d = ref.to_dict()
    s = json.dumps(d, allow_nan=False)
    back = json.loads(s)
    assert back["status"] == "exact" and len(back["theta_star"]) == 7
    assert isinstance(back["hessian_eigenvalues"], list) and back["iterations"] == 0
    for key in ("theta_star", "f_star", "status", "note", "separable", "hessian_eigenvalues",
                "condition_number", "lipschitz", "strong_convexity", "max_stable_lr", "iterations",
                "gd_rate_note"):
        assert key in d
    assert all(type(v) is float for v in d["theta_star"])


def test_gd_rate_note():
    s = gd_rate_note(4.0, 1.0)
    assert "2/L = 0.5" in s and "1/L = 0.25" in s and "0.75" in s and "0.6" in s
    assert "singular" in gd_rate_note(4.0, 0.0)
    assert "near theta*" in gd_rate_note(4.0, 1.0, quadratic=False)
    assert "no minimiser" in gd_rate_note(4.0, 0.0, quadratic=False, at="zero", separable=True)
    assert "zero" in gd_rate_note(0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# 0.2: gaussian_nll, reduction, quasi-complete separation, convexity, consistent diagnostics
# ---------------------------------------------------------------------------------------------


def test_gaussian_nll_and_half_mse_share_theta_star():
    ds = data.synthetic_linear(n_samples=80, n_features=3, condition_number=20, rng=4)
    ref_ls = compute_reference(Objective("linear", "half_mse"), ds.X, ds.y)
    for sigma in (None, 0.5):
        obj = Objective("linear", "gaussian_nll", sigma=sigma)
        ref = compute_reference(obj, ds.X, ds.y)
        assert ref.status == "exact"
        np.testing.assert_allclose(ref.theta_star, ref_ls.theta_star, rtol=1e-13, atol=1e-14)
        assert ref.grad_norm < 1e-12
        # the spectrum is that of the objective's own Hessian at theta*
        eig = np.linalg.eigvalsh(obj.hessian(ref.theta_star, ds.X, ds.y))
        np.testing.assert_allclose(ref.hessian_eigenvalues, eig, rtol=1e-9)


def test_profiled_gaussian_nll_with_ridge_is_stationary():
    ds = data.synthetic_linear(n_samples=60, n_features=2, rng=1)
    obj = Objective("linear", "gaussian_nll", l2=0.2)
    ref = compute_reference(obj, ds.X, ds.y)
    assert ref.status == "exact" and ref.grad_norm < 1e-10
    # the profiled objective is not the ridge objective: a different minimiser
    ridge = compute_reference(Objective("linear", "half_mse", l2=0.2), ds.X, ds.y)
    assert np.abs(ref.theta_star - ridge.theta_star).max() > 1e-6


@pytest.mark.parametrize("model,loss", [("linear", "mse"), ("logistic", "bce")])
def test_reduction_sum_reference(model, loss):
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    if model == "linear":
        y = X[:, 0] + 0.3 * X[:, 1]
        X = X[:, 1:]
    mean = compute_reference(Objective(model, loss, l2=0.05), X, y)
    total = compute_reference(Objective(model, loss, l2=0.05 * len(y), reduction="sum"), X, y)
    # sum with n l2 is n times the mean objective: same theta*, n times f* and the spectrum
    np.testing.assert_allclose(total.theta_star, mean.theta_star, rtol=1e-9)
    assert total.f_star == pytest.approx(len(y) * mean.f_star, rel=1e-12)
    np.testing.assert_allclose(total.hessian_eigenvalues, len(y) * mean.hessian_eigenvalues, rtol=1e-9)
    assert total.max_stable_lr == pytest.approx(mean.max_stable_lr / len(y), rel=1e-9)


def quasi_separated_data(seed=0, n=40):
    """Every row with the binary feature x1 = 1 has y = 1; the rest overlap."""
    rng = np.random.default_rng(seed)
    x1 = (rng.random(n) < 0.3).astype(float)
    x2 = rng.standard_normal(n)
    y = np.where(x1 == 1, 1.0, (rng.random(n) < 0.5).astype(float))
    return np.c_[x1, x2], y, x1 == 1


def test_quasi_complete_separation_mle_does_not_exist():
    X, y, sep = quasi_separated_data()
    n = len(y)
    ref = compute_reference(Objective("logistic", "bce"), X, y)
    assert ref.status == "quasi_separated" and ref.theta_star is None
    assert "MLE does not exist" in ref.note and "quasi-complete separation" in ref.note
    assert ref.extra["separated_rows"] == int(sep.sum())
    d = ref.extra["separation_direction"]
    A = np.c_[X, np.ones(n)] * (2 * y - 1)[:, None]
    assert np.all(A @ d >= -1e-12) and np.all((A @ d)[sep] > 1e-6)
    # f* is the infimum: the tied rows' own maximum likelihood (statsmodels as the independent solver)
    minimize = pytest.importorskip("scipy.optimize").minimize
    xt, yt = X[~sep, 1], y[~sep]

    def nll(v):  # the tied rows' total Bernoulli NLL, written out directly
        z = v[0] + v[1] * xt
        return float(np.sum(np.logaddexp(0.0, z) - yt * z))

    fit = minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-12})
    assert ref.f_star == pytest.approx(fit.fun / n, rel=1e-10)
    # the loss along theta_tied + t d approaches f* from above
    obj = Objective("logistic", "bce")
    theta_tied = np.array([0.0, fit.x[1], fit.x[0]])
    vals = [obj.value(theta_tied + t * d, X, y) for t in (2.0, 10.0)]
    assert vals[0] > vals[1] > ref.f_star - 1e-15 and vals[1] - ref.f_star < 1e-4
    json.dumps(ref.to_dict(), allow_nan=False)


def test_separation_lp_works_without_scipy(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *a, **k):
        if name.startswith("scipy"):
            raise ImportError("no scipy here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    X, y, _ = quasi_separated_data(seed=1)
    assert compute_reference(Objective("logistic", "bce"), X, y).status == "quasi_separated"
    Xs = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    assert reference._lp_separable(Xs, np.array([0.0, 0.0, 1.0, 1.0]), True) is True
    ref = compute_reference(Objective("logistic", "bce"), Xs, np.array([0.0, 0.0, 1.0, 1.0]), max_newton_iter=0)
    assert ref.status == "separable" and "linear program" in ref.note


def test_separation_lp_agrees_with_scipy_on_random_problems():
    linprog = pytest.importorskip("scipy.optimize").linprog
    rng = np.random.default_rng(5)
    kinds = set()
    for trial in range(30):
        n, d = int(rng.integers(4, 25)), int(rng.integers(1, 4))
        X = rng.standard_normal((n, d))
        w = rng.standard_normal(d)
        y = (X @ w + rng.standard_normal(n) * (trial % 2) > 0).astype(float)
        if trial % 3 == 0:  # binary feature with y = 1 wherever it is 1: quasi separation likely
            X[:, 0] = (X[:, 0] > 0.5).astype(float)
            y = np.where(X[:, 0] == 1, 1.0, (rng.random(n) < 0.5).astype(float))
        res = reference._separation(X, y, True)
        A = np.c_[X, np.ones(n)] * (2 * y - 1)[:, None]
        # max sum t_i s.t. A d >= 0, 0 <= t_i <= min(a_i^T d, 1): the number of rows some
        # direction of recession separates (0 iff the MLE exists), by scipy's HiGHS
        p = d + 1
        c = np.r_[np.zeros(p), -np.ones(n)]
        A_ub = np.block([[-A, np.zeros((n, n))], [-A, np.eye(n)]])
        lp = linprog(c, A_ub=A_ub, b_ub=np.zeros(2 * n), bounds=[(None, None)] * p + [(0, 1)] * n, method="highs")
        count = -lp.fun
        assert (res["kind"] == "none") == (count < 1e-7)
        assert res["separated_rows"].sum() == pytest.approx(count, abs=1e-6)
        assert (res["kind"] == "complete") == (res["separated_rows"].sum() == n)
        kinds.add(res["kind"])
    assert kinds == {"none", "quasi", "complete"}


def test_convexity_logistic_mse_false_with_witness_bce_true():
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    for loss in ("mse", "half_mse"):
        obj = Objective("logistic", loss)
        r = reference.convexity(obj, X, y)
        assert r["convex"] is False and r["witness"] is not None
        lam = np.linalg.eigvalsh(obj.hessian(np.array(r["witness"]), X, y))[0]
        assert lam == pytest.approx(r["min_hessian_eigenvalue"]) and lam < -1e-3
    r = reference.convexity(Objective("logistic", "bce"), X, y)
    assert r["convex"] is True and r["witness"] is None and r["min_hessian_eigenvalue"] >= -1e-12
    assert reference.convexity(Objective("linear", "mse"), X, y)["convex"] is True
    path = np.zeros((3, 5))
    assert reference.convexity(Objective("logistic", "bce"), X, y, path=path)["points"] == 97 + 3


def test_non_convex_reference_gives_no_rate_and_no_strong_convexity():
    X, y, _, _ = data.read_csv(data.builtin_path("iris_virginica"))
    ref = compute_reference(Objective("logistic", "mse"), X, y)
    assert ref.strong_convexity is None and ref.condition_number is None
    assert "not convex" in ref.gd_rate_note and "contracts" not in ref.gd_rate_note
    d = ref.to_dict()
    assert d["strong_convexity"] is None and d["condition_number"] is None


def test_rate_note_at_kappa_one_says_one_step():
    s = gd_rate_note(2.0, 2.0 * (1 - 4e-16))
    assert "one step" in s and "e-15" not in s and "e-16" not in s
    ds = data.synthetic_linear(n_samples=100, n_features=3, condition_number=1.0, rng=0)
    ref = compute_reference(Objective("linear", "half_mse"), ds.X, ds.y)
    assert "one step" in ref.gd_rate_note
