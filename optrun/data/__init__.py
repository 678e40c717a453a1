"""Datasets: the CSV reader, the built-in CSV files, registered generators, the dataset rules.

- :mod:`~optrun.data.csv`: the reader, as three steps (rows, columns, numbers);
- :mod:`~optrun.data.builtin`: the shipped files in ``datasets/``;
- :mod:`~optrun.data.generators`: the generator registry (signature = schema, declared task);
- :mod:`~optrun.data.checks`: :func:`check_spec` (every rule about a ``dataset:`` section),
  standardization, the validation split, the magnitude limit;
- :mod:`~optrun.data.load`: :func:`load_dataset` and :func:`list_datasets`.

Every name of the 0.1 module ``optrun.data`` is still importable from here.
"""

from optrun.data.builtin import DATASETS_DIR, SOURCES as _BUILTIN_SOURCES, builtin_names, builtin_path, builtin_source
from optrun.data.checks import MAX_ABS_VALUE, MODEL_TASKS, check_dtype, check_magnitudes, check_spec, csv_path, split_indices, standardize
from optrun.data.csv import read_csv, read_csv_lines
from optrun.data.csv import read_csv_lines as _read_csv_lines
from optrun.data.dataset import COMMON_KEYS, Dataset
from optrun.data.generators import (GENERATORS, MAX_CONDITION_NUMBER, MAX_GENERATED_CELLS, MAX_GENERATED_FEATURES,
                                    MAX_NOISE, GeneratorSpec, generate, register_generator, synthetic_linear,
                                    synthetic_logistic, validate_generator_params)
from optrun.data.load import list_datasets, load_dataset
from optrun.models import validate_targets  # re-exported: data.validate_targets

__all__ = [
    "COMMON_KEYS", "DATASETS_DIR", "GENERATORS", "MAX_ABS_VALUE", "MAX_CONDITION_NUMBER", "MAX_GENERATED_CELLS",
    "MAX_GENERATED_FEATURES", "MAX_NOISE", "MODEL_TASKS", "Dataset", "GeneratorSpec", "builtin_names",
    "builtin_path", "builtin_source", "check_dtype", "check_magnitudes", "check_spec", "csv_path", "generate",
    "list_datasets", "load_dataset", "read_csv", "read_csv_lines", "register_generator", "split_indices",
    "standardize", "synthetic_linear", "synthetic_logistic", "validate_generator_params", "validate_targets",
]
