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
from optrun.trace import trace_columns


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
    evals: int = 0
    hook_reports: dict = field(default_factory=dict)


def _norm(g: np.ndarray) -> float:
    """``float(np.linalg.norm(g))`` for a 1-D gradient, bit for bit (norm computes
    ``sqrt(g.dot(g))``), without norm's ~3 us of argument handling on every logged step."""
    return float(np.sqrt(g.dot(g)))


#: facts of an optimizer's ``report`` that become trace columns when it reports them: the step a
#: line search accepted (or ISTA's 1/L, Polyak's step) and the trials it took
REPORT_COLUMNS = ("step_size", "ls_trials")


def _report_layout(problem) -> tuple[tuple[str, ...], bool]:
    """(the report facts that are trace columns, whether the optimizer keeps an averaged iterate
    ``ax``), read from the report of the optimizer's initial state."""
    first = problem.optimizer.report(problem.optimizer.init(problem.theta0))
    return tuple(c for c in REPORT_COLUMNS if c in first), "ax" in first


def columns(problem) -> list[str]:
    """The trace columns this problem's run writes, in the contract's order (trace.trace_columns)."""
    report_columns, averaged = _report_layout(problem)
    extra = report_columns + tuple(c for h in problem.hooks for c in h.columns)
    return trace_columns(problem.param_names, problem.data.X_val is not None, extra, averaged)


class _Extras:
    """What ``optimizer.needs`` asks for on each step (optim/registry.py, EXTRAS), and the count
    of per-sample gradient evaluations behind the ``evals`` column: the engine's batch gradient
    (b rows, unless the optimizer evaluates through the closure instead, as L-BFGS and line
    searches do), every closure call (b rows each), or the optimizer's own count
    (``row_grad_evals``: SAG/SAGA/SVRG keep tables and take full passes)."""

    def __init__(self, problem, step_value_and_grad):
        opt = problem.optimizer
        self.needs = opt.needs
        self.problem = problem
        self.step_vg = step_value_and_grad
        self.rows = 0  # engine gradients + closure calls, in rows
        self.uses_grad = "closure" not in self.needs

    def step(self, theta, Xb, yb, idx) -> dict:
        b = yb.shape[0]
        if self.uses_grad:
            self.rows += b
        if not self.needs:
            return {}
        p, out = self.problem, {}
        if "hessian" in self.needs:
            out["hessian"] = p.objective.hessian(theta, Xb, yb)
        if "closure" in self.needs:
            def closure(th, Xb=Xb, yb=yb, b=b):
                self.rows += b
                return self.step_vg(th, Xb, yb)
            out["closure"] = closure
        if "prox" in self.needs:
            out["prox"] = p.prox
        if "batch" in self.needs:
            out["batch"] = (p.step_objective, Xb, yb, idx)
        if "data" in self.needs:
            out["data"] = (p.data.X, p.data.y)
        if "f_star" in self.needs:
            out["f_star"] = p.reference.f_star if p.reference is not None else None
        if "lipschitz" in self.needs:
            out["lipschitz"] = p.lipschitz
        return out

    def evals(self, report: dict) -> int:
        own = report.get("row_grad_evals")
        return self.rows if own is None else int(own) + (0 if self.uses_grad else self.rows)


def stop_decision(t: int, bad: bool, evaluated: bool, stopping: bool, loss: float, gnorm: float,
                  theta: np.ndarray, tol: float, factor: float, stop: StopFlag) -> tuple[str, str] | None:
    """How step ``t`` ends the run, ``(status, reason)``, or None to go on; the same test in every
    engine (this loop, :mod:`optrun.compiled`, :mod:`optrun.vectorized`).

    First divergence (``bad``: a non-finite loss, gradient norm or θ, or a loss above ``factor`` x
    max(1, |f(θ_0)|)), then convergence (‖∇F(θ_t)‖ <= ``tol``, only where the full gradient was
    ``evaluated`` at θ_t), then a stop request (``stopping``: the flag as read once this step;
    ``stop.reason`` says who asked).
    """
    if bad:
        what = "non-finite loss or parameters" if not math.isfinite(loss) or not np.isfinite(theta).all() else (
            f"loss {loss:.3g} exceeded {factor:.0e} x the initial loss"
        )
        return "diverged", f"diverged at step {t}: {what}"
    if tol > 0 and evaluated and gnorm <= tol:
        return "converged", f"gradient norm {gnorm:.3g} <= tol {tol:g} at step {t}"
    if stopping:
        return "interrupted", f"{stop.reason} at step {t}"
    return None


