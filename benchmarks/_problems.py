"""Build optrun problems straight from arrays, for benchmarks on data too big to generate twice.

``optrun.prepare.prepare`` also generates the data and computes the reference optimum (a QR
factorization of X), which at 10^6 x 100 takes minutes and has nothing to do with the cost of a
training step. :func:`problem_from_arrays` makes the same :class:`~optrun.prepare.Problem` the
engine gets from ``prepare`` (same objective, optimizer, schedule, sampler settings and logging
cadence, from a config resolved by ``optrun.config.load``) around arrays made here.
"""

from __future__ import annotations

import math

import numpy as np


def problem_from_arrays(cfg: dict, X: np.ndarray, y: np.ndarray):
    from optrun import config as config_mod, optim
    from optrun.data import Dataset
    from optrun.optim import schedules
    from optrun.prepare import Problem, auto_log_every, make_objective, streams

    # The dataset section is a placeholder: the data are the arrays given here (and the config
    # layer caps *generated* data at 2e7 cells, which 10^6 x 100 exceeds).
    config = config_mod.load({**cfg, "dataset": {"name": "synthetic_linear"}})
    n, d = X.shape
    tcfg, bcfg, mcfg = config["train"], config["batch"], config["model"]
    ds = Dataset(X=X, y=y, feature_names=[f"x{j + 1}" for j in range(d)], target_name="y")
    names = [f"w_x{j + 1}" for j in range(d)] + (["b"] if mcfg["fit_intercept"] else [])
    size = n if bcfg["mode"] == "full" else bcfg["size"]
    total = tcfg["steps"] if tcfg["steps"] is not None else max(1, math.ceil(tcfg["epochs"] * math.ceil(n / size) - 1e-9))
    log_every = tcfg["log_every"]
    if log_every == "auto":
        log_every = auto_log_every(n, size, total, full=bcfg["mode"] == "full")
    opt_cfg = {k: v for k, v in config["optimizer"].items() if k not in ("name", "schedule")}
    return Problem(
        config=config, data=ds, objective=make_objective(config), reference=None,
        theta0=np.zeros(len(names), dtype=X.dtype), param_names=names,
        optimizer=optim.create(config["optimizer"]["name"], **opt_cfg),
        schedule=schedules.make_schedule(config["optimizer"]["schedule"], total), batch_size=size,
        shuffle=bcfg["shuffle"] and bcfg["mode"] != "full", total_steps=total, log_every=int(log_every),
        shuffle_rng=streams(config["seed"])["shuffle"],
        tol=tcfg["tol"], divergence_factor=tcfg["divergence_factor"],
    )


def linear_data(n: int, d: int, seed: int = 0, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features and ``y = X w + b + noise``, float64, generated in blocks of rows so the
    only big allocation is X itself."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d))
    for i in range(0, n, 65536):
        X[i : i + 65536] = rng.standard_normal((min(65536, n - i), d))
    w = rng.standard_normal(d)
    y = X @ w + 0.5 + noise * rng.standard_normal(n)
    return X, y
