"""The schema of the fixed config sections, as plain data: the one source of truth.

Each section is a table of :class:`Key` records (type, default, bounds, choices, description).
Two readers use it:

* :mod:`optrun.config.sections` builds the pydantic models from it: the JSON Schema
  (``optrun ... --schema``) and the error messages of a config that fails;
* :func:`fast_validate` here checks the common case without importing pydantic (~85 ms of
  ``optrun train``'s start-up: importing pydantic and building the models). It accepts only
  values whose meaning is beyond doubt (a float field given an int or a float, a bool field
  given a bool, ...) and returns ``None`` for anything else, and the caller then asks pydantic,
  which accepts or explains. ``tests/test_config_fast_path.py`` checks on generated configs that
  whenever the fast path answers, pydantic gives the same dict.

Semantics (both readers): numbers are never booleans (pydantic's lax mode reads ``true`` as 1;
in a config that is a typo); floats must be finite; an int given to a float key becomes a float.
"""

from __future__ import annotations

from optrun.config.keys import MAX_STEPS
from optrun.schema import Bound, plain_number

REQUIRED = object()  # the default of a key that has none


class Key:
    """One key of a section.

    ``kinds``: the accepted forms, tried in order: ``str``, ``bool``, ``int``, ``float``,
    ``dict``, ``choice`` (one of ``choices``), ``str_list``, ``float_list``, ``float_matrix``,
    or the name of another section (a nested mapping). ``optional``: ``None`` is accepted.
    ``bound``: the number's :class:`~optrun.schema.Bound` (keywords ``gt``, ``ge``, ``lt``, ``le``). ``doc`` is a string, or a
    function returning one (computed only when the JSON Schema is built).
    """

    __slots__ = ("kinds", "default", "optional", "choices", "bound", "doc")

    def __init__(self, *kinds, default=REQUIRED, optional=False, choices=(), doc=None, **bounds):
        self.kinds, self.default, self.optional = kinds, default, optional
        self.choices, self.bound, self.doc = tuple(choices), Bound(**bounds), doc


class Section:
    """A table of keys. ``extra``: ``"forbid"`` (unknown keys are errors) or ``"allow"`` (kept
    after the declared keys, unchecked: a generator's parameters, a constraint set's sets, both
    checked later against their own schema)."""

    __slots__ = ("name", "keys", "extra", "validate_default")

    def __init__(self, name: str, keys: dict[str, Key], extra: str = "forbid", validate_default: bool = True):
        self.name, self.keys, self.extra, self.validate_default = name, keys, extra, validate_default


def _dataset_names() -> str:
    from optrun.data import generators

    return f"csv | {' | '.join(generators.names())} | a file in datasets/ (see `optrun datasets`)"


DATASET = Section("DatasetConfig", {
    "name": Key("str", doc=_dataset_names),
    "path": Key("str", optional=True, default=None, doc="CSV path (name: csv); relative to the config file's folder"),
    "target": Key("str", optional=True, default=None, doc="target column; default: the last column"),
    "features": Key("str_list", optional=True, default=None, doc="feature columns; default: every other column"),
    "standardize": Key("bool", default=False, doc="z-score features with the training mean/std"),
    "validation_fraction": Key("float", default=0.0, ge=0.0, lt=1.0, doc="fraction of rows held out for val_loss"),
}, extra="allow", validate_default=False)

MODEL = Section("ModelConfig", {
    "name": Key("choice", choices=("linear", "logistic", "quadratic", "function"), default="linear"),
    "fit_intercept": Key("bool", default=True),
    "init": Key("choice", "float_list", choices=("zeros", "normal"), default="zeros", doc="zeros | normal | [w_1, ..., w_d, b]"),
    "init_scale": Key("float", default=0.1, gt=0, doc="standard deviation of init: normal"),
    # objectives without data (DESIGN.md §9.1); only in config.yaml when the model uses them
    "A": Key("float_matrix", optional=True, default=None, doc="quadratic: the symmetric matrix of ½θᵀAθ + bᵀθ + c"),
    "b": Key("float_list", optional=True, default=None, doc="quadratic: the linear term (default zeros)"),
    "c": Key("float", optional=True, default=None, doc="quadratic: the constant (default 0)"),
    "function": Key("str", optional=True, default=None, doc="function: a built-in analytic function (see docs/lecture.md)"),
    "function_params": Key("dict", optional=True, default=None, doc="function: its constants, e.g. {a: 1, b: 100}"),
})

