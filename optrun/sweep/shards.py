"""Packing many small runs into one allocation: a *shard* or a *range* of a sweep plan.

``optrun run-plan DIR --shard k/n`` runs the plan entries ``k, k+n, k+2n, ...`` (0-based), and
``--range a:b`` the entries ``a <= i < b`` (half-open, like a Python slice; ``b`` past the end
means "to the end", ``a:`` and ``:b`` are allowed). Shard ``k`` of ``n`` for ``k = 0..n-1`` is a
partition of the plan: every entry in exactly one shard, shards of equal size to within one
entry. Striding (rather than cutting the plan into blocks) spreads every axis over all shards,
so a slow corner of the grid (large ``train.steps`` last) does not land in one task.

Before dispatch, :func:`to_run` drops the entries already done (a finished run folder with the
entry's config hash) and those another process holds (a live claim in ``runs/.claims``, see
:mod:`optrun.sweep.claims`); the claim taken at run time still decides, so two shards that
overlap (a resubmitted array task) never run an entry twice.
"""

from __future__ import annotations

import re
from typing import Callable

from optrun.errors import OptrunError
from optrun.sweep.plan import Entry, Sweep, attempts_by_hash, is_done
from optrun.sweep.runner import Report

_INT = r"\s*(\d{1,9})\s*"


def parse_shard(text: str) -> tuple[int, int]:
    """``"k/n"`` -> ``(k, n)`` with ``n >= 1`` and ``0 <= k < n``; OptrunError otherwise."""
    m = re.fullmatch(_INT + "/" + _INT, str(text))
    if not m:
        raise OptrunError(f"--shard {text!r}: expected k/n, two whole numbers with 0 <= k < n (e.g. --shard 0/4)")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise OptrunError(f"--shard {text}: n (the number of shards) must be at least 1")
    if k >= n:
        raise OptrunError(f"--shard {text}: k must be 0..{n - 1} (shards are numbered from 0: 0/{n} .. {n - 1}/{n})")
    return k, n


def parse_range(text: str, total: int) -> tuple[int, int]:
    """``"a:b"`` -> ``(a, min(b, total))``: half-open, ``a <= b``, ``a`` inside the plan
    (``a:`` is ``a:total``, ``:b`` is ``0:b``); OptrunError otherwise."""
    m = re.fullmatch(r"\s*(\d{1,9})?\s*:\s*(\d{1,9})?\s*", str(text))
    if not m:
        raise OptrunError(f"--range {text!r}: expected a:b, entries a <= i < b (0-based, e.g. --range 0:100)")
    a = int(m.group(1)) if m.group(1) is not None else 0
    b = int(m.group(2)) if m.group(2) is not None else total
    if a > b:
        raise OptrunError(f"--range {text}: a must not exceed b (entries a <= i < b)")
    if a >= total and a != b:
        raise OptrunError(f"--range {text}: the plan has entries 0..{total - 1}")
    return a, min(b, total)


def select(entries: list[Entry], shard: tuple[int, int] | None = None,
           span: tuple[int, int] | None = None) -> list[Entry]:
    """The entries of a shard ``(k, n)`` (indices ``i % n == k``) or a span ``(a, b)``
    (``a <= i < b``), in plan order."""
    if shard is not None:
        k, n = shard
        return [e for e in entries if e.index % n == k]
    if span is not None:
        a, b = span
        return [e for e in entries if a <= e.index < b]
    return list(entries)


def to_run(sweep: Sweep, entries: list[Entry]) -> tuple[list[Entry], list[Entry], list[tuple[Entry, str]]]:
    """Split ``entries`` into ``(todo, done, held)``: ``done`` have a finished run folder,
    ``held`` (with the reason) are claimed by a live process or marked done by its claim."""
    from optrun.sweep import claims

    found = attempts_by_hash(sweep.runs_dir)
    claims_dir = sweep.runs_dir / claims.CLAIMS
    todo, done, held = [], [], []
    for e in entries:
        if is_done(found.get(e.config_hash)):
            done.append(e)
            continue
        why = claims.held(claims_dir, e.config_hash, sweep.runs_dir)
        if why is None:
            todo.append(e)
        else:
            held.append((e, why))
    return todo, done, held


def run_selection(sweep: Sweep, shard: tuple[int, int] | None = None, span: tuple[int, int] | None = None,
                  jobs: int = 1, plots: bool = False, fail_fast: bool = False, stop=None,
                  on_result: Callable[[Entry, dict], None] | None = None, labels: dict | None = None,
                  split: tuple | None = None) -> Report:
    """Run a shard ``(k, n)`` or a span ``(a, b)`` of the plan with ``jobs`` processes, skipping
    what is done or held before dispatch; write ``summary.csv`` (all of the plan, as the folders
    are now). The report counts the *selected* entries: ``total`` is their number, ``skipped``
    those already done, ``elsewhere`` those another process holds (before or at run time).
    ``split``: :func:`to_run`'s answer for this selection when the caller has it already."""
    from optrun.sweep.runner import execute

    selected = select(sweep.entries, shard, span)
    todo, done, held = split if split is not None else to_run(sweep, selected)
    report = execute(sweep, todo, jobs=jobs, plots=plots, fail_fast=fail_fast, stop=stop, on_result=on_result,
                     labels=labels)
    report.total, report.skipped = len(selected), len(done)
    report.elsewhere = [{"index": e.index, "status": "skipped", "stop_reason": why} for e, why in held] + report.elsewhere
    return report
