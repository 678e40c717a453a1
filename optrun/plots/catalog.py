"""The figures, as a table: each one a declared unit (benchopt's ``BasePlot`` idea).

A :class:`FigureSpec` names a figure (its file name), a *builder* that turns the groups of runs
into plain data (the dataclasses of :mod:`optrun.plots.model`, or a string saying why the figure
cannot be drawn), a *renderer* that turns that data into a matplotlib ``Figure``, a predicate
saying whether it applies to these runs, and whether it needs the training data reloaded.
:func:`optrun.plots.draw.draw_groups` is a loop over :data:`FIGURES` (the default figures) or
over :data:`CURVES` (``--y``), so adding a figure is one table entry and a builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from optrun.plots import figures as F
from optrun.plots import lecture, many
from optrun.plots.contour import contour_data
from optrun.plots.curves import curve_panel, params_data
from optrun.plots.dataspace import dataspace_data
from optrun.plots.labels import figure_title
from optrun.plots.model import Y_KINDS, Y_LABELS, ContourData, ProblemData
from optrun.plots.rundata import Group, RunData, load_problem, one_feature
from optrun.plots.style import FigureOptions


@dataclass
class Context:
    """One drawing: the groups, the options, the reloaded problem (once), the contour data (once)."""

    groups: list[Group]
    x: str = "step"
    log: bool | None = None
    projection: str = "hessian"
    notes: list[str] = field(default_factory=list)  # captions every curve figure carries
    problem: ProblemData | None = None
    why: str | None = None  # why the problem could not be reloaded
    options: FigureOptions = field(default_factory=FigureOptions)
    titles: tuple[str, str] = field(init=False)  # (title, subtitle) of every figure
    _contour: ContourData | str | None = field(default=None, init=False, repr=False)
    # the lecture figures' options (optrun.plots.lecture): tangents, xlim, ylim, path
    lecture: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        title, sub = figure_title(self.groups, short=self.options.style == "slides")
        if self.options.title is not None:
            title = self.options.title
        if self.options.subtitle is False:
            sub = ""
        self.titles = (title, sub)

    def load_problem(self) -> str | None:
        """Reload the first run's data and objective; return why not (None when it worked)."""
        self.problem, self.why = lecture.load_problem(self.groups[0].first)  # objectives without data too
        return self.why

    def contour(self) -> ContourData | str:
        """The contour data, built once (the static figure and the animation share it)."""
        if self._contour is None:
            self._contour = contour_data(self.groups, self.x, self.projection, problem=self.problem, why=self.why)
        return self._contour


def _always(runs: list[RunData]) -> bool:
    return True


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``build(ctx)`` -> plain data or a reason; ``render(data, ctx)`` -> Figure."""

    name: str  # the file name: <name>.png
    title: str  # the title of the figure that says why it failed
    build: Callable[[Context], Any]
    render: Callable[[Any, Context], Any]
    applies: Callable[[list[RunData]], bool] = _always
    needs_problem: bool = False  # needs the training data (reloaded once per drawing)
    missing: str = ""  # how the message figure starts when build returns a reason

    def figure(self, ctx: Context):
        """Build and render; a reason from the builder becomes a figure that says it."""
        data = self.build(ctx)
        if isinstance(data, str):
            title, sub = ctx.titles
            return F.message_figure(title, f"{self.missing}: {data}", sub, opts=ctx.options)
        return self.render(data, ctx)


# ---- renderers: plain data -> Figure ----------------------------------------------------------


def render_curves(panels, ctx: Context):
    return F.curves_figure(panels, *ctx.titles, ctx.notes, opts=ctx.options)


def render_params(data, ctx: Context):
    return F.params_figure(data, *ctx.titles, opts=ctx.options)


def titled(cd: ContourData, ctx: Context) -> ContourData:
    """The contour data with the drawing's titles (``--title``, ``--no-subtitle``, slides) and notes."""
    return replace(cd, title=ctx.titles[0], subtitle=ctx.titles[1], notes=[*ctx.notes, *cd.notes])


def render_contour(cd: ContourData, ctx: Context):
    return F.contour_figure(titled(cd, ctx), opts=ctx.options)


def render_dataspace(dd, ctx: Context):
    return F.dataspace_figure(replace(dd, title=ctx.titles[0], subtitle=ctx.titles[1]), opts=ctx.options)


def render_theory(runs, ctx: Context):
    from optrun.plots import lecture_figures

    return lecture_figures.theory_figure(runs, ctx.notes, ctx.options, subtitle=ctx.titles[1])


def render_lecture(data, ctx: Context):
    """The lecture figures (optrun.plots.lecture_figures); a plain ContourData as before."""
    if isinstance(data, ContourData):
        return render_contour(data, ctx)
    from optrun.plots import lecture_figures

    return lecture_figures.render(data, ctx.notes, ctx.options)


# ---- builders: groups -> plain data ------------------------------------------------------------


def build_loss(ctx: Context):
    """The loss (linear scale unless --yscale) beside f − f* (log), with the target line."""
    return [curve_panel(ctx.groups, ctx.x, "loss", ctx.log), _with_target(curve_panel(ctx.groups, ctx.x, "subopt", None), ctx)]


