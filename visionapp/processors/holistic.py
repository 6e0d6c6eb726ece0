"""``mediapipe.holistic``: face mesh, both hands and the body in one processor, as the course's
holistic solution — one pass of each model per frame, one result with every landmark.

MediaPipe's HolisticLandmarker model is used when its file (``holistic_landmarker.task``) is
found; it is not published for offline use, so otherwise the Face, Hand and Pose Landmarker models
run side by side (the very processors ``mediapipe.face_mesh``, ``mediapipe.hands`` and
``mediapipe.pose``) and the hands are then tied to the body: each hand whose own wrist lies
within ``max_wrist_distance`` shoulder widths of one of the body's wrists becomes that side's hand
("Left" / "Right": the person's own sides, as the pose model names them), the closest pairs
first. A hand near neither wrist (someone else's, or a body not found) is labelled "hand".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from visionapp.core import weights
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Detections, Frame, Landmarks, Result
from visionapp.processors import mediapipe_tasks as mpt

HOLISTIC_MODEL = "holistic_landmarker.task"
LEFT_WRIST, RIGHT_WRIST, LEFT_SHOULDER, RIGHT_SHOULDER = 15, 16, 11, 12
MIN_WRIST_VISIBILITY = 0.2


def associate(hands: list[Landmarks], body: Landmarks | None,
              max_distance: float) -> list[str]:
    """For each hand: "Left", "Right" (the body side whose wrist it belongs to) or "hand".

    Distances are hand wrist (landmark 0) to body wrist, in shoulder widths; the closest pair is
    tied first, then the next pair whose hand and side are both still free."""
    sides = ["hand"] * len(hands)
    if body is None or not hands:
        return sides
    pts = body.points_xy
    shoulder = float(np.linalg.norm(pts[LEFT_SHOULDER] - pts[RIGHT_SHOULDER]))
    if shoulder < 1e-3:
        return sides
    vis = body.visibility if body.visibility is not None else np.ones(len(pts), np.float32)
    pairs = []
    for i, hand in enumerate(hands):
        for side, index in (("Left", LEFT_WRIST), ("Right", RIGHT_WRIST)):
            if vis[index] < MIN_WRIST_VISIBILITY:
                continue
            distance = float(np.linalg.norm(hand.points_xy[0] - pts[index])) / shoulder
            if distance <= max_distance:
                pairs.append((distance, i, side))
    for _, i, side in sorted(pairs):
        if sides[i] == "hand" and side not in sides:
            sides[i] = side
    return sides


def from_holistic_result(found: Any, width: int, height: int) -> tuple[
        Landmarks | None, Landmarks | None, list[Landmarks]]:
    """(face, body, hands) from a HolisticLandmarker result (one person)."""
    face = body = None
    if found.face_landmarks:
        face = Landmarks(mpt.landmark_points(found.face_landmarks, width, height), "face",
                         connections=mpt.connections("FaceLandmarksConnections",
                                                     "FACE_LANDMARKS_CONTOURS"),
                         draw_points=False)
    if found.pose_landmarks:
        visibility = np.array([p.visibility or 0.0 for p in found.pose_landmarks], np.float32)
        body = Landmarks(mpt.landmark_points(found.pose_landmarks, width, height), "pose",
                         visibility=visibility,
                         connections=mpt.connections("PoseLandmarksConnections",
                                                     "POSE_LANDMARKS"), style="skeleton")
    hands = []
    skeleton = mpt.connections("HandLandmarksConnections", "HAND_CONNECTIONS")
    for side, marks in (("Left", found.left_hand_landmarks),
                        ("Right", found.right_hand_landmarks)):
        if marks:
            hands.append(Landmarks(mpt.landmark_points(marks, width, height), side,
                                   connections=skeleton))
    return face, body, hands


@dataclass(frozen=True)
class Holistic(ProcessorBase):
    """Face mesh, both hands and the body in one pass, hands tied to the body's wrists."""

    name: ClassVar[str] = "mediapipe.holistic"
    face: bool = param(True, help="the face mesh (478 points)")
    hands: bool = param(True, help="both hands (21 points each)")
    face_draw: str = param("contours", choices=("contours", "tesselation", "points"))
    min_detection_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    min_tracking_confidence: float = param(0.5, min=0.0, max=1.0, step=0.05)
    max_wrist_distance: float = param(0.8, min=0.05, max=5.0, step=0.05,
                                      help="a hand is the body's when its wrist is this near "
                                           "(shoulder widths)")
    face_model: str = param("face_landmarker.task", kind="path")
    hand_model: str = param("hand_landmarker.task", kind="path")
    pose_model: str = param("pose_landmarker_lite.task", kind="path")

    def holistic_model(self) -> str | None:
        """The HolisticLandmarker file when one is on disk (never downloaded)."""
        found = MODELS.resolve("found", HOLISTIC_MODEL, weights.find_local)
        return str(found) if found is not None else None

    def prepare(self) -> None:
        if self.holistic_model() is not None:
            mpt.check_model_file(HOLISTIC_MODEL)
            return
        for wanted, model in ((True, self.pose_model), (self.face, self.face_model),
                              (self.hands, self.hand_model)):
            if wanted:
                mpt.check_model_file(model)

    def _composed(self, frame: Frame) -> tuple[Landmarks | None, Landmarks | None,
                                                list[Landmarks]]:
        conf = {"min_detection_confidence": self.min_detection_confidence,
                "min_tracking_confidence": self.min_tracking_confidence}
        pose = mpt.Pose(model=self.pose_model, **conf)(frame)
        body = pose.landmarks[0] if pose.landmarks else None
        face = None
        if self.face:
            mesh = mpt.FaceMesh(model=self.face_model, draw=self.face_draw, **conf)(frame)
            face = mesh.landmarks[0] if mesh.landmarks else None
        hands: list[Landmarks] = []
        if self.hands:
            hands = list(mpt.Hands(model=self.hand_model, max_hands=2, finger_count=False,
                                   **conf)(frame).landmarks)
        return face, body, hands

    def _holistic(self, frame: Frame, path: str) -> tuple[Landmarks | None,
                                                          Landmarks | None, list[Landmarks]]:
        options = {"min_face_detection_confidence": self.min_detection_confidence,
                   "min_pose_detection_confidence": self.min_detection_confidence,
                   "min_pose_landmarks_confidence": self.min_tracking_confidence,
                   "min_hand_landmarks_confidence": self.min_tracking_confidence}
        found = mpt.run_task("holistic", path, options, frame)
        h, w = frame.image.shape[:2]
        face, body, hands = from_holistic_result(found, w, h)
        return (face if self.face else None), body, (hands if self.hands else [])

    def __call__(self, frame: Frame) -> Result:
        path = self.holistic_model()
        if path is not None:
            face, body, hands = self._holistic(frame, path)
            sides = [h.label for h in hands]
        else:
            face, body, hands = self._composed(frame)
            sides = associate(hands, body, self.max_wrist_distance)
        tied = [Landmarks(h.points_xy, side, h.score, connections=h.connections)
                for h, side in zip(hands, sides, strict=True)]
        marks = [m for m in (body, face) if m is not None] + tied
        boxes = [[*h.points_xy.min(axis=0), *h.points_xy.max(axis=0)] for h in tied]
        labels = [f"{s.lower()} hand" if s != "hand" else "hand" for s in sides]
        values: dict[str, Any] = {
            "model": "holistic_landmarker" if path else "face+hands+pose",
            "points": {"face": 0 if face is None else len(face.points_xy),
                       "pose": 0 if body is None else len(body.points_xy),
                       "left_hand": 21 if "Left" in sides else 0,
                       "right_hand": 21 if "Right" in sides else 0},
            "other_hands": sides.count("hand")}
        found = [name for name, n in values["points"].items() if n]
        text = ("holistic: " + (", ".join(f"{k.replace('_', ' ')} {values['points'][k]}"
                                          for k in found) or "nobody"),)
        if values["other_hands"]:
            text += (f"{values['other_hands']} hand(s) not at the body's wrists",)
        return Result(self.name, detections=Detections.from_lists(boxes, [1.0] * len(boxes),
                                                                  labels),
                      landmarks=tuple(marks), text=text, values=values)
