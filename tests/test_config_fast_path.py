"""The config checks' fast path (no pydantic) against pydantic itself.

:func:`optrun.config.fields.fast_validate` and :func:`optrun.schema._plainly_valid` answer for
plainly valid values and defer everything else to pydantic. These tests hold them to one rule:
whenever the fast path answers, pydantic accepts the same input and gives the same output.
And they check that the fast path does answer for real configs, so `optrun train` imports no
pydantic (its start-up target, docs/performance.md).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optrun import optim
from optrun.config import fields, sections
from optrun.config.resolve import _check_sections
from optrun.config.yaml_io import read_config_file
from optrun.errors import OptrunError
from optrun.schema import _UNSURE, _plainly_valid, check_value
from optrun.optim import schedules

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def pydantic_dump(cfg: dict):
    """pydantic's answer: the dump, or None when it refuses."""
    from pydantic import ValidationError

    try:
        return sections.Config.model_validate(cfg).model_dump()
    except ValidationError:
        return None


def same(a, b) -> bool:
    """Equal values of equal types, all the way down (1 == 1.0 == True would hide a wrong type)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_takes_the_fast_path_with_pydantics_result(path):
    raw = read_config_file(path)
    if not isinstance(raw, dict) or "sweep" in raw or "train" not in raw:
        pytest.skip("not a single-run config")
    cfg = {**_check_sections(raw, str(path), {}), "optimizer": {}}
    fast = fields.fast_validate(cfg)
    assert fast is not None, "a shipped config should not need pydantic"
    assert same(fast, pydantic_dump(cfg))


# Values chosen to sit on every edge the two paths could disagree on: bools for numbers, ints for
# floats and floats for ints, non-finite and huge numbers, bounds, strings, lists, None.
ANY = [None, True, False, 0, 1, -1, 2, 3, 10**400, 0.0, 0.5, 1.0, 1.5, -0.5, 1e100, 1e101, math.inf, math.nan,
       "", "auto", "zeros", "normal", "full", "minibatch", "mse", "bce", "sum", "float32", "project", "x",
       "1.5", "true", [], [1, 2.5], [True], ["a", "b"], [[1.0, 0.0], [0.0, 2]], [[1, "x"]], {}, {"a": 1}]
values = st.sampled_from(ANY)


def section(table: fields.Section):
    keys = list(table.keys) + ["unknown_key", 7, True]  # YAML gives int and bool keys too (`7:`, `on:`)
    return st.dictionaries(st.sampled_from(keys), values, max_size=4)


configs = st.fixed_dictionaries(
    {"train": st.one_of(section(fields.TRAIN), st.just({"steps": 5}), st.just({"epochs": 2}))},
    optional={"name": values, "seed": values, "dataset": st.one_of(st.none(), section(fields.DATASET)),
              "model": section(fields.MODEL), "loss": section(fields.LOSS), "batch": section(fields.BATCH),
              "constraints": st.one_of(st.none(), section(fields.CONSTRAINTS)), "plots": values},
).map(lambda c: {**c, "optimizer": {}})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_fast_path_answers_only_what_pydantic_answers_the_same(cfg):
    fast = fields.fast_validate(cfg)
    if fast is not None:
        assert same(fast, pydantic_dump(cfg))


def test_fast_path_values_by_hand():
    base = {"optimizer": {}, "train": {"steps": 5}}
    out = fields.fast_validate({**base, "loss": {"l2": 1}, "model": {"init": [1, 2]}})
    assert out["loss"]["l2"] == 1.0 and type(out["loss"]["l2"]) is float
    assert out["model"]["init"] == [1.0, 2.0] and all(type(v) is float for v in out["model"]["init"])
    assert out["train"] == {**{k: key.default for k, key in fields.TRAIN.keys.items()}, "steps": 5}
    # deferred to pydantic (which refuses or explains): a bool for a number, a float for an int,
    # a non-finite float, a bound, both or neither budget, an unknown key
    for bad in ({"loss": {"l2": True}}, {"batch": {"size": 2.0}}, {"loss": {"l1": math.inf}},
                {"dataset": {"name": "women", "validation_fraction": 1.0}},
                {"train": {"steps": 5, "epochs": 1.0}}, {"train": {}}, {"model": {"nme": "linear"}},
                {"train": {"steps": 5, "log_every": 0}}):
        assert fields.fast_validate({**base, **bad}) is None, bad


def test_fast_path_shares_no_container_with_its_input():
    """Like pydantic's dump: resolving must never alias the raw config (a sweep reuses it)."""
    from collections import defaultdict

    base = {"optimizer": {}, "train": {"steps": 3}}
    assert fields.fast_validate({**base, "dataset": {"name": "x", 7: 1}}) is None  # pydantic: keys are strings
    assert fields.fast_validate({**base, "plots": {"k": defaultdict(int)}}) is None  # pydantic makes it a dict
    lower, params, plots = [0, 1], {"a": [1]}, {"figures": ["loss"]}
    cfg = {"optimizer": {}, "train": {"steps": 3}, "constraints": {"lower": lower},
           "model": {"function_params": params}, "plots": plots}
    out = fields.fast_validate(cfg)
    assert out["constraints"]["lower"] == lower and out["constraints"]["lower"] is not lower
    assert out["model"]["function_params"]["a"] is not params["a"] and out["plots"]["figures"] is not plots["figures"]


