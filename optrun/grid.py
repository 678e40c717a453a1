"""The value syntax of sweeps and comparisons, and grid expansion (level 5: below the API).

One axis is ``KEY=VALUES``. ``VALUES`` is a comma list (commas inside brackets or quotes do
not split) whose items are YAML values (``0.1``, ``true``, ``[0.9,0.999]``, ``'a,b'``) or one of
three functions with NumPy's meaning:

* ``range(stop)``, ``range(start, stop[, step])``: Python's ``range``, integers only;
* ``linspace(a, b, n)``: ``n`` points from ``a`` to ``b`` inclusive, ``a + (b - a) i / (n - 1)``;
* ``logspace(a, b, n)``: ``10 ** linspace(a, b, n)``.

Float points are rounded to 15 significant digits (``0.30000000000000004`` -> ``0.3``), so a
grid prints, hashes and round-trips through YAML cleanly. The grid of several axes is their
Cartesian product, first axis slowest (``itertools.product``).

A compare value for a whole optimizer, ``adam:lr=0.01,sgd:lr=0.1``, is parsed by
:func:`parse_optimizer_specs`. This module sits just above ``config`` because every value is
typed by its strict YAML reader (``config.parse_yaml``: no tags, no duplicate keys).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from optrun._text import short_repr, split_top_level
from optrun.errors import OptrunError


@dataclass(frozen=True)
class Axis:
    """One swept key: ``key`` (dotted), the text the user gave, and the expanded values."""

    key: str
    spec: str
    values: tuple


#: the most values one axis may expand to, and the most runs a grid may have: a typo such as
#: ``range(1000000000)`` is refused at once instead of filling the memory
MAX_AXIS_VALUES = 100_000
MAX_GRID_RUNS = 100_000

_FUNC = re.compile(r"^\s*(range|linspace|logspace)\s*\((.*)\)\s*$", re.S)


def _number(text: str, where: str) -> int | float:
    from optrun._text import short_repr

    text = text.strip()
    if len(text) > 40:  # no number of a grid needs more digits; int() of 10^5 digits is slow
        raise OptrunError(f"{where}: {short_repr(text)} is not a number of at most 40 characters")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise OptrunError(f"{where}: {text!r} is not a number") from None
    if math.isfinite(value):
        return value
    raise OptrunError(f"{where}: {text!r} is not a finite number")


def _tidy(x: float) -> float:
    """``0.30000000000000004`` -> ``0.3``: 15 significant digits, so grids print and hash cleanly."""
    return float(f"{x:.15g}")


def _expand_function(name: str, args_text: str, where: str) -> list:
    args = [_number(a, where) for a in args_text.split(",")] if args_text.strip() else []
    if name == "range":
        if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
            raise OptrunError(f"{where}: range() takes 1 to 3 integers: range(stop), range(start, stop[, step])")
        if len(args) == 3 and args[2] == 0:
            raise OptrunError(f"{where}: range() step must not be zero")
        if len(range(*args)) > MAX_AXIS_VALUES:  # len() of a range is computed, not counted
            raise OptrunError(f"{where}: range({args_text.strip()}) has {len(range(*args))} values; "
                              f"an axis may have at most {MAX_AXIS_VALUES}")
        return list(range(*args))
    if len(args) != 3 or not isinstance(args[2], int) or args[2] < 1:
        raise OptrunError(f"{where}: {name}() takes (start, stop, count) with an integer count >= 1, e.g. {name}(-4, 0, 9)")
    if args[2] > MAX_AXIS_VALUES:
        raise OptrunError(f"{where}: {name}() count {args[2]}: an axis may have at most {MAX_AXIS_VALUES} values")
    a, b, n = float(args[0]), float(args[1]), args[2]
    points = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
    if n > 1:
        points[-1] = b  # exact end point, as numpy.linspace
    if name == "logspace":
        if any(not -307.0 <= p <= 308.0 for p in points):  # 10.0**400 overflows, 10.0**-400 is 0
            raise OptrunError(f"{where}: logspace({args_text.strip()}): the exponents must lie within -307..308 "
                              "(10**x beyond that is not a float64 number)")
        points = [10.0 ** p for p in points]
    return [_tidy(p) for p in points]


def parse_values(text: str, where: str = "axis") -> list:
    """The values of one axis: a comma list of YAML values and ``range()``/``linspace()``/
    ``logspace()`` terms (numpy meaning: ``logspace(a, b, n)`` = 10**linspace(a, b, n)).

    Every value must be storable as JSON (it goes into ``plan.jsonl``)."""
    from optrun.config import parse_yaml

    values: list = []
    for item in split_top_level(text):
        if not item.strip():
            raise OptrunError(f"{where}: empty value in {text!r} (expected v1,v2,... or range()/linspace()/logspace())")
        m = _FUNC.match(item)
        if m:
            values.extend(_expand_function(m.group(1), m.group(2), where))
        else:
            values.append(parse_yaml(item, where))
    if not values:  # e.g. range(0): the product of the axes would be empty
        raise OptrunError(f"{where}: {text.strip()!r} gives no values")
    for v in values:
        try:
            json.dumps(v, allow_nan=False)
        except (TypeError, ValueError):
            raise OptrunError(f"{where}: value {v!r} cannot be stored in the plan (use numbers, strings, lists)") from None
    return values


def parse_axis(text: str) -> Axis:
    """``"optimizer.lr=logspace(-4,0,9)"`` -> ``Axis("optimizer.lr", "logspace(-4,0,9)", (...))``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    where = f"sweep axis {short_repr(text)}"
    if not sep or not key or not raw.strip():
        raise OptrunError(f"{where}: expected KEY=v1,v2 or KEY='range(5)' with a dotted key, e.g. optimizer.lr=0.1,0.01")
    if any(not p.strip() for p in key.split(".")):
        raise OptrunError(f"{where}: {key!r} is not a dotted key path like optimizer.lr")
    return Axis(key, raw.strip(), tuple(parse_values(raw, where)))


