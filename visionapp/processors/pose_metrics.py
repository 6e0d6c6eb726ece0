"""Reading the body that ``mediapipe.pose`` found: joint angles (``pose.angles``) and exercise
repetitions (``pose.reps``).

Angles are measured in the image plane, in degrees, at the middle point of three landmarks
(elbow: shoulder–elbow–wrist; shoulder: hip–shoulder–elbow; hip: shoulder–hip–knee; knee:
hip–knee–ankle); 180° is a straight limb. "left" and "right" are the person's own sides, as
MediaPipe names its landmarks.

The repetition counter is a two-threshold state machine on one joint angle, like Ultralytics'
AIGym, with three defences AIGym lacks against the jitter of real landmarks:

- **visibility gating**: a frame where any of the joint's three landmarks is less visible than
  ``min_visibility`` is not measured at all (a lost wrist is guessed far away by the model, and
  its angle is nonsense);
- **median smoothing** over the last ``smoothing_frames`` measurements, which removes one-frame
  spikes that jump across both thresholds;
- **holding**: the phase changes only after ``hold_frames`` measurements in a row past the
  threshold, so hovering at a threshold never flips it back and forth.

A repetition counts when the joint returns to extended after being flexed from extended, so a
squat that goes down and never comes back up is not counted, nor is standing up from a start
already down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.streams import PerStream
from visionapp.core.types import Detections, Frame, Landmarks, Result
from visionapp.processors import upstream

# Joint → (first, vertex, last) MediaPipe pose landmark indices; the angle is at the vertex.
JOINTS: dict[str, tuple[int, int, int]] = {
    "left_elbow": (11, 13, 15), "right_elbow": (12, 14, 16),
    "left_shoulder": (23, 11, 13), "right_shoulder": (24, 12, 14),
    "left_hip": (11, 23, 25), "right_hip": (12, 24, 26),
    "left_knee": (23, 25, 27), "right_knee": (24, 26, 28),
}
JOINT_GROUPS = {"all": tuple(JOINTS), "arms": tuple(j for j in JOINTS if "elbow" in j or
                                                    "shoulder" in j),
                "legs": tuple(j for j in JOINTS if "hip" in j or "knee" in j)}


def angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The angle ABC at ``b`` in degrees, 0–180 (NaN when a point coincides with ``b``)."""
    u, v = np.asarray(a, np.float64) - b, np.asarray(c, np.float64) - b
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-9 or nv < 1e-9:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))))


def joint_visibility(body: Landmarks, joint: str) -> float:
    """The least visibility of the joint's three landmarks (1.0 when the body has none)."""
    if body.visibility is None:
        return 1.0
    return float(min(body.visibility[i] for i in JOINTS[joint]))


def joint_angle(body: Landmarks, joint: str, min_visibility: float) -> float | None:
    """The joint's angle in degrees, or None when one of its landmarks is not visible enough."""
    if joint_visibility(body, joint) < min_visibility:
        return None
    a, b, c = (body.points_xy[i] for i in JOINTS[joint])
    value = angle_deg(a, b, c)
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class PoseAngles(ProcessorBase):
    """Joint angles (elbows, shoulders, hips, knees) of the body mediapipe.pose found."""

    name: ClassVar[str] = "pose.angles"
    needs: ClassVar[tuple[str, ...]] = upstream.POSE_SOURCES
    joints: str = param("all", choices=tuple(JOINT_GROUPS))
    min_visibility: float = param(0.5, min=0.0, max=1.0, step=0.05,
                                  help="joints with a less visible landmark are not measured")
    at_joints: bool = param(True, help="label each angle at its joint")

    def __call__(self, frame: Frame) -> Result:
        if not upstream.has_source(frame, self.needs):
            return Result(self.name, text=(upstream.missing_text(self.name, self.needs),),
                          values={"bodies": 0, "angles_deg": {}})
        found = upstream.bodies(frame)
        if not found:
            return Result(self.name, text=("angles: no body",),
                          values={"bodies": 0, "angles_deg": {}})
        body = found[0]
        angles = {j: joint_angle(body, j, self.min_visibility) for j in JOINT_GROUPS[self.joints]}
        boxes, labels = [], []
        h, w = frame.image.shape[:2]
        half = max(3.0, min(h, w) / 120)
        for joint, value in angles.items():
            if value is None or not self.at_joints:
                continue
            x, y = body.points_xy[JOINTS[joint][1]]
            boxes.append([x - half, y - half, x + half, y + half])
            side, part = joint.split("_")
            labels.append(f"{side[0].upper()} {part} {value:.0f}")
        dets = Detections.from_lists(boxes, [1.0] * len(boxes), labels)
        return Result(self.name, detections=dets, text=_angle_lines(angles),
                      values={"bodies": len(found),
                              "angles_deg": {j: None if v is None else round(v, 1)
                                             for j, v in angles.items()}})


