"""The pydantic models of the fixed config sections, built from :mod:`optrun.config.fields`.

The tables in :mod:`~optrun.config.fields` are the schema; this module turns each into a
pydantic model, for the JSON Schema (``json_schema``) and for the error message of a config the
fast path (:func:`optrun.config.fields.fast_validate`) does not accept.

pydantic is slow to import, and the CLI imports :mod:`optrun.config` for every command (``optrun
--help`` must stay fast): so this module imports pydantic at the top, and nothing imports *it*
at module level; :mod:`optrun.config.resolve` imports it inside the functions that validate.

The optimizer section is a plain dict here: its hyperparameters are validated against the
optimizer's own signature (:mod:`optrun.optim`), as a generator's parameters are against the
generator's (:mod:`optrun.data.checks`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator, model_validator

from optrun.config import fields


def _no_bool(value):
    # pydantic's lax mode reads true/false as 1/0; in a config that is always a typo
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


# numbers: never booleans; floats must be finite (allow_inf_nan=False in every model)
Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]
_TYPES = {"str": str, "bool": bool, "int": Int, "float": Float, "dict": dict,
          "str_list": list[str], "float_list": list[Float], "float_matrix": list[list[Float]]}
MODELS: dict[str, type[BaseModel]] = {}  # by section name, filled below (nested models first)


def _annotation(key: fields.Key):
    forms = [Literal[key.choices] if k == "choice" else MODELS[k] if k in MODELS else _TYPES[k] for k in key.kinds]
    ann = forms[0] if len(forms) == 1 else Union[tuple(forms)]
    return Optional[ann] if key.optional else ann


def _field(key: fields.Key):
    default = ... if key.default is fields.REQUIRED else key.default
    if isinstance(default, dict):  # a nested section: its own defaults
        default = MODELS[key.kinds[0]]()
    doc = key.doc() if callable(key.doc) else key.doc
    return Field(default, description=doc, **key.bound.kwargs())


def _check_log_every(cls, value):
    problem = fields.log_every_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_budget(self):
    problem = fields.budget_problem({"steps": self.steps, "epochs": self.epochs})
    if problem:
        raise ValueError(problem)
    return self


_VALIDATORS = {"TrainConfig": {"_positive": field_validator("log_every")(classmethod(_check_log_every)),
                               "_one_budget": model_validator(mode="after")(_check_budget)}}


def _build(table: fields.Section) -> type[BaseModel]:
    config = ConfigDict(extra=table.extra, allow_inf_nan=False, validate_default=table.validate_default)
    return create_model(table.name, __config__=config, __validators__=_VALIDATORS.get(table.name),
                        **{name: (_annotation(key), _field(key)) for name, key in table.keys.items()})


for _table in fields.SECTION_TABLES.values():  # ordered: the nested sections before Config
    MODELS[_table.name] = _build(_table)

Config = MODELS["Config"]
