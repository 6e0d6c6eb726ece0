"""Finding what earlier processors of the chain found, in ``frame.context``: body landmarks (33
points, from ``mediapipe.pose`` or ``mediapipe.holistic``) and hands (21 points, from
``mediapipe.hands`` or ``mediapipe.holistic``)."""

from __future__ import annotations

from visionapp.core.types import Frame, Landmarks

POSE_SOURCES = ("mediapipe.pose", "mediapipe.holistic")
HAND_SOURCES = ("mediapipe.hands", "mediapipe.holistic")
POSE_POINTS = 33
HAND_POINTS = 21


def has_source(frame: Frame, sources: tuple[str, ...]) -> bool:
    """Whether one of ``sources`` ran before this processor on this frame."""
    return any(r.processor in sources for r in frame.context)


def bodies(frame: Frame) -> list[Landmarks]:
    """Every body found earlier in the chain (33 points with visibility), in order."""
    return [m for r in frame.context if r.processor in POSE_SOURCES for m in r.landmarks
            if m.label == "pose" and len(m.points_xy) == POSE_POINTS]


def hands(frame: Frame) -> list[Landmarks]:
    """Every hand found earlier in the chain (21 points; label "Left" or "Right")."""
    return [m for r in frame.context if r.processor in HAND_SOURCES for m in r.landmarks
            if m.label in ("Left", "Right", "hand") and len(m.points_xy) == HAND_POINTS]


def missing_text(name: str, sources: tuple[str, ...]) -> str:
    """The on-screen line when the processor this one reads is not in the chain."""
    return f"{name}: add {sources[0]} (or {', '.join(sources[1:])}) before this processor"