def _angle_lines(angles: dict[str, float | None]) -> tuple[str, ...]:
    """The readout: "angles L/R: elbows 170/95, shoulders 20/35" and the legs' line."""
    def pair(part: str) -> str:
        shown = ["-" if angles[f"{s}_{part}"] is None else f"{angles[f'{s}_{part}']:.0f}"
                 for s in ("left", "right")]
        return f"{part}s {'/'.join(shown)}"

    groups = [[pair(p) for p in parts if f"left_{p}" in angles]
              for parts in (("elbow", "shoulder"), ("hip", "knee"))]
    lines = [", ".join(g) for g in groups if g]
    return (f"angles L/R: {lines[0]}", *lines[1:])


# ----------------------------------------------------------------------------- repetitions


@dataclass(frozen=True)
class Exercise:
    joint: str  # elbow, shoulder, hip or knee
    flexed_deg: float  # the joint counts as flexed below this angle
    extended_deg: float  # ... and as extended above this one
    flexed_phase: str  # what the flexed position is called for this exercise (down / up)
    extended_phase: str


EXERCISES: dict[str, Exercise] = {
    "squat": Exercise("knee", 100.0, 160.0, "down", "up"),
    "biceps_curl": Exercise("elbow", 60.0, 140.0, "up", "down"),
    "push_up": Exercise("elbow", 100.0, 150.0, "down", "up"),
}


class RepCounter:
    """Counts flexed → extended cycles of one angle, with median smoothing and holding (see the
    module docstring). ``update(None)`` is a frame without a measurement."""

    def __init__(self, flexed_deg: float, extended_deg: float, smoothing_frames: int = 5,
                 hold_frames: int = 2):
        self.flexed_deg, self.extended_deg = flexed_deg, extended_deg
        self.hold_frames = hold_frames
        self.window: deque[float] = deque(maxlen=smoothing_frames)
        self.count = 0
        self.phase: str | None = None  # "flexed", "extended" or None before the first
        self.angle: float | None = None  # the smoothed angle
        self._pending: str | None = None
        self._streak = 0
        self._missing = 0
        self._went_down = False  # flexed after being extended: half a repetition

    def update(self, angle: float | None) -> None:
        if angle is None:
            self._missing += 1
            if self._missing >= max(1, self.window.maxlen or 1):
                self.window.clear()  # after a long gap, old measurements are stale
                self.angle = None
            return
        self._missing = 0
        self.window.append(angle)
        self.angle = float(np.median(self.window))
        if self.angle < self.flexed_deg:
            seen = "flexed"
        elif self.angle > self.extended_deg:
            seen = "extended"
        else:
            self._pending, self._streak = None, 0  # between the thresholds: nothing changes
            return
        if seen == self.phase:
            self._pending, self._streak = None, 0
            return
        self._streak = self._streak + 1 if seen == self._pending else 1
        self._pending = seen
        if self._streak >= self.hold_frames:
            if seen == "extended" and self._went_down:
                self.count += 1  # extended → flexed → extended: one whole repetition
            self._went_down = seen == "flexed" and self.phase == "extended"
            self.phase, self._pending, self._streak = seen, None, 0


