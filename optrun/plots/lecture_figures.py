"""The lecture's second-half figures: plain data (:mod:`optrun.plots.lecture`) -> matplotlib ``Figure``.

Nothing here reads files or computes results; each function draws exactly what its dataclass
holds. Figures are saved by the one save helper, :func:`optrun.plots.figures.save_figure`
(through :mod:`optrun.plots.draw`). Contours reuse :func:`optrun.plots.figures.draw_contours` and
:func:`optrun.plots.figures.contour_figure`; the overlays (feasible region, minimisers, the
unconstrained θ*) are drawn on top with their own legend inside the axes.
"""

from __future__ import annotations

import textwrap

import numpy as np

from optrun.plots import figures as F
from optrun.plots.lecture import (
    ContourPanels,
    ConvexityData,
    DualityData,
    LectureContour,
    OneDData,
    Overlay,
    PathFigure,
    SurfaceData,
)

FEASIBLE = "#2e8b57"
FREE_STAR = "#1f77b4"
TANGENT = "#d62728"


def _figure(width: float, height: float, projection3d: bool = False):
    """A Figure with its own Agg canvas and constrained layout (headless, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _titles(fig, title: str, subtitle: str = "") -> None:
    width = max(40, int(fig.get_figwidth() * 14))
    lines = textwrap.wrap(title, width) + (textwrap.wrap(subtitle, width) if subtitle else [])
    fig.suptitle("\n".join(lines), fontsize=10, x=0.01, ha="left")


def _notes(fig, notes: list[str]) -> None:
    """Caption lines in a band under the figure (the constrained layout keeps clear of it)."""
    notes = [n for n in dict.fromkeys(notes) if n]
    if not notes:
        return
    width = max(60, int(fig.get_figwidth() * 16))
    lines = [ln for n in notes for ln in textwrap.wrap("• " + n, width, subsequent_indent="  ")]
    band = (len(lines) * 7.5 * 1.35 + 8) / 72
    h = fig.get_figheight()
    fig.set_figheight(h + band)
    frac = band / (h + band)
    fig.get_layout_engine().set(rect=(0, frac, 1, 1 - frac))
    fig.text(0.01, frac - 0.004, "\n".join(lines), ha="left", va="top", fontsize=7.5, color="#444444")


# ---- 1. one parameter -------------------------------------------------------------------------


def oned_figure(d: OneDData, notes: list[str] | None = None):
    """Left: f(θ) with the numbered iterates. Right (with tangents): f′ and its tangents."""
    with F.style():
        two = d.fprime is not None
        fig = _figure(11.0 if two else 6.6, 4.4)
        axes = fig.subplots(1, 2 if two else 1, squeeze=False)[0]
        ax = axes[0]
        fin = np.isfinite(d.f)
        ax.plot(d.theta, d.f, color="#555555", linewidth=1.6, label="f(θ)", zorder=1)
        for it in d.iterates:
            ax.plot(it.theta, it.f, color=it.color, marker="o", markersize=4, linewidth=1.0, alpha=0.9,
                    label=it.label, zorder=3)
            last = None
            yspan = float(np.ptp(d.f[fin])) if fin.any() else 1.0
            for k in range(it.numbered):
                here = ((it.theta[k] - d.xlim[0]) / (d.xlim[1] - d.xlim[0]), it.f[k] / (yspan or 1.0))
                if last is not None and abs(here[0] - last[0]) < 0.03 and abs(here[1] - last[1]) < 0.04:
                    continue  # converged iterates sit on top of each other: number the first only
                last = here
                ax.annotate(str(int(it.steps[k])), (it.theta[k], it.f[k]), xytext=(4, 5), textcoords="offset points",
                            fontsize=8, color=it.color)
        if d.star is not None:
            ax.plot([d.star], [d.f_star if d.f_star is not None else np.nan], marker="*", markersize=15,
                    color="#ffd400", markeredgecolor="black", linestyle="none", zorder=5, label="θ* (exact optimum)")
        if fin.any():
            lo, hi = float(np.min(d.f[fin])), float(np.max(d.f[fin]))
            pad = 0.08 * (hi - lo if hi > lo else 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(*d.xlim)
        ax.set_xlabel(d.xlabel)
        ax.set_ylabel("f(θ)")
        ax.set_title("the iterates on f (numbers: the step)", loc="left")
        ax.legend(loc="best", fontsize=8)
        if two:
            ax2 = axes[1]
            ax2.plot(d.theta, d.fprime, color="#555555", linewidth=1.6, label="f′(θ)")
            ax2.axhline(0.0, color="black", linewidth=0.8)
            span = d.theta[-1] - d.theta[0]
            labelled = []
            for i, tg in enumerate(d.tangents):
                end = tg.zero if np.isfinite(tg.zero) else tg.x
                xs = np.array([min(tg.x, end) - 0.08 * span, max(tg.x, end) + 0.08 * span])
                ax2.plot(xs, tg.fprime + tg.slope * (xs - tg.x), color=TANGENT, linewidth=1.0, alpha=0.85,
                         label="tangent of f′ at x_k" if i == 0 else None)
                ax2.plot([tg.x], [tg.fprime], marker="o", color=TANGENT, markersize=4)
                ax2.plot([tg.x, tg.x], [0.0, tg.fprime], color=TANGENT, linestyle=":", linewidth=0.8)
                if all(abs(tg.x - x0) > 0.03 * span for x0 in labelled):  # converged x_k overlap: label once
                    labelled.append(tg.x)
                    ax2.annotate(f"x{tg.k}", (tg.x, 0.0), xytext=(0, -12), textcoords="offset points", ha="center",
                                 fontsize=8, color=TANGENT)
                if np.isfinite(tg.zero):
                    ax2.plot([tg.zero], [0.0], marker="|", markersize=12, color=TANGENT)
            ok = np.isfinite(d.fprime)
            if ok.any():
                lo, hi = float(np.min(d.fprime[ok])), float(np.max(d.fprime[ok]))
                pad = 0.1 * (hi - lo if hi > lo else 1.0)
                ax2.set_ylim(lo - pad, hi + pad)
            ax2.set_xlim(*d.xlim)
            ax2.set_xlabel(d.xlabel)
            ax2.set_ylabel("f′(θ)")
            ax2.set_title("Newton–Raphson: the zero of each tangent is the next x", loc="left")
            ax2.legend(loc="best", fontsize=8)
        _titles(fig, d.title, d.subtitle)
        _notes(fig, [*(notes or []), *d.notes])
    return fig


# ---- 2./3. contours ---------------------------------------------------------------------------


def draw_overlay(ax, ov: Overlay, A, C) -> None:
    """Feasible region, its boundary, equality lines, minimisers, the unconstrained θ*."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if ov.feasible is not None:
        ax.contourf(A, C, ov.feasible.astype(float), levels=[0.5, 1.5], colors=[FEASIBLE], alpha=0.18, zorder=1.5)
        if np.nanmin(ov.gmax) < 0 < np.nanmax(ov.gmax):
            ax.contour(A, C, ov.gmax, levels=[0.0], colors=[FEASIBLE], linewidths=1.8, zorder=2)
        handles.append(Patch(facecolor=FEASIBLE, alpha=0.3, edgecolor=FEASIBLE, label="feasible: g(θ) ≤ 0"))
    for i, Hj in enumerate(ov.equalities):
        if np.nanmin(Hj) < 0 < np.nanmax(Hj):
            ax.contour(A, C, Hj, levels=[0.0], colors=[FEASIBLE], linewidths=1.8, linestyles="--", zorder=2)
        if i == 0:
            handles.append(Line2D([], [], color=FEASIBLE, linestyle="--", label="h(θ) = Aθ − b = 0"))
    if ov.minimizers:
        m = np.array(ov.minimizers)
        ax.plot(m[:, 0], m[:, 1], marker="*", markersize=13, color="#ffd400", markeredgecolor="black",
                linestyle="none", zorder=8)
        handles.append(Line2D([], [], marker="*", markersize=11, color="#ffd400", markeredgecolor="black",
                              linestyle="none", label=f"global minimisers ({len(m)})"))
    if ov.free_star is not None:
        ax.plot([ov.free_star[0]], [ov.free_star[1]], marker="*", markersize=15, markerfacecolor="white",
                markeredgecolor=FREE_STAR, markeredgewidth=1.6, linestyle="none", zorder=8)
        handles.append(Line2D([], [], marker="*", markersize=12, markerfacecolor="white", markeredgecolor=FREE_STAR,
                              linestyle="none", label="θ* without constraints"))
    if handles:
        ax.add_artist(ax.legend(handles=handles, loc="best", fontsize=7.5, framealpha=0.85))


