"""Convexity: the loss on a line θ* + t·d and the chord of Jensen's inequality
f(sθa + (1−s)θb) ≤ s f(θa) + (1−s) f(θb), at the pair of points where it fails most (or, when it
never fails, the widest chord)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optrun.plots.lecture.objective import is_analytic, load_problem, objective_title, split_by_objective, title_of, values_at
from optrun.plots.rundata import Group, RunData

@dataclass
class Slice:
    t: np.ndarray  # position along the line θ* + t d
    f: np.ndarray
    label: str
    color: str
    chord: tuple[float, float] | None  # (t_a, t_b): Jensen's chord between these points
    violation: float  # max over the chord of f − chord (> 0: Jensen fails: not convex)


@dataclass
class ConvexityData:
    slices: list[Slice]
    xlabel: str
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)


def jensen_chord(t: np.ndarray, f: np.ndarray, coarse: int = 81) -> tuple[tuple[float, float], float]:
    """The pair (t_a, t_b) where f rises most above the chord between (t_a, f_a) and (t_b, f_b),
    and that height; a convex f gives ≤ 0 everywhere, and then the widest chord is returned."""
    idx = np.unique(np.linspace(0, len(t) - 1, min(coarse, len(t))).round().astype(int))
    ts, fs = t[idx], f[idx]
    best, pair = -math.inf, (0, len(ts) - 1)
    for i in range(len(ts)):
        for j in range(i + 2, len(ts)):
            s = (ts[i + 1 : j] - ts[i]) / (ts[j] - ts[i])
            chord = fs[i] + s * (fs[j] - fs[i])
            h = float(np.max(fs[i + 1 : j] - chord))
            if h > best:
                best, pair = h, (i, j)
    scale = max(1.0, float(np.max(np.abs(fs[np.isfinite(fs)]), initial=0.0)))
    if best <= 1e-12 * scale:
        return (float(t[0]), float(t[-1])), best
    return (float(ts[pair[0]]), float(ts[pair[1]])), best


def convexity_data(groups: list[Group], grid: int = 241, reach: float = 3.0) -> ConvexityData | str:
    """For each objective among the groups: F(θ* + t d) for t in [−T, T], d the unit direction
    from θ* to the first run's start (T = ``reach`` × that distance, at least ``reach``)."""
    slices, notes = [], []
    for sub in split_by_objective(groups):
        r = sub[0].first
        problem, why = load_problem(r)
        if problem is None:
            notes.append(f"{objective_title(r)}: not drawn ({why})")
            continue
        centre = r.theta_star if r.theta_star is not None else r.params[-1]
        where = "" if r.theta_star is not None else " (final θ)"  # the panel title stays short: a note says why
        if r.theta_star is None:
            notes.append(f"{objective_title(r)}: no θ* in summary.json, its line passes through the final θ")
        d = r.params[0] - centre
        dist = float(np.linalg.norm(d))
        if dist < 1e-12:
            d, dist = np.eye(len(centre))[0], 0.0
        d = d / np.linalg.norm(d)
        T = reach * max(dist, 1.0)
        t = np.linspace(-T, T, grid)
        f = values_at(problem, centre[None, :] + t[:, None] * d[None, :])
        chord, viol = jensen_chord(t, f)
        slices.append(Slice(t, f, objective_title(r) + where, sub[0].color, chord, viol))
    if not slices:
        return "; ".join(notes) or "nothing to draw"
    title, sub = title_of(groups)
    notes.append("each panel: the loss on the line θ* + t·d, d the unit direction from θ* to the start; "
                 "dashed: the chord of Jensen's inequality f(sθa + (1−s)θb) ≤ s f(θa) + (1−s) f(θb)")
    return ConvexityData(slices, "t (distance from θ* along d)", title, sub, notes)


def convexity_applies(runs: list[RunData]) -> bool:
    """Logistic regression (bce is convex, mse is not) or runs on several losses of one model."""
    cfgs = [r.config or {} for r in runs]
    if any(is_analytic(r) for r in runs) or any(c.get("constraints") for c in cfgs):
        return False
    models = {str((c.get("model") or {}).get("name")) for c in cfgs}
    losses = {str((c.get("loss") or {}).get("name")) for c in cfgs}
    return "logistic" in models or (len(losses) > 1 and len(models) == 1)
