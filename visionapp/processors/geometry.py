"""Lines and polygons drawn on the view, as the text of a processor parameter, and the plane
geometry the counting processors need (which side of a line, inside a polygon, where a box is).

Geometry is kept in pixel coordinates of the source, as text a chain file holds and a person can
type: points are ``x,y`` pairs separated by spaces, polygons are separated by ``;``::

    line  = "40,300 600,300"
    zones = "100,100 300,100 300,250 100,250; 400,50 500,50 450,200"
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from visionapp.core.errors import BadInput

ANCHORS = ("bottom_center", "center", "top_center")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
_SEPARATORS = re.compile(r"[\s,]+")


def parse_points(text: str) -> NDArray[np.float64]:
    """``"x,y x,y …"`` → (N, 2) pixels; ValueError naming what is wrong."""
    items = [t for t in _SEPARATORS.split(text.strip()) if t]
    if any(not _NUMBER.fullmatch(t) for t in items):
        raise ValueError("is not a list of x,y points")
    if len(items) % 2:
        raise ValueError("has an odd count of numbers; give x,y pairs")
    return np.array([float(t) for t in items], np.float64).reshape(-1, 2)


def format_points(points_xy) -> str:
    """(N, 2) pixels → ``"x,y x,y"`` (whole pixels; the view's clicks are whole pixels)."""
    return " ".join(f"{round(float(x))},{round(float(y))}" for x, y in np.reshape(points_xy,
                                                                                  (-1, 2)))


def parse_polygons(text: str) -> list[NDArray[np.float64]]:
    """``"x,y x,y x,y; …"`` → one (N, 2) array per polygon (empty text: none)."""
    return [parse_points(part) for part in text.split(";") if part.strip()]


def format_polygons(polygons) -> str:
    return "; ".join(format_points(p) for p in polygons)


def _cross(o, a, b) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def segments_cross(p1, p2, q1, q2) -> bool:
    """Whether segments p1-p2 and q1-q2 share a point (touching counts)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True

    def on(a, b, c, d) -> bool:  # c on segment a-b, given collinear (d == 0)
        return d == 0 and min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and \
            min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    return on(q1, q2, p1, d1) or on(q1, q2, p2, d2) or on(p1, p2, q1, d3) or on(p1, p2, q2, d4)


def line_problem(text: str) -> str | None:
    """Why ``text`` is not a line of two distinct points, or None ("" is the default line)."""
    if not text.strip():
        return None
    try:
        points = parse_points(text)
    except ValueError as exc:
        return f"{exc} (give two points: x1,y1 x2,y2)"
    if len(points) != 2:
        return f"has {len(points)} point(s); a line is two points: x1,y1 x2,y2"
    if np.allclose(points[0], points[1]):
        return "has two equal points; a line needs two different points"
    return None


def polygon_problem(points: NDArray[np.float64]) -> str | None:
    """Why ``points`` is not a simple polygon (three or more corners, an area, no edge crossing
    another), or None. Concave polygons are fine."""
    n = len(points)
    if n < 3:
        return f"has {n} point(s); a zone needs at least 3"
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a corner
            if segments_cross(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]):
                return (f"crosses itself (edge {i + 1} meets edge {j + 1}); give the corners "
                        "in order around the zone")
    x, y = points[:, 0], points[:, 1]
    if abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) < 1e-9:
        return "has no area (its points lie on one line)"
    return None


def zones_problem(text: str) -> str | None:
    """Why ``text`` is not a list of simple polygons, or None ("" is the default zone)."""
    try:
        polygons = parse_polygons(text)
    except ValueError as exc:
        return f"{exc} (give corners as x,y x,y x,y, zones separated by ';')"
    for k, polygon in enumerate(polygons):
        problem = polygon_problem(polygon)
        if problem:
            return f"zone {k + 1} {problem}"
    return None


def check_inside_frame(owner: str, what: str, points: NDArray[np.float64],
                       resolution_wh: tuple[int, int]) -> None:
    """BadInput when a point lies outside the frame (geometry drawn on a source of another
    size): the counting would silently miss everything, so it is refused with the fix."""
    w, h = resolution_wh
    outside = (points[:, 0] < -1) | (points[:, 0] > w + 1) | (points[:, 1] < -1) | (
        points[:, 1] > h + 1)
    if outside.any():
        x, y = points[int(np.argmax(outside))]
        raise BadInput(f"{owner}: the {what} point {round(x)},{round(y)} lies outside this "
                       f"{w}x{h} frame (drawn on a source of another size?); redraw it or set "
                       f"{owner}.{what} in pixels of this source")


def anchor_points(xyxy: NDArray[np.float32], anchor: str) -> NDArray[np.float64]:
    """(N, 2) pixels: the point of each box that stands for the object (``ANCHORS``); the
    bottom centre is where a car or a person touches the ground."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    y = {"bottom_center": boxes[:, 3], "top_center": boxes[:, 1],
         "center": (boxes[:, 1] + boxes[:, 3]) / 2}[anchor]
    return np.stack([x, y], axis=1)


def signed_distance(a, b, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance in pixels of each point from the infinite line a→b; positive on the right of
    a→b as seen on the screen (y grows downwards), negative on its left."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = b - a
    rel = np.asarray(points, np.float64).reshape(-1, 2) - a
    return (d[0] * rel[:, 1] - d[1] * rel[:, 0]) / float(np.hypot(*d))


def crossing_within(a, b, p, q) -> bool:
    """Whether the straight move p→q (p and q on opposite sides of the line a→b) passes the
    line between a and b, rather than beside the segment's ends."""
    dp, dq = signed_distance(a, b, np.array([p, q]))
    f = dp / (dp - dq)
    x = np.asarray(p, np.float64) + f * (np.asarray(q, np.float64) - np.asarray(p, np.float64))
    ab = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    t = float(np.dot(x - a, ab) / np.dot(ab, ab))
    return 0.0 <= t <= 1.0


GRAB_PX = 24  # a press this close to a point (frame pixels) grabs it


def nearest_vertex(polygons: list[NDArray[np.float64]], xy) -> tuple[int, int, float]:
    """(polygon index, vertex index, distance in px) of the corner nearest to ``xy``."""
    best = (-1, -1, float("inf"))
    for k, points in enumerate(polygons):
        d = np.hypot(points[:, 0] - xy[0], points[:, 1] - xy[1])
        i = int(np.argmin(d))
        if d[i] < best[2]:
            best = (k, i, float(d[i]))
    return best


def point_segment_distance(p, a, b) -> float:
    p, a, b = (np.asarray(v, np.float64) for v in (p, a, b))
    ab = b - a
    t = np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0)
    return float(np.hypot(*(a + t * ab - p)))
