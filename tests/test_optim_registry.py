"""The optimizer registry: names, specs, validation messages, equivalences and purity."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from optrun import optim
from optrun.errors import OptrunError

ALL = optim.names()


# --------------------------------------------------------------------------------------------
# Names, aliases, specs


def test_names_in_registry_order():
    assert ALL == ["sgd", "momentum", "nag", "asgd", "adagrad", "adadelta", "rmsprop", "rprop",
                   "adafactor", "adam", "adamw", "amsgrad", "adamax", "nadam", "radam", "newton",
                   "lbfgs", "sag", "saga", "svrg", "polyak", "ista", "fista", "prox_sgd", "cd"]


def test_families():
    fam = {n: optim.get_spec(n).family for n in ALL}
    assert fam == {"sgd": "gd", "momentum": "momentum", "nag": "momentum", "adagrad": "adaptive",
                   "adadelta": "adaptive", "rmsprop": "adaptive", "adam": "adam",
                   "adamw": "adam", "amsgrad": "adam", "adamax": "adam", "nadam": "adam",
                   "newton": "newton", "asgd": "gd", "rprop": "adaptive", "adafactor": "adaptive",
                   "radam": "adam", "lbfgs": "quasi_newton", "sag": "variance_reduced",
                   "saga": "variance_reduced", "svrg": "variance_reduced", "polyak": "gd",
                   "ista": "proximal", "fista": "proximal", "prox_sgd": "proximal", "cd": "proximal"}
    assert set(fam.values()) <= set(optim.FAMILIES)


def test_aliases_resolve():
    assert optim.resolve_name("gd") == "sgd"
    assert optim.resolve_name("Adam") == "adam"
    assert optim.create("gd").name == "sgd"
    assert optim.get_spec("gd").aliases == ("gd",)


def test_unknown_name_suggests():
    with pytest.raises(OptrunError, match=r"unknown optimizer 'adma'.*did you mean.*'adam'"):
        optim.resolve_name("adma")
    with pytest.raises(OptrunError, match=r"did you mean 'rmsprop'"):
        optim.create("rmsprob")


@pytest.mark.parametrize("name", ALL)
def test_spec_is_read_from_the_factory(name):
    spec = optim.get_spec(name)
    assert spec.name == name
    assert spec.summary and spec.summary == spec.doc.splitlines()[0]
    if name in NO_TORCH_LR:  # proximal methods: lr defaults to 1/L (None), cd has no lr at all
        assert "lr" not in spec.params or spec.params["lr"].default is None
    else:
        assert "lr" in spec.params and spec.params["lr"].constraints == "a number > 0"
    for p in spec.params.values():
        assert p.name and p.constraints and not p.required
    # the docstring states the rule and the defaults
    assert "Defaults" in spec.doc and "θ" in spec.doc


NO_TORCH_LR = {"ista", "fista", "cd"}

TORCH_DEFAULTS = {
    # not in torch.optim: optrun's own defaults (docs/optimizers.md, the proximal family)
    "ista": {"lr": None}, "fista": {"lr": None, "restart": "none"}, "prox_sgd": {"lr": 1e-3}, "cd": {},
    "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
            "line_search": "none", "ls_alpha": 0.25, "ls_beta": 0.5},  # line search: optrun's
    "momentum": {"lr": 1e-3, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0},
    "nag": {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0},
    "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
                "eps": 1e-10},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                "centered": False},
    "adam": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
             "decoupled_weight_decay": False},
    "adamw": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2,
              "amsgrad": False},
    "amsgrad": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                "decoupled_weight_decay": False},
    "adamax": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
    "nadam": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
              "momentum_decay": 4e-3, "decoupled_weight_decay": False},
    "newton": {"lr": 1.0, "damping": 0.0, "weight_decay": 0.0, "line_search": "none",
               "ls_alpha": 0.25, "ls_beta": 0.5},
    # 0.2 (torch 2.13 constructors; maximize/foreach/capturable/differentiable are not exposed)
    "radam": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False},
    "rprop": {"lr": 1e-2, "etas": [0.5, 1.2], "step_sizes": [1e-6, 50.0]},
    "asgd": {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0},
    "adafactor": {"lr": 1e-2, "beta2_decay": -0.8, "eps": [None, 1e-3], "d": 1.0,
                  "weight_decay": 0.0},
    "lbfgs": {"lr": 1.0, "max_iter": 20, "max_eval": None, "tolerance_grad": 1e-7,
              "tolerance_change": 1e-9, "history_size": 100, "line_search_fn": None},
    # not in torch.optim
    "sag": {"lr": 1e-2}, "saga": {"lr": 1e-2}, "svrg": {"lr": 1e-2, "update_every": None},
    "polyak": {"lr": 1.0, "max_lr": None},
}


@pytest.mark.parametrize("name", ALL)
def test_defaults_are_torchs(name):
    resolved = optim.validate_hyperparams(name, {})
    assert resolved == TORCH_DEFAULTS[name]
    assert list(resolved) == list(optim.get_spec(name).params)  # signature order


def test_validate_fills_defaults_with_plain_types():
    out = optim.validate_hyperparams("adam", {"lr": 1, "betas": (0.8, 0.99)})
    assert out == {"lr": 1.0, "betas": [0.8, 0.99], "eps": 1e-8, "weight_decay": 0.0,
                   "amsgrad": False, "decoupled_weight_decay": False}
    assert type(out["lr"]) is float and type(out["betas"]) is list
    assert all(type(b) is float for b in out["betas"])
    opt = optim.create("adam", lr=1)
    assert opt.hyperparams == out | {"betas": [0.9, 0.999]}
    assert opt.name == "adam" and opt.family == "adam" and opt.needs_hessian is False


# --------------------------------------------------------------------------------------------
# Validation errors


def test_unknown_hyperparameter_names_the_optimizers_that_have_it():
    with pytest.raises(OptrunError) as err:
        optim.create("adam", nesterov=True)
    msg = str(err.value)
    assert msg.startswith("optimizer.nesterov: ")
    assert "'adam' has no hyperparameter 'nesterov'" in msg
    assert "lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay" in msg
    assert "hyperparameter of: sgd" in msg
    with pytest.raises(OptrunError, match=r"hyperparameter of: adagrad, adadelta, rmsprop, adafactor, adam,"):
        optim.create("sgd", eps=0.9)
    with pytest.raises(OptrunError, match=r"did you mean 'betas'"):
        optim.create("adam", beta=(0.9, 0.9))
    assert "\n" not in msg


@pytest.mark.parametrize(
    "name, hp, expected",
    [
        ("adam", {"lr": -0.1}, "optimizer.lr: expected a number > 0, got -0.1"),
        ("sgd", {"lr": 0}, "optimizer.lr: expected a number > 0, got 0"),
        ("adam", {"betas": [0.9, 1.0]},
         "optimizer.betas: expected a pair of numbers, each in [0, 1), got [0.9, 1.0]"),
        ("adam", {"betas": [0.9]}, "optimizer.betas: expected a pair of numbers"),
        ("adam", {"eps": 0.0}, "optimizer.eps: expected a number > 0, got 0.0"),
        ("sgd", {"momentum": -0.5}, "optimizer.momentum: expected a number >= 0, got -0.5"),
        ("rmsprop", {"alpha": 1.5}, "optimizer.alpha: expected a number in [0, 1], got 1.5"),
        ("adagrad", {"lr": "fast"}, "optimizer.lr: expected a number > 0, got 'fast'"),
        ("adam", {"lr": True}, "optimizer.lr: expected a number > 0, got True"),
        ("adam", {"amsgrad": "maybe"}, "optimizer.amsgrad: expected true or false, got 'maybe'"),
        ("nag", {"momentum": 0.0}, "optimizer.momentum: expected a number > 0, got 0.0"),
        ("newton", {"damping": -1}, "optimizer.damping: expected a number >= 0, got -1"),
        ("adafactor", {"eps": [None]}, "optimizer.eps: expected a pair [a number >= 0 or null, a number >= 0]"),
        ("adafactor", {"eps": [1e-30, None]}, "optimizer.eps: expected a pair [a number >= 0 or null"),
        ("adafactor", {"beta2_decay": 0.5}, "optimizer.beta2_decay: expected a number <= 0, got 0.5"),
        ("adafactor", {"d": 0.5}, "optimizer.d: expected a number >= 1, got 0.5"),
        ("lbfgs", {"line_search_fn": "armijo"},
         "optimizer.line_search_fn: expected one of 'strong_wolfe' or null, got 'armijo'"),
        ("lbfgs", {"history_size": 0}, "optimizer.history_size: expected an integer >= 1, got 0"),
        ("lbfgs", {"max_eval": 2.5}, "optimizer.max_eval: expected an integer >= 1 or null, got 2.5"),
        ("rprop", {"etas": [1.5, 1.2]}, "optimizer.etas: expected 0 < etaminus < 1 < etaplus"),
        ("rprop", {"step_sizes": [1.0, 0.1]}, "optimizer.step_sizes: expected [min, max] with min <= max"),
    ],
)
def test_bad_values(name, hp, expected):
    with pytest.raises(OptrunError) as err:
        optim.validate_hyperparams(name, hp)
    assert str(err.value).startswith(expected)


def test_torch_nesterov_rule():
    with pytest.raises(OptrunError, match=r"optimizer.nesterov: .*momentum > 0 and dampening = 0"):
        optim.create("sgd", nesterov=True)
    with pytest.raises(OptrunError, match=r"dampening = 0"):
        optim.validate_hyperparams("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1})
    assert optim.create("sgd", nesterov=True, momentum=0.9).hyperparams["nesterov"] is True


def test_lenient_numbers():
    # ints for floats and numeric strings are accepted and come back as floats
    assert optim.validate_hyperparams("sgd", {"lr": 1})["lr"] == 1.0
    assert optim.validate_hyperparams("sgd", {"lr": "1e-3"})["lr"] == 1e-3


def test_import_does_not_load_pydantic():
    code = "import sys, optrun.optim; assert 'pydantic' not in sys.modules, 'pydantic imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# Equivalences (dispatch through presets must not change the rule)


def trajectory(opt, steps=25, seed=0, p=4):
    """Run ``opt`` on a fixed stream of pseudo-gradients of a quadratic; return all iterates."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p))
    H = A @ A.T / p + 0.1 * np.eye(p)
    c = rng.normal(size=p)
    theta = rng.normal(size=p)
    state = opt.init(theta)
    out = [theta]
    for t in range(1, steps + 1):
        g = H @ theta - c + 0.1 * rng.normal(size=p)  # noisy: like a mini-batch gradient
        lr = opt.hyperparams["lr"] * (0.5 if t > 10 else 1.0)  # a schedule, to expose lr placement
        theta, state = opt.update(g, state, theta, t, lr, hessian=H)
        out.append(theta)
    return np.array(out)


