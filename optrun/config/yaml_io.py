"""Config text in and out: the strict YAML loader, reading a config file, the resolved dump, the hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from optrun.errors import OptrunError


#: how many nodes aliases may add to a document beyond the nodes written in it. An alias is a
#: reference, so ``yaml.safe_load`` builds a "billion laughs" document (9 levels of 10 aliases)
#: in microseconds, but anything that walks the result (a deep copy, validation, ``json.dumps``)
#: visits 10^9 nodes and runs out of memory. A real config never needs this many.
MAX_ALIAS_EXPANSION = 100_000

#: the longest integer literal read (a seed has at most 20 digits; 10^12 steps is the cap)
MAX_INT_DIGITS = 100


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, plus: duplicate keys are errors, YAML 1.2 floats, and a
    bound on what aliases may expand to.

    PyYAML implements YAML 1.1, where ``1e-3`` (no dot) is a *string*; experiment files are full
    of such learning rates, so we also resolve the 1.2 float forms.

    While composing, every node's *expanded* size (the number of nodes a full walk of it visits,
    an alias counting as the whole node it points to) is computed bottom-up; a document whose
    expanded size exceeds its literal size by more than :data:`MAX_ALIAS_EXPANSION`, or an alias
    inside the node it names (a recursive structure), is refused before anything is constructed.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}
        self._literal = 0

    def compose_node(self, parent, index):
        alias = self.check_event(yaml.AliasEvent)
        if alias:
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, f"alias *{event.anchor} refers to a node that contains it (a recursive structure)",
                    event.start_mark)
        node = super().compose_node(parent, index)
        if alias:
            return node
        self._literal += 1
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(c)] for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
            if (node.tag == "tag:yaml.org,2002:int" or node.tag is None) and len(node.value) > MAX_INT_DIGITS \
                    and node.value.lstrip("+-").replace("_", "").isdigit():
                raise yaml.composer.ComposerError(
                    None, None, f"a number with {len(node.value)} digits ({node.value[:12]}...); "
                                f"at most {MAX_INT_DIGITS} digits are read", node.start_mark)
        self._sizes[id(node)] = size
        if size > self._literal + MAX_ALIAS_EXPANSION:
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*name) expand the document to more than {MAX_ALIAS_EXPANSION} extra values "
                            "(a 'billion laughs' document?); write the values out", node.start_mark)
        return node


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    explicit = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
    if len(explicit) != len(node.value):
        loader.flatten_mapping(node)  # merge keys (<<: *base), as yaml.safe_load does them
    for key_node, _ in explicit:
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
# YAML 1.2 (core schema) numbers instead of PyYAML's YAML 1.1 ones: ``010`` is ten (not octal
# eight), ``1:30`` is a string (not the sexagesimal 90), ``0b11`` is a string, ``1e-3`` is a float
# (YAML 1.1 reads it as a string). ``0x1f`` and ``0o17`` are hex and octal, as in YAML 1.2.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    """A YAML 1.2 integer: decimal (leading zeros are decimal), ``0o`` octal, ``0x`` hex."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text.startswith("0x"):
        return int(text[2:], 16)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 10)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text with the strict loader; errors name ``where`` and the line/column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise OptrunError(f"{where}: invalid YAML: nested too deeply") from None
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark
        pos = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise OptrunError(f"{where}{pos}: invalid YAML: {exc.problem}") from None
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
    from optrun.data.files import read_text  # regular files only, never blocking, bounded

    p = Path(path)
    try:
        text = read_text(p, "YAML config file")
    except OptrunError as exc:
        if str(exc).endswith("YAML config file not found"):
            raise OptrunError(f"{p}: config file not found") from None
        if "not a UTF-8 text file" in str(exc):
            raise OptrunError(f"{p}: not a text file (cannot decode as UTF-8)") from None
        raise
    data = parse_yaml(text, str(p))
    if data is None:
        raise OptrunError(f"{p}: the file is empty; expected a mapping with dataset, model, optimizer, ...")
    if not isinstance(data, dict):
        raise OptrunError(f"{p}: expected a mapping of keys (dataset:, model:, ...) at the top level, got a {yaml_type(data)}")
    return data


