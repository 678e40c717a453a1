"""Shared helpers for the benchmarks: interleaved best-of timing, child-process timing and peak
memory, the machine description, and the results table.

Everything here is measurement plumbing; the benchmarks themselves live in ``bench_*.py``.

Timing policy. Every ratio is measured *side by side in one run*: the candidates are run
interleaved (A B C A B C ...) and each keeps its best (minimum) wall time. On a shared machine the
load of other processes only ever adds time, so the minimum is the cleanest estimate of each
candidate's own cost, and interleaving exposes all candidates to the same conditions.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of the results table."""

    target: str  # which target of the issue ("1 start-up", ...)
    what: str  # what was measured
    value: str  # the measurement, formatted (a time, a size, ...)
    ratio: str = ""  # the ratio that the target is about, formatted
    goal: str = ""  # the target for that ratio ("<= 2.5x")
    met: bool | None = None  # None: informational
    note: str = ""

    def __post_init__(self):
        if self.met is not None:
            self.met = bool(self.met)  # (a numpy bool from a comparison is not JSON)


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} us"


def fmt_x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def fmt_t(t: "Timing") -> str:
    return f"{fmt_s(t.wall)} (cpu {fmt_s(t.cpu)})"


def compare(target: str, what: str, t: "Timing", base: "Timing", goal: str = "",
            ok: Callable[[float], bool] | None = None, basis: str = "cpu", note: str = "", value: str = "") -> Row:
    """A row for ``t`` against ``base``: the ratio on ``basis`` ("cpu" or "wall") is the one
    judged against the goal; the other one is shown in the note."""
    r = paired_ratio(t, base, basis)
    other = "wall" if basis == "cpu" else "cpu"
    r_other = paired_ratio(t, base, other)
    note = f"{other}: {fmt_x(r_other)}" + (f"; {note}" if note else "")
    return Row(target, what, value or fmt_t(t), f"{fmt_x(r)} ({basis})", goal, None if ok is None else bool(ok(r)), note)


@dataclass
class Timing:
    """Best (minimum) wall-clock and CPU time of one candidate over the interleaved rounds, and
    the time of every round (for paired ratios)."""

    wall: float
    cpu: float  # user + system time of the process (all its threads)
    walls: list = field(default_factory=list)
    cpus: list = field(default_factory=list)


def paired_ratio(t: Timing, base: Timing, basis: str = "cpu") -> float:
    """``t / base``: the median over rounds of the ratio within each round when both were timed
    in the same interleaved rounds (a slow spell of the machine then hits both sides of each
    ratio), else the ratio of the best times."""
    a, b = getattr(t, basis + "s"), getattr(base, basis + "s")
    if a and len(a) == len(b):
        return statistics.median(x / y for x, y in zip(a, b))
    return getattr(t, basis) / getattr(base, basis)


def best_of(candidates: dict[str, Callable[[], object]], repeat: int) -> dict[str, Timing]:
    """Best wall and CPU time of each in-process callable over ``repeat`` interleaved rounds.

    A callable that returns a ``(wall, cpu)`` pair reports its own times (to leave set-up out);
    otherwise the whole call is timed.
    """
    walls: dict[str, list[float]] = {k: [] for k in candidates}
    cpus: dict[str, list[float]] = {k: [] for k in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            own = fn()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if isinstance(own, tuple):
                wall, cpu = own
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {k: Timing(min(walls[k]), min(cpus[k]), walls[k], cpus[k]) for k in candidates}


class Clock:
    """Wall and CPU time of a block: ``with Clock() as c: ...; c.times -> (wall, cpu)``."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.times = (time.perf_counter() - self.w0, time.process_time() - self.c0)
        return False


def optrun_command() -> list[str]:
    """The installed ``optrun`` console script of this interpreter (not a pyenv shim, whose bash
    wrapper would add its own start-up time), or ``python -m optrun`` when there is none."""
    script = Path(sys.executable).parent / "optrun"
    if script.exists():
        return [str(script)]
    found = shutil.which("optrun")
    return [found] if found else [sys.executable, "-m", "optrun"]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra or {})
    return env


def run_child(cmd: list[str], cwd: Path | None = None, check: bool = True,
              env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run one child process; return (wall s, CPU s, peak RSS MB, stdout) of exactly that child.

    ``os.wait4`` gives the resource usage of this child alone (RUSAGE_CHILDREN would add up, or
    take the maximum over, every child so far).
    """
    with tempfile.TemporaryFile("w+") as errfile:  # a file, not a pipe: never blocks the child
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile, cwd=cwd, env=child_env(env), text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        errfile.seek(0)
        err = errfile.read()
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out  # ru_maxrss: KiB


def time_commands(commands: dict[str, list[str]], repeat: int, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> dict[str, Timing]:
    """Best wall and CPU time of each command (a fresh process each time), interleaved."""
    for cmd in commands.values():  # warm the OS file cache (and fail early on a broken command)
        run_child(cmd, cwd, env=env)
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            wall, cpu, _, _ = run_child(cmd, cwd, env=env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {k: Timing(min(walls[k]), min(cpus[k]), walls[k], cpus[k]) for k in commands}


def have(module: str) -> str | None:
    """The version of an optional peer (torch, sklearn), or None when it is not installed."""
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", "?")


# --------------------------------------------------------------------------------------------
# The machine


def _cmd(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    import numpy as np

    info: dict = {
        "nproc": _cmd(["nproc"]).strip() or str(os.cpu_count()),
        "lscpu": "\n".join(_cmd(["lscpu"]).splitlines()[:14]),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')} ({blas.get('openblas configuration', '').strip()})"
        simd = cfg.get("SIMD Extensions", {})
        info["simd"] = ", ".join(simd.get("found", []))
    except Exception:  # older numpy: no dict mode
        info["blas"] = "unknown"
    for peer in ("torch", "sklearn", "pandas", "matplotlib", "typer"):
        info[peer] = have(peer)
    return info


# --------------------------------------------------------------------------------------------
# The table


def table(rows: list[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    head = ["target", "measurement", "value", "ratio", "goal", "met", "note"]
    body = [[r.target, r.what, r.value, r.ratio, r.goal,
             "" if r.met is None else ("yes" if r.met else "NO"), r.note] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def machine_text(info: dict) -> str:
    lines = [f"- nproc: {info['nproc']}, memory: {info['memory_gib']} GiB",
             f"- python {info['python']}, numpy {info['numpy']}, BLAS: {info.get('blas')}",
             f"- SIMD: {info.get('simd', '')}",
             f"- peers: torch {info.get('torch')}, scikit-learn {info.get('sklearn')}, "
             f"pandas {info.get('pandas')}, matplotlib {info.get('matplotlib')}, typer {info.get('typer')}",
             f"- load average (1, 5, 15 min) at start: {info['load_average_at_start']}, "
             f"at end: {info.get('load_average_at_end')}",
             "", "```", info["lscpu"], "```"]
    return "\n".join(lines)


def write_results(path: Path, mode: str, info: dict, rows: list[Row], notes: list[str], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = [f"# optrun benchmarks ({mode} run)", "",
            f"`python benchmarks/run.py{' --quick' if mode == 'quick' else ''}`, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}, took {seconds:.0f} s.", "",
            "## Machine", "", machine_text(info), "", "## Results", "", table(rows), ""]
    if notes:
        text += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    path.write_text("\n".join(text))
    path.with_suffix(".json").write_text(json.dumps(
        {"mode": mode, "machine": info, "rows": [asdict(r) for r in rows], "notes": notes, "seconds": seconds},
        indent=2))
