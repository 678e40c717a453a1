"""The plan of a sweep: its entries, its folder (``sweep.yaml`` + ``plan.jsonl``), resume.

Every grid point is resolved and hashed exactly as :func:`optrun.api.train` will hash it
(``config_hash`` of the resolved config, name set), so a planned run is *done* when a run folder
under ``runs/`` holds a summary with its ``config_hash`` and a finished status (completed,
converged or diverged). The sweep id hashes the *set* of planned config hashes: the same sweep,
its axes in any order, finds the same folder and resumes it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from optrun.config.yaml_io import read_base_config  # noqa: F401  (re-exported)
from optrun.errors import OptrunError
from optrun.grid import Axis, grid, parse_axes

#: Statuses that mean "this configuration has a result" (a diverged run is a result).
DONE_STATUSES = ("completed", "converged", "diverged")

SWEEP_FILE, PLAN_FILE, SUMMARY_FILE, RUNS_SUBDIR = "sweep.yaml", "plan.jsonl", "summary.csv", "runs"


@dataclass(frozen=True)
class Entry:
    """One planned run."""

    index: int
    overrides: dict
    name: str
    config_hash: str

    def to_json(self) -> str:
        return json.dumps({"index": self.index, "overrides": self.overrides, "name": self.name,
                           "config_hash": self.config_hash}, allow_nan=False)

    @classmethod
    def from_json(cls, line: str) -> "Entry":
        d = json.loads(line)
        return cls(int(d["index"]), dict(d["overrides"]), str(d["name"]), str(d["config_hash"]))


@dataclass
class Sweep:
    """A sweep folder read back (or about to be written)."""

    dir: Path
    spec: dict
    entries: list[Entry]

    @property
    def runs_dir(self) -> Path:
        return self.dir / RUNS_SUBDIR

    @property
    def config(self) -> dict:
        return self.spec["config"]

    @property
    def axes(self) -> list[str]:
        return [a["key"] for a in self.spec.get("axes", [])]

    @property
    def varied_axes(self) -> list[str]:
        """The axes with more than one value."""
        return [a["key"] for a in self.spec.get("axes", []) if len(a.get("values", [])) > 1]




def _fmt_value(v: Any) -> str:
    """A value in a run name. Frozen: the name is part of the config, hence of its hash, so a
    change here would make every existing sweep folder look new."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ""))
    return str(v)


def run_name(base: str, overrides: dict, varied: list[str]) -> str:
    """A run's name: the base name plus the varied values, keys sorted so axis order does not
    change it (the name is part of the config, hence of its hash)."""
    if "name" in overrides and overrides["name"] is not None:
        return str(overrides["name"])
    parts = []
    for k in sorted(varied):
        if k == "name":
            continue
        path = k.split(".")
        label = path[-2] if path[-1] == "name" and len(path) > 1 else path[-1]  # optimizer.name -> optimizer
        parts.append(f"{label}={_fmt_value(overrides[k])}")
    return "-".join([base, *parts])


def base_name(raw: dict, config_path: str | Path | None, name: str | None) -> str:
    if name:
        return name
    if raw.get("name"):
        return str(raw["name"])
    if config_path is not None:
        return Path(config_path).stem
    return "sweep"


def make_plan(raw: dict, axes: list[Axis], base: str, where: str | None = None) -> list[Entry]:
    """Resolve every grid point (config errors surface here, before anything runs, naming
    ``where``, the config file) and hash it exactly as :func:`optrun.api.train` will
    (``config_hash`` of the resolved config, name set)."""
    from optrun import config as config_mod

    for a in axes:  # before resolving anything: a repeated value would only be found after the whole plan
        seen: set[str] = set()
        for v in a.values:
            text = json.dumps(v, sort_keys=True)
            if text in seen:
                raise OptrunError(f"sweep axis {a.key}: the value {_fmt_value(v)[:40]} is given twice")
            seen.add(text)
    varied = [a.key for a in axes if len(a.values) > 1]
    entries, files = [], set()
    for i, overrides in enumerate(grid(axes)):
        name = run_name(base, overrides, varied)
        cfg = config_mod.load(raw, overrides, where)
        cfg["name"] = name
        entries.append(Entry(i, overrides, name, config_mod.config_hash(cfg)))
        if (cfg.get("dataset") or {}).get("name") == "csv":
            files.add(str(cfg["dataset"]["path"]))
    from optrun.data.formats import existing_file

    for path in sorted(files):  # a missing data file would fail every run: say so now, write nothing
        existing_file(path)
    hashes = [e.config_hash for e in entries]
    if len(set(hashes)) != len(hashes):
        dup = next(h for h in hashes if hashes.count(h) > 1)
        same = [e.overrides for e in entries if e.config_hash == dup][:2]
        raise OptrunError(f"sweep: two grid points give the same resolved config ({same[0]} and {same[1]}); "
                          "an axis has repeated values or a value the config ignores")
    return entries


