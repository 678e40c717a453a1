"""``optrun sweep CONFIG KEY=v1,v2 KEY='logspace(-4,0,9)' [-j N]`` and ``optrun run-plan DIR
--index I | --shard k/n | --range a:b [-j N]``."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.common import (
    EXIT_SOME_FAILED, JsonOption, NoteOption, OutOption, QuietOption, ReportOption, Signals, TagOption, check_choice,
    console, fail, print_json, user_errors,
)

EXECUTORS = ("local", "dask")


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
    vectorize: Annotated[bool, typer.Option("--vectorize", help="Train runs that differ only in optimizer numbers "
                                                                "or seed as one stacked program (one process).")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw each run's figures (optrun plot can do it later).")] = False,
    note: NoteOption = None,
    tag: TagOption = None,
    report: ReportOption = False,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run a grid of experiments: the product of the axes, in parallel, resumable.

    Writes one sweep folder (sweep.yaml, plan.jsonl, runs/, summary.csv). Rerunning the same
    sweep skips the runs already done (same config hash) and reruns failed or interrupted ones.
    --note/--tag label every run (and are kept in sweep.yaml for run-plan). Exit 4 when some
    runs failed, 130 when interrupted.
    """
    from optrun import sweep as sweep_mod
    from optrun.api import run_labels

    con = console(quiet)
    con.soft_wrap = True  # messages hold paths: never break them
    labels = run_labels(note, tag)  # checked before anything is written
    if report and (dry_run or plan_only):
        raise fail("--report: nothing runs with --dry-run or --plan-only (optrun report DIR after the runs)")
    if vectorize and plan_only:
        raise fail("--vectorize: nothing runs with --plan-only (optrun run-plan runs the entries one by one)")
    if vectorize and (jobs != 1 or executor != "local"):
        raise fail("--vectorize trains the stacks in this process: drop -j/--jobs and --executor")
    sw = _the_sweep(config, axes, resume, out, name)
    if labels and resume is None:
        sw.spec["labels"] = labels  # sweep.yaml keeps them for run-plan (a new folder only)
    check_choice(executor, EXECUTORS, "--executor")
    if executor == "dask" and not dry_run and not plan_only:
        _check_dask(address)
    if dry_run:
        return _show_dry_run(sw, con, json_out)
    sw = sweep_mod.write_sweep(sw)
    if plan_only:
        if json_out:
            print_json({"sweep_dir": str(sw.dir), "total": len(sw.entries),
                        "plan": str(sw.dir / sweep_mod.PLAN_FILE)})
        con.print(f"plan: {len(sw.entries)} runs in {sw.dir / sweep_mod.PLAN_FILE}\n"
                  f"run entry I (0..{len(sw.entries) - 1}) with: optrun run-plan {sw.dir} --index I")
        return
    _run_sweep(sw, con, quiet, json_out, jobs=jobs, executor=executor, address=address, plots=plots,
               fail_fast=fail_fast, vectorize=vectorize, labels=labels or None, write_report=report)


def _the_sweep(config, axes, resume, out, name):
    """The sweep to run: planned from CONFIG and the axes, or read back from ``--resume DIR``."""
    from optrun import sweep as sweep_mod

    if resume is not None:
        if config is not None or axes:
            raise fail("give either CONFIG with axes, or --resume DIR (which reuses the folder's own config and axes)")
        return sweep_mod.load_sweep(resume)
    if config is None:
        raise fail("missing CONFIG (or --resume DIR); e.g. optrun sweep configs/x.yaml optimizer.lr=0.1,0.01")
    return sweep_mod.plan_sweep(config, axes or [], out=out, name=name)


def _check_dask(address: str | None) -> None:
    from importlib.util import find_spec

    if find_spec("distributed") is None:
        raise fail("--executor dask needs the dask extra: pip install 'optrun[dask]'")
    if not address:
        raise fail("--executor dask needs --address tcp://HOST:PORT (or DASK_SCHEDULER_ADDRESS)")


def _show_dry_run(sw, con, json_out: bool) -> None:
    """``--dry-run``: the runs and which of them are already done; nothing is written."""
    from optrun import sweep as sweep_mod
    from optrun.cli.render import dry_run_table

    done = _done_hashes(sw) if (sw.dir / sweep_mod.PLAN_FILE).is_file() else set()
    n_done = len(done & {e.config_hash for e in sw.entries})
    if json_out:
        print_json({"sweep_dir": str(sw.dir), "total": len(sw.entries), "done": n_done,
                    "runs": [{"index": e.index, "overrides": e.overrides, "name": e.name, "config_hash": e.config_hash,
                              "done": e.config_hash in done} for e in sw.entries]})
    con.print(dry_run_table(sw, done))
    con.print(f"{len(sw.entries)} runs ({n_done} already done); dry run, nothing written")


def _done_hashes(sweep) -> set[str]:
    from optrun.sweep import attempts_by_hash, is_done

    found = attempts_by_hash(sweep.runs_dir)
    return {h for h, a in found.items() if is_done(a)}


