"""Synthetic datasets: a registry of generators, each one decorated function.

A generator's *signature* is its config schema (names, defaults, bounds, via
:mod:`optrun.schema`, as for optimizers) and its docstring is its documentation. It declares the
*task* its targets suit (``regression``: real values; ``classification``: 0/1), which is how the
dataset checks know that model logistic cannot train on it. The random generator comes first,
positional-only, so it is not part of the schema::

    @register_generator("synthetic_linear", task="regression")
    def synthetic_linear(rng, /, n_samples: Samples = 200, n_features: Features = 2, ...) -> Generated:
        '''Seeded linear-regression data ...'''
        return Generated(X, y, info={...})

The factory receives *validated* values. Every generator takes ``n_samples`` and ``n_features``
(rows x features), so the size limits below apply to all of them. The decorated name becomes a
validating entry point: ``synthetic_linear(n_samples=50, rng=1)`` returns a :class:`Dataset`.
Listing (``optrun datasets``), config validation and :func:`~optrun.data.load_dataset` read the
registry, so adding a generator is one decorated function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import numpy as np

from optrun._text import did_you_mean
from optrun.data.dataset import COMMON_KEYS, Dataset
from optrun.errors import OptrunError
from optrun.schema import Bound, ParamSpec, check_value, params_from_signature

TASKS = ("regression", "classification")

#: Limits that catch typos rather than intentions; beyond 1/machine epsilon the Hessian is
#: numerically singular. The size of a generated set is limited by the machine's memory instead
#: of a fixed count (see :func:`generation_bytes` and :func:`available_memory`).
#: ``MAX_GENERATED_CELLS`` is kept for importers: it was the 0.1 fixed cap and limits nothing now.
MAX_GENERATED_CELLS = 2 * 10**7
#: Sets with more values (and n >= 10 d) use the memory-lean design (Cholesky whitening in row
#: blocks, the same matrix up to rounding); smaller ones the reference QR construction.
LEAN_DESIGN_CELLS = 10**6
#: A generated set may use at most this fraction of the memory available when it is drawn.
MEMORY_FRACTION = 0.8
MAX_GENERATED_FEATURES = 2000
MAX_CONDITION_NUMBER = 1e16
MAX_NOISE = 1e6

# Shared annotations (the bounds also refuse inf and NaN: they fail every comparison).
Samples = Annotated[int, Bound(ge=2)]
Features = Annotated[int, Bound(ge=1, le=MAX_GENERATED_FEATURES)]
ConditionNumber = Annotated[float, Bound(ge=1.0, le=MAX_CONDITION_NUMBER)]
Noise = Annotated[float, Bound(ge=0.0, le=MAX_NOISE)]
LabelNoise = Annotated[float, Bound(ge=0.0, le=0.5)]


class Generated(NamedTuple):
    """What a generator factory returns: features ``(n, d)``, targets ``(n,)``, extra facts."""

    X: np.ndarray
    y: np.ndarray
    info: dict


@dataclass(frozen=True)
class GeneratorSpec:
    """What the registry knows about one generator (read by listings, checks and loading)."""

    name: str
    task: str  # regression | classification
    summary: str  # first docstring line
    doc: str
    params: dict[str, ParamSpec]
    factory: Callable[..., Generated]  # the undecorated factory (takes validated values)

    @property
    def defaults(self) -> dict[str, Any]:
        return {k: p.default for k, p in self.params.items()}


_REGISTRY: dict[str, GeneratorSpec] = {}


def register_generator(name: str, *, task: str) -> Callable:
    """Register a generator factory under ``name``; ``task`` is regression or classification."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; one of {TASKS}")

    def decorator(factory: Callable[..., Generated]) -> Callable[..., Dataset]:
        if name in _REGISTRY:
            raise ValueError(f"generator {name!r} registered twice")
        params = params_from_signature(factory)
        if not {"n_samples", "n_features"} <= set(params) or any(p.required for p in params.values()):
            raise TypeError(f"{name}: a generator takes n_samples and n_features, every parameter with a default")
        doc = inspect.cleandoc(factory.__doc__ or "")
        _REGISTRY[name] = GeneratorSpec(name, task, doc.splitlines()[0] if doc else "", doc, params, factory)

        @functools.wraps(factory)
        def validated(*, rng=None, **params: Any) -> Dataset:
            return generate(name, params, rng)

        return validated

    return decorator


def names() -> list[str]:
    """Generator names, in registry order."""
    return list(_REGISTRY)


def get_spec(name: str) -> GeneratorSpec:
    """The :class:`GeneratorSpec` of ``name``; OptrunError (key ``dataset.name``) if unknown."""
    if name not in _REGISTRY:
        raise OptrunError(f"dataset.name: unknown generator {name!r}{did_you_mean(name, _REGISTRY, 'listing')}",
                          key="dataset.name")
    return _REGISTRY[name]


def takers(key: str) -> list[str]:
    """Names of the generators that have a parameter called ``key``."""
    return [s.name for s in _REGISTRY.values() if key in s.params]


