"""``optrun sweep CONFIG KEY=v1,v2 KEY='logspace(-4,0,9)' [-j N]`` and ``optrun run-plan DIR --index I``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import (
    EXIT_SOME_FAILED, JsonOption, OutOption, QuietOption, Signals, console, fail,
    print_json, user_errors,
)

_STATUS_STYLE = {"completed": "green", "converged": "green", "diverged": "yellow",
                 "interrupted": "yellow", "failed": "red", "pending": "dim"}


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _esc(text) -> str:
    from rich.markup import escape

    return escape(str(text))


def _label(entry, axes: list[str]) -> str:
    from rich.markup import escape

    from optrun.sweep import _fmt_value

    return escape(" ".join(f"{k}={_fmt_value(entry.overrides[k])}" for k in axes) or entry.name)


class _Reporter:
    """Progress on stderr: a rich bar on a terminal, one plain line per run otherwise.
    Failures are printed as they happen in both cases; ``-q`` silences everything."""

    def __init__(self, total: int, axes: list[str], quiet: bool):
        self.total, self.axes, self.quiet = total, axes, quiet
        self.con = console(quiet)
        self.con.soft_wrap = True
        self.tty = sys.stderr.isatty() and not quiet
        self.done = 0
        self.counts: dict[str, int] = {}
        self.bar = None

    def __enter__(self):
        if self.tty and self.total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tally]}"),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=self.con, transient=False)
            self.task = self.bar.add_task("sweep", total=self.total, tally="")
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False

    def result(self, entry, outcome: dict) -> None:
        self.done += 1
        status = outcome["status"]
        width = len(str(self.total))
        head = f"[{self.done:>{width}}/{self.total}]"
        label = _label(entry, self.axes)
        if status == "failed":
            self.con.print(f"{head} [red]FAILED[/] #{entry.index} {label}: {_esc(outcome.get('error') or 'see the run folder')}",
                           soft_wrap=True)
        elif self.bar is None:
            style = _STATUS_STYLE.get(status, "")
            wall = outcome.get("wall_time_s")
            self.con.print(f"{head} #{entry.index} {label}: [{style}]{status}[/] loss {_fmt(outcome.get('final_loss'))}"
                           + (f" ({wall:.2f} s)" if isinstance(wall, (int, float)) else ""), soft_wrap=True)
        if outcome.get("warning"):
            self.con.print(f"[yellow]warning[/]: #{entry.index}: {_esc(outcome['warning'])}", soft_wrap=True)
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.bar is not None:
            tally = " ".join(f"[{_STATUS_STYLE.get(k, '')}]{n} {k}[/]" for k, n in sorted(self.counts.items()))
            self.bar.update(self.task, advance=1, tally=tally)


def _dry_run_table(sweep, done: set[str]):
    from rich.table import Table

    from optrun.sweep import _fmt_value

    table = Table(title=f"{len(sweep.entries)} runs -> {sweep.dir}", title_justify="left")
    table.add_column("#", justify="right")
    for k in sweep.axes:
        table.add_column(k)
    table.add_column("config_hash")
    table.add_column("state")
    for e in sweep.entries:
        state = "[green]done[/]" if e.config_hash in done else "pending"
        table.add_row(str(e.index), *(_fmt_value(e.overrides[k]) for k in sweep.axes), e.config_hash, state)
    return table


def _done_hashes(sweep) -> set[str]:
    from optrun.sweep import attempts_by_hash, is_done

    found = attempts_by_hash(sweep.runs_dir)
    return {h for h, a in found.items() if is_done(a)}


def _tally(report, con, summary_path) -> None:
    counts = report.to_dict()["counts"]
    order = ["completed", "converged", "diverged", "interrupted", "failed"]
    parts = [f"[{_STATUS_STYLE[s]}]{counts[s]} {s}[/]" for s in order if counts.get(s)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
    if report.skipped:
        parts.append(f"{report.skipped} already done")
    if report.not_run:
        parts.append(f"[yellow]{report.not_run} not run[/]")
    con.print(f"sweep: {report.total} runs: " + ", ".join(parts or ["nothing to do"])
              + f" in {report.wall_time_s:.1f} s -> {summary_path}", soft_wrap=True)


@user_errors
def sweep(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment YAML file (omit with --resume).", show_default=False)] = None,
    axes: Annotated[Optional[list[str]], typer.Argument(
        help="Axes KEY=v1,v2 | KEY='range(5)' | KEY='linspace(a,b,n)' | KEY='logspace(a,b,n)'; "
             "the runs are their product. A single value is a plain override.", show_default=False)] = None,
    out: OutOption = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Sweep name (slug of the sweep folder and of the run names).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel worker processes (0 = one per CPU).", min=0)] = 1,
    executor: Annotated[str, typer.Option(help="local (this machine) | dask (an existing Dask cluster).")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.1:8786.",
                                                   envvar="DASK_SCHEDULER_ADDRESS")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Resume the sweep in this folder (its own config and axes).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the runs and their count; write nothing.")] = False,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="Write the sweep folder and plan.jsonl, run nothing "
                                                                "(then: optrun run-plan DIR --index I).")] = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failed run.")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw each run's figures (optrun plot can do it later).")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run a grid of experiments: the product of the axes, in parallel, resumable.

    Writes one sweep folder (sweep.yaml, plan.jsonl, runs/, summary.csv). Rerunning the same
    sweep skips the runs already done (same config hash) and reruns failed or interrupted ones.
    Exit 4 when some runs failed, 130 when interrupted.
    """
    import os

    from optrun import sweep as sweep_mod
    from optrun.control import StopFlag

    con = console(quiet)
    con.soft_wrap = True  # messages hold paths: never break them
    if resume is not None:
        if config is not None or axes:
            raise fail("give either CONFIG with axes, or --resume DIR (which reuses the folder's own config and axes)")
        sw = sweep_mod.load_sweep(resume)
    else:
        if config is None:
            raise fail("missing CONFIG (or --resume DIR); e.g. optrun sweep configs/x.yaml optimizer.lr=0.1,0.01")
        sw = sweep_mod.plan_sweep(config, axes or [], out=out, name=name)
    if executor not in ("local", "dask"):
        raise fail(f"--executor: expected local or dask, got {executor!r}")
    if executor == "dask" and not dry_run and not plan_only:
        from importlib.util import find_spec

        if find_spec("distributed") is None:
            raise fail("--executor dask needs the dask extra: pip install 'optrun[dask]'")
        if not address:
            raise fail("--executor dask needs --address tcp://HOST:PORT (or DASK_SCHEDULER_ADDRESS)")

    if dry_run:
        done = _done_hashes(sw) if (sw.dir / sweep_mod.PLAN_FILE).is_file() else set()
        if json_out:
            print_json({"sweep_dir": str(sw.dir), "total": len(sw.entries), "done": len(done & {e.config_hash for e in sw.entries}),
                        "runs": [{"index": e.index, "overrides": e.overrides, "name": e.name, "config_hash": e.config_hash,
                                  "done": e.config_hash in done} for e in sw.entries]})
        con.print(_dry_run_table(sw, done))
        con.print(f"{len(sw.entries)} runs ({len(done & {e.config_hash for e in sw.entries})} already done); dry run, nothing written")
        return

    sw = sweep_mod.write_sweep(sw)
    if plan_only:
        if json_out:
            print_json({"sweep_dir": str(sw.dir), "total": len(sw.entries),
                        "plan": str(sw.dir / sweep_mod.PLAN_FILE)})
        con.print(f"plan: {len(sw.entries)} runs in {sw.dir / sweep_mod.PLAN_FILE}\n"
                  f"run entry I (0..{len(sw.entries) - 1}) with: optrun run-plan {sw.dir} --index I")
        return

    todo = sweep_mod.pending_entries(sw)
    skipped = len(sw.entries) - len(todo)
    if skipped:
        con.print(f"resuming {sw.dir}: {skipped} of {len(sw.entries)} runs already done")
    jobs = jobs or (os.cpu_count() or 1)
    stop = StopFlag()
    with Signals(stop) as signals, _Reporter(len(todo), sw.varied_axes, quiet) as reporter:
        try:
            report = sweep_mod.execute(sw, todo, jobs=jobs, executor=executor, address=address, plots=plots,
                                       fail_fast=fail_fast, stop=stop, on_result=reporter.result)
        except KeyboardInterrupt:  # a second Ctrl-C: summary.csv was written on the way out
            reporter.__exit__()
            con.print(f"[yellow]interrupted[/]: stopped at once; rerun the same command to resume ({sw.dir})")
            raise typer.Exit(signals.exit_code) from None
    summary_path = sw.dir / sweep_mod.SUMMARY_FILE
    if json_out:
        print_json({**report.to_dict(), "summary_csv": str(summary_path), "runs": sweep_mod.summary_rows(sw)})
    _tally(report, con, summary_path)
    interrupted_by_user = stop.requested and signals.signum is not None
    if interrupted_by_user:
        con.print(f"[yellow]interrupted[/]: rerun the same command (or optrun sweep --resume {sw.dir}) to finish", soft_wrap=True)
        raise typer.Exit(signals.exit_code)
    if report.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@user_errors
