"""Target 1: start-up time of the command line, each command a fresh process.

* ``optrun --help`` and ``optrun optimizers`` against ``python -c "import typer"`` (the floor of
  any Typer program);
* ``optrun train`` of a 1,000-step two-parameter config (the ``women`` data, full-batch GD) with
  ``--no-plots`` against ``python -c "import numpy, yaml"`` (the floor of anything that reads a
  YAML file and computes with NumPy), and with plots, to state what drawing the figures costs.

The console script next to this interpreter is used (a pyenv shim would add its own bash start-up
to every command but not to ``python -c``).

Ratios are judged on CPU time (user + system) of each process, with OpenBLAS limited to one
thread: importing NumPy starts a BLAS thread pool whose idle threads spin for a while, which
adds CPU time on an idle machine, and other processes' load adds wall time on a busy one. With
one BLAS thread and CPU time, neither counts; wall times are shown alongside.
"""

from __future__ import annotations

import subprocess
import sys
import shutil
import tempfile
from pathlib import Path

from _harness import Row, compare, fmt_s, fmt_t, fmt_x, optrun_command, time_commands

# What Typer needs to parse an argument: plain `import typer` before 0.29; 0.29 adds pydantic.
TYPER_PARSE = "import typer\ntry:\n    import typer._adapters\nexcept ImportError:\n    pass"

CONFIG = """\
# start-up benchmark: two parameters (slope and intercept), 1,000 full-batch GD steps
name: startup
seed: 0
dataset: {name: women, standardize: true}
model: linear
loss: half_mse
optimizer: {name: gd, lr: 0.1}
batch: full
train: {steps: 1000}
"""


ENV = {"OPENBLAS_NUM_THREADS": "1"}  # see the module docstring


def import_times(modules: str) -> list[tuple[str, float]]:
    """The slowest imports (cumulative, ms) of ``python -X importtime -c 'import ...'``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {modules}"],
                         capture_output=True, text=True).stderr
    rows = []
    for line in out.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = (p.strip() for p in line.split(":", 1)[1].split("|"))
            if cum.isdigit():
                rows.append((name, int(cum) / 1000))
    return sorted(rows, key=lambda r: -r[1])


def compile_bytecode() -> None:
    """Write optrun's bytecode before timing it, as ``pip install`` does.

    A checkout run with PYTHONDONTWRITEBYTECODE=1 (as this sandbox and many CI images set) would
    otherwise compile every optrun module from source in every process (~0.13 s), a cost no
    installed optrun pays, while NumPy and yaml are timed from their installed bytecode.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "optrun")],
                   check=True, stdout=subprocess.DEVNULL)


def run(quick: bool) -> tuple[list[Row], list[str]]:
    compile_bytecode()
    repeat = 5 if quick else 15
    tmp = Path(tempfile.mkdtemp(prefix="optrun-bench-startup-"))
    cfg = tmp / "startup.yaml"
    cfg.write_text(CONFIG)
    optrun = optrun_command()
    py = sys.executable
    train = [*optrun, "train", str(cfg), "--out", str(tmp / "runs")]  # human output on (stderr)
    t = time_commands({
        "python": [py, "-c", "pass"],
        "typer": [py, "-c", "import typer"],
        "typer_parse": [py, "-c", TYPER_PARSE],
        "numpy_yaml": [py, "-c", "import numpy, yaml"],
        "train_floor": [py, "-c", TYPER_PARSE + "\nimport numpy, yaml, rich.console, rich.table"],
        "help": [*optrun, "--help"],
        "optimizers": [*optrun, "optimizers"],
        "train": [*train, "--no-plots"],
    }, repeat, cwd=tmp, env=ENV)
    # Drawing the figures takes seconds: fewer rounds, paired with the run without plots.
    # (and with their own baseline in the same interleaved rounds: the ratio is the median of the
    # rounds' ratios, so a slow spell of the machine hits both sides of it)
    pair = time_commands({"train": [*train, "--no-plots"], "train_plots": train,
                          "numpy_yaml_mpl": [py, "-c", "import numpy, yaml, matplotlib.pyplot"]},
                         5 if quick else 9, cwd=tmp, env=ENV)
    T = "1 start-up"
    typer, npy = t["typer"], t["numpy_yaml"]
    rows = [
        Row(T, "python -c pass (the interpreter alone)", fmt_t(t["python"])),
        Row(T, 'python -c "import typer" (baseline)', fmt_t(typer)),
        compare(T, "optrun --help", t["help"], typer, "<= 2.5x typer", lambda r: r <= 2.5),
        compare(T, "optrun optimizers", t["optimizers"], typer, "<= 2.5x typer", lambda r: r <= 2.5),
        compare(T, "floor: import typer + what it loads to parse arguments", t["typer_parse"], typer,
                note="Typer 0.29 loads pydantic TypeAdapters (typer._adapters) to parse any non-flag "
                     "argument; optrun pins typer<0.29, where this is the same as `import typer`"),
        Row(T, 'python -c "import numpy, yaml" (baseline)', fmt_t(npy)),
        compare(T, "optrun train (1,000 steps, 2 params) --no-plots", t["train"], npy, "< 3x numpy+yaml",
                lambda r: r < 3),
        compare(T, "floor: import numpy, yaml, typer (+ its argument parsing), rich", t["train_floor"], npy,
                note="the libraries `optrun train` cannot do without"),
        Row(T, "optrun train, with its default figures (loss, params, contour)", fmt_t(pair["train_plots"]),
            f"{fmt_x(pair['train_plots'].cpu / npy.cpu)} (cpu)", "(stated)", None,
            f"the plots cost {fmt_s(pair['train_plots'].cpu - pair['train'].cpu)} cpu, "
            f"{fmt_s(pair['train_plots'].wall - pair['train'].wall)} wall"),
        Row(T, 'python -c "import numpy, yaml, matplotlib.pyplot" (figure baseline)', fmt_t(pair["numpy_yaml_mpl"])),
        compare(T, "Figures (0.2): optrun train with its default figures (loss, params, contour)", pair["train_plots"],
                pair["numpy_yaml_mpl"], "<= 2x numpy+yaml+pyplot (issue #16)", lambda r: r <= 2),
    ]
    notes = []
    for label, modules in (("optrun.cli.app", "optrun.cli.app"), ("the train path", "optrun.cli.app, optrun.api, optrun.prepare, optrun.engine")):
        slow = [f"{name} {ms:.0f} ms" for name, ms in import_times(modules)[:8]]
        notes.append(f"start-up: slowest imports of {label} (cumulative, one run): " + ", ".join(slow))
    shutil.rmtree(tmp, ignore_errors=True)  # the run folders made here
    return rows, notes


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
    print("\n".join(n))
