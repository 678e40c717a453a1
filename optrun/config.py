"""Experiment configuration: YAML loading, ``KEY=VALUE`` overrides, the schema, the resolved dump.

Validation happens in two layers (as cabinetry does): the *schema* (pydantic v2 models for the
fixed sections; the optimizer's and schedule's own signatures for their hyperparameters), then
*semantic rules* that need the data (batch size <= n, 0/1 targets), which live in
:mod:`optrun.prepare`. Every failure is an :class:`~optrun.errors.OptrunError` whose message
names the file or override, the dotted key, and what is expected.

pydantic is imported inside functions: the CLI imports this module for every command, and
``optrun --help`` must stay fast.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
import reprlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from optrun._text import did_you_mean, short_repr  # noqa: F401  (short_repr re-exported)
from optrun.errors import OptrunError

SECTIONS = ("name", "seed", "dataset", "model", "loss", "optimizer", "batch", "train")

# YAML shorthands: `model: linear` means `model: {name: linear}`, and so on.
SHORTHAND_KEY = {"dataset": "name", "model": "name", "loss": "name", "optimizer": "name", "batch": "mode"}

# Keys that exclude each other; an override of one clears the other (see `apply_overrides`).
EXCLUSIVE_PAIRS = {"train.steps": "train.epochs", "train.epochs": "train.steps"}

# A budget beyond this cannot finish (10^12 steps is days at the fastest); it is a typo.
MAX_STEPS = 10**12


# --------------------------------------------------------------------------------------------
# YAML


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, plus: duplicate keys are errors, and YAML 1.2 floats.

    PyYAML implements YAML 1.1, where ``1e-3`` (no dot) is a *string*; experiment files are full
    of such learning rates, so we also resolve the 1.2 float forms.
    """


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable) or isinstance(key, (tuple, frozenset)):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name or number, not a list or mapping", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text with the strict loader; errors name ``where`` and the line/column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise OptrunError(f"{where}: invalid YAML: nested too deeply") from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or str(exc)
        if "could not determine a constructor" in problem:
            problem = "Python-object or custom YAML tags are not allowed (" + problem.split("tag ")[-1] + ")"
        raise OptrunError(f"{where}{pos}: {problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise OptrunError(f"{where}{pos}: invalid YAML: {problem}") from None


def read_config_file(path: str | Path) -> dict:
    """Read a config file into a plain dict; every way it can be unreadable is an OptrunError."""
    p = Path(path)
    if not p.exists():
        raise OptrunError(f"{p}: config file not found")
    if p.is_dir():
        raise OptrunError(f"{p}: is a directory, expected a YAML config file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OptrunError(f"{p}: not a text file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise OptrunError(f"{p}: cannot read: {exc.strerror}") from None
    data = parse_yaml(text, str(p))
    if data is None:
        raise OptrunError(f"{p}: the file is empty; expected a mapping with dataset, model, optimizer, ...")
    if not isinstance(data, dict):
        raise OptrunError(f"{p}: expected a mapping of keys (dataset:, model:, ...) at the top level, got a {_yaml_type(data)}")
    return data


def _yaml_type(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------
# Overrides


def parse_override(text: str) -> tuple[str, Any]:
    """``"optimizer.lr=1e-3"`` -> ``("optimizer.lr", 0.001)``; the value is typed like YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise OptrunError(f"override {text!r}: expected KEY=VALUE with a dotted key, e.g. optimizer.lr=0.1")
    parts = key.split(".")
    if any(not part.strip() for part in parts):
        raise OptrunError(f"override {text!r}: {key!r} is not a dotted key path like optimizer.lr")
    value = parse_yaml(raw, f"override {text!r}") if raw.strip() else None
    return key, value


def apply_overrides(cfg: dict, overrides: list[str] | dict | None) -> tuple[dict, dict[str, str]]:
    """Return a new config with the overrides set at their dotted paths.

    Also returns ``{dotted key: original text}`` so schema errors can name the override that
    caused them. Setting ``train.steps`` clears ``train.epochs`` and vice versa, so that
    ``train.steps=100`` works on a config that budgets epochs.
    """
    cfg = copy.deepcopy(cfg)
    if not overrides:
        return cfg, {}
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, (list, tuple)):
        items = [parse_override(str(o)) for o in overrides]
    else:
        items = [(str(k).strip(), v) for k, v in overrides.items()]
        for key, _ in items:
            if not key or any(not part.strip() for part in key.split(".")):
                raise OptrunError(f"override {key!r}: not a dotted key path like optimizer.lr")
    origin: dict[str, str] = {}
    for key, value in items:
        origin[key] = f"override {key}={_render(value)}"
        parts = key.split(".")
        if parts[0] not in SECTIONS:
            raise OptrunError(f"override {key}: unknown section {parts[0]!r}{_suggest(parts[0], SECTIONS)}")
        node = cfg
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if isinstance(child, str) and i == 0 and part in SHORTHAND_KEY:
                child = {SHORTHAND_KEY[part]: child}
            if child is None:
                child = {}
            if not isinstance(child, dict):
                raise OptrunError(f"override {key}: {'.'.join(parts[: i + 1])} is a value, not a section")
            node[part] = child
            node = child
        node[parts[-1]] = value
        other = EXCLUSIVE_PAIRS.get(key)
        if other and value is not None:
            section, leaf = other.split(".")
            if isinstance(cfg.get(section), dict) and f"{other}" not in origin:
                cfg[section].pop(leaf, None)
    return cfg, origin


def _render(value: Any) -> str:
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()
    except yaml.YAMLError:
        return short_repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _suggest(word: str, choices) -> str:
    return did_you_mean(word, choices, style="listing")


# --------------------------------------------------------------------------------------------
# Schema (built lazily: pydantic is slow to import)

_SCHEMA = None


def _schema():
    """Build the pydantic models once, on first use."""
    global _SCHEMA
    if _SCHEMA is not None:
        return _SCHEMA
    from typing import Annotated, Literal, Optional, Union

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

    def _no_bool(value):
        # pydantic's lax mode reads true/false as 1/0; in a config that is always a typo
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value

    # numbers: never booleans; floats must be finite (allow_inf_nan=False below)
    Int = Annotated[int, BeforeValidator(_no_bool)]
    Float = Annotated[float, BeforeValidator(_no_bool)]

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    class DatasetConfig(BaseModel):
        # extra keys are generator parameters, checked against the generator's own defaults
        model_config = ConfigDict(extra="allow", allow_inf_nan=False)
        name: str = Field(description="csv | synthetic_linear | synthetic_logistic | a file in datasets/ (see `optrun datasets`)")
        path: Optional[str] = Field(None, description="CSV path (name: csv); relative to the config file's folder")
        target: Optional[str] = Field(None, description="target column; default: the last column")
        features: Optional[list[str]] = Field(None, description="feature columns; default: every other column")
        standardize: bool = Field(False, description="z-score features with the training mean/std")
        validation_fraction: Float = Field(0.0, ge=0.0, lt=1.0, description="fraction of rows held out for val_loss")

    class ModelConfig(Section):
        name: Literal["linear", "logistic"] = "linear"
        fit_intercept: bool = True
        init: Union[Literal["zeros", "normal"], list[Float]] = Field("zeros", description="zeros | normal | [w_1, ..., w_d, b]")
        init_scale: Float = Field(0.1, gt=0, description="standard deviation of init: normal")

    class LossConfig(Section):
        name: Optional[Literal["mse", "half_mse", "bce"]] = Field(None, description="default: mse for linear, bce for logistic")
        l2: Float = Field(0.0, ge=0, description="(l2/2)*||w||^2, intercept excluded")
        l1: Float = Field(0.0, ge=0, description="l1*||w||_1, intercept excluded")

    class BatchConfig(Section):
        mode: Literal["full", "stochastic", "minibatch"] = "full"
        size: Optional[Int] = Field(None, ge=1, description="minibatch size (default 32); 1 for stochastic; n for full")
        shuffle: bool = Field(True, description="reshuffle every epoch (seeded); false: file order, cycling")

    class TrainConfig(Section):
        steps: Optional[Int] = Field(None, ge=1, le=MAX_STEPS, description="optimizer steps (batches); exactly one of steps/epochs")
        epochs: Optional[Float] = Field(None, gt=0, le=MAX_STEPS, description="passes over the training set; exactly one of steps/epochs")
        tol: Float = Field(0.0, ge=0, description="stop when the full-data gradient norm <= tol (0 = off)")
        log_every: Union[Literal["auto"], Int] = Field("auto", description="auto | k (1 = every step)")
        divergence_factor: Float = Field(1e10, gt=1, description="diverged when loss > factor * max(1, initial loss)")
        dtype: Literal["float64", "float32"] = "float64"

        @field_validator("log_every")
        @classmethod
        def _positive(cls, v):
            if isinstance(v, int) and v < 1:
                raise ValueError("must be 'auto' or an integer >= 1")
            return v

        @model_validator(mode="after")
        def _one_budget(self):
            if (self.steps is None) == (self.epochs is None):
                both = "both are set" if self.steps is not None else "neither is set"
                raise ValueError(f"set exactly one of steps or epochs ({both})")
            return self

    class Config(Section):
        name: Optional[str] = None
        seed: Int = Field(0, ge=0)
        dataset: DatasetConfig
        model: ModelConfig = ModelConfig()
        loss: LossConfig = LossConfig()
        optimizer: dict = Field(description="name plus the optimizer's hyperparameters (see `optrun optimizers NAME`)")
        batch: BatchConfig = BatchConfig()
        train: TrainConfig

    _SCHEMA = Config
    return Config


def json_schema() -> dict:
    """The JSON Schema of the config file (for editor completion)."""
    return _schema().model_json_schema()


# --------------------------------------------------------------------------------------------
# Resolution


def _expand_shorthands(cfg: dict) -> dict:
    out = dict(cfg)
    for section, key in SHORTHAND_KEY.items():
        if isinstance(out.get(section), str):
            out[section] = {key: out[section]}
    return out




def _format_pydantic_error(err: dict, where: str, origin: dict[str, str], raw: dict) -> str:
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("literal[", "list[", "function-"))]
    # pydantic appends union branch names to the location; keep the user's key path only
    loc = [p for p in loc if p not in ("str", "int", "float", "bool", "int-constraints")]
    key = ".".join(loc)
    source = origin.get(key, where)
    if err["type"] == "extra_forbidden":
        parent = ".".join(loc[:-1])
        allowed = _allowed_keys(parent)
        return f"{source}: unknown key {key!r}{_suggest(loc[-1], allowed)}"
    if err["type"] == "missing":
        return f"{source}: missing required key {key!r}"
    if err["type"] == "literal_error":
        choices = [c.strip().strip("'") for c in err.get("ctx", {}).get("expected", "").replace(" or ", ", ").split(",")]
        choices = [c for c in choices if c]
        got = err.get("input")
        hint = _suggest(str(got), choices) if isinstance(got, str) and choices else ""
        if hint.startswith("; did you mean"):
            return f"{source}: {key}: unknown value {short_repr(got)}{hint} (expected {err['ctx']['expected']})"
        return f"{source}: {key}: expected {err.get('ctx', {}).get('expected', 'one of the listed values')}, got {short_repr(got)}"
    msg = err["msg"].removeprefix("Value error, ")
    if "input" in err and err["type"] not in ("value_error", "model_type") and not isinstance(err["input"], dict):
        msg += f", got {short_repr(err['input'])}"
    return f"{source}: {key or 'config'}: {msg}"


def _best_error(errors: list[dict]) -> dict:
    """The error to show. For a union (``init: zeros | normal | [numbers]``), the literal branch's
    complaint is misleading when the value is not a string: show the other branch's instead."""
    first = errors[0]
    if first["type"] == "literal_error" and not isinstance(first.get("input"), str):
        for err in errors[1:]:
            if err["loc"][: len(first["loc"]) - 1] == first["loc"][:-1] and err["type"] != "literal_error":
                return err
    return first


def _allowed_keys(section: str) -> list[str]:
    Config = _schema()
    if not section:
        return list(Config.model_fields)
    field = Config.model_fields.get(section.split(".")[0])
    ann = getattr(field, "annotation", None)
    return list(getattr(ann, "model_fields", {}))


def resolve(cfg: dict, where: str = "config", origin: dict[str, str] | None = None, base_dir: Path | None = None) -> dict:
    """Validate a raw config dict and return the *resolved* config: every default filled in.

    The result is plain Python (dicts, lists, str, int, float, bool, None) in the section
    order of DESIGN.md §5, ready for ``yaml.safe_dump`` and rerunnable as is.
    """
    from pydantic import ValidationError

    from optrun import optim
    from optrun.optim import schedules

    origin = origin or {}
    unknown = [k for k in cfg if k not in SECTIONS]
    if unknown:
        k = unknown[0]
        raise OptrunError(f"{where}: unknown key {k!r}{_suggest(k, SECTIONS)}")
    cfg = _expand_shorthands(cfg)
    for section in ("dataset", "optimizer"):
        if section not in cfg or cfg[section] is None:
            raise OptrunError(f"{where}: missing required section {section!r}")
    for section in ("dataset", "model", "loss", "optimizer", "batch", "train"):
        if section in cfg and not isinstance(cfg[section], dict):
            raise OptrunError(
                f"{origin.get(section, where)}: {section}: expected a mapping (or a name), got {_yaml_type(cfg[section])}"
            )
    if "train" not in cfg:
        raise OptrunError(f"{where}: missing required section 'train' (set train.steps or train.epochs)")

    opt_raw = dict(cfg["optimizer"])
    try:
        model = _schema().model_validate({**cfg, "optimizer": {}})
    except ValidationError as exc:
        raise OptrunError(_format_pydantic_error(_best_error(exc.errors()), where, origin, cfg)) from None
    resolved = model.model_dump()

    # --- dataset: name and generator parameters
    resolved["dataset"] = _resolve_dataset(resolved["dataset"], where, origin, base_dir)

    # --- loss default depends on the model
    loss = resolved["loss"]
    if loss["name"] is None:
        loss["name"] = "bce" if resolved["model"]["name"] == "logistic" else "mse"
    if loss["name"] == "bce" and resolved["model"]["name"] != "logistic":
        raise OptrunError(f"{origin.get('loss.name', where)}: loss.name: bce needs model logistic (linear regression uses mse or half_mse)")

    # --- optimizer: the registry's factory signature is the schema
    if "name" not in opt_raw:
        raise OptrunError(f"{where}: optimizer.name is required (see `optrun optimizers`)")
    schedule_raw = opt_raw.pop("schedule", None) or {"name": "constant"}
    if isinstance(schedule_raw, str):
        schedule_raw = {"name": schedule_raw}
    name = opt_raw.pop("name")
    try:
        canonical = optim.resolve_name(str(name))
        hps = optim.validate_hyperparams(canonical, opt_raw)
        if not isinstance(schedule_raw, dict):
            raise OptrunError(f"optimizer.schedule: expected a mapping like {{name: cosine}}, got {_yaml_type(schedule_raw)}")
        schedule = schedules.validate(schedule_raw)
        _check_finite("optimizer", hps)
        _check_finite("optimizer.schedule", schedule)
    except OptrunError as exc:
        source = next((v for k, v in origin.items() if k.startswith("optimizer")), where)
        raise OptrunError(f"{source}: {exc}") from None
    resolved["optimizer"] = {"name": canonical, **hps, "schedule": schedule}

    # --- batch size defaults
    batch = resolved["batch"]
    if batch["mode"] == "stochastic":
        if batch["size"] not in (None, 1):
            raise OptrunError(f"{origin.get('batch.size', where)}: batch.size: stochastic mode uses size 1, got {batch['size']}")
        batch["size"] = 1
    elif batch["mode"] == "minibatch" and batch["size"] is None:
        batch["size"] = 32

    ordered = {k: resolved[k] for k in SECTIONS}
    return ordered


def _check_finite(prefix: str, values: dict) -> None:
    """Every number (and every number in a list) must be finite: inf/nan are typos here."""
    for key, value in values.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for v in items:
            if isinstance(v, float) and not math.isfinite(v):
                raise OptrunError(f"{prefix}.{key}: expected a finite number, got {short_repr(value)}")


def _resolve_dataset(ds: dict, where: str, origin: dict, base_dir: Path | None) -> dict:
    from optrun import data

    name = ds["name"]
    builtins = data.builtin_names()
    generators = data.GENERATORS
    choices = ["csv", *generators, *builtins]
    src = origin.get("dataset.name", where)
    known = {"name", "path", "target", "features", "standardize", "validation_fraction"}
    extras = {k: v for k, v in ds.items() if k not in known}
    if name == "csv":
        if not ds.get("path"):
            raise OptrunError(f"{src}: dataset.path is required when dataset.name is csv")
        path = Path(ds["path"]).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        ds["path"] = str(path.resolve()) if base_dir is not None else str(path)
    elif name in generators:
        params = dict(generators[name])
        for k, v in extras.items():
            if k not in params:
                raise OptrunError(f"{origin.get('dataset.' + k, where)}: unknown key 'dataset.{k}' for {name}{_suggest(k, list(params) + sorted(known))}")
            params[k] = v
        try:
            params = data.validate_generator_params(name, params)
        except OptrunError as exc:
            raise OptrunError(locate(str(exc), where, origin)) from None
        for k in ("path", "target", "features"):
            if ds.get(k) is not None:
                raise OptrunError(f"{origin.get('dataset.' + k, where)}: dataset.{k} does not apply to the {name} generator")
        ds = {**{k: ds[k] for k in ("name", "standardize", "validation_fraction")}, **params}
        return ds
    elif name in builtins:
        if ds.get("path") is not None:
            raise OptrunError(f"{origin.get('dataset.path', where)}: dataset.path does not apply to the built-in dataset {name!r}; use name: csv")
    else:
        raise OptrunError(f"{src}: dataset.name: unknown dataset {name!r}{_suggest(name, choices)}")
    if extras:
        k = next(iter(extras))
        src = origin.get("dataset." + k, where)
        takers = [g for g, params in generators.items() if k in params]
        if takers:  # a generator parameter on a file dataset: say so rather than guess a key
            raise OptrunError(f"{src}: dataset.{k} is a parameter of the {' and '.join(takers)} generator{'s' * (len(takers) > 1)}, "
                              f"not of the dataset {name!r}")
        raise OptrunError(f"{src}: unknown key 'dataset.{k}'{_suggest(k, sorted(known))}")
    return ds


def load_located(source: str | Path | dict, overrides: list[str] | dict | None = None) -> tuple[dict, str, dict[str, str]]:
    """:func:`load`, also returning where the config came from and which override set each key.

    ``where`` is the file path (or ``"config"`` for a dict) and ``origin`` maps a dotted key to
    the override text that set it, so :func:`locate` can point a later (semantic) error at the
    file or the override responsible.
    """
    if isinstance(source, dict):
        raw, where, base_dir = source, "config", Path.cwd()
    else:
        raw, where, base_dir = read_config_file(source), str(source), Path(source).resolve().parent
    cfg, origin = apply_overrides(raw, overrides)
    return resolve(cfg, where=where, origin=origin, base_dir=base_dir), where, origin


def load(source: str | Path | dict, overrides: list[str] | dict | None = None) -> dict:
    """Load, override and resolve a config from a YAML path or a dict."""
    return load_located(source, overrides)[0]


_KEY_PREFIX = re.compile(r"^((?:name|seed|dataset|model|loss|optimizer|batch|train)(?:\.[A-Za-z0-9_]+)*):")


def locate(message: str, where: str, origin: dict[str, str]) -> str:
    """Prefix a semantic error that starts with a dotted key (``batch.size: ...``) with the
    override that set the key, or else the config file, so every message names its source."""
    m = _KEY_PREFIX.match(message)
    if not m or m.group(1).endswith((".yaml", ".yml", ".csv", ".json")):
        return message
    key = m.group(1)
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in origin:
            return f"{origin['.'.join(parts[:i])]}: {message}"
    return f"{where}: {message}"


def dump(resolved: dict) -> str:
    """The resolved config as YAML (rerunnable as is)."""
    return yaml.safe_dump(resolved, sort_keys=False, default_flow_style=None)


def config_hash(resolved: dict) -> str:
    """A stable hash of a resolved config: key order and float spelling do not matter."""
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
