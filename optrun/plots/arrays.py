"""Run folders -> plain arrays: the public names of 0.1.0, re-exported from their 0.2 modules.

Before 0.2 this one module held seven concerns. They now live in :mod:`~optrun.plots.model`
(the dataclasses and the vocabulary), :mod:`~optrun.plots.rundata` (run folders, groups, the
reloaded problem), :mod:`~optrun.plots.labels` (labels and titles), :mod:`~optrun.plots.curves`,
:mod:`~optrun.plots.contour` and :mod:`~optrun.plots.dataspace`. Import from those; this module
keeps ``optrun.plots.arrays.<name>`` working.
"""

from __future__ import annotations

from optrun.plots.contour import contour_data, contour_levels, plane_basis, project, slice_values
from optrun.plots.curves import EPS, MAX_PARAM_PANELS, band_stats, curve_panel, params_data, run_y
from optrun.plots.dataspace import dataspace_data, snapshot_rows
from optrun.plots.labels import (
    batch_text,
    budget_text,
    dataset_text,
    figure_title,
    make_labels,
    optimizer_text,
    problem_text,
    run_text,
)
from optrun.plots.model import (
    LOG_BY_DEFAULT,
    X_COLUMNS,
    X_LABELS,
    Y_KINDS,
    Y_LABELS,
    Band,
    ContourData,
    DataPanel,
    DataSpaceData,
    FitLine,
    Marker,
    Panel,
    ParamPanel,
    ParamsData,
    PathData,
    ProblemData,
    Series,
)
from optrun.plots.rundata import (
    MAX_POINTS,
    Group,
    RunData,
    default_x,
    group_runs,
    load_problem,
    load_run,
    problem_key,
    run_x,
    same_problem_runs,
)

Problem = ProblemData  # the 0.1.0 name (it clashed with optrun.prepare.Problem)

__all__ = [
    "EPS", "LOG_BY_DEFAULT", "MAX_PARAM_PANELS", "MAX_POINTS", "X_COLUMNS", "X_LABELS", "Y_KINDS", "Y_LABELS",
    "Band", "ContourData", "DataPanel", "DataSpaceData", "FitLine", "Group", "Marker", "Panel", "ParamPanel",
    "ParamsData", "PathData", "Problem", "ProblemData", "RunData", "Series",
    "band_stats", "batch_text", "budget_text", "contour_data", "contour_levels", "curve_panel", "dataset_text",
    "dataspace_data", "default_x", "figure_title", "group_runs", "load_problem", "load_run", "make_labels",
    "optimizer_text", "params_data", "plane_basis", "problem_key", "problem_text", "project", "run_text", "run_x",
    "run_y", "same_problem_runs", "slice_values", "snapshot_rows",
]
