"""The lecture's two-bags MLE example, exactly."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from optrun.errors import OptrunError
from optrun.likelihood import binomial_pmf, binomial_table, likelihood_curve


def test_binomial_table_equals_the_lecture():
    t = binomial_table()
    half, three_q = F(1, 2), F(3, 4)
    assert t["thetas"] == [half, three_q] and t["y"] == [0, 1, 2, 3, 4, 5]
    assert t["pmf"][half] == [F(1, 32), F(5, 32), F(10, 32), F(10, 32), F(5, 32), F(1, 32)]
    assert t["pmf"][three_q] == [F(1, 1024), F(15, 1024), F(90, 1024), F(270, 1024), F(405, 1024), F(243, 1024)]
    assert t["ml_choice"] == [half] * 4 + [three_q] * 2
    for th in t["thetas"]:
        assert sum(t["pmf"][th]) == 1


def test_strings_and_floats():
    assert binomial_table(thetas=("1/2", "3/4")) == binomial_table()
    assert binomial_pmf(2, 5, 0.5) == F(10, 32)
    with pytest.raises(OptrunError, match="probability"):
        binomial_table(thetas=(1.5,))
    with pytest.raises(OptrunError, match="0 <= y <= n"):
        binomial_pmf(6, 5, "1/2")


def test_likelihood_curve_peaks_at_the_sample_share():
    draws = [1, 1, 0, 1, 1]
    th, L, hat = likelihood_curve(draws, num=999)
    assert hat == 0.8 and th[np.argmax(L)] == pytest.approx(0.8, abs=1e-3)
    np.testing.assert_allclose(L, th**4 * (1 - th), rtol=1e-12)
    # the two bags: 4 red of 5 favours bag B (3/4) by the ratio 405/160
    _, L2, _ = likelihood_curve(draws, thetas=[0.5, 0.75])
    assert L2[1] / L2[0] == pytest.approx(405 / 160, rel=1e-12)
    _, ll, _ = likelihood_curve(draws, thetas=[0.5], log=True)
    assert ll[0] == pytest.approx(5 * np.log(0.5))
    with pytest.raises(OptrunError):
        likelihood_curve([0, 2])
