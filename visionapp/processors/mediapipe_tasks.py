"""MediaPipe landmark models as processors, through the Tasks API: face mesh, hands, pose, and
BlazeFace face detection.

MediaPipe is imported only when one of these processors first runs, without the TensorFlow
import it would otherwise make just for a docs decorator (:mod:`visionapp.core.frameworks`).
Video frames go through VIDEO running mode, which tracks between frames and needs strictly
increasing timestamps; still images go through IMAGE mode. A task is created per (model file,
options, mode) and kept in the model cache (:mod:`visionapp.core.model_cache`), whose close hook
releases its native resources — when evicted, when the model file changes, and at exit — never
left to the garbage collector. A VIDEO task follows one stream: a frame of another stream (a new
video, a seek, a loop) gets a fresh native task, and within a stream the timestamps it is given
always increase.

In a batch run ``prepare()`` resolves each model file and checks its container (a ``.task`` is a
zip bundle, a ``.tflite`` a FlatBuffer tagged ``TFL3``) before the first frame, so a missing or
truncated download is an error there. The task itself is still created on the first frame: that
imports MediaPipe (about a second), and the task depends on the running mode, which only the
first frame tells (a still image or a video).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from visionapp.core import weights
from visionapp.core.errors import ModelNotFound
from visionapp.core.frameworks import before_tensorflow, mediapipe_without_tensorflow
from visionapp.core.logs import native_stderr_filtered
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, param
from visionapp.core.timeout import call_with_timeout
from visionapp.core.types import Detections, Frame, Landmarks, Mask, Result

CREATE_TIMEOUT_S = 60.0
NOSE_TIP = 1  # face-mesh landmark index of the nose tip
PERSON_TINT_BGR = (255, 0, 255)  # pose segmentation: the person mask, added at PERSON_TINT_ALPHA
PERSON_TINT_ALPHA = 0.6


# ----------------------------------------------------------------------------- task management


@functools.cache
def _mediapipe():
    mediapipe_without_tensorflow()
    before_tensorflow()
    import mediapipe

    return mediapipe


@functools.cache
def _vision():
    """The MediaPipe vision module, imported on first use."""
    mediapipe_without_tensorflow()
    before_tensorflow()
    from mediapipe.tasks.python import vision

    return vision


_CLASSES = {  # kind → (options class, task class) names in mediapipe.tasks.python.vision
    "face_mesh": ("FaceLandmarkerOptions", "FaceLandmarker"),
    "hands": ("HandLandmarkerOptions", "HandLandmarker"),
    "pose": ("PoseLandmarkerOptions", "PoseLandmarker"),
    "face_detection": ("FaceDetectorOptions", "FaceDetector"),
    "holistic": ("HolisticLandmarkerOptions", "HolisticLandmarker"),
    "segmenter": ("ImageSegmenterOptions", "ImageSegmenter"),
}


def create_task(kind: str, path: Path, options: tuple[tuple[str, Any], ...], video: bool,
                model_name: str) -> Any:
    """A native MediaPipe task, created on a helper thread: a corrupt model gives a
    ModelNotFound naming the file and the fix, never a hang."""
    vision = _vision()
    from mediapipe.tasks.python.core.base_options import BaseOptions

    option_cls, task_cls = (getattr(vision, name) for name in _CLASSES[kind])
    mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
    opts = option_cls(base_options=BaseOptions(model_asset_path=str(path)),
                      running_mode=mode, **dict(options))
    try:
        with native_stderr_filtered():  # LiteRT's and glog's start-up lines, unless -v
            return call_with_timeout(lambda: task_cls.create_from_options(opts),
                                     CREATE_TIMEOUT_S, "mediapipe-create")
    except TimeoutError:
        raise ModelNotFound(f"MediaPipe did not load {str(path)!r} within {CREATE_TIMEOUT_S:g} "
                            f"s; the file may be damaged: {weights.replace_hint(model_name)}"
                            ) from None
    except (RuntimeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ModelNotFound(f"MediaPipe could not load {str(path)!r} ({first}); the file is "
                            f"damaged or not a {kind} model: {weights.replace_hint(model_name)}"
                            ) from None


class _TaskClosed(Exception):
    """The task was closed (evicted from the model cache) between lookup and use."""


class Task:
    """A MediaPipe task for one model file, options and running mode (what the model cache
    holds). In VIDEO mode it follows one stream at a time and keeps its timestamps increasing."""

    def __init__(self, create: Callable[[], Any], video: bool):
        self._create = create
        self.video = video
        self.lock = threading.Lock()
        self.closed = False
        self.native: Any = create()  # created now, so a bad model file fails the load
        self.calls = 0  # inferences since the native task was (re)created
        self.stream_id: int | None = None
        self.last_ts = -1

    def run(self, image: Any, frame: Frame) -> Any:
        """MediaPipe's result for ``image`` (``frame``'s pixels as an mp.Image)."""
        with self.lock:
            if self.closed:
                raise _TaskClosed
            if self.video and self.stream_id not in (None, frame.stream_id):
                # A new video, a seek or a loop: track afresh, from the new stream's timestamps.
                native, self.native = self.native, None
                if native is not None:
                    native.close()
            if self.native is None:
                self.native, self.last_ts = self._create(), -1
                self.calls = 0
            # The first inference of a task logs its set-up natively: held back unless -v.
            with native_stderr_filtered() if self.calls == 0 else contextlib.nullcontext():
                self.calls += 1
                if not self.video:
                    return self.native.detect(image)
                self.stream_id = frame.stream_id
                timestamp = max(frame.timestamp_ms, self.last_ts + 1)
                self.last_ts = timestamp
                return self.native.detect_for_video(image, timestamp)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            native, self.native = self.native, None
            if native is not None:
                native.close()


def model_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a MediaPipe model (by its container), or None if it may be one."""
    try:
        if path.suffix == ".task" and not zipfile.is_zipfile(path):
            return "a .task model is a zip bundle and this is not one"
        if path.suffix == ".tflite":
            with open(path, "rb") as fh:
                if fh.read(8)[4:8] != b"TFL3":
                    return "a .tflite model starts with a TFL3 tag and this does not"
    except OSError as exc:
        return f"it cannot be read: {exc.strerror or exc}"
    return None


