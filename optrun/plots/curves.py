"""Curves against an x axis: loss, f − f*, gradient norm, distance to θ*, and parameter traces.

:func:`curve_panel` is three steps: *collect* each group's line (one run) or seed band (median
and 10–90% quantiles across seeds, :func:`band_stats`) and its divergence marks, choose a
*range* that shows every run that did not diverge in full (a log axis gets a stated floor), then
pin the *markers* of runs that left that range to its edge. :func:`params_data` draws one small
panel per parameter with θ* dashed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from optrun.plots.model import LOG_BY_DEFAULT, X_LABELS, Y_LABELS, Band, Marker, Panel, ParamPanel, ParamsData, Series
from optrun.plots.rundata import Group, RunData, run_x, thin, why_no_reference

EPS = float(np.finfo(np.float64).eps)
MAX_PARAM_PANELS = 12


def run_y(run: RunData, y: str) -> tuple[np.ndarray | None, str | None]:
    """The values of ``y`` for each trace row, or (None, why not)."""
    t = run.trace
    with np.errstate(all="ignore"):
        if y in ("loss", "batch_loss", "grad_norm"):
            return t[y].to_numpy(float), None
        if y == "subopt":
            if run.f_star is None:
                return None, why_no_reference(run, "f*")
            return t["loss"].to_numpy(float) - run.f_star, None
        if y == "dist":
            ts = run.theta_star
            if ts is None:
                return None, why_no_reference(run, "θ*")
            return np.sqrt(np.sum((run.params - ts) ** 2, axis=1)), None
    raise ValueError(f"unknown y {y!r}")


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
    with np.errstate(all="ignore"), warnings.catch_warnings():
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


# --------------------------------------------------------------------------------------------
# curve_panel: collect -> range -> markers


@dataclass
class _Collected:
    """What the range of a panel is chosen from, gathered while its lines are collected."""

    reasons: list[str] = field(default_factory=list)  # why runs have no curve
    keep_vals: list[np.ndarray] = field(default_factory=list)  # values of runs that did not diverge
    start_vals: list[float] = field(default_factory=list)
    div_vals: list[np.ndarray] = field(default_factory=list)
    div_view: list[np.ndarray] = field(default_factory=list)  # first steps of diverged runs
    f_stars: set = field(default_factory=set)


def curve_panel(groups: list[Group], x: str, y: str, log: bool | None = None,
                faint_batch_loss: bool = True, title: str | None = None) -> Panel:
    """One panel of ``y`` against ``x`` for every group (seeds -> median and band)."""
    log = LOG_BY_DEFAULT[y] if log is None else log
    panel = Panel(title=title or Y_LABELS[y], xlabel=X_LABELS[x], ylabel=Y_LABELS[y], log=log)
    if y == "loss":
        loss_names = {(g.first.config or {}).get("loss", {}).get("name") for g in groups}
        if len(loss_names) == 1 and None not in loss_names:
            panel.ylabel = f"training loss f(θ) ({loss_names.pop()})"
    got = _Collected()
    for g in groups:
        _collect_group(panel, got, g, x, y, log, faint_batch_loss and y == "loss", len(groups))
    if not panel.series and not panel.bands:
        panel.empty_reason = got.reasons[0] if got.reasons else "nothing to draw"
        return panel
    if got.reasons:
        panel.notes.append(f"{len(got.reasons)} run(s) not drawn: {got.reasons[0]}")
    if y == "loss" and len(got.f_stars) == 1:
        panel.hlines.append((got.f_stars.pop(), "f*", "#000000"))
    _set_range(panel, got, groups, y)
    _pin_markers(panel)
    _unlist_outside(panel)
    return panel


def _unlist_outside(panel: Panel) -> None:
    """A line with no point inside the y range is not listed in the legend (it is not in the
    picture); the caption names it instead."""
    lo, hi = panel.ylim
    gone = []
    for s in panel.series:
        with np.errstate(invalid="ignore"):
            inside = np.isfinite(s.y) & (s.y >= lo) & (s.y <= hi)
        if s.label and not inside.any():
            gone.append(s.label)
            s.label = None
    for b in panel.bands:
        with np.errstate(invalid="ignore"):
            inside = np.isfinite(b.median) & (b.median >= lo) & (b.median <= hi)
        if not inside.any():
            gone.append(b.label)
            b.label = ""
    if gone:
        panel.notes.append(f"outside the frame (not drawn): {', '.join(gone)}")


def _collect_group(panel: Panel, got: _Collected, g: Group, x: str, y: str, log: bool,
                   batch_loss: bool, n_groups: int) -> None:
    """Add a group's line (one run) or seed band (several) and divergence marks to ``panel``."""
    xs, ys, carry = [], [], []
    for r in g.runs:
        yv, why = run_y(r, y)
        if yv is None:
            got.reasons.append(why)
            continue
        xs.append(run_x(r, x))
        ys.append(yv)
        carry.append(r.status == "converged")
        if r.f_star is not None:
            got.f_stars.add(round(r.f_star, 12))
        if np.isfinite(yv[0]):
            got.start_vals.append(float(yv[0]))
        if r.diverged:
            got.div_vals.append(yv)
            # its first steps stay in view: values up to a few times where it started
            lim = abs(yv[0]) * (1e3 if log else 3.0) if np.isfinite(yv[0]) else np.inf
            got.div_view.append(_finite(yv[np.isfinite(yv) & (np.abs(yv) <= lim)]))
        else:
            got.keep_vals.append(_finite(yv))
    if len(ys) == 1:
        _single_run(panel, g, xs[0], ys[0], batch_loss, n_groups)
    elif ys:
        grid, med, lo, hi = band_stats(xs, ys, carry)
        panel.bands.append(Band(grid, med, lo, hi, g.label, g.color, g.linestyle, n=len(ys)))
        for r, xv, yv in zip(g.runs, xs, ys):
            if r.diverged:
                panel.markers.append(Marker(float(xv[-1]), float(yv[-1]), g.color, "diverged"))


