"""High layer: run folders -> plain arrays, ready for the low layer (:mod:`optrun.plots.figures`).

Everything a figure shows is computed here, from the run folder alone (``config.yaml``,
``trace.csv``, ``summary.json``), never by training again. The dataclasses below are exactly
what is handed to matplotlib, so the tests check them numerically (contour values against the
objective, bands around their median, the projection residual).

Contours need the data: they are recomputed from the dataset the resolved ``config.yaml``
describes (``optrun.prepare.load_data``) and the objective (``make_objective``). When that fails
(a CSV moved away), :func:`load_problem` returns the reason and the figures say it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optrun.errors import OptrunError
from optrun.plots import colors

EPS = float(np.finfo(np.float64).eps)

X_COLUMNS = {"step": "step", "epoch": "epoch", "samples": "samples", "time": "time_s"}
X_LABELS = {
    "step": "optimizer step t",
    "epoch": "epoch (passes over the training set)",
    "samples": "training samples seen",
    "time": "wall time (s)",
}
Y_KINDS = ("loss", "subopt", "grad_norm", "dist")
Y_LABELS = {
    "loss": "training loss f(θ)",
    "subopt": "suboptimality f(θ) − f*",
    "grad_norm": "gradient norm ‖∇f(θ)‖",
    "dist": "distance to the optimum ‖θ − θ*‖",
}
LOG_BY_DEFAULT = {"loss": False, "subopt": True, "grad_norm": True, "dist": True}

MAX_POINTS = 4000  # points per drawn line (long traces are thinned, first/last rows kept)


# ============================================================================================
# Runs and groups


@dataclass(eq=False)  # identity: two folders are two runs
class RunData:
    """One run folder, read back."""

    path: Path
    summary: dict
    config: dict | None
    trace: Any  # pandas.DataFrame
    param_names: list[str]
    problems: list[str] = field(default_factory=list)  # what could not be read

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def f_star(self) -> float | None:
        v = self.summary.get("f_star")
        return float(v) if v is not None else None

    @property
    def theta_star(self) -> np.ndarray | None:
        ts = self.summary.get("theta_star")
        if isinstance(ts, dict) and all(ts.get(n) is not None for n in self.param_names):
            return np.array([float(ts[n]) for n in self.param_names])
        return None

    @property
    def seed(self):
        return self.summary.get("seed", (self.config or {}).get("seed"))

    @property
    def optimizer(self) -> str:
        if self.config:
            return colors.effective_name(self.config.get("optimizer") or {})
        return "?"

    @property
    def family(self) -> str:
        return colors.family_of(self.optimizer)

    @property
    def batch_mode(self) -> str:
        return str(((self.config or {}).get("batch") or {}).get("mode", "full"))

    @property
    def params(self) -> np.ndarray:
        return self.trace[self.param_names].to_numpy(dtype=float)

    def setting(self) -> str:
        """A key equal for runs that differ only by their seed (and name)."""
        cfg = {k: v for k, v in (self.config or {"path": str(self.path)}).items() if k not in ("seed", "name")}
        return json.dumps(cfg, sort_keys=True, default=str)


def load_run(path: str | Path) -> RunData:
    """Read a run folder; raise OptrunError when it is not one (no summary.json / trace.csv)."""
    import pandas as pd

    from optrun import config as config_mod
    from optrun.rundir import read_summary, read_trace

    path = Path(path)
    if not path.is_dir():
        raise OptrunError(f"{path}: not a folder")
    summary = read_summary(path)
    problems = []
    try:
        config = config_mod.read_config_file(path / "config.yaml")
    except OptrunError as exc:
        config, problems = None, [f"config.yaml unreadable ({exc})"]
    tpath = path / "trace.csv"
    if not tpath.is_file():
        raise OptrunError(f"{path}: no trace.csv, nothing to plot")
    try:
        trace = read_trace(path)  # up to the last complete row (a killed run may cut one off)
    except OptrunError:
        raise
    except Exception as exc:  # pandas raises several types for broken files
        raise OptrunError(f"{tpath}: cannot read the trace ({exc})") from None
    if trace.empty:
        raise OptrunError(f"{tpath}: the trace has no rows")
    base = {"step", "epoch", "samples", "time_s", "lr", "loss", "batch_loss", "grad_norm", "val_loss"}
    param_names = [c for c in trace.columns if c not in base]
    for c in trace.columns:
        trace[c] = pd.to_numeric(trace[c], errors="coerce")
    return RunData(path=path, summary=summary, config=config, trace=trace, param_names=param_names, problems=problems)


@dataclass
class Group:
    """Runs of one setting (they differ only by their seed), drawn in one style."""

    runs: list[RunData]
    label: str
    color: str
    linestyle: Any = "-"

    @property
    def first(self) -> RunData:
        return self.runs[0]

    @property
    def n_diverged(self) -> int:
        return sum(r.diverged for r in self.runs)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return str(v)


def batch_text(batch: dict) -> str:
    mode = batch.get("mode", "full")
    if mode == "full":
        return "full batch"
    if mode == "stochastic":
        return "stochastic (size 1)"
    return f"minibatch {batch.get('size')}"


def optimizer_text(opt: dict, keys: list[str] | None = None) -> str:
    """``"adam lr=0.01"``; ``keys`` limits which hyperparameters are shown (default: lr)."""
    keys = ["lr"] if keys is None else keys
    parts = [str(opt.get("name", "?"))]
    for k in keys:
        if k in opt and k != "name":
            v = opt[k]
            parts.append(f"{k}={_fmt(v['name'] if k == 'schedule' and isinstance(v, dict) else v)}")
    return " ".join(parts)


def make_labels(configs: list[dict | None]) -> list[str]:
    """Legend labels naming what differs between settings (seed and name never count)."""
    if len(configs) == 1 or any(c is None for c in configs):
        return [optimizer_text((c or {}).get("optimizer") or {}) if c else "run" for c in configs]
    from optrun._text import flatten

    flats = [flatten({k: v for k, v in c.items() if k not in ("seed", "name")}) for c in configs]
    keys = sorted(set().union(*flats), key=lambda k: list(flats[0]).index(k) if k in flats[0] else 10**6)
    differ = [k for k in keys if len({json.dumps(f.get(k), default=str) for f in flats}) > 1]
    names = {c["optimizer"].get("name") for c in configs}
    # optimizer hyperparameters worth naming: lr when several optimizers (or lrs) are compared,
    # others only where they differ between runs of the *same* optimizer
    opt_keys: list[str] = []
    if len(names) > 1 or "optimizer.lr" in differ:
        opt_keys.append("lr")
    for k in differ:
        if not k.startswith("optimizer.") or k in ("optimizer.name", "optimizer.lr"):
            continue
        leaf = k.split(".")[1]
        for name in names:
            same = [f for c, f in zip(configs, flats) if c["optimizer"].get("name") == name]
            if len({json.dumps(f.get(k), default=str) for f in same}) > 1 and leaf not in opt_keys:
                opt_keys.append(leaf)
    labels = []
    for c, f in zip(configs, flats):
        parts = []
        if len(names) > 1 or opt_keys:
            parts.append(optimizer_text(c["optimizer"], opt_keys) if len(names) > 1
                         else " ".join(optimizer_text(c["optimizer"], opt_keys).split(" ")[1:]))
        if any(k.startswith("batch.") for k in differ):
            parts.append(batch_text(c.get("batch") or {}))
        for k in differ:
            if k.startswith(("optimizer.", "batch.")):
                continue
            parts.append(f"{k.split('.')[-1]}={_fmt(f.get(k))}")
        labels.append(", ".join(p for p in parts if p) or optimizer_text(c["optimizer"]))
    return labels


def group_runs(runs: list[RunData], labels: dict[str, str] | None = None) -> tuple[list[Group], str]:
    """Group runs by setting (seeds together), label and style them. Returns (groups, note).

    ``labels`` maps a run folder's name to its legend label (compare passes its own).
    """
    order: dict[str, list[RunData]] = {}
    for r in runs:
        order.setdefault(r.setting(), []).append(r)
    members = list(order.values())
    auto = make_labels([m[0].config for m in members])
    if labels:
        auto = [labels.get(m[0].path.name, a) for m, a in zip(members, auto)]
    styles, note = colors.assign_styles([(m[0].optimizer, m[0].family) for m in members])
    groups = []
    for m, label, st in zip(members, auto, styles):
        n_div = sum(r.diverged for r in m)
        if n_div:
            label += " (diverged)" if len(m) == 1 else f" ({n_div}/{len(m)} diverged)"
        elif len(m) == 1 and m[0].status in ("failed", "interrupted"):
            label += f" ({m[0].status})"
        groups.append(Group(runs=m, label=label, color=st["color"], linestyle=st["linestyle"]))
    return groups, note


def default_x(runs: list[RunData]) -> str:
    """Epochs when batch modes differ (equal work), else optimizer steps."""
    return "epoch" if len({r.batch_mode for r in runs}) > 1 else "step"


# ============================================================================================
# Titles and captions from the resolved config


def dataset_text(config: dict | None, summary: dict | None = None) -> str:
    if not config:
        return "?"
    ds = config.get("dataset") or {}
    name = ds.get("name", "?")
    if name == "csv":
        name = Path(str(ds.get("path", "csv"))).stem
    parts = [name]
    if name.startswith("synthetic"):
        extra = [f"{k}={_fmt(ds[k])}" for k in ("n_samples", "n_features", "condition_number", "noise", "label_noise") if k in ds]
        if extra:
            parts.append("(" + ", ".join(extra) + ")")
    elif summary and summary.get("n_train"):
        parts.append(f"({summary['n_train']} rows)")
    if ds.get("standardize"):
        parts.append("standardized")
    return " ".join(parts)


def problem_text(config: dict | None, summary: dict | None = None) -> str:
    """``"women (15 rows) standardized · linear, half_mse"``."""
    if not config:
        return "?"
    model = config.get("model") or {}
    loss = config.get("loss") or {}
    pen = [f"{k}={_fmt(loss[k])}" for k in ("l2", "l1") if loss.get(k)]
    text = f"{dataset_text(config, summary)} · {model.get('name', '?')} regression, {loss.get('name', '?')} loss"
    return text + (f" + {', '.join(pen)}" if pen else "")


def budget_text(config: dict) -> str:
    """The configured budget, said as one (a run may stop earlier: converged, diverged, ...)."""
    tr = config.get("train") or {}
    if tr.get("steps") is not None:
        return f"budget {tr['steps']} steps"
    return f"budget {_fmt(tr.get('epochs'))} epochs"


def run_text(config: dict | None) -> str:
    """``"sgd lr=0.5 · full batch · budget 200 steps"`` (the optimizer's non-default hyperparameters)."""
    if not config:
        return ""
    opt = dict(config.get("optimizer") or {})
    keys = ["lr"]
    try:
        from optrun import optim

        spec = optim.get_spec(opt["name"])
        for k, p in spec.params.items():
            default = getattr(p, "default", None)
            if k != "lr" and k in opt and default is not None and _fmt(opt[k]) != _fmt(default):
                keys.append(k)
    except Exception:
        pass
    sched = opt.get("schedule") or {}
    text = optimizer_text(opt, keys)
    if isinstance(sched, dict) and sched.get("name", "constant") != "constant":
        text += f" ({sched['name']} schedule)"
    return f"{text} · {batch_text(config.get('batch') or {})} · {budget_text(config)}"


def figure_title(groups: list[Group]) -> tuple[str, str]:
    """(title, subtitle) for a figure of these groups."""
    first = groups[0].first
    title = problem_text(first.config, first.summary)
    if len(groups) == 1:
        r = first
        sub = run_text(r.config)
        if len(groups[0].runs) > 1:
            sub += f" · {len(groups[0].runs)} seeds (median, 10–90% band)"
        return title, sub
    n_seeds = max(len(g.runs) for g in groups)
    sub = f"{len(groups)} settings compared"
    if first.config and len({budget_text(g.first.config or {}) for g in groups}) == 1:
        sub += f" · {budget_text(first.config)}"
    if n_seeds > 1:
        sub += f" · {n_seeds} seeds each (median, 10–90% band)"
    return title, sub


# ============================================================================================
# Curves (loss, f - f*, gradient norm, distance to theta*)


@dataclass
class Series:
    x: np.ndarray
    y: np.ndarray
    label: str | None
    color: str
    linestyle: Any = "-"
    alpha: float = 1.0
    linewidth: float = 1.7
    zorder: float = 2.0


@dataclass
class Band:
    x: np.ndarray
    median: np.ndarray
    lo: np.ndarray  # 10% quantile across seeds
    hi: np.ndarray  # 90% quantile
    label: str
    color: str
    linestyle: Any = "-"
    n: int = 0


@dataclass
class Marker:
    """A run's end marker: × for divergence (``clipped`` when drawn at the frame edge)."""

    x: float
    y: float
    color: str
    text: str
    kind: str = "diverged"
    clipped: bool = False
    series: Any = None  # the series it ends (while the arrays are built)


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    log: bool
    series: list[Series] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    hlines: list[tuple[float, str, str]] = field(default_factory=list)  # (y, label, color)
    ylim: tuple[float, float] | None = None
    floor: float | None = None
    notes: list[str] = field(default_factory=list)
    empty_reason: str | None = None  # when there is nothing to draw, say why


def _thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Row indices of a long trace to draw (evenly spaced, first and last kept)."""
    if n <= max_points:
        return np.arange(n)
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return idx


def run_y(run: RunData, y: str) -> tuple[np.ndarray | None, str | None]:
    """The values of ``y`` for each trace row, or (None, why not)."""
    t = run.trace
    with np.errstate(all="ignore"):
        if y == "loss":
            return t["loss"].to_numpy(float), None
        if y == "batch_loss":
            return t["batch_loss"].to_numpy(float), None
        if y == "grad_norm":
            return t["grad_norm"].to_numpy(float), None
        if y == "subopt":
            if run.f_star is None:
                return None, _why_no_reference(run, "f*")
            return t["loss"].to_numpy(float) - run.f_star, None
        if y == "dist":
            ts = run.theta_star
            if ts is None:
                return None, _why_no_reference(run, "θ*")
            return np.sqrt(np.sum((run.params - ts) ** 2, axis=1)), None
    raise ValueError(f"unknown y {y!r}")


def _why_no_reference(run: RunData, what: str) -> str:
    note = (run.summary.get("diagnostics") or {}).get("note") or "no exact reference in summary.json"
    return f"{what} unavailable: {note}"


def run_x(run: RunData, x: str) -> np.ndarray:
    col = X_COLUMNS[x]
    return run.trace[col].to_numpy(float)


def _divergence_index(y: np.ndarray, run: RunData) -> int | None:
    """Index of the row where a diverged run is declared diverged (its last row)."""
    if not run.diverged:
        return None
    return len(y) - 1


def band_stats(xs: list[np.ndarray], ys: list[np.ndarray], carry: list[bool], n_grid: int = 300):
    """Median and 10–90% quantiles across seeds on a common x grid.

    Runs with identical x use their rows as the grid; otherwise curves are interpolated onto
    ``n_grid`` points. A run that ended early is carried forward at its last value when
    ``carry`` (it converged: the optimizer stopped there) and is missing (NaN) beyond its end
    otherwise. The median needs at least half of the runs present.
    """
    same = all(len(x) == len(xs[0]) and np.array_equal(x, xs[0]) for x in xs)
    if same:
        grid = xs[0]
        Y = np.vstack(ys)
    else:
        hi_x = max(x[-1] for x in xs)
        grid = np.linspace(min(x[0] for x in xs), hi_x, n_grid)
        Y = np.full((len(xs), n_grid), np.nan)
        for i, (x, yv, c) in enumerate(zip(xs, ys, carry)):
            ok = np.isfinite(yv)
            if ok.sum() < 1:
                continue
            xi, yi = x[ok], yv[ok]
            Y[i] = np.interp(grid, xi, yi, left=np.nan, right=yi[-1] if c else np.nan)
            if not c:
                Y[i, grid > x[-1]] = np.nan
    Y = np.where(np.isfinite(Y), Y, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(Y, axis=0)
            lo = np.nanquantile(Y, 0.1, axis=0)
            hi = np.nanquantile(Y, 0.9, axis=0)
    enough = np.sum(np.isfinite(Y), axis=0) * 2 >= len(xs)
    med[~enough] = np.nan
    lo[~enough] = np.nan
    hi[~enough] = np.nan
    return grid, med, lo, hi


def _finite(a: np.ndarray) -> np.ndarray:
    return a[np.isfinite(a)]


def curve_panel(groups: list[Group], x: str, y: str, log: bool | None = None,
                faint_batch_loss: bool = True, title: str | None = None) -> Panel:
    """One panel of ``y`` against ``x`` for every group (seeds -> median and band)."""
    log = LOG_BY_DEFAULT[y] if log is None else log
    panel = Panel(title=title or Y_LABELS[y], xlabel=X_LABELS[x], ylabel=Y_LABELS[y], log=log)
    if y == "loss":
        loss_names = {(g.first.config or {}).get("loss", {}).get("name") for g in groups}
        if len(loss_names) == 1 and None not in loss_names:
            panel.ylabel = f"training loss f(θ) ({loss_names.pop()})"
    reasons = []
    keep_vals: list[np.ndarray] = []  # values that define the y range (non-diverged runs)
    start_vals: list[float] = []
    div_vals: list[np.ndarray] = []
    div_view: list[np.ndarray] = []  # the first steps of diverged runs (used when all diverged)
    f_stars = set()

    for g in groups:
        xs, ys, carry = [], [], []
        for r in g.runs:
            yv, why = run_y(r, y)
            if yv is None:
                reasons.append(why)
                continue
            xv = run_x(r, x)
            xs.append(xv)
            ys.append(yv)
            carry.append(r.status == "converged")
            if r.f_star is not None:
                f_stars.add(round(r.f_star, 12))
            if np.isfinite(yv[0]):
                start_vals.append(float(yv[0]))
            if r.diverged:
                div_vals.append(yv)
                # its first steps stay in view: values up to a few times where it started
                y0 = yv[0] if np.isfinite(yv[0]) else np.nan
                grow = 1e3 if (LOG_BY_DEFAULT[y] if log is None else log) else 3.0
                lim = abs(y0) * grow if np.isfinite(y0) else np.inf
                div_view.append(_finite(yv[np.isfinite(yv) & (np.abs(yv) <= lim)]))
            else:
                keep_vals.append(_finite(yv))
        if not ys:
            continue
        if len(ys) == 1:
            r = g.runs[0]
            xv, yv = xs[0], ys[0]
            if y == "loss" and faint_batch_loss and r.batch_mode != "full":
                bl, _ = run_y(r, "batch_loss")
                idx = _thin(len(bl))
                panel.series.append(Series(xv[idx], bl[idx], "batch loss (faint)" if len(groups) == 1 else None,
                                           g.color, "-", alpha=0.22, linewidth=0.8, zorder=1))
                if len(groups) > 1 and "faint lines: the loss of the batch behind each step" not in panel.notes:
                    panel.notes.append("faint lines: the loss of the batch behind each step")
            idx = _thin(len(yv))
            panel.series.append(Series(xv[idx], yv[idx], g.label, g.color, g.linestyle))
            k = _divergence_index(yv, r)
            if k is not None:
                panel.markers.append(Marker(float(xv[k]), float(yv[k]), g.color, f"diverged at step {int(r.trace['step'].iloc[k])}"))
        else:
            grid, med, lo, hi = band_stats(xs, ys, carry)
            panel.bands.append(Band(grid, med, lo, hi, g.label, g.color, g.linestyle, n=len(ys)))
            for r, xv, yv in zip(g.runs, xs, ys):
                if r.diverged:
                    panel.markers.append(Marker(float(xv[-1]), float(yv[-1]), g.color, "diverged"))

    if not panel.series and not panel.bands:
        panel.empty_reason = reasons[0] if reasons else "nothing to draw"
        return panel
    if reasons:
        panel.notes.append(f"{len(reasons)} run(s) not drawn: {reasons[0]}")
    if y == "loss" and len(f_stars) == 1:
        panel.hlines.append((f_stars.pop(), "f*", "#000000"))

    # ---- y range: readable for the runs that did not diverge
    body = np.concatenate(keep_vals or div_view) if (keep_vals or div_view) else np.array([])
    if log:
        floor = _log_floor(groups, y, body, div_vals)
        panel.floor = floor
        n_floored = _apply_floor(panel, floor)
        if n_floored:
            why = ("f − f* at or below 10 ulp of f* is rounding, not progress" if y == "subopt"
                   else "non-positive values")
            panel.notes.append(f"values below {floor:.2g} drawn at that floor ({why})")
        body = np.maximum(body, floor) if body.size else body
    ylim = _y_range(body, start_vals, log, bool(div_vals), panel.floor)
    panel.ylim = ylim
    for m in panel.markers:
        if not np.isfinite(m.y) or m.y > ylim[1]:
            m.y, m.clipped = ylim[1], True
        elif log and m.y < ylim[0]:
            m.y, m.clipped = ylim[0], True
    if panel.markers:
        panel.notes.append("× marks where a run diverged" + (" (drawn at the top edge: off the scale)" if any(m.clipped for m in panel.markers) else ""))
    return panel


def _log_floor(groups, y, body, div_vals) -> float:
    if y == "subopt":
        fs = [abs(r.f_star) for g in groups for r in g.runs if r.f_star is not None]
        scale = max(fs) if fs else 0.0
        res = 10 * EPS * scale
        if res > 0:
            return res
    pos = _finite(body)
    pos = pos[pos > 0]
    if pos.size:
        return float(pos.min())
    allv = np.concatenate([_finite(v) for v in div_vals]) if div_vals else np.array([])
    allv = allv[allv > 0]
    return float(allv.min()) if allv.size else 1e-16


def _apply_floor(panel: Panel, floor: float) -> int:
    n = 0
    with np.errstate(invalid="ignore"):
        for s in panel.series:
            bad = np.isfinite(s.y) & (s.y < floor)
            n += int(bad.sum()) if s.alpha >= 1 else 0
            s.y = np.where(bad, floor, s.y)
        for b in panel.bands:
            for name in ("median", "lo", "hi"):
                a = getattr(b, name)
                bad = np.isfinite(a) & (a < floor)
                if name == "median":
                    n += int(bad.sum())
                setattr(b, name, np.where(bad, floor, a))
    return n


def _y_range(body: np.ndarray, starts: list[float], log: bool, any_diverged: bool, floor: float | None):
    """Limits that show every non-diverged run in full; diverged runs leave through the top."""
    vals = _finite(body)
    if any_diverged:
        # the runs that diverged still show their first steps: include where they started
        vals = np.concatenate([vals, _finite(np.asarray(starts))])
    if log:
        vals = vals[vals > 0]
        if not vals.size:
            f = floor or 1e-16
            return f / 10, f * 10
        lo, hi = float(vals.min()), float(vals.max())
        if hi <= lo:
            lo, hi = lo / 10, hi * 10
        top = hi * (10.0 if any_diverged else 2.0)
        return lo / 2.0, top
    if not vals.size:
        return 0.0, 1.0
    lo, hi = float(vals.min()), float(vals.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    top = hi + span * (0.6 if any_diverged else 0.05)
    return lo - 0.05 * span, top


# ============================================================================================
# Parameter traces


@dataclass
class ParamPanel:
    name: str
    series: list[Series]
    star: float | None
    ylim: tuple[float, float] | None
    markers: list[Marker] = field(default_factory=list)


@dataclass
class ParamsData:
    panels: list[ParamPanel]
    xlabel: str
    notes: list[str] = field(default_factory=list)


MAX_PARAM_PANELS = 12


def params_data(groups: list[Group], x: str) -> ParamsData:
    """One panel per parameter: every run's trace, θ* as a dashed line."""
    first = groups[0].first
    names = first.param_names
    notes = []
    if len(names) > MAX_PARAM_PANELS:
        notes.append(f"showing {MAX_PARAM_PANELS - 1} of {len(names)} parameters (plus b if present); "
                     "`optrun plot --y dist` shows the distance to θ* of all of them")
        keep = names[: MAX_PARAM_PANELS - 1] + (["b"] if "b" in names else names[MAX_PARAM_PANELS - 1 : MAX_PARAM_PANELS])
        names = keep
    panels = []
    for j, name in enumerate(names):
        series, markers, body = [], [], []
        star = None
        for g in groups:
            for i, r in enumerate(g.runs):
                if name not in r.trace.columns:
                    continue
                xv, yv = run_x(r, x), r.trace[name].to_numpy(float)
                idx = _thin(len(yv))
                series.append(Series(xv[idx], yv[idx], g.label if i == 0 else None, g.color, g.linestyle,
                                     alpha=1.0 if i == 0 else 0.35, linewidth=1.6 if i == 0 else 0.9))
                if r.diverged:
                    mk = Marker(float(xv[-1]), float(yv[-1]), g.color, f"diverged at step {int(r.trace['step'].iloc[-1])}")
                    mk.series = series[-1]
                    markers.append(mk)
                    lossv = r.trace["loss"].to_numpy(float)
                    ok = np.isfinite(lossv) & (lossv <= 2 * lossv[0])
                    body.append(yv[ok])
                else:
                    body.append(yv)
                ts = r.theta_star
                if ts is not None and star is None and name in r.param_names:
                    star = float(ts[r.param_names.index(name)])
        vals = _finite(np.concatenate(body)) if body else np.array([])
        if star is not None:
            vals = np.append(vals, star)
        ylim = None
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            span = hi - lo if hi > lo else max(abs(hi), 1e-3)
            ylim = (lo - 0.08 * span, hi + 0.08 * span)
            # a diverged run is drawn until it leaves the frame, with a cross where it leaves
            for m in markers:
                s_ = m.series
                out = ~np.isfinite(s_.y) | (s_.y > ylim[1]) | (s_.y < ylim[0])
                k = np.flatnonzero(out)
                if k.size:
                    k0 = int(k[0])
                    s_.x, s_.y = s_.x[: k0 + 1], s_.y[: k0 + 1]
                    edge = ylim[1] if (np.isfinite(s_.y[-1]) and s_.y[-1] > ylim[1]) or not np.isfinite(s_.y[-1]) else ylim[0]
                    m.x, m.y, m.clipped = float(s_.x[-1]), edge, True
                    m.text = f"leaves the scale; {m.text}"
        for m in markers:
            m.series = None
        panels.append(ParamPanel(name, series, star, ylim, markers))
    if first.theta_star is None:
        notes.append(_why_no_reference(first, "θ*"))
    return ParamsData(panels, X_LABELS[x], notes)


# ============================================================================================
# The problem behind the runs (for contours and the data-space view)


@dataclass
class Problem:
    X: np.ndarray
    y: np.ndarray
    objective: Any
    feature_names: list[str]
    target_name: str
    standardized: bool


def load_problem(run: RunData) -> tuple[Problem | None, str | None]:
    """Re-load the run's training data and objective from its resolved config (or say why not)."""
    if run.config is None:
        return None, "config.yaml missing or unreadable"
    try:
        from optrun.prepare import load_data, make_objective

        ds = load_data(run.config)
        obj = make_objective(run.config)
    except Exception as exc:  # a moved CSV, a removed dataset, a newer config...
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"cannot reload the data ({msg})"
    X = np.asarray(ds.X, dtype=np.float64)
    y = np.asarray(ds.y, dtype=np.float64)
    feats = list(getattr(ds, "feature_names", None) or [n[2:] for n in run.param_names if n.startswith("w_")])
    expected = obj.n_params(X.shape[1])
    if expected != len(run.param_names):
        return None, f"the reloaded data have {expected} parameters, the trace {len(run.param_names)}"
    target = getattr(ds, "target_name", None) or (run.config.get("dataset") or {}).get("target") or "y"
    std = bool((run.config.get("dataset") or {}).get("standardize"))
    return Problem(X, y, obj, feats, str(target), std), None


# ============================================================================================
# Trajectory on the contours


@dataclass
class PathData:
    a: np.ndarray  # plane coordinates of each drawn row
    c: np.ndarray
    label: str | None
    color: str
    linestyle: Any
    diverged: bool
    alpha: float = 1.0
    x: np.ndarray | None = None  # the chosen x (step/epoch...) of each row, for animations
    off_plane: float = 0.0  # max distance off the plane / max distance to the origin
    exits: bool = False  # leaves the frame (a diverged run)


@dataclass
class ContourData:
    A: np.ndarray  # grid coordinates along the first axis (len Ga)
    C: np.ndarray  # along the second axis (len Gc)
    Z: np.ndarray  # (Gc, Ga) values of f - f_ref on the plane
    levels: np.ndarray
    zlabel: str
    origin: np.ndarray  # theta at (a, c) = (0, 0) (zeros for native axes)
    basis: np.ndarray  # (p, 2) orthonormal columns (identity for native axes)
    native: bool
    xlabel: str
    ylabel: str
    paths: list[PathData]
    star: tuple[float, float] | None
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)
    equal_aspect: bool = False
    f_ref: float = 0.0
    x_kind: str = "step"

    def theta_at(self, a: float, c: float) -> np.ndarray:
        return self.origin + self.basis @ np.array([a, c], dtype=float)


