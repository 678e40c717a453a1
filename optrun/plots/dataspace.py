"""The data space of a one-feature problem: the data, and the fitted model at several steps.

Linear regression shows the fitted line ``w x + b``, logistic regression the probability curve
``sigmoid(w x + b)`` and its decision boundary ``x = -b / w`` (where p = 1/2), from step 0
through roughly log-spaced steps to the last one, each later step darker; θ*'s fit is dashed.
"""

from __future__ import annotations

import numpy as np

from optrun.plots.colors import shade
from optrun.plots.labels import figure_title
from optrun.plots.model import DataPanel, DataSpaceData, FitLine, ProblemData
from optrun.plots.rundata import Group, RunData, load_problem, one_feature, same_problem_runs


def snapshot_rows(steps: np.ndarray, k: int = 6) -> list[int]:
    """Trace rows to show: step 0, then roughly log-spaced steps, and the last row."""
    n = len(steps)
    if n <= k:
        return list(range(n))
    last = steps[-1]
    targets = np.unique(np.concatenate([[0], np.geomspace(1, max(last, 1), k - 1)]))
    rows = sorted({int(np.searchsorted(steps, t)) for t in targets} | {n - 1})
    return [min(r, n - 1) for r in rows]


def dataspace_data(groups: list[Group], problem: ProblemData | None = None, why: str | None = None) -> DataSpaceData | str:
    """The data and the fitted line (linear) or probability curve (logistic) at several steps,
    one panel per setting (at most six), or a string saying why it cannot be drawn."""
    first = groups[0].first
    if not one_feature(first):
        return "not a one-feature problem"
    if problem is None and why is None:
        problem, why = load_problem(first)
    if problem is None:
        return why or "no data"
    obj = problem.objective
    xv, yv = problem.X[:, 0], problem.y
    lo, hi = float(xv.min()), float(xv.max())
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    grid = np.linspace(lo - pad, hi + pad, 200)
    Xg = grid[:, None]
    logistic = obj.model == "logistic"

    def fit(theta):
        with np.errstate(all="ignore"):
            return np.asarray(obj.predict(np.asarray(theta, float), Xg), float)

    def boundary(theta):
        w, b = obj.split(np.asarray(theta, float))
        w0 = float(w[0])
        return -float(b) / w0 if (logistic and w0 != 0 and np.isfinite(b)) else None

    same, note = same_problem_runs(groups)
    shown = [g for g in groups if any(r in same for r in g.runs)][:6]
    panels = [_panel(g, next(r for r in g.runs if r in same), grid, fit, boundary) for g in shown]
    notes = [note] if note else []
    if len(groups) > 6:
        notes.append(f"first 6 of {len(groups)} settings shown")
    feat = problem.feature_names[0] if problem.feature_names else "x"
    xlabel = f"{feat}" + (" (standardized)" if problem.standardized else "")
    ylabel = f"{problem.target_name}" + (" (P(y = 1) for the curves)" if logistic else "")
    title, sub = figure_title(groups)
    return DataSpaceData(xv, yv, xlabel, ylabel, obj.model, panels, title, sub, notes)


def _panel(g: Group, r: RunData, grid: np.ndarray, fit, boundary) -> DataPanel:
    """One setting: the fit at the snapshot rows (later steps darker), θ*'s fit dashed."""
    steps = r.trace["step"].to_numpy()
    rows = snapshot_rows(steps)
    lines = []
    n = len(rows)
    for j, row in enumerate(rows):
        theta = r.params[row]
        if not np.all(np.isfinite(theta)):
            continue
        t_frac = j / max(n - 1, 1)
        color = shade(g.color, 0.75 * (1 - t_frac)) if g.color.startswith("#") else g.color
        lines.append(FitLine(grid, fit(theta), f"step {int(steps[row])}", color, 0.5 + 0.5 * t_frac,
                             boundary=boundary(theta)))
    star = None
    ts = r.theta_star
    if ts is not None:
        star = FitLine(grid, fit(ts), "θ*", "#000000", 1.0, linestyle="--", boundary=boundary(ts))
    return DataPanel(g.label, lines, star)
