"""Drawing counting geometry in the window: a click moves the counting line's nearer end, the
next frame counts with (and draws) the new line, and the zone editor adds a corner."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from tests.gui.conftest import next_packet  # noqa: E402


def _line_of(packet) -> list[float] | None:
    for result in packet.results:
        if result.processor == "count.line":
            return list(result.values["line"])
    return None


def test_a_click_moves_the_counting_line_and_the_view_draws_it(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("count.line")
    first = next_packet(qtbot, window, lambda p: _line_of(p) is not None)
    assert _line_of(first) == [0, 120, 319, 120]
    window.set_paused(True)
    window.gestures.on_click(300, 20)  # nearer to the right end
    assert window.chain.slots[0].processor.line == "0,120 300,20"
    assert window.message.text().startswith("count.line: line 0,120 300,20")
    window.set_paused(False)
    moved = next_packet(qtbot, window, lambda p: _line_of(p) == [0, 120, 300, 20])
    # The new line is drawn: the pixel halfway along it differs from the raw frame there.
    assert not np.array_equal(moved.annotated[70, 150], moved.frame.image[70, 150])


def test_zone_corners_are_added_by_clicks(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("count.zone")
    next_packet(qtbot, window, lambda p: any(r.processor == "count.zone" for r in p.results))
    slot = window.chain.slots[0]
    assert window.chain.apply(0, {"click": "add corner"})
    key = window.chain.slots[0].key
    next_packet(qtbot, window, lambda p: key in p.keys)  # a frame of the edited processor
    window.set_paused(True)
    window.gestures.on_click(160, 40)  # above the top edge of the default zone 80,60..240,180
    zones = window.chain.slots[0].processor.zones
    assert zones == "80,60 160,40 240,60 240,180 80,180"
    assert slot is not window.chain.slots[0]  # a new processor: counting starts again


def test_dragging_moves_a_line_end_or_draws_a_new_line(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("count.line")
    next_packet(qtbot, window, lambda p: _line_of(p) is not None)  # default 0,120 319,120
    window.set_paused(True)
    window.gestures.on_drag(315, 118, 300, 200)  # grabbed the right end
    assert window.chain.slots[0].processor.line == "0,120 300,200"
    assert window.message.text().startswith("count.line: line moved: 0,120 300,200")
    window.set_paused(False)
    next_packet(qtbot, window, lambda p: _line_of(p) == [0, 120, 300, 200])
    window.set_paused(True)
    window.gestures.on_drag(100, 30, 200, 30)  # far from both ends: a new line
    assert window.chain.slots[0].processor.line == "100,30 200,30"
    assert [s.processor.name for s in window.chain.slots] == ["count.line"]  # no template


def test_zone_corners_are_dragged_and_deleted_by_a_right_click(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("count.zone")  # default zone 80,60 240,60 240,180 80,180
    next_packet(qtbot, window, lambda p: any(r.processor == "count.zone" for r in p.results))
    window.set_paused(True)
    window.gestures.on_drag(82, 58, 40, 30)
    assert window.chain.slots[0].processor.zones == "40,30 240,60 240,180 80,180"
    window.set_paused(False)
    key = window.chain.slots[0].key
    next_packet(qtbot, window, lambda p: any(
        r.processor == "count.zone" and r.landmarks[0].points_xy[0].tolist() == [40, 30]
        for r in p.results))
    window.gestures.on_right_click(239, 181)
    assert window.chain.slots[0].processor.zones == "40,30 240,60 80,180"
    window.gestures.on_right_click(10, 230)  # nothing there: nothing changes
    assert window.chain.slots[0].processor.zones == "40,30 240,60 80,180"
    assert window.chain.slots[0].key == key
    # A drag that starts on no corner is a rectangle: a template is cut from it.
    window.gestures.on_drag(150, 100, 190, 140)
    assert [s.processor.name for s in window.chain.slots] == ["count.zone", "template"]


def test_the_reset_button_starts_the_counts_again_with_the_same_settings(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("count.line", {"line": "10,10 300,200", "hysteresis_px": 3})
    next_packet(qtbot, window, lambda p: _line_of(p) is not None)
    old = window.chain.slots[0].processor
    window.chain.panel.restart_button.click()
    fresh = window.chain.slots[0].processor
    assert fresh is not old and fresh == old  # the same settings, new (empty) state
    assert window.chain.panel.restart_button.text() == "Reset counts"
    next_packet(qtbot, window, lambda p: _line_of(p) == [10, 10, 300, 200])
