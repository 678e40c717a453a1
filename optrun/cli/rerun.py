"""``optrun rerun RUN [--verify]``: train a run folder's config again into a new folder."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated

import typer

from optrun.cli.common import EXIT_NOT_REPRODUCED, JsonOption, OutOption, QuietOption, console, print_json, user_errors
from optrun.cli.train import run_and_show


@user_errors
def rerun(
    run_dir: Annotated[Path, typer.Argument(help="The run folder to run again.", show_default=False)],
    out: OutOption = Path("runs"),
    verify: Annotated[bool, typer.Option("--verify", help="Check the new trace equals the old one byte for byte (timing aside); exit 5 if not.")] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip drawing figures.")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Rerun RUN's resolved config.yaml into a fresh folder under --out; with --verify, say where
    the new trace first differs from the old one (and the versions of both runs)."""
    from optrun import rerun as rerun_lib

    result = run_and_show(
        lambda stop, progress: rerun_lib.rerun(run_dir, out=out, plots=not no_plots, stop=stop, progress=progress)[0],
        quiet=quiet, json_out=json_out and not verify,
    )
    if not verify:
        return
    check = rerun_lib.compare_traces(run_dir, result.run_dir)
    versions = [rerun_lib.versions_of(run_dir), result.summary.get("versions")]
    if json_out:
        print_json({"run_dir": str(result.run_dir), "reproduced": check.equal, "rows": check.rows,
                    "first_difference": check.first_difference, "versions": versions})
    con = console(quiet)
    if check.equal:
        con.print(f"[green]reproduced[/]: {check.rows} trace rows equal (time_s aside)")
        return
    d = check.first_difference
    where = d.get("what") or f"row {d['row']} (step {d['step']}), column {d['column']}: {d['original']} vs {d['rerun']}"
    con.print(f"[red]not reproduced[/]: first difference at {where}")
    con.print(f"versions: original {versions[0]}, rerun {versions[1]}")
    raise typer.Exit(EXIT_NOT_REPRODUCED)
