"""Figures from many runs: sensitivity, heatmaps, profiles, tuning results, theory with a check.

The data functions (``*_data``, :func:`theory_curve`, :func:`relative_subopt`) are pure and
return plain arrays and dicts (what the tests check); the ``*_figure`` functions draw exactly
that with matplotlib (a ``Figure`` with its own Agg canvas, no pyplot) and save it.

* Sensitivity (FOB, AlgoPerf): a score (final f − f*, or steps to a target) against the learning
  rate, one line per optimizer through the median over seeds, the min–max band over seeds, and
  diverged settings marked at the top of the axes (a ▲ at the upper edge: they have no value).
* Heatmaps: lr × momentum or lr × batch size, the mean ± standard deviation over seeds per cell.
* Profiles across problems (Dolan & Moré 2002; Moré & Wild 2009): see :mod:`optrun.stats`.
* Relative suboptimality (f − f*)/(f₀ − f*) (benchopt's view: 1 at the start, comparable across
  problems) and a log x-axis option on every curve figure here.
* Theory (from the reference's Hessian eigenvalues λ_i ∈ [μ, L]): for gradient descent at its lr
  the bound ρ^{2k}(f₀ − f*), ρ = max|1 − lr·λ_i| (exact for the slowest mode of a quadratic);
  for the heavy ball and Nesterov the rate of their optimal settings (drawn only when the run is
  at that setting). :func:`theory_curve` returns the first step where the measured curve breaks
  its bound (``violation``), and the figure marks it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from optrun import theory

DIVERGED_MARK = "^"


# ---- pure data -----------------------------------------------------------------------------


def relative_subopt(loss: np.ndarray, f_star: float, f0: float | None = None) -> np.ndarray:
    """(f − f*)/(f₀ − f*), with f₀ the first value of ``loss`` unless given."""
    loss = np.asarray(loss, dtype=float)
    f0 = float(loss[0]) if f0 is None else float(f0)
    gap = f0 - f_star
    return (loss - f_star) / gap if gap > 0 else np.full_like(loss, np.nan)


def sensitivity_data(points: list[dict]) -> dict[str, dict]:
    """``points``: dicts with ``optimizer``, ``lr``, ``score`` (inf/None = no value) and
    ``status``. Per optimizer, sorted by lr: ``lr``, ``median``, ``low``, ``high`` (over the
    seeds that have a finite score; NaN when none) and ``diverged`` (the lrs where some seed
    diverged)."""
    out: dict[str, dict] = {}
    by: dict[str, dict[float, list]] = {}
    for p in points:
        if p.get("lr") is None:
            continue
        by.setdefault(p["optimizer"], {}).setdefault(float(p["lr"]), []).append(p)
    for opt, cells in by.items():
        lrs = sorted(cells)
        med, lo, hi, div = [], [], [], []
        for lr in lrs:
            vals = [float(p["score"]) for p in cells[lr] if p.get("score") is not None and math.isfinite(p["score"])]
            if any(p.get("status") == "diverged" for p in cells[lr]):
                div.append(lr)
            med.append(float(np.median(vals)) if vals else np.nan)
            lo.append(min(vals) if vals else np.nan)
            hi.append(max(vals) if vals else np.nan)
        out[opt] = {"lr": np.array(lrs), "median": np.array(med), "low": np.array(lo), "high": np.array(hi),
                    "diverged": np.array(div)}
    return out


def heatmap_data(points: list[dict], x: str, y: str, value: str = "score") -> dict:
    """Mean and standard deviation (ddof 0) of ``value`` per (x, y) cell over the points (seeds)
    with a finite value; ``count`` of those and ``diverged`` (cells with a diverged point)."""
    xs = sorted({p[x] for p in points})
    ys = sorted({p[y] for p in points})
    mean = np.full((len(ys), len(xs)), np.nan)
    std = np.full_like(mean, np.nan)
    count = np.zeros(mean.shape, dtype=int)
    div = np.zeros(mean.shape, dtype=bool)
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            cell = [p for p in points if p[x] == xv and p[y] == yv]
            vals = np.array([float(p[value]) for p in cell if p.get(value) is not None and math.isfinite(p[value])])
            div[i, j] = any(p.get("status") == "diverged" for p in cell)
            count[i, j] = vals.size
            if vals.size:
                mean[i, j], std[i, j] = vals.mean(), vals.std()
    return {"x": xs, "y": ys, "mean": mean, "std": std, "count": count, "diverged": div, "x_key": x, "y_key": y}


def theory_curve(summary: dict, optimizer: dict, steps: np.ndarray, loss: np.ndarray) -> dict | None:
    """What theory predicts for this run (full batch, a quadratic-like problem, no constraints),
    or None.

    Uses the reference's Hessian eigenvalues (``summary.diagnostics.hessian_eigenvalues``) and
    f* (``summary.f_star``). Returns ``{kind, bound, violation, rate}``: ``bound`` at ``steps``,
    ``violation`` the index of the first point where f − f* exceeds it beyond rounding
    (:func:`optrun.theory.first_violation`, atol = 10 × the rounding of f*), or None.

    * ``sgd`` without momentum (gradient descent at lr γ): f_k − f* ≤ ρ^{2k}(f₀ − f*),
      ρ = max_i |1 − γλ_i| (exact on quadratics: every mode contracts by |1 − γλ_i| per step);
    * heavy ball (``sgd``/``momentum`` with momentum β, dampening 0) at Polyak's optimal setting
      and Nesterov (``nag`` or ``sgd`` nesterov) at 1/L and (√κ−1)/(√κ+1): their rate curves
      (the heavy ball's is asymptotic, drawn as a guide without a check).
    """
    diag = summary.get("diagnostics") or {}
    lam = diag.get("hessian_eigenvalues")
    f_star = summary.get("f_star")
    if not lam or f_star is None or len(loss) == 0:
        return None
    if summary.get("multipliers") is not None:
        return None  # a constrained run: these are rates of unconstrained methods (f − f* < 0 while infeasible)
    lam = np.asarray(lam, dtype=float)
    L, mu = float(lam.max()), float(lam.min())
    name = optimizer.get("name")
    lr = optimizer.get("lr")
    mom = float(optimizer.get("momentum", 0.0) or 0.0)
    sched = optimizer.get("schedule") or {}
    constant = sched.get("name", "constant") == "constant" and not sched.get("warmup_steps")
    if lr is None or not constant or optimizer.get("weight_decay") or optimizer.get("line_search", "none") != "none":
        return None
    steps = np.asarray(steps, dtype=float)
    f0_gap = float(loss[0]) - f_star
    atol = 10.0 * float(diag.get("f_star_rounding") or 0.0) + 1e-14 * max(1.0, abs(f_star))
    sub = np.asarray(loss, dtype=float) - f_star
    if name == "sgd" and mom == 0.0 and not optimizer.get("nesterov") and optimizer.get("line_search", "none") == "none":
        bound = theory.gd_bound(float(lr), lam, f0_gap, steps)
        return {"kind": f"GD bound ρ^2k (f₀ − f*), ρ = {theory.gd_rate(float(lr), lam):.4g}", "bound": bound,
                "rate": theory.gd_rate(float(lr), lam), "violation": theory.first_violation(sub, bound, 1e-6, atol)}
    if mu <= 0:
        return None
    nest = theory.nesterov_strongly_convex(L, mu)
    is_nag = name == "nag" or (name == "sgd" and optimizer.get("nesterov"))
    if is_nag and math.isclose(lr, nest["lr"], rel_tol=1e-3) and math.isclose(mom, nest["momentum"], rel_tol=1e-3):
        # the bound needs ‖e₀‖²; on a quadratic f₀ − f* ≥ μ/2 ‖e₀‖², so (f₀ − f*)·2 bounds the constant
        bound = (2.0 * f0_gap) * nest["rate"] ** steps
        return {"kind": f"Nesterov (1 − 1/√κ)^k, κ = {L / mu:.4g}", "bound": bound, "rate": nest["rate"],
                "violation": theory.first_violation(sub, bound, 1e-6, atol)}
    hb = theory.heavy_ball_optimal(L, mu)
    if name in ("sgd", "momentum") and not is_nag and float(optimizer.get("dampening", 0.0) or 0.0) == 0.0 \
            and math.isclose(lr, hb["lr"], rel_tol=1e-3) and math.isclose(mom, hb["momentum"], rel_tol=1e-3):
        guide = f0_gap * hb["rate"] ** (2.0 * steps)
        return {"kind": f"heavy ball rate q^2k, q = {hb['rate']:.4g} (asymptotic)", "bound": guide,
                "rate": hb["rate"], "violation": None}
    return None


# ---- drawing -------------------------------------------------------------------------------


def _figure(width: float, height: float, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _save(fig, path: Path, dpi: int = 130) -> Path:
    from optrun.plots.figure_layout import save_figure  # the one save helper (atomic)

    return save_figure(fig, path, dpi)


def _color(name: str) -> str:
    try:
        from optrun.plots.colors import optimizer_color

        return optimizer_color(name)
    except Exception:  # pragma: no cover - a palette change must not break these figures
        return "C0"


def _palette(names: list[str]) -> dict[str, str]:
    """Family colours, with a fallback to distinct tab10 colours when two collide."""
    cols = {n: _color(n) for n in names}
    if len(set(cols.values())) < len(cols):
        cols = {n: f"C{i % 10}" for i, n in enumerate(names)}
    return cols


def sensitivity_figure(points: list[dict], path: Path, score_label: str = "final f − f*", logx: bool = True,
                       title: str = "Learning-rate sensitivity") -> Path:
    """Score against lr per optimizer: median line, min–max band over seeds, ▲ for divergence."""
    data = sensitivity_data(points)
    fig, (ax,) = _figure(7.0, 4.2)
    cols = _palette(list(data))
    for opt, d in data.items():
        c = cols[opt]
        ax.plot(d["lr"], d["median"], "o-", color=c, label=opt, ms=3.5, lw=1.4)
        ax.fill_between(d["lr"], d["low"], d["high"], color=c, alpha=0.18, lw=0)
        if d["diverged"].size:  # no value to draw: mark at the top edge (axes coordinates in y)
            ax.plot(d["diverged"], np.ones(d["diverged"].size), DIVERGED_MARK, color=c, ms=7, clip_on=False,
                    transform=ax.get_xaxis_transform())
    if logx:
        ax.set_xscale("log")
    finite = np.concatenate([d["median"][np.isfinite(d["median"])] for d in data.values()] or [np.array([])])
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(score_label)
    ax.set_title(title + f"   ({DIVERGED_MARK} at the top: diverged)")
    ax.legend(ncol=3, fontsize=8)
    return _save(fig, path)


def heatmap_figure(points: list[dict], x: str, y: str, path: Path, value: str = "score",
                   label: str = "final f − f*", logx: bool = True) -> Path:
    """lr × momentum (or × batch size) heatmap, each cell annotated ``mean ± std`` (log colour
    scale when every mean is positive); diverged cells say so."""
    d = heatmap_data(points, x, y, value)
    fig, (ax,) = _figure(1.2 + 0.9 * len(d["x"]), 1.2 + 0.55 * len(d["y"]))
    m = d["mean"]
    shown = np.log10(m) if np.all(m[np.isfinite(m)] > 0) else m
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis_r")
    fig.colorbar(im, ax=ax, label=("log10 " if shown is not m else "") + label)
    for i in range(len(d["y"])):
        for j in range(len(d["x"])):
            text = "diverged" if d["diverged"][i, j] and not np.isfinite(m[i, j]) else (
                f"{m[i, j]:.2g}\n± {d['std'][i, j]:.1g}" if np.isfinite(m[i, j]) else "–")
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="white")
    ax.set_xticks(range(len(d["x"])), [f"{v:g}" for v in d["x"]], rotation=45)
    ax.set_yticks(range(len(d["y"])), [f"{v:g}" for v in d["y"]])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{label}: mean ± std over seeds")
    return _save(fig, path)


def profile_figure(costs: np.ndarray, solvers: list[str], path: Path, kind: str = "performance",
                   grid: np.ndarray | None = None, xlabel: str | None = None) -> Path:
    """Performance profile (``kind="performance"``: share within a factor τ of the best, log τ)
    or data profile (``"data"``: share solved within a budget). ``costs``: problems × solvers."""
    from optrun import stats

    costs = np.asarray(costs, dtype=float)
    finite = costs[np.isfinite(costs)]
    if kind == "performance":
        best = np.where(np.isfinite(costs), costs, np.inf).min(axis=1, keepdims=True)
        ratios = (costs / best)[np.isfinite(costs / best)]
        top = float(ratios.max()) * 1.5 if ratios.size else 2.0
        grid = np.geomspace(1.0, max(top, 1.01), 200) if grid is None else grid
        prof = stats.performance_profile(costs, grid)
        xlabel = xlabel or "τ (within a factor τ of the best)"
    else:
        top = float(finite.max()) * 1.1 if finite.size else 1.0
        grid = np.linspace(0.0, top, 200) if grid is None else grid
        prof = stats.data_profile(costs, grid)
        xlabel = xlabel or "budget"
    fig, (ax,) = _figure(6.0, 4.0)
    cols = _palette(solvers)
    for s, name in enumerate(solvers):
        ax.step(grid, prof[s], where="post", color=cols[name], label=name, lw=1.6)
    if kind == "performance":
        ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of problems")
    ax.set_title(f"{'Performance' if kind == 'performance' else 'Data'} profile ({costs.shape[0]} problems)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def tune_figure(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]], ranking: list[dict], path: Path,
                score_label: str = "final f − f*", target: float | None = None, logx: bool = False) -> Path:
    """Left: f − f* of each optimizer's chosen setting over the seeds (median, min–max band).
    Right: the ranking, the median score over the seeds with its 10–90 % band."""
    fig, (a1, a2) = _figure(11.0, 4.4, ncols=2)
    names = [r["optimizer"] for r in ranking]
    cols = _palette(names)
    for opt in names:
        runs = curves.get(opt) or []
        if not runs:
            continue
        n = min(len(s) for s, _ in runs)
        x = runs[0][0][:n]
        ys = np.array([np.maximum(y[:n], 1e-300) for _, y in runs])
        with np.errstate(all="ignore"):
            a1.plot(x, np.median(ys, axis=0), color=cols[opt], lw=1.5, label=opt)
            a1.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=cols[opt], alpha=0.15, lw=0)
    if target is not None:
        a1.axhline(target, color="k", ls=":", lw=1, label="target")
    a1.set_yscale("log")
    if logx:
        a1.set_xscale("log")
    a1.set_xlabel("optimizer step t")
    a1.set_ylabel("f(θ) − f*")
    a1.set_title("chosen setting of each optimizer, over the seeds")
    a1.legend(fontsize=7, ncol=2)
    ys = np.arange(len(ranking))[::-1]
    for yv, r in zip(ys, ranking):
        c = cols[r["optimizer"]]
        if r.get("score") is not None:
            lo = r["band_low"] if r.get("band_low") is not None else r["score"]
            hi = r["band_high"] if r.get("band_high") is not None else r["score"]
            a2.plot([lo, hi], [yv, yv], color=c, lw=3, alpha=0.5)
            a2.plot([r["score"]], [yv], "o", color=c)
        elif r.get("score_above") is not None and math.isfinite(r["score_above"]):
            a2.plot([r["score_above"]], [yv], ">", color=c)
    a2.set_yticks(ys, [f"{r['rank']}. {r['optimizer']}  {r['hyperparameters']}" for r in ranking], fontsize=7)
    scores = [r["score"] for r in ranking if r.get("score") is not None]
    if scores and min(scores) > 0:
        a2.set_xscale("log")
    a2.set_xlabel(f"{score_label} (median over seeds, 10–90 % band)")
    a2.set_title("ranking after equal-budget tuning")
    a2.grid(alpha=0.25)
    return _save(fig, path)


def theory_figure(runs: list[tuple[str, dict, dict, np.ndarray, np.ndarray]], path: Path, relative: bool = False,
                  logx: bool = False) -> tuple[Path, list[dict]]:
    """:func:`theory_fig` saved to ``path``; returns the path and what it found."""
    fig, found = theory_fig(runs, relative, logx)
    return _save(fig, path), found


def theory_fig(runs: list[tuple[str, dict, dict, np.ndarray, np.ndarray]], relative: bool = False,
               logx: bool = False):
    """f − f* (or relative) of each run with its theory curve dashed; a red ✕ where the measured
    curve breaks its bound. ``runs``: (label, summary, optimizer section, steps, loss). Returns
    the figure and one ``{label, kind, violation_step}`` per run that has a theory curve."""
    fig, (ax,) = _figure(7.0, 4.4)
    cols = _palette([r[0] for r in runs])
    found = []
    for label, summary, opt, steps, loss in runs:
        f_star = summary.get("f_star")
        if f_star is None:
            continue
        scale = (float(loss[0]) - f_star) if relative else 1.0
        sub = (np.asarray(loss, float) - f_star) / scale
        ax.plot(steps, np.maximum(sub, 1e-300), color=cols[label], lw=1.5, label=label)
        th = theory_curve(summary, opt, steps, loss)
        if th is None:
            continue
        ax.plot(steps, th["bound"] / scale, "--", color=cols[label], lw=1.0, label=f"{label}: {th['kind']}")
        v = th["violation"]
        found.append({"label": label, "kind": th["kind"], "violation_step": None if v is None else float(steps[v])})
        if v is not None:
            ax.plot([steps[v]], [sub[v]], "x", color="red", ms=9, mew=2)
            ax.annotate("breaks its bound", (steps[v], sub[v]), color="red", fontsize=8,
                        xytext=(5, 5), textcoords="offset points")
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("optimizer step t")
    ax.set_ylabel("(f − f*)/(f₀ − f*)" if relative else "f(θ) − f*")
    ax.set_title("measured curves and what theory predicts (dashed)")
    ax.legend(fontsize=7)
    return fig, found


def run_theory(run: Any) -> dict | None:
    """:func:`theory_curve` of one run (``RunData``), where its rates apply: full batch (they are
    rates of gradient descent, not of sampled gradients) and a smooth objective (no l1: the
    subgradient method has no linear rate); constrained runs are left out by theory_curve."""
    cfg = run.config or {}
    if run.trace is None or "loss" not in run.trace.columns:
        return None
    if ((cfg.get("batch") or {}).get("mode", "full") != "full") or ((cfg.get("loss") or {}).get("l1") or 0.0):
        return None
    return theory_curve(run.summary, dict(cfg.get("optimizer") or {}), run.trace["step"].to_numpy(float),
                        run.trace["loss"].to_numpy(float))


def has_theory(runs: list[Any]) -> bool:
    """Does theory predict a rate for one of these runs (``RunData``)? The ``theory`` figure is
    drawn only then."""
    return any(run.config is not None and run_theory(run) for run in runs)


def theory_data(groups: Any) -> list[dict]:
    """The plain data of the ``theory`` figure: per group ``{label, steps, subopt, bound, kind,
    violation}`` (``bound`` None where theory predicts nothing for that run). f − f* and the
    bound are floored at 10 × the rounding of f* (as the loss figure's suboptimality panel):
    below it is rounding, and a Newton run's 1e-315 would take the axis with it."""
    out = []
    for g in groups:
        run = g.first
        if run.trace is None or run.config is None or "loss" not in run.trace or run.summary.get("f_star") is None:
            continue
        f_star = run.summary["f_star"]
        rounding = float(((run.summary.get("diagnostics") or {}).get("f_star_rounding")) or 0.0)
        floor = max(10.0 * rounding, 1e-16 * max(1.0, abs(f_star)))
        th = run_theory(run)
        sub = run.trace["loss"].to_numpy(float) - f_star
        out.append({"label": g.label, "color": g.color, "steps": run.trace["step"].to_numpy(float),
                    "subopt": np.maximum(sub, floor),
                    "bound": None if th is None else np.maximum(th["bound"], floor),
                    "kind": None if th is None else th["kind"], "violation": None if th is None else th["violation"]})
    return out