def sweep_id(entries: list[Entry]) -> str:
    """The sweep's identity: a hash of the *set* of its config hashes (axis order does not matter)."""
    return hashlib.sha256("\n".join(sorted(e.config_hash for e in entries)).encode()).hexdigest()[:8]


def default_sweep_dir(out: str | Path, base: str, entries: list[Entry]) -> Path:
    from optrun.rundir import slugify

    return Path(out) / f"sweep-{slugify(base)}-{sweep_id(entries)}"


def plan_sweep(config_path: str | Path, axis_texts: Iterable[str], out: str | Path = "runs",
               name: str | None = None, labels: dict | None = None) -> Sweep:
    """Parse, expand and resolve a sweep; nothing is written. ``sweep.dir`` is where it goes.

    ``labels`` (``{"note", "tags"}``, :func:`optrun.api.run_labels`) are kept in ``sweep.yaml``
    so that every run of the sweep, wherever it runs (``optrun run-plan``), gets them; they are
    not part of any config hash, hence not of the sweep id."""
    raw = read_base_config(config_path)
    axes = parse_axes(axis_texts)
    base = base_name(raw, config_path, name)
    entries = make_plan(raw, axes, base, str(config_path))
    spec = {
        "name": base,
        "config_file": str(Path(config_path).resolve()),
        "config": raw,
        "axes": [{"key": a.key, "spec": a.spec, "values": list(a.values)} for a in axes],
        "runs": len(entries),
        "sweep_id": sweep_id(entries),
    }
    if labels:
        spec["labels"] = dict(labels)
    return Sweep(default_sweep_dir(out, base, entries), spec, entries)


