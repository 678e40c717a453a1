"""Low layer: plain data (the dataclasses of :mod:`optrun.plots.model`) -> a matplotlib ``Figure``.

No pyplot and no global state: every figure is a ``matplotlib.figure.Figure`` with its own Agg
canvas, so drawing is headless and thread-safe, and nothing leaks between figures. Style is set
per call with ``rc_context``. Nothing here reads files or computes results: what is drawn is
exactly what the high layer handed over (which is what the tests check).
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from optrun.plots.model import ContourData, DataSpaceData, Panel, ParamsData
from optrun.plots.style import FigureOptions, Look

STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "svg.hashsalt": "optrun",  # stable ids in SVG files
    "svg.fonttype": "none",
    "pdf.fonttype": 42,  # TrueType in PDF: text stays text
    "axes.formatter.use_mathtext": False,
}
STAR_COLOR = "#000000"
LINE_H = 1.3  # a text line is 1.3 font sizes tall
CHAR_W = 0.6  # an average DejaVu character is 0.6 font sizes wide (digits 0.64, letters less)
NOTE_COLOR = "#444444"


def default_look(natural: tuple[float, float]) -> Look:
    return FigureOptions().look(natural)


def _look(opts: FigureOptions | None, natural: tuple[float, float]) -> Look:
    return (opts or FigureOptions()).look(natural)


@contextmanager
def style(look: Look | None = None):
    import matplotlib

    with matplotlib.rc_context({**STYLE, **(look or default_look((6.4, 4.2))).rc()}):
        yield


def _inch(points: float, lines: int = 1) -> float:
    """Height in inches of ``lines`` lines of text of ``points`` pt."""
    return lines * points * LINE_H / 72.0


def _wrap(text: str, width_in: float, points: float, max_lines: int | None = None) -> list[str]:
    """Wrap ``text`` to ``width_in`` inches at ``points`` pt (``max_lines``: cut, with an ellipsis)."""
    if not text:
        return []
    lines = textwrap.wrap(text, max(16, int(width_in * 72 / (points * 0.56))))
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ·,") + " …"
    return lines


def new_figure(width: float, height: float, look: Look | None = None):
    """A Figure with an Agg canvas (headless). No layout engine: every figure places its axes
    itself from measured bands of text (:class:`Bands`), which is what makes drawing cheap and
    lets slides keep an exact 16:9 size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    fig._optrun_dpi = (look.dpi if look else 130)  # the dpi save_figure uses
    return fig


# ---- axes ---------------------------------------------------------------------------------------

_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pow10(v: float, pos=None) -> str:
    """``1e-3`` -> ``10⁻³``, ``2e-3`` -> ``2×10⁻³``: plain Unicode, no mathtext (mathtext costs a
    parser per figure and looks different from the rest of the text)."""
    if not np.isfinite(v) or v <= 0:
        return ""
    e = int(np.floor(np.log10(v) + 1e-9))
    m = v / 10.0**e
    if abs(m - round(m)) > 1e-6:
        return f"{v:.2g}"
    m = int(round(m))
    if e in (0, 1, 2, -1, -2):
        return f"{v:g}"
    return ("" if m == 1 else f"{m}×") + "10" + str(e).translate(_SUP)