EQUIVALENT = [
    (("sgd", {"lr": 0.1, "momentum": 0.0}), ("sgd", {"lr": 0.1})),
    (("sgd", {"lr": 0.1, "momentum": 0.0, "dampening": 0.7}), ("sgd", {"lr": 0.1})),
    (("momentum", {"lr": 0.1, "momentum": 0.0}), ("sgd", {"lr": 0.1})),
    (("momentum", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9})),
    (("momentum", {"lr": 0.1, "dampening": 0.3}), ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3})),
    (("nag", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True})),
    (("nag", {"lr": 0.1, "momentum": 0.5}), ("sgd", {"lr": 0.1, "momentum": 0.5, "nesterov": True})),
    (("amsgrad", {"lr": 0.1, "betas": (0.9, 0.9)}), ("adam", {"lr": 0.1, "betas": (0.9, 0.9), "amsgrad": True})),
    (("adamw", {"lr": 0.1}), ("adam", {"lr": 0.1, "decoupled_weight_decay": True, "weight_decay": 1e-2})),
    (("adamw", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.3}),
     ("adam", {"lr": 0.1, "amsgrad": True, "decoupled_weight_decay": True, "weight_decay": 0.3})),
    # with no weight decay, coupled and decoupled are the same Adam
    (("adamw", {"lr": 0.1, "weight_decay": 0.0}), ("adam", {"lr": 0.1})),
    (("gd", {"lr": 0.1}), ("sgd", {"lr": 0.1})),
]


