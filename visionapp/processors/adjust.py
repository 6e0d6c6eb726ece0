"""Image adjustments that change the frame later processors see: gray, brightness/contrast,
resize, rotate, flip, crop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Frame, Result

_INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}


@dataclass(frozen=True)
class Grayscale(ProcessorBase):
    """BGR → gray (kept 3-channel so every processor after it still gets H×W×3)."""

    name: ClassVar[str] = "adjust.grayscale"

    def __call__(self, frame: Frame) -> Result:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        return Result(self.name, image=cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))


@dataclass(frozen=True)
class BrightnessContrast(ProcessorBase):
    """out = clip(alpha · in + beta, 0, 255), per pixel and channel, rounded to nearest."""

    name: ClassVar[str] = "adjust.brightness_contrast"
    alpha: float = param(1.0, min=0.0, max=3.0, step=0.05, help="contrast: multiply by α")
    beta: int = param(0, min=-255, max=255, help="brightness: add β")

    def lut(self) -> np.ndarray:
        """The 256-entry lookup table: one multiply-add per grey level, not per pixel."""
        levels = np.arange(256, dtype=np.float64) * self.alpha + self.beta
        return np.clip(np.rint(levels), 0, 255).astype(np.uint8)

    def __call__(self, frame: Frame) -> Result:
        return Result(self.name, image=cv2.LUT(frame.image, self.lut()))


@dataclass(frozen=True)
class Resize(ProcessorBase):
    """Resize keeping the aspect ratio unless both width and height are given.

    ``interpolation="auto"`` picks INTER_AREA when shrinking (it averages, no aliasing) and
    INTER_CUBIC when enlarging (smoother than linear).
    """

    name: ClassVar[str] = "adjust.resize"
    scale: float = param(0.5, min=0.05, max=8.0, step=0.05, help="used when width and height are 0")
    width: int = param(0, min=0, max=7680, help="target width in px (0: from height or scale)")
    height: int = param(0, min=0, max=4320, help="target height in px (0: from width or scale)")
    interpolation: str = param("auto", choices=("auto", *_INTERPOLATION))

    def target_wh(self, width: int, height: int) -> tuple[int, int]:
        if self.width and self.height:
            return self.width, self.height
        if self.width:
            return self.width, max(1, round(height * self.width / width))
        if self.height:
            return max(1, round(width * self.height / height)), self.height
        return max(1, round(width * self.scale)), max(1, round(height * self.scale))

    def __call__(self, frame: Frame) -> Result:
        h, w = frame.image.shape[:2]
        tw, th = self.target_wh(w, h)
        if self.interpolation == "auto":
            flag = cv2.INTER_AREA if tw * th < w * h else cv2.INTER_CUBIC
        else:
            flag = _INTERPOLATION[self.interpolation]
        return Result(self.name, image=cv2.resize(frame.image, (tw, th), interpolation=flag),
                      values={"resolution_wh": [tw, th]})


@dataclass(frozen=True)
class Rotate(ProcessorBase):
    """Rotate about the image centre (counter-clockwise for positive angles), with scaling."""

    name: ClassVar[str] = "adjust.rotate"
    angle_deg: float = param(0.0, min=-180.0, max=180.0, step=1.0)
    scale: float = param(1.0, min=0.1, max=4.0, step=0.05)

    def __call__(self, frame: Frame) -> Result:
        h, w = frame.image.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), self.angle_deg, self.scale)
        return Result(self.name, image=cv2.warpAffine(frame.image, matrix, (w, h)))


@dataclass(frozen=True)
class Flip(ProcessorBase):
    """Mirror the frame horizontally (a selfie view), vertically, or both."""

    name: ClassVar[str] = "adjust.flip"
    direction: str = param("horizontal", choices=("horizontal", "vertical", "both"))

    def __call__(self, frame: Frame) -> Result:
        code = {"horizontal": 1, "vertical": 0, "both": -1}[self.direction]
        return Result(self.name, image=cv2.flip(frame.image, code))


@dataclass(frozen=True)
class Crop(ProcessorBase):
    """Crop to a region of interest; the ROI is clipped to the frame (0 size: to the edge)."""

    name: ClassVar[str] = "adjust.crop"
    x: int = param(0, min=0, max=16384, slider=(0, 1920))
    y: int = param(0, min=0, max=16384, slider=(0, 1080))
    width: int = param(0, min=0, max=16384, slider=(0, 1920), help="0: to the right edge")
    height: int = param(0, min=0, max=16384, slider=(0, 1080), help="0: to the bottom edge")

    def __call__(self, frame: Frame) -> Result:
        h, w = frame.image.shape[:2]
        x0, y0 = min(self.x, w - 1), min(self.y, h - 1)
        x1 = w if self.width == 0 else min(w, x0 + self.width)
        y1 = h if self.height == 0 else min(h, y0 + self.height)
        # A view would tie the crop to the source buffer; copy so the frame owns its pixels.
        return Result(self.name, image=np.ascontiguousarray(frame.image[y0:y1, x0:x1]),
                      values={"roi_xyxy": [x0, y0, x1, y1]})
