"""Run folders -> figure files: the two layers joined, one figure at a time.

A figure that cannot be drawn (no f*, data moved away, a one-parameter model) becomes a figure
that says why, plus a line on stderr; one failing figure never stops the others.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Callable

from optrun.errors import OptrunError
from optrun.plots import arrays

FORMATS = ("png", "svg")
PROJECTIONS = ("hessian", "pca")


def _warn(msg: str) -> None:
    sys.stderr.write(f"warning: {msg}\n")
    sys.stderr.flush()


def expand_dirs(paths: list[Path]) -> tuple[list[Path], dict, dict[str, str]]:
    """Run folders behind ``paths``: a run folder as is; a comparison (or any) folder holding
    run folders gives all of them, in the order of its ``comparison.csv`` when there is one.
    Also returns the comparison's metadata (``comparison.json``) when a single one was given, and
    the legend labels that ``comparison.csv`` gives its runs."""
    runs: list[Path] = []
    meta: dict = {}
    labels: dict[str, str] = {}
    for p in paths:
        p = Path(p)
        if (p / "summary.json").is_file():
            runs.append(p)
            continue
        if not p.is_dir():
            raise OptrunError(f"{p}: no such run folder")
        inner = sorted(q for q in p.iterdir() if (q / "summary.json").is_file())
        if not inner:
            raise OptrunError(f"{p}: not a run folder (no summary.json) and holds no run folders")
        order, lab = _comparison_order(p)
        labels.update(lab)
        if order:
            inner.sort(key=lambda q: order.get(q.name, 10**9))
        if (p / "comparison.json").is_file() and len(paths) == 1:
            try:
                meta = json.loads((p / "comparison.json").read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                meta = {}
        runs.extend(inner)
    return runs, meta, labels


def _comparison_order(folder: Path) -> tuple[dict[str, int], dict[str, str]]:
    csv = folder / "comparison.csv"
    if not csv.is_file():
        return {}, {}
    import csv as csv_mod

    with csv.open(encoding="utf-8") as fh:
        rows = list(csv_mod.DictReader(fh))
    order = {Path(r.get("run_dir") or "").name: i for i, r in enumerate(rows)}
    labels = {Path(r.get("run_dir") or "").name: r["label"] for r in rows if r.get("label") and r.get("run_dir")}
    return order, labels


def _safe(name: str, out: Path, fmt: str, build: Callable, fallback_title: str, written: list[Path]) -> None:
    """Build and save one figure; on failure save a figure that says why, and warn."""
    from optrun.plots.figures import message_figure, save_figure

    path = out / f"{name}.{fmt}"
    try:
        fig = build()
    except Exception as exc:  # a plotting bug must not cost the other figures
        detail = f"{type(exc).__name__}: {exc}"
        _warn(f"{path.name}: could not be drawn ({detail})")
        (out / f"{name}_error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        fig = message_figure(fallback_title, f"this figure could not be drawn: {detail}")
    written.append(save_figure(fig, path))


def draw_groups(
    groups: list[arrays.Group],
    out: Path,
    fmt: str = "png",
    x: str = "step",
    ys: list[str] | None = None,
    log: bool | None = None,
    projection: str = "hessian",
    animate: bool = False,
    style_note: str = "",
    figures: tuple[str, ...] = ("loss", "grad_norm", "params", "contour", "data"),
) -> list[Path]:
    """Draw the figures of these groups into ``out``; return the files written."""
    from optrun.plots import figures as F

    if fmt not in FORMATS:
        raise OptrunError(f"--format: expected png or svg, got {fmt!r}")
    if x not in arrays.X_COLUMNS:
        raise OptrunError(f"--x: expected one of {', '.join(arrays.X_COLUMNS)}, got {x!r}")
    if projection not in PROJECTIONS:
        raise OptrunError(f"--projection: expected hessian or pca, got {projection!r}")
    out.mkdir(parents=True, exist_ok=True)
    title, sub = arrays.figure_title(groups)
    notes = [style_note] if style_note else []
    written: list[Path] = []
    first = groups[0].first
    for r in (r for g in groups for r in g.runs):
        for prob in r.problems:
            _warn(f"{r.path.name}: {prob}")

    if ys:  # only the requested curve figures
        for y in ys:
            if y not in arrays.Y_KINDS:
                raise OptrunError(f"--y: expected one of {', '.join(arrays.Y_KINDS)}, got {y!r}")
            _safe(y, out, fmt, lambda y=y: F.curves_figure([arrays.curve_panel(groups, x, y, log)], title, sub, notes),
                  arrays.Y_LABELS[y], written)
    else:
        if "loss" in figures:
            def loss_fig():
                panels = [arrays.curve_panel(groups, x, "loss", log if log is not None else None)]
                panels.append(arrays.curve_panel(groups, x, "subopt", None))
                return F.curves_figure(panels, title, sub, notes)

            _safe("loss", out, fmt, loss_fig, "loss", written)
        if "grad_norm" in figures:
            _safe("grad_norm", out, fmt, lambda: F.curves_figure([arrays.curve_panel(groups, x, "grad_norm")], title, sub, notes),
                  "gradient norm", written)
        if "params" in figures:
            _safe("params", out, fmt, lambda: F.params_figure(arrays.params_data(groups, x), title, sub), "parameters", written)

    need_problem = animate or (not ys and ("contour" in figures or "data" in figures))
    problem, why = (arrays.load_problem(first) if need_problem else (None, None))
    if why:
        _warn(f"{first.path.name}: contours and data view not drawn: {why}")
    cd_cache: dict = {}

    def contour():
        if "cd" not in cd_cache:
            cd_cache["cd"] = arrays.contour_data(groups, x, projection, problem=problem, why=why)
        return cd_cache["cd"]

    if not ys and "contour" in figures:
        def contour_fig():
            cd = contour()
            if isinstance(cd, str):
                return F.message_figure(title, f"no contour plot: {cd}", sub)
            cd.notes = [*notes, *cd.notes]
            return F.contour_figure(cd)

        _safe("contour", out, fmt, contour_fig, "contour", written)
    if not ys and "data" in figures and len(first.param_names) - ("b" in first.param_names) == 1:
        def data_fig():
            dd = arrays.dataspace_data(groups, problem=problem, why=why)
            if isinstance(dd, str):
                return F.message_figure(title, f"no data-space view: {dd}", sub)
            return F.dataspace_figure(dd)

        _safe("data", out, fmt, data_fig, "data", written)
    if animate:
        cd = contour()
        if isinstance(cd, str):
            _warn(f"no animation: {cd}")
        else:
            try:
                written.append(F.contour_animation(cd, out / "contour.gif"))
            except Exception as exc:
                _warn(f"contour.gif could not be drawn ({type(exc).__name__}: {exc})")
    return written


def draw_run(run_dir: Path, fmt: str = "png", x: str = "step", projection: str = "hessian",
             animate: bool = False, out: Path | None = None) -> list[Path]:
    """Draw a run's figures into ``run_dir/plots/`` (or ``out``) from the folder alone."""
    run = arrays.load_run(run_dir)
    groups, note = arrays.group_runs([run])
    return draw_groups(groups, Path(out) if out else Path(run_dir) / "plots", fmt=fmt, x=x,
                       projection=projection, animate=animate, style_note=note)


def draw_runs(run_dirs: list[Path], out: Path, fmt: str = "png", x: str | None = None, ys: list[str] | None = None,
              log: bool | None = None, projection: str = "hessian", animate: bool = False,
              labels: dict[str, str] | None = None) -> list[Path]:
    """Overlay several runs (seeds of one setting become a median with a 10–90% band)."""
    runs = [arrays.load_run(p) for p in run_dirs]
    groups, note = arrays.group_runs(runs, labels)
    x = x or arrays.default_x(runs)
    return draw_groups(groups, Path(out), fmt=fmt, x=x, ys=ys, log=log, projection=projection, animate=animate,
                       style_note=note)
