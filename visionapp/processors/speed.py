"""``speed``: how fast each tracked object moves — pixels per second from its anchor point's
path over the last ``window_s`` seconds of timestamps, or metres per second after a two-point
calibration: two points on the ground (``calibration``, clicked on the view) and the real
distance between them (``calibration_m``).

A flat scale is only right on the plane and near the calibration's depth; it suits a camera
looking down on a road, not one looking along it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Frame, Landmarks, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import geometry as geo
from visionapp.processors.tracked import NO_TRACKER_NOTE, StreamStates, upstream_boxes

SHOWN = 5  # tracks listed in the readout


@dataclass
class _Paths:
    tracks: dict[tuple[str, int], deque] = field(default_factory=dict)  # (ms, x, y)
    last_seen_ms: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Speed(ProcessorBase):
    """Per-track speed in px/s, or m/s and km/h with a calibration."""

    name: ClassVar[str] = "speed"
    restart_label: ClassVar[str] = "Forget the tracks"  # the panel's button: a fresh instance
    window_s: float = param(0.5, min=0.05, max=10.0, step=0.05,
                            help="the stretch of path the speed is measured over")
    anchor: str = param("bottom_center", choices=geo.ANCHORS)
    calibration: str = param("", kind="text", help="two points x1,y1 x2,y2 a known distance "
                                                   "apart on the ground; click to set")
    calibration_m: float = param(0.0, min=0.0, max=10000.0, step=0.1,
                                 help="metres between the calibration points; 0: px/s only")
    classes: str = param("", kind="text", help="only these labels, comma-separated; empty: all")
    click: str = param("off", choices=("calibrate", "off"),
                       help="calibrate: a click moves the nearest calibration point")
    _paths: StreamStates[_Paths] = field(default_factory=StreamStates, init=False, repr=False,
                                         compare=False)

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("calibration",), lambda p: geo.line_problem(p.calibration) is None,
             "{calibration} is not two different points; give x1,y1 x2,y2 in pixels"),
        Rule(("calibration", "calibration_m"),
             lambda p: p.calibration_m == 0 or bool(p.calibration.strip()),
             "{calibration_m} needs the two points it measures: set {calibration}"),
    )

    def metres_per_px(self) -> float | None:
        if self.calibration_m <= 0 or not self.calibration.strip():
            return None
        a, b = geo.parse_points(self.calibration)
        return self.calibration_m / float(np.hypot(*(b - a)))

    def __call__(self, frame: Frame) -> Result:
        scale = self.metres_per_px()
        landmarks: tuple[Landmarks, ...] = ()
        if self.calibration.strip():
            ends = geo.parse_points(self.calibration)
            geo.check_inside_frame(self.name, "calibration", ends, frame.resolution_wh)
            landmarks = (Landmarks(ends.astype(np.float32), "speed calibration",
                                   connections=((0, 1),)),)
        boxes = upstream_boxes(frame, self.classes)
        anchors = geo.anchor_points(boxes.xyxy, self.anchor)
        now = frame.timestamp_ms
        speeds: list[dict[str, Any]] = []
        with self._paths.state(frame, _Paths) as paths:
            for i in np.flatnonzero(boxes.tracked):
                key = boxes.key(int(i))
                path = paths.tracks.setdefault(key, deque())
                path.append((now, float(anchors[i, 0]), float(anchors[i, 1])))
                paths.last_seen_ms[key] = now
                while len(path) > 2 and now - path[1][0] >= self.window_s * 1000:
                    path.popleft()  # keep one sample at or beyond the window's start
                (t0, x0, y0), (t1, x1, y1) = path[0], path[-1]
                if t1 <= t0:
                    continue
                px_per_s = float(np.hypot(x1 - x0, y1 - y0)) / ((t1 - t0) / 1000)
                item = {"track_id": key[1], "label": boxes.labels[i],
                        "px_per_s": round(px_per_s, 2)}
                if scale is not None:
                    item["m_per_s"] = round(px_per_s * scale, 3)
                    item["km_per_h"] = round(px_per_s * scale * 3.6, 2)
                speeds.append(item)
            for key in [k for k, t in paths.last_seen_ms.items()
                        if now - t > 2000 * self.window_s + 1000]:
                del paths.last_seen_ms[key], paths.tracks[key]
        unit = "km/h" if scale is not None else "px/s"
        field_name = "km_per_h" if scale is not None else "px_per_s"
        fastest = sorted(speeds, key=lambda s: -s[field_name])[:SHOWN]
        text = ["speed: " + (", ".join(f"#{s['track_id']} {s['label']} {s[field_name]:.1f} "
                                       f"{unit}" for s in fastest) or "no tracked object")]
        values: dict[str, Any] = {"unit": unit, "speeds": speeds}
        untracked = int((~boxes.tracked).sum())
        if untracked:
            values["note"] = NO_TRACKER_NOTE
            text.append(f"speed: {untracked} untracked box(es); {NO_TRACKER_NOTE}")
        return Result(self.name, landmarks=landmarks, text=tuple(text), values=values)

    def view_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """With click = calibrate: the first click puts a 100 px calibration segment there; later
        clicks move its nearer end."""
        if self.click != "calibrate":
            return None
        if not self.calibration.strip():
            ends = np.array([xy, (xy[0] + 100, xy[1])], np.float64)
        else:
            ends = geo.parse_points(self.calibration)
            k = int(np.argmin(np.hypot(ends[:, 0] - xy[0], ends[:, 1] - xy[1])))
            ends[k] = xy
        text = geo.format_points(ends)
        if geo.line_problem(text) is not None:
            return ViewEdit({}, "speed: both calibration points on one pixel; click elsewhere")
        length = float(np.hypot(*(ends[1] - ends[0])))
        return ViewEdit({"calibration": text}, f"speed: calibration {text} ({length:.0f} px); "
                                               "set calibration_m to its length in metres")
