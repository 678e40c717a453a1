"""The compiled engine (``train.engine: compiled``, or ``auto`` where it pays): the stretch of
steps between two logged rows runs as one numba-compiled loop.

One source of truth: the loop calls the *very same* module-level update rules the NumPy engine
calls (``sgd_update``, ``adam_update``, ... in :mod:`optrun.optim`) and the very same per-sample
loss functions (``value_and_dz`` of the loss table, :mod:`optrun.models.losses`), compiled with
``numba.njit``. :func:`compile_function` does it without a second copy of any rule: it takes the
function's own code object, turns its keyword-only hyperparameters into positional arguments
(numba passes no keyword-only arguments) and rebinds the optrun helpers it calls (``_f64``,
``_weight_decay``, ``_sigmoid_parts``, ...) to their compiled versions, recursively. The
hyperparameters are run-time arguments (the values the optimizer's ``partial`` holds), states
are the optimizer's own NamedTuples. The only things written here are what the NumPy engine
gets from NumPy itself: the loop, the batch gather, the linear predictor ``z = X w + b`` and the
gradient assembly ``g = m X~ᵀ l'(z, y) + l2 P θ`` (Objective.value_and_grad's formula).

What the compiled loop does per step is what optrun/engine.py does: batch (the same sampler:
file order, or one permutation per epoch from the same shuffle stream, drawn here in Python
exactly when ``sampling.batch_indices`` would draw it), batch loss and gradient at θ_{t−1},
``update(g, state, θ, t, lr)`` with ``lr = base lr × schedule(t)`` (the schedule is evaluated in
Python, in bulk, per stretch), divergence on a non-finite batch loss or θ. Logged rows,
full-data evaluations, tol and stop checks happen in Python between stretches with the NumPy
objective, as in the NumPy engine. Full batch evaluates the full objective inside the loop
(every step, as the NumPy engine does) and checks divergence and tol there too.

Equality (tests/test_compiled.py): the elementwise rule arithmetic is the same IEEE operations
in the same order (numba does not contract to FMA nor reorder without fastmath), so the
optimizer step itself is bit-for-bit; the sums behind ``z``, the gradient and the mean loss are
sequential loops here but BLAS/pairwise sums in NumPy, so traces agree to rounding (relative
differences ~1e-15 per step, growing no faster than the trajectory's own conditioning; the tests
assert rtol 1e-10 on every supported optimizer × batch mode and on the torch golden traces).
``t`` is passed as a float so ``beta ** t`` is ``pow`` in both engines.

A stop request (Ctrl-C) is read between stretches; a stretch is capped at about 2e7
multiply-adds (tens of milliseconds) so an interrupt still lands promptly.

Disk cache (numba ``cache=True``): compiled code is written beside the source, in the
``__pycache__`` folders of ``optrun/`` (the loops), ``optrun/optim/`` (the rules) and
``optrun/models/`` (the losses), as ``*.nbi``/``*.nbc`` files; where those are not writable numba
uses ``$NUMBA_CACHE_DIR`` or ``~/.cache/numba``. The first run of an optimizer × loss compiles
for a few seconds; later runs load it in well under a second. Editing a source file invalidates
its entries.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
import time
import types

import numpy as np

from optrun.errors import OptrunError

ENGINES = ("auto", "numpy", "compiled")

#: the optimizers (by registry name) whose update rules the compiled engine runs
SUPPORTED_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop",
                        "adam", "adamw", "amsgrad", "adamax", "nadam")
SUPPORTED_LOSSES = ("mse", "half_mse", "bce")

# `auto` compiles only where it pays: a compiled loop's first run compiles for seconds (then it
# is on disk), and a short or a big full-batch run is already at NumPy's speed.
AUTO_MIN_STEPS = 100_000  # the NumPy engine needs ~2 s there: more than loading the compiled loops
AUTO_MAX_FULL_VALUES = 20_000  # n × d of a full batch small enough for the loop to beat BLAS calls
_STRETCH_WORK = 20_000_000  # multiply-adds per compiled stretch (bounds the reaction to a stop)
# A stochastic stretch gathers its rows in chunks of at most this many rows and values (a chunk
# of 10 features is 320 kB, in cache) but at least one batch.
_CHUNK_ROWS = 4096
_CHUNK_VALUES = 1 << 18


def available() -> bool:
    """Whether numba can be imported (the ``fast`` extra: ``pip install "optrun[fast]"``)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _rules() -> set:
    from optrun.optim import adam, adaptive, sgd

    return {sgd.sgd_update, adaptive.adagrad_update, adaptive.adadelta_update, adaptive.rmsprop_update,
            adam.adam_update, adam.adamax_update, adam.nadam_update}


