"""optrun: a command-line experiment runner for optimization on linear and logistic regression."""

from optrun._version import __version__

__all__ = ["__version__", "train", "load_run"]


def __getattr__(name):
    # The Python API is imported lazily so `import optrun` (and `optrun --help`) stays fast.
    if name in ("train", "load_run"):
        from optrun import api

        return getattr(api, name)
    raise AttributeError(f"module 'optrun' has no attribute {name!r}")
