"""Colours and line styles: one fixed colour per optimizer, grouped by family.

A reader who has seen one optrun figure can read the next one without the legend: greys are
plain gradient descent, blues are momentum (heavy ball, Nesterov), greens the per-coordinate
adaptive methods (Adagrad, RMSprop, Adadelta, Rprop, Adafactor), oranges and reds the Adam family,
black Newton, purple L-BFGS, teals the variance-reduced methods, browns the proximal ones.
The colour of a name never depends on which other runs are in the figure.

When every run of a figure uses the *same* optimizer (batch modes compared, learning rates
compared), the family colour would tell the runs nothing, so :func:`assign_styles` switches to a
colour-blind-safe qualitative palette (Okabe & Ito) for the varied setting and says so.
"""

from __future__ import annotations

import zlib

# family -> its ramp (darkest first); names listed in FIXED take a fixed entry of the ramp
FAMILY_RAMPS: dict[str, tuple[str, ...]] = {
    "gd": ("#3a3a3a", "#7a7a7a", "#a8a8a8", "#5a5a5a"),
    "momentum": ("#1f5fbf", "#6baed6", "#08306b", "#4292c6"),
    "adaptive": ("#1b8a3a", "#74c476", "#00441b", "#41ab5d"),
    "adam": ("#e6550d", "#b30000", "#fd8d3c", "#7f2704", "#f768a1"),
    "newton": ("#000000", "#444444"),
    "quasi_newton": ("#6a3d9a", "#9e7cc1"),
    "variance_reduced": ("#017a79", "#35b5b3", "#004c4b"),
    "proximal": ("#8c2d04", "#d4a017", "#5c3a00", "#c77c48"),
}

# one entry per registered optimizer (tests/test_plots.py checks set(FIXED) == set(optim.names())):
# the optimizers of a family take the entries of its ramp in this order (None: an entry skipped)
_RAMP_ORDER = {
    "gd": ("sgd", "asgd", None, "polyak"), "momentum": ("momentum", "nag"),
    "adaptive": ("adagrad", "rmsprop", "adafactor"), "adam": ("adam", "adamw", "amsgrad", "adamax", "nadam"),
    "newton": ("newton",), "quasi_newton": ("lbfgs",), "variance_reduced": ("sag", "saga", "svrg"),
    "proximal": ("ista", "fista", "prox_sgd", "cd"),
}
FIXED: dict[str, str] = {
    **{name: FAMILY_RAMPS[fam][i] for fam, names in _RAMP_ORDER.items() for i, name in enumerate(names) if name},
    "adadelta": "#8c6d31",  # olive-green-brown: a third green that stays distinct on white
    "rprop": "#a1d99b",  # a pale green: the sign-based member of the adaptive family
    "radam": "#fdae6b",  # a light orange beside Adam's
}
FIXED["gd"] = FIXED.get("sgd", "#3a3a3a")  # full-batch sgd is labelled gd: the same colour

# Okabe & Ito (2008), colour-blind safe; used when all runs share one optimizer.
QUALITATIVE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))

FAMILY_NAMES = {
    "gd": "gradient descent",
    "momentum": "momentum",
    "adaptive": "adaptive (Adagrad/RMSprop/Adadelta)",
    "adam": "Adam family",
    "newton": "Newton",
    "quasi_newton": "quasi-Newton (L-BFGS)",
    "variance_reduced": "variance reduced (SAG/SAGA/SVRG)",
    "proximal": "proximal / coordinate (ISTA, FISTA, CD)",
}


def effective_name(optimizer: dict, batch: dict | None = None) -> str:
    """The optimizer a config really runs: ``sgd`` with momentum > 0 is momentum (or nag), and
    plain ``sgd`` on the full batch is gradient descent, ``gd`` (as the config may spell it:
    the resolved config says ``sgd``, the lecture says batch gradient descent)."""
    name = str(optimizer.get("name", "?"))
    if name == "sgd" and (optimizer.get("momentum") or 0) > 0:
        return "nag" if optimizer.get("nesterov") else "momentum"
    if is_plain_gd(optimizer, batch):
        return "gd"
    return name


def is_plain_gd(optimizer: dict, batch: dict | None) -> bool:
    """``sgd`` without momentum or line search, on the full batch: gradient descent."""
    return (optimizer.get("name") == "sgd" and not (optimizer.get("momentum") or 0)
            and optimizer.get("line_search", "none") in (None, "none")
            and isinstance(batch, dict) and batch.get("mode") == "full")


def family_of(name: str) -> str:
    """Family of an optimizer name or alias, as the registry declares it (``@register(...,
    family=...)``); ``"gd"`` (the greys) for a name the registry does not know, such as a run
    folder written by a newer optrun."""
    from optrun import optim
    from optrun.errors import OptrunError

    try:
        return optim.get_spec(name).family
    except OptrunError:
        return "gd"


def optimizer_color(name: str, family: str | None = None) -> str:
    """The fixed colour of an optimizer name: its own entry, else a stable shade of its family."""
    if name in FIXED:
        return FIXED[name]
    ramp = FAMILY_RAMPS.get(family or family_of(name), FAMILY_RAMPS["gd"])
    return ramp[zlib.crc32(name.encode()) % len(ramp)]


def shade(color: str, amount: float) -> str:
    """Mix ``color`` with white (amount > 0) or black (amount < 0); amount in [-1, 1]."""
    h = color.lstrip("#")
    rgb = [int(h[i : i + 2], 16) for i in (0, 2, 4)]
    target = 255 if amount > 0 else 0
    a = abs(amount)
    mixed = [round(c + (target - c) * a) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def assign_styles(groups: list[tuple[str, str]]) -> tuple[list[dict], str]:
    """Styles for the groups of a figure, given each group's (effective optimizer, family).

    Returns one ``{"color", "linestyle"}`` per group and a note ("" or why the colours are not the
    family colours). Groups with the same optimizer get the same colour with different line
    styles and slightly different shades, unless *all* groups share one optimizer; different
    optimizers of one family get their family's shades and different line styles.
    """
    names = [g[0] for g in groups]
    # gd is sgd on the full batch: a batch-mode comparison still uses one optimizer
    if len(groups) > 1 and len({"sgd" if n == "gd" else n for n in names}) == 1:
        styles = [
            {"color": QUALITATIVE[i % len(QUALITATIVE)], "linestyle": LINESTYLES[(i // len(QUALITATIVE)) % len(LINESTYLES)]}
            for i in range(len(groups))
        ]
        shown = names[0] if len(set(names)) == 1 else "sgd (gd on the full batch)"
        return styles, f"all runs use {shown}: colours mark the varied setting, not the optimizer family"
    seen: dict[str, int] = {}
    in_family: dict[str, list[str]] = {}  # the distinct optimizers of each family, in order
    styles = []
    for name, family in groups:
        k = seen.get(name, 0)
        seen[name] = k + 1
        members = in_family.setdefault(family, [])
        if name not in members:
            members.append(name)
        base = optimizer_color(name, family)
        color = base if k == 0 else shade(base, (0.35 if k % 2 else -0.35) * min(1.0, 0.5 + k / 4))
        # two optimizers of one family (Adagrad and RMSprop: two greens) differ by line style too
        j = k + members.index(name)
        styles.append({"color": color, "linestyle": LINESTYLES[j % len(LINESTYLES)]})
    return styles, ""
