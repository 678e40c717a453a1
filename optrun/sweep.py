"""Sweeps: grid expansion, the plan, executors, resume by config hash.

A sweep is a base config plus *axes* (``optimizer.lr='logspace(-4,0,9)'``, ``seed='range(5)'``);
the runs are the product of the axes, first axis slowest. Every run goes through the same code
path as ``optrun train`` (:func:`optrun.api.train`), wherever it executes.

The sweep folder (``<out>/sweep-<slug>-<id>/``) holds::

    sweep.yaml     the base config (CSV paths made absolute), the axes, the run count
    plan.jsonl     one JSON line per run: index, overrides, name, config_hash
    runs/          the run folders, each moved in only when its files are complete
    summary.csv    one row per planned run, rebuilt from the run folders at the end

The sweep id is a hash of the *set* of planned config hashes, so rerunning the same sweep (with
its axes in any order) finds the same folder and resumes it: a planned run counts as done when a
run folder holds a ``summary.json`` with its ``config_hash`` and a finished status
(completed, converged or diverged). Failed and interrupted runs are run again, into new folders.

Executors (all take the same entries and report outcomes through one callback):

- **sequential** (``-j 1``): in this process.
- **processes** (``-j N``): a ``spawn`` process pool, BLAS pinned to one thread per worker,
  at most N runs in flight so a stop request (Ctrl-C, ``--fail-fast``) hands out no more work.
- **dask** (``--executor dask --address tcp://host:port``): a worker trains into a temporary
  folder and returns the folder's files as bytes; the client writes them into the sweep folder.
  No shared filesystem: a CSV dataset is sent to the workers with the tasks.

Each run trains into a private staging folder (``runs/.staging/<token>/``, hidden from listings)
and is renamed into ``runs/`` when its files are written, so readers of the sweep folder (and
``optrun runs``) only ever see complete run folders.

This module imports NumPy only inside functions: process-pool workers must set their BLAS
thread variables *before* NumPy is first imported.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from optrun._text import csv_cell, split_top_level  # noqa: F401  (split_top_level re-exported)
from optrun.errors import OptrunError

#: Statuses that mean "this configuration has a result" (a diverged run is a result).
DONE_STATUSES = ("completed", "converged", "diverged")

#: Environment variables that cap BLAS / OpenMP threads; set to 1 in process-pool workers.
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")

SWEEP_FILE, PLAN_FILE, SUMMARY_FILE, RUNS_SUBDIR = "sweep.yaml", "plan.jsonl", "summary.csv", "runs"
STAGING = ".staging"


# ============================================================================================
# Grid expansion


@dataclass(frozen=True)
class Axis:
    """One swept key: ``key`` (dotted), the text the user gave, and the expanded values."""

    key: str
    spec: str
    values: tuple


_FUNC = re.compile(r"^\s*(range|linspace|logspace)\s*\((.*)\)\s*$", re.S)


def _number(text: str, where: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise OptrunError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise OptrunError(f"{where}: {text!r} is not a finite number")
    return value


def _tidy(x: float) -> float:
    """``0.30000000000000004`` -> ``0.3``: 15 significant digits, so grids print and hash cleanly."""
    return float(f"{x:.15g}")


def _expand_function(name: str, args_text: str, where: str) -> list:
    args = [_number(a, where) for a in args_text.split(",")] if args_text.strip() else []
    if name == "range":
        if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
            raise OptrunError(f"{where}: range() takes 1 to 3 integers: range(stop), range(start, stop[, step])")
        if len(args) == 3 and args[2] == 0:
            raise OptrunError(f"{where}: range() step must not be zero")
        return list(range(*args))
    if len(args) != 3 or not isinstance(args[2], int) or args[2] < 1:
        raise OptrunError(f"{where}: {name}() takes (start, stop, count) with an integer count >= 1, e.g. {name}(-4, 0, 9)")
    a, b, n = float(args[0]), float(args[1]), args[2]
    points = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
    if n > 1:
        points[-1] = b  # exact end point, as numpy.linspace
    if name == "logspace":
        points = [10.0 ** p for p in points]
    return [_tidy(p) for p in points]


def parse_values(text: str, where: str = "axis") -> list:
    """The values of one axis: a comma list of YAML values and ``range()``/``linspace()``/
    ``logspace()`` terms (numpy meaning: ``logspace(a, b, n)`` = 10**linspace(a, b, n))."""
    from optrun.config import parse_yaml

    values: list = []
    for item in split_top_level(text):
        if not item.strip():
            raise OptrunError(f"{where}: empty value in {text!r} (expected v1,v2,... or range()/linspace()/logspace())")
        m = _FUNC.match(item)
        if m:
            values.extend(_expand_function(m.group(1), m.group(2), where))
        else:
            values.append(parse_yaml(item, where))
    for v in values:
        try:
            json.dumps(v, allow_nan=False)
        except (TypeError, ValueError):
            raise OptrunError(f"{where}: value {v!r} cannot be stored in the plan (use numbers, strings, lists)") from None
    return values


def parse_axis(text: str) -> Axis:
    """``"optimizer.lr=logspace(-4,0,9)"`` -> ``Axis("optimizer.lr", "logspace(-4,0,9)", (...))``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    where = f"sweep axis {text!r}"
    if not sep or not key or not raw.strip():
        raise OptrunError(f"{where}: expected KEY=v1,v2 or KEY='range(5)' with a dotted key, e.g. optimizer.lr=0.1,0.01")
    if any(not p.strip() for p in key.split(".")):
        raise OptrunError(f"{where}: {key!r} is not a dotted key path like optimizer.lr")
    return Axis(key, raw.strip(), tuple(parse_values(raw, where)))


