"""The one exception type for mistakes the user can fix (exit code 2)."""


class OptrunError(Exception):
    """A config, data, usage or path error.

    The message is one line that names the file, key or row and says what is expected.
    The CLI prints it as ``error: <message>`` and exits with code 2, without a traceback.
    """
