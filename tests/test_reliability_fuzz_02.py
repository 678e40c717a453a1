"""Reliability 0.2 fuzz (issue #11): YAML documents built from anchors and aliases, and damaged
run folders. Every case is bounded by an alarm (a hang fails the case); the only exception
allowed is OptrunError (one line for the user), never an internal error."""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from optrun.config import parse_yaml
from optrun.errors import OptrunError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM")

CASE_SECONDS = 5


@contextmanager
def bounded(seconds: int = CASE_SECONDS):
    def hang(signum, frame):
        raise AssertionError(f"a case took more than {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@st.composite
def alias_documents(draw) -> str:
    """A flow-style YAML document: a chain of anchored lists, each repeating earlier anchors
    (sometimes itself: a recursive alias), sometimes with merge keys and big numbers."""
    n = draw(st.integers(1, 10))
    width = draw(st.integers(1, 12))
    parts = []
    for i in range(n):
        refs = [f"*a{draw(st.integers(0, i))}" if i and draw(st.booleans()) else
                draw(st.sampled_from(["1", "x", "010", "1:30", "1e308", "9" * draw(st.integers(1, 150)),
                                      "{<<: {k: 1}, j: 2}", "[]", "null"]))
                for _ in range(width)]
        if draw(st.integers(0, 20)) == 0:
            refs.append(f"*a{i}")  # an alias inside its own anchor
        parts.append(f"&a{i} [{', '.join(refs)}]")
    key = draw(st.sampled_from(["seed", "optimizer", "train", "dataset", "model"]))
    return f"{key}: [{', '.join(parts)}]\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alias_documents())
def test_alias_documents_never_hang_never_crash(text):
    from optrun import config as config_mod

    with bounded():
        try:
            raw = parse_yaml(text, "fuzz.yaml")
            json.dumps(raw)  # whatever was accepted can be walked in full
            config_mod.load(raw, None)
        except OptrunError as exc:
            assert "\n" not in str(exc)


SUMMARY = {"status": "completed", "stop_reason": "done", "steps": 3, "final_loss": 0.5, "name": "r",
           "params": {"w_x1": 1.0}, "config_hash": "abc"}


@st.composite
def damaged_bytes(draw) -> bytes:
    good = json.dumps(SUMMARY).encode()
    how = draw(st.sampled_from(["cut", "flip", "replace", "nest", "type"]))
    if how == "cut":
        return good[: draw(st.integers(0, len(good)))]
    if how == "flip":
        i = draw(st.integers(0, len(good) - 1))
        return good[:i] + bytes([draw(st.integers(0, 255))]) + good[i + 1:]
    if how == "nest":
        depth = draw(st.integers(1, 200_000))
        return b'{"status": ' + b"[" * depth + b"]" * depth + b"}"
    if how == "type":
        key = draw(st.sampled_from(sorted(SUMMARY)))
        value = draw(st.sampled_from([None, [], {}, "x", 1, True, [1, 2]]))
        return json.dumps({**SUMMARY, key: value}).encode()
    return draw(st.binary(max_size=200))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(summary=damaged_bytes(), config=st.one_of(alias_documents().map(str.encode), st.binary(max_size=100)))
def test_damaged_run_folders_read_without_crash(tmp_path, summary, config):
    from optrun.rundir import RunFolder, read_summary, summary_fields

    (tmp_path / "summary.json").write_bytes(summary)
    (tmp_path / "config.yaml").write_bytes(config)
    with bounded():
        run = RunFolder(tmp_path)  # never raises
        assert isinstance(run.summary, dict) and isinstance(run.config, dict)
        if run.readable:
            fields = summary_fields(run.summary)
            assert fields["final_loss"] is None or isinstance(fields["final_loss"], (int, float))
            assert isinstance(read_summary(tmp_path), dict)
        else:
            assert run.status == "unreadable" and "\n" not in run.summary_problem
            with pytest.raises(OptrunError):
                run.require()
