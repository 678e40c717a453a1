"""From a resolved config to a ready-to-train :class:`Problem`.

Everything that can fail because of the user's input (data, semantic rules that need the data,
the reference optimum) happens here, *before* a run folder exists, so a bad config never
leaves anything on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from optrun.errors import OptrunError


@dataclass
class Problem:
    config: dict
    data: "object"  # optrun.data.Dataset
    objective: "object"  # optrun.models.Objective
    reference: "object"  # optrun.reference.Reference
    theta0: np.ndarray
    param_names: list[str]
    optimizer: "object"  # optrun.optim.Optimizer
    schedule: Callable[[int], float]
    batch_size: int
    shuffle: bool
    total_steps: int
    log_every: int
    shuffle_rng: np.random.Generator


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


def prepare(config: dict) -> Problem:
    from optrun import optim, reference
    from optrun.optim import schedules

    rngs = streams(config["seed"])
    mcfg, bcfg, tcfg = config["model"], config["batch"], config["train"]
    dtype = np.dtype(tcfg["dtype"])
    ds = load_data(config, rngs)
    n, d = ds.X.shape
    objective = make_objective(config)
    param_names = [f"w_{f}" for f in ds.feature_names] + (["b"] if mcfg["fit_intercept"] else [])
    p = len(param_names)

    init = mcfg["init"]
    if isinstance(init, list):
        if len(init) != p:
            raise OptrunError(
                f"model.init: expected {p} values ({', '.join(param_names)}), got {len(init)}"
            )
        theta0 = np.asarray(init, dtype=dtype)
        if not np.all(np.isfinite(theta0)):
            raise OptrunError("model.init: values must be finite numbers")
    elif init == "normal":
        theta0 = (rngs["init"].standard_normal(p) * mcfg["init_scale"]).astype(dtype)
    else:
        theta0 = np.zeros(p, dtype=dtype)

    mode = bcfg["mode"]
    size = n if mode == "full" else bcfg["size"]
    if size > n:
        raise OptrunError(f"batch.size: {size} is larger than the {n} training rows")
    shuffle = bcfg["shuffle"] and mode != "full"

    per_epoch = math.ceil(n / size)
    if tcfg["steps"] is not None:
        total = int(tcfg["steps"])
    else:
        total = max(1, math.ceil(tcfg["epochs"] * per_epoch - 1e-9))

    optimizer = optim.create(config["optimizer"]["name"], **{
        k: v for k, v in config["optimizer"].items() if k not in ("name", "schedule")
    })
    schedule = schedules.make_schedule(config["optimizer"]["schedule"], total)

    log_every = tcfg["log_every"]
    if log_every == "auto":
        log_every = auto_log_every(n, size, total, full=mode == "full")

    ref = reference.compute_reference(objective, ds.X.astype(np.float64, copy=False), ds.y.astype(np.float64, copy=False))
    return Problem(
        config=config, data=ds, objective=objective, reference=ref, theta0=theta0,
        param_names=param_names, optimizer=optimizer, schedule=schedule, batch_size=size,
        shuffle=shuffle, total_steps=total, log_every=int(log_every), shuffle_rng=rngs["shuffle"],
    )