def log_axis(axis, lo: float | None = None, hi: float | None = None) -> None:
    """A log axis with labelled ticks at 1 (and 2, 5 within less than two decades) × 10^k, no
    minor ticks (each tick is an artist to lay out: minor ticks tripled a log figure's cost)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    subs = (1.0,)
    if lo is not None and hi is not None and lo > 0 and hi / lo < 100:
        subs = (1.0, 2.0, 5.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=8))
    axis.set_major_formatter(FuncFormatter(pow10))
    axis.set_minor_locator(NullLocator())


def _tick_chars(axis) -> int:
    """Characters in the longest tick label the axis will show (no drawing involved)."""
    lo, hi = sorted(axis.get_view_interval())
    locs = [v for v in axis.get_major_locator()() if lo - 1e-12 * abs(lo) <= v <= hi + 1e-12 * abs(hi)]
    labels = axis.get_major_formatter().format_ticks(locs) if locs else ["0"]
    return max((len(t) for t in labels), default=1)


def _left_margin(ax, look: Look, ylabel: bool = True) -> float:
    """Inches left of an axes for its y tick labels and y label."""
    w = _tick_chars(ax.yaxis) * CHAR_W * look.tick / 72 + 0.14
    return w + (_inch(look.label) + 0.05 if ylabel and ax.get_ylabel() else 0.0)


def _under_axes(look: Look, xlabel: bool = True) -> float:
    """Inches below an axes for its x tick labels and x label."""
    return _inch(look.tick) + 0.12 + (_inch(look.label) + 0.04 if xlabel else 0.0)


# ---- figure bands: title on top, legend and notes at the bottom ---------------------------------


@dataclass
class Bands:
    """The text bands of a figure (inches): title and subtitle lines on top; legend rows and
    caption lines at the bottom. The axes get what is left."""

    title: list[str]
    subtitle: list[str]
    legend_rows: int
    legend_cols: int
    notes: list[str]
    look: Look

    @property
    def top(self) -> float:
        return 0.1 + _inch(self.look.title, len(self.title)) + _inch(self.look.note, len(self.subtitle)) + 0.08

    @property
    def legend_h(self) -> float:
        return (_inch(self.look.legend, self.legend_rows) * 1.12 + 0.12) if self.legend_rows else 0.0

    @property
    def notes_h(self) -> float:
        return _inch(self.look.note, len(self.notes)) + 0.1 if self.notes else 0.05

    @property
    def bottom(self) -> float:
        return self.legend_h + self.notes_h


def make_bands(fig_w: float, look: Look, title: str, subtitle: str, labels: list[str], notes: list[str],
               legend_w: float | None = None) -> Bands:
    """Wrap the title, subtitle and notes to the width; put the legend entries in columns."""
    notes = [n for n in dict.fromkeys(notes or []) if n]
    width = fig_w - 0.25
    t = _wrap(title, width, look.title, max_lines=2)
    sub = _wrap(subtitle, width, look.note, max_lines=2) if (subtitle and look.subtitle) else []
    note_lines = [ln for n in notes for ln in textwrap.wrap("• " + n, max(30, int(width * 72 / (look.note * 0.56))),
                                                             subsequent_indent="  ")]
    rows = cols = 0
    if labels:
        entry = max(len(lb) for lb in labels) * look.legend * 0.56 / 72 + 3.2 * look.legend / 72 + 0.15
        cols = max(1, min(len(labels), int((legend_w or width) // entry)))
        rows = -(-len(labels) // cols)
    return Bands(t, sub, rows, cols, note_lines, look)


def draw_bands(fig, b: Bands, handles=None, labels=None, legend_x: float = 0.5) -> None:
    """Title, subtitle, legend and notes at the places ``b`` reserved."""
    W, H = fig.get_figwidth(), fig.get_figheight()
    look = b.look
    y = H - 0.1
    if b.title:
        fig.text(0.12 / W, y / H, "\n".join(b.title), ha="left", va="top", fontsize=look.title, fontweight="bold",
                 linespacing=1.15)
        y -= _inch(look.title, len(b.title))
    if b.subtitle:
        fig.text(0.12 / W, y / H, "\n".join(b.subtitle), ha="left", va="top", fontsize=look.note, color=NOTE_COLOR,
                 linespacing=1.15)
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(legend_x, (b.bottom - 0.04) / H),
                   ncols=b.legend_cols, frameon=False, fontsize=look.legend, handlelength=2.2, columnspacing=1.2,
                   borderaxespad=0.0, borderpad=0.1)
    if b.notes:
        fig.text(0.12 / W, (b.notes_h - 0.04) / H, "\n".join(b.notes), ha="left", va="top", fontsize=look.note,
                 color=NOTE_COLOR, linespacing=1.15)


def place_grid(fig, axes, nrows: int, ncols: int, look: Look, b: Bands, axes_h: float | None,
               panel_titles: bool = True, xlabel_rows: str = "all", right: float = 0.25) -> None:
    """Place ``axes`` (row-major) in a grid between the bands. ``axes_h``: the height of one
    axes when the figure's height is free (None: the figure's height is kept)."""
    W = fig.get_figwidth()
    ttl = _inch(look.label) + 0.08 if panel_titles else 0.05
    rows = [axes[r * ncols : (r + 1) * ncols] for r in range(nrows)]
    under = [_under_axes(look, xlabel_rows == "all" or r == nrows - 1) for r in range(nrows)]
    lefts = [max((_left_margin(ax, look) for ax in axes[c::ncols] if ax.get_visible()), default=0.3)
             for c in range(ncols)]
    if axes_h is not None:
        fig.set_figheight(b.top + b.bottom + sum(under) + nrows * (axes_h + ttl))
    H = fig.get_figheight()
    h = max(0.4, (H - b.top - b.bottom - sum(under) - nrows * ttl) / nrows)
    w = max(0.4, (W - 0.1 - sum(lefts) - ncols * right) / ncols)
    y = H - b.top
    for r, row in enumerate(rows):
        y -= ttl + h
        x = 0.1
        for c, ax in enumerate(row):
            x += lefts[c]
            ax.set_position([x / W, y / H, w / W, h / H])
            x += w + right
        y -= under[r]


def _handles(axes) -> tuple[list, list[str]]:
    """The legend entries of the axes, each label once (the figure's one legend)."""
    seen: dict[str, object] = {}
    for ax in axes:
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb and not lb.startswith("_"):
                seen.setdefault(lb, hd)
    return list(seen.values()), list(seen)


def _message(ax, text: str, look: Look) -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 50)), transform=ax.transAxes, ha="center", va="center",
            fontsize=look.label, color="#8a1c1c", bbox={"boxstyle": "round", "fc": "#fff4f0", "ec": "#d9a89a"})
    ax.set_xticks([])
    ax.set_yticks([])


