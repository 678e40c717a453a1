"""The exact optimum of an objective, computed independently of any run, plus its conditioning.

``compute_reference(obj, X, y)`` returns a :class:`Reference`: ``theta*``, ``f* = F(theta*)``, the
Hessian spectrum (at theta*, or at theta = 0 when there is no theta*), the condition number
``kappa = L / mu``, the largest stable constant step of full-batch gradient descent ``2 / L``, and
for logistic regression whether the data are linearly separable.

How each optimum is found (``X~ = [X, 1]`` is the design with the intercept column):

* **Least squares** (linear, mse or half_mse, no penalty): minimise ``||X~ theta - y||``. With an
  intercept the problem is solved in the *centred* form (``X - mean``, ``y - mean``; then
  ``b = mean(y) - mean(X) w``, an exact identity for least squares with an unpenalised intercept),
  with columns scaled to unit norm; the small triangular factor ``R`` of a Householder QR of
  ``[X_c D^-1, y_c]`` (accumulated over row blocks, so big data are never copied whole) is then
  solved with ``numpy.linalg.lstsq`` (SVD). No normal equations and no explicit inverse:
  ill-conditioned data such as Longley (cond(X~) ~ 5e9, so cond(X~^T X~) ~ 2e19 > 1/eps) still
  come out right (Longley: 1e-13 relative to the NIST certified values). If ``X~`` is rank
  deficient, theta* is not unique; the reported theta* is then the minimum-norm minimiser
  (``lstsq`` on the QR factor of ``[X, 1]``), the one gradient descent from theta = 0 converges
  to. Cost: one pass of blockwise QR, about 2 n p^2 flops.
* **Ridge** (``l2 > 0``, intercept unpenalised): the same QR solve of the *stacked* least-squares
  problem ``[X_c; sqrt(kappa) I] w ~ [y_c; 0]`` with ``kappa = n l2 / (2c)``, where the data loss is
  ``(c/n) ||r||^2`` (c = 1 for mse, 1/2 for half_mse).
* **Logistic, bce**: Newton-Raphson (= IRLS) from theta = 0 with a backtracking (step-halving)
  line search, run until the gradient norm reaches its rounding floor (~1e-16 on the shipped
  data). Without a penalty the maximum-likelihood estimate exists exactly when the data are *not*
  linearly separable. Separation is certified by Newton itself: as soon as an iterate classifies
  every row strictly correctly (``(2y - 1) z > 0`` for all rows, i.e. the loss is below
  ``log(2)/n``), the data are separable, the infimum ``f* = 0`` is not attained and there is no
  theta*. If Newton neither converges nor separates within the iteration cap, a linear program
  (``scipy.optimize.linprog``, used only if scipy is installed; it is not a dependency) decides.
  With ``l2 > 0`` a unique minimiser always exists. On big data (n > 2 max(20000, 200 p)) the
  Newton Hessian comes from a fixed random subset of rows while the gradient stays exact.
* **l1 penalty** (any model) and **logistic with mse/half_mse** (non-convex): no closed form and
  no reliable global solver here, so ``f*`` and ``theta*`` are ``None`` (status "unavailable")
  and ``note`` says why.

The Hessian spectrum: for least squares it comes from the singular values of the small factor of
the same QR pass; otherwise from ``eigvalsh`` of the Hessian, and when that is ill-conditioned
(kappa > 1e6) and positive semi-definite, from the singular values of
``A = [sqrt(l''/n) X~; sqrt(l2) P]`` (``eig(A^T A) = svd(A)^2``, blockwise QR), which keeps the
small eigenvalues accurate. ``f_star_rounding`` estimates the rounding error of evaluating F
near theta*: ``loss - f*`` below it is noise (and may be slightly negative). The reference is
computed in float64 (float32 data are converted once, here only).
"""

from __future__ import annotations

import numpy as np

from optrun.models import Objective
from optrun.reference.analytic import analytic_reference  # noqa: F401  (objectives without data)
from optrun.reference.convexity import convexity
from optrun.reference.least_squares import linear_optimum
from optrun.reference.logistic import logistic_optimum
from optrun.reference.result import Optimum, Reference, for_float32  # noqa: F401  (prepare)
from optrun.reference.separation import _lp_separable, _separation  # noqa: F401  (_separation: tests)
from optrun.reference.spectrum import (
    _hessian_spectrum,
    _rounding_floor,
    _spectrum_from_factor,
    conditioning,
    gd_rate_note,
)

__all__ = ["Reference", "compute_reference", "convexity", "gd_rate_note"]

