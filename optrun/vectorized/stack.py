"""One update rule over a stack: the runs' shared rule with its varying hyperparameters as
(k, 1) columns, their states stacked, and the probe that checks the rule takes columns."""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np


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
