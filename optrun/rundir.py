"""Run folders: unique atomic creation, atomic file writes, reading a folder back.

A run folder is ``<out>/<YYYYmmdd-HHMMSS>-<slug>-<6 hex>/``. It is created with ``os.mkdir``
(atomic: it fails if the name exists), so concurrent ``optrun train`` processes writing into one
``--out`` never share a folder, and a folder is never reused. ``config.yaml`` and
``summary.json`` are written to a temporary file and renamed into place, so a reader never sees
half of one. ``trace.csv`` is appended in whole lines; :func:`read_trace` ignores a last line cut
off by a kill (or a full disk), and :func:`truncate_partial_line` removes it after a failure.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from optrun.errors import OptrunError


def slugify(text: str, max_len: int = 40) -> str:
    """A safe folder-name fragment: lowercase letters, digits, ``-``, ``_`` and ``.`` only.

    Path separators and ``..`` can never survive, so a run name can never escape ``--out``.
    """
    slug = re.sub(r"[^a-z0-9_.]+", "-", text.lower())
    slug = re.sub(r"\.{2,}", ".", slug).strip("-._")
    return slug[:max_len].strip("-._") or "run"


def create_run_dir(out: str | Path, slug: str) -> Path:
    """Create and return a fresh, unique run folder under ``out``."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OptrunError(f"--out {out}: exists and is not a folder") from None
    except OSError as exc:
        raise OptrunError(f"--out {out}: cannot create the output folder: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL byte
        raise OptrunError(f"--out {out!r}: not a valid folder name ({exc})") from None
    if not out.is_dir():
        raise OptrunError(f"--out {out}: exists and is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise OptrunError(f"--out {out}: the output folder is not writable")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = out / f"{stamp}-{slugify(slug)}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise OptrunError(f"--out {out}: cannot create a run folder: {exc.strerror or exc}") from None
        return path
    raise OptrunError(f"--out {out}: could not find a free run-folder name")  # pragma: no cover


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# read once at import: os.umask can only be read by setting it, which is not thread-safe
_UMASK = _read_umask()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the mode an ordinary open() would (0666 & ~umask),
        # so teammates on a shared cluster can read config.yaml and summary.json like trace.csv
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def json_safe(value: Any) -> Any:
    """Plain-JSON version of a value: NumPy scalars/arrays to Python, NaN/inf to None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def read_summary(run_dir: Path) -> dict:
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise OptrunError(f"{run_dir}: not a run folder (no summary.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OptrunError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None


#: errno values that mean "the run folder cannot be written" (the user's environment, not a bug).
WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EIO", "ENOENT", "ENOTDIR")
    if hasattr(errno, name)
)


def is_write_error(exc: BaseException) -> bool:
    """True for an OSError that says the disk/folder cannot take more (full, quota, read-only...)."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def truncate_partial_line(path: Path) -> None:
    """Cut a text file after its last newline (drop a line a failed write left half-written).

    Truncating needs no free space, so this works on a full disk too. Best effort: never raises.
    """
    try:
        with open(path, "r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            pos = size
            block = 1 << 16
            while pos > 0:
                start = max(0, pos - block)
                fh.seek(start)
                chunk = fh.read(pos - start)
                k = chunk.rfind(b"\n")
                if k >= 0:
                    end = start + k + 1
                    if end != size:
                        fh.truncate(end)
                    return
                pos = start
            fh.truncate(0)
    except OSError:
        pass


def read_trace(run_dir: Path):
    """``trace.csv`` as a DataFrame, up to its last complete row.

    A run killed hard (``kill -9``, power loss) or stopped by a full disk may leave the last line
    cut off; that line is ignored rather than read as a row of wrong numbers.
    """
    import pandas as pd

    path = Path(run_dir) / "trace.csv"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise OptrunError(f"{run_dir}: no trace.csv") from None
    except OSError as exc:
        raise OptrunError(f"{path}: cannot read ({exc.strerror or exc})") from None
    end = data.rfind(b"\n")
    data = data[: end + 1] if end >= 0 else b""
    if not data:
        raise OptrunError(f"{path}: empty (the run stopped before writing its header)")
    return pd.read_csv(io.BytesIO(data))