def parse_axes(texts: Iterable[str]) -> list[Axis]:
    axes = [parse_axis(t) for t in texts]
    seen: set[str] = set()
    for ax in axes:
        if ax.key in seen:
            raise OptrunError(f"sweep axis {ax.key}: given twice; put all its values in one KEY=v1,v2")
        seen.add(ax.key)
    return axes


def grid(axes: list[Axis]) -> list[dict]:
    """The product of the axes as override dicts, first axis slowest (``itertools.product``)."""
    return [dict(zip((a.key for a in axes), combo)) for combo in itertools.product(*(a.values for a in axes))]


# ============================================================================================
# The plan


@dataclass(frozen=True)
class Entry:
    """One planned run."""

    index: int
    overrides: dict
    name: str
    config_hash: str

    def to_json(self) -> str:
        return json.dumps({"index": self.index, "overrides": self.overrides, "name": self.name,
                           "config_hash": self.config_hash}, allow_nan=False)

    @classmethod
    def from_json(cls, line: str) -> "Entry":
        d = json.loads(line)
        return cls(int(d["index"]), dict(d["overrides"]), str(d["name"]), str(d["config_hash"]))


@dataclass
class Sweep:
    """A sweep folder read back (or about to be written)."""

    dir: Path
    spec: dict
    entries: list[Entry]

    @property
    def runs_dir(self) -> Path:
        return self.dir / RUNS_SUBDIR

    @property
    def config(self) -> dict:
        return self.spec["config"]

    @property
    def axes(self) -> list[str]:
        return [a["key"] for a in self.spec.get("axes", [])]

    @property
    def varied_axes(self) -> list[str]:
        """The axes with more than one value."""
        return [a["key"] for a in self.spec.get("axes", []) if len(a.get("values", [])) > 1]


def read_base_config(path: str | Path) -> dict:
    """Read a config file as a raw dict, with a relative CSV ``dataset.path`` made absolute
    (it resolves against the config file's folder), so the dict can be stored and rerun anywhere."""
    from optrun.config import read_config_file

    path = Path(path)
    raw = read_config_file(path)
    ds = raw.get("dataset")
    if isinstance(ds, dict) and ds.get("path") is not None:
        p = Path(str(ds["path"])).expanduser()
        if not p.is_absolute():
            p = path.resolve().parent / p
        raw = {**raw, "dataset": {**ds, "path": str(p.resolve())}}
    return raw


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ""))
    return str(v)


