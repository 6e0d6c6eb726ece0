"""The readout drawn on the frame: a translucent box in the corner that covers the fewest
detections, each processor's lines after a swatch of its colour (the legend), probability bars
with their class names; and the name tags of side-by-side halves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from visionapp.core.annotate_style import (
    FONT,
    Style,
    ascii_text,
    fit_text,
    place_tag,
    tag_size,
    text_size,
    translucent_rect,
)
from visionapp.core.types import Bars

MAX_HEIGHT_SHARE = 0.45  # the readout box never takes more of the frame's height than this
BAR_TEXT_WIDTHS = 6  # a bar is this many capital heights long


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the readout: text, after a swatch when ``swatch`` is a colour (a processor's
    first line), or a bar of ``value`` in [0, 1] named ``text`` in ``color``."""

    text: str
    color: tuple[int, int, int] | None = None
    swatch: bool = False
    value: float | None = None


def entries_for(color: tuple[int, int, int], lines: Sequence[str],
                bars: Bars | None) -> list[Entry]:
    """A processor's readout rows: its lines (the first one after its colour swatch), then its
    bars."""
    rows = [Entry(line, color, swatch=i == 0) for i, line in enumerate(lines)]
    if bars is not None:
        rows += [Entry(label, color, value=float(np.clip(v, 0, 1)))
                 for label, v in zip(bars.labels, bars.values, strict=True)]
    return rows


def _overlap(rect, obstacles: Sequence) -> float:
    """How much of the obstacles ``rect`` hides: the sum of each one's covered fraction."""
    x1, y1, x2, y2 = rect
    total = 0.0
    for ox1, oy1, ox2, oy2 in obstacles:
        iw = min(x2, ox2) - max(x1, ox1)
        ih = min(y2, oy2) - max(y1, oy1)
        if iw > 0 and ih > 0:
            total += iw * ih / max(1.0, (ox2 - ox1) * (oy2 - oy1))
    return total


def corner_for(size_wh: tuple[int, int], frame_wh: tuple[int, int], obstacles: Sequence,
               margin: int) -> tuple[int, int]:
    """Top-left of the corner placement of a ``size_wh`` box that hides least of
    ``obstacles`` (xyxy); ties go to top-left, top-right, bottom-left, bottom-right."""
    (bw, bh), (w, h) = size_wh, frame_wh
    right, bottom = max(0, w - bw - margin), max(0, h - bh - margin)
    left, top = min(margin, right), min(margin, bottom)
    corners = [(left, top), (right, top), (left, bottom), (right, bottom)]
    return min(corners, key=lambda c: _overlap((c[0], c[1], c[0] + bw, c[1] + bh), obstacles))


def draw_readout(canvas: NDArray[np.uint8], rows: Sequence[Entry], style: Style,
                 obstacles: Sequence) -> tuple[int, int, int, int] | None:
    """The rows in a translucent box in the corner hiding the fewest obstacles; rows that do
    not fit in MAX_HEIGHT_SHARE of the frame are counted in a last "+N more" row. Returns the
    box (xyxy), None when there is nothing to draw."""
    if not rows:
        return None
    h, w = canvas.shape[:2]
    pad = style.pad_px
    _, th, base = text_size("Ag", style)
    line_h = th + base + pad
    fit = max(1, int((h * MAX_HEIGHT_SHARE - pad) // line_h))
    rows = list(rows)
    if len(rows) > fit:
        hidden = len(rows) - fit + 1
        rows = rows[: fit - 1] + [Entry(f"+{hidden} more (see the panel)")]
    swatch = th
    indent = swatch + pad
    bar_w = BAR_TEXT_WIDTHS * th
    max_w = w - 2 * pad
    label_w = max((text_size(r.text, style)[0] for r in rows if r.value is not None), default=0)
    label_w = min(label_w, max(th, max_w // 3))
    value_w = text_size("0.00", style)[0]
    widths = []
    for row in rows:
        if row.value is not None:
            widths.append(indent + label_w + pad + bar_w + pad + value_w)
        else:
            widths.append(indent + text_size(row.text, style)[0])
    box_w = min(max(widths) + 2 * pad, w)
    box_h = min(line_h * len(rows) + pad, h)
    x0, y0 = corner_for((box_w, box_h), (w, h), obstacles, pad)
    translucent_rect(canvas, (x0, y0, x0 + box_w, y0 + box_h))
    inner = box_w - 2 * pad - indent
    for i, row in enumerate(rows):
        top = y0 + pad + i * line_h
        baseline = top + th
        x = x0 + pad
        if row.swatch and row.color is not None:
            cv2.rectangle(canvas, (x, top), (x + swatch - 1, top + th - 1), row.color, cv2.FILLED)
        x += indent
        if row.value is None:
            cv2.putText(canvas, fit_text(row.text, style, inner), (x, baseline), FONT,
                        style.font_scale, (255, 255, 255), style.text_thick, cv2.LINE_AA)
            continue
        this_bar = max(th, min(bar_w, inner - label_w - value_w - 2 * pad))
        cv2.putText(canvas, fit_text(row.text, style, label_w), (x, baseline), FONT,
                    style.font_scale, (255, 255, 255), style.text_thick, cv2.LINE_AA)
        bx = x + label_w + pad
        color = row.color or (255, 255, 255)
        cv2.rectangle(canvas, (bx, top), (bx + this_bar, top + th), (90, 90, 90), cv2.FILLED)
        filled = round(this_bar * row.value)
        if filled:
            cv2.rectangle(canvas, (bx, top), (bx + filled, top + th), color, cv2.FILLED)
        cv2.putText(canvas, f"{row.value:.2f}", (bx + this_bar + pad, baseline), FONT,
                    style.font_scale, (255, 255, 255), style.text_thick, cv2.LINE_AA)
    return x0, y0, x0 + box_w, y0 + box_h


def tag_half(canvas: NDArray[np.uint8], name: str, style: Style,
             color=(40, 40, 40)) -> tuple[int, int, int, int]:
    """The name of a side-by-side half, in a tag at the middle of its bottom edge."""
    h, w = canvas.shape[:2]
    tag_w, tag_h = tag_size(fit_text(name, style, w - 2 * style.pad_px), style)
    return place_tag(canvas, name, [(max(0, (w - tag_w) // 2), h - tag_h)], color, style)


def text_page(frame_hw: tuple[int, int], boxes_xyxy, texts: Sequence[str]) -> np.ndarray:
    """A white page of the frame's size with each text written where it was read, filling its
    box's height: the words read, beside the words seen, none covering the other."""
    h, w = frame_hw
    page = np.full((h, w, 3), 255, np.uint8)
    for (x1, y1, x2, y2), text in zip(np.asarray(boxes_xyxy, np.float64).reshape(-1, 4), texts,
                                      strict=True):
        text = ascii_text(text)
        box_h, box_w = max(1.0, y2 - y1), max(1.0, x2 - x1)
        (tw, th), base = cv2.getTextSize(text, FONT, 1.0, 1)
        scale = max(0.2, min(0.8 * box_h / max(1, th + base), box_w / max(1, tw)))
        thick = max(1, round(scale * 1.5))
        (_, th), base = cv2.getTextSize(text, FONT, scale, thick)
        baseline = int(y1 + (box_h + th) / 2 - base / 2)
        cv2.putText(page, text, (int(x1), baseline), FONT, scale, (20, 20, 20), thick,
                    cv2.LINE_AA)
    return page
