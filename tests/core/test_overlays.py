"""Overlays drawn for people: sizes follow the frame, each processor has its own colour, labels
and the readout stay inside the frame and off the detections, halves and bars are drawn."""

from __future__ import annotations

import numpy as np
import pytest

from visionapp.core.annotate import annotate
from visionapp.core.annotate_style import PALETTE, processor_color, put_label, style_for
from visionapp.core.types import Bars, Detections, Landmarks, Result

WHITE = 200  # readout text is white; anything this bright in every channel is text


def text_rows(image: np.ndarray) -> np.ndarray:
    """Rows holding white (readout text) pixels."""
    return np.flatnonzero((image.min(axis=2) > WHITE).any(axis=1))


def box(xyxy, label="face", score=0.9) -> Detections:
    return Detections.from_lists([xyxy], [score], [label])


@pytest.mark.parametrize("hw", [(100, 100), (1080, 1920)])
def test_text_height_follows_the_frame(hw):
    out = annotate(np.zeros((*hw, 3), np.uint8), [Result("p", text=("Ag",))])
    rows = text_rows(out)
    height = rows.max() - rows.min() + 1
    assert height <= 0.15 * hw[0]  # a 100×100 photo keeps most of itself visible
    assert height >= 0.015 * hw[0]  # and 1080p text is readable when the view shrinks it


def test_a_long_readout_on_a_tiny_frame_is_cut_not_run_off_the_edge():
    long_line = "YOLO openvino @640: 3 car, 2 person, 1 truck, 1 bus, 4 traffic light"
    out = annotate(np.zeros((100, 100, 3), np.uint8),
                   [Result("p", text=(long_line,) * 12)])
    assert not (out[:, -2:].min(axis=2) > WHITE).any()  # no glyph reaches the right edge
    rows = text_rows(out)
    assert rows.max() < 0.5 * 100  # twelve lines do not cover the frame: "+N more"


def test_the_readout_moves_to_the_corner_without_boxes():
    image = np.full((240, 320, 3), 90, np.uint8)
    face = box([5, 5, 150, 110])  # fills the top-left corner
    out = annotate(image, [Result("p", detections=face, text=("Haar: 1 face", "more text"))])
    inside = out[30:100, 20:140]  # the box's inside, below its label
    assert (inside == 90).all()  # nothing drawn over the face
    assert len(text_rows(out[120:])) or len(text_rows(out[:, 160:]))


def test_each_processor_draws_in_its_own_colour():
    image = np.zeros((200, 300, 3), np.uint8)
    results = [Result("haar.faces", detections=box([20, 60, 100, 150])),
               Result("mediapipe.face_detection", detections=box([160, 60, 240, 150]))]
    out = annotate(image, results)

    def nearest(window, color):  # the distance of the pixel closest to ``color``
        return np.abs(window.reshape(-1, 3).astype(int) - color).max(axis=1).min()

    left, right = out[95:105, 17:24], out[95:105, 157:164]  # across each box's left edge
    assert nearest(left, processor_color(0)) < 30 and nearest(right, processor_color(1)) < 30
    assert nearest(left, processor_color(1)) > 60 and nearest(right, processor_color(0)) > 60
    assert len(set(PALETTE)) == len(PALETTE) >= 8


def test_the_legend_names_every_processor_when_text_is_off():
    image = np.zeros((200, 300, 3), np.uint8)
    results = [Result("haar.faces", detections=box([20, 100, 100, 190])),
               Result("mediapipe.face_detection", detections=box([160, 100, 240, 190]))]
    out = annotate(image, results, show_text=False)
    top = out[:60, :150].reshape(-1, 3)
    swatches = {tuple(p) for p in top} & {processor_color(0), processor_color(1)}
    assert len(swatches) == 2 and len(text_rows(out[:60])) > 0


