"""Exactly once: a claim file per planned run, so concurrent sweeps and array tasks never run one
entry twice.

Before an entry trains, its process creates ``runs/.claims/<config_hash>`` with
``O_CREAT | O_EXCL`` (atomic: of two processes, exactly one succeeds), holding
``{"pid", "host", "started"}``. The claim is

* kept, rewritten as ``{"done": <run folder name>}``, when the run finished with a result
  (completed, converged, diverged): a second process finds it and skips the entry (also in the
  moment before the folder is renamed from its staging area into ``runs/``);
* removed when the run failed or was interrupted, so a resume runs it again;
* *stale* when its process is gone: same host and no process with that pid (``kill -9``, the
  OOM killer), or a ``done`` claim whose run folder is missing (neither in ``runs/`` nor on its
  way there). A stale claim is taken over; the takeover itself is serialised by a second
  ``O_EXCL`` file (``<hash>.takeover``), so two processes that find the same stale claim cannot
  both take it.

A claim of another host is never taken over (its processes cannot be seen from here).
"""

from __future__ import annotations

import glob
import json
import os
import socket
import time
from pathlib import Path

CLAIMS = ".claims"
#: a takeover lock older than this was left by a process killed during the takeover (seconds)
TAKEOVER_STALE_S = 30.0


def _read(path: Path) -> dict | None:
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(4096).decode("utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return {}  # damaged: treated as stale below only if old


def _create(path: Path, content: dict) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        json.dump(content, fh)
    return True


def _alive(claim: dict) -> bool:
    from optrun.executors import pid_alive

    if claim.get("host") != socket.gethostname():
        return True  # cannot tell: assume it runs
    pid = claim.get("pid")
    return isinstance(pid, int) and pid_alive(pid)


def _still_done(folder: Path) -> bool:
    """The run folder a ``done`` claim names still holds a result (it may have been removed)."""
    from optrun.rundir import RunFolder

    if not folder.is_dir():
        return False
    return RunFolder(folder).status in ("completed", "converged", "diverged")


def _done_reason(claim: dict, runs_dir: Path) -> str | None:
    """Why a ``done`` marker still stands, or None when it is stale (its folder is gone).

    The marker is written just before the executor renames the run folder from its staging
    area (``runs/.staging/<host>~<pid>-<hex>/<name>``) into ``runs/``; a look at ``runs/`` alone
    would take a run in that moment for a lost one and run it again. So: ``runs/`` first, then
    staging (on its way: ``finishing``), then ``runs/`` again (it arrived between the looks)."""
    from optrun.executors import STAGING

    name = str(claim["done"])
    if _still_done(runs_dir / name):
        return f"already done: {name}"
    try:
        in_transit = any(p.is_dir() for p in (runs_dir / STAGING).glob(f"*/{glob.escape(name)}"))
    except (OSError, ValueError):
        in_transit = False
    if in_transit:
        return f"finishing: {name}"
    if _still_done(runs_dir / name):
        return f"already done: {name}"
    return None


class Claim:
    """A held claim: :meth:`done` keeps it as a result marker, :meth:`release` removes it."""

    def __init__(self, path: Path):
        self.path = path

    def done(self, folder_name: str) -> None:
        """Keep the claim as a result marker (the folder may still be in its staging area: the
        executor renames it into ``runs/`` next; see :func:`_done_reason`)."""
        from optrun.rundir import atomic_write_text

        try:
            # not synced: the run folder is the truth and the marker only saves a scan, so it
            # does not need an fsync per run (up to a few ms on a busy disk). A marker lost to a
            # power cut leaves the running claim (taken over once its pid is gone on this host)
            # or an empty file (taken over after TAKEOVER_STALE_S); either way a run whose folder
            # reached runs/ is not run again, since the plan is made from the folders first.
            atomic_write_text(self.path, json.dumps({"done": folder_name}), sync=False)
        except OSError:
            pass

    def release(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


def acquire(claims_dir: str | Path, config_hash: str, runs_dir: str | Path, force: bool = False) -> Claim | str:
    """Claim ``config_hash``; returns the :class:`Claim`, or why it cannot be claimed (a str:
    ``"running in pid P on HOST"`` or ``"already done: <folder>"``)."""
    claims_dir = Path(claims_dir)
    claims_dir.mkdir(parents=True, exist_ok=True)
    path = claims_dir / config_hash
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for _ in range(5):
        if _create(path, mine):
            return Claim(path)
        claim = _read(path)
        if claim is None:
            continue  # released meanwhile: try again
        if "done" in claim:
            why = _done_reason(claim, Path(runs_dir))
            if why is not None and (not force or why.startswith("finishing")):  # --force: never one in flight
                return why
        elif claim and _alive(claim):
            return f"running in pid {claim.get('pid')} on {claim.get('host')}"
        elif not claim:
            try:
                if time.time() - path.stat().st_mtime < TAKEOVER_STALE_S:
                    return "being claimed by another process"
            except OSError:
                continue
        if not _take_over(path, claim, mine):
            return "being taken over by another process"
        return Claim(path)
    return "claimed by another process"


def held(claims_dir: str | Path, config_hash: str, runs_dir: str | Path) -> str | None:
    """Why ``config_hash`` is taken (``"running in pid P on HOST"``, ``"already done: F"``), or
    None when :func:`acquire` could claim it. Read-only: a look before dispatch, so a shard does
    not hand out entries other processes hold; :func:`acquire` still decides, at run time."""
    path = Path(claims_dir) / config_hash
    claim = _read(path)
    if claim is None:
        return None
    if "done" in claim:
        return _done_reason(claim, Path(runs_dir))
    if claim and _alive(claim):
        return f"running in pid {claim.get('pid')} on {claim.get('host')}"
    return None


def _take_over(path: Path, seen: dict, mine: dict) -> bool:
    """Replace the stale claim ``seen`` at ``path`` by ``mine``; False if another process does."""
    lock = path.with_name(path.name + ".takeover")
    if not _create(lock, mine):
        try:
            if time.time() - lock.stat().st_mtime > TAKEOVER_STALE_S:
                os.unlink(lock)  # left by a process killed during its takeover
        except OSError:
            pass
        return False
    try:
        if _read(path) not in (seen, None):
            return False  # it changed meanwhile: not stale any more
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return _create(path, mine)
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
