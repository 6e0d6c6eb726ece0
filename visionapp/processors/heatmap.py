"""``heatmap``: where objects have been — each frame adds every box's anchor point (a soft disc)
or its whole area to an accumulator, which fades with a half-life in seconds of stream time;
the annotator blends it over the frame in a colour map. Works with or without tracking.

The accumulator is kept at a quarter of the frame's size (a heat map is smooth; this makes the
per-frame cost a small fraction of a detector's). :meth:`Heatmap.final_image` gives the last
stream's map as a BGR picture, which batch runs save beside the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Frame, HeatMap, Result
from visionapp.processors import geometry as geo
from visionapp.processors.tracked import StreamStates, upstream_boxes

SCALE = 4  # accumulator pixels per side of a frame pixel block


@dataclass
class _Accumulated:
    values: np.ndarray | None = None  # float32 at 1/SCALE of the frame
    last_ms: int | None = None
    frame_wh: tuple[int, int] = (0, 0)
    points: int = 0


@dataclass(frozen=True)
class Heatmap(ProcessorBase):
    """Accumulates where boxes have been, fading with time, shown as a colour map."""

    name: ClassVar[str] = "heatmap"
    restart_label: ClassVar[str] = "Clear the heat map"  # the panel's button: a fresh instance
    source: str = param("anchor", choices=("anchor", "box"),
                        help="anchor: a disc at each box's anchor point; box: its whole area")
    anchor: str = param("bottom_center", choices=geo.ANCHORS)
    radius_px: int = param(16, min=2, max=200, help="anchor disc radius in frame pixels")
    half_life_s: float = param(10.0, min=0.0, max=3600.0, step=1.0,
                               help="seconds for the heat to halve; 0: never fades")
    alpha: float = param(0.5, min=0.0, max=1.0, step=0.05, help="opacity over the frame")
    classes: str = param("", kind="text", help="only these labels, comma-separated; empty: all")
    _states: StreamStates[_Accumulated] = field(default_factory=StreamStates, init=False,
                                                repr=False, compare=False)

    def __call__(self, frame: Frame) -> Result:
        w, h = frame.resolution_wh
        small_wh = (max(1, -(-w // SCALE)), max(1, -(-h // SCALE)))
        boxes = upstream_boxes(frame, self.classes)
        with self._states.state(frame, _Accumulated) as acc:
            if acc.values is None or acc.frame_wh != (w, h):
                acc.values = np.zeros((small_wh[1], small_wh[0]), np.float32)
                acc.frame_wh, acc.last_ms = (w, h), None
            if self.half_life_s > 0 and acc.last_ms is not None:
                elapsed_s = max(0.0, (frame.timestamp_ms - acc.last_ms) / 1000)
                acc.values *= np.float32(0.5 ** (elapsed_s / self.half_life_s))
            acc.last_ms = frame.timestamp_ms
            self._add(acc.values, boxes.xyxy)
            acc.points += len(boxes)
            peak = float(acc.values.max())
            shown = acc.values / peak if peak > 0 else acc.values.copy()
            total = acc.points
        heat = HeatMap(shown, (0, 0, w, h), self.alpha, fade_low=True)
        return Result(self.name, heatmaps=(heat,) if peak > 0 else (),
                      text=(f"heatmap: {total} point(s) so far",),
                      values={"points": total, "boxes": len(boxes)})

    def _add(self, values: np.ndarray, xyxy: np.ndarray) -> None:
        if not len(xyxy):
            return
        stamp = np.zeros_like(values)
        if self.source == "box":
            for x1, y1, x2, y2 in np.round(xyxy / SCALE).astype(int):
                cv2.rectangle(stamp, (x1, y1), (x2, y2), 1.0, cv2.FILLED)
        else:
            radius = max(1, round(self.radius_px / SCALE))
            for x, y in np.round(geo.anchor_points(xyxy, self.anchor) / SCALE).astype(int):
                cv2.circle(stamp, (int(x), int(y)), radius, 1.0, cv2.FILLED, cv2.LINE_AA)
        values += stamp

    def final_image(self) -> np.ndarray | None:
        """The last stream's heat map as a BGR colour-mapped picture at the frame's size (black
        where nothing was), or None before any frame."""
        acc = self._states.latest()
        if acc is None or acc.values is None:
            return None
        peak = float(acc.values.max())
        levels = (acc.values / peak * 255 if peak > 0 else acc.values).astype(np.uint8)
        picture = cv2.applyColorMap(cv2.resize(levels, acc.frame_wh), cv2.COLORMAP_JET)
        picture[cv2.resize(levels, acc.frame_wh) == 0] = 0
        return picture

    def summary(self) -> list[str]:
        acc = self._states.latest()
        return [] if acc is None else [f"{self.name}: {acc.points} point(s) accumulated"]
