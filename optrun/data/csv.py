"""The CSV reader, in three steps: rows (file -> header and text rows), columns (which are
features and which the target), numbers (text cells -> a float64 array).

Every error is an :class:`OptrunError` with one line that names the file, the line number as an
editor shows it (the header is line 1), the column and the bad text.

Two passes, one truth. Small files (below :data:`FAST_MIN_BYTES`) are read by the careful pass
alone: the ``csv`` module and NumPy (importing pandas would cost more time than reading them).
Bigger files are parsed by pandas' C parser, accepted only when it provably read what the careful
pass would have. First every column as float64 in one ``read_csv`` without ``usecols`` (so
pandas >= 3.1 parses on all cores, as ``pandas.read_csv`` does) and without any byte scan: its
options make every doubtful line fail (:func:`_whole_table`). When that fails (text in a column
not selected, blank lines), only the selected columns, with a byte scan for quotes, bad bytes
and field counts (:func:`_selected_columns`). On any doubt (and on every error) the careful pass
runs instead, so the messages, with their line and column, are the same whichever pass runs.
Numbers are equal bit for bit: pandas >= 3.1 rounds correctly, like ``float()`` (older pandas is
asked for ``float_precision="round_trip"``); ``true``/``false``, which pandas reads as 1/0, are
caught (tests/test_csv_fast.py).
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
            problem = _cell_problem(row[j])
            if problem:
                raise OptrunError(f"{table.path}: line {ln}, column {table.header[j]!r}: {problem}")
    raise OptrunError(f"{table.path}: could not read the numbers")  # pragma: no cover


def _cell_problem(text: str) -> str | None:
    """What is wrong with one selected cell's text (None: a finite number within the limit).

    The text is judged as the vectorised path reads it, unstripped: ``str.strip`` removes
    characters ``float`` (and NumPy) refuse, such as the separator ``\x1c``, so a stripped cell
    could pass here after the whole array failed."""
    if not text.strip():
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

#: Letters of the only words pandas reads as numbers in a float64 column that ``float()`` refuses:
#: ``true`` and ``false`` in any case (as 1.0 and 0.0). No number pandas accepts holds them
#: (its words are ``inf``/``infinity``, the exponent ``e``), so the bytes must not either.
_BOOL_LETTERS = (b"u", b"U", b"s", b"S")


def _read_header(path: Path) -> tuple[list[str] | None, int]:
    """The header row and its line (the careful reader, on the first rows only)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for row in reader:
            if row and any(c.strip() for c in row):
                return [c.strip() for c in row], reader.line_num
    return None, 0


def _exact(pd) -> dict:
    """pandas >= 3.1 reads every float with one correctly rounded converter (fast_float), the
    value ``float()`` gives; older pandas' default is not always correctly rounded, so it is asked
    for ``round_trip`` (CPython's own conversion, slower)."""
    major, minor = (int("".join(ch for ch in p if ch.isdigit()) or 0) for p in pd.__version__.split(".")[:2])
    return {} if (major, minor) >= (3, 1) else {"float_precision": "round_trip"}


def _fast_numbers(path: Path, target, features):
    """``(X, y, features, target, lines)`` by pandas' C parser, or None when the careful pass must
    decide (any doubt, any error). Every column parsed as numbers first (:func:`_whole_table`);
    when that fails (text in a column not selected, blank lines), only the selected ones
    (:func:`_selected_columns`)."""
    header, header_line = _read_header(path)
    _check_header(path, header, header_line)
    features, target = select_columns(Table(path, header, header_line, [], []), target, features)
    import pandas as pd  # only here: its import costs more than reading a small file

    cols = [header.index(c) for c in [*features, target]]
    got = _whole_table(pd, path, len(header), header_line, cols)
    if got is None:
        got = _selected_columns(pd, path, len(header), header_line, cols)
    return None if got is None else (*got[:2], features, target, got[2])


def _whole_table(pd, path: Path, k: int, header_line: int, cols: list[int]):
    """``(X, y, lines)`` with every column parsed as float64 by one ``read_csv`` and nothing else
    read, or None.

    No byte scan is needed, because every cell passes the float parser or the read fails:
    ``quoting=QUOTE_NONE`` (a quote is text in a number: fails), ``na_filter=False`` (no NA
    words), ``skip_blank_lines=False`` (a blank or short line has an empty cell: fails, so row i
    is the physical line ``header_line + 1 + i``), a line with more fields than the header fails
    too, unless *every* line has them: pandas then takes the first field as an index, caught by
    the RangeIndex test. Without ``usecols`` pandas (>= 3.1) parses the file on all cores, as
    ``pandas.read_csv`` itself does. The one thing left is ``true``/``false`` (read as 1.0/0.0):
    checked only when a selected value is exactly 0 or 1.
    """
    try:
        frame = pd.read_csv(path, header=None, skiprows=header_line, names=list(range(k)), dtype=np.float64,
                            na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False, engine="c",
                            **_exact(pd))
    except Exception:  # noqa: BLE001  (a text cell, a ragged line, a bad byte: decided elsewhere)
        return None
    n = len(frame)
    if n == 0 or type(frame.index) is not pd.RangeIndex or frame.shape[1] != k:
        return None
    block = frame.to_numpy().T  # (k, n), a view of pandas' one float64 block (a copy otherwise)
    del frame
    rows = [block[c] for c in dict.fromkeys(cols)]
    if not all(r.max() <= MAX_ABS_VALUE and -r.min() <= MAX_ABS_VALUE for r in rows):  # NaN: False
        return None
    if any((r == 0).any() or (r == 1).any() for r in rows) and _has_bool_letters(path, header_line):
        return None
    feats = cols[:-1]
    run = feats == list(range(feats[0], feats[0] + len(feats))) if feats else True
    X = np.ascontiguousarray((block[feats[0]:feats[-1] + 1] if feats and run else block[feats]).T)
    y = block[cols[-1]].copy()
    return X, y, np.arange(header_line + 1, header_line + 1 + n)


