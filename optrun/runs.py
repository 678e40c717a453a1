"""Run listings: read run folders into rows (``optrun runs``).

Everything comes from the files of each folder (``summary.json`` and ``config.yaml``), never
from a database or from the sweep that made it, so a listing works after any mix of
``train``/``compare``/``sweep`` and after copying run folders between machines.

A listing shows, per run: the folder (relative to the listed root), its name, the optimizer,
the config keys (flattened, dotted) that *vary across the listed runs*, then the status, steps,
final loss, suboptimality and wall time. Filters and sorting work on any column, any dotted
config key (``optimizer.lr``) and any summary key (``r2``, ``diagnostics.condition_number``).
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from optrun._text import did_you_mean, flatten, fmt_value, split_top_level  # noqa: F401  (flatten re-exported)
from optrun.errors import OptrunError
from optrun.rundir import _SUMMARY_FIELDS, RunFolder, csv_text, find_run_folders, summary_fields  # noqa: F401

HEAD_COLUMNS = ["run", "name", "optimizer"]
TAIL_COLUMNS = ["status", "steps", "final_loss", "suboptimality", "wall_time_s"]
#: Last column, only when a listed folder is damaged: why it could not be read.
PROBLEM_COLUMN = "problem"
#: Extra columns in machine-readable formats (csv, json).
DATA_COLUMNS = ["config_hash", "run_dir"]
#: Label columns (``--tag``, ``--note`` of train/compare/sweep), after the results, only when a
#: listed run has them. ``tags`` is ``a,b`` in tables and CSV, a list in JSON.
LABEL_COLUMNS = ["tags", "note"]

def find_runs(root: str | Path) -> list[Path]:
    """Every run folder (a folder with ``summary.json``) under ``root``, recursively, sorted.

    Hidden folders (names starting with ``.``: staging and temporary folders) are skipped;
    ``root`` itself counts when it is a run folder. (:func:`optrun.rundir.find_run_folders`.)
    """
    return find_run_folders(root, recursive=True)


@dataclass
class RunRecord:
    """One run folder read back: its summary and its config, both flattened; ``problem`` says
    why a damaged ``summary.json`` (status ``unreadable``) or ``config.yaml`` could not be read."""

    run_dir: Path
    rel: str
    summary: dict
    config: dict
    flat_config: dict = field(default_factory=dict)
    flat_summary: dict = field(default_factory=dict)
    problem: str | None = None

    def lookup(self, key: str, row: dict | None = None) -> tuple[bool, Any]:
        """(found, value) of a column, a dotted config key or a (dotted) summary key."""
        if row is not None and key in row:
            return True, row[key]
        for source in (self.flat_config, self.flat_summary, self.summary):
            if key in source:
                return True, source[key]
        return False, None


def read_run(run_dir: Path, root: Path | None = None) -> RunRecord:
    """Read one folder through :class:`optrun.rundir.RunFolder`. A damaged ``summary.json``
    gives status ``unreadable``, a damaged ``config.yaml`` an empty config, each with its reason
    in ``problem``; never an error (a listing shows what there is)."""
    try:
        run = RunFolder(run_dir)
        summary, config, problem = run.summary, run.config, run.summary_problem or run.config_problem
    except Exception as exc:  # the OS refuses the folder itself (permissions): still listed
        summary, config, problem = {"status": "unreadable"}, {}, f"cannot read the folder ({exc})"
    rel = run_dir.relative_to(root).as_posix() if root is not None and run_dir != root else run_dir.name
    return RunRecord(run_dir, rel, summary, config, flatten(config), flatten(summary), problem)


# --------------------------------------------------------------------------------------------
# Filters


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "!=": operator.ne, ">=": operator.ge, "<=": operator.le, "=": operator.eq, ">": operator.gt, "<": operator.lt,
}
_FILTER = re.compile(r"^\s*([^=!<>\s]+)\s*(!=|>=|<=|=|>|<)(.*)$", re.S)


#: A number typed with at least this many significant digits matches at its own precision.
PRINTED_DIGITS = 4


@dataclass
class Filter:
    """``KEY=V`` (``V1,V2`` or ``V1|V2``: any of them), ``KEY!=V``, ``KEY<V``, ``KEY<=V``,
    ``KEY>V``, ``KEY>=V``. A number typed with 4 or more significant digits matches every value
    that rounds to it at that many digits, so a value copied from a table, a label or a folder
    name (``optimizer.lr=0.464159`` for 0.464158883361278) finds its runs; a shorter number
    (``0.1``) must be equal."""

    key: str
    op: str
    values: list
    text: str
    raw: list = field(default_factory=list)  # the typed text of each value (its precision)

    def matches(self, value: Any) -> bool:
        if self.op in ("=", "!="):
            raws = self.raw or [None] * len(self.values)
            hit = any(_equal(value, v) or _same_printed(value, v, t) for v, t in zip(self.values, raws))
            return hit if self.op == "=" else not hit
        target = self.values[0]
        if not _is_number(value) or not _is_number(target):
            return False
        return _OPS[self.op](value, target)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    if a is None or b is None:
        return a is None and (b is None or str(b).lower() in ("none", "null", ""))
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return json.dumps(a) == json.dumps(b)
    return str(a) == str(b)


def significant_digits(text: str) -> int:
    """Significant digits of a typed number: ``0.464159`` -> 6, ``1e-3`` -> 1, ``2.50`` -> 3."""
    mant = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mant.replace(".", "").lstrip("0")
    return len(digits) if digits else 1


def _same_printed(value: Any, wanted: Any, text: str | None) -> bool:
    """``value`` printed at the precision of ``text`` is ``wanted`` (PRINTED_DIGITS or more)."""
    if text is None or not _is_number(value) or not _is_number(wanted) or isinstance(value, int):
        return False
    d = significant_digits(text)
    if d < PRINTED_DIGITS or not math.isfinite(value):
        return False
    return float(f"{value:.{d}g}") == float(wanted)


def parse_filter(text: str) -> Filter:
    from optrun.config import parse_yaml

    m = _FILTER.match(text)
    if not m:
        raise OptrunError(f"--filter {text!r}: expected KEY=VALUE (or KEY!=, <, <=, >, >=), e.g. optimizer.name=adam")
    key, op, raw = m.group(1), m.group(2), m.group(3).strip()
    items = [i for part in split_top_level(raw) for i in split_top_level(part, "|")] if op in ("=", "!=") else [raw]
    values = []
    for item in items:
        item = item.strip()
        values.append(None if item == "" else parse_yaml(item, f"--filter {text!r}"))
    if op not in ("=", "!=") and not _is_number(values[0]):
        raise OptrunError(f"--filter {text!r}: {op} needs a number on the right")
    return Filter(key, op, values, text, [i.strip() for i in items])


# --------------------------------------------------------------------------------------------
# The listing


@dataclass
class Listing:
    root: Path
    columns: list[str]          # the table's columns
    rows: list[dict]            # one dict per run: every column, plus DATA_COLUMNS
    varied: list[str]           # the config keys that vary across the listed runs
    total: int = 0              # run folders under root before the filters

    def empty_message(self) -> str:
        """Why nothing is listed: no run folders at all, or none that match the filters."""
        if self.total:
            return f"no runs match the filters ({self.total} runs under {self.root})"
        return f"no run folders under {self.root}"


def _row(rec: RunRecord, varied: list[str]) -> dict:
    s = rec.summary
    row = {"run": rec.rel, "name": s.get("name") or rec.config.get("name"),
           "optimizer": rec.flat_config.get("optimizer.name")}
    for k in varied:
        row[k] = rec.flat_config.get(k)
    row.update({"status": s.get("status"), "steps": s.get("steps"), "final_loss": s.get("final_loss"),
                "suboptimality": s.get("suboptimality"), "wall_time_s": s.get("wall_time_s"),
                "config_hash": s.get("config_hash"), "run_dir": str(rec.run_dir), PROBLEM_COLUMN: rec.problem})
    tags = run_tags(rec)
    row.update({"tags": ",".join(tags) if tags else None, "note": s.get("note") if isinstance(s.get("note"), str) else None})
    return row


def run_tags(rec: RunRecord) -> list[str]:
    """The run's tags (``summary.json``'s ``tags``; anything else there counts as none)."""
    tags = rec.summary.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def label_match(rec: RunRecord, tags: list[str] | tuple[str, ...] = (), note_contains: str | None = None) -> bool:
    """Every tag in ``tags`` is one of the run's (exact names), and ``note_contains`` occurs in its
    note (case-insensitive; a run without a note never matches)."""
    if tags and not set(tags) <= set(run_tags(rec)):
        return False
    if note_contains is not None:
        note = rec.summary.get("note")
        return isinstance(note, str) and note_contains.casefold() in note.casefold()
    return True


def varied_keys(records: list[RunRecord]) -> list[str]:
    """Flattened config keys that take two or more different values across the records.

    A key that only some records have (Adam's ``betas`` next to SGD runs) does not count by
    itself: its presence follows from the optimizer, already a column. ``name`` and
    ``optimizer.name`` have their own columns."""
    if len(records) < 2:
        return []
    keys: dict[str, set[str]] = {}
    for rec in records:
        for k, v in rec.flat_config.items():
            keys.setdefault(k, set()).add(json.dumps(v, sort_keys=True, default=str))
    return [k for k, seen in keys.items() if len(seen) > 1 and k not in ("name", "optimizer.name")]


def _sort_key(value: Any):
    # numbers first (ascending), then strings, then missing values last
    if value is None:
        return (2, 0, "")
    if _is_number(value):
        return (0, value if not (isinstance(value, float) and math.isnan(value)) else math.inf, "")
    return (1, 0, str(value))


def list_runs(root: str | Path = "runs", filters: list[str] | None = None, sort: str | None = None,
              tags: list[str] | tuple[str, ...] = (), note_contains: str | None = None) -> Listing:
    """Read, filter and sort the run folders under ``root``.

    ``sort`` names a column or key; a leading ``-`` sorts descending. Missing values sort last.
    ``tags``: keep runs that have *all* of them; ``note_contains``: keep runs whose note holds
    this text (case-insensitive). The ``tags``/``note`` columns appear when a kept run has them.
    """
    root = Path(root)
    records = [read_run(p, root) for p in find_runs(root)]
    parsed = [parse_filter(f) for f in filters or []]
    for flt in parsed:
        if records and not any(rec.lookup(flt.key, _row(rec, []))[0] for rec in records):
            raise OptrunError(f"--filter {flt.text!r}: no run has a column or key {flt.key!r}{_key_hint(flt.key, records)}")
    kept = []
    for rec in records:
        base = _row(rec, [])
        if all(flt.matches(rec.lookup(flt.key, base)[1]) for flt in parsed) and label_match(rec, tags, note_contains):
            kept.append(rec)
    varied = varied_keys(kept)
    rows = [_row(rec, varied) for rec in kept]
    columns = HEAD_COLUMNS + [k for k in varied if k not in HEAD_COLUMNS + TAIL_COLUMNS + LABEL_COLUMNS] + TAIL_COLUMNS
    columns += [c for c in LABEL_COLUMNS if any(r.get(c) for r in rows)]
    if any(rec.problem for rec in kept):
        columns.append(PROBLEM_COLUMN)
    if sort:
        desc = sort.startswith("-")
        key = sort.lstrip("-")
        if kept and not any(rec.lookup(key, row)[0] for rec, row in zip(kept, rows)):
            raise OptrunError(f"--sort {sort!r}: no run has a column or key {key!r}{_key_hint(key, kept)}")
        pairs = sorted(zip(kept, rows), key=lambda p: _sort_key(p[0].lookup(key, p[1])[1]))
        if desc:  # descending, but missing values still last
            present = [p for p in pairs if p[0].lookup(key, p[1])[1] is not None]
            missing = [p for p in pairs if p[0].lookup(key, p[1])[1] is None]
            pairs = present[::-1] + missing
        rows = [r for _, r in pairs]
    return Listing(root, columns, rows, varied, total=len(records))


def _key_hint(key: str, records: list[RunRecord]) -> str:
    names = set(HEAD_COLUMNS + TAIL_COLUMNS)
    for rec in records[:50]:
        names.update(rec.flat_config)
        names.update(k for k in rec.flat_summary if not k.startswith(("params.", "theta_star.")))
    return did_you_mean(key, sorted(names), style="paren")


# --------------------------------------------------------------------------------------------
# Rendering


def format_value(v: Any) -> str:
    return fmt_value(v, 6)


def to_csv(listing: Listing) -> str:
    """The listing's columns plus :data:`DATA_COLUMNS`; cells by the one rule (:func:`optrun.rundir.csv_text`)."""
    return csv_text(listing.rows, listing.columns + DATA_COLUMNS)


def to_json(listing: Listing) -> list[dict]:
    cols = listing.columns + DATA_COLUMNS
    return [{c: (r[c].split(",") if c == "tags" and r.get(c) else r.get(c)) for c in cols} for r in listing.rows]


def to_markdown(listing: Listing) -> str:
    def cell(v):
        return format_value(v).replace("|", "\\|")

    lines = ["| " + " | ".join(listing.columns) + " |",
             "|" + "|".join("---" for _ in listing.columns) + "|"]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in listing.columns) + " |" for r in listing.rows]
    return "\n".join(lines) + "\n"
