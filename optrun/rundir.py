"""Run folders: unique atomic creation, atomic file writes, reading a folder back.

A run folder is ``<out>/<YYYYmmdd-HHMMSS>-<slug>-<6 hex>/``. It is created with ``os.mkdir``
(atomic: it fails if the name exists), so concurrent ``optrun train`` processes writing into one
``--out`` never share a folder, and a folder is never reused. ``config.yaml`` and
``summary.json`` are written to a temporary file and renamed into place, so a reader never sees
half of one.
"""

from __future__ import annotations

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
    except OSError as exc:
        raise OptrunError(f"--out {out}: cannot create the output folder: {exc.strerror}") from None
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
            raise OptrunError(f"--out {out}: cannot create a run folder: {exc.strerror}") from None
        return path
    raise OptrunError(f"--out {out}: could not find a free run-folder name")  # pragma: no cover


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