def test_the_pydantic_models_are_built_from_the_tables():
    for name, table in fields.SECTION_TABLES.items():
        model = sections.MODELS[name]
        assert list(model.model_fields) == list(table.keys)
        for key_name, key in table.keys.items():
            f = model.model_fields[key_name]
            assert f.is_required() == (key.default is fields.REQUIRED)
            if not f.is_required() and not isinstance(key.default, dict):
                assert f.default == key.default


# --------------------------------------------------------------------------------------------
# The optimizer's and the schedule's hyperparameters (signature-as-schema)


def all_specs():
    for name in optim.names():
        yield from optim.get_spec(name).params.values()
    for name in schedules.names():
        yield from schedules.get_spec(name).params.values()


SPECS = list(all_specs())
HP_VALUES = ANY + [(0.9, 0.999), [0.9, 0.999], [0.9, 1.0], (None, 1e-3), [None, 1e-3], [1, 2, 3], 1e-8, 100, 0.999]


@pytest.mark.parametrize("value", HP_VALUES, ids=lambda v: repr(v)[:20])
def test_hyperparameter_fast_path_matches_pydantic(value):
    from pydantic import ValidationError

    from optrun.schema import _adapter, _plain

    answered = 0
    for spec in SPECS:
        fast = _plainly_valid(spec.annotation, value)
        if fast is _UNSURE:
            continue
        answered += 1
        assert same(fast, _plain(spec.annotation, _adapter(spec.annotation).validate_python(value))), spec
        assert same(check_value(spec, value, ""), fast)
    # ValidationError imported to make sure the pydantic path is the one compared against
    assert ValidationError


def test_hyperparameter_fast_path_leaves_other_metadata_to_pydantic():
    """Only bounds are checked here: a validator, a pydantic Field or MultipleOf in a factory's
    annotation (a plugin's, say) sends the value to pydantic, which enforces it."""
    from typing import Annotated

    import annotated_types as at
    from pydantic import AfterValidator, Field

    from optrun.schema import ParamSpec, describe

    def odd(v):
        if v == 3.0:
            raise ValueError("not 3")
        return v

    for ann, bad in ((Annotated[float, Field(gt=0)], -1.0), (Annotated[float, AfterValidator(odd)], 3.0),
                     (Annotated[float, at.MultipleOf(2)], 3.0), (Annotated[float, at.Gt(0)], -1.0)):
        assert _plainly_valid(ann, bad) is _UNSURE or ann.__metadata__[0].__class__.__name__ == "Gt"
        with pytest.raises(OptrunError):
            check_value(ParamSpec("x", 1.0, ann, describe(ann)), bad, "optimizer.")
    assert _plainly_valid(Annotated[float, at.Gt(0)], 2) == 2.0  # annotated_types' bounds are read


def test_hyperparameter_fast_path_answers_the_common_values():
    lr = optim.get_spec("sgd").params["lr"]
    betas = optim.get_spec("adam").params["betas"]
    assert _plainly_valid(lr.annotation, 1) == 1.0 and type(_plainly_valid(lr.annotation, 1)) is float
    assert _plainly_valid(lr.annotation, 0) is _UNSURE and _plainly_valid(lr.annotation, True) is _UNSURE
    assert _plainly_valid(betas.annotation, [0.9, 0.99]) == [0.9, 0.99]
    assert _plainly_valid(betas.annotation, [0.9, 1.0]) is _UNSURE


def test_train_imports_no_pydantic(tmp_path):
    """The fast path carries a plain run: `optrun train` never imports pydantic (~85 ms)."""
    code = ("import sys; from optrun import api; "
            "api.train({'dataset': {'name': 'women'}, 'optimizer': {'name': 'adam', 'lr': 0.1, 'betas': [0.8, 0.9]}, "
            "'train': {'steps': 3}}, out=sys.argv[1], plots=False); "
            "assert 'pydantic' not in sys.modules, 'pydantic was imported'")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)
