"""The Sobol low-discrepancy sequence (unscrambled), for quasi-random hyperparameter search.

Bratley & Fox (1988) with the direction numbers of Joe & Kuo (2008), ``new-joe-kuo-6.21201``,
the same table SciPy's ``scipy.stats.qmc.Sobol`` uses, so ``sobol(n, d)`` equals
``Sobol(d, scramble=False).random(n)`` bit for bit (tests/test_tune_math.py checks it). Points
are generated in Gray-code order: point k differs from point k-1 by one XOR per dimension.
The first point is the origin; a search that must not start at a corner takes points from 1.
"""

from __future__ import annotations

import numpy as np

# (primitive polynomial with its leading and trailing bits, initial direction numbers m_1..m_s)
# for dimensions 1..32 (dimension 1 is the van der Corput sequence in base 2).
_DIRECTIONS = (
    (1, (1,)), (3, (1,)), (7, (1, 3)), (11, (1, 3, 1)), (13, (1, 1, 1)), (19, (1, 1, 3, 3)),
    (25, (1, 3, 5, 13)), (37, (1, 1, 5, 5, 17)), (41, (1, 1, 5, 5, 5)), (47, (1, 1, 7, 11, 19)),
    (55, (1, 1, 5, 1, 1)), (59, (1, 1, 1, 3, 11)), (61, (1, 3, 5, 5, 31)), (67, (1, 3, 3, 9, 7, 49)),
    (91, (1, 1, 1, 15, 21, 21)), (97, (1, 3, 1, 13, 27, 49)), (103, (1, 1, 1, 15, 7, 5)),
    (109, (1, 3, 1, 15, 13, 25)), (115, (1, 1, 5, 5, 19, 61)), (131, (1, 3, 7, 11, 23, 15, 103)),
    (137, (1, 3, 7, 13, 13, 15, 69)), (143, (1, 1, 3, 13, 7, 35, 63)), (145, (1, 3, 5, 9, 1, 25, 53)),
    (157, (1, 3, 1, 13, 9, 35, 107)), (167, (1, 3, 1, 5, 27, 61, 31)), (171, (1, 1, 5, 11, 19, 41, 61)),
    (185, (1, 3, 5, 3, 3, 13, 69)), (191, (1, 1, 7, 13, 1, 19, 1)), (193, (1, 3, 7, 5, 13, 19, 59)),
    (203, (1, 1, 3, 9, 25, 29, 41)), (211, (1, 3, 5, 13, 23, 1, 55)), (213, (1, 3, 7, 3, 13, 59, 17)),
)
MAX_DIM = len(_DIRECTIONS)
_BITS = 30  # points are k / 2^30: enough for 2^30 points


def _direction_numbers(d: int) -> np.ndarray:
    """V[j, i] = v_{j,i} · 2^BITS as integers, for dimension j and bit i (Bratley & Fox)."""
    V = np.zeros((d, _BITS), dtype=np.int64)
    for j in range(d):
        poly, m = _DIRECTIONS[j]
        if j == 0:
            V[0] = [1 << (_BITS - 1 - i) for i in range(_BITS)]
            continue
        s = poly.bit_length() - 1  # degree of the polynomial
        a = (poly >> 1) & ((1 << (s - 1)) - 1) if s > 1 else 0  # its inner coefficients
        for i in range(s):
            V[j, i] = m[i] << (_BITS - 1 - i)
        for i in range(s, _BITS):
            v = V[j, i - s] ^ (V[j, i - s] >> s)
            for k in range(1, s):
                if (a >> (s - 1 - k)) & 1:
                    v ^= V[j, i - k]
            V[j, i] = v
    return V


def sobol(n: int, d: int) -> np.ndarray:
    """The first ``n`` points of the ``d``-dimensional Sobol sequence, shape (n, d), in [0, 1)."""
    if not 1 <= d <= MAX_DIM:
        raise ValueError(f"sobol: d must be in 1..{MAX_DIM}, got {d}")
    if n < 0 or n > 1 << _BITS:
        raise ValueError(f"sobol: n must be in 0..2^{_BITS}, got {n}")
    V = _direction_numbers(d)
    out = np.zeros((n, d), dtype=np.float64)
    x = np.zeros(d, dtype=np.int64)
    for k in range(1, n):
        c = ((k - 1) ^ k).bit_length() - 1  # index of the lowest zero bit of k - 1
        x ^= V[:, c]
        out[k] = x / float(1 << _BITS)
    return out
