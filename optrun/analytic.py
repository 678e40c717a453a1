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
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from optrun.errors import OptrunError

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


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptrunError(f"{where}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise OptrunError(f"{where}: expected a finite number, got {value!r}")
    return v


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


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------


@register_function("x_squared", n_params=1)
def x_squared() -> AnalyticFunction:
    """f(x) = x^2: the lecture's first gradient-descent example.

    f' = 2x, f'' = 2. Minimiser x* = 0, f* = 0. With lr alpha one GD step is x <- (1 - 2 alpha) x:
    from x = 2 with alpha = 0.01 it gives 1.96; from x = -3 with alpha = 0.1 it gives -2.4.
    """
    return AnalyticFunction(
        "x_squared", 1,
        value=lambda t: float(_a(t)[0] ** 2),
        grad=lambda t: np.array([2.0 * _a(t)[0]]),
        hessian=lambda t: np.array([[2.0]]),
        minimizers=(np.zeros(1),), f_star=0.0, note="", init=np.array([2.0]),
        frame=((-3.5, 3.5),), convex=True,
    )


@register_function("quadratic_bowl", n_params=2)
def quadratic_bowl(condition_number: float = 10.0) -> AnalyticFunction:
    """f(x1, x2) = 1/2 (x1^2 + kappa x2^2): an axis-aligned bowl with condition number kappa.

    grad = (x1, kappa x2), Hessian diag(1, kappa). Minimiser (0, 0), f* = 0. GD with lr < 2/kappa
    converges; at lr = 1/kappa the x1 error contracts by 1 - 1/kappa per step (DESIGN §9.7:
    ``function_params: {condition_number: kappa}``, default 10).
    """
    k = condition_number
    _check_positive(k, "model.function_params.condition_number")
    return AnalyticFunction(
        "quadratic_bowl", 2,
        value=lambda t: float(0.5 * (_a(t)[0] ** 2 + k * _a(t)[1] ** 2)),
        grad=lambda t: np.array([_a(t)[0], k * _a(t)[1]]),
        hessian=lambda t: np.diag([1.0, k]),
        minimizers=(np.zeros(2),), f_star=0.0, note="", init=np.array([2.0, 2.0]),
        frame=((-3.0, 3.0), (-3.0, 3.0)), convex=True, params={"condition_number": k},
    )


@register_function("rosenbrock", n_params=2)
def rosenbrock(a: float = 1.0, b: float = 100.0) -> AnalyticFunction:
    """f(x, y) = (a - x)^2 + b (y - x^2)^2: Rosenbrock's banana valley (b > 0).

    grad = (-2(a - x) - 4 b x (y - x^2), 2 b (y - x^2)); Hessian [[2 - 4b(y - x^2) + 8 b x^2,
    -4 b x], [-4 b x, 2 b]]. Unique minimiser (a, a^2), f* = 0. Not convex.
    Rosenbrock, H. H. (1960), "An automatic method for finding the greatest or least value of a
    function", The Computer Journal 3(3), 175-184.
    """
    _check_positive(b, "model.function_params.b")

    def value(t):
        x, y = _a(t)
        return float((a - x) ** 2 + b * (y - x * x) ** 2)

    def grad(t):
        x, y = _a(t)
        q = y - x * x
        return np.array([-2.0 * (a - x) - 4.0 * b * x * q, 2.0 * b * q])

    def hessian(t):
        x, y = _a(t)
        return np.array([[2.0 - 4.0 * b * (y - x * x) + 8.0 * b * x * x, -4.0 * b * x], [-4.0 * b * x, 2.0 * b]])

    return AnalyticFunction(
        "rosenbrock", 2, value, grad, hessian, minimizers=(np.array([a, a * a]),), f_star=0.0,
        note="", init=np.array([-1.5, 2.0]),
        frame=((min(-2.0, a - 3.0), max(2.0, a + 1.0)), (min(-1.0, a * a - 2.0), max(3.0, a * a + 2.0))),
        convex=False, params={"a": a, "b": b},
    )


_BEALE_C = (1.5, 2.25, 2.625)


@register_function("beale", n_params=2)
def beale() -> AnalyticFunction:
    """f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2: Beale's function.

    With t_i = c_i - x + x y^i (c = 1.5, 2.25, 2.625): grad = 2 sum t_i grad t_i with
    grad t_i = (y^i - 1, i x y^(i-1)); Hessian = 2 sum (grad t_i grad t_i^T + t_i hess t_i),
    hess t_i = [[0, i y^(i-1)], [i y^(i-1), i (i-1) x y^(i-2)]]. Unique minimiser (3, 0.5),
    f* = 0. Not convex. Beale, E. M. L. (1958), "On an iterative method for finding a local
    minimum of a function of more than one variable", Tech. Rep. 25, Statistical Techniques
    Research Group, Princeton University.
    """

    def parts(t):
        x, y = _a(t)
        out = []
        for i, c in enumerate(_BEALE_C, start=1):
            ti = c - x + x * y**i
            gi = np.array([y**i - 1.0, i * x * y ** (i - 1)])
            hxy = i * y ** (i - 1)
            hyy = i * (i - 1) * x * y ** (i - 2) if i >= 2 else 0.0
            out.append((ti, gi, np.array([[0.0, hxy], [hxy, hyy]])))
        return out

    def value(t):
        return float(sum(ti * ti for ti, _, _ in parts(t)))

    def grad(t):
        return sum(2.0 * ti * gi for ti, gi, _ in parts(t))

    def hessian(t):
        return sum(2.0 * (np.outer(gi, gi) + ti * hi) for ti, gi, hi in parts(t))

    return AnalyticFunction(
        "beale", 2, value, grad, hessian, minimizers=(np.array([3.0, 0.5]),), f_star=0.0, note="",
        init=np.array([1.0, 1.0]), frame=((-4.5, 4.5), (-4.5, 4.5)), convex=False,
    )


# Himmelblau's minima as tabulated (6 decimals); polished to machine precision below.
_HIMMELBLAU_TABLE = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))


