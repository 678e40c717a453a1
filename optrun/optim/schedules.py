"""Learning-rate schedules: pure functions of the step t (from 1) giving the lr MULTIPLIER.

The engine uses ``lr_t = hyperparams['lr'] * schedule(t)``. As with torch's LR schedulers
(``scheduler.step()`` after ``optimizer.step()``), step 1 uses the base lr: every schedule here
has factor 1 at t = 1 (before warmup is applied).

Config (``optimizer.schedule``)::

    {name: constant}                                 f(t) = 1
    {name: step, step_size: k, gamma: 0.1}           f(t) = gamma ** ((t − 1) // k)      torch StepLR
    {name: exponential, gamma: g}                    f(t) = g ** (t − 1)                 torch ExponentialLR
    {name: inverse_time, power_t: 0.25}              f(t) = 1 / t ** power_t             sklearn 'invscaling'
    {name: cosine, decay_steps: T, min_factor: 0}    f(t) = m + (1 − m)(1 + cos(π·min(t − 1, T)/T))/2
                                                     (T defaults to the run's total steps;
                                                     torch CosineAnnealingLR with eta_min = m·lr)

Every schedule takes ``warmup_steps: W`` (default 0): a linear warmup multiplying the factor by
``t / W`` for t ≤ W (torch LinearLR(start_factor=1/W, total_iters=W − 1) composed by
multiplication). The warmup multiplies the schedule; it does not delay it.

Like the optimizers, each schedule is one registered factory whose signature is its schema and
whose docstring is its documentation; ``validate(cfg)`` checks a config and fills in defaults.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Optional


from optrun.errors import OptrunError
from optrun.optim._schema import (
    Bound,
    NonNegFloat,
    NonNegInt,
    ParamSpec,
    PositiveFloat,
    PositiveInt,
    UnitFloat,
    describe,
    did_you_mean,
    params_from_signature,
    validate_values,
)

Schedule = Callable[[int], float]

# Parameters every schedule accepts (applied by make_schedule, not by the factories).
COMMON = {
    "warmup_steps": ParamSpec("warmup_steps", 0, NonNegInt, describe(NonNegInt)),
}


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    summary: str
    doc: str
    params: dict[str, ParamSpec]  # the factory's own parameters, then warmup_steps
    factory: Callable[..., Schedule]


_SCHEDULES: dict[str, ScheduleSpec] = {}


def register_schedule(name: str) -> Callable:
    """Register a schedule factory ``f(total_steps, /, **params) -> (t -> factor)``."""

    def decorator(factory):
        doc = inspect.cleandoc(factory.__doc__ or "")
        params = {**params_from_signature(factory), **COMMON}
        _SCHEDULES[name] = ScheduleSpec(name, doc.splitlines()[0] if doc else "", doc, params,
                                        factory)
        return factory

    return decorator


def names() -> list[str]:
    """Schedule names, in registry order."""
    return list(_SCHEDULES)


def get_spec(name: str) -> ScheduleSpec:
    key = str(name).strip().lower()
    if key not in _SCHEDULES:
        raise OptrunError(
            f"optimizer.schedule.name: unknown schedule {name!r}{did_you_mean(key, _SCHEDULES)}"
            f" (known: {', '.join(_SCHEDULES)})"
        )
    return _SCHEDULES[key]


# --------------------------------------------------------------------------------------------
# The factor functions: module-level so schedules are picklable (sweeps use processes).


def _constant(t: int) -> float:
    return 1.0


def _step(t: int, *, step_size: int, gamma: float) -> float:
    return gamma ** ((t - 1) // step_size)


def _exponential(t: int, *, gamma: float) -> float:
    return gamma ** (t - 1)


def _inverse_time(t: int, *, power_t: float) -> float:
    return 1.0 / t**power_t


def _cosine(t: int, *, decay_steps: int, min_factor: float) -> float:
    progress = min(t - 1, decay_steps) / decay_steps  # stays at min_factor after decay_steps
    return min_factor + (1.0 - min_factor) * (1.0 + math.cos(math.pi * progress)) / 2.0


def _warmup(t: int, *, base: Schedule, warmup_steps: int) -> float:
    factor = base(t)
    return factor * (t / warmup_steps) if t <= warmup_steps else factor


@register_schedule("constant")
def constant(total_steps: int, /) -> Schedule:
    """Constant lr: factor 1 at every step."""
    return _constant


@register_schedule("step")
def step(
    total_steps: int,
    /,
    step_size: PositiveInt,
    gamma: PositiveFloat = 0.1,
) -> Schedule:
    """Step decay (torch StepLR): factor gamma ** ((t − 1) // step_size).

    Steps 1..step_size use the base lr, the next step_size steps lr·gamma, and so on.
    step_size is required (as in torch); gamma defaults to 0.1.
    """
    return partial(_step, step_size=step_size, gamma=gamma)


@register_schedule("exponential")
def exponential(
    total_steps: int,
    /,
    gamma: Annotated[float, Bound(gt=0, le=1)],
) -> Schedule:
    """Exponential decay (torch ExponentialLR): factor gamma ** (t − 1). gamma is required."""
    return partial(_exponential, gamma=gamma)


@register_schedule("inverse_time")
def inverse_time(
    total_steps: int,
    /,
    power_t: NonNegFloat = 0.25,
) -> Schedule:
    """Inverse scaling (scikit-learn 'invscaling'): factor 1 / t ** power_t.

    power_t = 0.25 is sklearn's SGDRegressor default (SGDClassifier uses 0.5; 1.0 gives the
    classic Robbins–Monro 1/t). t counts optimizer steps from 1, so step 1 uses the base lr.
    """
    return partial(_inverse_time, power_t=power_t)


@register_schedule("cosine")
def cosine(
    total_steps: int,
    /,
    decay_steps: Optional[PositiveInt] = None,
    min_factor: UnitFloat = 0.0,
) -> Schedule:
    """Cosine annealing: factor m + (1 − m)(1 + cos(π·min(t − 1, T)/T)) / 2.

    T = decay_steps (default: the run's total number of steps), m = min_factor (the final lr as
    a fraction of the base lr, default 0). Equal to torch CosineAnnealingLR(T_max=T,
    eta_min=m·lr) for t − 1 ≤ T; after T the factor stays at m (torch would rise again).
    With the default T the last step t = T uses factor m + (1 − m)(1 + cos(π(T − 1)/T))/2 > m.
    """
    T = decay_steps if decay_steps is not None else max(int(total_steps), 1)
    return partial(_cosine, decay_steps=T, min_factor=min_factor)


# --------------------------------------------------------------------------------------------
# Validation and construction


def _normalise(cfg: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if cfg is None:
        return {"name": "constant"}
    if isinstance(cfg, str):  # shorthand `schedule: cosine`
        return {"name": cfg}
    if not isinstance(cfg, Mapping):
        raise OptrunError(f"optimizer.schedule: expected a mapping with a 'name', got {cfg!r}")
    cfg = dict(cfg)
    cfg.setdefault("name", "constant")
    return cfg


def _unknown(spec: ScheduleSpec, key: str) -> str:
    takers = [s.name for s in _SCHEDULES.values() if key in s.params]
    msg = f"schedule {spec.name!r} has no parameter {key!r}{did_you_mean(key, spec.params)}"
    msg += f" (it takes: {', '.join(spec.params)})"
    return msg + (f"; {key!r} is a parameter of: {', '.join(takers)}" if takers else "")


def validate(cfg: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Check a schedule config; return ``{"name": ..., **every parameter with defaults}``.

    Raises OptrunError (``optimizer.schedule.<key>: ...``) for an unknown name or parameter
    (with a did-you-mean suggestion), a missing required parameter or a bad value.
    """
    cfg = _normalise(cfg)
    spec = get_spec(cfg.pop("name"))
    values = validate_values(spec.params, cfg, prefix="optimizer.schedule.",
                             unknown=partial(_unknown, spec))
    return {"name": spec.name, **values}


def make_schedule(cfg: Mapping[str, Any] | str | None, total_steps: int) -> Schedule:
    """The lr multiplier ``t -> factor`` (t from 1) for a schedule config.

    ``total_steps`` is the run's step budget (used by ``cosine`` when decay_steps is not set).
    The result is a pure, picklable function.
    """
    resolved = validate(cfg)
    spec = _SCHEDULES[resolved.pop("name")]
    warmup_steps = resolved.pop("warmup_steps")
    base = spec.factory(total_steps, **resolved)
    return partial(_warmup, base=base, warmup_steps=warmup_steps) if warmup_steps else base
