"""Opening the user's files without trusting them: regular files only, never blocking, bounded.

A config, a CSV or a run folder's ``summary.json`` may turn out to be a FIFO (``mkfifo``: an
ordinary ``open`` blocks until a writer appears, for ever), a device (``/dev/zero``: reading
never ends), a directory or a symlink loop. Every reader of the user's files opens them here:

1. ``os.stat`` first (it follows symlinks; a loop is ``ELOOP``): anything but a regular file
   is refused with one line that says what it is;
2. then ``open`` with ``O_NONBLOCK`` (should the path be swapped for a FIFO between the stat and
   the open, the open still returns at once) and ``fstat`` of what was opened, checked again;
3. reads are capped (``limit`` bytes): a config of a gigabyte is refused, not read.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from optrun.errors import OptrunError

#: the largest config / summary / sweep file read (a resolved config is a few kB)
MAX_TEXT_BYTES = 16 << 20


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _stat_problem(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "not found"
    if exc.errno == errno.ELOOP:
        return "a symlink loop (too many levels of symbolic links)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    return f"cannot read ({exc.strerror or exc})"


def check_regular(path: str | Path, what: str = "file") -> os.stat_result:
    """``os.stat(path)`` of a regular file; else OptrunError ``PATH: is a FIFO ..., expected a WHAT``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise OptrunError(f"{path}: {what} not found") from None
        raise OptrunError(f"{path}: {_stat_problem(exc)}; expected a {what}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise OptrunError(f"{path!r}: not a valid file name ({exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise OptrunError(f"{path}: is {kind_of(st.st_mode)}, expected a {what}")
    return st


def open_regular(path: str | Path, what: str = "file") -> io.BufferedReader:
    """Open a regular file for reading in binary, never blocking (see the module docstring)."""
    check_regular(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OptrunError(f"{path}: {_stat_problem(exc)}; expected a {what}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OptrunError(f"{path}: is {kind_of(st.st_mode)}, expected a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: reads are ordinary reads
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, what: str = "file", limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (OptrunError otherwise)."""
    with open_regular(path, what) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise OptrunError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise OptrunError(f"{path}: larger than {limit >> 20} MB; not a {what} (not read)")
    return data


def read_text(path: str | Path, what: str = "file", limit: int = MAX_TEXT_BYTES, encoding: str = "utf-8-sig") -> str:
    """:func:`read_bytes` decoded (UTF-8, a byte-order mark dropped); a bad byte is an OptrunError."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise OptrunError(f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None
