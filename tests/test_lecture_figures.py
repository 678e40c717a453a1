"""The lecture figures (optrun.plots.lecture): the arrays behind each figure, checked against
closed forms, the run's own trace and summary, and pointwise evaluations; plus one render each."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import optrun
from optrun.plots import catalog, lecture, lecture_figures, rundata
from optrun.plots.model import ContourData


def _run(tmp_path: Path, cfg: dict, name: str = "r") -> rundata.RunData:
    res = optrun.train(cfg, out=tmp_path / name, plots=False)
    return rundata.load_run(res.run_dir)


def _ctx(runs, **lec) -> catalog.Context:
    groups, _ = rundata.group_runs(runs)
    ctx = catalog.Context(groups, lecture=lec)
    ctx.load_problem()
    return ctx


LOGIT1 = {"dataset": {"name": "synthetic_logistic", "n_samples": 60, "n_features": 1, "label_noise": 0.2},
          "model": {"name": "logistic", "fit_intercept": False, "init": [-2.0]},
          "optimizer": {"name": "newton"}, "batch": "full", "train": {"steps": 6}}
QUAD = {"model": {"name": "quadratic", "A": [[3, 1], [1, 2]], "b": [-1, 0], "c": 0.0, "init": [2, 2]},
        "optimizer": {"name": "sgd", "lr": 0.1}, "train": {"steps": 60, "log_every": 1},
        "constraints": {"inequality": {"G": [[1, 1]], "h": [-0.5]}, "method": "primal_dual", "dual_lr": 0.5}}


def test_newton_tangents_meet_zero_at_the_next_iterate(tmp_path):
    run = _run(tmp_path, LOGIT1)
    d = lecture.build_contour(_ctx([run]))
    assert isinstance(d, lecture.OneDData) and d.fprime is not None
    P = run.params[:, 0]
    for k, tg in enumerate(d.tangents[: len(P) - 1]):
        # the tangent of f' at x_k is zero at x_k - f'/f'': Newton's (lr 1) next iterate
        assert tg.x == P[k]
        assert tg.zero == pytest.approx(P[k + 1], rel=1e-9, abs=1e-12)
        assert tg.fprime + tg.slope * (tg.zero - tg.x) == pytest.approx(0.0, abs=1e-15)
    # f on the grid is the objective itself; the iterates sit on it (the trace's loss)
    prob = _ctx([run]).problem
    i = len(d.theta) // 3
    assert d.f[i] == pytest.approx(prob.objective.value(np.array([d.theta[i]]), prob.X, prob.y), rel=1e-14)
    assert np.allclose(d.iterates[0].f, [prob.objective.value(np.array([t]), prob.X, prob.y) for t in d.iterates[0].theta],
                       rtol=1e-12)
    assert lecture_figures.render(d) is not None


def test_x_squared_curve_and_tangents_on_request(tmp_path):
    run = _run(tmp_path, {"model": {"name": "function", "function": "x_squared", "init": [3.0]},
                          "optimizer": {"name": "sgd", "lr": 0.1}, "train": {"steps": 5}})
    assert lecture.build_contour(_ctx([run])).fprime is None  # gd: no tangents unless asked
    d = lecture.build_contour(_ctx([run], tangents=True, xlim=(-4.0, 4.0)))
    assert d.theta[0] == -4.0 and d.theta[-1] == 4.0
    np.testing.assert_allclose(d.f, d.theta**2, rtol=1e-15)
    np.testing.assert_allclose(d.fprime, 2 * d.theta, rtol=1e-15)
    assert all(tg.zero == 0.0 for tg in d.tangents)  # f' = 2x: every tangent is f' itself, zero at 0


def test_himmelblau_contours_mark_all_four_minimisers(tmp_path):
    run = _run(tmp_path, {"model": {"name": "function", "function": "himmelblau", "init": [0.0, 0.0]},
                          "optimizer": {"name": "sgd", "lr": 0.01}, "train": {"steps": 30}})
    ctx = _ctx([run])
    lc = lecture.build_contour(ctx)
    assert isinstance(lc, lecture.LectureContour) and len(lc.overlay.minimizers) == 4
    fn = ctx.problem.objective
    for a, c in lc.overlay.minimizers:
        assert fn.value(np.array([a, c])) < 1e-20
        assert lc.cd.A[0] <= a <= lc.cd.A[-1] and lc.cd.C[0] <= c <= lc.cd.C[-1]
    # the field is f − f* itself at grid points (never interpolated)
    cd = lc.cd
    for i, j in ((3, 5), (80, 40), (150, 120)):
        assert cd.Z[i, j] == pytest.approx(fn.value(np.array([cd.A[j], cd.C[i]])) - 0.0, rel=1e-12, abs=1e-12)
    sd = catalog.build_surface(ctx)
    assert isinstance(sd, lecture.SurfaceData) and sd.F.shape == cd.Z.shape
    ok = np.isfinite(sd.F)
    np.testing.assert_allclose(sd.F[ok], (cd.Z + cd.f_ref)[ok], rtol=1e-15)
    assert ok.mean() >= 0.97  # only the top 2% are cut


def test_constrained_contours_feasible_region_and_both_optima(tmp_path):
    run = _run(tmp_path, QUAD)
    ctx = _ctx([run], xlim=(-1.5, 2.5), ylim=(-1.5, 2.5))
    lc = lecture.build_contour(ctx)
    cd, ov = lc.cd, lc.overlay
    assert (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1]) == (-1.5, 2.5, -1.5, 2.5)
    cs = lecture.constraint_set(run)
    rng = np.random.default_rng(0)
    T = rng.normal(size=(50, 2))
    np.testing.assert_array_equal(lecture.g_rows(cs, T), np.array([cs.g(t) for t in T]))
    # the mask is x1 + x2 <= -0.5 on the grid
    AA, CC = np.meshgrid(cd.A, cd.C)
    np.testing.assert_array_equal(ov.feasible, AA + CC - (-0.5) <= 0)
    # unconstrained θ* = −A⁻¹b, constrained θ* from the summary on the boundary
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([-1.0, 0.0])
    np.testing.assert_allclose(ov.free_star, -np.linalg.solve(A, b), atol=1e-12)
    assert cd.star[0] + cd.star[1] == pytest.approx(-0.5, abs=1e-12)
    # contours are re-based on the unconstrained minimum: f − f_free ≥ 0
    assert np.nanmin(cd.Z) >= -1e-12 and cd.f_ref == pytest.approx(0.5 * b @ -np.linalg.solve(A, b), abs=1e-14)
    # the constraint is active: one level is f(θ*) − f_free (the contour touching it at θ*), and
    # the values the path crosses get several levels, not the one or two of 1, 2, 5 per decade
    z_star = run.f_star - cd.f_ref
    assert z_star > 0.1 and np.isclose(cd.levels, z_star, rtol=1e-12, atol=0).sum() == 1
    z_path = run.trace["loss"].to_numpy() - cd.f_ref
    assert ((cd.levels >= z_star) & (cd.levels <= z_path.max())).sum() >= 3
    assert "through θ*" in cd.level_rule and any("touches the constraint" in n for n in cd.notes)
    fig = lecture_figures.lecture_contour_figure(lc)
    assert fig.axes


@pytest.mark.parametrize("through,expected", [
    (None, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]),  # 1, 2, 5 per decade, four decades below the maximum
    (2.1, [0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2.1, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100]),  # 2: within 10%
    (50.0, [0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100]),  # from two decades below
    (200.0, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]),  # above the field's maximum: ignored
    (-1.0, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]),  # not positive (the constraint inactive): ignored
])
def test_contour_levels_table(through, expected):
    from optrun.plots.contour import contour_levels, draws_through

    Z = np.linspace(0.0, 100.0, 1001)  # positive values 0.1 .. 100
    np.testing.assert_allclose(contour_levels(Z, through=through), expected, rtol=1e-12)
    assert draws_through(Z, through) == (through is not None and 0.1 < through < 100)


@pytest.mark.parametrize("lo,hi,through", [(9.5, 10.5, 10.0), (9.0, 12.0, 10.0), (1e-12, 100.0, 1e-8)])
def test_contour_levels_through_a_narrow_or_deep_field(lo, hi, through):
    # a frame zoomed in on θ* (contourf needs at least 2 increasing levels), and a level far
    # below the maximum (at most six decades of levels)
    from optrun.plots.contour import contour_levels

    levels = contour_levels(np.linspace(lo, hi, 50), through=through)
    assert 4 <= len(levels) <= 40 and np.all(np.diff(levels) > 0)
    assert np.isclose(levels, through, rtol=1e-12, atol=0).sum() == 1
    others = levels[~np.isclose(levels, through, rtol=1e-12, atol=0)]
    assert others[0] >= hi * 1e-6 * (1 - 1e-12) and levels[-1] <= hi * (1 + 1e-12)


def test_duality_arrays_weak_duality_and_dual_function(tmp_path):
    run = _run(tmp_path, QUAD)
    dd = lecture.duality_data(*(lambda c: (c.groups, c.problem))(_ctx([run])))
    p_star = run.f_star
    assert dd.p_star == p_star
    r = dd.runs[0]
    assert np.all(r.dual <= p_star + 1e-12)  # weak duality at every row
    np.testing.assert_allclose(r.gap, r.primal - r.dual, rtol=1e-12, atol=1e-12)
    df = dd.dual_function
    assert df is not None and df.lam_t is not None  # replayed multipliers give the logged dual values
    lam_star = run.summary["multipliers"]["inequality"][0]
    assert df.lam_star == pytest.approx(lam_star)
    # d is concave with its maximum d* = p* at λ* (strong duality for a convex QP)
    k = int(np.argmax(df.d))
    assert abs(df.lam[k] - lam_star) <= df.lam[1] - df.lam[0]
    from optrun.constraints import dual_quadratic

    H, c, f0 = lecture.quadratic_model(run, _ctx([run]).problem)
    assert dual_quadratic(lecture.constraint_set(run), H, c, f0, (np.array([lam_star]), np.zeros(0))) == \
        pytest.approx(p_star, abs=1e-12)
    assert np.all(np.diff(df.d, 2) <= 1e-12)
    assert df.lam_t[-1] == pytest.approx(lam_star, rel=1e-3)
    lecture_figures.render(dd)


def test_regularisation_path_from_run_folders(tmp_path):
    base = {"dataset": {"name": "synthetic_linear", "n_samples": 60, "n_features": 4, "noise": 0.5},
            "model": {"name": "linear"}, "loss": {"name": "half_mse"}, "optimizer": {"name": "fista"},
            "batch": "full", "train": {"steps": 3}}
    runs = []
    for i, l1 in enumerate((0.001, 0.05, 0.3, 5.0)):
        cfg = {**base, "loss": {"name": "half_mse", "l1": l1}}
        runs.append(_run(tmp_path, cfg, f"r{i}"))
    pf = lecture.path_data(runs[::-1], "loss.l1")
    np.testing.assert_array_equal(pf.x, [0.001, 0.05, 0.3, 5.0])
    assert pf.source == "θ*" and pf.names == ["w_x1", "w_x2", "w_x3", "w_x4"]
    for row, r in zip(pf.coef, runs):  # the coefficients are summary.json's θ* (weights only)
        np.testing.assert_array_equal(row, r.theta_star[:4])
    l1_max = runs[0].summary["l1_max"]
    assert pf.l1_max == pytest.approx(l1_max) and 5.0 > l1_max
    assert np.all(pf.coef[-1] == 0)  # beyond l1_max every weight is zero
    nz = np.abs(pf.coef) > 1e-10
    assert len(pf.changes) == int(np.sum(np.any(nz[1:] != nz[:-1], axis=1)))
    assert all(a < x < b for (x, _), a, b in zip(pf.changes, pf.x[:-1], pf.x[1:])) or len(pf.changes) < len(pf.x)
    # the changes are numbered on the figure (no rotated names over the curves) and spelled out in the notes
    fig = lecture_figures.render(pf)
    marks = [t.get_text() for t in fig.axes[0].texts]
    assert marks == [str(i) for i in range(1, len(pf.changes) + 1)]
    assert all(f"{i} (≈{x:.3g}): {text}" in " ".join(pf.notes) for i, (x, text) in enumerate(pf.changes, start=1))
    assert isinstance(lecture.path_data(runs, "loss.l2"), lecture.PathFigure) is False  # l2 = 0 everywhere


def test_jensen_chord_closed_forms():
    t = np.linspace(-1, 1, 201)
    (ta, tb), h = lecture.jensen_chord(t, t**2)
    assert h <= 1e-15 and (ta, tb) == (-1.0, 1.0)  # convex: the widest chord, never below f
    (ta, tb), h = lecture.jensen_chord(t, -(t**2))
    assert (ta, tb) == (-1.0, 1.0) and h == pytest.approx(1.0, abs=1e-3)  # concave: f is 1 above the chord at 0


def test_bce_mse_side_by_side_and_convexity(tmp_path):
    base = {"dataset": {"name": "synthetic_logistic", "n_samples": 80, "n_features": 1},
            "model": {"name": "logistic", "init": [-3.0, 3.0]}, "optimizer": {"name": "sgd", "lr": 0.5},
            "batch": "full", "train": {"steps": 40}}
    runs = [_run(tmp_path, {**base, "loss": {"name": n}}, n) for n in ("bce", "mse")]
    ctx = _ctx(runs)
    cp = lecture.build_contour(ctx)
    assert isinstance(cp, lecture.ContourPanels) and len(cp.panels) == 2
    a, b = (p.cd for p in cp.panels)
    np.testing.assert_array_equal(a.A, b.A)  # one frame
    np.testing.assert_array_equal(a.C, b.C)
    assert not any("different problem" in n for n in cp.notes + a.notes + b.notes)
    assert len(a.paths) == len(b.paths) == 1
    cv = lecture.convexity_data(ctx.groups)
    bce, mse = cv.slices
    assert bce.violation <= 1e-12  # bce of a logistic model is convex along every line
    assert mse.violation > 1e-3  # mse of a logistic model is not: Jensen fails on this line
    # the slice is the loss itself on the line
    prob, _ = lecture.load_problem(runs[0])
    d = runs[0].params[0] - runs[0].theta_star
    d /= np.linalg.norm(d)
    k = 17
    assert bce.f[k] == pytest.approx(prob.objective.value(runs[0].theta_star + bce.t[k] * d, prob.X, prob.y), rel=1e-13)
    lecture_figures.render(cp)
    lecture_figures.render(cv)


def test_plain_contour_unchanged_and_cli_flags(tmp_path, base_config):
    from typer.testing import CliRunner

    from optrun.cli.app import app

    run = _run(tmp_path, base_config)
    ctx = _ctx([run])
    assert isinstance(lecture.build_contour(ctx), ContourData)  # data, no constraints: the usual figure
    (path,) = catalog.draw_requested(ctx.groups, ["surface"], tmp_path / "figs")
    assert path.name == "surface.png" and path.stat().st_size > 10_000
    fn = _run(tmp_path, {"model": {"name": "function", "function": "x_squared", "init": [3.0]},
                         "optimizer": {"name": "sgd", "lr": 0.3}, "train": {"steps": 3}}, "fn")
    res = CliRunner().invoke(app, ["plot", str(fn.path), "--path", "loss.l1", "--out", str(tmp_path / "p"), "-q"])
    assert res.exit_code == 0, res.output  # one run: path.png says why there is no path
    assert [p.name for p in (tmp_path / "p").rglob("*.png")] == ["path.png"]
    assert not any(s.applies([fn]) for name, s in catalog.FIGURES.items() if name == "data")  # x_squared has no data
    for args in (["--xlim", "2,1"], ["--ylim", "a,b"], ["--path", "optimizer.lr"]):
        assert CliRunner().invoke(app, ["plot", str(fn.path), *args]).exit_code == 2


def test_duality_legend_keys_quantities_in_grey_and_runs_by_colour(tmp_path):
    """Two runs: the legend names each run in its colour and each quantity (f, d, the gaps) in a
    neutral grey by its line style; no quantity is keyed in one run's colour. One run: its lines
    are labelled directly, the dashed d(λ_t) included."""
    import copy

    from matplotlib.colors import to_hex

    slow = copy.deepcopy(QUAD)
    slow["constraints"]["dual_lr"] = 0.2
    runs = [_run(tmp_path, QUAD, "a"), _run(tmp_path, slow, "b")]

    def legend(runs_):
        ctx = _ctx(runs_)
        fig = lecture_figures.render(lecture.duality_data(ctx.groups, ctx.problem))
        leg = fig.findobj(lambda a: a.__class__.__name__ == "Legend")[0]
        return {t.get_text(): (to_hex(h.get_color()), h.get_linestyle())
                for t, h in zip(leg.get_texts(), leg.legend_handles) if hasattr(h, "get_linestyle")}, ctx

    entries, ctx = legend(runs)
    colours = {to_hex(g.color) for g in ctx.groups}
    assert len(colours) == 2
    quantities = {k: v for k, v in entries.items() if "θ_t" in k or "λ_t)" in k and not k.startswith("the run")}
    assert {k.split(" (")[0].split(",")[0] for k in quantities} >= {"f(θ_t)", "d(λ_t)", "|f(θ_t) − d(λ_t)|"}
    assert all(c == lecture_figures.STYLE_KEY for c, _ in quantities.values())
    assert {c for k, (c, _) in entries.items() if k not in quantities and not k.startswith(("p*", "the run", "d(λ)", "λ*"))} == colours
    single, ctx1 = legend(runs[:1])
    run_colour = to_hex(ctx1.groups[0].color)
    assert single["f(θ_t) (solid)"] == (run_colour, "-") and single["d(λ_t) (dashed)"] == (run_colour, "--")


def test_the_lectures_equality_dual_function(tmp_path):
    # LECTURE.md Part 2 §5: min x1² + x2² s.t. x1 + x2 = 2; L = x1² + x2² + ν(x1 + x2 − 2) gives
    # θ(ν) = (−ν/2, −ν/2) and d(ν) = −ν²/2 − 2ν, largest at ν* = −2 with d* = 2 = p*
    cfg = Path(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    res = optrun.train(cfg, overrides=["constraints.method=primal_dual"], out=tmp_path, plots=False)
    run = rundata.load_run(res.run_dir)
    dd = lecture.duality_data(*(lambda c: (c.groups, c.problem))(_ctx([run])))
    df = dd.dual_function
    assert df is not None and df.symbol == "ν" and df.lam_star == pytest.approx(-2.0, abs=1e-9)
    np.testing.assert_allclose(df.d, -df.lam**2 / 2 - 2 * df.lam, rtol=1e-12, atol=1e-12)
    assert df.lam.min() < -2 < df.lam.max() and df.d.max() == pytest.approx(2.0, abs=1e-3)
    # the replayed ν_t give the logged dual values, and climb to ν*
    assert df.lam_t is not None and df.lam_t[0] == 0.0 and df.lam_t[-1] == pytest.approx(-2.0, abs=1e-6)
    np.testing.assert_allclose(-df.lam_t**2 / 2 - 2 * df.lam_t, run.trace["dual_value"], rtol=1e-9, atol=1e-12)
    fig = lecture_figures.duality_figure(dd)
    assert any(ax.get_xlabel().startswith("ν") for ax in fig.axes)
    from matplotlib.text import Text

    words = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "d(ν_t)" in words and "d(λ_t)" not in words  # one letter for the equality's multiplier
    assert ", right)" not in words  # the gaps are in the middle panel now: no position in the key


def test_an_equality_alone_has_no_shaded_region_in_the_caption(tmp_path):
    cfg = Path(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    run = rundata.load_run(optrun.train(cfg, out=tmp_path, plots=False).run_dir)
    lc = lecture.build_contour(_ctx([run]))
    text = " ".join(lc.overlay.notes)
    assert "dashed: the equalities" in text and "shaded" not in text and lc.overlay.gmax is None


def test_constraint_methods_share_one_contour_panel(tmp_path):
    # the method (and its step sizes) is how the problem is solved, not which problem: the three
    # Lagrange methods go on one panel, one frame with one scale, instead of three
    from optrun.plots.lecture.objective import split_by_objective

    cfg = Path(__file__).resolve().parents[1] / "configs" / "lagrange_example.yaml"
    runs = [rundata.load_run(optrun.train(cfg, overrides=[f"constraints.method={m}", "train.steps=40"],
                                          out=tmp_path / m, plots=False).run_dir)
            for m in ("project", "primal_dual", "augmented_lagrangian")]
    groups, _ = rundata.group_runs(runs)
    assert len(groups) == 3 and len(split_by_objective(groups)) == 1
    other = rundata.load_run(optrun.train(cfg, overrides=["constraints.equality.b=[1.0]", "train.steps=5"],
                                          out=tmp_path / "b1", plots=False).run_dir)
    assert len(split_by_objective(rundata.group_runs(runs + [other])[0])) == 2  # another set: its own panel


@pytest.mark.parametrize("lo, hi, expected", [
    (-8.0, 8.0, [-6, -4, -2, 0, 2, 4, 6]),  # x²y on [-2, 2]²: steps of 2, zero among them
    (-360000.0, 4.0, [-350000, -300000, -250000, -200000, -150000, -100000, -50000, 0]),
    (0.0, 1.0, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
])
def test_linear_levels_are_round_equal_steps_inside_the_range(lo, hi, expected):
    from optrun.plots.contour import linear_levels

    np.testing.assert_allclose(linear_levels(np.linspace(lo, hi, 101)), expected, rtol=1e-12, atol=1e-12)


def test_an_unbounded_function_is_drawn_at_equal_steps_of_f(tmp_path):
    # x² − y² is unbounded below: f − (lowest value in the frame) at log levels put every level
    # in the corners where f dives; f at equal steps draws the saddle's hyperbolas
    cfg = Path(__file__).resolve().parents[1] / "configs" / "saddle.yaml"
    run = rundata.load_run(optrun.train(cfg, out=tmp_path, plots=False).run_dir)
    lc = lecture.build_contour(_ctx([run]))
    cd = getattr(lc, "cd", lc)  # a LectureContour, or the ContourData when there is no overlay
    assert cd.linear and cd.zlabel == "f(θ)" and cd.f_ref == 0.0
    AA, CC = np.meshgrid(cd.A, cd.C)
    np.testing.assert_allclose(cd.Z, AA**2 - CC**2, rtol=1e-12, atol=1e-12)  # f itself
    steps = np.diff(cd.levels)
    assert np.allclose(steps, steps[0]) and (cd.levels < 0).any() and (cd.levels > 0).any()
    assert any("contours at equal steps of f" in n for n in cd.notes)
    himmelblau = rundata.load_run(optrun.train(Path(cfg).with_name("himmelblau.yaml"), out=tmp_path / "h",
                                               plots=False).run_dir)
    hb = lecture.build_contour(_ctx([himmelblau]))
    assert not getattr(hb, "cd", hb).linear  # bounded below: log levels of f − f*
