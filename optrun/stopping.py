"""Stopping rules beside the step budget and the gradient tolerance (level 0, pure Python).

* ``train.target``: stop when f − f* ≤ target (or, with ``target_relative``, when
  (f − f*)/(f_0 − f*) ≤ target) — status ``converged``. The check runs at a resolution that does
  not depend on the budget (``check_every`` steps; prepare sets every step in full batch, 8 times
  per epoch otherwise), so "steps to target" means the same at a 100- and a 500-epoch budget.
* ``train.patience``: stop when the best loss has not decreased by a relative ``min_progress``
  within ``patience`` steps — status ``completed``.
* ``train.time_budget``: stop after that many seconds of training — status ``completed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class StopRules:
    target: float | None = None
    relative: bool = False
    f_star: float | None = None
    check_every: int = 1
    patience: int | None = None
    min_progress: float = 1e-4
    time_budget: float | None = None
    _threshold: float | None = field(default=None, init=False)
    _best: float = field(default=math.inf, init=False)
    _best_step: int = field(default=0, init=False)

    def start(self, loss0: float) -> None:
        """Called with f(θ_0): fixes the absolute threshold of a relative target."""
        if self.target is not None:
            gap0 = loss0 - self.f_star if self.relative else 1.0
            self._threshold = self.f_star + self.target * gap0
        self._best, self._best_step = loss0, 0

    def wants_evaluation(self, t: int) -> bool:
        """Must the engine evaluate f at step t (a target check between logged rows)?"""
        return self.target is not None and t % self.check_every == 0

    def check(self, t: int, loss: float | None, elapsed: float) -> tuple[str, str] | None:
        """(status, reason) when a rule stops the run at step t; ``loss`` is None when f was not
        evaluated at this step."""
        # only at the checking resolution, even where f happens to be evaluated (a logged row):
        # otherwise the answer would depend on the logging cadence, hence on the budget
        if loss is not None and self._threshold is not None and t % self.check_every == 0 and loss <= self._threshold:
            what = "(f - f*)/(f_0 - f*)" if self.relative else "f - f*"
            return "converged", f"target reached: {what} <= {self.target:g} at step {t}"
        if loss is not None and self.patience is not None:
            if loss < self._best - self.min_progress * abs(self._best):
                self._best, self._best_step = loss, t
            elif t - self._best_step >= self.patience:
                return "completed", (f"no progress: the best loss did not improve by {self.min_progress:g} "
                                     f"(relative) in {self.patience} steps (step {t})")
        if self.time_budget is not None and elapsed >= self.time_budget:
            return "completed", f"time budget reached ({self.time_budget:g} s) at step {t}"
        return None
