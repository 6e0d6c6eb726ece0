"""Turning numeric maps into the images a processor returns as its overlay.

These compute pixels from numbers (a colour code, cells scaled up, tiles side by side); they
draw no shapes or text, which stays with :mod:`visionapp.core.annotate`. Every map comes back
at the frame's size, so the annotator shows it without stretching and a click on the view maps
straight back to the value under it (:func:`visionapp.processors.cnn_arithmetic.cell_at`,
:meth:`Mosaic.tile_at`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


def peak(values: NDArray) -> float:
    """max |v|: the value shown at full brightness."""
    lo, hi = cv2.minMaxLoc(values)[:2] if values.ndim == 2 else (values.min(), values.max())
    return float(max(-lo, hi))


def signed_colour(values: NDArray[np.float32], scale: float | None = None) -> NDArray[np.uint8]:
    """H×W BGR: negative values blue, positive red, zero black; |v| ≥ ``scale`` (default: the
    map's own max |v|) at full brightness."""
    values = values if values.dtype == np.float32 else values.astype(np.float32)
    scale = peak(values) if scale is None else scale
    alpha = 255.0 / scale if scale > 0 else 0.0
    level = cv2.convertScaleAbs(values, alpha=alpha)  # |v| · alpha, rounded and saturated
    blue = cv2.bitwise_and(level, cv2.compare(values, 0, cv2.CMP_LT))  # where v < 0
    red = cv2.subtract(level, blue)
    return cv2.merge([blue, np.zeros_like(red), red])


def magnitude(values: NDArray[np.float32], scale: float | None = None) -> NDArray[np.uint8]:
    """H×W grey: |v| scaled so that ``scale`` (default: the map's max |v|) is 255."""
    scale = peak(values) if scale is None else scale
    return cv2.convertScaleAbs(values, alpha=255.0 / scale if scale > 0 else 0.0)


def place_cells(cells: NDArray[np.uint8], stride: int, origin: int, frame_wh: tuple[int, int],
                grid: bool = True) -> NDArray[np.uint8]:
    """A frame-sized image showing output (i, j) as a stride×stride block whose top-left is at
    pixel (origin + j·stride, origin + i·stride); black where no output lands. With ``grid`` and
    blocks of 4 px or more, each block's last row and column are darkened so cells show."""
    w, h = frame_wh
    rows, cols = cells.shape[:2]
    if stride == 1 and origin == 0 and (cols, rows) == (w, h):
        return cells
    bh, bw = min(rows * stride, h - origin), min(cols * stride, w - origin)
    if bh <= 0 or bw <= 0:
        return np.zeros((h, w, *cells.shape[2:]), np.uint8)
    if stride == 1:
        big = cells[:bh, :bw]
    else:
        big = cv2.resize(cells, (cols * stride, rows * stride),
                         interpolation=cv2.INTER_NEAREST)[:bh, :bw]
        if grid and stride >= 4:
            big[stride - 1 :: stride] //= 2
            big[:, stride - 1 :: stride] //= 2
    # One pass: the cells with a black margin around them up to the frame's size.
    return cv2.copyMakeBorder(big, origin, h - origin - bh, origin, w - origin - bw,
                              cv2.BORDER_CONSTANT, value=0)


@dataclass(frozen=True)
class Mosaic:
    """Equal tiles in a grid, row by row, ``gap`` black pixels apart."""

    image: NDArray[np.uint8]
    tile_hw: tuple[int, int]
    grid_rc: tuple[int, int]  # rows, columns
    count: int
    gap: int

    def tile_xywh(self, k: int) -> tuple[int, int, int, int]:
        """Where tile ``k`` (0-based, reading order) lies in ``image``."""
        th, tw = self.tile_hw
        r, c = divmod(k, self.grid_rc[1])
        return c * (tw + self.gap), r * (th + self.gap), tw, th

    def tile(self, k: int) -> NDArray[np.uint8]:
        x, y, w, h = self.tile_xywh(k)
        return self.image[y : y + h, x : x + w]

    def tile_at(self, xy: tuple[int, int]) -> int | None:
        """The tile under pixel ``xy`` of ``image`` (None in a gap or past the last tile)."""
        th, tw = self.tile_hw
        c, dx = divmod(xy[0], tw + self.gap)
        r, dy = divmod(xy[1], th + self.gap)
        k = r * self.grid_rc[1] + c
        if dx >= tw or dy >= th or c >= self.grid_rc[1] or k >= self.count or min(xy) < 0:
            return None
        return int(k)


def mosaic(tiles: NDArray[np.uint8], gap: int = 1) -> Mosaic:
    """Lay N tiles (an N×h×w or N×h×w×3 array) out in ⌈√N⌉ columns."""
    n, th, tw = tiles.shape[:3]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    extra = tiles.shape[3:]
    padded = np.zeros((rows * cols, th + gap, tw + gap, *extra), np.uint8)
    padded[:n, :th, :tw] = tiles
    grid = padded.reshape(rows, cols, th + gap, tw + gap, *extra).swapaxes(1, 2)
    image = grid.reshape(rows * (th + gap), cols * (tw + gap), *extra)
    image = np.ascontiguousarray(image[: rows * (th + gap) - gap, : cols * (tw + gap) - gap])
    return Mosaic(image, (th, tw), (rows, cols), n, gap)


def fit_to(image: NDArray[np.uint8], frame_wh: tuple[int, int]
           ) -> tuple[NDArray[np.uint8], tuple[int, int, float]]:
    """``image`` scaled (nearest neighbour: every value stays a crisp block) to fit a
    frame-sized black canvas, centred, aspect kept. Returns (canvas, (x0, y0, scale)):
    canvas pixel (x, y) shows image pixel ((x − x0)/scale, (y − y0)/scale)."""
    w, h = frame_wh
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    sw, sh = max(1, int(iw * scale)), max(1, int(ih * scale))
    scaled = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_NEAREST)
    canvas = np.zeros((h, w, *image.shape[2:]), np.uint8)
    x0, y0 = (w - sw) // 2, (h - sh) // 2
    canvas[y0 : y0 + sh, x0 : x0 + sw] = scaled
    return canvas, (x0, y0, scale)
