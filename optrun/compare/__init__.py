"""Fair comparisons: one base config, a grid of varied values, N seeds each, one folder.

    from optrun import compare
    result = compare.compare("configs/compare_batch_modes.yaml",
                             vary=["batch.mode=full,stochastic,minibatch"], seeds=3)
    result.folder, result.table          # the comparison folder, one row per run

``--vary`` syntax (:func:`parse_vary`), one axis per ``--vary``; several axes form a grid:

* ``KEY=v1,v2,...`` with a dotted key (``optimizer.lr=0.1,0.01``, ``batch.mode=full,stochastic``);
  values are typed like YAML, and commas inside ``[...]`` do not split
  (``optimizer.betas=[0.9,0.999],[0.8,0.99]``). The value syntax is `optrun sweep`'s, so
  ``optimizer.lr='logspace(-3,-1,3)'`` and ``batch.size='range(8,33,8)'`` work too.
* ``batch.mode=full,stochastic,minibatch``: stochastic runs use size 1 (the base config's
  ``batch.size`` is for minibatch); full batch ignores the size.
* ``optimizer.name=sgd,momentum,adam`` or ``optimizer=adam:lr=0.01,sgd:lr=0.1``: each value names
  an optimizer, optionally followed by ``:hp=value`` pairs. A varied optimizer starts from *its
  own defaults* (torch's), then takes the inline values, then the command line's common
  ``optimizer.*`` overrides; the base config's other optimizer hyperparameters are dropped (they
  belong to the base optimizer), its ``schedule`` is kept.

Order of application for each combination: base config -> varied optimizer (reset) -> common
``KEY=VALUE`` overrides -> the other varied values. Every combination is validated before the
first run starts, so a typo costs nothing.

The folder ``<out>/<stamp>-compare-<name>-<hex>/`` holds the run folders, ``comparison.csv``
(one row per run), ``comparison.json`` (what was varied, the seeds, the target) and ``plots/``
(the overlay figures). Comparisons are fair by construction: same data, same init rule, same
budget; when batch modes differ the figures use epochs (equal passes over the data), and
"steps/epochs/samples to target" are read from the first logged row where f - f* <= target.

The runs go through :func:`optrun.executors.run_all`, the sweep's executors: each trains in a
hidden staging folder and appears in the comparison folder complete; ``jobs=N`` runs N at once
in spawned processes, with the same rows in the same order.

Modules: ``vary`` (:func:`parse_vary`, :func:`expand`, :func:`combo_config`), ``baselines``
(``--baselines theory``), ``plan`` (checks, resolution, every combination resolved, the runs),
``ranking`` (to target, the target level, :func:`rank_settings`), ``output`` (``comparison.csv``,
the overlays) and ``run`` (:func:`compare`, the work function over ``optrun.api.train``).
"""

from optrun.compare.vary import OPTIMIZER_KEYS, VaryAxis, combo_config, expand, parse_vary, value_label
from optrun.compare.baselines import theory_baselines
from optrun.compare.plan import _with_resolution  # noqa: F401 (tests call it as compare._with_resolution)
from optrun.compare.ranking import UNITS, censored_to_target, rank_settings, to_target
from optrun.compare.output import CSV_FIXED, write_csv
from optrun.compare.run import Comparison, compare

__all__ = [
    "CSV_FIXED", "Comparison", "OPTIMIZER_KEYS", "UNITS", "VaryAxis", "censored_to_target", "combo_config",
    "compare", "expand", "parse_vary", "rank_settings", "theory_baselines", "to_target", "value_label",
    "write_csv",
]
