"""The built-in datasets: the CSV files in the ``datasets/`` folder at the repository root.

``dataset.name: women`` means ``datasets/women.csv``, next to the ``optrun/`` package. They are
found via ``Path(__file__).resolve().parents[2] / "datasets"``, which works for a source checkout
and an editable install (``pip install -e .``); a non-editable wheel does not ship them (use
``dataset.name: csv`` with a ``path`` then). ``datasets/README.md`` gives each file's source and
licence.
"""

from __future__ import annotations

from pathlib import Path

from optrun._text import did_you_mean
from optrun.errors import OptrunError

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"

#: Short provenance of the shipped files (details and licences: datasets/README.md).
SOURCES = {
    "women": "R datasets::women (World Almanac 1975), public domain",
    "longley": "Longley (1967) via NIST StRD / statsmodels, public domain; very ill-conditioned",
    "iris_virginica": "Fisher's iris (1936), versicolor vs virginica, via scikit-learn; not separable",
    "breast_cancer": "Wisconsin diagnostic breast cancer (UCI, CC BY 4.0) via scikit-learn; separable",
}


def builtin_names() -> list[str]:
    """Names of the shipped CSV datasets (``datasets/<name>.csv``)."""
    if not DATASETS_DIR.is_dir():
        return []
    return sorted(p.stem for p in DATASETS_DIR.glob("*.csv"))


def builtin_path(name: str) -> Path:
    """``datasets/<name>.csv`` next to the package; OptrunError if there is no such dataset."""
    names = builtin_names()
    if name not in names or "/" in name or "\\" in name:
        raise OptrunError(
            f"dataset.name: no built-in dataset {name!r}{did_you_mean(str(name), names, 'paren')}; "
            f"built-in: {', '.join(names) or '(none found in ' + str(DATASETS_DIR) + ')'}",
            key="dataset.name",
        )
    return DATASETS_DIR / f"{name}.csv"


def builtin_source(name: str) -> str:
    """One line saying where a built-in file comes from."""
    return SOURCES.get(name, f"datasets/{name}.csv")
