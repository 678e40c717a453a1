"""Vectorised sweeps: runs that differ only in optimizer hyperparameters (or in the seed of
their initial point) trained as ONE program over a stack of parameter vectors.

Stack the k runs' parameters as the rows of ``Θ`` (k, p), ``Θ = [W, b]`` with ``W`` (k, d).
The objective of every run at once is one matrix product (module docstring of
:mod:`optrun.models` for the per-run formulas; m = 1/n for reduction mean, 1 for sum)::

    Z = W Xᵀ + b 1ᵀ                       (k, n)   one gemm instead of k matrix-vector products
    F_i = m Σ_j l(Z_ij, y_j) + (l2/2)‖W_i‖²
    ∇_W F = m L' X + l2 W,  ∇_b F = m L' 1     (L' = l'(Z, y), (k, n); a second gemm)

and the optimizer step is the run's own update rule (``optrun/optim/*.py``; one source of
truth), called once on the stack with every hyperparameter that varies across the group as a
(k, 1) column (``lr`` included), so ``θ_i − lr_i d_i`` broadcasts row by row. A rule that cannot
take a column (a Python ``if`` on a hyperparameter, ``float()`` of one, a norm over the whole
vector) is detected before anything is written, by a *probe*: the stacked rule's first two steps
from the real starting point are compared with the rule called run by run, and the group falls
back to :func:`optrun.engine.run` one run at a time when they differ.

Equality with running alone (docs/performance.md, "Vectorised sweeps (0.2)"): the optimizer
arithmetic is the same elementwise IEEE arithmetic, so given the same gradient the step is the
same bit for bit. The gradient is not: BLAS sums ``W Xᵀ`` (gemm) in another order than ``X w``
(gemv), and ``‖g‖`` and ``‖w‖²`` are row sums instead of dot products; each trace value thus
differs from the lone run's by a few ulps per step, amplified only as the optimizer amplifies
any rounding (tests: every trace column within rtol 1e-12 on an lr grid, and the torch golden
trajectories at rtol 1e-10 as groups of one).

What is vectorised (:func:`why_not`, else the run goes alone): linear or logistic regression
with mse / half_mse / bce, l2 allowed, no l1 or constraints, no stop rules beyond ``tol``, an
optimizer that needs no extras (no closure, Hessian, prox, data) with an ``lr``, the same data,
schedule, budget and logging, and the same batches (full batch, or unshuffled, or the same seed).

Level 7, beside :mod:`optrun.api` and the executors and importing neither: :func:`run_payloads`
(the sweep's folders) is given the API's run-folder functions and the executors' staging
functions by its caller (level 8), as the executors are given ``api.train``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from optrun import engine
from optrun.control import StopFlag
from optrun.engine import EngineResult
from optrun.rundir import write_json
from optrun.sampling import batch_indices

#: at most this many runs in one stack (each keeps an open trace file and a row buffer)
MAX_GROUP = 256

_LOSSES = {("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce"), ("logistic", "mse"),
           ("logistic", "half_mse")}


# --------------------------------------------------------------------------------------------
# The objective of a stack
# --------------------------------------------------------------------------------------------


def stack_value_and_grad(obj, Theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F_i(θ_i), ∇F_i(θ_i))`` for every row θ_i of ``Theta`` (k, p): values (k,), gradients (k, p).

    ``Z = W Xᵀ + b`` (k, n) is one matrix product and the data gradient ``m L' X`` another
    (m = 1/n or 1), the per-sample loss table is the objective's own
    (``obj.per_sample_loss_and_dz``, elementwise, so it takes the (k, n) stack), and the l2 term
    is ``(l2/2)‖w_i‖²`` with gradient ``l2 w_i`` (the intercept is never penalised). Matches
    :meth:`optrun.models.Objective.value_and_grad` row by row up to the summation order of BLAS.
    Computed in X's floating dtype as the objective is (float32 data stay float32).
    """
    if (obj.model, obj.loss) not in _LOSSES or obj.l1:
        raise ValueError(f"stack_value_and_grad: {obj.model}/{obj.loss} with l1={obj.l1} is not vectorised")
    Theta = np.asarray(Theta)
    n, d = X.shape
    W = Theta[:, :d]
    xdt = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    Z = W.astype(xdt, copy=False) @ X.T  # (k, n): X.T is a view, BLAS reads it transposed
    if obj.fit_intercept:
        Z += Theta[:, d:].astype(xdt, copy=False)
    L, DZ = obj.per_sample_loss_and_dz(Z, y)
    DZ = DZ.astype(Z.dtype, copy=False)
    G = np.empty(Theta.shape, dtype=Theta.dtype)
    sums = np.add.reduce(L, axis=1)  # per row: the same pairwise sum as the lone run's
    if obj.reduction == "mean":
        values = (sums / np.float64(n)).astype(L.dtype).astype(np.float64)
        G[:, :d] = (DZ @ X) / n
        if obj.fit_intercept:
            G[:, d] = np.add.reduce(DZ, axis=1) / n
    else:
        values = sums.astype(np.float64)
        G[:, :d] = DZ @ X
        if obj.fit_intercept:
            G[:, d] = np.add.reduce(DZ, axis=1)
    if obj.l2:
        W64 = W.astype(np.float64)
        values = values + 0.5 * obj.l2 * np.einsum("ij,ij->i", W64, W64)
        G[:, :d] += obj.l2 * W
    return values, G


