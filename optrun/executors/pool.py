"""The process executor: a ``spawn`` pool, one BLAS thread per worker, a stop file.

At most ``jobs`` runs are in flight, so a stop request (Ctrl-C, fail-fast) hands out no more
work; the runs in progress get the request through a *stop file* that a thread in each worker
polls and turns into ``stop.request()``, so they stop after their current step (status
interrupted). A file, not a ``multiprocessing.Event``: an Event is a lock plus a condition, and
a worker killed while it holds that lock would make the parent's ``set()`` wait for ever. The
watcher also stops the run when the parent process is gone.

Signals: workers ignore SIGINT (a Ctrl-C reaches the parent, which stops them through the file)
and treat SIGTERM like the stop file (``timeout``, schedulers and ``docker stop`` signal the
whole process group: each worker finishes its step and writes an ``interrupted`` summary).

A worker that dies (SIGKILL, the out-of-memory killer) breaks a ``ProcessPoolExecutor``: every
run in flight then comes back ``failed`` (``interrupted`` once a stop was requested) with
``run_dir`` None and the reason, and a fresh pool takes the remaining payloads.

This module imports NumPy nowhere: a spawned worker must set its BLAS thread variables before
NumPy is first imported.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable, Iterator

from optrun.executors.staging import error_text, run_one

#: Environment variables that cap BLAS / OpenMP threads; set to 1 in process-pool workers.
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")

_WORKER: dict = {}


#: how often a worker looks at the stop file (seconds)
POLL_S = 0.05


def _worker_init(into: str, stop_file: str) -> None:
    """Process-pool initializer: one BLAS thread, Ctrl-C left to the parent, SIGTERM and the
    parent's stop file turned into a stop request for the run in progress."""
    import threading
    import time

    for k in BLAS_ENV:
        os.environ[k] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from optrun.control import StopFlag

    stop = StopFlag()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.request("terminated (SIGTERM)"))
    parent = os.getppid()

    def watch() -> None:
        while not os.path.exists(stop_file):
            if os.getppid() != parent:  # the parent died (kill -9): finish this step and stop
                stop.request("interrupted (the sweep process is gone)")
                return
            time.sleep(POLL_S)
        stop.request("interrupted (sweep stopped)")

    threading.Thread(target=watch, name="optrun-stop", daemon=True).start()
    try:  # NumPy may already be loaded (fork-like start methods); cap its pools at run time too
        from threadpoolctl import threadpool_limits

        _WORKER["limits"] = threadpool_limits(1)
    except ImportError:
        pass
    _WORKER["stop"] = stop
    _WORKER["into"] = Path(into)


def _worker_run(work: Callable, payload: dict) -> dict:
    return run_one(work, payload, _WORKER["into"], _WORKER["stop"])


def _worker_env(_=None) -> dict:
    """What a worker sees (for tests): its BLAS variables."""
    return {k: os.environ.get(k) for k in BLAS_ENV}


class _spawning:
    """While the pool's processes start: BLAS variables set to 1, so a spawned worker has them
    before anything imports NumPy, and SIGINT ignored, which the children inherit, so a Ctrl-C
    reaches only this process (it stops the workers through their stop event). The parent's
    environment and handler are restored afterwards."""

    def __enter__(self):
        self.old = {k: os.environ.get(k) for k in BLAS_ENV}
        for k in BLAS_ENV:
            os.environ[k] = "1"
        try:
            self.old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            self.old_int = None
        return self

    def __exit__(self, *exc):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if self.old_int is not None:
            signal.signal(signal.SIGINT, self.old_int)
        return False


