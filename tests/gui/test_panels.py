"""The parameter panel (offscreen): every field fits at 1280×800, help text is readable, rules
between fields show inline, out-of-range typing is corrected visibly, and the panel follows
values applied elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.gui.conftest import next_packet  # noqa: E402
from visionapp.core import registry  # noqa: E402
from visionapp.core.params import param  # noqa: E402
from visionapp.gui.chain_panel import ChainPanel  # noqa: E402


@pytest.fixture
def chain(qtbot):
    panel = ChainPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    return panel


def row_of(chain: ChainPanel, name: str) -> int:
    return [slot.processor.name for slot in chain.slots].index(name)


def test_no_field_is_clipped_in_the_side_panel_at_1280x800(qtbot, window):
    window.resize(1280, 800)
    qtbot.wait(20)
    viewport = window.chain.params_area.viewport()
    clipped = []
    for name in registry.names():
        window.chain.add(name)
        QApplication.processEvents()
        panel = window.chain.panel
        for field, editor in panel.editors.items():
            left = editor.mapTo(viewport, editor.rect().topLeft()).x()
            if (editor.width() < editor.sizeHint().width() or left < 0
                    or left + editor.width() > viewport.width()):
                clipped.append(f"{name}.{field}: {editor.width()} px of "
                               f"{editor.sizeHint().width()} at x={left} in {viewport.width()}")
        for field, label in panel.labels.items():
            if label.width() < label.sizeHint().width():
                clipped.append(f"{name}.{field} label: {label.width()} px")
    assert not clipped, "\n".join(clipped)
    assert not window.chain.params_area.horizontalScrollBar().isVisible()
    view_width, side_width = window.splitter.sizes()
    assert side_width >= 300 and view_width >= 700  # the picture keeps most of the window


def test_typing_beyond_the_maximum_sets_the_maximum_and_says_so(qtbot, chain):
    chain.add("haar.faces")
    spin = chain.panel.editors["min_neighbors"].spin  # 0..30
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "40")
    assert spin.lineEdit().text() == "40"  # the "0" is not refused while typing
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert spin.value() == 30  # not 4
    note = chain.panel.notes["min_neighbors"]
    assert note.isVisibleTo(chain.panel)
    assert "40 is out of range" in note.text() and "30 is the maximum" in note.text()
    assert chain.slots[0].processor.min_neighbors == 30
    chain.panel.editors["min_size"].set_value(-5)
    assert "0 is the minimum" in chain.panel.notes["min_size"].text()
    assert chain.slots[0].processor.min_size == 0


def test_a_broken_rule_shows_in_red_and_nothing_applies_until_it_holds(qtbot, chain):
    chain.add("canny")  # low 100, high 200; rule low <= high
    panel = chain.panel
    assert panel.broken_messages() == []
    panel.editors["low"].set_value(250)
    (message,) = panel.broken_messages()
    assert "low=250" in message and "high=200" in message
    (label,) = panel.rule_labels
    assert label.isVisibleTo(panel) and "#c62828" in label.styleSheet()
    assert chain.slots[0].processor.low == 100  # the worker never got a processor it refuses
    panel.editors["high"].set_value(300)
    assert panel.broken_messages() == [] and not label.isVisibleTo(panel)
    processor = chain.slots[0].processor
    assert (processor.low, processor.high) == (250, 300)  # applied together


def test_the_panel_follows_values_applied_elsewhere(qtbot, chain):
    chain.add("canny")
    edits = []
    chain.panel.changed.connect(edits.append)
    assert chain.apply(0, {"low": 42, "view": "blend"})  # as a click on the view or a preset
    low = chain.panel.editors["low"]
    assert low.spin.value() == 42 and low.slider.value() == low.scale.position(42)
    assert chain.panel.editors["view"].currentData() == "blend"
    assert edits == []  # shown, not echoed back as an edit
    chain.set_param(0, "high", 30)  # refused: low 42 > high 30
    assert chain.slots[0].processor.high == 200 and chain.panel.editors["high"].value() == 200


def contrast(a, b) -> float:
    def luminance(rgb):
        c = np.asarray(rgb, float) / 255
        c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_help_text_is_drawn_readably_not_faded(qtbot, chain):
    chain.add("canny")
    label = chain.panel.help_labels["low"]
    image = label.grab().toImage().convertToFormat(label.grab().toImage().Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(
        image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(
        image.height(), image.width(), 3)
    background = np.median(pixels.reshape(-1, 3), axis=0)
    distance = np.abs(pixels.astype(int) - background).sum(axis=2)
    ink = pixels.reshape(-1, 3)[np.argmax(distance)]
    assert contrast(ink, background) >= 4.5, (ink, background)


def test_the_processor_description_wraps_by_paragraph_not_at_source_line_breaks(qtbot, chain):
    chain.add("conv.kernel")  # a two-line second paragraph in its docstring
    paragraphs = chain.panel.about.text().split("\n\n")
    assert paragraphs[0].startswith("One convolution filter")
    assert "\n" not in paragraphs[1] and "with zero padding" in paragraphs[1]


def test_slider_ranges_a_user_can_steer(qtbot, chain):
    chain.add("canny")
    low = chain.panel.editors["low"]
    low.slider.setValue(low.slider.maximum())
    assert low.value() == 500  # the slider covers 0..500, one step per threshold
    low.set_value(800)  # typing can still go up to the declared 1000
    assert low.value() == 800 and chain.panel.notes["low"].isHidden()
    chain.add("haar.faces")
    min_size = chain.panel.editors["min_size"]  # 0..1000 px, declared scale="log"
    min_size.slider.setValue(min_size.slider.maximum() // 2)
    assert 20 <= min_size.value() <= 40  # half-way is ~30 px, not 500
    assert min_size.scale.position(1000) == min_size.slider.maximum()


def test_log_scale_is_declared_and_checked():
    with pytest.raises(ValueError, match="scale"):
        param(1, min=0, max=10, scale="logarithmic")


def test_long_paths_are_elided_in_the_middle_with_the_whole_path_as_tooltip(qtbot, chain):
    long_path = "/home/someone/projects/vision/models/downloads/face_landmarker_v2_float16.task"
    chain.add("mediapipe.face_mesh", {"model": long_path})
    editor = chain.panel.editors["model"]
    shown = editor.edit.displayed_text()
    assert "…" in shown and shown.startswith("/home") and shown.endswith("float16.task")
    assert long_path in editor.toolTip()
    assert editor.width() >= editor.sizeHint().width()


def test_wrapped_messages_get_their_height_not_squeezed(qtbot, window):
    window.resize(1280, 640)  # the settings get less room than they take: they scroll
    window.open_source("demo:size=320x240")
    window.chain.add("haar.faces")
    window.chain.add("canny")
    next_packet(qtbot, window, lambda p: len(p.results) == 2)  # the readouts fill in
    panel = window.chain.panel
    panel.editors["high"].set_value(5000)
    panel.editors["low"].set_value(1200)
    qtbot.wait(300)
    shown = [label for label in panel._wrapped_labels() if label.isVisible() and label.text()]
    assert len(shown) >= 4  # the doc, the help lines and both notices
    for label in shown:
        assert label.height() >= label.heightForWidth(label.width()), label.text()
    tops = sorted((w.geometry().top(), w.geometry().bottom()) for w in
                  [*shown, *panel.editors.values()] if w.isVisible())
    for (_, bottom), (top, _) in zip(tops, tops[1:], strict=False):
        assert top > bottom - 1  # rows do not overlap
