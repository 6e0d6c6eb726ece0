"""The arithmetic of a convolution layer, Qt-free, as the course notes write it by hand.

A CNN's "convolution" is a cross-correlation: the kernel is laid over the input *as written*,
not flipped, each pair of numbers is multiplied, and the products are summed into one output
value. ``cv2.filter2D`` and ``scipy.signal.correlate2d`` compute exactly this;
``scipy.signal.convolve2d`` flips the kernel first (true convolution), which for a symmetric
kernel is the same and for an edge kernel changes the sign.

Geometry, per side: an input of W pixels, a kernel (or pool window) of F, zero padding of P on
each side and a stride of S give ``⌊(W − F + 2P)/S⌋ + 1`` outputs. ``padding="same"`` here is
P = (F − 1)/2, which keeps the size at stride 1 (Keras' "same" at stride 1). Output i's window
starts at input pixel ``i·S − P``.

The inspector functions (:func:`inspect_conv`, :func:`inspect_pool`) return everything a dialog
shows for one output value; :func:`cell_at` turns a click on the shown map into that output's
index, so a widget only draws numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np
from numpy.typing import NDArray

MAX_KERNEL = 15  # the largest side a typed kernel may have

# Kernels the panel offers. Fractions keep blur kernels exact ("1/9" is one ninth).
PRESETS: dict[str, str] = {
    "vertical_edge": "1 0 -1; 1 0 -1; 1 0 -1",  # the notes' kernel: bright left, dark right → +
    "horizontal_edge": "1 1 1; 0 0 0; -1 -1 -1",
    "sobel_x": "-1 0 1; -2 0 2; -1 0 1",
    "sobel_y": "-1 -2 -1; 0 0 0; 1 2 1",
    "sharpen": "0 -1 0; -1 5 -1; 0 -1 0",
    "box_blur": "1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9",
    "gaussian": "1/16 2/16 1/16; 2/16 4/16 2/16; 1/16 2/16 1/16",
    "gaussian_5x5": "; ".join(" ".join(f"{a * b}/256" for b in (1, 4, 6, 4, 1))
                              for a in (1, 4, 6, 4, 1)),
    "emboss": "-2 -1 0; -1 1 1; 0 1 2",
    "laplacian": "0 1 0; 1 -4 1; 0 1 0",
    "identity": "0 0 0; 0 1 0; 0 0 0",
}

_ROW_SPLIT = re.compile(r"[;\n]")
_NUMBER_SPLIT = re.compile(r"[\s,]+")
_MINUSES = str.maketrans({"−": "-", "–": "-"})


class KernelError(ValueError):
    """A kernel text that is not an odd square grid of numbers; ``code`` says which way."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def parse_kernel(text: str) -> NDArray[np.float64]:
    """The F×F kernel written in ``text``: rows separated by ";" or new lines, numbers by spaces
    or commas; "−" counts as a minus and a number may be a fraction ("1/9").

    Raises KernelError with ``code`` "empty", "number", "ragged", "square", "even" or "size"."""
    rows = [r.translate(_MINUSES).strip() for r in _ROW_SPLIT.split(text)]
    rows = [r for r in rows if r]
    if not rows:
        raise KernelError("empty", "the kernel is empty")
    grid = []
    for row in rows:
        cells = []
        for token in _NUMBER_SPLIT.split(row):
            try:
                cells.append(float(Fraction(token)))
            except (ValueError, ZeroDivisionError):
                raise KernelError("number", f"{token!r} is not a number") from None
        grid.append(cells)
    widths = {len(r) for r in grid}
    if len(widths) != 1:
        raise KernelError("ragged", "its rows have different lengths")
    f = widths.pop()
    if f != len(grid):
        raise KernelError("square", f"it is {len(grid)}×{f}, not square")
    if f % 2 == 0:
        raise KernelError("even", f"it is {f}×{f}; an even kernel has no centre pixel")
    if f > MAX_KERNEL:
        raise KernelError("size", f"it is {f}×{f}; the largest is {MAX_KERNEL}×{MAX_KERNEL}")
    return np.array(grid, np.float64)


def kernel_problem(text: str) -> str | None:
    """The KernelError code of ``text``, or None if it is a usable kernel."""
    try:
        parse_kernel(text)
    except KernelError as exc:
        return exc.code
    return None


def kernel_text(kernel: NDArray) -> str:
    """``kernel`` written the way :func:`parse_kernel` reads it ("-1 0 1; -2 0 2; -1 0 1")."""
    return "; ".join(" ".join(f"{v:g}" for v in row) for row in np.asarray(kernel))


def pad_of(kernel_size: int, padding: str) -> int:
    """P, the zero padding on each side: 0 for "valid", (F − 1)/2 for "same"."""
    return (kernel_size - 1) // 2 if padding == "same" else 0


def output_size(w: int, f: int, p: int, s: int) -> int:
    """⌊(W − F + 2P)/S⌋ + 1; 0 when the window does not fit even once."""
    span = w - f + 2 * p
    return span // s + 1 if span >= 0 else 0


