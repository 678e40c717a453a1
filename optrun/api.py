"""The Python API, mirroring the CLI (DESIGN.md §7).

>>> import optrun
>>> result = optrun.train("configs/height_weight_gd.yaml", overrides=["optimizer.lr=1e-4"])
>>> result.summary["status"], result.trace["loss"].iloc[-1]
>>> optrun.load_run(result.run_dir).summary
"""

from __future__ import annotations

import platform
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optrun import __version__
from optrun import config as config_mod
from optrun.errors import OptrunError
from optrun.rundir import atomic_write_text, create_run_dir, read_summary, write_json


@dataclass
class RunResult:
    """A run folder read back: ``run_dir``, ``summary`` (dict), ``trace`` (DataFrame, lazy)."""

    run_dir: Path
    summary: dict
    _trace: Any = field(default=None, repr=False)

    @property
    def trace(self):
        if self._trace is None:
            import pandas as pd

            self._trace = pd.read_csv(self.run_dir / "trace.csv")
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
    return {"optrun": __version__, "numpy": np.__version__, "python": platform.python_version()}


def _slug(cfg: dict, name: str | None) -> str:
    return name or cfg.get("name") or f"{cfg['optimizer']['name']}-{cfg['dataset']['name']}"


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
    Raises :class:`~optrun.errors.OptrunError` for bad input, before anything is written.
    ``quiet`` is accepted for symmetry with the CLI: the API itself never prints.
    """
    from optrun import engine
    from optrun.prepare import prepare
    from optrun.trace import TraceWriter, trace_columns

    cfg = config_mod.load(config, overrides)
    if name is not None:
        cfg["name"] = name
    problem = prepare(cfg)
    run_name = _slug(cfg, name)
    cfg_hash = config_mod.config_hash(cfg)

    run_dir = create_run_dir(out, run_name)
    atomic_write_text(run_dir / "config.yaml", config_mod.dump(cfg))
    write_json(run_dir / "summary.json", {"status": "running", "name": run_name, "config_hash": cfg_hash, "seed": cfg["seed"]})
    columns = trace_columns(problem.param_names, problem.data.X_val is not None)
    writer = TraceWriter(run_dir / "trace.csv", columns)
    stop = stop or engine.StopFlag()
    try:
        result = engine.run(problem, writer, stop=stop, progress=progress)
    except KeyboardInterrupt:
        # a second Ctrl-C: leave at once, but say so in the folder
        writer.close()
        write_json(run_dir / "summary.json", {
            "status": "interrupted", "stop_reason": "interrupted twice: stopped at once, summary incomplete",
            "name": run_name, "config_hash": cfg_hash, "seed": cfg["seed"], "trace_rows": writer.rows_written,
        })
        raise
    except Exception as exc:
        writer.close()
        atomic_write_text(run_dir / "error.txt", traceback.format_exc())
        write_json(run_dir / "summary.json", {
            "status": "failed", "stop_reason": f"{type(exc).__name__}: {exc}", "error": f"{type(exc).__name__}: {exc}",
            "name": run_name, "config_hash": cfg_hash, "seed": cfg["seed"], "trace_rows": writer.rows_written,
            "versions": _versions(),
        })
        raise
    writer.close()
    summary = build_summary(problem, result, cfg_hash, run_name, writer.rows_written)
    write_json(run_dir / "summary.json", summary)
    if plots:  # plots read only the finished folder, so they come after the summary
        summary["plots"] = _draw_plots(run_dir, plot_format)
        write_json(run_dir / "summary.json", summary)
    return RunResult(run_dir=run_dir, summary=read_summary(run_dir))


def _draw_plots(run_dir: Path, fmt: str) -> list[str]:
    """Draw the run's figures; a plotting failure is reported, never loses the run."""
    try:
        from optrun.plots import draw_run

        return [p.name for p in draw_run(run_dir, fmt=fmt)]
    except OptrunError:
        raise
    except Exception as exc:  # pragma: no cover - a plotting bug must not lose a finished run
        atomic_write_text(run_dir / "plots_error.txt", traceback.format_exc())
        print(f"warning: plots failed ({type(exc).__name__}: {exc}); see plots_error.txt", file=sys.stderr)
        return []
