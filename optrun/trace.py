"""Streaming trace recorder: rows go into a small preallocated buffer and are appended to
``trace.csv`` chunk by chunk, so memory does not grow with the number of steps.

Every chunk is written with complete lines and flushed, so a ``trace.csv`` cut off by a kill
still parses up to its last complete row. Floats are written with ``repr`` (shortest
round-trip), so the same run gives byte-identical files apart from the ``time_s`` column.
Missing values (``batch_loss`` and ``lr`` at step 0) are empty cells (NaN in pandas).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

BASE_COLUMNS = ["step", "epoch", "samples", "time_s", "lr", "loss", "batch_loss", "grad_norm"]
_INT_COLUMNS = {"step", "samples", "evals", "nnz", "ls_trials"}


#: every column that is not a parameter (the 0.1 ones and the 0.2 additions of §9.3-§9.5)
NON_PARAMETER_COLUMNS = frozenset(BASE_COLUMNS) | {
    "evals", "step_size", "ls_trials", "infeasibility", "kkt_residual", "dual_value", "duality_gap", "nnz",
    "val_loss", "ax_loss"}


def parameter_columns(columns) -> list[str]:
    """The parameter columns of a trace, in order (``ax_<param>`` averaged iterates excluded)."""
    columns = list(columns)
    params = [c for c in columns if c not in NON_PARAMETER_COLUMNS]
    if "ax_loss" in columns:
        params = [c for c in params if not (c.startswith("ax_") and c[3:] in params)]
    return params


def at_target(trace, f_star: float, target: float) -> np.ndarray:
    """Which rows of a trace (a DataFrame) are at the target: f − f* ≤ ``target`` and, for a
    constrained run (an ``infeasibility`` column), infeasibility ≤ ``target`` too. An infeasible
    iterate can sit below f* (the Lagrange example's primal-dual run at step 4: f = 1.48 < p* = 2,
    0.79 off the constraint), so f − f* alone would count it as having arrived."""
    sub = trace["loss"].to_numpy(float) - f_star
    ok = np.isfinite(sub) & (sub <= target)
    if "infeasibility" in trace.columns:
        infeasible = trace["infeasibility"].to_numpy(float)
        ok &= np.isfinite(infeasible) & (infeasible <= target)
    return ok


def trace_columns(param_names: list[str], has_val: bool, extra: tuple[str, ...] = (),
                  averaged: bool = False) -> list[str]:
    """The contract's column order (DESIGN.md §6, §9.3-§9.5): the base columns, ``evals``, the
    run's extra columns after ``grad_norm`` (a line search's ``step_size``, ``ls_trials``; constraints: ``infeasibility``, ``kkt_residual``,
    ``dual_value``, ``duality_gap``; L1: ``duality_gap``, ``nnz``), ``val_loss`` with a split,
    ``ax_loss`` for an averaged iterate (ASGD), the parameters, then ``ax_<param>``."""
    names = list(param_names)
    return (BASE_COLUMNS + ["evals"] + list(extra) + (["val_loss"] if has_val else [])
            + (["ax_loss"] if averaged else []) + names + ([f"ax_{n}" for n in names] if averaged else []))


def format_rows(rows: np.ndarray, integer: list[bool], time_col: int) -> str:
    """CSV text (one line per row, each ending in a newline) of a block of trace rows
    (:func:`format_lines`, joined)."""
    return "".join(format_lines(rows, integer, time_col))


def format_lines(rows: np.ndarray, integer: list[bool], time_col: int) -> list[str]:
    """The CSV lines (each ending in a newline) of a block of trace rows.

    A cell is empty for NaN, ``int`` for the integer columns and ``repr`` (shortest round-trip)
    otherwise, with ``time_s`` rounded to 6 decimals first. The text is built *column by column*:
    ``map(repr, column)`` runs the float formatting in C, where formatting cell by cell cost ~2 us
    of Python each, more than a small problem's training step.
    """
    columns = []
    for j, col in enumerate(rows.T):
        if integer[j]:
            if np.isnan(col).any():
                cells = [str(int(v)) if v == v else "" for v in col.tolist()]
            else:  # counts: whole numbers far below 2**63, so int64 is exact and str runs in C
                cells = list(map(str, col.astype(np.int64).tolist()))
        else:
            cells = _float_cells(col, j == time_col)
            for i in np.flatnonzero(np.isnan(col)).tolist():  # NaN -> empty cell (rare: step 0)
                cells[i] = ""
        columns.append(cells)
    return [",".join(cells) + "\n" for cells in zip(*columns)]


def _float_cells(col: np.ndarray, is_time: bool) -> list[str]:
    """``repr`` of each value (rounded to 6 decimals for ``time_s``). A column of many equal
    values (a stack's rows: every run's step, epoch, time and lr repeat) is formatted once per
    distinct value: distinct by bit pattern, so -0.0 and 0.0 keep their own cells."""
    if len(col) >= 64:
        bits = np.ascontiguousarray(col).view(np.int64)
        uniq, inverse = np.unique(bits, return_inverse=True)
        if 2 * len(uniq) <= len(col):
            texts = _float_cells(uniq.view(np.float64), is_time)
            return [texts[i] for i in inverse.tolist()]
    values = col.tolist()
    if is_time:
        values = [round(v, 6) for v in values]
    return list(map(repr, values))


# A chunk holds at most this many cells: formatting a chunk makes one Python string per cell,
# so this bounds the writer's memory (~5 MB) however wide the trace is.
_CHUNK_CELLS = 65536


class TraceWriter:
    """Append trace rows to a CSV file in chunks of ``chunk_rows``.

    ``record`` takes the row's scalars and the parameter vector; ``close`` flushes the rest.
    The writer also keeps the last row (``last``) so the summary needs no re-read.
    ``chunk_rows`` defaults to 4096 rows, fewer for wide traces (at most ``_CHUNK_CELLS`` cells).
    """

    def __init__(self, path: Path | None, columns: list[str], chunk_rows: int | None = None):
        if chunk_rows is None:
            chunk_rows = max(64, min(4096, _CHUNK_CELLS // len(columns)))
        self.columns = columns
        self._buf = np.empty((chunk_rows, len(columns)), dtype=np.float64)
        self._k = 0
        self._flushed_at = 0.0  # the time_s of the last flush
        self.rows_written = 0
        self.last: np.ndarray | None = None
        self._integer = [c in _INT_COLUMNS for c in columns]
        self._time_col = columns.index("time_s")
        self._file: IO[str] | None = None
        self.writing = False  # True while a chunk is being written: an exception then may have cut it
        if path is not None:
            self._file = open(path, "w", encoding="utf-8", newline="\n")
            self._file.write(",".join(columns) + "\n")
            self._file.flush()

    def record(self, scalars: tuple, theta: np.ndarray) -> None:
        row = self._buf[self._k]
        ns = len(scalars)
        row[:ns] = scalars
        row[ns:] = theta
        self.last = row
        self._k += 1
        # full chunk, or a second since the last flush (read from the row's own time_s, so no
        # clock call): a long run's trace.csv fills while it runs, for `tail -f` and live plots
        if self._k == len(self._buf) or scalars[3] - self._flushed_at >= 1.0:
            self._flushed_at = scalars[3]
            self.flush()

    def flush(self) -> None:
        if self._k == 0:
            return
        rows = self._buf[: self._k]
        if self._file is not None:
            self.writing = True
            self._file.write(format_rows(rows, self._integer, self._time_col))
            self._file.flush()
            self.writing = False
        self.last = rows[-1].copy()
        self.rows_written += self._k
        self._k = 0

    def abandon(self) -> None:
        """Close the file without writing the buffered rows (after a failed write: flushing again
        could duplicate the rows of the interrupted chunk). Never raises."""
        fh, self._file = self._file, None
        self._k = 0
        if fh is not None:
            try:
                fh.close()
            except BaseException:
                pass

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
