"""``hands.gestures``: named static hand gestures from the 21 landmarks ``mediapipe.hands`` finds —
open palm, fist, thumbs up, thumbs down, victory, pointing up, OK and pinch — plus the thumb–index
distance and a pinch "cursor" point.

This is geometry on landmarks, not a learned model (MediaPipe's Gesture Recognizer model is not
available offline). Every measure is relative to the palm's size (wrist to middle-finger knuckle),
so it holds at any distance from the camera:

- a finger is *extended* when its tip is well beyond its middle joint as seen from the wrist
  (``reach`` > 1.15) and its two upper joints are nearly straight (> 150° and > 140°), and
  *curled* when its tip is back nearer the wrist than its middle joint (``reach`` < 0.95);
- the thumb is extended when both of its upper joints are straight (> 150°) and its tip is away
  from the index knuckle (> 0.55 palms);
- "up" is up in the image (within 45°), for pointing up and the thumbs.

Gestures are tested in this order; the first that fits names the hand: OK (thumb and index tips
touching — within 0.25 palms — and the other three fingers extended), pinch (thumb and index tips
within ``pinch_ratio`` palms, index not curled), thumbs up/down (thumb extended, the four fingers
curled or bent), pointing up (index alone extended), victory (index and middle alone extended),
open palm (all five extended), fist (the four fingers curled, thumb not extended), else "none".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Detections, Frame, Landmarks, Result
from visionapp.processors import upstream
from visionapp.processors.pose_metrics import angle_deg

GESTURES = ("ok", "pinch", "thumbs_up", "thumbs_down", "pointing_up", "victory", "open_palm",
            "fist", "none")
WRIST, THUMB_TIP, INDEX_MCP, INDEX_TIP, MIDDLE_MCP = 0, 4, 5, 8, 9
FINGERS = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
           "pinky": (17, 18, 19, 20)}
THUMB = (1, 2, 3, 4)
EXTENDED_REACH, CURLED_REACH = 1.15, 0.95
OK_TOUCH_RATIO = 0.25  # thumb and index tips touching (a pinch may leave a gap)
UP_TOLERANCE_DEG = 45.0


@dataclass(frozen=True, slots=True)
class HandShape:
    """What the geometry says about one hand (distances in palm sizes)."""

    fingers: dict[str, str]  # index/middle/ring/pinky → "extended", "curled" or "bent"
    thumb_extended: bool
    thumb_up_deg: float  # angle between the thumb (knuckle → tip) and straight up
    index_up_deg: float  # the same for the index finger
    pinch_ratio: float  # thumb tip to index tip / palm size
    palm_px: float


def _from_up_deg(vector: np.ndarray) -> float:
    """Angle between an image vector and straight up (0° up, 180° down)."""
    return angle_deg(np.array([0.0, -1.0]), np.zeros(2), vector)


def finger_state(points: np.ndarray, chain: tuple[int, int, int, int]) -> str:
    mcp, pip, dip, tip = (points[i] for i in chain)
    wrist = points[WRIST]
    reach = np.linalg.norm(tip - wrist) / max(np.linalg.norm(pip - wrist), 1e-6)
    straight = angle_deg(mcp, pip, dip) > 150 and angle_deg(pip, dip, tip) > 140
    if reach > EXTENDED_REACH and straight:
        return "extended"
    return "curled" if reach < CURLED_REACH else "bent"


def hand_shape(points: np.ndarray) -> HandShape:
    """Measure one hand's 21 landmarks (pixels)."""
    points = np.asarray(points, np.float64)
    palm = max(float(np.linalg.norm(points[MIDDLE_MCP] - points[WRIST])), 1e-6)
    cmc, mcp, ip, tip = (points[i] for i in THUMB)
    thumb_extended = bool(angle_deg(cmc, mcp, ip) > 150 and angle_deg(mcp, ip, tip) > 150
                          and np.linalg.norm(tip - points[INDEX_MCP]) / palm > 0.55)
    return HandShape(
        fingers={name: finger_state(points, chain) for name, chain in FINGERS.items()},
        thumb_extended=thumb_extended,
        thumb_up_deg=_from_up_deg(tip - mcp),
        index_up_deg=_from_up_deg(points[INDEX_TIP] - points[INDEX_MCP]),
        pinch_ratio=float(np.linalg.norm(points[THUMB_TIP] - points[INDEX_TIP]) / palm),
        palm_px=palm)


