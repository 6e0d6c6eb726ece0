"""The built-in ``demo:`` scene: real photos moving over a textured background.

Photos ship inside scikit-image (astronaut: a face and a person; chelsea: a cat; coffee: a cup),
read straight from its data folder with OpenCV, so no camera, network or skimage import is needed.
Every processor has something real to find: Haar and MediaPipe the face, YOLO a person and a cat,
Canny the brick texture, template matching the moving cup.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import SourceError


@functools.cache
def _skimage_data_dir() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SourceError("the demo scene needs scikit-image's photos: pip install scikit-image")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def skimage_photo(name: str) -> np.ndarray:
    """A photo bundled with scikit-image (e.g. "astronaut.png"), as BGR uint8."""
    image = cv2.imread(str(_skimage_data_dir() / name), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"scikit-image photo {name!r} is missing; reinstall scikit-image")
    return image


def _fit(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


class DemoScene:
    """Renders frame ``i`` of the scene at ``resolution_wh``; deterministic for a given i."""

    def __init__(self, resolution_wh: tuple[int, int] = (640, 480)):
        self.width, self.height = resolution_wh
        if self.width < 160 or self.height < 120:
            raise SourceError("demo: size must be at least 160x120")
        scale = min(self.width / 640, self.height / 480)
        texture = skimage_photo("brick.png")
        # A background twice the frame width so it can pan; brick gives Canny lines to find.
        tiles_x = math.ceil(2 * self.width / texture.shape[1]) + 1
        tiles_y = math.ceil(self.height / texture.shape[0]) + 1
        big = np.tile(texture, (tiles_y, tiles_x, 1))
        self.background = (big[: self.height, : 2 * self.width] * 0.55).astype(np.uint8)
        # 300 px wide at 640×480 makes the face ~70 px: large enough for Haar on every frame.
        self.person = _fit(skimage_photo("astronaut.png"), max(80, round(300 * scale)))
        self.cat = _fit(skimage_photo("chelsea.png"), max(60, round(210 * scale)))
        self.cup = _fit(skimage_photo("coffee.png"), max(40, round(120 * scale)))

    def _paste(self, canvas: np.ndarray, sprite: np.ndarray, cx: float, cy: float) -> None:
        h, w = sprite.shape[:2]
        x = int(np.clip(cx - w / 2, 0, self.width - w))
        y = int(np.clip(cy - h / 2, 0, self.height - h))
        canvas[y : y + h, x : x + w] = sprite

    def render(self, index: int, fps: float = 30.0) -> np.ndarray:
        t = index / fps
        pan = int((t * 20) % self.width)
        canvas = self.background[:, pan : pan + self.width].copy()
        w, h = self.width, self.height
        self._paste(canvas, self.person, w * (0.28 + 0.08 * math.sin(t * 0.7)),
                    h * (0.45 + 0.05 * math.sin(t * 1.1)))
        self._paste(canvas, self.cat, w * (0.78 + 0.06 * math.sin(t * 0.9 + 1.0)),
                    h * (0.55 + 0.12 * math.cos(t * 0.6)))
        self._paste(canvas, self.cup, w * (0.5 + 0.4 * math.sin(t * 0.35)), h * 0.9)
        return canvas
