"""The lecture's two-bags maximum-likelihood picture (``optrun mle``).

The likelihood f(y; θ) = C(n, y) θ^y (1 − θ)^(n − y) of the observed count y, read as a function
of θ over (0, 1): the candidates Ω (the bags) are marked on the curve, the chosen one (the largest
likelihood in Ω) is highlighted, and the unrestricted maximiser θ̂ = y/n is drawn for comparison.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from optrun.plots.figures import new_figure, save_figure, style


def _frac(t: Fraction) -> str:
    return f"{t.numerator}/{t.denominator}" if t.denominator != 1 else str(t.numerator)


def two_bags_curve(n: int, observed: int, num: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """θ over (0, 1) and f(observed; θ), the binomial likelihood (float64)."""
    from math import comb

    theta = np.linspace(0.0, 1.0, num + 2)[1:-1]
    return theta, comb(n, observed) * theta**observed * (1.0 - theta) ** (n - observed)


def two_bags_figure(n: int, thetas: list[Fraction], observed: int, path: Path) -> Path:
    """Draw the likelihood of ``observed`` red balls in ``n`` draws over θ, with Ω marked."""
    from optrun.likelihood import binomial_pmf

    theta, values = two_bags_curve(n, observed)
    cand = [(t, float(binomial_pmf(observed, n, t))) for t in thetas]
    best = max(cand, key=lambda c: c[1])[0]
    with style():
        fig = new_figure(7.2, 4.8)
        ax = fig.add_axes((0.1, 0.33, 0.86, 0.56))
        ax.plot(theta, values, color="#3a3a3a", lw=2, label=f"likelihood f({observed}; θ)")
        for t, v in cand:
            chosen = t == best
            ax.vlines(float(t), 0, v, color="#e6550d" if chosen else "#1f5fbf", lw=1.2, ls="--")
            ax.plot([float(t)], [v], "o", ms=9, color="#e6550d" if chosen else "#1f5fbf",
                    label=f"θ = {_frac(t)}: f = {float(v):.4g}" + (" (chosen)" if chosen else ""))
        hat = observed / n if n else 0.0
        ax.axvline(hat, color="#7a7a7a", lw=1, ls=":", label=f"unrestricted MLE θ̂ = y/n = {hat:.3g}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(values.max(), max(v for _, v in cand)) * 1.12)
        ax.set_xlabel("θ (share of red balls in the bag)")
        ax.set_ylabel(f"f({observed}; θ)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=9)
        fig.text(0.02, 0.95, f"Two bags: y = {observed} red in n = {n} draws; Ω = {{{', '.join(map(_frac, thetas))}}}",
                 fontsize=12, weight="bold")
        fig.text(0.02, 0.02, "the maximum-likelihood choice in Ω is the candidate with the largest f(y; θ)",
                 fontsize=9, color="#444444")
    return save_figure(fig, path)
