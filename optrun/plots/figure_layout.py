"""The shared layout of every figure: the style (rc parameters of a :class:`~optrun.plots.style.Look`),
headless figures, log axes with Unicode powers of ten, and the measured text bands (title and
subtitle on top, legend and notes at the bottom) that :func:`place_grid` fits the axes between.

No pyplot and no global state: every figure is a ``matplotlib.figure.Figure`` with its own Agg
canvas, so drawing is headless and thread-safe. Style is set per call with ``rc_context``.
There is no layout engine: every figure places its axes from the measured bands, so slides keep
an exact 16:9 size and drawing stays cheap.
"""

from __future__ import annotations

import functools

import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    # FreeType's native hinting runs DejaVu's TrueType bytecode for every glyph on every draw
    # (matplotlib caches no glyphs): 14% of drawing the five figures of a run. Unhinted glyphs
    # have the same font, size and place, and stay sharp at 130 dpi (docs/performance.md)
    "text.hinting": "no_hinting",
}
STAR_COLOR = "#000000"
LINE_H = 1.3  # a text line is 1.3 font sizes tall
CHAR_W = 0.6  # an average DejaVu character is 0.6 font sizes wide (digits 0.64, letters less)
NOTE_COLOR = "#444444"


def default_look(natural: tuple[float, float]) -> Look:
    return FigureOptions().look(natural)


def look_of(opts: FigureOptions | None, natural: tuple[float, float]) -> Look:
    return (opts or FigureOptions()).look(natural)


@contextmanager
def style(look: Look | None = None):
    import matplotlib

    with matplotlib.rc_context({**STYLE, **(look or default_look((6.4, 4.2))).rc()}):
        yield


def inch(points: float, lines: int = 1) -> float:
    """Height in inches of ``lines`` lines of text of ``points`` pt."""
    return lines * points * LINE_H / 72.0


def wrap_text(text: str, width_in: float, points: float, max_lines: int | None = None, bold: bool = False) -> list[str]:
    """Wrap ``text`` to ``width_in`` inches at ``points`` pt (``max_lines``: cut, with an ellipsis).
    A character is taken as 0.56 em wide, 0.7 em in bold (titles: DejaVu Sans Bold digits)."""
    if not text:
        return []
    lines = textwrap.wrap(text, max(16, int(width_in * 72 / (points * (0.7 if bold else 0.56)))))
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


def pow10(v: float, pos=None, plain: bool | None = None) -> str:
    """``1e-3`` -> ``10⁻³``, ``2e-3`` -> ``2×10⁻³``: plain Unicode, no mathtext (mathtext costs a
    parser per figure and looks different from the rest of the text). ``plain``: write
    ``0.01 ... 100`` as decimals (None: each value decides alone; :func:`log_axis` decides once
    per axis, so one axis never mixes ``0.01`` with ``10⁻³``)."""
    if not np.isfinite(v) or v <= 0:
        return ""
    e = _exponent(v)
    m = v / 10.0**e
    if abs(m - round(m)) > 1e-6:
        return f"{v:.2g}"
    m = int(round(m))
    if plain if plain is not None else -2 <= e <= 2:
        return f"{v:g}"
    return ("" if m == 1 else f"{m}×") + "10" + str(e).translate(_SUP)


def _exponent(v: float) -> int:
    return int(np.floor(np.log10(v) + 1e-9))


def _plain_axis(axis, locs) -> bool:
    """Decimals for every tick label of a log axis when every visible tick is within 0.01 ... 100."""
    lo, hi = sorted(axis.get_view_interval()) if axis is not None else (-np.inf, np.inf)
    shown = [v for v in locs if v > 0 and lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    return all(-2 <= _exponent(v) <= 2 for v in shown)


def log_axis(axis, lo: float | None = None, hi: float | None = None) -> None:
    """A log axis with labelled ticks at 1 (and 2, 5 within less than two decades) × 10^k, no
    minor ticks (each tick is an artist to lay out: minor ticks tripled a log figure's cost),
    labelled in one style per axis: decimals when every tick is within 0.01 ... 100, else powers
    of ten."""
    from matplotlib.ticker import LogLocator, NullLocator

    subs = (1.0,)
    if lo is not None and hi is not None and lo > 0 and hi / lo < 100:
        subs = (1.0, 2.0, 5.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=8))
    axis.set_major_formatter(_pow10_formatter()())
    axis.set_minor_locator(NullLocator())


