"""The loop over a stack: :func:`run_group` trains runs that share a stack as one program, the
same loop as :func:`optrun.engine.run` over the rows of Θ."""

from __future__ import annotations

import math
import time

import numpy as np

from optrun import engine
from optrun.control import StopFlag
from optrun.engine import EngineResult
from optrun.sampling import batch_indices
from optrun.vectorized.groups import group_key, why_not
from optrun.vectorized.objective import _row_norms, stack_value_and_grad
from optrun.vectorized.stack import _probe, _take_hyper, _take_state, stack_states, stacked_update


def run_group(problems: list, writers: list, stop: StopFlag | None = None) -> list[EngineResult]:
    """Train ``problems`` together, streaming each run's rows into its writer; the results in order.

    The same loop as :func:`optrun.engine.run` (its conventions, rows, divergence and tolerance
    tests, stop flag), over the stack: a run that stops (converged, diverged) leaves the stack and
    the others go on. Problems that cannot share a stack (:func:`why_not`, different
    configurations, a rule the probe rejects) run one by one through :func:`optrun.engine.run`.
    """
    stop = stop or StopFlag()
    keys = {group_key(p) for p in problems}
    if len(problems) > 1 and (None in keys or len(keys) != 1):
        return [engine.run(p, w, stop) for p, w in zip(problems, writers)]
    if len(problems) == 1 and why_not(problems[0]) is not None:
        return [engine.run(problems[0], writers[0], stop)]
    try:
        update = stacked_update([p.optimizer for p in problems])
        state = stack_states([p.optimizer.init(p.theta0) for p in problems])
    except ValueError:
        return [engine.run(p, w, stop) for p, w in zip(problems, writers)]
    Theta = np.stack([p.theta0 for p in problems])
    p0 = problems[0]
    X, y = p0.data.X, p0.data.y
    with np.errstate(all="ignore"):
        _, G0 = stack_value_and_grad(p0.objective, Theta, X, y)
    lrs = np.array([p.optimizer.hyperparams["lr"] for p in problems], dtype=np.float64)
    if not _probe(problems, update, state, Theta, G0, lrs, p0.schedule):
        return [engine.run(p, w, stop) for p, w in zip(problems, writers)]
    return _Group(problems, writers, update, state, Theta, lrs).run(stop)



