"""Running many trainings: one contract, whatever the backend (level 7, beside the API).

    for outcome in run_all(payloads, work, into=folder, jobs=4, stop=stop):
        ...

* ``payloads``: plain, picklable dicts, one per run: ``index`` (the caller's key), ``config``
  (a config dict), ``overrides``, ``name``, ``plots``, ``plot_format``, and optionally ``note``
  and ``tags`` (stored in the run's ``summary.json``).
* ``work(payload, out, stop) -> dict``: trains one payload into ``out``, an empty folder, and
  returns its outcome, at least ``index``, ``status`` and ``folder`` (the run folder it wrote in
  ``out``, or None). It is a *module-level* function of the caller (sweep, compare: level 8),
  pickled by reference for spawned processes and Dask workers, and it is where
  ``optrun.api.train`` is looked up, at call time (so a test's monkeypatch is seen). This layer
  never imports the API; :func:`~optrun.executors.staging.train_into` is the shared body.
* The outcomes come back in completion order, one per payload handed out, with ``folder``
  replaced by ``run_dir`` (the folder moved into ``into``, a str, or None). A payload stopped
  before its training began comes back as ``status: not_run`` and wrote nothing.

Backends: sequential (this process; ``jobs <= 1`` or a single payload), ``local`` processes
(``jobs > 1``: :mod:`optrun.executors.pool`) and ``dask`` (:mod:`optrun.executors.dask`).
Every run trains in a private staging folder and is renamed into ``into`` when complete
(:mod:`optrun.executors.staging`).

One stop contract: ``stop`` (a :class:`optrun.control.StopFlag`) is read before each payload is
handed out, and once it is requested no more are; runs in progress get the request and stop
after their current step (status ``interrupted``). The consumer may request it between two
outcomes (``--fail-fast``), since the generator resumes only when the next outcome is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from optrun.errors import OptrunError
from optrun.executors.dask import run_dask
from optrun.executors.pool import BLAS_ENV, _spawning, _worker_env, make_pool, run_pool  # noqa: F401  (re-exported)
from optrun.executors.staging import (  # noqa: F401  (re-exported)
    STAGING, clean_stale_staging, error_text, move_into, pid_alive, public, read_outcome, remove_staging, run_one,
    staging_dir, train_into,
    write_files,
)

EXECUTORS = ("local", "dask")


def sequential(payloads: list[dict], work: Callable, into: Path, stop,
               on_start: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Run the payloads one after the other in this process."""
    for payload in payloads:
        if stop.requested:
            return
        if on_start:
            on_start(payload)
        yield run_one(work, payload, into, stop)


def run_all(payloads: Iterable[dict], work: Callable, *, into: str | Path, jobs: int = 1,
            executor: str = "local", address: Any = None, stop=None,
            on_start: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Run ``work`` over ``payloads``, run folders into ``into``; yield outcomes as they finish.

    ``executor`` is ``local`` (sequential for ``jobs <= 1``, else ``jobs`` spawned processes) or
    ``dask`` (``address``: a scheduler address or a ``distributed.Client``). ``on_start(payload)``
    is called when a payload is handed out. See the module docstring for the contract.
    """
    from optrun.control import StopFlag

    if executor not in EXECUTORS:
        raise OptrunError(f"--executor: expected local or dask, got {executor!r}")
    payloads = list(payloads)
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    stop = stop if stop is not None else StopFlag()
    if executor == "dask":
        return run_dask(payloads, work, into, address, stop, on_start)
    if jobs <= 1 or len(payloads) <= 1:
        return sequential(payloads, work, into, stop, on_start)
    return run_pool(payloads, work, into, jobs, stop, on_start)
