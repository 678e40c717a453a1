"""Figure options: ``--style default|slides|paper``, ``--title``, ``--no-subtitle``,
``--font-scale``, ``--size WxH``, ``--dpi``, ``--format``, ``--frames`` (DESIGN §9.6, §9.7), and
the ``plots:`` section of a config that spells the same options.

:class:`FigureOptions` is what a command hands to the drawing code; :meth:`FigureOptions.look`
turns it into a :class:`Look` for one figure: its size in inches, its dpi and the size of every
kind of text in points. Pure Python (no matplotlib, no NumPy), so the command line reads the
choices without loading either.

Slides are sized for a projector: 16:9, and every text at least ``SLIDE_MIN_PX`` = 18 px tall
when the figure is shown 1280 px wide. A point is 1/72 inch, so a figure ``W`` inches wide shown
1280 px wide puts ``1280 / (72 W)`` px in a point: the slide fonts are set in those pixels and
converted, ``pt = px · 72 W / 1280``, so they hold at any ``--size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from optrun.errors import OptrunError

STYLES = ("default", "slides", "paper")
FORMATS = ("png", "svg", "pdf")
SLIDE_WIDTH_PX = 1280  # how wide a slide shows the figure
SLIDE_MIN_PX = 18  # the smallest text on a slide, in px at that width
SLIDE_SIZE = (10.0, 5.625)  # inches, 16:9
MAX_FRAMES = 200


@dataclass(frozen=True)
class Look:
    """One figure's size and text sizes (points), resolved from :class:`FigureOptions`."""

    style: str
    width: float  # inches
    height: float
    dpi: int
    title: float  # font sizes in points
    label: float
    tick: float
    legend: float
    note: float
    line: float  # line width multiplier (1 = the default style's widths)
    family: str = "DejaVu Sans"
    subtitle: bool = True
    fixed_size: bool = False  # the size is imposed (slides, --size): the layout fits into it
    fallback: tuple[str, ...] = ()  # fonts that hold the glyphs the family lacks (CJK...)

    def px(self, points: float) -> float:
        """Text of ``points`` pt in pixels when the figure is shown ``SLIDE_WIDTH_PX`` wide."""
        return points * SLIDE_WIDTH_PX / (72.0 * self.width)

    @property
    def smallest(self) -> float:
        return min(self.title, self.label, self.tick, self.legend, self.note)

    def rc(self) -> dict:
        """matplotlib rc parameters of this look."""
        return {"font.size": self.label, "axes.titlesize": self.label, "axes.labelsize": self.label,
                "xtick.labelsize": self.tick, "ytick.labelsize": self.tick, "legend.fontsize": self.legend,
                "lines.linewidth": 1.5 * self.line, "font.family": list(dict.fromkeys([self.family, *self.fallback, "DejaVu Sans"])),
                "xtick.major.size": 3.5 * max(1.0, self.line * 0.8), "ytick.major.size": 3.5 * max(1.0, self.line * 0.8)}


@dataclass(frozen=True)
class FigureOptions:
    """What a drawing command was asked for (None: the style decides)."""

    style: str = "default"
    title: str | None = None  # replaces the generated title
    subtitle: bool | None = None  # False: no subtitle (None: slides and paper drop it, default keeps it)
    font_scale: float = 1.0
    size: tuple[float, float] | None = None  # inches
    dpi: int | None = None
    format: str = "png"
    frames: int = 0  # --frames N: N numbered frames of the contour figure
    figures: tuple[str, ...] | None = None  # which figures (None: the command's own; each only where it applies)
    fonts: tuple[str, ...] = ()  # fallback fonts for glyphs DejaVu lacks (set by the drawing code)

    def __post_init__(self) -> None:
        check_plot_options({"style": self.style, "format": self.format, "font_scale": self.font_scale,
                            "dpi": self.dpi, "frames": self.frames})

    def look(self, natural: tuple[float, float]) -> Look:
        """The look of a figure whose default-style size is ``natural`` (inches)."""
        return replace(self._look(natural), fallback=self.fonts)

    def _look(self, natural: tuple[float, float]) -> Look:
        s = self.font_scale
        if self.style == "slides":
            w, h = self.size or SLIDE_SIZE
            pt = lambda px: px * 72.0 * w / SLIDE_WIDTH_PX * s  # noqa: E731  (see the module docstring)
            return Look("slides", w, h, self.dpi or 192, title=pt(30), label=pt(23), tick=pt(21), legend=pt(21),
                        note=pt(19), line=1.9, subtitle=bool(self.subtitle), fixed_size=True)
        if self.style == "paper":
            w, h = self.size or (6.5, 6.5 * natural[1] / natural[0])
            return Look("paper", w, h, self.dpi or 300, title=9.5 * s, label=8.5 * s, tick=7.5 * s, legend=7.5 * s,
                        note=7 * s, line=0.85, family="DejaVu Serif", subtitle=bool(self.subtitle),
                        fixed_size=self.size is not None)
        w, h = self.size or natural
        return Look("default", w, h, self.dpi or 130, title=10 * s, label=9 * s, tick=8.5 * s, legend=8 * s,
                    note=7.5 * s, line=1.0, subtitle=self.subtitle is not False, fixed_size=self.size is not None)

    def with_(self, **changes) -> FigureOptions:
        return replace(self, **changes)


