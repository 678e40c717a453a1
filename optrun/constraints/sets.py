"""The feasible set of a constrained run: parsed, validated, and written as g(θ) ≤ 0, h(θ) = 0.

θ = [w_1 .. w_d, b] (b only with an intercept). From the ``constraints`` config section (DESIGN
§9.3, §9.7) the inequalities, in this fixed order, are

    lower:       l_i − θ_i ≤ 0          (one per parameter with a finite lower bound)
    upper:       θ_i − u_i ≤ 0          (one per parameter with a finite upper bound)
    norm:        ‖w‖_ord − r ≤ 0        (ord ∈ {1, 2, ∞}; the intercept is excluded; not squared)
    inequality:  (G θ − h)_k ≤ 0

and the equalities h(θ) = A θ − b = 0. The Lagrangian is L = f + Σ λ_i g_i + Σ ν_j h_j, λ ≥ 0.

Polyhedral form (used by the QP solver): ord ∞ is the box −r ≤ w_j ≤ r (rows "norm+"/"norm-");
ord 1 is lifted with s ∈ R^d: w_j − s_j ≤ 0, −w_j − s_j ≤ 0, Σ s_j ≤ r (exact: ‖w‖₁ ≤ r iff such
an s exists). The norm multiplier μ is the sum of the box-row multipliers (∞) or the multiplier
of Σ s ≤ r (1); either way ∇f + μ s + … = 0 with s = (λ⁺ − λ⁻)/μ ∈ ∂‖w‖. ord 2 is not polyhedral
and is handled by a 1-D search on its multiplier (``optrun.constraints.solve``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optrun.constraints.qp import QPInfeasible, phase_one, solve_qp
from optrun.errors import OptrunError
from optrun.schema import finite_number as _number

KEYS = ("lower", "upper", "norm", "equality", "inequality", "method", "dual_lr", "rho")
_ORDS = {1: 1.0, 2: 2.0, "1": 1.0, "2": 2.0, "inf": math.inf, ".inf": math.inf, "Infinity": math.inf}


def _bounds(v, p, key, none_value):
    """A number, or a list of p numbers/None (None = no bound) → float array (±inf for none)."""
    if v is None:
        return np.full(p, none_value)
    if isinstance(v, (list, tuple, np.ndarray)):
        v = list(v)
        if len(v) != p:
            raise OptrunError(f"{key}: expected one entry per parameter ({p}), got {len(v)}")
        return np.array([none_value if x is None else _number(x, f"{key}[{i}]") for i, x in enumerate(v)])
    return np.full(p, _number(v, key))


def _matrix(M, cols, key):
    try:
        M = np.array(M, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptrunError(f"{key}: expected a list of rows of numbers, got {M!r}") from None
    if M.ndim == 1 and M.size == cols:
        M = M[None, :]
    if M.ndim != 2 or M.shape[1] != cols:
        raise OptrunError(f"{key}: expected rows of {cols} numbers (one per parameter), got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise OptrunError(f"{key}: expected finite numbers")
    return M


def _vector(v, m, key):
    try:
        v = np.array(v, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise OptrunError(f"{key}: expected a list of numbers, got {v!r}") from None
    if v.size != m:
        raise OptrunError(f"{key}: expected {m} numbers (one per row), got {v.size}")
    if not np.all(np.isfinite(v)):
        raise OptrunError(f"{key}: expected finite numbers")
    return v


def _frozen(a):
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _box(lo, up, p):
    """``lower`` and ``upper`` as p-vectors (±inf = no bound); lower > upper is an empty set."""
    lower = _bounds(lo, p, "constraints.lower", -np.inf)
    upper = _bounds(up, p, "constraints.upper", np.inf)
    bad = np.flatnonzero(lower > upper)
    if bad.size:
        i = int(bad[0])
        raise OptrunError(
            f"constraints.upper: upper[{i}] = {upper[i]:g} is below lower[{i}] = {lower[i]:g} (empty feasible set)"
        )
    return lower, upper


def _norm(nm):
    """``norm: {ord: 1|2|inf, radius: r > 0}`` → (ord as 1.0, 2.0 or inf, r); (None, None) if absent."""
    if nm is None:
        return None, None
    if not isinstance(nm, dict):
        raise OptrunError(f"constraints.norm: expected {{ord: 1|2|inf, radius: r}}, got {nm!r}")
    extra = sorted(set(nm) - {"ord", "radius"})
    if extra:
        raise OptrunError(f"constraints.norm.{extra[0]}: unknown key; expected ord and radius")
    o = nm.get("ord", 2)
    if isinstance(o, float) and math.isinf(o) and o > 0:
        norm_ord = math.inf
    elif not isinstance(o, bool) and (isinstance(o, (int, str)) or isinstance(o, float)) and o in _ORDS:
        norm_ord = _ORDS[o]
    else:
        raise OptrunError(f"constraints.norm.ord: expected 1, 2 or inf, got {o!r}")
    if "radius" not in nm:
        raise OptrunError("constraints.norm.radius: missing; expected a number > 0")
    radius = _number(nm["radius"], "constraints.norm.radius")
    if radius <= 0:
        raise OptrunError(f"constraints.norm.radius: expected a number > 0, got {radius:g}")
    return norm_ord, radius


def _linear(spec, p, key, mat, vec):
    """``{mat: rows, vec: values}`` (equality A, b or inequality G, h) → (M, v); no rows if absent."""
    if spec is None:
        return np.zeros((0, p)), np.zeros(0)
    if not isinstance(spec, dict) or set(spec) != {mat, vec}:
        raise OptrunError(f"{key}: expected {{{mat}: [[...]], {vec}: [...]}}, got {spec!r}")
    M = _matrix(spec[mat], p, f"{key}.{mat}")
    return M, _vector(spec[vec], M.shape[0], f"{key}.{vec}")


def _check_consistent(A, b):
    """Rank test: A θ = b has a solution iff rank [A, b] = rank A (tolerances relative to ‖·‖₂)."""
    if not A.shape[0]:
        return
    tol = lambda M: max(M.shape) * np.finfo(float).eps * max(1.0, np.linalg.norm(M, 2))  # noqa: E731
    rA = np.linalg.matrix_rank(A, tol=tol(A))
    rAb = np.linalg.matrix_rank(np.hstack([A, b[:, None]]), tol=tol(np.hstack([A, b[:, None]])) * 1e3)
    if rAb > rA:
        raise OptrunError(
            f"constraints.equality: inconsistent equalities A θ = b (rank [A, b] = {rAb} > rank A = {rA}): no θ satisfies them"
        )


@dataclass(frozen=True, eq=False)
class ConstraintSet:
    """A validated feasible set over p parameters (see the module docstring for the convention).

    Build it with :meth:`from_config`. ``lower``/``upper`` have ±inf where there is no bound;
    ``norm_ord`` is None (no norm constraint), 1.0, 2.0 or inf; ``A, b`` (m × p) and ``G, h``
    (k × p) may have zero rows.
    """

    p: int
    intercept: bool
    lower: np.ndarray
    upper: np.ndarray
    norm_ord: float | None
    radius: float | None
    A: np.ndarray
    b: np.ndarray
    G: np.ndarray
    h: np.ndarray

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def from_config(cls, cfg: dict | None, p: int, intercept: bool) -> "ConstraintSet":
        """Parse and validate the ``constraints`` section for p parameters (last = intercept?).

        Raises ``OptrunError`` naming the key for: unknown keys, wrong shapes, non-finite numbers,
        radius ≤ 0, unknown ord, lower > upper, inconsistent equalities (rank test) and an empty
        feasible set (phase-1 LP; for ord 2 the smallest ‖w‖ over the linear constraints).
        """
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - set(KEYS))
        if unknown:
            raise OptrunError(f"constraints.{unknown[0]}: unknown key; expected one of: {', '.join(KEYS)}")
        p = int(p)
        lower, upper = _box(cfg.get("lower"), cfg.get("upper"), p)
        norm_ord, radius = _norm(cfg.get("norm"))
        A, b = _linear(cfg.get("equality"), p, "constraints.equality", "A", "b")
        _check_consistent(A, b)
        G, h = _linear(cfg.get("inequality"), p, "constraints.inequality", "G", "h")
        cs = cls(p, bool(intercept), _frozen(lower), _frozen(upper), norm_ord, radius, _frozen(A), _frozen(b), _frozen(G), _frozen(h))
        cs.check_feasible()
        return cs

    def check_feasible(self) -> None:
        """Raise ``OptrunError`` with the reason when the feasible set is empty (phase-1 LP)."""
        present = [k for k in ("lower", "upper", "norm", "equality", "inequality") if self.has(k)]
        E, e, C, d, n, _ = self.polyhedron(include_norm=self.norm_ord != 2.0)
        try:
            phase_one(E, e, C, d, n, where="constraints")
        except QPInfeasible as err:
            raise OptrunError(
                f"constraints: the feasible set is empty: {', '.join(present)} cannot all hold "
                f"({str(err).split(': ', 1)[-1]})"
            ) from None
        if self.norm_ord == 2.0:
            # Smallest ‖w‖ over the linear part: the ball meets it iff that is ≤ r.
            P = np.diag(self.weight_mask().astype(float))
            res = solve_qp(P, np.zeros(self.p), E, e, C, d, where="constraints")
            wmin = float(np.linalg.norm(res.x[self.weight_mask()]))
            if wmin > self.radius * (1 + 1e-12):
                raise OptrunError(
                    f"constraints.norm: the feasible set is empty: the linear constraints need ‖w‖₂ ≥ {wmin:.6g} > radius {self.radius:g}"
                )

    # ---- structure ---------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether the set has constraints of that kind."""
        if key == "lower":
            return bool(np.any(np.isfinite(self.lower)))
        if key == "upper":
            return bool(np.any(np.isfinite(self.upper)))
        if key == "norm":
            return self.norm_ord is not None
        if key == "equality":
            return self.A.shape[0] > 0
        if key == "inequality":
            return self.G.shape[0] > 0
        raise KeyError(key)

    @property
    def empty(self) -> bool:
        """True when there is no constraint at all."""
        return not any(self.has(k) for k in ("lower", "upper", "norm", "equality", "inequality"))

    @property
    def d(self) -> int:
        """Number of weights (parameters other than the intercept)."""
        return self.p - (1 if self.intercept else 0)

    def weight_mask(self) -> np.ndarray:
        """Boolean mask of the weights w inside θ (the intercept excluded)."""
        m = np.ones(self.p, dtype=bool)
        if self.intercept:
            m[-1] = False
        return m

    def labels(self) -> list[tuple[str, int]]:
        """The inequalities g in order, as (kind, index): ("lower", i), ("upper", i), ("norm", 0), ("inequality", k)."""
        out = [("lower", int(i)) for i in np.flatnonzero(np.isfinite(self.lower))]
        out += [("upper", int(i)) for i in np.flatnonzero(np.isfinite(self.upper))]
        if self.norm_ord is not None:
            out.append(("norm", 0))
        out += [("inequality", k) for k in range(self.G.shape[0])]
        return out

    # ---- g, h and their Jacobians --------------------------------------------------------------

    def norm_value(self, theta) -> float:
        """‖w‖_ord at θ (0 when there is no norm constraint)."""
        if self.norm_ord is None:
            return 0.0
        w = np.asarray(theta, float)[self.weight_mask()]
        return float(np.linalg.norm(w, self.norm_ord)) if w.size else 0.0

    def g(self, theta) -> np.ndarray:
        """All inequalities as g(θ) ≤ 0, in the order of :meth:`labels`."""
        theta = np.asarray(theta, dtype=np.float64)
        lo, up = np.isfinite(self.lower), np.isfinite(self.upper)
        parts = [self.lower[lo] - theta[lo], theta[up] - self.upper[up]]
        if self.norm_ord is not None:
            parts.append(np.array([self.norm_value(theta) - self.radius]))
        parts.append(self.G @ theta - self.h)
        return np.concatenate(parts)

    def norm_subgradient(self, theta, rest=None, mu=None) -> np.ndarray:
        """An element s of ∂‖w‖_ord at θ, as a p-vector (0 at the intercept).

        Differentiable points: ord 2 w/‖w‖, ord 1 sign(w), ord ∞ sign(w_j) e_j at the unique
        largest |w_j|. Elsewhere the choice is free; given ``rest`` (the rest of the stationarity
        vector ∇f + Σ other terms) and the multiplier ``mu`` > 0, the element that best cancels it
        is taken: ord 1 s_j = clip(−rest_j/μ, −1, 1) at w_j = 0 (|w_j| ≤ 1e-12 max(1, ‖w‖∞)); ord ∞ weights a_j ∝
        max(0, −sign(w_j) rest_j) over the ties (|w_j| within 1e-9 of the max); ord 2 at w = 0 the
        projection of −rest/μ on the unit ball. Without them: 0 at w_j = 0 (ord 1), the first
        tie (ord ∞), 0 (ord 2 at w = 0).
        """
        theta = np.asarray(theta, dtype=np.float64)
        mask = self.weight_mask()
        s = np.zeros(self.p)
        w = theta[mask]
        if self.norm_ord is None or w.size == 0:
            return s
        r = None if rest is None or not mu else -np.asarray(rest, float)[mask] / mu
        if self.norm_ord == 2.0:
            nw = np.linalg.norm(w)
            if nw > 0:
                s[mask] = w / nw
            elif r is not None:
                s[mask] = r / max(1.0, np.linalg.norm(r))
        elif self.norm_ord == 1.0:
            zero = np.abs(w) <= 1e-12 * max(1.0, float(np.max(np.abs(w))))  # zero up to rounding
            sw = np.where(zero, 0.0, np.sign(w))
            if r is not None:
                sw = np.where(zero, np.clip(r, -1, 1), sw)
            s[mask] = sw
        else:
            big = np.max(np.abs(w))
            ties = np.abs(w) >= big - 1e-9 * max(1.0, big)
            sw = np.sign(w)
            sv = np.zeros(w.size)
            if r is not None and big > 0:
                a = np.where(ties, np.maximum(0.0, sw * r), 0.0)
                if a.sum() > 0:
                    sv = sw * a / a.sum()
            if not sv.any():
                j = int(np.argmax(np.abs(w)))
                sv[j] = sw[j] if sw[j] != 0 else 1.0
            s[mask] = sv
        return s

    def jac_g(self, theta, rest=None, mu=None) -> np.ndarray:
        """Jacobian of g, shape (len(g), p); the norm row is a subgradient (see norm_subgradient)."""
        lo, up = np.flatnonzero(np.isfinite(self.lower)), np.flatnonzero(np.isfinite(self.upper))
        rows = [-np.eye(self.p)[lo], np.eye(self.p)[up]]
        if self.norm_ord is not None:
            rows.append(self.norm_subgradient(theta, rest, mu)[None, :])
        rows.append(np.asarray(self.G))
        return np.vstack(rows)

    def h_eq(self, theta) -> np.ndarray:
        """Equalities h(θ) = A θ − b."""
        return self.A @ np.asarray(theta, float) - self.b

    def jac_h(self, theta=None) -> np.ndarray:
        """Jacobian of h: the constant A."""
        return np.asarray(self.A)

    def infeasibility(self, theta) -> float:
        """Largest violation: max(0, max_i g_i(θ), max_j |h_j(θ)|)."""
        g = self.g(theta)
        h = self.h_eq(theta)
        return float(max(0.0, np.max(g, initial=0.0), np.max(np.abs(h), initial=0.0)))

    # ---- multipliers as the §9.3 dictionary ----------------------------------------------------

    def pack(self, lam, nu) -> dict:
        """Flat λ (order of :meth:`labels`) and ν → {lower, upper, norm, equality, inequality}.

        lower/upper: one entry per parameter (0 where there is no bound); norm: a float (None
        without a norm constraint); equality/inequality: one per row.
        """
        out = {"lower": [0.0] * self.p, "upper": [0.0] * self.p, "norm": None,
               "equality": [float(v) for v in np.asarray(nu, float)], "inequality": [0.0] * self.G.shape[0]}
        for (kind, i), v in zip(self.labels(), np.asarray(lam, float)):
            if kind == "norm":
                out["norm"] = float(v)
            else:
                out[kind][i] = float(v)
        return out

    def unpack(self, mult: dict) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`pack`: (λ in the order of :meth:`labels`, ν)."""
        lam = []
        for kind, i in self.labels():
            lam.append(float(mult["norm"] or 0.0) if kind == "norm" else float(mult[kind][i]))
        return np.array(lam), np.asarray(mult.get("equality", []) or np.zeros(0), float).reshape(-1)

    # ---- the polyhedral description for the QP solver ------------------------------------------

    def polyhedron(self, include_norm: bool = True):
        """(E, e, C, d, n, rows): the set as E x = e, C x ≤ d over x = [θ, s] (s only for ord 1).

        ``rows`` names each row of C: ("lower", i), ("upper", i), ("inequality", k), and for the
        norm ("norm+", j), ("norm-", j) (weight index j), ("norm", -1) (ord 1: Σ s ≤ r). ord 2 is
        never included (not polyhedral).
        """
        p, mask = self.p, self.weight_mask()
        widx = np.flatnonzero(mask)
        lift = include_norm and self.norm_ord == 1.0 and widx.size > 0
        n = p + (widx.size if lift else 0)
        I = np.eye(n)
        C, d, rows = [], [], []
        for i in np.flatnonzero(np.isfinite(self.lower)):
            C.append(-I[i]); d.append(-self.lower[i]); rows.append(("lower", int(i)))
        for i in np.flatnonzero(np.isfinite(self.upper)):
            C.append(I[i]); d.append(self.upper[i]); rows.append(("upper", int(i)))
        for k in range(self.G.shape[0]):
            C.append(np.r_[self.G[k], np.zeros(n - p)]); d.append(self.h[k]); rows.append(("inequality", k))
        if include_norm and self.norm_ord == math.inf:
            for j in widx:
                C.append(I[j]); d.append(self.radius); rows.append(("norm+", int(j)))
                C.append(-I[j]); d.append(self.radius); rows.append(("norm-", int(j)))
        if lift:
            for t, j in enumerate(widx):
                C.append(I[j] - I[p + t]); d.append(0.0); rows.append(("norm+", int(j)))
                C.append(-I[j] - I[p + t]); d.append(0.0); rows.append(("norm-", int(j)))
            C.append(np.r_[np.zeros(p), np.ones(widx.size)]); d.append(self.radius); rows.append(("norm", -1))
        E = np.hstack([self.A, np.zeros((self.A.shape[0], n - p))])
        C = np.array(C).reshape(-1, n)
        return E, np.asarray(self.b, float), C, np.array(d, dtype=float), n, rows
