"""Low layer: plain data (the dataclasses of :mod:`optrun.plots.model`) -> a matplotlib ``Figure``.

No pyplot and no global state: every figure is a ``matplotlib.figure.Figure`` with its own Agg
canvas, so drawing is headless and thread-safe, and nothing leaks between figures. Style is set
per call with ``rc_context``. Nothing here reads files or computes results: what is drawn is
exactly what the high layer handed over (which is what the tests check).
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optrun.plots.model import ContourData, DataSpaceData, Panel, ParamsData

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "svg.hashsalt": "optrun",  # stable ids in SVG files
    "svg.fonttype": "none",
}
STAR_COLOR = "#000000"


@contextmanager
def style():
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float):
    """A Figure with an Agg canvas (headless), constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def panel_grid(n: int, width: tuple[float, float], height: tuple[float, float]):
    """A figure of ``n`` small panels, at most three per row: each ``width[0]`` x ``height[0]``
    inches plus a margin (``width[1]``, ``height[1]``). Returns (fig, axes); spare axes hidden."""
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig = new_figure(width[0] * ncols + width[1], height[0] * nrows + height[1])
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def add_titles(fig, title: str, subtitle: str = "") -> None:
    width = max(40, int(fig.get_figwidth() * 14))
    lines = textwrap.wrap(title, width) + (textwrap.wrap(subtitle, width) if subtitle else [])
    fig.suptitle("\n".join(lines), fontsize=10, x=0.01, ha="left")


def add_notes(fig, notes: list[str]) -> None:
    """Caption lines in a band added under the figure (the layout keeps clear of it)."""
    notes = [n for n in dict.fromkeys(notes) if n]
    if not notes:
        return
    width = max(60, int(fig.get_figwidth() * 16))
    lines = []
    for n in notes:
        lines.extend(textwrap.wrap("• " + n, width, subsequent_indent="  "))
    band = (len(lines) * 7.5 * 1.35 + 8) / 72  # inches
    h = fig.get_figheight()
    fig.set_figheight(h + band)
    frac = band / (h + band)
    fig.get_layout_engine().set(rect=(0, frac, 1, 1 - frac))
    fig.text(0.01, frac - 0.004, "\n".join(lines), ha="left", va="top", fontsize=7.5, color="#444444")


def _message(ax, text: str) -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 50)), transform=ax.transAxes, ha="center", va="center",
            fontsize=9, color="#8a1c1c", bbox={"boxstyle": "round", "fc": "#fff4f0", "ec": "#d9a89a"})
    ax.set_xticks([])
    ax.set_yticks([])


def draw_panel(ax, panel: Panel, legend: bool = True) -> None:
    """Draw one curve panel (lines, seed bands, divergence marks, f* line) on ``ax``."""
    ax.set_title(panel.title, loc="left")
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.empty_reason:
        _message(ax, panel.empty_reason)
        return
    if panel.log:
        ax.set_yscale("log")
    for s in panel.series:
        ax.plot(s.x, s.y, color=s.color, linestyle=s.linestyle, alpha=s.alpha, linewidth=s.linewidth,
                label=s.label, zorder=s.zorder)
    for b in panel.bands:
        ax.fill_between(b.x, b.lo, b.hi, color=b.color, alpha=0.18, linewidth=0, zorder=1)
        ax.plot(b.x, b.median, color=b.color, linestyle=b.linestyle, linewidth=1.8, label=f"{b.label} (n={b.n})", zorder=2)
    for y, label, color in panel.hlines:
        if panel.ylim and not (panel.ylim[0] <= y <= panel.ylim[1]):
            continue
        ax.axhline(y, color=color, linestyle=":", linewidth=1.0, zorder=0.5)
        ann = ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), xytext=(2, 0), textcoords="offset points",
                          va="center", fontsize=8, color=color, annotation_clip=False)
        ann.set_in_layout(False)
    if panel.ylim:
        ax.set_ylim(*panel.ylim)
    for m in panel.markers:
        # text to the left of the mark when the mark is in the right half (stays inside the axes)
        x_lo, x_hi = ax.get_xlim() if not panel.series and not panel.bands else _x_span(panel)
        right = (m.x - x_lo) > 0.5 * (x_hi - x_lo) if x_hi > x_lo else False
        dx, ha = (-7, "right") if right else (7, "left")
        if m.clipped:  # off the scale: drawn just inside the top edge, at the x where it diverged
            tr = ax.get_xaxis_transform()
            ax.plot([m.x], [0.96], marker="X", markersize=9, color=m.color, markeredgecolor="white",
                    transform=tr, clip_on=False, zorder=6, linestyle="none")
            ann = ax.annotate(m.text + " ↑", (m.x, 0.96), xycoords=tr, xytext=(dx, -3), textcoords="offset points",
                              fontsize=7.5, color=m.color, va="top", ha=ha, annotation_clip=False)
        else:
            ax.plot([m.x], [m.y], marker="x", markersize=9, markeredgewidth=2.2, color=m.color,
                    clip_on=False, zorder=6, linestyle="none")
            ann = ax.annotate(m.text, (m.x, m.y), xytext=(dx, 4), textcoords="offset points",
                              fontsize=7.5, color=m.color, ha=ha, annotation_clip=False)
        ann.set_in_layout(False)
    if legend and any(s.label for s in panel.series) or panel.bands:
        ax.legend(loc="best", frameon=True, framealpha=0.85)


