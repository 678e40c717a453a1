"""Figures from run folders only (never by training again).

Two layers, as cabinetry does it: builders turn run folders into plain data (the dataclasses of
:mod:`optrun.plots.model`: curves, seed bands, contour grids, projected paths), and
:mod:`optrun.plots.figures` turns plain data into a matplotlib ``Figure`` (Agg canvas, no
pyplot), with :func:`optrun.plots.figures.save_figure` the one save-and-close helper. The
figures are a table (:mod:`optrun.plots.catalog`) that :mod:`optrun.plots.draw` loops over;
:mod:`optrun.plots.colors` holds the family palette. ``optrun.plots.arrays`` re-exports the
0.1.0 names.

Importing this package imports neither matplotlib nor pandas.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["draw_run", "draw_runs"]


def draw_run(run_dir: Path, fmt: str = "png", **kwargs) -> list[Path]:
    """Draw one run's figures into ``run_dir/plots/``: those ``optrun train`` draws (loss, params,
    contour; :data:`optrun.plots.choices.TRAIN_FIGURES`), or ``options.figures``
    (``FigureOptions(figures=choices.FIGURE_NAMES)`` for all). See :func:`optrun.plots.draw.draw_run`."""
    from optrun.plots.draw import draw_run as _draw_run

    return _draw_run(Path(run_dir), fmt=fmt, **kwargs)


def draw_runs(run_dirs, out: Path, **kwargs) -> list[Path]:
    """Overlay several runs into ``out``. See :func:`optrun.plots.draw.draw_runs`."""
    from optrun.plots.draw import draw_runs as _draw_runs

    return _draw_runs([Path(p) for p in run_dirs], Path(out), **kwargs)
