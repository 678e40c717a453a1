"""The objective the engine drives (:class:`AnalyticObjective`) and the summary facts (:func:`describe`)."""

from __future__ import annotations

import numpy as np

from optrun.analytic.quadratic import quadratic
from optrun.analytic.registry import AnalyticFunction, make_function
from optrun.errors import OptrunError


class AnalyticObjective:
    """An :class:`AnalyticFunction` behind the method names of ``models.Objective``.

    ``value_and_grad(theta, X, y)``, ``value``, ``grad``, ``hessian``, ``data_loss`` (= value:
    there is no penalty) ignore X and y (the engine passes a 0-row placeholder). Values are
    Python floats, gradients and Hessians float64 arrays in the dtype of theta.
    """

    model = "analytic"
    loss = None
    fit_intercept = False
    l1 = 0.0
    l2 = 0.0
    reduction = "mean"

    def __init__(self, fn: AnalyticFunction):
        self.fn = fn
        self.param_names = [f"x{i + 1}" for i in range(fn.n_params)]
        self.frame = fn.frame
        self.convex = fn.convex

    def n_params(self, d: int = 0) -> int:
        return self.fn.n_params

    def _theta(self, theta) -> np.ndarray:
        t = np.asarray(theta, dtype=np.float64)
        if t.shape != (self.fn.n_params,):
            raise ValueError(f"theta has shape {t.shape}; expected ({self.fn.n_params},) for {self.fn.name}")
        return t

    def value(self, theta, X=None, y=None) -> float:
        return self.fn.value(self._theta(theta))

    def data_loss(self, theta, X=None, y=None) -> float:
        return self.value(theta)

    def penalty(self, theta) -> float:
        return 0.0

    def grad(self, theta, X=None, y=None) -> np.ndarray:
        dt = np.asarray(theta).dtype if np.asarray(theta).dtype.kind == "f" else np.float64
        return np.asarray(self.fn.grad(self._theta(theta)), dtype=np.float64).astype(dt, copy=False)

    def value_and_grad(self, theta, X=None, y=None) -> tuple[float, np.ndarray]:
        return self.value(theta), self.grad(theta)

    def hessian(self, theta, X=None, y=None) -> np.ndarray:
        dt = np.asarray(theta).dtype if np.asarray(theta).dtype.kind == "f" else np.float64
        return np.asarray(self.fn.hessian(self._theta(theta)), dtype=np.float64).astype(dt, copy=False)


def make_objective(name: str, params: dict | None = None) -> AnalyticObjective:
    """``name`` a registered function (params = function_params) or ``"quadratic"`` (params =
    ``{A, b, c}``): the objective the engine runs."""
    return AnalyticObjective(_build(name, params))


def _build(name: str, params: dict | None) -> AnalyticFunction:
    if name == "quadratic":
        params = dict(params or {})
        if "A" not in params:
            raise OptrunError("model.A: a quadratic needs the matrix A (a list of rows)")
        return quadratic(params["A"], params.get("b"), params.get("c", 0.0))
    return make_function(name, params)


def describe(name: str, params: dict | None = None) -> dict:
    """What summary.json needs: ``{f_star, theta_star, minimizers, note}`` (plain JSON values).

    ``theta_star`` is None unless the minimiser is unique; ``minimizers`` lists every known
    global minimiser (empty when unbounded below); ``f_star`` is None when unbounded below.
    """
    fn = _build(name, params)
    ts = fn.theta_star
    return {
        "f_star": None if fn.f_star is None else float(fn.f_star),
        "theta_star": None if ts is None else [float(v) for v in ts],
        "minimizers": [[float(v) for v in m] for m in fn.minimizers],
        "note": fn.note,
    }
