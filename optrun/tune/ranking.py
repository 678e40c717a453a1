"""Ranking of :mod:`optrun.tune`: the best trial of each optimizer, then one row per optimizer
from its reruns over fresh seeds (censored median and 10–90 % band), best first."""

from __future__ import annotations

import math

from optrun.tune.points import setting_text
from optrun.tune.scoring import _budget_units


def _best(recs: list[dict], optimizers: list[str]) -> dict[str, dict]:
    """The best trial of each optimizer: lowest score, then lowest final f − f*, then first."""
    out = {}
    for opt in optimizers:
        mine = [r for r in recs if r["optimizer"] == opt and r["status"] != "not_run"]
        if not mine:
            continue

        def key(r):
            fs = r["final_subopt"] if r["final_subopt"] is not None and r["status"] in ("completed", "converged") else math.inf
            return (r["score"], fs if math.isfinite(fs) else math.inf, r["index"])

        out[opt] = min(mine, key=key)
    return out


def _budget_of(rec: dict, score: str) -> float:
    if rec["_trace"] is None:
        return math.inf
    return float(_budget_units(rec["_summary"], rec["_trace"])[score] or math.inf)


def rank(optimizers: list[str], trials: list[dict], reruns: list[dict], best: dict, score: str,
         target: float | None) -> list[dict]:
    """One row per optimizer: its chosen setting, the median score over the reruns with the
    10–90 % band (censored order statistics ⌈qK⌉), how many reached the target, best first."""
    from optrun.stats import censored_quantile

    rows = []
    for opt in optimizers:
        mine = [r for r in trials if r["optimizer"] == opt]
        b = best.get(opt)
        rr = [r for r in reruns if r["optimizer"] == opt and r["status"] != "not_run"]
        vals = [r["score"] for r in rr]
        budget = max((_budget_of(r, score) for r in rr), default=math.inf) if score != "final_subopt" else math.inf
        med, lo, hi = (censored_quantile(vals, budget, q) for q in (0.5, 0.1, 0.9))
        rows.append({
            "optimizer": opt,
            "hyperparameters": setting_text(b["values"]) if b else "",
            "score": med.value if rr else None,
            "score_above": med.above if rr else None,
            "band_low": lo.value if rr else None,
            "band_high": hi.value if rr else hi.above,
            "reached": med.reached if rr else 0,
            "seeds": len(rr),
            "trial_score": (b["score"] if b and math.isfinite(b["score"]) else None),
            "trials": len(mine),
            "diverged_trials": sum(r["status"] == "diverged" for r in mine),
            "median_final_subopt": censored_quantile([r["final_subopt"] for r in rr], math.inf).value if rr else None,
            "_values": b["values"] if b else {},
        })
    rows.sort(key=lambda r: (r["score"] is None, r["score"] if r["score"] is not None else 0.0, -r["reached"],
                             r["median_final_subopt"] if r["median_final_subopt"] is not None else math.inf))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        for k, v in r.pop("_values").items():
            r[f"hp.{k}"] = v
    return rows
