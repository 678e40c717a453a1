"""``optrun config CONFIG [KEY=VALUE ...]``: print the resolved config (or the JSON Schema)."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import fail, user_errors


@user_errors
def config(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment YAML file.", show_default=False)] = None,
    overrides: Annotated[Optional[list[str]], typer.Argument(help="KEY=VALUE overrides.", show_default=False)] = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON Schema of config files instead.")] = False,
):
    """Print the fully resolved config (every default filled in), as `optrun train` would run it."""
    from optrun import config as config_mod

    if schema:
        sys.stdout.write(json.dumps(config_mod.json_schema(), indent=2) + "\n")
        return
    if config is None:
        raise fail("missing CONFIG (or pass --schema)")
    sys.stdout.write(config_mod.dump(config_mod.load(config, overrides)))
