"""Curve figures: plain panels (:class:`~optrun.plots.model.Panel`, :class:`~optrun.plots.model.ParamsData`,
:class:`~optrun.plots.model.DataSpaceData`) -> a matplotlib ``Figure``, on the shared layout of
:mod:`optrun.plots.figure_layout`. Nothing here reads files or computes results."""

from __future__ import annotations

import numpy as np

from optrun.plots.figure_layout import (
    STAR_COLOR,
    default_look,
    draw_bands,
    legend_entries,
    log_axis,
    look_of,
    make_bands,
    message_in,
    new_figure,
    place_grid,
    style,
    wrap_text,
)
from optrun.plots.model import DataSpaceData, Panel, ParamsData
from optrun.plots.style import FigureOptions, Look


def draw_panel(ax, panel: Panel, look: Look | None = None) -> None:
    """Draw one curve panel (lines, seed bands, divergence marks, f* line) on ``ax``. The legend
    is the figure's (under the panels: it never covers a curve)."""
    look = look or default_look((6.4, 4.2))
    lw = look.line
    ax.set_title(panel.title, loc="left", fontsize=look.label)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.empty_reason:
        message_in(ax, panel.empty_reason, look)
        return
    if panel.log:
        ax.set_yscale("log")
    for s in panel.series:
        ax.plot(s.x, s.y, color=s.color, linestyle=s.linestyle, alpha=s.alpha, linewidth=s.linewidth * lw,
                label=s.label, zorder=s.zorder)
    for b in panel.bands:
        ax.fill_between(b.x, b.lo, b.hi, color=b.color, alpha=0.18, linewidth=0, zorder=1)
        ax.plot(b.x, b.median, color=b.color, linestyle=b.linestyle, linewidth=1.8 * lw, label=f"{b.label} (n={b.n})" if b.label else None,
                zorder=2)
    for y, label, color in panel.hlines:
        if panel.ylim and not (panel.ylim[0] <= y <= panel.ylim[1]):
            continue
        ax.axhline(y, color=color, linestyle=":", linewidth=1.0 * lw, zorder=0.5)
        # inside the axes, above the line at its right end: beside it, the last panel's label
        # ran off the figure ("targe")
        ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), xytext=(-2, 2), textcoords="offset points",
                    va="bottom", ha="right", fontsize=look.note, color=color, annotation_clip=False)
    if panel.ylim:
        ax.set_ylim(*panel.ylim)
    if panel.log:
        lo, hi = ax.get_ylim()
        log_axis(ax.yaxis, lo, hi)
    stacked = 0  # labels of marks clipped at the top edge, one line each (runs diverging at once)
    for m in panel.markers:
        # text to the left of the mark when the mark is in the right half (stays inside the axes)
        x_lo, x_hi = ax.get_xlim() if not panel.series and not panel.bands else _x_span(panel)
        right = (m.x - x_lo) > 0.5 * (x_hi - x_lo) if x_hi > x_lo else False
        dx, ha = (-7, "right") if right else (7, "left")
        if m.clipped:  # off the scale: drawn just inside the top edge, at the x where it diverged
            tr = ax.get_xaxis_transform()
            ax.plot([m.x], [0.96], marker="X", markersize=9 * lw, color=m.color, markeredgecolor="white",
                    transform=tr, clip_on=False, zorder=6, linestyle="none")
            ax.annotate(m.text + " ↑", (m.x, 0.96), xycoords=tr, xytext=(dx, -3 - 1.3 * look.note * stacked),
                        textcoords="offset points", fontsize=look.note, color=m.color, va="top", ha=ha,
                        annotation_clip=False)
            stacked += 1
        else:
            ax.plot([m.x], [m.y], marker="x", markersize=9 * lw, markeredgewidth=2.2 * lw, color=m.color,
                    clip_on=False, zorder=6, linestyle="none")
            ax.annotate(m.text, (m.x, m.y), xytext=(dx, 4), textcoords="offset points",
                        fontsize=look.note, color=m.color, ha=ha, annotation_clip=False)


def _x_span(panel: Panel) -> tuple[float, float]:
    xs = [s.x for s in panel.series] + [b.x for b in panel.bands] + [np.array([m.x]) for m in panel.markers]
    allx = np.concatenate([x[np.isfinite(x)] for x in xs]) if xs else np.array([0.0, 1.0])
    return (float(allx.min()), float(allx.max())) if allx.size else (0.0, 1.0)


def curves_figure(panels: list[Panel], title: str, subtitle: str = "", notes: list[str] | None = None,
                  opts: FigureOptions | None = None):
    """Panels side by side (loss and f - f*, or one chosen quantity), one legend under them."""
    n = len(panels)
    natural = (5.2 * n if n > 1 else 6.4, 4.2)
    look = look_of(opts, natural)
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in panels]
        for ax, panel in zip(axes, panels):
            draw_panel(ax, panel, look)
        handles, labels = legend_entries(axes)
        b = make_bands(look.width, look, title, subtitle, labels,
                       [*(notes or []), *[nt for p in panels for nt in p.notes]])
        place_grid(fig, axes, 1, n, look, b, None if look.fixed_size else 2.9 * look.width / natural[0], right=0.4)
        draw_bands(fig, b, handles, labels)
    return fig


