"""The lecture's second-half figures: plain data (:mod:`optrun.plots.lecture`) -> matplotlib ``Figure``.

Nothing here reads files or computes results; each function draws exactly what its dataclass
holds. Every figure takes the drawing's :class:`~optrun.plots.style.FigureOptions` and is laid
out by the machinery of the other figures (:mod:`optrun.plots.figure_layout`): one
:class:`~optrun.plots.style.Look` (size, dpi, font sizes of the style), the measured title,
legend and note bands, axes placed between them. So ``--style slides`` gives 16:9 and text of
at least 18 px at 1280 px wide here too, and ``--title`` / ``--no-subtitle`` apply. The contour
figures are :func:`optrun.plots.figure_contour.contour_figure` with the overlay (feasible
region, minimisers, the unconstrained θ*) drawn on top and listed in the one legend.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optrun.plots.figure_contour import contour_figure, draw_contours, plot_paths, plot_star
from optrun.plots.figure_layout import (
    CHAR_W,
    draw_bands,
    inch,
    legend_entries,
    log_axis,
    look_of,
    make_bands,
    new_figure,
    place_grid,
    style,
)
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
from optrun.plots.style import FigureOptions, Look

FEASIBLE = "#2e8b57"
FREE_STAR = "#1f77b4"
TANGENT = "#d62728"
CURVE = "#555555"


def _title(title: str, opts: FigureOptions | None) -> str:
    """The figure's title, or the one asked for (``--title``)."""
    return opts.title if opts is not None and opts.title is not None else title


def _panels_figure(n: int, natural: tuple[float, float], opts: FigureOptions | None, title: str, subtitle: str,
                   notes: list[str], draw, right: float = 0.4, extra: list | None = None):
    """``n`` panels side by side on the shared layout: ``draw(i, ax, look)`` fills panel ``i``;
    one legend under the panels (every labelled artist once, then the ``extra`` handles)."""
    look = look_of(opts, natural)
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in range(n)]
        for i, ax in enumerate(axes):
            draw(i, ax, look)
        handles, labels = legend_entries(axes)
        for h in extra or []:
            if h.get_label() not in labels:
                handles.append(h)
                labels.append(h.get_label())
        b = make_bands(look.width, look, _title(title, opts), subtitle, labels, notes)
        place_grid(fig, axes, 1, n, look, b, None if look.fixed_size else 2.9 * look.width / natural[0], right=right)
        draw_bands(fig, b, handles, labels)
    return fig


def _frame_values(ax, values, pad: float = 0.08, lo=None, hi=None) -> None:
    """y limits around the finite ``values`` (and ``lo``/``hi`` when given), padded."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return
    a = float(np.min(v)) if lo is None else lo
    b = float(np.max(v)) if hi is None else hi
    d = pad * (b - a if b > a else 1.0)
    ax.set_ylim(a - d, b + d)


# ---- 1. one parameter -------------------------------------------------------------------------


def _iterates_panel(ax, d: OneDData, look: Look) -> None:
    """f(θ) with each run's iterates, the first ones numbered by their step."""
    fin = np.isfinite(d.f)
    # lighter than the iterates (gd's grey would merge with it)
    ax.plot(d.theta, d.f, color="#a8a8a8", linewidth=1.6 * look.line, label="f(θ)", zorder=1)
    yspan = float(np.ptp(d.f[fin])) if fin.any() else 1.0
    # a number's room as fractions of the panel (about 0.4 x 0.55 of the figure, as the tangents'):
    # iterates closer than that keep only the first number (slow steps crowd, e.g. x² at lr 0.01)
    room_y = 1.3 * look.note / 72 / (0.55 * look.height)
    for it in d.iterates:
        ax.plot(it.theta, it.f, color=it.color, marker="o", markersize=4 * look.line, linewidth=1.0 * look.line,
                alpha=0.9, label=it.label, zorder=3)
        shown: list[tuple[float, float]] = []
        for k in range(it.numbered):
            text = str(int(it.steps[k]))
            room_x = (len(text) + 1) * 0.6 * look.note / 72 / (0.4 * look.width)
            here = ((it.theta[k] - d.xlim[0]) / (d.xlim[1] - d.xlim[0]), it.f[k] / (yspan or 1.0))
            if any(abs(here[0] - x) < room_x and abs(here[1] - y) < room_y for x, y in shown):
                continue
            shown.append(here)
            # below the curve and away from θ* (outside the bowl): above it, a number sat on the
            # path's own earlier points
            right = d.star is None or it.theta[k] >= d.star
            ax.annotate(text, (it.theta[k], it.f[k]), xytext=(6 if right else -6, -6), textcoords="offset points",
                        ha="left" if right else "right", va="top", fontsize=look.note, color=it.color, zorder=4)
    if d.star is not None:
        ax.plot([d.star], [d.f_star if d.f_star is not None else np.nan], marker="*", markersize=15 * look.line,
                color="#ffd400", markeredgecolor="black", linestyle="none", zorder=5, label="θ* (exact optimum)")
    _frame_values(ax, d.f)
    ax.set_xlim(*d.xlim)
    ax.set_xlabel(d.xlabel)
    ax.set_ylabel("f(θ)")
    ax.set_title("f and the iterates (numbered by step)", loc="left", fontsize=look.label)


