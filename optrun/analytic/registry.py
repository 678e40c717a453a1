"""The registry of analytic functions: :class:`AnalyticFunction`, ``register_function``, lookup.

A registered factory's *signature* is the schema of ``function_params`` (names and defaults);
:func:`make_function` validates the given values against it and calls the factory.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from optrun.errors import OptrunError
from optrun.schema import finite_number as _number

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class AnalyticFunction:
    """A function of theta with its exact derivatives and what is known about its minima.

    ``value(theta) -> float``, ``grad(theta) -> (d,)``, ``hessian(theta) -> (d, d)``.
    ``minimizers``: every global minimiser (empty when unbounded below); ``f_star``: the minimum
    (None when unbounded below). ``convex``: True/False when known. ``frame``: a plotting box,
    one ``(lo, hi)`` per coordinate; ``init``: the default start.
    """

    name: str
    n_params: int
    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray]
    minimizers: tuple[np.ndarray, ...]
    f_star: float | None
    note: str
    init: np.ndarray
    frame: tuple[tuple[float, float], ...]
    convex: bool | None = None
    params: dict = field(default_factory=dict)

    @property
    def theta_star(self) -> np.ndarray | None:
        """The minimiser when it is unique, else None (see ``minimizers``)."""
        return self.minimizers[0] if len(self.minimizers) == 1 else None


@dataclass(frozen=True)
class FunctionSpec:
    """What the registry knows about one analytic function (read by listings and config)."""

    name: str
    n_params: int
    summary: str  # first docstring line
    doc: str
    defaults: dict  # function_params: name -> default (the factory's signature)
    factory: Callable[..., AnalyticFunction]


_FUNCTIONS: dict[str, FunctionSpec] = {}


def register_function(name: str, *, n_params: int) -> Callable:
    """Register an analytic-function factory under ``name``; its signature is the params schema.

    Every parameter must have a default (a number); the docstring documents the function.
    """

    def deco(factory: Callable[..., AnalyticFunction]) -> Callable[..., AnalyticFunction]:
        if name in _FUNCTIONS:
            raise ValueError(f"analytic function {name!r} registered twice")
        defaults = {}
        for pname, par in inspect.signature(factory).parameters.items():
            if par.default is inspect.Parameter.empty:
                raise ValueError(f"{name}: parameter {pname!r} needs a default")
            defaults[pname] = par.default
        doc = inspect.cleandoc(factory.__doc__ or "")
        _FUNCTIONS[name] = FunctionSpec(name, n_params, doc.splitlines()[0] if doc else "", doc,
                                        defaults, factory)
        return factory

    return deco


def functions() -> dict[str, FunctionSpec]:
    """The registry: name -> :class:`FunctionSpec`, in registration order."""
    return dict(_FUNCTIONS)


def make_function(name: str, params: dict | None = None) -> AnalyticFunction:
    """The registered function ``name`` with ``function_params`` validated against its signature."""
    spec = _FUNCTIONS.get(name)
    if spec is None:
        raise OptrunError(f"model.function: unknown function {name!r}; expected one of: {', '.join(_FUNCTIONS)}")
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        allowed = ", ".join(spec.defaults) or "none"
        raise OptrunError(f"model.function_params.{unknown[0]}: {name} has no parameter {unknown[0]!r} (parameters: {allowed})")
    values = {k: _number(params.get(k, v), f"model.function_params.{k}") for k, v in spec.defaults.items()}
    fn = spec.factory(**values)
    return fn


def _a(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _check_positive(value: float, where: str) -> None:
    if not value > 0:
        raise OptrunError(f"{where}: expected a number > 0, got {value:g}")