class _Defaults(Mapping):
    """``GENERATORS[name]`` -> that generator's defaults; a live view of the registry."""

    def __getitem__(self, name: str) -> dict[str, Any]:
        return _REGISTRY[name].defaults

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


#: Generator name -> its parameters and their defaults (the 0.1 name; the registry is the truth).
GENERATORS: Mapping[str, dict[str, Any]] = _Defaults()


# --------------------------------------------------------------------------------------------
# Validation and generation


def validate_generator_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check and type a generator's parameters (defaults filled in, signature order).

    Every OptrunError starts with (and has as ``key``) the dotted key at fault. Besides each
    parameter's own bounds, one rule involves two: ``n_features + 1 <= n_samples``; and the set must
    fit in memory: :func:`generation_bytes` at most ``MEMORY_FRACTION`` of :func:`available_memory`.
    """
    spec = get_spec(name)
    for k in params:
        if k not in spec.params:
            hint = did_you_mean(k, [*spec.params, *sorted(COMMON_KEYS)], "listing")
            raise OptrunError(f"unknown key 'dataset.{k}' for {name}{hint}", key=f"dataset.{k}")
    out = {}
    for k, p in spec.params.items():
        try:
            out[k] = check_value(p, params[k], "dataset.") if k in params else p.default
        except OptrunError as exc:
            raise OptrunError(str(exc), key=f"dataset.{k}") from None
    _check_size(out["n_samples"], out["n_features"])
    return out


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now: ``MemAvailable`` of /proc/meminfo
    (Linux: free memory plus reclaimable caches), else the physical memory from ``sysconf``,
    capped by a cgroup (container) limit when one is set. None if nothing can be read."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            import os

            avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            avail = min(avail, int(text))
    return avail


def generation_bytes(n: int, d: int) -> int:
    """Peak bytes of generating an ``n x d`` float64 set and training on it: X itself, y and two
    n-vectors (noise, predictions), one row block of the design; small sets use the QR design,
    which holds two more copies of X."""
    cells = n * d
    extra = min(cells, _BLOCK_ROWS * d) if _lean(n, d) else 2 * cells
    return 8 * (cells + extra + 4 * n)


def _check_size(n: int, d: int) -> None:
    need, avail = generation_bytes(n, d), available_memory()
    if avail is not None and need > MEMORY_FRACTION * avail:
        raise OptrunError(
            f"dataset.n_samples: {n} rows x {d} features is too large for this machine: it needs about "
            f"{need / 2**30:.2f} GiB to generate and {avail / 2**30:.2f} GiB are available (at most "
            f"{MEMORY_FRACTION:.0%} of it is used); "
            "lower n_samples or n_features", key="dataset.n_samples")
    if n < d + 1:
        raise OptrunError(
            f"dataset.n_samples: {n} rows are too few for {d} features; expected at least n_features + 1 = {d + 1}",
            key="dataset.n_samples")


def generate(name: str, params: Mapping[str, Any], rng=None) -> Dataset:
    """The :class:`Dataset` of generator ``name``; ``rng`` is a numpy Generator or a seed (0)."""
    p = validate_generator_params(name, params)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    X, y, info = _REGISTRY[name].factory(rng, **p)
    return Dataset(
        X=X, y=y, feature_names=[f"x{j + 1}" for j in range(X.shape[1])], target_name="y",
        source=f"{name}(" + ", ".join(f"{k}={v}" for k, v in p.items()) + ")", info={**info, **p},
    )


def generator_rows() -> list[dict]:
    """One row per generator for ``optrun datasets`` (see :func:`optrun.data.list_datasets`)."""
    return [{
        "name": s.name, "kind": "generator", "task": s.task,
        "rows": s.defaults["n_samples"], "features": s.defaults["n_features"],
        "feature_names": [f"x{j + 1}" for j in range(s.defaults["n_features"])], "target": "y",
        "source": "generated: " + ", ".join(f"{k}={v}" for k, v in s.defaults.items()),
    } for s in _REGISTRY.values()]


# --------------------------------------------------------------------------------------------
# The generators


def _design(n: int, d: int, kappa: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Features with an exactly prescribed spectrum: ``X = sqrt(n) U diag(sqrt(lam)) V^T``.

    U (n x d) has orthonormal columns orthogonal to the ones vector (from the QR of a centred
    Gaussian matrix), V is a random rotation. Hence every column has mean 0 and
    ``X^T X / n = V diag(lam) V^T`` with ``lam`` log-spaced from 1 to kappa (``lam = [kappa]`` for
    d = 1), so ``X~^T X~ / n = blockdiag(V diag(lam) V^T, 1)`` has condition number exactly kappa
    with an intercept (and for d >= 2 without one).
    """
    lam = np.array([kappa]) if d == 1 else np.geomspace(1.0, kappa, d)
    G = rng.standard_normal((n, d))
    G -= G.mean(axis=0)
    U, R = np.linalg.qr(G)
    U *= np.where(np.diag(R) < 0, -1.0, 1.0)
    V, Rv = np.linalg.qr(rng.standard_normal((d, d)))
    V *= np.where(np.diag(Rv) < 0, -1.0, 1.0)
    X = np.ascontiguousarray((U * np.sqrt(n * lam)) @ V.T)
    return X, lam


