"""Regenerate the figures of docs/plots.md into docs/img/.

Each entry of IMAGES is one command exactly as docs/plots.md shows it (``optrun compare ...``)
and the figures it writes, mapped to their names under docs/img/. The script runs every
command as ``python -m optrun ...`` with PYTHONPATH set to this checkout (so the figures come
from this tree's ``optrun``, not an installed one), into a temporary folder, then copies the
figures over docs/img/<name>. Nothing is written to ``runs/``.

Before running anything it checks that every command still appears verbatim in
docs/plots.md, so the page and the pictures cannot silently drift apart.

    python docs/make_images.py                 # all images
    python docs/make_images.py --only lr       # entries whose key starts with "lr"
    python docs/make_images.py --keep          # keep the temporary run folders (path printed)
    python docs/make_images.py --list          # show the commands, run nothing

Images in docs/img that no entry names (tune_*, variance_reduction.png: made for other pages)
are left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
PAGE = ROOT / "docs" / "plots.md"

# key -> (command as written in docs/plots.md, {figure in the comparison's plots/: docs/img name})
IMAGES: dict[str, tuple[str, dict[str, str]]] = {
    "batch_modes": (
        "optrun compare configs/compare_batch_modes.yaml "
        "--vary batch.mode=full,stochastic,minibatch",
        {
            "contour.png": "batch_modes_contour.png",
            "loss.png": "batch_modes_loss.png",
            "data.png": "batch_modes_data.png",
        },
    ),
    "batch_modes_seeds": (
        "optrun compare configs/compare_batch_modes.yaml "
        "--vary batch.mode=full,stochastic,minibatch --seeds 10",
        {"loss.png": "batch_modes_seeds_loss.png"},
    ),
    "optimizers": (
        "optrun compare configs/compare_optimizers.yaml --vary optimizer=sgd:lr=0.035,"
        "momentum:lr=0.005,nag:lr=0.005,adagrad:lr=0.5,rmsprop:lr=0.05,adam:lr=0.1,newton",
        {
            "contour.png": "optimizers_contour.png",
            "loss.png": "optimizers_loss.png",
            "params.png": "optimizers_params.png",
        },
    ),
    # The page says: "the same with `--animate`"; the flag is added below, not in the text.
    "optimizers_gif": (
        "optrun compare configs/compare_optimizers.yaml --vary optimizer=sgd:lr=0.035,"
        "momentum:lr=0.005,nag:lr=0.005,adagrad:lr=0.5,rmsprop:lr=0.05,adam:lr=0.1,newton",
        {"contour.gif": "optimizers_contour.gif"},
    ),
    "lr": (
        "optrun compare configs/compare_learning_rates.yaml --vary optimizer.lr=0.005,0.05,0.12",
        {
            "contour.png": "lr_contour.png",
            "loss.png": "lr_loss.png",
            "grad_norm.png": "lr_grad_norm.png",
            "params.png": "lr_params.png",
        },
    ),
    "projected": (
        "optrun compare configs/compare_optimizers.yaml dataset.n_features=6 model.init=zeros "
        "--vary optimizer=sgd:lr=0.035,momentum:lr=0.005,adam:lr=0.1",
        {"contour.png": "projected_contour.png"},
    ),
    "style_slides": (
        "optrun compare configs/compare_optimizers.yaml --vary optimizer=sgd:lr=0.035,momentum:lr=0.005,adam:lr=0.1 "
        "--style slides --title \"Three optimizers, one valley\"",
        {"contour.png": "style_slides_contour.png"},
    ),
    "style_paper": (
        "optrun compare configs/compare_optimizers.yaml --vary optimizer=sgd:lr=0.035,momentum:lr=0.005,adam:lr=0.1 "
        "--style paper --no-subtitle",
        {"loss.png": "style_paper_loss.png"},
    ),
}

# Flags added to a command beyond its text on the page (the page states them in prose).
EXTRA_FLAGS: dict[str, list[str]] = {"optimizers_gif": ["--animate"]}


def check_page(keys: list[str]) -> list[str]:
    """Return the keys whose command no longer appears verbatim in docs/plots.md."""
    page = PAGE.read_text(encoding="utf-8")
    return [k for k in keys if IMAGES[k][0] not in page]


def run_one(key: str, tmp: Path) -> list[tuple[Path, Path]]:
    """Run one entry's command into tmp and return (produced figure, docs/img target) pairs."""
    command, figures = IMAGES[key]
    argv = shlex.split(command)
    assert argv[0] == "optrun", command
    out = tmp / key
    argv = [sys.executable, "-m", "optrun", *argv[1:], *EXTRA_FLAGS.get(key, []),
            "--out", str(out), "--json", "-q"]
    env = dict(os.environ)
    # This checkout's optrun first, so the images show the code they document.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("MPLBACKEND", "Agg")
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{key}: exit {proc.returncode}\n{command}\n{proc.stderr[-2000:]}")
    folder = Path(json.loads(proc.stdout)["comparison_dir"])
    pairs = []
    for produced, name in figures.items():
        src = folder / "plots" / produced
        if not src.is_file():
            raise RuntimeError(f"{key}: {command} did not write plots/{produced}")
        pairs.append((src, IMG / name))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[],
                        help="run only entries whose key starts with this (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run folders")
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)

    keys = [k for k in IMAGES if not args.only or any(k.startswith(o) for o in args.only)]
    if not keys:
        parser.error(f"--only matches no entry; entries: {', '.join(IMAGES)}")
    if args.list:
        for k in keys:
            cmd, figs = IMAGES[k]
            print(f"{k}: {' '.join([cmd, *EXTRA_FLAGS.get(k, [])])}\n    -> {', '.join(figs.values())}")
        return 0

    stale = check_page(keys)
    if stale:
        for k in stale:
            print(f"docs/plots.md no longer shows the command of {k!r}:\n  {IMAGES[k][0]}",
                  file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="optrun-docs-img-"))
    try:
        IMG.mkdir(parents=True, exist_ok=True)
        for k in keys:
            print(f"{k}: {IMAGES[k][0]}", file=sys.stderr)
            # Copy only once every figure of the entry exists, so a failure leaves docs/img whole.
            for src, dst in run_one(k, tmp):
                shutil.copyfile(src, dst)
                print(f"    {dst.relative_to(ROOT)} ({dst.stat().st_size // 1024} KiB)",
                      file=sys.stderr)
    finally:
        if args.keep:
            print(f"run folders kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