def _single_run(panel: Panel, g: Group, xv: np.ndarray, yv: np.ndarray, batch_loss: bool, n_groups: int) -> None:
    """One run's line (thinned), its faint batch loss for sampled batches, its divergence mark."""
    r = g.runs[0]
    if batch_loss and r.batch_mode != "full":
        bl, _ = run_y(r, "batch_loss")
        idx = thin(len(bl))
        panel.series.append(Series(xv[idx], bl[idx], "batch loss (faint)" if n_groups == 1 else None,
                                   g.color, "-", alpha=0.22, linewidth=0.8, zorder=1))
        if n_groups > 1 and "faint lines: the loss of the batch behind each step" not in panel.notes:
            panel.notes.append("faint lines: the loss of the batch behind each step")
    idx = thin(len(yv))
    panel.series.append(Series(xv[idx], yv[idx], g.label, g.color, g.linestyle))
    if r.diverged:  # declared diverged at its last row
        k = len(yv) - 1
        panel.markers.append(Marker(float(xv[k]), float(yv[k]), g.color,
                                    f"diverged at step {int(r.trace['step'].iloc[k])}"))


def _set_range(panel: Panel, got: _Collected, groups: list[Group], y: str) -> None:
    """y limits readable for the runs that did not diverge; on a log axis, a stated floor."""
    shown = got.keep_vals or got.div_view
    body = np.concatenate(shown) if shown else np.array([])
    if panel.log:
        floor = _log_floor(groups, y, body, got.div_vals)
        panel.floor = floor
        n_floored = _apply_floor(panel, floor)
        if n_floored:
            why = ("f − f* at or below 10 ulp of f* is rounding, not progress" if y == "subopt"
                   else "non-positive values")
            low = float(body.min()) if body.size else 0.0
            if y == "subopt" and low < -floor and _constrained(groups):
                # below f* by more than rounding: a constrained run's infeasible iterates
                why = f"f − f* < 0 while an iterate is infeasible (down to {low:.2g}; trace.csv: infeasibility)"
            panel.notes.append(f"values below {floor:.2g} drawn at that floor ({why})")
        body = np.maximum(body, floor) if body.size else body
    panel.ylim = _y_range(body, got.start_vals, panel.log, bool(got.div_vals), panel.floor)


def _pin_markers(panel: Panel) -> None:
    """Marks off the scale are drawn at the edge (``clipped``), and the caption says so."""
    lo, hi = panel.ylim
    for m in panel.markers:
        if not np.isfinite(m.y) or m.y > hi:
            m.y, m.clipped = hi, True
        elif panel.log and m.y < lo:
            m.y, m.clipped = lo, True
    if panel.markers:
        clipped = any(m.clipped for m in panel.markers)
        panel.notes.append("× marks where a run diverged" + (" (drawn at the top edge: off the scale)" if clipped else ""))


def _constrained(groups) -> bool:
    return any(r.trace is not None and "infeasibility" in r.trace.columns for g in groups for r in g.runs)


def _log_floor(groups, y, body, div_vals) -> float:
    """The lowest value a log axis shows: 10 ulp of |f*| for f − f* (below is rounding), else
    the smallest positive value drawn."""
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
    """Raise values below ``floor`` to it; return how many drawn points (not faint ones) moved."""
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


# --------------------------------------------------------------------------------------------
# Parameter traces


