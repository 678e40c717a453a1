"""Figures: the arrays handed to matplotlib are checked numerically; every figure renders headless.

No pixel comparisons: the high layer (:mod:`optrun.plots.arrays`) is tested against the objective
and against hand-made numbers, the low layer only for rendering without error into valid files.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

import optrun
from optrun.plots import arrays, colors
from optrun.plots import figures as F
from optrun.plots.draw import draw_groups, draw_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lin_cfg(n_features=1, steps=30, lr=0.3, mode="full", intercept=True, seed=0, **extra):
    cfg = {
        "seed": seed,
        "dataset": {"name": "synthetic_linear", "n_samples": 24, "n_features": n_features, "noise": 0.3,
                    "condition_number": 5.0},
        "model": {"name": "linear", "fit_intercept": intercept},
        "loss": "half_mse",
        "optimizer": {"name": "sgd", "lr": lr},
        "batch": {"mode": mode, "size": 4} if mode == "minibatch" else mode,
        "train": {"steps": steps},
    }
    for k, v in extra.items():
        cfg[k] = v
    return cfg


def train(cfg, tmp_path, **kw):
    return optrun.train(cfg, out=tmp_path / "runs", plots=False, **kw)


def groups_of(*run_dirs, labels=None):
    runs = [arrays.load_run(d) for d in run_dirs]
    return arrays.group_runs(runs, labels)[0]


@pytest.fixture(scope="module")
def mod_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("plots")


@pytest.fixture(scope="module")
def two_param_run(mod_tmp):
    return train(lin_cfg(), mod_tmp).run_dir


@pytest.fixture(scope="module")
def four_param_run(mod_tmp):
    return train(lin_cfg(n_features=3, lr=0.05, steps=40), mod_tmp).run_dir


# --------------------------------------------------------------------------------------------
# contours: native axes, projection, exact values


def test_two_parameters_native_axes_zero_residual(two_param_run):
    groups = groups_of(two_param_run)
    cd = arrays.contour_data(groups, "step")
    assert cd.native
    np.testing.assert_array_equal(cd.basis, np.eye(2))
    np.testing.assert_array_equal(cd.origin, np.zeros(2))
    run = groups[0].first
    P = run.params
    a, c, off = arrays.project(P, cd.origin, cd.basis)
    assert np.all(off == 0.0)
    np.testing.assert_array_equal(cd.paths[0].a, P[:, 0])  # drawn coordinates are the parameters
    np.testing.assert_array_equal(cd.paths[0].c, P[:, 1])
    assert cd.paths[0].off_plane == 0.0
    assert cd.star == pytest.approx(tuple(run.theta_star))
    assert "slope" in cd.xlabel and "intercept" in cd.ylabel


def _objective_on_grid(cd, problem, n=12, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        i, j = rng.integers(len(cd.C)), rng.integers(len(cd.A))
        theta = cd.theta_at(cd.A[j], cd.C[i])
        yield cd.Z[i, j], problem.objective.value(theta, problem.X, problem.y) - cd.f_ref


@pytest.mark.parametrize("case", ["linear", "ridge", "logistic", "logistic_l2"])
def test_contour_values_equal_the_objective(case, tmp_path):
    if case.startswith("logistic"):
        cfg = {
            "seed": 1,
            "dataset": {"name": "synthetic_logistic", "n_samples": 40, "n_features": 1, "label_noise": 0.15},
            "model": "logistic",
            "loss": {"name": "bce", "l2": 0.05 if case == "logistic_l2" else 0.0},
            "optimizer": {"name": "adam", "lr": 0.1},
            "batch": "full",
            "train": {"steps": 20},
        }
    else:
        cfg = lin_cfg(loss={"name": "mse", "l2": 0.3 if case == "ridge" else 0.0})
    run = train(cfg, tmp_path).run_dir
    groups = groups_of(run)
    problem, why = arrays.load_problem(groups[0].first)
    assert why is None
    cd = arrays.contour_data(groups, "step", problem=problem)
    assert cd.f_ref == pytest.approx(groups[0].first.f_star)
    for got, want in _objective_on_grid(cd, problem):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12 * max(1.0, abs(cd.f_ref)))
    assert np.nanmin(cd.Z) > -1e-9 * max(1.0, abs(cd.f_ref))  # f >= f* on the slice
    assert np.all(np.diff(cd.levels) > 0) and cd.levels[0] > 0


def test_projected_plane_hessian_eigenvectors(four_param_run):
    groups = groups_of(four_param_run)
    run = groups[0].first
    problem, _ = arrays.load_problem(run)
    cd = arrays.contour_data(groups, "step", problem=problem)
    assert not cd.native
    U = cd.basis
    np.testing.assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(cd.origin, run.theta_star)
    H = problem.objective.hessian(run.theta_star, problem.X, problem.y)
    ev = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(H @ U[:, 0], ev[-1] * U[:, 0], atol=1e-9 * ev[-1])  # steepest
    np.testing.assert_allclose(H @ U[:, 1], ev[0] * U[:, 1], atol=1e-9 * ev[-1])  # flattest
    # a point of the plane projects back onto itself with zero residual
    theta = cd.theta_at(0.3, -0.7)
    a, c, off = arrays.project(theta[None, :], cd.origin, U)
    assert (a[0], c[0]) == pytest.approx((0.3, -0.7)) and off[0] == pytest.approx(0.0, abs=1e-12)
    # the reported off-plane share is the real one
    P = run.params
    D = P - cd.origin
    resid = np.linalg.norm(D - (D @ U) @ U.T, axis=1)
    assert cd.paths[0].off_plane == pytest.approx(resid.max() / np.linalg.norm(D, axis=1).max())
    assert any("leave the plane" in n for n in cd.notes)
    for got, want in _objective_on_grid(cd, problem):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_projected_plane_pca_holds_the_paths(four_param_run, mod_tmp):
    other = train(lin_cfg(n_features=3, lr=0.02, steps=40), mod_tmp).run_dir
    groups = groups_of(four_param_run, other)
    problem, _ = arrays.load_problem(groups[0].first)
    hess = arrays.contour_data(groups, "step", "hessian", problem=problem)
    pca = arrays.contour_data(groups, "step", "pca", problem=problem)
    np.testing.assert_allclose(pca.basis.T @ pca.basis, np.eye(2), atol=1e-12)
    D = np.vstack([g.first.params - pca.origin for g in groups])

    def captured(U):
        return np.sum((D @ U) ** 2) / np.sum(D**2)

    assert captured(pca.basis) >= captured(hess.basis) - 1e-12  # the best plane through theta*
    share = float(next(n for n in pca.notes if "holds" in n).split("holds ")[1].split("%")[0]) / 100
    assert share == pytest.approx(captured(pca.basis), abs=2e-3)


def test_no_theta_star_contours_against_lowest_value(tmp_path):
    # logistic regression with the (non-convex) mse loss: no f* (l1 problems have an exact one since 0.2)
    run = train({"seed": 0, "dataset": {"name": "synthetic_logistic", "n_samples": 40, "n_features": 1},
                 "model": "logistic", "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.3},
                 "batch": "full", "train": {"steps": 30}}, tmp_path).run_dir
    groups = groups_of(run)
    assert groups[0].first.f_star is None
    cd = arrays.contour_data(groups, "step")
    assert np.nanmin(cd.Z) == pytest.approx(0.0, abs=1e-12)
    assert "min" in cd.zlabel and any("f*" in n for n in cd.notes)
    problem, _ = arrays.load_problem(groups[0].first)
    for got, want in _objective_on_grid(cd, problem):  # the generic (non-least-squares) path
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    panel = arrays.curve_panel(groups, "step", "subopt")
    assert panel.empty_reason and "f*" in panel.empty_reason


def test_contours_only_for_runs_on_the_same_problem(two_param_run, tmp_path):
    other_data = train(lin_cfg(dataset={"name": "synthetic_linear", "n_samples": 24, "n_features": 1, "noise": 2.0}),
                       tmp_path).run_dir
    other_seed = train(lin_cfg(seed=1), tmp_path).run_dir
    other_init = train(lin_cfg(model={"name": "linear", "init": [1.0, -1.0]}), tmp_path).run_dir
    cd = arrays.contour_data(groups_of(two_param_run, other_data, other_init), "step")
    assert len(cd.paths) == 2 and any("different problem" in n for n in cd.notes)  # init does not matter
    cd = arrays.contour_data(groups_of(two_param_run, other_seed), "step")
    assert len(cd.paths) == 1 and any("seed 0 only" in n for n in cd.notes)


# --------------------------------------------------------------------------------------------
# curves: bands, floors, divergence


def test_band_stats_contains_median():
    rng = np.random.default_rng(0)
    x = np.arange(50.0)
    ys = [np.exp(-0.1 * x) * (1 + 0.3 * rng.standard_normal(50)) ** 2 for _ in range(7)]
    grid, med, lo, hi = arrays.band_stats([x] * 7, ys, [False] * 7)
    np.testing.assert_array_equal(grid, x)
    Y = np.vstack(ys)
    np.testing.assert_allclose(med, np.median(Y, axis=0))
    np.testing.assert_allclose(lo, np.quantile(Y, 0.1, axis=0))
    assert np.all(lo <= med) and np.all(med <= hi)
    # different x grids: interpolated; a converged run is carried at its last value
    xs = [np.linspace(0, 10, 11), np.linspace(0, 10, 21), np.linspace(0, 6, 7)]
    ys = [1.0 + 0 * xs[0], 2.0 + 0 * xs[1], 3.0 + 0 * xs[2]]
    grid, med, lo, hi = arrays.band_stats(xs, ys, [False, False, True])
    assert grid[-1] == 10 and np.all(med == 2.0) and np.all(lo <= med) and np.all(med <= hi)
    grid, med, _, _ = arrays.band_stats(xs, ys, [False, False, False])
    assert np.all(med[grid <= 6] == 2.0) and np.all(med[grid > 6] == 1.5)  # 2 of 3 runs left


def test_seed_bands_in_a_real_panel(tmp_path):
    dirs = [train(lin_cfg(mode="stochastic", lr=0.05, steps=40, seed=s), tmp_path).run_dir for s in range(4)]
    groups = groups_of(*dirs)
    assert len(groups) == 1 and len(groups[0].runs) == 4 and "4 seeds" in arrays.figure_title(groups)[1]
    for y in ("loss", "subopt", "grad_norm", "dist"):
        panel = arrays.curve_panel(groups, "epoch", y)
        (band,) = panel.bands
        ok = np.isfinite(band.median)
        assert ok.sum() > 10 and band.n == 4
        assert np.all(band.lo[ok] <= band.median[ok] * (1 + 1e-12))
        assert np.all(band.median[ok] <= band.hi[ok] * (1 + 1e-12))


def test_subopt_floor_is_stated_never_an_empty_axis(two_param_run):
    groups = groups_of(two_param_run)
    run = groups[0].first
    run.trace.data["loss"][-3:] = run.f_star - 1e-15  # rounding below f*
    panel = arrays.curve_panel(groups, "step", "subopt")
    assert panel.log and panel.floor > 0
    (s,) = panel.series
    assert np.all(s.y >= panel.floor) and np.all(np.isfinite(s.y))
    assert any("floor" in n for n in panel.notes)
    lo, hi = panel.ylim
    assert 0 < lo < hi and np.isfinite(hi)


def test_diverged_run_marked_and_range_kept_readable(tmp_path):
    good = train(lin_cfg(lr=0.3), tmp_path).run_dir
    bad = train(lin_cfg(lr=2.6, steps=200), tmp_path).run_dir
    groups = groups_of(good, bad)
    assert groups[1].first.status == "diverged" and "diverged" in groups[1].label
    for y in ("loss", "subopt"):
        panel = arrays.curve_panel(groups, "step", y)
        (m,) = panel.markers
        assert m.clipped and m.color == groups[1].color
        f0 = groups[0].first.trace["loss"].iloc[0]
        assert panel.ylim[1] < 100 * f0  # not stretched to 1e10 by the diverged run
    params = arrays.params_data(groups, "step")
    for pp in params.panels:
        for m in pp.markers:
            assert pp.ylim[0] <= m.y <= pp.ylim[1]
    cd = arrays.contour_data(groups, "step")
    assert [p.exits for p in cd.paths] == [False, True]


# --------------------------------------------------------------------------------------------
# data space, colours


def test_dataspace_lines_are_the_model(two_param_run, tmp_path):
    groups = groups_of(two_param_run)
    dd = arrays.dataspace_data(groups)
    run = groups[0].first
    rows = arrays.snapshot_rows(run.trace["step"].to_numpy())
    assert rows[0] == 0 and rows[-1] == len(run.trace) - 1
    for line, row in zip(dd.panels[0].lines, rows):
        w, b = run.params[row]
        np.testing.assert_allclose(line.y, w * line.x + b)
    w, b = run.theta_star
    np.testing.assert_allclose(dd.panels[0].star.y, w * dd.panels[0].star.x + b)
    # logistic: probabilities, and the boundary where p = 1/2
    cfg = {"seed": 1, "dataset": {"name": "synthetic_logistic", "n_samples": 40, "n_features": 1},
           "model": "logistic", "optimizer": {"name": "sgd", "lr": 1.0}, "batch": "full", "train": {"steps": 15}}
    lg = groups_of(train(cfg, tmp_path).run_dir)
    dd = arrays.dataspace_data(lg)
    last = dd.panels[0].lines[-1]
    assert np.all((last.y > 0) & (last.y < 1))
    w, b = lg[0].first.params[-1]
    assert last.boundary == pytest.approx(-b / w)
    assert arrays.dataspace_data(groups_of(train(lin_cfg(n_features=2), tmp_path).run_dir)) == "not a one-feature problem"


def test_colours_fixed_per_optimizer_and_grouped_by_family():
    assert colors.optimizer_color("adam") == colors.FIXED["adam"]
    assert colors.family_of("nag") == "momentum" and colors.family_of("rmsprop") == "adaptive"
    assert colors.family_of("newton") == "newton" and colors.optimizer_color("newton") == "#000000"
    for name in ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "amsgrad",
                 "adamax", "nadam"):
        fam = colors.family_of(name)
        if name != "adadelta":
            assert colors.optimizer_color(name) in colors.FAMILY_RAMPS[fam]
    assert colors.effective_name({"name": "sgd", "momentum": 0.9}) == "momentum"
    assert colors.effective_name({"name": "sgd", "momentum": 0.9, "nesterov": True}) == "nag"
    styles, note = colors.assign_styles([("adam", "adam"), ("sgd", "gd")])
    assert [s["color"] for s in styles] == [colors.FIXED["adam"], colors.FIXED["sgd"]] and note == ""
    styles, note = colors.assign_styles([("sgd", "gd")] * 3)
    assert len({s["color"] for s in styles}) == 3 and "varied setting" in note
    # a batch-mode comparison: gd (full batch) and sgd (sampled) are one optimizer
    styles, note = colors.assign_styles([("gd", "gd"), ("sgd", "gd"), ("sgd", "gd")])
    assert len({s["color"] for s in styles}) == 3 and "all runs use sgd (gd on the full batch)" in note
    styles, _ = colors.assign_styles([("adam", "adam"), ("adam", "adam"), ("sgd", "gd")])
    assert styles[0]["linestyle"] != styles[1]["linestyle"]


def test_labels_name_what_differs():
    from optrun import config as C

    base = lin_cfg()

    c1 = C.load(base, {"optimizer": {"name": "adam", "lr": 0.01}})
    c2 = C.load(base, {"optimizer": {"name": "sgd", "lr": 0.1}})
    c3 = C.load(base, {"batch.mode": "stochastic"})
    # plain sgd on the full batch is gradient descent, as the lecture names it; sampled, it is sgd
    assert arrays.make_labels([c1, c2]) == ["adam lr=0.01", "gd lr=0.1"]
    c2s = C.load(base, {"optimizer": {"name": "sgd", "lr": 0.1}, "batch.mode": "stochastic"})
    assert arrays.make_labels([c1, c2s]) == ["adam lr=0.01, full batch", "sgd lr=0.1, stochastic (size 1)"]
    cm = C.load(base, {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}})
    assert arrays.make_labels([c1, cm])[1].startswith("sgd lr=0.1")  # momentum: not plain gd
    assert arrays.make_labels([C.load(base), c3]) == ["full batch", "stochastic (size 1)"]
    c4 = C.load(base, {"optimizer.lr": 0.01})
    assert arrays.make_labels([C.load(base), c4]) == ["lr=0.3", "lr=0.01"]
    c5 = C.load(base, {"dataset.noise": 1.0})
    assert arrays.make_labels([C.load(base), c5]) == ["noise=0.3", "noise=1"]


# --------------------------------------------------------------------------------------------
# rendering (headless): every figure, png and svg, and the failure modes


def test_draw_run_every_figure_png(two_param_run):
    from optrun.plots.choices import FIGURE_NAMES
    from optrun.plots.style import FigureOptions

    # train's own figures by default: not grad_norm, data, theory (issue #16: drawing stays cheap)
    assert {p.name for p in draw_run(two_param_run)} == {"loss.png", "params.png", "contour.png"}
    written = draw_run(two_param_run, options=FigureOptions(figures=FIGURE_NAMES))  # --figures all
    names = {p.name for p in written}
    assert names == {"loss.png", "grad_norm.png", "params.png", "contour.png", "data.png", "theory.png"}
    for p in written:
        assert p.parent == two_param_run / "plots" and p.read_bytes()[:8] == PNG_MAGIC
    assert not list((two_param_run / "plots").glob("*_error.txt"))


def test_draw_overlay_svg_and_gif(four_param_run, mod_tmp):
    other = train(lin_cfg(n_features=3, lr=0.05, steps=40, optimizer={"name": "adam", "lr": 0.05}), mod_tmp).run_dir
    out = mod_tmp / "overlay"
    runs = [arrays.load_run(d) for d in (four_param_run, other)]
    groups, note = arrays.group_runs(runs)
    written = draw_groups(groups, out, fmt="svg", x="epoch", projection="pca", animate=True, style_note=note)
    names = {p.name for p in written}
    assert {"loss.svg", "grad_norm.svg", "params.svg", "contour.svg", "contour.gif"} <= names
    assert "data.svg" not in names  # three features: no data-space view
    for p in written:
        if p.suffix == ".svg":
            assert p.read_text()[:200].lstrip().startswith("<?xml")
    from PIL import Image

    gif = Image.open(out / "contour.gif")
    assert 2 <= gif.n_frames <= 200
    assert not list(out.glob("*_error.txt"))


def test_curve_figures_for_every_y_and_x(two_param_run, tmp_path):
    groups = groups_of(two_param_run)
    for y in arrays.Y_KINDS:
        for x in arrays.X_COLUMNS:
            panel = arrays.curve_panel(groups, x, y)
            assert panel.series and panel.empty_reason is None
    fig = F.curves_figure([arrays.curve_panel(groups, "time", "dist", log=False)], "t", "s", ["a note"])
    assert F.save_figure(fig, tmp_path / "dist.png").read_bytes()[:8] == PNG_MAGIC


def test_data_moved_away_draws_what_it_can(base_config, linear_csv, tmp_path, capsys):
    run = train(base_config, tmp_path).run_dir
    linear_csv.unlink()
    written = draw_run(run)
    assert {p.name for p in written} == {"loss.png", "params.png", "contour.png"}
    err = capsys.readouterr().err
    assert "cannot reload the data" in err
    for p in written:
        assert p.read_bytes()[:8] == PNG_MAGIC


def test_train_calls_draw_run(tmp_path):
    res = optrun.train(lin_cfg(steps=5), out=tmp_path / "runs")
    assert (res.run_dir / "plots" / "contour.png").is_file()
    assert "loss.png" in res.summary.get("plots", [])


def test_importing_plots_and_cli_is_light():
    code = ("import sys, optrun.plots, optrun.cli.plot, optrun.cli.compare, optrun.compare; "
            "print(any(m.startswith(('matplotlib', 'pandas')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_plot_one_run_and_options(two_param_run, tmp_path):
    from typer.testing import CliRunner

    from optrun.cli.app import app

    r = CliRunner().invoke(app, ["plot", str(two_param_run), "--y", "dist", "--y", "subopt", "--x", "epoch", "--json",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert sorted(p.rsplit("/", 1)[1] for p in doc["figures"]) == ["dist.png", "subopt.png"]
    assert doc["out"].startswith(str(tmp_path / "out"))
    r = CliRunner().invoke(app, ["plot", str(two_param_run), "--x", "iterations"])
    assert r.exit_code == 2
    r = CliRunner().invoke(app, ["plot", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "error:" in r.output


# --------------------------------------------------------------------------------------------
# 0.2 structure: the figure table, one reader, registry colours, folders of runs, CLI choices


def test_every_registered_optimizer_has_a_fixed_family_colour():
    from optrun import optim

    # and gd, the label of plain full-batch sgd, in sgd's colour
    assert set(colors.FIXED) == set(optim.names()) | {"gd"} and colors.FIXED["gd"] == colors.FIXED["sgd"]
    for name in optim.names():
        spec = optim.get_spec(name)
        assert colors.family_of(name) == spec.family and spec.family in colors.FAMILY_RAMPS
        for alias in spec.aliases:
            assert colors.family_of(alias) == spec.family
    assert colors.family_of("gd") == "gd" and colors.family_of("not-an-optimizer") == "gd"


def test_figure_table_drives_draw_groups(two_param_run, four_param_run, tmp_path, monkeypatch):
    from optrun.plots import catalog, model

    assert list(catalog.FIGURES) == ["loss", "grad_norm", "params", "contour", "theory", "data", "duality", "convexity"]
    from optrun.plots.choices import FIGURE_NAMES, TRAIN_FIGURES

    assert list(FIGURE_NAMES) == list(catalog.FIGURES) and set(TRAIN_FIGURES) < set(FIGURE_NAMES)
    assert list(catalog.CURVES) == list(model.Y_KINDS)
    groups = groups_of(two_param_run)
    ctx = catalog.Context(groups)
    assert isinstance(catalog.FIGURES["params"].build(ctx), model.ParamsData)
    assert [p.ylabel for p in catalog.FIGURES["loss"].build(ctx)][1] == model.Y_LABELS["subopt"]
    # adding a figure is one table entry: draw_groups picks it up, failures stay contained
    extra = catalog.FigureSpec("dist_only", "distance", lambda c: [arrays.curve_panel(c.groups, c.x, "dist")],
                               catalog.render_curves)
    broken = catalog.FigureSpec("broken", "broken", lambda c: 1 / 0, catalog.render_curves)
    monkeypatch.setitem(catalog.FIGURES, "dist_only", extra)
    monkeypatch.setitem(catalog.FIGURES, "broken", broken)
    written = draw_groups(groups, tmp_path / "o", figures=("params", "dist_only", "broken"))
    assert [p.name for p in written] == ["params.png", "dist_only.png", "broken.png"]
    assert "ZeroDivisionError" in (tmp_path / "o" / "broken_error.txt").read_text()
    # the data-space view applies to one-feature problems only
    assert catalog.FIGURES["data"].applies(groups[0].runs)
    assert not catalog.FIGURES["data"].applies([arrays.load_run(four_param_run)])


def test_figures_module_imports_only_the_model():
    import ast
    import inspect

    from optrun.plots import figure_contour, figure_curves, figure_layout, figure_motion, lecture_figures

    renderers = {"optrun.plots.figure_layout", "optrun.plots.figure_curves", "optrun.plots.figure_contour",
                 "optrun.plots.figure_motion"}
    for module in (F, figure_layout, figure_curves, figure_contour, figure_motion, lecture_figures):
        tree = ast.parse(inspect.getsource(module))
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("optrun")}
        mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name.startswith("optrun")}
        # plain data, the options and the other renderers (the lecture's dataclasses for its figures);
        # optrun.rundir for save_figure's atomic write only (rundir.atomic_path, the one such helper);
        # optrun.plots.png: the PNG writer save_figure uses
        assert mods <= {"optrun.plots.model", "optrun.plots.style", "optrun.plots.lecture", "optrun.rundir", "optrun.plots.png",
                        *renderers}, module.__name__
    code = "import sys, optrun.plots.model, optrun.cli.plot; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_load_run_reads_through_run_folder(two_param_run, tmp_path):
    import shutil

    from optrun.errors import OptrunError

    run = tmp_path / "copy"
    shutil.copytree(two_param_run, run, ignore=shutil.ignore_patterns("plots"))
    (run / "config.yaml").write_text("a: [unclosed\n")
    data = arrays.load_run(run)
    assert data.config is None and data.problems and data.problems[0].startswith("config.yaml unreadable (")
    assert len(data.trace) == len(arrays.load_run(two_param_run).trace)
    (run / "trace.csv").unlink()
    with pytest.raises(OptrunError, match="no trace.csv, nothing to plot"):
        arrays.load_run(run)
    with pytest.raises(OptrunError, match="no summary.json"):
        arrays.load_run(tmp_path)


def test_plot_a_sweep_folder_overlays_its_runs(tmp_path, capsys):
    from typer.testing import CliRunner

    from optrun.cli.app import app
    from optrun.plots.draw import expand_dirs

    sweep = tmp_path / "sweep"
    runs = [optrun.train(lin_cfg(lr=lr, steps=10), out=sweep / "runs", plots=False).run_dir for lr in (0.1, 0.3)]
    failed = sweep / "runs" / "failed-run"  # a sweep's failed entry: a summary, no trace
    failed.mkdir()
    (failed / "summary.json").write_text(json.dumps({"status": "failed", "error": "boom"}))
    (sweep / "runs" / ".staging" / "x").mkdir(parents=True)  # hidden: never a run
    found, meta, labels = expand_dirs([sweep])
    assert sorted(found) == sorted(runs) and meta == {} and labels == {}
    assert "failed-run: no trace.csv, not drawn" in capsys.readouterr().err
    r = CliRunner().invoke(app, ["plot", str(sweep), "--y", "loss", "--json", "-q"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["runs"]) == 2 and doc["out"] == str(sweep / "plots")
    groups, _ = arrays.group_runs([arrays.load_run(d) for d in runs])
    assert [g.label for g in groups] == ["lr=0.1", "lr=0.3"]  # overlaid, labelled by what differs


def test_cli_plot_choices_come_from_the_library():
    from typer.testing import CliRunner

    from optrun.cli import plot as cli_plot
    from optrun.cli.app import app
    from optrun.plots import model

    for choices, text in ((model.X_COLUMNS, cli_plot.X_HELP), (model.Y_KINDS, cli_plot.Y_HELP),
                          (model.FORMATS, cli_plot.FORMAT_HELP), (model.PROJECTIONS, cli_plot.PROJECTION_HELP),
                          (model.YSCALES, cli_plot.YSCALE_HELP)):
        assert all(c in text for c in choices)
    for args, words in ((["--format", "jpg"], "expected png, svg or pdf"), (["--yscale", "ln"], "expected log or linear"),
                        (["--projection", "svd"], "expected hessian or pca"),
                        (["--y", "acc"], "expected loss, subopt, grad_norm or dist")):
        r = CliRunner().invoke(app, ["plot", ".", *args])
        assert r.exit_code == 2 and words in r.output, r.output


def test_target_line_on_the_suboptimality_panel(two_param_run):
    """`optrun plot --target T` (and a comparison's target): a line at f - f* = T, inside the frame."""
    from optrun.plots import catalog

    groups = groups_of(two_param_run)
    ctx = catalog.Context(groups, lecture={"target": 1e-9})
    loss_panels = catalog.FIGURES["loss"].build(ctx)
    sub = loss_panels[1]
    assert sub.hlines and sub.hlines[0][0] == 1e-9 and sub.hlines[0][1] == "target"
    if sub.ylim is not None:
        assert sub.ylim[0] <= 1e-9 <= sub.ylim[1]
    assert not catalog.FIGURES["loss"].build(catalog.Context(groups))[1].hlines


def test_optimizers_of_one_family_differ_by_line_style():
    """Adagrad and RMSprop are two greens: overlaid they also get two line styles."""
    from optrun.plots.colors import assign_styles

    styles, _ = assign_styles([("adagrad", "adaptive"), ("rmsprop", "adaptive"), ("adam", "adam")])
    assert styles[0]["linestyle"] != styles[1]["linestyle"] and styles[0]["color"] != styles[1]["color"]
    assert styles[2]["linestyle"] == "-"  # the first of its family keeps the solid line
