"""Which rows each optimizer step sees: full batch, stochastic (size 1) or mini-batch.

The batch mode belongs to the run, not to the optimizer: gradient descent, SGD and mini-batch
SGD are one optimizer fed by three samplers.

* full: every step uses all n rows (no index array at all, so big X is never gathered/copied).
* stochastic / minibatch, ``shuffle=False``: file order, cycling. Step t uses rows
  ``[j*bs, (j+1)*bs)`` with ``j = (t-1) mod ceil(n/bs)``; a short last batch is used as is.
* ``shuffle=True``: a fresh permutation from the seeded shuffle stream at the start of every
  epoch, cut into consecutive batches (the last one may be short).

An *epoch* is one pass over the n training rows, so ``epoch = samples / n``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def batch_indices(n: int, size: int, shuffle: bool, rng: np.random.Generator | None) -> Iterator[slice | np.ndarray]:
    """Yield one index object per step, forever.

    Yields slices in file order (cheap views) and index arrays when shuffling. Full batch is
    ``size >= n`` without shuffling and yields ``slice(None)``.
    """
    if size >= n and not shuffle:
        full = slice(None)
        while True:
            yield full
    starts = range(0, n, size)
    if not shuffle:
        cycle = [slice(s, min(s + size, n)) for s in starts]
        while True:
            yield from cycle
    assert rng is not None, "shuffling needs the seeded shuffle stream"
    while True:
        perm = rng.permutation(n)
        for s in starts:
            yield perm[s : s + size]
