"""Statistics of many runs that a paper can use: right-censored summaries and profiles.

A seed that never reaches a target within its budget has not "no value": its time to target is
*right-censored* (> budget). Dropping it biases every median down (four seeds at 144, 200, 98,
98 and one unreached: the median is > budget's third order statistic, not 121). Here an
unreached value counts as +inf in the order statistics, and a quantile that falls on one is
reported as a lower bound, with the number of seeds that reached the target beside it.

Profiles compare solvers across problems (Dolan & Moré 2002; Moré & Wild 2009):

* performance profile ρ_s(τ) = |{p : r_{p,s} ≤ τ}| / n_p with r_{p,s} = t_{p,s} / min_s t_{p,s};
* data profile d_s(α) = |{p : t_{p,s} ≤ α}| / n_p, the share of problems solved within a budget α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Censored:
    """A quantile of right-censored values: ``value`` when it is observed, else ``None`` with
    ``above`` the budget it is known to exceed."""

    value: float | None
    above: float | None
    reached: int
    n: int

    def text(self, fmt: str = "{:.4g}") -> str:
        core = fmt.format(self.value) if self.value is not None else f"> {fmt.format(self.above)}"
        return f"{core} ({self.reached}/{self.n} reached)"

    def to_dict(self) -> dict:
        return {"value": self.value, "above": self.above, "reached": self.reached, "n": self.n}


def censored_quantile(values, budget: float, q: float = 0.5) -> Censored:
    """The q-quantile of ``values`` where ``None``/NaN/inf means "not reached within ``budget``".

    Uses the lower median convention for even n (the order statistic ⌈q·n⌉), so the result is
    always one of the observed values or the censoring bound.
    """
    vals = [math.inf if v is None or not math.isfinite(float(v)) else float(v) for v in values]
    n = len(vals)
    reached = sum(math.isfinite(v) for v in vals)
    if n == 0:
        return Censored(None, None, 0, 0)
    k = max(1, math.ceil(q * n)) - 1
    v = sorted(vals)[k]
    return Censored(v, None, reached, n) if math.isfinite(v) else Censored(None, float(budget), reached, n)


def performance_profile(costs: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """ρ[s, j] = share of problems where solver s is within a factor taus[j] of the best.

    ``costs`` has shape (problems, solvers); ``inf`` (or NaN) marks a failure. A problem no
    solver solves counts as a failure for all.
    """
    t = np.where(np.isfinite(costs), costs, np.inf).astype(float)
    best = t.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(best), t / best, np.inf)
    taus = np.asarray(taus, dtype=float)
    return (ratio[:, :, None] <= taus[None, None, :]).mean(axis=0)


def data_profile(costs: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """d[s, j] = share of problems solver s solves within budgets[j] (same cost unit)."""
    t = np.where(np.isfinite(costs), costs, np.inf).astype(float)
    return (t[:, :, None] <= np.asarray(budgets, dtype=float)[None, None, :]).mean(axis=0)
