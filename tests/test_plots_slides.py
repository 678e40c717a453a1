"""Figure options (slides, paper, titles, sizes), fonts, frames, and the fixes of figures that
misled (issue #16): each checked on the arrays and text extents behind the figure, not on pixels."""

import numpy as np
import pytest

import optrun
from optrun.errors import OptrunError
from optrun.plots import arrays, catalog, fonts
from optrun.plots import figures as F
from optrun.plots.contour import MAX_RATIO, fit_frame
from optrun.plots.draw import draw_groups
from optrun.plots.model import Panel, Series
from optrun.plots.style import SLIDE_MIN_PX, FigureOptions, check_plot_options, figure_options, parse_size


def cfg(opt="sgd", lr=0.3, l2=0.0, n_features=1, steps=25, seed=0):
    return {"seed": seed,
            "dataset": {"name": "synthetic_linear", "n_samples": 24, "n_features": n_features, "noise": 0.3,
                        "condition_number": 5.0},
            "model": "linear", "loss": {"name": "half_mse", "l2": l2}, "optimizer": {"name": opt, "lr": lr},
            "batch": "full", "train": {"steps": steps}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slides")
    train = lambda c: optrun.train(c, out=tmp / "runs", plots=False).run_dir  # noqa: E731
    return {"sgd": train(cfg()), "adagrad": train(cfg("adagrad", lr=0.5)), "ridge": train(cfg(l2=1.0)),
            "wide": train(cfg(n_features=6, lr=0.05, steps=30)), "tmp": tmp,
            # the lecture's figures: one parameter (tangents), four minimisers, a feasible region + duality
            "x_squared": train({"model": {"name": "function", "function": "x_squared", "init": [3.0]},
                                "optimizer": {"name": "newton"}, "train": {"steps": 4}}),
            "himmelblau": train({"model": {"name": "function", "function": "himmelblau", "init": [0.0, 0.0]},
                                 "optimizer": {"name": "sgd", "lr": 0.01}, "train": {"steps": 30}}),
            "quad": train({"model": {"name": "quadratic", "A": [[3, 1], [1, 2]], "b": [-1, 0], "c": 0.0, "init": [2, 2]},
                           "optimizer": {"name": "sgd", "lr": 0.1}, "train": {"steps": 60, "log_every": 1},
                           "constraints": {"inequality": {"G": [[1, 1]], "h": [-0.5]}, "method": "primal_dual",
                                           "dual_lr": 0.5}})}


def groups_of(*dirs):
    return arrays.group_runs([arrays.load_run(d) for d in dirs])[0]


def context(groups, options, need_problem=True):
    ctx = catalog.Context(groups, options=options)
    if need_problem:
        ctx.load_problem()
    return ctx


def shown_px(fig, text, renderer):
    """(font size, line height of the text's extent) in px when ``fig`` is shown 1280 px wide."""
    scale = 1280.0 / (fig.get_figwidth() * fig.dpi)
    size = renderer.points_to_pixels(text.get_fontsize()) * scale
    bbox = text.get_window_extent(renderer)
    lines = max(1, text.get_text().count("\n") + 1)
    across = bbox.width if abs(text.get_rotation() - 90) < 1 else bbox.height  # a y label is turned
    return size, across / lines * scale


# --------------------------------------------------------------------------------------------
# slides: 16:9, no text smaller than 18 px at 1280 px wide (the README's three lecture figures)


LECTURE = {"x_squared": ("contour",), "himmelblau": ("contour", "surface"), "quad": ("contour", "duality", "surface")}


@pytest.mark.parametrize("which", [("sgd", "adagrad"), ("sgd", "ridge"), ("wide",), ("x_squared",), ("himmelblau",),
                                   ("quad",)])
def test_slides_every_text_at_least_18px_at_1280_wide(runs, which):
    from matplotlib.text import Text

    groups = groups_of(*[runs[w] for w in which])
    ctx = context(groups, FigureOptions(style="slides"))
    specs = [s for s in catalog.FIGURES.values() if s.applies([r for g in groups for r in g.runs])]
    specs += [catalog.ON_REQUEST[n] for n in LECTURE.get(which[0], ()) if n in catalog.ON_REQUEST]
    for name in LECTURE.get(which[0], ()):  # the lecture's figures are drawn, not a message
        assert name in [s.name for s in specs] and not isinstance(
            {s.name: s for s in specs}[name].build(ctx), str), name
    smallest = []
    for spec in specs:
        fig = spec.figure(ctx)
        assert fig.get_figwidth() / fig.get_figheight() == pytest.approx(16 / 9), spec.name
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for t in fig.findobj(Text):
            if t.get_visible() and t.get_text().strip() and t.get_window_extent(renderer).width > 0:
                size, line = shown_px(fig, t, renderer)
                smallest.append((size, line, spec.name, t.get_text()[:30]))
        fig.clear()
    size, line, name, text = min(smallest)
    assert size >= SLIDE_MIN_PX - 1e-9, (name, text, size)
    low = min(smallest, key=lambda s: s[1])
    assert low[1] >= SLIDE_MIN_PX, low


def test_lecture_figures_take_title_and_size(runs):
    from optrun.plots import lecture_figures

    groups = groups_of(runs["quad"])
    ctx = context(groups, FigureOptions(title="Duality", size=(8.0, 4.5), dpi=100))
    for data in (catalog.FIGURES["contour"].build(ctx), catalog.FIGURES["duality"].build(ctx)):
        fig = lecture_figures.render(data, [], ctx.options)
        assert (fig.get_figwidth(), fig.get_figheight()) == (8.0, 4.5)
        assert "Duality" in [t.get_text() for t in fig.texts]
        fig.clear()


def test_slides_size_and_fonts_follow_size_flag():
    look = FigureOptions(style="slides", size=(16.0, 9.0)).look((6.4, 4.2))
    assert (look.width, look.height) == (16.0, 9.0)
    assert look.px(look.smallest) == pytest.approx(19.0)  # the note size, in px at 1280 wide
    paper = FigureOptions(style="paper").look((6.4, 4.2))
    assert paper.width == 6.5 and paper.dpi == 300 and paper.family == "DejaVu Serif"


def test_title_subtitle_and_format_options(runs, tmp_path):
    groups = groups_of(runs["sgd"])
    ctx = context(groups, FigureOptions(title="Gradient descent", subtitle=False), need_problem=False)
    assert ctx.titles == ("Gradient descent", "")
    out = draw_groups(groups, tmp_path, options=FigureOptions(format="pdf", size=(8, 4.5), dpi=100,
                                                              figures=("loss",)))
    assert [p.name for p in out] == ["loss.pdf"] and out[0].read_bytes()[:5] == b"%PDF-"
    png = draw_groups(groups, tmp_path / "png", options=FigureOptions(size=(8, 4.5), dpi=100, figures=("loss",)))
    from PIL import Image

    assert Image.open(png[0]).size == (800, 450)  # size x dpi pixels


def test_check_plot_options_names_the_key():
    assert check_plot_options({"size": "8x4.5", "dpi": 150, "subtitle": False}) == {
        "size": (8.0, 4.5), "dpi": 150, "subtitle": False}
    assert parse_size([8, 4.5]) == (8.0, 4.5)
    for bad, key in (({"style": "slide"}, "plots.style"), ({"size": "8by4"}, "plots.size"),
                     ({"dpi": 0}, "plots.dpi"), ({"font_scale": "big"}, "plots.font_scale"),
                     ({"formatt": "png"}, "plots.formatt"), ({"format": "jpg"}, "plots.format")):
        with pytest.raises(OptrunError) as err:
            check_plot_options(bad)
        assert err.value.key == key
    assert figure_options({"style": "paper", "dpi": 200}, dpi=100).dpi == 100  # a flag wins over the config


# --------------------------------------------------------------------------------------------
# what misled


def test_equal_axis_scales_or_said_not_to_scale():
    frame, equal, _ = fit_frame((0.0, 10.0, 0.0, 4.0))  # 2.5:1 -> the short side widened to 5
    assert equal and frame == (0.0, 10.0, -0.5, 4.5)
    assert fit_frame((0.0, 2.0, 0.0, 1.5))[1]
    frame, equal, why = fit_frame((0.0, 100.0, 0.0, 1.0))
    assert not equal and frame == (0.0, 100.0, 0.0, 1.0) and "100×" in why


def test_contour_axes_box_has_the_frame_shape_when_equal(runs):
    for run in (runs["sgd"], runs["wide"]):
        cd = arrays.contour_data(groups_of(run), "step")
        spans = ((cd.A[-1] - cd.A[0]), (cd.C[-1] - cd.C[0]))
        if cd.equal_aspect:
            for opts in (FigureOptions(), FigureOptions(style="slides"), FigureOptions(style="paper")):
                lay = F.contour_layout(cd, F.contour_labels(cd), opts.look((7.8, 6.0)))
                assert lay.aspect == pytest.approx(spans[1] / spans[0], rel=1e-9)
            assert max(spans) <= MAX_RATIO * min(spans) * (1 + 1e-12)
        else:
            assert any(n.startswith("axes not to scale") for n in cd.notes)


def test_projected_contour_is_not_a_strip_under_a_long_title(runs):
    cd = catalog.titled(arrays.contour_data(groups_of(runs["wide"]), "step"), context(groups_of(runs["wide"]), FigureOptions(), False))
    assert not cd.native and "plane of the Hessian" in cd.notes[0] and "plane" not in cd.subtitle
    lay = F.contour_layout(cd, F.contour_labels(cd))
    assert 1 / MAX_RATIO - 1e-9 <= lay.aspect <= MAX_RATIO + 1e-9
    assert len(lay.bands.title) + len(lay.bands.subtitle) <= 4


def test_overlay_title_names_only_what_runs_share(runs):
    groups = groups_of(runs["sgd"], runs["ridge"])
    title, _ = arrays.figure_title(groups)
    assert "l2=" not in title and "linear regression" in title and "synthetic_linear" in title
    assert any("l2=1" in g.label for g in groups) and not any("l2=1" in g.label for g in groups[:1])


def test_params_draw_theta_star_per_problem(runs):
    groups = groups_of(runs["sgd"], runs["ridge"])
    data = arrays.params_data(groups, "step")
    for k, panel in enumerate(data.panels):
        values = sorted(v for v, _, _ in panel.stars)
        expected = sorted(float(g.first.theta_star[k]) for g in groups)
        assert len(panel.stars) == 2 and panel.star is None
        np.testing.assert_allclose(values, expected, rtol=0, atol=0)
        assert {c for _, c, _ in panel.stars} == {g.color for g in groups}
    one = arrays.params_data(groups_of(runs["sgd"], runs["adagrad"]), "step")  # one problem: one black line
    assert all(len(p.stars) == 1 and p.stars[0][1] == "#000000" for p in one.panels)


def test_gif_keeps_family_colours_exact(runs, tmp_path):
    from PIL import Image

    groups = groups_of(runs["sgd"], runs["adagrad"])
    cd = arrays.contour_data(groups, "step")
    path = F.contour_animation(cd, tmp_path / "c.gif", max_frames=6)
    im = Image.open(path)
    want = {tuple(int(g.color[i : i + 2], 16) for i in (1, 3, 5)) for g in groups}
    pal = im.getpalette()  # one global palette for every frame
    assert want <= {tuple(pal[i : i + 3]) for i in range(0, len(pal), 3)}
    # quantising to that palette maps each family colour to itself, also beside a near colour
    # (median cut alone merged Adagrad's green into SGD's grey)
    colours = [g.color for g in groups] + ["#3f4f3f", "#1b8a3b"]
    rgb = np.array([[tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colours] * 50], dtype=np.uint8)
    src = Image.fromarray(rgb)
    back = np.asarray(src.quantize(palette=F.gif_palette(src, [g.color for g in groups], colors=4),
                                   dither=Image.Dither.NONE).convert("RGB"))
    np.testing.assert_array_equal(back[0, : len(groups)], rgb[0, : len(groups)])


def test_legend_never_lists_lines_outside_the_frame():
    from optrun.plots.curves import _unlist_outside

    p = Panel("t", "x", "y", False, series=[Series(np.arange(3.0), np.array([1.0, 2, 3]), "in", "#000000"),
                                         Series(np.arange(3.0), np.array([50.0, 60, 70]), "out", "#111111")],
              ylim=(0.0, 4.0))
    _unlist_outside(p)
    assert [s.label for s in p.series] == ["in", None] and "out" in p.notes[-1]


def test_legend_is_under_the_axes_not_on_the_curves(runs):
    groups = groups_of(runs["sgd"], runs["adagrad"])
    fig = catalog.FIGURES["loss"].figure(context(groups, FigureOptions(), False))
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    (leg,) = fig.legends
    top = leg.get_window_extent(r).y1
    assert all(top <= ax.get_window_extent(r).y0 for ax in fig.axes)
    fig.clear()


# --------------------------------------------------------------------------------------------
# fonts and frames


def test_cjk_labels_get_a_font_or_one_warning(runs, tmp_path, capsys):
    families, left, package = fonts.fallback_fonts(["체중 (kg)", "θ* w_x"])
    assert fonts.missing_glyphs(["θ* ‖∇f‖ − f*"]) == ""  # what optrun itself writes: DejaVu has it
    assert bool(families) or (left == "체중" and package == "fonts-noto-cjk")
    draw_groups(groups_of(runs["sgd"]), tmp_path, options=FigureOptions(title="경사 하강법", figures=("grad_norm",)))
    err = capsys.readouterr().err
    if left:
        assert err.count("fonts-noto-cjk") == 1
    else:
        assert "glyph" not in err


def test_frames_are_numbered_with_frozen_limits(runs, tmp_path):
    groups = groups_of(runs["sgd"], runs["adagrad"])
    cd = arrays.contour_data(groups, "step")
    player = F._PathPlayer(cd, FigureOptions().look((7.8, 6.0)), with_notes=True)
    limits = set()
    for xk in player.grid(4):
        player.render(xk)
        limits.add((player.ax.get_xlim(), player.ax.get_ylim()))
    assert limits == {((cd.A[0], cd.A[-1]), (cd.C[0], cd.C[-1]))}
    # the starting points are marked in every frame (static, not animated), as in contour.png
    start = [ln for ln in player.ax.get_lines() if ln.get_label() == "start"]
    assert len(start) == 1 and not start[0].get_animated()
    np.testing.assert_array_equal(np.column_stack(start[0].get_data()), [[p.a[0], p.c[0]] for p in cd.paths])
    assert "start" in [t.get_text() for t in player.fig.findobj(lambda a: a.__class__.__name__ == "Legend")[0].get_texts()]
    player.close()
    out = F.contour_frames(cd, tmp_path, 4)
    assert [p.name for p in out] == [f"contour_frame_{i}.png" for i in range(1, 5)]
    from PIL import Image

    assert len({Image.open(p).size for p in out}) == 1


# --------------------------------------------------------------------------------------------
# which figures: train's own, --figures, plots: {figures: ...}


def test_figure_names_accept_lists_strings_and_all():
    from optrun.plots.choices import FIGURE_NAMES

    assert check_plot_options({"figures": "loss, grad_norm"}) == {"figures": ("loss", "grad_norm")}
    assert check_plot_options({"figures": ["theory"]}) == {"figures": ("theory",)}
    assert check_plot_options({"figures": "all"}) == {"figures": FIGURE_NAMES}
    for bad in ("gradnorm", [], [1], "loss,,nope"):
        with pytest.raises(OptrunError) as err:
            check_plot_options({"figures": bad})
        assert err.value.key == "plots.figures"
    with pytest.raises(OptrunError, match="did you mean 'grad_norm'"):
        check_plot_options({"figures": "gradnorm"})


def test_train_draws_its_own_figures_and_figures_flag_or_config_get_the_rest(tmp_path):
    from typer.testing import CliRunner

    from optrun.cli.app import app

    conf = tmp_path / "c.yaml"
    conf.write_text("dataset: {name: women, standardize: true}\noptimizer: {name: gd, lr: 0.1}\ntrain: {steps: 20}\n")

    def plots(*args):
        res = CliRunner().invoke(app, ["train", str(conf), "--out", str(tmp_path / "r"), "-q", "--json", *args])
        assert res.exit_code == 0, res.output
        import json

        run = json.loads(res.stdout)["run_dir"]
        return sorted(p.name for p in (tmp_path / "r" / run.rsplit("/", 1)[-1] / "plots").iterdir())

    assert plots() == ["contour.png", "loss.png", "params.png"]
    assert plots("--figures", "grad_norm,loss") == ["grad_norm.png", "loss.png"]
    assert plots("--figures", "all") == ["contour.png", "data.png", "grad_norm.png", "loss.png", "params.png", "theory.png"]
    assert plots("plots.figures=[theory]") == ["theory.png"]
    assert plots("--figures", "loss,subopt") == ["loss.png", "subopt.png"]  # a figure and a --y curve
    before = sorted((tmp_path / "r").iterdir())
    res = CliRunner().invoke(app, ["train", str(conf), "--out", str(tmp_path / "r"), "--figures", "gradnorm"])
    assert res.exit_code == 2 and "did you mean 'grad_norm'" in res.output
    assert sorted((tmp_path / "r").iterdir()) == before  # nothing half-written


def test_mle_figure_takes_the_figure_options():
    """`optrun mle` draws with the options of every drawing command: slides text >= 18 px."""
    from fractions import Fraction

    from matplotlib.text import Text

    from optrun.plots.likelihood import two_bags_canvas

    thetas = [Fraction(1, 2), Fraction(3, 4)]
    fig = two_bags_canvas(5, thetas, 3, FigureOptions(style="slides", title="Two bags"))
    assert fig.get_figwidth() / fig.get_figheight() == pytest.approx(16 / 9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert "Two bags" in [t.get_text() for t in texts]
    assert min(shown_px(fig, t, renderer)[0] for t in texts) >= SLIDE_MIN_PX - 1e-9
    # nothing drawn outside the figure (the legend and the x label fit below the axes)
    for fig in (fig, two_bags_canvas(8, [Fraction(k, 8) for k in (1, 3, 5, 7)], 3, FigureOptions())):
        fig.canvas.draw()
        renderer, box = fig.canvas.get_renderer(), fig.bbox
        shown = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        for t in shown:  # also with four candidates: a three-row legend below the axes
            ext = t.get_window_extent(renderer)
            assert ext.x0 >= box.x0 - 1 and ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, t.get_text()
        legend = fig.axes[0].get_legend().get_window_extent(renderer)
        assert legend.y1 <= fig.axes[0].xaxis.label.get_window_extent(renderer).y0 + 1  # under the x label


def test_data_view_of_several_panels_names_each_panels_steps(runs):
    """One shared legend of "step k" entries mixed the panels' steps (and, de-duplicated by label,
    hid some): each panel's title names its own steps now, the legend what the shades mean."""
    from optrun.plots.dataspace import dataspace_data

    for style, full, which in (("default", True, ("sgd", "adagrad")), ("slides", False, ("sgd", "adagrad", "ridge"))):
        opts = FigureOptions(style=style)
        groups = groups_of(*[runs[w] for w in which])
        ctx = context(groups, opts)
        dd = dataspace_data(groups, ctx.problem)
        fig = F.dataspace_figure(dd, opts)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == len(dd.panels) >= 2
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax, panel in zip(axes, dd.panels):
            steps = [ln.label.removeprefix("step ") for ln in panel.lines]
            title = ax.get_title()
            forms = [f"{panel.title} · steps {', '.join(steps)}", f"{panel.title} · steps {steps[0]} … {steps[-1]}"]
            assert title == forms[0] if full else title in forms, title
            # the title fits over its panel (the compact form where the list would not)
            assert ax.title.get_window_extent(renderer).width <= ax.get_window_extent(renderer).width * 1.15
        legend = [t.get_text() for t in fig.findobj(lambda a: a.__class__.__name__ == "Legend")[0].get_texts()]
        assert not any(t.startswith("step ") for t in legend) and any("light → dark" in t for t in legend)
    one = dataspace_data(groups_of(runs["sgd"]), context(groups_of(runs["sgd"]), FigureOptions()).problem)
    fig = F.dataspace_figure(one, FigureOptions())
    texts = [t.get_text() for t in fig.findobj(lambda a: a.__class__.__name__ == "Legend")[0].get_texts()]
    assert [t for t in texts if t.startswith("step ")] == [ln.label for ln in one.panels[0].lines]


@pytest.mark.parametrize("lo, hi, expected", [
    (1e-4, 20, ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹"]),  # one style: never 0.01 beside 10⁻³
    (0.01, 50, ["0.01", "0.1", "1", "10"]),
    (0.002, 0.03, ["2×10⁻³", "5×10⁻³", "10⁻²", "2×10⁻²"]),
    (0.02, 0.9, ["0.02", "0.05", "0.1", "0.2", "0.5"]),
])
def test_log_axis_labels_in_one_style(lo, hi, expected):
    from optrun.plots.figure_layout import log_axis, new_figure

    fig = new_figure(4, 3)
    ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    log_axis(ax.yaxis, lo, hi)
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert shown == expected


def test_the_lr_comparison_slide_keeps_its_labels_inside_and_apart(tmp_path):
    """The target line's label ran off the right edge ("targe"), and the labels of runs that
    diverge at the same time were drawn on top of each other."""
    from pathlib import Path as P

    from optrun import compare as C
    from optrun.plots import catalog, rundata

    cfg = P(__file__).resolve().parents[1] / "configs" / "compare_learning_rates.yaml"
    res = C.compare(cfg, ["optimizer.lr=0.005,0.15,0.3"], out=tmp_path, plots=False)
    dirs = sorted(p for p in res.folder.iterdir() if (p / "summary.json").is_file())
    groups, _ = rundata.group_runs([rundata.load_run(d) for d in dirs])
    ctx = catalog.Context(groups, lecture={"target": res.target}, options=FigureOptions(style="slides"))
    fig = catalog.FIGURES["loss"].figure(ctx)
    fig.canvas.draw()
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    # the figure's own texts: annotations, titles, captions (tick labels outside the view are
    # laid out but never drawn)
    texts = [t for ax in fig.axes for t in ax.texts] + list(fig.texts)
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    for t in texts:
        ext = t.get_window_extent(renderer)
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, t.get_text()
    assert any(t.get_text() == "target" for t in texts)
    marks = [t.get_window_extent(renderer) for t in texts if t.get_text().startswith("diverged at step")]
    assert len(marks) == 4  # two runs, two panels
    for i, a in enumerate(marks):
        assert not any(a.overlaps(b) for b in marks[i + 1:]), "diverged labels overlap"


def test_slow_iterates_on_x_squared_keep_their_step_numbers_readable(tmp_path):
    """x² from 2 at lr 0.01: twenty iterates crowd along the curve; the numbers kept do not
    overlap each other (they were one smudge) and sit below the curve, off the path."""
    from pathlib import Path as P

    import optrun
    from optrun.plots import catalog, rundata

    cfg = P(__file__).resolve().parents[1] / "configs" / "x_squared_gd.yaml"
    run = rundata.load_run(optrun.train(cfg, out=tmp_path, plots=False).run_dir)
    groups, _ = rundata.group_runs([run])
    ctx = catalog.Context(groups, options=FigureOptions(style="slides"))
    ctx.load_problem()  # the figure needs the objective (drawing reloads it once)
    fig = catalog.FIGURES["contour"].figure(ctx)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    numbers = [t for ax in fig.axes for t in ax.texts if t.get_text().isdigit()]
    assert numbers and numbers[0].get_text() == "0"
    boxes = [t.get_window_extent(renderer) for t in numbers]
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1:]), [t.get_text() for t in numbers]
    assert all(t.get_va() == "top" for t in numbers)  # below its point: the path runs above-left