def check_model_file(model_name: str) -> Path:
    """Resolve ``model_name`` and check its container; ModelNotFound names the file and fix."""
    path = weights.resolve(model_name)
    problem = model_file_problem(path)
    if problem is not None:
        raise ModelNotFound(f"{path} is damaged or not a MediaPipe model ({problem}); "
                            f"{weights.replace_hint(model_name)}")
    return path


class _ModelFile:
    """``prepare()`` for the processors below: each has a ``model`` field naming its file."""

    model: str

    def prepare(self) -> None:
        check_model_file(self.model)

    def loading_note(self, frame: Frame) -> str:
        """What the window shows while this loads (MediaPipe, then the model's native task)."""
        return f"loading MediaPipe {self.name.rpartition('.')[2].replace('_', ' ')} ({self.model})"

    def confidences(self, what: str) -> dict[str, float]:
        """The three confidence settings (the landmarkers' fields of those names) under
        MediaPipe's option names for ``what`` (face, hand, pose)."""
        return {f"min_{what}_detection_confidence": self.min_detection_confidence,
                f"min_{what}_presence_confidence": self.min_presence_confidence,
                "min_tracking_confidence": self.min_tracking_confidence}


def get_task(kind: str, model_name: str, options: tuple[tuple[str, Any], ...],
             video: bool) -> Task:
    """The task for these settings from the model cache (created on first use)."""

    def load(path: Path) -> Task:
        return Task(functools.partial(create_task, kind, path, options, video, model_name), video)

    return MODELS.get("mediapipe", model_name, (kind, options, video), load,
                      resolver=weights.resolve, close=Task.close)


def run_task(kind: str, model_name: str, options: dict[str, Any], frame: Frame) -> Any:
    """Run the task on ``frame`` (BGR) in VIDEO or IMAGE mode and return MediaPipe's result."""
    mp = _mediapipe()
    rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
    settings = tuple(sorted(options.items()))
    try:
        return get_task(kind, model_name, settings, not frame.still).run(image, frame)
    except _TaskClosed:  # evicted meanwhile: the cache creates it again
        return get_task(kind, model_name, settings, not frame.still).run(image, frame)


def landmark_points(landmarks, width: int, height: int) -> np.ndarray:
    """MediaPipe's normalised landmarks → (K, 2) float32 pixels (one pass, then one multiply)."""
    n = len(landmarks)
    xy = np.fromiter(itertools.chain.from_iterable((p.x, p.y) for p in landmarks), np.float32,
                     2 * n).reshape(n, 2)
    xy *= (width, height)
    return xy


