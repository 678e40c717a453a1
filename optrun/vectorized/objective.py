"""The objective of a stack of runs: every run's loss and gradient as two matrix products
(the formulas: :mod:`optrun.vectorized`)."""

from __future__ import annotations

import numpy as np

#: the (model, loss) pairs a stack evaluates
_LOSSES = {("linear", "mse"), ("linear", "half_mse"), ("logistic", "bce"), ("logistic", "mse"),
           ("logistic", "half_mse")}


def stack_value_and_grad(obj, Theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F_i(θ_i), ∇F_i(θ_i))`` for every row θ_i of ``Theta`` (k, p): values (k,), gradients (k, p).

    ``Z = W Xᵀ + b`` (k, n) is one matrix product and the data gradient ``m L' X`` another
    (m = 1/n or 1), the per-sample loss table is the objective's own
    (``obj.per_sample_loss_and_dz``, elementwise, so it takes the (k, n) stack), and the l2 term
    is ``(l2/2)‖w_i‖²`` with gradient ``l2 w_i`` (the intercept is never penalised). Matches
    :meth:`optrun.models.Objective.value_and_grad` row by row up to the summation order of BLAS.
    Computed in X's floating dtype as the objective is (float32 data stay float32).
    """
    if (obj.model, obj.loss) not in _LOSSES or obj.l1:
        raise ValueError(f"stack_value_and_grad: {obj.model}/{obj.loss} with l1={obj.l1} is not vectorised")
    Theta = np.asarray(Theta)
    n, d = X.shape
    W = Theta[:, :d]
    xdt = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    Z = W.astype(xdt, copy=False) @ X.T  # (k, n): X.T is a view, BLAS reads it transposed
    if obj.fit_intercept:
        Z += Theta[:, d:].astype(xdt, copy=False)
    L, DZ = obj.per_sample_loss_and_dz(Z, y)
    DZ = DZ.astype(Z.dtype, copy=False)
    G = np.empty(Theta.shape, dtype=Theta.dtype)
    sums = np.add.reduce(L, axis=1)  # per row: the same pairwise sum as the lone run's
    if obj.reduction == "mean":
        values = (sums / np.float64(n)).astype(L.dtype).astype(np.float64)
        G[:, :d] = (DZ @ X) / n
        if obj.fit_intercept:
            G[:, d] = np.add.reduce(DZ, axis=1) / n
    else:
        values = sums.astype(np.float64)
        G[:, :d] = DZ @ X
        if obj.fit_intercept:
            G[:, d] = np.add.reduce(DZ, axis=1)
    if obj.l2:
        W64 = W.astype(np.float64)
        values = values + 0.5 * obj.l2 * np.einsum("ij,ij->i", W64, W64)
        G[:, :d] += obj.l2 * W
    return values, G


def _row_norms(G: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", G, G))
