"""Run folders -> figure files: a loop over the figure table (:mod:`optrun.plots.catalog`).

A figure that cannot be drawn (no f*, data moved away, a one-parameter model) becomes a figure
that says why, plus a line on stderr; one failing figure never stops the others.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from optrun.errors import OptrunError
from optrun.plots import catalog, rundata
from optrun.plots.catalog import Context, FigureSpec
from optrun.plots.choices import TRAIN_FIGURES
from optrun.plots.model import FORMATS, PROJECTIONS, X_COLUMNS, Y_KINDS, one_of
from optrun.plots.style import FigureOptions
from optrun.rundir import find_run_folders, is_run_folder, read_json_mapping

__all__ = ["FORMATS", "PROJECTIONS", "check_options", "draw_groups", "draw_run", "draw_runs", "expand_dirs"]

DEFAULT_FIGURES = tuple(catalog.FIGURES)


def _warn(msg: str) -> None:
    sys.stderr.write(f"warning: {msg}\n")
    sys.stderr.flush()


def expand_dirs(paths: list[Path]) -> tuple[list[Path], dict, dict[str, str]]:
    """Run folders behind ``paths``: a run folder as is; a folder holding run folders (a
    comparison, a sweep, any folder of runs) gives every run folder below it
    (:func:`optrun.rundir.find_run_folders`), in the order of its ``comparison.csv`` when there
    is one. Runs found this way with no trace (a run that failed before its first step) are
    skipped with a warning. Also returns the comparison's metadata (``comparison.json``) when a
    single one was given, and the legend labels that ``comparison.csv`` gives its runs."""
    runs: list[Path] = []
    meta: dict = {}
    labels: dict[str, str] = {}
    for p in map(Path, paths):
        if is_run_folder(p):
            runs.append(p)
            continue
        if not p.is_dir():
            raise OptrunError(f"{p}: no such run folder")
        inner = find_run_folders(p)
        if not inner:
            raise OptrunError(f"{p}: not a run folder (no summary.json) and holds no run folders")
        order, lab = _comparison_order(p)
        labels.update(lab)
        if order:
            inner.sort(key=lambda q: order.get(q.name, 10**9))
        if (p / "comparison.json").is_file() and len(paths) == 1:
            try:  # damaged metadata never stops the drawing: the runs are drawn without it
                meta = read_json_mapping(p / "comparison.json")
            except OptrunError as exc:
                _warn(f"{exc}; drawn without it")
                meta = {}
        for q in inner:
            if (q / "trace.csv").is_file():
                runs.append(q)
            else:
                _warn(f"{q.relative_to(p)}: no trace.csv, not drawn")
    return runs, meta, labels


def _comparison_order(folder: Path) -> tuple[dict[str, int], dict[str, str]]:
    csv = folder / "comparison.csv"
    if not csv.is_file():
        return {}, {}
    import csv as csv_mod

    with csv.open(encoding="utf-8") as fh:
        rows = list(csv_mod.DictReader(fh))
    order = {Path(r.get("run_dir") or "").name: i for i, r in enumerate(rows)}
    labels = {Path(r.get("run_dir") or "").name: r["label"] for r in rows if r.get("label") and r.get("run_dir")}
    return order, labels


def check_options(fmt: str = "png", x: str = "step", projection: str = "hessian", ys: list[str] | None = None) -> None:
    """Raise OptrunError for a format, x axis, projection or curve kind that is not one of ours."""
    if fmt not in FORMATS:
        raise OptrunError(f"--format: expected {one_of(FORMATS)}, got {fmt!r}")
    if x not in X_COLUMNS:
        raise OptrunError(f"--x: expected one of {', '.join(X_COLUMNS)}, got {x!r}")
    if projection not in PROJECTIONS:
        raise OptrunError(f"--projection: expected {one_of(PROJECTIONS)}, got {projection!r}")
    for y in ys or []:
        if y not in Y_KINDS:
            raise OptrunError(f"--y: expected one of {', '.join(Y_KINDS)}, got {y!r}")


def _safe(spec: FigureSpec, ctx: Context, out: Path, fmt: str, written: list[Path]) -> None:
    """Build and save one figure; on failure save a figure that says why, and warn."""
    from optrun.plots.figures import message_figure, save_figure

    fmt = ctx.options.format
    path = out / f"{spec.name}.{fmt}"
    try:
        fig = spec.figure(ctx)
    except Exception as exc:  # a plotting bug must not cost the other figures
        detail = f"{type(exc).__name__}: {exc}"
        _warn(f"{path.name}: could not be drawn ({detail})")
        (out / f"{spec.name}_error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        fig = message_figure(spec.title, f"this figure could not be drawn: {detail}", opts=ctx.options)
    written.append(save_figure(fig, path))


def draw_groups(
    groups: list[rundata.Group],
    out: Path,
    fmt: str = "png",
    x: str = "step",
    ys: list[str] | None = None,
    log: bool | None = None,
    projection: str = "hessian",
    animate: bool = False,
    style_note: str = "",
    figures: tuple[str, ...] = DEFAULT_FIGURES,
    options: FigureOptions | None = None,
    lecture: dict | None = None,
) -> list[Path]:
    """Draw the figures of these groups into ``out``; return the files written.

    ``ys`` draws only those curves (one figure each), else the ``figures`` of the table that
    apply to these runs. ``options`` (:class:`~optrun.plots.style.FigureOptions`): style, title,
    sizes, format (it wins over ``fmt``), ``frames``."""
    options = options or FigureOptions(format=fmt)
    check_options(options.format, x, projection, ys)
    out.mkdir(parents=True, exist_ok=True)
    runs = [r for g in groups for r in g.runs]
    options = _with_fonts(options, groups)
    ctx = Context(groups, x=x, log=log, projection=projection, notes=[style_note] if style_note else [],
                  options=options, lecture=dict(lecture or {}))
    for r in runs:
        for prob in r.problems:
            _warn(f"{r.path.name}: {prob}")
    curves = []  # --figures may name curves of --y (subopt, dist) beside the catalog's figures
    if options.figures is not None:
        figures = tuple(f for f in figures if f in options.figures)
        curves = [f for f in options.figures if f in catalog.CURVES and f not in catalog.FIGURES]
    if ys:
        specs = [catalog.CURVES[y] for y in ys]
    else:
        specs = [s for name, s in catalog.FIGURES.items() if name in figures and s.applies(runs)]
        specs += [catalog.CURVES[y] for y in curves]
    wants_contour = animate or options.frames
    if (wants_contour or any(s.needs_problem for s in specs)) and ctx.load_problem():
        _warn(f"{groups[0].first.path.name}: contours and data view not drawn: {ctx.why}")
    written: list[Path] = []
    for spec in specs:
        _safe(spec, ctx, out, options.format, written)
    if animate:
        _animate(ctx, out, written)
    if options.frames:
        _frames(ctx, out, written)
    return written


def _with_fonts(options: FigureOptions, groups) -> FigureOptions:
    """Fallback fonts for the characters of the labels DejaVu Sans lacks, or one warning line."""
    from optrun.plots import fonts
    from optrun.plots.labels import problem_text

    texts = [options.title or ""] + [g.label for g in groups]
    for g in groups:
        r = g.first
        texts += [*r.param_names, problem_text(r.config, r.summary), str(((r.config or {}).get("dataset") or {}).get("target", ""))]
    families, left, package = fonts.fallback_fonts(texts)
    if left:
        _warn(fonts.warning_line(left, package))
    return options.with_(fonts=families) if families else options


def _animate(ctx: Context, out: Path, written: list[Path]) -> None:
    """``contour.gif``: the paths drawn over time (a warning, never an error, when it cannot be)."""
    from optrun.plots.figures import contour_animation

    cd = ctx.contour()
    if isinstance(cd, str):
        _warn(f"no animation: {cd}")
        return
    try:
        written.append(contour_animation(catalog.titled(cd, ctx), out / "contour.gif", opts=ctx.options))
    except Exception as exc:
        _warn(f"contour.gif could not be drawn ({type(exc).__name__}: {exc})")


def _frames(ctx: Context, out: Path, written: list[Path]) -> None:
    """``frames/contour_frame_NN.png``: the flip-book of the contour figure (limits frozen)."""
    from optrun.plots.figures import contour_frames

    cd = ctx.contour()
    if isinstance(cd, str):
        _warn(f"no frames: {cd}")
        return
    written.extend(contour_frames(catalog.titled(cd, ctx), out / "frames", ctx.options.frames,
                                  fmt=ctx.options.format, opts=ctx.options))


def draw_run(run_dir: Path, fmt: str = "png", x: str = "step", projection: str = "hessian",
             animate: bool = False, out: Path | None = None, options: FigureOptions | None = None) -> list[Path]:
    """Draw a run's figures into ``run_dir/plots/`` (or ``out``) from the folder alone: those of
    ``options.figures``, else :data:`~optrun.plots.choices.TRAIN_FIGURES` (what ``optrun train``
    draws)."""
    run = rundata.load_run(run_dir)
    groups, note = rundata.group_runs([run])
    chosen = options is not None and options.figures is not None
    return draw_groups(groups, Path(out) if out else Path(run_dir) / "plots", fmt=fmt, x=x,
                       projection=projection, animate=animate, style_note=note, options=options,
                       figures=DEFAULT_FIGURES if chosen else TRAIN_FIGURES)


def draw_runs(run_dirs: list[Path], out: Path, fmt: str = "png", x: str | None = None, ys: list[str] | None = None,
              log: bool | None = None, projection: str = "hessian", animate: bool = False,
              labels: dict[str, str] | None = None, options: FigureOptions | None = None,
              lecture: dict | None = None) -> list[Path]:
    """Overlay several runs (seeds of one setting become a median with a 10–90% band)."""
    runs = [rundata.load_run(p) for p in run_dirs]
    groups, note = rundata.group_runs(runs, labels)
    x = x or rundata.default_x(runs)
    return draw_groups(groups, Path(out), fmt=fmt, x=x, ys=ys, log=log, projection=projection, animate=animate,
                       style_note=note, options=options, lecture=lecture)
