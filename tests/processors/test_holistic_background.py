"""mediapipe.holistic (face + hands + body, hands tied to the body's wrists) and background
(portrait mode) on the shared dancer video, a face and a hand photo."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.errors import ModelNotFound, ParameterError
from visionapp.core.sources import open_source
from visionapp.core.types import Frame, Landmarks
from visionapp.processors.holistic import associate, from_holistic_result


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/pose_landmarker_lite.task")
                                                   .parent))


def dancer_frames(shared, limit: int | None = None) -> list[Frame]:
    with open_source(str(shared("data/videos/pose_segmentation.mp4"))) as source:
        return [f for i, f in enumerate(source) if limit is None or i < limit]


# ----------------------------------------------------------------------------- holistic


def _body(left_wrist, right_wrist) -> Landmarks:
    pts = np.zeros((33, 2), np.float32)
    pts[11], pts[12] = (300, 200), (200, 200)  # the person's left shoulder is on image right
    pts[15], pts[16] = left_wrist, right_wrist
    return Landmarks(pts, "pose", visibility=np.ones(33, np.float32))


def _hand(wrist_xy) -> Landmarks:
    pts = np.tile(np.asarray(wrist_xy, np.float32), (21, 1))
    pts[1:] += np.linspace(5, 40, 20)[:, None]
    return Landmarks(pts, "Left")


def test_hands_go_to_the_nearest_wrist_of_the_body():
    body = _body((340, 320), (160, 320))
    hands = [_hand((165, 330)), _hand((335, 310)), _hand((600, 20))]
    assert associate(hands, body, max_distance=0.8) == ["Right", "Left", "hand"]
    # Both hands near one wrist: the nearer gets it, the other is nobody's.
    hands = [_hand((170, 330)), _hand((162, 322))]
    assert associate(hands, body, max_distance=0.8) == ["hand", "Right"]
    assert associate(hands, None, max_distance=0.8) == ["hand", "hand"]


def test_a_holistic_landmarker_result_is_read_the_same_way():
    def marks(n, x0):
        return [SimpleNamespace(x=x0 + i / 1000, y=0.5, visibility=0.9) for i in range(n)]

    found = SimpleNamespace(face_landmarks=marks(478, 0.4), pose_landmarks=marks(33, 0.3),
                            left_hand_landmarks=marks(21, 0.6), right_hand_landmarks=[])
    face, body, hands = from_holistic_result(found, 200, 100)
    assert face.points_xy.shape == (478, 2) and body.points_xy.shape == (33, 2)
    assert body.visibility is not None and [h.label for h in hands] == ["Left"]
    assert hands[0].points_xy[0] == pytest.approx([120.0, 50.0])


def test_face_mesh_points_on_a_face(shared):
    image = cv2.imread(str(shared("data/images/lena.jpg")))
    result = registry.create("mediapipe.holistic")(Frame(image, 0, 0, still=True))
    assert result.values["points"]["face"] == 478
    assert result.values["model"] == "face+hands+pose"
    (face,) = [m for m in result.landmarks if m.label == "face"]
    assert face.points_xy.shape == (478, 2)


def test_a_hand_without_a_body_is_nobody_s(shared):
    image = cv2.imread(str(shared("data/images/hands/victory.jpg")))
    result = registry.create("mediapipe.holistic")(Frame(image, 0, 0, still=True))
    hands = [m for m in result.landmarks if len(m.points_xy) == 21]
    assert len(hands) == 1 and hands[0].points_xy.shape == (21, 2)
    if result.values["points"]["pose"] == 0:
        assert hands[0].label == "hand" and result.values["other_hands"] == 1


def test_dancer_body_and_hands_tied_to_the_right_wrist(shared):
    holistic = registry.create("mediapipe.holistic", {"face": False})
    bodies = tied = 0
    for frame in dancer_frames(shared):
        result = holistic(frame)
        (body,) = [m for m in result.landmarks if m.label == "pose"] or [None]
        if body is None:
            continue
        bodies += 1
        assert body.points_xy.shape == (33, 2)
        shoulder = np.linalg.norm(body.points_xy[11] - body.points_xy[12])
        for hand in result.landmarks:
            if hand.label not in ("Left", "Right"):
                continue
            assert hand.points_xy.shape == (21, 2)
            own, other = (15, 16) if hand.label == "Left" else (16, 15)
            near = np.linalg.norm(hand.points_xy[0] - body.points_xy[own]) / shoulder
            far = np.linalg.norm(hand.points_xy[0] - body.points_xy[other]) / shoulder
            # Two models found the same wrist: the hand's own and the body's agree closely.
            assert near < 0.8 and near < far
            tied += near < 0.3
        key = "left_hand" if any(m.label == "Left" for m in result.landmarks) else None
        if key:
            assert result.values["points"][key] == 21
    assert bodies >= 0.9 * 102 and tied >= 20


def test_missing_models_are_named_before_the_first_frame(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("VISIONAPP_OFFLINE", "1")
    with pytest.raises(ModelNotFound, match="pose_landmarker_lite.task"):
        registry.create("mediapipe.holistic").prepare()


# ----------------------------------------------------------------------------- background


def _inside_outside(alpha: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels well inside the person (15 px from the edge, fully opaque) and well outside."""
    kernel = np.ones((31, 31), np.uint8)
    core = cv2.erode((raw > 0.5).astype(np.uint8), kernel) > 0
    far = cv2.dilate((raw > 0.5).astype(np.uint8), kernel) == 0
    return core & (alpha > 0.998), far & (alpha < 0.002)


