"""Paths drawn over time: the GIF (:func:`contour_animation`) and the flip-book frames
(:func:`contour_frames`) of the contour figure, limits frozen from the first frame to the last."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from optrun.plots.figure_contour import (
    contour_canvas, contour_labels, draw_contours, first_exit, legend_at, plot_star, plot_starts,
)
from optrun.plots.figure_layout import look_of, style
from optrun.plots.model import ContourData
from optrun.plots.style import FigureOptions, Look


class _PathPlayer:
    """The contour figure with its paths drawn up to a chosen x (step, epoch...). The static
    part (contours, colour bar, legend, frame) is drawn once; each frame restores it and draws
    the moving paths (blitting). The axis limits are the full frame of every run, so they stay
    frozen from the first frame to the last."""

    def __init__(self, cd: ContourData, look: Look, with_notes: bool, axes_width: float = 5.4):
        self.cd = cd
        self.fig, self.ax, cax, lay = contour_canvas(cd, contour_labels(cd, animated=True), look, axes_width,
                                                      with_notes)
        ax = self.ax
        draw_contours(ax, cd, cax, look)
        frame = (cd.A[0], cd.A[-1], cd.C[0], cd.C[-1])
        self.lines, self.heads, self.data = [], [], []
        for p in cd.paths:
            (ln,) = ax.plot([], [], color=p.color, linestyle=p.linestyle, linewidth=1.6 * look.line, alpha=p.alpha,
                            label=p.label)
            (hd,) = ax.plot([], [], marker="o", markersize=6 * look.line, color=p.color, markeredgecolor="white",
                            linestyle="none")
            xs = p.x if p.x is not None else np.arange(len(p.a), dtype=float)
            a, c = p.a, p.c
            if p.diverged:
                k = first_exit(a, c, frame)
                if k is not None:
                    a, c, xs = a[: k + 1], c[: k + 1], xs[: k + 1]
            self.lines.append(ln)
            self.heads.append(hd)
            self.data.append((xs, a, c))
        plot_starts(ax, [(a[0], c[0]) for _, a, c in self.data if len(a)], look)  # static: in every frame
        plot_star(ax, cd, look)
        legend_at(self.fig, ax, lay)
        self.x_end = max((float(np.nanmax(d[0])) for d in self.data if len(d[0])), default=1.0)
        self.n_max = max((len(d[0]) for d in self.data), default=2)
        self.label = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=look.label,
                             bbox={"fc": "white", "alpha": 0.8, "ec": "none"})
        self.moving = [*self.lines, *self.heads, self.label]
        for art in self.moving:
            art.set_animated(True)  # left out of the background drawn once below
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def grid(self, n: int) -> np.ndarray:
        return np.linspace(0.0, self.x_end, int(n))

    def render(self, xk: float) -> np.ndarray:
        """The RGB pixels of the frame at ``x = xk``."""
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for ln, hd, (xs, a, c) in zip(self.lines, self.heads, self.data):
            m = int(np.searchsorted(xs, xk, side="right"))
            ln.set_data(a[:m], c[:m])
            hd.set_data(a[max(m - 1, 0) : m], c[max(m - 1, 0) : m])
        self.label.set_text(f"{self.cd.x_kind} {xk:.3g}")
        for art in self.moving:
            self.ax.draw_artist(art)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()


def contour_animation(cd: ContourData, path: Path, max_frames: int = 200, fps: int = 15,
                      opts: FigureOptions | None = None) -> Path:
    """A GIF of the paths being drawn on the contours (at most ``max_frames`` frames), its
    palette fixed so that every path keeps its family colour exactly (:func:`gif_palette`)."""
    look = look_of(opts, (7.0, 6.0))
    with style(look):
        player = _PathPlayer(cd, replace(look, dpi=min(look.dpi, 90)), with_notes=False, axes_width=4.6)
        player.fig._optrun_dpi = 90
        player.fig.set_dpi(90)
        player.fig.canvas.draw()
        player.background = player.fig.canvas.copy_from_bbox(player.fig.bbox)
        grid = player.grid(min(max_frames, max(2, player.n_max)))
        fixed = [p.color for p in cd.paths] + ["#ffd400", "#000000", "#ffffff", "#6a5d8f"]
        _save_gif(player.render, grid, path, fps, fixed)
        player.close()
    return path


def contour_frames(cd: ContourData, out: Path, n: int, fmt: str = "png", opts: FigureOptions | None = None) -> list[Path]:
    """``n`` numbered frames ``contour_frame_01.png`` ... of the paths drawn up to evenly spaced
    x, for stepping through an algorithm on slides; the axis limits are the same in every frame
    (the frame of all runs at their end)."""
    from PIL import Image

    look = look_of(opts, (7.8, 6.0))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with style(look):
        player = _PathPlayer(cd, look, with_notes=True)
        width = len(str(n))
        for i, xk in enumerate(player.grid(n), start=1):
            path = out / f"contour_frame_{i:0{width}d}.{fmt}"
            if fmt == "png":
                Image.fromarray(player.render(xk)).save(path, dpi=(look.dpi, look.dpi))
            else:  # vector frames: draw the artists for real at this x
                player.render(xk)
                for art in player.moving:
                    art.set_animated(False)
                player.fig.savefig(path, metadata={"Date": None} if fmt == "svg" else {"CreationDate": None})
                for art in player.moving:
                    art.set_animated(True)
            written.append(path)
        player.close()
    return written


def gif_palette(image, fixed: list[str], colors: int = 128):
    """A palette image: the ``fixed`` colours (exact, first), then the image's own colours
    (median cut) for the rest. Quantising to it maps every pixel of a fixed colour to itself,
    so a family colour never turns into its neighbour's (adaptive green into SGD grey)."""
    from PIL import Image

    rgb = [tuple(int(c.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)) for c in dict.fromkeys(fixed)]
    rest = image.quantize(colors=max(2, colors - len(rgb)), method=Image.Quantize.MEDIANCUT).getpalette()
    rest = [tuple(rest[i : i + 3]) for i in range(0, (colors - len(rgb)) * 3, 3)]
    flat = [v for c in rgb + rest for v in c]
    flat += [0] * (768 - len(flat))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def _save_gif(render, grid, path: Path, fps: int, fixed: list[str] | None = None) -> None:
    """Write the frames ``render(x)`` for x in ``grid`` as a looping GIF (the last frame held),
    one fixed palette for all frames."""
    from PIL import Image

    last = Image.fromarray(render(grid[-1]))
    palette = gif_palette(last, fixed or [])
    images = [Image.fromarray(render(xk)).quantize(palette=palette, dither=Image.Dither.NONE) for xk in grid]
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [int(1000 / fps)] * (len(images) - 1) + [2000]  # hold the last frame
    # optimize=False: Pillow's optimizer may drop unused palette entries and reorder the rest
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)

