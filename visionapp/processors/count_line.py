"""``count.line``: tracked objects crossing a line, counted per class and direction.

Each box stands for its object by one anchor point (bottom centre by default: where a car meets
the road). A track's side of the line is only believed once its anchor is at least
``hysteresis_px`` away from it, so an anchor jittering on the line is never a crossing; a move
from the believed side to the other, passing between the line's two ends, is. Each track counts
at most once per direction (a car that backs up and crosses again is not a new car), and its
state outlives a gap in detection (an id that disappears and reappears) for ``forget_s``.

Direction: "in" is a crossing from the left of the line A→B to its right as seen on the screen
(for a line drawn left to right, downwards); "out" the other way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Frame, Landmarks, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import geometry as geo
from visionapp.processors.tracked import NO_TRACKER_NOTE, StreamStates, upstream_boxes

DIRECTIONS = ("in", "out")


@dataclass
class _Track:
    side: int = 0  # -1 left, +1 right, 0 not yet believed
    reference_xy: tuple[float, float] = (0.0, 0.0)  # the last anchor on the believed side
    counted: set[str] = field(default_factory=set)
    last_seen_ms: int = 0


@dataclass
class _LineState:
    tracks: dict[tuple[str, int], _Track] = field(default_factory=dict)
    counts: dict[str, Counter] = field(default_factory=lambda: {d: Counter() for d in DIRECTIONS})


def default_line(resolution_wh: tuple[int, int]) -> np.ndarray:
    """Across the middle of the frame, left to right."""
    w, h = resolution_wh
    return np.array([[0.0, h / 2], [w - 1.0, h / 2]])


@dataclass(frozen=True)
class CountLine(ProcessorBase):
    """Counts tracked boxes crossing a line, in and out, per class."""

    name: ClassVar[str] = "count.line"
    restart_label: ClassVar[str] = "Reset counts"  # the panel's button: a fresh instance
    writes_events: ClassVar[bool] = True  # batch runs write an events table beside --csv
    line: str = param("", kind="text", help="x1,y1 x2,y2 in source pixels; empty: across the "
                                            "middle. Click the view to move the nearest end")
    anchor: str = param("bottom_center", choices=geo.ANCHORS, help="the point of each box that "
                                                                   "must cross")
    hysteresis_px: float = param(6.0, min=0.0, max=200.0, step=1.0,
                                 help="how far past the line a point must be to count")
    classes: str = param("", kind="text", help="only these labels, comma-separated; empty: all")
    click: str = param("move end", choices=("move end", "off"),
                       help="what a click on the view does")
    forget_s: float = param(10.0, min=0.5, max=3600.0, step=0.5,
                            help="a track unseen this long is forgotten")
    _states: StreamStates[_LineState] = field(default_factory=StreamStates, init=False,
                                              repr=False, compare=False)

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("line",), lambda p: geo.line_problem(p.line) is None,
             "{line} is not a line of two different points; give x1,y1 x2,y2 in pixels"),
    )

    def points(self, resolution_wh: tuple[int, int]) -> np.ndarray:
        """The line's two ends (2, 2) in pixels for frames of this size."""
        return geo.parse_points(self.line) if self.line.strip() else default_line(resolution_wh)

    def __call__(self, frame: Frame) -> Result:
        ends = self.points(frame.resolution_wh)
        geo.check_inside_frame(self.name, "line", ends, frame.resolution_wh)
        a, b = ends
        boxes = upstream_boxes(frame, self.classes)
        anchors = geo.anchor_points(boxes.xyxy, self.anchor)
        distances = geo.signed_distance(a, b, anchors)
        now = frame.timestamp_ms
        events: list[dict[str, Any]] = []
        with self._states.state(frame, _LineState) as state:
            for i in np.flatnonzero(boxes.tracked):
                key = boxes.key(int(i))
                track = state.tracks.setdefault(key, _Track())
                track.last_seen_ms = now
                direction = self._update(track, a, b, tuple(anchors[i]), float(distances[i]))
                if direction is not None:
                    state.counts[direction][boxes.labels[i]] += 1
                    events.append({"track_id": key[1], "label": boxes.labels[i],
                                   "direction": direction, "timestamp_ms": now})
            forget_ms = self.forget_s * 1000
            for key in [k for k, t in state.tracks.items() if now - t.last_seen_ms > forget_ms]:
                del state.tracks[key]
            totals = {d: dict(sorted(state.counts[d].items())) for d in DIRECTIONS}
        untracked = int((~boxes.tracked).sum())
        values: dict[str, Any] = {
            "line": [round(float(v), 1) for v in ends.reshape(-1)],
            "in": sum(totals["in"].values()), "out": sum(totals["out"].values()),
            "in_by_class": totals["in"], "out_by_class": totals["out"], "events": events}
        text = [f"line: in {values['in']}{_by_class(totals['in'])}, out {values['out']}"
                f"{_by_class(totals['out'])}"]
        if untracked:
            sides = distances[~boxes.tracked]
            values["untracked"] = untracked
            values["untracked_sides"] = {"left": int((sides < 0).sum()),
                                         "right": int((sides >= 0).sum())}
            values["note"] = NO_TRACKER_NOTE
            text.append(f"line: {untracked} untracked box(es) not counted; {NO_TRACKER_NOTE}")
        marks = Landmarks(ends.astype(np.float32), "count.line", connections=((0, 1),))
        return Result(self.name, landmarks=(marks,), text=tuple(text), values=values)

    def _update(self, track: _Track, a, b, xy: tuple[float, float],
                distance: float) -> str | None:
        """Move the track to ``xy``; the direction it crossed in for the first time, or None."""
        if abs(distance) < self.hysteresis_px or distance == 0:
            return None  # on the line, within the band: the side stays as believed
        side = 1 if distance > 0 else -1
        crossed = None
        if track.side and side != track.side and geo.crossing_within(
                a, b, track.reference_xy, xy):
            direction = "in" if track.side < 0 else "out"
            if direction not in track.counted:
                track.counted.add(direction)
                crossed = direction
        track.side = side
        track.reference_xy = xy
        return crossed

    def summary(self) -> list[str]:
        """The totals of the stream seen last (printed after each batch input)."""
        state = self._states.latest()
        if state is None:
            return []
        totals = {d: dict(sorted(state.counts[d].items())) for d in DIRECTIONS}
        return [f"{self.name}: in {sum(totals['in'].values())}{_by_class(totals['in'])}, "
                f"out {sum(totals['out'].values())}{_by_class(totals['out'])}"]

    def view_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """Moves the nearer end of the line to the clicked pixel (counts start again)."""
        if self.click == "off" or "line" not in result.values:
            return None
        ends = np.asarray(result.values["line"], np.float64).reshape(2, 2)
        k = int(np.argmin(np.hypot(ends[:, 0] - xy[0], ends[:, 1] - xy[1])))
        ends[k] = xy
        text = geo.format_points(ends)
        if geo.line_problem(text) is not None:
            return ViewEdit({}, "count.line: both ends on one pixel; click elsewhere")
        return ViewEdit({"line": text}, f"count.line: line {text}; counting starts again")

    def view_drag(self, start_xy: tuple[int, int], end_xy: tuple[int, int],
                  result: Result) -> ViewEdit | None:
        """A drag from near an end moves that end; a drag from anywhere else draws a new line
        from where it started to where it ended."""
        if self.click == "off" or "line" not in result.values:
            return None
        ends = np.asarray(result.values["line"], np.float64).reshape(2, 2)
        d = np.hypot(ends[:, 0] - start_xy[0], ends[:, 1] - start_xy[1])
        k = int(np.argmin(d))
        if d[k] <= geo.GRAB_PX:
            ends[k] = end_xy
            what = "moved"
        else:
            ends = np.array([start_xy, end_xy], np.float64)
            what = "drawn"
        text = geo.format_points(ends)
        if geo.line_problem(text) is not None:
            return ViewEdit({}, "count.line: both ends on one pixel; drag farther")
        return ViewEdit({"line": text}, f"count.line: line {what}: {text}; counting starts "
                                        "again")


def _by_class(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in counts.items())})" if counts else ""
