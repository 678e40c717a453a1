"""The lecture's second-half figures, as plain data (NumPy only; matplotlib is in
:mod:`optrun.plots.lecture_figures`).

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

import copy
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from optrun._text import flatten
from optrun.plots.contour import _frame, contour_data, project
from optrun.plots.labels import figure_title
from optrun.plots.model import ContourData, ProblemData
from optrun.plots.rundata import Group, RunData, thin
from optrun.plots.rundata import load_problem as load_data_problem

ANALYTIC = ("function", "quadratic")  # model names without data (optrun.config.keys.ANALYTIC_MODELS)
METHOD_KEYS = ("method", "dual_lr", "rho")  # the constraints section's keys that are not sets


# ---- the objective of a run (objectives without data included) -------------------------------


def is_analytic(run: RunData) -> bool:
    return str(((run.config or {}).get("model") or {}).get("name")) in ANALYTIC


def load_problem(run: RunData) -> tuple[ProblemData | None, str | None]:
    """:func:`optrun.plots.rundata.load_problem`, plus objectives without data (``model:
    function | quadratic``): an :class:`optrun.analytic.AnalyticObjective` on a 0-column placeholder."""
    if run.config is None or not is_analytic(run):
        return load_data_problem(run)
    from optrun.analytic import make_objective

    m = run.config["model"]
    try:
        if m["name"] == "quadratic":
            obj = make_objective("quadratic", {"A": m["A"], "b": m.get("b"), "c": m.get("c", 0.0)})
        else:
            obj = make_objective(m["function"], m.get("function_params"))
    except Exception as exc:
        return None, f"cannot rebuild the function ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if obj.n_params() != len(run.param_names):
        return None, f"the function has {obj.n_params()} parameters, the trace {len(run.param_names)}"
    return ProblemData(np.zeros((1, 0)), np.zeros(1), obj, [], "", False), None


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


def _span(values, margin: float = 0.12) -> tuple[float, float]:
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


def _in_view(run: RunData) -> np.ndarray:
    """Rows of a run to frame: all, or for a diverged run those with loss at most twice the start."""
    loss = run.trace["loss"].to_numpy(float)
    keep = np.all(np.isfinite(run.params), axis=1)
    if run.diverged:
        keep &= np.isfinite(loss) & (loss <= 2.0 * max(abs(loss[0]), 1e-300))
        keep[:1] = True
    return keep


# ---- 1. one parameter: f(θ), the iterates, Newton's tangents -----------------------------------


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
            pts.extend(r.params[_in_view(r), 0])
    lo, hi = _span(pts)
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


# ---- 2./3. contours: minimisers, the feasible region, side-by-side problems --------------------


@dataclass
class Overlay:
    """What the lecture adds to a contour figure (plane coordinates of the ContourData)."""

    minimizers: list[tuple[float, float]] = field(default_factory=list)
    feasible: np.ndarray | None = None  # (Gc, Ga) bool: every g_i(θ) ≤ 0
    gmax: np.ndarray | None = None  # (Gc, Ga) max_i g_i(θ): its zero level is the boundary
    equalities: list[np.ndarray] = field(default_factory=list)  # (Gc, Ga) h_j(θ): zero level lines
    free_star: tuple[float, float] | None = None  # the unconstrained θ*
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.minimizers or self.feasible is not None or self.equalities or self.free_star)


@dataclass
class LectureContour:
    cd: ContourData
    overlay: Overlay
    panel_title: str = ""


@dataclass
class ContourPanels:
    """Runs on different objectives over the same parameters, side by side in one frame."""

    panels: list[LectureContour]
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)


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
    around the unconstrained minimum, where log-spaced levels cannot go)."""
    from optrun.plots.contour import contour_levels

    F = cd.Z + cd.f_ref
    if f_free is not None:
        Z, label, ref = F - f_free, "f(θ) − min f without constraints", f_free
    else:
        lo = float(np.nanmin(F))
        Z, label, ref = F - lo, "f(θ) − (lowest value in the frame)", lo
    return replace(cd, Z=Z, levels=contour_levels(Z), zlabel=label, f_ref=float(ref))


