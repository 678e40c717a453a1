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


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, plus: duplicate keys are errors, and YAML 1.2 floats.

    PyYAML implements YAML 1.1, where ``1e-3`` (no dot) is a *string*; experiment files are full
    of such learning rates, so we also resolve the 1.2 float forms.
    """


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
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
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text with the strict loader; errors name ``where`` and the line/column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise OptrunError(f"{where}: invalid YAML: nested too deeply") from None
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
    p = Path(path)
    if not p.exists():
        raise OptrunError(f"{p}: config file not found")
    if p.is_dir():
        raise OptrunError(f"{p}: is a directory, expected a YAML config file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OptrunError(f"{p}: not a text file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise OptrunError(f"{p}: cannot read: {exc.strerror}") from None
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
    """The resolved config as YAML (rerunnable as is)."""
    return yaml.safe_dump(resolved, sort_keys=False, default_flow_style=None)


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
