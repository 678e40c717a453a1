"""The stop flag shared by the engine, the executors and the CLI's signal handlers (level 0)."""

from __future__ import annotations


class StopFlag:
    """Set by a signal handler (or a test) to stop after the current step."""

    def __init__(self) -> None:
        self.requested = False
        self.reason = ""

    def request(self, reason: str = "interrupted") -> None:
        self.requested = True
        self.reason = reason
