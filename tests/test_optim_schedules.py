"""LR schedules: multiplier values by hand, warmup, validation, purity."""

from __future__ import annotations

import math
import pickle

import pytest

from optrun import optim
from optrun.errors import OptrunError
from optrun.optim import schedules
from optrun.optim.schedules import make_schedule


def values(cfg, total=20, upto=None):
    f = make_schedule(cfg, total_steps=total)
    return [f(t) for t in range(1, (upto or total) + 1)]


def test_names():
    assert schedules.names() == ["constant", "step", "exponential", "inverse_time", "cosine"]
    assert optim.schedules is schedules


def test_constant_and_default():
    assert values({"name": "constant"}, 5) == [1.0] * 5
    assert values(None, 3) == [1.0] * 3
    assert values("constant", 2) == [1.0] * 2


def test_step_is_torch_steplr():
    v = values({"name": "step", "step_size": 3, "gamma": 0.5}, 10)
    assert v == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    assert values({"name": "step", "step_size": 2}, 5) == pytest.approx([1, 1, 0.1, 0.1, 0.01])


def test_exponential():
    assert values({"name": "exponential", "gamma": 0.9}, 4) == pytest.approx(
        [1.0, 0.9, 0.81, 0.729], rel=1e-15)


def test_inverse_time_is_sklearn_invscaling():
    assert values({"name": "inverse_time"}, 3) == pytest.approx([1.0, 2**-0.25, 3**-0.25])
    assert values({"name": "inverse_time", "power_t": 1.0}, 4) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])


def test_cosine():
    v = values({"name": "cosine"}, total=4, upto=6)
    # T = total steps = 4: (1 + cos(π (t−1)/4)) / 2, then stays at min_factor after T
    expected = [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0.0, 0.0]
    assert v == pytest.approx(expected, abs=1e-15)
    v = values({"name": "cosine", "decay_steps": 2, "min_factor": 0.1}, total=100, upto=4)
    assert v == pytest.approx([1.0, 0.1 + 0.9 * 0.5, 0.1, 0.1])


def test_linear_warmup_multiplies_the_schedule():
    v = values({"name": "constant", "warmup_steps": 4}, 6)
    assert v == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    v = values({"name": "step", "step_size": 2, "gamma": 0.5, "warmup_steps": 3}, 5)
    assert v == pytest.approx([1 / 3, 2 / 3, 0.5, 0.5, 0.25])  # t=3 is 3/3 * 0.5
    v = values({"name": "cosine", "warmup_steps": 2}, total=4)
    assert v[0] == pytest.approx(0.5) and v[1] == pytest.approx((1 + math.cos(math.pi / 4)) / 2)


def test_step_one_uses_the_base_lr():
    for cfg in ({"name": "step", "step_size": 1}, {"name": "exponential", "gamma": 0.5},
                {"name": "inverse_time", "power_t": 2.0}, {"name": "cosine"}):
        assert make_schedule(cfg, total_steps=10)(1) == 1.0


def test_validate_fills_defaults():
    assert schedules.validate({"name": "cosine"}) == {
        "name": "cosine", "decay_steps": None, "min_factor": 0.0, "warmup_steps": 0}
    assert schedules.validate({"name": "step", "step_size": 5}) == {
        "name": "step", "step_size": 5, "gamma": 0.1, "warmup_steps": 0}
    assert schedules.validate(None) == {"name": "constant", "warmup_steps": 0}
    assert schedules.validate({"name": "Exponential", "gamma": 1}) == {
        "name": "exponential", "gamma": 1.0, "warmup_steps": 0}


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"name": "cosin"}, r"optimizer.schedule.name: unknown schedule 'cosin'; did you mean 'cosine'"),
        ({"name": "step"}, r"optimizer.schedule.step_size: required \(an integer >= 1\)"),
        ({"name": "step", "step_size": 0}, r"optimizer.schedule.step_size: expected an integer >= 1, got 0"),
        ({"name": "step", "step_size": 2, "gama": 0.5}, r"optimizer.schedule.gama: .*did you mean 'gamma'"),
        ({"name": "constant", "gamma": 0.5}, r"'gamma' is a parameter of: step, exponential"),
        ({"name": "exponential", "gamma": 1.5}, r"optimizer.schedule.gamma: expected a number in \(0, 1\]"),
        ({"name": "cosine", "min_factor": 2}, r"optimizer.schedule.min_factor: expected a number in \[0, 1\]"),
        ({"name": "constant", "warmup_steps": -1}, r"optimizer.schedule.warmup_steps: expected an integer >= 0"),
        ({"name": "cosine", "decay_steps": 2.5}, r"optimizer.schedule.decay_steps: expected an integer >= 1 or null"),
        (["cosine"], r"optimizer.schedule: expected a mapping"),
    ],
)
def test_validation_errors(cfg, message):
    with pytest.raises(OptrunError, match=message):
        schedules.validate(cfg)


def test_schedules_are_pure_and_picklable():
    f = make_schedule({"name": "cosine", "warmup_steps": 3}, total_steps=10)
    first = [f(t) for t in range(1, 11)]
    assert [f(t) for t in range(10, 0, -1)][::-1] == first  # no hidden state: order-free
    g = pickle.loads(pickle.dumps(f))
    assert [g(t) for t in range(1, 11)] == first


def test_specs_document_their_formula():
    for name in schedules.names():
        spec = schedules.get_spec(name)
        assert spec.summary and "warmup_steps" in spec.params