# The sub-modules own the math; this module owns the resources. The three names below are test
# seams (tests monkeypatch them here): they are read at call time by compute_reference and passed
# down, so a patched value reaches every block loop and every Newton Hessian.
_BLOCK_BYTES = 16 * 2**20  # rows per QR block: about 16 MB of float64


def _block_rows(d: int) -> int:
    """Rows per block for d columns: ``_BLOCK_BYTES`` of float64 (at least 256 rows)."""
    return max(256, _BLOCK_BYTES // (8 * max(1, d + 2)))


def _hessian_subsample(n: int, p: int) -> np.ndarray | None:
    """Rows for the Newton Hessian on big data (None: use every row).

    A Hessian costs n p^2 flops against 2 n p for a gradient. Beyond ``2 m`` rows, with
    ``m = max(20000, 200 p)``, Newton uses the Hessian of a fixed random subset of m rows (seed 0,
    independent of the run's seed) with the exact full-data gradient: the iteration then
    converges linearly (ratio about sqrt(p / m)) instead of quadratically, still to the
    gradient's rounding floor, at a small fraction of the cost.
    """
    m = max(20_000, 200 * p)
    if n <= 2 * m:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=m, replace=False))


def compute_reference(obj: Objective, X, y, max_newton_iter: int = 100) -> Reference:
    """theta*, f*, Hessian spectrum, conditioning and separability of ``obj`` on ``(X, y)``."""
    X = np.asarray(X, dtype=np.float64)  # no copy for float64 input
    y = np.asarray(y, dtype=np.float64)
    if obj.model == "linear":
        opt = linear_optimum(obj, X, y, _block_rows)
    elif obj.loss == "bce" and obj.l1 == 0:
        opt = logistic_optimum(obj, X, y, max_newton_iter, _hessian_subsample)
    else:
        opt = _no_optimum(obj, X, y)
    return _finish(obj, X, y, opt)


def _no_optimum(obj: Objective, X: np.ndarray, y: np.ndarray) -> Optimum:
    """l1 penalty (any model) or logistic (half_)mse: no closed form, no reliable global solver."""
    opt = Optimum("unavailable")
    if obj.l1 > 0:
        opt.notes.append("l1 penalty: no closed form; f* unavailable")
    else:
        opt.convex = False
        opt.notes.append(
            f"logistic model with {obj.loss} loss: mean (sigmoid(z) - y)^2 is non-convex in "
            "theta (no closed form, no guaranteed global minimiser); f* unavailable"
        )
    opt.separable = _lp_separable(X, y, obj.fit_intercept)
    return opt


def _finish(obj: Objective, X: np.ndarray, y: np.ndarray, opt: Optimum) -> Reference:
    """The spectrum at theta* (or at theta = 0 without one), the conditioning and the notes."""
    n, d = X.shape
    p = obj.n_params(d)
    f_star, grad_norm, f_round = opt.f_star, None, None
    if opt.theta_star is not None:
        f_star, g = obj.value_and_grad(opt.theta_star, X, y)
        grad_norm = float(np.linalg.norm(g))
        f_round = _rounding_floor(obj, opt.theta_star, X, y, f_star, _block_rows)
        at, hessian_at = opt.theta_star, "theta_star"
    else:
        at, hessian_at = np.zeros(p), "zero"
    if opt.factor is not None:
        eig, singular = _spectrum_from_factor(opt.factor, opt.factor_scale, max(n, p))
    else:
        eig, singular = _hessian_spectrum(obj, X, y, at, _block_rows)
    L, mu, strong, kappa, max_lr = conditioning(eig, singular, opt.convex)
    quadratic = obj.model == "linear" and not (obj.loss == "gaussian_nll" and obj.sigma is None)
    rate = gd_rate_note(L, mu, quadratic=quadratic, at=hessian_at, l1=obj.l1 > 0,
                        separable=opt.infimum, convex=opt.convex)
    notes = opt.notes
    if singular and opt.convex is not False and not any("rank" in s for s in notes):
        notes.append(f"the Hessian at theta{'*' if hessian_at == 'theta_star' else ' = 0'} is singular: condition number infinite")
    return Reference(
        theta_star=opt.theta_star, f_star=f_star, status=opt.status, note="; ".join(notes),
        separable=opt.separable, hessian_eigenvalues=eig, condition_number=kappa, lipschitz=L,
        strong_convexity=strong, max_stable_lr=max_lr, iterations=opt.iterations, gd_rate_note=rate,
        hessian_at=hessian_at, grad_norm=grad_norm, f_star_rounding=f_round, extra=opt.extra,
    )
