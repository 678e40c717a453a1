import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# the reference cache of a test session lives in the session's temporary folder, never in ~/.cache
if "OPTRUN_REFERENCE_CACHE" not in os.environ:
    import tempfile

    os.environ["OPTRUN_REFERENCE_CACHE"] = tempfile.mkdtemp(prefix="optrun-reference-cache-")


@pytest.fixture
def linear_csv(tmp_path):
    """A small exact linear problem y = 2*x1 - 3*x2 + 1 + noise, as a CSV file."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = X @ [2.0, -3.0] + 1.0 + 0.1 * rng.standard_normal(40)
    path = tmp_path / "lin.csv"
    lines = ["x1,x2,y"] + [f"{a!r},{b!r},{c!r}" for (a, b), c in zip(X.tolist(), y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def base_config(linear_csv):
    """A minimal valid config dict (full-batch GD on the linear CSV)."""
    return {
        "seed": 0,
        "dataset": {"name": "csv", "path": str(linear_csv)},
        "model": "linear",
        "loss": "half_mse",
        "optimizer": {"name": "sgd", "lr": 0.1},
        "batch": "full",
        "train": {"steps": 50},
    }
