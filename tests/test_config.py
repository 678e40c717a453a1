"""Config schema, shorthands, typed YAML, overrides and their error messages."""

import pytest

from optrun import config
from optrun.errors import OptrunError


def write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shorthands_and_defaults_filled(base_config):
    cfg = config.resolve(base_config)
    assert list(cfg) == ["name", "seed", "dataset", "model", "loss", "optimizer", "batch", "train"]
    assert cfg["model"] == {"name": "linear", "fit_intercept": True, "init": "zeros", "init_scale": 0.1}
    assert cfg["loss"] == {"name": "half_mse", "l2": 0.0, "l1": 0.0, "reduction": "mean", "sigma": None}
    assert cfg["batch"]["mode"] == "full"
    assert cfg["optimizer"]["name"] == "sgd"
    # every torch default is filled in
    assert cfg["optimizer"]["momentum"] == 0.0 and cfg["optimizer"]["nesterov"] is False
    assert cfg["optimizer"]["schedule"]["name"] == "constant"
    assert cfg["train"]["log_every"] == "auto" and cfg["train"]["epochs"] is None


def test_loss_default_depends_on_model(base_config):
    base_config["loss"] = {}
    assert config.resolve(base_config)["loss"]["name"] == "mse"


def test_yaml12_floats_are_floats(tmp_path, linear_csv):
    p = write(tmp_path, f"dataset: {{name: csv, path: {linear_csv}}}\noptimizer: {{name: adam, lr: 1e-3}}\ntrain: {{steps: 5}}\n")
    cfg = config.load(p)
    assert cfg["optimizer"]["lr"] == 0.001 and isinstance(cfg["optimizer"]["lr"], float)


def test_relative_csv_path_resolves_against_config_folder(tmp_path, linear_csv):
    sub = tmp_path / "cfgs"
    sub.mkdir()
    p = write(sub, "dataset: {name: csv, path: ../lin.csv}\noptimizer: sgd\ntrain: {steps: 5}\n")
    assert config.load(p)["dataset"]["path"] == str(linear_csv.resolve())


def test_resolved_dump_round_trips(base_config, tmp_path):
    cfg = config.resolve(base_config)
    p = write(tmp_path, config.dump(cfg), "resolved.yaml")
    assert config.load(p) == cfg


def test_overrides_typed_and_dotted(base_config):
    raw, origin = config.apply_overrides(base_config, ["optimizer.lr=1e-2", "batch.mode=minibatch", "batch.size=8", "optimizer.nesterov=true", "optimizer.momentum=0.5"])
    cfg = config.resolve(raw)
    assert cfg["optimizer"]["lr"] == 0.01
    assert cfg["optimizer"]["nesterov"] is True
    assert cfg["batch"] == {"mode": "minibatch", "size": 8, "shuffle": True}


def test_override_into_shorthand_section(base_config):
    raw, _ = config.apply_overrides(base_config, ["model.fit_intercept=false"])
    assert config.resolve(raw)["model"]["fit_intercept"] is False


def test_override_steps_clears_epochs(base_config):
    base_config["train"] = {"epochs": 3}
    raw, _ = config.apply_overrides(base_config, ["train.steps=7"])
    cfg = config.resolve(raw)
    assert cfg["train"]["steps"] == 7 and cfg["train"]["epochs"] is None


