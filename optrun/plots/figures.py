"""Low layer: plain data (the dataclasses of :mod:`optrun.plots.model`) -> a matplotlib ``Figure``.

The renderers live by concern and are re-exported here (the one import path of the callers):

* :mod:`optrun.plots.figure_layout` — style, headless figures, log axes, the text bands and the
  grid of axes between them; :func:`message_figure`, :func:`save_figure` (the one save helper);
* :mod:`optrun.plots.figure_curves` — curve panels, parameters, the data-space view;
* :mod:`optrun.plots.figure_contour` — the contour figure and its explicit layout;
* :mod:`optrun.plots.figure_motion` — the GIF and the flip-book frames.

Nothing here reads files or computes results: what is drawn is exactly what the high layer
handed over (which is what the tests check).
"""

from __future__ import annotations

from optrun.plots.figure_contour import (  # noqa: F401
    ContourLayout, contour_canvas, contour_figure, contour_labels, contour_layout, draw_contours, legend_at, plot_paths,
    plot_star,
)
from optrun.plots.figure_curves import curves_figure, dataspace_figure, draw_panel, params_figure  # noqa: F401
from optrun.plots.figure_layout import (  # noqa: F401
    CHAR_W, LINE_H, NOTE_COLOR, STAR_COLOR, STYLE, Bands, default_look, draw_bands, legend_entries, log_axis, look_of,
    make_bands, message_figure, new_figure, place_grid, pow10, save_figure, style,
)
from optrun.plots.figure_motion import _PathPlayer, contour_animation, contour_frames, gif_palette  # noqa: F401