def unsupported(problem) -> list[str]:
    """What in ``problem`` the compiled engine cannot run (empty: it can run all of it)."""
    from optrun.models import Objective

    out = []
    opt, obj = problem.optimizer, problem.objective
    upd = opt.update
    if opt.needs or not (isinstance(upd, functools.partial) and upd.func in _rules()):
        what = "with a line search" if opt.needs and opt.name == "sgd" else ""
        out.append(f"optimizer {opt.name}{' ' + what if what else ''} (compiled: {', '.join(SUPPORTED_OPTIMIZERS)};"
                   " sgd without line search)")
    if not isinstance(obj, Objective):
        out.append("a model without data")
    else:
        if obj.loss not in SUPPORTED_LOSSES:
            out.append(f"loss {obj.loss} (compiled: {', '.join(SUPPORTED_LOSSES)})")
        if obj.l1 > 0:
            out.append("an l1 penalty")
    if problem.hooks or problem.constraint_set is not None:
        out.append("constraints or step hooks")
    if problem.data.X_val is not None:
        out.append("a validation split")
    if getattr(problem, "stop_rules", None) is not None or getattr(problem, "log_at", None) is not None:
        out.append("train.target / patience / time_budget or log_every: geometric")
    if np.asarray(problem.data.X).dtype != np.float64 or np.asarray(problem.theta0).dtype != np.float64:
        out.append("train.dtype float32")
    return out


def choose(problem, requested: str = "auto") -> str:
    """The engine that runs ``problem``: ``"numpy"`` or ``"compiled"``.

    ``numpy`` is always honoured. ``compiled`` is an error (OptrunError, key ``train.engine``)
    without numba or for a feature it does not run (see :func:`unsupported`). ``auto`` picks the
    compiled engine when numba is installed, the run is supported, has at least
    ``AUTO_MIN_STEPS`` steps, and is not a full batch bigger than ``AUTO_MAX_FULL_VALUES``
    values; otherwise NumPy.
    """
    if requested == "numpy":
        return "numpy"
    if requested not in ENGINES:
        raise OptrunError(f"train.engine: expected one of {', '.join(ENGINES)}, got {requested!r}", key="train.engine")
    missing = unsupported(problem)
    if requested == "compiled":
        if not available():
            raise OptrunError('train.engine: compiled needs numba (pip install "optrun[fast]"); '
                              "use auto or numpy", key="train.engine")
        if missing:
            raise OptrunError(f"train.engine: the compiled engine does not run {'; '.join(missing)}; "
                              "use train.engine: auto (falls back to numpy) or numpy", key="train.engine")
        return "compiled"
    n, d = np.shape(problem.data.X)
    full = problem.batch_size >= n and not problem.shuffle
    # The cheap tests first: importing numba alone costs ~0.2 s, more than a short run takes.
    if missing or problem.total_steps < AUTO_MIN_STEPS or (full and n * d > AUTO_MAX_FULL_VALUES) or not available():
        return "numpy"
    return "compiled"


# --------------------------------------------------------------------------------------------
# Compiling the existing functions


@functools.lru_cache(maxsize=None)
def compile_function(fn):
    """``numba.njit(cache=True)`` of ``fn``'s own code, with keyword-only parameters made
    positional (in their order), ``**kwargs`` dropped, and every optrun function it calls
    compiled the same way. Closures keep their (constant) cells."""
    import numba

    code = fn.__code__
    code = code.replace(co_argcount=code.co_argcount + code.co_kwonlyargcount, co_kwonlyargcount=0,
                        co_flags=code.co_flags & ~inspect.CO_VARKEYWORDS)
    env = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        helper = env.get(name)
        if isinstance(helper, types.FunctionType) and helper.__module__.startswith("optrun."):
            env[name] = compile_function(helper)
    defaults = fn.__defaults__
    pos = types.FunctionType(code, env, fn.__name__, defaults, fn.__closure__)
    pos.__qualname__, pos.__module__ = fn.__qualname__, fn.__module__
    if fn.__closure__:
        # numba's disk cache files a function under its qualified name: closures of one factory
        # (mse's and half_mse's value_and_dz) would share an entry, so each gets its own name
        cells = repr([c.cell_contents for c in fn.__closure__]).encode()
        pos.__qualname__ = f"{fn.__qualname__}__{hashlib.sha1(cells).hexdigest()[:12]}"
    return numba.njit(cache=True)(pos)