LOSS = Section("LossConfig", {
    "name": Key("choice", optional=True, choices=("mse", "half_mse", "bce", "gaussian_nll"), default=None,
                doc="default: mse for linear, bce for logistic"),
    # at most 1e100: a larger penalty overflows the Hessian (l2) or zeroes every weight long before
    "l2": Key("float", default=0.0, ge=0, le=1e100, doc="(l2/2)*||w||^2, intercept excluded"),
    "l1": Key("float", default=0.0, ge=0, le=1e100, doc="l1*||w||_1, intercept excluded"),
    "reduction": Key("choice", optional=True, choices=("mean", "sum"), default=None, doc="mean (default) | sum: the data term times n"),
    "sigma": Key("float", optional=True, default=None, gt=0, doc="gaussian_nll: a fixed noise sd (default: profiled, RSS/n)"),
})

BATCH = Section("BatchConfig", {
    "mode": Key("choice", choices=("full", "stochastic", "minibatch"), default="full"),
    "size": Key("int", optional=True, default=None, ge=1, doc="minibatch size (default 32); 1 for stochastic; n for full"),
    "shuffle": Key("bool", default=True, doc="reshuffle every epoch (seeded); false: file order, cycling"),
})

TRAIN = Section("TrainConfig", {
    "steps": Key("int", optional=True, default=None, ge=0, le=MAX_STEPS,
                 doc="optimizer steps (batches); exactly one of steps/epochs; 0 evaluates without training"),
    "epochs": Key("float", optional=True, default=None, gt=0, le=MAX_STEPS, doc="passes over the training set; exactly one of steps/epochs"),
    "tol": Key("float", default=0.0, ge=0, doc="stop when the full-data gradient norm <= tol (0 = off)"),
    "log_every": Key("choice", "int", choices=("auto", "geometric"), default="auto",
                     doc="auto | geometric (every step up to 10, then 10% apart) | k (1 = every step)"),
    "target": Key("float", optional=True, default=None, gt=0, doc="stop when f - f* <= target (needs the exact f*)"),
    "target_relative": Key("bool", default=False, doc="the target is relative: (f - f*)/(f_0 - f*) <= target"),
    "patience": Key("int", optional=True, default=None, ge=1, doc="stop after this many steps without a relative improvement of min_progress"),
    "min_progress": Key("float", default=1e-4, ge=0, doc="the relative decrease of the best loss that counts as progress (patience)"),
    "time_budget": Key("float", optional=True, default=None, gt=0, doc="stop after this many seconds of training"),
    "divergence_factor": Key("float", default=1e10, gt=1, doc="diverged when loss > factor * max(1, initial loss)"),
    "dtype": Key("choice", choices=("float64", "float32"), default="float64"),
    "engine": Key("choice", choices=("auto", "numpy", "compiled"), default="auto", doc="auto | numpy | compiled (numba; optrun.compiled)"),
})

CONSTRAINTS = Section("ConstraintsConfig", {
    # the sets (lower, upper, norm, equality, inequality) are checked against the parameter count
    # by optrun.constraints.ConstraintSet in prepare; here the method and its step sizes
    "method": Key("choice", choices=("project", "primal_dual", "augmented_lagrangian"), default="project"),
    "dual_lr": Key("float", default=0.1, gt=0, doc="primal_dual: the multipliers' ascent step"),
    "rho": Key("float", default=1.0, gt=0, doc="augmented_lagrangian: the penalty parameter"),
}, extra="allow", validate_default=False)

CONFIG = Section("Config", {
    "name": Key("str", optional=True, default=None),
    "seed": Key("int", default=0, ge=0),
    "dataset": Key("DatasetConfig", optional=True, default=None),  # none for the models without data
    "model": Key("ModelConfig", default={}),
    "loss": Key("LossConfig", default={}),
    "optimizer": Key("dict", doc="name plus the optimizer's hyperparameters (see `optrun optimizers NAME`)"),
    "batch": Key("BatchConfig", default={}),
    "train": Key("TrainConfig"),
    "constraints": Key("ConstraintsConfig", optional=True, default=None),
    # figure options (style, title, subtitle, font_scale, size, dpi, format, frames, figures):
    # checked by optrun.plots.style.check_plot_options when a run draws (api), not here
    "plots": Key("dict", optional=True, default=None),
})

