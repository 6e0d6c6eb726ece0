"""Intersection over union and greedy non-maximum suppression, in plain vectorised NumPy.

Written to be read by someone learning object detection:

1. IoU of two boxes = area of their intersection / area of their union. Boxes are xyxy pixels;
   a box with zero or negative width or height has area 0 and an IoU of 0 with everything.
2. Greedy NMS: sort boxes by score, highest first. Keep the best box, drop every remaining box
   whose IoU with it is *greater than* ``iou_threshold``, repeat with the best box left.
3. Class-aware NMS only lets boxes of the same class suppress each other (done by running step 2
   per class, then merging the kept boxes by score).

Ties in score keep the earlier box first (a stable sort), the rule OpenCV and torchvision follow.

:func:`nms_steps` replays the same algorithm one candidate at a time, as the course tells it: go
down the list best score first; a candidate overlapping an already kept box by more than the
threshold is removed by the first such box, otherwise it is kept. It keeps exactly what
:func:`nms` keeps; :func:`nms_table` records every decision for the teaching view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionapp.core.types import Detections, NmsTable


def box_area(xyxy: ArrayLike) -> NDArray[np.float64]:
    """Area of each (N, 4) xyxy box; degenerate boxes have area 0."""
    b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """(N, M) IoU between every box of ``a`` (N, 4) and every box of ``b`` (M, 4), xyxy."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    # Corners of each pairwise intersection, broadcast to (N, M).
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


MATRIX_NMS_MAX = 1024  # up to this many boxes, NMS works from the whole IoU matrix (8 MB)