def size_formula(w: int, f: int, p: int, s: int) -> str:
    """The notes' formula with the numbers in: "(28 − 3 + 2×0)/1 + 1 = 26". The floor brackets
    appear only when the division is not exact."""
    span = w - f + 2 * p
    body = f"({w} − {f} + 2×{p})/{s}"
    if span % s:
        body = f"⌊{body}⌋"
    return f"{body} + 1 = {output_size(w, f, p, s)}"


_ASCII = str.maketrans({"−": "-", "⌊": "floor(", "⌋": ")", "⌈": "ceil(", "⌉": ")"})


def ascii_formula(formula: str) -> str:
    """``formula`` in the characters the on-frame readout can draw: "floor((29 - 2 + 2×0)/2)"."""
    return formula.translate(_ASCII)


def geometry_problem(frame_wh: tuple[int, int], f: int, s: int, p: int, what: str) -> str | None:
    """Why a window of F (padding P, stride S) cannot slide over a W×H input, or None.
    ``what`` names the window in the message ("kernel", "pool")."""
    w, h = frame_wh
    if min(w, h) + 2 * p < f:
        return (f"the {f}×{f} {what} is larger than the {w}×{h} input; choose a smaller "
                f"{what}" + (" or padding=same" if what == "kernel" and p == 0 else ""))
    if s > min(w, h):
        return f"stride {s} is larger than the {w}×{h} input; choose a stride up to {min(w, h)}"
    return None


# ----------------------------------------------------------------------------- computing


def correlate(image: NDArray, kernel: NDArray, stride: int = 1, padding: str = "valid"
              ) -> NDArray[np.float32]:
    """The CNN layer's output for one 2-D input channel: out[i, j] = Σ_u,v
    padded[i·S + u, j·S + v] · kernel[u, v], zero padding, float32."""
    f = kernel.shape[0]
    r = f // 2
    src = image if image.dtype == np.float32 else image.astype(np.float32)
    # filter2D anchors the kernel at its centre and does not flip it: a correlation.
    full = cv2.filter2D(src, cv2.CV_32F, kernel.astype(np.float32),
                        borderType=cv2.BORDER_CONSTANT)
    if padding == "same":
        return full if stride == 1 else np.ascontiguousarray(full[::stride, ::stride])
    h, w = image.shape[:2]
    valid = full[r : h - r : stride, r : w - r : stride]
    # A stride-1 crop keeps whole rows contiguous, which OpenCV reads without a copy.
    return valid if stride == 1 else np.ascontiguousarray(valid)


def pool(image: NDArray, size: int, stride: int, mode: str = "max") -> NDArray:
    """Max or average over each size×size window (no padding), windows ``stride`` apart.

    Works per channel on H×W or H×W×C arrays. Max keeps the input's dtype; average is float32."""
    h, w = image.shape[:2]
    rows, cols = output_size(h, size, 0, stride), output_size(w, size, 0, stride)
    square = np.ones((size, size), np.uint8)
    if mode == "max":
        # Anchored at the window's top-left, pixel (y, x) holds the max of its window.
        spread = cv2.dilate(image, square, anchor=(0, 0))
    else:
        spread = cv2.boxFilter(image, cv2.CV_32F, (size, size), anchor=(0, 0), normalize=True,
                               borderType=cv2.BORDER_CONSTANT)
    return np.ascontiguousarray(
        spread[: (rows - 1) * stride + 1 : stride, : (cols - 1) * stride + 1 : stride])


# ----------------------------------------------------------------------------- the inspector