SECTION_TABLES = {s.name: s for s in (DATASET, MODEL, LOSS, BATCH, TRAIN, CONSTRAINTS, CONFIG)}


# --------------------------------------------------------------------------------------------
# Rules beyond one key's type (shared with the pydantic models)


def log_every_problem(value) -> str | None:
    """``train.log_every``: an integer must be at least 1."""
    if isinstance(value, int) and value < 1:
        return "must be 'auto' or an integer >= 1"
    return None


def budget_problem(train: dict) -> str | None:
    """``train``: exactly one of ``steps`` and ``epochs``."""
    if (train.get("steps") is None) == (train.get("epochs") is None):
        both = "both are set" if train.get("steps") is not None else "neither is set"
        return f"set exactly one of steps or epochs ({both})"
    return None


# --------------------------------------------------------------------------------------------
# The fast path


class _Unsure(Exception):
    """The value is not plainly valid: let pydantic decide (and explain)."""


def _number(value, base: type, bound: Bound | None = None):
    number = plain_number(value, base, (bound,) if bound else ())
    if number is None:
        raise _Unsure
    return number


def _one(value, kind: str, key: Key):
    if kind in ("int", "float"):
        return _number(value, int if kind == "int" else float, key.bound)
    if kind == "str" and type(value) is str:
        return value
    if kind == "bool" and type(value) is bool:
        return value
    if kind == "dict" and type(value) is dict:
        return _plain_copy(value)
    if kind == "choice" and type(value) is str and value in key.choices:
        return value
    if kind == "str_list" and type(value) is list and all(type(v) is str for v in value):
        return list(value)
    if kind == "float_list" and type(value) is list:
        return [_number(v, float) for v in value]
    if kind == "float_matrix" and type(value) is list and all(type(r) is list for r in value):
        return [[_number(v, float) for v in row] for row in value]
    if kind in SECTION_TABLES:
        return _section(value, SECTION_TABLES[kind])
    raise _Unsure


def _plain_copy(value):
    """A fresh copy of YAML-like data (dicts, lists, tuples, scalars), as pydantic's dump gives
    it; anything else (a defaultdict, a namedtuple, an object) is pydantic's to convert."""
    kind = type(value)
    if kind is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if kind in (list, tuple):
        return kind(_plain_copy(v) for v in value)
    if value is None or kind in (str, int, float, bool):
        return value
    raise _Unsure


def _key(value, key: Key):
    if value is None and key.optional:
        return None
    for kind in key.kinds:
        try:
            return _one(value, kind, key)
        except _Unsure:
            continue
    raise _Unsure


def _section(values, table: Section) -> dict:
    if type(values) is not dict:
        raise _Unsure
    extra = [k for k in values if k not in table.keys]
    if extra and (table.extra == "forbid" or any(type(k) is not str for k in extra)):
        raise _Unsure  # pydantic: unknown keys are errors, extra keys must be strings
    out = {}
    for name, key in table.keys.items():
        if name in values:
            out[name] = _key(values[name], key)
        elif key.default is REQUIRED:
            raise _Unsure
        elif isinstance(key.default, (dict, list)):  # a nested section's defaults, a fresh copy
            out[name] = _key(dict(key.default), key) if key.kinds[0] in SECTION_TABLES else list(key.default)
        else:
            out[name] = key.default
    if table is TRAIN and (log_every_problem(out["log_every"]) or budget_problem(out)):
        raise _Unsure
    out.update((k, _plain_copy(values[k])) for k in extra)
    return out


def fast_validate(cfg: dict) -> dict | None:
    """The fixed sections of ``cfg`` validated and defaulted (what pydantic's ``model_dump``
    gives), or ``None`` when a value is not plainly valid and pydantic must decide."""
    try:
        return _section(cfg, CONFIG)
    except _Unsure:
        return None
