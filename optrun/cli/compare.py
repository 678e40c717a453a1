"""``optrun compare CONFIG [KEY=VALUE ...] --vary KEY=v1,v2,... [--seeds N]``: fair comparisons."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.plot import (
    DpiOption, FiguresOption, FontScaleOption, FramesOption, NoSubtitleOption, SizeOption, StyleOption, TitleOption, figure_options,
)
from optrun.cli.common import (
    EXIT_SOME_FAILED, FIGURE_FORMATS, PROJECTIONS, X_AXES, JsonOption, NoteOption, OutOption, QuietOption,
    ReportOption, Signals, TagOption, check_choice, console, print_json, user_errors,
)

VARY_HELP = ("KEY=v1,v2,... to vary (repeat for a grid): optimizer.name=sgd,momentum,adam | "
             "optimizer=adam:lr=0.01,sgd:lr=0.1 | batch.mode=full,stochastic,minibatch | optimizer.lr=0.1,0.01")


@user_errors
def compare(
    config: Annotated[Path, typer.Argument(help="Base experiment YAML.", show_default=False)],
    overrides: Annotated[Optional[list[str]], typer.Argument(help="KEY=VALUE overrides applied to every run.", show_default=False)] = None,
    vary: Annotated[Optional[list[str]], typer.Option("--vary", help=VARY_HELP, show_default=False)] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Runs per setting (seeds seed, seed+1, ...); bands show the 10-90% range.")] = 1,
    target: Annotated[Optional[float], typer.Option("--target", help="f - f* level for 'steps/epochs to target' (default: 1e-3 x the median initial f - f*).", show_default=False)] = None,
    x: Annotated[Optional[str], typer.Option("--x", help="x axis: step | epoch | samples | time (default: epoch when batch modes differ, else step).", show_default=False)] = None,
    out: OutOption = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Comparison name (slug in the folder name).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Figure format: png | svg | pdf.")] = "png",
    # the figure options of every drawing command (docs/plots.md)
    style: StyleOption = None, title: TitleOption = None, no_subtitle: NoSubtitleOption = False,
    font_scale: FontScaleOption = None, size: SizeOption = None, dpi: DpiOption = None, frames: FramesOption = 0,
    figures: FiguresOption = None,
    projection: Annotated[str, typer.Option("--projection", help="Contour plane for > 2 parameters: hessian | pca.")] = "hessian",
    animate: Annotated[bool, typer.Option("--animate", help="Also write plots/contour.gif.")] = False,
    run_plots: Annotated[bool, typer.Option("--run-plots", help="Also draw each run's own figures (slower).")] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the overlay figures.")] = False,
    resolution: Annotated[Optional[int], typer.Option("--resolution", help="Log every K steps so 'to target' is read at a resolution that does not depend on the budget (default 1 unless the config sets train.log_every).", show_default=False)] = None,
    baselines: Annotated[Optional[str], typer.Option("--baselines", help="theory: add GD at 1/L and 2/(L+mu), the optimal heavy ball and Nesterov (from the reference's L, mu).", show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel worker processes (0 = one per CPU); the results are those of -j 1.", min=0)] = 1,
    note: NoteOption = None,
    tag: TagOption = None,
    report: ReportOption = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run CONFIG once per --vary value (grid over several --vary) and seed; rank them.

    Writes one folder with the run folders, comparison.csv (one row per run), comparison.json
    and plots/ (overlays: loss and f - f*, gradient norm, parameters, paths on the contours).
    Exit code 4 if some runs failed (a diverged run is a result, not a failure).
    """
    import os

    from optrun import compare as compare_mod
    from optrun.control import StopFlag

    _check_args(fmt, x, projection, baselines, vary)
    figure = figure_options(style, title, no_subtitle, font_scale, size, dpi, fmt, frames, figures=figures)
    con = console(quiet)
    stop = StopFlag()
    with Signals(stop) as signals:
        result = compare_mod.compare(
            config, vary=list(vary or []), overrides=list(overrides or []), seeds=seeds, out=out, target=target, x=x,
            name=name, plots=not no_plots, run_plots=run_plots, fmt=fmt, projection=projection, animate=animate,
            figure=figure, stop=stop, on_run=_progress_line(con), resolution=resolution, baselines=baselines,
            jobs=jobs or (os.cpu_count() or 1), note=note, tags=tag or (),
        )
    page = None
    if report:
        from optrun.report import write_report

        page = write_report(result.folder)
    _show(result, con, json_out, page)
    if result.interrupted:
        raise typer.Exit(signals.exit_code)
    if result.failed:
        con.print(f"[red]{result.failed} run(s) failed[/]: see comparison.csv")
        raise typer.Exit(EXIT_SOME_FAILED)


def _check_args(fmt, x, projection, baselines, vary) -> None:
    """Usage errors (exit 2) before anything runs."""
    check_choice(fmt, FIGURE_FORMATS, "--format", usage=True)
    check_choice(x, X_AXES, "--x", usage=True)
    check_choice(projection, PROJECTIONS, "--projection", usage=True)
    check_choice(baselines, ("theory",), "--baselines", usage=True)
    if not vary and not baselines:
        raise typer.BadParameter("give at least one --vary KEY=v1,v2,...", param_hint="--vary")


def _show(result, con, json_out: bool, page=None) -> None:
    """The JSON document (``--json``), the ranking table, the resolution note, the folder and
    the report page (``--report``)."""
    if json_out:
        print_json({"comparison_dir": str(result.folder), "target": result.target, "x": result.x,
                    "vary": result.vary, "settings": result.settings, "runs": result.rows,
                    "figures": [str(p) for p in result.figures], **({"report": str(page)} if page else {})})
    from optrun.cli.render import ranking_table

    con.print(ranking_table(result))
    meta = _resolution_note(result)
    if meta:
        con.print(meta)
    con.print(f"comparison folder: [bold]{result.folder}[/] (comparison.csv, plots/)")
    if page:
        con.print(f"report: {page}", soft_wrap=True)


def _progress_line(con):
    """The ``on_run`` callback of :func:`optrun.compare.compare`: one line per finished run."""

    def on_run(i, total, label, summary):
        if summary is None:
            return
        sub = summary.get("suboptimality")
        extra = f", f − f* {sub:.3g}" if isinstance(sub, float) else ""
        if summary.get("status") == "failed" and summary.get("stop_reason"):
            extra = f": {summary['stop_reason']}"  # why, here, not only in comparison.csv
        con.print(f"[{i}/{total}] {label}: {summary.get('status')}{extra}", markup=False, highlight=False)

    return on_run


def _resolution_note(result) -> str:
    from optrun.errors import OptrunError
    from optrun.rundir import read_json_mapping

    try:
        meta = read_json_mapping(result.folder / "comparison.json")
    except OptrunError:
        return ""
    res = meta.get("target_resolution") or {}
    return (f"to target: first logged row with f − f* ≤ target (and, for constrained runs, infeasibility ≤ "
            f"target), read every {res.get('log_every')} step(s)") if res else ""


