"""Executing a sweep: its pending entries through :func:`optrun.executors.run_all`, then
``summary.csv``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from optrun.executors import run_all
from optrun.sweep.plan import Entry, Sweep, pending_entries
from optrun.sweep.staging import _payload, train_entry
from optrun.sweep.summary import write_summary


@dataclass
class Report:
    """What a sweep execution did."""

    sweep_dir: Path
    total: int
    skipped: int = 0
    outcomes: list[dict] = field(default_factory=list)
    interrupted: bool = False
    wall_time_s: float = 0.0
    elsewhere: list[dict] = field(default_factory=list)  # entries another process holds or did

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o["status"] == status)

    @property
    def failed(self) -> list[dict]:
        return [o for o in self.outcomes if o["status"] == "failed"]

    @property
    def not_run(self) -> int:
        return self.total - self.skipped - len(self.outcomes) - len(self.elsewhere)

    def to_dict(self) -> dict:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return {"sweep_dir": str(self.sweep_dir), "total": self.total, "skipped": self.skipped,
                "ran": len(self.outcomes), "not_run": self.not_run, "counts": counts,
                "failed": len(self.failed), "interrupted": self.interrupted, "wall_time_s": self.wall_time_s}


def execute(sweep: Sweep, entries: list[Entry] | None = None, jobs: int = 1, executor: str = "local",
            address: str | Any = None, plots: bool = False, fail_fast: bool = False, stop=None,
            on_start: Callable[[Entry], None] | None = None,
            on_result: Callable[[Entry, dict], None] | None = None, vectorize: bool = False,
            labels: dict | None = None) -> Report:
    """Run the sweep's pending entries (or ``entries``) and write ``summary.csv``.

    ``stop`` is a flag object with ``requested``/``request(reason)`` (an
    :class:`optrun.control.StopFlag`): once requested, no more work is handed out; runs in
    progress stop after their current step and are marked interrupted (Dask runs in progress are
    abandoned). ``on_result(entry, outcome)`` is called as each run finishes, in completion order.
    ``address`` is a scheduler address or a ``distributed.Client``. ``vectorize``: runs that
    differ only in optimizer numbers or seed train as one stack (:mod:`optrun.vectorized`).
    ``labels`` (``{"note", "tags"}``, see :func:`optrun.api.run_labels`) go into every run's
    summary; by default the sweep's own (``sweep.yaml``'s ``labels``).
    """
    from optrun.control import StopFlag
    from optrun.data.formats import shared_reads
    from optrun.executors import clean_stale_staging

    t0 = time.perf_counter()
    clean_stale_staging(sweep.runs_dir)  # what runs killed halfway left behind
    existing = set(_folder_names(sweep.runs_dir))
    todo = pending_entries(sweep) if entries is None else list(entries)
    report = Report(sweep.dir, total=len(sweep.entries), skipped=len(sweep.entries) - len(todo))
    stop = stop if stop is not None else StopFlag()  # Ctrl-C, SIGTERM, --fail-fast
    by_index = {e.index: e for e in todo}
    payloads = {e.index: _payload(sweep, e, plots, labels=labels) for e in todo}
    started: dict[int, dict] = {}  # handed out, no outcome yet (lost if we must leave at once)

    def started_hook(p: dict) -> None:
        started[p["index"]] = p
        if on_start:
            on_start(by_index[p["index"]])

    try:
        with shared_reads():  # the runs of this process parse a data file once
            for outcome in _outcomes(sweep, list(payloads.values()), vectorize, stop, started_hook,
                                     jobs=jobs, executor=executor, address=address):
                started.pop(outcome["index"], None)
                entry = _file_outcome(sweep, report, outcome, by_index, payloads, existing)
                if entry is None:
                    continue
                if on_result:
                    on_result(entry, outcome)
                if fail_fast and outcome["status"] == "failed" and not stop.requested:
                    stop.request("stopped: a run failed (--fail-fast)")
    except BaseException:  # leaving at once (a second Ctrl-C): the runs in flight are lost
        for payload in started.values():
            try:
                _record_lost(sweep, payload, {"status": "interrupted",
                                              "stop_reason": "interrupted: stopped at once (second interrupt)"},
                             existing)
            except Exception:  # pragma: no cover - best effort on the way out
                pass
        raise
    finally:
        report.interrupted = bool(stop.requested) or report.not_run > 0
        report.wall_time_s = time.perf_counter() - t0
        write_summary(sweep)
    return report


def _outcomes(sweep: Sweep, payloads: list[dict], vectorize: bool, stop, on_start, **executor) -> Iterable[dict]:
    """The payloads' outcomes as they come: stacked (:mod:`optrun.vectorized`) with ``vectorize``,
    else through :func:`optrun.executors.run_all` (``jobs``, ``executor``, ``address``)."""
    if vectorize:
        return _stacked(sweep, payloads, stop)
    return run_all(payloads, train_entry, into=sweep.runs_dir, stop=stop, on_start=on_start, **executor)


def _stacked(sweep: Sweep, payloads: list[dict], stop) -> list[dict]:
    """``--vectorize``: the payloads trained as stacks (:func:`optrun.vectorized.run_payloads`),
    exactly once as :func:`~optrun.sweep.staging.train_entry` runs them: every entry's claim is
    taken before any stack starts (an entry another process holds or has done is skipped), and
    marked done or released with its outcome, also when the stacks are stopped or fail."""
    from optrun import api, vectorized
    from optrun.executors import run_one, staging
    from optrun.sweep import claims
    from optrun.sweep.plan import DONE_STATUSES

    skipped, held, mine = [], {}, []
    for p in payloads:
        claim = claims.acquire(sweep.runs_dir / claims.CLAIMS, p["config_hash"], sweep.runs_dir,
                               force=p.get("force", False))
        if isinstance(claim, str):
            skipped.append({"index": p["index"], "status": "skipped", "stop_reason": claim, "run_dir": None})
        else:
            held[p["index"]] = claim
            mine.append({**p, "runs_dir": None})  # claimed here: a run that falls back must not claim again

    def settle(outcome: dict) -> None:  # as each run's folder is in place, not when all stacks end
        claim = held.pop(outcome["index"], None)
        if claim is None:
            return
        if outcome["status"] in DONE_STATUSES and outcome.get("run_dir"):
            claim.done(Path(outcome["run_dir"]).name)
        else:
            claim.release()

    try:
        outcomes = vectorized.run_payloads(mine, sweep.runs_dir, api=api, staging=staging, stop=stop,
                                           fallback=lambda p: run_one(train_entry, p, sweep.runs_dir, stop),
                                           on_outcome=settle)
    finally:
        for claim in held.values():  # no outcome: stopped at once, or a stack failed on the way out
            claim.release()
    return skipped + outcomes


def _file_outcome(sweep: Sweep, report: Report, outcome: dict, by_index: dict[int, Entry], payloads: dict,
                  existing: set[str]) -> Entry | None:
    """Put one outcome into ``report``; returns its entry, or None for an outcome that is not a
    run of this execution (not run: stopped before it began; skipped: another process's)."""
    if outcome["status"] == "not_run":  # stopped before it began: nothing was written
        return None
    if outcome["status"] == "skipped":  # another process holds or did it
        report.elsewhere.append(outcome)
        return None
    if outcome.get("lost") and outcome.get("run_dir") is None:  # its worker died
        outcome["run_dir"] = str(_record_lost(sweep, payloads[outcome["index"]], outcome, existing))
    entry = by_index[outcome["index"]]
    _check_hash(entry, outcome)
    report.outcomes.append(outcome)
    return entry


def _folder_names(runs_dir: Path) -> list[str]:
    try:
        return [p.name for p in Path(runs_dir).iterdir() if not p.name.startswith(".")]
    except OSError:
        return []


def _record_lost(sweep: Sweep, payload: dict, outcome: dict, existing: set[str]) -> Path | None:
    """A folder saying a run was lost (failed/interrupted), unless its own folder made it in
    during this execution (its outcome was on the way when we had to leave)."""
    from optrun.sweep.claims import CLAIMS
    from optrun.sweep.plan import attempts_by_hash
    from optrun.sweep.staging import lost_folder

    mine = attempts_by_hash(sweep.runs_dir).get(payload["config_hash"], [])
    new = [path for path, _ in mine if path.name not in existing]
    if new:
        return new[-1]
    try:  # the dead process cannot release its claim
        claim = sweep.runs_dir / CLAIMS / payload["config_hash"]
        import json

        if "done" not in json.loads(claim.read_text()):
            claim.unlink()
    except (OSError, ValueError, TypeError):
        pass
    return lost_folder(payload, sweep.runs_dir, outcome["status"], outcome.get("stop_reason") or "lost")


def _check_hash(entry: Entry, outcome: dict) -> None:
    """Warn when a run's config hash is not the plan's: resume would not recognise it."""
    if outcome["status"] != "failed" and outcome.get("config_hash") not in (None, entry.config_hash):
        outcome["warning"] = (f"config_hash {outcome['config_hash']} differs from the plan's "
                              f"{entry.config_hash} (another optrun version?); resume will rerun it")
