"""The contour figure: trajectories on the exact loss contours (:class:`~optrun.plots.model.ContourData`)
with an explicit layout (:func:`contour_layout`): the axes box has the frame's shape when both
axes share one scale, and the title, notes and legend get measured bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optrun.plots.figure_layout import (
    CHAR_W,
    Bands,
    default_look,
    draw_bands,
    inch,
    log_axis,
    look_of,
    make_bands,
    new_figure,
    style,
    under_axes,
)
from optrun.plots.model import ContourData
from optrun.plots.style import FigureOptions, Look


def first_exit(a, c, frame) -> int | None:
    a_lo, a_hi, c_lo, c_hi = frame
    out = ~(np.isfinite(a) & np.isfinite(c) & (a >= a_lo) & (a <= a_hi) & (c >= c_lo) & (c <= c_hi))
    k = np.flatnonzero(out)
    return int(k[0]) if k.size else None


def draw_contours(ax, cd: ContourData, cax=None, look: Look | None = None):
    """Filled log-spaced contours of f - f* on the plane (equal steps of f for a function
    unbounded below: ``cd.linear``), with a colour bar in ``cax``."""
    from matplotlib.colors import LogNorm, Normalize

    look = look or default_look((7.8, 6.0))
    Z = np.where(np.isfinite(cd.Z), cd.Z, np.nan)
    if cd.linear:
        Zc, norm = Z, Normalize(vmin=cd.levels[0], vmax=cd.levels[-1])
    else:
        Zc = np.clip(Z, cd.levels[0] * 1e-3, None)  # LogNorm needs positive values
        norm = LogNorm(vmin=cd.levels[0], vmax=cd.levels[-1])
    cs = ax.contourf(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, cmap="Purples", alpha=0.45, extend="both")
    ax.contour(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, colors="#6a5d8f", linewidths=0.55 * look.line, alpha=0.75)
    if cax is not None:
        cb = ax.figure.colorbar(cs, cax=cax)
        if not cd.linear:
            log_axis(cb.ax.yaxis)
        tall = cax.get_position().height * cax.figure.get_figheight() * 72 / (look.label * CHAR_W)  # characters
        full = f"{cd.zlabel} (contours at {cd.level_rule})"
        cb.set_label(full if len(full) <= tall else cd.zlabel, fontsize=look.label)  # the long form where it fits
    ax.set_xlim(cd.A[0], cd.A[-1])
    ax.set_ylim(cd.C[0], cd.C[-1])
    ax.set_xlabel(cd.xlabel)
    ax.set_ylabel(cd.ylabel)
    ax.grid(False)
    return cs


@dataclass
class ContourLayout:
    """An explicit layout (inches): the axes get exactly the frame's shape when both axes share
    one scale (``equal``), and the title, notes and legend get measured bands."""

    fig_w: float
    fig_h: float
    ax_rect: tuple[float, float, float, float]  # figure fractions
    cax_rect: tuple[float, float, float, float]
    bands: Bands
    legend_xy: tuple[float, float]  # figure fractions of the legend's anchor
    legend_loc: str
    equal: bool  # one data unit is as long on both axes

    @property
    def aspect(self) -> float:
        """Height / width of the axes box, in inches."""
        return (self.ax_rect[3] * self.fig_h) / (self.ax_rect[2] * self.fig_w)


def contour_layout(cd: ContourData, labels: list[str], look: Look | None = None, axes_width: float = 5.4,
                   with_notes: bool = True) -> ContourLayout:
    """Where everything of the contour figure goes. With ``cd.equal_aspect`` the axes box has the
    frame's shape (one scale on both axes); otherwise it is 4:3 and a note says the axes are not
    to scale. On a wide imposed size (slides) the legend goes to the right of the colour bar."""
    look = look or default_look((axes_width + 2.4, 0.0))
    ratio = (cd.C[-1] - cd.C[0]) / (cd.A[-1] - cd.A[0])
    left = inch(look.label) + 0.05 + 7 * CHAR_W * look.tick / 72 + 0.14
    cbar_gap, cbar_w = 0.15, 0.16 + 0.04 * look.line
    # the colour bar's tick labels: "10⁻³" (log), or the longest level in equal steps
    chars = max([6] + ([len(f"{v:g}") + 1 for v in cd.levels] if cd.linear else []))
    cbar_right = chars * CHAR_W * look.tick / 72 + inch(look.label) + 0.2
    under = under_axes(look)
    side = look.fixed_size and look.width / look.height > 1.4
    notes = [n for n in dict.fromkeys(cd.notes) if n] if with_notes else []
    fig_w = look.width if (look.fixed_size or look.style == "paper") else left + axes_width + cbar_gap + cbar_w + cbar_right
    legend_w = None
    if side:
        legend_w = max(len(lb) for lb in labels) * look.legend * 0.56 / 72 + 3.2 * look.legend / 72 + 0.3 if labels else 0.0
        legend_w = min(legend_w, 0.38 * fig_w)
        b = make_bands(fig_w, look, cd.title, cd.subtitle, [], notes)
        b.legend_cols, b.legend_rows = 1, 0
    else:
        b = make_bands(fig_w, look, cd.title, cd.subtitle, labels, notes)
    avail_w = fig_w - left - cbar_gap - cbar_w - cbar_right - (legend_w or 0.0)
    if look.fixed_size:
        avail_h = look.height - b.top - b.bottom - under
        W, H = avail_w, avail_h
        if cd.equal_aspect:
            W = min(avail_w, avail_h / ratio)
            H = W * ratio
        fig_h = look.height
    else:
        W = avail_w
        H = W * ratio if cd.equal_aspect else 0.75 * W
        if H > 1.3 * W or H > 7.0:  # a tall frame: narrower axes
            H = min(1.3 * W, 7.0)
            W = H / ratio if cd.equal_aspect else W
        fig_h = b.top + H + under + b.bottom
    bottom = b.bottom + under
    y0 = bottom + (fig_h - b.top - bottom - H) / 2  # centred in what is left (slides)
    x0 = left
    ax_rect = (x0 / fig_w, y0 / fig_h, W / fig_w, H / fig_h)
    cax_rect = ((x0 + W + cbar_gap) / fig_w, y0 / fig_h, cbar_w / fig_w, H / fig_h)
    if side:
        legend_xy, loc = ((x0 + W + cbar_gap + cbar_w + cbar_right) / fig_w, (y0 + H) / fig_h), "upper left"
    else:
        legend_xy, loc = ((x0 + W / 2) / fig_w, (b.bottom - 0.04) / fig_h), "upper center"
    return ContourLayout(fig_w, fig_h, ax_rect, cax_rect, b, legend_xy, loc, bool(cd.equal_aspect))


def contour_canvas(cd: ContourData, labels: list[str], look: Look | None = None, axes_width: float = 5.4,
                   with_notes: bool = True):
    lay = contour_layout(cd, labels, look, axes_width, with_notes)
    look = lay.bands.look
    fig = new_figure(lay.fig_w, lay.fig_h, look)
    ax = fig.add_axes(lay.ax_rect)
    cax = fig.add_axes(lay.cax_rect)
    draw_bands(fig, lay.bands)
    return fig, ax, cax, lay


def legend_at(fig, ax, lay: ContourLayout, extra: list | None = None) -> None:
    """The figure's legend where the layout reserved it: the axes' entries, then ``extra`` handles."""
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = [*handles, *(extra or [])], [*labels, *[h.get_label() for h in extra or []]]
    if handles:
        fig.legend(handles, labels, loc=lay.legend_loc, bbox_to_anchor=lay.legend_xy,
                   ncols=max(1, lay.bands.legend_cols), frameon=False, fontsize=lay.bands.look.legend,
                   borderaxespad=0.0, borderpad=0.1, columnspacing=1.2)


def contour_labels(cd: ContourData, animated: bool = False) -> list[str]:
    """The legend entries of the contour figure, in order."""
    labels = [p.label for p in cd.paths if p.label]
    labels += ["start"] if animated else ["start", "end"]  # moving heads mark the ends of a GIF
    return labels + (["θ* (exact optimum)"] if cd.star is not None else [])


def plot_paths(ax, cd: ContourData, look: Look) -> None:
    lw0 = look.line
    frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
    starts = []
    for p in cd.paths:
        a, c = p.a, p.c
        lw = (1.7 if len(a) < 300 else 1.1) * lw0
        if p.diverged:
            k = first_exit(a, c, frame)
            end = len(a) if k is None else k + 1  # draw one segment past the edge (clipped)
            ax.plot(a[:end], c[:end], color=p.color, linestyle=p.linestyle, linewidth=lw, alpha=p.alpha,
                    label=p.label, marker="o" if end <= 40 else None, markersize=2.5 * lw0)
            if k is not None and k > 0:
                xa, xc = edge_point(a[k - 1], c[k - 1], a[k], c[k], frame)
            else:
                xa, xc = a[end - 1], c[end - 1]
            ax.plot([xa], [xc], marker="X", markersize=11 * lw0, color=p.color, markeredgecolor="white",
                    clip_on=False, zorder=7, linestyle="none")
        else:
            ax.plot(a, c, color=p.color, linestyle=p.linestyle, linewidth=lw, alpha=p.alpha, label=p.label,
                    marker="o" if len(a) <= 40 else None, markersize=2.5 * lw0, zorder=3)
            ax.plot([a[-1]], [c[-1]], marker="o", markersize=7 * lw0, color=p.color, markeredgecolor="white",
                    zorder=5, alpha=p.alpha, linestyle="none")
        starts.append((a[0], c[0]))
    plot_starts(ax, starts, look)
    ax.plot([], [], marker="o", markersize=7 * lw0, color="#777777", markeredgecolor="white", linestyle="none", label="end")


def plot_starts(ax, starts: list, look: Look) -> None:
    """The runs' starting points: one white circle each (legend: "start")."""
    if starts:
        sa = np.array(starts)
        ax.plot(sa[:, 0], sa[:, 1], marker="o", markersize=9 * look.line, markerfacecolor="white",
                markeredgecolor="black", markeredgewidth=1.5, linestyle="none", zorder=6, label="start")


