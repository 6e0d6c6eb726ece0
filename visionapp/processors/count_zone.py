"""``count.zone``: objects inside polygons — how many now (per class), how many entered, and how
long each stays (dwell time in seconds, from the frames' timestamps, not from frame counts).

A track is inside a zone once its anchor is ``margin_px`` inside the edge and leaves once it is
``margin_px`` outside, so a point jittering on the edge does not enter twice. A track first seen
inside a zone counts as an entry (it was not in the zone before). A track unseen for
``lost_s`` has left: its visit ends at the last time it was seen. Concave zones work; zones may
overlap (an object in two zones is in both).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Frame, Landmarks, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import geometry as geo
from visionapp.processors.tracked import NO_TRACKER_NOTE, StreamStates, upstream_boxes

CLICKS = ("move corner", "add corner", "new zone", "delete corner", "off")


@dataclass
class _Visit:
    entered_ms: int
    label: str


@dataclass
class _ZoneState:
    visits: list[dict[tuple[str, int], _Visit]]  # per zone: the tracks inside now
    last_seen_ms: dict[tuple[str, int], int] = field(default_factory=dict)
    entries: list[Counter] = field(default_factory=list)
    dwell_done_s: list[list[float]] = field(default_factory=list)  # finished visits per zone

    @classmethod
    def start(cls, zones: int) -> _ZoneState:
        return cls([{} for _ in range(zones)], {}, [Counter() for _ in range(zones)],
                   [[] for _ in range(zones)])


def default_zone(resolution_wh: tuple[int, int]) -> np.ndarray:
    """The middle half of the frame."""
    w, h = resolution_wh
    x1, y1, x2, y2 = w / 4, h / 4, 3 * w / 4, 3 * h / 4
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])


@dataclass(frozen=True)
class CountZone(ProcessorBase):
    """Counts tracked boxes inside polygons, their entries and their dwell time."""

    name: ClassVar[str] = "count.zone"
    restart_label: ClassVar[str] = "Reset counts"  # the panel's button: a fresh instance
    writes_events: ClassVar[bool] = True  # batch runs write an events table beside --csv
    zones: str = param("", kind="text", help="x,y x,y x,y per zone (source pixels), zones "
                                             "separated by ';'; empty: the middle of the frame")
    anchor: str = param("bottom_center", choices=geo.ANCHORS,
                        help="the point of each box that must be inside")
    margin_px: float = param(4.0, min=0.0, max=200.0, step=1.0,
                             help="how far inside/outside the edge a point must be to "
                                  "enter/leave")
    classes: str = param("", kind="text", help="only these labels, comma-separated; empty: all")
    lost_s: float = param(1.0, min=0.0, max=600.0, step=0.1,
                          help="a track unseen this long has left its zones")
    click: str = param("move corner", choices=CLICKS, help="what a click on the view does")
    _states: StreamStates[_ZoneState] = field(default_factory=StreamStates, init=False,
                                              repr=False, compare=False)

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("zones",), lambda p: geo.zones_problem(p.zones) is None,
             "{zones} is not a list of simple polygons (3+ corners in order around each, "
             "zones separated by ';')"),
    )

    def polygons(self, resolution_wh: tuple[int, int]) -> list[np.ndarray]:
        return geo.parse_polygons(self.zones) or [default_zone(resolution_wh)]

    def __call__(self, frame: Frame) -> Result:
        polygons = self.polygons(frame.resolution_wh)
        for polygon in polygons:
            geo.check_inside_frame(self.name, "zones", polygon, frame.resolution_wh)
        contours = [p.astype(np.float32).reshape(-1, 1, 2) for p in polygons]
        boxes = upstream_boxes(frame, self.classes)
        anchors = geo.anchor_points(boxes.xyxy, self.anchor)
        depth = np.array([[cv2.pointPolygonTest(c, (float(x), float(y)), True) for c in contours]
                          for x, y in anchors]).reshape(len(anchors), len(contours))
        now = frame.timestamp_ms
        events: list[dict[str, Any]] = []
        tracked = np.flatnonzero(boxes.tracked)
        with self._states.state(frame, lambda: _ZoneState.start(len(polygons))) as state:
            seen = set()
            for i in tracked:
                key = boxes.key(int(i))
                seen.add(key)
                state.last_seen_ms[key] = now
                for z in range(len(polygons)):
                    event = self._update(state, z, key, boxes.labels[i], float(depth[i, z]), now)
                    if event is not None:
                        events.append(event)
            lost_ms = self.lost_s * 1000
            for key in [k for k, t in state.last_seen_ms.items() if now - t > lost_ms]:
                for z in range(len(polygons)):
                    if key in state.visits[z]:
                        events.append(self._leave(state, z, key, state.last_seen_ms[key]))
                del state.last_seen_ms[key]
            zones = [self._zone_values(state, z, now, seen) for z in range(len(polygons))]
        untracked = np.flatnonzero(~boxes.tracked)
        for z, zone in enumerate(zones):
            if len(untracked):
                zone["untracked_inside"] = int((depth[untracked, z] >= 0).sum())
        values: dict[str, Any] = {"zones": zones, "events": events}
        text = [f"zone {z + 1}: {zone['inside']} inside{_by_class(zone['inside_by_class'])}, "
                f"{zone['entries']} entered" + (f", mean dwell {zone['mean_dwell_s']:.1f} s"
                                                if zone["mean_dwell_s"] is not None else "")
                for z, zone in enumerate(zones)]
        if len(untracked):
            values["note"] = NO_TRACKER_NOTE
            text.append(f"zones: {len(untracked)} untracked box(es) counted per frame only; "
                        f"{NO_TRACKER_NOTE}")
        closed = tuple(Landmarks(p.astype(np.float32), f"zone {z + 1}", draw_points=True,
                                 connections=tuple((k, (k + 1) % len(p)) for k in range(len(p))))
                       for z, p in enumerate(polygons))
        return Result(self.name, landmarks=closed, text=tuple(text), values=values)

    def _update(self, state: _ZoneState, z: int, key: tuple[str, int], label: str,
                depth_px: float, now: int) -> dict[str, Any] | None:
        inside = key in state.visits[z]
        if not inside and depth_px >= self.margin_px and depth_px > 0:
            state.visits[z][key] = _Visit(now, label)
            state.entries[z][label] += 1
            return {"zone": z + 1, "track_id": key[1], "label": label, "event": "enter",
                    "timestamp_ms": now}
        if inside and depth_px <= -self.margin_px and depth_px < 0:
            return self._leave(state, z, key, now)
        return None

    @staticmethod
    def _leave(state: _ZoneState, z: int, key: tuple[str, int], when_ms: int) -> dict[str, Any]:
        visit = state.visits[z].pop(key)
        dwell = (when_ms - visit.entered_ms) / 1000
        state.dwell_done_s[z].append(dwell)
        return {"zone": z + 1, "track_id": key[1], "label": visit.label, "event": "exit",
                "timestamp_ms": when_ms, "dwell_s": round(dwell, 3)}

    @staticmethod
    def _zone_values(state: _ZoneState, z: int, now: int, seen: set) -> dict[str, Any]:
        here = {k: v for k, v in state.visits[z].items() if k in seen}
        done = state.dwell_done_s[z]
        return {
            "inside": len(here),
            "inside_by_class": dict(sorted(Counter(v.label for v in here.values()).items())),
            "entries": sum(state.entries[z].values()),
            "entries_by_class": dict(sorted(state.entries[z].items())),
            "dwell_s": {str(k[1]): round((now - v.entered_ms) / 1000, 3)
                        for k, v in here.items()},
            "mean_dwell_s": round(sum(done) / len(done), 3) if done else None,
        }

    def summary(self) -> list[str]:
        state = self._states.latest()
        if state is None:
            return []
        out = []
        for z, entries in enumerate(state.entries):
            done = state.dwell_done_s[z]
            dwell = f", mean dwell {sum(done) / len(done):.1f} s" if done else ""
            out.append(f"{self.name}: zone {z + 1}: {sum(entries.values())} entered"
                       f"{_by_class(dict(sorted(entries.items())))}{dwell}")
        return out

    def view_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """Edits the zones as ``click`` says: move the nearest corner there, add a corner on the
        nearest edge, start a new (small triangle) zone there, or delete the nearest corner (a
        zone left with two corners goes)."""
        if self.click == "off" or not result.landmarks:
            return None
        polygons = self._polygons(result)
        x, y = float(xy[0]), float(xy[1])
        if self.click == "new zone":
            polygons.append(np.array([[x, y], [x + 60, y], [x + 30, y + 50]]))
            message = "new zone; click to add corners (click is now 'add corner')"
            return self._edit(polygons, message, {"click": "add corner"})
        k, i, _ = geo.nearest_vertex(polygons, (x, y))
        if k < 0:
            return None
        if self.click == "move corner":
            polygons[k][i] = (x, y)
            message = f"zone {k + 1}: corner {i + 1} moved"
        elif self.click == "delete corner":
            polygons[k] = np.delete(polygons[k], i, axis=0)
            if len(polygons[k]) < 3:
                del polygons[k]
                message = f"zone {k + 1} removed"
            else:
                message = f"zone {k + 1}: corner {i + 1} deleted"
        else:  # add corner: on the edge nearest to the click, of the nearest zone
            points = polygons[k]
            edge = min(range(len(points)), key=lambda e: geo.point_segment_distance(
                (x, y), points[e], points[(e + 1) % len(points)]))
            polygons[k] = np.insert(points, edge + 1, (x, y), axis=0)
            message = f"zone {k + 1}: corner added"
        return self._edit(polygons, message)

    def _polygons(self, result: Result) -> list[np.ndarray]:
        return [m.points_xy.astype(np.float64) for m in result.landmarks
                if m.label.startswith("zone ")]

    def _grab(self, xy: tuple[int, int], result: Result
              ) -> tuple[list[np.ndarray], int, int] | None:
        """(the zones, which zone, which corner) when ``xy`` is on a corner; else None."""
        if self.click == "off":
            return None
        polygons = self._polygons(result)
        k, i, d = geo.nearest_vertex(polygons, xy)
        return None if k < 0 or d > geo.GRAB_PX else (polygons, k, i)

    def view_drag(self, start_xy: tuple[int, int], end_xy: tuple[int, int],
                  result: Result) -> ViewEdit | None:
        """A drag from a corner moves it; a drag from anywhere else is not for the zones."""
        grabbed = self._grab(start_xy, result)
        if grabbed is None:
            return None
        polygons, k, i = grabbed
        polygons[k][i] = end_xy
        return self._edit(polygons, f"zone {k + 1}: corner {i + 1} moved")

    def view_right_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """A right click on a corner deletes it (a zone left with two corners goes)."""
        grabbed = self._grab(xy, result)
        if grabbed is None:
            return None
        polygons, k, i = grabbed
        polygons[k] = np.delete(polygons[k], i, axis=0)
        if len(polygons[k]) < 3:
            del polygons[k]
            return self._edit(polygons, f"zone {k + 1} removed")
        return self._edit(polygons, f"zone {k + 1}: corner {i + 1} deleted")

    def _edit(self, polygons: list[np.ndarray], message: str,
              extra: dict[str, Any] | None = None) -> ViewEdit:
        text = geo.format_polygons(polygons)
        problem = geo.zones_problem(text)
        if problem:
            return ViewEdit({}, f"count.zone: not changed: the {problem}")
        if not polygons:
            # An empty zones text means the default zone: say so instead of surprising.
            message += "; no zone left, so the default (middle of the frame) counts"
        return ViewEdit({"zones": text, **(extra or {})}, f"count.zone: {message}")


def _by_class(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in counts.items())})" if counts else ""