def overlay_for(cd: ContourData, run: RunData, analytic: bool) -> tuple[ContourData, Overlay]:
    """Minimisers (analytic functions) and the constraint geometry on the grid of ``cd``; a
    constrained run's contours re-based on the unconstrained minimum (:func:`rebase`)."""
    ov = Overlay()
    frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])

    def inside(a, c):
        return frame[0] <= a <= frame[1] and frame[2] <= c <= frame[3]

    if analytic:
        ms = minimizers(run)
        if len(ms) > 1 or run.theta_star is None:
            for m in ms:
                a, c, _ = project(m[None, :], cd.origin, cd.basis)
                ov.minimizers.append((float(a[0]), float(c[0])))
            if len(ms) > 1:
                shown = sum(inside(*m) for m in ov.minimizers)
                ov.notes.append(f"{len(ms)} global minimisers (f* = {run.f_star:g} at each), {shown} in the frame"
                                if run.f_star is not None else f"{len(ms)} global minimisers")
    cs = constraint_set(run)
    if cs is None:
        return cd, ov
    AA, CC = np.meshgrid(cd.A, cd.C)
    T = cd.origin[None, :] + np.column_stack([AA.ravel(), CC.ravel()]) @ cd.basis.T
    if cs.labels():
        G = g_rows(cs, T)
        gmax = G.max(axis=1).reshape(AA.shape)
        ov.gmax, ov.feasible = gmax, gmax <= 0.0
    if cs.A.shape[0]:
        H = h_rows(cs, T)
        ov.equalities = [H[:, j].reshape(AA.shape) for j in range(H.shape[1])]
    try:
        ts, f_free = free_reference(run)
    except Exception as exc:  # the unconstrained problem may be unbounded or have no closed form
        ts, f_free = None, None
        ov.notes.append(f"no unconstrained θ* ({str(exc).splitlines()[0]})")
    cd = rebase(cd, f_free)
    if ts is not None:
        a, c, _ = project(ts[None, :], cd.origin, cd.basis)
        ov.free_star = (float(a[0]), float(c[0]))
    elif analytic and not ov.notes:
        ov.notes.append("the unconstrained problem has no unique θ*")
    ov.notes.append("shaded: the feasible region {θ : g(θ) ≤ 0}; solid line: its boundary"
                    + ("; dashed: the equalities Aθ = b" if ov.equalities else "")
                    + "; filled star: the constrained θ* (summary.json)")
    return cd, ov


def title_of(groups: list[Group]) -> tuple[str, str]:
    """:func:`optrun.plots.labels.figure_title`, naming an objective without data by its function."""
    title, sub = figure_title(groups)
    first = groups[0].first
    if is_analytic(first):
        m = (first.config or {}).get("model") or {}
        title = (f"f(θ) = {m.get('function')}" if m.get("name") == "function" else "f(θ) = ½θᵀAθ + bᵀθ + c") + \
            (" subject to constraints" if (first.config or {}).get("constraints") else "")
    return title, sub


def objective_key(run: RunData) -> str:
    """Runs with equal keys minimise the same function of θ given the data (model and loss)."""
    cfg = run.config or {}
    model = {k: v for k, v in (cfg.get("model") or {}).items() if k not in ("init", "init_scale")}
    return json.dumps([model, cfg.get("loss"), cfg.get("constraints"), run.param_names], sort_keys=True, default=str)


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


