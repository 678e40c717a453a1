"""Target 1: start-up time of the command line, each command a fresh process.

* ``optrun --help`` and ``optrun optimizers`` against ``python -c "import typer"`` (the floor of
  any Typer program);
* ``optrun train`` of a 1,000-step two-parameter config (the ``women`` data, full-batch GD) with
  ``--no-plots`` against ``python -c "import numpy, yaml"`` (the floor of anything that reads a
  YAML file and computes with NumPy), and with plots, to state what drawing the figures costs.

The console script next to this interpreter is used (a pyenv shim would add its own bash start-up
to every command but not to ``python -c``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import Row, compare, fmt_s, fmt_t, optrun_command, time_commands

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


def run(quick: bool) -> tuple[list[Row], list[str]]:
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
        "typer_pydantic": [py, "-c", "import typer, pydantic"],
        "numpy_yaml": [py, "-c", "import numpy, yaml"],
        "train_floor": [py, "-c", "import numpy, yaml, typer, pydantic, rich.console, rich.table"],
        "help": [*optrun, "--help"],
        "optimizers": [*optrun, "optimizers"],
        "train": [*train, "--no-plots"],
    }, repeat, cwd=tmp)
    # Drawing the figures takes seconds: fewer rounds, paired with the run without plots.
    t.update({"train_plots": time_commands({"train_plots": train}, 3 if quick else 5, cwd=tmp)["train_plots"]})
    T = "1 start-up"
    typer, npy = t["typer"], t["numpy_yaml"]
    rows = [
        Row(T, "python -c pass (the interpreter alone)", fmt_t(t["python"])),
        Row(T, 'python -c "import typer" (baseline)', fmt_t(typer)),
        compare(T, "optrun --help", t["help"], typer, "<= 2.5x typer", lambda r: r <= 2.5),
        compare(T, "optrun optimizers", t["optimizers"], typer, "<= 2.5x typer", lambda r: r <= 2.5),
        compare(T, 'floor: python -c "import typer, pydantic"', t["typer_pydantic"], typer,
                note="Typer 0.29 imports pydantic to parse any non-flag argument"),
        Row(T, 'python -c "import numpy, yaml" (baseline)', fmt_t(npy)),
        compare(T, "optrun train (1,000 steps, 2 params) --no-plots", t["train"], npy, "< 3x numpy+yaml",
                lambda r: r < 3),
        compare(T, "floor: import numpy, yaml, typer, pydantic, rich", t["train_floor"], npy,
                note="the libraries `optrun train` cannot do without"),
        compare(T, "optrun train, with plots (loss, params, contour)", t["train_plots"], npy, "(stated)",
                note=f"the plots cost {fmt_s(t['train_plots'].wall - t['train'].wall)} wall, "
                     f"{fmt_s(t['train_plots'].cpu - t['train'].cpu)} cpu"),
    ]
    notes = []
    for label, modules in (("optrun.cli.app", "optrun.cli.app"), ("the train path", "optrun.cli.app, optrun.api, optrun.prepare, optrun.engine")):
        slow = [f"{name} {ms:.0f} ms" for name, ms in import_times(modules)[:8]]
        notes.append(f"start-up: slowest imports of {label} (cumulative, one run): " + ", ".join(slow))
    return rows, notes


if __name__ == "__main__":
    from _harness import table

    r, n = run(quick=True)
    print(table(r))
    print("\n".join(n))
