"""Run folders as the figures see them: :class:`RunData`, :class:`Group`, the reloaded problem.

Everything a figure shows comes from the run folder alone (``config.yaml``, ``trace.csv``,
``summary.json``), read by :class:`optrun.rundir.RunFolder` (the one reader), never by training
again. Legend labels and titles are made from the configs by :mod:`optrun.plots.labels`.
Contours and the data-space view also need the data: :func:`load_problem` rebuilds them
from the resolved ``config.yaml`` (``optrun.prepare.load_data`` and ``make_objective``) and,
when that fails (a CSV moved away), returns the reason so that the figures can say it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optrun.errors import OptrunError
from optrun.trace import parameter_columns
from optrun.plots import colors
from optrun.plots.labels import ANALYTIC_MODELS, make_labels
from optrun.plots.model import X_COLUMNS, ProblemData

MAX_POINTS = 4000  # points per drawn line (long traces are thinned, first/last rows kept)


@dataclass(eq=False)  # identity: two folders are two runs
class RunData:
    """One run folder, read back (``config`` is None when ``config.yaml`` is unreadable)."""

    path: Path
    summary: dict
    config: dict | None
    trace: Any  # TraceTable (or a pandas.DataFrame): numeric columns
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
            return colors.effective_name(self.config.get("optimizer") or {}, self.config.get("batch"))
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
    """Read a run folder through :class:`~optrun.rundir.RunFolder`; raise OptrunError when it is
    not one (no readable ``summary.json``) or has nothing to plot (no trace rows). The trace is
    read by :func:`read_trace_table` (NumPy, no pandas: importing pandas alone costs as much as
    drawing two figures)."""
    from optrun.rundir import RunFolder

    folder = RunFolder(path).require()
    problems = [f"config.yaml unreadable ({folder.config_problem})"] if folder.config_problem else []
    tpath = folder.path / "trace.csv"
    if not tpath.is_file():
        raise OptrunError(f"{folder.path}: no trace.csv, nothing to plot")
    trace = read_trace_table(tpath)
    if trace.empty:
        raise OptrunError(f"{tpath}: the trace has no rows")
    param_names = parameter_columns(trace.columns)
    config = None if folder.config_problem else folder.config
    return RunData(path=folder.path, summary=folder.summary, config=config, trace=trace,
                   param_names=param_names, problems=problems)


class Column(np.ndarray):
    """A trace column: a float array that also answers the two pandas calls the figures make
    (``to_numpy``, ``iloc``)."""

    def to_numpy(self, dtype=float):
        return np.asarray(self, dtype=dtype)

    @property
    def iloc(self) -> np.ndarray:
        return np.asarray(self)


class _Rows:
    def __init__(self, table: "TraceTable"):
        self.table = table

    def __getitem__(self, i: int) -> dict:
        return {c: v[i] for c, v in self.table.data.items()}


class TraceTable:
    """``trace.csv`` as float columns (a cell that is empty or not a number is NaN, as
    ``pandas.to_numeric(errors="coerce")`` makes it): the small part of the DataFrame interface
    the figures use (``t[col]``, ``t[[cols]].to_numpy()``, ``columns``, ``empty``, ``iloc[i]``)."""

    def __init__(self, data: dict[str, np.ndarray]):
        self.data = data

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    @property
    def empty(self) -> bool:
        return not self.data or len(self) == 0

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __contains__(self, col) -> bool:
        return col in self.data

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.data[key].view(Column)
        return TraceTable({k: self.data[k] for k in key})

    def to_numpy(self, dtype=float) -> np.ndarray:
        return np.column_stack([self.data[k] for k in self.data]).astype(dtype) if self.data else np.empty((0, 0))

    @property
    def iloc(self) -> _Rows:
        return _Rows(self)


def _to_float(cells: np.ndarray) -> np.ndarray:
    try:
        return np.where(cells == "", "nan", cells).astype(float)
    except ValueError:  # a cell that is not a number: NaN, cell by cell
        out = np.empty(cells.shape)
        for i, c in enumerate(cells):
            try:
                out[i] = float(c)
            except ValueError:
                out[i] = np.nan
        return out


def read_trace_table(path: Path) -> TraceTable:
    """``trace.csv`` up to its last complete row (a killed run may cut the last line off), as
    float columns. Rows with the wrong number of cells are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise OptrunError(f"{path}: cannot read the trace ({exc.strerror or exc})") from None
    end = text.rfind("\n")
    lines = text[: end + 1].splitlines() if end >= 0 else []
    if not lines:
        raise OptrunError(f"{path}: empty (the run stopped before writing its header)")
    header = [h.strip().strip('"') for h in lines[0].split(",")]
    rows = [ln.split(",") for ln in lines[1:] if ln]
    rows = [r for r in rows if len(r) == len(header)]
    cells = np.array(rows, dtype=str).reshape(len(rows), len(header))
    return TraceTable({h: _to_float(np.char.strip(cells[:, j])) for j, h in enumerate(header)})


def run_x(run: RunData, x: str) -> np.ndarray:
    """The trace column behind the x axis ``x`` (step, epoch, samples, evals, time)."""
    column = X_COLUMNS[x]
    if column not in run.trace.columns:  # a trace written before the column existed
        raise OptrunError(f"{run.path.name}: trace.csv has no {column!r} column (--x {x}); "
                          f"choose one of {', '.join(c for c, k in X_COLUMNS.items() if k in run.trace.columns)}")
    return run.trace[column].to_numpy(float)


def thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Row indices of a long trace to draw (evenly spaced, first and last kept)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def analytic_problem(run: RunData) -> tuple[ProblemData | None, str | None]:
    """An :class:`optrun.analytic.AnalyticObjective` (``model: function | quadratic``) on a
    0-column placeholder for the data (its value and derivatives ignore X and y)."""
    from optrun.analytic import make_objective

    m = run.config["model"]
    try:
        if m["name"] == "quadratic":
            obj = make_objective("quadratic", {"A": m["A"], "b": m.get("b"), "c": m.get("c", 0.0)})
        else:
            obj = make_objective(m["function"], m.get("function_params"))
    except Exception as exc:
        return None, f"cannot rebuild the function ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if obj.n_params() != len(run.param_names):
        return None, f"the function has {obj.n_params()} parameters, the trace {len(run.param_names)}"
    return ProblemData(np.zeros((1, 0)), np.zeros(1), obj, [], "", False), None


def why_no_reference(run: RunData, what: str) -> str:
    """``"f* unavailable: <the summary's diagnostic note>"``."""
    note = (run.summary.get("diagnostics") or {}).get("note") or "no exact reference in summary.json"
    return f"{what} unavailable: {note}"


def load_problem(run: RunData) -> tuple[ProblemData | None, str | None]:
    """Re-load the run's training data and objective from its resolved config (or say why not).
    An objective without data (``model: function | quadratic``) is rebuilt from the config
    alone (:func:`analytic_problem`)."""
    if run.config is None:
        return None, "config.yaml missing or unreadable"
    if str((run.config.get("model") or {}).get("name")) in ANALYTIC_MODELS:
        return analytic_problem(run)
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
    return ProblemData(X, y, obj, feats, str(target), std), None


# --------------------------------------------------------------------------------------------
# Groups: runs of one setting, labelled and styled


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


# --------------------------------------------------------------------------------------------
# Which runs share a problem (and so share contours)


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


def one_feature(run: RunData) -> bool:
    """One weight (plus perhaps the intercept ``b``): the data-space view applies."""
    return len(run.param_names) - ("b" in run.param_names) == 1
