"""The :class:`Dataset` record every loader and generator returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Training data (and an optional validation split) ready for an objective.

    ``X`` is ``(n, d)`` C-contiguous (float64 unless ``dtype="float32"`` was asked for), ``y`` is
    ``(n,)``; ``X_val``/``y_val`` are ``None`` without a validation split. ``source`` describes
    where the data came from; ``info`` holds extras (the true parameters of a synthetic set,
    the standardization mean/std, ...).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])


#: Keys every dataset section may have besides a generator's parameters.
COMMON_KEYS = ("name", "path", "format", "target", "features", "standardize", "validation_fraction")
