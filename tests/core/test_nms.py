"""IoU and NMS against hand-worked examples and OpenCV's NMSBoxes on random cases."""

import cv2
import numpy as np
import pytest

from visionapp.core.nms import box_iou, nms


def test_iou_hand_worked():
    # Two 2×2 squares overlapping in a 1×1 corner: 1 / (4 + 4 - 1) = 1/7.
    assert box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    # Identical boxes: 1. Disjoint: 0. Touching edges: 0.
    assert box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10]])[0, 0] == 1.0
    assert box_iou([[0, 0, 1, 1]], [[5, 5, 6, 6]])[0, 0] == 0.0
    assert box_iou([[0, 0, 1, 1]], [[1, 0, 2, 1]])[0, 0] == 0.0
    # A box inside another of 4× its area: 1/4. Degenerate (zero-area) box: 0.
    assert box_iou([[0, 0, 4, 4]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(0.25)
    assert box_iou([[2, 2, 2, 5]], [[0, 0, 5, 5]])[0, 0] == 0.0


def test_nms_hand_worked():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]
    # IoU(0, 1) = 81 / 119 ≈ 0.68: suppressed at 0.5, kept at 0.7.
    assert nms(boxes, [0.9, 0.8, 0.7], 0.5).tolist() == [0, 2]
    assert nms(boxes, [0.9, 0.8, 0.7], 0.7).tolist() == [0, 1, 2]
    # Class-aware: a box of another class is never suppressed.
    assert nms(boxes, [0.9, 0.8, 0.7], 0.5, class_id=[0, 1, 0]).tolist() == [0, 1, 2]


def _opencv_nms(boxes, scores, threshold):
    xywh = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
    kept = cv2.dnn.NMSBoxes(xywh, [float(s) for s in scores], 0.0, threshold)
    return np.asarray(kept, dtype=np.int64).reshape(-1).tolist()


def test_nms_matches_opencv_on_random_cases():
    """Same kept indices, in the same order, as cv2.dnn.NMSBoxes.

    Cases where some IoU equals the threshold exactly are left out: OpenCV rounds the IoU through
    float32 there (so an IoU of exactly 0.1 counts as "greater than 0.1"), which is an artefact
    of its arithmetic, not a rule of NMS. A case with two zero-area boxes is left out too: OpenCV
    calls their overlap 1, where IoU (and torchvision) say 0.
    """
    rng = np.random.default_rng(42)
    compared = 0
    for case in range(2500):
        n = int(rng.integers(1, 40))
        xy = rng.integers(0, 60, (n, 2)).astype(np.float64)
        wh = rng.integers(1, 40, (n, 2)).astype(np.float64)
        boxes = np.concatenate([xy, xy + wh], axis=1)
        # Few distinct scores so ties are common; some exact duplicate boxes too.
        scores = rng.integers(1, 6, n) / 5.0
        if n > 3 and case % 5 == 0:
            boxes[1] = boxes[0]  # exact duplicates
        if n > 4 and case % 7 == 0:
            boxes[2, 2] = boxes[2, 0]  # one degenerate (zero-width) box
        threshold = float(rng.choice([0.1, 0.3, 0.5, 0.7]))
        if np.any(np.abs(box_iou(boxes, boxes) - threshold) < 1e-6):
            continue
        ours = nms(boxes, scores, threshold).tolist()
        assert ours == _opencv_nms(boxes, scores, threshold), f"case {case}"
        compared += 1
    assert compared >= 2000


def test_matrix_and_loop_nms_keep_the_same_boxes(monkeypatch):
    """Up to MATRIX_NMS_MAX boxes NMS works from the whole IoU matrix, beyond it box by box: the
    two keep the same boxes in the same order (ties, duplicates and zero-area boxes included),
    on both sides of the limit."""
    from visionapp.core import nms as nms_module

    rng = np.random.default_rng(3)
    for n in (1, 2, 37, 400, 1500):
        xy = rng.uniform(0, 400, (n, 2))
        wh = rng.uniform(0, 60, (n, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        boxes[n // 2] = boxes[0]
        scores = rng.integers(1, 9, n) / 8.0
        for threshold in (0.3, 0.7):
            monkeypatch.setattr(nms_module, "MATRIX_NMS_MAX", 10**6)
            matrix = nms(boxes, scores, threshold)
            monkeypatch.setattr(nms_module, "MATRIX_NMS_MAX", 0)
            loop = nms(boxes, scores, threshold)
            monkeypatch.undo()
            assert matrix.tolist() == loop.tolist() == nms(boxes, scores, threshold).tolist()
            assert 0 < len(matrix) <= n
