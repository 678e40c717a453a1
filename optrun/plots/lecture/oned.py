"""One parameter: f(θ) over θ with the numbered iterates, and the tangents of f′ whose zeros
are the Newton–Raphson steps (x_{k+1} = x_k − f′(x_k)/f″(x_k): the tangent of f′ at x_k,
y = f′(x_k) + f″(x_k)(θ − x_k), meets y = 0 there)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optrun.plots.lecture.objective import analytic_frame, in_view, span, title_of, values_at
from optrun.plots.model import ProblemData
from optrun.plots.rundata import Group, thin

@dataclass
class Iterates:
    theta: np.ndarray  # θ_k of the drawn rows
    f: np.ndarray  # f(θ_k) (the trace's loss column)
    steps: np.ndarray  # the trace's step of each row
    label: str | None
    color: str
    numbered: int  # how many of the first points carry their number


@dataclass
class Tangent:
    """The tangent of f′ at x_k: y = slope (θ − x) + fprime; it meets y = 0 at ``zero``."""

    x: float
    fprime: float
    slope: float  # f″(x_k)
    zero: float  # x_k − f′(x_k)/f″(x_k) (nan when f″ = 0)
    k: int  # the step number of x_k


@dataclass
class OneDData:
    theta: np.ndarray  # grid (G,)
    f: np.ndarray  # f on the grid
    fprime: np.ndarray | None  # f′ on the grid (with tangents)
    iterates: list[Iterates]
    tangents: list[Tangent]
    star: float | None
    f_star: float | None
    xlabel: str
    title: str
    subtitle: str
    xlim: tuple[float, float]
    notes: list[str] = field(default_factory=list)


def wants_tangents(groups: list[Group], options: dict) -> bool:
    """Tangents for Newton runs, or for any run on request (``--tangents``)."""
    return bool(options.get("tangents")) or any(r.optimizer == "newton" for g in groups for r in g.runs)


def oned_data(groups: list[Group], problem: ProblemData, options: dict | None = None, grid: int = 401) -> OneDData:
    """f(θ) over θ with each run's iterates; tangents of f′ at the first run's iterates."""
    options = options or {}
    first = groups[0].first
    obj, X, y = problem.objective, problem.X, problem.y
    pts = [first.theta_star[0]] if first.theta_star is not None else []
    for g in groups:
        for r in g.runs:
            pts.extend(r.params[in_view(r), 0])
    lo, hi = span(pts)
    box = analytic_frame(first)
    if box is not None:
        lo, hi = min(lo, box[0][0]), max(hi, box[0][1])
    if options.get("xlim"):
        lo, hi = map(float, options["xlim"])
    theta = np.linspace(lo, hi, grid)
    f = values_at(problem, theta[:, None])
    tang = wants_tangents(groups, options)
    iterates = []
    for g in groups:
        for i, r in enumerate(g.runs):
            idx = thin(len(r.params), 400)
            iterates.append(Iterates(r.params[idx, 0], r.trace["loss"].to_numpy(float)[idx],
                                     r.trace["step"].to_numpy(float)[idx], g.label if i == 0 else None, g.color,
                                     numbered=min(len(idx), 12) if len(groups) == 1 and i == 0 else 0))
    fprime, tangents = None, []
    notes = []
    if tang:
        fprime = np.array([float(obj.grad(np.array([t]), X, y)[0]) for t in theta])
        P, steps = first.params[:, 0], first.trace["step"].to_numpy(float)
        for k in range(min(len(P), 8)):
            x = float(P[k])
            if not math.isfinite(x):
                break
            d1 = float(obj.grad(np.array([x]), X, y)[0])
            d2 = float(np.asarray(obj.hessian(np.array([x]), X, y)).reshape(-1)[0])
            zero = x - d1 / d2 if d2 != 0 else math.nan
            tangents.append(Tangent(x, d1, d2, zero, int(steps[k])))
        notes.append("right: f′ and its tangent at each x_k; the tangent meets zero at x_k − f′(x_k)/f″(x_k), "
                     "the Newton–Raphson step (Newton's method is root finding on f′)")
    title, sub = title_of(groups)
    return OneDData(theta, f, fprime, iterates, tangents, first.theta_star[0] if first.theta_star is not None else None,
                    first.f_star, first.param_names[0], title, sub, (lo, hi), notes)
