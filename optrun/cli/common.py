"""Shared CLI plumbing: the stderr console, status colours, choice checks, error -> exit-code
mapping, signal handling, JSON on stdout.

Exit codes (docs/reliability.md): 0 ok (a diverged run is a result); 1 internal error; 2 usage, config
or data error; 3 diverged with ``--strict``; 4 some runs of a sweep/compare failed;
130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional, Callable

import typer

from optrun.errors import OptrunError

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DIVERGED, EXIT_SOME_FAILED = 0, 1, 2, 3, 4
EXIT_NOT_REPRODUCED = 5  # `optrun rerun --verify`: the new trace differs from the original
EXIT_SIGINT, EXIT_SIGTERM = 130, 143

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output root folder.")]
NoteOption = Annotated[Optional[str], typer.Option("--note", help="A note stored with the run(s) (summary.json; `optrun runs --note-contains`).", show_default=False)]
TagOption = Annotated[Optional[list[str]], typer.Option("--tag", help="A tag stored with the run(s); repeatable (`optrun runs --tag`).", show_default=False)]
ReportOption = Annotated[bool, typer.Option("--report", help="Also write report.html (one self-contained page) into the folder.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No human output on stderr.")]


#: The one colour of each run status, in every table, tally and progress line. ``diverged`` is
#: a result (exit 0), not a failure: yellow like ``interrupted``; red is for ``failed``.
STATUS_STYLE = {"completed": "green", "converged": "green", "diverged": "yellow", "interrupted": "yellow",
                "failed": "red", "unreadable": "red", "running": "cyan", "pending": "dim"}

# The choices of the options several commands share (checked by check_choice)
# the library owns the choice lists (plots.choices: plain constants)
from optrun.plots.choices import FORMATS as FIGURE_FORMATS  # noqa: E402,F401
from optrun.plots.choices import PROJECTIONS  # noqa: E402,F401
from optrun.plots.choices import X_COLUMNS as X_AXES  # noqa: E402,F401


def styled(status: str, text: str | None = None) -> str:
    """``text`` (default: the status) in rich markup with the status's colour."""
    text = status if text is None else text
    style = STATUS_STYLE.get(status)
    return f"[{style}]{text}[/]" if style else text


def or_list(choices) -> str:
    """``a, b or c``."""
    choices = [str(c) for c in choices]
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def check_choice(value, choices, what: str, *, usage: bool = False, expected: str | None = None,
                 echo: bool = False):
    """Return ``value`` if it is one of ``choices`` (None, an option not given, always passes).

    Else exit 2 with one of the two wordings the commands have always used: ``error: --format:
    expected png or svg, got 'jpg'`` (one line), or with ``usage=True`` click's usage error
    ``Invalid value for --format: expected png or svg`` (``echo`` puts the value first, for a
    repeatable option). ``expected`` replaces the ``a, b or c`` listing.
    """
    if value is None or value in choices:
        return value
    expected = expected or or_list(choices)
    if usage:
        raise typer.BadParameter(f"{value!r}: expected {expected}" if echo else f"expected {expected}",
                                 param_hint=what)
    raise fail(f"{what}: expected {expected}, got {value!r}")


def console(quiet: bool = False):
    """A rich console on stderr (stdout is reserved for --json)."""
    import os
    import sys

    from rich.console import Console

    # not a terminal (a log file, CI, a pipe): rich would cut tables to 80 columns, and two
    # settings such as `method=p…` could no longer be told apart; COLUMNS still wins
    width = None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160
    return Console(stderr=True, quiet=quiet, highlight=False, width=width)


#: API arguments and the flag that sets each on the command line: the library words its errors
#: for a Python caller (``runs: cannot write ...``, ``OptrunError.key == "out"``) and the CLI
#: names the flag its user typed (``--out runs: cannot write ...``)
FLAGS = {"out": "--out"}


def cli_message(exc: OptrunError) -> str:
    """The text of an OptrunError as the CLI prints it: prefixed with the flag behind its key."""
    message = str(exc)
    flag = FLAGS.get(exc.key or "")
    return f"{flag} {message}" if flag and not message.startswith(flag) else message


