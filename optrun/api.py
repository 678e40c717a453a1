"""The Python API, mirroring the CLI.

>>> import optrun
>>> result = optrun.train("configs/height_weight_gd.yaml", overrides=["optimizer.lr=1e-4"])
>>> result.summary["status"], result.trace["loss"].iloc[-1]
>>> optrun.load_run(result.run_dir).summary

:func:`train` is a ladder of four one-job steps: :func:`load_problem` (config and problem; every user
error is raised here, before anything is written), :func:`open_run` (the run folder, rolled back
if it cannot be set up), :func:`_run_and_record` (the loop, and the one place that turns a failure
into a summary) and :func:`_draw` (the figures, read from the finished folder).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.rundir import (
    RunFolder, atomic_write_text, create_run_dir, is_write_error, status_summary, truncate_partial_line,
    versions, write_json,
)

NOTHING_WRITTEN = "interrupted before training started; nothing was written"


@dataclass
class RunResult:
    """A run folder read back: ``run_dir``, ``summary`` (dict), ``trace`` (DataFrame, lazy) and
    ``config`` (the resolved config.yaml)."""

    run_dir: Path
    summary: dict
    folder: RunFolder

    @property
    def trace(self):
        return self.folder.trace  # up to the last complete row

    @property
    def config(self) -> dict:
        if self.folder.config_problem is not None:
            raise OptrunError(self.folder.config_problem)
        return self.folder.config


def load_run(path: str | Path) -> RunResult:
    """Read a run folder (made by train, compare or sweep, on any machine).

    A folder without a readable ``summary.json`` is an OptrunError that says why."""
    folder = RunFolder(path).require()
    return RunResult(run_dir=folder.path, summary=folder.summary, folder=folder)


def _metrics(problem, theta: np.ndarray) -> dict:
    """Final metrics: r2 for linear, accuracy for logistic (training set, and validation)."""
    obj, ds = problem.objective, problem.data
    out: dict[str, Any] = {}
    if not hasattr(obj, "predict"):  # an objective without data: no fit to score
        return out

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


def _problem_names(problem) -> dict:
    """What the run fits: the target and feature columns (data), or the objective (no data)."""
    if problem.config.get("dataset") is None:
        model = problem.config["model"]
        return {"objective": model.get("function") or model["name"]}
    return {"target": problem.data.target_name, "features": list(problem.data.feature_names)}


def _divergence_hint(problem, result) -> str | None:
    """The likely cause of a divergence, from what the reference knows (None otherwise)."""
    if result.status != "diverged":
        return None
    ref, opt = problem.reference, problem.optimizer
    lr, max_lr = opt.hyperparams.get("lr"), ref.max_stable_lr
    kappa = ref.condition_number
    fix = "lower the lr" + ("" if problem.config.get("dataset") is None or problem.config["dataset"].get("standardize")
                            else " or set dataset.standardize=true")
    beta = float(opt.hyperparams.get("momentum") or 0.0)
    if lr is not None and max_lr is not None and opt.family in ("gd", "momentum"):
        # heavy ball on a quadratic is stable iff lr < 2(1 + β)/L (β = 0: plain GD's 2/L)
        bound, what = max_lr * (1 + beta), ("2/L" if beta == 0 else f"2(1+β)/L with β = {beta:g}")
        if lr > bound:
            cond = f" (κ = {kappa:.3g})" if kappa is not None and np.isfinite(kappa) else ""
            return f"lr {lr:g} > {what} = {bound:.3g}{cond}: {fix}"
    if lr is not None:
        return f"the loss grew past {problem.divergence_factor:.0e} x its initial value at lr {lr:g}: {fix}"
    return None


def _slug(cfg: dict, name: str | None) -> str:
    model = cfg["model"]
    what = cfg["dataset"]["name"] if cfg.get("dataset") else (model.get("function") or model["name"])
    return name or cfg.get("name") or f"{cfg['optimizer']['name']}-{what}"


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
    """The summary of a run that finished (completed, converged, diverged or interrupted at a
    step boundary): results, the reference solution, metrics and what produced them."""
    from optrun.results import extra_results

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
        "evals": result.evals,
        **_problem_names(problem),
        "hint": _divergence_hint(problem, result),
        "engine": getattr(problem, "engine", "numpy"),
        "optimizer_report": {**result.optimizer_report, **result.hook_reports},
        **extra_results(problem, result.theta),
        "diagnostics": ref.to_dict(),
        "versions": versions(),
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
    note: str | None = None,
    tags: list[str] | tuple[str, ...] = (),
    figure: dict | None = None,
) -> RunResult:
    """Train one experiment and write its run folder; return the folder read back.

    ``figure``: figure options (``style``, ``title``, ``subtitle``, ``font_scale``, ``size``,
    ``dpi``, ``format``, ``frames``) over the config's ``plots:`` section.
    ``note`` (free text) and ``tags`` (names) are stored in ``summary.json`` for ``optrun runs``
    (``--tag``, ``--note-contains``); they never change the config or its hash.

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
    from optrun.control import StopFlag

    stop = stop or StopFlag()
    labels = run_labels(note, tags)
    cfg, problem = load_problem(config, overrides, name)
    if stop.requested:
        raise Interrupted(NOTHING_WRITTEN)
    run = open_run(cfg, problem, out, name, labels)
    summary = _run_and_record(run, problem, stop, progress)
    if plots:
        _draw(run.dir, summary, plot_format, {**(cfg.get("plots") or {}), **(figure or {})})
    return load_run(run.dir)


