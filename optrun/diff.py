"""``optrun diff RUN_A RUN_B``: what differs between two run folders.

Three parts, each ``{key: [a, b]}``: the resolved config keys whose values differ (dotted,
``optimizer.lr``), the final metrics of both runs (every scalar result of the summary, equal
or not, so a reader sees the numbers side by side), the diagnostics that differ, and the
versions (optrun, numpy, python) of both. Reads the two folders only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from optrun._text import flatten
from optrun.rundir import RunFolder

#: the summary's scalar results, in the order they are shown
METRICS = ("status", "stop_reason", "steps", "epochs", "final_loss", "f_star", "suboptimality", "grad_norm",
           "distance_to_theta_star", "r2", "accuracy", "val_loss", "wall_time_s", "trace_rows")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def diff_dicts(a: dict, b: dict) -> dict[str, list]:
    """``{dotted key: [a, b]}`` for the keys of two nested dicts whose values differ (a key
    missing on one side is ``None`` there)."""
    fa, fb = flatten(a), flatten(b)
    return {k: [fa.get(k), fb.get(k)] for k in sorted(set(fa) | set(fb)) if not _same(fa.get(k), fb.get(k))}


def diff_runs(path_a: str | Path, path_b: str | Path) -> dict:
    """The differences between two run folders: ``{config, metrics, diagnostics, versions}``."""
    a, b = RunFolder(path_a).require(), RunFolder(path_b).require()
    sa, sb = a.summary, b.summary
    metrics = {k: [sa.get(k), sb.get(k)] for k in METRICS if k in sa or k in sb}
    versions = {k: [(sa.get("versions") or {}).get(k), (sb.get("versions") or {}).get(k)]
                for k in sorted(set(sa.get("versions") or {}) | set(sb.get("versions") or {}))}
    return {
        "runs": [str(a.path), str(b.path)],
        "config": diff_dicts(a.config, b.config),
        "metrics": metrics,
        "diagnostics": diff_dicts(sa.get("diagnostics") or {}, sb.get("diagnostics") or {}),
        "versions": versions,
    }
