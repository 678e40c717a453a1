"""Is F convex? Theory first, then the smallest Hessian eigenvalue over sampled points."""

from __future__ import annotations

import math

import numpy as np

from optrun.models import Objective
from optrun.reference.result import _EPS, _num


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
    pts = _sample_points(p, frame, path, n_samples, seed)
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


def _sample_points(p: int, frame, path, n_samples: int, seed: int) -> list[np.ndarray]:
    """The points of :func:`convexity`: the frame's centre and corners (p <= 10), a 9 x 9 grid
    (p <= 2) or ``n_samples`` uniform draws, then every row of ``path``."""
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
    return pts
