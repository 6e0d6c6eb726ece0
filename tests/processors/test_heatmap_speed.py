"""heatmap and speed on synthetic tracks with known positions and timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from tests.processors.solution_tracks import frame_with, run_path
from visionapp.core import registry
from visionapp.core.annotate import annotate
from visionapp.core.errors import ParameterError


def _value_at(result, xy) -> float:
    (heat,) = result.heatmaps
    h, w = 360, 640
    values = np.asarray(heat.values)
    return float(values[int(xy[1] * values.shape[0] / h), int(xy[0] * values.shape[1] / w)])


def test_heat_builds_up_where_objects_stand_and_fades_with_the_half_life():
    proc = registry.create("heatmap", {"half_life_s": 10.0})
    a, b = (100, 100), (500, 300)
    proc(frame_with([(1, "car", a)], 0, 0))
    result = proc(frame_with([(2, "car", b)], 1, 10_000))  # 10 s later: a has halved
    assert _value_at(result, b) == pytest.approx(1.0)
    assert _value_at(result, a) == pytest.approx(0.5, abs=0.02)
    assert _value_at(result, (320, 40)) == 0.0  # nobody was there
    never = registry.create("heatmap", {"half_life_s": 0.0})
    never(frame_with([(1, "car", a)], 0, 0))
    kept = never(frame_with([(2, "car", b)], 1, 10_000))
    assert _value_at(kept, a) == pytest.approx(1.0)


def test_the_heat_is_drawn_and_saved_as_a_picture():
    proc = registry.create("heatmap")
    for k in range(5):
        result = proc(frame_with([(1, "car", (320, 200))], k))
    drawn = annotate(np.zeros((360, 640, 3), np.uint8), [result], show_text=False)
    assert drawn[190, 320].any()  # the spot is coloured over the black frame
    picture = proc.final_image()
    assert picture.shape == (360, 640, 3)
    assert picture[195, 320].any() and not picture[20, 20].any()


def test_box_mode_fills_the_whole_box_and_untracked_boxes_count():
    proc = registry.create("heatmap", {"source": "box"})
    result = proc(frame_with([(0, "person", (320, 200))], 0, tracked=False))
    assert _value_at(result, (320, 190)) > 0 and _value_at(result, (320, 100)) == 0
    assert result.values == {"points": 1, "boxes": 1}


def test_speed_in_pixels_and_metres_per_second_from_timestamps():
    # 10 px per frame, frames 50 ms apart: 200 px/s.
    path = [(100 + 10 * k, 200) for k in range(12)]
    last = run_path(registry.create("speed"), {4: path}, step_ms=50)[-1]
    (item,) = last.values["speeds"]
    assert item["px_per_s"] == pytest.approx(200.0)
    assert last.values["unit"] == "px/s"
    calibrated = registry.create("speed", {"calibration": "100,300 200,300",
                                           "calibration_m": 5.0})  # 20 px per metre
    (item,) = run_path(calibrated, {4: path}, step_ms=50)[-1].values["speeds"]
    assert item["m_per_s"] == pytest.approx(10.0) and item["km_per_h"] == pytest.approx(36.0)


def test_speed_uses_the_timestamps_even_when_frames_are_uneven():
    proc = registry.create("speed", {"window_s": 1.0})
    stamps = [0, 100, 400, 450, 1000]
    results = [proc(frame_with([(1, "car", (100 + 0.3 * t, 200))], k, t))
               for k, t in enumerate(stamps)]
    assert all(r.values["speeds"][0]["px_per_s"] == pytest.approx(300.0) for r in results[1:])


def test_speed_refuses_metres_without_the_points():
    with pytest.raises(ParameterError, match="needs the two points"):
        registry.create("speed", {"calibration_m": 3.0})
    with pytest.raises(ParameterError, match="two different points"):
        registry.create("speed", {"calibration": "4,4 4,4"})


def test_calibration_is_clicked_on_the_view():
    proc = registry.create("speed", {"click": "calibrate"})
    result = proc(frame_with([], 0))
    first = proc.view_click((50, 300), result)
    assert dict(first.changes) == {"calibration": "50,300 150,300"}
    second = registry.replace(proc, **first.changes).view_click((160, 310), result)
    assert dict(second.changes) == {"calibration": "50,300 160,310"}
    assert registry.create("speed").view_click((1, 1), result) is None  # click off: not mine


def test_where_nobody_was_the_frame_is_left_as_it_is():
    proc = registry.create("heatmap", {"alpha": 0.8})
    result = proc(frame_with([(1, "car", (320, 200))], 0))
    frame = np.full((360, 640, 3), 128, np.uint8)
    drawn = annotate(frame, [result], show_text=False)
    assert np.array_equal(drawn[:100], frame[:100])  # far from the spot: untouched
    assert not np.array_equal(drawn[195, 320], frame[195, 320])
