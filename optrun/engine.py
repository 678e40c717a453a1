"""The one training loop.

Read it top to bottom: sample a batch -> loss and gradient on it -> optimizer update ->
(full-data loss at the new parameters) -> record -> stop checks.

Conventions (DESIGN.md §4): gradients are batch means; t counts optimizer steps from 1; the
trace row of step t holds the parameters *after* t updates, the full-training-set objective
``loss`` there, the ``batch_loss`` of the batch that produced the step (evaluated at the
parameters before it), the full-data ``grad_norm`` at the row's parameters and the ``lr`` used.

In full-batch mode the full-data loss and gradient at theta_t are exactly what step t+1 needs,
so each step costs one loss-and-gradient evaluation, as a hand-written loop would.

Performance (docs/performance.md, benchmarks/): on small problems the loop's own bookkeeping is a
few microseconds per step next to the NumPy calls of the math; on big full-batch data a step is
the two matrix-vector products it needs, with no copy of X (full batch never indexes X).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from optrun.control import StopFlag  # noqa: F401  (re-exported: optrun.engine.StopFlag)
from optrun.sampling import batch_indices


@dataclass
class EngineResult:
    status: str  # completed | converged | diverged | interrupted
    stop_reason: str
    steps: int
    samples: int
    epochs: float
    theta: np.ndarray
    loss: float
    grad_norm: float
    wall_time_s: float
    optimizer_report: dict = field(default_factory=dict)


def _norm(g: np.ndarray) -> float:
    """``float(np.linalg.norm(g))`` for a 1-D gradient, bit for bit (norm computes
    ``sqrt(g.dot(g))``), without norm's ~3 us of argument handling on every logged step."""
    return float(np.sqrt(g.dot(g)))


def run(problem, writer, stop: StopFlag | None = None, progress=None) -> EngineResult:
    """Train ``problem`` (see :mod:`optrun.prepare`), streaming rows into ``writer``.

    ``progress(step, total)`` is called now and then for a progress bar. Returns when the budget is
    spent, the gradient-norm tolerance is met, the run diverges, or ``stop`` is requested.
    """
    stop = stop or StopFlag()
    obj, opt, data = problem.objective, problem.optimizer, problem.data
    X, y = data.X, data.y
    n = X.shape[0]
    has_val = data.X_val is not None
    full = problem.batch_size >= n and not problem.shuffle
    T, log_every = problem.total_steps, problem.log_every
    tol, factor = problem.tol, problem.divergence_factor
    base_lr = float(opt.hyperparams["lr"])
    schedule = problem.schedule
    value_and_grad = obj.value_and_grad
    needs_hessian = opt.needs_hessian
    batches = batch_indices(n, problem.batch_size, problem.shuffle, problem.shuffle_rng)

    def val_loss(theta):
        return obj.data_loss(theta, data.X_val, data.y_val) if has_val else None

    def row(step, samples, elapsed, lr, loss, batch_loss, gnorm, theta):
        scalars = (step, samples / n, samples, elapsed, lr, loss, batch_loss, gnorm)
        if has_val:
            scalars += (val_loss(theta),)
        writer.record(scalars, theta)

    # numpy would print overflow warnings for a diverging run; divergence is a result here,
    # detected below and reported in the summary, not noise on the screen.
    with np.errstate(all="ignore"):
        theta = problem.theta0.copy()
        state = opt.init(theta)
        start = time.perf_counter()
        loss, g_full = value_and_grad(theta, X, y)
        gnorm = _norm(g_full)
        row(0, 0, 0.0, math.nan, loss, math.nan, gnorm, theta)
        limit = factor * max(1.0, abs(loss)) if math.isfinite(loss) else math.inf

        status, reason = "completed", f"step budget reached ({T} steps)"
        samples, t = 0, 0
        for t in range(1, T + 1):
            idx = next(batches)
            if full:
                batch_loss, g = loss, g_full  # evaluated at theta_{t-1} at the end of the last step
                Xb, yb = X, y
            else:
                Xb, yb = X[idx], y[idx]
                batch_loss, g = value_and_grad(theta, Xb, yb)
            lr = base_lr * schedule(t)
            hessian = obj.hessian(theta, Xb, yb) if needs_hessian else None
            theta, state = opt.update(g, state, theta, t, lr, hessian=hessian)
            samples += yb.shape[0]

            logged = t % log_every == 0 or t == T
            evaluated = full or logged
            if evaluated:
                loss, g_full = value_and_grad(theta, X, y)
                gnorm = _norm(g_full)
                bad = not (math.isfinite(loss) and loss <= limit and math.isfinite(gnorm))
            else:
                bad = not (math.isfinite(batch_loss) and np.isfinite(theta).all())
            stopping = stop.requested  # read once per step (a signal may set it at any time)
            if (bad or stopping) and not evaluated:
                # a stop forces a row at a step the logging cadence skips: its loss, gradient norm
                # (and the summary's final loss) must belong to the current parameters
                loss, g_full = value_and_grad(theta, X, y)
                gnorm = _norm(g_full)
                evaluated = True

            if bad:
                status = "diverged"
                what = "non-finite loss or parameters" if not math.isfinite(loss) or not np.isfinite(theta).all() else (
                    f"loss {loss:.3g} exceeded {factor:.0e} x the initial loss"
                )
                reason = f"diverged at step {t}: {what}"
            elif tol > 0 and evaluated and gnorm <= tol:
                status, reason = "converged", f"gradient norm {gnorm:.3g} <= tol {tol:g} at step {t}"
            elif stopping:
                status, reason = "interrupted", f"{stop.reason} at step {t}"
            logged = logged or status != "completed"

            if logged:
                row(t, samples, time.perf_counter() - start, lr, loss, batch_loss, gnorm, theta)
                if progress is not None:
                    progress(t, T)
            if status != "completed":
                break

    wall = time.perf_counter() - start
    return EngineResult(
        status=status, stop_reason=reason, steps=t, samples=samples, epochs=samples / n,
        theta=theta, loss=float(loss), grad_norm=gnorm, wall_time_s=wall,
        optimizer_report=opt.report(state),
    )