def user_frame(options: dict, default: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``--xlim``/``--ylim`` over a default frame."""
    a_lo, a_hi, c_lo, c_hi = default
    if options.get("xlim"):
        a_lo, a_hi = map(float, options["xlim"])
    if options.get("ylim"):
        c_lo, c_hi = map(float, options["ylim"])
    return a_lo, a_hi, c_lo, c_hi


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


def native_frame(groups: list[Group], options: dict) -> tuple[float, float, float, float]:
    """The frame of two native axes: every drawn point, every θ*, the analytic function's box, and
    for constrained runs the unconstrained θ* and the norm ball."""
    pts = []
    if (groups[0].first.config or {}).get("constraints"):
        pts += [(m[:1], m[1:2]) for m in constraint_points(groups[0].first)]
    for g in groups:
        for r in g.runs:
            P = r.params[_in_view(r)]
            pts.append((P[:, 0], P[:, 1]))
            for m in ([r.theta_star] if r.theta_star is not None else []):
                pts.append((m[:1], m[1:2]))
    frame = _frame(pts, None)
    box = analytic_frame(groups[0].first)
    if box is not None:
        frame = (min(frame[0], box[0][0]), max(frame[1], box[0][1]), min(frame[2], box[1][0]), max(frame[3], box[1][1]))
    return user_frame(options, frame)


def build_contour(ctx) -> Any:
    """The data of ``contour.png`` (``ctx``: :class:`optrun.plots.catalog.Context`).

    One parameter: :class:`OneDData`. Runs on several objectives over the same two parameters:
    :class:`ContourPanels`. Analytic functions and constrained runs: :class:`LectureContour`. Else
    the plain :class:`~optrun.plots.model.ContourData` (or the reason it cannot be drawn).
    """
    options = getattr(ctx, "lecture", {}) or {}
    first = ctx.groups[0].first
    if ctx.problem is None:
        return ctx.why or "no data"
    if len(first.param_names) == 1:
        return oned_data(ctx.groups, ctx.problem, options)
    parts = split_by_objective(ctx.groups)
    same_params = all(g.first.param_names == first.param_names for g in ctx.groups)
    if len(parts) > 1 and same_params:
        return contour_panels(ctx, parts, options)
    analytic, constrained = is_analytic(first), bool((first.config or {}).get("constraints"))
    frame = None
    if len(first.param_names) == 2 and (analytic or constrained or options.get("xlim") or options.get("ylim")):
        frame = native_frame(ctx.groups, options)
    elif options.get("xlim") or options.get("ylim"):
        base = ctx.contour()
        if isinstance(base, str):
            return base
        frame = user_frame(options, (base.A[0], base.A[-1], base.C[0], base.C[-1]))
    if frame is None:
        cd = ctx.contour()
    else:
        cd = contour_data(ctx.groups, ctx.x, ctx.projection, problem=ctx.problem, why=ctx.why, frame=frame)
        ctx._contour = cd  # the animation draws the same frame
    if isinstance(cd, str) or not (analytic or constrained):
        return cd
    cd, ov = overlay_for(replace(cd, title=title_of(ctx.groups)[0]), first, analytic)
    return cd if ov.empty else LectureContour(cd, ov)


def contour_panels(ctx, parts: list[list[Group]], options: dict) -> ContourPanels | str:
    """One panel per objective, one frame for all (two parameters: the native axes)."""
    frame = native_frame(ctx.groups, options) if len(ctx.groups[0].first.param_names) == 2 else None
    panels = []
    notes = []
    for sub in parts:
        run = sub[0].first
        problem, why = (ctx.problem, ctx.why) if sub is parts[0] else load_problem(run)
        if problem is None:
            notes.append(f"{objective_title(run)}: not drawn ({why})")
            continue
        cd = contour_data(sub, ctx.x, ctx.projection, problem=problem, why=why, frame=frame)
        if isinstance(cd, str):
            notes.append(f"{objective_title(run)}: not drawn ({cd})")
            continue
        ov = Overlay()
        if is_analytic(run) or (run.config or {}).get("constraints"):
            cd, ov = overlay_for(cd, run, is_analytic(run))
        panels.append(LectureContour(cd, ov, objective_title(run)))
    if not panels:
        return "; ".join(notes) or "nothing to draw"
    title, sub = title_of(ctx.groups)
    if not is_analytic(ctx.groups[0].first):
        from optrun.plots.labels import dataset_text

        title = f"{dataset_text(ctx.groups[0].first.config)} · " + " vs ".join(p.panel_title for p in panels)
    if frame is not None:
        notes.append("one frame for every panel (the same θ region): compare the shapes of the level sets")
    return ContourPanels(panels, title, sub, notes)


# ---- surface ------------------------------------------------------------------------------------


@dataclass
class SurfaceData:
    A: np.ndarray
    C: np.ndarray
    F: np.ndarray  # (Gc, Ga) f(θ) (not f − f*)
    paths: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, str | None]]  # (a, c, f, color, label)
    star: tuple[float, float, float] | None
    xlabel: str
    ylabel: str
    title: str
    subtitle: str
    zlabel: str = "f(θ)"
    notes: list[str] = field(default_factory=list)


def surface_data(cd: ContourData, groups: list[Group], clip_quantile: float = 0.98) -> SurfaceData:
    """f = Z + f_ref on the contour grid, the paths lifted to their logged loss; values above the
    ``clip_quantile`` of the grid are cut (a surface of Rosenbrock or Himmelblau is otherwise a wall)."""
    F = cd.Z + cd.f_ref
    fin = F[np.isfinite(F)]
    notes = []
    cap = float(np.quantile(fin, clip_quantile)) if fin.size else math.inf
    if fin.size and float(fin.max()) > cap:
        F = np.where(F > cap, np.nan, F)
        notes.append(f"values above {cap:.3g} (the top {100 * (1 - clip_quantile):.0f}% of the frame) are cut")
    paths = []
    for p, (g, r) in zip(cd.paths, [(g, r) for g in groups for r in g.runs]):
        loss = r.trace["loss"].to_numpy(float)[thin(len(r.params), 3000)]
        paths.append((p.a, p.c, np.where(loss > cap, np.nan, loss), p.color, p.label))
    star = (cd.star[0], cd.star[1], cd.f_ref) if cd.star is not None else None
    return SurfaceData(cd.A, cd.C, F, paths, star, cd.xlabel, cd.ylabel, cd.title, cd.subtitle, notes=notes)


# ---- 3. duality -------------------------------------------------------------------------------


@dataclass
class DualRun:
    steps: np.ndarray
    primal: np.ndarray  # f(θ_t)
    dual: np.ndarray  # d(λ_t)
    gap: np.ndarray  # f(θ_t) − d(λ_t) (negative when θ_t is infeasible)
    label: str | None
    color: str


@dataclass
class DualFunction:
    """d(λ) over λ ≥ 0 for one inequality on a quadratic objective, and the run's λ_t on it."""

    lam: np.ndarray
    d: np.ndarray
    lam_t: np.ndarray | None  # the run's multipliers (None when they cannot be recovered)
    d_t: np.ndarray | None
    lam_star: float | None
    constraint: str


@dataclass
class DualityData:
    runs: list[DualRun]
    p_star: float | None
    d_star: float | None
    title: str
    subtitle: str
    dual_function: DualFunction | None = None
    notes: list[str] = field(default_factory=list)


def has_dual(run: RunData) -> bool:
    return "dual_value" in run.trace.columns and bool(np.isfinite(run.trace["dual_value"].to_numpy(float)).any())


def quadratic_model(run: RunData, problem: ProblemData | None):
    """(H, c, f0) with f(θ) = f0 + cᵀθ + ½θᵀHθ, when the objective is quadratic (a quadratic
    model, or least squares without l1), else None."""
    if problem is None:
        return None
    obj, X, y = problem.objective, problem.X, problem.y
    m = (run.config or {}).get("model") or {}
    if is_analytic(run) and m.get("name") != "quadratic":
        return None
    if not is_analytic(run) and (obj.model != "linear" or obj.loss not in ("mse", "half_mse") or obj.l1 > 0):
        return None
    zero = np.zeros(len(run.param_names))
    f0, c = obj.value_and_grad(zero, X, y)
    return np.asarray(obj.hessian(zero, X, y), float), np.asarray(c, float), float(f0)


def recover_multipliers(run: RunData, cs) -> tuple[np.ndarray, np.ndarray] | None:
    """(λ_t, ν_t) at each logged row, replaying the multiplier update of ``primal_dual`` and
    ``augmented_lagrangian``: λ_{t} = max(0, λ_{t−1} + η g(θ_t)), ν_t = ν_{t−1} + η h(θ_t), λ_0 = 0,
    η = ``dual_lr`` (``rho`` for the augmented Lagrangian). Needs every step logged (else None)."""
    ccfg = (run.config or {}).get("constraints") or {}
    method = ccfg.get("method")
    if method not in ("primal_dual", "augmented_lagrangian"):
        return None
    steps = run.trace["step"].to_numpy(float)
    if len(steps) > 1 and not np.all(np.diff(steps) == 1):
        return None
    eta = float(ccfg.get("rho" if method == "augmented_lagrangian" else "dual_lr") or 0.0)
    G, Hq = g_rows(cs, run.params), h_rows(cs, run.params)
    lam, nu = np.zeros((len(steps), G.shape[1])), np.zeros((len(steps), Hq.shape[1]))
    for t in range(1, len(steps)):
        lam[t] = np.maximum(0.0, lam[t - 1] + eta * G[t])
        nu[t] = nu[t - 1] + eta * Hq[t]
    return lam, nu


def duality_data(groups: list[Group], problem: ProblemData | None = None) -> DualityData | str:
    """Primal, dual and gap per step for the runs with a ``dual_value`` column; the dual function
    when the first run has one inequality (and no equality) on a quadratic objective."""
    runs = [(g, r) for g in groups for r in g.runs if has_dual(r)]
    if not runs:
        return "no dual_value in the trace (primal_dual or augmented_lagrangian on a quadratic objective)"
    out = []
    seen = set()
    for g, r in runs:
        t = r.trace
        out.append(DualRun(t["step"].to_numpy(float), t["loss"].to_numpy(float), t["dual_value"].to_numpy(float),
                           t["duality_gap"].to_numpy(float), g.label if id(g) not in seen else None, g.color))
        seen.add(id(g))
    first = runs[0][1]
    title, sub = title_of(groups)
    data = DualityData(out, first.f_star, first.summary.get("dual_optimum"), title, sub)
    neg = sum(int(np.sum(d.gap < 0)) for d in out)
    if neg:
        data.notes.append(f"f(θ_t) − d(λ_t) < 0 at {neg} row(s): those θ_t are infeasible (f(θ_t) < p* is possible "
                          "there); weak duality d(λ) ≤ p* holds at every row")
    if problem is None:
        problem, _ = load_problem(first)
    data.dual_function = dual_function(first, problem)
    return data


def dual_function(run: RunData, problem: ProblemData | None, grid: int = 301) -> DualFunction | None:
    """d(λ) of one inequality on a quadratic objective (:func:`optrun.constraints.dual_quadratic`)."""
    from optrun.constraints import dual_quadratic

    cs = constraint_set(run)
    q = quadratic_model(run, problem)
    if cs is None or q is None or len(cs.labels()) != 1 or cs.A.shape[0] or cs.norm_ord == 2.0:
        return None
    H, c, f0 = q
    rec = recover_multipliers(run, cs)
    lam_t = d_t = None
    if rec is not None:
        lam_t = rec[0][:, 0]
        d_t = run.trace["dual_value"].to_numpy(float)
        # the replayed multipliers must give the logged dual values (else the update differs)
        back = np.array([dual_quadratic(cs, H, c, f0, (np.array([v]), np.zeros(0))) for v in lam_t])
        if not np.allclose(back, d_t, rtol=1e-7, atol=1e-9 * max(1.0, float(np.nanmax(np.abs(d_t))))):
            lam_t = d_t = None
    mult = (run.summary.get("multipliers") or {})
    lam_star = None
    for kind, i in cs.labels():
        v = mult.get(kind)
        if isinstance(v, list) and i < len(v):
            lam_star = float(v[i])
        elif isinstance(v, (int, float)):
            lam_star = float(v)
    hi = max([1.0] + [2.0 * lam_star] * (lam_star is not None) + ([1.1 * float(np.nanmax(lam_t))] if lam_t is not None else []))
    lam = np.linspace(0.0, hi, grid)
    d = np.array([dual_quadratic(cs, H, c, f0, (np.array([v]), np.zeros(0))) for v in lam], float)
    kind, i = cs.labels()[0]
    return DualFunction(lam, d, lam_t, d_t, lam_star, f"{kind}[{i}]" if kind != "norm" else "norm")


# ---- 4. regularisation path --------------------------------------------------------------------

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
    notes.append("dotted lines: the support changes between neighbouring runs (+ enters, − leaves)")
    return PathFigure(key, x, coef, wn, src, changes, float(l1_max) if l1_max is not None else None, title, notes)


# ---- 5. convexity: a slice through θ* and Jensen's chord ---------------------------------------


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
        where = "" if r.theta_star is not None else " (no θ*: the line passes through the final θ)"
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
