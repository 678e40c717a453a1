"""What the commands show on stderr: the result table of a run, the ranking of a comparison, a
sweep's plan, progress and tally, and the run listing.

Every status is coloured by :data:`optrun.cli.common.STATUS_STYLE`. Commands import this module
inside their function and it imports rich inside its own, so `optrun --help` never loads either.
"""

from __future__ import annotations

import sys
from pathlib import Path

from optrun._text import fmt_value
from optrun.cli.common import console, styled


def fmt_num(v, digits: int = 6, none: str = "n/a", unit: str = "") -> str:
    """A number for a table cell: floats to ``digits`` significant digits, ``none`` for None."""
    if v is None:
        return none
    return f"{v:.{digits}g}{unit}" if isinstance(v, float) else f"{v}{unit}"


def esc(text) -> str:
    """``text`` with rich markup escaped (paths and values may hold ``[``)."""
    from rich.markup import escape

    return escape(str(text))


# --------------------------------------------------------------------------------------------
# One run (optrun train, optrun run-plan)


def result_table(summary: dict, run_dir: Path):
    """The short result table shown at the end of a run."""
    from rich.table import Table

    status = summary["status"]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    reason = str(summary.get("stop_reason", ""))
    if reason.startswith(status):  # "interrupted (SIGINT) at step 9", not "interrupted (interrupted ...)"
        reason = reason[len(status):].strip(" :")
    table.add_row("status", styled(status) + (f" ({reason})" if reason else ""))
    epochs = summary.get("epochs")
    table.add_row("steps", f"{summary.get('steps')} ({fmt_num(epochs)} epoch{'' if epochs == 1 else 's'})")
    table.add_row("final loss", fmt_num(summary.get("final_loss")))
    diagnostics = summary.get("diagnostics") or {}
    f_star, note = summary.get("f_star"), diagnostics.get("note")
    table.add_row("f*", fmt_num(f_star) + (f"  [dim]{note}[/]" if f_star is None and note else ""))
    subopt, rounding = summary.get("suboptimality"), diagnostics.get("f_star_rounding")
    if subopt is not None and rounding is not None and abs(subopt) <= rounding:
        table.add_row("f - f*", f"{fmt_num(subopt)}  [dim](0 within rounding, |f - f*| <= {rounding:.1g})[/]")
    else:
        table.add_row("f - f*", fmt_num(subopt))
    for key in ("r2", "accuracy", "val_loss"):
        if summary.get(key) is not None:
            table.add_row(key, fmt_num(summary[key]))
    for label, text in lecture_rows(summary):
        table.add_row(label, text)
    wall = summary.get("wall_time_s")
    table.add_row("wall time", f"{wall:.3f} s" if isinstance(wall, (int, float)) else "n/a")
    table.add_row("run folder", str(run_dir))
    return table


def lecture_rows(summary: dict) -> list[tuple[str, str]]:
    """The rows that say *why* on screen (DESIGN.md §9; issue 11 part 9): the problem, the
    parameters of a small problem next to θ*, the cause of a divergence, a minimum that does not
    exist, the constraints that bind with their multipliers, the support of an l1 solution."""
    rows: list[tuple[str, str]] = []
    diagnostics = summary.get("diagnostics") or {}
    if summary.get("target"):
        features = summary.get("features") or []
        shown = ", ".join(features[:6]) + (f", … ({len(features)} in all)" if len(features) > 6 else "")
        rows.append(("problem", f"predict {esc(summary['target'])} from {esc(shown) or 'an intercept only'}"))
    params, star = summary.get("params") or {}, summary.get("theta_star") or {}
    if 0 < len(params) <= 6:
        rows.append(("θ", ", ".join(f"{esc(k)} = {fmt_num(v)}" + (f" [dim](θ* {fmt_num(star[k])})[/]" if k in star else "")
                                   for k, v in params.items())))
    if summary.get("hint"):
        rows.append(("why", f"[yellow]{esc(summary['hint'])}[/]"))
    if diagnostics.get("status") in ("separable", "quasi_separated", "unbounded", "several minimizers") and diagnostics.get("note"):
        rows.append(("note", f"[dim]{esc(diagnostics['note'])}[/]"))
    binding = _binding_constraints(summary, list(params))
    if binding is not None:
        kkt = ((summary.get("kkt") or {}).get("final") or {})
        worst = max(kkt.values()) if kkt else None
        rows.append(("constraints", (binding or "none binds at θ*") + (f"; KKT residual at the end {fmt_num(worst)}" if worst is not None else "")))
    if summary.get("support") is not None:
        rows.append(("support", f"{len(summary['support'])} nonzero weight(s) at θ*: {esc(', '.join(summary['support'])) or 'none'}; "
                                f"l1_max = {fmt_num(summary.get('l1_max'))}; duality gap at the end {fmt_num(summary.get('duality_gap'))}"))
    return rows


def _binding_constraints(summary: dict, names: list[str]) -> str | None:
    """``"upper[w_x1] (λ = 0.53), norm (λ = 1.2)"``: the active constraints at θ* and their
    multipliers; None when the run has no constraints."""
    active, mult = summary.get("active"), summary.get("multipliers")
    if active is None or mult is None:
        return None if "kkt" not in summary else ""
    parts = []
    for kind in ("lower", "upper", "inequality"):
        for i, on in enumerate(active.get(kind) or []):
            if on:
                where = names[i] if kind != "inequality" and i < len(names) else str(i)
                parts.append(f"{kind}[{where}] (λ = {fmt_num((mult.get(kind) or [0])[i])})")
    if active.get("norm"):
        parts.append(f"norm (λ = {fmt_num(mult.get('norm'))})")
    for i, v in enumerate(mult.get("equality") or []):
        parts.append(f"equality[{i}] (ν = {fmt_num(v)})")
    return esc(", ".join(parts))