def parse_size(text) -> tuple[float, float]:
    """``"8x4.5"`` (inches) -> (8.0, 4.5); a pair is taken as is."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        w, h = (float(v) for v in text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*[xX×]\s*([0-9]*\.?[0-9]+)\s*", str(text))
        if not m:
            raise OptrunError(f"--size: expected WIDTHxHEIGHT in inches (e.g. 8x4.5), got {text!r}", key="plots.size")
        w, h = float(m.group(1)), float(m.group(2))
    if not (1.0 <= w <= 40.0 and 1.0 <= h <= 40.0):
        raise OptrunError(f"--size: each side between 1 and 40 inches, got {w:g}x{h:g}", key="plots.size")
    return w, h


KEYS = ("style", "title", "subtitle", "font_scale", "size", "dpi", "format", "frames", "figures")


def check_plot_options(options: dict | None) -> dict:
    """Validate a config's ``plots:`` section (or the flags spelled the same way) and return it
    normalised: ``size`` as a (w, h) pair of inches, numbers as numbers, None values dropped.

    Raises :class:`~optrun.errors.OptrunError` with ``key`` set to the offending entry."""
    from optrun._text import did_you_mean

    out: dict = {}
    for k, v in (options or {}).items():
        if k not in KEYS:
            raise OptrunError(f"plots: unknown key {k!r}{did_you_mean(str(k), KEYS)}", key=f"plots.{k}")
        if v is None:
            continue
        if k == "style" and v not in STYLES:
            raise OptrunError(f"plots.style: expected one of {', '.join(STYLES)}, got {v!r}", key=f"plots.{k}")
        if k == "format" and v not in FORMATS:
            raise OptrunError(f"plots.format: expected one of {', '.join(FORMATS)}, got {v!r}", key=f"plots.{k}")
        if k == "title" and not isinstance(v, str):
            raise OptrunError(f"plots.title: expected text, got {v!r}", key=f"plots.{k}")
        if k == "subtitle" and not isinstance(v, bool):
            raise OptrunError(f"plots.subtitle: expected true or false, got {v!r}", key=f"plots.{k}")
        if k == "font_scale":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.25 <= v <= 4:
                raise OptrunError(f"plots.font_scale: expected a number between 0.25 and 4, got {v!r}", key=f"plots.{k}")
            v = float(v)
        if k == "dpi":
            if isinstance(v, bool) or not isinstance(v, int) or not 30 <= v <= 1200:
                raise OptrunError(f"plots.dpi: expected a whole number between 30 and 1200, got {v!r}", key=f"plots.{k}")
        if k == "frames":
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_FRAMES:
                raise OptrunError(f"plots.frames: expected a whole number between 0 and {MAX_FRAMES}, got {v!r}", key=f"plots.{k}")
        if k == "size":
            try:
                v = parse_size(v)
            except OptrunError as exc:
                raise OptrunError(str(exc).replace("--size", "plots.size"), key=f"plots.{k}") from None
        if k == "figures":
            v = _figure_names(v)
        out[k] = v
    return out


def _figure_names(value) -> tuple[str, ...]:
    """``plots.figures`` / ``--figures``: a name, a list or a comma-separated string of figure
    names (the catalog's and the curves of ``--y``); ``all`` stands for every figure."""
    from optrun._text import did_you_mean
    from optrun.plots.choices import FIGURE_NAMES, Y_KINDS

    known = tuple(dict.fromkeys((*FIGURE_NAMES, *Y_KINDS)))
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(n, str) for n in value):
        raise OptrunError(f"plots.figures: expected figure names ({', '.join(known)} or all), got {value!r}",
                          key="plots.figures")
    for name in value:
        if name not in known and name != "all":
            raise OptrunError(f"plots.figures: unknown figure {name!r}{did_you_mean(name, (*known, 'all'))}",
                              key="plots.figures")
    return FIGURE_NAMES if "all" in value else tuple(value)


def figure_options(section: dict | None = None, **flags) -> FigureOptions:
    """Options from a config's ``plots:`` section, overridden by command-line flags (None: not given)."""
    merged = {**check_plot_options(section), **check_plot_options({k: v for k, v in flags.items() if v is not None})}
    return FigureOptions(**merged)