def _himmelblau_parts(t):
    x, y = _a(t)
    return x, y, x * x + y - 11.0, x + y * y - 7.0


def _himmelblau_grad(t):
    x, y, u, v = _himmelblau_parts(t)
    return np.array([4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v])


def _himmelblau_hessian(t):
    x, y, u, v = _himmelblau_parts(t)
    off = 4.0 * (x + y)
    return np.array([[4.0 * u + 8.0 * x * x + 2.0, off], [off, 4.0 * v + 8.0 * y * y + 2.0]])


def _polish(point, grad, hessian, steps: int = 8) -> np.ndarray:
    """A few Newton steps on grad = 0 from a tabulated point (quadratic convergence)."""
    t = _a(point).copy()
    for _ in range(steps):
        t = t - np.linalg.solve(hessian(t), grad(t))
    return t


@register_function("himmelblau", n_params=2)
def himmelblau() -> AnalyticFunction:
    """f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2: Himmelblau's function, four global minima.

    With u = x^2 + y - 11, v = x + y^2 - 7: grad = (4xu + 2v, 2u + 4yv); Hessian
    [[4u + 8x^2 + 2, 4(x + y)], [4(x + y), 4v + 8y^2 + 2]]. Minima, all with f* = 0: (3, 2),
    (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126) (the last three to 6
    decimals in the literature; here polished by Newton to machine precision). theta* is None
    and ``minimizers`` lists the four. Himmelblau, D. M. (1972), Applied Nonlinear Programming,
    McGraw-Hill.
    """

    def value(t):
        _, _, u, v = _himmelblau_parts(t)
        return float(u * u + v * v)

    mins = tuple(_polish(m, _himmelblau_grad, _himmelblau_hessian) for m in _HIMMELBLAU_TABLE)
    return AnalyticFunction(
        "himmelblau", 2, value, _himmelblau_grad, _himmelblau_hessian, minimizers=mins, f_star=0.0,
        note="four global minima (f* = 0 at each): theta* is not unique", init=np.array([0.0, 0.0]),
        frame=((-5.0, 5.0), (-5.0, 5.0)), convex=False,
    )


