"""``conv.kernel`` and ``conv.pool``: one convolution layer and one pooling layer, by hand, on
the live frame — the course notes' arithmetic made visible.

``conv.kernel`` slides a typed (or preset) kernel over the grayscale frame, as a CNN layer does
(a cross-correlation, zero padding, stride); the result is a signed map (negative blue,
positive red) or its magnitude, laid out cell by cell over the frame. ``conv.pool`` takes the
max or the mean of each window of the frame or of the map the processor before it shows.
:meth:`ConvKernel.inspect` / :meth:`ConvPool.inspect` take one output apart for the inspector.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.errors import BadInput
from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Frame, Result
from visionapp.processors import cnn_arithmetic as ca
from visionapp.processors.map_views import magnitude, place_cells, signed_colour

VIEWS = ("replace", "blend", "side_by_side")
_EXAMPLE = "'-1 0 1; -2 0 2; -1 0 1'"


def _kernel_ok(p, *codes: str) -> bool:
    return p.preset != "custom" or ca.kernel_problem(p.kernel) not in codes


def _zero_sum(p) -> bool:
    text = p.kernel if p.preset == "custom" else ca.PRESETS.get(p.preset, "")
    try:
        return abs(float(ca.parse_kernel(text).sum())) < 1e-9
    except ca.KernelError:
        return False  # reported by the rules about the kernel itself


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


@dataclass(frozen=True)
class ConvKernel(ProcessorBase):
    """One convolution filter over the grayscale frame: Σ (patch · kernel) at every position.

    Computes what CNN layers compute, a cross-correlation (the kernel is not flipped), with
    zero padding. ``padding=same`` pads (F − 1)/2 on each side."""

    name: ClassVar[str] = "conv.kernel"
    preset: str = param("vertical_edge", choices=("custom", *ca.PRESETS),
                        help="a textbook kernel, or custom: the kernel typed below")
    kernel: str = param("", kind="kernel",
                        help=f"with preset=custom: rows separated by ';', e.g. {_EXAMPLE}; "
                             "fractions such as 1/9 allowed")
    normalise: bool = param(False, help="divide the kernel by its sum (so it keeps brightness)")
    stride: int = param(1, min=1, max=32, help="pixels between windows (S)")
    padding: str = param("valid", choices=("valid", "same"),
                         help="valid: no padding (P = 0); same: zeros around, P = (F − 1)/2")
    relu: bool = param(False, help="ReLU after: negative outputs become 0")
    view: str = param("signed", choices=("signed", "magnitude"),
                      help="signed: negative blue, positive red; magnitude: |value| in grey")
    display: str = param("replace", choices=VIEWS, help="how the map is shown")
    grid: bool = param(True, help="outline cells of 4 px or more (stride ≥ 4)")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("kernel",), lambda p: _kernel_ok(p, "empty"),
             f"{{kernel}} is empty; type rows of numbers separated by ';', e.g. {_EXAMPLE}"),
        Rule(("kernel",), lambda p: _kernel_ok(p, "number"),
             f"{{kernel}} holds something that is not a number; e.g. {_EXAMPLE}"),
        Rule(("kernel",), lambda p: _kernel_ok(p, "ragged", "square"),
             "{kernel} is not square (every row needs as many numbers as there are rows)"),
        Rule(("kernel",), lambda p: _kernel_ok(p, "even"),
             "{kernel} has an even size, so no centre pixel; use 3×3, 5×5, 7×7 …"),
        Rule(("kernel",), lambda p: _kernel_ok(p, "size"),
             f"{{kernel}} is too large; the largest kernel is {ca.MAX_KERNEL}×{ca.MAX_KERNEL}"),
        Rule(("kernel", "preset"), lambda p: p.preset == "custom" or not p.kernel.strip(),
             "{kernel} is ignored while {preset}; set preset=custom to use it, or clear it"),
        Rule(("normalise",), lambda p: not (p.normalise and _zero_sum(p)),
             "{normalise}: this kernel sums to 0, so it cannot be normalised (that would divide "
             "by 0); edge kernels sum to 0 on purpose: turn normalise off"),
    )

    @functools.cached_property
    def _kernel(self) -> np.ndarray:
        k = ca.parse_kernel(self.kernel if self.preset == "custom" else ca.PRESETS[self.preset])
        k = k / k.sum() if self.normalise else k
        k.flags.writeable = False  # parsed once per processor, shared by every frame
        return k

    def effective_kernel(self) -> np.ndarray:
        """The F×F kernel applied (float64): the preset's or the typed one, normalised if asked."""
        return self._kernel

    @property
    def origin(self) -> int:
        """Where the first output cell is shown: at its window's centre pixel."""
        return 0 if self.padding == "same" else self._kernel.shape[0] // 2

    def _checked_kernel(self, gray: np.ndarray) -> np.ndarray:
        k = self.effective_kernel()
        f = k.shape[0]
        problem = ca.geometry_problem((gray.shape[1], gray.shape[0]), f, self.stride,
                                      ca.pad_of(f, self.padding), "kernel")
        if problem:
            raise BadInput(f"{self.name}: {problem}")
        return k

    def __call__(self, frame: Frame) -> Result:
        gray = _gray(frame.image)
        k = self._checked_kernel(gray)
        f, p, s = k.shape[0], ca.pad_of(k.shape[0], self.padding), self.stride
        out = ca.correlate(gray, k, s, self.padding)
        if self.relu:
            out = cv2.threshold(out, 0, 0, cv2.THRESH_TOZERO)[1]
        lo, hi = cv2.minMaxLoc(out)[:2]
        scale = max(-lo, hi)
        shown = signed_colour(out, scale) if self.view == "signed" else magnitude(out, scale)
        wh = frame.resolution_wh
        overlay = place_cells(shown, s, self.origin, wh, self.grid)
        h, w = out.shape
        width_f, height_f = ca.size_formula(wh[0], f, p, s), ca.size_formula(wh[1], f, p, s)
        what = self.preset if self.preset != "custom" else "custom kernel"
        scale_line = (f"values {lo:g} .. {hi:g} (negative blue, positive red)"
                      if self.view == "signed" else f"|values| up to {scale:g}")
        text = (f"conv {f}×{f} {what}, stride {s}, {self.padding}"
                f"{', ReLU' if self.relu else ''}: {wh[0]}×{wh[1]} -> {w}×{h}",
                f"width {ca.ascii_formula(width_f)}", scale_line)
        values = {"kernel": k.tolist(), "out_wh": [w, h], "min": round(float(lo), 4),
                  "max": round(float(hi), 4), "width_formula": width_f,
                  "height_formula": height_f}
        return Result(self.name, overlay=overlay, overlay_mode=self.display, text=text,
                      values=values)

    def inspect(self, frame: Frame, view_xy: tuple[int, int]) -> ca.ConvInspection | None:
        """The arithmetic behind the output shown at ``view_xy`` (pixels of this processor's
        frame-sized map); None where the map shows no output (the border of a valid map)."""
        gray = _gray(frame.image)
        k = self._checked_kernel(gray)
        p = ca.pad_of(k.shape[0], self.padding)
        out_wh = (ca.output_size(gray.shape[1], k.shape[0], p, self.stride),
                  ca.output_size(gray.shape[0], k.shape[0], p, self.stride))
        cell = ca.cell_at(view_xy, self.origin, self.stride, out_wh)
        if cell is None:
            return None
        return ca.inspect_conv(gray, k, cell, stride=self.stride, padding=self.padding,
                               relu=self.relu)


