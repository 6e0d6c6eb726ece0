"""hands.gestures: real hand photos through mediapipe.hands, and hands posed by a 3-D model for the
gestures the shared photos do not show."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.processors.synthetic_hands import (
    ALL_CURLED,
    ALL_EXTENDED,
    BENT,
    EXTENDED,
    FINGERS,
    hand,
    thumb_roll,
)
from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.pipeline import apply_chain
from visionapp.core.types import Frame, Landmarks, Result
from visionapp.processors.gestures import classify

TUCKED = 110.0  # thumb folded across the palm


@pytest.fixture
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/hand_landmarker.task").parent))


@pytest.mark.usefixtures("_models")
@pytest.mark.parametrize(("photo", "gesture"), [("victory.jpg", "victory"),
                                                ("pointing_up_padded.png", "pointing_up"),
                                                ("pinch.jpg", "pinch")])
def test_gestures_on_real_hand_photos(shared, photo, gesture):
    image = cv2.imread(str(shared(f"data/images/hands/{photo}")))
    chain = (registry.create("mediapipe.hands"), registry.create("hands.gestures"))
    _, result = apply_chain(Frame(image, 0, 0, still=True), chain)
    (found,) = result.values["hands"]
    assert found["gesture"] == gesture
    assert found["handedness"] in ("Left", "Right")
    assert result.detections.labels == (f"{found['handedness']}: {gesture.replace('_', ' ')}",)
    if gesture == "pinch":  # the cursor sits between the thumb and index tips
        (hand_marks,) = _.landmarks
        thumb, index = hand_marks.points_xy[4], hand_marks.points_xy[8]
        assert found["cursor_xy"] == pytest.approx(list((thumb + index) / 2), abs=0.1)
        assert found["pinch_distance_px"] == pytest.approx(float(np.linalg.norm(thumb - index)),
                                                           abs=0.1)
        assert result.landmarks[0].label == "pinch cursor"
    else:
        assert found["cursor_xy"] is None and not result.landmarks


POSES = {
    "open_palm": {"fingers": ALL_EXTENDED},
    "fist": {"fingers": ALL_CURLED, "thumb_across_deg": TUCKED},
    "victory": {"fingers": {**ALL_CURLED, "index": EXTENDED, "middle": EXTENDED},
                "thumb_across_deg": TUCKED},
    "pointing_up": {"fingers": {**ALL_CURLED, "index": EXTENDED}, "thumb_across_deg": TUCKED},
    "ok": {"fingers": {**ALL_EXTENDED, "index": BENT}, "thumb_to_index": 0.08},
    "pinch": {"fingers": dict.fromkeys(FINGERS, BENT), "thumb_to_index": 0.3},
}


@pytest.mark.parametrize("gesture", list(POSES))
@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("roll_deg", [-20.0, 0.0, 20.0])
@pytest.mark.parametrize("palm_px", [40.0, 250.0])
def test_synthetic_gestures_any_hand_size_and_tilt(gesture, mirror, roll_deg, palm_px):
    rng = np.random.default_rng(int(roll_deg) + 100 + 1000 * mirror)
    points = hand(**POSES[gesture], roll_deg=roll_deg, mirror=mirror, palm_px=palm_px, rng=rng)
    assert classify(points) == gesture


@pytest.mark.parametrize(("gesture", "to_deg"), [("thumbs_up", 0.0), ("thumbs_down", 180.0)])
@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("off_deg", [-30.0, 0.0, 30.0])
def test_thumbs_up_and_down(gesture, to_deg, mirror, off_deg):
    roll = thumb_roll(ALL_CURLED, 0.0, to_deg + off_deg, mirror=mirror)
    points = hand(ALL_CURLED, 0.0, roll_deg=roll, mirror=mirror,
                  rng=np.random.default_rng(3))
    assert classify(points) == gesture


def test_sideways_thumb_and_pointing_are_not_up():
    """A thumb or index pointing sideways is no thumbs up / pointing up."""
    roll = thumb_roll(ALL_CURLED, 0.0, 90.0)
    assert classify(hand(ALL_CURLED, 0.0, roll_deg=roll)) == "none"
    pointing = POSES["pointing_up"]
    assert classify(hand(**pointing, roll_deg=90.0)) == "none"
    assert classify(hand(**pointing, roll_deg=180.0)) == "none"


def test_pinch_threshold_is_a_parameter():
    points = hand(**{**POSES["pinch"], "thumb_to_index": 0.6})
    assert classify(points, pinch_ratio=0.45) != "pinch"
    assert classify(points, pinch_ratio=0.8) == "pinch"


def test_every_hand_gets_its_gesture_and_handedness():
    left = Landmarks(hand(**POSES["victory"], mirror=True, centre_xy=(150, 240)), "Left")
    right = Landmarks(hand(**POSES["ok"], centre_xy=(480, 240)), "Right")
    context = (Result("mediapipe.hands", landmarks=(left, right)),)
    result = registry.create("hands.gestures")(
        Frame(np.zeros((480, 640, 3), np.uint8), 0, 0, context=context))
    assert [(h["handedness"], h["gesture"]) for h in result.values["hands"]] == [
        ("Left", "victory"), ("Right", "ok")]
    assert result.text == ("Left hand: victory", "Right hand: ok")


def test_without_a_hands_processor_it_says_which_to_add(capsys, tmp_path):
    result = registry.create("hands.gestures")(Frame(np.zeros((48, 64, 3), np.uint8), 0, 0))
    assert "add mediapipe.hands" in result.text[0]
    out = tmp_path / "out.mp4"
    assert main(["process", "demo:frames=2,size=64x48", "-p", "hands.gestures", "--out",
                 str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "add -p mediapipe.hands before -p hands.gestures" in err[0]
    assert not out.exists()
