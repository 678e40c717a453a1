"""What :mod:`optrun.tune` writes besides ``tune.json``: ``trials.csv``, ``ranking.csv`` and the
figures glue (``plots/tune.<fmt>``, ``plots/sensitivity.<fmt>``)."""

from __future__ import annotations

import math
from pathlib import Path

RANKING_COLUMNS = ["rank", "optimizer", "hyperparameters", "score", "score_above", "band_low", "band_high",
                   "reached", "seeds", "trial_score", "trials", "diverged_trials", "median_final_subopt"]


def _trial_row(r: dict) -> dict:
    row = {"optimizer": r["optimizer"], "trial": r["index"], "seed": r["seed"], "status": r["status"],
           "score": r["score"] if math.isfinite(r.get("score", math.inf)) else None,
           "final_subopt": r["final_subopt"], "run_dir": Path(r["run_dir"]).name if r["run_dir"] else ""}
    row.update({f"hp.{k}": v for k, v in r["values"].items()})
    return row


def _write_tables(folder: Path, trials: list[dict], ranking: list[dict]) -> None:
    from optrun.rundir import write_csv

    def hp_cols(rows):
        seen: list[str] = []
        for r in rows:
            seen += [k for k in r if k.startswith("hp.") and k not in seen]
        return seen

    write_csv(folder / "trials.csv", trials, ["optimizer", "trial", "seed", "status", "score", "final_subopt",
                                              *hp_cols(trials), "run_dir"])
    write_csv(folder / "ranking.csv", ranking, [*RANKING_COLUMNS, *hp_cols(ranking)])


def _figures(folder: Path, trials: list[dict], reruns: list[dict], ranking: list[dict], score: str,
             target: float | None, fmt: str) -> list[Path]:
    """``plots/tune.<fmt>`` (the chosen setting of each optimizer over the seeds, and the ranking)
    and ``plots/sensitivity.<fmt>`` (each trial's score against its learning rate)."""
    from optrun.plots import many

    out = folder / "plots"
    out.mkdir(exist_ok=True)
    curves = {}
    for r in reruns:
        t = r["_trace"]
        if t is not None and r["f_star"] is not None:
            curves.setdefault(r["optimizer"], []).append((t["step"].to_numpy(float), t["loss"].to_numpy(float) - r["f_star"]))
    points = [{"optimizer": r["optimizer"], "lr": r["values"].get("lr"), "score": r["score"],
               "status": r["status"], "seed": r["seed"]} for r in trials]
    label = {"final_subopt": "final f − f*", "steps_to_target": "steps to target",
             "evals_to_target": "evaluations to target", "time_to_target": "seconds to target"}[score]
    figs = [many.tune_figure(curves, ranking, out / f"tune.{fmt}", score_label=label, target=target)]
    if any(p["lr"] is not None for p in points):
        figs.append(many.sensitivity_figure(points, out / f"sensitivity.{fmt}", score_label=label))
    return figs
