"""The NMS candidates table and the view stay in step both ways: a row click focuses that
candidate (and the panel shows it), a click on a kept box selects its row, "Next candidate →"
replays NMS one decision at a time; with a tracker on, the table says why it is empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from tests.gui.conftest import next_packet  # noqa: E402
from visionapp.core.types import Detections, Result  # noqa: E402
from visionapp.gui.nms_table import TRACKING_NOTE, selected_row  # noqa: E402
from visionapp.processors.yolo import YoloDetect, visible_nms  # noqa: E402

# Two clusters of near-duplicates: rows (best score first) 0 car .95, 1 car .9 (removed by #1),
# 2 bus .8, 3 bus .7 (removed by #2, IoU 98·97 / (100·100 + 99·97 - 98·97) = 0.94),
# 4 car .6 (removed by #1).
BOXES = [[20, 20, 100, 90], [22, 21, 101, 92], [150, 100, 250, 200], [152, 102, 251, 199],
         [21, 22, 99, 91]]
SCORES = [0.95, 0.9, 0.8, 0.7, 0.6]
LABELS = ["car", "car", "bus", "bus", "car"]


@dataclass(frozen=True)
class FixedCandidates(YoloDetect):
    """YOLO's NMS view over fixed candidates: no model to load."""

    name: ClassVar[str] = "test.fixed_nms"

    def __call__(self, frame):
        if self.tracker != "none":
            return Result(self.name, text=("tracking",))
        every = Detections.from_lists(BOXES, SCORES, LABELS, [2, 2, 5, 5, 2])
        table = self.nms_view(every)
        dets, removed, summary = visible_nms(table)
        return Result(self.name, detections=dets, candidates=removed, nms=table,
                      text=(summary,))


class Packets:
    """Every painted frame from now on, so one painted between an action and the wait is not
    missed (a paused source repaints only once after an edit)."""

    def __init__(self, qtbot, window):
        self.qtbot, self.window, self.seen = qtbot, window, []
        window.frame_shown.connect(self.seen.append)

    def wait_for(self, predicate):
        window = self.window

        def found():
            return next((p for p in self.seen if not window.chain._debounce.isActive()
                         and p.chain_version == window.live.chain_version and p.results
                         and predicate(p.results[0])), None)

        self.qtbot.waitUntil(lambda: found() is not None, timeout=60_000)
        return found()


def test_table_rows_and_view_clicks_stay_in_step(qtbot, window):
    packets = Packets(qtbot, window)
    window.open_source("demo:size=320x240")
    window.chain.add_processor(FixedCandidates(show_candidates=True, explain=1))
    next_packet(qtbot, window, lambda p: p.results and p.results[0].nms is not None)
    window.set_paused(True)
    view = window.nms_view
    assert view.isVisible() and view.table.rowCount() == 5
    assert [view.table.item(r, 3).text() for r in range(5)] == [
        "kept #1", "removed by #1", "kept #2", "removed by #2", "removed by #1"]
    assert view.table.item(3, 4).text() == "0.94" and selected_row(view) == 0  # box #1's row
    # A narrow side panel: the decision column gives way (its text cut, whole in its tooltip)
    # instead of the table scrolling sideways.
    view.table.resize(200, 300)
    qtbot.waitUntil(lambda: view.table.horizontalHeader().length()
                    <= view.table.viewport().width())
    assert not view.table.horizontalScrollBar().isVisible()
    assert view.table.item(1, 3).toolTip() == "removed by #1"

    # A row clicked: that candidate in focus, the box that removed it explained, panel updated.
    rect = view.table.visualItemRect(view.table.item(3, 0))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    processor = window.chain.slots[0].processor
    assert (processor.candidate, processor.explain) == (4, 2)
    assert window.chain.panel.editors["candidate"].spin.value() == 4
    shown = packets.wait_for(lambda r: r.nms.focus == 3)
    assert shown.results[0].nms.selected == 2 and selected_row(view) == 3

    # A click on kept box #1 in the view: explain follows (in the panel too), its row selected.
    window.gestures.on_click(60, 50)
    assert window.chain.slots[0].processor.explain == 1
    assert window.chain.panel.editors["explain"].spin.value() == 1
    packets.wait_for(lambda r: r.nms.selected == 1 and r.nms.focus < 0)
    assert selected_row(view) == 0

    # Replay: each press decides one more candidate, the newest in focus.
    view.next_button.click()
    view.next_button.click()
    assert window.chain.slots[0].processor.step == 2
    replayed = packets.wait_for(lambda r: r.nms.decided == 2)
    assert replayed.results[0].nms.focus == 1 and selected_row(view) == 1
    assert [view.table.item(r, 3).text() for r in range(5)] == [
        "kept #1", "removed by #1", "not yet", "not yet", "not yet"]
    assert "replay: 2 of 5" in replayed.results[0].text[0]
    view.all_button.click()
    assert window.chain.slots[0].processor.step == 0


def test_with_a_tracker_the_table_says_why_it_is_empty(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add_processor(FixedCandidates(show_candidates=True, tracker="bytetrack"))
    next_packet(qtbot, window, lambda p: p.results)
    view = window.nms_view
    assert view.isVisible() and view.note.text() == TRACKING_NOTE
    assert view.table.rowCount() == 0 and not view.next_button.isEnabled()