def project(thetas: np.ndarray, origin: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plane coordinates (a, c) of parameter rows, and each row's distance off the plane."""
    D = thetas - origin
    AC = D @ basis
    resid = D - AC @ basis.T
    return AC[:, 0], AC[:, 1], np.sqrt(np.sum(resid**2, axis=1))


def _orient(v: np.ndarray) -> np.ndarray:
    """Deterministic sign: the largest component positive."""
    return v if v[np.argmax(np.abs(v))] >= 0 else -v


def plane_basis(problem: Problem, origin: np.ndarray, projection: str, deviations: np.ndarray | None):
    """Two orthonormal directions through ``origin``, and their axis labels.

    ``hessian``: the eigenvectors of the Hessian at the origin with the largest and the smallest
    eigenvalue (the steepest and the flattest direction of the loss). ``pca``: the two leading
    right singular vectors of all runs' stacked deviations from the origin (the plane that best
    holds the paths), completed by the Hessian's flattest direction if the paths are collinear.
    """
    H = problem.objective.hessian(origin, problem.X, problem.y)
    evals, evecs = np.linalg.eigh((H + H.T) / 2)
    u_h, v_h = _orient(evecs[:, -1]), _orient(evecs[:, 0])
    if projection == "pca" and deviations is not None and len(deviations) >= 2:
        D = deviations[np.all(np.isfinite(deviations), axis=1)]
        _, s, Vt = np.linalg.svd(D, full_matrices=False)
        u = _orient(Vt[0])
        if len(s) > 1 and s[1] > 1e-9 * s[0]:
            v = _orient(Vt[1])
        else:
            v = v_h - (v_h @ u) * u
            if np.linalg.norm(v) < 1e-8:
                v = u_h - (u_h @ u) * u
            v = _orient(v / np.linalg.norm(v))
        share = float(np.sum(s[:2] ** 2) / np.sum(s**2)) if np.sum(s**2) > 0 else 1.0
        return np.column_stack([u, v]), "principal direction 1 (of the paths)", "principal direction 2 (of the paths)", share
    return (np.column_stack([u_h, v_h]),
            f"direction of largest curvature (λ = {evals[-1]:.3g})",
            f"direction of smallest curvature (λ = {evals[0]:.3g})", None)


def _data_term_on_grid(problem: Problem, origin, basis, AA, CC):
    """Mean data loss plus penalties at theta = origin + a u + c v for every grid point.

    The linear predictor is affine on the plane: ``z = z_o + a z_u + c z_v``. For least squares
    the loss is then an exact quadratic in (a, c), built from six inner products (cost O(n) for
    the whole grid); otherwise the per-sample loss is evaluated on (grid chunk) x (rows) blocks.
    Returns (values, constant) where values + constant = F; the constant F(origin) is kept apart
    so that f - f* near theta* is not lost to cancellation.
    """
    obj, X, y = problem.objective, problem.X, problem.y

    def z_of(theta):
        w, b = obj.split(theta)
        return X @ np.asarray(w, float) + (float(b) if obj.fit_intercept else 0.0)

    def z_dir(vec):  # direction: the intercept component enters z, without y
        return z_of(vec)

    u, v = basis[:, 0], basis[:, 1]
    z_o, z_u, z_v = z_of(origin), z_dir(u), z_dir(v)
    w_o, _ = obj.split(origin)
    w_u, _ = obj.split(u)
    w_v, _ = obj.split(v)
    a, c = AA.ravel(), CC.ravel()
    F0 = float(obj.value(origin, X, y))
    if obj.model == "linear" and obj.loss in ("mse", "half_mse") and obj.l1 == 0.0:
        k = 1.0 if obj.loss == "mse" else 0.5
        r = z_o - y
        m = lambda p, q: float(np.mean(p * q))  # noqa: E731
        lin_a = 2 * k * m(r, z_u) + obj.l2 * float(w_o @ w_u)
        lin_c = 2 * k * m(r, z_v) + obj.l2 * float(w_o @ w_v)
        qaa = k * m(z_u, z_u) + 0.5 * obj.l2 * float(w_u @ w_u)
        qcc = k * m(z_v, z_v) + 0.5 * obj.l2 * float(w_v @ w_v)
        qac = 2 * k * m(z_u, z_v) + obj.l2 * float(w_u @ w_v)
        vals = lin_a * a + lin_c * c + qaa * a * a + qcc * c * c + qac * a * c
        return vals.reshape(AA.shape), F0
    per_sample = getattr(getattr(obj, "_per_sample", None), "value", None)
    out = np.empty(a.shape)
    if per_sample is None:  # no vectorised per-sample loss: evaluate the objective point by point
        for i in range(a.size):
            out[i] = obj.value(origin + a[i] * u + c[i] * v, X, y) - F0
        return out.reshape(AA.shape), F0
    n = X.shape[0]
    chunk = max(1, int(4_000_000 // max(n, 1)))
    with np.errstate(all="ignore"):
        for s in range(0, a.size, chunk):
            ai, ci = a[s : s + chunk, None], c[s : s + chunk, None]
            Zb = z_o[None, :] + ai * z_u[None, :] + ci * z_v[None, :]
            data = np.mean(per_sample(Zb, y[None, :]), axis=1)
            W = w_o[None, :] + ai * w_u[None, :] + ci * w_v[None, :]
            pen = 0.5 * obj.l2 * np.sum(W * W, axis=1) + obj.l1 * np.sum(np.abs(W), axis=1)
            out[s : s + chunk] = data + pen - F0
    return out.reshape(AA.shape), F0


def slice_values(problem: Problem, origin, basis, A, C) -> tuple[np.ndarray, float]:
    """(F - F(origin)) on the grid A x C (shape (len(C), len(A))) and F(origin)."""
    AA, CC = np.meshgrid(A, C)
    return _data_term_on_grid(problem, np.asarray(origin, float), np.asarray(basis, float), AA, CC)


def _grid_size(problem: Problem) -> int:
    obj = problem.objective
    if obj.model == "linear" and obj.l1 == 0.0:
        return 241
    return int(np.clip(math.sqrt(3e7 / max(problem.X.shape[0], 1)), 41, 161))


def _frame(paths_ac: list[tuple[np.ndarray, np.ndarray]], star, native: bool):
    """The plotted region: every drawn point and theta*, with a 12% margin."""
    pts_a = np.concatenate([p[0] for p in paths_ac] + ([np.array([star[0]])] if star else []))
    pts_c = np.concatenate([p[1] for p in paths_ac] + ([np.array([star[1]])] if star else []))
    ok = np.isfinite(pts_a) & np.isfinite(pts_c)
    pts_a, pts_c = pts_a[ok], pts_c[ok]
    if not pts_a.size:
        return (-1.0, 1.0, -1.0, 1.0)

    def span(p):
        lo, hi = float(p.min()), float(p.max())
        w = hi - lo
        if w <= 1e-12 * max(1.0, abs(lo), abs(hi)):
            w = max(abs(lo), 1.0) * 0.5
            return lo - w, hi + w
        return lo - 0.12 * w, hi + 0.12 * w

    a_lo, a_hi = span(pts_a)
    c_lo, c_hi = span(pts_c)
    return a_lo, a_hi, c_lo, c_hi


def problem_key(run: RunData) -> str:
    """Runs with equal keys train the same objective on the same data (so share contours)."""
    cfg = run.config or {}
    ds = dict(cfg.get("dataset") or {})
    if str(ds.get("name", "")).startswith("synthetic") or ds.get("validation_fraction"):
        ds["_seed"] = run.seed  # generated data and validation splits depend on the seed
    model = {k: v for k, v in (cfg.get("model") or {}).items() if k not in ("init", "init_scale")}
    return json.dumps([ds, model, cfg.get("loss"), run.param_names], sort_keys=True, default=str)


def same_problem_runs(groups: list[Group]) -> tuple[list[RunData], str]:
    """The runs on the first run's problem, and a note when others were left out."""
    key = problem_key(groups[0].first)
    every = [r for g in groups for r in g.runs]
    same = [r for r in every if problem_key(r) == key]
    if len(same) == len(every):
        return same, ""
    seeds_only = all(problem_key(r) == key or r.seed != groups[0].first.seed for r in every)
    if seeds_only:
        return same, f"the data depend on the seed: paths of seed {groups[0].first.seed} only"
    return same, f"{len(every) - len(same)} run(s) on a different problem (data, model or loss) not drawn"


def contour_data(groups: list[Group], x: str = "step", projection: str = "hessian",
                 problem: Problem | None = None, why: str | None = None) -> ContourData | str:
    """Everything the trajectory-on-contours figure draws, or a string saying why it cannot be drawn."""
    first = groups[0].first
    if problem is None and why is None:
        problem, why = load_problem(first)
    if problem is None:
        return why or "no data"
    p = len(first.param_names)
    notes: list[str] = []
    ref_runs, note = same_problem_runs(groups)
    if note:
        notes.append(note)

    theta_star = first.theta_star
    f_star = first.f_star
    if p == 1:
        return "one parameter: see the loss curve (no plane to draw)"
    if p == 2:
        native = True
        origin, basis = np.zeros(2), np.eye(2)
        one_feature = sum(n.startswith("w_") for n in first.param_names) == 1
        xlabel, ylabel = (_param_axis_label(n, one_feature) for n in first.param_names)
    else:
        native = False
        if theta_star is not None:
            origin = theta_star
        else:
            good = [r for r in ref_runs if not r.diverged and np.all(np.isfinite(r.params[-1]))] or ref_runs
            origin = good[0].params[-1]
            notes.append(f"no θ*: the plane passes through the final point of {good[0].path.name}")
        devs = np.vstack([r.params[_thin(len(r.params), 2000)] - origin for r in ref_runs if not r.diverged] or
                         [ref_runs[0].params[:2] - origin])
        basis, xlabel, ylabel, share = plane_basis(problem, origin, projection, devs)
        if projection == "pca" and share is not None:
            notes.append(f"the plane holds {100 * share:.1f}% of the paths' squared deviation from θ*")

    paths: list[PathData] = []
    frame_pts = []
    for g in groups:
        i_in_group = 0
        for r in g.runs:
            if r not in ref_runs:
                continue
            P = r.params
            lossv = r.trace["loss"].to_numpy(float)
            idx = _thin(len(P), 3000)
            a, c, off = project(P[idx], origin, basis)
            dist = np.sqrt(np.sum((P[idx] - (theta_star if theta_star is not None else origin)) ** 2, axis=1))
            fin = np.isfinite(off) & np.isfinite(dist)
            if r.diverged:  # measure the part of the path that is still in the picture
                lv = lossv[idx]
                fin &= np.isfinite(lv) & (lv <= 2.0 * max(lv[0], 1e-300))
            rel_off = float(off[fin].max() / dist[fin].max()) if fin.any() and dist[fin].max() > 0 else 0.0
            if r.diverged:
                ok = np.isfinite(lossv[idx]) & (lossv[idx] <= 2.0 * max(lossv[0], 1e-300))
                ok[:2] = True
                frame_pts.append((a[ok], c[ok]))
            else:
                frame_pts.append((a, c))
            paths.append(PathData(a, c, g.label if i_in_group == 0 else None, g.color, g.linestyle, r.diverged,
                                  alpha=1.0 if i_in_group == 0 else 0.35, x=run_x(r, x)[idx], off_plane=0.0 if native else rel_off))
            i_in_group += 1
    star = None
    if theta_star is not None:
        sa, sc, _ = project(theta_star[None, :], origin, basis)
        star = (float(sa[0]), float(sc[0]))
    a_lo, a_hi, c_lo, c_hi = _frame(frame_pts, star, native)
    # one scale on both axes (so gradients look perpendicular to the contours) unless the
    # spans are too different to show both
    ratio = (a_hi - a_lo) / (c_hi - c_lo)
    equal = (not native and 0.2 <= ratio <= 5) or (native and 0.33 <= ratio <= 3)
    G = _grid_size(problem)
    A = np.linspace(a_lo, a_hi, G)
    C = np.linspace(c_lo, c_hi, G)
    vals, F0 = slice_values(problem, origin, basis, A, C)
    if f_star is not None:
        Z = vals + (F0 - f_star)
        zlabel = "f(θ) − f*"
        f_ref = f_star
    else:
        zmin = float(np.nanmin(vals))
        Z = vals - zmin
        f_ref = F0 + zmin
        zlabel = "f(θ) − min over the frame"
        notes.append(_why_no_reference(first, "f*") + "; levels are f − (lowest value in the frame)")
    for pth in paths:
        pth.exits = bool(pth.diverged and (
            np.any(~np.isfinite(pth.a)) or np.nanmax(np.abs(pth.a)) > max(abs(a_lo), abs(a_hi))
            or np.nanmax(np.abs(pth.c)) > max(abs(c_lo), abs(c_hi))))
    levels = contour_levels(Z)
    if not native:
        worst = max(paths, key=lambda q: q.off_plane) if paths else None
        if worst is not None:
            notes.append(f"paths leave the plane by at most {100 * worst.off_plane:.1f}% of their distance to "
                         f"{'θ*' if theta_star is not None else 'the origin'} ({worst.label or 'a seed'})")
    if any(pth.exits for pth in paths):
        notes.append("× : a diverged run leaves the frame there")
    title, sub = figure_title(groups)
    if not native:
        sub = (sub + " · " if sub else "") + ("plane of the Hessian's extreme eigenvectors through θ*" if projection != "pca"
                                             else "plane of the paths' principal directions through θ*")
    return ContourData(A=A, C=C, Z=Z, levels=levels, zlabel=zlabel, origin=np.asarray(origin, float), basis=basis,
                       native=native, xlabel=xlabel, ylabel=ylabel, paths=paths, star=star, title=title,
                       subtitle=sub, notes=notes, equal_aspect=equal, f_ref=float(f_ref), x_kind=x)


def _param_axis_label(name: str, one_feature: bool = True) -> str:
    if name == "b":
        return "b (intercept)"
    if name.startswith("w_"):
        return f"{name} ({'slope' if one_feature else 'weight'})"
    return name


def contour_levels(Z: np.ndarray) -> np.ndarray:
    """Log-spaced levels of a non-negative field: 1, 2, 5 per decade, four decades below its maximum."""
    pos = Z[np.isfinite(Z) & (Z > 0)]
    if not pos.size:
        return np.array([1e-16, 1e-15])
    hi = float(pos.max())
    lo = max(float(pos.min()), hi * 1e-4)
    if hi <= lo * (1 + 1e-9):
        return np.array([lo * 0.5, hi * 2])
    decades = np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    cand = np.sort(np.concatenate([m * 10.0**decades for m in (1.0, 2.0, 5.0)]))
    levels = cand[(cand >= lo) & (cand <= hi)]
    if len(levels) < 4:
        levels = np.geomspace(lo, hi, 8)
    return levels


# ============================================================================================
# Data space (one feature): the data and the fitted model at several steps


@dataclass
class FitLine:
    x: np.ndarray
    y: np.ndarray
    label: str
    color: str
    alpha: float
    linestyle: Any = "-"
    boundary: float | None = None  # logistic: x where p = 1/2


@dataclass
class DataPanel:
    title: str
    lines: list[FitLine]
    star: FitLine | None


@dataclass
class DataSpaceData:
    x: np.ndarray
    y: np.ndarray
    xlabel: str
    ylabel: str
    model: str
    panels: list[DataPanel]
    title: str
    subtitle: str
    notes: list[str] = field(default_factory=list)


def snapshot_rows(steps: np.ndarray, k: int = 6) -> list[int]:
    """Trace rows to show: step 0, then roughly log-spaced steps, and the last row."""
    n = len(steps)
    if n <= k:
        return list(range(n))
    last = steps[-1]
    targets = np.unique(np.concatenate([[0], np.geomspace(1, max(last, 1), k - 1)]))
    rows = sorted({int(np.searchsorted(steps, t)) for t in targets} | {n - 1})
    return [min(r, n - 1) for r in rows]


def dataspace_data(groups: list[Group], problem: Problem | None = None, why: str | None = None) -> DataSpaceData | str:
    first = groups[0].first
    if len(first.param_names) - (1 if "b" in first.param_names else 0) != 1:
        return "not a one-feature problem"
    if problem is None and why is None:
        problem, why = load_problem(first)
    if problem is None:
        return why or "no data"
    obj = problem.objective
    xv, yv = problem.X[:, 0], problem.y
    lo, hi = float(xv.min()), float(xv.max())
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    grid = np.linspace(lo - pad, hi + pad, 200)
    Xg = grid[:, None]
    logistic = obj.model == "logistic"

    def fit(theta):
        with np.errstate(all="ignore"):
            return np.asarray(obj.predict(np.asarray(theta, float), Xg), float)

    def boundary(theta):
        w, b = obj.split(np.asarray(theta, float))
        w0 = float(w[0])
        return -float(b) / w0 if (logistic and w0 != 0 and np.isfinite(b)) else None

    panels = []
    same, note = same_problem_runs(groups)
    for g in [g for g in groups if any(r in same for r in g.runs)][:6]:
        r = next(r for r in g.runs if r in same)
        steps = r.trace["step"].to_numpy()
        rows = snapshot_rows(steps)
        lines = []
        n = len(rows)
        from optrun.plots.colors import shade

        for j, row in enumerate(rows):
            theta = r.params[row]
            if not np.all(np.isfinite(theta)):
                continue
            t_frac = j / max(n - 1, 1)
            color = shade(g.color, 0.75 * (1 - t_frac)) if g.color.startswith("#") else g.color
            lines.append(FitLine(grid, fit(theta), f"step {int(steps[row])}", color, 0.5 + 0.5 * t_frac,
                                 boundary=boundary(theta)))
        star = None
        ts = r.theta_star
        if ts is not None:
            star = FitLine(grid, fit(ts), "θ*", "#000000", 1.0, linestyle="--", boundary=boundary(ts))
        panels.append(DataPanel(g.label, lines, star))
    notes = [note] if note else []
    if len(groups) > 6:
        notes.append(f"first 6 of {len(groups)} settings shown")
    feat = problem.feature_names[0] if problem.feature_names else "x"
    xlabel = f"{feat}" + (" (standardized)" if problem.standardized else "")
    ylabel = f"{problem.target_name}" + (" (P(y = 1) for the curves)" if logistic else "")
    title, sub = figure_title(groups)
    return DataSpaceData(xv, yv, xlabel, ylabel, obj.model, panels, title, sub, notes)
