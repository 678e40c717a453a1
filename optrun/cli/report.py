"""``optrun report DIR``: one self-contained HTML page for a run, comparison or sweep folder."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, QuietOption, print_json, user_errors


@user_errors
def report(
    folder: Annotated[Path, typer.Argument(help="A run, comparison or sweep folder.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the page here instead of DIR/report.html.", show_default=False)] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Write DIR/report.html: figures, the result or ranking table (sortable, filterable), the
    resolved config, the diagnostics and the reference optimum, in one file that opens offline."""
    from optrun.report import write_report

    path = write_report(folder, out)
    if json_out:
        print_json({"report": str(path)})
    elif not quiet:
        print(path)  # stdout, so `xdg-open "$(optrun report DIR)"` works

