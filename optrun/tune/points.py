"""Points of the unit cube [0, 1)^d (Sobol, random, grid) and the hyperparameter settings they
give (:mod:`optrun.tune`): exactly ``budget`` points per optimizer."""

from __future__ import annotations

from typing import Any

from optrun.errors import OptrunError
from optrun.tune.space import Dim

SEARCHES = ("sobol", "random", "grid")


def grid_shape(n: int, d: int) -> list[int]:
    """Factors m_1 ≥ … ≥ m_d with product exactly n, as equal as possible (the largest smallest
    factor, then lexicographically smallest largest one)."""
    if d == 0:
        return []
    best: list[int] | None = None

    def rec(rest: int, k: int, cap: int, acc: list[int]):
        nonlocal best
        if k == 1:
            if rest <= cap:
                cand = acc + [rest]
                key = (min(cand), [-c for c in cand])
                if best is None or key > (min(best), [-c for c in best]):
                    best = cand
            return
        for f in range(min(cap, rest), 0, -1):
            if rest % f == 0:
                rec(rest // f, k - 1, f, acc + [f])

    rec(n, d, n, [])
    return best or [n] + [1] * (d - 1)


def unit_points(search: str, n: int, d: int, seed: int = 0, stream: int = 0):
    """``n`` points of [0, 1)^d by ``search`` (see the module docstring), shape (n, d)."""
    import numpy as np

    from optrun.sobol import MAX_DIM, sobol

    if d == 0:
        return np.zeros((n, 0))
    if search == "sobol":
        if d > MAX_DIM:
            raise OptrunError(f"--search sobol: at most {MAX_DIM} searched hyperparameters, got {d}")
        return sobol(n + 1, d)[1:]
    if search == "random":
        return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)])).random((n, d))
    if search == "grid":
        shape = grid_shape(n, d)
        axes = [(np.arange(m) + 0.5) / m for m in shape]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)
    raise OptrunError(f"--search: expected one of {', '.join(SEARCHES)}, got {search!r}")


def settings(dims: list[Dim], fixed: dict, search: str, n: int, seed: int = 0, stream: int = 0) -> list[dict]:
    """The ``n`` hyperparameter settings (dotted keys, e.g. ``betas.0``) of one optimizer."""
    pts = unit_points(search, n, len(dims), seed, stream)
    return [{**fixed, **{dim.key: dim.at(u) for dim, u in zip(dims, row)}} for row in pts]


def hyperparams(name: str, values: dict) -> dict:
    """Dotted settings -> the optimizer section: ``betas.0``/``betas.1`` become ``betas`` (the
    entry not searched keeps torch's default)."""
    from optrun import optim

    spec = optim.get_spec(name)
    out: dict[str, Any] = {}
    for key, v in values.items():
        top, _, idx = key.partition(".")
        if idx:
            cur = out.get(top)
            if cur is None:
                cur = list(spec.params[top].default)
            cur[int(idx)] = v
            out[top] = cur
        else:
            out[top] = v
    return out


def setting_text(values: dict) -> str:
    """``lr=0.0123 momentum=0.9``: exact values (4 significant digits already)."""
    return " ".join(f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