@dataclass(frozen=True)
class PoseReps(ProcessorBase):
    """Counts exercise repetitions from a joint angle of the body mediapipe.pose found."""

    name: ClassVar[str] = "pose.reps"
    needs: ClassVar[tuple[str, ...]] = upstream.POSE_SOURCES
    exercise: str = param("squat", choices=(*EXERCISES, "custom"),
                          help="squat: knee; biceps_curl and push_up: elbow; custom: below")
    side: str = param("auto", choices=("auto", "left", "right"),
                      help="auto: the mean of the sides that are visible")
    joint: str = param("elbow", choices=("elbow", "shoulder", "hip", "knee"),
                       help="custom exercise only")
    flexed_deg: float = param(90.0, min=0.0, max=180.0, step=5.0,
                              help="custom only: flexed below this angle")
    extended_deg: float = param(160.0, min=0.0, max=180.0, step=5.0,
                                help="custom only: extended above this angle")
    min_visibility: float = param(0.6, min=0.0, max=1.0, step=0.05,
                                  help="frames where the joint is less visible are skipped")
    smoothing_frames: int = param(5, min=1, max=31, help="median of this many angles (1: off)")
    hold_frames: int = param(2, min=1, max=30,
                             help="frames past a threshold before the phase changes")
    _counter: PerStream[RepCounter] = field(default_factory=PerStream, init=False, repr=False,
                                            compare=False)

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("flexed_deg", "extended_deg"), lambda p: p.flexed_deg < p.extended_deg,
             "{flexed_deg} must be below {extended_deg}: the gap between them is the "
             "hysteresis"),
    )

    def settings(self) -> Exercise:
        if self.exercise == "custom":
            return Exercise(self.joint, self.flexed_deg, self.extended_deg, "flexed",
                            "extended")
        return EXERCISES[self.exercise]

    def measure(self, body: Landmarks, joint: str) -> tuple[float | None, str | None]:
        """(angle, side used) for ``joint`` under the side setting; (None, None) if not
        visible enough."""
        sides = ("left", "right") if self.side == "auto" else (self.side,)
        found = {s: joint_angle(body, f"{s}_{joint}", self.min_visibility) for s in sides}
        found = {s: v for s, v in found.items() if v is not None}
        if not found:
            return None, None
        used = "both" if len(found) == 2 else next(iter(found))
        return float(np.mean(list(found.values()))), used

    def __call__(self, frame: Frame) -> Result:
        ex = self.settings()
        if not upstream.has_source(frame, self.needs):
            return Result(self.name, text=(upstream.missing_text(self.name, self.needs),),
                          values=self._values(ex, None, None, None))
        found = upstream.bodies(frame)
        raw, used = self.measure(found[0], ex.joint) if found else (None, None)
        def start() -> RepCounter:
            return RepCounter(ex.flexed_deg, ex.extended_deg, self.smoothing_frames,
                              self.hold_frames)

        with self._counter.state(frame, start) as counter:
            counter.update(raw)
            count, phase, angle = counter.count, counter.phase, counter.angle
        values = self._values(ex, count, phase, angle, used)
        shown = values["phase"] or "-"
        line = f"{self.exercise.replace('_', ' ')}: {count} rep(s), {shown}"
        if angle is not None:
            line += f" ({ex.joint} {angle:.0f} deg)"
        elif found:
            line += f" ({ex.joint} not visible)"
        else:
            line += " (no body)"
        marks: tuple[Landmarks, ...] = ()
        if found and used is not None:
            sides = ("left", "right") if used == "both" else (used,)
            points = [found[0].points_xy[i] for s in sides for i in JOINTS[f"{s}_{ex.joint}"]]
            pairs = tuple(p for k in range(len(sides)) for p in ((3 * k, 3 * k + 1),
                                                                  (3 * k + 1, 3 * k + 2)))
            marks = (Landmarks(np.array(points, np.float32), f"reps {phase}",
                               connections=pairs),)
        return Result(self.name, landmarks=marks, text=(line,), values=values)

    def _values(self, ex: Exercise, count, phase, angle, used=None) -> dict[str, Any]:
        named = {"flexed": ex.flexed_phase, "extended": ex.extended_phase}.get(phase or "")
        return {"exercise": self.exercise, "joint": ex.joint, "count": count or 0,
                "phase": named, "angle_deg": None if angle is None else round(angle, 1),
                "side": used}
