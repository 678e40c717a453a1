"""What :func:`optrun.reference.compute_reference` returns, and what its parts hand each other.

:class:`Reference` is the public result (``to_dict()`` gives the plain JSON of ``summary.json``:
lists, floats and None, never NaN or inf). :class:`Optimum` is the internal hand-over from the
least-squares or logistic solver to the conditioning step: what was found (theta*, f*, status,
notes) before the Hessian spectrum is taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

_EPS = float(np.finfo(np.float64).eps)


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


@dataclass
class Optimum:
    """What a solver found, before the spectrum: status, theta* or f*, separability, notes.

    ``factor``: for least squares, a small M with Hessian ``factor_scale * M^T M`` from the same
    QR pass (None otherwise). ``convex``: False only when theory says the objective is not convex
    (logistic with (half_)mse). ``infimum``: f* is an infimum that no theta attains.
    """

    status: str
    theta_star: np.ndarray | None = None
    f_star: float | None = None
    separable: bool | None = None
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    convex: bool | None = True
    infimum: bool = False
    factor: np.ndarray | None = None
    factor_scale: float = 0.0


_EPS32 = float(np.finfo(np.float32).eps)


def for_float32(ref: Reference) -> Reference:
    """``ref`` with ``f_star_rounding`` widened to what a float32 run can reach.

    theta* and f* stay the float64 reference; a float32 run's loss cannot get closer to f* than

        (eps32 / eps64) · floor64  +  ½ L ‖δ‖²,   |δ_i| = ½ ulp32(θ*_i) ≤ ½ eps32 |θ*_i|

    the first term: the float64 floor 4 eps (|F| + Σ|ℓ'(z_i)| |z_i terms| / n), re-evaluated
    with float32's eps (= 4 ulp32(f*) plus the rounding of the float32 matrix products); the
    second: the nearest float32 θ to θ* costs ½ δᵀHδ ≤ ½ L ‖δ‖² (negligible unless ‖θ*‖ is large).
    """
    if ref.f_star_rounding is None:
        return ref
    grid = 0.0
    if ref.theta_star is not None and math.isfinite(ref.lipschitz):
        delta = 0.5 * _EPS32 * np.abs(np.asarray(ref.theta_star, dtype=np.float64))
        grid = 0.5 * ref.lipschitz * float(delta @ delta)
    return replace(ref, f_star_rounding=ref.f_star_rounding * (_EPS32 / _EPS) + grid)
