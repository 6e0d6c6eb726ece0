"""Processors that react to gestures on the view (Qt-free): what they change, and when not."""

from __future__ import annotations

import numpy as np

from visionapp.core import registry
from visionapp.core.images import read_image
from visionapp.core.types import Detections, Result
from visionapp.core.view_edits import TakesViewClick, TakesViewRect


def test_a_dragged_rectangle_becomes_the_template_and_nothing_is_overwritten():
    template = registry.create("template")
    assert isinstance(template, TakesViewRect) and not isinstance(template, TakesViewClick)
    crop = np.zeros((30, 40, 3), np.uint8)
    crop[5:25, 5:35] = (10, 200, 30)
    first = template.view_rect(crop)
    second = template.view_rect(crop[:, :20])
    paths = [edit.changes["template_path"] for edit in (first, second)]
    assert paths[0] != paths[1]  # two drags in one second: two files
    assert np.array_equal(read_image(paths[0]), crop)
    assert read_image(paths[1]).shape == (30, 20, 3)
    assert first.message.startswith("template 40×30 px saved to ")
    assert registry.replace(template, **second.changes).template_path == paths[1]


def test_a_click_on_a_kept_box_explains_the_smallest_box_under_it():
    yolo = registry.create("yolo.detect")
    assert isinstance(yolo, TakesViewClick) and not isinstance(yolo, TakesViewRect)
    boxes = Detections.from_lists([[0, 0, 200, 200], [50, 50, 100, 100], [300, 300, 320, 320]],
                                  [0.9, 0.8, 0.7], ["bus", "person", "dog"])
    result = Result("yolo.detect", detections=boxes)
    edit = yolo.view_click((60, 70), result)  # inside the bus and the person
    # Kept boxes are numbered from #1 (the best score), as drawn on the picture.
    assert dict(edit.changes) == {"show_candidates": True, "explain": 2, "candidate": 0,
                                  "step": 0}
    assert "box #2 (person)" in edit.message
    assert yolo.view_click((250, 250), result) is None  # beside every box
    showing = registry.replace(yolo, show_candidates=True)
    assert dict(showing.view_click((10, 10), result).changes) == {"explain": 1, "candidate": 0,
                                                                  "step": 0}


def test_with_a_tracker_a_click_says_why_nms_is_not_shown():
    yolo = registry.create("yolo.detect", {"tracker": "bytetrack", "show_candidates": True})
    boxes = Detections.from_lists([[0, 0, 200, 200]], [0.9], ["bus"])
    edit = yolo.view_click((60, 70), Result("yolo.detect", detections=boxes))
    assert dict(edit.changes) == {} and "tracker=none" in edit.message
