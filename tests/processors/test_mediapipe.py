"""MediaPipe processors on real faces, hands and a dancer (shared models; CI must run these)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from visionapp.core import registry, weights
from visionapp.core.annotate import annotate
from visionapp.core.demo import skimage_photo
from visionapp.core.errors import ModelNotFound, ProcessorFailed
from visionapp.core.model_cache import MODELS
from visionapp.core.pipeline import apply_chain
from visionapp.core.sources import open_source
from visionapp.core.types import Frame, Result
from visionapp.processors.mediapipe_tasks import NOSE_TIP, count_fingers


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/face_landmarker.task").parent))


def still(image):
    return Frame(image, 0, 0, still=True)


@pytest.mark.parametrize("source", ["lena", "astronaut"])
def test_face_mesh_478_points_nose_inside_haar_box(shared, source):
    image = (cv2.imread(str(shared("data/images/lena.jpg"))) if source == "lena"
             else skimage_photo("astronaut.png"))
    mesh = registry.create("mediapipe.face_mesh")(still(image))
    assert len(mesh.landmarks) == 1 and mesh.landmarks[0].points_xy.shape == (478, 2)
    haar = registry.create("haar.faces")(still(image)).detections
    (x1, y1, x2, y2) = haar.xyxy[0]
    nx, ny = mesh.landmarks[0].points_xy[NOSE_TIP]
    assert x1 < nx < x2 and y1 < ny < y2


@pytest.mark.parametrize("name", ["victory.jpg", "pinch.jpg", "pointing_up_padded.png"])
def test_hands_21_landmarks_on_real_hands(shared, name):
    image = cv2.imread(str(shared(f"data/images/hands/{name}")))
    result = registry.create("mediapipe.hands")(still(image))
    (hand,) = result.landmarks
    assert hand.points_xy.shape == (21, 2) and hand.label in ("Left", "Right")
    assert len(hand.connections) == 21  # the hand skeleton
    h, w = image.shape[:2]
    assert (hand.points_xy >= -5).all() and (hand.points_xy[:, 0] <= w + 5).all()


def test_finger_count_on_known_gestures(shared):
    counts = {}
    for name in ("victory.jpg", "pointing_up_padded.png"):
        image = cv2.imread(str(shared(f"data/images/hands/{name}")))
        (hand,) = registry.create("mediapipe.hands")(still(image)).landmarks
        counts[name] = count_fingers(hand.points_xy)
    assert counts == {"victory.jpg": 2, "pointing_up_padded.png": 1}


def test_pose_on_the_dancer_video(shared):
    pose = registry.create("mediapipe.pose")
    found = total = 0
    with open_source(str(shared("data/videos/pose_segmentation.mp4"))) as source:
        for frame in source:
            total += 1
            result = pose(frame)
            if len(result.landmarks) == 1:
                points = result.landmarks[0].points_xy
                assert points.shape == (33, 2)
                nose_y, hips_y = points[0, 1], points[[23, 24], 1].mean()
                found += nose_y < hips_y
    assert total == 102 and found >= 0.8 * total


def test_face_detection_boxes_and_keypoints(shared):
    image = cv2.imread(str(shared("data/images/lena.jpg")))
    result = registry.create("mediapipe.face_detection")(still(image))
    assert len(result.detections) == 1 and result.detections.confidence[0] > 0.7
    assert result.landmarks[0].points_xy.shape == (6, 2)


@pytest.mark.parametrize("name", ["mediapipe.face_mesh", "mediapipe.hands", "mediapipe.pose",
                                  "mediapipe.face_detection"])
def test_nothing_on_a_blank_frame(name):
    result = registry.create(name)(still(np.full((240, 320, 3), 127, np.uint8)))
    assert len(result.landmarks) == 0 and len(result.detections) == 0


def test_video_mode_restarts_when_timestamps_go_back(shared):
    mesh = registry.create("mediapipe.face_mesh")
    with open_source(str(shared("data/videos/selfie_segmentation_web.mp4"))) as source:
        frames = [f for _, f in zip(range(5), source, strict=False)]
    for frame in frames + frames:  # the second pass starts at timestamp 0 again
        assert len(mesh(frame).landmarks) == 1


def test_a_new_stream_gets_a_fresh_video_task(shared):
    """A seek starts a new stream: the VIDEO task is created afresh and is given that stream's
    own timestamps (0 again); within a stream the timestamps only increase."""
    mesh = registry.create("mediapipe.face_mesh")
    with open_source(str(shared("data/videos/selfie_segmentation_web.mp4"))) as source:
        first = [source.read() for _ in range(5)]
        source.seek(0)
        again = [source.read() for _ in range(3)]
    assert len({f.stream_id for f in first}) == 1 and again[0].stream_id != first[0].stream_id
    found = [len(mesh(frame).landmarks) for frame in first]
    (key,) = [k for k in MODELS.entries("mediapipe")
              if k.options[0] == "face_mesh" and k.options[2]]  # (kind, options, video)
    task = MODELS.value(key)
    native, stamp = task.native, task.last_ts
    assert task.stream_id == first[0].stream_id and stamp == first[-1].timestamp_ms
    found += [len(mesh(frame).landmarks) for frame in again]
    assert task.native is not native and task.stream_id == again[0].stream_id
    assert task.last_ts == again[-1].timestamp_ms < stamp
    assert found == [1] * 8


def test_grayscale_and_size_changes(shared):
    gray = cv2.cvtColor(cv2.imread(str(shared("data/images/lena.jpg"))), cv2.COLOR_BGR2GRAY)
    chain = (registry.create("adjust.grayscale"), registry.create("mediapipe.face_mesh"))
    big = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(big, (256, 256))
    for i, image in enumerate((big, small, big)):
        results = apply_chain(Frame(image, i, i * 40), chain)
        assert len(results[1].landmarks) == 1


def test_changing_a_threshold_changes_results_not_the_model(shared):
    image = cv2.imread(str(shared("data/images/lena.jpg")))
    assert len(registry.create("mediapipe.face_detection")(still(image)).detections) == 1
    strict = registry.create("mediapipe.face_detection", {"min_detection_confidence": 1.0})
    assert len(strict(still(image)).detections) == 0


def test_missing_model_offline_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(weights.paths, "PROJECT_MODELS_DIR", tmp_path / "none")
    with pytest.raises(ProcessorFailed) as info:
        apply_chain(still(np.zeros((64, 64, 3), np.uint8)),
                    (registry.create("mediapipe.hands"),))
    assert isinstance(info.value.error, ModelNotFound)
    assert "hand_landmarker.task" in str(info.value) and "visionapp models fetch" in str(
        info.value)


def test_corrupt_task_file_is_an_error_not_a_hang(tmp_path):
    bad = tmp_path / "broken.task"
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelNotFound, match="damaged"):
        registry.create("mediapipe.face_mesh", {"model": str(bad)})(
            still(np.zeros((64, 64, 3), np.uint8)))


def test_tasks_close_explicitly():
    image = np.zeros((64, 64, 3), np.uint8)
    registry.create("mediapipe.face_detection")(still(image))
    tasks = [MODELS.value(key) for key in MODELS.entries("mediapipe")]
    assert tasks
    MODELS.close()  # what runs at exit
    assert not MODELS.entries("mediapipe")
    assert all(task.closed and task.native is None for task in tasks)


def test_pose_segmentation_mask_overlay(shared):
    with open_source(str(shared("data/videos/pose_segmentation.mp4"))) as source:
        frame = next(iter(source))
    result = registry.create("mediapipe.pose", {"segmentation": True})(
        Frame(frame.image, 0, 0, still=True))
    assert len(result.masks) == 1 and result.masks[0].mask.shape == frame.image.shape[:2]
    # The annotator tints the mask (only the mask: no skeleton, no text).
    overlay = annotate(frame.image, [Result("pose", masks=result.masks)], show_text=False)
    assert overlay is not None and overlay.shape == frame.image.shape
    changed = np.any(overlay != frame.image, axis=2).mean()
    assert 0.02 < changed < 0.8  # the dancer is tinted, the background is not
    assert (overlay.astype(int) >= frame.image).all()  # the tint adds colour, never darkens
