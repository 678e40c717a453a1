"""``optrun diff RUN_A RUN_B``: config keys, metrics, diagnostics and versions side by side."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated

import typer

from optrun.cli.common import JsonOption, QuietOption, console, print_json, user_errors


def _fmt(v) -> str:
    from optrun._text import fmt_value

    return "—" if v is None else fmt_value(v, 10)


@user_errors
def diff(
    run_a: Annotated[Path, typer.Argument(help="The first run folder.", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="The second run folder.", show_default=False)],
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """What differs between two runs: config keys, final metrics (with their difference),
    diagnostics and versions. --json prints {config, metrics, diagnostics, versions}, each
    {key: [a, b]}."""
    from rich.table import Table

    from optrun.diff import diff_runs

    result = diff_runs(run_a, run_b)
    if json_out:
        print_json(result)
        return
    con = console(quiet)
    for title, part in (("config", result["config"]), ("metrics", result["metrics"]),
                        ("diagnostics", result["diagnostics"]), ("versions", result["versions"])):
        if not part:
            con.print(f"[bold]{title}[/]: no difference")
            continue
        table = Table(title=title, title_justify="left", box=None)
        for col in ("key", "A", "B", "B - A"):
            table.add_column(col)
        for key, (a, b) in part.items():
            delta = ""
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
                delta = _fmt(b - a)
            style = "" if a == b else "yellow"
            table.add_row(key, _fmt(a), _fmt(b), delta, style=style)
        con.print(table)

