"""The one place that draws: boxes with labels and scores, landmarks, masks, heat maps, overlays,
track trails and text.

Processors never draw; they return Results, and :func:`annotate` renders them onto a copy of the
frame. Overlays (edge maps, similarity maps) are blended, shown instead of the frame, or put side
by side, as each Result asks; masks are tinted and heat maps coloured over their region. What
needs memory across frames (the trails of tracked boxes) is drawn by an :class:`Annotator`, which
each driver owns.
"""

from __future__ import annotations

import functools
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from visionapp.core.types import Detections, HeatMap, Landmarks, Mask, Result

FONT = cv2.FONT_HERSHEY_SIMPLEX


def color_for(label: str) -> tuple[int, int, int]:
    """A stable, saturated BGR colour per label (the same label always gets the same colour)."""
    hue = zlib.crc32(label.encode()) % 180
    hsv = np.uint8([[[hue, 220, 255]]])
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def final_image(image: np.ndarray, results: Sequence[Result]) -> np.ndarray:
    """The frame after every transform in the chain (the last Result that carries an image)."""
    for result in reversed(results):
        if result.image is not None:
            return result.image
    return image


def _as_bgr(overlay: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    out = overlay if overlay.ndim == 3 else cv2.cvtColor(overlay, cv2.COLOR_GRAY2BGR)
    if (out.shape[1], out.shape[0]) != wh:
        out = cv2.resize(out, wh, interpolation=cv2.INTER_NEAREST)
    return out


def _blend(canvas: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    h, w = canvas.shape[:2]
    if overlay.ndim == 2:
        # A single-channel map (edges, gradient) glows green over the dimmed frame.
        if overlay.shape != (h, w):
            overlay = cv2.resize(overlay, (w, h), interpolation=cv2.INTER_NEAREST)
        green = cv2.merge([np.zeros_like(overlay), overlay, np.zeros_like(overlay)])
        return cv2.add(cv2.convertScaleAbs(canvas, alpha=0.6), green)
    return cv2.addWeighted(canvas, 0.5, _as_bgr(overlay, (w, h)), 0.5, 0)


def _label(canvas: np.ndarray, text: str, x: int, y: int, color, scale: float, thick: int) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    y_top = max(0, y - th - base - 2)
    cv2.rectangle(canvas, (x, y_top), (x + tw + 4, y_top + th + base + 2), color, cv2.FILLED)
    cv2.putText(canvas, text, (x + 2, y_top + th + 1), FONT, scale, (0, 0, 0), thick, cv2.LINE_AA)


def draw_detections(canvas: np.ndarray, dets: Detections, thick: int, scale: float) -> None:
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
        label = dets.labels[i]
        color = color_for(label)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        text = label
        if dets.track_id is not None and dets.track_id[i] >= 0:
            text = f"#{int(dets.track_id[i])} {text}"
        if dets.confidence[i] < 1.0:
            text = f"{text} {dets.confidence[i]:.2f}"
        _label(canvas, text, x1, y1, color, scale, max(1, thick - 1))


def draw_candidates(canvas: np.ndarray, dets: Detections, scale: float) -> None:
    """Faint 1-px boxes (what NMS removed); labelled ones get their text in small type."""
    faint = canvas.copy()
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
        cv2.rectangle(faint, (x1, y1), (x2, y2), color_for(dets.labels[i] or "candidate"), 1)
    cv2.addWeighted(faint, 0.55, canvas, 0.45, 0, dst=canvas)
    labelled = [i for i in range(len(dets)) if dets.labels[i]]
    step = int(14 * scale / 0.5)
    for k, i in enumerate(labelled):
        x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 200, 255), 1, cv2.LINE_AA)
        # Near-duplicate boxes share a corner: stack their labels instead of overprinting.
        cv2.putText(canvas, dets.labels[i], (x2 + 3, y1 + (k + 1) * step), FONT, scale * 0.8,
                    (0, 200, 255), 1, cv2.LINE_AA)


