"""The Python API, mirroring the CLI (DESIGN.md §7).

>>> import optrun
>>> result = optrun.train("configs/height_weight_gd.yaml", overrides=["optimizer.lr=1e-4"])
>>> result.summary["status"], result.trace["loss"].iloc[-1]
>>> optrun.load_run(result.run_dir).summary
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optrun._version import __version__
from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.rundir import (
    versions,
    atomic_write_text, create_run_dir, is_write_error, read_summary, read_trace, truncate_partial_line, write_json,
)


@dataclass
class RunResult:
    """A run folder read back: ``run_dir``, ``summary`` (dict), ``trace`` (DataFrame, lazy)."""

    run_dir: Path
    summary: dict
    _trace: Any = field(default=None, repr=False)

    @property
    def trace(self):
        if self._trace is None:
            self._trace = read_trace(self.run_dir)  # up to the last complete row
        return self._trace

    @property
    def config(self) -> dict:
        return config_mod.read_config_file(self.run_dir / "config.yaml")


def load_run(path: str | Path) -> RunResult:
    """Read a run folder (made by train, compare or sweep, on any machine)."""
    run_dir = Path(path)
    return RunResult(run_dir=run_dir, summary=read_summary(run_dir))


def _metrics(problem, theta: np.ndarray) -> dict:
    """Final metrics: r2 for linear, accuracy for logistic (training set, and validation)."""
    obj, ds = problem.objective, problem.data
    out: dict[str, Any] = {}

    def score(X, y):
        pred = obj.predict(theta, X)
        if obj.model == "logistic":
            return "accuracy", float(np.mean((pred >= 0.5) == (y == 1)))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        return "r2", (1.0 - float(np.sum((y - pred) ** 2)) / ss_tot) if ss_tot > 0 else None

    with np.errstate(all="ignore"):
        key, value = score(ds.X, ds.y)
        out[key] = value
        if ds.X_val is not None:
            out["val_loss"] = float(obj.data_loss(theta, ds.X_val, ds.y_val))
            out[f"val_{key}"] = score(ds.X_val, ds.y_val)[1]
    return out


def _versions() -> dict:
    return versions()


def _slug(cfg: dict, name: str | None) -> str:
    return name or cfg.get("name") or f"{cfg['optimizer']['name']}-{cfg['dataset']['name']}"


class Interrupted(KeyboardInterrupt):
    """Training was stopped *at once* (a second Ctrl-C / signal, or one before training began).

    A subclass of KeyboardInterrupt, so ``except KeyboardInterrupt`` still catches it.
    ``run_dir`` is the run folder (its summary says ``interrupted``), or None when nothing was
    written. The first interrupt never raises: the run stops after the current step and
    :func:`train` returns normally with status ``interrupted``.
    """

    def __init__(self, message: str, run_dir: Path | None = None):
        super().__init__(message)
        self.message = message
        self.run_dir = run_dir


def build_summary(problem, result, cfg_hash: str, run_name: str, trace_rows: int) -> dict:
    ref = problem.reference
    f_star = ref.f_star
    subopt = (result.loss - f_star) if (f_star is not None and np.isfinite(result.loss)) else None
    names = problem.param_names
    return {
        "status": result.status,
        "stop_reason": result.stop_reason,
        "name": run_name,
        "steps": result.steps,
        "epochs": result.epochs,
        "samples": result.samples,
        "final_loss": result.loss,
        "f_star": f_star,
        "suboptimality": subopt,
        "grad_norm": result.grad_norm,
        "params": dict(zip(names, result.theta.tolist())),
        "theta_star": dict(zip(names, ref.theta_star.tolist())) if ref.theta_star is not None else None,
        "distance_to_theta_star": float(np.linalg.norm(result.theta - ref.theta_star)) if ref.theta_star is not None else None,
        **_metrics(problem, result.theta),
        "wall_time_s": result.wall_time_s,
        "seed": problem.config["seed"],
        "config_hash": cfg_hash,
        "n_train": int(problem.data.X.shape[0]),
        "n_features": int(problem.data.X.shape[1]),
        "n_val": int(problem.data.X_val.shape[0]) if problem.data.X_val is not None else 0,
        "total_steps": problem.total_steps,
        "log_every": problem.log_every,
        "trace_rows": trace_rows,
        "diverged_at_step": result.steps if result.status == "diverged" else None,
        "optimizer_report": result.optimizer_report,
        "diagnostics": ref.to_dict(),
        "versions": _versions(),
    }


def train(
    config: str | Path | dict,
    overrides: list[str] | dict | None = None,
    out: str | Path = "runs",
    plots: bool = True,
    quiet: bool = True,
    name: str | None = None,
    stop=None,
    progress=None,
    plot_format: str = "png",
) -> RunResult:
    """Train one experiment and write its run folder; return the folder read back.

    ``config`` is a YAML path or a dict (relative CSV paths in a dict resolve against the
    current folder); ``overrides`` are ``KEY=VALUE`` strings or a ``{dotted key: value}`` dict.
    ``quiet`` is accepted for symmetry with the CLI: the API itself never prints.

    Failure modes (docs/reliability.md):

    * bad config/data/output folder: :class:`~optrun.errors.OptrunError`, raised before anything
      is written (no run folder is left behind);
    * divergence and a first interrupt (``stop.request()``, e.g. from a signal handler) are
      results: the summary says ``diverged`` / ``interrupted`` and the run returns normally;
    * a second interrupt (KeyboardInterrupt while training): :class:`Interrupted`, the summary
      says ``interrupted`` and the trace holds every recorded row;
    * the disk fills up (or the folder becomes unwritable) mid-run: the summary says ``failed``
      if it can still be written, the trace is cut back to its last complete row, and an
      OptrunError names the folder and the reason;
    * any other exception is a bug: the summary says ``failed``, ``error.txt`` holds the
      traceback, and the exception propagates with ``run_dir`` set on it.
    """
    from optrun import engine
    from optrun.prepare import prepare
    from optrun.trace import TraceWriter, trace_columns

    stop = stop or engine.StopFlag()
    cfg, where, origin = config_mod.load_located(config, overrides)
    if name is not None:
        cfg["name"] = name
    try:
        # numpy's floating-point warnings are noise on a user's screen; the data checks and the
        # reference computation report real problems themselves
        with np.errstate(all="ignore"):
            problem = prepare(cfg)
    except OptrunError as exc:
        raise OptrunError(config_mod.locate(str(exc), where, origin)) from None
    except MemoryError:
        raise OptrunError(
            f"{where}: not enough memory to load the data and set up the problem "
            "(use fewer rows or features)"
        ) from None
    if stop.requested:
        raise Interrupted("interrupted before training started; nothing was written")

    run_name = _slug(cfg, name)
    cfg_hash = config_mod.config_hash(cfg)
    ident = {"name": run_name, "config_hash": cfg_hash, "seed": cfg["seed"]}
    run_dir = create_run_dir(out, run_name)
    trace_path = run_dir / "trace.csv"
    writer = None
    try:
        atomic_write_text(run_dir / "config.yaml", config_mod.dump(cfg))
        # "running" until the final summary replaces it; after a kill -9 it stays so, and the
        # pid/host tell a reader whether the process is still alive
        write_json(run_dir / "summary.json", {
            "status": "running", "stop_reason": None, **ident, "started_at": _now(),
            "pid": os.getpid(), "host": socket.gethostname(), "versions": _versions(),
        })
        columns = trace_columns(problem.param_names, problem.data.X_val is not None)
        writer = TraceWriter(trace_path, columns)
    except BaseException as exc:
        # nothing has run yet: leave nothing behind
        if writer is not None:
            _close_quietly(writer, exc, trace_path)
        shutil.rmtree(run_dir, ignore_errors=True)
        if is_write_error(exc):
            raise OptrunError(f"--out {out}: cannot write the run folder: {exc.strerror or exc}; nothing was kept") from None
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted("interrupted before training started; nothing was written") from None
        raise

    try:
        with np.errstate(all="ignore"):
            result = engine.run(problem, writer, stop=stop, progress=progress)
            writer.close()
            summary = build_summary(problem, result, cfg_hash, run_name, writer.rows_written)
        write_json(run_dir / "summary.json", summary)
    except KeyboardInterrupt as exc:
        # a second interrupt: stop at once, but keep every recorded row and say so
        clean = _close_quietly(writer, exc, trace_path)
        _write_quietly(run_dir / "summary.json", {
            "status": "interrupted",
            "stop_reason": "stopped at once by a second interrupt (KeyboardInterrupt); summary incomplete",
            **ident, **(_last_row(writer) if clean else {}), "versions": _versions(),
        })
        raise Interrupted(f"stopped at once (second interrupt); {run_dir} keeps the trace so far", run_dir) from None
    except Exception as exc:
        clean = _close_quietly(writer, exc, trace_path)
        error = f"{type(exc).__name__}: {exc}"
        _write_quietly(run_dir / "error.txt", traceback.format_exc(), text=True)
        if is_write_error(exc):
            reason = f"cannot write the run folder: {exc.strerror or exc}"
            _write_quietly(run_dir / "summary.json", {
                "status": "failed", "stop_reason": reason, "error": error,
                **ident, **(_last_row(writer) if clean else {}), "versions": _versions(),
            })
            raise OptrunError(f"{run_dir}: {reason}; the run is incomplete (trace.csv keeps its complete rows)") from None
        _write_quietly(run_dir / "summary.json", {
            "status": "failed", "stop_reason": f"internal error: {error}", "error": error,
            **ident, **(_last_row(writer) if clean else {}), "versions": _versions(),
        })
        try:
            exc.run_dir = run_dir  # the CLI points at error.txt
        except Exception:  # pragma: no cover - exceptions without a __dict__
            pass
        raise

    if plots:
        # plots read only the finished folder, so they come after the summary; a plotting
        # failure is recorded but never loses the run
        try:
            drawn, err = _draw_plots(run_dir, plot_format)
        except KeyboardInterrupt:
            raise Interrupted(
                f"stopped at once while drawing the plots; {run_dir} holds the run (status {summary['status']}); "
                f"`optrun plot {run_dir}` draws them", run_dir,
            ) from None
        summary["plots"] = drawn
        if err:
            summary["plots_error"] = err
        _write_quietly(run_dir / "summary.json", summary)
    return RunResult(run_dir=run_dir, summary=read_summary(run_dir))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _close_quietly(writer, exc: BaseException, trace_path: Path) -> bool:
    """Close the trace after a failure, keeping whole rows only. Returns True if the writer was
    flushed cleanly (its ``rows_written`` and ``last`` describe the file)."""
    clean = False
    try:
        if writer.writing or is_write_error(exc):
            writer.abandon()  # flushing again could duplicate the rows of the interrupted chunk
        else:
            writer.close()
            clean = True
    except BaseException:
        pass
    truncate_partial_line(trace_path)
    return clean


def _last_row(writer) -> dict:
    """Step and loss of the last row the trace holds (for an incomplete summary)."""
    try:
        row = dict(zip(writer.columns, writer.last.tolist()))
        return {"steps": int(row["step"]), "final_loss": row.get("loss"), "trace_rows": writer.rows_written}
    except Exception:
        return {}


def _write_quietly(path: Path, data, text: bool = False) -> None:
    """Best-effort write after a failure (the disk may be full): atomic or not at all."""
    try:
        if text:
            atomic_write_text(path, data)
        else:
            write_json(path, data)
    except Exception:
        pass


def _draw_plots(run_dir: Path, fmt: str) -> tuple[list[str], str | None]:
    """Draw the run's figures; returns (file names, error). A plotting failure never loses the
    run: the traceback goes to plots_error.txt and the error into the summary."""
    try:
        from optrun.plots import draw_run

        # figures of a diverged run hold inf/huge values: matplotlib's and numpy's warnings
        # about them are noise on the user's screen
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return [p.name for p in draw_run(run_dir, fmt=fmt)], None
    except Exception as exc:
        _write_quietly(run_dir / "plots_error.txt", traceback.format_exc(), text=True)
        return [], f"{type(exc).__name__}: {' '.join(str(exc).split())}"