def draw_panel(ax, panel: Panel, look: Look | None = None) -> None:
    """Draw one curve panel (lines, seed bands, divergence marks, f* line) on ``ax``. The legend
    is the figure's (under the panels: it never covers a curve)."""
    look = look or default_look((6.4, 4.2))
    lw = look.line
    ax.set_title(panel.title, loc="left", fontsize=look.label)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.empty_reason:
        _message(ax, panel.empty_reason, look)
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
        ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), xytext=(2, 0), textcoords="offset points",
                    va="center", fontsize=look.note, color=color, annotation_clip=False)
    if panel.ylim:
        ax.set_ylim(*panel.ylim)
    if panel.log:
        lo, hi = ax.get_ylim()
        log_axis(ax.yaxis, lo, hi)
    for m in panel.markers:
        # text to the left of the mark when the mark is in the right half (stays inside the axes)
        x_lo, x_hi = ax.get_xlim() if not panel.series and not panel.bands else _x_span(panel)
        right = (m.x - x_lo) > 0.5 * (x_hi - x_lo) if x_hi > x_lo else False
        dx, ha = (-7, "right") if right else (7, "left")
        if m.clipped:  # off the scale: drawn just inside the top edge, at the x where it diverged
            tr = ax.get_xaxis_transform()
            ax.plot([m.x], [0.96], marker="X", markersize=9 * lw, color=m.color, markeredgecolor="white",
                    transform=tr, clip_on=False, zorder=6, linestyle="none")
            ax.annotate(m.text + " ↑", (m.x, 0.96), xycoords=tr, xytext=(dx, -3), textcoords="offset points",
                        fontsize=look.note, color=m.color, va="top", ha=ha, annotation_clip=False)
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
    look = _look(opts, natural)
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in panels]
        for ax, panel in zip(axes, panels):
            draw_panel(ax, panel, look)
        handles, labels = _handles(axes)
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
    look = _look(opts, natural)
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
        handles, labels = _handles(axes)
        b = make_bands(look.width, look, title, subtitle, labels, notes)
        place_grid(fig, axes, nrows, ncols, look, b, None if look.fixed_size else 2.0 * look.width / natural[0],
                   xlabel_rows="last")
        for ax in axes[: (nrows - 1) * ncols]:
            ax.set_xlabel("")
        draw_bands(fig, b, handles, labels)
    return fig


def _first_exit(a, c, frame) -> int | None:
    a_lo, a_hi, c_lo, c_hi = frame
    out = ~(np.isfinite(a) & np.isfinite(c) & (a >= a_lo) & (a <= a_hi) & (c >= c_lo) & (c <= c_hi))
    k = np.flatnonzero(out)
    return int(k[0]) if k.size else None


