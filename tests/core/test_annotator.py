"""What the annotator draws for processors: masks, heat maps, and the trails of tracked boxes,
whose history the driver's Annotator keeps per (stream, processor, track)."""

from __future__ import annotations

import cv2
import numpy as np

from visionapp.core.annotate import TRAIL_HISTORY, Annotator, annotate
from visionapp.core.types import Detections, HeatMap, Mask, Result


def tracked(boxes: dict[int, tuple[float, float]], trail_length: int = 20) -> Result:
    """A Result with one 10×10 box per track id, centred at the given point."""
    ids = sorted(boxes)
    xyxy = [[boxes[i][0] - 5, boxes[i][1] - 5, boxes[i][0] + 5, boxes[i][1] + 5] for i in ids]
    dets = Detections.from_lists(xyxy, [0.9] * len(ids), ["car"] * len(ids), track_id=ids)
    return Result("tracker", detections=dets, trail_length=trail_length)


def test_mask_is_tinted_the_rest_untouched():
    image = np.full((20, 30, 3), 100, np.uint8)
    inside = np.zeros((20, 30), bool)
    inside[5:10, 5:10] = True
    out = annotate(image, [Result("p", masks=(Mask(inside, (255, 0, 255), 0.6),))])
    assert out[7, 7].tolist() == [253, 100, 253]  # 100 + 0.6 × 255, rounded
    assert out[15, 20].tolist() == [100, 100, 100] and (image == 100).all()


def test_heat_map_lands_on_its_region_only():
    image = np.full((40, 60, 3), 80, np.uint8)
    values = np.array([[0.0, 1.0]], np.float32)
    out = annotate(image, [Result("c", heatmaps=(HeatMap(values, (10, 5, 50, 35)),))],
                   show_text=False)
    assert (out[:5] == 80).all() and (out[:, :10] == 80).all() and (out[:, 50:] == 80).all()
    hot = cv2.applyColorMap(np.uint8([[255]]), cv2.COLORMAP_JET)[0, 0].astype(int)
    assert np.abs(out[20, 49].astype(int) - (80 + hot) / 2).max() <= 2  # the hot end, blended
    assert not np.array_equal(out[20, 10], out[20, 49])


def test_trails_follow_each_track_within_a_stream():
    annotator = Annotator()
    canvas = np.zeros((100, 200, 3), np.uint8)
    for step in range(5):
        annotator(canvas, [tracked({1: (10 + 10 * step, 20), 2: (10 + 10 * step, 70)})],
                  stream_id=3)
    assert annotator.trail(3, "tracker", 1)[:, 0].tolist() == [10, 20, 30, 40, 50]
    assert annotator.trail(3, "tracker", 2)[:, 1].tolist() == [70] * 5
    drawn = annotator(canvas, [tracked({1: (60, 20)})], stream_id=3)
    assert drawn[20, 35].any() and not drawn[45, 35].any()  # the line between the centres


def test_a_new_stream_forgets_the_trails_and_trail_length_limits_them():
    annotator = Annotator()
    canvas = np.zeros((100, 200, 3), np.uint8)
    for step in range(6):
        annotator(canvas, [tracked({1: (10 + 10 * step, 20)}, trail_length=3)], stream_id=3)
    drawn = annotator(canvas, [tracked({1: (70, 20)}, trail_length=3)], stream_id=3)
    assert drawn[20, 62].any() and not drawn[20, 35].any()  # only the last 3 centres joined
    drawn = annotator(canvas, [tracked({1: (70, 20)})], stream_id=4)
    assert len(annotator.trail(3, "tracker", 1)) == 0
    assert len(annotator.trail(4, "tracker", 1)) == 1 and not drawn[20, 62].any()


def test_untracked_or_trail_less_results_are_drawn_as_they_are():
    annotator = Annotator()
    canvas = np.zeros((60, 80, 3), np.uint8)
    plain = tracked({1: (20, 20)}, trail_length=0)
    for _ in range(3):
        out = annotator(canvas, [plain], stream_id=1)
    assert np.array_equal(out, annotate(canvas, [plain])) and len(annotator.trail(1, "tracker",
                                                                                   1)) == 0


def test_tracks_gone_for_long_are_forgotten():
    annotator = Annotator()
    canvas = np.zeros((60, 80, 3), np.uint8)
    annotator(canvas, [tracked({5: (20, 20)})], stream_id=1)
    for _ in range(TRAIL_HISTORY + 1):
        annotator(canvas, [tracked({6: (40, 40)})], stream_id=1)
    assert len(annotator.trail(1, "tracker", 5)) == 0
    assert len(annotator.trail(1, "tracker", 6)) == TRAIL_HISTORY
