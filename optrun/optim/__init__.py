"""Optimizers as pure (init, update) pairs over NumPy arrays, a registry, and lr schedules.

    from optrun import optim
    opt = optim.create("adam", lr=0.01)
    state = opt.init(theta0)
    theta, state = opt.update(grad, state, theta, t, lr)     # t from 1; lr of this step

Every rule follows torch.optim 2.13 exactly (names, defaults, where eps sits, how state starts,
which step counter is used), in float64; see ``docs/optimizers.md``. The optimizers register
themselves when their modules are imported below; the registry order is the listing order.
Importing this package does not import pydantic (validation imports it on first use).
"""

from optrun.optim.registry import (
    EXTRAS,
    FAMILIES,
    Optimizer,
    OptimizerSpec,
    create,
    get_spec,
    names,
    register,
    resolve_name,
    validate_hyperparams,
)
from optrun.optim._schema import ParamSpec

# Registration happens on import; the order here is the order of `names()`.
from optrun.optim import sgd as _sgd  # noqa: E402,F401  sgd, momentum, nag
from optrun.optim import asgd as _asgd  # noqa: E402,F401  asgd
from optrun.optim import adaptive as _adaptive  # noqa: E402,F401  adagrad, adadelta, rmsprop
from optrun.optim import rprop as _rprop  # noqa: E402,F401  rprop
from optrun.optim import adafactor as _adafactor  # noqa: E402,F401  adafactor
from optrun.optim import adam as _adam  # noqa: E402,F401  adam, adamw, amsgrad, adamax, nadam
from optrun.optim import radam as _radam  # noqa: E402,F401  radam
from optrun.optim import newton as _newton  # noqa: E402,F401  newton
from optrun.optim import lbfgs as _lbfgs  # noqa: E402,F401  lbfgs
from optrun.optim import finitesum as _finitesum  # noqa: E402,F401  sag, saga, svrg
from optrun.optim import polyak as _polyak  # noqa: E402,F401  polyak
from optrun.optim import proximal as _proximal  # noqa: E402,F401  ista, fista, prox_sgd, cd
from optrun.optim import schedules  # noqa: E402

__all__ = [
    "EXTRAS",
    "FAMILIES",
    "Optimizer",
    "OptimizerSpec",
    "ParamSpec",
    "create",
    "get_spec",
    "names",
    "register",
    "resolve_name",
    "schedules",
    "validate_hyperparams",
]
