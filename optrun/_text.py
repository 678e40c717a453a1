"""Small text helpers every layer shares (level 0: no optrun imports, no third-party imports).

One implementation each of: "did you mean" suggestions, a short ``repr`` of a user's value, the
flattening of nested config dicts into dotted keys, a bracket-aware splitter for ``KEY=a,b,c``
values, and the one rule for a value in a CSV cell. They lived in high-level modules before 0.2
(``sweep``, ``runs``, ``config``), which is what made the import cycles of 0.1.0.
"""

from __future__ import annotations

import difflib
import json
import reprlib
from collections.abc import Iterable
from typing import Any


def did_you_mean(word: str, choices: Iterable[Any], style: str = "semicolon") -> str:
    """A suggestion for a mistyped ``word`` among ``choices``, in one of three wordings.

    ``semicolon`` (the default): ``"; did you mean 'x' or 'y'?"`` for the (at most two) closest
    choices, ``""`` when none is close. ``listing``: like ``semicolon`` with one candidate, else
    ``"; expected one of: a, b, c"``. ``paren``: ``" (did you mean 'x'?)"``, also for a match
    that differs only in case, ``""`` when none is close. The three are kept because the
    messages that use them are part of the documented error table (docs/reliability.md).
    """
    choices = [str(c) for c in choices]
    word = str(word)
    if style == "paren":
        low = {c.lower(): c for c in choices}
        if word.lower() in low:
            return f" (did you mean {low[word.lower()]!r}?)"
        close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""
    if style == "listing":
        close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        return f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(choices)}"
    if style != "semicolon":
        raise ValueError(f"unknown style {style!r}")
    close = difflib.get_close_matches(word, choices, n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 60, 60, 6, 4, 3


def short_repr(value: Any) -> str:
    """``repr`` cut to a readable size (a YAML value may be huge or self-referencing)."""
    return " ".join(_REPR.repr(value).split())


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``; lists stay values."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    elif prefix:
        out[prefix] = data
    return out


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets and quotes: ``"1,[0.9,0.99],range(3)"`` -> 3 items."""
    items, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    items.append("".join(cur))
    return items


def csv_cell(v: Any) -> Any:
    """The one rule for a value in a CSV cell that pandas reads back exactly.

    ``None`` is an empty cell (NaN in pandas), floats are ``repr`` (shortest round-trip), lists
    and dicts are JSON; everything else (ints, strings, booleans) is written as it is.
    """
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def fmt_value(v: Any, digits: int = 6) -> str:
    """A value for a human: ``None`` -> ``""``, booleans lowercase, floats to ``digits``
    significant digits, lists and dicts as compact JSON."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def short_key(key: str) -> str:
    """A dotted config key as a label names it: its last part (``optimizer.lr`` -> ``lr``), but
    the section for a ``name`` (``loss.name`` -> ``loss``: ``loss=bce``, not ``name=bce``)."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]
