"""``optrun mle``: the lecture's two-bags maximum-likelihood example, exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, OutOption, QuietOption, console, fail, print_json, user_errors


@user_errors
def mle(
    draws: Annotated[int, typer.Option("--draws", "-n", help="Draws with replacement (n).", min=0, max=200)] = 5,
    thetas: Annotated[str, typer.Option("--thetas", help="The candidate shares of red balls Ω, e.g. 1/2,3/4.")] = "1/2,3/4",
    observed: Annotated[Optional[int], typer.Option("--observed", "-y", help="Red balls observed (y): draw the likelihood figure for it.", show_default=False)] = None,
    out: OutOption = Path("runs"),
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """The two-bags example: f(y; θ) = C(n, y) θ^y (1 − θ)^(n − y) for every y and θ in Ω, exact
    fractions, the maximum-likelihood choice for each y; with --observed Y, the likelihood of Y
    over θ in a fresh folder under --out (likelihood.png, table.csv)."""
    from rich.table import Table

    from optrun._text import split_top_level
    from optrun.likelihood import binomial_table

    table = binomial_table(draws, [t for t in split_top_level(thetas) if t.strip()])
    if observed is not None and not 0 <= observed <= draws:
        raise fail(f"--observed: expected a count between 0 and --draws = {draws}, got {observed}")
    frac = lambda t: f"{t.numerator}/{t.denominator}" if t.denominator != 1 else str(t.numerator)  # noqa: E731
    # each column over its common denominator (θ's denominator to the n-th power), as the
    # lecture writes it: 10/32, 90/1024 (not the reduced 5/16, 45/512)
    common = lambda v, t: f"{v * t.denominator ** draws}/{t.denominator ** draws}"  # noqa: E731
    rows = [{"y": y, **{f"f(y; {frac(t)})": common(table["pmf"][t][y], t) for t in table["thetas"]},
             "ml_choice": frac(table["ml_choice"][y])} for y in table["y"]]
    folder = _write(rows, draws, table["thetas"], observed, out) if observed is not None else None
    if json_out:
        print_json({"n": draws, "thetas": [frac(t) for t in table["thetas"]], "rows": rows,
                    "folder": str(folder) if folder else None})
        return
    view = Table(title=f"two bags: Y ~ binomial({draws}, θ), θ in Ω = {{{', '.join(frac(t) for t in table['thetas'])}}}",
                 title_justify="left")
    for col in rows[0]:
        view.add_column(col, justify="right")
    for r in rows:
        view.add_row(*(str(v) for v in r.values()), style="bold" if r["y"] == observed else "")
    con = console(quiet)
    con.print(view)
    if folder is not None:
        con.print(f"likelihood of y = {observed} over θ: [bold]{folder / 'likelihood.png'}[/]")


def _write(rows, n, thetas, observed, out) -> Path:
    from optrun.plots.likelihood import two_bags_figure
    from optrun.rundir import create_run_dir, write_csv

    folder = create_run_dir(out, "mle-two-bags")
    write_csv(folder / "table.csv", rows, list(rows[0]))
    two_bags_figure(n, thetas, observed, folder / "likelihood.png")
    return folder