def draw_landmarks(canvas: np.ndarray, marks: Landmarks, thick: int) -> None:
    color = color_for(marks.label or "landmarks")
    pts = np.round(marks.points_xy).astype(np.int32)
    visible = (np.ones(len(pts), bool) if marks.visibility is None
               else marks.visibility >= marks.min_visibility)
    if marks.connections:
        lines = [np.array([pts[a], pts[b]]) for a, b in marks.connections
                 if a < len(pts) and b < len(pts) and visible[a] and visible[b]]
        cv2.polylines(canvas, lines, False, color, max(1, thick - 1), cv2.LINE_AA)
    if not marks.draw_points:
        return
    radius = max(1, thick)
    for (x, y), ok in zip(pts, visible, strict=True):
        if ok:
            cv2.circle(canvas, (int(x), int(y)), radius, (255, 255, 255), cv2.FILLED)


def draw_mask(canvas: np.ndarray, mask: Mask) -> None:
    """Add the mask's colour × alpha to its pixels (saturating); the others stay as they are."""
    h, w = canvas.shape[:2]
    inside = mask.mask
    if inside.shape != (h, w):
        inside = cv2.resize(inside.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    tint = np.zeros_like(canvas)
    tint[inside] = mask.color_bgr
    cv2.addWeighted(canvas, 1.0, tint, mask.alpha, 0, dst=canvas)


@functools.cache
def _jet_lut() -> np.ndarray:
    """OpenCV's JET colours for 0..255 as a (256, 1, 3) table: applyColorMap rebuilds its map on
    every call (about 20 ms), a lookup table is built once."""
    return cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1),
                             cv2.COLORMAP_JET).reshape(256, 1, 3)


def jet(levels: np.ndarray) -> np.ndarray:
    """H×W uint8 levels → H×W×3 BGR in the JET colour map (what applyColorMap gives)."""
    return cv2.LUT(cv2.merge([levels, levels, levels]), _jet_lut())


def draw_heatmap(canvas: np.ndarray, heat: HeatMap) -> None:
    """The values stretched over their region in the JET colour map, blended at alpha (with
    ``fade_low``: at alpha × value, so zero leaves the frame untouched)."""
    h, w = canvas.shape[:2]
    x1, y1 = max(0, heat.xyxy[0]), max(0, heat.xyxy[1])
    x2, y2 = min(w, heat.xyxy[2]), min(h, heat.xyxy[3])
    if x2 <= x1 or y2 <= y1:
        return
    region = canvas[y1:y2, x1:x2]
    size = (x2 - x1, y2 - y1)
    if heat.fade_low:
        # Colour and weigh at the map's own (small) size, then scale up: a full-frame colour
        # map and float blend would cost tens of ms at 1080p.
        values = np.clip(np.asarray(heat.values, np.float32), 0.0, 1.0)
        weight = values * np.float32(heat.alpha)
        colored = jet((values * 255).astype(np.uint8))
        tinted = (colored * weight[..., None]).astype(np.uint8)
        keep = cv2.merge([((1.0 - weight) * 255).astype(np.uint8)] * 3)
        kept = cv2.multiply(region, cv2.resize(keep, size), scale=1 / 255)
        cv2.add(kept, cv2.resize(tinted, size), dst=region)
        return
    levels = (cv2.resize(heat.values, size) * 255).astype(np.uint8)
    cv2.addWeighted(region, 1.0 - heat.alpha, jet(levels), heat.alpha, 0, dst=region)


