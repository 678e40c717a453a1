"""The objective of a run, objectives without data included (``model: function | quadratic``):
rebuilt from the resolved config, evaluated on points, named in titles; runs split by objective."""

from __future__ import annotations

import json
import math

import numpy as np

from optrun.plots.labels import ANALYTIC_MODELS, figure_title
from optrun.plots.model import ProblemData
from optrun.plots.rundata import Group, RunData
from optrun.plots.rundata import load_problem  # noqa: F401  (objectives without data too)

ANALYTIC = ANALYTIC_MODELS  # model names without data (optrun.config.keys.ANALYTIC_MODELS)


def is_analytic(run: RunData) -> bool:
    return str(((run.config or {}).get("model") or {}).get("name")) in ANALYTIC


def values_at(problem: ProblemData, thetas: np.ndarray) -> np.ndarray:
    """F(θ) for each row of ``thetas`` (inf where it overflows)."""
    obj, X, y = problem.objective, problem.X, problem.y
    out = np.empty(len(thetas))
    with np.errstate(all="ignore"):
        for i, t in enumerate(thetas):
            try:
                out[i] = float(obj.value(t, X, y))
            except (FloatingPointError, OverflowError, ValueError):
                out[i] = math.inf
    return out


def minimizers(run: RunData) -> list[np.ndarray]:
    """Every known global minimiser (summary ``diagnostics.minimizers``), else θ* alone."""
    ms = (run.summary.get("diagnostics") or {}).get("minimizers")
    if ms:
        return [np.asarray(m, float) for m in ms if m is not None and len(m) == len(run.param_names)]
    return [run.theta_star] if run.theta_star is not None else []


def analytic_frame(run: RunData) -> tuple[tuple[float, float], ...] | None:
    """The catalogue's plotting box of an analytic function (None for quadratics and data)."""
    m = (run.config or {}).get("model") or {}
    if m.get("name") != "function":
        return None
    try:
        from optrun.analytic import make_function

        return make_function(m["function"], m.get("function_params")).frame
    except Exception:
        return None


def span(values, margin: float = 0.12) -> tuple[float, float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    w = hi - lo
    if w <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        w = max(abs(lo), 1.0)
        return lo - 0.5 * w, hi + 0.5 * w
    return lo - margin * w, hi + margin * w


def in_view(run: RunData) -> np.ndarray:
    """Rows of a run to frame: all, or for a diverged run those with loss at most twice the start."""
    loss = run.trace["loss"].to_numpy(float)
    keep = np.all(np.isfinite(run.params), axis=1)
    if run.diverged:
        keep &= np.isfinite(loss) & (loss <= 2.0 * max(abs(loss[0]), 1e-300))
        keep[:1] = True
    return keep


def title_of(groups: list[Group]) -> tuple[str, str]:
    """:func:`optrun.plots.labels.figure_title` (an objective without data is named by its formula there)."""
    return figure_title(groups)


def objective_key(run: RunData) -> str:
    """Runs with equal keys minimise the same function of θ given the data (model and loss) over
    the same set (the constraints without the method that solves them: the Lagrange example's
    project, primal-dual and augmented-Lagrangian runs share one panel)."""
    cfg = run.config or {}
    model = {k: v for k, v in (cfg.get("model") or {}).items() if k not in ("init", "init_scale")}
    cons = cfg.get("constraints")
    if isinstance(cons, dict):
        cons = {k: v for k, v in cons.items() if k not in ("method", "dual_lr", "rho")}
    return json.dumps([model, cfg.get("loss"), cons, run.param_names], sort_keys=True, default=str)


def objective_title(run: RunData) -> str:
    cfg = run.config or {}
    model, loss = cfg.get("model") or {}, cfg.get("loss") or {}
    if is_analytic(run):
        return str(model.get("function") or model.get("name"))
    pen = [f"{k}={loss[k]:g}" for k in ("l2", "l1") if loss.get(k)]
    text = f"{model.get('name', '?')} + {loss.get('name', '?')}" + (f" + {', '.join(pen)}" if pen else "")
    return text + (" (constrained)" if cfg.get("constraints") else "")


def split_by_objective(groups: list[Group]) -> list[list[Group]]:
    """The groups, split by the objective of their first run (in order of first appearance)."""
    parts: dict[str, list[Group]] = {}
    for g in groups:
        parts.setdefault(objective_key(g.first), []).append(g)
    return list(parts.values())
