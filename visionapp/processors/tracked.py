"""What the solution processors (counting, zones, heat map, speed, privacy) share: the boxes
earlier processors of the chain found, and state kept per stream.

State is keyed by ``Frame.stream_id`` and, inside a stream, by (processor, track id): two
streams interleaved through one processor (two cameras, a loop) never mix their tracks, and a
track id of one detector never meets another detector's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from visionapp.core.types import Frame

T = TypeVar("T")
MAX_STREAMS = 16  # streams remembered at once; the least recently seen is forgotten first
NO_TRACKER_NOTE = "totals need track ids: add a tracker (e.g. yolo.detect tracker=bytetrack)"


@dataclass(frozen=True, slots=True)
class Boxes:
    """Boxes from earlier processors, flattened: parallel arrays of length N."""

    xyxy: NDArray[np.float32]  # (N, 4) pixels
    labels: tuple[str, ...]
    processors: tuple[str, ...]  # who found each box
    track_id: NDArray[np.int64]  # (N,), -1 where untracked

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def tracked(self) -> NDArray[np.bool_]:
        return self.track_id >= 0

    def key(self, i: int) -> tuple[str, int]:
        """The identity of box i's track across frames of one stream."""
        return self.processors[i], int(self.track_id[i])


def wanted_labels(classes: str) -> set[str] | None:
    """``"car, truck"`` → {"car", "truck"} (lower case); empty text: every label."""
    items = {c.strip().lower() for c in classes.split(",") if c.strip()}
    return items or None


def upstream_boxes(frame: Frame, classes: str = "", with_landmarks: bool = False) -> Boxes:
    """Every box found before this processor (``frame.context``), filtered by label; with
    ``with_landmarks`` each set of landmarks (a face mesh, a hand) adds its bounding box."""
    wanted = wanted_labels(classes)
    xyxy: list = []
    labels: list[str] = []
    owners: list[str] = []
    tracks: list[int] = []
    for result in frame.context:
        dets = result.detections
        for i in range(len(dets)):
            if wanted is not None and dets.labels[i].lower() not in wanted:
                continue
            xyxy.append(dets.xyxy[i])
            labels.append(dets.labels[i])
            owners.append(result.processor)
            tracks.append(-1 if dets.track_id is None else int(dets.track_id[i]))
        if not with_landmarks:
            continue
        for marks in result.landmarks:
            if len(marks.points_xy) < 2 or (wanted is not None
                                            and marks.label.lower() not in wanted):
                continue
            pts = marks.points_xy
            xyxy.append((pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()))
            labels.append(marks.label)
            owners.append(result.processor)
            tracks.append(-1)
    return Boxes(np.asarray(xyxy, np.float32).reshape(-1, 4), tuple(labels), tuple(owners),
                 np.asarray(tracks, np.int64).reshape(-1))


def has_box_source(frame: Frame) -> bool:
    """Whether any processor before this one can yield boxes (it ran, even if it found none)."""
    return bool(frame.context)


class StreamStates(Generic[T]):
    """One state per stream id, made by ``start()`` for the stream's first frame; a still image
    gets a fresh state every time (it stands alone). At most MAX_STREAMS are kept.

    A field of a processor (``field(default_factory=StreamStates, init=False,
    compare=False)``), so new settings — a new processor — start afresh. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: OrderedDict[int, T] = OrderedDict()
        self.last_stream: int | None = None

    @contextmanager
    def state(self, frame: Frame, start: Callable[[], T]) -> Iterator[T]:
        with self._lock:
            if frame.still:
                yield start()
                return
            value = self._states.get(frame.stream_id)
            if value is None:
                value = self._states[frame.stream_id] = start()
                while len(self._states) > MAX_STREAMS:
                    self._states.popitem(last=False)
            self._states.move_to_end(frame.stream_id)
            self.last_stream = frame.stream_id
            yield value

    def latest(self) -> T | None:
        """The state of the stream seen last (a batch run's summary of the input just done)."""
        with self._lock:
            return None if self.last_stream is None else self._states.get(self.last_stream)
