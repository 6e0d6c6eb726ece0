"""Edge detection on the grayscale image, as the course teaches: Canny and Sobel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Frame, Result

VIEWS = ("replace", "blend", "side_by_side")


def _gray(image: np.ndarray, blur_ksize: int) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if blur_ksize:
        gray = cv2.GaussianBlur(gray, (blur_ksize, blur_ksize), 0)
    return gray


@dataclass(frozen=True)
class Canny(ProcessorBase):
    """Canny: gradient, non-maximum thinning, then hysteresis.

    Pixels with gradient above ``high`` are edges; pixels between ``low`` and ``high`` are edges
    only if connected to one above ``high``.
    """

    name: ClassVar[str] = "canny"
    low: int = param(100, min=0, max=1000, slider=(0, 500),
                     help="hysteresis lower threshold (type up to 1000 for aperture 5 or 7)")
    high: int = param(200, min=0, max=1000, slider=(0, 500),
                      help="hysteresis upper threshold")
    aperture: int = param(3, choices=(3, 5, 7), help="Sobel kernel size for the gradient")
    l2_gradient: bool = param(False, help="exact √(gx²+gy²) instead of |gx|+|gy|")
    blur_ksize: int = param(0, choices=(0, 3, 5, 7, 9), help="Gaussian blur first (0: none)")
    view: str = param("replace", choices=VIEWS, help="how the edge map is shown")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("low", "high"), lambda p: p.low <= p.high,
             "{low} is above {high}; the lower threshold must not exceed the upper one"),
    )

    def __call__(self, frame: Frame) -> Result:
        gray = _gray(frame.image, self.blur_ksize)
        edges = cv2.Canny(gray, self.low, self.high, apertureSize=self.aperture,
                          L2gradient=self.l2_gradient)
        share = cv2.countNonZero(edges) / edges.size
        text = (f"Canny {self.low}/{self.high}: {share:.1%} of pixels are edges",)
        return Result(self.name, overlay=edges, overlay_mode=self.view, text=text,
                      values={"edge_fraction": round(share, 6)})


@dataclass(frozen=True)
class Sobel(ProcessorBase):
    """Sobel derivative: |∂I/∂x|, |∂I/∂y| or the gradient magnitude, scaled to 0–255."""

    name: ClassVar[str] = "sobel"
    direction: str = param("magnitude", choices=("x", "y", "magnitude"))
    ksize: int = param(3, choices=(1, 3, 5, 7), help="kernel size (1 means 3×1 / 1×3)")
    blur_ksize: int = param(0, choices=(0, 3, 5, 7, 9), help="Gaussian blur first (0: none)")
    view: str = param("replace", choices=VIEWS, help="how the gradient map is shown")

    def __call__(self, frame: Frame) -> Result:
        gray = _gray(frame.image, self.blur_ksize)
        if self.direction == "magnitude":
            gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=self.ksize)
            gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=self.ksize)
            grad = cv2.magnitude(gx, gy)
        else:
            dx, dy = (1, 0) if self.direction == "x" else (0, 1)
            grad = cv2.Sobel(gray, cv2.CV_32F, dx, dy, ksize=self.ksize)
        out = cv2.convertScaleAbs(grad)  # |value| saturated to uint8
        return Result(self.name, overlay=out, overlay_mode=self.view,
                      text=(f"Sobel {self.direction}, {self.ksize}×{self.ksize}",),
                      values={"mean_gradient": round(float(cv2.mean(out)[0]), 3)})
