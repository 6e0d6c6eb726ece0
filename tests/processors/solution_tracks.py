"""Synthetic tracked boxes for the solution processors: frames whose context holds what a
tracking detector would have found, with known positions and timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from visionapp.core.params import ProcessorBase
from visionapp.core.types import Detections, Frame, Result

BLANK = np.zeros((360, 640, 3), np.uint8)


def box_at(anchor_xy: tuple[float, float], size: float = 20.0) -> tuple[float, ...]:
    """A box whose bottom centre is ``anchor_xy``."""
    x, y = anchor_xy
    return (x - size / 2, y - size, x + size / 2, y)


def frame_with(objects: list[tuple[int, str, tuple[float, float]]], index: int,
               timestamp_ms: int | None = None, stream_id: int = 1,
               processor: str = "yolo.detect", tracked: bool = True,
               image: np.ndarray = BLANK) -> Frame:
    """A frame whose chain so far found ``objects``: (track id, label, bottom-centre xy)."""
    boxes = [box_at(xy) for _, _, xy in objects]
    dets = Detections.from_lists(boxes, [0.9] * len(objects), [label for _, label, _ in objects],
                                 track_id=[t for t, _, _ in objects] if tracked else None)
    stamp = index * 100 if timestamp_ms is None else timestamp_ms
    return Frame(image, index, stamp, context=(Result(processor, detections=dets),),
                 stream_id=stream_id)


def run_path(processor, paths: dict[int, list[tuple[float, float] | None]], label: str = "car",
             stream_id: int = 1, step_ms: int = 100) -> list[Result]:
    """Feed each track's anchor path frame by frame (None: not detected in that frame)."""
    frames = max(len(p) for p in paths.values())
    out = []
    for k in range(frames):
        objects = [(tid, label, path[k]) for tid, path in paths.items()
                   if k < len(path) and path[k] is not None]
        out.append(processor(frame_with(objects, k, k * step_ms, stream_id)))
    return out


@dataclass(frozen=True)
class Movers(ProcessorBase):
    """A stand-in tracking detector for batch runs: two cars moving down 10 px per frame from
    y = 100 (track 1 at x 200, track 2 at x 400 starting 5 frames later), so each crosses
    y = 200 exactly once."""

    name: ClassVar[str] = "test.movers"

    def __call__(self, frame: Frame) -> Result:
        objects = [(1, "car", (200.0, 100.0 + 10 * frame.index))]
        if frame.index >= 5:
            objects.append((2, "car", (400.0, 100.0 + 10 * (frame.index - 5))))
        boxes = [box_at(xy) for _, _, xy in objects]
        return Result(self.name, detections=Detections.from_lists(
            boxes, [0.9] * len(objects), ["car"] * len(objects), track_id=[1, 2][:len(objects)]))