def _x_span(panel: Panel) -> tuple[float, float]:
    xs = [s.x for s in panel.series] + [b.x for b in panel.bands] + [np.array([m.x]) for m in panel.markers]
    allx = np.concatenate([x[np.isfinite(x)] for x in xs]) if xs else np.array([0.0, 1.0])
    return (float(allx.min()), float(allx.max())) if allx.size else (0.0, 1.0)


def curves_figure(panels: list[Panel], title: str, subtitle: str = "", notes: list[str] | None = None):
    """Panels side by side (loss and f - f*, or one chosen quantity)."""
    with style():
        n = len(panels)
        fig = new_figure(5.2 * n if n > 1 else 6.4, 4.2)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, panel in zip(axes, panels):
            draw_panel(ax, panel)
        add_titles(fig, title, subtitle)
        add_notes(fig, [*(notes or []), *[nt for p in panels for nt in p.notes]])
    return fig


def params_figure(data: ParamsData, title: str, subtitle: str = ""):
    """One small panel per parameter, θ* dashed."""
    with style():
        n = len(data.panels)
        fig, axes = panel_grid(n, (3.6, 0.4), (2.6, 0.9))
        handles = {}
        for ax, pp in zip(axes, data.panels):
            for s in pp.series:
                (line,) = ax.plot(s.x, s.y, color=s.color, linestyle=s.linestyle, alpha=s.alpha, linewidth=s.linewidth)
                if s.label and s.label not in handles:
                    handles[s.label] = line
            if pp.star is not None:
                line = ax.axhline(pp.star, color=STAR_COLOR, linestyle="--", linewidth=1.1, zorder=0.5)
                handles.setdefault("θ* (exact optimum)", line)
            if pp.ylim:
                ax.set_ylim(*pp.ylim)
            for m in pp.markers:
                ax.plot([m.x], [m.y], marker="X", markersize=9, color=m.color, markeredgecolor="white", clip_on=False,
                        zorder=6, linestyle="none")
            ax.set_title(pp.name)
            ax.set_xlabel(data.xlabel, fontsize=8)
        if any(pp.markers for pp in data.panels):
            data.notes.append("× : a diverged run leaves the scale there")
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="outside lower center", frameon=False,
                       ncols=min(4, len(handles)))
        # notes join the subtitle: the legend holds the bottom edge
        add_titles(fig, title, " · ".join([subtitle, *dict.fromkeys(data.notes)]) if data.notes else subtitle)
    return fig


def _first_exit(a, c, frame) -> int | None:
    a_lo, a_hi, c_lo, c_hi = frame
    out = ~(np.isfinite(a) & np.isfinite(c) & (a >= a_lo) & (a <= a_hi) & (c >= c_lo) & (c <= c_hi))
    k = np.flatnonzero(out)
    return int(k[0]) if k.size else None