@functools.lru_cache(maxsize=None)
def _pow10_formatter():
    """The formatter class of :func:`log_axis` (defined once matplotlib is imported): it keeps
    the tick locations it is given, to choose one style for the whole axis."""
    from matplotlib.ticker import Formatter

    class Pow10Formatter(Formatter):
        shown: tuple = ()

        def set_locs(self, locs):
            self.shown = tuple(locs)

        def __call__(self, v, pos=None):
            return pow10(v, pos, plain=_plain_axis(self.axis, self.shown))

    return Pow10Formatter


def tick_chars(axis) -> int:
    """Characters in the longest tick label the axis will show (no drawing involved)."""
    lo, hi = sorted(axis.get_view_interval())
    locs = [v for v in axis.get_major_locator()() if lo - 1e-12 * abs(lo) <= v <= hi + 1e-12 * abs(hi)]
    labels = axis.get_major_formatter().format_ticks(locs) if locs else ["0"]
    return max((len(t) for t in labels), default=1)


def left_margin(ax, look: Look, ylabel: bool = True) -> float:
    """Inches left of an axes for its y tick labels and y label."""
    w = tick_chars(ax.yaxis) * CHAR_W * look.tick / 72 + 0.14
    return w + (inch(look.label) + 0.05 if ylabel and ax.get_ylabel() else 0.0)


def under_axes(look: Look, xlabel: bool = True) -> float:
    """Inches below an axes for its x tick labels and x label."""
    return inch(look.tick) + 0.12 + (inch(look.label) + 0.04 if xlabel else 0.0)


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
        return 0.1 + inch(self.look.title, len(self.title)) + inch(self.look.note, len(self.subtitle)) + 0.08

    @property
    def legend_h(self) -> float:
        return (inch(self.look.legend, self.legend_rows) * 1.12 + 0.12) if self.legend_rows else 0.0

    @property
    def notes_h(self) -> float:
        return inch(self.look.note, len(self.notes)) + 0.1 if self.notes else 0.05

    @property
    def bottom(self) -> float:
        return self.legend_h + self.notes_h


