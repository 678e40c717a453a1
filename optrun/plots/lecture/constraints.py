"""The geometry of a ``constraints`` section on the plots: g(θ) and h(θ) row-wise, the
unconstrained optimum (the config prepared again without the section), contours re-based on it."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from optrun.plots.lecture.objective import is_analytic
from optrun.plots.model import ContourData
from optrun.plots.rundata import RunData

METHOD_KEYS = ("method", "dual_lr", "rho")  # the constraints section's keys that are not sets


def constraint_set(run: RunData):
    """The run's :class:`optrun.constraints.ConstraintSet` (None without a constraints section)."""
    cfg = run.config or {}
    ccfg = cfg.get("constraints")
    if not ccfg:
        return None
    from optrun.constraints import ConstraintSet

    sets = {k: v for k, v in ccfg.items() if k not in METHOD_KEYS}
    intercept = bool((cfg.get("model") or {}).get("fit_intercept")) and not is_analytic(run)
    return ConstraintSet.from_config(sets, len(run.param_names), intercept)


def g_rows(cs, thetas: np.ndarray) -> np.ndarray:
    """g(θ) for each row (N, p) -> (N, m), in the order of ``cs.labels()`` (= ``cs.g`` row-wise)."""
    T = np.asarray(thetas, float)
    lo, up = np.isfinite(cs.lower), np.isfinite(cs.upper)
    parts = [cs.lower[lo][None, :] - T[:, lo], T[:, up] - cs.upper[up][None, :]]
    if cs.norm_ord is not None:
        W = T[:, cs.weight_mask()]
        parts.append((np.linalg.norm(W, ord=cs.norm_ord, axis=1) - cs.radius)[:, None])
    parts.append(T @ cs.G.T - cs.h[None, :])
    return np.concatenate(parts, axis=1)


def h_rows(cs, thetas: np.ndarray) -> np.ndarray:
    """h(θ) = Aθ − b for each row: (N, m_eq)."""
    return np.asarray(thetas, float) @ cs.A.T - cs.b[None, :]


_FREE: dict[str, tuple] = {}  # run folder -> its unconstrained (θ*, f*) (one prepare per drawing)


def free_reference(run: RunData) -> tuple[np.ndarray | None, float | None]:
    """(θ*, f*) of a constrained run's problem without its constraints: the config without
    ``constraints``, prepared again (:func:`optrun.prepare.prepare`), its ``reference``."""
    key = str(run.path)
    if key not in _FREE:
        _FREE[key] = _free_reference(run)
    return _FREE[key]


def _free_reference(run: RunData) -> tuple[np.ndarray | None, float | None]:
    from optrun.prepare import prepare

    cfg = copy.deepcopy(run.config)
    cfg["constraints"] = None
    ref = prepare(cfg).reference
    if ref is None:
        return None, None
    ts = None if ref.theta_star is None else np.asarray(ref.theta_star, float)
    return ts, None if ref.f_star is None else float(ref.f_star)


def rebase(cd: ContourData, f_free: float | None) -> ContourData:
    """Contours of a constrained run: f − f*(unconstrained) ≥ 0 (f − f*(constrained) is negative
    around the unconstrained minimum, where log-spaced levels cannot go). When a constraint is
    active at θ* (f(θ*) above the unconstrained minimum), one contour goes through θ*, where it
    touches the constraint (:func:`~optrun.plots.contour.contour_levels` with ``through``)."""
    from optrun.plots.contour import contour_levels, draws_through

    F = cd.Z + cd.f_ref
    if f_free is not None:
        Z, label, ref = F - f_free, "f(θ) − min f without constraints", f_free
    else:
        lo = float(np.nanmin(F))
        Z, label, ref = F - lo, "f(θ) − (lowest value in the frame)", lo
    # cd.f_ref is the run's f* (the constrained optimum) when the figure has θ*; on a projected
    # plane the level set's slice need not touch the constraint's, so only on native axes
    through = cd.f_ref - ref if cd.star is not None and cd.native else None
    if through is not None and through > 1e-9 * max(1.0, abs(ref)) and draws_through(Z, through):
        return replace(cd, Z=Z, levels=contour_levels(Z, through=through), zlabel=label, f_ref=float(ref),
                       level_rule="log-spaced levels, one through θ*",
                       notes=cd.notes + ["one contour goes through θ*: there it touches the constraint (KKT)"])
    return replace(cd, Z=Z, levels=contour_levels(Z), zlabel=label, f_ref=float(ref))


def constraint_points(run: RunData) -> list[np.ndarray]:
    """Points a constrained figure should show: the unconstrained θ* and, for a norm ball, its
    extreme points on the axes (so the whole ball is in the frame)."""
    pts = []
    try:
        ts, _ = free_reference(run)
    except Exception:
        ts = None
    if ts is not None:
        pts.append(ts)
    cs = constraint_set(run)
    if cs is not None and cs.norm_ord is not None:
        for j in np.flatnonzero(cs.weight_mask()):
            for sgn in (-1.0, 1.0):
                e = np.zeros(cs.p)
                e[j] = sgn * cs.radius
                pts.append(e)
    return pts