def draw_contours(ax, cd: ContourData, cax=None):
    """Filled log-spaced contours of f - f* on the plane, with a colour bar in ``cax``."""
    from matplotlib.colors import LogNorm

    Z = np.where(np.isfinite(cd.Z), cd.Z, np.nan)
    Zc = np.clip(Z, cd.levels[0] * 1e-3, None)  # LogNorm needs positive values
    norm = LogNorm(vmin=cd.levels[0], vmax=cd.levels[-1])
    cs = ax.contourf(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, cmap="Purples", alpha=0.45, extend="both")
    ax.contour(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, colors="#6a5d8f", linewidths=0.55, alpha=0.75)
    if cax is not None:
        from matplotlib.ticker import LogFormatterSciNotation, LogLocator

        cb = ax.figure.colorbar(cs, cax=cax, ticks=LogLocator(base=10), format=LogFormatterSciNotation(base=10))
        cb.minorticks_off()
        cb.set_label(cd.zlabel + " (contours at 1, 2, 5 × 10^k)")
    ax.set_xlim(cd.A[0], cd.A[-1])
    ax.set_ylim(cd.C[0], cd.C[-1])
    ax.set_xlabel(cd.xlabel)
    ax.set_ylabel(cd.ylabel)
    ax.grid(False)
    return cs


@dataclass
class ContourLayout:
    """An explicit layout (inches): the axes get exactly the frame's shape when both axes share
    one scale, and the title, notes and legend get measured bands (no layout engine involved)."""

    fig_w: float
    fig_h: float
    ax_rect: tuple[float, float, float, float]  # figure fractions
    cax_rect: tuple[float, float, float, float]
    title_lines: list[str]
    note_lines: list[str]
    legend_y: float  # figure fraction of the legend's top
    notes_y: float