def parse_axes(texts: Iterable[str]) -> list[Axis]:
    """Several axes; a key given twice is an error (its values belong in one axis)."""
    axes = [parse_axis(t) for t in texts]
    seen: set[str] = set()
    for ax in axes:
        if ax.key in seen:
            raise OptrunError(f"sweep axis {ax.key}: given twice; put all its values in one KEY=v1,v2")
        seen.add(ax.key)
    return axes


def grid(axes: list[Axis]) -> list[dict]:
    """The product of the axes as override dicts, first axis slowest (``itertools.product``).

    More than :data:`MAX_GRID_RUNS` runs is refused before the product is built."""
    total = math.prod(len(a.values) for a in axes)
    if total > MAX_GRID_RUNS:
        sizes = " x ".join(str(len(a.values)) for a in axes)
        raise OptrunError(f"sweep: the axes give {sizes} = {total} runs; at most {MAX_GRID_RUNS} "
                          "(split the sweep, or use fewer values)")
    return [dict(zip((a.key for a in axes), combo)) for combo in itertools.product(*(a.values for a in axes))]


def parse_optimizer_specs(text: str, where: str) -> list[dict[str, Any]]:
    """``"adam:lr=0.01,sgd:lr=0.1"`` -> ``[{"name": "adam", "lr": 0.01}, {"name": "sgd", "lr": 0.1}]``.

    Each item names an optimizer, optionally followed by ``:hp=value`` pairs (YAML values; an
    empty value is None). Commas and colons inside brackets do not split
    (``adam:betas=[0.9,0.99]``)."""
    from optrun.config import parse_yaml

    raws = split_top_level(text)
    if any(not r.strip() for r in raws):
        raise OptrunError(f"{where}: empty value in the list (two commas in a row?)")
    specs = []
    for r in raws:
        name, *hps = split_top_level(r, ":")
        opt: dict[str, Any] = {"name": name.strip()}
        for hp in hps:
            k, s, v = hp.partition("=")
            if not s or not k.strip():
                raise OptrunError(f"{where}: {r!r}: expected NAME:hp=value:hp=value (e.g. adam:lr=0.01)")
            opt[k.strip()] = parse_yaml(v, where) if v.strip() else None
        specs.append(opt)
    return specs
