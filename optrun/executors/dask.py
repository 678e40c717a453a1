"""The Dask executor: no shared filesystem; the files travel as bytes.

A worker trains a payload into a temporary folder and returns the folder's files as bytes; the
client writes them into ``into`` (staged, then renamed). A CSV dataset is sent to the workers
once (``client.scatter``), the worker trains on a private copy and writes the original path back
into ``config.yaml``, so the folder is the one the client would have made (same resolved config,
same ``config_hash``). A stop request sets a ``distributed.Event``: tasks not started return at
once (``not_run``), runs in progress stop after their current step (interrupted).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from optrun.errors import OptrunError
from optrun.executors.staging import error_text, public, write_files


def _check_reachable(address: str) -> None:
    """Fail fast (one line, exit 2) when nothing listens at a ``tcp://host:port`` address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return  # other protocols (tls://, ucx://, inproc://): let distributed judge
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as exc:
        raise OptrunError(f"--address {address}: cannot connect to the dask scheduler ({exc.strerror or exc})") from None


def _connect(address: Any, Client) -> tuple[Any, bool]:
    """``(client, own)``: the given ``distributed.Client``, or a new one for a scheduler address."""
    if isinstance(address, Client):
        return address, False
    if not address:
        raise OptrunError("--executor dask needs --address tcp://HOST:PORT (a running dask scheduler)")
    _check_reachable(address)
    try:
        return Client(address, timeout="20s"), True
    except (OSError, TimeoutError) as exc:
        raise OptrunError(f"--address {address}: cannot connect to the dask scheduler ({exc})") from None


def _dataset_path(payload: dict) -> str | None:
    ds = payload["config"].get("dataset")
    return str(ds["path"]) if isinstance(ds, dict) and ds.get("path") else None


def _scatter_datasets(client, payloads: list[dict]) -> dict[str, Any]:
    """No shared filesystem: each CSV file travels to the workers once, with the tasks."""
    data = {}
    for path in {p for p in map(_dataset_path, payloads) if p}:
        try:
            data[path] = client.scatter(Path(path).read_bytes(), broadcast=False, hash=True)
        except OSError as exc:
            raise OptrunError(f"dataset.path {path}: cannot read: {exc.strerror}") from None
    return data


