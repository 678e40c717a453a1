"""The CSV reader, in three steps: rows (file -> header and text rows), columns (which are
features and which the target), numbers (text cells -> a float64 array).

Every error is an :class:`OptrunError` with one line that names the file, the line number as an
editor shows it (the header is line 1), the column and the bad text.

Two passes, one truth. Small files (below :data:`FAST_MIN_BYTES`) are read by the careful pass
alone: the ``csv`` module and NumPy (importing pandas would cost more time than reading them).
Bigger files are parsed by pandas' C parser (:func:`_fast_numbers`), which is accepted only when
it provably read what the careful pass would have: no quote character in the file, every
selected cell a finite number within the limit, every non-blank line with exactly as many fields
as the header (checked by counting commas), the same number of rows. On any doubt (and on every
error) the careful pass runs instead, so the messages, with their line and column, are the same
whichever pass runs.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from optrun._text import did_you_mean
from optrun.data.checks import MAX_ABS_VALUE
from optrun.errors import OptrunError


class Table(NamedTuple):
    """A CSV file's header and its data rows as text, with file line numbers (for messages)."""

    path: Path
    header: list[str]
    header_line: int
    rows: list[list[str]]
    lines: list[int]


def _shorten(items, limit: int = 12) -> str:
    items = list(items)
    s = ", ".join(items[:limit])
    return s + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# Step 1: rows