class StopFile:
    """The parent's side of the stop signal: ``set()`` creates a file the workers poll.
    Creating a file takes no lock a dead worker could hold, so it can never block."""

    def __init__(self):
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="optrun-stop-")
        self.path = os.path.join(self.dir, "stop")

    def set(self) -> None:
        try:
            with open(self.path, "w"):
                pass
        except OSError:  # pragma: no cover - /tmp gone: the workers' parent check still stops them
            pass

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def make_pool(jobs: int, into: Path, stop_file: "StopFile | None" = None):
    """A ``spawn`` process pool of ``jobs`` workers set up by :func:`_worker_init`; returns
    ``(pool, stop_file)``. Its processes start on the first submissions: make those inside
    ``with _spawning():``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    stop_file = stop_file or StopFile()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(str(into), stop_file.path))
    return pool, stop_file


def _death(pool) -> str:
    """Why a pool broke: the exit codes of its dead workers, in words."""
    codes = []
    for proc in list((getattr(pool, "_processes", {}) or {}).values()):
        code = proc.exitcode
        if code is not None and code != 0:
            codes.append(code)
    if not codes:
        return "a worker process died (killed, or out of memory)"
    code = codes[0]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the out-of-memory killer sends it)" if name == "SIGKILL" else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with code {code}"


def _kill(pool) -> None:
    """Leave at once (a second Ctrl-C): kill the workers, drop what is queued."""
    for proc in list((getattr(pool, "_processes", {}) or {}).values()):
        try:
            proc.kill()
        except Exception:  # pragma: no cover
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _outcome(future, payload: dict, pool, stop) -> tuple[dict, bool]:
    """The outcome of a finished ``future``, and whether its worker died (then the outcome is a
    lost run's: ``lost``, no folder; and the pool is broken and must be replaced)."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result(), False
    except BrokenProcessPool:
        status = "interrupted" if stop.requested else "failed"
        why = _death(pool)
        return {"index": payload["index"], "status": status,
                "stop_reason": why if status == "failed" else f"interrupted ({why})",
                "error": why if status == "failed" else None, "run_dir": None, "lost": True}, True
    except BaseException as exc:  # pragma: no cover - an exception the work did not catch
        return {"index": payload["index"], "status": "failed", "error": error_text(exc), "run_dir": None,
                "lost": True}, False


def run_pool(payloads: list[dict], work: Callable, into: Path, jobs: int, stop,
             on_start: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Yield the outcomes of ``payloads`` run by ``jobs`` worker processes, as they finish."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = iter(payloads)
    inflight: dict = {}
    jobs = min(jobs, len(payloads))
    pool, stop_file = make_pool(jobs, into)
    pending: list[dict] = []  # taken from the queue, not yet in a pool (a pool broke meanwhile)

    def submit_next() -> bool:
        payload = pending.pop(0) if pending else next(queue, None)
        if payload is None:
            return False
        try:
            future = pool.submit(_worker_run, work, payload)
        except (BrokenProcessPool, RuntimeError):  # the pool broke: the next pool takes it
            pending.insert(0, payload)
            return False
        if on_start:
            on_start(payload)
        inflight[future] = payload
        return True

    def fill() -> None:
        with _spawning():  # workers are spawned on the first submissions
            while len(inflight) < jobs and not stop.requested and submit_next():
                pass

    try:
        fill()
        while inflight or (pending and not stop.requested):
            if stop.requested and not stop_file.is_set():
                stop_file.set()  # runs in progress stop after their current step
            done, _ = wait(list(inflight), timeout=0.1, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                outcome, lost_worker = _outcome(fut, inflight.pop(fut), pool, stop)
                broken = broken or lost_worker
                yield outcome
            if broken or getattr(pool, "_broken", False):
                _kill(pool)
                if not inflight and not stop.requested:
                    pool, _ = make_pool(jobs, into, stop_file)  # a fresh pool for the rest
            if not stop.requested and not getattr(pool, "_broken", False):
                fill()
        if stop.requested:
            stop_file.set()
    except BaseException:  # a second Ctrl-C (or the consumer left): leave at once
        stop_file.set()
        _kill(pool)
        stop_file.remove()
        raise
    pool.shutdown(wait=True)
    stop_file.remove()
