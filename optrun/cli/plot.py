"""``optrun plot RUN_DIR [RUN_DIR ...]``: redraw figures from run folders alone (never re-train)."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, QuietOption, check_choice, console, print_json, user_errors
from optrun.plots.choices import FORMATS, PROJECTIONS, X_COLUMNS, Y_KINDS, YSCALES  # plain constants

# the choices are the library's; the CLI only adds words for the help
Y_HINTS = {"subopt": "f - f*", "dist": "||theta - theta*||"}
PROJECTION_HINTS = {"hessian": "extreme-curvature eigenvectors", "pca": "of the paths"}


def _listing(choices, hints: dict | None = None) -> str:
    """``"a | b (what b is) | c"`` for a help text."""
    return " | ".join(f"{c} ({hints[c]})" if hints and c in hints else str(c) for c in choices)


X_HELP = f"x axis: {_listing(X_COLUMNS)} (default: step; epoch when batch modes differ)."
Y_HELP = f"Draw only this curve: {_listing(Y_KINDS, Y_HINTS)}. Repeatable. Default: every figure."
YSCALE_HELP = f"{_listing(YSCALES)} (default: log for subopt, grad_norm and dist)."
PROJECTION_HELP = f"Plane for more than two parameters: {_listing(PROJECTIONS, PROJECTION_HINTS)}."
FORMAT_HELP = f"Figure format: {_listing(FORMATS)}."
PATH_KEYS = ("loss.l1", "loss.l2", "constraints.norm.radius")  # optrun.plots.lecture.PATH_KEYS (no NumPy here)


def parse_lim(text: str | None, flag: str) -> tuple[float, float] | None:
    """``"-2,3"`` -> (-2.0, 3.0); a usage error naming the flag otherwise."""
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected two numbers LO,HI (e.g. -2,3), got {text!r}", param_hint=flag) from None
    if not lo < hi:
        raise typer.BadParameter(f"expected LO < HI, got {text!r}", param_hint=flag)
    return lo, hi

# ---- the figure options every drawing command takes (DESIGN §9.6); compare imports them ----
StyleOption = Annotated[Optional[str], typer.Option("--style", help="Figure style: default | slides (16:9, text >= 18 px at 1280 px wide, thick lines, short titles) | paper (serif, 6.5 in wide, 300 dpi).", show_default=False)]
TitleOption = Annotated[Optional[str], typer.Option("--title", help="Replace the generated title of every figure.", show_default=False)]
NoSubtitleOption = Annotated[bool, typer.Option("--no-subtitle", help="Leave out the subtitle (optimizer, batch, budget).")]
FontScaleOption = Annotated[Optional[float], typer.Option("--font-scale", help="Multiply every font size (e.g. 1.3).", show_default=False)]
SizeOption = Annotated[Optional[str], typer.Option("--size", help="Figure size WxH in inches (e.g. 8x4.5); the file is size x dpi pixels.", show_default=False)]
DpiOption = Annotated[Optional[int], typer.Option("--dpi", help="Pixels per inch of PNG files (default 130; slides 192; paper 300).", show_default=False)]
FiguresOption = Annotated[Optional[str], typer.Option("--figures", help="Comma-separated figures to draw, or all: loss, grad_norm, params, contour, theory, data, duality, convexity (each only where it applies). train's default: loss, params, contour (+ duality, convexity where they apply); plot and compare: all.", show_default=False)]
FramesOption = Annotated[int, typer.Option("--frames", help="Also write N numbered frames of the contour figure (frames/contour_frame_NN), axis limits frozen.")]


def figure_options(style=None, title=None, no_subtitle=False, font_scale=None, size=None, dpi=None, fmt=None,
                   frames=0, section: dict | None = None, figures=None):
    """The flags (None: not given) over a config's ``plots:`` section, as one
    :class:`optrun.plots.style.FigureOptions`; a bad value is a usage error naming the flag."""
    from optrun.errors import OptrunError
    from optrun.plots.style import figure_options as make

    try:
        return make(section, style=style, title=title, subtitle=False if no_subtitle else None,
                    font_scale=font_scale, size=size, dpi=dpi, format=fmt, frames=frames or None, figures=figures)
    except OptrunError as exc:
        key = (exc.key or "").split(".")[-1].replace("_", "-")
        raise typer.BadParameter(str(exc).split(": ", 1)[-1], param_hint=f"--{key}" if key else None) from None


@user_errors
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders (or a folder of runs: a comparison, a sweep).", show_default=False)],
    x: Annotated[Optional[str], typer.Option("--x", help=X_HELP, show_default=False)] = None,
    y: Annotated[Optional[list[str]], typer.Option("--y", help=Y_HELP, show_default=False)] = None,
    yscale: Annotated[Optional[str], typer.Option("--yscale", help=YSCALE_HELP, show_default=False)] = None,
    projection: Annotated[str, typer.Option("--projection", help=PROJECTION_HELP)] = "hessian",
    animate: Annotated[bool, typer.Option("--animate", help="Also write contour.gif (the paths drawn over time).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output root: figures go into a fresh folder there. Default: RUN_DIR/plots for one folder, runs/ for several.", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "png",
    # the figure options of every drawing command (docs/plots.md)
    style: StyleOption = None, title: TitleOption = None, no_subtitle: NoSubtitleOption = False,
    font_scale: FontScaleOption = None, size: SizeOption = None, dpi: DpiOption = None, frames: FramesOption = 0,
    figures: FiguresOption = None,
    tangents: Annotated[bool, typer.Option("--tangents", help="One-parameter problems: draw f' and its tangents at each iterate (their zeros are the Newton-Raphson steps; on by default for newton runs).")] = False,
    surface: Annotated[bool, typer.Option("--surface", help="Also write surface.png: f as a 3-D surface over the contour frame, with the paths.")] = False,
    path_key: Annotated[Optional[str], typer.Option("--path", help=f"Draw only path.png: every coefficient against this key over the runs ({_listing(PATH_KEYS)}), log axis, support changes marked.", show_default=False)] = None,
    xlim: Annotated[Optional[str], typer.Option("--xlim", help="LO,HI: the horizontal frame of the contour (or f(theta)) figure.", show_default=False)] = None,
    ylim: Annotated[Optional[str], typer.Option("--ylim", help="LO,HI: the vertical frame of the contour figure.", show_default=False)] = None,
    target: Annotated[Optional[float], typer.Option("--target", help="Draw the line f - f* = TARGET on the suboptimality panels.", min=0, show_default=False)] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Redraw figures from run folders: one folder redraws its own, several are overlaid.

    Figures: loss.png (loss and f - f*), grad_norm.png, params.png (theta* dashed), contour.png
    (paths on the exact loss contours; native axes for two parameters, else a plane through
    theta*), data.png (one-feature problems). Seeds of one setting become a median with a
    10-90% band. --style slides makes 16:9 figures readable from the back of a room.
    """
    check_choice(fmt, FORMATS, "--format", usage=True)
    check_choice(projection, PROJECTIONS, "--projection", usage=True)
    check_choice(x, X_COLUMNS, "--x", usage=True)
    for v in y or []:
        check_choice(v, Y_KINDS, "--y", usage=True, echo=True)
    check_choice(yscale, YSCALES, "--yscale", usage=True)
    options = figure_options(style, title, no_subtitle, font_scale, size, dpi, fmt, frames, figures=figures)
    check_choice(path_key, PATH_KEYS, "--path", usage=True)
    lecture = {k: v for k, v in (("tangents", tangents), ("xlim", parse_lim(xlim, "--xlim")),
                                 ("ylim", parse_lim(ylim, "--ylim")), ("path", path_key), ("target", target)) if v}
    from optrun.plots.draw import draw_runs, expand_dirs

    con = console(quiet)
    runs, meta, labels = expand_dirs(run_dirs)
    target = _target(out, run_dirs)
    x = x or meta.get("x") or ("step" if len(runs) == 1 else None)
    if path_key:  # a figure across the runs: nothing else is drawn
        written = _draw_requested(runs, labels, ["path"], target, x or "step", projection, lecture, options)
    else:
        written = draw_runs(runs, target, fmt=fmt, x=x, ys=list(y) if y else None,
                            log=None if yscale is None else yscale == "log", projection=projection,
                            animate=animate, labels=labels, options=options, lecture=lecture)
        if surface:
            written += _draw_requested(runs, labels, ["surface"], target, x or "step", projection, lecture, options)
    if json_out:
        print_json({"out": str(target), "figures": [str(p) for p in written], "runs": [str(r) for r in runs]})
    con.print(f"{len(written)} figure(s) from {len(runs)} run(s) in [bold]{target}[/]")
    for p in written:
        con.print(f"  {p.name}")


def _target(out: Path | None, run_dirs: list[Path]) -> Path:
    """Where the figures go: a fresh folder under ``--out``; RUN_DIR/plots for one folder; else
    a fresh folder under runs/."""
    from optrun.rundir import create_run_dir

    if out is not None:
        return create_run_dir(out, "plot")
    if len(run_dirs) == 1:
        return Path(run_dirs[0]) / "plots"
    return create_run_dir(Path("runs"), "plot")


def _draw_requested(runs, labels, names, target, x, projection, lecture, options):
    from optrun.plots import catalog, rundata

    groups, _ = rundata.group_runs([rundata.load_run(p) for p in runs], labels)
    return catalog.draw_requested(groups, names, target, x=x, projection=projection, options=lecture,
                                  figure_options=options)
