"""A drawn Agg canvas -> PNG bytes, without Pillow's encoder.

Pillow's PNG encoder chooses a filter per row by trying all five (adaptive filtering): for a
figure of 1352×602 pixels that is ~20 ms of its ~23 ms, while zlib on the unfiltered rows takes
~4 ms and gives a file as small (a figure is mostly flat colour: runs that deflate finds without
a filter). optrun's figures are opaque, so the pixels are written as RGB (8 bits a channel) when
every alpha is 255, else as RGBA: the decoded pixels are exactly the canvas's (tested).

Chunks: IHDR, pHYs (the dpi, as matplotlib writes it), one IDAT, IEND. No text chunk, no date:
the same figure gives the same bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rgba: np.ndarray, dpi: float, level: int = 1) -> bytes:
    """PNG bytes of an (H, W, 4) uint8 RGBA image: RGB when it is opaque, filter 0 (None) on
    every row, deflate ``level``, a pHYs chunk of ``dpi`` (pixels per metre, rounded)."""
    h, w, _ = rgba.shape
    opaque = bool((rgba[..., 3] == 255).all())
    pixels = rgba[..., :3] if opaque else rgba
    rows = np.empty((h, 1 + w * pixels.shape[2]), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 on every row
    rows[:, 1:] = pixels.reshape(h, -1)
    ppm = int(round(dpi / 0.0254))
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if opaque else 6, 0, 0, 0)
    return b"".join((SIGNATURE, _chunk(b"IHDR", header), _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
                     _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)), _chunk(b"IEND", b"")))


def figure_png(fig, dpi: float) -> bytes:
    """Draw ``fig`` (with its Agg canvas) at ``dpi``, as ``savefig`` does for a PNG (same dpi,
    same face colour, no tight bbox), and encode the pixels."""
    old = fig.dpi
    fig.dpi = dpi
    try:
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        return encode_png(rgba, dpi)
    finally:
        fig.dpi = old