def _window(image: NDArray, x0: int, y0: int, f: int) -> NDArray[np.float64]:
    """The f×f patch whose top-left is (x0, y0); pixels outside the image are the zero padding."""
    h, w = image.shape[:2]
    patch = np.zeros((f, f), np.float64)
    ys, xs = slice(max(0, y0), min(h, y0 + f)), slice(max(0, x0), min(w, x0 + f))
    patch[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = image[ys, xs]
    return patch


def _grid(values: NDArray, width: int) -> list[str]:
    return [" ".join(f"{v:>{width}g}" for v in row) for row in values]


@dataclass(frozen=True)
class ConvInspection:
    """One output value of a convolution, taken apart the way the notes lay it out."""

    out_xy: tuple[int, int]  # (column, row) of the output value
    window_xy: tuple[int, int]  # input pixel under the kernel's top-left (negative: padding)
    patch: NDArray[np.float64]  # F×F input values (0 where the window is in the padding)
    kernel: NDArray[np.float64]
    products: NDArray[np.float64]  # patch · kernel, element by element
    total: float  # Σ products
    relu: bool
    value: float  # the output: total, or max(0, total) after a ReLU
    out_wh: tuple[int, int]
    width_formula: str
    height_formula: str

    def lines(self) -> list[str]:
        """The inspection as text: input patch, kernel, products, their sum, the output."""
        width = max(len(f"{v:g}") for v in np.concatenate(
            [self.patch.ravel(), self.kernel.ravel(), self.products.ravel()]))
        terms = " + ".join(f"({v:g})" if v < 0 else f"{v:g}" for v in self.products.ravel())
        out = [f"output ({self.out_xy[0]}, {self.out_xy[1]}) from the input window at "
               f"({self.window_xy[0]}, {self.window_xy[1]})", "input patch:",
               *_grid(self.patch, width), "kernel:", *_grid(self.kernel, width),
               "products:", *_grid(self.products, width), f"sum: {terms} = {self.total:g}"]
        if self.relu:
            out.append(f"ReLU: max(0, {self.total:g}) = {self.value:g}")
        out += [f"output width:  {self.width_formula}",
                f"output height: {self.height_formula}"]
        return out


def inspect_conv(image: NDArray, kernel: NDArray, out_xy: tuple[int, int], *, stride: int = 1,
                 padding: str = "valid", relu: bool = False) -> ConvInspection:
    """Take apart output ``out_xy`` = (column, row) of :func:`correlate` on the 2-D ``image``."""
    kernel = np.asarray(kernel, np.float64)
    f = kernel.shape[0]
    p = pad_of(f, padding)
    h, w = image.shape[:2]
    out_wh = (output_size(w, f, p, stride), output_size(h, f, p, stride))
    col, row = out_xy
    if not (0 <= col < out_wh[0] and 0 <= row < out_wh[1]):
        raise ValueError(f"output {out_xy} is outside the {out_wh[0]}×{out_wh[1]} output")
    x0, y0 = col * stride - p, row * stride - p
    patch = _window(image, x0, y0, f)
    products = patch * kernel
    total = float(products.sum())
    return ConvInspection((col, row), (x0, y0), patch, kernel, products, total, relu,
                          max(0.0, total) if relu else total, out_wh,
                          size_formula(w, f, p, stride), size_formula(h, f, p, stride))


@dataclass(frozen=True)
class PoolInspection:
    """One pooled value: its window, and for max pooling the pixel that won."""

    out_xy: tuple[int, int]
    window_xy: tuple[int, int]  # input pixel at the window's top-left
    window: NDArray[np.float64]  # size×size input values
    mode: str
    winner_xy: tuple[int, int] | None  # input pixel holding the max (first in reading order)
    value: float
    out_wh: tuple[int, int]
    width_formula: str
    height_formula: str

    def lines(self) -> list[str]:
        width = max(len(f"{v:g}") for v in self.window.ravel())
        out = [f"output ({self.out_xy[0]}, {self.out_xy[1]}) pools the window at "
               f"({self.window_xy[0]}, {self.window_xy[1]}):", *_grid(self.window, width)]
        if self.winner_xy is not None:
            out.append(f"max = {self.value:g}, won by input pixel ({self.winner_xy[0]}, "
                       f"{self.winner_xy[1]})")
        else:
            out.append(f"average = {self.window.sum():g}/{self.window.size} = {self.value:g}")
        return out + [f"output width:  {self.width_formula}",
                      f"output height: {self.height_formula}"]


def inspect_pool(image: NDArray, size: int, stride: int, out_xy: tuple[int, int], *,
                 mode: str = "max", channel: int = 0) -> PoolInspection:
    """Take apart output ``out_xy`` of :func:`pool`; ``channel`` picks the channel of an
    H×W×C input."""
    plane = image[..., channel] if image.ndim == 3 else image
    h, w = plane.shape
    out_wh = (output_size(w, size, 0, stride), output_size(h, size, 0, stride))
    col, row = out_xy
    if not (0 <= col < out_wh[0] and 0 <= row < out_wh[1]):
        raise ValueError(f"output {out_xy} is outside the {out_wh[0]}×{out_wh[1]} output")
    x0, y0 = col * stride, row * stride
    window = plane[y0 : y0 + size, x0 : x0 + size].astype(np.float64)
    if mode == "max":
        dy, dx = np.unravel_index(int(np.argmax(window)), window.shape)
        winner: tuple[int, int] | None = (x0 + int(dx), y0 + int(dy))
        value = float(window.max())
    else:
        winner, value = None, float(window.mean())
    return PoolInspection((col, row), (x0, y0), window, mode, winner, value, out_wh,
                          size_formula(w, size, 0, stride), size_formula(h, size, 0, stride))


def cell_at(view_xy: tuple[int, int], origin: int, stride: int, out_wh: tuple[int, int]
            ) -> tuple[int, int] | None:
    """The output (column, row) shown at pixel ``view_xy`` of a map laid out by
    :func:`visionapp.processors.map_views.place_cells` (cells of stride×stride pixels starting
    ``origin`` pixels in), or None where no output is shown."""
    col = (view_xy[0] - origin) // stride
    row = (view_xy[1] - origin) // stride
    if view_xy[0] < origin or view_xy[1] < origin or col >= out_wh[0] or row >= out_wh[1]:
        return None
    return int(col), int(row)
