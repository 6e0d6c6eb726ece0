"""Matched share and mAP50 on cases small enough to work out by hand."""

from __future__ import annotations

import pytest

from visionapp.core.box_match import Boxes, map50, matched_count, matched_share


def test_matched_needs_same_class_and_enough_overlap():
    ref = Boxes.of([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 2])
    # first: same box, same class; second: right class but shifted by 3 px (IoU 49/151 < 0.7)
    other = Boxes.of([[0, 0, 10, 10], [23, 23, 33, 33]], [1, 2])
    assert matched_count(ref, other) == 1
    wrong_class = Boxes.of([[0, 0, 10, 10]], [5])
    assert matched_count(ref, wrong_class) == 0
    assert matched_share([ref, Boxes.of([], [])], [other, Boxes.of([], [])]) == 0.5
    assert matched_share([Boxes.of([], [])], [other]) == 1.0  # nothing to find


def test_map50_perfect_is_one_and_order_matters():
    labels = [Boxes.of([[0, 0, 10, 10]], [0])]
    assert map50(labels, [Boxes.of([[0, 0, 10, 10]], [0], [0.9])]) == pytest.approx(1.0)
    # a false positive scored above the true one: precision 1/2 at recall 1, so AP = 0.5
    ranked = Boxes.of([[50, 50, 60, 60], [0, 0, 10, 10]], [0, 0], [0.9, 0.8])
    assert map50(labels, [ranked]) == pytest.approx(0.5)
    # scored below it, the false positive costs nothing
    ranked = Boxes.of([[50, 50, 60, 60], [0, 0, 10, 10]], [0, 0], [0.1, 0.8])
    assert map50(labels, [ranked]) == pytest.approx(1.0)


def test_map50_half_recall_and_classes_are_averaged():
    labels = [Boxes.of([[0, 0, 10, 10], [20, 0, 30, 10]], [0, 0]),
              Boxes.of([[0, 0, 10, 10]], [1])]
    found = [Boxes.of([[0, 0, 10, 10]], [0], [0.9]), Boxes.of([], [])]
    # class 0: recall reaches 0.5 at precision 1 → 51 of COCO's 101 recall points; class 1: 0
    assert map50(labels, found) == pytest.approx((51 / 101 + 0.0) / 2)


def test_one_detection_matches_one_label_only():
    labels = [Boxes.of([[0, 0, 10, 10]], [0])]
    twice = Boxes.of([[0, 0, 10, 10], [0, 0, 10, 10.5]], [0, 0], [0.9, 0.8])
    assert map50(labels, [twice]) == pytest.approx(1.0)  # the duplicate ranks below the hit
    assert map50(labels, [Boxes.of([[0, 0, 10, 10]], [0], [0.2])]) == pytest.approx(1.0)
    assert map50(labels, [Boxes.of([[0, 0, 10, 30]], [0], [0.9])]) == pytest.approx(0.0)


def test_pooled_ap_weighs_every_box_alike():
    # 3 cars found; the single bus outscored by a false positive of its class
    labels = [Boxes.of([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [0, 20, 10, 30]],
                       [2, 2, 2, 5])]
    found = [Boxes.of([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 60, 70, 70],
                       [0, 20, 10, 30]], [2, 2, 2, 5, 5], [0.9, 0.9, 0.9, 0.8, 0.7])]
    assert map50(labels, found) == pytest.approx((1.0 + 0.5) / 2)  # per class: the bus halves
    # pooled: precision 1 up to recall 3/4, then 4/5 at recall 1 (COCO's envelope)
    assert map50(labels, found, pooled=True) == pytest.approx((76 * 1.0 + 25 * 0.8) / 101)
    # a box of the wrong class never matches, pooled or not
    wrong = [Boxes.of([[0, 20, 10, 30]], [2], [0.9])]
    assert map50([Boxes.of([[0, 20, 10, 30]], [5])], wrong, pooled=True) == 0.0