@pytest.mark.parametrize("xyxy", [[0, 0, 40, 30], [260, 170, 320, 240], [280, 0, 320, 20]])
def test_labels_stay_inside_the_frame_at_the_edges(xyxy):
    canvas = np.zeros((240, 320, 3), np.uint8)
    tag = put_label(canvas, "person 0.87", xyxy, (0, 150, 255), style_for((240, 320)))
    x1, y1, x2, y2 = tag
    assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
    assert (canvas[y1:y2, x1:x2] == (0, 150, 255)).all(axis=2).mean() > 0.3  # drawn there


def test_labels_of_neighbouring_boxes_do_not_overlap():
    canvas = np.zeros((240, 320, 3), np.uint8)
    style, taken = style_for((240, 320)), []
    first = put_label(canvas, "#1 car 0.90", [100, 100, 160, 150], (0, 150, 255), style,
                      taken=taken)
    second = put_label(canvas, "#2 car 0.80", [104, 102, 164, 152], (0, 150, 255), style,
                       taken=taken)
    assert first[2] <= second[0] or second[2] <= first[0] or first[3] <= second[1] \
        or second[3] <= first[1]


def test_side_by_side_halves_carry_their_names():
    image = np.full((120, 160, 3), 100, np.uint8)
    edges = np.zeros((120, 160), np.uint8)
    results = [Result("canny", overlay=edges, overlay_mode="side_by_side"),
               Result("sobel", overlay=edges, overlay_mode="side_by_side")]
    out = annotate(image, results, show_text=False)
    assert out.shape == (120, 480, 3)
    for half, color in ((1, processor_color(0)), (2, processor_color(1))):
        bottom = out[90:, half * 160 : (half + 1) * 160]
        assert (bottom == color).all(axis=2).sum() > 50  # the name tag in the processor colour


def test_probability_bars_are_drawn_to_their_length():
    image = np.zeros((240, 320, 3), np.uint8)
    bars = Bars(("cat", "dog"), (0.9, 0.1))
    out = annotate(image, [Result("classifier", text=("classifier: cat 0.90",), bars=bars)])
    color = processor_color(0)
    filled = (out == color).all(axis=2)
    rows = np.flatnonzero(filled.sum(axis=1) > 3)
    top_bar = filled[rows[rows > rows.min() + 5]].sum(axis=1).max()  # below the swatch row
    per_row = filled.sum(axis=1)
    assert top_bar > 4 * np.min(per_row[per_row > 0])  # 0.9 is drawn longer than 0.1


def test_classifier_bars_are_values_not_ascii():
    from visionapp.processors.classifier import bars  # imports no Keras until a model loads

    drawn = bars(("cat", "dog", "fox"), np.array([0.2, 0.7, 0.1]), 2)
    assert drawn == Bars(("dog", "cat"), (pytest.approx(0.7), pytest.approx(0.2)))


def _ring(n=60, r=40.0, c=(100.0, 100.0)) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)], 1).astype(np.float32)


def test_a_mesh_is_translucent_and_a_skeleton_thicker_than_plain_lines():
    image = np.full((200, 200, 3), 60, np.uint8)
    points = _ring()
    pairs = tuple((i, (i + 1) % len(points)) for i in range(len(points)))

    def drawn(style):
        marks = Landmarks(points, connections=pairs, draw_points=False, style=style)
        return annotate(image, [Result("p", landmarks=(marks,))], show_text=False)

    mesh, plain, skeleton = drawn("mesh"), drawn("plain"), drawn("skeleton")
    changed = [(out != 60).any(axis=2) for out in (mesh, plain, skeleton)]
    assert changed[0].any() and changed[2].sum() > 2 * changed[1].sum()
    color = np.array(processor_color(0))
    mesh_px = mesh[changed[0]].astype(int)
    assert np.abs(mesh_px - color).max(axis=1).min() > 40  # the face shows through the mesh


def test_accented_letters_are_drawn_as_their_base_letters():
    from visionapp.core.annotate_style import ascii_text

    # Hershey fonts have ASCII only: OCR'd "über" should read "uber", not "?ber".
    assert ascii_text("über marrón 3×3 → ok") == "uber marron 3x3 -> ok"
    assert ascii_text("«rapide» Straße") == '"rapide" Strasse'
    assert ascii_text("北") == "?"