def make_bands(fig_w: float, look: Look, title: str, subtitle: str, labels: list[str], notes: list[str],
               legend_w: float | None = None) -> Bands:
    """Wrap the title, subtitle and notes to the width; put the legend entries in columns."""
    notes = [n for n in dict.fromkeys(notes or []) if n]
    width = fig_w - 0.25
    t = wrap_text(title, width, look.title, max_lines=2, bold=True)
    sub = wrap_text(subtitle, width, look.note, max_lines=2) if (subtitle and look.subtitle) else []
    note_lines = [ln for n in notes for ln in textwrap.wrap("• " + n, max(30, int(width * 72 / (look.note * 0.56))),
                                                             subsequent_indent="  ")]
    rows = cols = 0
    if labels:
        entry = max(len(lb) for lb in labels) * look.legend * 0.56 / 72 + 3.2 * look.legend / 72 + 0.15
        cols = max(1, min(len(labels), int((legend_w or width) // entry)))
        rows = -(-len(labels) // cols)
        cols = -(-len(labels) // rows)  # the entries spread evenly over the rows: no lone entry on the last
    return Bands(t, sub, rows, cols, note_lines, look)


def draw_bands(fig, b: Bands, handles=None, labels=None, legend_x: float = 0.5) -> None:
    """Title, subtitle, legend and notes at the places ``b`` reserved."""
    W, H = fig.get_figwidth(), fig.get_figheight()
    look = b.look
    y = H - 0.1
    if b.title:
        fig.text(0.12 / W, y / H, "\n".join(b.title), ha="left", va="top", fontsize=look.title, fontweight="bold",
                 linespacing=1.15)
        y -= inch(look.title, len(b.title))
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
    ttl = inch(look.label) + 0.08 if panel_titles else 0.05
    rows = [axes[r * ncols : (r + 1) * ncols] for r in range(nrows)]
    under = [under_axes(look, xlabel_rows == "all" or r == nrows - 1) for r in range(nrows)]
    lefts = [max((left_margin(ax, look) for ax in axes[c::ncols] if ax.get_visible()), default=0.3)
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


def legend_entries(axes) -> tuple[list, list[str]]:
    """The legend entries of the axes, each label once (the figure's one legend)."""
    seen: dict[str, object] = {}
    for ax in axes:
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb and not lb.startswith("_"):
                seen.setdefault(lb, hd)
    return list(seen.values()), list(seen)


def message_in(ax, text: str, look: Look) -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 50)), transform=ax.transAxes, ha="center", va="center",
            fontsize=look.label, color="#8a1c1c", bbox={"boxstyle": "round", "fc": "#fff4f0", "ec": "#d9a89a"})
    ax.set_xticks([])
    ax.set_yticks([])


def message_figure(title: str, message: str, subtitle: str = "", opts: FigureOptions | None = None):
    """A figure that says why the real one cannot be drawn (never an empty file)."""
    look = look_of(opts, (6.4, 3.2))
    with style(look):
        fig = new_figure(look.width, look.height, look)
        ax = fig.add_axes((0, 0, 1, 1))
        message_in(ax, message, look)
        ax.set_frame_on(False)
        b = make_bands(look.width, look, title, subtitle, [], [])
        place_grid(fig, [ax], 1, 1, look, b, None if look.fixed_size else 2.0, panel_titles=False)
        draw_bands(fig, b)
    return fig



def pin_titles(fig) -> None:
    """Turn off matplotlib's automatic title placement on the axes where it cannot move a title.

    Before drawing an axes with a title, matplotlib checks whether tick labels at the top or the
    y axis's offset text ("1e6", "+6.5e1") would collide with it, and lifts it if so; to know, it
    lays out every y tick label once more (about a fifth of a curve figure's drawing). Where the
    x ticks and label are at the bottom, nothing is twinned or nested, and the y formatter gives
    no offset text, nothing can collide: the title stays where the automatic placement leaves it
    (y = 1, above the axes by ``axes.titlepad``), so the check is skipped. The pixels are the same
    (tests/test_plots_speed.py)."""
    for ax in fig.axes:
        if not any(ax.get_title(loc) for loc in ("left", "center", "right")) or ax.child_axes:
            continue
        if ax.xaxis.get_ticks_position() in ("top", "unknown") or ax.xaxis.get_label_position() == "top":
            continue
        twins = getattr(ax, "_twinned_axes", None)
        if ax.get_aspect() != "auto" or (twins is not None and len(twins.get_siblings(ax)) > 1):
            continue  # an aspect may change the limits at drawing time; a twin has its own ticks
        formatter = ax.yaxis.get_major_formatter()
        formatter.set_locs(ax.yaxis.get_majorticklocs())  # as drawing will (it sets them again)
        if not formatter.get_offset():
            ax._autotitlepos = False  # the flag set_title(y=...) sets: no automatic placement


def save_figure(fig, path: Path, dpi: int | None = None) -> Path:
    """Save ``fig`` (format from the suffix: .png, .svg or .pdf). The one save helper.

    PNGs are encoded by :func:`optrun.plots.png.figure_png` (the canvas's pixels, unfiltered
    rows, zlib level 1: Pillow's adaptive row filters were 80% of the encoding time for no
    smaller file). The figure is not cleared afterwards: clearing rebuilt every axes (its ticks
    and spines) only to drop it, and the garbage collector frees it as well.

    Written to a temporary file and renamed (atomic, like every other file of a run folder): a
    Ctrl-C or a full disk mid-save never leaves half a figure under its name."""
    from optrun.rundir import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = dpi or getattr(fig, "_optrun_dpi", 130)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_path(path, mode=0o644) as tmp, style():
        pin_titles(fig)
        if fmt == "png":
            from optrun.plots.png import figure_png

            Path(tmp).write_bytes(figure_png(fig, dpi))
        else:
            meta = {"CreationDate": None} if fmt == "pdf" else {"Date": None}
            fig.savefig(tmp, dpi=dpi, metadata=meta, format=fmt)
    return path
