"""Experiment configuration: YAML loading, ``KEY=VALUE`` overrides, the schema, the resolved dump.

- :mod:`~optrun.config.keys`: the sections, their shorthands, exclusive keys, limits;
- :mod:`~optrun.config.yaml_io`: the strict YAML loader, reading a file, the dump and the hash;
- :mod:`~optrun.config.overrides`: parsing and applying ``KEY=VALUE`` overrides;
- :mod:`~optrun.config.sections`: the pydantic models of the fixed sections (imported lazily);
- :mod:`~optrun.config.resolve`: raw dict -> resolved config, and :func:`locate` for errors.

Validation happens in two layers (as cabinetry does): the *schema* (pydantic v2 models for the
fixed sections; the optimizer's, schedule's and dataset generator's own signatures for their
parameters), then *semantic rules* that need the data (batch size <= n, 0/1 targets), which live
in :mod:`optrun.prepare`. Every failure is an :class:`~optrun.errors.OptrunError` whose message
names the file or override, the dotted key, and what is expected.

Nothing here imports pydantic at module level: the CLI imports this package for every command,
and ``optrun --help`` must stay fast.
"""

from optrun._text import short_repr  # noqa: F401  (re-exported: config.short_repr)
from optrun.config.keys import EXCLUSIVE_PAIRS, MAX_STEPS, SECTIONS, SHORTHAND_KEY
from optrun.config.overrides import apply_overrides, parse_override, replaced_settings
from optrun.config.resolve import json_schema, load, load_located, locate, resolve
from optrun.config.yaml_io import config_hash, dump, parse_yaml, read_base_config, read_config_file

__all__ = [
    "EXCLUSIVE_PAIRS", "MAX_STEPS", "SECTIONS", "SHORTHAND_KEY", "apply_overrides", "config_hash", "dump",
    "json_schema", "load", "load_located", "locate", "parse_override", "replaced_settings", "parse_yaml", "read_base_config", "read_config_file",
    "resolve", "short_repr",
]
