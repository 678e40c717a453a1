"""Text from resolved configs: legend labels that name what differs, figure titles, captions.

Pure string work over config dicts (no NumPy): a label says only what differs between the
settings of a figure (seed and name never count), a title says the problem and, for one
setting, the optimizer, batch mode and budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from optrun._text import flatten, short_key


def _fmt(v: Any) -> str:
    """A value in a label: floats as ``%g``, tuples as ``(a, b)`` (how the config spells them)."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return str(v)


def batch_text(batch: dict) -> str:
    """``"full batch"``, ``"stochastic (size 1)"`` or ``"minibatch 32"``."""
    mode = batch.get("mode", "full")
    if mode == "full":
        return "full batch"
    if mode == "stochastic":
        return "stochastic (size 1)"
    return f"minibatch {batch.get('size')}"


def optimizer_text(opt: dict, keys: list[str] | None = None, batch: dict | None = None) -> str:
    """``"adam lr=0.01"``; ``keys`` limits which hyperparameters are shown (default: lr). Plain
    ``sgd`` on the full ``batch`` is named ``gd`` (gradient descent)."""
    from optrun.plots.colors import is_plain_gd

    keys = ["lr"] if keys is None else keys
    parts = ["gd" if is_plain_gd(opt, batch) else str(opt.get("name", "?"))]
    for k in keys:
        if k in opt and k != "name":
            v = opt[k]
            parts.append(f"{k}={_fmt(v['name'] if k == 'schedule' and isinstance(v, dict) else v)}")
    return " ".join(parts)


def make_labels(configs: list[dict | None]) -> list[str]:
    """Legend labels naming what differs between settings (seed and name never count)."""
    if len(configs) == 1 or any(c is None for c in configs):
        return [optimizer_text((c or {}).get("optimizer") or {}, batch=(c or {}).get("batch")) if c else "run"
                for c in configs]
    flats = [flatten({k: v for k, v in c.items() if k not in ("seed", "name")}) for c in configs]
    keys = list(dict.fromkeys(k for f in flats for k in f))  # first config's order, then first seen (not set order)
    differ = [k for k in keys if len({json.dumps(f.get(k), default=str) for f in flats}) > 1]
    names = {c["optimizer"].get("name") for c in configs}
    # optimizer hyperparameters worth naming: lr when several optimizers (or lrs) are compared,
    # others only where they differ between runs of the *same* optimizer
    opt_keys: list[str] = []
    if len(names) > 1 or "optimizer.lr" in differ:
        opt_keys.append("lr")
    for k in differ:
        if not k.startswith("optimizer.") or k in ("optimizer.name", "optimizer.lr"):
            continue
        leaf = k.split(".")[1]
        for name in names:
            same = [f for c, f in zip(configs, flats) if c["optimizer"].get("name") == name]
            if len({json.dumps(f.get(k), default=str) for f in same}) > 1 and leaf not in opt_keys:
                opt_keys.append(leaf)
    labels = []
    for c, f in zip(configs, flats):
        parts = []
        if len(names) > 1 or opt_keys:
            parts.append(optimizer_text(c["optimizer"], opt_keys, c.get("batch")) if len(names) > 1
                         else " ".join(optimizer_text(c["optimizer"], opt_keys).split(" ")[1:]))
        if any(k.startswith("batch.") for k in differ):
            parts.append(batch_text(c.get("batch") or {}))
        for k in differ:
            if k.startswith(("optimizer.", "batch.")):
                continue
            parts.append(f"{short_key(k)}={_fmt(f.get(k))}")
        labels.append(", ".join(p for p in parts if p) or optimizer_text(c["optimizer"], batch=c.get("batch")))
    return labels


def dataset_text(config: dict | None, summary: dict | None = None) -> str:
    """``"women (15 rows) standardized"``; a generated set names its generator's settings."""
    if not config:
        return "?"
    ds = config.get("dataset") or {}
    name = ds.get("name", "?")
    if name == "csv":
        name = Path(str(ds.get("path", "csv"))).stem
    parts = [name]
    if name.startswith("synthetic"):
        extra = [f"{k}={_fmt(ds[k])}" for k in ("n_samples", "n_features", "condition_number", "noise", "label_noise") if k in ds]
        if extra:
            parts.append("(" + ", ".join(extra) + ")")
    elif summary and summary.get("n_train"):
        parts.append(f"({summary['n_train']} rows)")
    if ds.get("standardize"):
        parts.append("standardized")
    return " ".join(parts)


ANALYTIC_MODELS = ("function", "quadratic")  # models without data (optrun.config.keys.ANALYTIC_MODELS)


def analytic_text(model: dict) -> str:
    """An objective without data, named by its formula: ``"rosenbrock (a=1, b=100)"`` (the
    function's parameters, defaults of its registry signature filled in), ``"quadratic f(θ) =
    ½θᵀAθ + bᵀθ"`` (``+ c`` when c ≠ 0)."""
    if model.get("name") == "quadratic":
        c = model.get("c") or 0.0
        return "quadratic f(θ) = ½θᵀAθ + bᵀθ" + (f" + {_fmt(float(c))}" if c else "")
    name = str(model.get("function") or "?")
    params = dict(model.get("function_params") or {})
    try:
        from optrun.analytic import functions

        params = {**functions()[name].defaults, **params}
    except (ImportError, KeyError):  # an unknown function: name it with what the config says
        pass
    inside = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    return f"{name} ({inside})" if inside else name


