"""The one place that draws: boxes with labels and scores, landmarks, masks, heat maps, overlays,
track trails, the NMS view and the readout (styles in :mod:`annotate_style`, the readout box in
:mod:`annotate_text`, the NMS view in :mod:`annotate_nms`).

Processors never draw; they return Results, and :func:`annotate` renders them onto a copy of the
frame. Overlays (edge maps, similarity maps) are blended, shown instead of the frame, or put side
by side, as each Result asks; masks are tinted and heat maps coloured over their region. What
needs memory across frames (the trails of tracked boxes) is drawn by an :class:`Annotator`, which
each driver owns.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from visionapp.core.annotate_nms import draw_nms
from visionapp.core.annotate_style import (
    Style,
    dashed_rect,
    processor_color,
    put_label,
    style_for,
)
from visionapp.core.annotate_text import Entry, draw_readout, entries_for, tag_half
from visionapp.core.types import Detections, HeatMap, Landmarks, Mask, Result


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


def draw_detections(canvas: np.ndarray, dets: Detections, color, style: Style,
                    taken: list | None = None, labels: bool = True) -> None:
    """Boxes in the processor's colour, each tagged with its track id, label and score (tags
    clear of those in ``taken``, where they are added); ``labels=False``: boxes only."""
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, style.line_px, cv2.LINE_AA)
    for i in range(len(dets) if labels else 0):
        text = dets.labels[i]
        if dets.track_id is not None and dets.track_id[i] >= 0:
            text = f"#{int(dets.track_id[i])} {text}"
        if dets.confidence[i] < 1.0:
            text = f"{text} {dets.confidence[i]:.2f}"
        put_label(canvas, text, dets.xyxy[i], color, style, taken=taken)


def draw_candidates(canvas: np.ndarray, dets: Detections, color, style: Style,
                    taken: list | None = None) -> None:
    """Boxes considered but not kept: faint and dashed; labelled ones get a small tag."""
    layer = canvas.copy()
    for xyxy in dets.xyxy:
        dashed_rect(layer, xyxy, color, max(1, style.line_px // 2), 3 * style.pad_px)
    cv2.addWeighted(layer, 0.6, canvas, 0.4, 0, dst=canvas)
    for i in np.flatnonzero([bool(label) for label in dets.labels]):
        x1, _, _, y2 = dets.xyxy[i]
        put_label(canvas, dets.labels[i], (x1, y2, x1, y2), color, style.smaller(0.75),
                  inside=True, taken=taken)


def draw_landmarks(canvas: np.ndarray, marks: Landmarks, color, style: Style) -> None:
    """Connections and points; a mesh thin and translucent (the face shows through), a
    skeleton thick with outlined joints."""
    pts = np.round(marks.points_xy).astype(np.int32)
    visible = (np.ones(len(pts), bool) if marks.visibility is None
               else marks.visibility >= marks.min_visibility)
    lines = [np.array([pts[a], pts[b]]) for a, b in marks.connections
             if a < len(pts) and b < len(pts) and visible[a] and visible[b]]
    if marks.style == "mesh":
        layer = canvas.copy()
        if lines:
            cv2.polylines(layer, lines, False, color, 1, cv2.LINE_AA)
        cv2.addWeighted(layer, 0.35, canvas, 0.65, 0, dst=canvas)
        return
    thick = style.line_px * (2 if marks.style == "skeleton" else 1)
    if lines:
        if marks.style == "skeleton":
            cv2.polylines(canvas, lines, False, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.polylines(canvas, lines, False, color, thick, cv2.LINE_AA)
    if not marks.draw_points:
        return
    radius = max(1, round(thick * (1.5 if marks.style == "skeleton" else 1)))
    for (x, y), ok in zip(pts, visible, strict=True):
        if ok:
            cv2.circle(canvas, (int(x), int(y)), radius + 1, (0, 0, 0), cv2.FILLED, cv2.LINE_AA)
            cv2.circle(canvas, (int(x), int(y)), radius, (255, 255, 255), cv2.FILLED,
                       cv2.LINE_AA)


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


def _extent(marks: Landmarks) -> tuple[float, float, float, float] | None:
    if not len(marks.points_xy):
        return None
    (x1, y1), (x2, y2) = marks.points_xy.min(axis=0), marks.points_xy.max(axis=0)
    return float(x1), float(y1), float(x2), float(y2)


def _draws_marks(result: Result) -> bool:
    return bool(len(result.detections) or result.landmarks or result.candidates is not None
                or result.nms is not None or result.masks or result.heatmaps
                or result.overlay is not None)


def _left_name(results: Sequence[Result]) -> str:
    """What the left half of a side-by-side picture shows."""
    replaced = [r.processor for r in results
                if r.overlay is not None and r.overlay_mode == "replace"]
    if replaced:
        return replaced[-1]
    blended = [r.processor for r in results if r.overlay is not None and r.overlay_mode == "blend"]
    return " + ".join(["frame", *blended])


def annotate(image: np.ndarray, results: Sequence[Result], *, show_text: bool = True) -> np.ndarray:
    """Draw ``results`` on a copy of the chain's final image; never modifies ``image``.

    Every processor draws in its own colour (by chain position, :func:`processor_color`) at the
    sizes :func:`style_for` gives this frame; its text goes into one readout box, in the corner
    that hides the fewest boxes, after a swatch of that colour (the legend)."""
    canvas = final_image(image, results)
    owned = False  # copy-on-first-write: the input frame is never drawn on
    h, w = canvas.shape[:2]
    style = style_for((h, w))
    beside: list[tuple[str, tuple[int, int, int], np.ndarray]] = []
    # A result that hides what came before it (an anonymised frame) leaves only itself and the
    # later ones to draw: no earlier box, overlay (an edge map of a face) or readout.
    cut = max((i for i, r in enumerate(results) if r.hides_earlier), default=0)
    colors = [processor_color(i) for i in range(cut, len(results))]  # by chain position
    results = results[cut:]
    for result, color in zip(results, colors, strict=True):
        if result.overlay is None:
            continue
        if result.overlay_mode == "replace":
            canvas = _as_bgr(result.overlay, (w, h))
            owned = canvas is not result.overlay
        elif result.overlay_mode == "blend":
            canvas, owned = _blend(canvas, result.overlay), True
        else:
            beside.append((result.processor, color, _as_bgr(result.overlay, (w, h))))
    legend_only = not show_text and sum(map(_draws_marks, results)) > 1
    drawing = (show_text and any(r.text or r.bars for r in results) or legend_only or beside
               or any(_draws_marks(r) and r.overlay is None for r in results))
    if drawing and not owned:
        canvas = canvas.copy()
    for result in results:
        for mask in result.masks:
            draw_mask(canvas, mask)
        for heat in result.heatmaps:
            draw_heatmap(canvas, heat)
    obstacles: list = []
    tags: list = []  # every label's rectangle: later labels keep clear of them
    for result, color in zip(results, colors, strict=True):
        if result.nms is not None:
            obstacles += draw_nms(canvas, result.nms, color, style, tags)
        else:
            if result.candidates is not None:
                draw_candidates(canvas, result.candidates, color, style, tags)
            draw_detections(canvas, result.detections, color, style, tags,
                            result.box_labels)
            obstacles += [tuple(b) for b in result.detections.xyxy]
        for marks in result.landmarks:
            draw_landmarks(canvas, marks, color, style)
            extent = _extent(marks)
            if extent is not None:
                obstacles.append(extent)
    obstacles += tags
    if beside:
        obstacles.append(tag_half(canvas, _left_name(results), style))
    rows: list[Entry] = []
    if show_text:
        for result, color in zip(results, colors, strict=True):
            rows += entries_for(color, result.text, result.bars)
    elif legend_only:
        rows = [Entry(r.processor, c, swatch=True)
                for r, c in zip(results, colors, strict=True) if _draws_marks(r)]
    draw_readout(canvas, rows, style, obstacles)
    if not beside:
        return canvas
    halves = [canvas]
    for name, color, half in beside:
        half = half.copy()
        tag_half(half, name, style, color)
        halves.append(half)
    return np.hstack(halves)


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
