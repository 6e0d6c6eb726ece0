"""count.zone on synthetic tracks with known timestamps: containment in concave polygons,
entries, dwell time from timestamps (not frame counts), edge jitter, lost tracks, bad zones."""

from __future__ import annotations

import pytest

from tests.processors.solution_tracks import frame_with
from visionapp.core import registry
from visionapp.core.errors import BadInput, ParameterError

# A U shape (concave): the notch between x 200..400 above y 250 is outside.
U_ZONE = "100,100 200,100 200,250 400,250 400,100 500,100 500,300 100,300"


def zone(**params):
    return registry.create("count.zone", {"zones": U_ZONE, **params})


def test_concave_zone_containment():
    proc = zone()
    objects = [(1, "car", (150, 200)),   # left arm: inside
               (2, "car", (300, 200)),   # the notch: outside, though within the bounding box
               (3, "bus", (300, 280)),   # the bottom bar: inside
               (4, "car", (600, 200))]   # beside: outside
    result = proc(frame_with(objects, 0))
    (values,) = result.values["zones"]
    assert values["inside"] == 2
    assert values["inside_by_class"] == {"bus": 1, "car": 1}
    assert values["entries"] == 2


def test_dwell_time_comes_from_timestamps_not_frames():
    proc = zone()
    # Irregular timestamps: entered at 1000 ms, still inside at 1250 and 4000, left at 6500.
    stamps = [0, 1000, 1250, 4000, 6500]
    xs = [50, 150, 160, 170, 50]
    results = [proc(frame_with([(8, "car", (x, 200))], k, t)) for k, (x, t)
               in enumerate(zip(xs, stamps, strict=True))]
    assert results[2].values["zones"][0]["dwell_s"] == {"8": 0.25}
    assert results[3].values["zones"][0]["dwell_s"] == {"8": 3.0}
    exits = [e for e in results[4].values["events"] if e["event"] == "exit"]
    assert exits == [{"zone": 1, "track_id": 8, "label": "car", "event": "exit",
                      "timestamp_ms": 6500, "dwell_s": 5.5}]
    assert results[4].values["zones"][0]["mean_dwell_s"] == 5.5
    assert results[4].values["zones"][0]["inside"] == 0


def test_jitter_on_the_edge_enters_once():
    proc = zone(margin_px=4.0)
    xs = [90, 110] + [98, 103, 97, 102, 99, 104] * 3 + [150]  # edge at x = 100
    results = [proc(frame_with([(2, "car", (x, 200))], k)) for k, x in enumerate(xs)]
    assert results[-1].values["zones"][0]["entries"] == 1
    assert sum(len(r.values["events"]) for r in results) == 1
    # With no margin the same wobble re-enters every time it crosses the edge.
    bare = zone(margin_px=0.0)
    results = [bare(frame_with([(2, "car", (x, 200))], k)) for k, x in enumerate(xs)]
    assert results[-1].values["zones"][0]["entries"] > 1


def test_a_lost_track_leaves_at_its_last_sighting_and_a_short_gap_does_not():
    proc = zone(lost_s=1.0)
    inside = (150, 200)
    results = [proc(frame_with([(5, "car", inside)], 0, 0)),
               proc(frame_with([], 1, 500)),                       # missed once: still inside
               proc(frame_with([(5, "car", inside)], 2, 900)),
               proc(frame_with([], 3, 1500)),
               proc(frame_with([], 4, 2500))]                      # 1.6 s unseen: left at 900
    assert results[2].values["zones"][0]["entries"] == 1
    assert results[2].values["zones"][0]["dwell_s"] == {"5": 0.9}
    (exit_event,) = results[4].values["events"]
    assert exit_event["timestamp_ms"] == 900 and exit_event["dwell_s"] == 0.9


def test_two_zones_and_two_streams_are_independent():
    proc = zone(zones="0,0 100,0 100,100 0,100; 50,50 200,50 200,200 50,200")
    a = proc(frame_with([(1, "car", (75, 75))], 0, stream_id=1))   # in both zones
    b = proc(frame_with([(1, "car", (150, 150))], 0, stream_id=2))  # only in zone 2
    assert [z["inside"] for z in a.values["zones"]] == [1, 1]
    assert [z["inside"] for z in b.values["zones"]] == [0, 1]
    a2 = proc(frame_with([(1, "car", (75, 75))], 1, stream_id=1))
    assert [z["entries"] for z in a2.values["zones"]] == [1, 1]


def test_untracked_boxes_are_counted_per_frame_with_a_note():
    result = zone()(frame_with([(0, "car", (150, 200)), (0, "car", (300, 200))], 0,
                               tracked=False))
    assert result.values["zones"][0]["untracked_inside"] == 1
    assert result.values["zones"][0]["entries"] == 0
    assert "tracker" in result.values["note"]


@pytest.mark.parametrize(("text", "words"), [
    ("10,10 50,50", "simple polygons"),
    ("0,0 100,100 100,0 0,100", "simple polygons"),   # a bow tie crosses itself
    ("0,0 50,50 100,100", "simple polygons"),         # no area
    ("0,0 1,1 x", "simple polygons")])
def test_bad_zones_are_refused(text, words):
    with pytest.raises(ParameterError, match=words):
        zone(zones=text)


def test_the_geometry_problem_is_said_precisely():
    from visionapp.processors.geometry import zones_problem

    assert zones_problem("0,0 100,100 100,0 0,100") == (
        "zone 1 crosses itself (edge 1 meets edge 3); give the corners in order around the zone")
    assert zones_problem("0,0 10,0 5,5; 1,1 2,2").startswith("zone 2 has 2 point(s)")
    assert zones_problem(U_ZONE) is None


def test_a_zone_outside_the_frame_is_refused():
    with pytest.raises(BadInput, match="outside this 640x360 frame"):
        zone(zones="600,300 700,300 650,380")(frame_with([], 0))


def test_clicks_move_add_and_delete_corners_and_start_zones():
    proc = zone(zones="100,100 200,100 150,200")
    result = proc(frame_with([], 0))
    moved = proc.view_click((110, 90), result)
    assert moved.changes["zones"] == "110,90 200,100 150,200"
    added = registry.replace(proc, click="add corner").view_click((150, 95), result)
    assert added.changes["zones"] == "100,100 150,95 200,100 150,200"
    deleted = registry.replace(proc, click="delete corner").view_click((150, 199), result)
    assert deleted.changes == {"zones": ""} and "removed" in deleted.message
    new = registry.replace(proc, click="new zone").view_click((400, 50), result)
    assert new.changes == {"zones": "100,100 200,100 150,200; 400,50 460,50 430,100",
                           "click": "add corner"}
    u_zone = zone()
    # The U's corner 200,100 dragged out to the left would make edge 2 cross the bottom edge.
    refused = u_zone.view_click((20, 220), u_zone(frame_with([], 0)))
    assert refused.changes == {} and "crosses itself" in refused.message
