"""``optrun tune CONFIG --optimizers a,b,c --budget N [--seeds K] [--search ...] [--score ...] [-j N]``."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import (
    EXIT_SOME_FAILED, JsonOption, OutOption, QuietOption, Signals, check_choice, console, print_json, user_errors,
)

SEARCHES = ("sobol", "random", "grid")
SCORES = ("final_subopt", "steps_to_target", "evals_to_target", "time_to_target")


@user_errors
def tune(
    config: Annotated[Path, typer.Argument(help="Base experiment YAML.", show_default=False)],
    optimizers: Annotated[str, typer.Option("--optimizers", help="Comma list of optimizers to tune, e.g. sgd,momentum,adam.",
                                            show_default=False)],
    budget: Annotated[int, typer.Option("--budget", help="Trials per optimizer (the same for every optimizer).", min=1)],
    seeds: Annotated[int, typer.Option("--seeds", help="Fresh seeds the best setting of each optimizer is rerun on.", min=1)] = 3,
    search: Annotated[str, typer.Option("--search", help="sobol (quasi-random) | random | grid.")] = "sobol",
    score: Annotated[str, typer.Option("--score", help="final_subopt | steps_to_target | evals_to_target | time_to_target (lower is better).")] = "final_subopt",
    target: Annotated[Optional[float], typer.Option("--target", help="f - f* level for the to-target scores (default 1e-3 x the initial f - f*).", show_default=False)] = None,
    space: Annotated[Optional[list[str]], typer.Option("--space", help="OPT:KEY=log(a,b) | lin(a,b) | int(a,b) | a|b|c | value "
                                                                         "(replaces or fixes one dimension of OPT's space; repeat).", show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel worker processes (0 = one per CPU).", min=0)] = 1,
    executor: Annotated[str, typer.Option(help="local | dask.")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Dask scheduler address.", envvar="DASK_SCHEDULER_ADDRESS")] = None,
    out: OutOption = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Name (slug of the tune folder and of the run names).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Figure format: png | svg.")] = "png",
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the figures.")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Tune each optimizer with the same number of trials over its own search space, rerun the
    best setting of each over fresh seeds, and rank them.

    Writes one folder (tune.json, runs/, trials.csv, ranking.csv, plots/tune.png and
    plots/sensitivity.png). Rerunning the same command resumes it. Exit 4 if some runs failed.
    """
    import os

    from optrun import tune as tune_mod
    from optrun.control import StopFlag

    check_choice(search, SEARCHES, "--search", usage=True)
    check_choice(score, SCORES, "--score", usage=True)
    check_choice(fmt, ("png", "svg"), "--format", usage=True)
    con = console(quiet)
    stop = StopFlag()
    names = [o.strip() for o in optimizers.split(",") if o.strip()]
    with Signals(stop) as signals:
        result = tune_mod.tune(config, names, budget, seeds=seeds, search=search, score=score, target=target,
                               spaces=list(space or []), out=out, name=name, jobs=jobs or (os.cpu_count() or 1),
                               executor=executor, address=address, plots=not no_plots, fmt=fmt, stop=stop,
                               on_run=_progress_line(con))
    if json_out:
        print_json({"tune_dir": str(result.folder), "score": result.score, "target": result.target,
                    "skipped": result.skipped, "ranking": result.ranking,
                    "figures": [str(p) for p in result.figures]})
    con.print(_table(result))
    con.print(f"tune folder: [bold]{result.folder}[/] (ranking.csv, trials.csv, plots/)"
              + (f"; {result.skipped} runs were already done" if result.skipped else ""))
    if result.interrupted:
        raise typer.Exit(signals.exit_code or 130)
    if result.failed:
        con.print(f"[red]{result.failed} run(s) failed[/]: see trials.csv")
        raise typer.Exit(EXIT_SOME_FAILED)


def _progress_line(con):
    """The ``on_run`` callback of :func:`optrun.tune.tune`: a line every 20th trial and for each rerun."""
    from optrun.tune import setting_text

    done = {"n": 0}

    def on_run(planned, outcome):
        done["n"] += 1
        if done["n"] % 20 == 0 or planned.phase == "rerun":
            con.print(f"[{planned.phase}] {planned.optimizer} {setting_text(planned.values)} "
                      f"seed {planned.seed}: {outcome.get('status')}")

    return on_run


def _num(v) -> str:
    return "—" if v is None else f"{v:.4g}"


def _table(result):
    from rich.table import Table

    target = f", target f − f* ≤ {result.target:.3g}" if result.target is not None else ""
    table = Table(title=f"{result.folder.name}\nranked by the median {result.score} over the seeds{target}",
                  title_justify="left")
    for head in ("#", "optimizer", "chosen setting", "score (median)", "band 10–90 %", "reached", "diverged trials"):
        table.add_column(head, justify="right" if head not in ("optimizer", "chosen setting") else "left")
    for r in result.ranking:
        score = _num(r["score"]) if r["score"] is not None else (
            f"> {r['score_above']:.4g}" if r.get("score_above") is not None else "—")
        table.add_row(str(r["rank"]), r["optimizer"], r["hyperparameters"], score,
                      f"{_num(r['band_low'])} – {_num(r['band_high'])}", f"{r['reached']}/{r['seeds']}",
                      f"{r['diverged_trials']}/{r['trials']}")
    return table