def load_problem(config, overrides, name: str | None) -> tuple[dict, Any]:
    """The resolved config and the prepared problem; every error names its file or override."""
    from optrun.prepare import prepare

    cfg, where, origin = config_mod.load_located(config, overrides)
    if name is not None:
        cfg["name"] = name
    try:
        if cfg.get("plots") is not None:  # the figure options live with the figures (plots.style)
            from optrun.plots.style import check_plot_options

            cfg["plots"] = check_plot_options(cfg["plots"])
        # numpy's floating-point warnings are noise on a user's screen; the data checks and the
        # reference computation report real problems themselves
        with np.errstate(all="ignore"):
            return cfg, prepare(cfg)
    except OptrunError as exc:
        raise OptrunError(config_mod.locate(str(exc), where, origin), key=exc.key) from None
    except MemoryError:
        raise OptrunError(
            f"{where}: not enough memory to load the data and set up the problem "
            "(use fewer rows or features)"
        ) from None


class _Run(NamedTuple):
    """An open run: its folder, its trace writer and what names it in every summary."""

    dir: Path
    writer: Any
    ident: dict  # name, config_hash, seed
    cfg_hash: str


_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$")


def run_labels(note: str | None, tags) -> dict:
    """``{"note": ..., "tags": [...]}`` for a summary (only what is set), checked: a note is one
    line of at most 2,000 characters, a tag a name of letters, digits and ``_.:+-``."""
    out: dict[str, Any] = {}
    if note is not None:
        if not isinstance(note, str) or "\n" in note or len(note) > 2000:
            raise OptrunError("note: expected one line of text (at most 2,000 characters)", key="note")
        out["note"] = note
    tags = list(tags or ())
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise OptrunError(f"tag {str(tag)[:70]!r}: expected a name of letters, digits and _.:+- "
                              "(at most 64 characters)", key="tag")
    if tags:
        out["tags"] = sorted(set(tags))
    return out


def run_ident(cfg: dict, name: str | None, labels: dict | None = None) -> dict:
    """What names a run in every summary: ``name``, ``config_hash``, ``seed`` and its labels."""
    return {"name": _slug(cfg, name), "config_hash": config_mod.config_hash(cfg), "seed": cfg["seed"], **(labels or {})}


def open_run(cfg: dict, problem, out, name: str | None, labels: dict | None = None) -> _Run:
    """Create the run folder with config.yaml, a ``running`` summary and the trace header.

    All or nothing: if any of it fails, the folder is removed (nothing has run yet). A folder
    that cannot be written is an OptrunError with ``key="out"`` (the CLI names its flag)."""
    from optrun import engine
    from optrun.trace import TraceWriter

    ident = run_ident(cfg, name, labels)
    cfg_hash = ident["config_hash"]
    run_dir = create_run_dir(out, ident["name"])
    writer = None
    try:
        atomic_write_text(run_dir / "config.yaml", config_mod.dump(cfg))
        # "running" until the final summary replaces it; after a kill -9 it stays so, and the
        # pid/host tell a reader whether the process is still alive
        write_json(run_dir / "summary.json", {
            "status": "running", "stop_reason": None, **ident, "started_at": _now(),
            "pid": os.getpid(), "host": _hostname(), "versions": versions(),
        })
        columns = engine.columns(problem)
        writer = TraceWriter(run_dir / "trace.csv", columns)
    except BaseException as exc:
        if writer is not None:  # a signal right after the header was written
            _close_quietly(writer, exc, run_dir / "trace.csv")
        shutil.rmtree(run_dir, ignore_errors=True)
        if is_write_error(exc):
            raise OptrunError(f"{out}: cannot write the run folder: {exc.strerror or exc}; nothing was kept",
                              key="out") from None
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(NOTHING_WRITTEN) from None
        raise
    return _Run(run_dir, writer, ident, cfg_hash)


