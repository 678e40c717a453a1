"""What makes the figures cheap changes no pixel (issue #16, docs/performance.md "Figures (0.2)").

* the PNG writer (:mod:`optrun.plots.png`) stores exactly the canvas's pixels: decoded, a saved
  figure equals matplotlib's own ``savefig`` of the same figure, pixel for pixel;
* pinning the titles (:func:`optrun.plots.figure_layout.pin_titles`) draws the same pixels as
  matplotlib's automatic title placement, and leaves the placement on where an offset text
  could move a title.

No timing here: speed is measured in benchmarks/bench_startup.py.
"""

import io

import numpy as np
import pytest

import optrun
from optrun.plots import catalog, rundata
from optrun.plots.figure_layout import new_figure, pin_titles, save_figure, style
from optrun.plots.png import encode_png

Image = pytest.importorskip("PIL.Image")


def decoded(data: bytes) -> tuple[np.ndarray, str, dict]:
    im = Image.open(io.BytesIO(data))
    mode, info = im.mode, dict(im.info)
    return np.asarray(im.convert("RGBA")), mode, info


def test_encode_png_opaque_is_rgb_with_the_same_pixels():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (7, 11, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    pixels, mode, info = decoded(encode_png(rgba, dpi=130))
    assert mode == "RGB" and np.array_equal(pixels, rgba)
    assert info["dpi"] == pytest.approx((130, 130), abs=0.01)


def test_encode_png_keeps_alpha_when_not_opaque():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    rgba[0, 0, 3] = 17
    pixels, mode, _ = decoded(encode_png(rgba, dpi=72))
    assert mode == "RGBA" and np.array_equal(pixels, rgba)


def test_encode_png_is_deterministic():
    rgba = np.full((4, 4, 4), 255, dtype=np.uint8)
    assert encode_png(rgba, 130) == encode_png(rgba.copy(), 130)


@pytest.fixture(scope="module")
def run_ctx(tmp_path_factory):
    """A two-parameter run's drawing context (the figures `optrun train` draws)."""
    cfg = {
        "seed": 0,
        "dataset": {"name": "synthetic_linear", "n_samples": 24, "n_features": 1, "noise": 0.3,
                    "condition_number": 5.0},
        "model": "linear", "loss": "half_mse", "optimizer": {"name": "sgd", "lr": 0.3}, "train": {"steps": 30},
    }
    run_dir = optrun.train(cfg, out=tmp_path_factory.mktemp("speed") / "runs", plots=False).run_dir
    groups, note = rundata.group_runs([rundata.load_run(run_dir)])
    ctx = catalog.Context(groups, notes=[note] if note else [])
    assert ctx.load_problem() is None
    return ctx


def matplotlib_png(fig, dpi: int) -> np.ndarray:
    """matplotlib's own PNG of ``fig`` (Pillow's encoder), decoded."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, dpi=dpi, format="png")
    return decoded(buf.getvalue())[0]


@pytest.mark.parametrize("name", ["loss", "grad_norm", "params", "contour", "data"])
def test_saved_png_has_matplotlibs_pixels(run_ctx, tmp_path, name):
    """save_figure (pinned titles, our encoder) == savefig (automatic titles, Pillow), pixel for pixel."""
    ours = decoded(save_figure(catalog.FIGURES[name].figure(run_ctx), tmp_path / f"{name}.png").read_bytes())[0]
    theirs = matplotlib_png(catalog.FIGURES[name].figure(run_ctx), 130)
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)


def _titled_axes(y0: float, y1: float):
    with style():
        fig = new_figure(4, 3)
        ax = fig.add_axes((0.15, 0.15, 0.8, 0.7))
        ax.plot([0, 1], [y0, y1])
        ax.set_title("a left title over the offset text", loc="left")
    return fig, ax


def test_pin_titles_only_where_no_offset_text_can_move_the_title():
    fig, ax = _titled_axes(0.0, 70.0)
    with style():
        pin_titles(fig)
    assert ax._autotitlepos is False
    # values 65.00001 .. 65.00003: the y axis shows an offset text ("+6.5e1") the title must clear
    fig, ax = _titled_axes(65.00001, 65.00003)
    with style():
        pin_titles(fig)
        fig.canvas.draw()
    assert ax._autotitlepos is True and ax.yaxis.offsetText.get_text()
    assert ax._left_title.get_position()[1] > 1.0  # lifted by matplotlib, as before