def nms(
    xyxy: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float,
    class_id: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Indices of the boxes greedy NMS keeps, highest score first.

    With ``class_id`` given, only boxes of the same class suppress each other.
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if class_id is not None:
        classes = np.asarray(class_id).reshape(-1)
        kept = [
            np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c],
                                             iou_threshold)]
            for c in np.unique(classes)
        ]
        merged = np.concatenate(kept) if kept else np.zeros(0, np.int64)
        return merged[np.argsort(-scores[merged], kind="stable")].astype(np.int64)
    order = np.argsort(-scores, kind="stable")
    if order.size <= MATRIX_NMS_MAX:
        # Every pairwise IoU at once (the same arithmetic as below), then the greedy pass over
        # its rows: a box still standing is kept and strikes out what it overlaps.
        over = box_iou(boxes[order], boxes[order]) > iou_threshold
        removed = np.zeros(order.size, bool)
        kept_rows: list[int] = []
        for i in range(order.size):
            if not removed[i]:
                kept_rows.append(i)
                removed |= over[i]
        return order[kept_rows].astype(np.int64)
    areas = box_area(boxes)
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        # IoU of the kept box against every remaining candidate, in one vectorised step.
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        union = areas[best] + areas[rest] - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(union > 0, inter / union, 0.0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def suppressors(
    xyxy: ArrayLike,
    keep: ArrayLike,
    iou_threshold: float,
    class_id: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """For every box: which kept box suppressed it, and their IoU — what NMS did, made visible.

    Greedy NMS visits kept boxes best-first, so a dropped box was removed by the *first* kept
    box (in ``keep`` order) that overlaps it by more than the threshold (and has its class, if
    ``class_id`` is given). Returns ``(by, iou)``: ``by[i]`` is that kept box's index (-1 for a
    kept box), ``iou[i]`` the overlap that removed box ``i`` (0 for kept boxes).
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    by = np.full(len(boxes), -1, np.int64)
    overlap = np.zeros(len(boxes))
    if len(keep) == 0 or len(boxes) == 0:
        return by, overlap
    iou = box_iou(boxes[keep], boxes)  # (kept, all)
    hits = iou > iou_threshold
    if class_id is not None:
        classes = np.asarray(class_id).reshape(-1)
        hits &= classes[keep][:, None] == classes[None, :]
    hits[:, keep] = False
    first = np.argmax(hits, axis=0)
    dropped = hits.any(axis=0)
    by[dropped] = keep[first[dropped]]
    overlap[dropped] = iou[first[dropped], np.flatnonzero(dropped)]
    return by, overlap


@dataclass(frozen=True, slots=True)
class Decision:
    """What greedy NMS decided about one candidate (``index`` into the boxes given)."""

    index: int
    kept: bool
    number: int  # kept: 1-based number among the kept boxes (#1 has the best score); else 0
    by: int  # removed: index of the kept box that removed it; -1 otherwise
    iou: float  # removed: IoU with ``by``; else the largest IoU with an earlier kept box
    over_limit: bool = False  # not kept only because ``max_det`` boxes were already kept


def nms_steps(
    xyxy: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float,
    class_id: ArrayLike | None = None,
    max_det: int | None = None,
) -> Iterator[Decision]:
    """Greedy NMS one decision at a time, best score first (ties: earlier box first).

    With ``class_id`` only boxes of the same class suppress each other; after ``max_det`` kept
    boxes, the rest are either removed (by a kept box) or over the limit.
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    classes = None if class_id is None else np.asarray(class_id).reshape(-1)
    kept: list[int] = []
    for index in np.argsort(-scores, kind="stable").tolist():
        overlaps = box_iou(boxes[index], boxes[kept])[0] if kept else np.zeros(0)
        if classes is not None and kept:
            overlaps = np.where(classes[kept] == classes[index], overlaps, 0.0)
        over = np.flatnonzero(overlaps > iou_threshold)
        if len(over):  # the first kept box (in keep order) over the threshold removes it
            first = int(over[0])
            yield Decision(index, False, 0, kept[first], float(overlaps[first]))
            continue
        biggest = float(overlaps.max()) if len(overlaps) else 0.0
        if max_det is not None and len(kept) >= max_det:
            yield Decision(index, False, 0, -1, biggest, over_limit=True)
            continue
        kept.append(index)
        yield Decision(index, True, len(kept), -1, biggest)


def nms_table(candidates: Detections, iou_threshold: float, class_aware: bool = True,
              max_det: int | None = None) -> NmsTable:
    """Run :func:`nms_steps` over ``candidates`` and record every decision; the table's rows
    are the candidates sorted best score first."""
    order = np.argsort(-candidates.confidence.astype(np.float64), kind="stable")
    ranked = candidates[order]
    n = len(ranked)
    number = np.zeros(n, np.int32)
    by = np.full(n, -1, np.int32)
    iou = np.zeros(n, np.float32)
    for step in nms_steps(ranked.xyxy, ranked.confidence, iou_threshold,
                          ranked.class_id if class_aware else None, max_det):
        number[step.index], by[step.index], iou[step.index] = step.number, step.by, step.iou
    return NmsTable(ranked, number, by, iou, float(iou_threshold))


def replay(table: NmsTable, decided: int) -> NmsTable:
    """``table`` as the replay shows it after ``decided`` decisions (the last one in focus)."""
    decided = int(np.clip(decided, 0, len(table)))
    return dataclasses.replace(table, decided=decided, focus=decided - 1)


def kept_order(table: NmsTable) -> NDArray[np.int64]:
    """The rows of the kept boxes, #1 first."""
    rows = np.flatnonzero(table.kept_number > 0)
    return rows[np.argsort(table.kept_number[rows], kind="stable")].astype(np.int64)


def decision_text(table: NmsTable, row: int, *, short: bool = False) -> str:
    """What NMS decided about ``row`` and why, in words (``short``: for a tag on the picture)."""
    thr = table.iou_threshold
    number, by, iou = int(table.kept_number[row]), int(table.removed_by[row]), table.iou[row]
    if number:
        return (f"kept #{number}" if short else
                f"kept as #{number}: IoU {iou:.2f} <= {thr:.2f} with every box kept before it")
    if by >= 0:
        if short:
            return f"removed by #{int(table.kept_number[by])}: IoU {iou:.2f}"
        return f"removed by #{int(table.kept_number[by])}: IoU {iou:.2f} > {thr:.2f}"
    return "over max_det" if short else "not kept: max_det boxes were already kept"
