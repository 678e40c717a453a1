"""The names of a config: its sections, their shorthands, keys that exclude each other, limits.

Plain constants (no pydantic, no YAML), shared by the override parser, the schema and resolution.
"""

from __future__ import annotations

SECTIONS = ("name", "seed", "dataset", "model", "loss", "optimizer", "batch", "train", "constraints", "plots")

# Models without data (DESIGN.md §9.1): an objective of theta alone, no dataset section.
ANALYTIC_MODELS = ("quadratic", "function")

# YAML shorthands: `model: linear` means `model: {name: linear}`, and so on.
SHORTHAND_KEY = {"dataset": "name", "model": "name", "loss": "name", "optimizer": "name", "batch": "mode"}

# Keys that exclude each other; an override of one clears the other (see `apply_overrides`).
EXCLUSIVE_PAIRS = {"train.steps": "train.epochs", "train.epochs": "train.steps"}

# A budget beyond this cannot finish (10^12 steps is days at the fastest); it is a typo.
MAX_STEPS = 10**12
