"""Frozen value types passed between sources, processors, the annotator and the GUI.

Layouts and units are in the names: ``xyxy`` is (x1, y1, x2, y2) in pixels, ``points_xy`` is
(N, 2) pixels, ``timestamp_ms`` is milliseconds since the source started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

OverlayMode = Literal["blend", "replace", "side_by_side"]
LandmarkStyle = Literal["plain", "mesh", "skeleton"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One image from a source: H×W×3 uint8 BGR, its position and capture time."""

    image: NDArray[np.uint8]
    index: int
    timestamp_ms: int
    # time.perf_counter() when the frame was captured; frame age = now - captured_s.
    captured_s: float = 0.0
    # True for a still image (an image file or a folder of images) rather than a video stream:
    # trackers treat each still on its own.
    still: bool = False
    # What the processors before this one in the chain found (e.g. face boxes to classify).
    context: tuple[Result, ...] = ()
    # Which continuous stretch of video this frame belongs to: opening a source, seeking and
    # looping start a new stream, so trackers and trails restart instead of guessing from
    # timestamps that went backwards.
    stream_id: int = 0
    # Milliseconds without frames before this one (a network stream that dropped and came
    # back); 0 when the frames before it arrived normally.
    gap_ms: int = 0

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])

    def with_image(self, image: NDArray[np.uint8]) -> Frame:
        return dataclasses.replace(self, image=image)

    def with_context(self, context: tuple[Result, ...]) -> Frame:
        return dataclasses.replace(self, context=context)


def _f32(values, shape: tuple[int, ...]) -> NDArray[np.float32]:
    return np.asarray(values, dtype=np.float32).reshape(shape)


@dataclass(frozen=True, slots=True)
class Detections:
    """N boxes as parallel arrays (the supervision layout).

    ``track_id`` is -1 where a box is not tracked.
    """

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int32]
    labels: tuple[str, ...]
    track_id: NDArray[np.int32] | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        shapes = (self.xyxy.shape, self.confidence.shape, self.class_id.shape)
        if shapes != ((n, 4), (n,), (n,)):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, confidence "
                f"{self.confidence.shape}, class_id {self.class_id.shape}, {n} labels"
            )
        if self.track_id is not None and self.track_id.shape != (n,):
            raise ValueError(f"track_id has shape {self.track_id.shape}, expected ({n},)")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), ()
        )

    @classmethod
    def from_lists(
        cls,
        xyxy,
        confidence,
        labels,
        class_id=None,
        track_id=None,
    ) -> Detections:
        n = len(labels)
        ids = np.zeros(n, np.int32) if class_id is None else np.asarray(class_id, np.int32)
        tracks = None if track_id is None else np.asarray(track_id, np.int32).reshape(n)
        return cls(_f32(xyxy, (n, 4)), _f32(confidence, (n,)), ids.reshape(n), tuple(labels),
                   tracks)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int | slice | Sequence[int] | NDArray) -> Detections:
        """The boxes at ``index`` — an int, a slice, an array of indices or a boolean mask of
        length N — as Detections, every parallel array sliced alike (supervision's indexing)."""
        if isinstance(index, slice):
            labels = self.labels[index]
        else:
            index = np.asarray(index).reshape(-1)  # an int becomes a one-box selection
            if index.dtype == bool:
                if index.shape != (len(self),):
                    raise IndexError(f"a mask of {index.size} values selects from {len(self)} "
                                     "boxes; give one value per box")
                index = np.flatnonzero(index)
            elif index.size and not np.issubdtype(index.dtype, np.integer):
                raise IndexError(f"Detections are indexed by int, slice, index array or "
                                 f"boolean mask, not {index.dtype} values")
            index = index.astype(np.intp, copy=False)
            labels = tuple(self.labels[i] for i in index.tolist())
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], labels,
                          None if self.track_id is None else self.track_id[index])


@dataclass(frozen=True, slots=True)
class Landmarks:
    """One set of keypoints (a face mesh, a hand, a body).

    ``points_xy`` is (K, 2) pixels; ``visibility`` is (K,) in [0, 1] or None; ``connections``
    lists index pairs to draw as a skeleton.
    """

    points_xy: NDArray[np.float32]
    label: str = ""
    score: float = 1.0
    visibility: NDArray[np.float32] | None = None
    connections: tuple[tuple[int, int], ...] = ()
    draw_points: bool = True  # False: only the connections (a dense face tesselation)
    min_visibility: float = 0.5  # points less visible than this are not drawn
    # "plain": lines and points; "mesh": thin translucent lines that leave the face visible;
    # "skeleton": thick lines and outlined joints (a body).
    style: LandmarkStyle = "plain"


@dataclass(frozen=True, slots=True)
class Mask:
    """A region for the annotator to tint: ``mask`` is H×W bool at the frame's size (True
    inside); its pixels get ``color_bgr`` × ``alpha`` added (saturating), the rest is untouched."""

    mask: NDArray[np.bool_]
    color_bgr: tuple[int, int, int]
    alpha: float = 0.5


