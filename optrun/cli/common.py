"""Shared CLI plumbing: the stderr console, error -> exit-code mapping, signal handling.

Exit codes (DESIGN.md §7): 0 ok (a diverged run is a result); 1 internal error; 2 usage, config
or data error; 3 diverged with ``--strict``; 4 some runs of a sweep/compare failed;
130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import functools
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Callable

import typer

from optrun.errors import OptrunError

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DIVERGED, EXIT_SOME_FAILED = 0, 1, 2, 3, 4
EXIT_SIGINT, EXIT_SIGTERM = 130, 143

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output root folder.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No human output on stderr.")]


def console(quiet: bool = False):
    """A rich console on stderr (stdout is reserved for --json)."""
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` as one line on stderr and return the Exit to raise."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def user_errors(func: Callable) -> Callable:
    """Turn an OptrunError into one line on stderr and exit code 2, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OptrunError as exc:
            raise fail(str(exc)) from None

    return wrapper


def print_json(data) -> None:
    from optrun.rundir import json_safe

    sys.stdout.write(json.dumps(json_safe(data), allow_nan=False) + "\n")
    sys.stdout.flush()


class Signals:
    """Context manager: the first SIGINT/SIGTERM asks the run to stop after the current step;
    a second SIGINT raises KeyboardInterrupt at once."""

    def __init__(self, stop):
        self.stop = stop
        self.signum: int | None = None
        self._old: dict = {}

    def _handler(self, signum, frame):
        if self.stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.stop.request("interrupted (SIGINT)" if signum == signal.SIGINT else "terminated (SIGTERM)")

    def __enter__(self):
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