def test_config_hash_ignores_key_order(base_config):
    a = config.resolve(base_config)
    b = dict(reversed(list(a.items())))
    assert config.config_hash(a) == config.config_hash(b)
    a2 = config.resolve({**base_config, "seed": 1})
    assert config.config_hash(a) != config.config_hash(a2)


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda c: c.update(optimiser="adam"), "did you mean 'optimizer'"),
        (lambda c: c["optimizer"].update(lrr=0.1), "lrr"),
        (lambda c: c.update(model={"name": "linear", "fit_intercpt": True}), "did you mean 'fit_intercept'"),
        (lambda c: c.update(batch={"mode": "minibatch", "szie": 3}), "did you mean 'size'"),
        (lambda c: c.update(train={"steps": 5, "epochs": 2}), "exactly one of steps or epochs"),
        (lambda c: c.update(train={"tol": 0.1}), "exactly one of steps or epochs"),
        (lambda c: c["optimizer"].update(lr="abc"), "lr"),
        (lambda c: c["optimizer"].update(lr=-1.0), "lr"),
        (lambda c: c["optimizer"].update(name="adamm"), "did you mean 'adam'"),
        (lambda c: c.update(model="linaer"), "linear"),
        (lambda c: c.update(loss="bce"), "bce needs model logistic"),
        (lambda c: c.update(dataset="wmen"), "did you mean 'women'"),
        (lambda c: c.update(batch={"mode": "stochastic", "size": 4}), "stochastic mode uses size 1"),
        (lambda c: c.update(train={"steps": -1}), "train.steps"),
        (lambda c: c.pop("optimizer"), "missing required section 'optimizer'"),
        (lambda c: c.update(model={"init": "ones"}), "model.init"),
        (lambda c: c.update(train={"steps": 5, "log_every": 0}), "log_every"),
    ],
)
def test_schema_errors_name_the_key(base_config, mutate, needle):
    mutate(base_config)
    with pytest.raises(OptrunError) as exc:
        config.resolve(base_config)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "empty"),
        ("- a\n- b\n", "got a list"),
        ("seed: 1\nseed: 2\n", "duplicate key 'seed'"),
        ("seed: [1\n", "invalid YAML"),
        ("seed: !!python/object/apply:os.system ['true']\n", "not allowed"),
        ("dataset: women\noptimizer:\n  name: sgd\n  name: adam\ntrain: {steps: 1}\n", "duplicate key 'name'"),
    ],
)
def test_file_errors(tmp_path, text, needle):
    p = write(tmp_path, text)
    with pytest.raises(OptrunError) as exc:
        config.load(p)
    assert needle in str(exc.value) and str(p) in str(exc.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(OptrunError, match="not found"):
        config.load(tmp_path / "nope.yaml")
    with pytest.raises(OptrunError, match="is a directory"):
        config.load(tmp_path)


@pytest.mark.parametrize("bad", ["optimizer.lr", "=3", "optimizer..lr=3", "nosuch.key=1"])
def test_bad_override_syntax(base_config, bad):
    with pytest.raises(OptrunError, match="override"):
        config.apply_overrides(base_config, [bad])


def test_override_error_names_the_override(base_config):
    raw, origin = config.apply_overrides(base_config, ["batch.size=abc", "batch.mode=minibatch"])
    with pytest.raises(OptrunError, match=r"override batch\.size=abc"):
        config.resolve(raw, origin=origin)


def test_generator_parameter_on_a_file_dataset(base_config):
    raw, origin = config.apply_overrides(base_config, ["dataset.n_samples=5"])
    with pytest.raises(OptrunError, match=r"override dataset.n_samples=5: dataset.n_samples is a parameter of the "
                                          r"synthetic_linear and synthetic_logistic generators, not of the dataset 'csv'"):
        config.resolve(raw, origin=origin)


def test_json_schema_has_sections():
    schema = config.json_schema()
    assert {"dataset", "optimizer", "train", "batch"} <= set(schema["properties"])


def test_locate_prefers_the_error_key():
    origin = {"batch.size": "override batch.size=3", "dataset": "override dataset=women"}
    # the key decides, whatever the message says
    assert config.locate(OptrunError("too big", key="batch.size"), "c.yaml", origin) == "override batch.size=3: too big"
    assert config.locate(OptrunError("no such column", key="dataset.target"), "c.yaml", origin) == \
        "override dataset=women: no such column"  # the closest enclosing key that an override set
    assert config.locate(OptrunError("x", key="train.steps"), "c.yaml", origin) == "c.yaml: x"
    # without a key: a leading dotted key in the message, else the message as is
    assert config.locate("batch.size: too big", "c.yaml", origin) == "override batch.size=3: batch.size: too big"
    assert config.locate(OptrunError("model.init: bad"), "c.yaml", origin) == "c.yaml: model.init: bad"
    assert config.locate("d.csv: line 3: bad", "c.yaml", origin) == "d.csv: line 3: bad"


def test_dataset_errors_are_located_by_key(base_config):
    raw, origin = config.apply_overrides(base_config, ["dataset.name=csv", "dataset.path=", "dataset.targte=y"])
    with pytest.raises(OptrunError) as exc:
        config.resolve(raw, where="c.yaml", origin=origin)
    # csv without a path: the override that asked for csv is to blame
    assert str(exc.value) == "override dataset.name=csv: dataset.path: required when dataset.name is csv"
    raw, origin = config.apply_overrides(base_config, ["dataset.targte=y"])
    with pytest.raises(OptrunError) as exc:
        config.resolve(raw, where="c.yaml", origin=origin)
    assert str(exc.value) == "override dataset.targte=y: unknown key 'dataset.targte'; did you mean 'target'?"


def test_logistic_on_a_regression_generator_is_a_config_error(base_config):
    base_config.update(dataset={"name": "synthetic_linear"}, model="logistic", loss="bce")
    with pytest.raises(OptrunError, match=r"^config: dataset.name: synthetic_linear makes real-valued targets but "
                                          r"model logistic needs 0/1 targets; use synthetic_logistic$"):
        config.resolve(base_config)


def test_config_import_stays_light_and_schema_is_module_level():
    import subprocess
    import sys

    code = ("import sys, optrun.config; print(sorted(m for m in ('numpy', 'pydantic', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from optrun.config import sections

    assert config.json_schema() == sections.Config.model_json_schema()
    assert set(sections.Config.model_fields) == set(config.SECTIONS)


def test_a_section_override_says_what_it_drops():
    raw = {"optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.9}, "train": {"steps": 3}}
    notes = config.replaced_settings(raw, ["optimizer=adam", "train.steps=5"])
    assert len(notes) == 1 and "drops lr=0.5, momentum=0.9" in notes[0] and "optimizer.KEY=VALUE" in notes[0]
    assert config.replaced_settings(raw, ["optimizer={name: adam, lr: 0.5, momentum: 0.9}"]) == []
    assert config.replaced_settings(raw, ["optimizer.name=adam"]) == []