@dataclass(frozen=True)
class ConvPool(ProcessorBase):
    """Max or average pooling: one value per size×size window, windows ``stride`` apart.

    No padding; the pooled map is shown at its own resolution scaled back up."""

    name: ClassVar[str] = "conv.pool"
    mode: str = param("max", choices=("max", "average"))
    size: int = param(2, min=1, max=64, help="window side F")
    stride: int = param(2, min=1, max=64, help="pixels between windows S (= size: no overlap)")
    source: str = param("gray", choices=("gray", "color", "previous"),
                        help="the grayscale frame, each colour channel, or the map the "
                             "processor before it shows (e.g. conv.kernel)")
    display: str = param("replace", choices=VIEWS, help="how the pooled map is shown")
    grid: bool = param(True, help="outline cells of 4 px or more (stride ≥ 4)")

    def pool_input(self, frame: Frame) -> np.ndarray | None:
        """What is pooled: H×W, H×W×3, or None when source=previous and no map came before."""
        if self.source == "gray":
            return _gray(frame.image)
        if self.source == "color":
            return frame.image
        return next((r.overlay for r in reversed(frame.context) if r.overlay is not None), None)

    def _checked_input(self, frame: Frame) -> np.ndarray | None:
        image = self.pool_input(frame)
        if image is not None:
            problem = ca.geometry_problem((image.shape[1], image.shape[0]), self.size,
                                          self.stride, 0, "pool")
            if problem:
                raise BadInput(f"{self.name}: {problem}")
        return image

    def __call__(self, frame: Frame) -> Result:
        image = self._checked_input(frame)
        if image is None:
            return Result(self.name, text=("conv.pool: no map to pool: no processor before it "
                                           "shows one; add conv.kernel before it, or set "
                                           "source=gray",))
        pooled = pool = ca.pool(image, self.size, self.stride, self.mode)
        if pool.dtype != np.uint8:
            pooled = cv2.convertScaleAbs(pool)  # the means of 0–255 values, rounded
        overlay = place_cells(pooled, self.stride, 0, frame.resolution_wh, self.grid)
        h, w = image.shape[:2]
        oh, ow = pool.shape[:2]
        width_f = ca.size_formula(w, self.size, 0, self.stride)
        height_f = ca.size_formula(h, self.size, 0, self.stride)
        text = (f"{self.mode} pool {self.size}×{self.size}, stride {self.stride} on the "
                f"{self.source} {'map' if self.source == 'previous' else 'frame'}: "
                f"{w}×{h} -> {ow}×{oh}", f"width {ca.ascii_formula(width_f)}")
        values = {"mode": self.mode, "in_wh": [w, h], "out_wh": [ow, oh],
                  "width_formula": width_f, "height_formula": height_f}
        return Result(self.name, overlay=overlay, overlay_mode=self.display, text=text,
                      values=values)

    def inspect(self, frame: Frame, view_xy: tuple[int, int], channel: int = 0
                ) -> ca.PoolInspection | None:
        """The window behind the pooled value shown at ``view_xy`` and, for max, the pixel that
        won. ``frame`` must carry the earlier results (its context) when source=previous."""
        image = self._checked_input(frame)
        if image is None:
            return None
        h, w = image.shape[:2]
        out_wh = (ca.output_size(w, self.size, 0, self.stride),
                  ca.output_size(h, self.size, 0, self.stride))
        cell = ca.cell_at(view_xy, 0, self.stride, out_wh)
        if cell is None:
            return None
        return ca.inspect_pool(image, self.size, self.stride, cell, mode=self.mode,
                               channel=channel)