def fail(message: str, code: int = EXIT_USAGE, prefix: str = "error") -> typer.Exit:
    """Print ``error: message`` as one line on stderr and return the Exit to raise."""
    line = " ".join(str(message).split())  # one line, whatever the message holds
    sys.stderr.write(f"{prefix}: {line}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def _location(exc: BaseException) -> str:
    """``optrun/engine.py:123 in run``: the innermost frame inside optrun (else the innermost)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown location"
    ours = [f for f in frames if f"{os.sep}optrun{os.sep}" in f.filename]
    f = (ours or frames)[-1]
    path = f.filename
    cut = path.rfind(f"{os.sep}optrun{os.sep}")
    if cut >= 0:
        path = path[cut + 1:]
    return f"{path}:{f.lineno} in {f.name}"


def internal_error(exc: BaseException) -> typer.Exit:
    """A bug: one line with the exception and where it happened, exit 1.

    ``OPTRUN_DEBUG=1`` shows the full traceback instead (re-raise). A failed run also keeps the
    traceback in its folder (``error.txt``).
    """
    run_dir = getattr(exc, "run_dir", None)
    where = f"traceback in {Path(run_dir) / 'error.txt'}" if run_dir else "set OPTRUN_DEBUG=1 for the traceback"
    return fail(
        f"{type(exc).__name__}: {exc} (at {_location(exc)}); this is a bug in optrun, please report it; {where}",
        EXIT_BUG, prefix="internal error",
    )


def user_errors(func: Callable) -> Callable:
    """Map what a command raises to one line on stderr and an exit code, without a traceback.

    OptrunError (the user's to fix) -> ``error: ...``, exit 2. KeyboardInterrupt -> exit 130.
    Any other exception is a bug -> ``internal error: ...``, exit 1 (``OPTRUN_DEBUG=1`` lets it
    through with its traceback). Typer/click's own exits and usage errors pass through.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OptrunError as exc:
            raise fail(cli_message(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt as exc:
            message = getattr(exc, "message", None) or "stopped (Ctrl-C)"
            raise fail(message, EXIT_SIGINT, prefix="interrupted") from None
        except Exception as exc:
            if os.environ.get("OPTRUN_DEBUG") or _from_cli_framework(exc):
                raise
            raise internal_error(exc) from None

    return wrapper


def _from_cli_framework(exc: BaseException) -> bool:
    """Typer's/click's own exceptions (exits, usage errors): theirs to report, not bugs."""
    return any(c.__module__.split(".")[0] in ("typer", "click") for c in type(exc).__mro__)


def print_json(data) -> None:
    from optrun.rundir import json_safe

    sys.stdout.write(json.dumps(json_safe(data), allow_nan=False) + "\n")
    sys.stdout.flush()


class Signals:
    """Context manager for SIGINT (Ctrl-C) and SIGTERM during a run.

    The first signal asks the run to stop after the current step (``stop.request``): the trace
    is flushed, the summary says ``interrupted``, plots are drawn. A second signal raises
    KeyboardInterrupt at once (the API then writes an ``interrupted`` summary and re-raises);
    a third, while that cleanup runs, ends the process immediately with the same exit code.
    ``exit_code`` is 130 for SIGINT and 143 for SIGTERM (128 + signal number, as shells do).
    """

    # set by a second signal: the console script then skips interpreter finalization (see main)
    stopped_at_once = False

    def __init__(self, stop):
        self.stop = stop
        self.signum: int | None = None
        self.count = 0
        self._old: dict = {}

    def _handler(self, signum, frame):
        self.count += 1
        if self.signum is None:
            self.signum = signum
        if self.count == 1:
            self.stop.request("interrupted (SIGINT)" if signum == signal.SIGINT else "terminated (SIGTERM)")
            return
        if self.count == 2:
            Signals.stopped_at_once = True
            raise KeyboardInterrupt
        os._exit(self.exit_code)  # the user insists: no more cleanup

    def __enter__(self):
        Signals.stopped_at_once = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread (e.g. inside a test runner thread)
                pass
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT
