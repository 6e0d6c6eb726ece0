"""privacy.blur: boxes hidden, the rest untouched, missed frames held, and the real face in the
shared selfie video blurred on every frame the detector finds it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.processors.solution_tracks import frame_with
from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.pipeline import apply_chain
from visionapp.core.sources import open_source


def _textured(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (360, 640, 3), np.uint8)


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


@pytest.mark.parametrize("mode", ["blur", "pixelate", "fill"])
def test_boxes_are_hidden_and_nothing_else_changes(mode):
    image = _textured()
    proc = registry.create("privacy.blur", {"mode": mode, "padding": 0.0})
    frame = frame_with([(0, "face", (100, 120)), (0, "face", (400, 300))], 0, tracked=False,
                       image=image)
    out = proc(frame).image
    changed = np.any(out != image, axis=2)
    inside = np.zeros_like(changed)
    inside[100:120, 90:110] = inside[280:300, 390:410] = True  # the two 20x20 boxes
    assert not changed[~inside].any()
    assert _sharpness(out[100:120, 90:110]) < 0.2 * _sharpness(image[100:120, 90:110])
    assert np.array_equal(frame.image, image)  # the input frame is never written


def test_class_filter_padding_and_no_source():
    image = _textured()
    frame = frame_with([(0, "person", (100, 120)), (0, "face", (400, 300))], 0, tracked=False,
                       image=image)
    out = registry.create("privacy.blur", {"classes": "face", "padding": 0.5})(frame).image
    assert np.array_equal(out[100:120, 90:110], image[100:120, 90:110])  # the person stays
    assert (out[270:310, 380:420] != image[270:310, 380:420]).any(axis=2).mean() > 0.9
    alone = registry.create("privacy.blur")(frame_with([], 0).with_context(()))
    assert alone.image is None and "add haar.faces" in alone.text[0]


def test_a_missed_detection_stays_hidden_for_the_hold_time():
    proc = registry.create("privacy.blur", {"hold_ms": 300, "padding": 0.0})
    image = _textured(1)
    face = [(0, "face", (200, 200))]
    proc(frame_with(face, 0, 0, tracked=False, image=image))
    missed = proc(frame_with([], 1, 200, tracked=False, image=image))   # detector missed it
    assert missed.values == {"regions": 0, "held": 1}
    assert not np.array_equal(missed.image[180:200, 190:210], image[180:200, 190:210])
    later = proc(frame_with([], 2, 600, tracked=False, image=image))    # 600 ms: let go
    assert later.image is None
    # A face found again replaces the held box instead of adding a second region.
    proc(frame_with(face, 3, 700, tracked=False, image=image))
    again = proc(frame_with([(0, "face", (205, 200))], 4, 750, tracked=False, image=image))
    assert again.values == {"regions": 1, "held": 0}


def test_landmark_outlines_are_hidden_too():
    from visionapp.core.types import Frame, Landmarks, Result

    image = _textured(2)
    points = np.array([[300, 100], [340, 100], [320, 150]], np.float32)
    mesh = Result("mediapipe.face_mesh", landmarks=(Landmarks(points, "face"),))
    out = registry.create("privacy.blur", {"padding": 0.0})(
        Frame(image, 0, 0, context=(mesh,))).image
    assert (out[100:150, 300:340] != image[100:150, 300:340]).any()
    assert np.array_equal(out[:90], image[:90])


def test_the_face_in_the_selfie_video_is_blurred_on_every_frame_it_is_found(shared):
    video = shared("data/videos/selfie_segmentation_web.mp4")
    chain = (registry.create("mediapipe.face_detection"),
             registry.create("privacy.blur", {"padding": 0.1}))
    found = 0
    with open_source(str(video), realtime=False) as source:
        for frame in source:
            detect, blur = apply_chain(frame, chain)
            if not len(detect.detections):
                continue
            found += 1
            out = blur.image
            x1, y1, x2, y2 = np.round(detect.detections.xyxy[0]).astype(int)
            x1, y1 = max(0, x1), max(0, y1)
            before = _sharpness(frame.image[y1:y2, x1:x2])
            assert _sharpness(out[y1:y2, x1:x2]) <= 0.2 * before, frame.index
            w, h = x2 - x1, y2 - y1  # outside the padded box nothing changed
            outside = np.ones(frame.image.shape[:2], bool)
            outside[max(0, y1 - h // 10 - 1): y2 + h // 10 + 2,
                    max(0, x1 - w // 10 - 1): x2 + w // 10 + 2] = False
            assert np.array_equal(out[outside], frame.image[outside]), frame.index
    assert found >= 200  # one face throughout 225 frames: the detector finds it nearly always


def test_the_cli_one_liner_writes_an_anonymised_video(shared, tmp_path, capsys):
    video = shared("data/videos/selfie_segmentation_web.mp4")
    out = tmp_path / "anon.mp4"
    code = main(["process", str(video), "-p", "mediapipe.face_detection", "-p", "privacy.blur",
                 "--out", str(out), "--max-frames", "10", "-q"])
    assert code == 0, capsys.readouterr().err
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    capture.release()


def test_clean_output_draws_nothing_the_earlier_processors_found():
    from visionapp.core.annotate import annotate

    image = _textured(3)
    frame = frame_with([(0, "face", (200, 200))], 0, tracked=False, image=image)
    for clean in (False, True):
        blurred = registry.create("privacy.blur", {"clean": clean})(frame)
        drawn = annotate(image, [*frame.context, blurred], show_text=False)
        # Without clean the face box is drawn over the blurred frame; with it, nothing is.
        assert np.array_equal(drawn, blurred.image) == clean