def draw_contours(ax, cd: ContourData, cax=None, look: Look | None = None):
    """Filled log-spaced contours of f - f* on the plane, with a colour bar in ``cax``."""
    from matplotlib.colors import LogNorm

    look = look or default_look((7.8, 6.0))
    Z = np.where(np.isfinite(cd.Z), cd.Z, np.nan)
    Zc = np.clip(Z, cd.levels[0] * 1e-3, None)  # LogNorm needs positive values
    norm = LogNorm(vmin=cd.levels[0], vmax=cd.levels[-1])
    cs = ax.contourf(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, cmap="Purples", alpha=0.45, extend="both")
    ax.contour(cd.A, cd.C, Zc, levels=cd.levels, norm=norm, colors="#6a5d8f", linewidths=0.55 * look.line, alpha=0.75)
    if cax is not None:
        cb = ax.figure.colorbar(cs, cax=cax)
        log_axis(cb.ax.yaxis)
        cb.set_label(cd.zlabel + " (contours at 1, 2, 5 × 10^k)", fontsize=look.label)
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
    left = _inch(look.label) + 0.05 + 7 * CHAR_W * look.tick / 72 + 0.14
    cbar_gap, cbar_w = 0.15, 0.16 + 0.04 * look.line
    cbar_right = 6 * CHAR_W * look.tick / 72 + _inch(look.label) + 0.2
    under = _under_axes(look)
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


def _contour_canvas(cd: ContourData, labels: list[str], look: Look | None = None, axes_width: float = 5.4,
                    with_notes: bool = True):
    lay = contour_layout(cd, labels, look, axes_width, with_notes)
    look = lay.bands.look
    fig = new_figure(lay.fig_w, lay.fig_h, look)
    ax = fig.add_axes(lay.ax_rect)
    cax = fig.add_axes(lay.cax_rect)
    draw_bands(fig, lay.bands)
    return fig, ax, cax, lay


def _legend_at(fig, ax, lay: ContourLayout) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc=lay.legend_loc, bbox_to_anchor=lay.legend_xy,
                   ncols=max(1, lay.bands.legend_cols), frameon=False, fontsize=lay.bands.look.legend,
                   borderaxespad=0.0, borderpad=0.1, columnspacing=1.2)


def contour_labels(cd: ContourData, animated: bool = False) -> list[str]:
    """The legend entries of the contour figure, in order."""
    labels = [p.label for p in cd.paths if p.label]
    if not animated:
        labels += ["start", "end"]
    return labels + (["θ* (exact optimum)"] if cd.star is not None else [])


def _plot_paths(ax, cd: ContourData, look: Look) -> None:
    lw0 = look.line
    frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
    starts = []
    for p in cd.paths:
        a, c = p.a, p.c
        lw = (1.7 if len(a) < 300 else 1.1) * lw0
        if p.diverged:
            k = _first_exit(a, c, frame)
            end = len(a) if k is None else k + 1  # draw one segment past the edge (clipped)
            ax.plot(a[:end], c[:end], color=p.color, linestyle=p.linestyle, linewidth=lw, alpha=p.alpha,
                    label=p.label, marker="o" if end <= 40 else None, markersize=2.5 * lw0)
            if k is not None and k > 0:
                xa, xc = _edge_point(a[k - 1], c[k - 1], a[k], c[k], frame)
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
    if starts:
        sa = np.array(starts)
        ax.plot(sa[:, 0], sa[:, 1], marker="o", markersize=9 * lw0, markerfacecolor="white", markeredgecolor="black",
                markeredgewidth=1.5, linestyle="none", zorder=6, label="start")
    ax.plot([], [], marker="o", markersize=7 * lw0, color="#777777", markeredgecolor="white", linestyle="none", label="end")


def _plot_star(ax, cd: ContourData, look: Look, label: str = "θ* (exact optimum)") -> None:
    if cd.star is not None:
        ax.plot([cd.star[0]], [cd.star[1]], marker="*", markersize=15 * look.line, color="#ffd400",
                markeredgecolor="black", zorder=8, linestyle="none", label=label)


def contour_figure(cd: ContourData, opts: FigureOptions | None = None):
    """Trajectories on the exact loss contours: start, end and θ* marked."""
    look = _look(opts, (7.8, 6.0))
    with style(look):
        fig, ax, cax, lay = _contour_canvas(cd, contour_labels(cd), look)
        draw_contours(ax, cd, cax, look)
        _plot_paths(ax, cd, look)
        _plot_star(ax, cd, look)
        _legend_at(fig, ax, lay)
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