def _run_sweep(sw, con, quiet: bool, json_out: bool, jobs: int, write_report: bool = False, **options) -> None:
    """Run the pending entries with progress on stderr; exit 130/143 when interrupted, 4 when
    some runs failed. ``write_report``: ``report.html`` in the sweep folder at the end."""
    import os

    from optrun import sweep as sweep_mod
    from optrun.cli.render import SweepReporter, esc, tally_line
    from optrun.control import StopFlag

    todo = sweep_mod.pending_entries(sw)
    skipped = len(sw.entries) - len(todo)
    if skipped:
        con.print(f"resuming {sw.dir}: {skipped} of {len(sw.entries)} runs already done")
    stop = StopFlag()
    with Signals(stop) as signals, SweepReporter(len(todo), sw.varied_axes, quiet) as reporter:
        try:
            report = sweep_mod.execute(sw, todo, jobs=jobs or (os.cpu_count() or 1), stop=stop,
                                       on_result=reporter.result, **options)
        except KeyboardInterrupt:  # a second Ctrl-C: summary.csv was written on the way out
            reporter.__exit__()
            con.print(f"[yellow]interrupted[/]: stopped at once; rerun the same command to resume ({sw.dir})")
            raise typer.Exit(signals.exit_code) from None
    summary_path = sw.dir / sweep_mod.SUMMARY_FILE
    page = _write_report(sw.dir) if write_report else None
    if json_out:
        print_json({**report.to_dict(), "summary_csv": str(summary_path), "runs": sweep_mod.summary_rows(sw),
                    **({"report": str(page)} if page else {})})
    con.print(tally_line(report, summary_path), soft_wrap=True)
    if page:
        con.print(f"report: {page}", soft_wrap=True)
    if report.elsewhere:
        con.print(f"{len(report.elsewhere)} runs were left to another process running this sweep "
                  f"({esc(report.elsewhere[0].get('stop_reason'))}, ...)", soft_wrap=True)
    if stop.requested and signals.signum is not None:  # interrupted by the user
        con.print(f"[yellow]interrupted[/]: rerun the same command (or optrun sweep --resume {sw.dir}) to finish", soft_wrap=True)
        raise typer.Exit(signals.exit_code)
    if report.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _write_report(folder: Path) -> Path:
    from optrun.report import write_report

    return write_report(folder)


@user_errors
def run_plan(
    ctx: typer.Context,
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep folder written by optrun sweep --plan-only.", show_default=False)],
    index: Annotated[Optional[int], typer.Option("--index", "-i", help="Plan entry to run (0-based); default: $SLURM_ARRAY_TASK_ID.",
                                                 envvar="SLURM_ARRAY_TASK_ID", show_default=False)] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", help="Run entries k, k+n, k+2n, ... (0-based), e.g. "
                                                 "--shard $SLURM_ARRAY_TASK_ID/4.", show_default=False)] = None,
    span: Annotated[Optional[str], typer.Option("--range", help="Run entries a <= i < b (0-based, half-open), e.g. --range 0:100.",
                                                show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="With --shard/--range: parallel worker processes inside this "
                                                           "allocation (0 = one per CPU).", min=0)] = 1,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the run's figures.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even when the entry is already done (--index only).")] = False,
    note: NoteOption = None,
    tag: TagOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
):
    """Run one entry (--index), or many (--shard k/n, --range a:b, with -j N), of a sweep plan:
    for job arrays (sbatch --array, GNU parallel).

    Idempotent: entries already done (a run folder with their config hash and a finished status)
    or held by another process (a claim in runs/.claims) are skipped. The runs are labelled with
    the sweep's --note/--tag unless given here. Exit 4 when a run failed, 130 when interrupted.
    """
    from optrun import sweep as sweep_mod
    from optrun.api import run_labels

    labels = run_labels(note, tag) if (note is not None or tag) else None
    if shard is not None or span is not None:
        _check_selection(ctx, index, shard, span, force)
        sw = sweep_mod.load_sweep(sweep_dir)
        return _run_selection(sw, shard, span, jobs, plots, labels, json_out, quiet)
    return _run_index(sweep_dir, index, plots, force, labels, json_out, quiet)


def _check_selection(ctx: typer.Context, index: int | None, shard: str | None, span: str | None, force: bool) -> None:
    """``--shard k/n`` or ``--range a:b``: usage errors (exit 2) before the folder is read."""
    from optrun import sweep as sweep_mod

    if shard is not None and span is not None:
        raise fail("give --shard k/n or --range a:b, not both")
    # $SLURM_ARRAY_TASK_ID fills --index in every array task: only a typed --index conflicts
    from_env = getattr(ctx.get_parameter_source("index"), "name", None) == "ENVIRONMENT"
    if index is not None and not from_env:
        raise fail("give --index I, or --shard k/n / --range a:b, not both")
    if force:
        raise fail("--force works with --index only (rerun one entry on purpose)")
    if shard is not None:
        sweep_mod.parse_shard(shard)  # a bad k/n is a usage error before the folder is read


