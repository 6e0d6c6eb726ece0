"""The CNN lab in the window: a click on conv.kernel's map opens the arithmetic inspector with the
notes' numbers; the kernel grid editor; the layer picker lists the model's layers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6")

from tests.gui.conftest import next_packet  # noqa: E402

# The notes' 6×6 example (tests/processors/test_convolution.py): the vertical-edge kernel over
# the top-left patch gives (3 + 1 + 2) − (1 + 8 + 2) = −5.
NOTES_IMAGE = np.array([[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
                        [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]], np.uint8)


def table_values(table) -> list[list[float]]:
    return [[float(table.item(r, c).text()) for c in range(table.columnCount())]
            for r in range(table.rowCount())]


@pytest.fixture
def notes_picture(tmp_path):
    path = tmp_path / "notes_6x6.png"
    cv2.imwrite(str(path), cv2.cvtColor(NOTES_IMAGE, cv2.COLOR_GRAY2BGR))
    return path


def test_a_click_on_the_map_shows_the_notes_arithmetic(qtbot, window, notes_picture):
    window.open_source(str(notes_picture))
    window.chain.add("conv.kernel")
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    window.gestures.on_click(1, 1)  # a valid map's first cell sits at its window's centre
    inspector = window.inspector
    qtbot.waitUntil(inspector.isVisible, timeout=5000)
    assert table_values(inspector.tables["patch"]) == [[3, 0, 1], [1, 5, 8], [2, 7, 2]]
    assert table_values(inspector.tables["kernel"]) == [[1, 0, -1]] * 3
    assert table_values(inspector.tables["products"]) == [[3, 0, -1], [1, 0, -8], [2, 0, -2]]
    text = inspector.text.toPlainText()
    assert "sum: 3 + 0 + (-1) + 1 + 0 + (-8) + 2 + 0 + (-2) = -5" in text
    assert "(6 − 3 + 2×0)/1 + 1 = 4" in text
    assert window.chain.list.currentRow() == 0

    window.gestures.on_click(2, 1)  # the next output along the row: −4, in the same window
    qtbot.waitUntil(lambda: "= -4" in inspector.text.toPlainText(), timeout=5000)
    assert table_values(inspector.tables["patch"]) == [[0, 1, 2], [5, 8, 9], [7, 2, 5]]


def test_a_click_on_the_border_of_a_valid_map_opens_nothing(qtbot, window, notes_picture):
    window.open_source(str(notes_picture))
    window.chain.add("conv.kernel")
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    window.gestures.on_click(0, 0)  # no output is shown there
    assert not window.inspector.isVisible()


def test_a_click_on_a_pooled_map_shows_the_window_and_its_winner(qtbot, window, notes_picture):
    window.open_source(str(notes_picture))
    window.chain.add("conv.pool")  # max, 2×2, stride 2 on the grayscale frame
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    window.gestures.on_click(3, 1)  # the second cell of the first row: pixels x 2–3, y 0–1
    qtbot.waitUntil(window.inspector.isVisible, timeout=5000)
    assert table_values(window.inspector.tables["window"]) == [[1, 2], [8, 9]]
    assert "max = 9, won by input pixel (3, 1)" in window.inspector.text.toPlainText()
    assert "conv.pool" in window.inspector.heading.text()


def test_the_kernel_grid_starts_from_the_preset_and_an_edit_makes_it_custom(qtbot, window,
                                                                           notes_picture):
    window.open_source(str(notes_picture))
    window.chain.add("conv.kernel")
    next_packet(qtbot, window, lambda p: len(p.results) == 1)
    editor = window.chain.panel.editors["kernel"]
    assert editor.text() == "1 0 -1; 1 0 -1; 1 0 -1"  # vertical_edge, the default preset
    editor.cells[0][0].setText("-1")
    editor.cells[0][2].setText("1")
    editor.cells[0][0].editingFinished.emit()
    processor = window.chain.slots[0].processor
    assert (processor.preset, processor.kernel) == ("custom", "-1 0 1; 1 0 -1; 1 0 -1")
    assert window.chain.panel.editors["preset"].currentText() == "custom"
    # The next frame is computed with the typed kernel: top-left (−3 + 1) + (1 − 8) + (2 − 2).
    packet = next_packet(qtbot, window, lambda p: p.results[0].values["kernel"][0] == [-1, 0, 1])
    assert packet.results[0].values["min"] <= -9

    editor.size_box.setCurrentIndex(1)  # 5×5: the 3×3 stays in the middle, zeros around
    assert window.chain.slots[0].processor.kernel.startswith("0 0 0 0 0; 0 -1 0 1 0;")
    editor.cells[2][2].setText("x")
    editor.cells[2][2].editingFinished.emit()
    assert "not a number" in editor.note.text()
    assert window.chain.slots[0].processor.kernel.startswith("0 0 0 0 0; 0 -1 0 1 0;")


@pytest.fixture
def course_model(tmp_path):
    from tests.processors.test_cnn_features import _save
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    from visionapp.training.classifier_models import course_cnn

    return _save(course_cnn(2, 32).model, tmp_path, "course", 32)


def test_the_layer_picker_lists_the_model_s_layers_and_picks_one(qtbot, window, course_model,
                                                                  notes_picture):
    window.open_source("demo:size=160x120")
    window.chain.add("cnn.features", {"model": str(course_model)})
    picker = window.chain.panel.editors["layer"]
    qtbot.waitUntil(lambda: picker.count() > 2, timeout=60_000)  # read on a worker thread
    names = [picker.itemData(i) for i in range(picker.count())]
    assert names == ["first_conv", "last_conv", "resize", "rescale", "conv1", "pool1", "conv2",
                     "pool2"]
    assert picker.currentData() == "first_conv"
    assert "13×13×32" in picker.itemText(names.index("conv2"))
    picker.activated.emit(names.index("conv2"))
    assert window.chain.slots[0].processor.layer == "conv2"
    next_packet(qtbot, window, lambda p: p.results and p.results[0].values.get("layer") == "conv2")


def test_the_layer_table_carries_the_arithmetic_and_a_click_shows_that_layer(
        qtbot, window, course_model):
    from visionapp.processors.cnn_layers import layer_table
    from visionapp.training.classifier_models import course_cnn, summary_formulas, summary_rows
    from visionapp.training.progress import Finished, ModelSummary

    model = course_cnn(2, 64).model
    rows = tuple(summary_rows(model))
    formulas = summary_formulas(model)
    assert len(formulas) == len(rows) == len(layer_table(model))
    window.open_source("demo:size=160x120")
    window.training.open_classifier()
    dialog = window.training.classifier_dialog
    dialog.start_button.setEnabled(False)
    dialog._on_event(ModelSummary("course_cnn", rows, sum(r[3] for r in rows), 0, formulas))
    conv1 = next(i for i, r in enumerate(rows) if r[0] == "conv1")
    cells = [dialog.summary.item(conv1, c).text() for c in range(7)]
    assert cells[3] == "896" and cells[5].endswith("= 896")  # (3×3×3)×32 + 32, numbers in
    assert cells[4] == "(64 − 3 + 2×0)/1 + 1 = 62 → 62×62×32"
    dialog.summary.cellClicked.emit(conv1, 0)  # not trained yet: the log says what to do
    assert "train the model first" in dialog.log.toPlainText()
    assert not any(s.processor.name == "cnn.features" for s in window.chain.slots)
    dialog._on_event(Finished(str(course_model), "model saved"))
    dialog.summary.cellClicked.emit(conv1, 0)
    features = [s.processor for s in window.chain.slots if s.processor.name == "cnn.features"]
    assert [(f.model, f.layer) for f in features] == [(str(course_model), "conv1")]
    next_packet(qtbot, window, lambda p: any(r.values.get("layer") == "conv1"
                                             for r in p.results))
    dialog.close()


def test_a_click_on_the_map_beside_the_frame_opens_the_inspector_there(qtbot, window,
                                                                       notes_picture):
    window.open_source(str(notes_picture))
    window.chain.add("canny", {"view": "side_by_side"})
    window.chain.add("conv.kernel", {"display": "side_by_side"})
    next_packet(qtbot, window, lambda p: len(p.results) == 2)
    window.gestures.on_click(1, 1)  # on the frame: not conv.kernel's map
    window.gestures.on_click(6 + 1, 1)  # on Canny's map, the first beside the frame
    assert not window.inspector.isVisible()
    window.gestures.on_click(12 + 1, 1)  # conv.kernel's map, the second beside it
    qtbot.waitUntil(window.inspector.isVisible, timeout=5000)
    assert "sum: 3 + 0 + (-1) + 1 + 0 + (-8) + 2 + 0 + (-2) = -5" in (
        window.inspector.text.toPlainText())
