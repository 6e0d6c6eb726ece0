"""Greedy NMS replayed one decision at a time keeps exactly what NMS keeps, and the table of
decisions (the teaching view's data) says who removed whom."""

from __future__ import annotations

import numpy as np
import pytest

from visionapp.core.annotate import annotate
from visionapp.core.nms import (
    decision_text,
    kept_order,
    nms,
    nms_steps,
    nms_table,
    replay,
    suppressors,
)
from visionapp.core.types import Detections, Result


def random_case(rng):
    n = int(rng.integers(1, 50))
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(0, 40, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.integers(1, 8, n) / 8  # many ties
    return boxes, scores, rng.integers(0, 3, n), float(rng.choice([0.2, 0.45, 0.7]))


def test_steps_keep_what_greedy_nms_keeps_and_name_the_same_suppressor():
    rng = np.random.default_rng(11)
    for case in range(400):
        boxes, scores, classes, thr = random_case(rng)
        for cls in (None, classes):
            steps = list(nms_steps(boxes, scores, thr, cls))
            assert sorted(s.index for s in steps) == list(range(len(boxes)))  # each once
            kept = [s.index for s in steps if s.kept]
            expected = nms(boxes, scores, thr, cls)
            if cls is None:
                assert kept == expected.tolist(), f"case {case}"
            else:
                assert sorted(kept) == sorted(expected.tolist()), f"case {case}"
            by, overlap = suppressors(boxes, np.asarray(kept), thr, cls)
            for s in steps:
                assert s.by == by[s.index] and s.number == (kept.index(s.index) + 1 if s.kept
                                                            else 0)
                if not s.kept:
                    assert s.iou == pytest.approx(overlap[s.index]) and s.iou > thr
                else:
                    assert s.iou <= thr


def test_steps_go_best_score_first_and_stop_keeping_at_max_det():
    boxes = [[0, 0, 10, 10], [50, 50, 60, 60], [1, 1, 11, 11], [80, 80, 90, 90]]
    steps = list(nms_steps(boxes, [0.5, 0.9, 0.8, 0.7], 0.5, max_det=2))
    assert [s.index for s in steps] == [1, 2, 3, 0]
    assert [(s.kept, s.number) for s in steps] == [(True, 1), (True, 2), (False, 0), (False, 0)]
    assert steps[2].over_limit and not steps[3].over_limit and steps[3].by == 2


def test_the_table_matches_kept_and_removed():
    dets = Detections.from_lists(
        [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [21, 20, 31, 30], [60, 0, 70, 9]],
        [0.9, 0.8, 0.7, 0.95, 0.3], ["car", "car", "car", "car", "person"], [2, 2, 2, 2, 0])
    table = nms_table(dets, 0.5)
    # rows best score first: 0.95 (box 3), 0.9 (0), 0.8 (1), 0.7 (2), 0.3 (4)
    assert table.candidates.confidence.tolist() == pytest.approx([0.95, 0.9, 0.8, 0.7, 0.3])
    rows = table.rows()
    assert [r["status"] for r in rows] == ["kept", "kept", "removed", "removed", "kept"]
    assert [r["kept_number"] for r in rows] == [1, 2, 0, 0, 3]
    assert [r["removed_by"] for r in rows] == [0, 0, 2, 1, 0]  # box #2 removed row 2, #1 row 3
    assert rows[2]["iou"] == pytest.approx(81 / 119, abs=1e-4)
    assert rows[3]["iou"] == pytest.approx(90 / 110, abs=1e-4)
    kept = nms(dets.xyxy, dets.confidence, 0.5, dets.class_id)
    assert table.candidates.xyxy[kept_order(table)].tolist() == dets.xyxy[kept].tolist()
    assert decision_text(table, 3) == "removed by #1: IoU 0.82 > 0.50"
    assert decision_text(table, 4, short=True) == "kept #3"
    half = replay(table, 3)
    assert half.focus == 2 and [r["decided"] for r in half.rows()] == [True] * 3 + [False] * 2


def test_the_nms_view_draws_inside_the_frame_for_boxes_at_the_edges():
    dets = Detections.from_lists([[0, 0, 60, 40], [1, 0, 61, 41], [260, 200, 320, 240]],
                                 [0.9, 0.8, 0.7], ["car", "car", "bus"])
    table = nms_table(dets, 0.5)
    image = np.zeros((240, 320, 3), np.uint8)
    import dataclasses

    for shown in (dataclasses.replace(table, selected=1), replay(table, 2)):
        out = annotate(image, [Result("yolo.detect", nms=shown)], show_text=False)
        assert out.shape == image.shape and out[:45, :70].any() and out[195:, 255:].any()
