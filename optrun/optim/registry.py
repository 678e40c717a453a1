"""The optimizer registry: one decorated factory per optimizer.

A factory's *signature* is its config schema (names, defaults, bounds) and its *docstring* is
its documentation (the update rule as torch runs it, the defaults, the paper, and where the
textbook and other libraries differ). Listing (``optrun optimizers``), config validation,
colours by family and the table-driven tests all read the registry, so adding an optimizer is
one ``@register``-decorated function and nothing else.

    @register("adam", family="adam")
    def adam(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), ...) -> Optimizer:
        '''Adam (Kingma & Ba 2015), as torch.optim.Adam runs it. ...'''
        return Optimizer(init=..., update=partial(_adam_update, ...))

The factory receives *validated* hyperparameters and may raise :class:`OptrunError` for rules
that involve several of them (e.g. Nesterov needs momentum > 0 and dampening = 0). The
decorated name becomes a validating entry point: ``adam(lr=0.1)`` is ``create("adam", lr=0.1)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from optrun.errors import OptrunError
from optrun.optim._schema import ParamSpec, did_you_mean, params_from_signature, validate_values

FAMILIES = ("gd", "momentum", "adaptive", "adam", "newton", "quasi_newton", "variance_reduced", "proximal")

# What an optimizer may ask the engine for on each step (``Optimizer.needs``):
#   "hessian": ndarray, the Hessian of the objective on this step's batch at theta
#   "closure": callable(theta) -> (loss, grad) on this step's batch (each call is one evaluation)
#   "prox":    callable(v, step) -> ndarray, prox of the non-smooth part (identity if l1 = 0)
#   "batch":   (objective, Xb, yb, idx): the objective and this step's rows and their indices
#   "f_star":  float or None, the exact optimum of the reference
#   "data":    (X, y), the full training set (SVRG's snapshot gradient)
#   "lipschitz": float, L of the smooth part from the reference (ISTA/FISTA's default step 1/L)
EXTRAS = ("hessian", "closure", "prox", "batch", "f_star", "data", "lipschitz")


def _no_report(state: Any) -> dict:
    return {}


@dataclass(frozen=True)
class Optimizer:
    """A pair of pure functions over NumPy arrays, plus what the engine needs to know.

    ``init(theta0) -> state`` builds the state (a NamedTuple of arrays and scalars).
    ``update(grad, state, theta, t, lr, **extras) -> (new_theta, new_state)`` never mutates
    its inputs; ``t`` is the step counter (1 for the first update) and ``lr`` the learning rate
    of *this* step (base ``hyperparams['lr']`` times the schedule factor, applied by the engine).
    ``needs`` names the extras the engine passes as keywords (see :data:`EXTRAS`: ``hessian=``,
    ``closure=``, ``prox=``, ``batch=``, ``f_star=``); ``needs_hessian`` is ``"hessian" in
    needs`` (either may be given; they are made consistent).
    ``report(state) -> dict`` gives extra facts for ``summary.json`` and the trace ({} for most
    optimizers; JSON-ready values only).
    ``name``, ``family`` and ``hyperparams`` (resolved, plain Python) are set by :func:`create`.
    """

    init: Callable[[np.ndarray], NamedTuple]
    update: Callable[..., tuple[np.ndarray, NamedTuple]]
    needs_hessian: bool = False
    report: Callable[[Any], dict] = _no_report
    name: str = ""
    family: str = ""
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    needs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        needs = frozenset(self.needs) | ({"hessian"} if self.needs_hessian else set())
        unknown = needs - set(EXTRAS)
        if unknown:
            raise ValueError(f"unknown extras {sorted(unknown)}; known: {EXTRAS}")
        object.__setattr__(self, "needs", needs)
        object.__setattr__(self, "needs_hessian", "hessian" in needs)


@dataclass(frozen=True)
class OptimizerSpec:
    """What the registry knows about one optimizer (read by listings, docs and config)."""

    name: str
    family: str
    aliases: tuple[str, ...]
    summary: str  # first docstring line
    doc: str  # the full docstring
    factory: Callable[..., Optimizer]  # the undecorated factory (takes validated values)

    @functools.cached_property
    def params(self) -> dict[str, ParamSpec]:
        """The factory's parameters (names, defaults, bounds), read from its signature when first
        asked: evaluating 25 signatures' annotations at import was a third of importing the
        optimizers, for a run that uses one (tests/test_optim_registry.py reads them all)."""
        return params_from_signature(self.factory)


_REGISTRY: dict[str, OptimizerSpec] = {}
_ALIASES: dict[str, str] = {}  # every accepted spelling -> canonical name


def register(name: str, *, family: str, aliases: tuple[str, ...] = ()) -> Callable:
    """Register an optimizer factory under ``name`` (and ``aliases``) in ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {FAMILIES}")

    def decorator(factory: Callable[..., Optimizer]) -> Callable[..., Optimizer]:
        for key in (name, *aliases):
            if key in _ALIASES:
                raise ValueError(f"optimizer name {key!r} registered twice")
        doc = inspect.cleandoc(factory.__doc__ or "")
        spec = OptimizerSpec(
            name=name,
            family=family,
            aliases=tuple(aliases),
            summary=doc.splitlines()[0] if doc else "",
            doc=doc,
            factory=factory,
        )
        _REGISTRY[name] = spec
        for key in (name, *aliases):
            _ALIASES[key] = name

        @functools.wraps(factory)
        def validated(**hyperparams: Any) -> Optimizer:
            return create(name, **hyperparams)

        return validated

    return decorator


