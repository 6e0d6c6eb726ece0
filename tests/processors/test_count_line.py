"""count.line on synthetic tracks with known crossings: exact counts, jitter on the line not
double counted, touches not counted, per direction and class, streams kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from tests.processors.solution_tracks import frame_with, run_path
from visionapp.core import registry
from visionapp.core.chain import ChainEntry, dumps, loads
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.types import Result

LINE = "100,200 500,200"  # horizontal, left to right: "in" is downwards


def line(**params):
    return registry.create("count.line", {"line": LINE, **params})


def down(x: float, y0: float = 150, y1: float = 250, steps: int = 10) -> list:
    return [(x, y) for y in np.linspace(y0, y1, steps)]


def test_a_clean_crossing_each_way_counts_once_per_direction():
    results = run_path(line(), {1: down(200), 2: down(300, 250, 150)})
    last = results[-1].values
    assert (last["in"], last["out"]) == (1, 1)
    assert last["in_by_class"] == {"car": 1} and last["out_by_class"] == {"car": 1}
    events = [e for r in results for e in r.values["events"]]
    assert sorted((e["track_id"], e["direction"]) for e in events) == [(1, "in"), (2, "out")]
    assert all(e["timestamp_ms"] % 100 == 0 for e in events)


def test_jitter_back_and_forth_on_the_line_counts_once():
    # Crosses, then wobbles ±4 px around 2 px past the line for 20 frames (inside the 6 px
    # band), then moves on: one crossing.
    wobble = [(200, 202 + (4 if k % 2 else -4)) for k in range(20)]
    path = down(200, 150, 210, 6) + wobble + down(200, 210, 260, 5)
    last = run_path(line(), {7: path})[-1].values
    assert (last["in"], last["out"]) == (1, 0)
    # Without hysteresis the same wobble flips sides: the band is what prevents it.
    flips = run_path(line(hysteresis_px=0.0), {7: [(200, 190)] + wobble})[-1].values
    assert flips["in"] == 1 and flips["out"] == 1


def test_a_track_going_back_and_forth_is_counted_once_per_direction():
    path = down(200, 150, 250) + down(200, 250, 150) + down(200, 150, 250)
    last = run_path(line(), {3: path})[-1].values
    assert (last["in"], last["out"]) == (1, 1)


def test_touching_the_line_without_crossing_is_not_counted():
    path = down(200, 150, 199, 8) + down(200, 199, 150, 8)  # reaches the line, turns back
    last = run_path(line(), {4: path})[-1].values
    assert (last["in"], last["out"]) == (0, 0)


def test_passing_beside_the_segment_is_not_a_crossing():
    last = run_path(line(), {5: down(50), 6: down(560)})[-1].values  # left and right of it
    assert (last["in"], last["out"]) == (0, 0)


def test_two_objects_crossing_in_the_same_frame_both_count():
    results = run_path(line(), {1: down(200), 2: down(240)}, label="truck")
    per_frame = [len(r.values["events"]) for r in results]
    assert max(per_frame) == 2 and sum(per_frame) == 2
    assert results[-1].values["in_by_class"] == {"truck": 2}


def test_a_track_that_disappears_and_reappears_is_one_object():
    # Seen above the line, lost for 5 frames while it crosses, found below: one crossing;
    # lost again and found again still below: nothing more.
    path = down(200, 150, 190, 4) + [None] * 5 + down(200, 230, 260, 3) + [None] * 3 + [
        (200, 262)]
    last = run_path(line(), {9: path})[-1].values
    assert (last["in"], last["out"]) == (1, 0)


def test_classes_filter_and_anchor_choice():
    assert run_path(line(classes="bus"), {1: down(200)})[-1].values["in"] == 0
    # A box 20 px tall whose bottom stops 5 px past the line: its bottom centre crossed by
    # less than the band (not counted), its top centre never reached the line.
    path = down(200, 150, 211, 8)
    assert run_path(line(), {1: path})[-1].values["in"] == 1
    assert run_path(line(anchor="top_center"), {1: path})[-1].values["in"] == 0


def test_two_streams_are_counted_apart():
    proc = line()
    path = down(200)
    for k in range(len(path)):  # interleaved frames of two streams with the same track id
        a = proc(frame_with([(1, "car", path[k])], k, k * 100, stream_id=10))
        b = proc(frame_with([(1, "car", path[-1 - k])], k, k * 100, stream_id=20))
    assert (a.values["in"], a.values["out"]) == (1, 0)
    assert (b.values["in"], b.values["out"]) == (0, 1)


def test_untracked_boxes_are_counted_per_frame_with_a_note():
    frame = frame_with([(0, "car", (200, 150)), (0, "car", (300, 250))], 0, tracked=False)
    result = line()(frame)
    assert result.values["in"] == 0
    assert result.values["untracked_sides"] == {"left": 1, "right": 1}
    assert "tracker" in result.values["note"]


@pytest.mark.parametrize(("text", "words"), [
    ("100,200 100,200", "two different points"), ("100,200", "two different points"),
    ("1,2 3", "two different points"), ("a,b c,d", "two different points")])
def test_bad_lines_are_refused_with_a_message(text, words):
    with pytest.raises(ParameterError, match=words) as caught:
        line(line=text)
    assert caught.value.fields == ("line",)


def test_a_line_outside_the_frame_is_refused_with_the_fix():
    with pytest.raises(BadInput, match=r"outside this 640x360 frame.*redraw"):
        line(line="100,200 900,200")(frame_with([], 0))


def test_the_default_line_crosses_the_middle_and_a_click_moves_its_nearer_end():
    proc = registry.create("count.line")
    result = proc(frame_with([], 0))
    assert result.values["line"] == [0, 180, 639, 180]
    edit = proc.view_click((600, 40), result)
    assert dict(edit.changes) == {"line": "0,180 600,40"}
    moved = registry.replace(proc, **edit.changes)
    assert moved(frame_with([], 0)).values["line"] == [0, 180, 600, 40]
    assert registry.replace(proc, click="off").view_click((5, 5), result) is None
    assert proc.view_click((5, 5), Result("count.line")) is None  # no line in that result


def test_chain_file_round_trip_keeps_lines_and_zones():
    entries = [ChainEntry("count.line", {"line": LINE, "hysteresis_px": 4.0}),
               ChainEntry("count.zone", {"zones": "10,10 200,10 100,150; 300,50 400,50 350,90"})]
    again = loads(dumps(entries))
    assert [(e.name, e.params) for e in again] == [(e.name, e.params) for e in entries]
    assert again[0].build() == entries[0].build()
    assert len(again[1].build().polygons((640, 360))) == 2


def test_a_bad_line_in_a_chain_file_names_its_line():
    text = dumps([ChainEntry("count.line", {"line": "5,5 5,5"})])
    with pytest.raises(BadInput, match=r"line \d+: .*two different points"):
        loads(text, "chain file 'x.toml'")
