"""``optrun runs [DIR] [--format table|csv|json|md] [--filter KEY=VALUE] [--sort COLUMN]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, QuietOption, console, fail, print_json, user_errors

_STATUS_STYLE = {"completed": "green", "converged": "green", "diverged": "yellow",
                 "interrupted": "yellow", "failed": "red", "running": "cyan"}
FORMATS = ("table", "csv", "json", "md")


@user_errors
def runs(
    directory: Annotated[Path, typer.Argument(help="Folder to search recursively for run folders.")] = Path("runs"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (stderr) | csv | json | md (stdout).")] = "table",
    filters: Annotated[Optional[list[str]], typer.Option(
        "--filter", help="Keep runs where KEY=VALUE (V1,V2: any; also !=, <, <=, >, >=); KEY is a column, "
                         "a dotted config key (optimizer.lr) or a summary key (r2). Repeat to AND.",
        show_default=False)] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort by a column or key; -COLUMN for descending.",
                                                show_default=False)] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """List run folders (from train, compare or sweep) with their varied config values, status
    and final metrics, read from each folder's summary.json and config.yaml."""
    from optrun import runs as runs_mod

    if json_out:
        fmt = "json"
    if fmt not in FORMATS:
        raise fail(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    listing = runs_mod.list_runs(directory, filters=filters, sort=sort)
    con = console(quiet)
    if fmt == "json":
        print_json(runs_mod.to_json(listing))
    elif fmt == "csv":
        sys.stdout.write(runs_mod.to_csv(listing))
    elif fmt == "md":
        sys.stdout.write(runs_mod.to_markdown(listing))
    else:
        from rich.table import Table

        if not sys.stderr.isatty():
            con.width = 100_000  # not a terminal: one line per run, never wrapped
        table = Table(title=f"{len(listing.rows)} runs in {directory}", title_justify="left")
        numeric = {"steps", "final_loss", "suboptimality", "wall_time_s"}
        for c in listing.columns:
            table.add_column(c, justify="right" if c in numeric else "left",
                             overflow="fold" if c in ("run", "name") else "ellipsis", no_wrap=c not in ("run", "name"))
        for r in listing.rows:
            cells = []
            for c in listing.columns:
                v = r.get(c)
                text = f"{v:.3g}" if c == "wall_time_s" and isinstance(v, float) else runs_mod.format_value(v)
                if c == "status" and text:
                    text = f"[{_STATUS_STYLE.get(text, '')}]{text}[/]" if _STATUS_STYLE.get(text) else text
                else:
                    text = text.replace("[", "\\[")
                cells.append(text)
            table.add_row(*cells)
        con.print(table)
    if not listing.rows and fmt != "table":
        console(quiet).print(f"no run folders under {directory}")


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