def plot_star(ax, cd: ContourData, look: Look, label: str = "θ* (exact optimum)") -> None:
    if cd.star is not None:
        # on top, its fill half transparent: a stochastic run's noise ball or an end point at θ*
        # shows through it (an opaque star hid the point of the batch-mode slide)
        ax.plot([cd.star[0]], [cd.star[1]], marker="*", markersize=15 * look.line, color="#ffd400",
                markerfacecolor=(1.0, 0.83, 0.0, 0.5), markeredgecolor="black", zorder=8, linestyle="none",
                label=label)


def contour_figure(cd: ContourData, opts: FigureOptions | None = None, extra_labels: list[str] | None = None,
                   draw_extra=None):
    """Trajectories on the exact loss contours: start, end and θ* marked. ``draw_extra(ax, look)``
    draws more on the axes (the lecture's feasible region, minimisers) and returns its legend
    handles, labelled ``extra_labels`` (the layout reserves their room before drawing)."""
    look = look_of(opts, (7.8, 6.0))
    with style(look):
        fig, ax, cax, lay = contour_canvas(cd, contour_labels(cd) + list(extra_labels or []), look)
        draw_contours(ax, cd, cax, look)
        plot_paths(ax, cd, look)
        extra = draw_extra(ax, look) if draw_extra else []
        plot_star(ax, cd, look)
        legend_at(fig, ax, lay, extra)
    return fig


def edge_point(a0, c0, a1, c1, frame):
    """Where the segment from an inside point to an outside one crosses the frame."""
    a_lo, a_hi, c_lo, c_hi = frame
    if not (np.isfinite(a1) and np.isfinite(c1)):
        return a0, c0
    ts = [1.0]
    for lo, hi, p0, p1 in ((a_lo, a_hi, a0, a1), (c_lo, c_hi, c0, c1)):
        d = p1 - p0
        if d > 0 and p1 > hi:
            ts.append((hi - p0) / d)
        elif d < 0 and p1 < lo:
            ts.append((lo - p0) / d)
    t = max(0.0, min(ts))
    return a0 + t * (a1 - a0), c0 + t * (c1 - c0)

