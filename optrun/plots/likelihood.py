"""The lecture's two-bags maximum-likelihood picture (``optrun mle``).

The likelihood f(y; θ) = C(n, y) θ^y (1 − θ)^(n − y) of the observed count y, read as a function
of θ over (0, 1): the candidates Ω (the bags) are marked on the curve, the chosen one (the largest
likelihood in Ω) is highlighted, and the unrestricted maximiser θ̂ = y/n is drawn for comparison.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from optrun.plots.figure_layout import inch, look_of, new_figure, save_figure, style


def _frac(t: Fraction) -> str:
    return f"{t.numerator}/{t.denominator}" if t.denominator != 1 else str(t.numerator)


def two_bags_curve(n: int, observed: int, num: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """θ over (0, 1) and f(observed; θ), the binomial likelihood (float64)."""
    from math import comb

    theta = np.linspace(0.0, 1.0, num + 2)[1:-1]
    return theta, comb(n, observed) * theta**observed * (1.0 - theta) ** (n - observed)


def two_bags_figure(n: int, thetas: list[Fraction], observed: int, path: Path, options=None) -> Path:
    """Draw the likelihood of ``observed`` red balls in ``n`` draws over θ, with Ω marked, into
    ``path`` with the suffix of ``options.format``."""
    fmt = options.format if options is not None else "png"
    return save_figure(two_bags_canvas(n, thetas, observed, options), Path(path).with_suffix(f".{fmt}"))


def two_bags_canvas(n: int, thetas: list[Fraction], observed: int, options=None):
    """The figure of :func:`two_bags_figure`. ``options``
    (:class:`~optrun.plots.style.FigureOptions`): style, title and sizes, as for every figure."""
    from optrun.likelihood import binomial_pmf

    look = look_of(options, (7.2, 4.8))
    theta, values = two_bags_curve(n, observed)
    cand = [(t, float(binomial_pmf(observed, n, t))) for t in thetas]
    f_max = max(v for _, v in cand)
    tie = sum(v == f_max for _, v in cand) > 1  # equal likelihoods: no bag is the choice
    best = next(t for t, v in cand if v == f_max)  # the first listed, as the report takes it
    title = (options.title if options is not None and options.title else None) or \
        f"Two bags: y = {observed} red in n = {n} draws; Ω = {{{', '.join(map(_frac, thetas))}}}"
    with style(look):
        fig = new_figure(look.width, look.height, look)
        # the bands below the axes (tick labels, x label, a two-row legend, the note) in inches
        rows = -(-(len(cand) + 2) // 2)  # the legend: the curve, each candidate, θ̂; two columns
        below = inch(look.tick) + inch(look.label) + inch(look.legend, rows) + inch(look.note) + 0.45
        top = inch(look.title) + 0.25
        ax = fig.add_axes((0.1, below / look.height, 0.86, 1 - (below + top) / look.height))
        ax.plot(theta, values, color="#3a3a3a", lw=2 * look.line, label=f"likelihood f({observed}; θ)")
        for t, v in cand:
            chosen = t == best
            ax.vlines(float(t), 0, v, color="#e6550d" if chosen else "#1f5fbf", lw=1.2 * look.line, ls="--")
            ax.plot([float(t)], [v], "o", ms=6 + 3 * look.line, color="#e6550d" if chosen else "#1f5fbf",
                    label=f"θ = {_frac(t)}: f = {float(v):.4g}" + (" (tie)" if tie and v == f_max else
                                                                        " (chosen)" if chosen else ""))
        hat = observed / n if n else 0.0
        ax.axvline(hat, color="#7a7a7a", lw=look.line, ls=":", label=f"unrestricted MLE θ̂ = y/n = {hat:.3g}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(values.max(), max(v for _, v in cand)) * 1.12)
        ax.set_xlabel("θ (share of red balls in the bag)")
        ax.set_ylabel(f"f({observed}; θ)")
        gap = (inch(look.tick) + inch(look.label) + 0.2) / (ax.get_position().height * look.height)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -gap), ncol=2, frameon=False, fontsize=look.legend)
        fig.text(0.02, 1 - 0.12 / look.height, title, fontsize=look.title, weight="bold", va="top")
        if look.subtitle:
            fig.text(0.02, 0.08 / look.height, "the maximum-likelihood choice in Ω is the candidate with the "
                     "largest f(y; θ)", fontsize=look.note, color="#444444")
    return fig
