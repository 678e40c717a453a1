"""``optrun mle``: the lecture's two-bags table, exactly as the lecture writes it, and its figure."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from optrun.cli.app import app
from optrun.plots.likelihood import two_bags_curve

LECTURE = {  # LECTURE.md Part 1 §2: f(y; 1/2) and f(y; 3/4) for y = 0..5
    "f(y; 1/2)": ["1/32", "5/32", "10/32", "10/32", "5/32", "1/32"],
    "f(y; 3/4)": ["1/1024", "15/1024", "90/1024", "270/1024", "405/1024", "243/1024"],
}


def test_two_bags_table_is_the_lectures(tmp_path):
    r = CliRunner().invoke(app, ["mle", "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    for col, want in LECTURE.items():
        assert [row[col] for row in rows] == want
    # y = 0..3 -> bag A (1/2), y = 4, 5 -> bag B (3/4)
    assert [row["ml_choice"] for row in rows] == ["1/2"] * 4 + ["3/4"] * 2


def test_observed_writes_the_likelihood_figure(tmp_path):
    r = CliRunner().invoke(app, ["mle", "--observed", "4", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    folder = json.loads(r.stdout)["folder"]
    assert (tmp_path / folder.split("/")[-1] / "likelihood.png").stat().st_size > 10_000
    theta, f = two_bags_curve(5, 4)
    assert abs(theta[f.argmax()] - 0.8) < 0.005  # the unrestricted MLE y/n


def test_bad_input_is_one_line(tmp_path):
    for args in (["--observed", "9"], ["--thetas", "1/2,2"], ["--thetas", "x"]):
        r = CliRunner().invoke(app, ["mle", "--out", str(tmp_path), *args])
        assert r.exit_code == 2 and r.output.startswith("error: ") and r.output.count("\n") == 1, r.output


def test_a_tie_is_said_and_y_over_n_is_on_the_closed_interval(tmp_path):
    # n = 2, y = 1: f = 2·(1/3)(2/3) = 4/9 for both bags
    r = CliRunner().invoke(app, ["mle", "-n", "2", "--thetas", "1/3,2/3", "--observed", "1", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "a tie between θ = 1/3, 2/3" in r.output and "likelihood ratio 1" in r.output
    r0 = CliRunner().invoke(app, ["mle", "--observed", "0", "--out", str(tmp_path)])
    assert "over [0, 1] the MLE is y/n = 0" in r0.output and "(0, 1)" not in r0.output
    assert "a tie" not in r0.output


def test_the_figure_marks_a_tie_not_a_choice():
    from fractions import Fraction as F

    from optrun.plots.likelihood import two_bags_canvas

    labels = [t.get_text() for t in two_bags_canvas(2, [F(1, 3), F(2, 3)], 1).axes[0].get_legend().get_texts()]
    assert sum("(tie)" in s for s in labels) == 2 and not any("(chosen)" in s for s in labels)
    labels = [t.get_text() for t in two_bags_canvas(5, [F(1, 2), F(3, 4)], 3).axes[0].get_legend().get_texts()]
    assert [s for s in labels if "(chosen)" in s] == ["θ = 1/2: f = 0.3125 (chosen)"]
