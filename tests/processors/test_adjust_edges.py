import cv2
import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.types import Frame


def frame_of(image):
    return Frame(image, 0, 0)


def test_brightness_contrast_arithmetic():
    image = np.array([[[0, 100, 200]]], np.uint8)
    out = registry.create("adjust.brightness_contrast", {"alpha": 1.5, "beta": 20})(
        frame_of(image)).image
    # 1.5·0+20 = 20; 1.5·100+20 = 170; 1.5·200+20 = 320 → clipped to 255.
    assert out.tolist() == [[[20, 170, 255]]]
    dark = registry.create("adjust.brightness_contrast", {"beta": -150})(frame_of(image)).image
    assert dark.tolist() == [[[0, 0, 50]]]  # clipped at 0, not wrapped around


def test_resize_keeps_aspect_and_picks_interpolation(monkeypatch):
    image = np.zeros((100, 200, 3), np.uint8)
    assert registry.create("adjust.resize", {"width": 50})(frame_of(image)).image.shape == (
        25, 50, 3)
    assert registry.create("adjust.resize", {"height": 300})(frame_of(image)).image.shape == (
        300, 600, 3)
    calls = []
    real = cv2.resize
    monkeypatch.setattr(cv2, "resize", lambda img, wh, interpolation: calls.append(
        interpolation) or real(img, wh, interpolation=interpolation))
    registry.create("adjust.resize", {"scale": 0.5})(frame_of(image))
    registry.create("adjust.resize", {"scale": 2.0})(frame_of(image))
    assert calls == [cv2.INTER_AREA, cv2.INTER_CUBIC]


def test_rotate_90_moves_a_pixel_around_the_centre():
    image = np.zeros((101, 101, 3), np.uint8)
    image[50, 90] = 255  # right of centre
    out = registry.create("adjust.rotate", {"angle_deg": 90})(frame_of(image)).image
    y, x = np.unravel_index(np.argmax(out[:, :, 0]), out.shape[:2])
    assert (abs(y - 10) <= 1 and abs(x - 50) <= 1)  # counter-clockwise: now above centre


def test_flip_crop_grayscale():
    image = np.zeros((10, 20, 3), np.uint8)
    image[0, 0] = (10, 20, 30)
    flipped = registry.create("adjust.flip")(frame_of(image)).image
    assert flipped[0, 19].tolist() == [10, 20, 30]
    crop = registry.create("adjust.crop", {"x": 5, "y": 2, "width": 100, "height": 3})(
        frame_of(image)).image
    assert crop.shape == (3, 15, 3)
    gray = registry.create("adjust.grayscale")(frame_of(image)).image
    assert gray.shape == (10, 20, 3) and len(set(gray[0, 0].tolist())) == 1


def _step_edge():
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = 200  # a vertical edge between columns 39 and 40
    return image


def test_canny_finds_a_drawn_edge_and_nothing_on_blank():
    edges = registry.create("canny")(frame_of(_step_edge())).overlay
    cols = np.nonzero(edges.any(axis=0))[0]
    assert set(cols) <= {39, 40} and edges[:, 39:41].any(axis=1).all()
    blank = registry.create("canny")(frame_of(np.full((60, 80, 3), 90, np.uint8))).overlay
    assert not blank.any()


def test_canny_thresholds_matter():
    image = _step_edge()
    image[:, 40:] = 60  # a weak edge (gradient ≈ 4·60 with the 3×3 Sobel)
    weak = registry.create("canny", {"low": 100, "high": 200})(frame_of(image)).overlay
    strong = registry.create("canny", {"low": 500, "high": 900})(frame_of(image)).overlay
    assert weak.any() and not strong.any()


@pytest.mark.parametrize(("direction", "responds"), [("x", True), ("y", False)])
def test_sobel_direction(direction, responds):
    out = registry.create("sobel", {"direction": direction})(frame_of(_step_edge())).overlay
    assert bool(out[:, 38:42].max() > 100) is responds
