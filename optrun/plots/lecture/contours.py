"""The contour figure's data: native axes for analytic functions with every known minimiser, the
feasible region of a ``constraints`` section (mask of g(θ) ≤ 0 on the grid, its boundary
max_i g_i(θ) = 0, equality lines h_j(θ) = 0), the constrained θ* (summary) and the unconstrained
one; runs on different objectives over the same parameters become side-by-side panels sharing one
frame; f over the same grid for a 3-D surface."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from optrun.plots.contour import _frame, contour_data, project
from optrun.plots.lecture.constraints import constraint_points, constraint_set, free_reference, g_rows, h_rows, rebase
from optrun.plots.lecture.objective import (
    analytic_frame,
    in_view,
    is_analytic,
    load_problem,
    minimizers,
    objective_title,
    split_by_objective,
    title_of,
)
from optrun.plots.lecture.oned import oned_data
from optrun.plots.model import ContourData
from optrun.plots.rundata import Group, RunData, thin

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
    drawn = (["shaded: the feasible region {θ : g(θ) ≤ 0}; solid line: its boundary"] if ov.gmax is not None else [])
    drawn += ["dashed: the equalities Aθ = b"] if ov.equalities else []
    ov.notes.append("; ".join(drawn + ["filled star: the constrained θ* (summary.json)"]))
    return cd, ov


def user_frame(options: dict, default: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``--xlim``/``--ylim`` over a default frame."""
    a_lo, a_hi, c_lo, c_hi = default
    if options.get("xlim"):
        a_lo, a_hi = map(float, options["xlim"])
    if options.get("ylim"):
        c_lo, c_hi = map(float, options["ylim"])
    return a_lo, a_hi, c_lo, c_hi


def native_frame(groups: list[Group], options: dict) -> tuple[float, float, float, float]:
    """The frame of two native axes: every drawn point, every θ*, the analytic function's box, and
    for constrained runs the unconstrained θ* and the norm ball."""
    pts = []
    if (groups[0].first.config or {}).get("constraints"):
        pts += [(m[:1], m[1:2]) for m in constraint_points(groups[0].first)]
    for g in groups:
        for r in g.runs:
            P = r.params[in_view(r)]
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
