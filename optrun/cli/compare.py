"""``optrun compare CONFIG [KEY=VALUE ...] --vary KEY=v1,v2,... [--seeds N]``: fair comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import (
    EXIT_SOME_FAILED, JsonOption, OutOption, QuietOption, Signals, console, print_json, user_errors,
)

VARY_HELP = ("KEY=v1,v2,... to vary (repeat for a grid): optimizer.name=sgd,momentum,adam | "
             "optimizer=adam:lr=0.01,sgd:lr=0.1 | batch.mode=full,stochastic,minibatch | optimizer.lr=0.1,0.01")


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}{unit}"
    return f"{v}{unit}"


def ranking_table(result):
    """The rich table of the ranked settings."""
    from rich.table import Table

    unit = {"step": "steps", "epoch": "epochs", "samples": "samples", "time": "s"}[result.x]
    target = f"{result.target:.3g}" if result.target is not None else "n/a (no f*)"
    table = Table(title=f"{result.folder.name}\nranked by {unit} to reach f − f* ≤ {target}, then final f − f*",
                  title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("setting")
    table.add_column("runs", no_wrap=True)
    table.add_column(f"{unit} to target", justify="right")
    table.add_column("final f − f*", justify="right")
    table.add_column("final loss", justify="right")
    table.add_column("wall time", justify="right")
    colour = {"completed": "green", "converged": "green", "diverged": "red", "failed": "red", "interrupted": "yellow"}
    for s in result.settings:
        runs = ", ".join(f"[{colour.get(k, 'white')}]{n} {k}[/]" for k, n in s["statuses"].items())
        reached = f"{_fmt(s['median_to_target'])}" + (f" ({s['reached_target']}/{s['runs']})" if s["runs"] > 1 else "")
        table.add_row(str(s["rank"]), s["label"], runs, reached, _fmt(s["median_final_subopt"]),
                      _fmt(s["median_final_loss"]), _fmt(s["median_wall_time_s"], " s"))
    return table


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
    fmt: Annotated[str, typer.Option("--format", help="Figure format: png | svg.")] = "png",
    projection: Annotated[str, typer.Option("--projection", help="Contour plane for > 2 parameters: hessian | pca.")] = "hessian",
    animate: Annotated[bool, typer.Option("--animate", help="Also write plots/contour.gif.")] = False,
    run_plots: Annotated[bool, typer.Option("--run-plots", help="Also draw each run's own figures (slower).")] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the overlay figures.")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run CONFIG once per --vary value (grid over several --vary) and seed; rank them.

    Writes one folder with the run folders, comparison.csv (one row per run), comparison.json
    and plots/ (overlays: loss and f - f*, gradient norm, parameters, paths on the contours).
    Exit code 4 if some runs failed (a diverged run is a result, not a failure).
    """
    from optrun import compare as compare_mod
    from optrun.control import StopFlag

    if fmt not in ("png", "svg"):
        raise typer.BadParameter("expected png or svg", param_hint="--format")
    if x is not None and x not in ("step", "epoch", "samples", "time"):
        raise typer.BadParameter("expected step, epoch, samples or time", param_hint="--x")
    if projection not in ("hessian", "pca"):
        raise typer.BadParameter("expected hessian or pca", param_hint="--projection")
    if not vary:
        raise typer.BadParameter("give at least one --vary KEY=v1,v2,...", param_hint="--vary")
    con = console(quiet)
    stop = StopFlag()

    def on_run(i, total, label, summary):
        if summary is None:
            return
        status = summary.get("status")
        sub = summary.get("suboptimality")
        extra = f", f − f* {sub:.3g}" if isinstance(sub, float) else ""
        con.print(f"[{i}/{total}] {label}: {status}{extra}")

    with Signals(stop) as signals:
        result = compare_mod.compare(
            config, vary=list(vary), overrides=list(overrides or []), seeds=seeds, out=out, target=target, x=x,
            name=name, plots=not no_plots, run_plots=run_plots, fmt=fmt, projection=projection, animate=animate,
            stop=stop, on_run=on_run,
        )
    if json_out:
        print_json({"comparison_dir": str(result.folder), "target": result.target, "x": result.x,
                    "vary": result.vary, "settings": result.settings, "runs": result.rows,
                    "figures": [str(p) for p in result.figures]})
    con.print(ranking_table(result))
    con.print(f"comparison folder: [bold]{result.folder}[/] (comparison.csv, plots/)")
    if result.interrupted:
        raise typer.Exit(signals.exit_code)
    if result.failed:
        con.print(f"[red]{result.failed} run(s) failed[/]: see comparison.csv")
        raise typer.Exit(EXIT_SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
