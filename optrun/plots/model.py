"""What a figure shows, as plain data: the vocabulary of the plots and the dataclasses handed to
matplotlib.

The builders (:mod:`~optrun.plots.curves`, :mod:`~optrun.plots.contour`,
:mod:`~optrun.plots.dataspace`) fill these from run folders; the renderer
(:mod:`optrun.plots.figures`) draws exactly them and imports nothing else from the plots, so the
tests check the numbers here, not pixels. This module imports no third-party library (NumPy
appears in annotations only), so the command line reads its choice lists without loading NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: importing this module loads no NumPy
    import numpy as np

# ---- the vocabulary: choices of `optrun plot` (the CLI reads them from here) ----------------

from optrun.plots.choices import (  # noqa: F401  (the vocabulary, re-exported)
    FORMATS, LOG_BY_DEFAULT, PROJECTIONS, X_COLUMNS, X_LABELS, Y_KINDS, Y_LABELS, YSCALES, one_of,
)


@dataclass
class Series:
    x: np.ndarray
    y: np.ndarray
    label: str | None
    color: str
    linestyle: Any = "-"
    alpha: float = 1.0
    linewidth: float = 1.7
    zorder: float = 2.0


@dataclass
class Band:
    x: np.ndarray
    median: np.ndarray
    lo: np.ndarray  # 10% quantile across seeds
    hi: np.ndarray  # 90% quantile
    label: str
    color: str
    linestyle: Any = "-"
    n: int = 0


@dataclass
class Marker:
    """A run's end marker: × for divergence (``clipped`` when drawn at the frame edge)."""

    x: float
    y: float
    color: str
    text: str
    kind: str = "diverged"
    clipped: bool = False
    series: Any = None  # the series it ends (while the arrays are built)


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    log: bool
    series: list[Series] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    hlines: list[tuple[float, str, str]] = field(default_factory=list)  # (y, label, color)
    ylim: tuple[float, float] | None = None
    floor: float | None = None
    notes: list[str] = field(default_factory=list)
    empty_reason: str | None = None  # when there is nothing to draw, say why


# ---- parameter traces -------------------------------------------------------------------------


@dataclass
class ParamPanel:
    name: str
    series: list[Series]
    star: float | None  # θ* when every run shares it, else None
    ylim: tuple[float, float] | None
    markers: list[Marker] = field(default_factory=list)
    stars: list[tuple[float, str, str]] = field(default_factory=list)  # (θ*_j, colour, legend label) per problem


@dataclass
class ParamsData:
    panels: list[ParamPanel]
    xlabel: str
    notes: list[str] = field(default_factory=list)


# ---- the problem behind the runs, and the paths on its contours -------------------------------


@dataclass
class ProblemData:
    """The training data and objective of a run, reloaded from its resolved ``config.yaml``
    (not :class:`optrun.prepare.Problem`, which is what a run is trained from)."""

    X: np.ndarray  # (n, d) float64
    y: np.ndarray
    objective: Any  # optrun.models.Objective
    feature_names: list[str]
    target_name: str
    standardized: bool


@dataclass
class PathData:
    a: np.ndarray  # plane coordinates of each drawn row
    c: np.ndarray
    label: str | None
    color: str
    linestyle: Any
    diverged: bool
    alpha: float = 1.0
    x: np.ndarray | None = None  # the chosen x (step/epoch...) of each row, for animations
    off_plane: float = 0.0  # max distance off the plane / max distance to the origin
    exits: bool = False  # leaves the frame (a diverged run)


@dataclass
class ContourData:
    A: np.ndarray  # grid coordinates along the first axis (len Ga)
    C: np.ndarray  # along the second axis (len Gc)
    Z: np.ndarray  # (Gc, Ga) values of f - f_ref on the plane
    levels: np.ndarray
    zlabel: str
    origin: np.ndarray  # theta at (a, c) = (0, 0) (zeros for native axes)
    basis: np.ndarray  # (p, 2) orthonormal columns (identity for native axes)
    native: bool
    xlabel: str
    ylabel: str
    paths: list[PathData]
    star: tuple[float, float] | None
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)
    equal_aspect: bool = False
    f_ref: float = 0.0
    x_kind: str = "step"
    level_rule: str = "1, 2, 5 × 10^k"  # where the contours are, for the colour bar's label
    linear: bool = False  # equal steps of f (a function unbounded below), not log-spaced levels

    def theta_at(self, a: float, c: float) -> np.ndarray:
        """``theta = origin + a u + c v``: the parameters at plane coordinates (a, c)."""
        import numpy as np

        return self.origin + self.basis @ np.array([a, c], dtype=float)


# ---- data space (one feature) -----------------------------------------------------------------


@dataclass
class FitLine:
    x: np.ndarray
    y: np.ndarray
    label: str
    color: str
    alpha: float
    linestyle: Any = "-"
    boundary: float | None = None  # logistic: x where p = 1/2


@dataclass
class DataPanel:
    title: str
    lines: list[FitLine]
    star: FitLine | None


@dataclass
class DataSpaceData:
    x: np.ndarray
    y: np.ndarray
    xlabel: str
    ylabel: str
    model: str
    panels: list[DataPanel]
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)
