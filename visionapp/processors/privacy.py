"""``privacy.blur``: every box from earlier processors (faces from Haar, BlazeFace or the face
mesh; people from YOLO; any label) blurred, pixelated or filled, with padding. Tracking is not
needed.

It fails safe: a box the detector misses on one frame stays hidden for ``hold_ms`` at its last
place (a face never flashes into view because one frame went undetected), unless a box found
now covers it. The result is the new frame: later processors and the recorded video see only
the anonymised picture. Each region is sampled down to a few cells and scaled back up, so 20
faces on a 1080p frame cost about a millisecond (``benchmarks/solutions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Frame, Result
from visionapp.processors.tracked import StreamStates, upstream_boxes

MODES = ("blur", "pixelate", "fill")


@dataclass
class _Held:
    xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    seen_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def padded(xyxy: np.ndarray, padding: float, resolution_wh: tuple[int, int]) -> np.ndarray:
    """Boxes grown by ``padding`` × their size on each side, clipped to the frame, as whole
    pixels (N, 4) int: x1, y1 inclusive, x2, y2 exclusive."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    grow = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1) * padding
    out = np.concatenate([boxes[:, :2] - grow, boxes[:, 2:] + grow], axis=1)
    w, h = resolution_wh
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return np.stack([np.floor(out[:, 0]), np.floor(out[:, 1]), np.ceil(out[:, 2]),
                     np.ceil(out[:, 3])], 1).astype(np.int64)


def _overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a),) bool: whether each box of ``a`` intersects any box of ``b``."""
    if not len(b) or not len(a):
        return np.zeros(len(a), bool)
    ix = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    iy = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return ((ix > 0) & (iy > 0)).any(axis=1)


@dataclass(frozen=True)
class PrivacyBlur(ProcessorBase):
    """Blurs, pixelates or fills every box found earlier in the chain."""

    name: ClassVar[str] = "privacy.blur"
    classes: str = param("", kind="text", help="only these labels (e.g. face, person), "
                                               "comma-separated; empty: every box")
    mode: str = param("blur", choices=MODES)
    cells: int = param(6, min=2, max=64, help="detail kept across a box's short side: fewer "
                                              "hides more")
    padding: float = param(0.15, min=0.0, max=1.0, step=0.05,
                           help="grow each box by this share of its size on every side")
    hold_ms: int = param(300, min=0, max=5000, step=50,
                         help="keep hiding a box this long after the detector loses it")
    landmarks: bool = param(True, help="also hide the outline of landmark sets (face mesh)")
    clean: bool = param(False, help="draw none of the earlier processors' boxes and readouts "
                                    "on the output")
    _held: StreamStates[_Held] = field(default_factory=StreamStates, init=False, repr=False,
                                       compare=False)

    def __call__(self, frame: Frame) -> Result:
        if not frame.context:
            return Result(self.name, text=("privacy.blur: nothing before it finds boxes; add "
                                           "haar.faces, mediapipe.face_detection or "
                                           "yolo.detect first",),
                          values={"regions": 0, "held": 0}, hides_earlier=self.clean)
        found = upstream_boxes(frame, self.classes, with_landmarks=self.landmarks).xyxy
        now = frame.timestamp_ms
        with self._held.state(frame, _Held) as held:
            keep = (now - held.seen_ms <= self.hold_ms) & ~_overlaps(held.xyxy, found)
            old = held.xyxy[keep]
            held.xyxy = np.concatenate([found, old]).astype(np.float32)
            held.seen_ms = np.concatenate([np.full(len(found), now, np.int64),
                                           held.seen_ms[keep]])
            regions = held.xyxy.copy()
        boxes = padded(regions, self.padding, frame.resolution_wh)
        image = frame.image.copy() if len(boxes) else None
        for x1, y1, x2, y2 in boxes:
            if x2 > x1 and y2 > y1:
                self.hide(image[y1:y2, x1:x2])
        text = f"privacy.blur: {len(found)} region(s) hidden" + (
            f" + {len(old)} held" if len(old) else "")
        return Result(self.name, image=image, text=(text,), hides_earlier=self.clean,
                      values={"regions": len(found), "held": len(old)})

    def hide(self, roi: np.ndarray) -> None:
        """Replace the pixels of ``roi`` (a view into the frame) in place."""
        h, w = roi.shape[:2]
        if self.mode == "fill":
            roi[:] = 0
            return
        short = min(w, h)
        small_wh = (max(1, round(self.cells * w / short)), max(1, round(self.cells * h / short)))
        # Sample down to 4 × 4 points per cell first (cheap), then average each cell's points:
        # INTER_AREA straight from the region costs ten times more for the same picture.
        mid_wh = (min(w, 4 * small_wh[0]), min(h, 4 * small_wh[1]))
        mid = cv2.resize(roi, mid_wh, interpolation=cv2.INTER_LINEAR)
        small = cv2.resize(mid, small_wh, interpolation=cv2.INTER_AREA)
        inter = cv2.INTER_NEAREST if self.mode == "pixelate" else cv2.INTER_LINEAR
        cv2.resize(small, (w, h), dst=roi, interpolation=inter)  # written in place
