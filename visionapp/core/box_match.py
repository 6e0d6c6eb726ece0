"""How well one set of detections reproduces another: matched share and mAP at IoU 0.5.

- ``matched_share``: the fraction of reference boxes that the other set also found (same class,
  IoU ≥ a threshold). It compares a fast backend against the reference one frame at a time.
- ``map50``: COCO-style mean average precision at IoU 0.5 over a labelled set: per class,
  detections of all images sorted by score, each matched greedily to the best unmatched label
  of its class (IoU ≥ 0.5), the precision envelope integrated over recall with COCO's
  101-point interpolation; the mean over classes that have labels (or, ``pooled``, one AP
  over all classes at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionapp.core.nms import box_iou


@dataclass(frozen=True, slots=True)
class Boxes:
    """Boxes of one image: (N, 4) xyxy pixels, (N,) class ids, (N,) scores (1 for labels)."""

    xyxy: NDArray[np.float32]
    class_id: NDArray[np.int32]
    score: NDArray[np.float32]

    @classmethod
    def of(cls, xyxy, class_id, score=None) -> Boxes:
        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        score = np.ones(len(xyxy), np.float32) if score is None else score
        return cls(xyxy, np.asarray(class_id, np.int32).reshape(-1),
                   np.asarray(score, np.float32).reshape(-1))

    def __len__(self) -> int:
        return len(self.xyxy)


def matched_count(reference: Boxes, other: Boxes, iou: float = 0.7) -> int:
    """How many reference boxes ``other`` has too (same class, IoU ≥ ``iou``)."""
    if len(reference) == 0 or len(other) == 0:
        return 0
    same = reference.class_id[:, None] == other.class_id[None, :]
    return int(((box_iou(reference.xyxy, other.xyxy) >= iou) & same).any(axis=1).sum())


def matched_share(reference: Sequence[Boxes], other: Sequence[Boxes], iou: float = 0.7) -> float:
    """Pooled over images: matched reference boxes / reference boxes (1.0 when there are none)."""
    total = sum(len(r) for r in reference)
    found = sum(matched_count(r, o, iou) for r, o in zip(reference, other, strict=True))
    return found / total if total else 1.0


def average_precision(tp: NDArray[np.bool_], scores: NDArray[np.float32], n_labels: int) -> float:
    """COCO 101-point AP of detections (true-positive flags, scores) against ``n_labels``."""
    if n_labels == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(tp[order])
    recall = hits / n_labels
    precision = hits / np.arange(1, len(hits) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at ≥ this recall
    points = np.linspace(0, 1, 101)
    at = np.searchsorted(recall, points, side="left")
    return float(np.where(at < len(envelope), envelope[np.minimum(at, len(envelope) - 1)],
                          0.0).mean())


def map50(labels: Sequence[Boxes], detections: Sequence[Boxes], pooled: bool = False) -> float:
    """Mean AP at IoU 0.5 over the classes present in ``labels`` (0..1).

    ``pooled``: one AP over the detections of every class at once (a detection still matches
    only a label of its own class) — steadier on a few frames, where a class seen once or twice
    would otherwise weigh as much as the cars."""
    groups = [None] if pooled else np.unique(
        np.concatenate([lab.class_id for lab in labels] or [np.zeros(0)]))
    aps = []
    for c in groups:
        flags, scores, n_labels = [], [], 0
        for lab, det in zip(labels, detections, strict=True):
            mine = np.ones(len(det), bool) if c is None else det.class_id == c
            truth_mask = np.ones(len(lab), bool) if c is None else lab.class_id == c
            truth, truth_cls = lab.xyxy[truth_mask], lab.class_id[truth_mask]
            boxes, conf, cls = det.xyxy[mine], det.score[mine], det.class_id[mine]
            n_labels += len(truth)
            iou = box_iou(boxes, truth) if len(truth) else np.zeros((len(boxes), 0))
            iou = np.where(cls[:, None] == truth_cls[None, :], iou, -1.0)
            used = np.zeros(len(truth), bool)
            for i in np.argsort(-conf, kind="stable"):
                candidates = np.where(used, -1.0, iou[i])
                best = int(np.argmax(candidates)) if len(candidates) else -1
                hit = best >= 0 and candidates[best] >= 0.5
                if hit:
                    used[best] = True
                flags.append(hit)
                scores.append(conf[i])
        aps.append(average_precision(np.asarray(flags, bool), np.asarray(scores, np.float32),
                                     n_labels))
    return float(np.nanmean(aps)) if aps else float("nan")