def write_sweep(sweep: Sweep) -> Sweep:
    """Create the sweep folder with ``sweep.yaml`` and ``plan.jsonl`` (atomic writes).

    If the folder already holds the same plan (same set of config hashes), it is kept as it is,
    indices included, so array jobs that are already running keep their meaning.
    """
    from optrun._version import __version__
    from optrun.config import yaml_io
    from optrun.rundir import atomic_write_text

    d = sweep.dir
    if (d / PLAN_FILE).is_file():
        existing = load_sweep(d)
        if {e.config_hash for e in existing.entries} != {e.config_hash for e in sweep.entries}:
            raise OptrunError(f"{d}: holds a different sweep (its plan.jsonl has other runs); use another --out or --name")
        return existing
    try:
        (d / RUNS_SUBDIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptrunError(f"--out {d.parent}: cannot create the sweep folder: {exc.strerror}") from None
    spec = {**sweep.spec, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "optrun": __version__}
    atomic_write_text(d / SWEEP_FILE, yaml_io.dump(spec))  # read back as written (YAML 1.2 numbers)
    atomic_write_text(d / PLAN_FILE, "".join(e.to_json() + "\n" for e in sweep.entries))
    return Sweep(d, spec, sweep.entries)


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep folder (``sweep.yaml`` + ``plan.jsonl``)."""
    import os
    import stat

    from optrun.config import parse_yaml
    from optrun.data.files import read_text

    d = Path(path)
    try:
        is_dir = stat.S_ISDIR(os.stat(d).st_mode)
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise OptrunError(f"{d}: sweep folder not found" if not os.path.lexists(d) else f"{d}: not a sweep folder (not a folder)")
    if not os.path.lexists(d / PLAN_FILE) or not os.path.lexists(d / SWEEP_FILE):
        raise OptrunError(f"{d}: not a sweep folder (expected {SWEEP_FILE} and {PLAN_FILE}; make one with optrun sweep --plan-only)")
    text = read_text(d / SWEEP_FILE, "sweep file")
    spec = parse_yaml(text, str(d / SWEEP_FILE))  # no tags, bounded
    _check_spec(d / SWEEP_FILE, spec)
    if isinstance(spec, dict) and spec.get("sweep_id") is not None and not isinstance(spec["sweep_id"], str):
        # written unquoted before 0.2 (yaml.safe_dump): an id like 58052e01 reads as a YAML 1.2 float
        m = re.search(r"^sweep_id: *'?([0-9a-f]{8})'? *$", text, re.M)
        if m:
            spec["sweep_id"] = m.group(1)
    entries = []
    for n, line in enumerate(read_text(d / PLAN_FILE, "plan file", 1 << 30).splitlines(), 1):
        if line.strip():
            try:
                entries.append(Entry.from_json(line))
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                raise OptrunError(f"{d / PLAN_FILE}: line {n}: not a plan entry") from None
    if [e.index for e in entries] != list(range(len(entries))):
        raise OptrunError(f"{d / PLAN_FILE}: indices must be 0..{len(entries) - 1} in order")
    if spec["runs"] != len(entries):
        raise OptrunError(f"{d}: {SWEEP_FILE} says {spec['runs']} runs but {PLAN_FILE} has {len(entries)}; "
                          "the folder was edited or is half-copied (plan it again into a new --out)")
    if spec.get("sweep_id") is not None and str(spec["sweep_id"]) != sweep_id(entries):
        raise OptrunError(f"{d}: {SWEEP_FILE} and {PLAN_FILE} disagree (sweep_id {spec['sweep_id']} is not "
                          f"{sweep_id(entries)}, the hash of the plan's runs); plan it again into a new --out")
    _check_hashes(d, spec, entries)
    return Sweep(d, spec, entries)


def _check_hashes(d: Path, spec: dict, entries: list[Entry]) -> None:
    """The plan's config hashes must be what ``sweep.yaml``'s config gives (first, middle and
    last entry checked): an edited ``sweep.yaml`` would otherwise make every entry look new and
    a resume would rerun all of them, reporting success."""
    from optrun import config as config_mod

    for e in {id(x): x for x in (entries[:1] + entries[len(entries) // 2:][:1] + entries[-1:])}.values():
        try:
            cfg = config_mod.load(spec["config"], e.overrides)
        except OptrunError as exc:
            raise OptrunError(f"{d / SWEEP_FILE}: entry {e.index} does not resolve: {exc}") from None
        cfg["name"] = e.name
        if config_mod.config_hash(cfg) != e.config_hash:
            raise OptrunError(
                f"{d}: {SWEEP_FILE} and {PLAN_FILE} disagree (entry {e.index}: the config gives hash "
                f"{config_mod.config_hash(cfg)}, the plan says {e.config_hash}); the folder was edited or written by "
                f"optrun {spec.get('optrun', '?')}; plan the sweep again into a new --out")


def _check_spec(path: Path, spec: Any) -> None:
    """What the code reads of ``sweep.yaml``: a mapping with ``config`` (a mapping), ``axes`` (a
    list of ``{key, values}``) and ``runs`` (a count)."""
    def bad(why: str) -> OptrunError:
        return OptrunError(f"{path}: not a valid sweep file ({why}); plan the sweep again into a new --out")

    if not isinstance(spec, dict):
        raise bad(f"expected a mapping, got {type(spec).__name__}")
    if not isinstance(spec.get("config"), dict):
        raise bad("'config' must be a mapping")
    axes = spec.get("axes", [])
    if not isinstance(axes, list) or not all(isinstance(a, dict) and isinstance(a.get("key"), str)
                                             and isinstance(a.get("values", []), list) for a in axes):
        raise bad("'axes' must be a list of {key, values}")
    if not isinstance(spec.get("runs"), int) or isinstance(spec.get("runs"), bool):
        raise bad("'runs' must be the number of runs")


# --------------------------------------------------------------------------------------------
# What is done (resume)


def attempts_by_hash(runs_dir: Path) -> dict[str, list[tuple[Path, dict]]]:
    """``config_hash -> [(run folder, summary)]`` for every readable run folder directly under
    ``runs_dir``, oldest first (folder names start with a timestamp)."""
    from optrun.rundir import RunFolder, find_run_folders

    out: dict[str, list[tuple[Path, dict]]] = {}
    if not Path(runs_dir).is_dir():
        return out
    for path in find_run_folders(runs_dir, recursive=False):
        run = RunFolder(path)
        h = run.summary.get("config_hash") if run.readable else None
        if h and path != Path(runs_dir):
            out.setdefault(h, []).append((path, run.summary))
    return out


def best_attempt(attempts: list[tuple[Path, dict]]) -> tuple[Path, dict] | None:
    """The run folder that stands for a planned run: the newest finished one, else the newest."""
    if not attempts:
        return None
    done = [a for a in attempts if a[1].get("status") in DONE_STATUSES]
    return (done or attempts)[-1]


def is_done(attempts: list[tuple[Path, dict]] | None) -> bool:
    return any(s.get("status") in DONE_STATUSES for _, s in attempts or [])


def pending_entries(sweep: Sweep) -> list[Entry]:
    found = attempts_by_hash(sweep.runs_dir)
    return [e for e in sweep.entries if not is_done(found.get(e.config_hash))]
