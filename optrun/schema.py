"""Signature-as-schema: a factory's signature is its config schema.

A registered factory (an optimizer or an lr schedule) declares its parameters with names,
defaults and bounds::

    def adam(lr: PositiveFloat = 1e-3, betas: Betas = (0.9, 0.999), ...)

This module turns such a signature into :class:`ParamSpec` records (for listings and docs) and
validates user values against it. Bounds are :class:`Bound` metadata inside ``typing.Annotated``
(annotated_types' ``Gt``, ``Ge``, ``Interval`` are read too).

pydantic does the type checking and coercion (ints to floats, lists to tuples, bounds), but it
is imported lazily inside :func:`validate_values`: ``import optrun.optim`` must stay cheap
because the CLI imports it to print ``--help``.
"""

from __future__ import annotations

import inspect
import math
import operator
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from optrun._text import did_you_mean  # noqa: F401  (re-exported)
from optrun.errors import OptrunError


class Bound:
    """The bounds of a number in an annotation: ``Annotated[float, Bound(gt=0)]``,
    ``Annotated[float, Bound(ge=0, lt=1)]``. What annotated_types' ``Gt``/``Ge``/``Lt``/``Le``/
    ``Interval`` say, without importing it (with typing_extensions, ~9 ms of every command's
    start-up); pydantic gets annotated_types' own objects on the rare path that asks it
    (:func:`_for_pydantic`)."""

    __slots__ = ("gt", "ge", "lt", "le")

    def __init__(self, gt=None, ge=None, lt=None, le=None):
        self.gt, self.ge, self.lt, self.le = gt, ge, lt, le

    def _key(self) -> tuple:
        return (self.gt, self.ge, self.lt, self.le)

    def __eq__(self, other) -> bool:
        return isinstance(other, Bound) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Bound(" + ", ".join(f"{k}={v!r}" for k, v in self.kwargs().items()) + ")"

    def kwargs(self) -> dict:
        """The bounds that are set, as keywords (``{"gt": 0}``): pydantic's ``Field`` and
        annotated_types' ``Interval`` take them as they are."""
        return {k: v for k, v in zip(self.__slots__, self._key()) if v is not None}

    def holds(self, value) -> bool:
        """``value`` is within every bound (Python compares int and float exactly)."""
        return all(_COMPARE[k](value, v) for k, v in self.kwargs().items())


_COMPARE = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


def plain_number(value: Any, base: type, bounds: Iterable[Bound] = ()) -> int | float | None:
    """``value`` as ``base`` (int or float) when it plainly is one, else None: an int or a float
    for a float (never a bool, a string or a NumPy scalar), an int for an int; finite; within
    every bound. The fast paths of the config (:mod:`optrun.config.fields`) and of the factories'
    parameters (:func:`check_value`) read numbers this way and leave the rest to pydantic."""
    kind = type(value)
    if kind not in (int, float) or (base is int and kind is not int):
        return None
    try:
        number = base(value)
    except OverflowError:
        return None
    finite = kind is int or math.isfinite(number)  # an int is finite (and may not fit a float)
    return number if finite and all(b.holds(number) for b in bounds) else None

# Shared annotations. Bounds follow torch's constructor checks, made strict where a zero value is
# meaningless for an experiment (lr = 0 never moves; eps = 0 can divide by zero).
PositiveFloat = Annotated[float, Bound(gt=0)]
NonNegFloat = Annotated[float, Bound(ge=0)]
UnitFloat = Annotated[float, Bound(ge=0, le=1)]
Beta = Annotated[float, Bound(ge=0, lt=1)]
Betas = tuple[Beta, Beta]
PositiveInt = Annotated[int, Bound(ge=1)]
NonNegInt = Annotated[int, Bound(ge=0)]
NonPosFloat = Annotated[float, Bound(le=0)]
# A tuple whose entries may be null, e.g. Adafactor's eps = (None, 1e-3): the first entry
# null means "use the float64 machine epsilon" (torch's finfo(param.dtype).eps).
OptionalNonNegFloat = NonNegFloat | None


class _Required:
    """Sentinel default of a parameter that has no default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a registered factory.

    ``default`` is :data:`REQUIRED` when the parameter has none; ``constraints`` is a short
    human text such as ``"a number > 0"`` or ``"a pair of numbers, each in [0, 1)"``.
    """

    name: str
    default: Any
    annotation: Any
    constraints: str

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


# --------------------------------------------------------------------------------------------
# Reading a signature


