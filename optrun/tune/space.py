"""Search spaces of :mod:`optrun.tune`: one :class:`Dim` per searched hyperparameter, the default
space of each optimizer and the ``--space OPT:KEY=SPEC`` syntax.

A point u ∈ [0, 1) maps to log: 10^(log10 a + u (log10 b − log10 a)), lin: a + u (b − a),
int: ⌊a + u (b − a + 1)⌋, choice: choices[⌊u n⌋]; values rounded to 4 significant digits.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from optrun import config as config_mod
from optrun.errors import OptrunError


@dataclass(frozen=True)
class Dim:
    """One searched hyperparameter. ``key`` is the optimizer's (``lr``) or an entry of a pair
    (``betas.0``); ``scale`` is log | lin | int | choice."""

    key: str
    scale: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def at(self, u: float) -> Any:
        """The value at u ∈ [0, 1) (see the module docstring), 4 significant digits."""
        u = min(max(float(u), 0.0), 1.0 - 1e-12)
        if self.scale == "choice":
            return self.choices[int(u * len(self.choices))]
        if self.scale == "int":
            return int(min(self.high, math.floor(self.low + u * (self.high - self.low + 1))))
        if self.scale == "log":
            a, b = math.log10(self.low), math.log10(self.high)
            return _round4(10.0 ** (a + u * (b - a)))
        return _round4(self.low + u * (self.high - self.low))

    def text(self) -> str:
        if self.scale == "choice":
            return "|".join(json.dumps(c) if not isinstance(c, str) else c for c in self.choices)
        return f"{self.scale}({self.low:g},{self.high:g})"


def _round4(x: float) -> float:
    return float(f"{x:.4g}")


def _d(key: str, spec: str) -> Dim:
    return parse_dim(key, spec, "DEFAULT_SPACES")


#: The default search space of each optimizer (others: lr log-uniform in [1e-5, 1]).
#: Learning rates span four to five decades around the usual values; momentum-like constants
#: span the range practitioners use. Everything else keeps torch's default.
DEFAULT_SPACES: dict[str, tuple[tuple[str, str], ...]] = {
    "sgd": (("lr", "log(1e-4,1)"),),
    "momentum": (("lr", "log(1e-4,1)"), ("momentum", "lin(0,0.99)")),
    "nag": (("lr", "log(1e-4,1)"), ("momentum", "lin(0,0.99)")),
    "adagrad": (("lr", "log(1e-4,10)"),),
    "rmsprop": (("lr", "log(1e-5,1)"), ("alpha", "lin(0.9,0.999)")),
    "adadelta": (("lr", "log(1e-2,100)"), ("rho", "lin(0.8,0.99)")),
    "adam": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "adamax": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "nadam": (("lr", "log(1e-5,1)"), ("betas.0", "lin(0.8,0.99)"), ("betas.1", "lin(0.9,0.9999)")),
    "newton": (("lr", "lin(0.1,1)"),),
}
FALLBACK_SPACE = (("lr", "log(1e-5,1)"),)

_DIM = re.compile(r"^\s*(log|lin|int)\s*\(([^,]+),([^,]+)\)\s*$")


def parse_dim(key: str, spec: str, where: str = "--space") -> Dim:
    """``log(1e-4,1)`` | ``lin(0,0.99)`` | ``int(1,64)`` | ``a|b|c`` -> :class:`Dim`."""
    m = _DIM.match(spec)
    if m:
        scale = m.group(1)
        try:
            low, high = float(m.group(2)), float(m.group(3))
        except ValueError:
            raise OptrunError(f"{where} {key}={spec}: bounds must be numbers") from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise OptrunError(f"{where} {key}={spec}: expected finite bounds with low < high")
        if scale == "log" and low <= 0:
            raise OptrunError(f"{where} {key}={spec}: log() needs positive bounds")
        if scale == "int":
            if low != int(low) or high != int(high):
                raise OptrunError(f"{where} {key}={spec}: int() needs integer bounds")
            low, high = int(low), int(high)
        return Dim(key, scale, low, high)
    if "|" in spec:
        choices = tuple(config_mod.parse_yaml(c.strip(), f"{where} {key}") for c in spec.split("|"))
        return Dim(key, "choice", choices=choices)
    raise OptrunError(f"{where} {key}={spec!r}: expected log(a,b), lin(a,b), int(a,b) or choices a|b|c")


def parse_space(text: str) -> tuple[str, str, Dim | Any]:
    """``OPT:KEY=SPEC`` -> (optimizer, key, Dim), or (optimizer, key, fixed value) when SPEC is a
    plain value (``adam:eps=1e-6``: the key is fixed and no longer searched)."""
    opt, sep, rest = text.partition(":")
    key, sep2, spec = rest.partition("=")
    if not sep or not sep2 or not opt.strip() or not key.strip() or not spec.strip():
        raise OptrunError(f"--space {text!r}: expected OPT:KEY=log(a,b) | lin(a,b) | int(a,b) | a|b|c | value "
                          "(e.g. sgd:lr=log(1e-3,1))")
    opt, key, spec = opt.strip(), key.strip(), spec.strip()
    if _DIM.match(spec) or "|" in spec:
        return opt, key, parse_dim(key, spec, f"--space {opt}:")
    return opt, key, config_mod.parse_yaml(spec, f"--space {text!r}")


def space_for(name: str, extra: list[tuple[str, str, Any]] = ()) -> tuple[list[Dim], dict]:
    """The searched dimensions and the fixed values of one optimizer: its default space, then
    the ``--space`` entries for it (a Dim replaces or adds a dimension, a value fixes the key)."""
    from optrun import optim

    spec = optim.get_spec(name)
    base = DEFAULT_SPACES.get(spec.name, FALLBACK_SPACE if "lr" in spec.params else ())
    dims = {k: _d(k, s) for k, s in base}
    fixed: dict[str, Any] = {}
    for opt, key, val in extra:
        if opt != name:
            continue
        top = key.split(".")[0]
        if top not in spec.params:
            from optrun._text import did_you_mean

            raise OptrunError(f"--space {opt}:{key}: {opt} has no hyperparameter {top!r}"
                              f"{did_you_mean(top, sorted(spec.params), style='paren')}")
        if isinstance(val, Dim):
            dims[key] = val
            fixed.pop(key, None)
        else:
            fixed[key] = val
            dims.pop(key, None)
    return list(dims.values()), fixed