def run_name(base: str, overrides: dict, varied: list[str]) -> str:
    """A run's name: the base name plus the varied values, keys sorted so axis order does not
    change it (the name is part of the config, hence of its hash)."""
    if "name" in overrides and overrides["name"] is not None:
        return str(overrides["name"])
    parts = []
    for k in sorted(varied):
        if k == "name":
            continue
        path = k.split(".")
        label = path[-2] if path[-1] == "name" and len(path) > 1 else path[-1]  # optimizer.name -> optimizer
        parts.append(f"{label}={_fmt_value(overrides[k])}")
    return "-".join([base, *parts])


def base_name(raw: dict, config_path: str | Path | None, name: str | None) -> str:
    if name:
        return name
    if raw.get("name"):
        return str(raw["name"])
    if config_path is not None:
        return Path(config_path).stem
    return "sweep"


def make_plan(raw: dict, axes: list[Axis], base: str) -> list[Entry]:
    """Resolve every grid point (config errors surface here, before anything runs) and hash it
    exactly as :func:`optrun.api.train` will (``config_hash`` of the resolved config, name set)."""
    from optrun import config as config_mod

    varied = [a.key for a in axes if len(a.values) > 1]
    entries = []
    for i, overrides in enumerate(grid(axes)):
        name = run_name(base, overrides, varied)
        cfg = config_mod.load(raw, overrides)
        cfg["name"] = name
        entries.append(Entry(i, overrides, name, config_mod.config_hash(cfg)))
    hashes = [e.config_hash for e in entries]
    if len(set(hashes)) != len(hashes):
        dup = next(h for h in hashes if hashes.count(h) > 1)
        same = [e.overrides for e in entries if e.config_hash == dup][:2]
        raise OptrunError(f"sweep: two grid points give the same resolved config ({same[0]} and {same[1]}); "
                          "an axis has repeated values or a value the config ignores")
    return entries


def sweep_id(entries: list[Entry]) -> str:
    """The sweep's identity: a hash of the *set* of its config hashes (axis order does not matter)."""
    return hashlib.sha256("\n".join(sorted(e.config_hash for e in entries)).encode()).hexdigest()[:8]


def default_sweep_dir(out: str | Path, base: str, entries: list[Entry]) -> Path:
    from optrun.rundir import slugify

    return Path(out) / f"sweep-{slugify(base)}-{sweep_id(entries)}"


def plan_sweep(config_path: str | Path, axis_texts: Iterable[str], out: str | Path = "runs",
               name: str | None = None) -> Sweep:
    """Parse, expand and resolve a sweep; nothing is written. ``sweep.dir`` is where it goes."""
    raw = read_base_config(config_path)
    axes = parse_axes(axis_texts)
    base = base_name(raw, config_path, name)
    entries = make_plan(raw, axes, base)
    spec = {
        "name": base,
        "config_file": str(Path(config_path).resolve()),
        "config": raw,
        "axes": [{"key": a.key, "spec": a.spec, "values": list(a.values)} for a in axes],
        "runs": len(entries),
        "sweep_id": sweep_id(entries),
    }
    return Sweep(default_sweep_dir(out, base, entries), spec, entries)


