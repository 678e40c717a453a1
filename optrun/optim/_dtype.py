"""The dtype rule of every update: arrays follow θ's dtype, scalars stay Python floats.

``train.dtype: float32`` means float32 parameters AND float32 optimizer state, as torch has
them with ``torch.set_default_dtype(torch.float32)``. NumPy ≥ 2 (NEP 50) gives the same
arithmetic for free as long as the rules (i) cast the gradient to θ's dtype once, (ii) build
the state with ``zeros_like(θ)`` and (iii) keep scalars (lr, β^t, bias corrections, the step
count) as *Python* floats: a Python float in ``x * float32_array`` is rounded to float32 once
and the product is float32, exactly as torch rounds its ``alpha=`` / ``value=`` scalars. A
NumPy float64 *scalar* (``np.float64(lr)``) would silently upcast the result to float64, which
is why the rules never keep one next to an array.
"""

from __future__ import annotations

import numpy as np


def as_float(x) -> np.ndarray:
    """``x`` as an array of its own floating dtype (float32 stays float32); float64 otherwise."""
    a = np.asarray(x)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def grad_theta(grad, theta) -> tuple[np.ndarray, np.ndarray]:
    """(g, θ) as arrays in θ's floating dtype (the gradient is cast to it, as torch's .grad is
    always the parameter's dtype)."""
    theta = as_float(theta)
    return np.asarray(grad, dtype=theta.dtype), theta