def hyperparameters(update: functools.partial) -> tuple:
    """The values of the rule's keyword-only hyperparameters, in the order of its signature."""
    fn = update.func
    code = fn.__code__
    names = code.co_varnames[code.co_argcount: code.co_argcount + code.co_kwonlyargcount]
    kw = {**(fn.__kwdefaults__ or {}), **update.keywords}
    return tuple(_plain(kw[k]) for k in names)


def _plain(v):
    # one numba type per hyperparameter whatever the config spelled (0 or 0.0): bool, float, tuple
    if isinstance(v, (tuple, list)):
        return tuple(float(x) for x in v)
    return v if isinstance(v, bool) else float(v)


def _loss_function(model: str, loss: str):
    from optrun.models.losses import _LOSS_TABLE

    return _LOSS_TABLE[(model, loss)].value_and_dz


@functools.lru_cache(maxsize=None)
def _loops(rule, loss_key: tuple[str, str]):
    """The two loops bound to one compiled rule and one compiled loss: ``_RULE``, ``_LOSS`` and
    ``_VG`` are globals of the loop functions, rebound here (arguments of a function type would
    make numba recompile in every new process instead of loading its disk cache). Each binding
    is a function of its own name (``_batch_stretch__adam_update__linear_mse``), so each has its
    own cache entry."""
    import numba

    loss = compile_function(_loss_function(*loss_key))
    suffix = f"{rule.py_func.__name__}__{'_'.join(loss_key)}"

    def bind(fn, **env):
        g = {**fn.__globals__, **env}
        f = types.FunctionType(fn.__code__, g, f"{fn.__name__}__{suffix}", fn.__defaults__)
        f.__qualname__ = f.__name__
        return numba.njit(cache=True)(f)

    vg = bind(_batch_value_and_grad, _LOSS=loss)
    return bind(_batch_stretch, _VG=vg, _RULE=rule), bind(_full_stretch, _VG=vg, _RULE=rule)


# The loops (compiled by _loops; plain Python here so the module imports without numba). The
# names below are what they call: _loops binds them to compiled functions.
_RULE = _LOSS = _VG = None


def _batch_value_and_grad(X, y, rows, lo, hi, fit_intercept, mean, l2, theta, z, yb):
    """``(F_B(θ), ∇F_B(θ))`` on the rows ``rows[lo:hi]``: Objective.value_and_grad's formula,
    ``z = X w + b``, ``(l, l') = loss(z, y)``, ``g_w = m Xᵀ l' + l2 w``, ``g_b = m Σ l'``,
    F = m Σ l + (l2/2)‖w‖² (m = 1/b for reduction mean, 1 for sum). ``z`` and ``yb`` are
    scratch of at least b values, the caller's for the whole stretch (two allocations fewer
    per step: at one sample a step, allocations are most of a step's cost)."""
    d = X.shape[1]
    b = hi - lo
    for i in range(b):
        r = rows[lo + i]
        s = 0.0
        for j in range(d):
            s += X[r, j] * theta[j]
        if fit_intercept:
            s += theta[d]
        z[i] = s
        yb[i] = y[r]
    if b < z.shape[0]:  # an epoch's last, short batch
        z, yb = z[:b], yb[:b]
    loss_i, dz = _LOSS(z, yb)
    g = np.zeros(theta.shape[0])
    total = 0.0
    for i in range(b):
        r = rows[lo + i]
        c = dz[i]
        total += loss_i[i]
        for j in range(d):
            g[j] += X[r, j] * c
        if fit_intercept:
            g[d] += c
    if mean:
        total = total / b
        for j in range(g.shape[0]):
            g[j] = g[j] / b
    if l2:
        ww = 0.0
        for j in range(d):
            ww += theta[j] * theta[j]
            g[j] += l2 * theta[j]
        total += 0.5 * l2 * ww
    return total, g