@pytest.mark.parametrize("mode", ["color", "grey", "blur"])
def test_background_changes_outside_the_person_and_not_inside(shared, mode):
    portrait = registry.create("background", {"mode": mode, "color": "#ff0080"})
    probe = registry.create("background", {"smoothing": 0.0, "feather_px": 0})
    checked = 0
    for frame in dancer_frames(shared, 30)[::3]:
        alpha = portrait.alpha(frame)
        out = portrait.composite(frame.image, alpha)
        inside, outside = _inside_outside(alpha, probe.raw_mask(frame))
        assert inside.mean() > 0.02 and outside.mean() > 0.4
        diff = np.abs(out.astype(int) - frame.image.astype(int))
        assert diff[inside].max() <= 1  # the person is untouched
        if mode == "color":
            assert np.abs(out[outside].astype(int) - (128, 0, 255)).max() <= 1
        elif mode == "grey":
            spread = out[outside].max(axis=1).astype(int) - out[outside].min(axis=1)
            assert spread.max() <= 1 and diff[outside].mean() > 3
        else:
            assert diff[outside].mean() > 1.0
        checked += 1
    assert checked == 10
    result = portrait(dancer_frames(shared, 1)[0])
    assert result.image is not None and 0.02 < result.values["person_fraction"] < 0.5


def _mask_stats(masks: list[np.ndarray]) -> tuple[float, int]:
    """(mean IoU of consecutive masks, pixels that flip and flip back over three frames)."""
    binary = [m > 0.5 for m in masks]
    ious = [(a & b).sum() / max(1, (a | b).sum()) for a, b in zip(binary, binary[1:],
                                                                 strict=False)]
    flicker = sum(int(((b != a) & (c != b)).sum()) for a, b, c in zip(
        binary, binary[1:], binary[2:], strict=False))
    return float(np.mean(ious)), flicker


def test_smoothing_steadies_the_mask_of_a_fast_dancer(shared):
    frames = dancer_frames(shared)
    raw = registry.create("background", {"smoothing": 0.0})
    steady = registry.create("background")  # smoothing 0.85: a pixel lets go over ~4 frames
    raw_iou, raw_flicker = _mask_stats([raw.alpha(f) for f in frames])
    iou, flicker = _mask_stats([steady.alpha(f) for f in frames])
    # The dancer's arms sweep tens of pixels per frame at 20 fps, so consecutive masks differ
    # by real motion too; smoothing removes the back-and-forth, not the motion.
    assert flicker < 0.6 * raw_flicker
    assert iou > raw_iou + 0.03 and iou >= 0.9


def test_smoothed_mask_of_a_steady_subject_overlaps_frame_to_frame(shared):
    portrait = registry.create("background")
    with open_source(str(shared("data/videos/selfie_segmentation_web.mp4"))) as source:
        masks = [portrait.alpha(f) for f in source]
    iou, _ = _mask_stats(masks)
    assert iou >= 0.9 and np.mean([m.mean() for m in masks]) > 0.1


def test_background_settings_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="background.color='green' is not a colour"):
        registry.create("background", {"color": "green"})
    with pytest.raises(ParameterError, match="needs a picture"):
        registry.create("background", {"mode": "image"})
    picture = tmp_path / "beach.png"
    cv2.imwrite(str(picture), np.full((20, 30, 3), (200, 100, 0), np.uint8))
    portrait = registry.create("background", {"mode": "image", "image_path": str(picture)})
    portrait.prepare()
    frame = Frame(np.zeros((60, 80, 3), np.uint8), 0, 0, still=True)
    out = portrait.composite(frame.image, np.zeros((60, 80), np.float32))
    assert (out == (200, 100, 0)).all()  # nobody there: all background picture