def write_sweep(sweep: Sweep) -> Sweep:
    """Create the sweep folder with ``sweep.yaml`` and ``plan.jsonl`` (atomic writes).

    If the folder already holds the same plan (same set of config hashes), it is kept as it is,
    indices included, so array jobs that are already running keep their meaning.
    """
    from optrun._version import __version__
    from optrun.rundir import atomic_write_text

    d = sweep.dir
    if (d / PLAN_FILE).is_file():
        existing = load_sweep(d)
        if {e.config_hash for e in existing.entries} != {e.config_hash for e in sweep.entries}:
            raise OptrunError(f"{d}: holds a different sweep (its plan.jsonl has other runs); use another --out or --name")
        return existing
    try:
        (d / RUNS_SUBDIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptrunError(f"--out {d.parent}: cannot create the sweep folder: {exc.strerror}") from None
    spec = {**sweep.spec, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "optrun": __version__}
    atomic_write_text(d / SWEEP_FILE, yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))
    atomic_write_text(d / PLAN_FILE, "".join(e.to_json() + "\n" for e in sweep.entries))
    return Sweep(d, spec, sweep.entries)


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep folder (``sweep.yaml`` + ``plan.jsonl``)."""
    d = Path(path)
    if not d.is_dir():
        raise OptrunError(f"{d}: sweep folder not found")
    if not (d / PLAN_FILE).is_file() or not (d / SWEEP_FILE).is_file():
        raise OptrunError(f"{d}: not a sweep folder (expected {SWEEP_FILE} and {PLAN_FILE}; make one with optrun sweep --plan-only)")
    spec = yaml.safe_load((d / SWEEP_FILE).read_text(encoding="utf-8"))
    entries = []
    for n, line in enumerate((d / PLAN_FILE).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                entries.append(Entry.from_json(line))
            except (ValueError, KeyError, TypeError):
                raise OptrunError(f"{d / PLAN_FILE}: line {n}: not a plan entry") from None
    if [e.index for e in entries] != list(range(len(entries))):
        raise OptrunError(f"{d / PLAN_FILE}: indices must be 0..{len(entries) - 1} in order")
    return Sweep(d, spec, entries)


# ============================================================================================
# What is done (resume)


def attempts_by_hash(runs_dir: Path) -> dict[str, list[tuple[Path, dict]]]:
    """``config_hash -> [(run folder, summary)]`` for every run folder under ``runs_dir``,
    oldest first (folder names start with a timestamp)."""
    out: dict[str, list[tuple[Path, dict]]] = {}
    if not runs_dir.is_dir():
        return out
    for p in sorted(runs_dir.iterdir()):
        if p.name.startswith(".") or not p.is_dir():
            continue
        try:
            summary = json.loads((p / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        h = summary.get("config_hash")
        if h:
            out.setdefault(h, []).append((p, summary))
    return out


def best_attempt(attempts: list[tuple[Path, dict]]) -> tuple[Path, dict] | None:
    """The run folder that stands for a planned run: the newest finished one, else the newest."""
    if not attempts:
        return None
    done = [a for a in attempts if a[1].get("status") in DONE_STATUSES]
    return (done or attempts)[-1]


def is_done(attempts: list[tuple[Path, dict]] | None) -> bool:
    return any(s.get("status") in DONE_STATUSES for _, s in attempts or [])


def pending_entries(sweep: Sweep) -> list[Entry]:
    found = attempts_by_hash(sweep.runs_dir)
    return [e for e in sweep.entries if not is_done(found.get(e.config_hash))]


# ============================================================================================
# Running one entry (the same path as `optrun train`: optrun.api.train)


def _payload(sweep: Sweep, entry: Entry, plots: bool) -> dict:
    return {"config": sweep.config, "overrides": entry.overrides, "name": entry.name,
            "index": entry.index, "config_hash": entry.config_hash, "plots": plots}


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def _train_into(payload: dict, out: Path, stop=None) -> dict:
    """Train one entry into ``out`` (an empty staging folder) with :func:`optrun.api.train`.

    Returns ``{status, stop_reason, error, folder}``. A run that fails before it has a folder
    (a data error found by ``prepare``) gets one anyway, holding its resolved config and a
    ``failed`` summary, so every attempt is visible and resume knows to retry it. A run whose
    stop was requested before training began writes nothing: status ``not_run``, folder None.
    """
    from optrun import api

    error = None
    try:
        api.train(payload["config"], overrides=payload["overrides"], out=out, plots=payload["plots"],
                  name=payload["name"], stop=stop)
    except Exception as exc:  # recorded in the run folder; the sweep goes on
        error = _error_text(exc)
    except KeyboardInterrupt as exc:
        # api.train raises Interrupted (run_dir None) when the stop came before training began
        if stop is not None and stop.requested and getattr(exc, "run_dir", None) is None:
            return {"index": payload["index"], "status": "not_run", "folder": None}
        raise
    folders = [p for p in out.iterdir() if p.is_dir()]
    if not folders:
        _failure_folder(payload, out, error or "no run folder was written")
        folders = [p for p in out.iterdir() if p.is_dir()]
    folder = folders[0]
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {"status": "failed"}
    return {"index": payload["index"], "status": summary.get("status", "failed"),
            "stop_reason": summary.get("stop_reason"), "final_loss": summary.get("final_loss"),
            "wall_time_s": summary.get("wall_time_s"), "config_hash": summary.get("config_hash"),
            "error": error or summary.get("error"), "folder": folder}


def _failure_folder(payload: dict, out: Path, error: str) -> None:
    from optrun._version import __version__
    from optrun import config as config_mod
    from optrun.rundir import atomic_write_text, create_run_dir, write_json

    run_dir = create_run_dir(out, payload["name"])
    try:
        cfg = config_mod.load(payload["config"], payload["overrides"])
        cfg["name"] = payload["name"]
        atomic_write_text(run_dir / "config.yaml", config_mod.dump(cfg))
    except Exception:  # pragma: no cover - the plan resolved this config already
        pass
    write_json(run_dir / "summary.json", {
        "status": "failed", "stop_reason": error, "error": error, "name": payload["name"],
        "config_hash": payload["config_hash"], "seed": None, "versions": {"optrun": __version__},
    })


def _move_into(folder: Path, runs_dir: Path) -> Path:
    """Rename a finished run folder into ``runs_dir`` under its own name (a fresh suffix if that
    name is taken). The target is reserved with ``mkdir`` (atomic) and the folder renamed onto it
    (rename onto an empty folder is atomic on POSIX)."""
    name = folder.name
    for attempt in range(100):
        target = runs_dir / (name if attempt == 0 else f"{name.rsplit('-', 1)[0]}-{secrets.token_hex(3)}")
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
    raise OptrunError(f"{runs_dir}: could not find a free run-folder name")  # pragma: no cover


def _staging_dir(runs_dir: Path) -> Path:
    """A private, hidden folder to train in: ``runs/.staging/<pid>-<hex>/``."""
    stage = runs_dir / STAGING / f"{os.getpid()}-{secrets.token_hex(4)}"
    for _ in range(10):  # another process may remove the empty .staging root meanwhile
        try:
            stage.mkdir(parents=True)
            return stage
        except FileNotFoundError:
            continue
    stage.mkdir(parents=True)  # pragma: no cover
    return stage


def _remove_staging(stage: Path) -> None:
    """Remove a staging folder, and the ``.staging`` root when no other process uses it."""
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.parent.rmdir()
    except OSError:
        pass


def _outcome_public(outcome: dict, run_dir: Path | None) -> dict:
    out = {k: v for k, v in outcome.items() if k not in ("folder", "files")}
    out["run_dir"] = str(run_dir) if run_dir is not None else None
    return out


def run_entry(sweep: Sweep, entry: Entry, plots: bool = False, stop=None) -> dict:
    """Run one planned entry in this process into ``sweep/runs/`` and return its outcome."""
    runs_dir = sweep.runs_dir
    runs_dir.mkdir(parents=True, exist_ok=True)
    stage = _staging_dir(runs_dir)
    try:
        outcome = _train_into(_payload(sweep, entry, plots), stage, stop=stop)
        run_dir = _move_into(outcome["folder"], runs_dir) if outcome["folder"] is not None else None
    finally:
        _remove_staging(stage)
    return _outcome_public(outcome, run_dir)


# --- process-pool workers ------------------------------------------------------------------

_WORKER: dict = {}


def _worker_init(runs_dir: str, stop_event) -> None:
    """Process-pool initializer: one BLAS thread, Ctrl-C left to the parent, and a thread that
    turns the parent's stop event into a stop request for the run in progress."""
    import threading

    for k in BLAS_ENV:
        os.environ[k] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from optrun.control import StopFlag  # imports NumPy, after the variables are set

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
    _WORKER["runs_dir"] = Path(runs_dir)


