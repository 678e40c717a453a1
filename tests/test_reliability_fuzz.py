"""Reliability, part 3: property-based tests. Random configs, overrides, YAML text and CSV bytes
go into the loaders (and, when they are valid, into a short real run); the only outcomes allowed
are a clean one-line OptrunError with nothing left on disk, or a valid run folder.

Budgets are bounded (few steps, small data) and examples are capped so the file stays fast;
``OPTRUN_FUZZ_SCALE=20 pytest tests/test_reliability_fuzz.py`` hunts longer.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import optrun
from optrun import config, data, optim, prepare
from optrun.errors import OptrunError
from optrun.rundir import read_summary, read_trace

def examples(n: int) -> int:
    """Example counts, scaled by ``OPTRUN_FUZZ_SCALE`` (e.g. 20 for a long bug hunt)."""
    return max(1, int(n * float(os.environ.get("OPTRUN_FUZZ_SCALE", "1"))))


FAST = settings(deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

CSV_TEXT = "x1,x2,y\n" + "\n".join(f"{i * 0.3 - 2:.2f},{(i * 7) % 5 - 2.0},{(i % 2)}" for i in range(24)) + "\n"
CSV_DIR = Path(tempfile.mkdtemp(prefix="optrun-fuzz-"))
CSV_PATH = CSV_DIR / "d.csv"
CSV_PATH.write_text(CSV_TEXT)

# --------------------------------------------------------------------------------------------
# Strategies: mostly plausible values, with garbage mixed in

garbage = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**13),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.integers(-2, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


def rarely(bad, good, one_in: int = 15):
    """``good``, except one draw in ``one_in`` (roughly) is ``bad``."""
    # hypothesis favours the ends of a range, so the rare branch is a value in the middle
    return st.integers(1, one_in).flatmap(lambda k: bad if k == one_in // 2 + 1 else good)


def maybe(good):
    """Usually a good value, now and then garbage (so whole configs are often valid)."""
    return rarely(garbage, good)


def section(required: dict, optional: dict, shorthand=None):
    d = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(st.sampled_from(["nme", "zzz", "lrr", "size "]), garbage, min_size=1, max_size=1)
    d = rarely(st.tuples(d, extra).map(lambda t: {**t[0], **t[1]}), d, 20)
    return st.one_of(d, shorthand) if shorthand is not None else d


small_float = st.floats(0, 1, allow_nan=False)
_common = {"standardize": maybe(st.booleans()), "validation_fraction": maybe(st.sampled_from([0.0, 0.1, 0.3, 0.6]))}
_gen = {"n_samples": maybe(st.integers(2, 300)), "n_features": maybe(st.integers(1, 4)),
        "condition_number": maybe(st.floats(1, 1e6))}
dataset = st.one_of(
    st.sampled_from(["women", "longley", "iris_virginica", "synthetic_linear", "synthetic_logistic"]),
    section({"name": st.sampled_from(["women", "longley", "iris_virginica"])}, _common),
    section({"name": st.just("synthetic_linear")}, {**_common, **_gen, "noise": maybe(st.floats(0, 2))}),
    section({"name": st.just("synthetic_logistic")}, {**_common, **_gen, "label_noise": maybe(st.floats(0, 0.5))}),
    section({"name": st.just("csv"), "path": maybe(st.just("CSV"))},
            {**_common, "target": maybe(st.sampled_from(["y", "x1", "z"])),
             "features": maybe(st.lists(st.sampled_from(["x1", "x2", "y", "q"]), max_size=3))}),
    rarely(section({"name": garbage}, {"path": garbage, "target": garbage, "features": garbage, "noise": garbage}),
           st.sampled_from(["women", "wmen", "csv"]), 3),
)
model = section(
    {},
    {"name": maybe(st.sampled_from(["linear", "logistic", "logistc"])), "fit_intercept": maybe(st.booleans()),
     "init": maybe(st.one_of(st.sampled_from(["zeros", "normal"]), st.lists(st.floats(-2, 2), max_size=4))),
     "init_scale": maybe(st.floats(0.01, 1))},
    shorthand=st.sampled_from(["linear", "logistic"]),
)
loss = section(
    {}, {"name": maybe(st.sampled_from(["mse", "half_mse", "bce"])), "l2": maybe(st.floats(0, 1)), "l1": maybe(st.floats(0, 1))},
    shorthand=st.sampled_from(["mse", "half_mse", "bce"]),
)
HP = {
    "lr": st.sampled_from([1e-3, 0.01, 0.1, 1.0, 1e3, 1e300]), "momentum": small_float,
    "dampening": small_float, "nesterov": st.booleans(), "betas": st.lists(st.floats(0, 0.999), min_size=2, max_size=2),
    "eps": st.floats(1e-12, 1e-3), "rho": st.floats(0, 0.99), "alpha": st.floats(0, 0.99), "centered": st.booleans(),
    "amsgrad": st.booleans(), "weight_decay": st.floats(0, 0.1), "damping": st.floats(0, 1), "lr_decay": st.floats(0, 0.1),
    "initial_accumulator_value": st.floats(0, 1), "momentum_decay": st.floats(0, 0.01),
    "decoupled_weight_decay": st.booleans(),
}
SCHEDULE = st.one_of(
    st.sampled_from(["constant", "step", "exponential", "inverse_time", "cosine"]),
    st.fixed_dictionaries({"name": st.sampled_from(["step", "exponential"])},
                          optional={"gamma": maybe(st.floats(0.1, 1)), "warmup_steps": maybe(st.integers(0, 5))}),
    st.fixed_dictionaries({"name": st.just("cosine")}, optional={"min_factor": maybe(small_float)}),
)


def _optimizer_for(name: str):
    params = list(optim.get_spec(optim.resolve_name(name)).params) if name in optim.names() or name == "gd" else []
    optional = {p: maybe(HP[p]) for p in params if p in HP}
    optional["schedule"] = maybe(SCHEDULE)
    return section({"name": st.just(name)}, optional)


_RUNNABLE = optim.names()
optimizer = st.one_of(
    st.sampled_from([*_RUNNABLE, "gd"]).flatmap(_optimizer_for),
    rarely(st.sampled_from(["adamm", "momentun", ""]), st.sampled_from(["sgd", "adam", "newton", "rmsprop"]), 5),
    rarely(st.fixed_dictionaries({"name": st.sampled_from(["adam", "sgd"])},
                                 optional={k: garbage for k in ("lr", "momentum", "betas", "eps", "schedule")}),
           st.sampled_from(["adam", "sgd"]), 3),
)
batch = section(
    {}, {"mode": maybe(st.sampled_from(["full", "stochastic", "minibatch"])), "size": maybe(st.integers(0, 40)),
         "shuffle": maybe(st.booleans())},
    shorthand=st.sampled_from(["full", "stochastic", "minibatch"]),
)
_train_rest = {"tol": maybe(st.floats(0, 1)), "log_every": maybe(st.one_of(st.just("auto"), st.integers(1, 5))),
               "dtype": maybe(st.sampled_from(["float64", "float32"])), "divergence_factor": maybe(st.floats(2, 1e12))}
train = st.one_of(
    section({"steps": maybe(st.integers(1, 40))}, _train_rest),
    section({"epochs": maybe(st.floats(0.1, 2))}, _train_rest),
    rarely(section({}, {"steps": garbage, "epochs": garbage, **_train_rest}), st.just({"steps": 3}), 3),
)
configs = st.fixed_dictionaries(
    {"dataset": dataset, "optimizer": optimizer, "train": train},
    optional={"seed": maybe(st.integers(0, 2**40)), "name": maybe(st.text(max_size=12)), "model": model,
              "loss": loss, "batch": batch},
)

override_keys = st.sampled_from([
    "optimizer.lr", "optimizer.name", "optimizer.betas", "optimizer.schedule.name", "batch.mode", "batch.size",
    "train.steps", "train.epochs", "model.name", "model.init", "dataset.name", "dataset.standardize", "seed",
    "loss.l2", "optimiser.lr", "train", "train.steps.x", "", "optimizer..lr",
])
override_values = st.one_of(
    st.sampled_from(["0.1", "1e-3", "-1", "abc", "[1, 2]", "{name: cosine}", "true", "null", "", "[1", "!!python/name:os.system",
                     "adam", "minibatch", "3", "1e400", ".nan", "0"]),
    st.text(max_size=8),
)
overrides = rarely(
    st.lists(st.one_of(st.tuples(override_keys, override_values).map(lambda kv: f"{kv[0]}={kv[1]}"), st.text(max_size=12)),
             min_size=1, max_size=3),
    st.just([]), 3,
)


def _fill(cfg):
    """Put the real CSV path where the strategy says "CSV"."""
    if isinstance(cfg, dict):
        return {k: _fill(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_fill(v) for v in cfg]
    return str(CSV_PATH) if cfg == "CSV" else cfg


def _clean(exc: OptrunError) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg and "Traceback" not in msg


def _short_enough(resolved: dict) -> bool:
    """Skip the (valid but) long runs: the property is about loading, a run just confirms it."""
    try:
        problem = prepare.prepare(resolved)
    except OptrunError:
        return True  # train() must then raise the same clean error
    return problem.total_steps <= 3000


def _check_run_or_clean_error(cfg, ovr, out: Path) -> None:
    before = set(out.iterdir()) if out.exists() else set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape either
        try:
            result = optrun.train(cfg, overrides=ovr, out=out, plots=False)
        except OptrunError as exc:
            event("clean error")
            _clean(exc)
            after = set(out.iterdir()) if out.exists() else set()
            assert after == before, "a failed config left a run folder"
            return
    s = read_summary(result.run_dir)
    event(f"run {s['status']}")
    assert s["status"] in ("completed", "converged", "diverged"), s
    trace = read_trace(result.run_dir)
    assert trace["step"].iloc[0] == 0 and int(trace["step"].iloc[-1]) == s["steps"] and len(trace) == s["trace_rows"]
    if s["status"] != "diverged":
        assert math.isfinite(s["final_loss"])
    assert config.load(result.run_dir / "config.yaml") == config.load(cfg, ovr)  # saved resolved, rerunnable


# --------------------------------------------------------------------------------------------
# Properties


@settings(FAST, max_examples=examples(150))
@given(cfg=configs, ovr=overrides)
def test_random_configs_and_overrides_load_cleanly(cfg, ovr):
    cfg = _fill(cfg)
    try:
        resolved = config.load(cfg, ovr)
    except OptrunError as exc:
        event("clean error")
        _clean(exc)
        return
    event("resolved")
    # a resolved config is plain data, dumps to YAML and loads back to itself
    again = config.load(yaml.safe_load(config.dump(resolved)))
    assert again == resolved


@settings(FAST, max_examples=examples(60))
@given(cfg=configs, ovr=overrides)
def test_random_configs_give_clean_errors_or_valid_runs(cfg, ovr):
    cfg = _fill(cfg)
    try:
        resolved = config.load(cfg, ovr)
    except OptrunError:
        resolved = None
    if resolved is not None and not _short_enough(resolved):
        event("skipped: long run")
        return
    with tempfile.TemporaryDirectory() as d:
        _check_run_or_clean_error(cfg, ovr, Path(d) / "runs")


JUNK = st.sampled_from(["\t", ":", "- ", "!!python/object:os.system ", "&a ", "*a", "{", "]", "\x00", "\n  ", "? ",
                        "%YAML 1.1\n---\n", "'", '"', "\ufeff", "<<: *a\n"])


@st.composite
def yaml_texts(draw):
    """Either random text, or a dumped config with junk spliced in somewhere."""
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    text = yaml.safe_dump(_fill(draw(configs)))
    i = draw(st.integers(0, len(text)))
    return text[:i] + draw(JUNK) + text[i:]


@settings(FAST, max_examples=examples(200))
@given(text=yaml_texts())
def test_random_yaml_text_loads_cleanly(text):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.yaml"
        p.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        try:
            config.load(p)
        except OptrunError as exc:
            _clean(exc)


BAD_CELLS = st.sampled_from(["", " ", "nan", "inf", "-inf", "abc", "1e400", "1e200", '"', '""', "1_000", "0x10",
                             "\t", "NaN", "1,5", "\r", "é", "1e-320", "\x00"])
GOOD_CELLS = st.one_of(st.sampled_from(["0", "1"]), st.floats(-5, 5, allow_nan=False).map(repr),
                       st.integers(-9, 9).map(str), st.floats(-5, 5).map(lambda v: f" {v:.3g} "))
BAD_HEADERS = st.lists(st.sampled_from(["x1", "", "a,b", '"q"', "1", "nan", "ü", " z ", "y"]), max_size=4)


@st.composite
def csv_texts(draw, binary_target: bool = False):
    """Mostly well-formed numeric CSVs (so some load and train), with rare defects of every kind."""
    ncol = draw(st.integers(2, 4))
    header = draw(rarely(BAD_HEADERS, st.just([f"x{j + 1}" for j in range(ncol - 1)] + ["y"]), 8))
    nrows = draw(st.integers(0, 12))
    rows = []
    for _ in range(nrows):
        width = draw(rarely(st.integers(0, 5), st.just(ncol), 25))
        row = [draw(rarely(BAD_CELLS, GOOD_CELLS, 40)) for _ in range(width)]
        if binary_target and row:
            row[-1] = draw(rarely(GOOD_CELLS, st.sampled_from(["0", "1", "1.0", " 0 "]), 20))
        rows.append(row)
    sep = draw(rarely(st.sampled_from([";", "\t", "|"]), st.just(","), 10))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(sep.join(r) for r in [header, *rows])
    if draw(st.booleans()):
        text += newline
    return text.encode("utf-8")


csv_bytes = st.one_of(st.binary(max_size=300), csv_texts())


def _load_csv(raw: bytes, spec: dict, model: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "d.csv"
        p.write_bytes(raw)
        rngs = prepare.streams(0)
        try:
            ds = data.load_dataset({"name": "csv", "path": str(p), **spec}, None, rngs["data"], rngs["split"], model)
        except OptrunError as exc:
            event("clean error")
            _clean(exc)
            return
        event("loaded")
        assert ds.X.ndim == 2 and ds.X.shape[0] == ds.y.shape[0] >= 1
        assert np.isfinite(ds.X).all() and np.isfinite(ds.y).all()
        if model == "logistic":
            assert set(np.unique(ds.y)) <= {0.0, 1.0}


@settings(FAST, max_examples=examples(250))
@given(raw=csv_bytes, model=st.sampled_from(["linear", "logistic"]),
       spec=st.fixed_dictionaries({}, optional={"standardize": st.booleans(), "validation_fraction": st.sampled_from([0.0, 0.25, 0.5]),
                                                "target": st.sampled_from(["y", "x1"]), "features": st.lists(st.sampled_from(["x1", "x2"]), max_size=2)}))
def test_random_csv_bytes_load_cleanly(raw, model, spec):
    _load_csv(raw, spec, model)


@settings(FAST, max_examples=examples(50))
@given(model_raw=st.sampled_from(["linear", "logistic"]).flatmap(
           lambda m: st.tuples(st.just(m), csv_texts(binary_target=m == "logistic"))),
       standardize=st.booleans(), opt=st.sampled_from(["sgd", "adam", "newton"]), mode=st.sampled_from(["full", "minibatch"]))
def test_random_csv_gives_clean_error_or_valid_run(model_raw, standardize, opt, mode):
    model, raw = model_raw
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "d.csv"
        p.write_bytes(raw)
        cfg = {"dataset": {"name": "csv", "path": str(p), "standardize": standardize}, "model": model,
               "optimizer": {"name": opt, "lr": 0.1}, "batch": {"mode": mode, "size": 1} if mode == "minibatch" else mode,
               "train": {"steps": 5}}
        _check_run_or_clean_error(cfg, None, Path(d) / "runs")


@pytest.fixture(scope="module", autouse=True)
def _cleanup_csv_dir():
    yield
    import shutil

    shutil.rmtree(CSV_DIR, ignore_errors=True)
