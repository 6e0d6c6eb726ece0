"""How overlays look: one size rule for every processor, a colour per processor, and the small
drawing helpers (labels kept inside the frame, dashed boxes, ASCII-safe text).

Sizes follow the frame's shorter side, so a 100×100 photo and a 4K video both get text a viewer
can read at the size the view shows them: capital letters are ``TEXT_SHARE`` of the short side
(never below ``MIN_TEXT_PX``), lines ``LINE_SHARE`` of it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

FONT = cv2.FONT_HERSHEY_SIMPLEX
_CAP_PX_AT_SCALE_1 = 22  # cv2.getTextSize("A", FONT, 1.0, 1) height
TEXT_SHARE = 0.03  # capital height / shorter frame side
MIN_TEXT_PX = 7  # smaller Hershey capitals stop being readable
LINE_SHARE = 1 / 320  # box line width / shorter frame side

# Distinct on video and for the common colour-vision deficiencies (Okabe–Ito, brightened), BGR.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 180, 60),   # sky blue
    (0, 150, 255),    # orange
    (90, 215, 60),    # green
    (200, 80, 255),   # pink
    (40, 230, 250),   # yellow
    (255, 110, 150),  # violet
    (200, 215, 0),    # teal
    (80, 80, 240),    # red
)

_ASCII = {"→": "->", "×": "x", "—": "-", "–": "-", "≥": ">=", "≤": "<=", "…": "...", "·": "-",
          "√": "sqrt", "²": "2", "∂": "d", "⚠": "!", "«": '"', "»": '"', "„": '"', "“": '"',
          "”": '"', "‘": "'", "’": "'", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o"}


@dataclass(frozen=True, slots=True)
class Style:
    """Sizes for one frame size, in pixels of that frame."""

    font_scale: float
    text_thick: int
    line_px: int
    pad_px: int

    @property
    def text_px(self) -> int:
        """Capital letter height."""
        return max(1, round(_CAP_PX_AT_SCALE_1 * self.font_scale))

    def smaller(self, factor: float) -> Style:
        scale = max(MIN_TEXT_PX / _CAP_PX_AT_SCALE_1, self.font_scale * factor)
        return Style(scale, max(1, round(self.text_thick * factor)), self.line_px, self.pad_px)


def style_for(hw: tuple[int, int]) -> Style:
    """The size rule every processor's overlay follows, for a frame of ``hw`` (rows, cols)."""
    short = max(1, min(hw))
    text_px = max(MIN_TEXT_PX, round(short * TEXT_SHARE))
    return Style(font_scale=text_px / _CAP_PX_AT_SCALE_1,
                 text_thick=max(1, round(text_px / 15)),
                 line_px=max(1, round(short * LINE_SHARE)),
                 pad_px=max(2, round(text_px / 4)))


def processor_color(position: int) -> tuple[int, int, int]:
    """The colour of the processor at ``position`` among the drawn results (chain order)."""
    return PALETTE[position % len(PALETTE)]


def ascii_text(text: str) -> str:
    """Hershey fonts draw ASCII only: arrows, ×, dashes become their ASCII spelling, accented
    letters their base letter ("über" → "uber"); anything else a "?". (The side panel shows the
    text as it is.)"""
    if text.isascii():
        return text
    for char, plain in _ASCII.items():
        text = text.replace(char, plain)
    bases = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in bases if not unicodedata.combining(c))
    return text.encode("ascii", "replace").decode()


def text_size(text: str, style: Style) -> tuple[int, int, int]:
    """(width, capital height, descent) of ``text`` in ``style``."""
    (w, h), base = cv2.getTextSize(text, FONT, style.font_scale, style.text_thick)
    return w, h, base


def fit_text(text: str, style: Style, max_w: int) -> str:
    """``text`` cut to ``max_w`` pixels, ending in ".." when cut."""
    text = ascii_text(text)
    if text_size(text, style)[0] <= max_w:
        return text
    while len(text) > 1 and text_size(text + "..", style)[0] > max_w:
        text = text[:-1]
    return text + ".."


