"""Statistics and ranking of :mod:`optrun.compare`: the first crossing of the target, the target
level, the censored median and band of "to target" per setting, and the ranked settings."""

from __future__ import annotations

import math
from typing import Any


def to_target(trace, f_star: float | None, target: float | None) -> dict:
    """First logged row at the target (:func:`optrun.trace.at_target`: f - f* <= target, and
    feasible to the target for a constrained run): its step, epoch, samples and time (or None)."""
    out = {"steps_to_target": None, "epochs_to_target": None, "samples_to_target": None, "time_to_target_s": None}
    if f_star is None or target is None:
        return out
    import numpy as np

    from optrun.trace import at_target

    hit = np.flatnonzero(at_target(trace, f_star, target))
    if hit.size:
        row = trace.iloc[int(hit[0])]
        out.update(steps_to_target=int(row["step"]), epochs_to_target=float(row["epoch"]),
                   samples_to_target=int(row["samples"]), time_to_target_s=float(row["time_s"]))
    return out


def _median(vals: list) -> float | None:
    v = sorted(x for x in vals if x is not None and isinstance(x, (int, float)) and math.isfinite(x))
    if not v:
        return None
    k = len(v)
    return float(v[k // 2]) if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


#: the to-target column of each x unit, and the summary field that is its budget
UNITS = {"step": ("steps_to_target", "steps"), "epoch": ("epochs_to_target", "epochs"),
         "samples": ("samples_to_target", "samples"), "time": ("time_to_target_s", "wall_time_s")}


def censored_to_target(rs: list[dict], x: str) -> dict:
    """Median and 10-90 % band of "to target" over the runs of one setting, a run that never
    reached the target counted as right-censored (> its budget), never dropped
    (:func:`optrun.stats.censored_quantile`, order statistic ⌈q·n⌉). A diverged or failed run
    did not reach it either."""
    from optrun.stats import censored_quantile

    unit, budget_key = UNITS[x]
    vals = [r.get(unit) for r in rs]
    budget = max((float(r[budget_key]) for r in rs if isinstance(r.get(budget_key), (int, float))), default=math.inf)
    med, lo, hi = (censored_quantile(vals, budget, q) for q in (0.5, 0.1, 0.9))
    text = med.text("{:.4g}") if rs else ""
    if rs and all(r.get("status") == "failed" for r in rs):
        text = "failed"  # no budget to be censored at: "> inf (0/n reached)" said nothing
    return {"median_to_target": med.value, "median_to_target_above": med.above, "reached_target": med.reached,
            "band_to_target": [lo.value, hi.value if hi.value is not None else None],
            "to_target_text": text}


def rank_settings(rows: list[dict], x: str) -> list[dict]:
    """One row per combination: how many runs reached the target ("n reached"), the censored
    median and band of the runs to target, medians of the rest; best first: a setting whose
    median is observed beats one whose median is censored; then the median; then more reached;
    then the final suboptimality. A setting where most runs diverged or failed ranks last."""
    unit = UNITS[x][0]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    out = []
    for label, rs in by.items():
        statuses: dict[str, int] = {}
        for r in rs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        out.append({
            "label": label,
            "runs": len(rs),
            "statuses": statuses,
            **censored_to_target(rs, x),
            "to_target_unit": unit,
            "median_final_loss": _median([r["final_loss"] for r in rs if r["status"] != "diverged"]),
            "median_final_subopt": _median([r["final_subopt"] for r in rs if r["status"] != "diverged"]),
            "median_wall_time_s": _median([r["wall_time_s"] for r in rs]),
            "values": rs[0].get("_values", {}),
        })

    def key(s):
        bad = sum(v for k, v in s["statuses"].items() if k in ("diverged", "failed"))
        mt = s["median_to_target"]
        fs = s["median_final_subopt"]
        return (bad * 2 > s["runs"], mt is None, mt if mt is not None else 0.0, -s["reached_target"],
                fs if fs is not None else math.inf)

    out.sort(key=key)
    for i, s in enumerate(out, 1):
        s["rank"] = i
    return out


def _target(rows: list[tuple[dict, Any]], target: float | None) -> tuple[float | None, str]:
    """The target level: given, or 1/1000 of the median initial suboptimality; and its rule."""
    if target is not None:
        return target, "given (--target)"
    f0s = [float(t["loss"].iloc[0]) - r["f_star"] for r, t in rows if t is not None and r["f_star"] is not None]
    med = _median(f0s) if f0s else None
    return (1e-3 * med if med and med > 0 else None), "1e-3 x the median initial f - f*"


def _finish_rows(rows: list[tuple[dict, Any]], target: float | None) -> list[dict]:
    """Fill in the to-target columns and the best suboptimality from each trace."""
    import numpy as np

    final_rows = []
    for r, t in rows:
        if t is not None:
            r.update(to_target(t, r["f_star"], target))
            if r["f_star"] is not None:
                sub = t["loss"].to_numpy(float) - r["f_star"]
                if "infeasibility" in t.columns and target is not None:  # below f* only while infeasible
                    sub = sub[t["infeasibility"].to_numpy(float) <= target]
                sub = sub[np.isfinite(sub)]
                r["best_subopt"] = float(sub.min()) if sub.size else None
        final_rows.append(r)
    return final_rows
