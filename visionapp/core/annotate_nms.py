"""The non-maximum suppression view: kept boxes numbered on the picture, the candidates the
selected box removed drawn as dashed rings (each one drawn a little larger so near-duplicates are
told apart) with their IoU on their own ring, and one candidate in focus (a clicked table row, a
replay step) with the overlap that decided it shaded and the decision written beside it."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from visionapp.core.annotate_style import Style, dashed_rect, place_tag, put_label, tag_size
from visionapp.core.nms import decision_text, kept_order
from visionapp.core.types import NmsTable

FOCUS = (255, 255, 255)  # drawn over a black outline: visible on any picture
OUTLINE = (0, 0, 0)
UNDECIDED = (150, 150, 150)
MAX_RINGS = 6  # of the selected box's removed candidates, this many are labelled


def _faint(canvas: NDArray[np.uint8], boxes, color, style: Style, alpha: float) -> None:
    if not len(boxes):
        return
    layer = canvas.copy()
    for xyxy in boxes:
        dashed_rect(layer, xyxy, color, max(1, style.line_px // 2), 3 * style.pad_px)
    cv2.addWeighted(layer, alpha, canvas, 1 - alpha, 0, dst=canvas)


def _focus_rect(canvas, xyxy, style: Style, thick: int) -> None:
    dashed_rect(canvas, xyxy, OUTLINE, thick + 2, 3 * style.pad_px)
    dashed_rect(canvas, xyxy, FOCUS, thick, 3 * style.pad_px)


def _grow(xyxy, by: float, wh: tuple[int, int]) -> tuple[float, float, float, float]:
    w, h = wh
    x1, y1, x2, y2 = xyxy
    return max(0, x1 - by), max(0, y1 - by), min(w - 1, x2 + by), min(h - 1, y2 + by)


def _shade_overlap(canvas, a, b) -> None:
    x1, y1 = int(max(a[0], b[0])), int(max(a[1], b[1]))
    x2, y2 = int(min(a[2], b[2])), int(min(a[3], b[3]))
    if x2 > x1 and y2 > y1:
        roi = canvas[y1:y2, x1:x2]
        cv2.addWeighted(roi, 0.6, np.full_like(roi, FOCUS), 0.4, 0, dst=roi)


def _ring_anchors(ring, k: int, tag_wh: tuple[int, int], pad: int) -> list:
    """Where ring ``k``'s IoU tag may go: on its bottom edge, else its top edge, else down its
    right side, shifted by ``k`` so tags of neighbouring rings sit side by side."""
    x1, y1, x2, y2 = ring
    tw, th = tag_wh
    along = [x1 + j * (tw + pad) for j in range(6) if x1 + j * (tw + pad) + tw / 2 <= x2]
    return ([(x, y2) for x in along] + [(x, y1 - th) for x in along]
            + [(x2, y1 + j * (th + pad)) for j in range(8)] + [(x1 - tw, y1 + k * th)])


def draw_nms(canvas: NDArray[np.uint8], table: NmsTable, color, style: Style,
             taken: list | None = None) -> list:
    """Draw ``table`` on ``canvas``, its tags clear of (and added to) ``taken``; returns the
    kept boxes (xyxy) the readout should not hide."""
    taken = [] if taken is None else taken
    h, w = canvas.shape[:2]
    xyxy = table.candidates.xyxy
    n = len(table)
    decided = np.arange(n) < (n if table.decided < 0 else table.decided)
    selected = table.row_of_number(table.selected)
    focus = table.focus if 0 <= table.focus < n else -1
    removed = decided & (table.kept_number == 0)
    of_selected = removed & (table.removed_by == selected) if selected >= 0 else removed & False
    _faint(canvas, xyxy[~decided], UNDECIDED, style, 0.5)
    others = removed & ~of_selected
    if focus >= 0:
        others[focus] = False
    _faint(canvas, xyxy[others], color, style, 0.6)
    kept_rows = [r for r in kept_order(table) if decided[r]]
    for r in kept_rows:
        x1, y1, x2, y2 = (int(round(v)) for v in xyxy[r])
        thick = style.line_px * (2 if r == selected else 1)
        if r == selected:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), OUTLINE, thick + 2, cv2.LINE_AA)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
    labels = table.candidates.labels
    for r in kept_rows:  # numbers first: they matter most and get the best places
        number = f"#{int(table.kept_number[r])}"
        put_label(canvas, f"{number} {labels[r]} {table.candidates.confidence[r]:.2f}", xyxy[r],
                  color if r != selected else FOCUS, style, taken=taken, short=number)
    ring_rows = [r for r in np.flatnonzero(of_selected) if r != focus]
    gap = 2 * style.line_px + 3
    small = style.smaller(0.75)
    for k, r in enumerate(ring_rows[:MAX_RINGS]):
        ring = _grow(xyxy[r], (k + 1) * gap, (w, h))
        dashed_rect(canvas, ring, FOCUS, 1, 2 * style.pad_px)
        text = f"IoU {table.iou[r]:.2f}"
        place_tag(canvas, text, _ring_anchors(ring, k, tag_size(text, small), small.pad_px),
                  FOCUS, small, taken)
    if len(ring_rows) > MAX_RINGS:
        ring = _grow(xyxy[selected], (MAX_RINGS + 1) * gap, (w, h))
        text = f"+{len(ring_rows) - MAX_RINGS} more in the table"
        place_tag(canvas, text, _ring_anchors(ring, MAX_RINGS, tag_size(text, small),
                                              small.pad_px), FOCUS, small, taken)
    if focus >= 0:
        by = int(table.removed_by[focus])
        if by >= 0:
            _shade_overlap(canvas, xyxy[focus], xyxy[by])
        _focus_rect(canvas, xyxy[focus], style, style.line_px)
        x1, y1, x2, y2 = xyxy[focus]
        text = decision_text(table, focus, short=True)
        tag_w, tag_h = tag_size(text, style)
        place_tag(canvas, text, [(x1, y2), (x2 - tag_w, y2), (x1, y1 - tag_h),
                                 (x2 - tag_w, y1 - tag_h), (x1, y2 - tag_h)], FOCUS, style,
                  taken)
    return [tuple(xyxy[r]) for r in kept_rows]