def _data_offset(path: Path, header_line: int) -> int:
    """Byte offset of the first line after the header's (line ends as the parsers see them:
    ``\\n``, ``\\r\\n``, ``\\r``)."""
    head, size = b"", 1 << 16
    with open(path, "rb") as fh:
        while True:
            more = fh.read(size)
            head += more
            parts = head.splitlines(keepends=True)
            if len(parts) > header_line or not more:
                return sum(len(p) for p in parts[:header_line])
            size *= 2


def _has_bool_letters(path: Path, header_line: int, chunk: int = 1 << 20) -> bool:
    """Whether any byte after the header is a letter of ``true``/``false`` (``memchr`` per letter)."""
    with open(path, "rb") as fh:
        fh.seek(_data_offset(path, header_line))
        while block := fh.read(chunk):
            if any(ch in block for ch in _BOOL_LETTERS):
                return True
    return False


def _selected_columns(pd, path: Path, k: int, header_line: int, cols: list[int]):
    """``(X, y, lines)`` with only the selected columns parsed (``usecols``: one thread), or None.

    Accepted only when it provably read what the careful pass would have: no quote character,
    valid UTF-8, no bare CR line end, every selected cell a finite number within the limit and no ``true``/``false``
    in the file, every non-blank line with exactly as many fields as the header (checked by
    counting commas), the same number of rows.
    """
    doubt, newlines, commas, body = _scan(path, header_line)
    if doubt:
        return None  # quoted fields (maybe with commas or line breaks inside), not UTF-8, bare CRs
    frame = pd.read_csv(path, header=None, skiprows=header_line, names=list(range(k)), usecols=sorted(set(cols)),
                        dtype=np.float64, engine="c", skip_blank_lines=True, encoding="utf-8-sig", comment=None,
                        **_exact(pd))
    n = len(frame)
    # X straight from the column arrays (one copy, no row-major interleave of the whole table)
    X = np.empty((n, len(cols) - 1))
    for j, c in enumerate(cols[:-1]):
        X[:, j] = frame[c].to_numpy(dtype=np.float64)
    y = np.array(frame[cols[-1]].to_numpy(dtype=np.float64))
    del frame
    if n == 0 or not all(A.size == 0 or (A.max() <= MAX_ABS_VALUE and -A.min() <= MAX_ABS_VALUE)
                         for A in (X, y)):  # NaN: False
        return None
    if ((X == 0).any() or (X == 1).any() or (y == 0).any() or (y == 1).any()) and _has_bool_letters(path, header_line):
        return None  # (text in a column not selected may hold the letters too: the careful pass)
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
    return (X, y, lines) if ok else None


def _scan(path: Path, header_line: int, chunk: int = 1 << 24) -> tuple[bool, int, int, int]:
    """One pass over the bytes, 16 MiB at a time: ``(doubt, physical lines after the header,
    commas after the header, byte offset of the first line after the header)``. Doubt: a quote,
    a byte that is not UTF-8, or a line ending in a bare CR (the careful pass counts it as a line,
    the comma and newline counts here would not)."""
    import codecs

    utf8 = codecs.getincrementaldecoder("utf-8")()
    doubt, newlines, commas, offset, body, seen, tail = False, 0, 0, 0, None, 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if block.endswith(b"\r"):
                block += fh.read(1)  # a CRLF is never cut in two
            doubt = doubt or b'"' in block
            if not doubt and b"\r" in block:
                doubt = block.count(b"\r") != block.count(b"\r\n")
            if not doubt and (not block.isascii() or utf8.getstate()[0]):  # (the careful pass refuses
                try:                                                        # a file that is not UTF-8)
                    utf8.decode(block)
                except UnicodeDecodeError:
                    doubt = True
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
    try:
        utf8.decode(b"", final=True)  # a character cut off at the end
    except UnicodeDecodeError:
        doubt = True
    if body is None:
        return doubt, 0, 0, offset
    return doubt, newlines + (0 if tail == b"\n" or offset == body else 1), commas, body


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