def draw_text_block(canvas: np.ndarray, lines: Sequence[str], scale: float, thick: int) -> None:
    """Lines of readout top-left on a translucent dark panel. Hershey fonts are ASCII-only."""
    if not lines:
        return
    lines = [line.replace("→", "->").replace("×", "x").replace("—", "-").replace("≥", ">=")
             for line in lines]
    sizes = [cv2.getTextSize(line, FONT, scale, thick)[0] for line in lines]
    line_h = max(h for _, h in sizes) + 8
    width = max(w for w, _ in sizes) + 12
    height = line_h * len(lines) + 6
    h, w = canvas.shape[:2]
    roi = canvas[0 : min(h, height), 0 : min(w, width)]
    roi[:] = (roi * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(canvas, line, (6, (i + 1) * line_h), FONT, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)


def annotate(image: np.ndarray, results: Sequence[Result], *, show_text: bool = True) -> np.ndarray:
    """Draw ``results`` on a copy of the chain's final image; never modifies ``image``."""
    canvas = final_image(image, results)
    owned = False  # copy-on-first-write: the input frame is never drawn on
    h, w = canvas.shape[:2]
    thick = max(1, round(min(h, w) / 360))
    scale = max(0.4, min(h, w) / 900)
    beside: list[np.ndarray] = []
    # A result that hides what came before it (an anonymised frame) leaves only itself and the
    # later ones to draw: no earlier box, overlay (an edge map of a face) or readout.
    cut = max((i for i, r in enumerate(results) if r.hides_earlier), default=0)
    results = results[cut:]
    for result in results:
        if result.overlay is None:
            continue
        if result.overlay_mode == "replace":
            canvas = _as_bgr(result.overlay, (w, h))
            owned = canvas is not result.overlay
        elif result.overlay_mode == "blend":
            canvas, owned = _blend(canvas, result.overlay), True
        else:
            beside.append(_as_bgr(result.overlay, (w, h)))
    drawing = show_text and any(r.text for r in results) or any(
        len(r.detections) or r.landmarks or r.candidates is not None or r.masks or r.heatmaps
        for r in results)
    if drawing and not owned:
        canvas = canvas.copy()
    for result in results:
        for mask in result.masks:
            draw_mask(canvas, mask)
        for heat in result.heatmaps:
            draw_heatmap(canvas, heat)
    for result in results:
        if result.candidates is not None:
            draw_candidates(canvas, result.candidates, scale)
        draw_detections(canvas, result.detections, thick, scale)
        for marks in result.landmarks:
            draw_landmarks(canvas, marks, thick)
    if show_text:
        draw_text_block(canvas, [line for r in results for line in r.text], scale, thick)
    return np.hstack([canvas, *beside]) if beside else canvas


TRAIL_HISTORY = 200  # centres kept per track: the longest trail a Result may ask for


class Annotator:
    """The drawing of one stream of frames after another, owned by its driver (a batch run,
    the window).

    Drawing that needs memory across frames lives here instead of in a processor, so processors
    stay functions of their settings and the frame: the trail of each tracked box, keyed by
    (stream, processor, track id). A frame of a new stream forgets the old trails; a track not
    seen for TRAIL_HISTORY frames is forgotten too (supervision's TraceAnnotator keeps its
    history the same way).
    """

    def __init__(self) -> None:
        self._trails: dict[tuple[int, str, int], deque] = {}
        self._last_seen: dict[tuple[int, str, int], int] = {}
        self._stream: int | None = None
        self._frames = 0

    def __call__(self, image: np.ndarray, results: Sequence[Result], *, show_text: bool = True,
                 stream_id: int = 0) -> np.ndarray:
        """:func:`annotate`, with the trails of tracked boxes; ``stream_id`` is the frame's."""
        if any(r.trail_length for r in results):
            results = self._with_trails(results, stream_id)
        return annotate(image, results, show_text=show_text)

    def trail(self, stream_id: int, processor: str, track_id: int) -> np.ndarray:
        """The remembered centres of one track, oldest first: (K, 2) float32 pixels."""
        return np.array(self._trails.get((stream_id, processor, track_id), ()),
                        np.float32).reshape(-1, 2)

    def _with_trails(self, results: Sequence[Result], stream_id: int) -> list[Result]:
        if stream_id != self._stream:
            self._trails.clear()
            self._last_seen.clear()
            self._stream = stream_id
        self._frames += 1
        out = []
        for result in results:
            dets = result.detections
            if not result.trail_length or dets.track_id is None:
                out.append(result)
                continue
            marks = []
            for i in np.flatnonzero(dets.track_id >= 0):
                key = (stream_id, result.processor, int(dets.track_id[i]))
                x1, y1, x2, y2 = dets.xyxy[i]
                trail = self._trails.setdefault(key, deque(maxlen=TRAIL_HISTORY))
                trail.append(((x1 + x2) / 2, (y1 + y2) / 2))
                self._last_seen[key] = self._frames
                points = np.array(list(trail)[-result.trail_length:], np.float32)
                if len(points) > 1:
                    pairs = tuple((k, k + 1) for k in range(len(points) - 1))
                    marks.append(Landmarks(points, dets.labels[i], connections=pairs,
                                           draw_points=False))
            out.append(replace(result, landmarks=result.landmarks + tuple(marks)))
        for key in [k for k, seen in self._last_seen.items()
                    if self._frames - seen > TRAIL_HISTORY]:
            del self._trails[key], self._last_seen[key]
        return out