# --------------------------------------------------------------------------------------------
# A comparison (optrun compare)


def ranking_table(result):
    """The rich table of the ranked settings of a comparison."""
    from rich.table import Table

    unit = {"step": "steps", "epoch": "epochs", "samples": "samples", "time": "s"}[result.x]
    target = f"{result.target:.3g}" if result.target is not None else "n/a (no f*)"
    table = Table(title=f"{result.folder.name}\nranked by {unit} to reach f − f* ≤ {target}, then final f − f*",
                  title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("setting")
    table.add_column("runs", no_wrap=True)
    for head in (f"{unit} to target", "final f − f*", "final loss", "wall time"):
        table.add_column(head, justify="right")
    for s in result.settings:
        runs = ", ".join(styled(k, f"{n} {k}") for k, n in s["statuses"].items())
        reached = fmt_num(s["median_to_target"], 3, "—") + (f" ({s['reached_target']}/{s['runs']})" if s["runs"] > 1 else "")
        table.add_row(str(s["rank"]), s["label"], runs, reached, fmt_num(s["median_final_subopt"], 3, "—"),
                      fmt_num(s["median_final_loss"], 3, "—"), fmt_num(s["median_wall_time_s"], 3, "—", " s"))
    return table


# --------------------------------------------------------------------------------------------
# A sweep (optrun sweep, optrun run-plan)


def run_label(entry, axes: list[str]) -> str:
    """``optimizer.lr=0.1 seed=2``: the varied values of a sweep entry (its name if none)."""
    return esc(" ".join(f"{k}={fmt_value(entry.overrides[k], 4)}" for k in axes) or entry.name)


def dry_run_table(sweep, done: set[str]):
    """The runs a sweep would make, one row per entry, with its state (done or pending)."""
    from rich.table import Table

    table = Table(title=f"{len(sweep.entries)} runs -> {sweep.dir}", title_justify="left")
    table.add_column("#", justify="right")
    for k in sweep.axes:
        table.add_column(k)
    table.add_column("config_hash")
    table.add_column("state")
    for e in sweep.entries:
        state = "[green]done[/]" if e.config_hash in done else "pending"
        table.add_row(str(e.index), *(fmt_value(e.overrides[k], 4) for k in sweep.axes), e.config_hash, state)
    return table


def tally_line(report, summary_path: Path) -> str:
    """``sweep: 9 runs: 7 completed, 2 diverged in 3.1 s -> .../summary.csv``."""
    counts = report.to_dict()["counts"]
    order = ["completed", "converged", "diverged", "interrupted", "failed"]
    parts = [styled(s, f"{counts[s]} {s}") for s in order if counts.get(s)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
    if report.skipped:
        parts.append(f"{report.skipped} already done")
    if report.not_run:
        parts.append(f"[yellow]{report.not_run} not run[/]")
    return (f"sweep: {report.total} runs: " + ", ".join(parts or ["nothing to do"])
            + f" in {report.wall_time_s:.1f} s -> {summary_path}")


class SweepReporter:
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
        """One finished run (the ``on_result`` callback of :func:`optrun.sweep.execute`)."""
        self.done += 1
        status = outcome["status"]
        head = f"[{self.done:>{len(str(self.total))}}/{self.total}]"
        label = run_label(entry, self.axes)
        if status == "failed":
            self.con.print(f"{head} [red]FAILED[/] #{entry.index} {label}: {esc(outcome.get('error') or 'see the run folder')}",
                           soft_wrap=True)
        elif self.bar is None:
            wall = outcome.get("wall_time_s")
            self.con.print(f"{head} #{entry.index} {label}: {styled(status)} loss {fmt_num(outcome.get('final_loss'), 4)}"
                           + (f" ({wall:.2f} s)" if isinstance(wall, (int, float)) else ""), soft_wrap=True)
        if outcome.get("warning"):
            self.con.print(f"[yellow]warning[/]: #{entry.index}: {esc(outcome['warning'])}", soft_wrap=True)
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.bar is not None:
            tally = " ".join(styled(k, f"{n} {k}") for k, n in sorted(self.counts.items()))
            self.bar.update(self.task, advance=1, tally=tally)


# --------------------------------------------------------------------------------------------
# The run listing (optrun runs)

_NUMERIC = {"steps", "final_loss", "suboptimality", "wall_time_s"}
_FOLDED = ("run", "name")  # long names fold onto several lines; other cells are cut with an ellipsis


def listing_table(listing, directory: Path):
    """The table of ``optrun runs``: one row per run folder, statuses coloured."""
    from rich.table import Table

    table = Table(title=f"{len(listing.rows)} runs in {directory}", title_justify="left")
    for c in listing.columns:
        table.add_column(c, justify="right" if c in _NUMERIC else "left",
                         overflow="fold" if c in _FOLDED else "ellipsis", no_wrap=c not in _FOLDED)
    for r in listing.rows:
        table.add_row(*(_listing_cell(c, r.get(c)) for c in listing.columns))
    return table


def _listing_cell(column: str, v) -> str:
    text = f"{v:.3g}" if column == "wall_time_s" and isinstance(v, float) else fmt_value(v, 6)
    if column == "status" and text:
        return styled(text)
    return text.replace("[", "\\[")