def yaml_type(value: Any) -> str:
    """What a YAML reader calls ``value``'s type: list, string, number, boolean, ..."""
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), type(value).__name__)


def dump(resolved: dict) -> str:
    """The resolved config (or any plain data optrun writes as YAML, such as ``sweep.yaml``) as
    YAML that :func:`parse_yaml` reads back as the same data.

    PyYAML's dumpers quote a string only where YAML 1.1 would read it as something else, but
    optrun reads YAML 1.2 numbers: unquoted, the string ``58052e01`` (a sweep id) came back as
    the float 580520.0. So the dumpers here quote a string where either reading would take it
    for a non-string (:data:`_QUOTE_RESOLVERS`).

    Written by libyaml's emitter (``yaml.CSafeDumper``, ~4x faster: a sweep writes one
    config.yaml per run) when PyYAML has it and the config holds only what both emitters write
    the same way (:func:`_same_in_c`); else by the pure-Python emitter. The text is the same
    either way (tests/test_sweep_speed.py compares them)."""
    if _CDumper is not None and _same_in_c(resolved):
        return yaml.dump(resolved, Dumper=_CDumper, sort_keys=False, default_flow_style=None)
    return yaml.dump(resolved, Dumper=PyDumper, sort_keys=False, default_flow_style=None, allow_unicode=False)


#: implicit resolvers of both readings (YAML 1.1's, which PyYAML's dumpers use, and optrun's
#: YAML 1.2 numbers): a plain scalar matching any of them is quoted when it is a string
_QUOTE_RESOLVERS = {
    first: list(dict.fromkeys(yaml.SafeDumper.yaml_implicit_resolvers.get(first, [])
                              + _StrictLoader.yaml_implicit_resolvers.get(first, [])))
    for first in set(yaml.SafeDumper.yaml_implicit_resolvers) | set(_StrictLoader.yaml_implicit_resolvers)
}


class PyDumper(yaml.SafeDumper):
    """``yaml.safe_dump``'s dumper, quoting what optrun's YAML 1.2 reading would not read back."""


PyDumper.yaml_implicit_resolvers = _QUOTE_RESOLVERS

#: libyaml's emitter with the same resolvers (None where PyYAML was built without libyaml)
_CDumper = (type("_CDumper", (yaml.CSafeDumper,), {"yaml_implicit_resolvers": _QUOTE_RESOLVERS})
            if hasattr(yaml, "CSafeDumper") else None)


def _same_in_c(value: Any, depth: int = 0) -> bool:
    """True when libyaml emits ``value`` exactly as PyYAML's Python emitter does: dicts with
    str/int keys, lists, None, bools, ints, floats and *non-empty printable-ASCII* strings. The
    two emitters differ on the empty string as a key (``? ''``) and on where they fold long
    double-quoted (escaped, non-ASCII) strings, so anything else goes to the Python emitter."""
    if depth > 50:
        return False
    if isinstance(value, dict):
        return all((type(k) is int or (isinstance(k, str) and _plain_ascii(k))) and _same_in_c(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_same_in_c(v, depth + 1) for v in value)
    if isinstance(value, str):
        return _plain_ascii(value)
    return value is None or type(value) in (bool, int, float)


def _plain_ascii(text: str) -> bool:
    return bool(text) and text.isascii() and text.isprintable()


def config_hash(resolved: dict) -> str:
    """A stable hash of a resolved config: key order and float spelling do not matter."""
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_base_config(path: str | Path) -> dict:
    """Read a config file as a raw dict, with a relative CSV ``dataset.path`` made absolute
    (it resolves against the config file's folder), so the dict can be stored and rerun anywhere."""
    path = Path(path)
    raw = read_config_file(path)
    ds = raw.get("dataset")
    if isinstance(ds, dict) and ds.get("path") is not None:
        p = Path(str(ds["path"])).expanduser()
        if not p.is_absolute():
            p = path.resolve().parent / p
        raw = {**raw, "dataset": {**ds, "path": str(p.resolve())}}
    return raw