def params_from_signature(fn: Callable) -> dict[str, ParamSpec]:
    """ParamSpecs of ``fn``'s keyword parameters, in signature order.

    Positional-only parameters are not part of the schema (a schedule factory receives
    ``total_steps`` that way, from the engine rather than from the config).
    """
    sig = inspect.signature(fn, eval_str=True)
    out: dict[str, ParamSpec] = {}
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.annotation is p.empty:
            raise TypeError(f"{fn.__name__}: parameter {p.name!r} needs a type annotation")
        default = REQUIRED if p.default is p.empty else _plain(p.annotation, p.default)
        out[p.name] = ParamSpec(p.name, default, p.annotation, describe(p.annotation))
    return out


def _unwrap(ann: Any) -> tuple[Any, list[Any], bool]:
    """(base type, annotated_types metadata, optional?) of an annotation."""
    optional = False
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        optional = len(args) < len(typing.get_args(ann))
        if len(args) != 1:
            raise TypeError(f"unsupported annotation {ann!r}")
        ann = args[0]
    meta: list[Any] = []
    if typing.get_origin(ann) is Annotated:
        ann, *meta = typing.get_args(ann)
    return ann, meta, optional


def _fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


_AT_BOUNDS = ("Gt", "Ge", "Lt", "Le", "Interval")


def _is_bound(m: Any) -> bool:
    """A :class:`Bound` or annotated_types' Gt/Ge/Lt/Le/Interval (recognised without importing it)."""
    return isinstance(m, Bound) or (type(m).__module__ == "annotated_types" and type(m).__name__ in _AT_BOUNDS)


def _as_bound(m: Any) -> Bound | None:
    """A :class:`Bound`, or annotated_types' ``Gt``/``Ge``/``Lt``/``Le``/``Interval`` read as one
    (a factory may use either), else None."""
    if isinstance(m, Bound):
        return m
    values = {k: getattr(m, k, None) for k in Bound.__slots__}
    return Bound(**values) if _is_bound(m) and any(v is not None for v in values.values()) else None


def _bounds_text(meta: Iterable[Any]) -> str:
    """``"> 0"``, ``"in [0, 1)"`` (both sides), ``">= 1 and <= 5"`` never: two sides read as a range."""
    parts = []
    for m in filter(None, map(_as_bound, meta)):
        lo = f"[{_fmt(m.ge)}" if m.ge is not None else (f"({_fmt(m.gt)}" if m.gt is not None else None)
        hi = f"{_fmt(m.le)}]" if m.le is not None else (f"{_fmt(m.lt)})" if m.lt is not None else None)
        if lo and hi:
            parts.append(f"in {lo}, {hi}")
            continue
        for text, v in (("> ", m.gt), (">= ", m.ge), ("< ", m.lt), ("<= ", m.le)):
            if v is not None:
                parts.append(text + _fmt(v))
    return " and ".join(parts)


_NOUNS = {float: ("a number", "numbers"), int: ("an integer", "integers"),
          bool: ("true or false", "booleans"), str: ("a string", "strings")}


def describe(ann: Any) -> str:
    """Human text for what an annotation accepts, e.g. ``"a number in [0, 1)"``."""
    base, meta, optional = _unwrap(ann)
    if typing.get_origin(base) is typing.Literal:
        text = "one of " + ", ".join(repr(v) for v in typing.get_args(base))
    elif typing.get_origin(base) is tuple:
        items = typing.get_args(base)
        sub = [_unwrap(a) for a in items]
        count = {2: "a pair", 3: "a triple"}.get(len(items), f"a list of {len(items)}")
        if len({(b, tuple(map(repr, m)), o) for b, m, o in sub}) == 1:
            noun = _NOUNS[sub[0][0]][1]
            bounds = _bounds_text(sub[0][1])
            text = f"{count} of {noun}" + (f", each {bounds}" if bounds else "")
        else:  # e.g. Adafactor's eps: "a pair [a number >= 0 or null, a number >= 0]"
            text = f"{count} [" + ", ".join(describe(a) for a in items) + "]"
    else:
        text = _NOUNS.get(base, (getattr(base, "__name__", str(base)), ""))[0]
        bounds = _bounds_text(meta)
        if bounds:
            text += " " + bounds
    return text + (" or null" if optional else "")


def _plain(ann: Any, value: Any) -> Any:
    """Convert a validated value to plain Python (floats, ints, bools, lists for tuples)."""
    if value is None:
        return None
    base, _, _ = _unwrap(ann)
    if typing.get_origin(base) is tuple:
        return [_plain(a, v) for a, v in zip(typing.get_args(base), value)]
    if base in (float, int, bool, str):
        return base(value)
    return value


# --------------------------------------------------------------------------------------------
# Validation


