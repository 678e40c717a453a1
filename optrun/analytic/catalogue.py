"""The catalogue: each registered test function with its closed-form gradient and Hessian.

Each factory's docstring gives the formula, the derivatives, the minimisers, f* and the
literature; importing this module registers them (in this order) with
:func:`optrun.analytic.registry.register_function`.
"""

from __future__ import annotations

import numpy as np

from optrun.analytic.registry import AnalyticFunction, _a, _check_positive, register_function


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


@register_function("quartic", n_params=1)
def quartic() -> AnalyticFunction:
    """f(x) = x^4/4 - x: a one-parameter function that is not quadratic, for Newton-Raphson.

    f' = x^3 - 1, f'' = 3x^2. Minimiser x* = 1 (the root of f'), f* = -3/4. Convex for x != 0
    (f'' >= 0 everywhere). Newton-Raphson on f' is x <- x - (x^3 - 1)/(3x^2): from x = 2 the
    iterates are 2, 17/12 = 1.41667, 1.11053, 1.01063, 1.00011, ... (quadratic convergence: the
    lecture's tangent picture takes several steps here, where on x^2 it takes one).
    """
    return AnalyticFunction(
        "quartic", 1,
        value=lambda t: float(_a(t)[0] ** 4 / 4.0 - _a(t)[0]),
        grad=lambda t: np.array([_a(t)[0] ** 3 - 1.0]),
        hessian=lambda t: np.array([[3.0 * _a(t)[0] ** 2]]),
        minimizers=(np.ones(1),), f_star=-0.75, note="", init=np.array([2.0]),
        frame=((-1.5, 2.5),), convex=True,
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
