"""Duality: primal f(θ_t), dual d(λ_t) ≤ p* (weak duality) and the gap per step; for one inequality
on a quadratic objective the dual function d(λ) over λ ≥ 0 with the run's multipliers λ_t on it
(recovered from the logged θ_t by the method's update λ ← max(0, λ + η g(θ)), checked against the
logged ``dual_value``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optrun.plots.lecture.constraints import constraint_set, g_rows, h_rows
from optrun.plots.lecture.objective import is_analytic, load_problem, title_of
from optrun.plots.model import ProblemData
from optrun.plots.rundata import Group, RunData

@dataclass
class DualRun:
    steps: np.ndarray
    primal: np.ndarray  # f(θ_t)
    dual: np.ndarray  # d(λ_t)
    gap: np.ndarray  # f(θ_t) − d(λ_t) (negative when θ_t is infeasible)
    label: str | None
    color: str


@dataclass
class DualFunction:
    """d(λ) over λ ≥ 0 for one inequality (or d(ν) over ν ∈ ℝ for one equality) on a quadratic
    objective, and the run's multipliers on it."""

    lam: np.ndarray
    d: np.ndarray
    lam_t: np.ndarray | None  # the run's multipliers (None when they cannot be recovered)
    d_t: np.ndarray | None
    lam_star: float | None
    constraint: str
    symbol: str = "λ"  # ν for an equality's multiplier
    domain: str = "λ ≥ 0"


@dataclass
class DualityData:
    runs: list[DualRun]
    p_star: float | None
    d_star: float | None
    title: str
    subtitle: str
    dual_function: DualFunction | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def multiplier(self) -> str:
        """The multiplier's letter in the figure's text: ν for one equality's dual function, else λ."""
        return self.dual_function.symbol if self.dual_function is not None else "λ"


def has_dual(run: RunData) -> bool:
    return "dual_value" in run.trace.columns and bool(np.isfinite(run.trace["dual_value"].to_numpy(float)).any())


def quadratic_model(run: RunData, problem: ProblemData | None):
    """(H, c, f0) with f(θ) = f0 + cᵀθ + ½θᵀHθ, when the objective is quadratic (a quadratic
    model, or least squares without l1), else None."""
    if problem is None:
        return None
    obj, X, y = problem.objective, problem.X, problem.y
    m = (run.config or {}).get("model") or {}
    if is_analytic(run) and m.get("name") != "quadratic":
        return None
    if not is_analytic(run) and (obj.model != "linear" or obj.loss not in ("mse", "half_mse") or obj.l1 > 0):
        return None
    zero = np.zeros(len(run.param_names))
    f0, c = obj.value_and_grad(zero, X, y)
    return np.asarray(obj.hessian(zero, X, y), float), np.asarray(c, float), float(f0)


def recover_multipliers(run: RunData, cs) -> tuple[np.ndarray, np.ndarray] | None:
    """(λ_t, ν_t) at each logged row, replaying the multiplier update of ``primal_dual`` and
    ``augmented_lagrangian``: λ_{t} = max(0, λ_{t−1} + η g(θ_t)), ν_t = ν_{t−1} + η h(θ_t), λ_0 = 0,
    η = ``dual_lr`` (``rho`` for the augmented Lagrangian). Needs every step logged (else None)."""
    ccfg = (run.config or {}).get("constraints") or {}
    method = ccfg.get("method")
    if method not in ("primal_dual", "augmented_lagrangian"):
        return None
    steps = run.trace["step"].to_numpy(float)
    if len(steps) > 1 and not np.all(np.diff(steps) == 1):
        return None
    eta = float(ccfg.get("rho" if method == "augmented_lagrangian" else "dual_lr") or 0.0)
    G, Hq = g_rows(cs, run.params), h_rows(cs, run.params)
    lam, nu = np.zeros((len(steps), G.shape[1])), np.zeros((len(steps), Hq.shape[1]))
    for t in range(1, len(steps)):
        lam[t] = np.maximum(0.0, lam[t - 1] + eta * G[t])
        nu[t] = nu[t - 1] + eta * Hq[t]
    return lam, nu