def dataspace_figure(dd: DataSpaceData, opts: FigureOptions | None = None):
    """The data with the fitted line / probability curve at several steps (one panel per setting)."""
    n = len(dd.panels)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    natural = (4.4 * ncols + 0.6, 3.6 * nrows + 0.8)
    look = _look(opts, natural)
    with style(look):
        fig = new_figure(look.width, look.height, look)
        axes = [fig.add_axes((0, 0, 1, 1)) for _ in range(nrows * ncols)]
        for ax in axes[n:]:
            ax.set_visible(False)
        logistic = dd.model == "logistic"
        for ax, panel in zip(axes, dd.panels):
            ax.scatter(dd.x, dd.y, s=18 * look.line**2, color="#555555", alpha=0.55 if logistic else 0.8, zorder=3,
                       edgecolor="white", linewidth=0.4, label="data")
            for ln in panel.lines:
                ax.plot(ln.x, ln.y, color=ln.color, alpha=ln.alpha, linewidth=1.5 * look.line, label=ln.label)
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
            ax.set_title(panel.title, fontsize=look.label)
            ax.set_xlabel(dd.xlabel)
            ax.set_ylabel(dd.ylabel)
        handles, labels = _handles(axes)
        b = make_bands(look.width, look, dd.title, dd.subtitle, labels, dd.notes)
        place_grid(fig, axes, nrows, ncols, look, b, None if look.fixed_size else 2.9 * look.width / natural[0])
        draw_bands(fig, b, handles, labels)
    return fig


def message_figure(title: str, message: str, subtitle: str = "", opts: FigureOptions | None = None):
    """A figure that says why the real one cannot be drawn (never an empty file)."""
    look = _look(opts, (6.4, 3.2))
    with style(look):
        fig = new_figure(look.width, look.height, look)
        ax = fig.add_axes((0, 0, 1, 1))
        _message(ax, message, look)
        ax.set_frame_on(False)
        b = make_bands(look.width, look, title, subtitle, [], [])
        place_grid(fig, [ax], 1, 1, look, b, None if look.fixed_size else 2.0, panel_titles=False)
        draw_bands(fig, b)
    return fig


# ---- paths drawn over time: the GIF and the flip-book frames ------------------------------------


class _PathPlayer:
    """The contour figure with its paths drawn up to a chosen x (step, epoch...). The static
    part (contours, colour bar, legend, frame) is drawn once; each frame restores it and draws
    the moving paths (blitting). The axis limits are the full frame of every run, so they stay
    frozen from the first frame to the last."""

    def __init__(self, cd: ContourData, look: Look, with_notes: bool, axes_width: float = 5.4):
        self.cd = cd
        self.fig, self.ax, cax, lay = _contour_canvas(cd, contour_labels(cd, animated=True), look, axes_width,
                                                      with_notes)
        ax = self.ax
        draw_contours(ax, cd, cax, look)
        frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
        self.lines, self.heads, self.data = [], [], []
        for p in cd.paths:
            (ln,) = ax.plot([], [], color=p.color, linestyle=p.linestyle, linewidth=1.6 * look.line, alpha=p.alpha,
                            label=p.label)
            (hd,) = ax.plot([], [], marker="o", markersize=6 * look.line, color=p.color, markeredgecolor="white",
                            linestyle="none")
            xs = p.x if p.x is not None else np.arange(len(p.a), dtype=float)
            a, c = p.a, p.c
            if p.diverged:
                k = _first_exit(a, c, frame)
                if k is not None:
                    a, c, xs = a[: k + 1], c[: k + 1], xs[: k + 1]
            self.lines.append(ln)
            self.heads.append(hd)
            self.data.append((xs, a, c))
        _plot_star(ax, cd, look)
        _legend_at(self.fig, ax, lay)
        self.x_end = max((float(np.nanmax(d[0])) for d in self.data if len(d[0])), default=1.0)
        self.n_max = max((len(d[0]) for d in self.data), default=2)
        self.label = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=look.label,
                             bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
        self.moving = [*self.lines, *self.heads, self.label]
        for art in self.moving:
            art.set_animated(True)  # left out of the background drawn once below
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def grid(self, n: int) -> np.ndarray:
        return np.linspace(0.0, self.x_end, int(n))

    def render(self, xk: float) -> np.ndarray:
        """The RGB pixels of the frame at ``x = xk``."""
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for ln, hd, (xs, a, c) in zip(self.lines, self.heads, self.data):
            m = int(np.searchsorted(xs, xk, side="right"))
            ln.set_data(a[:m], c[:m])
            hd.set_data(a[max(m - 1, 0) : m], c[max(m - 1, 0) : m])
        self.label.set_text(f"{self.cd.x_kind} {xk:.3g}")
        for art in self.moving:
            self.ax.draw_artist(art)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()


