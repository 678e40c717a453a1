"""Constraints and the Lagrangian (DESIGN §9.3, §9.7): the math layer (level 3, NumPy only).

* ``sets``: ``ConstraintSet`` — parse/validate the ``constraints`` section; g(θ) ≤ 0, h(θ) = 0,
  Jacobians, infeasibility, multipliers as the §9.3 dictionary.
* ``projections``: exact Euclidean projections (box, L1/L2/L∞ balls, affine, any combination).
* ``qp``: an exact convex QP solver (primal active set) and a Lawson–Hanson NNLS.
* ``solve``: the constrained reference (least squares, quadratic, logistic), KKT residuals,
  multipliers of a projected iterate, the Lagrange dual function.
"""

from optrun.constraints.projections import (project, project_affine, project_box, project_l1_ball,
                                            project_l2_ball, project_linf_ball, project_norm_ball)
from optrun.constraints.qp import QPInfeasible, QPResult, QPUnbounded, min_norm_qp, nnls, phase_one, solve_qp
from optrun.constraints.sets import ConstraintSet
from optrun.constraints.solve import (ConstrainedReference, QuadraticObjective, Solution, active_flags,
                                      dual_quadratic, fit_multipliers, kkt_residuals, minimise_quadratic,
                                      solve_constrained)

__all__ = [
    "ConstrainedReference", "ConstraintSet", "QPInfeasible", "QPResult", "QPUnbounded", "QuadraticObjective",
    "Solution", "active_flags", "dual_quadratic", "fit_multipliers", "kkt_residuals", "min_norm_qp",
    "minimise_quadratic", "nnls", "phase_one", "project", "project_affine", "project_box", "project_l1_ball",
    "project_l2_ball", "project_linf_ball", "project_norm_ball", "solve_constrained", "solve_qp",
]
