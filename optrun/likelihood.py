"""The lecture's two-bags example of maximum likelihood, exactly (fractions, not floats).

Two bags: A with a share theta = 1/2 of red balls, B with theta = 3/4. Pick a bag, draw n = 5
times with replacement and count the red balls Y = X_1 + ... + X_n ~ Binomial(n, theta), so

    f(y; theta) = C(n, y) theta^y (1 - theta)^(n - y),     y = 0 .. n.

With theta restricted to Omega = {1/2, 3/4}, the maximum-likelihood choice for an observed y is
the theta in Omega with the largest f(y; theta): y = 0..3 -> 1/2 (bag A), y = 4, 5 -> 3/4 (bag B).
Read as a function of theta for a fixed observation, f is the *likelihood*; over the whole
interval (0, 1) it peaks at theta = y/n (the unrestricted MLE).

Pure Python + NumPy; ``fractions.Fraction`` keeps the table exact (1/32, 5/32, ..., 243/1024).
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np

from optrun.errors import OptrunError


def _fraction(theta, where: str) -> Fraction:
    try:
        t = Fraction(theta) if not isinstance(theta, str) else Fraction(theta.strip())
    except (TypeError, ValueError, ZeroDivisionError):
        raise OptrunError(f"{where}: expected a probability such as 1/2 or 0.75, got {theta!r}") from None
    if not 0 <= t <= 1:
        raise OptrunError(f"{where}: a probability must lie in [0, 1], got {theta!r}")
    return t


def binomial_pmf(y: int, n: int, theta) -> Fraction:
    """``C(n, y) theta^y (1 - theta)^(n - y)``, exact for a rational theta."""
    t = _fraction(theta, "theta")
    if not (isinstance(n, int) and n >= 0 and isinstance(y, int) and 0 <= y <= n):
        raise OptrunError(f"binomial: need integers 0 <= y <= n, got y = {y!r}, n = {n!r}")
    return comb(n, y) * t**y * (1 - t) ** (n - y)


def binomial_table(n: int = 5, thetas=(Fraction(1, 2), Fraction(3, 4))) -> dict:
    """The lecture's table of ``f(y; theta)`` for y = 0..n and each theta, plus the ML choice per y.

    Returns ``{"n", "thetas": [Fraction], "y": [0..n], "pmf": {theta: [Fraction per y]},
    "ml_choice": [theta maximising f(y; theta) per y]}``. A tie (equal likelihoods) picks the
    first theta listed. Floats such as 0.75 are taken at their exact binary value, so pass
    Fractions or strings ("3/4") for the lecture's numbers.
    """
    if not (isinstance(n, int) and n >= 0):
        raise OptrunError(f"n: expected an integer >= 0, got {n!r}")
    ts = [_fraction(t, "thetas") for t in thetas]
    if not ts:
        raise OptrunError("thetas: need at least one value")
    pmf = {t: [binomial_pmf(y, n, t) for y in range(n + 1)] for t in ts}
    choice = []
    for y in range(n + 1):
        best = ts[0]
        for t in ts[1:]:
            if pmf[t][y] > pmf[best][y]:
                best = t
        choice.append(best)
    return {"n": n, "thetas": ts, "y": list(range(n + 1)), "pmf": pmf, "ml_choice": choice}


def likelihood_curve(draws, thetas=None, num: int = 199, log: bool = False):
    """The likelihood of observed 0/1 draws as a function of theta over (0, 1).

    For draws x_1..x_m with k ones: ``L(theta) = theta^k (1 - theta)^(m - k)`` (the Bernoulli
    likelihood of the sequence; the binomial one has the extra constant C(m, k), which does not
    move the maximiser). ``log=True`` returns ``k log theta + (m - k) log(1 - theta)``.
    ``thetas`` default: ``num`` points strictly inside (0, 1). Returns ``(thetas, values,
    theta_hat)`` with ``theta_hat = k/m`` the maximiser.
    """
    x = np.asarray(draws, dtype=np.float64).ravel()
    if x.size == 0 or np.any((x != 0) & (x != 1)):
        raise OptrunError("draws: expected a non-empty list of 0/1 outcomes")
    m, k = x.size, float(x.sum())
    th = np.linspace(0.0, 1.0, num + 2)[1:-1] if thetas is None else np.asarray(thetas, dtype=np.float64)
    if np.any((th <= 0) | (th >= 1)):
        raise OptrunError("thetas: must lie strictly inside (0, 1)")
    ll = k * np.log(th) + (m - k) * np.log1p(-th)
    return th, (ll if log else np.exp(ll)), k / m


def _row_denominator(n: int, theta: Fraction) -> int:
    """The common denominator the lecture writes a row of the table over: den(theta)^n when both
    theta and 1 - theta have that denominator (1/2 -> 2^5 = 32, 3/4 -> 4^5 = 1024), else the lcm
    of the row's reduced denominators."""
    from math import lcm

    return lcm(theta.denominator**n, (1 - theta).denominator**n)