@pytest.mark.parametrize("a, b", EQUIVALENT, ids=[f"{a[0]}{a[1]}=={b[0]}{b[1]}" for a, b in EQUIVALENT])
def test_equivalences(a, b):
    np.testing.assert_array_equal(trajectory(optim.create(a[0], **a[1])),
                                  trajectory(optim.create(b[0], **b[1])))


NOT_EQUIVALENT = [
    (("amsgrad", {"lr": 0.1, "betas": (0.9, 0.9)}), ("adam", {"lr": 0.1, "betas": (0.9, 0.9)})),
    (("adamw", {"lr": 0.1, "weight_decay": 0.3}), ("adam", {"lr": 0.1, "weight_decay": 0.3})),
    (("nadam", {"lr": 0.1}), ("adam", {"lr": 0.1})),
    (("nag", {"lr": 0.1}), ("momentum", {"lr": 0.1})),
    (("rmsprop", {"lr": 0.01, "centered": True}), ("rmsprop", {"lr": 0.01})),
]


@pytest.mark.parametrize("a, b", NOT_EQUIVALENT, ids=[f"{a[0]}!={b[0]}" for a, b in NOT_EQUIVALENT])
def test_variants_do_differ(a, b):
    ta, tb = trajectory(optim.create(a[0], **a[1])), trajectory(optim.create(b[0], **b[1]))
    assert np.abs(ta - tb).max() > 1e-4