def _parse(path: Path) -> tuple[list[str] | None, int, list[list[str]], list[int]]:
    """Header, its line, and the non-blank rows with their lines; I/O and CSV errors as OptrunError."""
    header, header_line, rows, lines = None, 0, [], []
    from optrun.data.files import open_regular  # a FIFO or a device never blocks the reader

    try:
        with io.TextIOWrapper(open_regular(path, "CSV file"), newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue  # blank line
                if header is None:
                    header, header_line = [c.strip() for c in row], reader.line_num
                else:
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise OptrunError(f"{path}: not a UTF-8 text file (byte {e.start}: {e.reason})") from None
    except csv.Error as e:
        raise OptrunError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from None
    except OSError as e:
        raise OptrunError(f"{path}: cannot read the file ({e.strerror})") from None
    return header, header_line, rows, lines


def _check_header(path: Path, header: list[str] | None, line: int) -> None:
    if header is None:
        raise OptrunError(f"{path}: file is empty; expected a header row of column names, then data rows")
    if all(_is_number(c) for c in header):
        raise OptrunError(f"{path}: line {line} looks like data ({_shorten(header, 5)}); the first row must be a "
                          "header naming the columns, e.g. x1,x2,y")
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if not name:
            raise OptrunError(f"{path}: line {line}: column {j + 1} has an empty name")
        if name in seen:
            raise OptrunError(f"{path}: line {line}: duplicate column name {name!r} (columns {seen[name] + 1} and {j + 1})")
        seen[name] = j
    if len(header) < 2:
        hint = "; columns must be separated by commas" if any(sep in header[0] for sep in ";\t|") else ""
        raise OptrunError(f"{path}: line {line}: found one column ({header[0]!r}); expected at least a feature "
                          f"and a target{hint}")


def read_rows(path) -> Table:
    """Step 1: the file's header (checked: named, unique, >= 2 columns) and its data rows as text.

    Blank lines are skipped; every row must have as many values as the header.
    """
    path = Path(path).expanduser()
    if not os.path.lexists(path):
        raise OptrunError(f"{path}: file not found")
    if path.is_dir():
        raise OptrunError(f"{path}: is a directory; expected a CSV file")
    header, header_line, rows, lines = _parse(path)
    _check_header(path, header, header_line)
    if not rows:
        raise OptrunError(f"{path}: has a header but no data rows")
    for row, ln in zip(rows, lines):
        if len(row) != len(header):
            raise OptrunError(f"{path}: line {ln} has {len(row)} values but the header has {len(header)} columns")
    return Table(path, header, header_line, rows, lines)


# --------------------------------------------------------------------------------------------
# Step 2: columns


def _not_found(path: Path, what: str, name: str, header: list[str], used: tuple[str, ...] = ()) -> OptrunError:
    """A missing column; the suggestion comes from the columns not already used (a typo in the
    target's name must not suggest a feature column)."""
    free = [h for h in header if h not in used] or header
    return OptrunError(f"{path}: {what} column {name!r} not found{did_you_mean(name, free, 'paren')}; "
                       f"columns: {_shorten(header)}")


def select_columns(table: Table, target=None, features=None) -> tuple[list[str], str]:
    """Step 2: ``(features, target)``. The target defaults to the last column, the features to
    every other column (in file order); a feature name must fit in a trace.csv column header."""
    path, header = table.path, table.header
    target = str(header[-1] if target is None else target)
    if target not in header:
        named = [str(f) for f in ([features] if isinstance(features, str) else features or [])]
        raise _not_found(path, "target", target, header, tuple(named))
    if features is None:
        features = [h for h in header if h != target]
    features = [str(f) for f in ([features] if isinstance(features, str) else features)]
    # features: [] is allowed: an intercept-only model (DESIGN.md §9.2); the model checks that it
    # still has a parameter (fit_intercept)
    dup = [f for i, f in enumerate(features) if f in features[:i]]
    if dup:
        raise OptrunError(f"{path}: feature {dup[0]!r} is listed twice")
    for f in features:
        if f not in header:
            raise _not_found(path, "feature", f, header, (target, *features))
        if f == target:
            raise OptrunError(f"{path}: column {f!r} is the target; it cannot also be a feature")
    for f in features:
        if any(ch in f for ch in ',"\r\n'):
            raise OptrunError(f"{path}: line {table.header_line}: feature column {f!r} has a comma, quote or line "
                              "break in its name; rename it (it becomes a trace.csv column w_<name>)")
    return features, target


# --------------------------------------------------------------------------------------------
# Step 3: numbers


def to_numbers(table: Table, columns: list[str]) -> np.ndarray:
    """Step 3: the selected cells as a float64 ``(rows, len(columns))`` array, every value finite
    and within +-MAX_ABS_VALUE. A fast vectorised path; on failure a cell-by-cell scan names the
    first bad cell."""
    cols = [table.header.index(c) for c in columns]
    try:
        arr = np.array([[row[j] for j in cols] for row in table.rows], dtype=np.float64)
        if np.all(np.abs(arr) <= MAX_ABS_VALUE):  # False for NaN and inf too
            return arr
    except ValueError:
        pass
    for row, ln in zip(table.rows, table.lines):
        for j in cols:
            problem = _cell_problem(row[j].strip())
            if problem:
                raise OptrunError(f"{table.path}: line {ln}, column {table.header[j]!r}: {problem}")
    raise OptrunError(f"{table.path}: could not read the numbers")  # pragma: no cover


def _cell_problem(text: str) -> str | None:
    """What is wrong with one selected cell's text (None: a finite number within the limit)."""
    if not text:
        return "empty cell; every selected cell must be a number"
    try:
        v = float(text)
    except ValueError:
        return f"{text!r} is not a number"
    if not math.isfinite(v):
        return f"{text!r} is not a finite number (NaN/inf are not allowed)"
    if abs(v) > MAX_ABS_VALUE:
        return f"{text!r} is too large; values must lie within +-{MAX_ABS_VALUE:g} (rescale the column)"
    return None


# --------------------------------------------------------------------------------------------
# The fast pass

#: Files at least this big are parsed by pandas' C parser first (see the module docstring).
FAST_MIN_BYTES = 1 << 20


def _read_header(path: Path) -> tuple[list[str] | None, int]:
    """The header row and its line (the careful reader, on the first rows only)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for row in reader:
            if row and any(c.strip() for c in row):
                return [c.strip() for c in row], reader.line_num
    return None, 0


def _fast_numbers(path: Path, target, features):
    """``(X, y, features, target, lines)`` by pandas' C parser, or None when the careful pass must
    decide (any doubt, any error)."""
    header, header_line = _read_header(path)
    _check_header(path, header, header_line)
    table = Table(path, header, header_line, [], [])
    features, target = select_columns(table, target, features)
    import pandas as pd  # only here: its import costs more than reading a small file

    quotes, newlines, commas, body = _scan(path, header_line)
    if quotes:
        return None  # quoted fields (maybe with commas or line breaks inside): the careful pass
    cols = [header.index(c) for c in [*features, target]]
    k = len(header)
    frame = pd.read_csv(path, header=None, skiprows=header_line, names=list(range(k)), usecols=sorted(set(cols)),
                        dtype=np.float64, engine="c", skip_blank_lines=True, encoding="utf-8-sig", comment=None)
    n = len(frame)
    # X straight from the column arrays (one copy, no row-major interleave of the whole table)
    X = np.empty((n, len(cols) - 1))
    for j, c in enumerate(cols[:-1]):
        X[:, j] = frame[c].to_numpy(dtype=np.float64)
    y = np.array(frame[cols[-1]].to_numpy(dtype=np.float64))
    del frame
    if n == 0 or not all(A.max() <= MAX_ABS_VALUE and -A.min() <= MAX_ABS_VALUE for A in (X, y)):  # NaN too
        return None
    buf = starts = None
    if newlines == n:  # no blank line anywhere (pandas skips them, so they would add lines)
        lines = np.arange(header_line + 1, header_line + 1 + n)
    else:
        buf = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        starts, ends = _line_starts(buf, header_line)
        blank = (ends == starts) | ((ends - starts == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 13))
        starts = starts[~blank]
        lines = np.flatnonzero(~blank) + header_line + 1
        if len(lines) != n:
            return None
    if len(set(cols)) == k:
        # every column selected: a short line gave a NaN above, so the total count of commas
        # is exactly (k - 1) per line only if no line has more
        ok = commas == n * (k - 1)
    else:
        if buf is None:
            buf = np.frombuffer(path.read_bytes(), dtype=np.uint8)
            starts = _line_starts(buf, header_line)[0]
        per_line = np.add.reduceat((buf == 44).view(np.uint8), starts, dtype=np.int64)
        # reduceat sums up to the next start: a line's count includes nothing past its end,
        # since the bytes between lines are only line breaks and blank lines
        ok = bool(np.all(per_line == k - 1))
    return (X, y, features, target, lines) if ok else None


def _scan(path: Path, header_line: int, chunk: int = 1 << 24) -> tuple[bool, int, int, int]:
    """One pass over the bytes, 16 MiB at a time: ``(any quote, physical lines after the header,
    commas after the header, byte offset of the first line after the header)``."""
    quotes, newlines, commas, offset, body, seen, tail = False, 0, 0, 0, None, 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            quotes = quotes or b'"' in block
            start = 0
            while body is None and seen < header_line:  # skip the header's lines (few)
                i = block.find(b"\n", start)
                if i < 0:
                    break
                seen, start = seen + 1, i + 1
                if seen == header_line:
                    body = offset + start
            if body is not None:
                newlines += block.count(b"\n", start)
                commas += block.count(b",", start)
            offset += len(block)
            tail = block[-1:]
    if body is None:
        return quotes, 0, 0, offset
    return quotes, newlines + (0 if tail == b"\n" or offset == body else 1), commas, body


def _line_starts(buf: np.ndarray, header_line: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before the newline) byte offsets of the physical lines after the
    header line (1-based ``header_line``)."""
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(buf)]))
    if ends[-1] == starts[-1]:  # the file ends with a newline: no last empty line
        starts, ends = starts[:-1], ends[:-1]
    return starts[header_line:], ends[header_line:]


# --------------------------------------------------------------------------------------------
# The three steps together


def read_csv_lines(path, target=None, features=None):
    """:func:`read_csv` plus the file line number of every data row (for later messages)."""
    path = Path(path).expanduser()
    if path.is_file() and path.stat().st_size >= FAST_MIN_BYTES:
        try:
            fast = _fast_numbers(path, target, features)
        except Exception:  # noqa: BLE001  (any complaint: the careful pass names it, in its order)
            fast = None
        if fast is not None:
            return fast
    table = read_rows(path)
    features, target = select_columns(table, target, features)
    arr = to_numbers(table, [*features, target])
    X = np.ascontiguousarray(arr[:, :-1])
    y = np.ascontiguousarray(arr[:, -1])
    return X, y, features, target, np.asarray(table.lines)


def read_csv(path, target=None, features=None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Read a numeric CSV with a header row: ``(X, y, feature_names, target_name)``.

    ``target`` defaults to the last column, ``features`` to every other column (in file order).
    Columns not selected may hold anything (e.g. text labels). Blank lines are skipped.
    """
    X, y, names, target, _ = read_csv_lines(path, target, features)
    return X, y, names, target
