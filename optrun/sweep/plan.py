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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

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


def make_plan(raw: dict, axes: list[Axis], base: str) -> list[Entry]:
    """Resolve every grid point (config errors surface here, before anything runs) and hash it
    exactly as :func:`optrun.api.train` will (``config_hash`` of the resolved config, name set)."""
    from optrun import config as config_mod

    varied = [a.key for a in axes if len(a.values) > 1]
    entries = []
    for i, overrides in enumerate(grid(axes)):
        name = run_name(base, overrides, varied)
        cfg = config_mod.load(raw, overrides)
        cfg["name"] = name
        entries.append(Entry(i, overrides, name, config_mod.config_hash(cfg)))
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
               name: str | None = None) -> Sweep:
    """Parse, expand and resolve a sweep; nothing is written. ``sweep.dir`` is where it goes."""
    raw = read_base_config(config_path)
    axes = parse_axes(axis_texts)
    base = base_name(raw, config_path, name)
    entries = make_plan(raw, axes, base)
    spec = {
        "name": base,
        "config_file": str(Path(config_path).resolve()),
        "config": raw,
        "axes": [{"key": a.key, "spec": a.spec, "values": list(a.values)} for a in axes],
        "runs": len(entries),
        "sweep_id": sweep_id(entries),
    }
    return Sweep(default_sweep_dir(out, base, entries), spec, entries)


def write_sweep(sweep: Sweep) -> Sweep:
    """Create the sweep folder with ``sweep.yaml`` and ``plan.jsonl`` (atomic writes).

    If the folder already holds the same plan (same set of config hashes), it is kept as it is,
    indices included, so array jobs that are already running keep their meaning.
    """
    from optrun._version import __version__
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
    atomic_write_text(d / SWEEP_FILE, yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))
    atomic_write_text(d / PLAN_FILE, "".join(e.to_json() + "\n" for e in sweep.entries))
    return Sweep(d, spec, sweep.entries)


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep folder (``sweep.yaml`` + ``plan.jsonl``)."""
    d = Path(path)
    if not d.is_dir():
        raise OptrunError(f"{d}: sweep folder not found")
    if not (d / PLAN_FILE).is_file() or not (d / SWEEP_FILE).is_file():
        raise OptrunError(f"{d}: not a sweep folder (expected {SWEEP_FILE} and {PLAN_FILE}; make one with optrun sweep --plan-only)")
    spec = yaml.safe_load((d / SWEEP_FILE).read_text(encoding="utf-8"))
    entries = []
    for n, line in enumerate((d / PLAN_FILE).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                entries.append(Entry.from_json(line))
            except (ValueError, KeyError, TypeError):
                raise OptrunError(f"{d / PLAN_FILE}: line {n}: not a plan entry") from None
    if [e.index for e in entries] != list(range(len(entries))):
        raise OptrunError(f"{d / PLAN_FILE}: indices must be 0..{len(entries) - 1} in order")
    return Sweep(d, spec, entries)


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