def _worker_run(payload: dict) -> dict:
    runs_dir = _WORKER["runs_dir"]
    stage = _staging_dir(runs_dir)
    try:
        outcome = _train_into(payload, stage, stop=_WORKER["stop"])
        run_dir = _move_into(outcome["folder"], runs_dir) if outcome["folder"] is not None else None
    finally:
        _remove_staging(stage)
    return _outcome_public(outcome, run_dir)


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


def make_pool(jobs: int, runs_dir: Path):
    """A ``spawn`` process pool of ``jobs`` workers set up by :func:`_worker_init`; returns
    ``(pool, stop_event)``. Its processes start on the first submissions: make those inside
    ``with _spawning():``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    stop_event = ctx.Event()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(str(runs_dir), stop_event))
    return pool, stop_event


# --- dask workers --------------------------------------------------------------------------


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


def _dask_run(payload: dict, data: bytes | None = None, stop_event: str | None = None) -> dict:
    """Runs on a Dask worker: train into a temporary folder and return the folder's files.

    With a CSV dataset the client sends the file's bytes (``data``); the worker trains on a
    private copy and writes the original path back into ``config.yaml``, so the folder is the
    one the client would have made (same resolved config, same ``config_hash``). The run stops
    early (interrupted) when the client sets the ``stop_event`` (a ``distributed.Event`` name).
    """
    from optrun.control import StopFlag

    stop = StopFlag()
    end_watch, stopped = _dask_stop_watch(stop_event, stop)
    if stopped:  # the sweep was stopped before this task started: do not start it
        return {"index": payload["index"], "status": "not_run"}
    try:
        return _dask_train(payload, data, stop)
    finally:
        end_watch()


def _dask_train(payload: dict, data: bytes | None, stop) -> dict:
    from optrun import config as config_mod
    from optrun.rundir import atomic_write_text, write_json

    with tempfile.TemporaryDirectory(prefix="optrun-dask-") as tmp:
        tmp = Path(tmp)
        payload = dict(payload)
        original_path = None
        if data is not None:
            original_path = payload["config"]["dataset"]["path"]
            local = tmp / "data" / Path(original_path).name
            local.parent.mkdir()
            local.write_bytes(data)
            payload["config"] = copy.deepcopy(payload["config"])
            payload["config"]["dataset"]["path"] = str(local)
        stage = tmp / "out"
        stage.mkdir()
        outcome = _train_into(payload, stage, stop=stop)
        folder = outcome.pop("folder")
        if folder is None:  # stopped before training began: nothing to send back
            return outcome
        if original_path is not None:
            cfg_file = folder / "config.yaml"
            if cfg_file.is_file():
                cfg = config_mod.read_config_file(cfg_file)
                cfg["dataset"]["path"] = original_path
                atomic_write_text(cfg_file, config_mod.dump(cfg))
                summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
                summary["config_hash"] = outcome["config_hash"] = config_mod.config_hash(cfg)
                write_json(folder / "summary.json", summary)
        files = {}
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                files[p.relative_to(folder).as_posix()] = p.read_bytes()
        outcome["folder_name"] = folder.name
        outcome["files"] = files
        return outcome


def write_files(runs_dir: Path, folder_name: str, files: dict[str, bytes]) -> Path:
    """Client side of the Dask executor: write a run folder's files under a hidden temporary
    folder, then rename it into ``runs_dir`` (atomic: readers see all files or none)."""
    stage = _staging_dir(runs_dir)
    try:
        folder = stage / folder_name
        folder.mkdir()
        for rel, data in files.items():
            target = (folder / rel).resolve()
            if folder.resolve() not in target.parents:
                raise OptrunError(f"dask result: file name {rel!r} escapes the run folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return _move_into(folder, runs_dir)
    finally:
        _remove_staging(stage)


# ============================================================================================
# Executing a sweep


@dataclass
class Report:
    """What a sweep execution did."""

    sweep_dir: Path
    total: int
    skipped: int = 0
    outcomes: list[dict] = field(default_factory=list)
    interrupted: bool = False
    wall_time_s: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o["status"] == status)

    @property
    def failed(self) -> list[dict]:
        return [o for o in self.outcomes if o["status"] == "failed"]

    @property
    def not_run(self) -> int:
        return self.total - self.skipped - len(self.outcomes)

    def to_dict(self) -> dict:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return {"sweep_dir": str(self.sweep_dir), "total": self.total, "skipped": self.skipped,
                "ran": len(self.outcomes), "not_run": self.not_run, "counts": counts,
                "failed": len(self.failed), "interrupted": self.interrupted, "wall_time_s": self.wall_time_s}


def execute(sweep: Sweep, entries: list[Entry] | None = None, jobs: int = 1, executor: str = "local",
            address: str | Any = None, plots: bool = False, fail_fast: bool = False, stop=None,
            on_start: Callable[[Entry], None] | None = None,
            on_result: Callable[[Entry, dict], None] | None = None) -> Report:
    """Run the sweep's pending entries (or ``entries``) and write ``summary.csv``.

    ``stop`` is a flag object with ``requested``/``request(reason)`` (an
    :class:`optrun.engine.StopFlag`): once requested, no more work is handed out; runs in
    progress stop after their current step and are marked interrupted (Dask runs in progress are
    abandoned). ``on_result(entry, outcome)`` is called as each run finishes, in completion order.
    ``address`` is a scheduler address or a ``distributed.Client``.
    """
    t0 = time.perf_counter()
    sweep.runs_dir.mkdir(parents=True, exist_ok=True)
    todo = pending_entries(sweep) if entries is None else list(entries)
    report = Report(sweep.dir, total=len(sweep.entries), skipped=len(sweep.entries) - len(todo))
    from optrun.control import StopFlag

    stop = stop if stop is not None else StopFlag()  # Ctrl-C, SIGTERM, --fail-fast
    by_index = {e.index: e for e in todo}

    def record(outcome: dict) -> None:
        if outcome["status"] == "not_run":  # stopped before it began: nothing was written
            return
        entry = by_index[outcome["index"]]
        if outcome["status"] != "failed" and outcome.get("config_hash") not in (None, entry.config_hash):
            outcome["warning"] = (f"config_hash {outcome['config_hash']} differs from the plan's "
                                  f"{entry.config_hash} (another optrun version?); resume will rerun it")
        report.outcomes.append(outcome)
        if on_result:
            on_result(entry, outcome)
        if fail_fast and outcome["status"] == "failed" and not stop.requested:
            stop.request("stopped: a run failed (--fail-fast)")

    try:
        if executor == "dask":
            _execute_dask(sweep, todo, address, plots, stop, on_start, record)
        elif executor != "local":
            raise OptrunError(f"--executor: expected local or dask, got {executor!r}")
        elif jobs <= 1 or len(todo) <= 1:
            for entry in todo:
                if stop.requested:
                    break
                if on_start:
                    on_start(entry)
                record({"index": entry.index, **run_entry(sweep, entry, plots=plots, stop=stop)})
        else:
            _execute_pool(sweep, todo, jobs, plots, stop, on_start, record)
    finally:
        report.interrupted = bool(stop.requested) or report.not_run > 0
        report.wall_time_s = time.perf_counter() - t0
        write_summary(sweep)
    return report


def _execute_pool(sweep, todo, jobs, plots, stop, on_start, record) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    queue = iter(todo)
    inflight: dict = {}
    signalled = False
    pool, stop_event = make_pool(min(jobs, len(todo)), sweep.runs_dir)
    try:
        def submit_next() -> None:
            entry = next(queue, None)
            if entry is not None:
                if on_start:
                    on_start(entry)
                inflight[pool.submit(_worker_run, _payload(sweep, entry, plots))] = entry

        with _spawning():  # workers are spawned on the first submissions
            for _ in range(jobs):
                submit_next()
        while inflight:
            done, _ = wait(list(inflight), timeout=0.1, return_when=FIRST_COMPLETED)
            for fut in done:
                entry = inflight.pop(fut)
                try:
                    outcome = fut.result()
                except BaseException as exc:  # a worker died (killed, out of memory)
                    outcome = {"index": entry.index, "status": "failed", "error": _error_text(exc), "run_dir": None}
                record(outcome)
                if not stop.requested:
                    submit_next()
            if stop.requested and not signalled:
                signalled = True
                stop_event.set()  # runs in progress stop after their current step
    except BaseException:  # a second Ctrl-C: leave at once
        for proc in list((getattr(pool, "_processes", {}) or {}).values()):
            try:
                proc.kill()
            except Exception:  # pragma: no cover
                pass
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


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


def _execute_dask(sweep, todo, address, plots, stop, on_start, record) -> None:
    try:
        from distributed import Client, Event, as_completed
    except ImportError:
        raise OptrunError("--executor dask needs the dask extra: pip install 'optrun[dask]'") from None
    if not todo:
        return
    remaining: set = set()
    own_client = not isinstance(address, Client)
    if own_client:
        if not address:
            raise OptrunError("--executor dask needs --address tcp://HOST:PORT (a running dask scheduler)")
        _check_reachable(address)
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise OptrunError(f"--address {address}: cannot connect to the dask scheduler ({exc})") from None
    else:
        client = address
    try:
        data = None
        ds = sweep.config.get("dataset")
        if isinstance(ds, dict) and ds.get("path"):
            # no shared filesystem: the CSV travels to the workers once, with the tasks
            try:
                data = client.scatter(Path(ds["path"]).read_bytes(), broadcast=False, hash=True)
            except OSError as exc:
                raise OptrunError(f"dataset.path {ds['path']}: cannot read: {exc.strerror}") from None
        token = secrets.token_hex(4)
        prefix = f"optrun-{sweep.spec.get('sweep_id', 'sweep')}-{token}"
        stop_name = f"{prefix}-stop"
        futures = {}
        for entry in todo:
            if on_start:
                on_start(entry)
            fut = client.submit(_dask_run, _payload(sweep, entry, plots), data, stop_name, pure=False,
                                key=f"{prefix}-{entry.index}")
            futures[fut] = entry
        ac = as_completed(list(futures))
        remaining = set(futures)
        signalled = False
        while remaining:
            if stop.requested and not signalled:
                # tasks not started return at once; runs in progress stop after their current
                # step and come back marked interrupted
                signalled = True
                try:
                    Event(stop_name, client=client).set()
                except Exception:  # pragma: no cover - cannot reach the scheduler: abandon
                    break
            batch = ac.next_batch(block=False) if ac.has_ready() else []
            if not batch:
                time.sleep(0.05)
                continue
            for fut in batch:
                remaining.discard(fut)
                entry = futures[fut]
                try:
                    result = fut.result()
                    if result.get("status") == "not_run":
                        record(result)
                        continue
                    run_dir = write_files(sweep.runs_dir, result.pop("folder_name"), result.pop("files"))
                    outcome = _outcome_public(result, run_dir)
                except Exception as exc:  # the worker died or the task could not run
                    outcome = {"index": entry.index, "status": "failed", "error": _error_text(exc), "run_dir": None}
                record(outcome)
    finally:
        if remaining:  # a second Ctrl-C (or an error): abandon what is left
            try:
                client.cancel(list(remaining))
            except Exception:  # pragma: no cover
                pass
        if own_client:
            client.close()


# ============================================================================================
# summary.csv


def summary_rows(sweep: Sweep) -> list[dict]:
    """One row per planned run (plan order), from the run folders as they are now."""
    from optrun.rundir import summary_fields

    found = attempts_by_hash(sweep.runs_dir)
    axes = sweep.axes
    rows = []
    for e in sweep.entries:
        best = best_attempt(found.get(e.config_hash, []))
        row: dict[str, Any] = {"index": e.index, "config_hash": e.config_hash}
        row.update({k: e.overrides.get(k) for k in axes})
        if best is None:
            row.update({"run": None, "name": e.name, "status": "pending"})
        else:
            run_dir, summary = best
            row.update({"run": run_dir.relative_to(sweep.dir).as_posix(), "attempts": len(found[e.config_hash])})
            row.update(summary_fields(summary))
        rows.append(row)
    return rows


SUMMARY_CSV_COLUMNS = ["index", "config_hash", "run", "name", "status", "stop_reason", "steps", "epochs",
                       "final_loss", "f_star", "suboptimality", "r2", "accuracy", "val_loss", "wall_time_s",
                       "attempts", "error"]


def write_summary(sweep: Sweep) -> Path:
    """Write ``summary.csv`` (atomically): index, config_hash, the axes, then the results."""
    import csv
    import io

    from optrun.rundir import atomic_write_text

    rows = summary_rows(sweep)
    columns = SUMMARY_CSV_COLUMNS[:2] + [k for k in sweep.axes if k not in SUMMARY_CSV_COLUMNS] + SUMMARY_CSV_COLUMNS[2:]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_cell(r.get(k)) for k in columns})
    path = sweep.dir / SUMMARY_FILE
    atomic_write_text(path, buf.getvalue())
    return path


_csv_cell = csv_cell
