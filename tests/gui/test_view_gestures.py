"""Drags and clicks on the view reach whichever processor declares view_rect / view_click (a
plug-in as much as a built-in), and the chain never runs on the GUI thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

import pytest

pytest.importorskip("PySide6")

from tests.gui.conftest import next_packet  # noqa: E402
from visionapp.core.params import ProcessorBase, param  # noqa: E402
from visionapp.core.types import Detections, Result  # noqa: E402
from visionapp.core.view_edits import ViewEdit  # noqa: E402


@dataclass(frozen=True)
class Pointer(ProcessorBase):
    """A plug-in that keeps the last click on one of its boxes, and the size of a drag."""

    name: ClassVar[str] = "test.pointer"
    clicked_x: int = param(0, min=0, max=10_000)
    dragged_w: int = param(0, min=0, max=10_000)

    def __call__(self, frame):
        box = Detections.from_lists([[10, 10, 60, 60]], [1.0], ["target"])
        return Result(self.name, detections=box)

    def view_click(self, xy, result):
        x, y = xy
        x1, y1, x2, y2 = result.detections.xyxy[0]
        if not (x1 <= x <= x2 and y1 <= y <= y2):
            return None
        return ViewEdit({"clicked_x": x}, f"pointer: clicked at x={x}")

    def view_rect(self, crop_bgr):
        return ViewEdit({"dragged_w": crop_bgr.shape[1]}, "pointer: rectangle taken")


def test_a_click_goes_to_the_processor_that_declares_it(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("canny")
    window.chain.add_processor(Pointer())
    next_packet(qtbot, window, lambda p: len(p.results) == 2)
    window.set_paused(True)
    window.gestures.on_click(200, 200)  # beside the box: nobody answers
    assert window.chain.slots[1].processor.clicked_x == 0
    window.gestures.on_click(37, 20)
    assert window.chain.slots[1].processor.clicked_x == 37
    assert window.message.text() == "pointer: clicked at x=37"
    assert window.chain.list.currentRow() == 1


def test_a_drag_goes_to_a_rectangle_taker_in_the_chain_before_adding_a_template(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add_processor(Pointer())
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    window.set_paused(True)
    window.gestures.on_rect(100, 60, 40, 30)
    assert [s.processor.name for s in window.chain.slots] == ["test.pointer"]
    assert window.chain.slots[0].processor.dragged_w == 40
    assert window.message.text() == "pointer: rectangle taken"


def test_the_chain_runs_off_the_gui_thread(qtbot, window):
    threads = []

    @dataclass(frozen=True)
    class WhereAmI(ProcessorBase):
        name: ClassVar[str] = "test.where"

        def __call__(self, frame):
            threads.append(threading.current_thread())
            return Result(self.name)

    window.open_source("demo:size=320x240")
    window.chain.add_processor(WhereAmI())
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    assert threads and threading.main_thread() not in threads


def test_a_drag_over_an_ocr_processor_sets_the_region_it_reads(qtbot, window, tmp_path):
    import cv2

    from tests.processors.test_ocr import two_blocks

    page = two_blocks.__wrapped__()  # "ALPHA 123" left, "OMEGA 789" right
    cv2.imwrite(str(tmp_path / "page.png"), page)
    window.open_source(str(tmp_path / "page.png"))
    window.chain.add("ocr", {"engine": "tesseract", "auto_rotate": False})
    first = next_packet(qtbot, window, lambda p: len(p.results) == 1)
    assert first.results[0].values["text"] == "ALPHA 123 OMEGA 789"
    h, w = page.shape[:2]
    window.gestures.on_rect(w // 2, 0, w - w // 2, h)
    ocr = window.chain.slots[0].processor
    assert (ocr.region, ocr.roi_x, ocr.roi_width) == ("roi", w // 2, w - w // 2)
    assert window.message.text().startswith(f"ocr reads the {w - w // 2}×{h} rectangle")
    packet = next_packet(qtbot, window, lambda p: p.results[0].values["regions"][0]["xyxy"][0]
                         == w // 2)
    assert packet.results[0].values["text"] == "OMEGA 789"
    assert [s.processor.name for s in window.chain.slots] == ["ocr"]  # no template added


def test_the_text_read_is_listed_in_the_panel_and_copied(qtbot, window, tmp_path):
    import cv2
    from PySide6.QtGui import QGuiApplication

    from tests.processors.test_ocr import two_blocks

    cv2.imwrite(str(tmp_path / "page.png"), two_blocks.__wrapped__())
    window.open_source(str(tmp_path / "page.png"))
    assert not window.text_read.isVisible()  # nothing reads text yet
    window.chain.add("ocr", {"engine": "tesseract", "auto_rotate": False})
    next_packet(qtbot, window, lambda p: p.results and p.results[0].values.get("text"))
    assert window.text_read.isVisible()
    assert window.text_read.text.toPlainText() == "ALPHA 123 OMEGA 789"
    window.text_read.copy_button.click()
    assert QGuiApplication.clipboard().text() == "ALPHA 123 OMEGA 789"
