"""The one exception type for mistakes the user can fix (exit code 2)."""

from __future__ import annotations


class OptrunError(Exception):
    """A config, data, usage or path error.

    The message is one line that names the file, key or row and says what is expected.
    The CLI prints it as ``error: <message>`` and exits with code 2, without a traceback.
    ``key`` optionally names the dotted config key the error is about (``optimizer.lr``), so a
    caller can locate the error (in a file or an override) without parsing the message.
    """

    def __init__(self, message: str = "", *, key: str | None = None):
        super().__init__(message)
        self.key = key
