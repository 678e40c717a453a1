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

import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from optrun.models import Objective

_EPS = float(np.finfo(np.float64).eps)
_BLOCK_BYTES = 16 * 2**20  # rows per QR block: about 16 MB of float64
_LP_MAX_ENTRIES = 2_000_000  # skip the separability LP beyond n * p entries


@dataclass
class Reference:
    """The exact optimum and the conditioning of an objective on a dataset.

    ``status``: ``"exact"`` (theta* and f* computed), ``"separable"`` (logistic, no penalty,
    separable data: ``f* = 0`` is an infimum, ``theta* = None``) or ``"unavailable"``.
    ``hessian_eigenvalues`` (ascending) are those of the Hessian at theta* (``hessian_at ==
    "theta_star"``) or at theta = 0 (``"zero"``) when there is no theta*.
    ``lipschitz`` = L = largest eigenvalue, ``strong_convexity`` = mu = smallest (0 when the
    Hessian is numerically singular), ``condition_number`` = L / mu (``inf`` when mu = 0),
    ``max_stable_lr`` = 2 / L, the largest constant step for which full-batch gradient descent is
    stable on the quadratic model at that point. ``iterations``: Newton iterations (0 for the
    closed forms).
    """

    theta_star: np.ndarray | None
    f_star: float | None
    status: str
    note: str
    separable: bool | None
    hessian_eigenvalues: np.ndarray
    condition_number: float
    lipschitz: float
    strong_convexity: float
    max_stable_lr: float | None
    iterations: int = 0
    gd_rate_note: str = ""
    hessian_at: str = "theta_star"
    grad_norm: float | None = None  # gradient norm at theta* (how exact theta* is)
    f_star_rounding: float | None = None  # rounding error of evaluating F near theta* (estimate)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-able values for ``summary.json``: lists, floats, None (never NaN/inf)."""
        return {
            "status": self.status,
            "note": self.note,
            "f_star": _num(self.f_star),
            "theta_star": None if self.theta_star is None else [_num(v) for v in self.theta_star],
            "separable": self.separable,
            "hessian_at": self.hessian_at,
            "hessian_eigenvalues": [_num(v) for v in np.asarray(self.hessian_eigenvalues).ravel()],
            "condition_number": _num(self.condition_number),
            "lipschitz": _num(self.lipschitz),
            "strong_convexity": _num(self.strong_convexity),
            "max_stable_lr": _num(self.max_stable_lr),
            "iterations": int(self.iterations),
            "grad_norm": _num(self.grad_norm),
            "f_star_rounding": _num(self.f_star_rounding),
            "gd_rate_note": self.gd_rate_note,
            **{k: _plain(v) for k, v in self.extra.items()},
        }


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _plain(v):
    if isinstance(v, np.ndarray):
        return [_num(x) for x in v.ravel()]
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def compute_reference(obj: Objective, X, y, max_newton_iter: int = 100) -> Reference:
    """theta*, f*, Hessian spectrum, conditioning and separability of ``obj`` on ``(X, y)``."""
    X = np.asarray(X, dtype=np.float64)  # no copy for float64 input
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    p = obj.n_params(d)
    zero = np.zeros(p)

    factor = None  # linear: M with Hessian = 2k M^T M, from the least-squares pass
    factor_scale = 0.0
    theta_star: np.ndarray | None = None
    f_star: float | None = None
    separable: bool | None = None
    iterations = 0
    grad_norm = None
    notes: list[str] = []
    extra: dict = {}
    convex: bool | None = True  # by theory; False only for logistic (half_)mse
    infimum = False  # f* is an infimum that no theta attains

    if obj.model == "linear":
        profiled = obj.loss == "gaussian_nll" and obj.sigma is None
        if obj.l1 > 0:
            status = "unavailable"
            notes.append("l1 penalty: no closed form; f* unavailable")
        elif profiled and obj.l2 > 0:
            theta_star, ls_note, iterations = _profiled_ridge(obj, X, y)
            status = "exact"
            if ls_note:
                notes.append(ls_note)
        else:
            theta_star, ls_note, factor = _least_squares(obj, X, y, _ls_weight(obj, n))
            status = "exact"
            if ls_note:
                notes.append(ls_note)
            factor_scale = 2.0 * _ls_weight(obj, n)
            if profiled:  # the spectrum at theta*, where s2 = RSS*/n (the rank-one term is 0)
                r = obj.linear_predictor(theta_star, X) - y
                s2 = float(r @ r) / n
                factor_scale = 2.0 * _ls_weight(obj, n, s2) if s2 > 0 else math.inf
        if profiled and theta_star is not None:
            r = obj.linear_predictor(theta_star, X) - y
            if not float(r @ r) > 0:
                status, theta_star, factor = "unavailable", None, None
                notes.append("the model fits every row exactly (RSS = 0): the profiled Gaussian "
                             "NLL is unbounded below; f* unavailable")
    elif obj.loss == "bce" and obj.l1 == 0:
        res = _newton_logistic(obj, X, y, max_newton_iter)
        iterations = res["iterations"]
        if res["hessian_rows"] is not None:
            extra["newton_hessian_rows"] = res["hessian_rows"]
        # Without a penalty the MLE exists iff no direction d has s_i x~_i^T d >= 0 for every row
        # with some row > 0 (Albert & Anderson 1984): decided exactly by a small LP, which also
        # finds the rows a direction of recession separates (quasi-complete separation).
        sep = None if obj.l2 > 0 else _separation(X, y, obj.fit_intercept)
        if res["separated"] or (sep is not None and sep["kind"] == "complete"):
            status, separable, f_star, infimum = "separable", True, 0.0, True
            via = "" if res["separated"] else " (linear program)"
            notes.append(
                f"data are linearly separable{via}: the logistic MLE does not exist; "
                "f* = 0 (infimum), no theta*"
            )
        elif sep is not None and sep["kind"] == "quasi":
            status, separable, infimum = "quasi_separated", False, True
            keep = ~sep["separated_rows"]
            f_star, sub_it = _quasi_infimum(obj, X, y, keep, max_newton_iter)
            iterations += sub_it
            extra["separated_rows"] = int(sep["separated_rows"].sum())
            extra["separation_direction"] = sep["direction"]
            notes.append(
                f"quasi-complete separation: a direction d with (2y - 1) x~^T d >= 0 on every row "
                f"separates {extra['separated_rows']} of {n} rows and leaves the rest tied; the "
                "logistic MLE does not exist (Albert & Anderson 1984); f* is the infimum, the "
                "loss of the tied rows at their own MLE, approached as ||theta|| -> infinity; "
                "no theta*"
            )
        elif res["converged"]:
            status, theta_star = "exact", res["theta"]
            if obj.l2 == 0:
                separable = False if sep is not None else None
            else:
                separable = _lp_separable(X, y, obj.fit_intercept)
            if obj.l2 > 0 and separable:
                notes.append("data are linearly separable; the l2 penalty keeps the minimiser finite")
        else:
            lp = _lp_separable(X, y, obj.fit_intercept) if obj.l2 == 0 else None
            if lp:
                status, separable, f_star, infimum = "separable", True, 0.0, True
                notes.append(
                    "data are linearly separable (linear program): the logistic MLE does not "
                    "exist; f* = 0 (infimum), no theta*"
                )
            else:
                status, separable = "unavailable", lp
                notes.append(
                    f"Newton did not converge in {iterations} iterations (gradient norm "
                    f"{res['grad_norm']:.3g})"
                    + ("; the data may be quasi-completely separated" if obj.l2 == 0 and sep is None else "")
                    + "; f* unavailable"
                )
    else:
        status = "unavailable"
        if obj.l1 > 0:
            notes.append("l1 penalty: no closed form; f* unavailable")
        else:
            convex = False
            notes.append(
                f"logistic model with {obj.loss} loss: mean (sigmoid(z) - y)^2 is non-convex in "
                "theta (no closed form, no guaranteed global minimiser); f* unavailable"
            )
        separable = _lp_separable(X, y, obj.fit_intercept)

    f_round = None
    if theta_star is not None:
        f_star, g = obj.value_and_grad(theta_star, X, y)
        grad_norm = float(np.linalg.norm(g))
        f_round = _rounding_floor(obj, theta_star, X, y, f_star)
        at, hessian_at = theta_star, "theta_star"
    else:
        at, hessian_at = zero, "zero"

    if factor is not None:
        eig, singular = _spectrum_from_factor(factor, factor_scale, max(n, p))
    else:
        eig, singular = _hessian_spectrum(obj, X, y, at)
    L = float(eig[-1]) if eig.size else 0.0
    mu = 0.0 if singular else float(eig[0])
    kappa = (L / mu) if mu > 0 else math.inf
    max_lr = (2.0 / L) if L > 0 else None
    strong: float | None = mu
    if convex is False:  # curvature at one point says nothing global: no mu, no kappa
        strong, kappa = None, None

    quadratic = obj.model == "linear" and not (obj.loss == "gaussian_nll" and obj.sigma is None)
    rate = gd_rate_note(L, mu, quadratic=quadratic, at=hessian_at, l1=obj.l1 > 0,
                        separable=infimum, convex=convex)
    if singular and convex is not False and not any("rank" in s for s in notes):
        notes.append(f"the Hessian at theta{'*' if hessian_at == 'theta_star' else ' = 0'} is singular: condition number infinite")

    return Reference(
        theta_star=theta_star,
        f_star=f_star,
        status=status,
        note="; ".join(notes),
        separable=separable,
        hessian_eigenvalues=eig,
        condition_number=kappa,
        lipschitz=L,
        strong_convexity=strong,
        max_stable_lr=max_lr,
        iterations=iterations,
        gd_rate_note=rate,
        hessian_at=hessian_at,
        grad_norm=grad_norm,
        f_star_rounding=f_round,
        extra=extra,
    )


