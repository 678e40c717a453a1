"""The vocabulary of the figures: the choices of `optrun plot` (x axes, curves, scales, formats,
projections). Plain constants, no dataclasses and no imports, so the CLI reads them for
``--help`` at no cost (plots.model re-exports them)."""

from __future__ import annotations

X_COLUMNS = {"step": "step", "epoch": "epoch", "samples": "samples", "evals": "evals",
             "time": "time_s"}  # --x -> trace column
X_LABELS = {
    "step": "optimizer step t",
    "epoch": "epoch (passes over the training set)",
    "samples": "training samples seen",
    # cumulative per-sample gradient evaluations (line-search trials and variance-reduction
    # snapshots included): the fair x axis between full-batch, stochastic and SVRG-like methods
    "evals": "per-sample gradient evaluations",
    "time": "wall time (s)",
}
Y_KINDS = ("loss", "subopt", "grad_norm", "dist")
Y_LABELS = {
    "loss": "training loss f(θ)",
    "subopt": "suboptimality f(θ) − f*",
    "grad_norm": "gradient norm ‖∇f(θ)‖",
    "dist": "distance to the optimum ‖θ − θ*‖",
}
LOG_BY_DEFAULT = {"loss": False, "subopt": True, "grad_norm": True, "dist": True}
YSCALES = ("log", "linear")
#: the figures of the catalog (optrun.plots.catalog.FIGURES, tested equal), for --figures
FIGURE_NAMES = ("loss", "grad_norm", "params", "contour", "theory", "data", "duality", "convexity")
#: what `optrun train` draws for its run unless told (--figures, plots: {figures: ...}): DESIGN §6's
#: loss, params and contour, and the lecture's duality and convexity figures where they apply.
#: grad_norm, data and theory are drawn by `optrun plot RUN` (every figure), compare and sweep
#: reports, or on request: each figure costs ~0.1 s of matplotlib, and issue #16 bounds train's
#: drawing (docs/performance.md, "Figures (0.2)")
TRAIN_FIGURES = ("loss", "params", "contour", "duality", "convexity")
FORMATS = ("png", "svg", "pdf")
PROJECTIONS = ("hessian", "pca")  # the plane for more than two parameters


def one_of(choices, sep: str = ", ") -> str:
    """``("a", "b", "c")`` -> ``"a, b or c"`` (the wording of the choice messages)."""
    choices = [str(c) for c in choices]
    return choices[0] if len(choices) == 1 else f"{sep.join(choices[:-1])} or {choices[-1]}"


# ---- curves -----------------------------------------------------------------------------------