_BLOCK_ROWS = 65536  # rows per block of the lean design (d = 100: 52 MB)


def _design_lean(n: int, d: int, kappa: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_design` for big sets, in the memory of X alone (plus one row block).

    The same numbers up to rounding: the sign-fixed QR ``G = U R`` has ``R = L^T`` with L the
    Cholesky factor of ``G^T G`` (both unique with a positive diagonal), so
    ``X = U S V^T = G (L^-T S V^T)`` with ``S = diag(sqrt(n lam))``: one d x d matrix applied to G
    in place, block by block. The random draws are those of :func:`_design`, in the same order.
    Only used for tall sets (n >= 10 d), where G is well-conditioned (cond(G) ~ 1 + 2 sqrt(d/n)),
    so forming ``G^T G`` loses nothing.
    """
    lam = np.array([kappa]) if d == 1 else np.geomspace(1.0, kappa, d)
    X = rng.standard_normal((n, d))
    X -= X.mean(axis=0)
    L = np.linalg.cholesky(X.T @ X)
    V, Rv = np.linalg.qr(rng.standard_normal((d, d)))
    V *= np.where(np.diag(Rv) < 0, -1.0, 1.0)
    # A = L^-T S V^T, by one triangular solve (L^T A = S V^T)
    A = np.linalg.solve(L.T, np.sqrt(n * lam)[:, None] * V.T)
    for i in range(0, n, _BLOCK_ROWS):
        X[i : i + _BLOCK_ROWS] = X[i : i + _BLOCK_ROWS] @ A
    return X, lam


def _lean(n: int, d: int) -> bool:
    return n * d > LEAN_DESIGN_CELLS and n >= 10 * d


def _make_design(n: int, d: int, kappa: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The QR design for small sets (the reference construction), the lean one for big tall sets."""
    if _lean(n, d):
        return _design_lean(n, d, kappa, rng)
    return _design(n, d, kappa, rng)


@register_generator("synthetic_linear", task="regression")
def synthetic_linear(rng: np.random.Generator, /, n_samples: Samples = 200, n_features: Features = 2,
                     noise: Noise = 0.1, condition_number: ConditionNumber = 1.0) -> Generated:
    """Seeded linear-regression data ``y = X w + b + noise * N(0, 1)``.

    ``condition_number`` (kappa) is the condition number of ``X~^T X~ / n`` with ``X~ = [X, 1]``,
    i.e. of the Hessian of half_mse (and of mse) on the full generated set: the eigenvalues of
    ``X^T X / n`` are log-spaced from 1 to kappa (kappa alone for one feature) and the features are
    exactly centred, so the intercept adds the eigenvalue 1. A validation split or
    standardization changes it (standardization removes most of it). True weights and intercept
    are drawn from N(0, 1); they are in ``info["true_theta"]``. ``rng``: a numpy Generator (or a
    seed).
    """
    X, lam = _make_design(n_samples, n_features, condition_number, rng)
    w = rng.standard_normal(n_features)
    b = float(rng.standard_normal())
    y = X @ w
    y += b
    y += noise * rng.standard_normal(n_samples)
    return Generated(X, y, {"true_theta": [*w.tolist(), b], "feature_eigenvalues": lam.tolist()})


@register_generator("synthetic_logistic", task="classification")
def synthetic_logistic(rng: np.random.Generator, /, n_samples: Samples = 200, n_features: Features = 2,
                       condition_number: ConditionNumber = 1.0, label_noise: LabelNoise = 0.1) -> Generated:
    """Seeded binary classification data: ``y = [X w + b > 0]``, then a fraction flipped.

    Features as in :func:`synthetic_linear` (``condition_number`` is that of ``X~^T X~ / n``, which
    is also the condition number of the bce Hessian at theta = 0, ``X~^T X~ / (4n)``). True
    weights are N(0, 1), the intercept N(0, 0.5^2). Exactly ``round(label_noise * n)`` labels,
    chosen at random, are flipped; with ``label_noise = 0`` the data are linearly separable (no
    logistic MLE), with a few flipped labels they are (almost surely) not, so theta* exists.
    """
    X, lam = _make_design(n_samples, n_features, condition_number, rng)
    w = rng.standard_normal(n_features)
    b = 0.5 * float(rng.standard_normal())
    y = (X @ w + b > 0).astype(np.float64)
    k = int(round(label_noise * n_samples))
    flip = rng.choice(n_samples, size=k, replace=False) if k else np.zeros(0, dtype=int)
    y[flip] = 1.0 - y[flip]
    return Generated(X, y, {"true_theta": [*w.tolist(), b], "flipped": k, "feature_eigenvalues": lam.tolist()})