def gd_rate_note(L: float, mu: float, quadratic: bool = True, at: str = "theta_star",
                 l1: bool = False, separable: bool = False, convex: bool | None = True) -> str:
    """One or two sentences on what constant-step full-batch gradient descent can do here.

    For a quadratic with Hessian eigenvalues in [mu, L]: GD is stable iff ``lr < 2/L``; at
    ``lr = 1/L`` the error contracts by ``1 - mu/L = 1 - 1/kappa`` per step; the best constant
    step ``2/(L + mu)`` gives ``(kappa - 1)/(kappa + 1)``. At kappa = 1 (up to rounding) both are
    0: one step lands on theta*. For non-quadratic losses the numbers hold near the point where
    the Hessian was taken. ``separable``: the infimum is not attained (no rate). ``convex=False``:
    only the local stability bound is stated, never a rate or a strong-convexity constant.
    """
    if not (L > 0) or not math.isfinite(L):
        return "the Hessian is zero: no curvature information for a step size"
    where = "" if quadratic else (" near theta*" if at == "theta_star" else " near theta = 0")
    parts = [f"full-batch GD with a constant lr is stable{where} for lr < 2/L = {2.0 / L:.4g}"]
    if convex is False:
        parts.append(
            "the objective is not convex: there is no global rate, and the curvature at this one "
            "point gives no strong-convexity constant (GD may stop at any stationary point)"
        )
    elif separable:
        parts.append(
            "the loss has no minimiser (separation: its infimum is not attained): GD drives "
            "||w|| to infinity while the loss approaches the infimum slowly (like O(1/t) under "
            "strict separation)"
        )
    elif mu > 0:
        kappa = L / mu
        if kappa - 1.0 <= 64 * _EPS:  # kappa = 1 up to rounding: the contraction factor is 0
            parts.append(
                f"kappa = L/mu = 1: at lr = 1/L = {1.0 / L:.4g} gradient descent reaches theta* in "
                f"one step{'' if quadratic else ' (on the local quadratic model)'}"
            )
        else:
            steps = kappa * math.log(10.0)
            parts.append(
                f"kappa = L/mu = {kappa:.4g}: at lr = 1/L = {1.0 / L:.4g} the error contracts by a factor "
                f"1 - 1/kappa = {1.0 - 1.0 / kappa:.6g} per step (about {steps:.3g} steps per decimal "
                f"digit); the best constant lr 2/(L+mu) = {2.0 / (L + mu):.4g} gives (kappa-1)/(kappa+1) "
                f"= {(kappa - 1.0) / (kappa + 1.0):.6g}"
            )
    else:
        parts.append("the Hessian is singular (mu = 0): convergence along flat directions is sublinear")
    if l1:
        parts.append("the l1 term is not smooth and is ignored here (subgradient steps need a decaying lr)")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Blockwise QR: the triangular factor of a tall matrix given as row blocks