def run_plan(
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep folder written by optrun sweep --plan-only.", show_default=False)],
    index: Annotated[Optional[int], typer.Option("--index", "-i", help="Plan entry to run (0-based); default: $SLURM_ARRAY_TASK_ID.",
                                                 envvar="SLURM_ARRAY_TASK_ID", show_default=False)] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the run's figures.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even when the entry is already done.")] = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run one entry of a sweep plan (for job arrays: sbatch --array, GNU parallel).

    Idempotent: an entry already done (a run folder with its config hash and a finished status)
    is skipped with exit 0. Exit 4 when the run failed, 130 when interrupted.
    """
    from optrun import sweep as sweep_mod
    from optrun.cli.train import result_table
    from optrun.control import StopFlag
    from optrun.rundir import read_summary

    con = console(quiet)
    con.soft_wrap = True
    sw = sweep_mod.load_sweep(sweep_dir)
    if index is None:
        raise fail(f"missing --index (0..{len(sw.entries) - 1}), or set SLURM_ARRAY_TASK_ID")
    if not 0 <= index < len(sw.entries):
        raise fail(f"--index {index}: the plan in {sweep_dir} has entries 0..{len(sw.entries) - 1}")
    entry = sw.entries[index]
    attempts = sweep_mod.attempts_by_hash(sw.runs_dir).get(entry.config_hash, [])
    if sweep_mod.is_done(attempts) and not force:
        run_dir, summary = sweep_mod.best_attempt(attempts)
        if json_out:
            print_json({**summary, "run_dir": str(run_dir), "skipped": True})
        con.print(f"#{index} already done ({summary.get('status')}): {run_dir}")
        return
    stop = StopFlag()
    t0 = time.perf_counter()
    with Signals(stop) as signals:
        try:
            outcome = sweep_mod.run_entry(sw, entry, plots=plots, stop=stop)
        except KeyboardInterrupt:  # a second Ctrl-C: nothing was moved into the sweep folder
            con.print(f"[yellow]interrupted[/]: #{index} stopped at once")
            raise typer.Exit(signals.exit_code) from None
    if outcome["status"] == "not_run":  # interrupted before training began: nothing written
        con.print(f"[yellow]interrupted[/]: #{index} stopped before it started; nothing was written")
        raise typer.Exit(signals.exit_code)
    run_dir = Path(outcome["run_dir"])
    summary = read_summary(run_dir)  # read back what was written
    if json_out:
        print_json({**summary, "run_dir": str(run_dir), "skipped": False})
    if outcome["status"] == "failed":
        con.print(f"[red]FAILED[/] #{index} {_label(entry, sw.varied_axes)}: {_esc(outcome.get('error'))} ({run_dir})", soft_wrap=True)
        raise typer.Exit(EXIT_SOME_FAILED)
    if "final_loss" in summary:
        con.print(result_table(summary, run_dir))
    else:
        con.print(f"#{index} {outcome['status']} in {time.perf_counter() - t0:.1f} s: {run_dir}")
    if outcome["status"] == "interrupted":
        raise typer.Exit(signals.exit_code)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("run-plan")(run_plan)