def classify(points: np.ndarray, pinch_ratio: float = 0.45) -> str:
    """The gesture one hand's 21 landmarks (pixels) show, one of :data:`GESTURES`."""
    shape = hand_shape(points)
    f = shape.fingers
    others = (f["middle"], f["ring"], f["pinky"])
    if shape.pinch_ratio < OK_TOUCH_RATIO and all(s == "extended" for s in others):
        return "ok"
    if shape.pinch_ratio < pinch_ratio and f["index"] != "curled":
        return "pinch"
    if shape.thumb_extended and all(s != "extended" for s in f.values()):
        if shape.thumb_up_deg < UP_TOLERANCE_DEG:
            return "thumbs_up"
        if shape.thumb_up_deg > 180 - UP_TOLERANCE_DEG:
            return "thumbs_down"
    if f["index"] == "extended" and all(s != "extended" for s in others):
        return "pointing_up" if shape.index_up_deg < UP_TOLERANCE_DEG else "none"
    if (f["index"] == f["middle"] == "extended"
            and f["ring"] != "extended" and f["pinky"] != "extended"):
        return "victory"
    if all(s == "extended" for s in f.values()) and shape.thumb_extended:
        return "open_palm"
    if all(s == "curled" for s in f.values()) and not shape.thumb_extended:
        return "fist"
    return "none"


@dataclass(frozen=True)
class HandGestures(ProcessorBase):
    """Named hand gestures (geometry on mediapipe.hands' landmarks) and a pinch cursor."""

    name: ClassVar[str] = "hands.gestures"
    needs: ClassVar[tuple[str, ...]] = upstream.HAND_SOURCES
    pinch_ratio: float = param(0.45, min=0.05, max=1.5, step=0.05,
                               help="pinching below this thumb-index distance, in palm sizes")

    def __call__(self, frame: Frame) -> Result:
        if not upstream.has_source(frame, self.needs):
            return Result(self.name, text=(upstream.missing_text(self.name, self.needs),),
                          values={"hands": []})
        found = upstream.hands(frame)
        boxes, labels, scores, marks, per_hand, text = [], [], [], [], [], []
        for hand in found:
            pts = hand.points_xy
            gesture = classify(pts, self.pinch_ratio)
            shape = hand_shape(pts)
            thumb, index = pts[THUMB_TIP], pts[INDEX_TIP]
            pinching = gesture == "pinch"
            cursor = (thumb + index) / 2
            per_hand.append({
                "handedness": hand.label, "gesture": gesture,
                "pinch_distance_px": round(float(np.linalg.norm(thumb - index)), 1),
                "pinch_ratio": round(shape.pinch_ratio, 3),
                "cursor_xy": [round(float(v), 1) for v in cursor] if pinching else None})
            x1, y1 = pts.min(axis=0)
            x2, y2 = pts.max(axis=0)
            boxes.append([x1, y1, x2, y2])
            labels.append(f"{hand.label}: {gesture.replace('_', ' ')}")
            scores.append(hand.score)
            text.append(f"{hand.label} hand: {gesture.replace('_', ' ')}"
                        + (f" (thumb-index {shape.pinch_ratio:.2f} palm)" if pinching else ""))
            if pinching:
                marks.append(Landmarks(np.array([thumb, index, cursor], np.float32),
                                       "pinch cursor", connections=((0, 1),)))
        values: dict[str, Any] = {"hands": per_hand}
        return Result(self.name, detections=Detections.from_lists(boxes, scores, labels),
                      landmarks=tuple(marks), text=tuple(text) or ("gestures: no hand",),
                      values=values)
