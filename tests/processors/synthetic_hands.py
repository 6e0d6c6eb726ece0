"""Hands posed by a small 3-D model and projected to 21 image landmarks, MediaPipe's order
(0 wrist, 1–4 thumb CMC→tip, then index, middle, ring, pinky each knuckle→tip).

The palm faces the camera with the fingers up. Each finger is a chain of three segments whose
joints flex about the finger's own sideways axis, towards the camera; the orthographic projection
drops depth, so a curled finger folds back over the palm, foreshortened, as in a photo. The thumb
folds across the palm in the image plane. Lengths are in palm sizes (wrist to middle knuckle).
"""

from __future__ import annotations

import numpy as np

# knuckle (x, y) with y up and the thumb towards +x, spread from vertical (deg, + to the thumb),
# segment lengths
FINGERS = {
    "index": ((0.32, 0.95), 8.0, (0.45, 0.27, 0.22)),
    "middle": ((0.0, 1.0), 0.0, (0.50, 0.30, 0.23)),
    "ring": ((-0.26, 0.95), -8.0, (0.46, 0.28, 0.22)),
    "pinky": ((-0.48, 0.84), -18.0, (0.36, 0.21, 0.20)),
}
THUMB_CMC, THUMB_LENGTHS = np.array([0.15, 0.10]), (0.45, 0.33, 0.27)
EXTENDED, CURLED, BENT = (0.0, 5.0, 5.0), (85.0, 100.0, 60.0), (35.0, 45.0, 25.0)
ALL_CURLED = dict.fromkeys(FINGERS, CURLED)
ALL_EXTENDED = dict.fromkeys(FINGERS, EXTENDED)


def _finger(base, spread_deg: float, lengths, flex_deg) -> list[np.ndarray]:
    """Knuckle and the three joints after it, each joint flexed by ``flex_deg`` (2-D projection
    of the 3-D chain)."""
    phi = np.radians(spread_deg)
    up = np.array([np.sin(phi), np.cos(phi)])  # spread > 0 leans towards the thumb (+x)
    points = [np.array(base, np.float64)]
    total = 0.0
    for length, flex in zip(lengths, flex_deg, strict=True):
        total += np.radians(flex)
        points.append(points[-1] + length * np.cos(total) * up)  # depth dropped
    return points


def _thumb(across_deg: float) -> list[np.ndarray]:
    """CMC, MCP, IP, tip: pointing up-and-out (55° from vertical) when ``across_deg`` is 0,
    folded across the palm as it grows (bent at the MCP and IP joints, in the image plane)."""
    points = [THUMB_CMC.copy()]
    angle = np.radians(55.0)  # from vertical, towards the thumb side (+x)
    for length, share in zip(THUMB_LENGTHS, (0.0, 0.5, 0.5), strict=True):
        angle -= np.radians(across_deg * share)
        points.append(points[-1] + length * np.array([np.sin(angle), np.cos(angle)]))
    return points


def _thumb_to(target: np.ndarray) -> list[np.ndarray]:
    """A thumb whose tip is at ``target``, its joints bowed outwards (a pinch or an OK)."""
    cmc = THUMB_CMC
    path = target - cmc
    out = np.array([path[1], -path[0]]) / max(np.linalg.norm(path), 1e-9)  # to the thumb side
    if out[0] < 0:
        out = -out
    return [cmc] + [cmc + path * f + 0.15 * np.sin(np.pi * f) * out for f in (0.4, 0.75)] + [
        target]


def hand(fingers: dict[str, tuple[float, float, float]], thumb_across_deg: float = 0.0, *,
         roll_deg: float = 0.0, palm_px: float = 120.0, centre_xy=(320.0, 240.0),
         mirror: bool = False, thumb_to_index: float | None = None,
         rng: np.random.Generator | None = None, jitter: float = 0.01) -> np.ndarray:
    """(21, 2) pixels. ``fingers`` maps each finger to its three joint flexions (deg).
    ``roll_deg`` turns the whole hand in the image (counter-clockwise as seen); ``mirror`` makes
    it the other hand. With ``thumb_to_index`` the thumb tip is placed that many palm sizes from
    the index tip, towards the thumb (a pinch, or an OK circle). ``rng`` adds landmark noise of
    ``jitter`` palm sizes."""
    chains = {name: _finger(base, spread, lengths, fingers[name])
              for name, (base, spread, lengths) in FINGERS.items()}
    if thumb_to_index is None:
        thumb = _thumb(thumb_across_deg)
    else:
        tip = chains["index"][-1]
        away = THUMB_CMC - tip
        thumb = _thumb_to(tip + thumb_to_index * away / np.linalg.norm(away))
    xy = np.array([np.zeros(2), *thumb, *(p for name in FINGERS for p in chains[name])])
    if mirror:
        xy[:, 0] *= -1
    roll = np.radians(roll_deg)
    xy = xy @ np.array([[np.cos(roll), np.sin(roll)], [-np.sin(roll), np.cos(roll)]])
    if rng is not None:
        xy = xy + rng.normal(0, jitter, xy.shape)
    # y up in the model, y down in the image
    return np.column_stack([centre_xy[0] + palm_px * xy[:, 0],
                            centre_xy[1] - palm_px * xy[:, 1]]).astype(np.float32)


def thumb_roll(fingers, thumb_across_deg: float, to_deg: float, mirror: bool = False) -> float:
    """The roll that makes the thumb (knuckle → tip) point ``to_deg`` from straight up
    (0: up, 180: down)."""
    pts = hand(fingers, thumb_across_deg, mirror=mirror)
    v = pts[4] - pts[2]
    current = np.degrees(np.arctan2(-v[0], -v[1]))  # image vector angle from up, CCW positive
    return to_deg - current