def _with_target(panel, ctx: Context):
    """``--target T`` (plot) or a comparison's target: a line at f − f* = T on a suboptimality panel."""
    target = (ctx.lecture or {}).get("target")
    if target is not None and panel.empty_reason is None:
        target = float(target)
        panel.hlines.append((target, "target", "#b22222"))  # a short label: it sits in the right margin
        if panel.ylim is not None and target > 0:  # the line must be in the frame
            lo, hi = panel.ylim
            panel.ylim = (min(lo, target / 2), max(hi, target * 2))
    return panel


def build_grad_norm(ctx: Context):
    return [curve_panel(ctx.groups, ctx.x, "grad_norm")]


def _applies_to_one_feature(runs: list[RunData]) -> bool:
    return one_feature(runs[0]) and not lecture.is_analytic(runs[0])  # x_squared has no data


def _has_dual(runs: list[RunData]) -> bool:
    return any(lecture.has_dual(r) for r in runs)


def build_surface(ctx: Context):
    """f over the contour figure's grid (its frame, its plane), as a 3-D surface."""
    data = lecture.build_contour(ctx)
    if isinstance(data, str):
        return data
    if isinstance(data, lecture.ContourPanels):
        data = data.panels[0]
    if isinstance(data, lecture.LectureContour):
        data = data.cd
    if not isinstance(data, ContourData):
        return "a surface needs two parameters (or a plane through more): see contour.png"
    return lecture.surface_data(data, ctx.groups)


FIGURES: dict[str, FigureSpec] = {spec.name: spec for spec in (
    FigureSpec("loss", "loss", build_loss, render_curves),
    FigureSpec("grad_norm", "gradient norm", build_grad_norm, render_curves),
    FigureSpec("params", "parameters", lambda ctx: params_data(ctx.groups, ctx.x), render_params),
    FigureSpec("contour", "contour", lecture.build_contour, render_lecture, needs_problem=True,
               missing="no contour plot"),
    # what theory predicts for gradient descent / heavy ball / Nesterov from the reference's
    # spectrum, dashed beside the measured f − f*, and a mark where a run breaks its bound
    FigureSpec("theory", "theory", lambda ctx: many.theory_data(ctx.groups), render_theory,
               applies=lambda runs: many.has_theory(runs)),
    FigureSpec("data", "data", lambda ctx: dataspace_data(ctx.groups, problem=ctx.problem, why=ctx.why),
               render_dataspace, applies=_applies_to_one_feature, needs_problem=True, missing="no data-space view"),
    FigureSpec("duality", "duality", lambda ctx: lecture.duality_data(ctx.groups, ctx.problem), render_lecture,
               applies=_has_dual, needs_problem=True, missing="no duality figure"),
    FigureSpec("convexity", "convexity", lambda ctx: lecture.convexity_data(ctx.groups), render_lecture,
               applies=lecture.convexity_applies, missing="no convexity slice"),
)}

# Figures drawn only on request (``optrun plot --surface``, ``--path KEY``): see draw_requested.
ON_REQUEST: dict[str, FigureSpec] = {spec.name: spec for spec in (
    FigureSpec("surface", "surface", build_surface, render_lecture, needs_problem=True, missing="no surface"),
    FigureSpec("path", "regularisation path",
               lambda ctx: lecture.path_data([r for g in ctx.groups for r in g.runs], ctx.lecture.get("path", "")),
               render_lecture, missing="no regularisation path"),
)}


def draw_requested(groups: list[Group], names: list[str], out, fmt: str = "png", x: str = "step",
                   projection: str = "hessian", options: dict | None = None,
                   figure_options: FigureOptions | None = None) -> list:
    """Draw the :data:`ON_REQUEST` figures ``names`` of these groups into ``out``; return the
    files. ``options``: the lecture's (tangents, xlim, ylim, path); ``figure_options``: style,
    titles, sizes, format (it wins over ``fmt``). A failure becomes a figure that says why (as in
    :func:`optrun.plots.draw.draw_groups`)."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figure_options = figure_options or FigureOptions(format=fmt)
    ctx = Context(groups, x=x, projection=projection, lecture=dict(options or {}), options=figure_options)
    specs = [ON_REQUEST[n] for n in names]
    if any(s.needs_problem for s in specs):
        ctx.load_problem()
    written = []
    for spec in specs:
        try:
            fig = spec.figure(ctx)
        except Exception as exc:  # a plotting bug must not cost the other figures
            fig = F.message_figure(spec.title, f"this figure could not be drawn: {type(exc).__name__}: {exc}",
                                   opts=figure_options)
        written.append(F.save_figure(fig, out / f"{spec.name}.{figure_options.format}"))
    return written


def curve_figure(y: str) -> FigureSpec:
    """The figure of one curve kind alone (``optrun plot --y KIND``), named after it."""
    if y == "subopt":
        return FigureSpec(y, Y_LABELS[y], lambda ctx: [_with_target(curve_panel(ctx.groups, ctx.x, y, ctx.log), ctx)],
                          render_curves)
    return FigureSpec(y, Y_LABELS[y], lambda ctx: [curve_panel(ctx.groups, ctx.x, y, ctx.log)], render_curves)


CURVES: dict[str, FigureSpec] = {y: curve_figure(y) for y in Y_KINDS}
