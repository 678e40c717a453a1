"""Generate the golden optimizer trajectories with torch.optim (run once; the tests never need torch).

    pip install torch==2.13.0          # exactly this version: the golden files pin its semantics
    python tests/golden/make_golden.py

Writes, next to this file:

* ``data/regression.csv`` (24 x 2 features + y) and ``data/classification.csv`` (24 x 2, binary,
  label noise so that the logistic MLE exists): tiny deterministic datasets, rounded to 3
  decimals so the CSV text is the data;
* ``traces/<run id>.csv``: ``step, loss, w1, w2, b`` with row 0 = the initial parameters and row
  t = the parameters after t optimizer steps and the FULL-data loss at them;
* ``manifest.json``: one entry per run (optrun optimizer name + hyperparameters, the torch call,
  model, loss, batch size, steps, init, schedule), so the replay test is table-driven.

Conventions (shared/OPTIMIZERS.md §1, §4): float64 everywhere (``set_default_dtype`` as well, else
NAdam's mu_product is float32); batch-mean losses; parameters w (2,) and b (1,) in one param
group (so weight decay reaches the bias); mini-batches in file order, cycling: step t uses rows
[j*bs, (j+1)*bs) with j = (t-1) mod (n/bs); LR schedulers step after the optimizer (step 1 uses
the base lr). Newton is not in torch.optim: its golden runs use torch autograd for the gradient and
Hessian and ``torch.linalg.solve`` for the step (an independent oracle for optrun's Cholesky).

The 0.2 additions: ``LBFGS`` runs call ``opt.step(closure)`` once per step with a closure on that
step's batch (one optrun step = one torch step); ``Adafactor`` runs train ONE parameter tensor
theta = [w1, w2, b] (optrun's convention: theta is one vector, so Adafactor's RMS(theta) and
update clipping are taken over all of it); ``ASGD`` runs also record torch's averaged iterate
``state["ax"]`` in the extra columns ``ax_w1, ax_w2, ax_b`` (listed in the run's
``extra_columns``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TRACES = HERE / "traces"
STEPS = 40
N = 24

# --------------------------------------------------------------------------------------------
# Datasets (numpy only, deterministic)


def make_regression() -> np.ndarray:
    rng = np.random.default_rng(20240601)
    x1 = rng.normal(size=N)
    x2 = 0.5 * x1 + rng.normal(size=N)  # mildly correlated features: a tilted valley
    y = 1.5 * x1 - 2.0 * x2 + 0.5 + 0.3 * rng.normal(size=N)
    return np.round(np.column_stack([x1, x2, y]), 3)


def _separable(X: np.ndarray, y: np.ndarray) -> bool:
    """Is there (w, b) with s_i (w·x_i + b) >= 1 for all i (s = ±1)? An LP feasibility check."""
    from scipy.optimize import linprog

    s = 2 * y - 1
    A = -s[:, None] * np.column_stack([X, np.ones(len(y))])
    res = linprog(np.zeros(3), A_ub=A, b_ub=-np.ones(len(y)), bounds=[(None, None)] * 3)
    return res.status == 0


def make_classification() -> np.ndarray:
    for seed in range(1000, 2000):
        rng = np.random.default_rng(seed)
        X = np.round(rng.normal(size=(N, 2)), 3)
        p = 1.0 / (1.0 + np.exp(-(2.0 * X[:, 0] - 1.5 * X[:, 1] + 0.25)))
        y = (rng.uniform(size=N) < p).astype(float)
        if 9 <= y.sum() <= 15 and not _separable(X, y):  # balanced, and the MLE exists
            return np.column_stack([X, y])
    raise RuntimeError("no non-separable dataset found")


def write_data() -> None:
    DATA.mkdir(exist_ok=True)
    for name, arr in (("regression", make_regression()), ("classification", make_classification())):
        np.savetxt(DATA / f"{name}.csv", arr, delimiter=",", header="x1,x2,y", comments="",
                   fmt="%.3f")


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.loadtxt(DATA / f"{name}.csv", delimiter=",", skiprows=1)
    return arr[:, :2], arr[:, 2]


# --------------------------------------------------------------------------------------------
# The runs


# optrun name -> (torch class, preset kwargs). Only the hyperparameters a run sets explicitly are
# passed to both sides, so the golden files also check that optrun's defaults are torch's.
TORCH = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nag": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "adadelta": ("Adadelta", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "amsgrad": ("Adam", {"amsgrad": True}),
    "adamax": ("Adamax", {}),
    "nadam": ("NAdam", {}),
    "asgd": ("ASGD", {}),
    "rprop": ("Rprop", {}),
    "adafactor": ("Adafactor", {}),
    "radam": ("RAdam", {}),
    "lbfgs": ("LBFGS", {}),
}
SINGLE_TENSOR = {"adafactor"}
# L-BFGS on changing mini-batches is chaotic at its defaults (20 inner iterations per batch, a
# history mixing batches): rounding differences of 1e-16 between torch and NumPy grow past
# rtol = 1e-10 within 40 steps. Its mini-batch / stochastic runs are the tuned ones in V2 (few
# inner iterations), each checked to stay within 1e-12 of torch when it was chosen.
FULL_ONLY = {"lbfgs"}  # trained as one tensor theta (see the module docstring)
AX_COLUMNS = ["ax_w1", "ax_w2", "ax_b"]

# Base lr per optimizer and model: large enough to move in 40 steps, small enough not to diverge
# with bs = 1 (the stochastic runs use half of it).
BASE_LR = {
    "sgd": (0.1, 1.0), "momentum": (0.03, 0.3), "nag": (0.03, 0.3),
    "adagrad": (0.3, 0.3), "adadelta": (1.0, 1.0), "rmsprop": (0.01, 0.02),
    "adam": (0.05, 0.1), "adamw": (0.05, 0.1), "amsgrad": (0.05, 0.1),
    "adamax": (0.05, 0.1), "nadam": (0.05, 0.1),
    "asgd": (0.1, 1.0), "rprop": (0.05, 0.05), "adafactor": (0.5, 0.5), "radam": (0.05, 0.1),
    "lbfgs": (0.5, 0.5),
}
# Adafactor's step is relative to RMS(theta) (floor eps2 = 1e-3): from theta = 0 it would barely
# move in 40 steps, so its runs start away from 0.
INIT = {"adafactor": (0.5, -0.3, 0.2)}

MODES = {"full": N, "minibatch": 8, "stochastic": 1}
MODEL = {"linear": ("regression", "half_mse"), "logistic": ("classification", "bce")}


def run(rid, optimizer, hp, model="linear", mode="full", loss=None, init=None,
        schedule=None, torch_scheduler=None):
    dataset, default_loss = MODEL[model]
    init = INIT.get(optimizer, (0.0, 0.0, 0.0)) if init is None else init
    out = {
        "id": rid, "optimizer": optimizer, "hyperparams": hp, "model": model,
        "loss": loss or default_loss, "dataset": dataset, "batch_size": MODES[mode],
        "steps": STEPS, "init": list(init), "schedule": schedule,
        "torch_scheduler": torch_scheduler,
    }
    if optimizer == "asgd":
        out["extra_columns"] = AX_COLUMNS
    return out


def runs() -> list[dict]:
    out = []
    # Every torch optimizer x both models x full / mini-batch / stochastic, mostly defaults.
    for name in TORCH:
        for mi, model in enumerate(MODEL):
            for mode in MODES:
                if name in FULL_ONLY and mode != "full":
                    continue
                lr = BASE_LR[name][mi] * (0.5 if mode == "stochastic" else 1.0)
                out.append(run(f"{name}_{model}_{mode}", name, {"lr": lr}, model, mode))
    # Loss scale: plain MSE doubles the gradient (SGD sees it; Adam/Adagrad nearly don't).
    for name, lr in (("sgd", 0.05), ("adam", 0.05), ("adagrad", 0.3)):
        out.append(run(f"{name}_linear_full_mse", name, {"lr": lr}, loss="mse"))
    V = [  # (id, optimizer, hyperparams, model, mode)
        # SGD family: dampening (first buffer NOT dampened), Nesterov, coupled weight decay.
        ("sgd_dampening", "sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}, "linear", "minibatch"),
        ("momentum_dampening", "momentum", {"lr": 0.3, "dampening": 0.3}, "logistic", "full"),
        ("sgd_nesterov", "sgd", {"lr": 0.3, "momentum": 0.5, "nesterov": True}, "logistic", "minibatch"),
        ("sgd_wd", "sgd", {"lr": 0.1, "weight_decay": 0.1}, "linear", "full"),
        ("momentum_wd", "momentum", {"lr": 0.03, "weight_decay": 0.1}, "linear", "stochastic"),
        ("nag_wd_mu05", "nag", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.05}, "linear", "full"),
        # Adagrad: eps placement (large eps), lr_decay uses (t-1), initial accumulator, decay.
        ("adagrad_eps", "adagrad", {"lr": 0.3, "eps": 0.01}, "linear", "full"),
        ("adagrad_eps_logistic", "adagrad", {"lr": 0.3, "eps": 0.01}, "logistic", "stochastic"),
        ("adagrad_lr_decay", "adagrad", {"lr": 0.5, "lr_decay": 0.1}, "linear", "minibatch"),
        ("adagrad_init_acc", "adagrad", {"lr": 0.3, "initial_accumulator_value": 0.5}, "logistic", "full"),
        ("adagrad_wd", "adagrad", {"lr": 0.3, "weight_decay": 0.1}, "linear", "full"),
        # Adadelta: lr != 1 (accumulator stores the unscaled delta), large eps, rho, decay.
        ("adadelta_lr10", "adadelta", {"lr": 10.0}, "linear", "full"),
        ("adadelta_lr10_logistic", "adadelta", {"lr": 10.0}, "logistic", "minibatch"),
        ("adadelta_eps", "adadelta", {"lr": 1.0, "eps": 0.01, "rho": 0.5}, "linear", "full"),
        ("adadelta_wd", "adadelta", {"lr": 5.0, "weight_decay": 0.1}, "logistic", "full"),
        # RMSprop: eps outside the sqrt, centered, momentum (normalised buffer), alpha, decay.
        ("rmsprop_eps", "rmsprop", {"lr": 0.01, "eps": 0.01}, "linear", "full"),
        ("rmsprop_centered", "rmsprop", {"lr": 0.01, "centered": True}, "linear", "full"),
        ("rmsprop_centered_logistic", "rmsprop", {"lr": 0.02, "centered": True, "eps": 0.01}, "logistic", "minibatch"),
        ("rmsprop_momentum", "rmsprop", {"lr": 0.005, "momentum": 0.5}, "linear", "minibatch"),
        ("rmsprop_centered_momentum", "rmsprop", {"lr": 0.005, "momentum": 0.5, "centered": True}, "logistic", "full"),
        ("rmsprop_alpha_wd", "rmsprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1}, "linear", "full"),
        # Adam family: large eps, coupled vs decoupled decay, amsgrad via the flag and presets
        # (a small beta2 lets v shrink, so the running max actually binds within 40 steps).
        ("adam_eps", "adam", {"lr": 0.05, "eps": 0.01}, "linear", "full"),
        ("adam_eps_logistic", "adam", {"lr": 0.1, "eps": 0.01}, "logistic", "minibatch"),
        ("adam_betas", "adam", {"lr": 0.05, "betas": [0.8, 0.9]}, "linear", "stochastic"),
        ("adam_wd", "adam", {"lr": 0.05, "weight_decay": 0.1}, "linear", "full"),
        ("adam_decoupled", "adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, "logistic", "full"),
        ("adam_amsgrad_flag", "adam", {"lr": 0.05, "amsgrad": True, "betas": [0.9, 0.8]}, "linear", "stochastic"),
        ("amsgrad_eps", "amsgrad", {"lr": 0.05, "eps": 0.01, "betas": [0.9, 0.9]}, "linear", "minibatch"),
        ("amsgrad_eps_logistic", "amsgrad", {"lr": 0.1, "eps": 0.01, "betas": [0.9, 0.95]}, "logistic", "stochastic"),
        ("amsgrad_beta2_full", "amsgrad", {"lr": 0.05, "betas": [0.5, 0.9]}, "linear", "full"),
        ("adamw_wd", "adamw", {"lr": 0.05, "weight_decay": 0.1}, "linear", "full"),
        ("adamw_amsgrad", "adamw", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "betas": [0.9, 0.9]}, "linear", "stochastic"),
        ("adamw_eps_logistic", "adamw", {"lr": 0.1, "weight_decay": 0.2, "eps": 0.01}, "logistic", "minibatch"),
        ("adamax_eps", "adamax", {"lr": 0.05, "eps": 0.01}, "linear", "full"),
        ("adamax_eps_logistic", "adamax", {"lr": 0.1, "eps": 0.01}, "logistic", "stochastic"),
        ("adamax_wd", "adamax", {"lr": 0.05, "weight_decay": 0.1, "betas": [0.8, 0.95]}, "linear", "minibatch"),
        ("nadam_eps", "nadam", {"lr": 0.05, "eps": 0.01}, "linear", "full"),
        ("nadam_eps_logistic", "nadam", {"lr": 0.1, "eps": 0.01}, "logistic", "minibatch"),
        ("nadam_wd", "nadam", {"lr": 0.05, "weight_decay": 0.1}, "linear", "full"),
        ("nadam_decoupled", "nadam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, "linear", "stochastic"),
        ("nadam_momentum_decay", "nadam", {"lr": 0.05, "momentum_decay": 0.05}, "logistic", "full"),
    ]
    out += [run(rid, o, hp, model, mode) for rid, o, hp, model, mode in V]
    # A non-zero start.
    out.append(run("momentum_init", "momentum", {"lr": 0.03}, "linear", "full", init=(0.5, -0.3, 0.2)))
    out.append(run("adam_init", "adam", {"lr": 0.1}, "logistic", "minibatch", init=(1.0, -1.0, 0.5)))
    # LR schedules: where lr sits relative to the momentum buffer only shows when lr changes.
    out.append(run("momentum_steplr", "sgd", {"lr": 0.05, "momentum": 0.9}, "linear", "minibatch",
                   schedule={"name": "step", "step_size": 10, "gamma": 0.5},
                   torch_scheduler=["StepLR", {"step_size": 10, "gamma": 0.5}]))
    out.append(run("adam_exponentiallr", "adam", {"lr": 0.1}, "logistic", "full",
                   schedule={"name": "exponential", "gamma": 0.95},
                   torch_scheduler=["ExponentialLR", {"gamma": 0.95}]))
    out.append(run("nag_warmup", "nag", {"lr": 0.05}, "linear", "full",
                   schedule={"name": "constant", "warmup_steps": 5},
                   torch_scheduler=["LinearLR", {"start_factor": 0.2, "end_factor": 1.0, "total_iters": 4}]))
    out.append(run("rmsprop_cosine", "rmsprop", {"lr": 0.02, "momentum": 0.5}, "logistic", "minibatch",
                   schedule={"name": "cosine", "min_factor": 0.1},
                   torch_scheduler=["CosineAnnealingLR", {"T_max": STEPS, "eta_min": 0.002}]))
    # Newton (torch autograd Hessian + linalg.solve as the oracle).
    out += [
        run("newton_linear_full", "newton", {}, "linear", "full"),
        run("newton_linear_full_mse", "newton", {}, "linear", "full", loss="mse"),
        run("newton_linear_minibatch", "newton", {}, "linear", "minibatch"),
        run("newton_logistic_full", "newton", {}, "logistic", "full"),
        run("newton_damped_wd", "newton", {"lr": 0.5, "damping": 0.1, "weight_decay": 0.05}, "logistic", "full"),
    ]
    # 0.2: RAdam, Rprop, ASGD, Adafactor, L-BFGS (defaults above; variants here).
    V2 = [
        # RAdam: eps on the RAW sqrt(v) (large eps), rho_t threshold (small beta2 crosses 5 at
        # once), coupled and decoupled decay.
        ("radam_eps", "radam", {"lr": 0.05, "eps": 0.01}, "linear", "full"),
        ("radam_eps_logistic", "radam", {"lr": 0.1, "eps": 0.1, "betas": [0.9, 0.9]}, "logistic", "minibatch"),
        ("radam_beta2", "radam", {"lr": 0.05, "betas": [0.8, 0.9]}, "linear", "stochastic"),
        ("radam_wd", "radam", {"lr": 0.05, "weight_decay": 0.1}, "linear", "full"),
        ("radam_decoupled", "radam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}, "logistic", "full"),
        # Rprop: etas and step_sizes (the clamp binds), lr read once (StepLR below).
        ("rprop_etas", "rprop", {"lr": 0.05, "etas": [0.3, 1.5]}, "linear", "full"),
        ("rprop_step_sizes", "rprop", {"lr": 0.05, "step_sizes": [0.01, 0.2]}, "logistic", "full"),
        ("rprop_etas_minibatch", "rprop", {"lr": 0.02, "etas": [0.6, 1.1], "step_sizes": [1e-4, 1.0]}, "linear", "minibatch"),
        # ASGD: averaging from t0, lambd decay and eta schedule (alpha), coupled decay.
        ("asgd_t0", "asgd", {"lr": 0.1, "t0": 5.0}, "linear", "full"),
        ("asgd_t0_stochastic", "asgd", {"lr": 0.05, "t0": 10.0, "lambd": 0.01}, "linear", "stochastic"),
        ("asgd_lambd_alpha", "asgd", {"lr": 1.0, "lambd": 0.05, "alpha": 0.5, "t0": 0.0}, "logistic", "full"),
        ("asgd_wd", "asgd", {"lr": 0.5, "weight_decay": 0.1, "t0": 20.0}, "logistic", "minibatch"),
        # Adafactor: beta2_decay, a large eps1 (the clamp binds) and eps2, clipping d, decay.
        ("adafactor_beta2_decay", "adafactor", {"lr": 0.5, "beta2_decay": -0.5}, "linear", "full"),
        ("adafactor_eps", "adafactor", {"lr": 0.5, "eps": [0.3, 0.1]}, "logistic", "full"),
        ("adafactor_eps2_zero_init", "adafactor", {"lr": 1.0, "eps": [None, 0.05]}, "linear", "full", (0.0, 0.0, 0.0)),
        ("adafactor_d", "adafactor", {"lr": 0.5, "d": 2.0}, "linear", "minibatch"),
        ("adafactor_wd", "adafactor", {"lr": 0.5, "weight_decay": 0.1, "beta2_decay": -0.6}, "logistic", "stochastic"),
        ("adafactor_lr_cap", "adafactor", {"lr": 0.1}, "logistic", "full"),
        # L-BFGS: strong Wolfe, small history, few inner iterations, max_eval, tolerances.
        ("lbfgs_wolfe_linear", "lbfgs", {"line_search_fn": "strong_wolfe"}, "linear", "full"),
        ("lbfgs_wolfe_logistic", "lbfgs", {"line_search_fn": "strong_wolfe"}, "logistic", "full"),
        ("lbfgs_linear_minibatch", "lbfgs", {"lr": 0.5, "max_iter": 3, "tolerance_change": 0.0}, "linear", "minibatch"),
        ("lbfgs_logistic_minibatch", "lbfgs", {"lr": 0.1, "max_iter": 3}, "logistic", "minibatch"),
        ("lbfgs_logistic_stochastic", "lbfgs", {"lr": 0.2, "max_iter": 2}, "logistic", "stochastic"),
        ("lbfgs_wolfe_minibatch", "lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 2, "history_size": 3}, "logistic", "minibatch"),
        ("lbfgs_wolfe_stochastic", "lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 2, "lr": 0.3}, "logistic", "stochastic"),
        ("lbfgs_history2", "lbfgs", {"lr": 0.5, "history_size": 2, "max_iter": 3}, "logistic", "full"),
        ("lbfgs_history2_wolfe", "lbfgs", {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 2}, "linear", "minibatch"),
        ("lbfgs_max_eval", "lbfgs", {"lr": 0.3, "max_iter": 10, "max_eval": 4}, "linear", "full"),
        ("lbfgs_wolfe_max_eval", "lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 5, "max_eval": 3}, "logistic", "full"),
        ("lbfgs_tolerance", "lbfgs", {"lr": 0.2, "max_iter": 2, "tolerance_change": 1e-3, "tolerance_grad": 1e-3}, "linear", "full"),
    ]
    out += [run(rid, o, hp, model, mode, init=rest[0] if rest else None)
            for rid, o, hp, model, mode, *rest in V2]
    out.append(run("asgd_steplr", "asgd", {"lr": 0.2, "lambd": 0.1, "t0": 3.0}, "linear", "minibatch",
                   schedule={"name": "step", "step_size": 10, "gamma": 0.5},
                   torch_scheduler=["StepLR", {"step_size": 10, "gamma": 0.5}]))
    out.append(run("rprop_steplr", "rprop", {"lr": 0.05}, "linear", "full",
                   schedule={"name": "step", "step_size": 10, "gamma": 0.1},
                   torch_scheduler=["StepLR", {"step_size": 10, "gamma": 0.1}]))
    out.append(run("radam_exponentiallr", "radam", {"lr": 0.1}, "logistic", "full",
                   schedule={"name": "exponential", "gamma": 0.95},
                   torch_scheduler=["ExponentialLR", {"gamma": 0.95}]))
    out.append(run("lbfgs_steplr", "lbfgs", {"lr": 0.5, "max_iter": 2}, "logistic", "minibatch",
                   schedule={"name": "step", "step_size": 10, "gamma": 0.5},
                   torch_scheduler=["StepLR", {"step_size": 10, "gamma": 0.5}]))
    ids = [r["id"] for r in out]
    assert len(ids) == len(set(ids)), "duplicate run ids"
    return out


# --------------------------------------------------------------------------------------------
# Running them in torch


def torch_call(spec: dict) -> str:
    if spec["optimizer"] == "newton":
        return "Newton: torch.autograd.functional.hessian + torch.linalg.solve"
    cls, preset = TORCH[spec["optimizer"]]
    kw = {**preset, **spec["hyperparams"]}
    text = f"torch.optim.{cls}(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"
    if cls == "LBFGS":
        text += ".step(closure) once per step"
    if spec["optimizer"] in SINGLE_TENSOR:
        text += " on one parameter tensor [w1, w2, b]"
    if spec["torch_scheduler"]:
        name, skw = spec["torch_scheduler"]
        text += f" + torch.optim.lr_scheduler.{name}(" + ", ".join(f"{k}={v!r}" for k, v in skw.items()) + ")"
    return text


def train(spec: dict, torch) -> np.ndarray:
    import torch.nn.functional as F

    Xn, yn = load(spec["dataset"])
    X, y = torch.tensor(Xn), torch.tensor(yn)
    bs, steps = spec["batch_size"], spec["steps"]

    def loss_of(theta, rows):
        z = X[rows] @ theta[:2] + theta[2]
        if spec["loss"] == "bce":
            return F.binary_cross_entropy_with_logits(z, y[rows])
        r = z - y[rows]
        return (r * r).mean() * (0.5 if spec["loss"] == "half_mse" else 1.0)

    def rows_of(t):
        j = (t - 1) % (N // bs)
        return slice(j * bs, (j + 1) * bs)

    everything = slice(0, N)
    extra = spec.get("extra_columns", [])
    rec = np.empty((steps + 1, 4 + len(extra)))
    if spec["optimizer"] == "newton":
        hp = {"lr": 1.0, "damping": 0.0, "weight_decay": 0.0, **spec["hyperparams"]}
        theta = torch.tensor(spec["init"])
        for t in range(steps + 1):
            with torch.no_grad():
                rec[t] = [loss_of(theta, everything).item(), *theta.tolist()]
            if t == steps:
                break
            rows = rows_of(t + 1)
            th = theta.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(loss_of(th, rows), th)
            H = torch.autograd.functional.hessian(lambda v: loss_of(v, rows), theta)
            lam = hp["weight_decay"]
            g = g + lam * theta
            H = H + (lam + hp["damping"]) * torch.eye(3)
            theta = theta - hp["lr"] * torch.linalg.solve(H, g)
        return rec

    if spec["optimizer"] in SINGLE_TENSOR:
        whole = torch.tensor(spec["init"], requires_grad=True)
        w, b = whole[:2], whole[2:]  # views: the loss and the record see the one tensor
        params = [whole]
    else:
        w = torch.tensor(spec["init"][:2], requires_grad=True)
        b = torch.tensor(spec["init"][2:], requires_grad=True)
        params = [w, b]
    cls, preset = TORCH[spec["optimizer"]]
    opt = getattr(torch.optim, cls)(params, **{**preset, **spec["hyperparams"]})
    sched = None
    if spec["torch_scheduler"]:
        name, skw = spec["torch_scheduler"]
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **skw)

    def params_now():
        return torch.cat([params[0][:2], params[0][2:]]) if len(params) == 1 else torch.cat(params)

    def full_row():
        with torch.no_grad():
            theta = params_now()
            row = [loss_of(theta, everything).item(), *theta.tolist()]
            if extra:  # ASGD's averaged iterate (state["ax"] of w and of b; 0 before step 1)
                ax = [opt.state[p]["ax"] if opt.state[p] else torch.zeros_like(p) for p in params]
                row += torch.cat(ax).tolist()
            return row

    rec[0] = full_row()
    for t in range(1, steps + 1):
        rows = rows_of(t)

        def closure():
            opt.zero_grad()
            loss = loss_of(params_now(), rows)
            loss.backward()
            return loss

        if cls == "LBFGS":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if sched is not None:
            sched.step()  # after optimizer.step(): step t used the lr of scheduler epoch t-1
        rec[t] = full_row()
    return rec


def main() -> None:
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
    torch.set_default_dtype(torch.float64)  # NAdam's mu_product and the step counters
    write_data()
    TRACES.mkdir(exist_ok=True)
    for old in TRACES.glob("*.csv"):
        old.unlink()
    manifest = []
    for spec in runs():
        rec = train(spec, torch)
        if not np.all(np.isfinite(rec)):
            raise RuntimeError(f"{spec['id']}: non-finite trajectory")
        path = TRACES / f"{spec['id']}.csv"
        with path.open("w") as fh:
            fh.write(",".join(["step", "loss", "w1", "w2", "b", *spec.get("extra_columns", [])]) + "\n")
            for t, row in enumerate(rec):
                fh.write(f"{t}," + ",".join(repr(float(v)) for v in row) + "\n")
        manifest.append({**spec, "file": f"traces/{path.name}", "torch_call": torch_call(spec)})
        print(f"{spec['id']:32s} loss {rec[0, 0]:.4g} -> {rec[-1, 0]:.4g}")
    meta = {
        "generator": "tests/golden/make_golden.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "columns": ["step", "loss", "w1", "w2", "b"],
        "row_t": "parameters after t optimizer steps and the full-data loss at them (row 0 = init)",
        "batches": "file order, cycling: step t uses rows [j*bs, (j+1)*bs), j = (t-1) mod (n/bs)",
        "runs": manifest,
    }
    (HERE / "manifest.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(manifest)} runs")




# --------------------------------------------------------------------------------------------
# The float32 set (python tests/golden/make_golden.py float32): torch with
# set_default_dtype(float32), so parameters, gradients, optimizer state and NAdam's mu_product
# are float32 (step counts are float32 tensors too, exact integers; bias corrections and lr are
# Python floats). Each row also records the gradient torch used for the step that produced it
# (g_w1, g_w2, g_b; 0 in row 0), so the optimizer rules can be replayed on torch's own
# gradients. The "stagnate" runs start at b = 4096 (ulp 2**-11) with an lr that makes every
# update of b smaller than half an ulp (going down from 4096 that is 2**-13): float32 leaves b exactly 4096, float64 would move it.

F32 = HERE / "float32"
F32_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam", "radam")
STAGNATE_LR = {"sgd": 2e-8, "momentum": 2e-9, "nag": 1e-9, "adagrad": 1e-4, "rmsprop": 1e-5,
               "adam": 1e-4, "adamw": 1e-4, "adamax": 1e-4, "nadam": 1e-4, "radam": 2e-8}
GRAD_COLUMNS = ["g_w1", "g_w2", "g_b"]


def runs_float32() -> list[dict]:
    out = []
    for name in F32_OPTIMIZERS:
        out.append(run(f"{name}_linear_full", name, {"lr": BASE_LR[name][0]}, "linear", "full"))
        out.append(run(f"{name}_logistic_minibatch", name, {"lr": BASE_LR[name][1]}, "logistic", "minibatch"))
        hp = {"lr": STAGNATE_LR[name], **({"weight_decay": 1e-5} if name == "adamw" else {})}
        out.append(run(f"{name}_stagnate", name, hp, "linear", "full", init=(0.0, 0.0, 4096.0)))
    out.append(run("adam_logistic_stochastic", "adam", {"lr": 0.05, "eps": 0.01}, "logistic", "stochastic"))
    out.append(run("nadam_decoupled", "nadam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, "linear", "minibatch"))
    out.append(run("rmsprop_centered_momentum", "rmsprop", {"lr": 0.005, "momentum": 0.5, "centered": True}, "logistic", "full"))
    return out


def train_float32(spec: dict, torch) -> np.ndarray:
    """Like :func:`train` in float32, recording the gradient of each step as well."""
    import torch.nn.functional as F

    Xn, yn = load(spec["dataset"])
    X, y = torch.tensor(Xn, dtype=torch.float32), torch.tensor(yn, dtype=torch.float32)
    bs, steps = spec["batch_size"], spec["steps"]
    w = torch.tensor(spec["init"][:2], dtype=torch.float32, requires_grad=True)
    b = torch.tensor(spec["init"][2:], dtype=torch.float32, requires_grad=True)

    def loss_of(rows):
        z = X[rows] @ w + b
        if spec["loss"] == "bce":
            return F.binary_cross_entropy_with_logits(z, y[rows])
        r = z - y[rows]
        return (r * r).mean() * 0.5

    cls, preset = TORCH[spec["optimizer"]]
    opt = getattr(torch.optim, cls)([w, b], **{**preset, **spec["hyperparams"]})
    rec = np.zeros((steps + 1, 7))

    def full_row(grad):
        with torch.no_grad():
            return [loss_of(slice(0, N)).item(), *torch.cat([w, b]).tolist(), *grad]

    rec[0] = full_row([0.0, 0.0, 0.0])
    for t in range(1, steps + 1):
        j = (t - 1) % (N // bs)
        opt.zero_grad()
        loss_of(slice(j * bs, (j + 1) * bs)).backward()
        grad = torch.cat([w.grad, b.grad]).tolist()
        opt.step()
        assert w.dtype == b.dtype == torch.float32
        rec[t] = full_row(grad)
    return rec


def main_float32() -> None:
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
    torch.set_default_dtype(torch.float32)
    (F32 / "traces").mkdir(parents=True, exist_ok=True)
    manifest = []
    for spec in runs_float32():
        rec = train_float32(spec, torch)
        path = F32 / "traces" / f"{spec['id']}.csv"
        with path.open("w") as fh:
            fh.write(",".join(["step", "loss", "w1", "w2", "b", *GRAD_COLUMNS]) + "\n")
            for t, row in enumerate(rec):  # repr of a float32 value as a double: exact
                fh.write(f"{t}," + ",".join(repr(float(v)) for v in row) + "\n")
        manifest.append({**spec, "file": f"traces/{path.name}", "torch_call": torch_call(spec)})
        print(f"{spec['id']:32s} loss {rec[0, 0]:.4g} -> {rec[-1, 0]:.4g}   b_40 = {float(rec[-1, 3])!r}")
    meta = {
        "generator": "tests/golden/make_golden.py float32",
        "torch": torch.__version__, "numpy": np.__version__, "dtype": "float32",
        "columns": ["step", "loss", "w1", "w2", "b", *GRAD_COLUMNS],
        "row_t": "float32 parameters after t steps, float32 full-data loss at them, and the "
                 "float32 batch gradient step t used (0 in row 0)",
        "runs": manifest,
    }
    (F32 / "manifest.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(manifest)} float32 runs")


if __name__ == "__main__":
    import sys

    main_float32() if sys.argv[1:] == ["float32"] else main()