class _Group:
    """The stacked loop's state: the active runs' rows of Θ, of the optimizer state, of the
    hyperparameter columns and of the last full-data evaluation (loss, G, ‖g‖, divergence limit),
    and what each run's EngineResult needs once it stops."""

    def __init__(self, problems, writers, update, state, Theta, lrs):
        self.problems, self.writers = problems, writers
        self.update, self.state, self.Theta, self.lrs = update, state, Theta, lrs
        self.active = np.arange(len(problems))
        self.results: list[EngineResult | None] = [None] * len(problems)
        p0 = problems[0]
        self.obj, self.data = p0.objective, p0.data
        self.n = self.data.X.shape[0]
        self.full = p0.batch_size >= self.n and not p0.shuffle
        self.T, self.log_every, self.log_at = p0.total_steps, p0.log_every, p0.log_at
        self.factor, self.schedule = p0.divergence_factor, p0.schedule
        self.tols = np.array([p.tol for p in problems])
        self.budget_reason = (f"step budget reached ({self.T} steps)" if self.T
                              else "evaluated without training (train.steps: 0)")
        self.samples, self.start = 0, 0.0
        # writers of one StackTrace, in any order: rows go to it as blocks (ids: each run's writer)
        stack = getattr(writers[0], "stack", None)
        self.stack = stack if stack is not None and all(getattr(w, "stack", None) is stack for w in writers) else None
        self.ids = np.array([w.index for w in writers]) if self.stack is not None else None

    def _value_and_grad(self, Xb, yb):
        return stack_value_and_grad(self.obj, self.Theta, Xb, yb)

    def _evaluate(self) -> None:
        """The full-data losses, gradients and gradient norms at the active runs' θ."""
        self.loss, self.G = self._value_and_grad(self.data.X, self.data.y)
        self.gnorm = _row_norms(self.G)

    def _rows(self, js: np.ndarray, step, samples, elapsed, lrs, losses, batch_losses, gnorms) -> None:
        """Rows of the active runs at positions ``js`` (an int array), as engine.run writes them;
        ``lrs``, ``losses``, ``batch_losses``, ``gnorms`` are arrays by position. ``evals`` is
        ``samples`` (a run that counts its own evaluations is never stacked, :func:`why_not`).
        Writers of one :class:`~optrun.vectorized.traces.StackTrace` get the rows as one block."""
        if not len(js):
            return
        val = self.data.X_val is not None
        vals = [self.obj.data_loss(self.Theta[j], self.data.X_val, self.data.y_val) for j in js.tolist()] if val else None
        if self.stack is None:
            for i, j in enumerate(js.tolist()):
                scalars = (step, samples / self.n, samples, elapsed, float(lrs[j]), float(losses[j]),
                           float(batch_losses[j]), float(gnorms[j]), samples) + ((vals[i],) if val else ())
                self.writers[self.active[j]].record(scalars, self.Theta[j])
            return
        ns = 9 + val
        rows = np.empty((len(js), ns + self.Theta.shape[1]), dtype=np.float64)
        rows[:, :4] = (step, samples / self.n, samples, elapsed)
        rows[:, 4] = lrs[js]
        rows[:, 5] = losses[js]
        rows[:, 6] = batch_losses[js]
        rows[:, 7] = gnorms[js]
        rows[:, 8] = samples
        if val:
            rows[:, 9] = vals
        rows[:, ns:] = self.Theta[js]
        self.stack.record_block(self.ids[self.active[js]], rows)

    def _finish(self, j, status, reason, t, samples, wall, loss, gnorm, k):
        i = self.active[j]
        p = self.problems[i]
        state_j = _take_state(self.state, j, k)
        self.results[i] = EngineResult(
            status=status, stop_reason=reason, steps=t, samples=samples, epochs=samples / self.n,
            theta=self.Theta[j].copy(), loss=float(loss), grad_norm=float(gnorm), wall_time_s=wall,
            optimizer_report=p.optimizer.report(state_j), evals=samples, hook_reports={})

    def run(self, stop: StopFlag) -> list[EngineResult]:
        batches = batch_indices(self.n, self.problems[0].batch_size, self.problems[0].shuffle,
                                self.problems[0].shuffle_rng)
        T, log_every, log_at = self.T, self.log_every, self.log_at
        with np.errstate(all="ignore"):
            self._begin()
            for t in range(1, T + 1):
                batch_loss, s = self._step(t, next(batches))
                logged = (t % log_every == 0 if log_at is None else t in log_at) or t == T
                bad, ev, stopping = self._check(logged, batch_loss, stop)
                elapsed = time.perf_counter() - self.start
                tol = self.tols[self.active]
                converged = ~bad & ev & (tol > 0) & (self.gnorm <= tol)
                ends_any = stopping or bad.any() or converged.any()
                if not (logged or ends_any or t == T):
                    continue
                keep = self._settle(t, s, batch_loss, bad, ev, stopping, stop, logged, ends_any, elapsed)
                if t == T or not keep.any():
                    break
                if not keep.all():
                    self._drop(np.flatnonzero(keep))
        return self.results

    def _begin(self) -> None:
        """Row 0 of every run, its divergence limit; with a budget of 0 steps, the results."""
        self.start = time.perf_counter()
        self._evaluate()
        k = len(self.active)
        nans = np.full(k, math.nan)
        self._rows(np.arange(k), 0, 0, 0.0, nans, self.loss, nans, self.gnorm)
        loss, factor = self.loss, self.factor
        self.limit = np.where(np.isfinite(loss), factor * np.maximum(1.0, np.abs(loss)), np.inf)
        if self.T == 0:
            k = len(self.active)
            for j in range(k):
                self._finish(j, "completed", self.budget_reason, 0, 0, time.perf_counter() - self.start,
                             loss[j], self.gnorm[j], k)

    def _step(self, t: int, idx) -> tuple:
        """Step t of every active run on the batch ``idx``: the batch losses at θ_{t−1} (the last
        full evaluation's in full batch) and ``schedule(t)``."""
        X, y = self.data.X, self.data.y
        if self.full:
            batch_loss, g = self.loss, self.G
            yb = y
        else:
            Xb, yb = X[idx], y[idx]
            batch_loss, g = self._value_and_grad(Xb, yb)
        s = self.schedule(t)
        lr_col = self.lrs[:, None] * s
        self.Theta, self.state = self.update(g, self.state, self.Theta, t, lr_col)
        self.Theta = np.asarray(self.Theta)
        self.samples += yb.shape[0]
        return batch_loss, s

    def _check(self, logged: bool, batch_loss, stop: StopFlag) -> tuple:
        """After a step: which runs diverged, which were evaluated on the full data (where a row
        or a stop needs it, as engine.run does) and the stop flag, read once."""
        k = len(self.active)
        evaluated = self.full or logged
        if evaluated:
            self._evaluate()
            bad = ~(np.isfinite(self.loss) & (self.loss <= self.limit) & np.isfinite(self.gnorm))
            ev = np.ones(k, dtype=bool)
        else:
            bad = ~(np.isfinite(batch_loss) & np.isfinite(self.Theta).all(axis=1))
            ev = np.zeros(k, dtype=bool)
        stopping = stop.requested
        if (bad.any() or stopping) and not evaluated:
            # a stop forces a row: its loss and gradient norm belong to the current θ
            self._evaluate()
            ev = bad | stopping
        return bad, ev, stopping

    def _settle(self, t, s, batch_loss, bad, ev, stopping, stop, logged, ends_any, elapsed) -> np.ndarray:
        """Step t's rows and results: each active run's row when the step is logged or the run
        stops (:func:`optrun.engine.stop_decision`, per run), its result when it stops or the
        budget is spent. Returns which runs stay in the stack."""
        k = len(self.active)
        keep = np.ones(k, dtype=bool)
        lrs = self.lrs * s  # float(lr_i) * s, as engine.run's base_lr * schedule(t)
        bls = np.broadcast_to(batch_loss, (k,))
        if not ends_any and t != self.T:  # the common step: no run stops, every row is logged
            self._rows(np.arange(k), t, self.samples, elapsed, lrs, self.loss, bls, self.gnorm)
            return keep
        tol = self.tols[self.active]
        losses, gns = self.loss.tolist(), self.gnorm.tolist()
        rows = []
        for j in range(k):
            decision = None
            if ends_any:
                decision = engine.stop_decision(t, bad[j], ev[j], stopping, losses[j], gns[j], self.Theta[j],
                                                tol[j], self.factor, stop)
            status, reason = decision or ("completed", self.budget_reason)
            ends = decision is not None
            if logged or ends:
                rows.append(j)
            if ends or t == self.T:
                self._finish(j, status, reason, t, self.samples, time.perf_counter() - self.start,
                             losses[j], gns[j], k)
                keep[j] = not ends
        self._rows(np.array(rows, dtype=np.intp), t, self.samples, elapsed, lrs, self.loss, bls, self.gnorm)
        return keep

    def _drop(self, rows: np.ndarray) -> None:
        """Keep only the active runs ``rows`` (positions in the stack) in every stacked array."""
        k = len(self.active)
        self.active, self.Theta = self.active[rows], self.Theta[rows]
        self.state = _take_state(self.state, rows, k)
        self.update = _take_hyper(self.update, rows)
        self.lrs = self.lrs[rows]
        self.limit, self.loss, self.G, self.gnorm = self.limit[rows], self.loss[rows], self.G[rows], self.gnorm[rows]