@dataclass(frozen=True, slots=True)
class HeatMap:
    """Values in [0, 1] (h×w at any resolution) for the annotator to stretch over the region
    ``xyxy`` (pixels) in the JET colour map, blended at ``alpha`` (Grad-CAM: where a model
    looked)."""

    values: NDArray[np.float32]
    xyxy: tuple[int, int, int, int]
    alpha: float = 0.5
    # True: each pixel's opacity is alpha × its value, so where nothing was (0) the frame shows
    # untouched (a heat map of where objects went); False: alpha everywhere (Grad-CAM).
    fade_low: bool = False


@dataclass(frozen=True, slots=True)
class Bars:
    """Named values in [0, 1] drawn as horizontal bars with their names (class probabilities),
    in the order given."""

    labels: tuple[str, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.values):
            raise ValueError(f"{len(self.labels)} bar labels for {len(self.values)} values")


@dataclass(frozen=True, slots=True)
class NmsTable:
    """Every candidate box greedy NMS looked at, best score first, and what it decided.

    Row ``i`` is ``candidates[i]``. ``kept_number`` is the 1-based number of a kept box (#1 has
    the best score), 0 for one not kept; ``removed_by`` the row of the kept box that removed
    it (-1 for kept boxes and for boxes dropped only because ``max_det`` boxes were kept);
    ``iou``: for a removed box its IoU with that kept box, for a kept one the largest IoU it
    had with a box kept before it (what stayed at or below the threshold).
    ``selected`` is the kept number being explained (0: none), ``focus`` a row to show on its
    own (-1: none), ``decided`` how many rows the replay has decided (-1: all of them).
    """

    candidates: Detections
    kept_number: NDArray[np.int32]
    removed_by: NDArray[np.int32]
    iou: NDArray[np.float32]
    iou_threshold: float
    selected: int = 0
    focus: int = -1
    decided: int = -1

    def __len__(self) -> int:
        return len(self.candidates)

    def row_of_number(self, number: int) -> int:
        """The row of kept box #``number``; -1 if there is none."""
        rows = np.flatnonzero(self.kept_number == number) if number > 0 else ()
        return int(rows[0]) if len(rows) else -1

    def rows(self) -> list[dict[str, Any]]:
        """The table as JSON-ready rows: score, class, kept/removed, which box removed it."""
        out = []
        for i in range(len(self)):
            by = int(self.removed_by[i])
            number = int(self.kept_number[i])
            status = "kept" if number else ("removed" if by >= 0 else "over max_det")
            out.append({"row": i, "score": round(float(self.candidates.confidence[i]), 4),
                        "class": self.candidates.labels[i], "status": status,
                        "kept_number": number, "iou": round(float(self.iou[i]), 4),
                        "removed_by": int(self.kept_number[by]) if by >= 0 else 0,
                        "decided": self.decided < 0 or i < self.decided})
        return out


@dataclass(frozen=True, slots=True)
class Result:
    """What one processor made of one frame.

    - ``image``: a transformed frame (adjust processors); processors later in the chain see it.
    - ``overlay``: a map to show (edge map, heat map), H×W uint8 or H×W×3 BGR, drawn by the
      annotator in ``overlay_mode``; later processors still see the unchanged frame.
    - ``masks``, ``heatmaps``: regions the annotator tints (a person mask) or colours by value
      (a Grad-CAM heat map), over the frame.
    - ``trail_length``: for tracked boxes (``detections.track_id`` ≥ 0), how many of their
      last centres the annotator joins into a trail; 0: none. The history is the annotator's.
    - ``text``: short lines for the on-screen readout ("3 faces", "candidates 12 → kept 3").
    - ``values``: the frame-level answer as JSON-ready values (str, int, float, bool, None,
      lists and string-keyed mappings of them): the classifier's label and top-k probabilities,
      per-class counts, the share of edge pixels. Batch runs write it into each record under
      ``results[].values``; each built-in processor's keys are documented in
      ``resources/record.schema.json``. Held read-only.
    """

    processor: str
    detections: Detections = field(default_factory=Detections.empty)
    landmarks: tuple[Landmarks, ...] = ()
    image: NDArray[np.uint8] | None = None
    overlay: NDArray[np.uint8] | None = None
    overlay_mode: OverlayMode = "blend"
    masks: tuple[Mask, ...] = ()
    heatmaps: tuple[HeatMap, ...] = ()
    trail_length: int = 0
    text: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    # Boxes considered but not kept (e.g. NMS candidates), drawn thin and faint; a non-empty
    # label is written beside its box ("IoU 0.82").
    candidates: Detections | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    # True: the annotator draws nothing the processors before this one found (boxes, landmarks,
    # masks, heat maps, text), so an anonymised frame is shown clean.
    hides_earlier: bool = False
    # False: the boxes are drawn without their label tags (the labels are shown elsewhere, e.g.
    # ocr's text written beside the frame); records still carry them.
    box_labels: bool = True
    # Probabilities to draw as bars with their names (a classifier's top k).
    bars: Bars | None = None
    # What non-maximum suppression did to every candidate (the NMS teaching view and its table).
    nms: NmsTable | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.values, MappingProxyType):
            object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@runtime_checkable
class Processor(Protocol):
    """A frozen dataclass of settings that turns a Frame into a Result."""

    name: ClassVar[str]

    def __call__(self, frame: Frame) -> Result: ...
