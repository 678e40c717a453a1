"""The lecture's second-half figures, as plain data (NumPy only; matplotlib is in
:mod:`optrun.plots.lecture_figures`), one module per figure, re-exported here.

Everything comes from the run folders (``config.yaml``, ``trace.csv``, ``summary.json``) and, where
a figure needs the objective, from the objective rebuilt from the resolved config (never from
training again):

* :func:`oned_data` — one parameter: f(θ) over θ with the numbered iterates, and the tangents of
  f′ whose zeros are the Newton–Raphson steps (x_{k+1} = x_k − f′(x_k)/f″(x_k): the tangent of f′
  at x_k, y = f′(x_k) + f″(x_k)(θ − x_k), meets y = 0 there).
* :func:`build_contour` — the contour figure's data: native axes for analytic functions with every
  known minimiser, the feasible region of a ``constraints`` section (mask of g(θ) ≤ 0 on the grid,
  its boundary max_i g_i(θ) = 0, equality lines h_j(θ) = 0), the constrained θ* (summary) and the
  unconstrained one (recomputed by :func:`optrun.prepare.prepare` without the section); runs on
  different objectives over the same parameters (``--vary loss.name=bce,mse``) become side-by-side
  panels sharing one frame.
* :func:`duality_data` — primal f(θ_t), dual d(λ_t) ≤ p* (weak duality) and the gap per step; for
  one inequality on a quadratic objective the dual function d(λ) over λ ≥ 0 with the run's
  multipliers λ_t on it (recovered from the logged θ_t by the method's update
  λ ← max(0, λ + η g(θ)), checked against the logged ``dual_value``).
* :func:`path_data` — a regularisation path: each coefficient against the penalty (``loss.l1``,
  ``loss.l2``, ``constraints.norm.radius``) over run folders, support changes marked.
* :func:`convexity_data` — the loss on a line θ* + t·d and the chord of Jensen's inequality
  f(sθa + (1−s)θb) ≤ s f(θa) + (1−s) f(θb), at the pair of points where it fails most (or, when
  it never fails, the widest chord).
* :func:`surface_data` — f over the contour grid, for a 3-D surface.
"""

from __future__ import annotations

from optrun.plots.lecture.objective import (  # noqa: F401
    ANALYTIC,
    analytic_frame,
    in_view,
    is_analytic,
    load_problem,
    minimizers,
    objective_key,
    objective_title,
    span,
    split_by_objective,
    title_of,
    values_at,
)
from optrun.plots.lecture.oned import (  # noqa: F401
    Iterates,
    OneDData,
    Tangent,
    oned_data,
    wants_tangents,
)
from optrun.plots.lecture.constraints import (  # noqa: F401
    METHOD_KEYS,
    constraint_points,
    constraint_set,
    free_reference,
    g_rows,
    h_rows,
    rebase,
)
from optrun.plots.lecture.contours import (  # noqa: F401
    ContourPanels,
    LectureContour,
    Overlay,
    SurfaceData,
    build_contour,
    contour_panels,
    native_frame,
    overlay_for,
    surface_data,
    user_frame,
)
from optrun.plots.lecture.duality import (  # noqa: F401
    DualFunction,
    DualRun,
    DualityData,
    dual_function,
    duality_data,
    has_dual,
    quadratic_model,
    recover_multipliers,
)
from optrun.plots.lecture.path import (  # noqa: F401
    PATH_KEYS,
    PathFigure,
    path_data,
)
from optrun.plots.lecture.convexity import (  # noqa: F401
    ConvexityData,
    Slice,
    convexity_applies,
    convexity_data,
    jensen_chord,
)