def run(problem, writer, stop: StopFlag | None = None, progress=None) -> EngineResult:
    """Train ``problem`` (see :mod:`optrun.prepare`), streaming rows into ``writer``.

    ``progress(step, total)`` is called now and then for a progress bar. Returns when the budget is
    spent, the gradient-norm tolerance is met, the run diverges, or ``stop`` is requested.
    ``problem.hooks`` (:mod:`optrun.hooks`) act around each update: a constraint's projection or
    multipliers, and extra trace columns (KKT residual, duality gap, nnz).
    """
    stop = stop or StopFlag()
    if problem.engine == "compiled":  # the same loop, compiled between logged rows (optrun.compiled)
        from optrun import compiled
        return EngineResult(**compiled.run(problem, writer, stop, progress, decide=stop_decision))
    obj, opt, data, hooks = problem.objective, problem.optimizer, problem.data, problem.hooks
    X, y = data.X, data.y
    n = X.shape[0]
    has_val = data.X_val is not None
    full = problem.batch_size >= n and not problem.shuffle
    T, log_every = problem.total_steps, problem.log_every
    tol, factor = problem.tol, problem.divergence_factor
    base_lr = opt.hyperparams.get("lr")  # None: the optimizer chooses its step (ISTA's 1/L, CD)
    schedule = problem.schedule
    value_and_grad = obj.value_and_grad
    # the gradient the optimizer steps with: the objective's, or its smooth part's for proximal
    # methods (which handle l1 through "prox"); reused from the logged evaluation in full batch
    step_vg = problem.step_value_and_grad or problem.step_objective.value_and_grad
    reuse = full and step_vg == value_and_grad
    extras = _Extras(problem, step_vg)
    report_columns, averaged = _report_layout(problem)
    batches = batch_indices(n, problem.batch_size, problem.shuffle, problem.shuffle_rng)

    def row(step, samples, elapsed, lr, loss, batch_loss, gnorm, theta, g_full, state):
        report = opt.report(state)
        scalars = (step, samples / n, samples, elapsed, lr, loss, batch_loss, gnorm, extras.evals(report))
        scalars += tuple(math.nan if report.get(c) is None else report[c] for c in report_columns)
        for h in hooks:
            scalars += tuple(h.values(theta, loss, g_full))
        if has_val:
            scalars += (obj.data_loss(theta, data.X_val, data.y_val),)
        params = theta
        if averaged:
            ax = np.asarray(report["ax"], dtype=theta.dtype)
            scalars += (obj.value(ax, X, y),)
            params = np.concatenate([theta, ax])
        writer.record(scalars, params)

    # numpy would print overflow warnings for a diverging run; divergence is a result here,
    # detected below and reported in the summary, not noise on the screen.
    with np.errstate(all="ignore"):
        theta = problem.theta0.copy()
        for h in hooks:
            theta = h.start(theta)  # e.g. an infeasible start projected onto the feasible set
        state = opt.init(theta)
        start = time.perf_counter()
        loss, g_full = value_and_grad(theta, X, y)
        gnorm = _norm(g_full)
        row(0, 0, 0.0, math.nan, loss, math.nan, gnorm, theta, g_full, state)
        rules = problem.stop_rules
        if rules is not None:
            rules.start(loss)
        log_at = problem.log_at
        limit = factor * max(1.0, abs(loss)) if math.isfinite(loss) else math.inf

        budget_reason = f"step budget reached ({T} steps)" if T else "evaluated without training (train.steps: 0)"
        status, reason = "completed", budget_reason
        samples, t = 0, 0
        for t in range(1, T + 1):
            idx = next(batches)
            if reuse:
                batch_loss, g = loss, g_full  # evaluated at theta_{t-1} at the end of the last step
                Xb, yb = X, y
            else:
                Xb, yb = (X, y) if full else (X[idx], y[idx])
                batch_loss, g = step_vg(theta, Xb, yb)
            for h in hooks:
                g = h.grad(theta, g)  # e.g. + Σλ∇g + Aᵀν for the primal-dual methods
            # a Python float: an np.float64 factor from a schedule would upcast a float32 θ
            lr = float(base_lr * schedule(t)) if base_lr is not None else None
            theta, state = opt.update(g, state, theta, t, lr, **extras.step(theta, Xb, yb, idx))
            for h in hooks:
                theta = h.after(theta, t)  # a projection, or the multipliers' ascent step
            samples += yb.shape[0]
            if lr is None:
                lr = opt.report(state).get("step_size") or math.nan

            logged = (t % log_every == 0 if log_at is None else t in log_at) or t == T
            evaluated = full or logged or (rules is not None and rules.wants_evaluation(t))
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

            decision = stop_decision(t, bad, evaluated, stopping, loss, gnorm, theta, tol, factor, stop)
            if decision is not None:
                status, reason = decision
            elif rules is not None:
                status, reason = rules.check(t, loss if evaluated else None, time.perf_counter() - start) or (status, reason)
            logged = logged or status != "completed" or reason != budget_reason

            if logged:
                row(t, samples, time.perf_counter() - start, lr, loss, batch_loss, gnorm, theta, g_full, state)
                if progress is not None:
                    progress(t, T)
            if status != "completed" or reason != budget_reason:
                break

    wall = time.perf_counter() - start
    report = opt.report(state)
    hook_reports = {}
    for h in hooks:
        hook_reports.update(h.report())
    return EngineResult(
        status=status, stop_reason=reason, steps=t, samples=samples, epochs=samples / n,
        theta=theta, loss=float(loss), grad_norm=gnorm, wall_time_s=wall,
        optimizer_report=report, evals=extras.evals(report), hook_reports=hook_reports,
    )
