"""The reference of an objective without data (DESIGN.md §9.1, §9.7): what the catalogue (or the
closed form of a quadratic) knows, and the Hessian spectrum at the minimiser.

* one minimiser: ``theta_star`` and ``f_star``, the spectrum at theta*;
* several (Himmelblau's four): ``f_star`` their common value, ``theta_star`` None, the list in
  ``extra["minimizers"]``, the spectrum at the first of them;
* unbounded below (the saddle x² − y², x²y, an indefinite quadratic): ``f_star`` None, the note
  says "unbounded below", the spectrum at the default start.
"""

from __future__ import annotations

import numpy as np

from optrun.reference.result import Reference
from optrun.reference.spectrum import conditioning, gd_rate_note


def analytic_reference(fn) -> Reference:
    """The :class:`Reference` of an :class:`optrun.analytic.AnalyticFunction`."""
    minimizers = [np.asarray(m, dtype=np.float64) for m in fn.minimizers]
    theta_star = fn.theta_star
    at = minimizers[0] if minimizers else np.asarray(fn.init, dtype=np.float64)
    H = np.asarray(fn.hessian(at), dtype=np.float64)
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    scale = max(1.0, float(np.max(np.abs(eig), initial=0.0)))
    singular = bool(eig[0] <= 64 * np.finfo(float).eps * scale)
    convex = fn.convex
    if eig[0] < -64 * np.finfo(float).eps * scale:
        convex = False  # negative curvature at the point: not convex
    L, mu, strong, kappa, max_lr = conditioning(eig, singular, convex)
    quadratic = fn.name == "quadratic" or fn.name in ("x_squared", "quadratic_bowl", "booth", "matyas")
    at_name = "theta_star" if minimizers else "zero"
    if fn.f_star is None:
        status, rate = "unbounded", "the objective is unbounded below: no minimiser, no rate"
    else:
        status = "exact" if theta_star is not None else "several minimizers"
        rate = gd_rate_note(L, mu, quadratic=quadratic, at=at_name, convex=convex)
    extra = {"minimizers": [[float(v) for v in m] for m in minimizers], "function": fn.name}
    return Reference(
        theta_star=theta_star, f_star=None if fn.f_star is None else float(fn.f_star), status=status,
        note=fn.note, separable=None, hessian_eigenvalues=eig, condition_number=kappa, lipschitz=L,
        strong_convexity=strong, max_stable_lr=max_lr, iterations=0, gd_rate_note=rate,
        hessian_at="theta_star" if minimizers else "init", grad_norm=None if theta_star is None else
        float(np.linalg.norm(fn.grad(theta_star))),
        # evaluating f near theta* costs a few roundings of |f*| (the catalogue's values are exact)
        f_star_rounding=None if fn.f_star is None else 4 * np.finfo(float).eps * max(1.0, abs(float(fn.f_star))),
        extra=extra,
    )