def _show(value: Fraction, den: int) -> str:
    """``value`` written over ``den`` (10/32, not 5/16), as in the lecture's table."""
    return f"{value * den}/{den}" if (value * den).denominator == 1 else str(value)


def two_bags_report(n: int = 5, thetas=("1/2", "3/4"), observed: int | None = None, num: int = 199) -> dict:
    """Everything the two-bags example shows, as plain JSON-ready data (lecture Part 1 §2).

    Y ~ Binomial(n, theta) with theta restricted to Omega = ``thetas``. Returns

    * ``n``, ``omega`` (the thetas as exact strings "1/2"), ``y`` = [0..n];
    * ``table``: one row per theta, ``{"theta", "pmf" (exact strings over the row's common
      denominator: "10/32", "270/1024"), "pmf_float", "denominator"}`` — the lecture's table;
    * ``ml_choice``: per y, the theta in Omega with the largest f(y; theta) (ties: the first listed);
    * with ``observed`` = y_obs: ``observed``, ``likelihood`` {theta: f(y_obs; theta) as a string},
      ``theta_hat`` (the ML choice in Omega), ``bag`` ("A", "B", ... in the order of ``thetas``),
      ``likelihood_ratio`` (best over runner-up, exact string and float), ``tied`` (the thetas of
      Omega sharing the largest likelihood when there is a tie, else []), ``theta_hat_unrestricted``
      = y_obs/n (the maximiser over the whole interval [0, 1]), and ``curve`` = {"theta", "likelihood"}:
      f(y_obs; theta) on ``num`` points strictly inside (0, 1), the likelihood function the
      figure draws with Omega marked.
    """
    table = binomial_table(n, thetas)
    ts = table["thetas"]
    rows = []
    for t in ts:
        den = _row_denominator(n, t)
        rows.append({"theta": str(t), "denominator": den, "pmf": [_show(v, den) for v in table["pmf"][t]],
                     "pmf_float": [float(v) for v in table["pmf"][t]]})
    out = {"n": n, "omega": [str(t) for t in ts], "y": table["y"], "table": rows,
           "ml_choice": [str(t) for t in table["ml_choice"]]}
    if observed is None:
        return out
    if not (isinstance(observed, int) and 0 <= observed <= n):
        raise OptrunError(f"observed: expected an integer count of red balls 0..{n}, got {observed!r}")
    lik = {t: table["pmf"][t][observed] for t in ts}
    best = table["ml_choice"][observed]
    others = [lik[t] for t in ts if t != best]
    ratio = None if not others else (lik[best] / max(others) if max(others) > 0 else None)
    th = np.linspace(0.0, 1.0, num + 2)[1:-1]
    curve = comb(n, observed) * th**observed * (1.0 - th) ** (n - observed)
    out.update(
        observed=observed,
        likelihood={str(t): _show(lik[t], _row_denominator(n, t)) for t in ts},
        theta_hat=str(best), bag="ABCDEFGHIJKLMNOPQRSTUVWXYZ"[ts.index(best)] if len(ts) <= 26 else str(ts.index(best)),
        likelihood_ratio=None if ratio is None else {"exact": str(ratio), "float": float(ratio)},
        tied=[str(t) for t in ts if lik[t] == lik[best]] if sum(lik[t] == lik[best] for t in ts) > 1 else [],
        theta_hat_unrestricted=str(Fraction(observed, n)) if n else None,
        curve={"theta": th.tolist(), "likelihood": curve.tolist()},
    )
    return out
