"""Objectives without data: analytic test functions and quadratics, value/gradient/Hessian side by side.

Two kinds (DESIGN §9.1, §9.7):

* **Registered functions** (``model: {name: function, function: rosenbrock}``). Each is a factory
  decorated with :func:`register_function`; its *signature* is the schema of ``function_params``
  (names and defaults, e.g. ``def rosenbrock(a: float = 1.0, b: float = 100.0)``) and its
  docstring gives the formula, the minimisers, f* and the literature. The factory returns an
  :class:`AnalyticFunction`: closed-form value, gradient and Hessian, the minimisers, f*, a note,
  a default start and a plotting frame.
* **Quadratics** (``model: {name: quadratic, A, b, c}``): ``f(theta) = 1/2 theta^T A theta + b^T
  theta + c`` with A symmetric, classified exactly by :func:`quadratic`.

:class:`AnalyticObjective` wraps either one with the methods the engine calls on
``models.Objective`` (``value_and_grad(theta, X, y)``, ``value``, ``grad``, ``hessian``,
``data_loss``); X and y are ignored (the engine passes a 0-row placeholder). Parameters are named
``x1 .. xd``. :func:`describe` gives what ``summary.json`` needs: f*, theta*, the minimisers and
the note. Everything is float64.

Conventions: ``theta_star`` is the unique minimiser, or None when there are several (then
``minimizers`` lists them and ``f_star`` is their common value) or none (unbounded below: then
``f_star`` is None and the note says "unbounded below").

The package: ``registry`` (:class:`AnalyticFunction`, :func:`register_function`,
:func:`make_function`), ``catalogue`` (the registered functions), ``quadratic``
(:func:`quadratic`), ``objective`` (:class:`AnalyticObjective`, :func:`make_objective`,
:func:`describe`).
"""

from __future__ import annotations

from optrun.analytic import catalogue  # noqa: F401  (registers the functions, in catalogue order)
from optrun.analytic.catalogue import (
    beale,
    booth,
    himmelblau,
    matyas,
    quadratic_bowl,
    rosenbrock,
    saddle,
    x_squared,
    x_squared_y,
)
from optrun.analytic.objective import AnalyticObjective, describe, make_objective
from optrun.analytic.quadratic import quadratic
from optrun.analytic.registry import (
    AnalyticFunction,
    FunctionSpec,
    functions,
    make_function,
    register_function,
)

__all__ = [
    "AnalyticFunction", "AnalyticObjective", "FunctionSpec", "beale", "booth", "describe", "functions",
    "himmelblau", "make_function", "make_objective", "matyas", "quadratic", "quadratic_bowl",
    "register_function", "rosenbrock", "saddle", "x_squared", "x_squared_y",
]