def contour_animation(cd: ContourData, path: Path, max_frames: int = 200, fps: int = 15,
                      opts: FigureOptions | None = None) -> Path:
    """A GIF of the paths being drawn on the contours (at most ``max_frames`` frames), its
    palette fixed so that every path keeps its family colour exactly (:func:`gif_palette`)."""
    look = _look(opts, (7.0, 6.0))
    with style(look):
        player = _PathPlayer(cd, replace(look, dpi=min(look.dpi, 90)), with_notes=False, axes_width=4.6)
        player.fig._optrun_dpi = 90
        player.fig.set_dpi(90)
        player.fig.canvas.draw()
        player.background = player.fig.canvas.copy_from_bbox(player.fig.bbox)
        grid = player.grid(min(max_frames, max(2, player.n_max)))
        fixed = [p.color for p in cd.paths] + ["#ffd400", "#000000", "#ffffff", "#6a5d8f"]
        _save_gif(player.render, grid, path, fps, fixed)
        player.close()
    return path


def contour_frames(cd: ContourData, out: Path, n: int, fmt: str = "png", opts: FigureOptions | None = None) -> list[Path]:
    """``n`` numbered frames ``contour_frame_01.png`` ... of the paths drawn up to evenly spaced
    x, for stepping through an algorithm on slides; the axis limits are the same in every frame
    (the frame of all runs at their end)."""
    from PIL import Image

    look = _look(opts, (7.8, 6.0))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with style(look):
        player = _PathPlayer(cd, look, with_notes=True)
        width = len(str(n))
        for i, xk in enumerate(player.grid(n), start=1):
            path = out / f"contour_frame_{i:0{width}d}.{fmt}"
            if fmt == "png":
                Image.fromarray(player.render(xk)).save(path, dpi=(look.dpi, look.dpi))
            else:  # vector frames: draw the artists for real at this x
                player.render(xk)
                for art in player.moving:
                    art.set_animated(False)
                player.fig.savefig(path, metadata={"Date": None} if fmt == "svg" else {"CreationDate": None})
                for art in player.moving:
                    art.set_animated(True)
            written.append(path)
        player.close()
    return written


def gif_palette(image, fixed: list[str], colors: int = 128):
    """A palette image: the ``fixed`` colours (exact, first), then the image's own colours
    (median cut) for the rest. Quantising to it maps every pixel of a fixed colour to itself,
    so a family colour never turns into its neighbour's (adaptive green into SGD grey)."""
    from PIL import Image

    rgb = [tuple(int(c.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)) for c in dict.fromkeys(fixed)]
    rest = image.quantize(colors=max(2, colors - len(rgb)), method=Image.Quantize.MEDIANCUT).getpalette()
    rest = [tuple(rest[i : i + 3]) for i in range(0, (colors - len(rgb)) * 3, 3)]
    flat = [v for c in rgb + rest for v in c]
    flat += [0] * (768 - len(flat))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def _save_gif(render, grid, path: Path, fps: int, fixed: list[str] | None = None) -> None:
    """Write the frames ``render(x)`` for x in ``grid`` as a looping GIF (the last frame held),
    one fixed palette for all frames."""
    from PIL import Image

    last = Image.fromarray(render(grid[-1]))
    palette = gif_palette(last, fixed or [])
    images = [Image.fromarray(render(xk)).quantize(palette=palette, dither=Image.Dither.NONE) for xk in grid]
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [int(1000 / fps)] * (len(images) - 1) + [2000]  # hold the last frame
    # optimize=False: Pillow's optimizer may drop unused palette entries and reorder the rest
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)


def save_figure(fig, path: Path, dpi: int | None = None) -> Path:
    """Save ``fig`` (format from the suffix: .png, .svg or .pdf) and release it. The one save
    helper. PNGs are written with zlib level 1 (level 6 doubles the encoding time for files about a quarter smaller).

    Written to a temporary file and renamed (atomic, like every other file of a run folder): a
    Ctrl-C or a full disk mid-save never leaves half a figure under its name."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = dpi or getattr(fig, "_optrun_dpi", 130)
    meta = {"Software": None} if path.suffix == ".png" else ({"CreationDate": None} if path.suffix == ".pdf" else {"Date": None})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with style():
            kw = {"pil_kwargs": {"compress_level": 1}} if path.suffix == ".png" else {}
            fig.savefig(tmp, dpi=dpi, metadata=meta, format=path.suffix.lstrip(".") or "png", **kw)
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
