"""The schema of the fixed config sections, as pydantic v2 models.

pydantic is slow to import, and the CLI imports :mod:`optrun.config` for every command (``optrun
--help`` must stay fast): so this module imports pydantic at the top, and nothing imports *it*
at module level; :mod:`optrun.config.resolve` imports it inside the functions that validate.

The optimizer section is a plain dict here: its hyperparameters are validated against the
optimizer's own signature (:mod:`optrun.optim`), as a generator's parameters are against the
generator's (:mod:`optrun.data.checks`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from optrun.config.keys import MAX_STEPS
from optrun.data import generators


def _no_bool(value):
    # pydantic's lax mode reads true/false as 1/0; in a config that is always a typo
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


# numbers: never booleans; floats must be finite (allow_inf_nan=False below)
Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class DatasetConfig(BaseModel):
    # extra keys are generator parameters, checked against the generator's own signature
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    name: str = Field(description=f"csv | {' | '.join(generators.names())} | a file in datasets/ (see `optrun datasets`)")
    path: Optional[str] = Field(None, description="CSV path (name: csv); relative to the config file's folder")
    target: Optional[str] = Field(None, description="target column; default: the last column")
    features: Optional[list[str]] = Field(None, description="feature columns; default: every other column")
    standardize: bool = Field(False, description="z-score features with the training mean/std")
    validation_fraction: Float = Field(0.0, ge=0.0, lt=1.0, description="fraction of rows held out for val_loss")


class ModelConfig(Section):
    name: Literal["linear", "logistic", "quadratic", "function"] = "linear"
    fit_intercept: bool = True
    init: Union[Literal["zeros", "normal"], list[Float]] = Field("zeros", description="zeros | normal | [w_1, ..., w_d, b]")
    init_scale: Float = Field(0.1, gt=0, description="standard deviation of init: normal")
    # objectives without data (DESIGN.md §9.1); only in config.yaml when the model uses them
    A: Optional[list[list[Float]]] = Field(None, description="quadratic: the symmetric matrix of ½θᵀAθ + bᵀθ + c")
    b: Optional[list[Float]] = Field(None, description="quadratic: the linear term (default zeros)")
    c: Optional[Float] = Field(None, description="quadratic: the constant (default 0)")
    function: Optional[str] = Field(None, description="function: a built-in analytic function (see docs/lecture.md)")
    function_params: Optional[dict] = Field(None, description="function: its constants, e.g. {a: 1, b: 100}")


class LossConfig(Section):
    name: Optional[Literal["mse", "half_mse", "bce", "gaussian_nll"]] = Field(None, description="default: mse for linear, bce for logistic")
    # at most 1e100: a larger penalty overflows the Hessian (l2) or zeroes every weight long before
    l2: Float = Field(0.0, ge=0, le=1e100, description="(l2/2)*||w||^2, intercept excluded")
    l1: Float = Field(0.0, ge=0, le=1e100, description="l1*||w||_1, intercept excluded")
    reduction: Optional[Literal["mean", "sum"]] = Field(None, description="mean (default) | sum: the data term times n")
    sigma: Optional[Float] = Field(None, gt=0, description="gaussian_nll: a fixed noise sd (default: profiled, RSS/n)")


class BatchConfig(Section):
    mode: Literal["full", "stochastic", "minibatch"] = "full"
    size: Optional[Int] = Field(None, ge=1, description="minibatch size (default 32); 1 for stochastic; n for full")
    shuffle: bool = Field(True, description="reshuffle every epoch (seeded); false: file order, cycling")


class TrainConfig(Section):
    steps: Optional[Int] = Field(None, ge=0, le=MAX_STEPS, description="optimizer steps (batches); exactly one of steps/epochs; 0 evaluates without training")
    epochs: Optional[Float] = Field(None, gt=0, le=MAX_STEPS, description="passes over the training set; exactly one of steps/epochs")
    tol: Float = Field(0.0, ge=0, description="stop when the full-data gradient norm <= tol (0 = off)")
    log_every: Union[Literal["auto", "geometric"], Int] = Field("auto", description="auto | geometric (every step up to 10, then 10% apart) | k (1 = every step)")
    target: Optional[Float] = Field(None, gt=0, description="stop when f - f* <= target (needs the exact f*)")
    target_relative: bool = Field(False, description="the target is relative: (f - f*)/(f_0 - f*) <= target")
    patience: Optional[Int] = Field(None, ge=1, description="stop after this many steps without a relative improvement of min_progress")
    min_progress: Float = Field(1e-4, ge=0, description="the relative decrease of the best loss that counts as progress (patience)")
    time_budget: Optional[Float] = Field(None, gt=0, description="stop after this many seconds of training")
    divergence_factor: Float = Field(1e10, gt=1, description="diverged when loss > factor * max(1, initial loss)")
    dtype: Literal["float64", "float32"] = "float64"
    engine: Literal["auto", "numpy", "compiled"] = Field("auto", description="auto | numpy | compiled (numba; optrun.compiled)")

    @field_validator("log_every")
    @classmethod
    def _positive(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("must be 'auto' or an integer >= 1")
        return v

    @model_validator(mode="after")
    def _one_budget(self):
        if (self.steps is None) == (self.epochs is None):
            both = "both are set" if self.steps is not None else "neither is set"
            raise ValueError(f"set exactly one of steps or epochs ({both})")
        return self


class ConstraintsConfig(BaseModel):
    # the sets (lower, upper, norm, equality, inequality) are checked against the parameter count
    # by optrun.constraints.ConstraintSet in prepare; here the method and its step sizes
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    method: Literal["project", "primal_dual", "augmented_lagrangian"] = "project"
    dual_lr: Float = Field(0.1, gt=0, description="primal_dual: the multipliers' ascent step")
    rho: Float = Field(1.0, gt=0, description="augmented_lagrangian: the penalty parameter")


class Config(Section):
    name: Optional[str] = None
    seed: Int = Field(0, ge=0)
    dataset: Optional[DatasetConfig] = None  # none for the models without data
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optimizer: dict = Field(description="name plus the optimizer's hyperparameters (see `optrun optimizers NAME`)")
    batch: BatchConfig = BatchConfig()
    train: TrainConfig
    constraints: Optional[ConstraintsConfig] = None
    # figure options (style, title, subtitle, font_scale, size, dpi, format, frames, figures):
    # checked by optrun.plots.style.check_plot_options when a run draws (api), not here
    plots: Optional[dict] = None
