"""Finite-sum (variance-reduced) methods: SAG, SAGA, SVRG, for F(θ) = (1/n) Σ_i f_i(θ).

They use the engine's "batch" extra ``(objective, Xb, yb, idx)``: the objective object, this
step's rows and their row indices; f_i is the loss on row i plus the smooth penalty
(l2/2)‖w‖² (so the stored gradients include the l2 term at the θ where they were taken).
SVRG also needs the "data" extra ``(X, y)``, the full training set, for its snapshot gradient.

Memory:
* SAG / SAGA keep a table of the last gradient of every row seen (n × p floats) and its sum.
  scikit-learn's ``sag``/``saga`` solvers keep one scalar per row instead (the derivative of the
  loss in z, since ∇f_i = ℓ'(z_i) x̃_i for a GLM): the same method, less memory; this module
  stays model-agnostic. The table grows as new row indices appear; it is copied on each step
  (the update is pure), O(n p) per step.
* SVRG keeps the snapshot θ̃ and the full gradient μ = ∇F(θ̃) (2p floats); it pays a full pass
  (n row gradients) at each snapshot and two batch gradients per step.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import NamedTuple

import numpy as np

from optrun.optim._schema import PositiveFloat, PositiveInt
from optrun.optim.registry import Optimizer, register

_f64 = partial(np.asarray, dtype=np.float64)


def row_grads(objective, theta, Xb, yb) -> np.ndarray:
    """(len(yb), p): ∇f_i(θ) for each row of the batch (loss on that row + penalties).

    One call of ``objective.grad`` per row; for a GLM (optrun's Objective) the same numbers in
    one pass, ∇f_i = ℓ'(z_i, y_i)·x̃_i + ∇penalty (the per-row loop costs ~10 µs a row).
    """
    per_sample = getattr(objective, "_per_sample", None)
    if per_sample is not None and hasattr(objective, "_z"):
        z = objective._z(theta, Xb)
        _, dz = per_sample.value_and_dz(z, yb)
        cols = [Xb] + ([np.ones((len(yb), 1))] if objective.fit_intercept else [])
        G = np.asarray(dz, dtype=np.float64)[:, None] * np.hstack(cols)
        pen = np.zeros_like(theta)
        objective._add_penalty_grad(pen, theta)  # l2 P θ (+ l1 sign), the same for every row
        return G + pen
    return np.stack([_f64(objective.grad(theta, Xb[k:k + 1], yb[k:k + 1])) for k in range(len(yb))])


class TableState(NamedTuple):
    table: np.ndarray  # (rows so far, p): the last gradient of each row seen (0 if never seen)
    seen: np.ndarray  # (rows so far,) bool
    total: np.ndarray  # (p,): Σ of the table
    evals: int  # row-gradient evaluations so far


def _table_init(theta0) -> TableState:
    p = np.asarray(theta0).shape[0]
    return TableState(np.zeros((0, p)), np.zeros(0, dtype=bool), np.zeros(p), 0)


def _grown(state: TableState, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    need = int(idx.max()) + 1 if len(idx) else 0
    table, seen = state.table.copy(), state.seen.copy()
    if need > len(table):
        table = np.vstack([table, np.zeros((need - len(table), table.shape[1]))])
        seen = np.concatenate([seen, np.zeros(need - len(seen), dtype=bool)])
    return table, seen


def _unpack(batch):
    if batch is None:
        raise ValueError("finite-sum methods need the 'batch' extra: (objective, Xb, yb, idx)")
    objective, Xb, yb, idx = batch
    if isinstance(idx, slice):  # full batch: the engine passes slice(None) for all rows
        idx = np.arange(len(yb))[idx]
    return objective, _f64(Xb), _f64(yb), np.asarray(idx, dtype=np.intp)


def sag_update(grad, state, theta, t, lr, hessian=None, *, batch=None, **_extras):
    objective, Xb, yb, idx = _unpack(batch)
    dtype = np.asarray(theta).dtype if np.asarray(theta).dtype.kind == "f" else np.dtype(np.float64)
    theta = _f64(theta)
    G = row_grads(objective, theta, Xb, yb)
    table, seen = _grown(state, idx)
    # a row may appear twice in a batch (with replacement): the last gradient wins, as stored
    uniq, last = np.unique(idx[::-1], return_index=True)
    last = len(idx) - 1 - last
    total = state.total - table[uniq].sum(axis=0) + G[last].sum(axis=0)
    table[uniq] = G[last]
    seen[uniq] = True
    m = int(seen.sum())  # sklearn: divide by the number of rows seen so far (first epoch)
    # tables in float64 (sklearn's too); the iterate keeps θ's dtype (float32 stays float32)
    return (theta - lr * total / m).astype(dtype, copy=False), TableState(table, seen, total, state.evals + len(idx))


def saga_update(grad, state, theta, t, lr, hessian=None, *, batch=None, prox=None, **_extras):
    objective, Xb, yb, idx = _unpack(batch)
    dtype = np.asarray(theta).dtype if np.asarray(theta).dtype.kind == "f" else np.dtype(np.float64)
    theta = _f64(theta)
    smooth = replace(objective, l1=0.0) if getattr(objective, "l1", 0.0) else objective
    G = row_grads(smooth, theta, Xb, yb)
    table, seen = _grown(state, idx)
    m_old = int(state.seen.sum())
    avg_old = state.total / m_old if m_old else np.zeros_like(theta)
    v = (G - table[idx]).mean(axis=0) + avg_old  # unbiased: E[g_j − y_j] + mean(y) = ∇F
    step = theta - lr * v
    new_theta = _f64(prox(step, lr)) if prox is not None else step
    uniq, last = np.unique(idx[::-1], return_index=True)
    last = len(idx) - 1 - last
    total = state.total - table[uniq].sum(axis=0) + G[last].sum(axis=0)
    table[uniq] = G[last]
    seen[uniq] = True
    return new_theta.astype(dtype, copy=False), TableState(table, seen, total, state.evals + len(idx))


def _table_report(state: TableState) -> dict:
    return {"rows_seen": int(state.seen.sum()), "row_grad_evals": int(state.evals)}


@register("sag", family="variance_reduced")
def sag(lr: PositiveFloat = 1e-2) -> Optimizer:
    """SAG, stochastic average gradient (Schmidt, Le Roux & Bach 2017), mini-batch form.

    Memory y_i (the last ∇f_i of every row seen, y_i = 0 before) and S = Σ y_i. Per step, with
    the batch B (engine "batch" extra) and m = number of rows seen so far::

        for i in B:  S ← S − y_i + ∇f_i(θ);  y_i ← ∇f_i(θ)
        θ ← θ − γ S / m

    Defaults: lr = 1e-2. Theory: γ = 1/(16 L_max) gives linear convergence on strongly convex
    finite sums (L_max = max_i ‖x̃_i‖² for ½·squared loss, /4 for logistic); 1/L_max, the
    practical choice of the paper and sklearn, often works but can diverge (it does on the
    reshuffled least-squares test of tests/test_optim_finitesum.py; 1/(4 L_max) converges).
    The step is biased (E[S/m] ≠ ∇F), unlike SAGA.

    scikit-learn's ``sag`` solver: same update with m = rows seen during the first epoch, step
    1/(L_max + α) by default ("auto"), l2 handled exactly at the current θ (here l2 enters each
    stored ∇f_i at the θ it was taken at; the fixed point is the same), one scalar memory per
    row. f_i includes the objective's l2 term; l1 enters as a subgradient (use saga).
    ``report()``: ``rows_seen``, ``row_grad_evals``.
    """
    return Optimizer(init=_table_init, update=sag_update, needs=frozenset({"batch"}),
                     report=_table_report)


@register("saga", family="variance_reduced")
def saga(lr: PositiveFloat = 1e-2) -> Optimizer:
    """SAGA (Defazio, Bach & Lacoste-Julien 2014), mini-batch form, with a proximal step for l1.

    Memory y_i and S as in SAG; m_old = rows seen before this step::

        v ← mean_{i∈B}(∇f_i(θ) − y_i) + S / m_old        (S/m_old = 0 on the first step)
        θ ← prox_{γ l1}(θ − γ v)                          (engine "prox" extra; identity if l1 = 0)
        for i in B:  S ← S − y_i + ∇f_i(θ_old);  y_i ← ∇f_i(θ_old)

    ∇f_i is the SMOOTH part (loss + l2), so l1 problems are solved exactly (sparse θ).
    Defaults: lr = 1e-2; theory γ = 1/(3 L_max) (Defazio et al.), linear convergence on strongly
    convex finite sums. v is unbiased once every row has been seen (the paper divides by n with
    y_i = 0 initially; here by the rows seen, identical after the first epoch).

    scikit-learn's ``saga``: the same update (one scalar memory per row, l2 applied exactly,
    the l1 prox applied lazily per coordinate), step 1/(3 L_max + α) by default.
    ``report()``: ``rows_seen``, ``row_grad_evals``.
    """
    return Optimizer(init=_table_init, update=saga_update, needs=frozenset({"batch", "prox"}),
                     report=_table_report)


class SVRGState(NamedTuple):
    snapshot: np.ndarray | None  # θ̃
    mu: np.ndarray | None  # ∇F(θ̃) on the full data
    since: int  # steps since the snapshot
    evals: int  # row-gradient evaluations (full passes and 2 per batch row)


def _svrg_init(theta0) -> SVRGState:
    return SVRGState(None, None, 0, 0)


def svrg_update(grad, state, theta, t, lr, hessian=None, *, batch=None, data=None,
                update_every=None, **_extras):
    objective, Xb, yb, idx = _unpack(batch)
    if data is None:
        raise ValueError("svrg needs the 'data' extra: (X, y), the full training set")
    X, y = data
    dtype = np.asarray(theta).dtype if np.asarray(theta).dtype.kind == "f" else np.dtype(np.float64)
    theta = _f64(theta)
    n = len(y)
    period = update_every or max(1, n // max(1, len(idx)))  # default: one epoch of batches
    snapshot, mu, since, evals = state
    if snapshot is None or since >= period:  # new snapshot: a full pass at the current θ
        snapshot, mu, since, evals = theta.copy(), _f64(objective.grad(theta, X, y)), 0, evals + n
    g = _f64(objective.grad(theta, Xb, yb))
    g_tilde = _f64(objective.grad(snapshot, Xb, yb))
    v = g - g_tilde + mu  # unbiased, variance → 0 as θ, θ̃ → θ*
    return (theta - lr * v).astype(dtype, copy=False), SVRGState(snapshot, mu, since + 1, evals + 2 * len(idx))


def _svrg_report(state: SVRGState) -> dict:
    return {"row_grad_evals": int(state.evals)}


@register("svrg", family="variance_reduced")
def svrg(lr: PositiveFloat = 1e-2, update_every: PositiveInt | None = None) -> Optimizer:
    """SVRG, stochastic variance-reduced gradient (Johnson & Zhang 2013), "option I" snapshots.

    Every ``update_every`` steps (null: one epoch, n / batch size steps) and at the first step::

        θ̃ ← θ;  μ ← ∇F(θ̃)                               (a full pass: n row gradients)

    and every step, with the batch gradient ∇f_B::

        θ ← θ − γ (∇f_B(θ) − ∇f_B(θ̃) + μ)

    Defaults: lr = 1e-2, update_every = null. Theory: γ = 1/(10 L_max) and m ≈ 2n/b steps
    per snapshot give linear convergence on strongly convex sums. The paper's option I takes
    the LAST iterate as the next snapshot (used here); option II a random one. Memory 2p floats
    (no table, unlike SAG/SAGA), cost: n + 2b row gradients per m steps. Needs the engine's
    "batch" and "data" extras. Not in scikit-learn. ``report()``: ``row_grad_evals``.
    """
    update = partial(svrg_update, update_every=update_every)
    return Optimizer(init=_svrg_init, update=update, needs=frozenset({"batch", "data"}),
                     report=_svrg_report)