def contour_layout(cd: ContourData, n_legend: int, axes_width: float = 5.4, ncols: int = 4,
                   with_notes: bool = True) -> ContourLayout:
    ratio = (cd.C[-1] - cd.C[0]) / (cd.A[-1] - cd.A[0])
    if cd.equal_aspect:
        W = axes_width
        H = W * ratio
        if H > 7.0:
            H, W = 7.0, 7.0 / ratio
        elif H < 2.6:
            H, W = 2.6, min(2.6 / ratio, 8.5)
    else:
        W, H = axes_width, 0.78 * axes_width
    left, right_gap, cbar_w, right = 0.85, 0.18, 0.18, 1.1
    fig_w = left + W + right_gap + cbar_w + right
    chars = max(40, int(fig_w * 13.5))
    title_lines = textwrap.wrap(cd.title, chars) + (textwrap.wrap(cd.subtitle, chars) if cd.subtitle else [])
    notes = [n for n in dict.fromkeys(cd.notes) if n] if with_notes else []
    note_lines = [ln for n in notes for ln in textwrap.wrap("• " + n, int(fig_w * 16), subsequent_indent="  ")]
    top = 0.15 + 0.19 * len(title_lines) + 0.15
    legend_h = 0.24 * -(-n_legend // ncols) + 0.05
    notes_h = 0.145 * len(note_lines) + (0.1 if note_lines else 0.0)
    bottom = 0.58 + legend_h + notes_h
    fig_h = bottom + H + top
    ax_rect = (left / fig_w, bottom / fig_h, W / fig_w, H / fig_h)
    cax_rect = ((left + W + right_gap) / fig_w, bottom / fig_h, cbar_w / fig_w, H / fig_h)
    return ContourLayout(fig_w, fig_h, ax_rect, cax_rect, title_lines, note_lines,
                         legend_y=(bottom - 0.55) / fig_h, notes_y=(notes_h - 0.04) / fig_h)


def _contour_canvas(cd: ContourData, n_legend: int, axes_width: float = 5.4, ncols: int = 4, with_notes: bool = True):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lay = contour_layout(cd, n_legend, axes_width, ncols, with_notes)
    fig = Figure(figsize=(lay.fig_w, lay.fig_h))
    FigureCanvasAgg(fig)
    ax = fig.add_axes(lay.ax_rect)
    cax = fig.add_axes(lay.cax_rect)
    fig.text(0.1 / lay.fig_w, 1 - 0.12 / lay.fig_h, "\n".join(lay.title_lines), ha="left", va="top", fontsize=10)
    if lay.note_lines:
        fig.text(0.1 / lay.fig_w, lay.notes_y, "\n".join(lay.note_lines), ha="left", va="top", fontsize=7.5,
                 color="#444444")
    return fig, ax, cax, lay


def _legend_at(fig, ax, lay: ContourLayout, ncols: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(lay.ax_rect[0] + lay.ax_rect[2] / 2, lay.legend_y),
                   ncols=min(ncols, len(labels)), frameon=False)


def contour_figure(cd: ContourData):
    """Trajectories on the exact loss contours: start, end and θ* marked."""
    with style():
        n_legend = len([p for p in cd.paths if p.label]) + 2 + (cd.star is not None)
        fig, ax, cax, lay = _contour_canvas(cd, n_legend)
        draw_contours(ax, cd, cax)
        frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
        starts = []
        for p in cd.paths:
            a, c = p.a, p.c
            lw = 1.7 if len(a) < 300 else 1.1
            if p.diverged:
                k = _first_exit(a, c, frame)
                end = len(a) if k is None else k + 1  # draw one segment past the edge (clipped)
                ax.plot(a[:end], c[:end], color=p.color, linestyle=p.linestyle, linewidth=lw, alpha=p.alpha,
                        label=p.label, marker="o" if end <= 40 else None, markersize=2.5)
                if k is not None and k > 0:
                    xa, xc = _edge_point(a[k - 1], c[k - 1], a[k], c[k], frame)
                else:
                    xa, xc = a[end - 1], c[end - 1]
                ax.plot([xa], [xc], marker="X", markersize=11, color=p.color, markeredgecolor="white",
                        clip_on=False, zorder=7, linestyle="none")
            else:
                ax.plot(a, c, color=p.color, linestyle=p.linestyle, linewidth=lw, alpha=p.alpha, label=p.label,
                        marker="o" if len(a) <= 40 else None, markersize=2.5, zorder=3)
                ax.plot([a[-1]], [c[-1]], marker="o", markersize=7, color=p.color, markeredgecolor="white",
                        zorder=5, alpha=p.alpha, linestyle="none")
            starts.append((a[0], c[0]))
        if starts:
            sa = np.array(starts)
            ax.plot(sa[:, 0], sa[:, 1], marker="o", markersize=9, markerfacecolor="white", markeredgecolor="black",
                    markeredgewidth=1.5, linestyle="none", zorder=6, label="start")
        ax.plot([], [], marker="o", markersize=7, color="#777777", markeredgecolor="white", linestyle="none", label="end")
        if cd.star is not None:
            ax.plot([cd.star[0]], [cd.star[1]], marker="*", markersize=15, color="#ffd400", markeredgecolor="black",
                    zorder=8, linestyle="none", label="θ* (exact optimum)")
        _legend_at(fig, ax, lay, 4)
    return fig


def _edge_point(a0, c0, a1, c1, frame):
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


def dataspace_figure(dd: DataSpaceData):
    """The data with the fitted line / probability curve at several steps (one panel per setting)."""
    with style():
        n = len(dd.panels)
        fig, axes = panel_grid(n, (4.4, 0.6), (3.6, 0.8))
        logistic = dd.model == "logistic"
        for ax, panel in zip(axes, dd.panels):
            ax.scatter(dd.x, dd.y, s=18, color="#555555", alpha=0.55 if logistic else 0.8, zorder=3,
                       edgecolor="white", linewidth=0.4, label="data")
            for ln in panel.lines:
                ax.plot(ln.x, ln.y, color=ln.color, alpha=ln.alpha, linewidth=1.5, label=ln.label)
            if panel.lines and logistic and panel.lines[-1].boundary is not None:
                ax.axvline(panel.lines[-1].boundary, color=panel.lines[-1].color, linestyle=":", linewidth=1.2,
                           label="decision boundary (last step)")
            if panel.star is not None:
                ax.plot(panel.star.x, panel.star.y, color=STAR_COLOR, linestyle="--", linewidth=1.3, label="θ* fit")
            if logistic:
                ax.set_ylim(-0.08, 1.08)
            else:
                lo, hi = float(np.min(dd.y)), float(np.max(dd.y))
                pad = 0.25 * (hi - lo if hi > lo else 1.0)
                ax.set_ylim(lo - pad, hi + pad)
            ax.set_title(panel.title)
            ax.set_xlabel(dd.xlabel)
            ax.set_ylabel(dd.ylabel)
            ax.legend(loc="best", fontsize=7)
        add_titles(fig, dd.title, dd.subtitle)
        add_notes(fig, dd.notes)
    return fig


def message_figure(title: str, message: str, subtitle: str = ""):
    """A figure that says why the real one cannot be drawn (never an empty file)."""
    with style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        _message(ax, message)
        ax.set_frame_on(False)
        add_titles(fig, title, subtitle)
    return fig


def contour_animation(cd: ContourData, path: Path, max_frames: int = 200, fps: int = 15) -> Path:
    """A GIF of the paths being drawn on the contours (at most ``max_frames`` frames).

    The static part (contours, colour bar, legend) is rendered once; each frame restores it and
    draws only the moving paths (blitting), and Pillow writes the GIF.
    """
    from PIL import Image

    with style():
        n_legend = len([p for p in cd.paths if p.label]) + (cd.star is not None)
        fig, ax, cax, lay = _contour_canvas(cd, n_legend, axes_width=4.6, ncols=3, with_notes=False)
        fig.set_dpi(90)
        draw_contours(ax, cd, cax)
        frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
        lines, heads, data = [], [], []
        for p in cd.paths:
            (ln,) = ax.plot([], [], color=p.color, linestyle=p.linestyle, linewidth=1.6, alpha=p.alpha, label=p.label)
            (hd,) = ax.plot([], [], marker="o", markersize=6, color=p.color, markeredgecolor="white", linestyle="none")
            xs = p.x if p.x is not None else np.arange(len(p.a), dtype=float)
            a, c = p.a, p.c
            if p.diverged:
                k = _first_exit(a, c, frame)
                if k is not None:
                    a, c, xs = a[: k + 1], c[: k + 1], xs[: k + 1]
            lines.append(ln)
            heads.append(hd)
            data.append((xs, a, c))
        if cd.star is not None:
            ax.plot([cd.star[0]], [cd.star[1]], marker="*", markersize=14, color="#ffd400", markeredgecolor="black",
                    linestyle="none", label="θ*", zorder=8)
        _legend_at(fig, ax, lay, 3)
        x_end = max((float(np.nanmax(d[0])) for d in data if len(d[0])), default=1.0)
        n_frames = int(min(max_frames, max(2, max(len(d[0]) for d in data) if data else 2)))
        grid = np.linspace(0.0, x_end, n_frames)
        label = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=9,
                        bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
        moving = [*lines, *heads, label]
        for art in moving:
            art.set_animated(True)  # left out of the background drawn once below
        canvas = fig.canvas
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        def render(xk):
            canvas.restore_region(background)
            for ln, hd, (xs, a, c) in zip(lines, heads, data):
                m = int(np.searchsorted(xs, xk, side="right"))
                ln.set_data(a[:m], c[:m])
                hd.set_data(a[max(m - 1, 0) : m], c[max(m - 1, 0) : m])
            label.set_text(f"{cd.x_kind} {xk:.3g}")
            for art in moving:
                ax.draw_artist(art)
            return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())

        _save_gif(render, grid, path, fps)
        fig.clear()
    return path


def _save_gif(render, grid, path: Path, fps: int) -> None:
    """Write the frames ``render(x)`` for x in ``grid`` as a looping GIF (the last frame held)."""
    from PIL import Image

    # one palette for all frames, from the last one (it holds every colour): fast and stable
    palette = render(grid[-1]).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    images = [render(xk).quantize(palette=palette, dither=Image.Dither.NONE) for xk in grid]
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [int(1000 / fps)] * (len(images) - 1) + [2000]  # hold the last frame
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)


def save_figure(fig, path: Path, dpi: int = 130) -> Path:
    """Save ``fig`` (format from the suffix: .png or .svg) and release it. The one save helper."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written to a temporary file and renamed (atomic, like every other file of a run folder): a
    # Ctrl-C or a full disk mid-save never leaves half a PNG under the figure's name
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with style():
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png",
                        metadata={"Software": None} if path.suffix == ".png" else {"Date": None})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        fig.clear()
    return path