def test_momentum_lr_sits_outside_the_buffer():
    """Under a schedule torch rescales the whole velocity: θ_t − θ_{t−1} = −γ_t b_t."""
    opt = optim.create("sgd", lr=1.0, momentum=0.9)
    g = np.array([1.0])
    state = opt.init(np.zeros(1))
    th1, state = opt.update(g, state, np.zeros(1), 1, 1.0)
    th2, state = opt.update(g, state, th1, 2, 0.1)
    assert th2 - th1 == pytest.approx(-0.1 * (0.9 + 1.0))  # textbook would give −(0.9 + 0.1)


# --------------------------------------------------------------------------------------------
# Purity


def extras(opt, H, grad, theta0) -> dict:
    """The extras ``opt.needs``: a quadratic with Hessian H and gradient ``grad`` at theta0."""
    out = {}
    if "hessian" in opt.needs:
        out["hessian"] = H
    if "closure" in opt.needs:
        def closure(th):
            r = th - theta0
            return float(grad @ r + 0.5 * r @ H @ r), grad + H @ r
        out["closure"] = closure
    if "lipschitz" in opt.needs:
        out["lipschitz"] = float(np.linalg.eigvalsh(H).max())
    if opt.needs & {"batch", "data", "f_star", "prox"}:
        from optrun.models import Objective

        Xs = np.array([[1.0, 0.5], [-0.3, 2.0], [0.7, -1.0]])
        ys = np.array([1.0, -1.0, 0.5])
        out.update(batch=(Objective(model="linear", loss="half_mse"), Xs[:2], ys[:2], np.arange(2)),
                   data=(Xs, ys), f_star=-1.0, prox=lambda v, s: v)
    return out


def _leaves(x):
    if isinstance(x, (tuple, list)):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