@functools.cache
def connections(group: str, name: str) -> tuple[tuple[int, int], ...]:
    """A MediaPipe connection list (e.g. "FaceLandmarksConnections", "FACE_LANDMARKS_TESSELATION")
    as index pairs, built once: the tesselation alone has thousands."""
    return tuple((c.start, c.end) for c in getattr(getattr(_vision(), group), name))


def _box(points: np.ndarray) -> list[float]:
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    return [float(x1), float(y1), float(x2), float(y2)]


# ----------------------------------------------------------------------------- processors


@dataclass(frozen=True)
class FaceMesh(_ModelFile, ProcessorBase):
    """MediaPipe Face Landmarker: 478 points per face (468 mesh + 10 iris), drawn as a mesh."""

    name: ClassVar[str] = "mediapipe.face_mesh"
    max_faces: int = param(1, min=1, max=10)
    min_detection_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_presence_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_tracking_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    draw: str = param("tesselation", choices=("tesselation", "contours", "points"))
    blendshapes: bool = param(False, help="list the strongest expression scores of face 1")
    model: str = param("face_landmarker.task", kind="path")

    def __call__(self, frame: Frame) -> Result:
        options = {"num_faces": self.max_faces, **self.confidences("face"),
                   "output_face_blendshapes": self.blendshapes}
        found = run_task("face_mesh", self.model, options, frame)
        h, w = frame.image.shape[:2]
        lines = () if self.draw == "points" else connections(
            "FaceLandmarksConnections", f"FACE_LANDMARKS_{self.draw.upper()}")
        style = "mesh" if self.draw == "tesselation" else "plain"
        marks = [Landmarks(landmark_points(face, w, h), "face", connections=lines,
                           draw_points=self.draw == "points", style=style)
                 for face in found.face_landmarks]
        text = [f"face mesh: {len(marks)} face(s) × {len(marks[0].points_xy) if marks else 478} "
                "landmarks"]
        values: dict[str, Any] = {"faces": len(marks)}
        if self.blendshapes:
            values["blendshapes"] = [{c.category_name: round(float(c.score), 4) for c in face}
                                     for face in found.face_blendshapes or ()]
        if self.blendshapes and found.face_blendshapes:
            top = sorted(found.face_blendshapes[0], key=lambda c: -c.score)[:4]
            text.append("expression: " + ", ".join(f"{c.category_name} {c.score:.2f}"
                                                    for c in top))
        return Result(self.name, landmarks=tuple(marks), text=tuple(text), values=values)


# Finger joints: (tip, pip) for index..pinky; the thumb compares tip and IP joint to the pinky MCP.
_FINGERS = ((8, 6), (12, 10), (16, 14), (20, 18))
_THUMB_TIP, _THUMB_IP, _PINKY_MCP, _WRIST = 4, 3, 17, 0


def count_fingers(points: np.ndarray) -> int:
    """Raised fingers of one hand from its 21 landmarks, independent of the hand's rotation:
    a finger is up when its tip is farther from the wrist than its middle joint."""
    wrist = points[_WRIST]
    up = sum(np.linalg.norm(points[tip] - wrist) > np.linalg.norm(points[pip] - wrist)
             for tip, pip in _FINGERS)
    pinky = points[_PINKY_MCP]
    thumb_up = np.linalg.norm(points[_THUMB_TIP] - pinky) > np.linalg.norm(
        points[_THUMB_IP] - pinky) * 1.1
    return int(up + thumb_up)


@dataclass(frozen=True)
class Hands(_ModelFile, ProcessorBase):
    """MediaPipe Hand Landmarker: 21 points per hand, the skeleton, and Left/Right."""

    name: ClassVar[str] = "mediapipe.hands"
    max_hands: int = param(2, min=1, max=4)
    min_detection_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_presence_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_tracking_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    finger_count: bool = param(True, help="show how many fingers each hand holds up")
    model: str = param("hand_landmarker.task", kind="path")

    def __call__(self, frame: Frame) -> Result:
        options = {"num_hands": self.max_hands, **self.confidences("hand")}
        found = run_task("hands", self.model, options, frame)
        h, w = frame.image.shape[:2]
        skeleton = connections("HandLandmarksConnections", "HAND_CONNECTIONS")
        marks, boxes, labels, scores, text, fingers = [], [], [], [], [], []
        for hand, handedness in zip(found.hand_landmarks, found.handedness, strict=True):
            pts = landmark_points(hand, w, h)
            side = handedness[0].category_name if handedness else "hand"
            score = float(handedness[0].score) if handedness else 1.0
            marks.append(Landmarks(pts, side, score, connections=skeleton))
            boxes.append(_box(pts))
            labels.append(f"{side} hand")
            scores.append(score)
            if self.finger_count:
                fingers.append(count_fingers(pts))
                text.append(f"{side} hand ({score:.2f}): {fingers[-1]} finger(s) up")
        dets = Detections.from_lists(boxes, scores, labels)
        values: dict[str, Any] = {"hands": len(marks), "handedness": [m.label for m in marks]}
        if self.finger_count:
            values["fingers_up"] = fingers
        return Result(self.name, detections=dets, landmarks=tuple(marks),
                      text=(f"hands: {len(marks)}", *text), values=values)


@dataclass(frozen=True)
class Pose(_ModelFile, ProcessorBase):
    """MediaPipe Pose Landmarker: 33 body points with visibility, and the skeleton."""

    name: ClassVar[str] = "mediapipe.pose"
    max_poses: int = param(1, min=1, max=5)
    min_detection_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_presence_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_tracking_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    visibility_threshold: float = param(0.5, min=0.0, max=1.0, step=0.05,
                                        help="hide points less visible than this")
    segmentation: bool = param(False, help="tint the person mask")
    model: str = param("pose_landmarker_lite.task", kind="path")

    def __call__(self, frame: Frame) -> Result:
        options = {"num_poses": self.max_poses, **self.confidences("pose"),
                   "output_segmentation_masks": self.segmentation}
        found = run_task("pose", self.model, options, frame)
        h, w = frame.image.shape[:2]
        skeleton = connections("PoseLandmarksConnections", "POSE_LANDMARKS")
        marks = []
        for body in found.pose_landmarks:
            visibility = np.array([p.visibility or 0.0 for p in body], np.float32)
            marks.append(Landmarks(landmark_points(body, w, h), "pose", visibility=visibility,
                                   connections=skeleton, style="skeleton",
                                   min_visibility=self.visibility_threshold))
        masks = ()
        if self.segmentation and found.segmentation_masks:
            # A new array (the comparison) while ``found`` lives: MediaPipe frees the view's memory.
            person = np.asarray(found.segmentation_masks[0].numpy_view()).reshape(h, w) > 0.5
            masks = (Mask(person, PERSON_TINT_BGR, PERSON_TINT_ALPHA),)
        return Result(self.name, landmarks=tuple(marks), masks=masks,
                      text=(f"pose: {len(marks)} body(ies) × 33 landmarks",),
                      values={"poses": len(marks)})


@dataclass(frozen=True)
class FaceDetection(_ModelFile, ProcessorBase):
    """MediaPipe BlazeFace: face boxes with scores and 6 key points (eyes, nose, mouth, ears)."""

    name: ClassVar[str] = "mediapipe.face_detection"
    min_detection_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_suppression_threshold: float = param(0.3, min=0.0, max=1.0, step=0.05,
                                             help="NMS IoU threshold between face boxes")
    model: str = param("blaze_face_short_range.tflite", kind="path")

    def __call__(self, frame: Frame) -> Result:
        options = {"min_detection_confidence": self.min_detection_confidence,
                   "min_suppression_threshold": self.min_suppression_threshold}
        found = run_task("face_detection", self.model, options, frame)
        h, w = frame.image.shape[:2]
        boxes, scores, marks = [], [], []
        for det in found.detections:
            b = det.bounding_box
            boxes.append([b.origin_x, b.origin_y, b.origin_x + b.width, b.origin_y + b.height])
            scores.append(float(det.categories[0].score) if det.categories else 1.0)
            if det.keypoints:
                marks.append(Landmarks(landmark_points(det.keypoints, w, h), "face keypoints"))
        dets = Detections.from_lists(boxes, scores, ["face"] * len(boxes))
        return Result(self.name, detections=dets, landmarks=tuple(marks),
                      text=(f"BlazeFace: {len(boxes)} face(s)",), values={"faces": len(boxes)})
