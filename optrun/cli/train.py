"""``optrun train CONFIG [KEY=VALUE ...]``: one run into a fresh run folder."""

# no `from __future__ import annotations`: Typer reads the real annotation objects instead of
# eval()-ing strings, which halves the cost of building the CLI for every command (--help)

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from optrun.cli.plot import (
    DpiOption, FiguresOption, FontScaleOption, FramesOption, NoSubtitleOption, SizeOption, StyleOption, TitleOption, figure_options,
)

from optrun.cli.common import (
    EXIT_DIVERGED, EXIT_SIGINT, FIGURE_FORMATS, JsonOption, NoteOption, OutOption, QuietOption, ReportOption,
    Signals, TagOption, check_choice, console, fail, print_json, user_errors,
)


class _Progress:
    """A rich progress bar on a terminal, created on the first report (when the total is known)
    and only for runs long enough to need one."""

    MIN_STEPS = 2000

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __call__(self, step: int, total: int) -> None:
        if not self.enabled or total < self.MIN_STEPS or (step % max(1, total // 200) and step != total):
            return
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("training", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                console=console(), transient=True)
            self.task = self.bar.add_task("train", total=total)
            self.bar.start()
        self.bar.update(self.task, completed=step)

    def close(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.stop()


@user_errors
def train(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.", show_default=False)],
    overrides: Annotated[Optional[list[str]], typer.Argument(help="KEY=VALUE overrides with dotted keys, e.g. optimizer.lr=0.1", show_default=False)] = None,
    out: OutOption = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Run name (slug in the folder name).")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip drawing figures.")] = False,
    plot_format: Annotated[str, typer.Option("--format", help="Figure format: png | svg.")] = "png",
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 3 when the run diverges.")] = False,
    report: ReportOption = False,
    note: NoteOption = None,
    tag: TagOption = None,
    # the figure options of every drawing command (docs/plots.md)
    style: StyleOption = None, title: TitleOption = None, no_subtitle: NoSubtitleOption = False,
    font_scale: FontScaleOption = None, size: SizeOption = None, dpi: DpiOption = None, frames: FramesOption = 0,
    figures: FiguresOption = None,
):
    """Train one experiment and write its run folder (config.yaml, trace.csv, summary.json, plots/)."""
    from optrun import api

    check_choice(plot_format, FIGURE_FORMATS, "--format")
    flags = {"style": style, "title": title, "subtitle": False if no_subtitle else None, "font_scale": font_scale,
             "size": size, "dpi": dpi, "frames": frames or None, "figures": figures}
    flags = {k: v for k, v in flags.items() if v is not None}
    if flags:
        figure_options(style, title, no_subtitle, font_scale, size, dpi, plot_format, frames, figures=figures)  # usage errors now
    run_and_show(
        lambda stop, progress: api.train(config, overrides=overrides, out=out, plots=not no_plots, name=name,
                                         stop=stop, progress=progress, plot_format=plot_format,
                                         note=note, tags=tag or (), figure=flags or None),
        quiet=quiet, json_out=json_out, strict=strict, report=report,
        notes=_replaced_sections(config, overrides, quiet),
    )


def _replaced_sections(config: Path, overrides, quiet: bool) -> list[str]:
    """``optimizer=adam`` drops the config's lr: the notes that say so (shown with the result, so a
    run that fails still gets its one error line)."""
    if quiet or not overrides:
        return []
    from optrun import config as config_mod
    from optrun.errors import OptrunError

    try:
        return config_mod.replaced_settings(config_mod.read_config_file(config), overrides)
    except OptrunError:
        return []  # the run itself reports the error, located


def run_and_show(call, *, quiet: bool, json_out: bool, strict: bool = False, report: bool = False,
                 notes: list[str] = ()):
    """Run ``call(stop, progress) -> RunResult`` under the CLI's signal handling, then show the
    result table (stderr) or the JSON summary (stdout), write the report page on request, and
    exit with the run's code (130/143 interrupted, 3 diverged with ``strict``). Shared by
    ``train`` and ``rerun``; returns the result when the command goes on."""
    from optrun.cli.render import result_table
    from optrun.control import StopFlag

    con = console(quiet)
    stop = StopFlag()
    progress = _Progress(enabled=sys.stderr.isatty() and not quiet)
    with Signals(stop) as signals:
        try:
            result = call(stop, progress)
        except KeyboardInterrupt as exc:
            # a second Ctrl-C (or one before training began): stop at once, one line, 130/143
            progress.close()
            message = getattr(exc, "message", None) or "stopped at once"
            raise fail(message, signals.exit_code if signals.signum else EXIT_SIGINT, prefix="interrupted") from None
        finally:
            progress.close()
    summary = result.summary
    if report:
        from optrun.report import write_report

        summary = {**summary, "report": str(write_report(result.run_dir))}
    if json_out:
        print_json({**summary, "run_dir": str(result.run_dir)})
    con.print(result_table(summary, result.run_dir))
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    if summary.get("report"):
        con.print(f"report: {summary['report']}")
    if summary.get("plots_error") and not quiet:
        sys.stderr.write(f"warning: plots failed ({summary['plots_error']}); the run is complete, "
                         f"see {result.run_dir / 'plots_error.txt'}\n")
    if summary["status"] == "interrupted":
        raise typer.Exit(signals.exit_code)
    if signals.signum:  # the signal came after training, while the figures were drawn
        if not quiet:
            sys.stderr.write(f"interrupted while drawing the figures: the run is complete in {result.run_dir}; "
                             f"`optrun plot {result.run_dir}` redraws them\n")
        raise typer.Exit(signals.exit_code)
    if strict and summary["status"] == "diverged":
        raise typer.Exit(EXIT_DIVERGED)
    return result
