"""From a resolved config to a ready-to-train :class:`Problem`.

Everything that can fail because of the user's input (data, semantic rules that need the data,
the reference optimum) happens here, *before* a run folder exists, so a bad config never
leaves anything on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from optrun.errors import OptrunError

if TYPE_CHECKING:  # the real modules are imported where they are used (see prepare)
    from optrun.data import Dataset
    from optrun.models import Objective
    from optrun.optim import Optimizer
    from optrun.reference import Reference


@dataclass
class Problem:
    """Everything a run needs, typed: the engine reads these fields and nothing else.

    ``config`` is the resolved config the problem was built from (recorded in the summary; the
    engine does not read it). ``tol`` and ``divergence_factor`` are ``train.tol`` and
    ``train.divergence_factor`` (the defaults are the config's).
    """

    config: dict
    data: Dataset
    objective: Objective
    reference: Reference | None
    theta0: np.ndarray
    param_names: list[str]
    optimizer: Optimizer
    schedule: Callable[[int], float]
    batch_size: int
    shuffle: bool
    total_steps: int
    log_every: int
    shuffle_rng: np.random.Generator
    tol: float = 0.0
    divergence_factor: float = 1e10


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams spawned from one ``SeedSequence(seed)``.

    Fixed order, so adding a consumer never changes the draws of the others.
    """
    names = ("data", "split", "init", "shuffle")
    return {k: np.random.default_rng(s) for k, s in zip(names, np.random.SeedSequence(seed).spawn(len(names)))}


def auto_log_every(n: int, batch_size: int, total_steps: int, full: bool, max_rows: int = 100_000) -> int:
    """Logging cadence for ``train.log_every: auto``.

    A logged row costs one full-data loss/gradient evaluation (n rows). In full-batch mode it is
    free (the engine reuses it for the next step). Otherwise every step is logged while the
    whole run's evaluation work stays small (n * steps <= 2e6 rows); beyond that a row every
    ceil(n / batch_size) steps keeps evaluation below the training cost. Rows are also capped
    at ``max_rows`` so traces stay a size pandas opens instantly.
    """
    k_rows = math.ceil(total_steps / max_rows)
    if full or n * total_steps <= 2_000_000:
        k_cost = 1
    else:
        k_cost = math.ceil(n / batch_size)
    return max(1, k_rows, k_cost)


def load_data(config: dict, rngs: dict | None = None):
    """The training (and validation) data of a resolved config, exactly as a run sees it."""
    from optrun import data as data_mod

    rngs = rngs or streams(config["seed"])
    model = config["model"]["name"]
    # load_dataset checks the targets against the model (0/1 for logistic), naming file and line
    return data_mod.load_dataset(config["dataset"], None, rngs["data"], rngs["split"], model, dtype=config["train"]["dtype"])


def make_objective(config: dict):
    """The objective (model + loss + penalties) of a resolved config."""
    from optrun import models

    return models.Objective(
        model=config["model"]["name"], loss=config["loss"]["name"],
        fit_intercept=config["model"]["fit_intercept"], l2=config["loss"]["l2"], l1=config["loss"]["l1"],
    )


def initial_theta(model_cfg: dict, param_names: list[str], rng: np.random.Generator, dtype) -> np.ndarray:
    """``theta_0`` of ``model.init``: zeros, ``init_scale * N(0, 1)`` (from the init stream), or
    the listed values (one per parameter, finite)."""
    p = len(param_names)
    init = model_cfg["init"]
    if isinstance(init, list):
        if len(init) != p:
            raise OptrunError(f"model.init: expected {p} values ({', '.join(param_names)}), got {len(init)}",
                              key="model.init")
        theta0 = np.asarray(init, dtype=dtype)
        if not np.all(np.isfinite(theta0)):
            raise OptrunError("model.init: values must be finite numbers", key="model.init")
        return theta0
    if init == "normal":
        return (rng.standard_normal(p) * model_cfg["init_scale"]).astype(dtype)
    return np.zeros(p, dtype=dtype)


def batching(batch_cfg: dict, train_cfg: dict, n: int) -> tuple[int, bool, int]:
    """``(batch_size, shuffle, total_steps)`` for ``n`` training rows.

    Full batch uses all n rows in file order; an epoch is ``ceil(n / batch_size)`` steps, and an
    ``epochs`` budget is rounded up to whole steps (at least one).
    """
    mode = batch_cfg["mode"]
    size = n if mode == "full" else batch_cfg["size"]
    if size > n:
        raise OptrunError(f"batch.size: {size} is larger than the {n} training rows", key="batch.size")
    shuffle = batch_cfg["shuffle"] and mode != "full"
    if train_cfg["steps"] is not None:
        total = int(train_cfg["steps"])
    else:
        total = max(1, math.ceil(train_cfg["epochs"] * math.ceil(n / size) - 1e-9))
    return size, shuffle, total


def prepare(config: dict) -> Problem:
    """The :class:`Problem` of a resolved config: data, objective, reference optimum, theta_0,
    optimizer, schedule, batching, logging cadence and stop rules. Every user error is an
    OptrunError (with ``key`` where it is about one config key)."""
    from optrun import optim, reference
    from optrun.optim import schedules

    rngs = streams(config["seed"])
    mcfg, tcfg = config["model"], config["train"]
    ds = load_data(config, rngs)
    n = ds.X.shape[0]
    objective = make_objective(config)
    param_names = [f"w_{f}" for f in ds.feature_names] + (["b"] if mcfg["fit_intercept"] else [])
    theta0 = initial_theta(mcfg, param_names, rngs["init"], np.dtype(tcfg["dtype"]))
    size, shuffle, total = batching(config["batch"], tcfg, n)

    optimizer = optim.create(config["optimizer"]["name"], **{
        k: v for k, v in config["optimizer"].items() if k not in ("name", "schedule")
    })
    schedule = schedules.make_schedule(config["optimizer"]["schedule"], total)
    log_every = tcfg["log_every"]
    if log_every == "auto":
        log_every = auto_log_every(n, size, total, full=config["batch"]["mode"] == "full")

    ref = reference.compute_reference(objective, ds.X.astype(np.float64, copy=False), ds.y.astype(np.float64, copy=False))
    return Problem(
        config=config, data=ds, objective=objective, reference=ref, theta0=theta0,
        param_names=param_names, optimizer=optimizer, schedule=schedule, batch_size=size,
        shuffle=shuffle, total_steps=total, log_every=int(log_every), shuffle_rng=rngs["shuffle"],
        tol=float(tcfg["tol"]), divergence_factor=float(tcfg["divergence_factor"]),
    )