def _assert_same(a, c):
    for u, v in zip(_leaves(a), _leaves(c), strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("variant", ["defaults", "everything_on"])
def test_update_is_pure(name, variant):
    hp = {}
    if variant == "everything_on":
        spec = optim.get_spec(name).params
        hp = {k: v for k, v in {"weight_decay": 0.1, "momentum": 0.5, "centered": True,
                                "amsgrad": True, "lr_decay": 0.1,
                                "initial_accumulator_value": 0.1, "damping": 0.1,
                                "decoupled_weight_decay": True, "t0": 0.0,
                                "line_search_fn": "strong_wolfe"}.items()
              if k in spec}
        if name == "sgd":
            hp["nesterov"] = True
    opt = optim.create(name, **hp)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=3)
    H = np.eye(3) * 2.0
    state = opt.init(theta)
    for t in (1, 2):  # t = 1 creates buffers; t = 2 updates them
        grad = rng.normal(size=3)
        copies = [np.copy(a) for a in (grad, theta, H)]
        state_copy = pickle.loads(pickle.dumps(state))
        ex = extras(opt, H, grad, theta)
        new_theta, new_state = opt.update(grad, state, theta, t, 0.1, **ex)
        again, again_state = opt.update(grad, state, theta, t, 0.1, **ex)
        for a, c in zip((grad, theta, H), copies):
            np.testing.assert_array_equal(a, c)
        for a, c in zip(state, state_copy):
            _assert_same(a, c)
        np.testing.assert_array_equal(new_theta, again)  # deterministic, no hidden state
        for a, c in zip(new_state, again_state):
            _assert_same(a, c)
        assert new_theta is not theta and not np.shares_memory(new_theta, theta)
        for a in _leaves(new_state):  # the new state never aliases the caller's arrays
            if isinstance(a, np.ndarray):
                assert not np.shares_memory(a, grad) and not np.shares_memory(a, theta)
        assert isinstance(new_state, tuple) and hasattr(new_state, "_fields")
        theta, state = new_theta, new_state


@pytest.mark.parametrize("name", ALL)
def test_optimizer_pickles_and_reports(name):
    opt = optim.create(name)
    clone = pickle.loads(pickle.dumps(opt))
    theta = np.ones(3)
    g = np.array([0.5, -1.0, 2.0])
    a = opt.update(g, opt.init(theta), theta, 1, 0.1, **extras(opt, np.eye(3), g, theta))[0]
    b = clone.update(g, clone.init(theta), theta, 1, 0.1, **extras(clone, np.eye(3), g, theta))[0]
    np.testing.assert_array_equal(a, b)
    report = opt.report(opt.init(theta))
    assert report == REPORTS.get(name, {})
    json.dumps(report, allow_nan=False)  # strict JSON (summary.json, the trace)
    assert opt.needs_hessian is (name == "newton")
    assert opt.needs == NEEDS.get(name, frozenset())
    assert opt.needs <= set(optim.EXTRAS)


REPORTS = {
    "newton": {"newton_fallback_steps": 0, "newton_fallback_reason": None},
    "asgd": {"ax": [0.0, 0.0, 0.0]},
    "lbfgs": {"inner_evals": 0, "inner_iters": 0, "func_evals": 0, "n_iter": 0},
    "sag": {"rows_seen": 0, "row_grad_evals": 0}, "saga": {"rows_seen": 0, "row_grad_evals": 0},
    "svrg": {"row_grad_evals": 0}, "polyak": {"step_size": None},
    "ista": {"step_size": None}, "fista": {"step_size": None, "restarts": 0}, "prox_sgd": {"step_size": None},
    "cd": {"ls_trials": 0},
}
NEEDS = {"newton": {"hessian"}, "lbfgs": {"closure"}, "sag": {"batch"}, "saga": {"batch", "prox"},
         "svrg": {"batch", "data"}, "polyak": {"batch", "f_star"}, "ista": {"prox", "lipschitz"},
         "fista": {"prox", "closure", "lipschitz"}, "prox_sgd": {"prox"}, "cd": {"batch"}}


def test_needs_and_needs_hessian_are_consistent():
    from optrun.optim.registry import Optimizer

    a = Optimizer(init=None, update=None, needs_hessian=True)
    b = Optimizer(init=None, update=None, needs=frozenset({"hessian", "closure"}))
    assert a.needs == {"hessian"} and b.needs_hessian is True
    with pytest.raises(ValueError, match="unknown extras"):
        Optimizer(init=None, update=None, needs=frozenset({"gradient"}))


def test_nadam_state_keeps_mu_product():
    opt = optim.create("nadam")
    state = opt.init(np.zeros(2))
    assert state.mu_product == 1.0
    mus = []
    for t in (1, 2, 3):
        _, state = opt.update(np.ones(2), state, np.zeros(2), t, 2e-3)
        mus.append(0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)))
    assert state.mu_product == pytest.approx(np.prod(mus), rel=1e-15)
