"""The Typer application: one explicit list of commands.

Adding a command is one module under ``optrun/cli/`` (a function with Typer annotations, wrapped
in :func:`optrun.cli.common.user_errors`) plus one line in :data:`COMMANDS`. Command modules
import only Typer and the CLI helpers at module level; everything heavy (NumPy, pandas, pydantic,
matplotlib, rich tables) is imported inside the command, so ``optrun --help`` stays fast.
"""

from __future__ import annotations

import typer

from optrun._version import __version__
from optrun.cli import catalog, compare, config_cmd, diff, mle, plot, report, rerun, runs, sweep, train, tune

#: (name, function) of every command, in the order ``optrun --help`` lists them
COMMANDS = (
    ("train", train.train),
    ("config", config_cmd.config),
    ("optimizers", catalog.optimizers),
    ("datasets", catalog.datasets),
    ("plot", plot.plot),
    ("compare", compare.compare),
    ("sweep", sweep.sweep),
    ("run-plan", sweep.run_plan),
    ("tune", tune.tune),
    ("runs", runs.runs),
    ("report", report.report),
    ("diff", diff.diff),
    ("rerun", rerun.rerun),
    ("mle", mle.mle),
)

app = typer.Typer(
    name="optrun",
    help="Experiment runner for optimization: train linear/logistic regression with GD, SGD, "
    "momentum, Adam & co. and write traces and plots into run folders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain (click-style) help and usage errors: Typer's rich formatting imports rich.markdown,
    # pygments and markdown-it and costs ~0.3 s per `--help` or usage error, twice the import of
    # Typer itself (docs/performance.md, target 1). Command output still uses rich.
    rich_markup_mode=None,
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


for _name, _command in COMMANDS:
    app.command(_name)(_command)


def _usage_error_line(self, file=None) -> None:
    """A usage error (an unknown option, a missing argument, a bad value) as one line, like every
    other bad input: ``error: No such option: -s (see 'optrun sweep --help')``, exit 2. Click's
    own form is three lines (the usage, a hint, the error)."""
    import sys

    where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
    (file or sys.stderr).write(f"error: {self.format_message()}{where}\n")


def _one_line_usage_errors() -> None:
    try:  # Typer >= 0.24 vendors Click as typer._click; earlier ones use Click itself
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older Typer
        from click import exceptions
    exceptions.UsageError.show = _usage_error_line


_one_line_usage_errors()


def main() -> None:
    """The console script. Commands map their own errors to exit codes (cli/common.py); this is
    the last net for a bug outside any command: one ``internal error`` line, exit 1, never a
    bare traceback (``OPTRUN_DEBUG=1`` shows it). Typer turns Ctrl-C outside a run into 130."""
    import os
    import sys

    from optrun.cli.common import Signals, internal_error

    try:
        app()
    except SystemExit as exc:
        # The command is done and its files are written. The interpreter's last garbage
        # collection at exit would walk every object the command ever made (NumPy, pandas,
        # matplotlib's artists and docstrings): 0.02-0.17 s of CPU for nothing, as all is freed
        # with the process. Frozen objects are left out of that walk; atexit handlers and
        # reference-count finalization still run (docs/performance.md, "Start-up").
        import gc

        gc.freeze()
        if Signals.stopped_at_once:
            # "a second Ctrl-C exits at once": the summary and the message are written; skip the
            # interpreter's finalization, where a KeyboardInterrupt left half-way through an
            # import (e.g. matplotlib's) made the process die by SIGINT (-2) instead of 130
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.code if isinstance(exc.code, int) else 1)
        raise
    except KeyboardInterrupt:
        # a Ctrl-C that escapes every command (e.g. one landing between the command's own
        # handling and the exit): still exit 130 with a line, never die by the signal
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("OPTRUN_DEBUG"):
            raise
        sys.exit(internal_error(exc).exit_code)
