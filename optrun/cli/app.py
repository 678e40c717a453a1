"""The Typer application. Command modules are small and import heavy libraries lazily."""

from __future__ import annotations

import typer

from optrun import __version__
from optrun.cli import catalog, config_cmd, train

app = typer.Typer(
    name="optrun",
    help="Experiment runner for optimization: train linear/logistic regression with GD, SGD, "
    "momentum, Adam & co. and write traces and plots into run folders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        typer.echo(f"optrun {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
):
    """optrun: experiments in optimization, one YAML file at a time."""


app.command("train")(train.train)
app.command("config")(config_cmd.config)
app.command("optimizers")(catalog.optimizers)
app.command("datasets")(catalog.datasets)

for _module_name in ("plot", "compare", "sweep", "runs"):
    # commands added by later modules register themselves if present
    try:
        _module = __import__(f"optrun.cli.{_module_name}", fromlist=["register"])
    except ModuleNotFoundError as exc:
        if exc.name != f"optrun.cli.{_module_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    app()
