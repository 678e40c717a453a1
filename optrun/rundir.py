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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from optrun.errors import OptrunError


def slugify(text: str, max_len: int = 40) -> str:
    """A safe folder-name fragment: lowercase letters, digits, ``-``, ``_`` and ``.`` only.

    Path separators and ``..`` can never survive, so a run name can never escape ``--out``.
    """
    # an exponent keeps its sign: 1e+20 -> 1e20, 1e-20 stays (else both would become 1e-20)
    text = re.sub(r"(?<=[0-9])([eE])\+(?=[0-9])", r"\1", text)
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


@contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[str]:
    """A temporary file beside ``path`` to write to, renamed onto ``path`` when the block ends and
    removed when it raises: a reader sees the old file or the new one, never half of one (a
    Ctrl-C or a full disk mid-write). ``mode``: its permissions; by default the ones an ordinary
    open() gives (0666 & ~umask; mkstemp creates 0600), so teammates on a shared cluster can read
    config.yaml and summary.json like trace.csv."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.fchmod(fd, 0o666 & ~_UMASK if mode is None else mode)
        finally:
            os.close(fd)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path, text: str, *, sync: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file, synced, and a rename (:func:`atomic_path`).

    ``sync=False`` skips the fsync (1-3 ms on ext4): readers still see the old text or the new,
    never a part, but after a power loss the file may hold either (or, on some file systems,
    nothing). For files that only save work, such as a sweep's claim markers."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


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


def json_text(data: dict) -> str:
    """The text of a run folder's JSON file (``summary.json``): :func:`json_safe`, indented."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json_text(data))


def write_private_text(path: Path, text: str) -> None:
    """Write a text file of a folder nobody reads yet (a sweep's private staging folder): no
    temporary file and no fsync; the caller makes the folder durable with :func:`sync_all` and
    renames it into place, so a reader sees it complete, as with :func:`atomic_write_text`."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def sync_all(paths) -> None:
    """Flush written files to disk before their folders are renamed into place: one
    ``os.sync()`` where the OS has it (an fsync costs ~1-3 ms per file on ext4, more than a
    small run's training), else an fsync per file of ``paths``."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in paths:  # pragma: no cover - Windows
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())


_SUMMARY_FIELDS = ("name", "status", "stop_reason", "steps", "epochs", "final_loss", "f_star",
                   "suboptimality", "r2", "accuracy", "val_loss", "wall_time_s", "error")


def summary_fields(summary: dict) -> dict:
    """The scalar results of a summary that listings and ``summary.csv`` show."""
    return {k: summary.get(k) for k in _SUMMARY_FIELDS}


def read_summary(run_dir: Path) -> dict:
    """``summary.json`` of a run folder, checked (see :class:`RunFolder`); OptrunError if damaged."""
    if not os.path.lexists(Path(run_dir) / "summary.json"):
        raise OptrunError(f"{run_dir}: not a run folder (no summary.json)")
    data, problem = _read_summary_lenient(Path(run_dir))
    if problem is not None:
        raise OptrunError(f"{run_dir}: {problem}")
    return data


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

    from optrun.data.files import read_bytes

    path = Path(run_dir) / "trace.csv"
    if not os.path.lexists(path):
        raise OptrunError(f"{run_dir}: no trace.csv")
    data = read_bytes(path, "trace file", MAX_TRACE_BYTES)
    end = data.rfind(b"\n")
    data = data[: end + 1] if end >= 0 else b""
    if not data:
        raise OptrunError(f"{path}: empty (the run stopped before writing its header)")
    return pd.read_csv(io.BytesIO(data))


# --------------------------------------------------------------------------------------------
# Reading run folders back: the one reader, the one scanner, the one failure record


#: the largest summary.json read (a real one is a few kB; a 2000-feature run's is ~200 kB)
MAX_SUMMARY_BYTES = 8 << 20
#: the largest trace.csv read (10^5 rows of 2000 parameters is ~4 GB: such a run logs less)
MAX_TRACE_BYTES = 2 << 30