# --------------------------------------------------------------------------------------------
# Lookup


def names() -> list[str]:
    """Canonical optimizer names, in registry order."""
    return list(_REGISTRY)


def resolve_name(name: str) -> str:
    """Canonical name for ``name`` or one of its aliases (``"gd"`` -> ``"sgd"``).

    Raises OptrunError with a did-you-mean suggestion for an unknown name.
    """
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    known = ", ".join(
        s.name + (f" (alias {', '.join(s.aliases)})" if s.aliases else "") for s in _REGISTRY.values()
    )
    raise OptrunError(
        f"optimizer.name: unknown optimizer {name!r}{did_you_mean(key, _ALIASES)} (known: {known})"
    )


def get_spec(name: str) -> OptimizerSpec:
    """The :class:`OptimizerSpec` of an optimizer (name or alias)."""
    return _REGISTRY[resolve_name(name)]


def takers(hp: str) -> list[str]:
    """Names of the optimizers that have a hyperparameter called ``hp``."""
    return [s.name for s in _REGISTRY.values() if hp in s.params]


# --------------------------------------------------------------------------------------------
# Validation and construction


def _unknown_message(spec: OptimizerSpec, key: str) -> str:
    msg = f"optimizer {spec.name!r} has no hyperparameter {key!r}{did_you_mean(key, spec.params)}"
    msg += f" (it takes: {', '.join(spec.params)})"
    others = takers(key)
    msg += f"; {key!r} is a hyperparameter of: {', '.join(others)}" if others else ""
    return msg


def _resolve(name: str, hyperparams: Mapping[str, Any]) -> tuple[OptimizerSpec, dict, Optimizer]:
    spec = get_spec(name)
    values = validate_values(
        spec.params,
        dict(hyperparams),
        prefix="optimizer.",
        unknown=functools.partial(_unknown_message, spec),
    )
    # The factory sees validated values and checks the rules that involve several of them.
    opt = spec.factory(**values)
    return spec, values, opt


def validate_hyperparams(name: str, hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``hyperparams`` for optimizer ``name``; return ALL of them, defaults filled in.

    Values come back as plain Python (floats, ints, bools, lists for ``betas``), ready to be
    written into the resolved config. Raises OptrunError
    ``"optimizer.<hp>: expected <what>, got <value>"`` for a bad value, and for an unknown
    hyperparameter a message naming the optimizer, what it accepts and which optimizers take it.
    """
    return _resolve(name, hyperparams)[1]


def create(name: str, **hyperparams: Any) -> Optimizer:
    """Build the optimizer ``name`` (or alias) with validated ``hyperparams``."""
    spec, values, opt = _resolve(name, hyperparams)
    return replace(opt, name=spec.name, family=spec.family, hyperparams=values)
