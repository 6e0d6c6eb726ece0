"""channels: the frame split into the channels of a colour space, each with its histogram."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.types import Frame
from visionapp.processors.channels import SPACES, Channels, false_colour


@pytest.fixture
def frame() -> Frame:
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, :40] = (255, 0, 0)  # left half pure blue
    image[:30, 40:] = (0, 0, 255)  # top right pure red
    image[30:, 40:] = (40, 160, 90)
    return Frame(image, 0, 0, still=True)


def test_bgr_split_numbers(frame):
    values = Channels()(frame).values
    assert values["channels"] == ["B", "G", "R"]
    b, g, r = (frame.image[..., i].astype(float) for i in range(3))
    # blue: half the pixels 255 and a quarter 40 → 255/2 + 40/4 = 137.5
    assert values["mean"] == pytest.approx([b.mean(), g.mean(), r.mean()], abs=1e-3)
    assert values["mean"][0] == pytest.approx(137.5)
    assert values["std"][1] == pytest.approx(g.std(), abs=1e-3)
    blue_hist = values["histograms"][0]
    # 16 bins of 16 levels: 255 → last bin (half), 40 → bin 2 (a quarter), 0 → bin 0.
    assert blue_hist[15] == 0.5 and blue_hist[2] == 0.25 and blue_hist[0] == 0.25
    for hist in values["histograms"]:
        assert len(hist) == 16 and sum(hist) == pytest.approx(1.0)


def test_hsv_split_matches_cvtcolor(frame):
    result = Channels(space="HSV")(frame)
    hsv = cv2.cvtColor(frame.image, cv2.COLOR_BGR2HSV)
    assert result.values["channels"] == ["H", "S", "V"]
    assert result.values["mean"] == pytest.approx([hsv[..., i].mean() for i in range(3)],
                                                  abs=1e-3)
    # Hue lives in 0..179: pure blue is 120, which falls in bin 120·16/180 = 10.67 → 10.
    assert result.values["histograms"][0][10] == pytest.approx(0.5)
    assert "cv2.COLOR_BGR2HSV" in result.text[0]


def test_layout_false_colour_and_grey(frame):
    result = Channels(histogram=False)(frame)
    overlay = result.overlay
    assert overlay.shape == frame.image.shape  # a 2×2 grid at the frame's size
    blue_panel = overlay[:30, :40]
    # B channel in false colour: the blue half is (255, 0, 0), the red corner black.
    assert tuple(blue_panel[5, 5]) == (255, 0, 0) and not blue_panel[5, 35].any()
    red_panel = overlay[30:, :40]
    assert tuple(red_panel[5, 35]) == (0, 0, 255)
    np.testing.assert_array_equal(overlay[30:, 40:], cv2.resize(
        frame.image, (40, 30), interpolation=cv2.INTER_AREA))  # the frame itself, 4th
    grey = Channels(colour="gray", histogram=False)(frame).overlay
    assert tuple(grey[5, 5]) == (255, 255, 255) and tuple(grey[5, 45]) == (0, 0, 0)
    with_hist = Channels()(frame).overlay
    assert (with_hist[:22, :40] == overlay[:22, :40]).all()  # histogram only at the bottom
    assert not (with_hist[23:30, :40] == overlay[23:30, :40]).all()


def test_every_space_runs_and_neutral_channels_are_grey():
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), np.uint8)
    for space, (_, _, names, _) in SPACES.items():
        values = Channels(space=space)(Frame(image, 0, 0)).values
        assert values["channels"] == list(names)
    # A lightness channel alone (a, b held at 128) is grey.
    plane = np.full((4, 4), 200, np.uint8)
    b, g, r = false_colour(plane, "Lab", 0)[0, 0].astype(int)
    assert abs(b - g) <= 2 and abs(g - r) <= 2
    hue = false_colour(np.full((2, 2), 60, np.uint8), "HSV", 0)[0, 0]  # 60 = green hue
    assert tuple(hue) == (0, 255, 0)
    assert registry.create("channels").name == "channels"
