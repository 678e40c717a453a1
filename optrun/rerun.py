"""``optrun rerun RUN [--verify]``: run a run folder's config again, into a new folder.

A run folder's ``config.yaml`` is the fully resolved config, so rerunning it is training it.
``verify`` then compares the two ``trace.csv`` files cell by cell, as text, apart from the
timing column ``time_s``: optrun promises byte-identical traces for the same config and seed
(DESIGN.md §4), so any other difference is a change in the code, the libraries or the data.
The first differing cell is reported with its row, column and both values, next to the
versions that produced each run.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from optrun.errors import OptrunError
from optrun.data.files import read_bytes
from optrun.rundir import RunFolder

#: columns that measure time, not the computation: never compared
TIMING_COLUMNS = frozenset({"time_s"})
_MAX_TRACE_BYTES = 1 << 30


@dataclass
class Verification:
    equal: bool
    rows: int  # rows compared
    first_difference: dict | None  # {row, column, original, rerun} or {what: ...}


def _trace_rows(path: Path) -> list[list[str]]:
    file = path / "trace.csv"
    if not file.exists():
        raise OptrunError(f"{path}: no trace.csv to verify against")
    data = read_bytes(file, "trace", _MAX_TRACE_BYTES)
    end = data.rfind(b"\n")  # a run killed mid-write leaves a cut last line: not a row
    try:
        text = data[: end + 1].decode("utf-8")
    except UnicodeDecodeError:
        raise OptrunError(f"{file}: not UTF-8 text") from None
    return list(csv.reader(io.StringIO(text)))


def compare_traces(original: Path, rerun: Path) -> Verification:
    """Compare two traces cell by cell as text, timing columns aside."""
    a, b = _trace_rows(Path(original)), _trace_rows(Path(rerun))
    if not a or not b:
        return Verification(False, 0, {"what": "a trace is empty"})
    if a[0] != b[0]:
        return Verification(False, 0, {"what": "columns differ", "original": a[0], "rerun": b[0]})
    keep = [j for j, c in enumerate(a[0]) if c not in TIMING_COLUMNS]
    for i, (ra, rb) in enumerate(zip(a[1:], b[1:])):
        for j in keep:
            ca = ra[j] if j < len(ra) else None
            cb = rb[j] if j < len(rb) else None
            if ca != cb:
                step = ra[0] if ra else "?"
                return Verification(False, i, {"row": i, "step": step, "column": a[0][j], "original": ca, "rerun": cb})
    if len(a) != len(b):
        return Verification(False, min(len(a), len(b)) - 1,
                            {"what": f"row counts differ: {len(a) - 1} in the original, {len(b) - 1} in the rerun"})
    return Verification(True, len(a) - 1, None)


def versions_of(run_dir: str | Path) -> dict | None:
    """The versions a run folder's summary records."""
    return RunFolder(run_dir).summary.get("versions")


def rerun(run_dir: str | Path, out: str | Path = "runs", verify: bool = False, plots: bool = True,
          stop=None, progress=None) -> tuple[object, Verification | None]:
    """Train ``run_dir``'s ``config.yaml`` again into a new folder under ``out``.

    Returns the new run (``optrun.api.RunResult``) and, with ``verify``, the trace comparison.
    """
    from optrun import api

    folder = RunFolder(run_dir).require()
    if folder.config_problem is not None:
        raise OptrunError(f"{folder.path}: cannot rerun: {folder.config_problem}")
    if verify and not (folder.path / "trace.csv").is_file():
        raise OptrunError(f"{folder.path}: no trace.csv to verify against")
    result = api.train(folder.path / "config.yaml", out=out, plots=plots, stop=stop, progress=progress)
    check = compare_traces(folder.path, result.run_dir) if verify else None
    return result, check
