"""Vectorised sweeps: runs that differ only in optimizer hyperparameters (or in the seed of
their initial point) trained as ONE program over a stack of parameter vectors.

Stack the k runs' parameters as the rows of ``Θ`` (k, p), ``Θ = [W, b]`` with ``W`` (k, d).
The objective of every run at once is one matrix product (module docstring of
:mod:`optrun.models` for the per-run formulas; m = 1/n for reduction mean, 1 for sum)::

    Z = W Xᵀ + b 1ᵀ                       (k, n)   one gemm instead of k matrix-vector products
    F_i = m Σ_j l(Z_ij, y_j) + (l2/2)‖W_i‖²
    ∇_W F = m L' X + l2 W,  ∇_b F = m L' 1     (L' = l'(Z, y), (k, n); a second gemm)

and the optimizer step is the run's own update rule (``optrun/optim/*.py``; one source of
truth), called once on the stack with every hyperparameter that varies across the group as a
(k, 1) column (``lr`` included), so ``θ_i − lr_i d_i`` broadcasts row by row. A rule that cannot
take a column (a Python ``if`` on a hyperparameter, ``float()`` of one, a norm over the whole
vector) is detected before anything is written, by a *probe*: the stacked rule's first two steps
from the real starting point are compared with the rule called run by run, and the group falls
back to :func:`optrun.engine.run` one run at a time when they differ.

Equality with running alone (docs/performance.md, "Vectorised sweeps (0.2)"): the optimizer
arithmetic is the same elementwise IEEE arithmetic, so given the same gradient the step is the
same bit for bit. The gradient is not: BLAS sums ``W Xᵀ`` (gemm) in another order than ``X w``
(gemv), and ``‖g‖`` and ``‖w‖²`` are row sums instead of dot products; each trace value thus
differs from the lone run's by a few ulps per step, amplified only as the optimizer amplifies
any rounding (tests: every trace column within rtol 1e-12 on an lr grid, and the torch golden
trajectories at rtol 1e-10 as groups of one).

What is vectorised (:func:`why_not`, else the run goes alone): linear or logistic regression
with mse / half_mse / bce, l2 allowed, no l1 or constraints, no stop rules beyond ``tol``, an
optimizer that needs no extras (no closure, Hessian, prox, data) with an ``lr``, the same data,
schedule, budget and logging, and the same batches (full batch, or unshuffled, or the same seed).

Level 7, beside :mod:`optrun.api` and the executors and importing neither: :func:`run_payloads`
(the sweep's folders) is given the API's run-folder functions and the executors' staging
functions by its caller (level 8), as the executors are given ``api.train``.

The package, bottom to top: ``objective`` (:func:`stack_value_and_grad`), ``groups``
(:func:`why_not`, :func:`group_key`, :func:`plan_groups`), ``stack`` (:func:`stacked_update`,
:func:`stack_states`, the probe), ``traces`` (:class:`~optrun.vectorized.traces.StackTrace`: the
stack's trace files written in blocks), ``loop`` (:func:`run_group`), ``folders``
(:func:`run_payloads`).
"""

from optrun.vectorized.folders import run_payloads
from optrun.vectorized.groups import MAX_GROUP, group_key, plan_groups, why_not
from optrun.vectorized.loop import run_group
from optrun.vectorized.objective import stack_value_and_grad
from optrun.vectorized.stack import stack_states, stacked_update

__all__ = ["MAX_GROUP", "group_key", "plan_groups", "run_group", "run_payloads", "stack_states",
           "stack_value_and_grad", "stacked_update", "why_not"]