@register_function("booth", n_params=2)
def booth() -> AnalyticFunction:
    """f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2: Booth's function (a convex quadratic).

    With u = x + 2y - 7, v = 2x + y - 5: grad = (2u + 4v, 4u + 2v); Hessian [[10, 8], [8, 10]]
    (eigenvalues 2 and 18, kappa = 9). Unique minimiser (1, 3), f* = 0. Jamil, M. & Yang, X.-S.
    (2013), "A literature survey of benchmark functions for global optimisation problems", Int.
    J. Math. Modelling and Numerical Optimisation 4(2), 150-194 (function 24).
    """

    def value(t):
        x, y = _a(t)
        return float((x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2)

    def grad(t):
        x, y = _a(t)
        u, v = x + 2.0 * y - 7.0, 2.0 * x + y - 5.0
        return np.array([2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v])

    return AnalyticFunction(
        "booth", 2, value, grad, lambda t: np.array([[10.0, 8.0], [8.0, 10.0]]),
        minimizers=(np.array([1.0, 3.0]),), f_star=0.0, note="", init=np.array([-5.0, -5.0]),
        frame=((-10.0, 10.0), (-10.0, 10.0)), convex=True,
    )


@register_function("matyas", n_params=2)
def matyas() -> AnalyticFunction:
    """f(x, y) = 0.26 (x^2 + y^2) - 0.48 x y: Matyas' function (a flat, convex quadratic).

    grad = (0.52 x - 0.48 y, 0.52 y - 0.48 x); Hessian [[0.52, -0.48], [-0.48, 0.52]]
    (eigenvalues 0.04 and 1, kappa = 25). Unique minimiser (0, 0), f* = 0. Jamil & Yang (2013),
    function 71.
    """

    def value(t):
        x, y = _a(t)
        return float(0.26 * (x * x + y * y) - 0.48 * x * y)

    def grad(t):
        x, y = _a(t)
        return np.array([0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x])

    return AnalyticFunction(
        "matyas", 2, value, grad, lambda t: np.array([[0.52, -0.48], [-0.48, 0.52]]),
        minimizers=(np.zeros(2),), f_star=0.0, note="", init=np.array([8.0, 3.0]),
        frame=((-10.0, 10.0), (-10.0, 10.0)), convex=True,
    )


@register_function("saddle", n_params=2)
def saddle() -> AnalyticFunction:
    """f(x, y) = x^2 - y^2: the saddle; unbounded below (f -> -inf as |y| -> inf).

    grad = (2x, -2y); Hessian diag(2, -2) (indefinite). The only stationary point (0, 0) is a
    saddle, not a minimum: no minimiser, f* = None. GD from y != 0 escapes along y.
    """

    def value(t):
        x, y = _a(t)
        return float(x * x - y * y)

    def grad(t):
        x, y = _a(t)
        return np.array([2.0 * x, -2.0 * y])

    return AnalyticFunction(
        "saddle", 2, value, grad, lambda t: np.diag([2.0, -2.0]), minimizers=(), f_star=None,
        note="unbounded below (x^2 - y^2 -> -inf along y); (0, 0) is a saddle point",
        init=np.array([1.0, 0.01]), frame=((-2.0, 2.0), (-2.0, 2.0)), convex=False,
    )


@register_function("x_squared_y", n_params=2)
def x_squared_y() -> AnalyticFunction:
    """f(x, y) = x^2 y: the lecture's partial-derivative example; unbounded below.

    df/dx = 2xy, df/dy = x^2; Hessian [[2y, 2x], [2x, 0]]. f -> -inf as y -> -inf with x != 0,
    so there is no minimiser and f* = None. Every point (0, y) is stationary (a minimum along x
    for y > 0, not a minimum of f).
    """

    def value(t):
        x, y = _a(t)
        return float(x * x * y)

    def grad(t):
        x, y = _a(t)
        return np.array([2.0 * x * y, x * x])

    def hessian(t):
        x, y = _a(t)
        return np.array([[2.0 * y, 2.0 * x], [2.0 * x, 0.0]])

    return AnalyticFunction(
        "x_squared_y", 2, value, grad, hessian, minimizers=(), f_star=None,
        note="unbounded below (x^2 y -> -inf as y -> -inf with x != 0)",
        init=np.array([1.0, 1.0]), frame=((-2.0, 2.0), (-2.0, 2.0)), convex=False,
    )


# --------------------------------------------------------------------------------------------
# Quadratics f = 1/2 theta^T A theta + b^T theta + c
# --------------------------------------------------------------------------------------------


def _matrix(A) -> np.ndarray:
    try:
        M = np.array(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptrunError(f"model.A: expected a square matrix of numbers (a list of rows), got {A!r}") from None
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise OptrunError(f"model.A: expected a square matrix (a list of d rows of d numbers), got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise OptrunError("model.A: entries must be finite numbers")
    return M


def quadratic(A, b=None, c: float = 0.0) -> AnalyticFunction:
    """f(theta) = 1/2 theta^T A theta + b^T theta + c with A symmetric (any sign), classified exactly.

    grad = A theta + b, Hessian = A. ``b`` defaults to zeros. A must be symmetric up to
    ``1e-12 max|A|`` (then it is symmetrised). Classification by ``eigh(A)`` with the tolerance
    ``tol = d eps max|lambda|`` (the rounding of the eigenvalues):

    * every lambda > tol (positive definite): theta* = -A^-1 b by a linear solve (no inverse),
      f* = c + b^T theta* / 2;
    * every lambda >= -tol with some |lambda| <= tol (PSD, singular): bounded below iff b lies in
      range(A) (its component in the null space is at most ``100 d eps ||b||``); then f* is
      finite and theta* is the minimum-norm minimiser ``-A^+ b`` (pseudo-inverse from the same
      eigendecomposition), note "minimiser not unique"; otherwise unbounded below;
    * some lambda < -tol (indefinite or negative): unbounded below, f* None.
    """
    M = _matrix(A)
    d = M.shape[0]
    scale = float(np.max(np.abs(M)))
    if np.any(np.abs(M - M.T) > 1e-12 * scale):
        i, j = np.unravel_index(int(np.argmax(np.abs(M - M.T))), M.shape)
        raise OptrunError(f"model.A: must be symmetric; A[{i}][{j}] = {M[i, j]:g} but A[{j}][{i}] = {M[j, i]:g}")
    M = 0.5 * (M + M.T)
    if b is None:
        bv = np.zeros(d)
    else:
        try:
            bv = np.array(b, dtype=np.float64)
        except (TypeError, ValueError):
            raise OptrunError(f"model.b: expected a list of {d} numbers, got {b!r}") from None
        if bv.shape != (d,):
            raise OptrunError(f"model.b: expected {d} numbers (A is {d} x {d}), got shape {bv.shape}")
        if not np.all(np.isfinite(bv)):
            raise OptrunError("model.b: entries must be finite numbers")
    cv = _number(c, "model.c")

    lam, V = np.linalg.eigh(M)
    tol = d * _EPS * float(np.max(np.abs(lam)))
    if lam[0] > tol:
        theta = -np.linalg.solve(M, bv)
        minimizers, f_star, note, convex = (theta,), cv + 0.5 * float(bv @ theta), "", True
    elif lam[0] >= -tol:
        pos = lam > tol
        b_null = V[:, ~pos] @ (V[:, ~pos].T @ bv)
        if float(np.linalg.norm(b_null)) <= 100 * d * _EPS * float(np.linalg.norm(bv)):
            theta = -(V[:, pos] @ ((V[:, pos].T @ bv) / lam[pos]))
            minimizers, f_star, convex = (theta,), cv + 0.5 * float(bv @ theta), True
            note = (f"A is singular (rank {int(pos.sum())} < {d}): minimiser not unique; theta* is the "
                    "minimum-norm minimiser -A^+ b")
        else:
            minimizers, f_star, convex = (), None, True
            note = "A is singular and b is not in the range of A: unbounded below (f* = -inf)"
    else:
        minimizers, f_star, convex = (), None, False
        note = (f"A has a negative eigenvalue ({lam[0]:.4g}): f is unbounded below (f* = -inf); "
                "its stationary points are not minima")

    def value(t):
        t = _a(t)
        return float(0.5 * t @ (M @ t) + bv @ t + cv)

    center = minimizers[0] if minimizers else np.zeros(d)
    init = np.ones(d) if not minimizers or np.any(center != 1.0) else np.zeros(d)
    half = max(3.0, 1.5 * float(np.max(np.abs(init - center))))
    return AnalyticFunction(
        "quadratic", d, value, lambda t: M @ _a(t) + bv, lambda t: M.copy(), minimizers=minimizers,
        f_star=f_star, note=note, init=init, frame=tuple((float(x - half), float(x + half)) for x in center),
        convex=convex, params={"A": M.tolist(), "b": bv.tolist(), "c": cv},
    )


# --------------------------------------------------------------------------------------------
# The objective the engine drives, and the summary facts
# --------------------------------------------------------------------------------------------


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
