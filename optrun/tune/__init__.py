"""Equal-budget tuning: the same number of trials per optimizer, then the best of each over seeds.

    from optrun import tune
    result = tune.tune("configs/compare_optimizers.yaml", optimizers=["sgd", "adam"], budget=20,
                       seeds=3, search="sobol", score="final_subopt", jobs=2)
    result.folder, result.ranking           # the tune folder, one ranking row per optimizer

A comparison of optimizers is fair only when each was tuned with the same effort (AlgoPerf's
rule). ``tune`` gives every optimizer exactly ``budget`` trials over *its own* search space
(:data:`DEFAULT_SPACES`, overridable with ``--space``), scores each trial by one stated
criterion, then reruns the best setting of each optimizer over ``seeds`` *fresh* seeds (seed+1,
..., seed+K: the seed the setting was chosen on is not reused, so the band is not biased by the
selection) and ranks the optimizers by the median score over those seeds.

Search spaces. A dimension is ``log(a,b)`` (log-uniform: the learning rates), ``lin(a,b)``
(uniform: momentum, betas), ``int(a,b)`` (inclusive) or a list of choices ``a|b|c``. A point u of
the unit cube [0, 1)^d maps to log: 10^(log10 a + u (log10 b − log10 a)), lin: a + u (b − a),
int: ⌊a + u (b − a + 1)⌋, choice: choices[⌊u n⌋]. Values are rounded to 4 significant digits, so
every setting prints exactly and can be typed back (``--filter optimizer.lr=0.0123``).

Search methods (each gives exactly ``budget`` points):

* ``sobol``: points 1..budget of the unscrambled Sobol sequence (:func:`optrun.sobol.sobol`, equal
  to SciPy's ``Sobol(d, scramble=False)``); point 0, the corner (every lower bound), is skipped;
* ``random``: uniform points from ``numpy.random.default_rng(SeedSequence([seed, i]))`` with i the
  optimizer's position in the list;
* ``grid``: budget = m_1 · … · m_d with the factors as equal as possible (20 over 2 dimensions:
  5 × 4; a prime budget over 2 dimensions is budget × 1, and the second dimension stays at its
  midpoint); the points are cell midpoints (i + ½)/m_j, so no trial sits on a bound.

Scores (lower is better; a diverged or failed trial scores +inf): ``final_subopt`` (f − f* at the
end; f when f* is unknown), ``steps_to_target``, ``evals_to_target`` (the trace's ``evals``,
else ``samples``: per-sample gradient evaluations), ``time_to_target`` (seconds). The target is
``--target`` or 1e-3 × the median initial f − f*; a run that never reaches it is right-censored
(> its budget), never dropped (:func:`optrun.stats.censored_quantile`). With a to-target score
every run logs every step (``train.log_every: 1``) unless the config fixes ``log_every``: the
first crossing is found at a resolution that does not depend on the budget, and
``tune.json`` states it.

The folder ``<out>/tune-<name>-<id>/`` (the id hashes the planned trial configs, the score and
the seeds, so the same command finds the same folder and resumes it: a run whose config hash is
already there with a finished status is not run again) holds ``tune.json``, ``runs/``,
``trials.csv`` (one row per trial), ``ranking.csv`` (one row per optimizer: rank, the chosen
hyperparameters, the median score over the seeds and its band) and ``plots/`` (the result
figure and the learning-rate sensitivity of the trials).

Modules: ``space`` (:class:`Dim`, the default spaces, ``--space``), ``points`` (the unit-cube
points and the settings they give), ``plan`` (the checks, :class:`Planned`, :func:`plan_trials`),
``scoring`` (:func:`run_record`, :func:`crossing`, :func:`score_of`), ``ranking`` (the best trial,
:func:`rank`), ``output`` (the CSV tables and the figures glue) and ``run`` (:func:`tune`, resume).
"""

from optrun.tune.space import DEFAULT_SPACES, FALLBACK_SPACE, Dim, parse_dim, parse_space, space_for
from optrun.tune.points import SEARCHES, grid_shape, hyperparams, setting_text, settings, unit_points
from optrun.tune.plan import SCORES, Planned, plan_trials
from optrun.tune.scoring import DONE_STATUSES, crossing, run_record, score_of
from optrun.tune.ranking import rank
from optrun.tune.output import RANKING_COLUMNS
from optrun.tune.run import RUNS_SUBDIR, TuneResult, tune

__all__ = [
    "DEFAULT_SPACES", "DONE_STATUSES", "Dim", "FALLBACK_SPACE", "Planned", "RANKING_COLUMNS", "RUNS_SUBDIR",
    "SCORES", "SEARCHES", "TuneResult", "crossing", "grid_shape", "hyperparams", "parse_dim", "parse_space",
    "plan_trials", "rank", "run_record", "score_of", "setting_text", "settings", "space_for", "tune", "unit_points",
]