def _row_norms(G: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", G, G))


# --------------------------------------------------------------------------------------------
# Which runs go together
# --------------------------------------------------------------------------------------------


def why_not(problem) -> str | None:
    """Why ``problem`` cannot run in a stack (None: it can)."""
    obj, opt = problem.objective, problem.optimizer
    checks = [
        (getattr(obj, "model", None) is None, "an objective without data"),
        ((getattr(obj, "model", None), getattr(obj, "loss", None)) not in _LOSSES, "a loss other than mse/half_mse/bce"),
        (getattr(obj, "l1", 0.0) > 0, "an l1 penalty"),
        (bool(problem.hooks), "constraints or certificates (hooks)"),
        (problem.stop_rules is not None, "stop rules (target, patience, time budget)"),
        (bool(opt.needs), f"an optimizer that needs {', '.join(sorted(opt.needs))}"),
        (opt.hyperparams.get("lr") is None, "an optimizer without an lr"),
        ("ax" in opt.report(opt.init(problem.theta0)), "an averaged iterate"),
        ("row_grad_evals" in opt.report(opt.init(problem.theta0)), "an optimizer that counts its own evaluations"),
    ]
    return next((why for bad, why in checks if bad), None)


def _fingerprint(arrays) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def group_key(problem) -> str | None:
    """A key equal for runs that may share a stack (None: the run goes alone).

    The resolved config without its seed, name and optimizer hyperparameters (optimizer name and
    schedule kept), the data (a hash of X, y and the validation split) and, for shuffled
    mini-batches, the seed (the batch order comes from it).
    """
    if why_not(problem) is not None:
        return None
    cfg = {k: v for k, v in problem.config.items() if k not in ("seed", "name")}
    # numbers (and tuples of numbers: betas) may vary; a switch (nesterov, amsgrad) may not
    cfg["optimizer"] = {k: v for k, v in problem.config["optimizer"].items() if not _numeric(v) or k == "schedule"}
    ds = problem.data
    same_batches = None if not problem.shuffle else problem.config["seed"]
    return json.dumps([cfg, _fingerprint([ds.X, ds.y, ds.X_val, ds.y_val]), same_batches,
                       getattr(getattr(problem.optimizer.update, "func", None), "__qualname__", None)],
                      sort_keys=True, default=str)


def _numeric(v) -> bool:
    if isinstance(v, (list, tuple)):
        return bool(v) and all(_numeric(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plan_groups(problems: list) -> list[list[int]]:
    """Indices of ``problems`` in groups to run together (first-seen order; singletons alone)."""
    groups: dict[Any, list[int]] = {}
    for i, p in enumerate(problems):
        key = group_key(p)
        key = ("alone", i) if key is None else key
        groups.setdefault(key, []).append(i)
    out = []
    for members in groups.values():
        out.extend(members[j:j + MAX_GROUP] for j in range(0, len(members), MAX_GROUP))
    return out


# --------------------------------------------------------------------------------------------
# One update rule over the stack
# --------------------------------------------------------------------------------------------


def _column(values: list):
    """The one value every run shares, or a (k, 1) column (a tuple -> a tuple of columns)."""
    first = values[0]
    if all(_same(v, first) for v in values[1:]):
        return first
    if isinstance(first, tuple):
        return tuple(_column([v[j] for v in values]) for j in range(len(first)))
    if isinstance(first, (bool, np.bool_)) or not isinstance(first, (int, float, np.number)):
        raise ValueError("a hyperparameter that is not a plain number varies")
    return np.asarray(values, dtype=np.float64)[:, None]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and bool(a == b)


def stacked_update(optimizers: list) -> Callable:
    """The shared update rule with every varying keyword hyperparameter as a (k, 1) column.

    Raises ValueError when the runs do not share one rule (another function, other keywords,
    a varying hyperparameter that is not a number)."""
    updates = [o.update for o in optimizers]
    if not all(isinstance(u, partial) for u in updates):
        if all(u is updates[0] for u in updates):
            return updates[0]
        raise ValueError("update rules are not keyword partials of one function")
    func = updates[0].func
    if any(u.func is not func or u.args or set(u.keywords) != set(updates[0].keywords) for u in updates):
        raise ValueError("the runs use different update rules")
    keywords = {k: _column([u.keywords[k] for u in updates]) for k in updates[0].keywords}
    return partial(func, **keywords)


def stack_states(states: list):
    """One NamedTuple state for the stack: array fields stacked on a first axis of length k,
    scalar fields kept when every run has the same value (ValueError otherwise)."""
    first = states[0]
    fields = []
    for j, v in enumerate(first):
        vals = [s[j] for s in states]
        if isinstance(v, np.ndarray):
            fields.append(np.stack(vals))
        elif all(_same(x, v) for x in vals[1:]):
            fields.append(v)
        else:
            raise ValueError(f"state field {first._fields[j]} is a varying scalar")
    return type(first)(*fields)


def _take_state(state, rows, k: int):
    """The state of the runs ``rows`` (an index array or an int) of a stack of k."""
    return type(state)(*[v[rows] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == k else v
                         for v in state])


def _take_hyper(update, rows):
    if not isinstance(update, partial):
        return update
    keep = {}
    for key, v in update.keywords.items():
        if isinstance(v, tuple):
            v = tuple(x[rows] if isinstance(x, np.ndarray) else x for x in v)
        elif isinstance(v, np.ndarray):
            v = v[rows]
        keep[key] = v
    return partial(update.func, **keep)


def _probe(problems, update, state, Theta, G, lrs: np.ndarray, sched) -> bool:
    """True when the stacked rule's first two steps equal the run-by-run rule's (rtol 1e-12)."""
    try:
        with np.errstate(all="ignore"):
            th_s, st_s = Theta, state
            th_1 = [p.theta0 for p in problems]
            st_1 = [p.optimizer.init(p.theta0) for p in problems]
            for t in (1, 2):
                col = lrs[:, None] * sched(t)
                th_s, st_s = update(G, st_s, th_s, t, col)
                th_s = np.asarray(th_s)
                for i, p in enumerate(problems):
                    th_1[i], st_1[i] = p.optimizer.update(G[i], st_1[i], th_1[i], t, float(lrs[i]) * sched(t))
                if th_s.shape != Theta.shape:
                    return False
                alone = np.stack(th_1)
                ok = np.isfinite(alone)
                if not np.allclose(th_s[ok], alone[ok], rtol=1e-12, atol=0) or not np.array_equal(ok, np.isfinite(th_s)):
                    return False
        return True
    except (ValueError, TypeError, IndexError):
        return False


# --------------------------------------------------------------------------------------------
# The loop over a stack
# --------------------------------------------------------------------------------------------


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
    """The stacked loop's state: the active runs' rows of Θ, of the optimizer state and of the
    hyperparameter columns, and what each run's EngineResult needs once it stops."""

    def __init__(self, problems, writers, update, state, Theta, lrs):
        self.problems, self.writers = problems, writers
        self.update, self.state, self.Theta, self.lrs = update, state, Theta, lrs
        self.active = np.arange(len(problems))
        self.results: list[EngineResult | None] = [None] * len(problems)
        p0 = problems[0]
        self.obj, self.data = p0.objective, p0.data
        self.n = self.data.X.shape[0]

    def _value_and_grad(self, Xb, yb):
        return stack_value_and_grad(self.obj, self.Theta, Xb, yb)

    def _row(self, j, step, samples, elapsed, lr, loss, batch_loss, gnorm):
        """Row of the active run j (position in the stack), as engine.run writes it; ``evals``
        is ``samples`` (a run that counts its own evaluations is never stacked, :func:`why_not`)."""
        scalars = (step, samples / self.n, samples, elapsed, lr, loss, batch_loss, gnorm, samples)
        if self.data.X_val is not None:
            scalars += (self.obj.data_loss(self.Theta[j], self.data.X_val, self.data.y_val),)
        self.writers[self.active[j]].record(scalars, self.Theta[j])

    def _finish(self, j, status, reason, t, samples, wall, loss, gnorm, k):
        i = self.active[j]
        p = self.problems[i]
        state_j = _take_state(self.state, j, k)
        self.results[i] = EngineResult(
            status=status, stop_reason=reason, steps=t, samples=samples, epochs=samples / self.n,
            theta=self.Theta[j].copy(), loss=float(loss), grad_norm=float(gnorm), wall_time_s=wall,
            optimizer_report=p.optimizer.report(state_j), evals=samples, hook_reports={})

    def _status(self, j, bad, converged, stopping, stop, t, loss, gnorm, tol, factor, budget_reason):
        """(status, reason) of active run j at step t, with engine.run's tests and wording."""
        if bad:
            finite = math.isfinite(loss) and np.isfinite(self.Theta[j]).all()
            what = "non-finite loss or parameters" if not finite else (
                f"loss {loss:.3g} exceeded {factor:.0e} x the initial loss")
            return "diverged", f"diverged at step {t}: {what}"
        if converged:
            return "converged", f"gradient norm {gnorm:.3g} <= tol {tol:g} at step {t}"
        if stopping:
            return "interrupted", f"{stop.reason} at step {t}"
        return "completed", budget_reason

    def run(self, stop: StopFlag) -> list[EngineResult]:
        p0 = self.problems[0]
        X, y, n = self.data.X, self.data.y, self.n
        full = p0.batch_size >= n and not p0.shuffle
        T, log_every, log_at = p0.total_steps, p0.log_every, p0.log_at
        factor, schedule = p0.divergence_factor, p0.schedule
        tols = np.array([p.tol for p in self.problems])
        batches = batch_indices(n, p0.batch_size, p0.shuffle, p0.shuffle_rng)
        budget_reason = f"step budget reached ({T} steps)" if T else "evaluated without training (train.steps: 0)"

        with np.errstate(all="ignore"):
            start = time.perf_counter()
            loss, G = self._value_and_grad(X, y)
            gnorm = _row_norms(G)
            k = len(self.active)
            for j, (lj, gj) in enumerate(zip(loss.tolist(), gnorm.tolist())):
                self._row(j, 0, 0, 0.0, math.nan, lj, math.nan, gj)
            limit = np.where(np.isfinite(loss), factor * np.maximum(1.0, np.abs(loss)), np.inf)
            samples, t = 0, 0
            if T == 0:
                for j in range(k):
                    self._finish(j, "completed", budget_reason, 0, 0, time.perf_counter() - start,
                                 loss[j], gnorm[j], k)
            for t in range(1, T + 1):
                k = len(self.active)
                idx = next(batches)
                if full:
                    batch_loss, g = loss, G
                    Xb, yb = X, y
                else:
                    Xb, yb = X[idx], y[idx]
                    batch_loss, g = self._value_and_grad(Xb, yb)
                s = schedule(t)
                lr_col = self.lrs[:, None] * s
                self.Theta, self.state = self.update(g, self.state, self.Theta, t, lr_col)
                self.Theta = np.asarray(self.Theta)
                samples += yb.shape[0]

                logged = (t % log_every == 0 if log_at is None else t in log_at) or t == T
                evaluated = full or logged
                if evaluated:
                    loss, G = self._value_and_grad(X, y)
                    gnorm = _row_norms(G)
                    bad = ~(np.isfinite(loss) & (loss <= limit) & np.isfinite(gnorm))
                    ev = np.ones(k, dtype=bool)
                else:
                    bad = ~(np.isfinite(batch_loss) & np.isfinite(self.Theta).all(axis=1))
                    ev = np.zeros(k, dtype=bool)
                stopping = stop.requested
                if (bad.any() or stopping) and not evaluated:
                    # a stop forces a row: its loss and gradient norm belong to the current θ
                    loss, G = self._value_and_grad(X, y)
                    gnorm = _row_norms(G)
                    ev = bad | stopping
                elapsed = time.perf_counter() - start
                tol = tols[self.active]
                converged = ~bad & ev & (tol > 0) & (gnorm <= tol)
                ends_any = stopping or bad.any() or converged.any()
                keep = np.ones(k, dtype=bool)
                if not (logged or ends_any or t == T):
                    continue
                lrs = (self.lrs * s).tolist()  # float(lr_i) * s, as engine.run's base_lr * schedule(t)
                losses, bls, gns = loss.tolist(), np.broadcast_to(batch_loss, (k,)).tolist(), gnorm.tolist()
                for j in range(k):
                    status, reason = "completed", budget_reason
                    if ends_any:
                        status, reason = self._status(j, bad[j], converged[j], stopping, stop, t, losses[j],
                                                      gns[j], tol[j], factor, budget_reason)
                    ends = status != "completed"
                    if logged or ends:
                        self._row(j, t, samples, elapsed, lrs[j], losses[j], bls[j], gns[j])
                    if ends or t == T:
                        self._finish(j, status, reason, t, samples, time.perf_counter() - start,
                                     losses[j], gns[j], k)
                        keep[j] = not ends
                if t == T or not keep.any():
                    break
                if not keep.all():
                    rows = np.flatnonzero(keep)
                    self.active, self.Theta = self.active[rows], self.Theta[rows]
                    self.state = _take_state(self.state, rows, k)
                    self.update = _take_hyper(self.update, rows)
                    self.lrs = self.lrs[rows]
                    limit, loss, G, gnorm = limit[rows], loss[rows], G[rows], gnorm[rows]
        return self.results


# --------------------------------------------------------------------------------------------
# Run folders for a sweep's payloads
# --------------------------------------------------------------------------------------------


def run_payloads(payloads: list[dict], into: str | Path, *, api: Any, staging: Any, fallback: Callable,
                 stop: StopFlag | None = None) -> list[dict]:
    """Train a sweep's payloads (:func:`optrun.sweep.staging._payload`) with the runs that can
    share a stack trained together; one outcome per payload as the executors return it
    (``index, status, stop_reason, final_loss, wall_time_s, config_hash, error, run_dir``).

    Each run folder is written as ``optrun train`` writes it, by the API's own functions: the
    caller passes ``api`` (:mod:`optrun.api`: ``load_problem``, ``open_run``, ``build_summary``) and
    ``staging`` (:mod:`optrun.executors.staging`: ``staging_dir``, ``move_into``,
    ``read_outcome``, ``public``, ``remove_staging``), as the executors are passed ``api.train``:
    this layer imports neither. Folders are made in a staging folder and moved into ``into``
    complete. The summary's ``engine`` is ``"vectorized"``, and ``vectorized_group`` the size of
    the stack. ``fallback(payload) -> outcome`` runs a payload the ordinary way: one that does
    not load (its error becomes a failed folder there) or that wants plots.
    """
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    stop = stop or StopFlag()
    outcomes: dict[int, dict] = {}
    loaded = []
    for pos, payload in enumerate(payloads):
        try:
            if payload.get("plots"):
                raise ValueError("plots")
            cfg, problem = api.load_problem(payload["config"], payload.get("overrides"), payload["name"])
            loaded.append((pos, payload, cfg, problem))
        except Exception:
            outcomes[pos] = fallback(payload)
    for members in plan_groups([m[3] for m in loaded]):
        group = [loaded[j] for j in members]
        if stop.requested:
            for pos, payload, _, _ in group:
                outcomes[pos] = {"index": payload["index"], "status": "not_run", "run_dir": None}
            continue
        stages, runs = [], []
        try:
            for _, payload, cfg, problem in group:
                stages.append(staging.staging_dir(into))
                labels = {k: payload[k] for k in ("note", "tags") if payload.get(k)}  # sweep --note/--tag
                runs.append(api.open_run(cfg, problem, stages[-1], payload["name"], labels))
            results = run_group([g[3] for g in group], [r.writer for r in runs], stop)
            for (pos, payload, _, problem), run, result, stage in zip(group, runs, results, stages):
                run.writer.close()
                problem.engine = "vectorized"
                summary = api.build_summary(problem, result, run.cfg_hash, run.ident["name"], run.writer.rows_written)
                summary["vectorized_group"] = len(group)
                summary.update({k: run.ident[k] for k in ("note", "tags") if k in run.ident})
                write_json(run.dir / "summary.json", summary)
                # the outcome read_outcome would read back, from the summary just written
                outcome = {"index": payload["index"], **{k: summary.get(k) for k in _OUTCOME_KEYS}}
                outcomes[pos] = staging.public(outcome, staging.move_into(run.dir, into))
        except Exception as exc:
            _fail_group(runs, exc)
            for (pos, payload, _, _), stage in zip(group, stages):
                outcome = staging.read_outcome(payload, stage, error=f"{type(exc).__name__}: {exc}"[:500])
                folder = outcome["folder"]
                outcomes[pos] = staging.public(outcome, staging.move_into(folder, into) if folder else None)
        finally:
            for stage in stages:
                staging.remove_staging(stage)
    return [outcomes[pos] for pos in range(len(payloads))]


_OUTCOME_KEYS = ("status", "stop_reason", "final_loss", "wall_time_s", "config_hash", "error")


def _fail_group(runs, exc: BaseException) -> None:
    """A failure inside a stack fails every run of it: a ``failed`` summary in each open folder."""
    from optrun.rundir import status_summary

    error = f"{type(exc).__name__}: {exc}"
    for run in runs:
        try:
            run.writer.abandon()
            write_json(run.dir / "summary.json", status_summary("failed", f"internal error: {error}", run.ident,
                                                                error=error))
        except Exception:  # the disk may be full: the folder stays "running", resume reruns it
            pass
