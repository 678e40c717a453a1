"""``optrun runs [DIR] [--format table|csv|json|md] [--filter KEY=VALUE] [--tag NAME] [--note-contains TEXT]
[--sort COLUMN]``."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, QuietOption, check_choice, console, print_json, user_errors

FORMATS = ("table", "csv", "json", "md")


@user_errors
def runs(
    directory: Annotated[Path, typer.Argument(help="Folder to search recursively for run folders.")] = Path("runs"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (stderr) | csv | json | md (stdout).")] = "table",
    filters: Annotated[Optional[list[str]], typer.Option(
        "--filter", help="Keep runs where KEY=VALUE (V1,V2 or V1|V2: any; a number with 4+ digits matches at its printed precision; also !=, <, <=, >, >=); KEY is a column, "
                         "a dotted config key (optimizer.lr) or a summary key (r2). Repeat to AND.",
        show_default=False)] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort by a column or key; -COLUMN for descending.",
                                                show_default=False)] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Keep runs with this tag (train/compare/sweep --tag); "
                                                     "repeat: runs with all of them.", show_default=False)] = None,
    note_contains: Annotated[Optional[str], typer.Option("--note-contains", help="Keep runs whose note (--note) "
                                                         "contains TEXT (case-insensitive).", show_default=False)] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """List run folders (from train, compare or sweep) with their varied config values, status
    and final metrics (and tags and notes, when runs have them), read from each folder's
    summary.json and config.yaml."""
    from optrun import runs as runs_mod
    from optrun.cli.render import listing_table

    if json_out:
        fmt = "json"
    check_choice(fmt, FORMATS, "--format", expected=f"one of {', '.join(FORMATS)}")
    listing = runs_mod.list_runs(directory, filters=filters, sort=sort, tags=tag or (), note_contains=note_contains)
    con = console(quiet)
    if fmt == "json":
        print_json(runs_mod.to_json(listing))
    elif fmt == "csv":
        sys.stdout.write(runs_mod.to_csv(listing))
    elif fmt == "md":
        sys.stdout.write(runs_mod.to_markdown(listing))
    else:
        if not sys.stderr.isatty():
            con.width = 100_000  # not a terminal: one line per run, never wrapped
        con.print(listing_table(listing, directory))
    if not listing.rows and (fmt != "table" or listing.total):
        console(quiet).print(listing.empty_message())
