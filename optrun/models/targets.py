"""The targets a model accepts: finite numbers, and 0 or 1 for logistic regression."""

from __future__ import annotations

import numpy as np

from optrun.errors import OptrunError


def validate_targets(model: str, y, where: str, first_line: int = 2, lines=None) -> None:
    """Raise :class:`OptrunError` unless the targets suit the model.

    Logistic regression needs every target to be 0 or 1; the message says how many are not and
    gives the first offending one. ``first_line`` is the line number of ``y[0]`` in the file
    (the header is line 1), so the message points where a user would look; ``lines`` (the file
    line of each row, for CSVs with skipped blank lines) overrides it.
    Linear regression accepts any finite target.
    """
    y = np.asarray(y)

    def line(i: int) -> int:
        return int(lines[i]) if lines is not None else i + first_line

    n = y.shape[0]
    if n == 0:
        raise OptrunError(f"{where}: no rows")
    bad_finite = ~np.isfinite(y)
    if bad_finite.any():
        i = int(np.flatnonzero(bad_finite)[0])
        raise OptrunError(f"{where}: {int(bad_finite.sum())} of {n} targets are not finite (first at line {line(i)}: {y[i]})")
    if model == "logistic":
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise OptrunError(
                f"{where}: model logistic needs targets 0 or 1; {int(bad.sum())} of {n} are not "
                f"(first at line {line(i)}: {y[i]:g})"
            )