def run_dask(payloads: list[dict], work: Callable, into: Path, address: Any, stop,
             on_start: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Yield the outcomes of ``payloads`` run on a Dask cluster, as they finish.

    ``address`` is a scheduler address or a ``distributed.Client``. After a stop request the
    tasks still running come back interrupted; a second Ctrl-C abandons (cancels) them.
    """
    try:
        from distributed import Client, Event, as_completed
    except ImportError:
        raise OptrunError("--executor dask needs the dask extra: pip install 'optrun[dask]'") from None
    if not payloads:
        return
    client, own_client = _connect(address, Client)
    remaining: set = set()
    try:
        data = _scatter_datasets(client, payloads)
        prefix = f"optrun-{secrets.token_hex(4)}"
        stop_name = f"{prefix}-stop"
        futures = {}
        for p in payloads:
            if on_start:
                on_start(p)
            fut = client.submit(_dask_run, work, p, data.get(_dataset_path(p)), stop_name, pure=False,
                                key=f"{prefix}-{p['index']}")
            futures[fut] = p
        ac = as_completed(list(futures))
        remaining = set(futures)
        signalled = False
        while remaining:
            if stop.requested and not signalled:
                signalled = True
                try:
                    Event(stop_name, client=client).set()
                except Exception:  # pragma: no cover - cannot reach the scheduler: abandon
                    break
            batch = ac.next_batch(block=False) if ac.has_ready() else []
            if not batch:
                time.sleep(0.05)
            for fut in batch:
                remaining.discard(fut)
                yield _receive(fut, futures[fut], into)
    finally:
        if remaining:  # a second Ctrl-C (or an error): abandon what is left
            try:
                client.cancel(list(remaining))
            except Exception:  # pragma: no cover
                pass
        if own_client:
            client.close()


def _receive(fut, payload: dict, into: Path) -> dict:
    """Client side: the outcome of a finished task, its run folder written into ``into``."""
    try:
        result = fut.result()
        if result.get("status") == "not_run":
            return result
        run_dir = write_files(into, result.pop("folder_name"), result.pop("files"))
        return public(result, run_dir)
    except Exception as exc:  # the worker died or the task could not run
        return {"index": payload["index"], "status": "failed", "error": error_text(exc), "run_dir": None}


# --- on the workers --------------------------------------------------------------------------


def _dask_stop_watch(name: str | None, stop) -> tuple[Callable[[], None], bool]:
    """On a Dask worker: a thread that turns the client's stop ``distributed.Event`` into
    ``stop.request()``. Returns ``(end_watch, already_set)``; without a name (or a client) the
    run simply is not interruptible from the client."""
    import threading

    if not name:
        return (lambda: None), False
    try:
        from distributed import Event, get_client

        event = Event(name, client=get_client())
        if event.is_set():
            return (lambda: None), True
    except Exception:  # pragma: no cover - not inside a task, or an old distributed
        return (lambda: None), False
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            try:
                if event.wait(timeout=0.5):
                    stop.request("interrupted (sweep stopped)")
                    return
            except Exception:  # pragma: no cover - the client went away
                return

    threading.Thread(target=watch, name="optrun-dask-stop", daemon=True).start()
    return finished.set, False


def _dask_run(work: Callable, payload: dict, data: bytes | None = None, stop_event: str | None = None) -> dict:
    """Runs on a Dask worker: ``work`` trains into a temporary folder; return the folder's files.

    The run stops early (interrupted) when the client sets the ``stop_event`` (a
    ``distributed.Event`` name); a task that starts after it was set does not run (``not_run``).
    """
    from optrun.control import StopFlag

    stop = StopFlag()
    end_watch, stopped = _dask_stop_watch(stop_event, stop)
    if stopped:  # the run was stopped before this task started: do not start it
        return {"index": payload["index"], "status": "not_run"}
    try:
        return _dask_train(work, payload, data, stop)
    finally:
        end_watch()


def _dask_train(work: Callable, payload: dict, data: bytes | None, stop) -> dict:
    with tempfile.TemporaryDirectory(prefix="optrun-dask-") as tmp:
        tmp = Path(tmp)
        original_path = None
        if data is not None:
            original_path = _dataset_path(payload)
            local = tmp / "data" / Path(original_path).name
            local.parent.mkdir()
            local.write_bytes(data)
            config = {**payload["config"], "dataset": {**payload["config"]["dataset"], "path": str(local)}}
            payload = {**payload, "config": config}
        stage = tmp / "out"
        stage.mkdir()
        outcome = work(payload, stage, stop)
        folder = outcome.pop("folder")
        if folder is None:  # stopped before training began: nothing to send back
            return outcome
        if original_path is not None:
            _restore_dataset_path(folder, original_path, outcome)
        outcome["folder_name"] = folder.name
        outcome["files"] = {p.relative_to(folder).as_posix(): p.read_bytes()
                            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}
        return outcome


def _restore_dataset_path(folder: Path, original_path: str, outcome: dict) -> None:
    """Write the client's CSV path back into ``config.yaml`` and re-hash the config, so the
    folder equals the one a local run makes."""
    from optrun import config as config_mod
    from optrun.rundir import RunFolder, atomic_write_text, write_json

    cfg_file = folder / "config.yaml"
    if not cfg_file.is_file():
        return
    cfg = config_mod.read_config_file(cfg_file)
    cfg["dataset"]["path"] = original_path
    atomic_write_text(cfg_file, config_mod.dump(cfg))
    run = RunFolder(folder)
    if run.readable:
        run.summary["config_hash"] = outcome["config_hash"] = config_mod.config_hash(cfg)
        write_json(folder / "summary.json", run.summary)