def readable_on(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``color`` (BGR)."""
    b, g, r = color
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def tag_size(text: str, style: Style) -> tuple[int, int]:
    """(width, height) of the filled tag :func:`place_tag` draws for ``text``."""
    tw, th, base = text_size(text, style)
    return tw + 2 * style.pad_px, th + base + style.pad_px


def _spot(frame_wh: tuple[int, int], tag_wh: tuple[int, int], anchors,
          taken: list) -> tuple[tuple[int, int, int, int], bool]:
    """The rectangle of a ``tag_wh`` tag at the first anchor (moved across to stay in the
    frame) that keeps it inside the frame and clear of ``taken``; with none clear, the first
    that stays inside, and False."""
    (w, h), (tag_w, tag_h) = frame_wh, tag_wh
    xy = np.asarray(anchors, np.float64).reshape(-1, 2)
    left = np.clip(xy[:, 0], 0, max(0, w - tag_w)).astype(int)
    top = xy[:, 1].astype(int)
    inside = (xy[:, 1] >= 0) & (xy[:, 1] + tag_h <= h)
    clear = inside.copy()
    if taken and inside.any():
        t = np.asarray(taken, np.float64).reshape(-1, 4)
        overlaps = ((left[:, None] < t[None, :, 2]) & (t[None, :, 0] < left[:, None] + tag_w)
                    & (top[:, None] < t[None, :, 3]) & (t[None, :, 1] < top[:, None] + tag_h))
        clear &= ~overlaps.any(axis=1)
    pick = np.flatnonzero(clear if clear.any() else inside)
    if len(pick):
        k = int(pick[0])
        return (int(left[k]), int(top[k]), int(left[k]) + tag_w, int(top[k]) + tag_h), \
            bool(clear.any())
    x = int(left[0])
    y = int(min(max(0, xy[0, 1]), max(0, h - tag_h)))
    return (x, y, x + tag_w, y + tag_h), False


def place_tag(canvas: NDArray[np.uint8], text: str, anchors, color, style: Style,
              taken: list | None = None, short: str = "") -> tuple[int, int, int, int]:
    """A filled tag with ``text`` at the first of ``anchors`` (top-left corners, tried in
    order) where it stays inside the frame and overlaps no tag in ``taken``; if none is free,
    the ``short`` text, at the first anchor that keeps it inside the frame. The tag is appended
    to ``taken``; returns it."""
    h, w = canvas.shape[:2]
    pad = style.pad_px
    taken = [] if taken is None else taken
    text = fit_text(text, style, max(1, w - 2 * pad))
    rect, clear = _spot((w, h), tag_size(text, style), anchors, taken)
    if short and not clear:  # crowded: the short form overlaps less, free or not
        text = fit_text(short, style, max(1, w - 2 * pad))
        rect, _ = _spot((w, h), tag_size(text, style), anchors, taken)
    left, top, right, bottom = rect
    _, th, _ = text_size(text, style)
    cv2.rectangle(canvas, (left, top), (right - 1, bottom - 1), color, cv2.FILLED)
    cv2.rectangle(canvas, (left, top), (right - 1, bottom - 1), (40, 40, 40), 1)  # tags apart
    cv2.putText(canvas, text, (left + pad, top + pad // 2 + th), FONT, style.font_scale,
                readable_on(color), style.text_thick, cv2.LINE_AA)
    taken.append(rect)
    return rect


def put_label(canvas: NDArray[np.uint8], text: str, box_xyxy, color, style: Style,
              *, inside: bool = False, taken: list | None = None,
              short: str = "") -> tuple[int, int, int, int]:
    """A tag with ``text`` on the top edge of ``box_xyxy``: above the box, else inside its
    top, else below it, else inside its bottom, else beside the box (right, left), else a row
    further up or down (the first that stays in the frame and is clear of the tags in
    ``taken``); ``inside`` starts inside the top. Returns the tag (xyxy)."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    tag_w, tag_h = tag_size(fit_text(text, style, 10**6), style)
    anchors = [(x1, y1 - tag_h), (x1, y1), (x1, y2), (x1, y2 - tag_h)]
    if x2 - x1 > tag_w:  # the same, right-aligned
        anchors += [(x2 - tag_w, y) for _, y in anchors]
    if inside:
        anchors = anchors[1:2] + anchors[:1] + anchors[2:]
    # Crowded (joints close together, cars in a queue): beside the box, then rows further off.
    middle = (y1 + y2) / 2 - tag_h / 2
    anchors += [(x2 + style.pad_px, middle), (x1 - tag_w - style.pad_px, middle),
                (x1, y1 - 2 * tag_h), (x1, y2 + tag_h), (x1, y1 - 3 * tag_h), (x1, y2 + 2 * tag_h)]
    return place_tag(canvas, text, anchors, color, style, taken, short)


def dashed_rect(canvas: NDArray[np.uint8], xyxy, color, thick: int, dash_px: int) -> None:
    """A rectangle drawn in dashes of ``dash_px`` with gaps as long."""
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    for a, b in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)),
                 ((x1, y2), (x1, y1))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        step = max(2, dash_px)
        for start in range(0, length, 2 * step):
            end = min(length, start + step)
            p = (a[0] + (b[0] - a[0]) * start // max(1, length),
                 a[1] + (b[1] - a[1]) * start // max(1, length))
            q = (a[0] + (b[0] - a[0]) * end // max(1, length),
                 a[1] + (b[1] - a[1]) * end // max(1, length))
            cv2.line(canvas, p, q, color, thick, cv2.LINE_AA)


def translucent_rect(canvas: NDArray[np.uint8], xyxy, darken: float = 0.35) -> None:
    """Darken the pixels of ``xyxy`` (clipped to the frame) to ``darken`` of their value."""
    h, w = canvas.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in xyxy)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 > x1 and y2 > y1:
        roi = canvas[y1:y2, x1:x2]
        roi[:] = cv2.convertScaleAbs(roi, alpha=darken)