def _tangents_panel(ax, d: OneDData, look: Look) -> None:
    """f′ with its tangent at each x_k; each tangent meets zero at the next Newton iterate."""
    ax.plot(d.theta, d.fprime, color=CURVE, linewidth=1.6 * look.line, label="f′(θ)")
    ax.axhline(0.0, color="black", linewidth=0.8 * look.line)
    span = d.theta[-1] - d.theta[0]
    room = 3 * 0.6 * look.note / 72 / (0.4 * look.width)  # a label "x12" as a fraction of the panel's width
    labelled: list[float] = []
    for i, tg in enumerate(d.tangents):
        end = tg.zero if np.isfinite(tg.zero) else tg.x
        xs = np.array([min(tg.x, end) - 0.08 * span, max(tg.x, end) + 0.08 * span])
        ax.plot(xs, tg.fprime + tg.slope * (xs - tg.x), color=TANGENT, linewidth=1.0 * look.line, alpha=0.85,
                label="tangent of f′ at x_k" if i == 0 else None)
        ax.plot([tg.x], [tg.fprime], marker="o", color=TANGENT, markersize=4 * look.line)
        ax.plot([tg.x, tg.x], [0.0, tg.fprime], color=TANGENT, linestyle=":", linewidth=0.8 * look.line)
        if all(abs(tg.x - x0) > room * span for x0 in labelled):  # converged x_k overlap: label once
            labelled.append(tg.x)
            ax.annotate(f"x{tg.k}", (tg.x, 0.0), xytext=(3, -4), textcoords="offset points", ha="left", va="top",
                        fontsize=look.note, color=TANGENT)  # beside its dotted drop line, not on it
        if np.isfinite(tg.zero):
            ax.plot([tg.zero], [0.0], marker="|", markersize=12 * look.line, color=TANGENT)
    _frame_values(ax, d.fprime, pad=0.1)
    ax.set_xlim(*d.xlim)
    ax.set_xlabel(d.xlabel)
    ax.set_ylabel("f′(θ)")
    ax.set_title("f′ and its tangents", loc="left", fontsize=look.label)