def problem_parts(config: dict | None, summary: dict | None = None, short: bool = False) -> list[str]:
    """The pieces of a problem's description: dataset, model, loss, penalties (``short``: the
    dataset's name only, no generator settings or row count). An objective without data is one
    piece, its formula (:func:`analytic_text`), and the loss's penalties."""
    if not config:
        return ["?"]
    if (config.get("model") or {}).get("name") in ANALYTIC_MODELS:
        loss = config.get("loss") or {}
        text = analytic_text(config["model"]) + (" subject to constraints" if config.get("constraints") else "")
        return [text, "", "", *[f"{k}={_fmt(loss[k])}" for k in ("l2", "l1") if loss.get(k)]]
    model = config.get("model") or {}
    loss = config.get("loss") or {}
    ds = dataset_text(config, summary)
    if short:
        ds = ds.split(" (")[0]
    parts = [ds, f"{model.get('name', '?')} regression", f"{loss.get('name', '?')} loss"]
    parts += [f"{k}={_fmt(loss[k])}" for k in ("l2", "l1") if loss.get(k)]
    return parts


def _join_parts(parts: list[str]) -> str:
    """``[data, model, loss, pen...]`` -> ``"data · model, loss + pen"`` (missing pieces skipped)."""
    head = [p for p in parts[:1] if p]
    mid = ", ".join(p for p in parts[1:3] if p)
    text = " · ".join(head + ([mid] if mid else []))
    pen = [p for p in parts[3:] if p]
    return text + (f" + {', '.join(pen)}" if pen else "")


def problem_text(config: dict | None, summary: dict | None = None, short: bool = False) -> str:
    """``"women (15 rows) standardized · linear regression, half_mse loss"``."""
    if not config:
        return "?"
    return _join_parts(problem_parts(config, summary, short))


def shared_problem_text(runs: list, short: bool = False) -> str:
    """What the runs' problems have in common (the pieces every run shares); the pieces that
    differ are named in the legend labels (:func:`make_labels`), not here."""
    all_parts = [problem_parts(r.config, r.summary, short) for r in runs]
    first = all_parts[0]
    if all(p == first for p in all_parts):
        return _join_parts(first)
    n = max(len(p) for p in all_parts)
    shared = []
    for i in range(n):
        vals = {p[i] if i < len(p) else None for p in all_parts}
        shared.append(first[i] if len(vals) == 1 and i < len(first) else "")
    # penalties: keep only those every run has with the same value
    pens = [set(p[3:]) for p in all_parts]
    common_pen = set.intersection(*pens) if pens else set()
    shared = shared[:3] + [p for p in first[3:] if p in common_pen]
    text = _join_parts(shared)
    return text or "several problems"


def budget_text(config: dict) -> str:
    """The configured budget, said as one (a run may stop earlier: converged, diverged, ...)."""
    tr = config.get("train") or {}
    if tr.get("steps") is not None:
        return f"budget {tr['steps']} steps"
    return f"budget {_fmt(tr.get('epochs'))} epochs"


def run_text(config: dict | None) -> str:
    """``"sgd lr=0.5 · full batch · budget 200 steps"`` (the optimizer's non-default hyperparameters)."""
    if not config:
        return ""
    opt = dict(config.get("optimizer") or {})
    keys = ["lr"]
    try:
        from optrun import optim

        spec = optim.get_spec(opt["name"])
        for k, p in spec.params.items():
            default = getattr(p, "default", None)
            if k != "lr" and k in opt and default is not None and _fmt(opt[k]) != _fmt(default):
                keys.append(k)
    except Exception:
        pass
    sched = opt.get("schedule") or {}
    text = optimizer_text(opt, keys, config.get("batch"))
    if isinstance(sched, dict) and sched.get("name", "constant") != "constant":
        text += f" ({sched['name']} schedule)"
    return f"{text} · {batch_text(config.get('batch') or {})} · {budget_text(config)}"


def figure_title(groups: list, short: bool = False) -> tuple[str, str]:
    """(title, subtitle) for a figure of these groups (:class:`optrun.plots.rundata.Group`; not
    imported here: rundata imports this module). An overlay's title names only what its runs
    share; ``short`` (slides) keeps the dataset's name without its settings."""
    first = groups[0].first
    title = shared_problem_text([g.first for g in groups], short)
    if len(groups) == 1:
        r = first
        sub = run_text(r.config)
        if len(groups[0].runs) > 1:
            sub += f" · {len(groups[0].runs)} seeds (median, 10–90% band)"
        return title, sub
    n_seeds = max(len(g.runs) for g in groups)
    sub = f"{len(groups)} settings compared"
    batches = {batch_text((g.first.config or {}).get("batch") or {}) for g in groups}
    if len(batches) == 1 and first.config:  # shared by every run: said once, here
        sub += f" · {batches.pop()}"
    if first.config and len({budget_text(g.first.config or {}) for g in groups}) == 1:
        sub += f" · {budget_text(first.config)}"
    if n_seeds > 1:
        sub += f" · {n_seeds} seeds each (median, 10–90% band)"
    return title, sub