# --------------------------------------------------------------------------------------------


def _qr_r(blocks: Iterable[np.ndarray]) -> np.ndarray:
    """Upper-triangular R with ``R^T R = A^T A`` for ``A = vstack(blocks)`` (Householder QR,
    one block at a time: memory is one block plus R)."""
    R = None
    for B in blocks:
        M = B if R is None else np.vstack([R, B])
        R = np.linalg.qr(M, mode="r")
    return R


def _block_rows(d: int) -> int:
    return max(256, _BLOCK_BYTES // (8 * max(1, d + 2)))


# --------------------------------------------------------------------------------------------
# Least squares and ridge
# --------------------------------------------------------------------------------------------


def _ls_weight(obj: Objective, n: int, s2: float | None = None) -> float:
    """k in ``F = k ||X~ theta - y||^2 + (l2/2)||w||^2 + const`` for the linear model.

    ``k = m c`` with m = 1/n (mean) or 1 (sum) and c = 1 (mse), 1/2 (half_mse), 1/(2 s2)
    (gaussian_nll; s2 = sigma^2, or the given profiled value; 1/2 when neither is known, which
    does not change theta* without a penalty).
    """
    m = obj.data_weight(n)
    if obj.loss == "mse":
        return m
    if obj.loss == "gaussian_nll":
        s2 = obj.sigma**2 if obj.sigma is not None else s2
        if s2 is not None:
            return m / (2.0 * s2)
    return 0.5 * m


def _least_squares(obj: Objective, X: np.ndarray, y: np.ndarray, k: float) -> tuple[np.ndarray, str, np.ndarray]:
    """theta* of k||X~ theta - y||^2 + (l2/2)||w||^2 (see module docstring; k = c/n for a mean).

    Also returns a small p x p factor M with ``M^T M = X~^T X~ + kappa P``, so the Hessian
    ``2k M^T M`` and its spectrum come from the same single pass over the data.
    """
    n, d = X.shape
    p = obj.n_params(d)
    kappa = obj.l2 / (2.0 * k)
    rows = _block_rows(d)
    if obj.fit_intercept:
        mu = X.mean(axis=0)
        ybar = float(y.mean())
    else:
        mu = np.zeros(d)
        ybar = 0.0
    sq = np.zeros(d)
    for i in range(0, n, rows):
        Xc = X[i : i + rows] - mu
        sq += np.einsum("ij,ij->j", Xc, Xc)
    scale = np.sqrt(sq)
    scale[scale == 0] = 1.0

    def blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            B = np.empty((min(rows, n - i), d + 1))
            np.subtract(X[i : i + rows], mu, out=B[:, :d])
            B[:, :d] /= scale
            B[:, d] = y[i : i + rows] - ybar
            yield B
        if kappa > 0:
            P = np.zeros((d, d + 1))
            P[np.arange(d), np.arange(d)] = math.sqrt(kappa) / scale
            yield P

    R = _qr_r(blocks())
    Rw = np.zeros((d, d))
    Rw[: min(d, R.shape[0])] = R[:d, :d]
    z = np.zeros(d)
    z[: min(d, R.shape[0])] = R[:d, d]
    # M = [[Rw D, 0], [sqrt(n) mu^T, sqrt(n)]]: [X_c, 1] T = X~ with T = [[I, 0], [mu^T, 1]] and
    # X_c^T 1 = 0 give M^T M = X~^T X~ + kappa P.
    M = np.zeros((p, p))
    M[:d, :d] = Rw * scale
    if obj.fit_intercept:
        M[d, :d] = math.sqrt(n) * mu
        M[d, d] = math.sqrt(n)
    sv = np.linalg.svd(Rw, compute_uv=False) if d else np.zeros(0)
    m = max(n, d + 1)
    rank_deficient = kappa == 0 and bool(sv.size) and sv.min() <= sv.max() * m * _EPS
    if not rank_deficient:
        v = np.linalg.lstsq(Rw, z, rcond=None)[0]
        w = v / scale
        theta = np.append(w, ybar - float(mu @ w)) if obj.fit_intercept else w
        return theta, "", M

    # Rank deficient: theta* is not unique. Report the minimum-norm minimiser in theta itself
    # (lstsq on the QR factor of [X, 1, y], no centring or scaling), which is the limit of
    # gradient descent started from theta = 0.
    def raw_blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            Xb = X[i : i + rows]
            B = np.empty((Xb.shape[0], p + 1))
            B[:, :d] = Xb
            if obj.fit_intercept:
                B[:, d] = 1.0
            B[:, p] = y[i : i + rows]
            yield B

    R = _qr_r(raw_blocks())
    theta, _, rank, _ = np.linalg.lstsq(R[:p, :p], R[:p, p], rcond=None)
    return theta, (
        f"the design {'[X, 1]' if obj.fit_intercept else 'X'} has rank {rank} < {p} parameters: theta* is not unique; "
        "theta* is the minimum-norm minimiser (the limit of GD from theta = 0)"
    ), M


def _profiled_ridge(obj: Objective, X: np.ndarray, y: np.ndarray, max_iter: int = 200) -> tuple[np.ndarray, str, int]:
    """theta* of the profiled Gaussian NLL with an l2 penalty, by a fixed-point iteration.

    Stationarity of ``log(RSS)/2 + (l2/2)||w||^2`` (times m n) is ``X~^T r / RSS + l2 P w = 0``,
    which is the ridge equation with ``k = m / (2 s2)`` at ``s2 = RSS(theta)/n``. So: solve the
    ridge problem at s2, update s2 = RSS/n, repeat until s2 stops changing. Each ridge solve
    lowers the objective (an MM step: log is concave, so its tangent majorises it), hence the
    iteration decreases F monotonically to a stationary point.
    """
    n = X.shape[0]
    theta, note, _ = _least_squares(obj, X, y, _ls_weight(obj, n, 1.0))
    s2 = 1.0
    it = 0
    for it in range(1, max_iter + 1):
        r = obj.linear_predictor(theta, X) - y
        s2_new = float(r @ r) / n
        if not s2_new > 0:
            break
        done = abs(s2_new - s2) <= 4 * _EPS * s2_new
        s2 = s2_new
        if done:
            break
        theta, note, _ = _least_squares(obj, X, y, _ls_weight(obj, n, s2))
    return theta, note, it


# --------------------------------------------------------------------------------------------
# Logistic regression: Newton / IRLS with step halving
# --------------------------------------------------------------------------------------------


def _solve_psd(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``H s = g`` for a (near) positive semi-definite H, Jacobi-scaled, lstsq fallback."""
    dg = np.sqrt(np.abs(np.diag(H)))
    dg[dg == 0] = 1.0
    Hs = H / dg[:, None] / dg[None, :]
    gs = g / dg
    try:
        u = np.linalg.solve(Hs, gs)
        if not np.all(np.isfinite(u)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        u = np.linalg.lstsq(Hs, gs, rcond=None)[0]
    return u / dg


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


def _newton_logistic(obj: Objective, X: np.ndarray, y: np.ndarray, max_iter: int) -> dict:
    """Newton-Raphson (IRLS) for logistic bce (+ l2) from theta = 0, damped by step halving.

    Stops when the gradient stops decreasing after reaching ``1e-9 * max(1, ||g(0)||)``
    (its rounding floor), or, without a penalty, as soon as an iterate separates the data.
    On big data the Hessian comes from a fixed subsample (see :func:`_hessian_subsample`).
    """
    n, d = X.shape
    p = obj.n_params(d)
    sub = _hessian_subsample(n, p)
    Xh, yh = (X, y) if sub is None else (X[sub], y[sub])
    sgn = 2.0 * y - 1.0
    theta = np.zeros(p)
    f, g = obj.value_and_grad(theta, X, y)
    gnorm = float(np.linalg.norm(g))
    tol = 1e-9 * max(1.0, gnorm)
    floor = 1e-15 * max(1.0, gnorm)
    check_sep = obj.l2 == 0
    it = 0
    while it < max_iter and gnorm > floor:
        step = _solve_psd(obj.hessian(theta, Xh, yh), g)
        slope = float(g @ step)
        if not (slope > 0):  # not a descent direction (numerical trouble): use the gradient
            step, slope = g, gnorm * gnorm
        t = 1.0
        while True:
            cand = theta - t * step
            f_c, g_c = obj.value_and_grad(cand, X, y)
            if np.isfinite(f_c) and f_c <= f - 1e-4 * t * slope + 8 * _EPS * abs(f):
                break
            t *= 0.5
            if t < 1e-12:
                break
        gn_c = float(np.linalg.norm(g_c))
        if not np.isfinite(f_c) or (t < 1e-12 and gn_c >= gnorm):
            break  # no progress possible
        if gnorm <= tol and gn_c >= gnorm:
            break  # at the rounding floor: keep the better iterate
        it += 1
        theta, f, g, gnorm = cand, f_c, g_c, gn_c
        if check_sep:
            z = obj.linear_predictor(theta, X)
            if np.min(sgn * z) > 1e-8 * max(1.0, float(np.max(np.abs(z)))):
                return {"theta": theta, "iterations": it, "converged": False, "separated": True,
                        "grad_norm": gnorm, "hessian_rows": None if sub is None else int(sub.size)}
    return {"theta": theta, "iterations": it, "converged": gnorm <= tol, "separated": False,
            "grad_norm": gnorm, "hessian_rows": None if sub is None else int(sub.size)}


def _rounding_floor(obj: Objective, theta: np.ndarray, X: np.ndarray, y: np.ndarray, f: float) -> float:
    """Estimated absolute rounding error of evaluating F(theta) in float64.

    Each z_i = x_i . w + b carries an error of about eps (sum_j |x_ij w_j| + |b|), which moves the
    loss by |l'(z_i)| times that; the mean and the penalty add about eps |F|. A run whose
    ``loss - f*`` is below this value (it can even be slightly negative) is at f* up to rounding.
    """
    n, d = X.shape
    w, b = obj.split(theta)
    z = obj.linear_predictor(theta, X)
    _, dz = obj.per_sample_loss_and_dz(z, y)
    aw = np.abs(w)
    rows = _block_rows(d)
    total = 0.0
    for i in range(0, n, rows):
        mag = np.abs(X[i : i + rows]) @ aw + abs(float(b)) + np.abs(y[i : i + rows])
        total += float(np.abs(dz[i : i + rows]) @ mag)
    return 4.0 * _EPS * (abs(f) + total * obj.data_weight(n))


def _signed_design(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Rows ``a_i = (2 y_i - 1) x~_i`` scaled to unit length (a positive row scaling changes no
    sign of ``a_i^T d``, so neither separation question), zero rows kept as zeros."""
    n, d = X.shape
    A = np.empty((n, d + (1 if fit_intercept else 0)))
    A[:, :d] = X
    if fit_intercept:
        A[:, d] = 1.0
    A *= (2.0 * y - 1.0)[:, None]
    norm = np.linalg.norm(A, axis=1)
    norm[norm == 0] = 1.0
    return A / norm[:, None]


def _phase1(M: np.ndarray, b: np.ndarray, tol: float = 1e-11) -> tuple[bool, np.ndarray] | None:
    """Is ``{x >= 0 : M x = b}`` non-empty? Dense phase-1 simplex (Dantzig's rule, Bland's on stalls).

    Returns ``(True, x)`` with a feasible x, or ``(False, z)`` with a Farkas certificate:
    ``M^T z >= 0`` and ``b^T z < 0``. ``None`` if the pivot budget runs out. M is m x N with m
    small (the number of parameters, + 1): one pivot costs O(m (N + m)). The entering column is
    the most negative reduced cost; after m degenerate pivots in a row, Bland's rule (the lowest
    eligible index enters and leaves), which cannot cycle, takes over until a pivot makes
    progress. That matters here: the separation LPs are highly degenerate (almost every
    right-hand side is 0).
    """
    m, N = M.shape
    sgn = np.where(b < 0, -1.0, 1.0)
    T = np.hstack([M * sgn[:, None], np.eye(m)])
    rhs = b * sgn
    basis = np.arange(N, N + m)
    cost = np.zeros(N + m)
    cost[N:] = 1.0
    scale = max(1.0, float(np.abs(rhs).sum()))
    stall = 0  # consecutive degenerate pivots: after m of them, Bland's rule takes over
    red = cost - cost[basis] @ T  # reduced costs, updated with every pivot like a tableau row
    for _ in range(50 * (N + m)):
        enter = np.flatnonzero(red < -tol)
        if enter.size == 0:  # optimal by the updated row: confirm with freshly computed costs
            red = cost - cost[basis] @ T
            enter = np.flatnonzero(red < -tol)
        if enter.size and stall < m:  # Dantzig: the steepest reduced cost (fewer pivots)
            enter = enter[np.argmin(red[enter])][None]
        if enter.size == 0:
            value = float(cost[basis] @ rhs)
            if value <= 1e-9 * scale:
                x = np.zeros(N + m)
                x[basis] = rhs
                return True, x[:N]
            y = cost[basis] @ T[:, N:]  # simplex multipliers c_B^T B^-1
            return False, -sgn * y
        j = int(enter[0])
        col = T[:, j]
        rows = np.flatnonzero(col > tol)
        ratios = rhs[rows] / col[rows]
        best = ratios.min()
        tied = rows[ratios <= best + 1e-12 * max(1.0, abs(best))]
        i = int(tied[np.argmin(basis[tied])])
        stall = stall + 1 if best <= 0.0 else 0
        piv = T[i, j]
        T[i] /= piv
        rhs[i] /= piv
        f = T[:, j].copy()
        f[i] = 0.0
        T -= np.outer(f, T[i])
        rhs -= f * rhs[i]
        red -= red[j] * T[i]
        np.maximum(rhs, 0.0, out=rhs)  # exact arithmetic keeps rhs >= 0; drop rounding below 0
        basis[i] = j
    return None


def _separation(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> dict | None:
    """Does the logistic MLE (no penalty) exist? Exact answer by linear programming, no scipy.

    With ``a_i = (2y_i - 1) x~_i``, the MLE does not exist iff some d has ``A d >= 0`` and
    ``A d != 0`` (Albert & Anderson 1984; d is a direction along which every row's loss is
    non-increasing and some row's loss goes to 0). By Stiemke's theorem of the alternative this
    fails iff some ``lambda > 0`` (every entry) has ``A^T lambda = 0``; scaled, ``lambda >= 1``,
    a phase-1 LP with only p equality rows: :func:`_phase1`. Its Farkas certificate is such a d.

    The rows a direction of recession can separate (``a_i^T d > 0``) are found by peeling: drop
    the rows the certificate separates and ask again on the rest, until the rest admits an MLE.
    Returns None when undecided (too big, or the pivot budget ran out); else ``{"kind": "none" |
    "quasi" | "complete", "separated_rows": bool mask, "direction": d or None}``. "complete"
    means every row is separated (strict linear separation, f* = 0).
    """
    n, d = X.shape
    p = d + (1 if fit_intercept else 0)
    if n * p > _LP_MAX_ENTRIES or n == 0:
        return None
    A = _signed_design(X, y, fit_intercept)
    rest = np.ones(n, dtype=bool)
    total = np.zeros(p)
    while rest.any():
        Ar = A[rest]
        out = _phase1(Ar.T, -Ar.sum(axis=0))  # lambda = 1 + x >= 1 with A^T lambda = 0
        if out is None:
            return None
        feasible, z = out
        if feasible:
            break
        nz = float(np.linalg.norm(z))
        if not nz > 0:
            return None
        z = z / nz
        margins = Ar @ z
        tol = 1e-9
        if margins.min() < -tol or margins.max() <= tol:
            return None  # the certificate does not hold up to rounding: undecided
        hit = np.flatnonzero(rest)[margins > tol]
        # one direction for all stages: c * total + z, c large enough that the rows separated
        # at earlier stages (a_i^T total > 0) stay separated whatever z does to them
        done = ~rest
        if done.any():
            mt, mz = A[done] @ total, A[done] @ z
            c = max(1.0, 2.0 * float(np.max(-mz / mt)))
            total = c * total + z
        else:
            total = z
        rest[hit] = False
    separated = ~rest
    if not separated.any():
        return {"kind": "none", "separated_rows": separated, "direction": None}
    kind = "complete" if separated.all() else "quasi"
    return {"kind": kind, "separated_rows": separated, "direction": total / np.linalg.norm(total)}


def _quasi_infimum(obj: Objective, X: np.ndarray, y: np.ndarray, keep: np.ndarray,
                   max_iter: int) -> tuple[float, int]:
    """Infimum of the logistic bce under quasi-complete separation.

    Along the separating direction the separated rows' losses go to 0 while the tied rows'
    margins do not change, and the tied rows alone admit an MLE (a direction of recession for
    them would enlarge the separated set). So ``f* = m sum_{tied} l_i(theta_tied)`` with
    theta_tied their own Newton solution (m = 1/n of the *full* data, or 1 for a sum).
    """
    n = X.shape[0]
    Xk, yk = X[keep], y[keep]
    res = _newton_logistic(obj, Xk, yk, max_iter)
    z = obj.linear_predictor(res["theta"], Xk)
    total = float(np.sum(obj.per_sample_loss(z, yk)))
    return total * obj.data_weight(n), res["iterations"]


def _lp_separable(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> bool | None:
    """Is there theta with ``(2y_i - 1) z_i > 0`` for every row (strict linear separation)?

    By Gordan's theorem of the alternative, exactly when no ``lambda >= 0`` with ``sum lambda =
    1`` has ``A^T lambda = 0`` (``a_i = (2y_i - 1) x~_i``): a phase-1 LP with p + 1 rows, solved
    by :func:`_phase1` (no scipy). ``None`` when the problem is too big or undecided.
    """
    n, d = X.shape
    p = d + (1 if fit_intercept else 0)
    if n * p > _LP_MAX_ENTRIES or n == 0:
        return None
    A = _signed_design(X, y, fit_intercept)
    M = np.vstack([A.T, np.ones((1, n))])
    b = np.zeros(p + 1)
    b[p] = 1.0
    out = _phase1(M, b)
    if out is None:
        return None
    return not out[0]


# --------------------------------------------------------------------------------------------
# Hessian spectrum
# --------------------------------------------------------------------------------------------


def _spectrum_from_factor(M: np.ndarray, scale: float, m: int) -> tuple[np.ndarray, bool]:
    """Ascending eigenvalues of ``scale * M^T M`` from the singular values of M."""
    sv = np.linalg.svd(M, compute_uv=False) if M.size else np.zeros(0)
    eig = np.sort(scale * sv**2)
    smax = float(sv.max()) if sv.size else 0.0
    return eig, bool(sv.size and float(sv.min()) <= smax * m * _EPS)


def _hessian_spectrum(obj: Objective, X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, bool]:
    """Ascending eigenvalues of the Hessian at theta, and whether it is numerically singular.

    One pass forms the Hessian (``Objective.hessian``) for ``eigvalsh``. Its small eigenvalues
    carry an absolute error of about eps * L, so when the Hessian is ill-conditioned (kappa >
    1e6) and positive semi-definite, a second, slower pass recomputes the spectrum from the
    singular values of ``A = [sqrt(l''/n) X~; sqrt(l2) P]`` (blockwise QR), accurate to a few
    units of eps relative even for kappa ~ 1e20.
    """
    n, d = X.shape
    p = obj.n_params(d)
    H = obj.hessian(theta, X, y)
    eig = np.linalg.eigvalsh(H)
    L = float(np.max(np.abs(eig))) if eig.size else 0.0
    s = np.asarray(obj.curvature(theta, X, y), dtype=np.float64)
    psd = bool(np.all(s >= 0))
    if not psd or not eig.size or (eig[0] > 1e-6 * L):
        return eig, bool(eig.size and eig[0] <= L * max(n, p) * _EPS)
    rows = _block_rows(p)
    w = np.sqrt(s * obj.data_weight(n))

    def blocks() -> Iterator[np.ndarray]:
        for i in range(0, n, rows):
            Xb = X[i : i + rows]
            B = np.empty((Xb.shape[0], p))
            B[:, :d] = Xb
            if obj.fit_intercept:
                B[:, d] = 1.0
            B *= w[i : i + rows, None]
            yield B
        if obj.l2 > 0:
            P = np.zeros((d, p))
            P[np.arange(d), np.arange(d)] = math.sqrt(obj.l2)
            yield P

    R = _qr_r(blocks())
    Rp = np.zeros((p, p))
    Rp[: min(p, R.shape[0])] = R[:p]
    return _spectrum_from_factor(Rp, 1.0, max(n, p))


# --------------------------------------------------------------------------------------------
# Convexity from sampled Hessian eigenvalues
# --------------------------------------------------------------------------------------------


def _convex_by_theory(obj) -> bool | None:
    """True when the objective is convex by construction; None when theory does not say."""
    if isinstance(obj, Objective):
        if obj.model == "linear":
            # least squares and the Gaussian NLL with known sigma are convex quadratics; the
            # profiled NLL is log(RSS)/2, not convex in general
            return True if obj.loss != "gaussian_nll" or obj.sigma is not None else None
        return True if obj.loss == "bce" else None  # sigmoid residuals squared: no
    conv = getattr(obj, "convex", None)
    return conv if conv in (True, False) else None


def convexity(obj, X=None, y=None, frame=None, path=None, n_samples: int = 64,
              seed: int = 0) -> dict:
    """Is F convex? Decided from the smallest Hessian eigenvalue over sampled points.

    Points: the frame's centre and corners (``2^p``, for p <= 10), a grid of 9 x 9 for p <= 2
    or ``n_samples`` uniform draws (``default_rng(seed)``) otherwise, and every row of ``path``
    (e.g. a run's iterates, shape (k, p)). ``frame``: one ``(lo, hi)`` per parameter; default
    the object's own ``frame`` attribute (analytic objectives) or ``[-3, 3]`` per parameter.

    A Hessian eigenvalue below ``-64 p eps max|eig|`` (beyond the rounding of ``eigvalsh``) at a
    point proves F is not convex (second-order condition): ``convex`` is then ``False`` and
    ``witness`` is that point (the most negative one found). Otherwise sampling proves nothing:
    ``convex`` is ``True`` when F is convex by construction (least squares, bce, ...) and
    ``"unknown"`` when not. The l1 term (convex) is ignored. Returns ``{convex,
    min_hessian_eigenvalue, witness, points}`` (``witness`` a list or None).
    """
    X = np.zeros((0, 0)) if X is None else np.asarray(X, dtype=np.float64)
    y = np.zeros(0) if y is None else np.asarray(y, dtype=np.float64)
    if isinstance(obj, Objective):
        p = obj.n_params(X.shape[1])
    else:
        p = int(getattr(obj, "n_params")(X.shape[1] if X.ndim == 2 else 0))
    if frame is None:
        frame = getattr(obj, "frame", None)
    box = np.array([(-3.0, 3.0)] * p if frame is None else frame, dtype=np.float64).reshape(p, 2)
    lo, hi = box[:, 0], box[:, 1]
    pts = [0.5 * (lo + hi)]
    if p <= 10:
        for bits in range(2**p):
            pts.append(np.where([(bits >> j) & 1 for j in range(p)], hi, lo))
    if p <= 2:
        axes = [np.linspace(lo[j], hi[j], 9) for j in range(p)]
        pts.extend(np.array(np.meshgrid(*axes, indexing="ij")).reshape(p, -1).T)
    else:
        pts.extend(np.random.default_rng(seed).uniform(lo, hi, size=(n_samples, p)))
    if path is not None:
        pts.extend(np.asarray(path, dtype=np.float64).reshape(-1, p))
    best, witness = math.inf, None
    for theta in pts:
        with np.errstate(all="ignore"):
            H = np.asarray(obj.hessian(theta, X, y), dtype=np.float64)
        if not np.all(np.isfinite(H)):
            continue
        eig = np.linalg.eigvalsh(0.5 * (H + H.T))
        tol = 64 * p * _EPS * float(np.max(np.abs(eig)))
        lam = float(eig[0])
        if lam < best:
            best = lam
            if lam < -tol:
                witness = np.array(theta, dtype=np.float64)
    if witness is not None:
        convex: bool | str = False
    else:
        convex = True if _convex_by_theory(obj) is True else "unknown"
    return {
        "convex": convex,
        "min_hessian_eigenvalue": _num(best) if math.isfinite(best) else None,
        "witness": None if witness is None else [float(v) for v in witness],
        "points": len(pts),
    }