def params_data(groups: list[Group], x: str) -> ParamsData:
    """One panel per parameter: every run's trace, θ* as a dashed line, one per problem.

    Runs of different problems (l2 = 0 and l2 = 1, two datasets) have different optima: each
    problem's θ* is drawn in the colour of its runs (black when all runs share one problem)."""
    first = groups[0].first
    names = first.param_names
    notes = []
    if len(names) > MAX_PARAM_PANELS:
        notes.append(f"showing {MAX_PARAM_PANELS - 1} of {len(names)} parameters (plus b if present); "
                     "`optrun plot --y dist` shows the distance to θ* of all of them")
        keep = names[: MAX_PARAM_PANELS - 1] + (["b"] if "b" in names else names[MAX_PARAM_PANELS - 1 : MAX_PARAM_PANELS])
        names = keep
    problems = _problems(groups)
    panels = [_param_panel(groups, name, x, problems) for name in names]
    missing = [g.label for g in groups if g.first.theta_star is None]
    if len(missing) == len(groups):
        notes.append(why_no_reference(first, "θ*"))
    elif missing:
        notes.append(f"no θ* for {', '.join(missing)}: " + why_no_reference(
            next(g.first for g in groups if g.first.theta_star is None), "θ*"))
    if len(problems) > 1:
        notes.append("the runs solve different problems: one dashed θ* per problem, in its runs' colour")
    return ParamsData(panels, X_LABELS[x], notes)


def _problems(groups: list[Group]) -> list[tuple[list[Group], np.ndarray, list[str]]]:
    """Groups by problem (:func:`optrun.plots.rundata.problem_key` without the seed), each with
    its θ* (from its first run that has one) and its parameter names; problems without θ* are left out."""
    from optrun.plots.rundata import problem_key

    by: dict[str, list[Group]] = {}
    for g in groups:
        by.setdefault(problem_key(g.first), []).append(g)
    out = []
    for gs in by.values():
        run = next((r for g in gs for r in g.runs if r.theta_star is not None), None)
        if run is not None:
            out.append((gs, run.theta_star, run.param_names))
    # the same θ* (e.g. problems that differ only by a seed-free setting) is one line
    merged: list[tuple[list[Group], np.ndarray, list[str]]] = []
    for gs, ts, names in out:
        for i, (gs2, ts2, names2) in enumerate(merged):
            if names == names2 and np.allclose(ts, ts2, rtol=1e-9, atol=1e-12):
                merged[i] = (gs2 + gs, ts2, names2)
                break
        else:
            merged.append((gs, ts, names))
    return merged


def _param_panel(groups: list[Group], name: str, x: str, problems=None) -> ParamPanel:
    """Every run's trace of parameter ``name``; a diverged run is cut where it leaves the frame."""
    series, markers, body = [], [], []
    for g in groups:
        for i, r in enumerate(g.runs):
            if name not in r.trace.columns:
                continue
            xv, yv = run_x(r, x), r.trace[name].to_numpy(float)
            idx = thin(len(yv))
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
    if problems is None:
        problems = _problems(groups)
    stars = []
    for gs, ts, names in problems:
        if name not in names:
            continue
        value = float(ts[names.index(name)])
        if len(problems) == 1:
            stars.append((value, "#000000", "θ* (exact optimum)"))
        else:
            stars.append((value, gs[0].color, "θ* of " + " / ".join(g.label for g in gs)))
    star = stars[0][0] if len(stars) == 1 else None
    vals = _finite(np.concatenate(body)) if body else np.array([])
    if stars:
        vals = np.append(vals, [s[0] for s in stars])
    ylim = None
    if vals.size:
        lo, hi = float(vals.min()), float(vals.max())
        span = hi - lo if hi > lo else max(abs(hi), 1e-3)
        ylim = (lo - 0.08 * span, hi + 0.08 * span)
        for m in markers:
            _cut_at_frame(m, ylim)
    for m in markers:
        m.series = None
    return ParamPanel(name, series, star, ylim, markers, stars=stars)


def _cut_at_frame(m: Marker, ylim: tuple[float, float]) -> None:
    """A diverged run is drawn until it leaves the frame, with its cross where it leaves."""
    s_ = m.series
    out = ~np.isfinite(s_.y) | (s_.y > ylim[1]) | (s_.y < ylim[0])
    k = np.flatnonzero(out)
    if k.size:
        k0 = int(k[0])
        s_.x, s_.y = s_.x[: k0 + 1], s_.y[: k0 + 1]
        edge = ylim[1] if (np.isfinite(s_.y[-1]) and s_.y[-1] > ylim[1]) or not np.isfinite(s_.y[-1]) else ylim[0]
        m.x, m.y, m.clipped = float(s_.x[-1]), edge, True
        m.text = f"leaves the scale; {m.text}"
