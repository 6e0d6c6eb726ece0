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