def _run_and_record(run: _Run, problem, stop, progress) -> dict:
    """Train, write the final summary and return it. The one place where a failure becomes a
    summary (:func:`optrun.rundir.status_summary`): a second interrupt (``interrupted``), a
    folder that can no longer be written, or a bug (``failed``, with ``error.txt``)."""
    from optrun import engine

    writer = run.writer
    try:
        with np.errstate(all="ignore"):
            result = engine.run(problem, writer, stop=stop, progress=progress)
            writer.close()
            summary = build_summary(problem, result, run.cfg_hash, run.ident["name"], writer.rows_written)
            summary.update({k: run.ident[k] for k in ("note", "tags") if k in run.ident})
        write_json(run.dir / "summary.json", summary)
        return summary
    except KeyboardInterrupt as exc:
        # a second interrupt: stop at once, but keep every recorded row and say so
        _record(run, exc, "interrupted", "stopped at once by a second interrupt (KeyboardInterrupt); summary incomplete")
        raise Interrupted(f"stopped at once (second interrupt); {run.dir} keeps the trace so far", run.dir) from None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if is_write_error(exc):
            reason = f"cannot write the run folder: {exc.strerror or exc}"
            _record(run, exc, "failed", reason, error)
            raise OptrunError(f"{run.dir}: {reason}; the run is incomplete (trace.csv keeps its complete rows)") from None
        _record(run, exc, "failed", f"internal error: {error}", error)
        try:
            exc.run_dir = run.dir  # the CLI points at error.txt
        except Exception:  # pragma: no cover - exceptions without a __dict__
            pass
        raise


def _record(run: _Run, exc: BaseException, status: str, reason: str, error: str | None = None) -> None:
    """After a failure: cut the trace back to whole rows, keep the traceback of an error in
    ``error.txt``, then write the incomplete summary (with the last row's step and loss when the
    trace was flushed cleanly)."""
    clean = _close_quietly(run.writer, exc, run.dir / "trace.csv")
    last = _last_row(run.writer) if clean else {}
    if error is not None:  # called inside the except block: format_exc is this failure's
        _write_quietly(run.dir / "error.txt", traceback.format_exc(), text=True)
    _write_quietly(run.dir / "summary.json", status_summary(status, reason, run.ident, last, error=error))


def _draw(run_dir: Path, summary: dict, fmt: str, options: dict | None = None) -> None:
    """Draw the figures and record them in the summary. Plots read only the finished folder, so
    they come after the summary; a plotting failure is recorded but never loses the run."""
    try:
        drawn, err = _draw_plots(run_dir, fmt, options)
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped at once while drawing the plots; {run_dir} holds the run (status {summary['status']}); "
            f"`optrun plot {run_dir}` draws them", run_dir,
        ) from None
    summary["plots"] = drawn
    if err:
        summary["plots_error"] = err
    _write_quietly(run_dir / "summary.json", summary)


def _hostname() -> str:
    import socket  # lazy: 3 ms of start-up for one string

    return socket.gethostname()


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


def _draw_plots(run_dir: Path, fmt: str, options: dict | None = None) -> tuple[list[str], str | None]:
    """Draw the run's figures; returns (file names, error). A plotting failure never loses the
    run: the traceback goes to plots_error.txt and the error into the summary."""
    try:
        from optrun.plots import draw_run
        from optrun.plots.style import figure_options

        figure = figure_options(None, **{"format": fmt, **(options or {})}) if options else None
        # figures of a diverged run hold inf/huge values: matplotlib's and numpy's warnings
        # about them are noise on the user's screen
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            drawn = draw_run(run_dir, fmt=fmt, options=figure) if figure is not None else draw_run(run_dir, fmt=fmt)
            return [p.name for p in drawn], None
    except Exception as exc:
        _write_quietly(run_dir / "plots_error.txt", traceback.format_exc(), text=True)
        return [], f"{type(exc).__name__}: {' '.join(str(exc).split())}"
