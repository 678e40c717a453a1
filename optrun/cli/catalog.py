"""Catalog commands: ``optrun optimizers [NAME]`` and ``optrun datasets``."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

import inspect
from typing import Annotated, Optional

import typer

from optrun.cli.common import JsonOption, console, print_json, user_errors


def _default(value) -> str:
    return "required" if value is inspect.Parameter.empty else repr(value)


@user_errors
def optimizers(
    name: Annotated[Optional[str], typer.Argument(help="Show one optimizer with its update rule.", show_default=False)] = None,
    json_out: JsonOption = False,
):
    """List the optimizers with their hyperparameters and defaults (torch.optim names)."""
    from optrun import optim

    names = [optim.resolve_name(name)] if name else optim.names()
    specs = [optim.get_spec(n) for n in names]
    if json_out:
        print_json([{
            "name": s.name, "family": s.family, "aliases": list(s.aliases), "summary": s.summary,
            "hyperparameters": {p.name: p.default for p in s.params.values()},
        } for s in specs])
        return
    con = console()
    if name:
        spec = specs[0]
        aliases = f" (alias: {', '.join(spec.aliases)})" if spec.aliases else ""
        con.print(f"[bold]{spec.name}[/]{aliases} - family {spec.family}\n")
        con.print(inspect.cleandoc(spec.doc), markup=False)
        con.print("\n[bold]hyperparameters[/]")
        for p in spec.params.values():
            extra = f"  ({p.constraints})" if getattr(p, "constraints", "") else ""
            con.print(f"  {p.name} = {_default(p.default)}{extra}", markup=False)
        return
    from rich.table import Table

    table = Table(title="optimizers (optimizer.name)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("family")
    table.add_column("hyperparameters (defaults)")
    table.add_column("what it is")
    for s in specs:
        hp = ", ".join(f"{p.name}={_default(p.default)}" for p in s.params.values())
        label = s.name + (f" ({', '.join(s.aliases)})" if s.aliases else "")
        table.add_row(label, s.family, hp, s.summary)
    con.print(table)


@user_errors
def datasets(json_out: JsonOption = False):
    """List the built-in datasets and generators (dataset.name)."""
    from optrun import data

    rows = data.list_datasets()
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="datasets (dataset.name)", title_justify="left")
    for col in ("name", "task", "rows", "features", "target", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in ("name", "task", "rows", "features", "target", "source")))
    console().print(table)