def _run_index(sweep_dir: Path, index: int | None, plots: bool, force: bool, labels: dict | None,
               json_out: bool, quiet: bool) -> None:
    """``run-plan --index I``: one entry (skipped when done, unless ``force``), its result table;
    exit 4 when it failed, 130/143 when interrupted."""
    from optrun import sweep as sweep_mod
    from optrun.cli.render import esc, result_table, run_label
    from optrun.control import StopFlag
    from optrun.rundir import read_summary

    con = console(quiet)
    con.soft_wrap = True
    sw = sweep_mod.load_sweep(sweep_dir)
    if index is None:
        raise fail(f"missing --index (0..{len(sw.entries) - 1}), --shard k/n or --range a:b (or set SLURM_ARRAY_TASK_ID)")
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
            outcome = sweep_mod.run_entry(sw, entry, plots=plots, stop=stop, force=force, labels=labels)
        except KeyboardInterrupt:  # a second Ctrl-C: nothing was moved into the sweep folder
            con.print(f"[yellow]interrupted[/]: #{index} stopped at once")
            raise typer.Exit(signals.exit_code) from None
    if outcome["status"] == "skipped":  # another task holds this entry, or finished it meanwhile
        if json_out:
            print_json({"index": index, "status": "skipped", "reason": outcome.get("stop_reason"), "skipped": True})
        con.print(f"#{index} skipped: {esc(outcome.get('stop_reason'))}")
        return
    if outcome["status"] == "not_run":  # interrupted before training began: nothing written
        con.print(f"[yellow]interrupted[/]: #{index} stopped before it started; nothing was written")
        raise typer.Exit(signals.exit_code)
    run_dir = Path(outcome["run_dir"])
    summary = read_summary(run_dir)  # read back what was written
    if json_out:
        print_json({**summary, "run_dir": str(run_dir), "skipped": False})
    if outcome["status"] == "failed":
        con.print(f"[red]FAILED[/] #{index} {run_label(entry, sw.varied_axes)}: {esc(outcome.get('error'))} ({run_dir})", soft_wrap=True)
        raise typer.Exit(EXIT_SOME_FAILED)
    if "final_loss" in summary:
        con.print(result_table(summary, run_dir))
    else:
        con.print(f"#{index} {outcome['status']} in {time.perf_counter() - t0:.1f} s: {run_dir}")
    if outcome["status"] == "interrupted":
        raise typer.Exit(signals.exit_code)


def _run_selection(sw, shard: str | None, span: str | None, jobs: int, plots: bool, labels: dict | None,
                   json_out: bool, quiet: bool) -> None:
    """``run-plan --shard k/n`` / ``--range a:b``: the selected entries with ``jobs`` processes,
    progress on stderr, a tally; exit 130/143 when interrupted, 4 when some runs failed."""
    import os

    from optrun import sweep as sweep_mod
    from optrun.cli.render import SweepReporter, esc, tally_line
    from optrun.control import StopFlag

    con = console(quiet)
    con.soft_wrap = True
    n = len(sw.entries)
    k_n = sweep_mod.parse_shard(shard) if shard is not None else None
    a_b = sweep_mod.parse_range(span, n) if span is not None else None
    what = f"--shard {k_n[0]}/{k_n[1]}" if k_n else f"--range {a_b[0]}:{a_b[1]}"
    selected = sweep_mod.select(sw.entries, k_n, a_b)
    todo, done, held = sweep_mod.to_run(sw, selected)
    con.print(f"run-plan {what}: {len(selected)} of {n} entries; {len(done)} already done, "
              f"{len(held)} held by another process, {len(todo)} to run")
    stop = StopFlag()
    with Signals(stop) as signals, SweepReporter(len(todo), sw.varied_axes, quiet) as reporter:
        try:
            report = sweep_mod.run_selection(sw, k_n, a_b, jobs=jobs or (os.cpu_count() or 1), plots=plots,
                                             stop=stop, on_result=reporter.result, labels=labels,
                                             split=(todo, done, held))
        except KeyboardInterrupt:  # a second Ctrl-C: summary.csv was written on the way out
            reporter.__exit__()
            con.print(f"[yellow]interrupted[/]: stopped at once; rerun the same command to resume ({sw.dir})")
            raise typer.Exit(signals.exit_code) from None
    summary_path = sw.dir / sweep_mod.SUMMARY_FILE
    if json_out:
        print_json({**report.to_dict(), "selection": what, "indices": [e.index for e in selected],
                    "held": [{"index": o["index"], "reason": o.get("stop_reason")} for o in report.elsewhere],
                    "summary_csv": str(summary_path)})
    con.print(tally_line(report, summary_path).replace("sweep:", f"run-plan {what}:", 1), soft_wrap=True)
    if report.elsewhere:
        con.print(f"{len(report.elsewhere)} entries were left to another process "
                  f"({esc(report.elsewhere[0].get('stop_reason'))}, ...)", soft_wrap=True)
    if stop.requested and signals.signum is not None:
        con.print(f"[yellow]interrupted[/]: rerun the same command to finish {what}", soft_wrap=True)
        raise typer.Exit(signals.exit_code)
    if report.failed:
        raise typer.Exit(EXIT_SOME_FAILED)