def _adapter(ann: Any):
    # Cached on the annotation object: the aliases above are shared by most factories.
    try:
        return _ADAPTERS[ann]
    except (KeyError, TypeError):
        pass
    from pydantic import TypeAdapter  # lazy: keeps `import optrun.optim` free of pydantic

    adapter = TypeAdapter(_for_pydantic(ann))
    try:
        _ADAPTERS[ann] = adapter
    except TypeError:  # unhashable annotation: just don't cache
        pass
    return adapter


_ADAPTERS: dict[Any, Any] = {}


def _for_pydantic(ann: Any) -> Any:
    """``ann`` with every :class:`Bound` replaced by annotated_types' ``Interval`` (what pydantic
    enforces), through ``Annotated``, unions and tuples."""
    import annotated_types as at

    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Annotated:
        base, *meta = args
        meta = [at.Interval(**m.kwargs()) if isinstance(m, Bound) else m for m in meta]
        return Annotated[(_for_pydantic(base), *meta)]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_for_pydantic(a) for a in args)]
    if origin is tuple:
        return tuple[tuple(_for_pydantic(a) for a in args)]
    return ann


def _is_bool(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (bool, np.bool_))


def finite_number(value: Any, where: str) -> float:
    """``value`` as a finite float, else ``OptrunError`` "<where>: expected a (finite) number, got …".

    Accepts int, float and NumPy scalars, not bool (YAML's true/false).
    """
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptrunError(f"{where}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise OptrunError(f"{where}: expected a finite number, got {v!r}")
    return v


_UNSURE = object()


def _plainly_valid(ann: Any, value: Any) -> Any:
    """``value`` validated without pydantic when it is plainly valid (an int or a float for a
    number, a bool for a bool, a string for a string or a listed choice, a list or tuple of
    those for a tuple), as :func:`_plain` would return it; else ``_UNSURE`` and pydantic decides.

    Importing pydantic costs ~60 ms of every command's start-up, more than a short run's
    training; ``tests/test_config_fast_path.py`` checks that both paths agree where this one answers.
    """
    try:
        base, meta, optional = _unwrap(ann)
    except TypeError:
        return _UNSURE
    if not all(_is_bound(m) for m in meta):  # a validator, a pydantic Field, MultipleOf...: pydantic's job
        return _UNSURE
    if value is None:
        return None if optional else _UNSURE
    kind = type(value)
    if base in (float, int):
        number = plain_number(value, base, [_as_bound(m) for m in meta])
        return _UNSURE if number is None else number
    if base in (bool, str) and kind is base:
        return value
    if typing.get_origin(base) is typing.Literal:
        return value if any(value == a and kind is type(a) for a in typing.get_args(base)) else _UNSURE
    if typing.get_origin(base) is tuple and kind in (list, tuple):
        items = typing.get_args(base)
        out = [_plainly_valid(a, v) for a, v in zip(items, value)] if len(value) == len(items) else [_UNSURE]
        return _UNSURE if any(v is _UNSURE for v in out) else out
    return _UNSURE


def check_value(spec: ParamSpec, value: Any, prefix: str) -> Any:
    """Validate one value against its spec; return it as plain Python.

    Raises OptrunError ``"<prefix><name>: expected <constraints>, got <value>"``.
    """
    base, _, _ = _unwrap(spec.annotation)
    # pydantic's lax mode reads True as 1.0; for a number that is a config mistake, not a value.
    numeric = base in (float, int) or typing.get_origin(base) is tuple
    bad = _is_bool(value) and numeric
    if numeric and typing.get_origin(base) is tuple and isinstance(value, (list, tuple)):
        bad = bad or any(_is_bool(v) for v in value)
    if not bad:
        plain = _plainly_valid(spec.annotation, value)
        if plain is not _UNSURE:
            return plain
        from pydantic import ValidationError  # lazy, see module docstring

        try:
            return _plain(spec.annotation, _adapter(spec.annotation).validate_python(value))
        except ValidationError:
            pass
    raise OptrunError(f"{prefix}{spec.name}: expected {spec.constraints}, got {value!r}")


def validate_values(
    specs: Mapping[str, ParamSpec],
    values: Mapping[str, Any],
    *,
    prefix: str,
    unknown: Callable[[str], str],
) -> dict[str, Any]:
    """Validate ``values`` against ``specs``; return every parameter, defaults filled in.

    ``unknown(key)`` builds the message for a key that is not in ``specs`` (the caller knows
    the context: which optimizer, which others take that key). Order: signature order.
    """
    for key in values:
        if key not in specs:
            raise OptrunError(f"{prefix}{key}: {unknown(key)}")
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in values:
            out[name] = check_value(spec, values[name], prefix)
        elif spec.required:
            raise OptrunError(f"{prefix}{name}: required ({spec.constraints})")
        else:
            out[name] = spec.default
    return out
