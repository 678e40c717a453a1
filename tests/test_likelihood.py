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


def test_two_bags_report_reproduces_the_lecture():
    from optrun.likelihood import two_bags_report

    r = two_bags_report()
    assert r["omega"] == ["1/2", "3/4"] and r["y"] == [0, 1, 2, 3, 4, 5]
    a, b = r["table"]
    # exactly the lecture's table, over its denominators 32 and 1024
    assert a["pmf"] == ["1/32", "5/32", "10/32", "10/32", "5/32", "1/32"] and a["denominator"] == 32
    assert b["pmf"] == ["1/1024", "15/1024", "90/1024", "270/1024", "405/1024", "243/1024"]
    assert b["denominator"] == 1024 and b["pmf_float"][3] == 270 / 1024
    assert r["ml_choice"] == ["1/2"] * 4 + ["3/4"] * 2
    assert "observed" not in r

    r3 = two_bags_report(observed=3)
    assert r3["likelihood"] == {"1/2": "10/32", "3/4": "270/1024"}
    assert r3["theta_hat"] == "1/2" and r3["bag"] == "A"
    assert r3["likelihood_ratio"]["exact"] == "32/27"  # (10/32) / (270/1024)
    assert r3["theta_hat_unrestricted"] == "3/5" and r3["tied"] == []
    tie = two_bags_report(n=2, thetas=("1/3", "2/3"), observed=1)  # 2·(1/3)(2/3) = 4/9 for both
    assert tie["tied"] == ["1/3", "2/3"] and tie["theta_hat"] == "1/3" and tie["likelihood_ratio"]["exact"] == "1"
    th, L = np.array(r3["curve"]["theta"]), np.array(r3["curve"]["likelihood"])
    assert np.all((th > 0) & (th < 1)) and abs(th[np.argmax(L)] - 0.6) < 1e-2
    np.testing.assert_allclose(L, 10 * th**3 * (1 - th) ** 2, rtol=1e-13)

    r4 = two_bags_report(observed=4)
    assert r4["theta_hat"] == "3/4" and r4["bag"] == "B"
    assert r4["likelihood_ratio"]["exact"] == "81/32"  # (405/1024) / (5/32)
    with pytest.raises(OptrunError, match="observed"):
        two_bags_report(observed=6)
    # other draws and candidate sets
    r10 = two_bags_report(n=10, thetas=("1/3", "2/3"), observed=7)
    assert r10["theta_hat"] == "2/3" and r10["table"][0]["denominator"] == 3**10