def params_figure(data: ParamsData, title: str, subtitle: str = "", opts: FigureOptions | None = None):
    """One small panel per parameter, θ* dashed (one θ* line per problem when the runs differ)."""
    n = len(data.panels)
    ncols = min(3, n) if n != 4 else 2
    nrows = -(-n // ncols)
    natural = (3.6 * ncols + 0.4, 2.6 * nrows + 0.9)
    look = look_of(opts, natural)
    if look.fixed_size and look.width / look.height > 1.5 and n <= 4:
        ncols, nrows = n, 1  # a wide slide: one row
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in range(nrows * ncols)]
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax, pp in zip(axes, data.panels):
            for s in pp.series:
                ax.plot(s.x, s.y, color=s.color, linestyle=s.linestyle, alpha=s.alpha, linewidth=s.linewidth * look.line,
                        label=s.label)
            for value, color, label in pp.stars:
                ax.axhline(value, color=color, linestyle="--", linewidth=1.2 * look.line, zorder=0.5, label=label)
            if pp.ylim:
                ax.set_ylim(*pp.ylim)
            for m in pp.markers:
                ax.plot([m.x], [m.y], marker="X", markersize=9 * look.line, color=m.color, markeredgecolor="white",
                        clip_on=False, zorder=6, linestyle="none")
            ax.set_title(pp.name, fontsize=look.label)
            ax.set_xlabel(data.xlabel)
        notes = list(data.notes)
        if any(pp.markers for pp in data.panels):
            notes.append("× : a diverged run leaves the scale there")
        handles, labels = legend_entries(axes)
        b = make_bands(look.width, look, title, subtitle, labels, notes)
        place_grid(fig, axes, nrows, ncols, look, b, None if look.fixed_size else 2.0 * look.width / natural[0],
                   xlabel_rows="last")
        for ax in axes[: (nrows - 1) * ncols]:
            ax.set_xlabel("")
        draw_bands(fig, b, handles, labels)
    return fig



def dataspace_figure(dd: DataSpaceData, opts: FigureOptions | None = None):
    """The data with the fitted line / probability curve at several steps (one panel per setting)."""
    n = len(dd.panels)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    natural = (4.4 * ncols + 0.6, 3.6 * nrows + 0.8)
    look = look_of(opts, natural)
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in range(nrows * ncols)]
        for ax in axes[n:]:
            ax.set_visible(False)
        logistic = dd.model == "logistic"
        # Several panels snapshot different steps (an epoch is 1 step of full batch, n of
        # stochastic): one shared legend of "step k" entries would mix them. Each panel's title
        # names its own steps instead, and the legend says what the shades mean.
        shared = n > 1
        for ax, panel in zip(axes, dd.panels):
            ax.scatter(dd.x, dd.y, s=18 * look.line**2, color="#555555", alpha=0.55 if logistic else 0.8, zorder=3,
                       edgecolor="white", linewidth=0.4, label="data")
            for ln in panel.lines:
                ax.plot(ln.x, ln.y, color=ln.color, alpha=ln.alpha, linewidth=1.5 * look.line,
                        label="_steps" if shared else ln.label)
            if panel.lines and logistic and panel.lines[-1].boundary is not None:
                ax.axvline(panel.lines[-1].boundary, color=panel.lines[-1].color, linestyle=":", linewidth=1.2 * look.line,
                           label="decision boundary (last step)")
            if panel.star is not None:
                ax.plot(panel.star.x, panel.star.y, color=STAR_COLOR, linestyle="--", linewidth=1.3 * look.line,
                        label="θ* fit")
            if logistic:
                ax.set_ylim(-0.08, 1.08)
            else:
                lo, hi = float(np.min(dd.y)), float(np.max(dd.y))
                pad = 0.25 * (hi - lo if hi > lo else 1.0)
                ax.set_ylim(lo - pad, hi + pad)
            ax.set_xlabel(dd.xlabel)
            ax.set_ylabel(dd.ylabel)
        handles, labels = legend_entries(axes)
        if shared and any(p.lines for p in dd.panels):
            from matplotlib.lines import Line2D

            what = "probability curve" if logistic else "fitted line"
            handles.insert(1, Line2D([], [], color="#777777", linewidth=1.5 * look.line))
            labels.insert(1, f"{what} at the steps in each title (light → dark: later)")
        b = make_bands(look.width, look, dd.title, dd.subtitle, labels, dd.notes)
        place_grid(fig, axes, nrows, ncols, look, b, None if look.fixed_size else 2.9 * look.width / natural[0])
        for ax, panel in zip(axes, dd.panels):
            ax.set_title(_steps_title(panel, ax.get_position().width * fig.get_figwidth(), look) if shared
                         else panel.title, fontsize=look.label)
        draw_bands(fig, b, handles, labels)
    return fig


def _steps_title(panel, width_in: float, look) -> str:
    """``"full batch · steps 0, 1, 3, 10"``, or ``"... · steps 0 … 300"`` when the list would not
    fit one line over the panel (the layout reserves one line for a panel title)."""
    steps = [ln.label.removeprefix("step ") for ln in panel.lines]
    if not steps:
        return panel.title
    full = f"{panel.title} · steps {', '.join(steps)}"
    if len(wrap_text(full, width_in, look.label)) <= 1:
        return full
    return f"{panel.title} · steps {steps[0]} … {steps[-1]}"

