"""A regularisation path: each coefficient against the penalty (``loss.l1``, ``loss.l2``,
``constraints.norm.radius``) over run folders, support changes marked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optrun._text import flatten
from optrun.plots.rundata import RunData

PATH_KEYS = ("loss.l1", "loss.l2", "constraints.norm.radius")


@dataclass
class PathFigure:
    key: str
    x: np.ndarray  # the penalty (sorted, > 0)
    coef: np.ndarray  # (k, d) coefficients (intercept excluded)
    names: list[str]
    source: str  # "θ*" or "final θ"
    changes: list[tuple[float, str]]  # (x between two runs, "+w_a −w_b")
    l1_max: float | None
    title: str
    notes: list[str] = field(default_factory=list)


def path_data(runs: list[RunData], key: str, tol: float = 1e-10) -> PathFigure | str:
    """Every weight against ``key`` over the runs (θ* from summary.json, else the final θ)."""
    rows = []
    notes = []
    for r in runs:
        v = flatten(r.config or {}).get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            notes.append(f"{r.path.name}: no number at {key}")
            continue
        ts = r.theta_star
        rows.append((float(v), ts if ts is not None else r.params[-1], ts is not None, r))
    if not rows:
        return f"no run has a number at {key}"
    zero = [x for x in rows if x[0] <= 0]
    if zero:
        notes.append(f"{len(zero)} run(s) with {key} = 0 not drawn (log axis)")
    rows = sorted([x for x in rows if x[0] > 0], key=lambda x: x[0])
    if len(rows) < 2:
        return f"fewer than two runs with {key} > 0 (found {len(rows)})"
    names = rows[0][3].param_names
    keep = [n != "b" for n in names]
    x = np.array([x[0] for x in rows])
    coef = np.array([np.asarray(x[1], float)[keep] for x in rows])
    wn = [n for n, k in zip(names, keep) if k]
    src = "θ*" if all(x[2] for x in rows) else ("final θ" if not any(x[2] for x in rows) else "θ* where known, else final θ")
    nz = np.abs(coef) > tol
    changes = []
    for i in range(1, len(x)):
        enter = [wn[j] for j in np.flatnonzero(nz[i] & ~nz[i - 1])]
        leave = [wn[j] for j in np.flatnonzero(~nz[i] & nz[i - 1])]
        if enter or leave:
            changes.append((float(math.sqrt(x[i - 1] * x[i])), " ".join([f"+{n}" for n in enter] + [f"−{n}" for n in leave])))
    l1_max = rows[0][3].summary.get("l1_max") if key == "loss.l1" else None
    title = f"regularisation path over {key} ({len(x)} runs)"
    if src != "θ*":
        notes.append(f"coefficients: {src} (no exact optimum in some summary.json)")
    if changes:  # numbered on the figure, spelled out here: rotated names overlapped the curves and each other
        listed = "; ".join(f"{i} (≈{xc:.3g}): {text}" for i, (xc, text) in enumerate(changes, start=1))
        notes.append(f"dotted lines: the support changes between neighbouring runs (+ enters, − leaves): {listed}")
    return PathFigure(key, x, coef, wn, src, changes, float(l1_max) if l1_max is not None else None, title, notes)