def duality_data(groups: list[Group], problem: ProblemData | None = None) -> DualityData | str:
    """Primal, dual and gap per step for the runs with a ``dual_value`` column; the dual function
    when the first run has one inequality (and no equality), or one equality alone, on a quadratic
    objective."""
    runs = [(g, r) for g in groups for r in g.runs if has_dual(r)]
    if not runs:
        return "no dual_value in the trace (primal_dual or augmented_lagrangian on a quadratic objective)"
    out = []
    seen = set()
    for g, r in runs:
        t = r.trace
        out.append(DualRun(t["step"].to_numpy(float), t["loss"].to_numpy(float), t["dual_value"].to_numpy(float),
                           t["duality_gap"].to_numpy(float), g.label if id(g) not in seen else None, g.color))
        seen.add(id(g))
    first = runs[0][1]
    title, sub = title_of(groups)
    data = DualityData(out, first.f_star, first.summary.get("dual_optimum"), title, sub)
    if problem is None:
        problem, _ = load_problem(first)
    data.dual_function = dual_function(first, problem)
    m = data.multiplier
    neg = sum(int(np.sum(d.gap < 0)) for d in out)
    if neg:
        data.notes.append(f"f(θ_t) − d({m}_t) < 0 at {neg} row(s): those θ_t are infeasible (f(θ_t) < p* is possible "
                          f"there); weak duality d({m}) ≤ p* holds at every row")
    return data


def dual_function(run: RunData, problem: ProblemData | None, grid: int = 301) -> DualFunction | None:
    """d(λ) of one inequality, or d(ν) of one equality, on a quadratic objective
    (:func:`optrun.constraints.dual_quadratic`)."""
    cs = constraint_set(run)
    q = quadratic_model(run, problem)
    if cs is None or q is None:
        return None
    if not cs.labels() and cs.A.shape[0] == 1:
        return _equality_dual_function(run, cs, q, grid)
    if len(cs.labels()) != 1 or cs.A.shape[0] or cs.norm_ord == 2.0:
        return None
    from optrun.constraints import dual_quadratic

    H, c, f0 = q

    def d_of(v: float) -> float:
        return dual_quadratic(cs, H, c, f0, (np.array([v]), np.zeros(0)))

    lam_t, d_t = _replayed(run, cs, 0, d_of)
    mult = (run.summary.get("multipliers") or {})
    lam_star = None
    for kind, i in cs.labels():
        v = mult.get(kind)
        if isinstance(v, list) and i < len(v):
            lam_star = float(v[i])
        elif isinstance(v, (int, float)):
            lam_star = float(v)
    hi = max([1.0] + [2.0 * lam_star] * (lam_star is not None) + ([1.1 * float(np.nanmax(lam_t))] if lam_t is not None else []))
    lam = np.linspace(0.0, hi, grid)
    d = np.array([d_of(v) for v in lam], float)
    kind, i = cs.labels()[0]
    return DualFunction(lam, d, lam_t, d_t, lam_star, f"{kind}[{i}]" if kind != "norm" else "norm")


def _equality_dual_function(run: RunData, cs, q, grid: int) -> DualFunction:
    """d(ν) = inf_θ L(θ, ν) over ν ∈ ℝ (an equality's multiplier has no sign), centred on ν*;
    on the lecture's example (min x₁² + x₂² s.t. x₁ + x₂ = 2) d(ν) = −ν²/2 − 2ν, largest at
    ν* = −2 with d* = 2 = p* (strong duality)."""
    from optrun.constraints import dual_quadratic

    H, c, f0 = q

    def d_of(v: float) -> float:
        return dual_quadratic(cs, H, c, f0, (np.zeros(0), np.array([v])))

    nu_t, d_t = _replayed(run, cs, 1, d_of)
    eq = (run.summary.get("multipliers") or {}).get("equality")
    nu_star = float(eq[0]) if isinstance(eq, list) and eq else None
    centre = nu_star if nu_star is not None else 0.0
    half = max([1.0, 2.0 * abs(centre)] + ([1.1 * float(np.nanmax(np.abs(nu_t - centre)))] if nu_t is not None else []))
    nu = np.linspace(centre - half, centre + half, grid)
    d = np.array([d_of(v) for v in nu], float)
    return DualFunction(nu, d, nu_t, d_t, nu_star, "equality[0]", symbol="ν", domain="ν (any sign: an equality)")


def _replayed(run: RunData, cs, which: int, d_of) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The run's replayed multipliers of its one constraint (``which``: 0 the inequality's λ_t,
    1 the equality's ν_t; :func:`recover_multipliers`) and its logged dual values, or (None,
    None) when they cannot be replayed or do not give the logged d (then the update differs)."""
    rec = recover_multipliers(run, cs)
    if rec is None:
        return None, None
    m_t, d_t = rec[which][:, 0], run.trace["dual_value"].to_numpy(float)
    back = np.array([d_of(v) for v in m_t])
    if not np.allclose(back, d_t, rtol=1e-7, atol=1e-9 * max(1.0, float(np.nanmax(np.abs(d_t))))):
        return None, None
    return m_t, d_t