def lecture_contour_figure(lc: LectureContour, notes: list[str] | None = None):
    """The standard contour figure, with the overlay drawn on its axes."""
    from dataclasses import replace

    cd = replace(lc.cd, notes=[*(notes or []), *lc.cd.notes, *lc.overlay.notes])
    fig = F.contour_figure(cd)
    with F.style():
        draw_overlay(fig.axes[0], lc.overlay, cd.A, cd.C)
    return fig


def _plot_paths(ax, cd) -> None:
    for p in cd.paths:
        ax.plot(p.a, p.c, color=p.color, linestyle=p.linestyle, linewidth=1.5, alpha=p.alpha, label=p.label,
                marker="o" if len(p.a) <= 40 else None, markersize=2.5, zorder=3)
        ax.plot([p.a[0]], [p.c[0]], marker="o", markersize=8, markerfacecolor="white", markeredgecolor="black",
                linestyle="none", zorder=6)
        if np.isfinite(p.a[-1]) and np.isfinite(p.c[-1]):
            ax.plot([p.a[-1]], [p.c[-1]], marker="o", markersize=6, color=p.color, markeredgecolor="white",
                    linestyle="none", zorder=5)
    if cd.star is not None:
        ax.plot([cd.star[0]], [cd.star[1]], marker="*", markersize=15, color="#ffd400", markeredgecolor="black",
                zorder=8, linestyle="none", label="θ*")


