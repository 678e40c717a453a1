"""The model's own log-likelihood (Gaussian for linear, Bernoulli for logistic), not its loss."""

from __future__ import annotations

import math

import numpy as np

from optrun.models.losses import _softplus_signed


def log_likelihood(obj, theta, X, y) -> float:
    """The total log-likelihood ``sum_i log p(y_i | x_i, theta)`` of the model (no penalties).

    Linear (Gaussian, y_i ~ N(z_i, s2)): with ``obj.sigma`` set, ``-n/2 log(2 pi sigma^2) -
    RSS/(2 sigma^2)``; otherwise s2 is profiled at this theta (s2 = RSS/n, its MLE) and the value
    is ``-n/2 (log(2 pi RSS/n) + 1)`` (``+inf`` when RSS = 0). Logistic (Bernoulli, P(y=1) =
    sigmoid(z)): ``-sum_i softplus((1 - 2 y_i) z_i)`` (exactly minus the bce sum). Independent
    of ``loss`` and ``reduction``: it is the model's likelihood, computed in float64. See
    DESIGN §9.7 (a total over rows, not per row). ``obj``: an :class:`optrun.models.Objective`.
    """
    theta, X = obj._check(theta, X)
    y = np.asarray(y, dtype=np.float64)
    z = obj._z(theta.astype(np.float64), X).astype(np.float64, copy=False)
    n = z.shape[0]
    if obj.model == "logistic":
        return -float(np.sum(_softplus_signed(z, y, np.exp(-np.abs(z)))))
    r = z - y
    rss = float(r @ r)
    if obj.sigma is not None:
        s2 = obj.sigma * obj.sigma
        return -0.5 * n * math.log(2.0 * math.pi * s2) - rss / (2.0 * s2)
    if rss == 0.0:
        return math.inf
    return -0.5 * n * (math.log(2.0 * math.pi * rss / n) + 1.0)
