"""The process executor: a ``spawn`` pool, one BLAS thread per worker, a shared stop event.

At most ``jobs`` runs are in flight, so a stop request (Ctrl-C, fail-fast) hands out no more
work; the runs in progress get the request through a ``multiprocessing.Event`` that a thread in
each worker turns into ``stop.request()``, so they stop after their current step (status
interrupted). Workers ignore SIGINT: a Ctrl-C reaches only the parent.

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


def _worker_init(into: str, stop_event) -> None:
    """Process-pool initializer: one BLAS thread, Ctrl-C left to the parent, and a thread that
    turns the parent's stop event into a stop request for the run in progress."""
    import threading

    for k in BLAS_ENV:
        os.environ[k] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from optrun.control import StopFlag

    stop = StopFlag()

    def watch() -> None:
        stop_event.wait()
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


def make_pool(jobs: int, into: Path):
    """A ``spawn`` process pool of ``jobs`` workers set up by :func:`_worker_init`; returns
    ``(pool, stop_event)``. Its processes start on the first submissions: make those inside
    ``with _spawning():``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    stop_event = ctx.Event()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(str(into), stop_event))
    return pool, stop_event


def _kill(pool) -> None:
    """Leave at once (a second Ctrl-C): kill the workers, drop what is queued."""
    for proc in list((getattr(pool, "_processes", {}) or {}).values()):
        try:
            proc.kill()
        except Exception:  # pragma: no cover
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def run_pool(payloads: list[dict], work: Callable, into: Path, jobs: int, stop,
             on_start: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Yield the outcomes of ``payloads`` run by ``jobs`` worker processes, as they finish."""
    from concurrent.futures import FIRST_COMPLETED, wait

    queue = iter(payloads)
    inflight: dict = {}
    signalled = False
    pool, stop_event = make_pool(min(jobs, len(payloads)), into)

    def submit_next() -> None:
        payload = next(queue, None)
        if payload is not None:
            if on_start:
                on_start(payload)
            inflight[pool.submit(_worker_run, work, payload)] = payload

    try:
        with _spawning():  # workers are spawned on the first submissions
            for _ in range(jobs):
                submit_next()
        while inflight:
            done, _ = wait(list(inflight), timeout=0.1, return_when=FIRST_COMPLETED)
            for fut in done:
                payload = inflight.pop(fut)
                try:
                    outcome = fut.result()
                except BaseException as exc:  # a worker died (killed, out of memory)
                    outcome = {"index": payload["index"], "status": "failed", "error": error_text(exc), "run_dir": None}
                yield outcome
                if not stop.requested:
                    submit_next()
            if stop.requested and not signalled:
                signalled = True
                stop_event.set()  # runs in progress stop after their current step
    except BaseException:  # a second Ctrl-C (or the consumer left): leave at once
        _kill(pool)
        raise
    pool.shutdown(wait=True)
