"""From a resolved config to a ready-to-train :class:`Problem`.

Everything that can fail because of the user's input (data, semantic rules that need the data,
the reference optimum) happens here, *before* a run folder exists, so a bad config never
leaves anything on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from optrun.errors import OptrunError

if TYPE_CHECKING:  # the real modules are imported where they are used (see prepare)
    from optrun.data import Dataset
    from optrun.models import Objective
    from optrun.optim import Optimizer
    from optrun.reference import Reference


@dataclass
class Problem:
    """Everything a run needs, typed: the engine reads these fields and nothing else.

    ``config`` is the resolved config the problem was built from (recorded in the summary; the
    engine does not read it). ``tol`` and ``divergence_factor`` are ``train.tol`` and
    ``train.divergence_factor`` (the defaults are the config's).
    """

    config: dict
    data: Dataset
    objective: Objective
    reference: Reference | None
    theta0: np.ndarray
    param_names: list[str]
    optimizer: Optimizer
    schedule: Callable[[int], float]
    batch_size: int
    shuffle: bool
    total_steps: int
    log_every: int
    shuffle_rng: np.random.Generator
    tol: float = 0.0
    divergence_factor: float = 1e10
    # 0.2: what acts around the optimizer's update (optrun.hooks), the objective the optimizer
    # steps on (the smooth part for proximal methods), the prox of the l1 term, L of the smooth
    # part (ISTA/FISTA's default step 1/L), and the exact constrained / l1 optimum when there is one
    hooks: tuple = ()
    step_objective: Any = None
    step_value_and_grad: Callable | None = None  # (F with its l1 term, gradient of the smooth part)
    prox: Callable | None = None
    lipschitz: float | None = None
    constraint_set: Any = None
    constrained: Any = None  # optrun.constraints.ConstrainedReference
    sparse: Any = None  # optrun.sparse.SparseReference
    # logging and stopping rules beside the budget (train.log_every: geometric, train.target,
    # patience, time_budget): see engine.StopRules
    log_at: frozenset | None = None
    stop_rules: Any = None
    engine: str = "numpy"  # the engine that runs it: numpy | compiled (optrun.compiled.choose)

    def __post_init__(self):
        if self.step_objective is None:
            self.step_objective = self.objective


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

    loss = config["loss"]
    return models.Objective(
        model=config["model"]["name"], loss=loss["name"],
        fit_intercept=config["model"]["fit_intercept"], l2=loss["l2"], l1=loss["l1"],
        sigma=loss.get("sigma"), reduction=loss.get("reduction", "mean"),
    )


def initial_theta(model_cfg: dict, param_names: list[str], rng: np.random.Generator, dtype) -> np.ndarray:
    """``theta_0`` of ``model.init``: zeros, ``init_scale * N(0, 1)`` (from the init stream), or
    the listed values (one per parameter, finite)."""
    p = len(param_names)
    init = model_cfg["init"]
    if isinstance(init, list):
        if len(init) != p:
            raise OptrunError(f"model.init: expected {p} values ({', '.join(param_names)}), got {len(init)}",
                              key="model.init")
        theta0 = np.asarray(init, dtype=dtype)
        if not np.all(np.isfinite(theta0)):
            raise OptrunError("model.init: values must be finite numbers", key="model.init")
        return theta0
    if init == "normal":
        return (rng.standard_normal(p) * model_cfg["init_scale"]).astype(dtype)
    return np.zeros(p, dtype=dtype)


def batching(batch_cfg: dict, train_cfg: dict, n: int) -> tuple[int, bool, int]:
    """``(batch_size, shuffle, total_steps)`` for ``n`` training rows.

    Full batch uses all n rows in file order; an epoch is ``ceil(n / batch_size)`` steps, and an
    ``epochs`` budget is rounded up to whole steps (at least one).
    """
    mode = batch_cfg["mode"]
    size = n if mode == "full" else batch_cfg["size"]
    if size > n:
        raise OptrunError(f"batch.size: {size} is larger than the {n} training rows", key="batch.size")
    shuffle = batch_cfg["shuffle"] and mode != "full"
    if train_cfg["steps"] is not None:
        total = int(train_cfg["steps"])
    else:
        total = max(1, math.ceil(train_cfg["epochs"] * math.ceil(n / size) - 1e-9))
    return size, shuffle, total


def prepare(config: dict) -> Problem:
    """The :class:`Problem` of a resolved config: data, objective, reference optimum, theta_0,
    optimizer, schedule, batching, logging cadence and stop rules. Every user error is an
    OptrunError (with ``key`` where it is about one config key)."""
    from optrun import compiled, optim, reference
    from optrun.config.keys import ANALYTIC_MODELS
    from optrun.reference.cache import cached_reference

    rngs = streams(config["seed"])
    mcfg, tcfg = config["model"], config["train"]
    if mcfg["name"] in ANALYTIC_MODELS:
        ds, objective, fn = _no_data_problem(mcfg)
        param_names = [f"x{i + 1}" for i in range(fn.n_params)]
    else:
        ds = load_data(config, rngs)
        objective, fn = make_objective(config), None
        param_names = [f"w_{f}" for f in ds.feature_names] + (["b"] if mcfg["fit_intercept"] else [])
        if not param_names:
            # features: [] is the intercept-only model; without the intercept nothing is left to fit
            raise OptrunError("model.fit_intercept: false with no features (dataset.features: []) leaves no "
                              "parameter to fit; keep the intercept or name a feature", key="model.fit_intercept")
    n = ds.X.shape[0]
    theta0 = initial_theta(mcfg, param_names, rngs["init"], np.dtype(tcfg["dtype"]))
    size, shuffle, total = batching(config["batch"], tcfg, n)
    optimizer = optim.create(config["optimizer"]["name"], **{
        k: v for k, v in config["optimizer"].items() if k not in ("name", "schedule")
    })
    schedule = _schedule(config, total)
    log_every, log_at = tcfg["log_every"], None
    if log_every == "geometric":
        log_every, log_at = 1, geometric_steps(total)
    elif log_every == "auto":
        log_every = auto_log_every(n, size, max(total, 1), full=config["batch"]["mode"] == "full")

    X64, y64 = ds.X.astype(np.float64, copy=False), ds.y.astype(np.float64, copy=False)
    # the reference is cached by data hash (optrun/reference/cache.py; OPTRUN_REFERENCE_CACHE=off disables it)
    ref = reference.analytic_reference(fn) if fn is not None else cached_reference(objective, X64, y64)
    if theta0.dtype == np.float32:  # theta*, f* stay float64; the reachable floor is float32's
        ref = reference.for_float32(ref)
    problem = Problem(
        config=config, data=ds, objective=objective, reference=ref, theta0=theta0,
        param_names=param_names, optimizer=optimizer, schedule=schedule, batch_size=size,
        shuffle=shuffle, total_steps=total, log_every=int(log_every), shuffle_rng=rngs["shuffle"],
        tol=float(tcfg["tol"]), divergence_factor=float(tcfg["divergence_factor"]), log_at=log_at,
    )
    _add_l1(problem, X64, y64)
    _add_constraints(problem, config, fn, X64, y64)
    _add_optimizer_needs(problem, X64)
    if tcfg["log_every"] == "auto" and problem.hooks:
        # a row of a constrained or l1 run also costs a KKT fit or a duality gap (~1 ms): at most
        # HOOK_ROWS rows, so the certificate never costs more than the training
        problem.log_every = max(problem.log_every, math.ceil(total / HOOK_ROWS))
    problem.stop_rules = stop_rules(tcfg, problem.reference.f_star, n, size, config["batch"]["mode"] == "full")
    problem.engine = compiled.choose(problem, tcfg.get("engine", "auto"))
    return problem


HOOK_ROWS = 2_000


def geometric_steps(total: int, start: int = 10, ratio: float = 1.1) -> frozenset:
    """``train.log_every: geometric``: every step up to ``start``, then steps ~10% apart (about
    24 rows per decade), and the last step: long runs keep detail where curves bend, small files."""
    steps, k = set(range(1, min(start, total) + 1)), float(start)
    while k < total:
        k *= ratio
        steps.add(min(total, math.ceil(k)))
    steps.add(total)
    return frozenset(steps)


def stop_rules(tcfg: dict, f_star: float | None, n: int, batch_size: int, full: bool):
    """The stopping rules beside the budget and the gradient tolerance, or None without any."""
    from optrun.stopping import StopRules

    if tcfg.get("target") is None and tcfg.get("patience") is None and tcfg.get("time_budget") is None:
        return None
    if tcfg.get("target") is not None and f_star is None:
        raise OptrunError("train.target: needs the exact optimum f*, which this problem does not have "
                          "(see summary diagnostics.note)", key="train.target")
    # the target is checked at a resolution that does not depend on the budget: every step in
    # full batch, else 8 times per epoch (a logged row is added where it is first met)
    check_every = 1 if full else max(1, math.ceil(n / batch_size / 8))
    return StopRules(target=tcfg.get("target"), relative=bool(tcfg.get("target_relative")), f_star=f_star,
                     check_every=check_every, patience=tcfg.get("patience"),
                     min_progress=float(tcfg.get("min_progress", 1e-4)), time_budget=tcfg.get("time_budget"))


def _schedule(config: dict, total: int):
    from optrun.optim import schedules

    # train.steps: 0 evaluates without training: the schedule is never called
    return schedules.make_schedule(config["optimizer"]["schedule"], max(total, 1))


def _no_data_problem(mcfg: dict):
    """(placeholder data, objective, function) of a model without data: one empty row, so the
    engine's batch machinery runs unchanged (every batch is the full "data")."""
    from optrun import analytic
    from optrun.data import Dataset

    if mcfg["name"] == "quadratic":
        fn = analytic.quadratic(mcfg["A"], mcfg["b"], mcfg["c"])
    else:
        fn = analytic.make_function(mcfg["function"], mcfg["function_params"])
    ds = Dataset(X=np.zeros((1, 0)), y=np.zeros(1), feature_names=[], target_name="",
                 source=f"{mcfg['name']} {mcfg.get('function') or ''}".strip())
    return ds, analytic.AnalyticObjective(fn), fn


def _add_l1(problem: Problem, X: np.ndarray, y: np.ndarray) -> None:
    """An l1 penalty: the exact optimum (certified by a duality gap), the smooth part and prox for
    proximal methods, and the trace's duality_gap / nnz columns."""
    obj = problem.objective
    if getattr(obj, "l1", 0.0) <= 0:
        return
    from dataclasses import replace
    from functools import partial

    from optrun import sparse
    from optrun.hooks import L1Certificate

    sref = sparse.solve(obj, X, y)
    problem.sparse = sref
    note = (f"l1 penalty: exact optimum by coordinate descent / proximal Newton, certified by a "
            f"duality gap of {sref.gap:.2g}; {len(sref.support)} nonzero weights; l1_max = {sref.l1_max:.6g}")
    problem.reference = replace(problem.reference, theta_star=sref.theta_star, f_star=sref.f_star, status="exact",
                                note=note, extra={**problem.reference.extra, "duality_gap": sref.gap})
    problem.prox = partial(_prox, obj)
    mask = np.ones(len(problem.param_names), dtype=bool)
    if obj.fit_intercept:
        mask[-1] = False
    problem.hooks = problem.hooks + (L1Certificate(obj, X, y, mask),)


def _prox(obj, v, step):
    from optrun.sparse import prox_l1

    return prox_l1(obj, v, step)


def _quadratic_model(problem: Problem, fn) -> tuple | None:
    """f(θ) = f0 + cᵀθ + ½θᵀHθ when the objective is quadratic (for the closed-form dual)."""
    obj = problem.objective
    if fn is not None:
        if fn.name != "quadratic":
            return None
        p = len(problem.param_names)
        H = np.asarray(fn.hessian(np.zeros(p)))
        return H, np.asarray(fn.grad(np.zeros(p))), float(fn.value(np.zeros(p)))
    if obj.model != "linear" or obj.loss == "gaussian_nll" or obj.l1 > 0:
        return None
    X, y = problem.data.X.astype(np.float64), problem.data.y.astype(np.float64)
    zero = np.zeros(len(problem.param_names))
    f0, c = obj.value_and_grad(zero, X, y)
    return np.asarray(obj.hessian(zero, X, y)), np.asarray(c), float(f0)


def _add_constraints(problem: Problem, config: dict, fn, X: np.ndarray, y: np.ndarray) -> None:
    """A constraints section: the set, the exact constrained optimum (θ*, f*, multipliers, KKT),
    and the method's hook (projection, primal-dual or augmented Lagrangian)."""
    ccfg = config.get("constraints")
    if not ccfg:
        return
    from dataclasses import replace

    from optrun.constraints import ConstraintSet, QuadraticObjective, solve_constrained
    from optrun.hooks import constraint_hook

    sets = {k: v for k, v in ccfg.items() if k not in ("method", "dual_lr", "rho")}
    p = len(problem.param_names)
    cs = ConstraintSet.from_config(sets, p, bool(config["model"]["fit_intercept"]) and fn is None)
    problem.constraint_set = cs
    quadratic = _quadratic_model(problem, fn)
    solvable = fn is None or fn.name == "quadratic"
    if solvable:
        # a quadratic objective is f0 + cᵀθ + ½θᵀHθ = QuadraticObjective(A=H, b=c, c=f0)
        target = QuadraticObjective(*quadratic) if fn is not None else problem.objective
        cref = solve_constrained(target, X, y, cs)
        problem.constrained = cref
        problem.reference = replace(problem.reference, theta_star=cref.theta_star, f_star=cref.f_star,
                                    status="exact", note=f"constrained optimum ({cref.method}); "
                                    f"KKT residuals <= {max(cref.kkt.values()):.1g}")
    else:
        problem.reference = replace(problem.reference, theta_star=None, f_star=None, status="unavailable",
                                    note=f"no exact constrained optimum for function {fn.name}")
    hook = constraint_hook(cs, ccfg["method"], quadratic, ccfg["dual_lr"], ccfg["rho"])
    problem.hooks = problem.hooks + (hook,)


def _add_optimizer_needs(problem: Problem, X: np.ndarray) -> None:
    """What the optimizer asks the engine for: the smooth part (proximal methods step on it and
    handle l1 through the prox) and L of the smooth part (ISTA/FISTA's default step 1/L; for
    logistic regression the bound ‖[X, 1]‖₂² / (4n), DESIGN.md §9.7)."""
    from functools import partial

    opt, obj = problem.optimizer, problem.objective
    if "prox" in opt.needs and getattr(obj, "l1", 0.0) > 0:
        from optrun import sparse  # only for an l1 penalty (a proximal method steps on the smooth part)

        problem.step_objective = sparse.smooth_part(obj)
        # the closure and the batch loss report F (with l1: FISTA's function restart compares F),
        # the gradient is the smooth part's (the l1 term is the prox's)
        problem.step_value_and_grad = partial(_split_value_and_grad, problem.step_objective, obj)
    if "prox" in opt.needs and problem.prox is None:
        problem.prox = _identity_prox
    if "lipschitz" in opt.needs:
        problem.lipschitz = _smooth_lipschitz(problem, X)


def _split_value_and_grad(smooth, obj, theta, X, y):
    value, grad = smooth.value_and_grad(theta, X, y)
    w = theta[:-1] if obj.fit_intercept else theta
    return value + obj.l1 * float(np.abs(w).sum()), grad


def _identity_prox(v, step):
    return np.array(v, dtype=np.float64)


def _smooth_lipschitz(problem: Problem, X: np.ndarray) -> float:
    obj, ref = problem.objective, problem.reference
    if getattr(obj, "model", "") == "logistic":
        Xt = np.column_stack([X, np.ones(len(X))]) if obj.fit_intercept else X
        n = len(X)
        return float(np.linalg.norm(Xt, 2) ** 2 / 4.0 * obj.data_weight(n) + obj.l2)
    return float(ref.lipschitz)