def oned_figure(d: OneDData, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """Left: f(θ) with the numbered iterates. Right (with tangents): f′ and its tangents."""
    two = d.fprime is not None

    def draw(i, ax, look):
        (_iterates_panel if i == 0 else _tangents_panel)(ax, d, look)

    return _panels_figure(2 if two else 1, (11.0 if two else 6.6, 4.4), opts, d.title, d.subtitle,
                          [*(notes or []), *d.notes], draw)


# ---- 2./3. contours ---------------------------------------------------------------------------


def overlay_handles(ov: Overlay, look: Look) -> list:
    """The legend entries of an overlay (proxy artists, drawn nowhere)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if ov.feasible is not None:
        handles.append(Patch(facecolor=FEASIBLE, alpha=0.3, edgecolor=FEASIBLE, label="feasible: g(θ) ≤ 0"))
    if ov.equalities:
        handles.append(Line2D([], [], color=FEASIBLE, linestyle="--", linewidth=1.8 * look.line,
                              label="h(θ) = Aθ − b = 0"))
    if ov.minimizers:
        handles.append(Line2D([], [], marker="*", markersize=11 * look.line, color="#ffd400", markeredgecolor="black",
                              linestyle="none", label=f"global minimisers ({len(ov.minimizers)})"))
    if ov.free_star is not None:
        handles.append(Line2D([], [], marker="*", markersize=12 * look.line, markerfacecolor="white",
                              markeredgecolor=FREE_STAR, linestyle="none", label="θ* without constraints"))
    return handles


def draw_overlay(ax, ov: Overlay, A, C, look: Look) -> list:
    """Feasible region, its boundary, equality lines, minimisers, the unconstrained θ*; returns
    the legend handles (:func:`overlay_handles`)."""
    if ov.feasible is not None:
        ax.contourf(A, C, ov.feasible.astype(float), levels=[0.5, 1.5], colors=[FEASIBLE], alpha=0.18, zorder=1.5)
        if np.nanmin(ov.gmax) < 0 < np.nanmax(ov.gmax):
            ax.contour(A, C, ov.gmax, levels=[0.0], colors=[FEASIBLE], linewidths=1.8 * look.line, zorder=2)
    for Hj in ov.equalities:
        if np.nanmin(Hj) < 0 < np.nanmax(Hj):
            ax.contour(A, C, Hj, levels=[0.0], colors=[FEASIBLE], linewidths=1.8 * look.line, linestyles="--",
                       zorder=2)
    if ov.minimizers:
        m = np.array(ov.minimizers)
        ax.plot(m[:, 0], m[:, 1], marker="*", markersize=13 * look.line, color="#ffd400", markeredgecolor="black",
                linestyle="none", zorder=8)
    if ov.free_star is not None:
        ax.plot([ov.free_star[0]], [ov.free_star[1]], marker="*", markersize=15 * look.line, markerfacecolor="white",
                markeredgecolor=FREE_STAR, markeredgewidth=1.6, linestyle="none", zorder=8)
    return overlay_handles(ov, look)


def lecture_contour_figure(lc: LectureContour, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """The standard contour figure, with the overlay drawn on its axes and in its legend."""
    cd = replace(lc.cd, title=_title(lc.cd.title, opts), notes=[*(notes or []), *lc.cd.notes, *lc.overlay.notes])
    labels = [h.get_label() for h in overlay_handles(lc.overlay, look_of(opts, (7.8, 6.0)))]
    return contour_figure(cd, opts, labels, lambda ax, look: draw_overlay(ax, lc.overlay, cd.A, cd.C, look))


def panels_figure(cp: ContourPanels, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """One contour panel per objective, side by side, one frame (each with its own colour bar)."""
    n = len(cp.panels)
    extra: list = []
    sets: list = []  # the filled contours of each panel (their colour bars)
    look0 = look_of(opts, (5.0 * n + 0.6, 4.8))
    bar = 0.12 + (0.16 + 0.04 * look0.line) + 5 * CHAR_W * look0.tick / 72 + inch(look0.label) + 0.25

    def draw(i, ax, look):
        lc = cp.panels[i]
        sets.append(draw_contours(ax, lc.cd, None, look))
        plot_paths(ax, lc.cd, look)
        extra.extend(draw_overlay(ax, lc.overlay, lc.cd.A, lc.cd.C, look))
        plot_star(ax, lc.cd, look)
        ax.set_title(lc.panel_title, loc="left", fontsize=look.label)

    fig = _panels_figure(n, (5.0 * n + 0.6, 4.8), opts, cp.title, cp.subtitle,
                         [*(notes or []), *cp.notes, *[nt for lc in cp.panels for nt in lc.cd.notes]], draw,
                         right=bar, extra=extra)
    with style(look0):
        _colour_bars(fig, cp, sets, look0)
    return fig


def _colour_bars(fig, cp: ContourPanels, sets: list, look: Look) -> None:
    """A colour bar right of each contour panel, in the room ``place_grid`` left there."""
    W = fig.get_figwidth()
    for ax, lc, cs in zip(fig.axes, cp.panels, sets):
        x, y, w, h = ax.get_position().bounds
        cax = fig.add_axes((x + w + 0.12 / W, y, (0.16 + 0.04 * look.line) / W, h))
        cb = fig.colorbar(cs, cax=cax)
        log_axis(cb.ax.yaxis)
        cb.set_label(lc.cd.zlabel, fontsize=look.label)


def surface_figure(sd: SurfaceData, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """f over the plane as a 3-D surface, the paths lifted to their loss."""
    look = look_of(opts, (7.2, 5.8))
    with style(look):
        fig = new_figure(look.width, look.height, look)
        ax = fig.add_subplot(projection="3d")
        AA, CC = np.meshgrid(sd.A, sd.C)
        step = max(1, len(sd.A) // 80)  # a surface of at most ~80 × 80 facets draws fast
        ax.plot_surface(AA[::step, ::step], CC[::step, ::step], sd.F[::step, ::step], cmap="viridis", alpha=0.7,
                        linewidth=0, antialiased=True, rstride=1, cstride=1)
        for a, c, f, color, label in sd.paths:
            ax.plot(a, c, f, color=color, linewidth=1.8 * look.line, label=label, zorder=5)
            ax.scatter([a[0]], [c[0]], [f[0]], color="white", edgecolor="black", s=30 * look.line**2)
        if sd.star is not None:
            ax.scatter([sd.star[0]], [sd.star[1]], [sd.star[2]], marker="*", s=160 * look.line**2, color="#ffd400",
                       edgecolor="black", label="θ*")
        ax.set_xlabel(sd.xlabel)
        ax.set_ylabel(sd.ylabel)
        ax.set_zlabel(sd.zlabel)
        ax.view_init(elev=35, azim=-60)
        handles, labels = legend_entries([ax])
        b = make_bands(look.width, look, _title(sd.title, opts), sd.subtitle, labels, [*(notes or []), *sd.notes])
        H = fig.get_figheight()
        ax.set_position((0.02, b.bottom / H, 0.92, max(0.2, (H - b.top - b.bottom) / H)))
        draw_bands(fig, b, handles, labels)
    return fig


# ---- 3. duality -------------------------------------------------------------------------------


# Several runs on the duality figure: colour says which run, line style which quantity. The
# legend then lists the runs (by colour) and the styles in a neutral grey, never a quantity in
# the first run's colour (which read as "that run's d(λ_t)").
STYLE_KEY = "#666666"


def _lines_key(ax, dd: DualityData, look: Look, entries: list[tuple[str, str, float]]) -> list:
    """Per-quantity labels: for one run, the labels of its lines; for several, None for every
    line and one grey legend entry per (label, linestyle, width) instead."""
    if len(dd.runs) <= 1:
        return [label for label, _, _ in entries]
    for label, linestyle, width in entries:
        ax.plot([], [], color=STYLE_KEY, linestyle=linestyle, linewidth=width * look.line, label=label)
    return [None] * len(entries)


def _primal_dual_panel(ax, dd: DualityData, look: Look) -> None:
    m = dd.multiplier
    primal, dual = _lines_key(ax, dd, look, [("f(θ_t) (solid)", "-", 1.6), (f"d({m}_t) (dashed)", "--", 1.4)])
    for i, r in enumerate(dd.runs, start=1):
        ax.plot(r.steps, r.primal, color=r.color, linewidth=1.6 * look.line,
                label=primal or r.label or (f"run {i}" if len(dd.runs) > 1 else "f(θ_t)"))
        ax.plot(r.steps, r.dual, color=r.color, linewidth=1.4 * look.line, linestyle="--", label=dual)
    if dd.p_star is not None:
        ax.axhline(dd.p_star, color="black", linestyle=":", linewidth=1.2 * look.line, label=f"p* = {dd.p_star:.6g}")
        vals = np.concatenate([np.r_[r.primal, r.dual] for r in dd.runs])
        vals = vals[np.isfinite(vals)]
        if vals.size:  # the start may be far away: frame the values near p*
            lo, hi = np.quantile(vals, [0.02, 0.9])
            _frame_values(ax, vals, 0.15, min(lo, dd.p_star), max(hi, dd.p_star))
    ax.set_xlabel("optimizer step t")
    ax.set_title(f"f(θ_t) and d({m}_t) ≤ p*", loc="left", fontsize=look.label)


def _gaps_panel(ax, dd: DualityData, look: Look) -> None:
    m = dd.multiplier
    entries = [(f"|f(θ_t) − d({m}_t)|, the trace's gap (solid)", "-", 1.6)]
    if dd.p_star is not None:
        entries.append((f"p* − d({m}_t) ≥ 0: weak duality (dashed)", "--", 1.4))
    labels = _lines_key(ax, dd, look, entries)
    for r in dd.runs:
        ax.plot(r.steps, np.where(np.abs(r.gap) > 0, np.abs(r.gap), np.nan), color=r.color, linewidth=1.6 * look.line,
                label=labels[0])
        if dd.p_star is not None:
            y = dd.p_star - r.dual
            ax.plot(r.steps, np.where(y > 0, y, np.nan), color=r.color, linestyle="--", linewidth=1.4 * look.line,
                    label=labels[1])
    ax.set_yscale("log")
    log_axis(ax.yaxis, *ax.get_ylim())  # Unicode powers of ten (mathtext labels also mislead the layout)
    ax.set_xlabel("optimizer step t")
    ax.set_title("duality gaps (log)", loc="left", fontsize=look.label)


def _dual_function_panel(ax, dd: DualityData, look: Look) -> None:
    df = dd.dual_function
    m = df.symbol
    ax.plot(df.lam, df.d, color=CURVE, linewidth=1.6 * look.line, label=f"d({m}), {m} of {df.constraint}")
    if df.lam_t is not None:
        whose = f" ({dd.runs[0].label})" if len(dd.runs) > 1 and dd.runs[0].label else ""
        ax.plot(df.lam_t, df.d_t, color=dd.runs[0].color, marker="o", markersize=3 * look.line,
                linewidth=0.8 * look.line, label=f"the run's {m}_t{whose}")
        ax.plot([df.lam_t[0]], [df.d_t[0]], marker="o", markersize=8 * look.line, markerfacecolor="white",
                markeredgecolor="black", linestyle="none")
    if df.lam_star is not None:
        ax.axvline(df.lam_star, color="#777777", linestyle="--", linewidth=0.9 * look.line,
                   label=f"{m}* = {df.lam_star:.4g}")
    if dd.p_star is not None:
        ax.axhline(dd.p_star, color="black", linestyle=":", linewidth=1.2 * look.line)
        _frame_values(ax, df.d, 0.1, hi=dd.p_star)
    ax.set_xlabel(df.domain)
    ax.set_title(f"max d({m}) = d* ≤ p*", loc="left", fontsize=look.label)


def duality_figure(dd: DualityData, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """Primal and dual values per step with p* (weak duality: d ≤ p*), the gaps (log), and the
    dual function of one constraint with the run's multipliers on it."""
    panels = [_primal_dual_panel, _gaps_panel] + ([_dual_function_panel] if dd.dual_function is not None else [])
    return _panels_figure(len(panels), (4.6 * len(panels) + 0.4, 4.2), opts, dd.title, dd.subtitle,
                          [*(notes or []), *dd.notes], lambda i, ax, look: panels[i](ax, dd, look))


# ---- theory rates ------------------------------------------------------------------------------


def theory_figure(runs, notes: list[str] | None = None, opts: FigureOptions | None = None, title: str = "",
                  subtitle: str = ""):
    """Each run's f − f* with the rate theory predicts for it dashed (optrun.plots.many.theory_curve:
    gradient descent's ρ^{2k}(f₀ − f*), heavy ball, Nesterov), and a red ✕ where a measured curve
    breaks its bound. ``runs``: :func:`optrun.plots.many.theory_data`."""

    def draw(i, ax, look):
        for j, r in enumerate(runs):
            steps, sub = r["steps"], np.maximum(r["subopt"], 1e-300)
            colour = r.get("color") or f"C{j % 10}"  # the run's colour in every other figure
            ax.plot(steps, sub, color=colour, linewidth=1.6 * look.line, label=r["label"])
            if r["bound"] is None:
                continue
            ax.plot(steps, r["bound"], "--", color=colour, linewidth=1.0 * look.line, label=f"{r['label']}: {r['kind']}")
            if r["violation"] is not None:
                v = r["violation"]
                ax.plot([steps[v]], [sub[v]], "x", color="red", markersize=9, markeredgewidth=2)
                ax.annotate("breaks its bound", (steps[v], sub[v]), color="red", fontsize=look.note,
                            xytext=(5, 5), textcoords="offset points")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step t")
        ax.set_ylabel("f(θ) − f*")

    return _panels_figure(1, (7.4, 4.6), opts, title or "measured f − f* and what theory predicts (dashed)",
                          subtitle, list(notes or []), draw)


# ---- 4. regularisation path --------------------------------------------------------------------


def path_figure(pf: PathFigure, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """Each coefficient against the penalty (log axis), support changes dotted."""

    def draw(i, ax, look):
        for j, name in enumerate(pf.names):
            ax.plot(pf.x, pf.coef[:, j], marker="o", markersize=3 * look.line, linewidth=1.5 * look.line,
                    color=f"C{j % 10}", label=name if len(pf.names) <= 12 else None)
        ax.axhline(0.0, color="black", linewidth=0.7 * look.line)
        for i, (x, _) in enumerate(pf.changes, start=1):  # the numbers' changes are listed in the notes
            ax.axvline(x, color="#888888", linestyle=":", linewidth=0.9 * look.line)
            ax.annotate(str(i), (x, 1.0), xycoords=("data", "axes fraction"), va="bottom", ha="center",
                        fontsize=look.note, color="#444444", xytext=(0, 2), textcoords="offset points")
        if pf.l1_max is not None and pf.x[0] <= pf.l1_max * 3:
            ax.axvline(pf.l1_max, color="#8a1c1c", linestyle="--", linewidth=1.0 * look.line,
                       label=f"l1_max = {pf.l1_max:.4g}")
        ax.set_xscale("log")
        log_axis(ax.xaxis, *ax.get_xlim())
        ax.set_xlabel(pf.key + " (log)")
        ax.set_ylabel(f"coefficient ({pf.source})")

    return _panels_figure(1, (7.4, 4.6), opts, pf.title, "", [*(notes or []), *pf.notes], draw)


# ---- 5. convexity ------------------------------------------------------------------------------


def convexity_figure(cv: ConvexityData, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """One panel per objective: the slice, and Jensen's chord (red when the function is above it)."""

    def draw(i, ax, look):
        s = cv.slices[i]
        ax.plot(s.t, s.f, color=s.color, linewidth=1.8 * look.line, label="f(θ* + t·d)")
        if s.chord is not None:
            ta, tb = s.chord
            fa, fb = np.interp([ta, tb], s.t, s.f)
            bad = s.violation > 1e-12 * max(1.0, float(np.nanmax(np.abs(s.f))))
            ax.plot([ta, tb], [fa, fb], color="#d62728" if bad else "#333333", linestyle="--",
                    linewidth=1.4 * look.line, marker="o", markersize=4 * look.line,
                    label=(f"f above its chord by up to {s.violation:.3g}: not convex" if bad else "chord above f: Jensen holds"))
            if bad:
                m = (s.t > ta) & (s.t < tb)
                chord = fa + (s.t[m] - ta) / (tb - ta) * (fb - fa)
                ax.fill_between(s.t[m], chord, s.f[m], where=s.f[m] > chord, color="#d62728", alpha=0.2)
        ax.axvline(0.0, color="#777777", linestyle=":", linewidth=0.9 * look.line)
        ax.set_title(s.label, loc="left", fontsize=look.label)
        ax.set_xlabel(cv.xlabel)
        ax.set_ylabel("loss")

    return _panels_figure(len(cv.slices), (4.8 * len(cv.slices) + 0.4, 4.0), opts, cv.title, cv.subtitle,
                          [*(notes or []), *cv.notes], draw)


def render(data, notes: list[str] | None = None, opts: FigureOptions | None = None):
    """The figure of any lecture dataclass, in the style of ``opts``."""
    for kind, fn in ((OneDData, oned_figure), (LectureContour, lecture_contour_figure), (ContourPanels, panels_figure),
                     (SurfaceData, surface_figure), (DualityData, duality_figure), (PathFigure, path_figure),
                     (ConvexityData, convexity_figure)):
        if isinstance(data, kind):
            return fn(data, notes, opts)
    raise TypeError(f"no lecture renderer for {type(data).__name__}")
