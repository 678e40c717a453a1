"""The trace files of a stack's runs, written in bulk: :class:`StackTrace`.

The stacked loop knows every active run's row of a step at once, so it hands them over as one
block (``record_block``: a (m, columns) array and the runs it belongs to) instead of m calls of
:meth:`optrun.trace.TraceWriter.record`. Blocks are kept until about :data:`MAX_CELLS` cells
are buffered (or the stack closes); a flush sorts the buffered rows by run (stable, so each run's
rows stay in step order), formats them all in one :func:`optrun.trace.format_lines` call and
appends each run's lines to its ``trace.csv`` in one write. The cells are the ones
``TraceWriter`` writes (the same formatting function on the same float64 values), so each file
is byte for byte the file a ``TraceWriter`` fed the same rows would write.

The files live in the sweep's private staging folder until the stack is done (nobody reads them
while it runs), so they are not flushed every second as ``TraceWriter`` does for ``tail -f``.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from optrun.trace import _INT_COLUMNS, format_lines

#: flush once this many cells are buffered: a flush makes one Python string per cell (~60 bytes),
#: so this bounds the writer's memory to ~20 MB however many runs the stack has
MAX_CELLS = 1 << 18


class StackTrace:
    """The trace files of one stack: :meth:`open` one per run (all with the same columns), feed
    blocks of rows, :meth:`close`."""

    def __init__(self, columns: list[str], max_cells: int = MAX_CELLS):
        self.columns = list(columns)
        self.writers: list[RunTrace] = []
        self._files: list[IO[str]] = []
        self._ids: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._cells, self._max_cells = 0, max_cells
        self._integer = [c in _INT_COLUMNS for c in self.columns]
        self._time_col = self.columns.index("time_s")

    def open(self, path: Path) -> "RunTrace":
        """Create ``path`` with the header line (written with the first rows) and return the
        run's writer."""
        fh = open(path, "w", encoding="utf-8", newline="\n")
        fh.write(",".join(self.columns) + "\n")
        self._files.append(fh)
        self.writers.append(RunTrace(self, len(self.writers)))
        return self.writers[-1]

    def record_block(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Buffer ``rows`` (float64, one per run ``ids[i]``, in the columns' order)."""
        self._ids.append(np.asarray(ids, dtype=np.intp))
        self._rows.append(rows)
        self._cells += rows.size
        if self._cells >= self._max_cells:
            self.flush()

    def flush(self) -> None:
        """Append the buffered rows to their files, each run's in step order, in one write per file."""
        for run in self.writers:
            run.hand_over()
        if not self._rows:
            return
        ids, rows = np.concatenate(self._ids), np.concatenate(self._rows)
        order = np.argsort(ids, kind="stable")
        ids, rows = ids[order], rows[order]
        lines = format_lines(rows, self._integer, self._time_col)
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]).tolist() + [len(ids)]
        for a, b in zip(starts[:-1], starts[1:]):
            run = self.writers[int(ids[a])]
            run.writing = True
            self._files[run.index].write("".join(lines[a:b]))
            self._files[run.index].flush()
            run.writing = False
            run.rows_written += b - a
            run.last = rows[b - 1].copy()
        self._ids, self._rows, self._cells = [], [], 0

    def close(self) -> None:
        """Flush the buffered rows and close every file."""
        self.flush()
        for fh in self._files:
            fh.close()

    def abandon(self) -> None:
        """Close every file without writing the buffered rows (after a failure). Never raises."""
        self._ids, self._rows, self._cells = [], [], 0
        for run in self.writers:
            run._k = 0
        for fh in self._files:
            try:
                fh.close()
            except BaseException:
                pass


class RunTrace:
    """One run's view of a :class:`StackTrace`, with ``TraceWriter``'s reading side
    (``columns``, ``rows_written``, ``last``, ``writing``). ``record`` takes one row as
    ``TraceWriter.record`` does (:func:`optrun.engine.run` when a stack falls back to lone runs)."""

    def __init__(self, stack: StackTrace, index: int):
        self.stack, self.index = stack, index
        self.columns = stack.columns
        self.rows_written = 0
        self.last: np.ndarray | None = None
        self.writing = False
        self._buf: np.ndarray | None = None
        self._k = 0

    def record(self, scalars: tuple, theta: np.ndarray) -> None:
        """One row, kept in the run's own buffer and handed to the stack as a block when it is
        full (a run is fed either by ``record`` or by the stack's blocks, never both)."""
        if self._buf is None:
            self._buf = np.empty((_RUN_ROWS, len(self.columns)), dtype=np.float64)
        row = self._buf[self._k]
        ns = len(scalars)
        row[:ns] = scalars
        row[ns:] = theta
        self._k += 1
        if self._k == _RUN_ROWS:
            self.hand_over()

    def hand_over(self) -> None:
        """Give the rows of the run's own buffer to the stack."""
        if self._k:
            k, self._k = self._k, 0
            self.stack.record_block(np.full(k, self.index), self._buf[:k].copy())


#: rows a run fed row by row buffers before handing them to the stack as one block
_RUN_ROWS = 512
