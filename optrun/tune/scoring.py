"""Scoring of :mod:`optrun.tune`: what a finished run gives the tuner (:func:`run_record`), the
first crossing of the target (:func:`crossing`) and a trial's score (:func:`score_of`, lower is
better, +inf for a diverged, failed or never-arriving run)."""

from __future__ import annotations

import math
from pathlib import Path

from optrun.tune.plan import Planned

DONE_STATUSES = ("completed", "converged", "diverged")


def _budget_units(summary: dict, trace) -> dict:
    last = trace.iloc[-1] if trace is not None and len(trace) else None
    col = "evals" if trace is not None and "evals" in trace.columns else "samples"
    return {"steps_to_target": summary.get("total_steps") or summary.get("steps"),
            "evals_to_target": float(last[col]) if last is not None else None,
            "time_to_target": float(last["time_s"]) if last is not None else None}


def crossing(trace, f_star: float | None, target: float | None) -> dict:
    """First logged row at the target (:func:`optrun.trace.at_target`: f − f* ≤ target, and
    feasible to the target for a constrained run): its step, evals (``evals`` or ``samples``)
    and time; None where it never gets there (right-censored) or f* is unknown."""
    import numpy as np

    from optrun.trace import at_target

    out = {"steps_to_target": None, "evals_to_target": None, "time_to_target": None}
    if trace is None or f_star is None or target is None or not len(trace):
        return out
    hit = np.flatnonzero(at_target(trace, f_star, target))
    if hit.size:
        row = trace.iloc[int(hit[0])]
        col = "evals" if "evals" in trace.columns else "samples"
        out.update(steps_to_target=int(row["step"]), evals_to_target=float(row[col]),
                   time_to_target=float(row["time_s"]))
    return out


def run_record(p: Planned, folder: Path | None, error: str | None = None) -> dict:
    """What a run gives the tuner: status, f*, final f − f*, the initial gap, its trace."""
    rec = {"phase": p.phase, "optimizer": p.optimizer, "index": p.index, "seed": p.seed, "values": p.values,
           "status": "failed", "final_subopt": None, "f_star": None, "f0_gap": None, "run_dir": None,
           "error": error, "_trace": None, "_summary": {}}
    if folder is None:
        return rec
    from optrun.rundir import RunFolder

    run = RunFolder(folder)
    s = run.summary
    trace = run.trace if s.get("status") in DONE_STATUSES else None
    f_star = s.get("f_star")
    sub = s.get("suboptimality")
    if sub is None and s.get("final_loss") is not None and f_star is None:
        sub = s.get("final_loss")  # no f*: the final objective is the score
    rec.update(status=s.get("status"), final_subopt=sub, f_star=f_star, run_dir=str(folder), _trace=trace,
               _summary=s)
    if trace is not None and f_star is not None and len(trace):
        rec["f0_gap"] = float(trace["loss"].iloc[0]) - f_star
    return rec


def score_of(rec: dict, score: str, target: float | None) -> float:
    """The trial's score (lower is better): +inf for a diverged/failed run or one that never
    reached the target."""
    if rec["status"] not in ("completed", "converged"):
        return math.inf
    if score == "final_subopt":
        v = rec["final_subopt"]
        return float(v) if v is not None and math.isfinite(v) else math.inf
    v = crossing(rec["_trace"], rec["f_star"], target)[score]
    return float(v) if v is not None else math.inf
