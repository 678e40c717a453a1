"""What :mod:`optrun.compare` writes besides ``comparison.json``: ``comparison.csv`` and the
overlay figures (``plots/``)."""

from __future__ import annotations

import math
from pathlib import Path

CSV_FIXED = ["label", "seed", "status", "stop_reason", "steps_to_target", "epochs_to_target", "samples_to_target",
             "time_to_target_s", "steps", "epochs", "samples", "final_loss", "f_star", "final_subopt", "best_subopt",
             "wall_time_s", "run_dir"]


def write_csv(path: Path, rows: list[dict], vary_keys: list[str]) -> None:
    """``comparison.csv``: the varied values first, then the fixed columns (empty = none, also
    for a non-finite number); cells by the one rule, :func:`optrun.rundir.write_csv`."""
    from optrun.rundir import write_csv as write_rows

    clean = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()} for r in rows]
    write_rows(path, clean, [*vary_keys, *CSV_FIXED])


def _overlays(rows: list[dict], folder: Path, fmt: str, x: str, projection: str, animate: bool,
              figure=None, target: float | None = None) -> list[Path]:
    """The overlay figures of the runs that have a folder (``plots/``); ``figure``: the
    :class:`optrun.plots.style.FigureOptions` (style, title, size...)."""
    done = [folder / r["run_dir"] for r in rows if r["run_dir"]]
    if not done:
        return []
    from optrun.plots import draw_runs

    labels_by_dir = {r["run_dir"]: r["label"] for r in rows if r["run_dir"]}
    return draw_runs(done, folder / "plots", fmt=fmt, x=x, projection=projection, animate=animate,
                     labels=labels_by_dir, options=figure, lecture={"target": target} if target is not None else None)