def panels_figure(cp: ContourPanels, notes: list[str] | None = None):
    """One contour panel per objective, side by side, one frame (each with its own colour scale)."""
    with F.style():
        n = len(cp.panels)
        fig = _figure(5.0 * n + 0.6, 4.8)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, lc in zip(axes, cp.panels):
            cs = F.draw_contours(ax, lc.cd)
            cb = fig.colorbar(cs, ax=ax, fraction=0.05, pad=0.02)
            cb.set_label(lc.cd.zlabel, fontsize=8)
            cb.minorticks_off()
            _plot_paths(ax, lc.cd)
            draw_overlay(ax, lc.overlay, lc.cd.A, lc.cd.C)
            ax.set_title(lc.panel_title, loc="left")
            ax.legend(loc="lower left", fontsize=7, framealpha=0.85)
        _titles(fig, cp.title, cp.subtitle)
        _notes(fig, [*(notes or []), *cp.notes, *[nt for lc in cp.panels for nt in lc.cd.notes]])
    return fig


def surface_figure(sd: SurfaceData, notes: list[str] | None = None):
    """f over the plane as a 3-D surface, the paths lifted to their loss."""
    with F.style():
        fig = _figure(7.2, 5.8)
        ax = fig.add_subplot(projection="3d")
        AA, CC = np.meshgrid(sd.A, sd.C)
        step = max(1, len(sd.A) // 80)  # a surface of at most ~80 × 80 facets draws fast
        ax.plot_surface(AA[::step, ::step], CC[::step, ::step], sd.F[::step, ::step], cmap="viridis", alpha=0.7,
                        linewidth=0, antialiased=True, rstride=1, cstride=1)
        for a, c, f, color, label in sd.paths:
            ax.plot(a, c, f, color=color, linewidth=1.8, label=label, zorder=5)
            ax.scatter([a[0]], [c[0]], [f[0]], color="white", edgecolor="black", s=30)
        if sd.star is not None:
            ax.scatter([sd.star[0]], [sd.star[1]], [sd.star[2]], marker="*", s=160, color="#ffd400", edgecolor="black",
                       label="θ*")
        ax.set_xlabel(sd.xlabel)
        ax.set_ylabel(sd.ylabel)
        ax.set_zlabel(sd.zlabel)
        ax.view_init(elev=35, azim=-60)
        if any(p[4] for p in sd.paths) or sd.star is not None:
            ax.legend(loc="upper left", fontsize=8)
        _titles(fig, sd.title, sd.subtitle)
        _notes(fig, [*(notes or []), *sd.notes])
    return fig


# ---- 3. duality -------------------------------------------------------------------------------


def duality_figure(dd: DualityData, notes: list[str] | None = None):
    """Primal and dual values per step with p* (weak duality: d ≤ p*), the gaps (log), and the
    dual function of one constraint with the run's multipliers on it."""
    with F.style():
        n = 3 if dd.dual_function is not None else 2
        fig = _figure(4.6 * n + 0.4, 4.2)
        axes = fig.subplots(1, n, squeeze=False)[0]
        ax = axes[0]
        for r in dd.runs:
            ax.plot(r.steps, r.primal, color=r.color, linewidth=1.6, label=f"f(θ_t) {r.label or ''}".strip())
            ax.plot(r.steps, r.dual, color=r.color, linewidth=1.4, linestyle="--", label="d(λ_t)" if r.label else None)
        if dd.p_star is not None:
            ax.axhline(dd.p_star, color="black", linestyle=":", linewidth=1.2, label=f"p* = {dd.p_star:.6g}")
            vals = np.concatenate([np.r_[r.primal, r.dual] for r in dd.runs])
            vals = vals[np.isfinite(vals)]
            if vals.size:  # the start may be far away: frame the values near p*
                lo, hi = np.quantile(vals, [0.02, 0.9])
                lo, hi = min(lo, dd.p_star), max(hi, dd.p_star)
                pad = 0.15 * (hi - lo if hi > lo else 1.0)
                ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("optimizer step t")
        ax.set_title("primal f(θ_t) and dual d(λ_t) ≤ p*", loc="left")
        ax.legend(loc="best", fontsize=7.5)
        ax = axes[1]
        for r in dd.runs:
            if dd.p_star is not None:
                y = dd.p_star - r.dual
                ax.plot(r.steps, np.where(y > 0, y, np.nan), color=r.color, linestyle="--", linewidth=1.4,
                        label="p* − d(λ_t) (≥ 0: weak duality)" if r.label else None)
            ax.plot(r.steps, np.where(np.abs(r.gap) > 0, np.abs(r.gap), np.nan), color=r.color, linewidth=1.6,
                    label="|f(θ_t) − d(λ_t)| (the trace's gap)" if r.label else None)
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step t")
        ax.set_title("duality gaps (log)", loc="left")
        ax.legend(loc="best", fontsize=7.5)
        if dd.dual_function is not None:
            df = dd.dual_function
            ax = axes[2]
            ax.plot(df.lam, df.d, color="#555555", linewidth=1.6, label=f"d(λ), λ of {df.constraint}")
            if dd.p_star is not None:
                ax.axhline(dd.p_star, color="black", linestyle=":", linewidth=1.2, label="p*")
            if df.lam_t is not None:
                col = dd.runs[0].color
                ax.plot(df.lam_t, df.d_t, color=col, marker="o", markersize=3, linewidth=0.8, label="the run's λ_t")
                ax.plot([df.lam_t[0]], [df.d_t[0]], marker="o", markersize=8, markerfacecolor="white",
                        markeredgecolor="black", linestyle="none")
            if df.lam_star is not None:
                ax.axvline(df.lam_star, color="#777777", linestyle="--", linewidth=0.9, label=f"λ* = {df.lam_star:.4g}")
            fin = df.d[np.isfinite(df.d)]
            if fin.size and dd.p_star is not None:
                lo = float(np.min(fin))
                hi = dd.p_star
                pad = 0.1 * (hi - lo if hi > lo else 1.0)
                ax.set_ylim(lo - pad, hi + pad)
            ax.set_xlabel("λ ≥ 0")
            ax.set_title("the dual function: max d(λ) = d* ≤ p*", loc="left")
            ax.legend(loc="best", fontsize=7.5)
        _titles(fig, dd.title, dd.subtitle)
        _notes(fig, [*(notes or []), *dd.notes])
    return fig


# ---- 4. regularisation path --------------------------------------------------------------------


def path_figure(pf: PathFigure, notes: list[str] | None = None):
    """Each coefficient against the penalty (log axis), support changes dotted."""
    with F.style():
        fig = _figure(7.4, 4.6)
        ax = fig.subplots()
        cmap = [f"C{i % 10}" for i in range(len(pf.names))]
        for j, name in enumerate(pf.names):
            ax.plot(pf.x, pf.coef[:, j], marker="o", markersize=3, linewidth=1.5, color=cmap[j],
                    label=name if len(pf.names) <= 12 else None)
        ax.axhline(0.0, color="black", linewidth=0.7)
        for x, text in pf.changes:
            ax.axvline(x, color="#888888", linestyle=":", linewidth=0.9)
            ax.annotate(text, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                        fontsize=7, color="#444444", xytext=(-2, -2), textcoords="offset points")
        if pf.l1_max is not None and pf.x[0] <= pf.l1_max * 3:
            ax.axvline(pf.l1_max, color="#8a1c1c", linestyle="--", linewidth=1.0, label=f"l1_max = {pf.l1_max:.4g}")
        ax.set_xscale("log")
        ax.set_xlabel(pf.key + " (log)")
        ax.set_ylabel(f"coefficient ({pf.source})")
        ax.legend(loc="best", fontsize=7.5, ncols=2 if len(pf.names) > 6 else 1)
        _titles(fig, pf.title)
        _notes(fig, [*(notes or []), *pf.notes])
    return fig


# ---- 5. convexity ------------------------------------------------------------------------------


def convexity_figure(cv: ConvexityData, notes: list[str] | None = None):
    """One panel per objective: the slice, and Jensen's chord (red when the function is above it)."""
    with F.style():
        n = len(cv.slices)
        fig = _figure(4.8 * n + 0.4, 4.0)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, s in zip(axes, cv.slices):
            ax.plot(s.t, s.f, color=s.color, linewidth=1.8, label="f(θ* + t·d)")
            if s.chord is not None:
                ta, tb = s.chord
                fa, fb = np.interp([ta, tb], s.t, s.f)
                bad = s.violation > 1e-12 * max(1.0, float(np.nanmax(np.abs(s.f))))
                col = "#d62728" if bad else "#333333"
                ax.plot([ta, tb], [fa, fb], color=col, linestyle="--", linewidth=1.4, marker="o", markersize=4,
                        label=("chord below f: Jensen fails (not convex)" if bad else "chord above f: Jensen holds"))
                if bad:
                    m = (s.t > ta) & (s.t < tb)
                    chord = fa + (s.t[m] - ta) / (tb - ta) * (fb - fa)
                    ax.fill_between(s.t[m], chord, s.f[m], where=s.f[m] > chord, color="#d62728", alpha=0.2)
            ax.axvline(0.0, color="#777777", linestyle=":", linewidth=0.9)
            ax.set_title(s.label + (f" · max f − chord = {s.violation:.3g}" if s.violation > 0 else ""), loc="left",
                         fontsize=9)
            ax.set_xlabel(cv.xlabel)
            ax.set_ylabel("loss")
            ax.legend(loc="best", fontsize=7.5)
        _titles(fig, cv.title, cv.subtitle)
        _notes(fig, [*(notes or []), *cv.notes])
    return fig


def render(data, notes: list[str] | None = None):
    """The figure of any lecture dataclass."""
    for kind, fn in ((OneDData, oned_figure), (LectureContour, lecture_contour_figure), (ContourPanels, panels_figure),
                     (SurfaceData, surface_figure), (DualityData, duality_figure), (PathFigure, path_figure),
                     (ConvexityData, convexity_figure)):
        if isinstance(data, kind):
            return fn(data, notes)
    raise TypeError(f"no lecture renderer for {type(data).__name__}")
