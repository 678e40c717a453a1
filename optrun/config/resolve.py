"""From a raw config dict to the *resolved* config: every default filled in, every rule checked.

The steps, in order: the sections' shape -> the schema of the fixed sections
(:mod:`optrun.config.fields`; pydantic, :mod:`optrun.config.sections`, imported here lazily, only
for a value the fast path does not plainly accept) -> the dataset (the one implementation of
its rules, :func:`optrun.data.checks.check_spec`) -> the loss default -> the optimizer and its
schedule (each factory's signature is the schema, :mod:`optrun.optim`) -> batch-size defaults.
Every failure is an :class:`~optrun.errors.OptrunError` whose message names the file or
override (:func:`locate`), the dotted key, and what is expected. Semantic rules that need the
data (batch size <= n, 0/1 targets in a file) live in :mod:`optrun.prepare`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from optrun._text import did_you_mean, short_repr
from optrun.config import fields
from optrun.config.keys import ANALYTIC_MODELS, SECTIONS, SHORTHAND_KEY
from optrun.config.overrides import apply_overrides
from optrun.config.yaml_io import read_config_file, yaml_type
from optrun.errors import OptrunError


def _suggest(word: str, choices) -> str:
    return did_you_mean(word, choices, style="listing")


def json_schema() -> dict:
    """The JSON Schema of the config file (for editor completion)."""
    from optrun.config import sections

    return sections.Config.model_json_schema()


# --------------------------------------------------------------------------------------------
# pydantic errors as one line


def _format_pydantic_error(err: dict, where: str, origin: dict[str, str]) -> str:
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("literal[", "list[", "function-"))]
    # pydantic appends union branch names to the location; keep the user's key path only
    loc = [p for p in loc if p not in ("str", "int", "float", "bool", "int-constraints")]
    key = ".".join(loc)
    source = origin.get(key, where)
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}{_suggest(loc[-1], _allowed_keys('.'.join(loc[:-1])))}"
    if err["type"] == "missing":
        return f"{source}: missing required key {key!r}"
    if err["type"] == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        choices = [c for c in choices if c]
        got = err.get("input")
        hint = _suggest(str(got), choices) if isinstance(got, str) and choices else ""
        if hint.startswith("; did you mean"):
            return f"{source}: {key}: unknown value {short_repr(got)}{hint} (expected {expected})"
        return f"{source}: {key}: expected {expected or 'one of the listed values'}, got {short_repr(got)}"
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
    if not section:
        return list(fields.CONFIG.keys)
    key = fields.CONFIG.keys.get(section.split(".")[0])
    table = fields.SECTION_TABLES.get(key.kinds[0]) if key else None
    return list(table.keys) if table else []


# --------------------------------------------------------------------------------------------
# The steps


def _check_sections(cfg: dict, where: str, origin: dict[str, str]) -> dict:
    """Known top-level keys, the required sections present, every section a mapping."""
    unknown = [k for k in cfg if k not in SECTIONS]
    if unknown:
        raise OptrunError(f"{where}: unknown key {unknown[0]!r}{_suggest(unknown[0], SECTIONS)}")
    cfg = {**cfg, **{s: {k: cfg[s]} for s, k in SHORTHAND_KEY.items() if isinstance(cfg.get(s), str)}}
    if isinstance(cfg.get("dataset"), dict) and str(cfg["dataset"].get("name", "")).lower() == "none":
        cfg["dataset"] = None  # `dataset: none`: an objective without data
    analytic = isinstance(cfg.get("model"), dict) and cfg["model"].get("name") in ANALYTIC_MODELS
    for section in ("optimizer",) if analytic else ("dataset", "optimizer"):
        if cfg.get(section) is None:
            raise OptrunError(f"{where}: missing required section {section!r}")
    for section in ("dataset", "model", "loss", "optimizer", "batch", "train", "constraints", "plots"):
        if cfg.get(section) is not None and not isinstance(cfg[section], dict):
            raise OptrunError(
                f"{origin.get(section, where)}: {section}: expected a mapping (or a name), got {yaml_type(cfg[section])}"
            )
    if "train" not in cfg:
        raise OptrunError(f"{where}: missing required section 'train' (set train.steps or train.epochs)")
    return cfg


def _validate_schema(cfg: dict, where: str, origin: dict[str, str]) -> dict:
    """The fixed sections (the optimizer's own schema comes later): the fast path when every
    value is plainly valid, else pydantic, which accepts the rest or says what is wrong."""
    checked = fields.fast_validate({**cfg, "optimizer": {}})
    if checked is not None:
        return checked
    from pydantic import ValidationError

    from optrun.config import sections

    try:
        model = sections.Config.model_validate({**cfg, "optimizer": {}})
    except ValidationError as exc:
        raise OptrunError(_format_pydantic_error(_best_error(exc.errors()), where, origin)) from None
    return model.model_dump()


def _resolve_dataset(resolved: dict, where: str, origin: dict[str, str], base_dir: Path | None) -> dict:
    """The dataset rules (:func:`~optrun.data.checks.check_spec`), located; a csv path made absolute."""
    from optrun.data import checks

    try:
        ds = checks.check_spec(resolved["dataset"], model=resolved["model"]["name"], dtype=resolved["train"]["dtype"])
    except OptrunError as exc:
        raise OptrunError(locate(exc, where, origin)) from None
    if ds["name"] == "csv":
        path = checks.csv_path(ds["path"], base_dir)
        try:
            ds["path"] = str(path.resolve()) if base_dir is not None else str(path)
        except (RuntimeError, OSError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
            what = "a symlink loop" if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == 40 else str(exc)
            raise OptrunError(f"{origin.get('dataset.path', origin.get('dataset', where))}: dataset.path: "
                              f"{ds['path']}: cannot be read ({what})") from None
    return ds


def _resolve_loss(resolved: dict, where: str, origin: dict[str, str]) -> dict:
    """The loss default depends on the model; bce needs the logistic model, gaussian_nll the
    linear one (checked here only)."""
    loss, model = resolved["loss"], resolved["model"]["name"]
    if loss["name"] is None:
        loss["name"] = "bce" if model == "logistic" else "mse"
    if loss["name"] == "bce" and model != "logistic":
        raise OptrunError(f"{origin.get('loss.name', where)}: loss.name: bce needs model logistic "
                          "(linear regression uses mse or half_mse)")
    if loss["name"] == "gaussian_nll" and model != "linear":
        raise OptrunError(f"{origin.get('loss.name', where)}: loss.name: gaussian_nll needs model linear "
                          "(the Gaussian likelihood of a linear model; logistic regression's is bce)")
    if loss["sigma"] is not None and loss["name"] != "gaussian_nll":
        raise OptrunError(f"{origin.get('loss.sigma', where)}: loss.sigma: only for loss gaussian_nll, not {loss['name']}")
    loss["reduction"] = loss["reduction"] or "mean"
    return loss


_ANALYTIC_KEYS = ("A", "b", "c", "function", "function_params")


def _resolve_model(resolved: dict, raw: dict, where: str, origin: dict[str, str]) -> dict:
    """The model section: linear/logistic drop the keys of the models without data; quadratic
    and function objectives are checked (:mod:`optrun.analytic`) and get their defaults."""
    model = resolved["model"]
    name = model["name"]
    src = lambda key: origin.get(f"model.{key}", origin.get("model", where))  # noqa: E731
    if name not in ANALYTIC_MODELS:
        for key in _ANALYTIC_KEYS:
            if model[key] is not None:
                wants = "function" if key.startswith("function") else "quadratic"
                raise OptrunError(f"{src(key)}: model.{key}: only for model {wants}, not {name}")
            del model[key]
        return model
    from optrun import analytic

    bad = [k for k in _ANALYTIC_KEYS if model[k] is not None and (k in ("A", "b", "c")) != (name == "quadratic")]
    if bad:
        raise OptrunError(f"{src(bad[0])}: model.{bad[0]}: not a key of model {name}")
    try:
        if name == "quadratic":
            if model["A"] is None:
                raise OptrunError("model.A: required for model quadratic (a symmetric matrix)", key="model.A")
            fn = analytic.quadratic(model["A"], model["b"], model["c"] or 0.0)
            out = {"name": name, "A": model["A"], "b": model["b"] if model["b"] is not None else [0.0] * len(model["A"]),
                   "c": model["c"] or 0.0}
        else:
            if model["function"] is None:
                raise OptrunError(f"model.function: required for model function; one of: {', '.join(analytic.functions())}",
                                  key="model.function")
            fn = analytic.make_function(model["function"], model["function_params"] or {})
            out = {"name": name, "function": model["function"], "function_params": dict(model["function_params"] or {})}
    except OptrunError as exc:
        raise OptrunError(locate(exc, where, origin)) from None
    init = model["init"] if (raw.get("model") or {}).get("init") is not None or fn.init is None else [float(v) for v in fn.init]
    return {**out, "fit_intercept": False, "init": init, "init_scale": model["init_scale"]}


def _check_no_data_rules(resolved: dict, raw: dict, where: str, origin: dict[str, str]) -> None:
    """A model without data has no dataset, no loss and only full batches (DESIGN.md §9.7)."""
    name = resolved["model"]["name"]
    if resolved["dataset"] is not None:
        raise OptrunError(f"{origin.get('dataset', where)}: dataset: model {name} takes no data "
                          "(remove the dataset section, or write dataset: none)")
    # the resolved config (config.yaml) carries the neutral loss {name: null, l2: 0, l1: 0}, and it
    # must rerun as is (optrun rerun, compare, sweep): only a loss that would change something is refused
    neutral = {"name": None, "l1": 0.0, "l2": 0.0, "reduction": None, "sigma": None}
    given = raw.get("loss") or {}
    if any(k in given and given[k] != v for k, v in neutral.items()):
        raise OptrunError(f"{origin.get('loss', where)}: loss: model {name} is its own objective; "
                          "remove the loss section")
    if resolved["batch"]["mode"] != "full":
        raise OptrunError(f"{origin.get('batch.mode', where)}: batch.mode: model {name} has no data, "
                          f"so only full batches (got {resolved['batch']['mode']})")


def _resolve_optimizer(opt_raw: dict, where: str, origin: dict[str, str]) -> dict:
    """The registry's factory signature is the schema, for the optimizer and its schedule."""
    from optrun import optim
    from optrun.optim import schedules

    opt_raw = dict(opt_raw)
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
            raise OptrunError(f"optimizer.schedule: expected a mapping like {{name: cosine}}, got {yaml_type(schedule_raw)}")
        schedule = schedules.validate(schedule_raw)
        _check_finite("optimizer", hps)
        _check_finite("optimizer.schedule", schedule)
    except OptrunError as exc:
        # the override or file that set the failing key (an axis optimizer.lr=0.1 is not to
        # blame for the file's betas); a message without a key: the optimizer section's source
        located = locate(exc, where, origin)
        if located == str(exc):
            located = f"{next((v for k, v in origin.items() if k.startswith('optimizer')), where)}: {exc}"
        raise OptrunError(located) from None
    return {"name": canonical, **hps, "schedule": schedule}


def _check_finite(prefix: str, values: dict) -> None:
    """Every number (and every number in a list) must be finite: inf/nan are typos here."""
    for key, value in values.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for v in items:
            if isinstance(v, float) and not math.isfinite(v):
                raise OptrunError(f"{prefix}.{key}: expected a finite number, got {short_repr(value)}")


def _resolve_batch(batch: dict, where: str, origin: dict[str, str]) -> dict:
    """Batch-size defaults: 1 for stochastic, 32 for minibatch (full uses n, known later)."""
    if batch["mode"] == "stochastic":
        if batch["size"] not in (None, 1):
            raise OptrunError(f"{origin.get('batch.size', where)}: batch.size: stochastic mode uses size 1, got {batch['size']}")
        batch["size"] = 1
    elif batch["mode"] == "minibatch" and batch["size"] is None:
        batch["size"] = 32
    return batch


def resolve(cfg: dict, where: str = "config", origin: dict[str, str] | None = None, base_dir: Path | None = None) -> dict:
    """Validate a raw config dict and return the *resolved* config: every default filled in.

    The result is plain Python (dicts, lists, str, int, float, bool, None) in the section
    order of :data:`~optrun.config.keys.SECTIONS`, ready for ``yaml.safe_dump`` and rerunnable
    as is.
    """
    origin = origin or {}
    cfg = _check_sections(cfg, where, origin)
    resolved = _validate_schema(cfg, where, origin)
    resolved["model"] = _resolve_model(resolved, cfg, where, origin)
    if resolved["model"]["name"] in ANALYTIC_MODELS:
        _check_no_data_rules(resolved, cfg, where, origin)
        resolved["loss"] = {"name": None, "l2": 0.0, "l1": 0.0}
    else:
        resolved["dataset"] = _resolve_dataset(resolved, where, origin, base_dir)
        resolved["loss"] = _resolve_loss(resolved, where, origin)
    resolved["optimizer"] = _resolve_optimizer(cfg["optimizer"], where, origin)
    resolved["batch"] = _resolve_batch(resolved["batch"], where, origin)
    # sections new in 0.2 appear in config.yaml only when used
    return {k: resolved[k] for k in SECTIONS if not (k in ("constraints", "plots") and resolved[k] is None)}


# --------------------------------------------------------------------------------------------
# Loading and locating


def load_located(source: str | Path | dict, overrides: list[str] | dict | None = None,
                 where: str | None = None) -> tuple[dict, str, dict[str, str]]:
    """:func:`load`, also returning where the config came from and which override set each key.

    ``where`` is the file path (for a dict: ``where`` if given, the file it was read from, else
    ``"config"``) and ``origin`` maps a dotted key to the override text that set it, so
    :func:`locate` can point a later (semantic) error at the file or the override responsible.
    """
    if isinstance(source, dict):
        raw, where, base_dir = source, where or "config", Path.cwd()
    else:
        raw, where, base_dir = read_config_file(source), str(source), Path(source).resolve().parent
    cfg, origin = apply_overrides(raw, overrides)
    return resolve(cfg, where=where, origin=origin, base_dir=base_dir), where, origin


def load(source: str | Path | dict, overrides: list[str] | dict | None = None, where: str | None = None) -> dict:
    """Load, override and resolve a config from a YAML path or a dict (``where``: the file a
    dict was read from, for the messages)."""
    return load_located(source, overrides, where)[0]


_KEY_PREFIX = re.compile(r"^((?:name|seed|dataset|model|loss|optimizer|batch|train|constraints|plots)(?:\.[A-Za-z0-9_]+)*):")


def locate(error: str | OptrunError, where: str, origin: dict[str, str]) -> str:
    """Prefix a semantic error with the override that set its key, or else the config file,
    so every message names its source.

    The key is the error's ``key`` attribute (an :class:`OptrunError` raised with ``key=``);
    failing that, a message that starts with a dotted key (``batch.size: ...``) names it. A
    message with neither (a CSV error names its file already) is returned as is.
    """
    message = str(error)
    key = getattr(error, "key", None)
    if key is None:
        m = _KEY_PREFIX.match(message)
        if not m or m.group(1).endswith((".yaml", ".yml", ".csv", ".json")):
            return message
        key = m.group(1)
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in origin:
            return f"{origin['.'.join(parts[:i])]}: {message}"
    below = [k for k in origin if k.startswith(key + ".")]  # `dataset.foo.bar=1` for an error at `dataset`
    if below:
        return f"{origin[below[0]]}: {message}"
    return f"{where}: {message}"
