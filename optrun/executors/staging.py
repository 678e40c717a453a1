"""One payload, one run folder: train in a private staging folder, then move the folder in.

Every executor runs a payload the same way: ``work(payload, out, stop)`` trains into ``out``, an
empty hidden folder (``<into>/.staging/<pid>-<hex>/``), and the finished run folder is renamed
into ``<into>/`` under its own name. Readers of ``<into>`` (``optrun runs``, plots, resume) thus
only ever see complete run folders; a run killed halfway leaves nothing but a staging folder,
hidden from listings and removed by the next run that empties ``.staging``.

:func:`train_into` is the shared body of the callers' ``work`` functions: it calls the training
function it is given (``optrun.api.train``, looked up by the caller at call time, so this layer
never imports the API) and reads the folder back through :class:`optrun.rundir.RunFolder`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Callable

from optrun.errors import OptrunError

STAGING = ".staging"


def error_text(exc: BaseException) -> str:
    """``"ValueError: message"``, first line only, at most 500 characters (a CSV cell, a log line)."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:60] or "host"


def staging_dir(into: Path) -> Path:
    """A private, hidden folder to train in: ``<into>/.staging/<host>~<pid>-<hex>/``."""
    from optrun.errors import OptrunError

    stage = into / STAGING / f"{_host()}~{os.getpid()}-{secrets.token_hex(4)}"
    for _ in range(10):  # another process may remove the empty .staging root meanwhile
        try:
            stage.mkdir(parents=True)
            return stage
        except FileNotFoundError:
            continue
        except OSError as exc:  # read-only, immutable, full: a user's folder, not a bug
            raise OptrunError(f"{into}: cannot write the runs folder: {exc.strerror or exc}") from None
    stage.mkdir(parents=True)  # pragma: no cover
    return stage


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except (OverflowError, ValueError):
        return False
    return True


def clean_stale_staging(into: Path) -> list[Path]:
    """Remove the staging folders of runs killed halfway (``kill -9``, the OOM killer): those of
    this host whose process is gone. Another host's folders are left alone (its processes cannot
    be seen from here). Returns what was removed."""
    root = Path(into) / STAGING
    removed = []
    try:
        children = list(root.iterdir())
    except OSError:
        return removed
    host = _host()
    for child in children:
        owner, sep, rest = child.name.partition("~")
        pid_text = rest.split("-", 1)[0]
        if sep and owner == host and pid_text.isdigit() and not pid_alive(int(pid_text)):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    try:
        root.rmdir()
    except OSError:
        pass
    return removed


def remove_staging(stage: Path) -> None:
    """Remove a staging folder, and the ``.staging`` root when no other process uses it."""
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.parent.rmdir()
    except OSError:
        pass


def move_into(folder: Path, into: Path) -> Path:
    """Rename a finished run folder into ``into`` under its own name (a fresh suffix if that
    name is taken). The target is reserved with ``mkdir`` (atomic) and the folder renamed onto it
    (rename onto an empty folder is atomic on POSIX)."""
    name = folder.name
    for attempt in range(100):
        target = into / (name if attempt == 0 else f"{name.rsplit('-', 1)[0]}-{secrets.token_hex(3)}")
        try:
            target.mkdir()
        except FileExistsError:
            continue
        try:
            os.replace(folder, target)
        except OSError:
            target.rmdir()
            shutil.move(str(folder), str(target))  # pragma: no cover - other filesystem
        return target
    raise OptrunError(f"{into}: could not find a free run-folder name")  # pragma: no cover


def write_files(into: Path, folder_name: str, files: dict[str, bytes]) -> Path:
    """Write a run folder sent back as ``{relative path: bytes}`` (the Dask executor) under a
    staging folder, then rename it into ``into`` (atomic: readers see all files or none)."""
    stage = staging_dir(into)
    try:
        folder = stage / folder_name
        folder.mkdir()
        for rel, data in files.items():
            target = (folder / rel).resolve()
            if folder.resolve() not in target.parents:
                raise OptrunError(f"dask result: file name {rel!r} escapes the run folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return move_into(folder, into)
    finally:
        remove_staging(stage)


def public(outcome: dict, run_dir: Path | None) -> dict:
    """The outcome an executor yields: the work's dict with ``folder`` (and the bytes of a Dask
    result) replaced by ``run_dir``, the folder's final place (str), or None."""
    out = {k: v for k, v in outcome.items() if k not in ("folder", "files")}
    out["run_dir"] = str(run_dir) if run_dir is not None else None
    return out


def run_one(work: Callable, payload: dict, into: Path, stop=None) -> dict:
    """Run one payload in this process: ``work`` trains into a staging folder under ``into``,
    the run folder (if any) is moved into ``into``, the staging folder is removed."""
    into.mkdir(parents=True, exist_ok=True)
    stage = staging_dir(into)
    try:
        outcome = work(payload, stage, stop)
        run_dir = move_into(outcome["folder"], into) if outcome.get("folder") is not None else None
    finally:
        remove_staging(stage)
    return public(outcome, run_dir)


def train_into(train: Callable, payload: dict, out: Path, stop=None) -> dict:
    """Train one payload into ``out`` (an empty folder) with ``train`` (:func:`optrun.api.train`).

    The payload's optional ``note`` (text) and ``tags`` (names) go to ``train`` as they are: they
    are stored in the run's ``summary.json`` and never change its config or hash.

    Returns ``{index, status, stop_reason, final_loss, wall_time_s, config_hash, error, folder}``
    read from the folder ``train`` wrote. When ``train`` raised, ``error`` holds
    :func:`error_text`; if it raised before writing a folder (a data error found by ``prepare``)
    the status is ``failed`` and ``folder`` None. A stop requested before training began writes
    nothing: status ``not_run``. Any other KeyboardInterrupt (a second Ctrl-C) propagates.
    """
    error = None
    try:
        train(payload["config"], overrides=payload.get("overrides"), out=out, plots=payload.get("plots", False),
              name=payload["name"], stop=stop, plot_format=payload.get("plot_format", "png"),
              note=payload.get("note"), tags=payload.get("tags") or ())
    except Exception as exc:  # recorded in the outcome; the other runs go on
        error = error_text(exc)
    except KeyboardInterrupt as exc:
        # api.train raises Interrupted (run_dir None) when the stop came before training began
        if stop is not None and stop.requested and getattr(exc, "run_dir", None) is None:
            return {"index": payload["index"], "status": "not_run", "folder": None}
        raise
    return read_outcome(payload, out, error)


def read_outcome(payload: dict, out: Path, error: str | None = None) -> dict:
    """The outcome of the run folder in ``out`` (see :func:`train_into`)."""
    from optrun.rundir import RunFolder

    folder = next((p for p in sorted(out.iterdir()) if p.is_dir()), None)
    if folder is None:
        return {"index": payload["index"], "status": "failed", "stop_reason": error,
                "error": error or "no run folder was written", "folder": None}
    run = RunFolder(folder)
    summary = run.summary if run.readable else {"status": "failed"}
    return {"index": payload["index"], "status": summary.get("status", "failed"),
            "stop_reason": summary.get("stop_reason"), "final_loss": summary.get("final_loss"),
            "wall_time_s": summary.get("wall_time_s"), "config_hash": summary.get("config_hash"),
            "error": error or summary.get("error"), "folder": folder}