#: the fields readers use, and the JSON types they must have when present (None is always fine)
_FIELD_TYPES = {"status": (str,), "stop_reason": (str,), "name": (str,), "error": (str,),
                "config_hash": (str,), "steps": (int,), "epochs": (int, float),
                "final_loss": (int, float), "f_star": (int, float), "suboptimality": (int, float),
                "r2": (int, float), "accuracy": (int, float), "val_loss": (int, float),
                "wall_time_s": (int, float), "params": (dict,), "diagnostics": (dict,)}


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def check_json_text(text: str, name: str) -> Any:
    """``json.loads(text)``; every way it fails (absurd nesting, a 10^5-digit integer) is an
    OptrunError naming ``name``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptrunError(f"{name}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise OptrunError(f"{name}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of 10^5 digits
        raise OptrunError(f"{name}: invalid JSON ({str(exc)[:80]})") from None


def _read_summary_lenient(path: Path) -> tuple[dict, str | None]:
    """(summary, problem): a damaged ``summary.json`` gives ``{"status": "unreadable"}`` and the
    reason, never an exception. Damaged means: missing, not a regular file (a FIFO never
    blocks), over :data:`MAX_SUMMARY_BYTES`, not UTF-8, not JSON, nested absurdly deep, not an
    object, or a field readers use of the wrong type (``"final_loss": "abc"``)."""
    from optrun.data.files import read_bytes

    file = path / "summary.json"
    if not os.path.lexists(file):
        return {"status": "unreadable"}, "no summary.json"
    try:
        raw = read_bytes(file, "summary file", MAX_SUMMARY_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"status": "unreadable"}, "summary.json is not UTF-8 text"
        data = check_json_text(text, "summary.json")
    except OptrunError as exc:
        return {"status": "unreadable"}, str(exc).replace(str(file), "summary.json")
    if not isinstance(data, dict):
        return {"status": "unreadable"}, f"summary.json: expected a JSON object, got {_json_type(data)}"
    for key, types in _FIELD_TYPES.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return {"status": "unreadable"}, f"summary.json: {key!r} is {_json_type(value)}, not what a summary holds"
    return data, None


class RunFolder:
    """One run folder read back, the only reader of the run-folder contract (DESIGN.md §6).

    One rule for a damaged folder: reading never raises for a damaged ``summary.json`` or
    ``config.yaml``. ``summary`` is then ``{"status": "unreadable"}`` and ``summary_problem`` says
    why; ``config`` is ``{}`` and ``config_problem`` holds the strict loader's message. A listing
    shows such a folder as ``unreadable`` and goes on; a command given one damaged folder calls
    :meth:`require` and exits 2 with the reason. ``config`` and ``trace`` are read lazily, on
    first use (``trace`` up to its last complete row): a listing or a sweep's ``summary.csv`` needs
    the summary only, and parsing ``config.yaml`` with the strict loader costs ~5 ms a folder.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.summary, self.summary_problem = _read_summary_lenient(self.path)
        self._config: dict | None = None
        self._config_problem: str | None = None
        self._trace = None

    def _read_config(self) -> None:
        from optrun.config import read_config_file  # the strict YAML reader (no tags, no duplicates)

        try:
            self._config = read_config_file(self.path / "config.yaml")
        except OptrunError as exc:
            self._config, self._config_problem = {}, str(exc)

    @property
    def config(self) -> dict:
        """The resolved ``config.yaml`` (read once, on first use); ``{}`` when it is damaged."""
        if self._config is None:
            self._read_config()
        return self._config

    @property
    def config_problem(self) -> str | None:
        """Why ``config.yaml`` cannot be read (the strict loader's message), or None."""
        if self._config is None:
            self._read_config()
        return self._config_problem

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    @property
    def readable(self) -> bool:
        return self.summary_problem is None

    def require(self) -> "RunFolder":
        """Raise OptrunError (exit 2) when the summary cannot be read; else return self."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise OptrunError(f"{self.path}: not a run folder ({exc.strerror or exc})") from None
        import stat as stat_mod

        if not stat_mod.S_ISDIR(st.st_mode):
            raise OptrunError(f"{self.path}: not a folder")
        if self.summary_problem == "no summary.json":
            raise OptrunError(f"{self.path}: not a run folder (no summary.json)")
        if self.summary_problem is not None:
            raise OptrunError(f"{self.path}: {self.summary_problem}")
        return self

    @property
    def trace(self):
        """``trace.csv`` as a DataFrame (read once, on first use)."""
        if self._trace is None:
            self._trace = read_trace(self.path)
        return self._trace

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, status={self.status!r})"


def is_run_folder(path: Path) -> bool:
    """A folder with a ``summary.json`` entry of any kind: one that is a FIFO or a dangling link
    still makes a run folder, which :class:`RunFolder` then reads as ``unreadable`` (with why)."""
    return os.path.lexists(Path(path) / "summary.json")


def find_run_folders(root: str | Path, recursive: bool = True) -> list[Path]:
    """Every run folder (a folder with ``summary.json``) under ``root``, sorted.

    ``root`` itself counts when it is a run folder. Hidden folders (names starting with ``.``:
    staging and temporary folders) are skipped. ``recursive=False`` looks one level down only.
    """
    root = Path(root)
    if not root.exists():
        raise OptrunError(f"{root}: folder not found")
    if not root.is_dir():
        raise OptrunError(f"{root}: not a folder")
    if not recursive:
        found = [root] if is_run_folder(root) else []
        found += [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_run_folder(p)]
        return sorted(found)
    found = []
    for path in root.rglob("summary.json"):
        rel = path.parent.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        found.append(path.parent)
    return sorted(found)


def status_summary(status: str, reason: str, ident: dict, last: dict | None = None,
                   error: str | None = None, **extra: Any) -> dict:
    """The summary of a run that did not finish normally (failed, interrupted, pending...).

    ``ident`` names the run (name, config_hash, seed), ``last`` what the trace holds (steps,
    final_loss, trace_rows); ``error`` the exception text of a failure. Every writer of such a
    summary (the API, the sweep executors) builds it here, so they never disagree on its keys.
    """
    summary = {"status": status, "stop_reason": reason}
    if error is not None:
        summary["error"] = error
    summary.update(ident)
    summary.update(last or {})
    summary.update(extra)
    summary.setdefault("versions", versions())
    return summary


def versions() -> dict:
    """The versions a summary records (optrun, numpy, python)."""
    import platform

    import numpy as np

    from optrun._version import __version__

    return {"optrun": __version__, "numpy": np.__version__, "python": platform.python_version()}


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Write ``rows`` (dicts) as a CSV with ``columns``, atomically; cells by :func:`csv_cell`."""
    atomic_write_text(Path(path), csv_text(rows, columns))


def csv_text(rows: list[dict], columns: list[str]) -> str:
    """The CSV text of ``rows`` with ``columns`` (the one CSV rule: :func:`optrun._text.csv_cell`)."""
    import csv

    from optrun._text import csv_cell

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([csv_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def read_json_mapping(path: Path, limit: int = 8 << 20) -> dict:
    """A small JSON object file read the way every reader of a folder reads (``comparison.json``,
    ``tune.json``): regular files only, bounded, any damage an OptrunError naming the file."""
    from optrun.data.files import read_bytes

    data = read_bytes(path, "JSON file", limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OptrunError(f"{path}: not UTF-8 text") from None
    value = check_json_text(text, str(path))
    if not isinstance(value, dict):
        raise OptrunError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value
