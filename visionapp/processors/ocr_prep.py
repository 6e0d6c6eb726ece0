"""Preparing an image for OCR, as the course teaches it: grayscale, a global (Otsu) or adaptive
threshold, deskew, quarter turns and scaling — each step keeping the affine map back to the input's
pixels, so boxes found on the prepared image land on the frame.

Every transform here is "prepared → input": a 2×3 matrix ``to_input`` maps a point of the
prepared image to the image it was made from. Steps compose by multiplying these maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_SKEW_DEG = 15.0
_SKEW_WIDTH_PX = 800  # skew is estimated on a copy at most this wide (cost, not accuracy)


def _h(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2×3 map that applies ``inner`` first, then ``outer``."""
    return (_h(outer) @ _h(inner))[:2]


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def turn_clockwise(image: np.ndarray, quarter_turns: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned clockwise by 90° × ``quarter_turns``, and the map back (turned → input)."""
    k = quarter_turns % 4
    h, w = image.shape[:2]
    if k == 0:
        return image, IDENTITY.copy()
    code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[k]
    turned = cv2.rotate(image, code)
    # Where each turned pixel (u, v) came from in the input (x, y); pixel centres map exactly.
    back = {1: [[0, 1, 0], [-1, 0, h - 1]],
            2: [[-1, 0, w - 1], [0, -1, h - 1]],
            3: [[0, -1, w - 1], [1, 0, 0]]}[k]
    return turned, np.array(back, np.float64)


def _background_value(image: np.ndarray):
    """The border's median colour: what a rotation uncovers is filled with the page's own."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    med = np.median(border, axis=0)
    return float(med) if image.ndim == 2 else tuple(float(v) for v in med)


def rotate_deg(image: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` rotated counter-clockwise by ``angle_deg`` on a canvas large enough to keep every
    pixel, and the map back (rotated → input)."""
    h, w = image.shape[:2]
    forward = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(forward[0, 0]), abs(forward[0, 1])
    new_w, new_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    forward[0, 2] += new_w / 2 - w / 2
    forward[1, 2] += new_h / 2 - h / 2
    rotated = cv2.warpAffine(image, forward, (new_w, new_h), flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_CONSTANT,
                             borderValue=_background_value(image))
    return rotated, cv2.invertAffineTransform(forward)


def scale(image: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    if abs(factor - 1.0) < 1e-6:
        return image, IDENTITY.copy()
    interpolation = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    scaled = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    return scaled, np.array([[1 / factor, 0, 0], [0, 1 / factor, 0]], np.float64)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Text pixels as 255: Otsu's threshold, the minority side taken as ink (dark text on a light
    page or light text on a dark one)."""
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary if np.count_nonzero(binary) < binary.size / 2 else cv2.bitwise_not(binary)


def threshold(gray: np.ndarray, mode: str) -> np.ndarray:
    """Binarise for OCR: "otsu" (one global threshold) or "adaptive" (per 31-px neighbourhood,
    for uneven lighting). The result is always dark text on white, which Tesseract reads best."""
    if mode == "otsu":
        ink = ink_mask(gray)
    elif mode == "adaptive":
        binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                       cv2.THRESH_BINARY, 31, 10)
        ink = binary if np.count_nonzero(binary) < binary.size / 2 else cv2.bitwise_not(binary)
    else:
        raise ValueError(f"unknown threshold mode {mode!r}")
    return cv2.bitwise_not(ink)


def _profile_score(ink: np.ndarray, angle_deg: float) -> float:
    """How sharply the rows of ``ink`` rotated by ``angle_deg`` separate into lines and gaps:
    the variance of the row sums (text lines parallel to the rows maximise it)."""
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST)
    return float(np.var(rotated.sum(axis=1, dtype=np.float64)))


def estimate_skew_deg(gray: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """The angle (degrees, counter-clockwise positive) by which the text lines are tilted, found by
    the projection-profile method: the rotation that makes the row sums of the ink most uneven.
    Coarse 1° steps over ±``max_deg``, then 0.1° steps around the best. 0.0 when the best
    rotation is barely better than none (no text lines to align)."""
    small = gray
    if gray.shape[1] > _SKEW_WIDTH_PX:
        factor = _SKEW_WIDTH_PX / gray.shape[1]
        small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    ink = ink_mask(small)
    if np.count_nonzero(ink) < 50:
        return 0.0
    base = _profile_score(ink, 0.0)
    coarse = np.arange(-max_deg, max_deg + 0.5, 1.0)
    scores = [_profile_score(ink, a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 1.0, best + 1.05, 0.1)
    scores = [_profile_score(ink, a) for a in fine]
    best_fine = float(fine[int(np.argmax(scores))])
    if max(scores) < 1.05 * base:
        return 0.0
    # Rotating by best_fine levels the lines, so they were tilted the other way.
    return round(-best_fine, 1)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What an engine reads: ``image`` (gray or BGR), ``to_input`` (2×3, prepared px → input
    px), the clockwise quarter turns applied, and the skew removed (None: deskew off)."""

    image: np.ndarray
    to_input: np.ndarray
    quarter_turns: int = 0
    skew_deg: float | None = None


def prepare(image: np.ndarray, *, grayscale: bool, threshold_mode: str, deskew: bool,
            quarter_turns: int, factor: float) -> Prepared:
    """Turn upright, deskew, scale, then convert: the order that keeps thresholding last, on
    the pixels the engine will read."""
    to_input = IDENTITY.copy()
    current, back = turn_clockwise(image, quarter_turns)
    to_input = compose(to_input, back)
    skew = None
    if deskew:
        skew = estimate_skew_deg(to_gray(current))
        if skew != 0.0:
            current, back = rotate_deg(current, -skew)
            to_input = compose(to_input, back)
    current, back = scale(current, factor)
    to_input = compose(to_input, back)
    if grayscale or threshold_mode != "none":
        current = to_gray(current)
    if threshold_mode != "none":
        current = threshold(current, threshold_mode)
    return Prepared(current, to_input, quarter_turns % 4, skew)


def map_quads(quads_xy: np.ndarray, to_input: np.ndarray) -> np.ndarray:
    """(N, 4, 2) corners in prepared pixels → (N, 4) axis-aligned xyxy in input pixels."""
    if len(quads_xy) == 0:
        return np.zeros((0, 4), np.float32)
    pts = quads_xy.reshape(-1, 2).astype(np.float64)
    mapped = pts @ to_input[:, :2].T + to_input[:, 2]
    mapped = mapped.reshape(-1, 4, 2)
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1).astype(np.float32)
