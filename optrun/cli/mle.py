"""``optrun mle``: the lecture's two-bags maximum-likelihood example, exactly."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, OutOption, QuietOption, console, print_json, user_errors
from optrun.cli.plot import (
    DpiOption, FontScaleOption, NoSubtitleOption, SizeOption, StyleOption, TitleOption, figure_options,
)


@user_errors
def mle(
    draws: Annotated[int, typer.Option("--draws", "-n", help="Draws with replacement (n).", min=0, max=200)] = 5,
    thetas: Annotated[str, typer.Option("--thetas", help="The candidate shares of red balls Ω, e.g. 1/2,3/4.")] = "1/2,3/4",
    observed: Annotated[Optional[int], typer.Option("--observed", "-y", help="Red balls observed (y): the ML choice for it, and its likelihood figure.", show_default=False)] = None,
    out: OutOption = Path("runs"),
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    fmt: Annotated[str, typer.Option("--format", help="Figure format: png | svg | pdf.")] = "png",
    # the figure options of every drawing command (docs/plots.md)
    style: StyleOption = None, title: TitleOption = None, no_subtitle: NoSubtitleOption = False,
    font_scale: FontScaleOption = None, size: SizeOption = None, dpi: DpiOption = None,
):
    """The two-bags example: f(y; θ) = C(n, y) θ^y (1 − θ)^(n − y) for every y and θ in Ω, exact
    fractions over the lecture's denominators, the maximum-likelihood choice for each y; with
    --observed Y, the choice for Y, the likelihood ratio, and the likelihood of Y over θ in a fresh
    folder under --out (likelihood.png, table.csv)."""
    from optrun._text import split_top_level
    from optrun.likelihood import two_bags_report

    options = figure_options(style, title, no_subtitle, font_scale, size, dpi, fmt)  # usage errors first

    report = two_bags_report(draws, [t.strip() for t in split_top_level(thetas) if t.strip()], observed)
    rows = [{"y": y, **{f"f(y; {r['theta']})": r["pmf"][y] for r in report["table"]}, "ml_choice": report["ml_choice"][y]}
            for y in report["y"]]
    folder, figure = _write(rows, report, out, options) if observed is not None else (None, None)
    if json_out:
        print_json({**{k: v for k, v in report.items() if k != "curve"}, "rows": rows,
                    "folder": str(folder) if folder else None, "figure": str(figure) if figure else None})
        return
    con = console(quiet)
    con.print(_table(rows, report))
    if observed is not None:
        ratio = report["likelihood_ratio"]
        con.print(f"observed {observed} red of {draws}: f = {' vs '.join(report['likelihood'].values())} "
                  f"-> θ̂ = {report['theta_hat']} (bag {report['bag']})"
                  + (f", likelihood ratio {ratio['exact']}" if ratio else "")
                  + (f" (a tie between θ = {', '.join(report['tied'])}: the first listed is taken)"
                     if report["tied"] else "")
                  + f"; over [0, 1] the MLE is y/n = {report['theta_hat_unrestricted']}")
        con.print(f"likelihood figure: [bold]{figure}[/]")


def _table(rows, report):
    from rich.table import Table

    view = Table(title=f"two bags: Y ~ binomial({report['n']}, θ), θ in Ω = {{{', '.join(report['omega'])}}}",
                 title_justify="left")
    for col in rows[0]:
        view.add_column(col, justify="right")
    for r in rows:
        view.add_row(*(str(v) for v in r.values()), style="bold" if r["y"] == report.get("observed") else "")
    return view


def _write(rows, report, out, options) -> tuple[Path, Path]:
    from fractions import Fraction

    from optrun.plots.likelihood import two_bags_figure
    from optrun.rundir import create_run_dir, write_csv

    folder = create_run_dir(out, "mle-two-bags")
    write_csv(folder / "table.csv", rows, list(rows[0]))
    figure = two_bags_figure(report["n"], [Fraction(t) for t in report["omega"]], report["observed"],
                             folder / "likelihood.png", options)
    return folder, figure