def _batch_stretch(hp, X, y, perm, first, size, fit_intercept, mean, l2,
                   theta, state, t, t_stop, lrs):
    """Steps ``t+1 .. t_stop`` of a stochastic / mini-batch run inside one epoch: batch k of the
    stretch is ``perm[first + k·size : +size]`` (clipped at n). Stops early after a step with a
    non-finite batch loss or θ. Returns (θ, state, t, samples, batch loss of the last step, bad).

    The stretch's rows are copied, in chunks of whole batches (at most ``_CHUNK_ROWS`` rows
    and ``_CHUNK_VALUES`` values, but at least one batch: a batch bigger than that is copied
    whole, as the NumPy engine's ``X[idx]`` copies it), into a contiguous buffer before their
    steps use them: a gather loop's loads are independent, so the CPU overlaps their cache
    misses, where a step reading a random row of a large X waits for each miss in turn (on 10^5
    × 10 per-sample SGD: ~200 ns a step instead of ~330). The values, and so the arithmetic,
    are the same."""
    n, d = X.shape
    last = min(first + (t_stop - t) * size, n)  # the end of the stretch's rows
    rows = max(size, min(_CHUNK_ROWS, _CHUNK_VALUES // max(d, 1)))
    Xc = np.empty((min(rows, last - first), d))
    yc = np.empty(Xc.shape[0])
    ident = np.arange(Xc.shape[0])
    z = np.empty(size)
    yb = np.empty(size)
    base = end = first
    samples = 0
    batch_loss = np.nan
    bad = False
    k = 0
    while t < t_stop:
        t += 1
        lo = first + k * size
        hi = min(lo + size, n)
        if hi > end:  # the next chunk: whole batches from lo
            base, end = lo, min(lo + Xc.shape[0], last)
            for i in range(end - base):
                r = perm[base + i]
                for j in range(d):
                    Xc[i, j] = X[r, j]
                yc[i] = y[r]
        batch_loss, g = _VG(Xc, yc, ident, lo - base, hi - base, fit_intercept, mean, l2, theta, z, yb)
        theta, state = _RULE(g, state, theta, float(t), lrs[k], None, *hp)
        samples += hi - lo
        k += 1
        finite = math.isfinite(batch_loss)
        for j in range(theta.shape[0]):
            finite = finite and math.isfinite(theta[j])
        if not finite:
            bad = True
            break
    return theta, state, t, samples, batch_loss, bad


def _full_stretch(hp, X, y, rows, fit_intercept, mean, l2,
                  theta, state, t, t_stop, lrs, loss, g, limit, tol):
    """Full-batch steps ``t+1 .. t_stop`` from θ with (loss, g) = (F(θ), ∇F(θ)); each step
    evaluates F and ∇F at the new θ (the next step's gradient) and stops early on divergence
    (non-finite, or loss > limit) or on ‖∇F‖ <= tol. Returns (θ, state, t, loss, g, ‖g‖,
    batch loss of the last step, bad)."""
    n = X.shape[0]
    k = 0
    gnorm = np.nan
    batch_loss = np.nan
    bad = False
    z = np.empty(n)
    yb = np.empty(n)
    while t < t_stop:
        t += 1
        batch_loss = loss
        theta, state = _RULE(g, state, theta, float(t), lrs[k], None, *hp)
        k += 1
        loss, g = _VG(X, y, rows, 0, n, fit_intercept, mean, l2, theta, z, yb)
        gg = 0.0
        for j in range(g.shape[0]):
            gg += g[j] * g[j]
        gnorm = math.sqrt(gg)
        bad = not (math.isfinite(loss) and loss <= limit and math.isfinite(gnorm))
        if bad or (tol > 0 and gnorm <= tol):
            break
    return theta, state, t, loss, g, gnorm, batch_loss, bad


# --------------------------------------------------------------------------------------------
# The run


def _norm(g: np.ndarray) -> float:
    return float(np.sqrt(g.dot(g)))


def _lrs(base_lr: float, schedule, t0: int, t1: int) -> np.ndarray:
    """``base_lr × schedule(t)`` for t = t0 .. t1, exactly as the NumPy engine computes each."""
    from optrun.optim import schedules

    if schedule is getattr(schedules, "_constant", None):
        return np.full(t1 - t0 + 1, base_lr * schedule(t0))
    return np.array([base_lr * schedule(s) for s in range(t0, t1 + 1)], dtype=np.float64)


class _Stretches:
    """One run's position (θ, optimizer state, t, samples, and the last loss, full gradient and
    batch loss) and what moves it: the compiled loops and their constant arguments."""

    def __init__(self, problem):
        obj, opt, data = problem.objective, problem.optimizer, problem.data
        self.problem, self.obj = problem, obj
        self.X = np.ascontiguousarray(data.X, dtype=np.float64)
        self.y = np.ascontiguousarray(data.y, dtype=np.float64)
        n, d = self.X.shape
        self.n = n
        self.full = problem.batch_size >= n and not problem.shuffle
        self.size = n if self.full else problem.batch_size
        self.base_lr = float(opt.hyperparams["lr"])
        rule, self.hp = compile_function(opt.update.func), hyperparameters(opt.update)
        self.batch_loop, self.full_loop = _loops(rule, (obj.model, obj.loss))
        self.args = (bool(obj.fit_intercept), obj.reduction == "mean", float(obj.l2))
        self.nb = math.ceil(n / self.size)
        self.cap = max(1, _STRETCH_WORK // max(1, self.size * (d + 1)))
        self.rows = np.arange(n, dtype=np.int64)
        self.perm = self.rows
        self.theta = np.array(problem.theta0, dtype=np.float64)
        self.state = opt.init(self.theta)
        self.t, self.samples, self.batch_loss = 0, 0, math.nan

    def evaluate(self) -> None:
        """The full-data loss and gradient at θ, in NumPy (a logged row's, or a stop's)."""
        self.loss, self.g_full = self.obj.value_and_grad(self.theta, self.X, self.y)
        self.gnorm = _norm(self.g_full)

    def stretch(self, limit: float, tol: float) -> tuple[float, bool]:
        """Steps up to the next logged row (at most ``cap`` steps; inside one epoch for
        mini-batches) in one compiled call; returns the lr of the last step and whether the
        stretch diverged (full batch: also whether it met ``tol``, where it stops early)."""
        p, t = self.problem, self.t
        t_stop = min(p.total_steps, (t // p.log_every + 1) * p.log_every, t + self.cap)
        if self.full:
            lrs = _lrs(self.base_lr, p.schedule, t + 1, t_stop)
            (self.theta, self.state, self.t, self.loss, self.g_full, gnorm, self.batch_loss, bad) = self.full_loop(
                self.hp, self.X, self.y, self.rows, *self.args, self.theta, self.state, t, t_stop, lrs,
                float(self.loss), self.g_full, limit, tol)
            self.samples = self.t * self.n
            self.gnorm = float(gnorm)
        else:
            j = t % self.nb  # the batch of step t + 1 within its epoch
            if j == 0 and p.shuffle:
                self.perm = p.shuffle_rng.permutation(self.n)  # as sampling.batch_indices draws it
            t_stop = min(t_stop, t + self.nb - j)  # a stretch stays inside one epoch
            lrs = _lrs(self.base_lr, p.schedule, t + 1, t_stop)
            self.theta, self.state, self.t, added, self.batch_loss, bad = self.batch_loop(
                self.hp, self.X, self.y, self.perm, j * self.size, self.size, *self.args,
                self.theta, self.state, t, t_stop, lrs)
            self.samples += added
        lr = float(lrs[self.t - (t_stop - len(lrs)) - 1]) if len(lrs) else math.nan
        return lr, bad


def run(problem, writer, stop=None, progress=None, *, decide) -> dict:
    """Train ``problem`` like :func:`optrun.engine.run` (same rows, same stop rules), the steps
    between logged rows compiled. Returns the fields of ``engine.EngineResult`` as a dict.

    ``decide`` is :func:`optrun.engine.stop_decision` (the one stop test; passed in by engine.run,
    which sits above this module)."""
    from optrun.control import StopFlag

    stop = stop or StopFlag()
    T, log_every = problem.total_steps, problem.log_every
    tol, factor = problem.tol, problem.divergence_factor
    r = _Stretches(problem)

    def row(lr, elapsed, loss, batch_loss):
        writer.record((r.t, r.samples / r.n, r.samples, elapsed, lr, loss, batch_loss, r.gnorm, r.samples), r.theta)

    with np.errstate(all="ignore"):
        start = time.perf_counter()
        r.evaluate()
        row(math.nan, 0.0, r.loss, math.nan)
        limit = factor * max(1.0, abs(r.loss)) if math.isfinite(r.loss) else math.inf

        status, reason = "completed", f"step budget reached ({T} steps)" if T else "evaluated without training (train.steps: 0)"
        while r.t < T:
            lr, bad = r.stretch(limit, tol)
            logged = r.t % log_every == 0 or r.t == T
            evaluated = r.full or logged
            if logged and not r.full:  # the logged row's full-data evaluation, in NumPy
                r.evaluate()
                bad = not (math.isfinite(r.loss) and r.loss <= limit and math.isfinite(r.gnorm))
            stopping = stop.requested
            if (bad or stopping) and not evaluated:
                r.evaluate()
                evaluated = True
            decision = decide(r.t, bad, evaluated, stopping, r.loss, r.gnorm, r.theta, tol, factor, stop)
            if decision is not None:
                status, reason = decision
            if logged or decision is not None:
                row(lr, time.perf_counter() - start, float(r.loss), float(r.batch_loss))
                if progress is not None:
                    progress(r.t, T)
            if decision is not None:
                break

    wall = time.perf_counter() - start
    return dict(status=status, stop_reason=reason, steps=r.t, samples=r.samples, epochs=r.samples / r.n,
                theta=r.theta, loss=float(r.loss), grad_norm=r.gnorm, wall_time_s=wall,
                optimizer_report=problem.optimizer.report(r.state), evals=r.samples, hook_reports={})
