"""Replay the golden torch.optim trajectories (tests/golden/) with optrun's optimizers.

Every row (loss and parameters after t steps) must match torch 2.13 to rtol = 1e-10,
atol = 1e-12 (shared/OPTIMIZERS.md: a faithful float64 implementation agrees to ~1e-14).
The runs are listed in tests/golden/manifest.json, written by tests/golden/make_golden.py;
this test never needs torch. The loss/gradient/Hessian helper is self-contained on purpose:
it checks the optimizers, not optrun.models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optrun import optim
from optrun.optim.schedules import make_schedule

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
RUNS = MANIFEST["runs"]
RTOL, ATOL = 1e-10, 1e-12


def load_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.loadtxt(GOLDEN / "data" / f"{name}.csv", delimiter=",", skiprows=1)
    return arr[:, :-1], arr[:, -1]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def objective(theta, X, y, model: str, loss: str):
    """(batch-mean loss, gradient, Hessian) for theta = [w..., b]."""
    n = len(y)
    Xt = np.column_stack([X, np.ones(n)])
    z = Xt @ theta
    if model == "linear":
        scale = 0.5 if loss == "half_mse" else 1.0
        r = z - y
        return scale * np.mean(r * r), 2 * scale * Xt.T @ r / n, 2 * scale * Xt.T @ Xt / n
    p = _sigmoid(z)
    value = np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))
    return value, Xt.T @ (p - y) / n, (Xt * (p * (1 - p))[:, None]).T @ Xt / n


def extras_for(opt, theta, Xb, yb, spec) -> dict:
    """The extras ``opt.needs`` on this batch, built here (the rule-level loop; no engine)."""
    out = {}
    if "hessian" in opt.needs:
        out["hessian"] = objective(theta, Xb, yb, spec["model"], spec["loss"])[2]
    if "closure" in opt.needs:
        out["closure"] = lambda th: objective(th, Xb, yb, spec["model"], spec["loss"])[:2]
    unknown = opt.needs - {"hessian", "closure"}
    assert not unknown, f"no torch golden run can provide {sorted(unknown)}"
    return out


def replay(spec: dict) -> np.ndarray:
    """Run ``spec`` with optrun; rows [loss, w1, w2, b, *extra columns] for t = 0..steps.

    Extra columns: ``ax_*`` = ASGD's averaged iterate from ``report(state)["ax"]`` (0 at t = 0).
    """
    X, y = load_data(spec["dataset"])
    n, bs, steps = len(y), spec["batch_size"], spec["steps"]
    opt = optim.create(spec["optimizer"], **spec["hyperparams"])
    schedule = make_schedule(spec["schedule"], total_steps=steps)
    base_lr = opt.hyperparams["lr"]
    theta = np.asarray(spec["init"], dtype=np.float64)
    state = opt.init(theta)
    extra = spec.get("extra_columns", [])

    def row(theta, state, t):
        out = [objective(theta, X, y, spec["model"], spec["loss"])[0], *theta]
        if extra:
            out += list(np.zeros(len(extra)) if t == 0 else opt.report(state)["ax"])
        return out

    rows = [row(theta, state, 0)]
    for t in range(1, steps + 1):
        j = (t - 1) % (n // bs)  # file order, cycling
        Xb, yb = X[j * bs:(j + 1) * bs], y[j * bs:(j + 1) * bs]
        _, g, _ = objective(theta, Xb, yb, spec["model"], spec["loss"])
        theta, state = opt.update(g, state, theta, t, base_lr * schedule(t),
                                  **extras_for(opt, theta, Xb, yb, spec))
        rows.append(row(theta, state, t))
    return np.array(rows)


def load_golden(spec: dict) -> np.ndarray:
    return np.loadtxt(GOLDEN / spec["file"], delimiter=",", skiprows=1)[:, 1:]


# Not in torch.optim and with no torch oracle: checked against closed forms, sklearn and
# convergence theory in tests/test_optim_finitesum.py and tests/test_optim_linesearch.py.
NOT_TORCH = {"sag", "saga", "svrg", "polyak", "ista", "fista", "prox_sgd", "cd"}  # no torch oracle


@pytest.mark.parametrize("spec", RUNS, ids=[r["id"] for r in RUNS])
def test_matches_torch_trajectory(spec):
    golden = load_golden(spec)
    actual = replay(spec)
    assert actual.shape == golden.shape
    close = np.isclose(actual, golden, rtol=RTOL, atol=ATOL)
    if not close.all():
        t = int(np.argmin(close.all(axis=1)))
        pytest.fail(
            f"{spec['id']} ({spec['torch_call']}): first mismatch at step {t}: "
            f"optrun {actual[t].tolist()} vs torch {golden[t].tolist()}"
        )


def test_golden_set_covers_every_optimizer():
    """Each registered optimizer has golden runs on both models and in every batch mode that
    makes sense for it, so adding an optimizer without a golden run fails here."""
    seen = {(optim.resolve_name(r["optimizer"]), r["model"], r["batch_size"]) for r in RUNS}
    for name in optim.names():
        if name in NOT_TORCH:
            continue
        for model in ("linear", "logistic"):
            assert (name, model, 24) in seen, f"no full-batch golden run for {name} on {model}"
        if name != "newton":  # Newton on single rows has a rank-1 Hessian: not a torch oracle
            for bs in (8, 1):
                assert any((name, m, bs) in seen for m in ("linear", "logistic")), (name, bs)


def test_golden_trajectories_move():
    """A golden run that barely moves could not catch a wrong rule."""
    for spec in RUNS:
        g = load_golden(spec)
        assert np.abs(g[-1, 1:4] - g[0, 1:4]).max() > 1e-2, spec["id"]


def test_golden_set_is_small():
    total = sum(p.stat().st_size for p in GOLDEN.rglob("*") if p.is_file())
    assert total < 2_000_000
