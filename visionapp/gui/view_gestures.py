"""Drags and clicks on the live view, routed to the processors that say how they react.

A processor opts in with ``view_rect`` / ``view_region`` / ``view_click`` / ``inspect``
(:mod:`visionapp.core.view_edits`); the window knows no processor's parameters. What a
processor returns is applied as if typed in its panel, so the edit reaches the worker like any
other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from visionapp.core import registry
from visionapp.core.annotate import final_image
from visionapp.core.errors import VisionappError
from visionapp.core.pipeline import input_of
from visionapp.core.playback_messages import Packet
from visionapp.core.view_edits import (
    Inspection,
    TakesViewClick,
    TakesViewDrag,
    TakesViewInspect,
    TakesViewRect,
    TakesViewRegion,
    TakesViewRightClick,
    ViewEdit,
)
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.status_line import StatusLine

ADD_ON_DRAG = "template"  # added when no processor in the chain takes a dragged rectangle


class ViewGestures:
    def __init__(self, chain: ChainPanel, packet: Callable[[], Packet | None],
                 status: StatusLine, inspect: Callable[[str, Inspection], None] | None = None):
        self._chain = chain
        self._packet = packet
        self._status = status
        self._inspect = inspect  # shows an inspection (the window's inspector dialog)

    def on_drag(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """A drag (image pixels): a processor that grabs what is under its start (a line's end,
        a zone's corner) moves it; otherwise a drag of 4×4 px or more is a rectangle."""
        if self._first_answer(TakesViewDrag, lambda p, r: p.view_drag((x0, y0), (x1, y1), r)):
            return
        w, h = abs(x1 - x0), abs(y1 - y0)
        if w >= 4 and h >= 4:
            self.on_rect(min(x0, x1), min(y0, y1), w, h)

    def on_right_click(self, x: int, y: int) -> None:
        """A right click (image pixel): e.g. deletes the zone corner under it."""
        self._first_answer(TakesViewRightClick, lambda p, r: p.view_right_click((x, y), r))

    def _first_answer(self, kind: type, ask: Callable[[Any, Any], ViewEdit | None]) -> bool:
        """Ask the processors of ``kind``, in chain order, with their result of the latest
        frame; apply the first answer. True if one answered."""
        packet = self._packet()
        if packet is None:
            return False
        results = dict(zip(packet.keys, packet.results, strict=True))
        for row, slot in enumerate(self._chain.slots):
            result = results.get(slot.key)
            if result is None or not isinstance(slot.processor, kind):
                continue
            edit = ask(slot.processor, result)
            if edit is not None:
                self._apply(row, edit)
                return True
        return False

    def on_rect(self, x: int, y: int, w: int, h: int) -> None:
        """A rectangle (image pixels) dragged on the view, for the selected rectangle-taking
        processor, else the first, else a new template: a region taker gets the rectangle's
        place (e.g. ocr's ROI), a rect taker the pixels cut from the frame the chain saw."""
        packet = self._packet()
        if packet is None:
            return
        crop = final_image(packet.frame.image, packet.results)[y : y + h, x : x + w]
        if crop.size == 0:
            return
        slots = self._chain.slots
        takers = [row for row, slot in enumerate(slots)
                  if isinstance(slot.processor, TakesViewRect | TakesViewRegion)]
        selected = self._chain.list.currentRow()
        row = selected if selected in takers else (takers[0] if takers else None)
        processor = slots[row].processor if row is not None else registry.create(ADD_ON_DRAG)
        try:
            if isinstance(processor, TakesViewRegion):
                edit = processor.view_region((x, y, crop.shape[1], crop.shape[0]))
            else:
                edit = processor.view_rect(np.ascontiguousarray(crop))
        except VisionappError as exc:
            self._status.error(str(exc))
            return
        if edit is None:
            return
        if row is None:
            self._chain.apply_or_add(ADD_ON_DRAG, edit.changes)
            self._status.info(edit.message)
        else:
            self._apply(row, edit)

    def on_click(self, x: int, y: int) -> None:
        """A click (image pixel): the first processor that answers for it, in chain order."""
        packet = self._packet()
        if packet is None:
            return
        position = {key: i for i, key in enumerate(packet.keys)}
        for row, slot in enumerate(self._chain.slots):
            i = position.get(slot.key)
            if i is None:
                continue
            if isinstance(slot.processor, TakesViewClick):
                edit = slot.processor.view_click((x, y), packet.results[i])
                if edit is not None:
                    self._apply(row, edit)
                    return
            if self._inspect_at(slot.processor, packet, i, x, y):
                self._chain.list.setCurrentRow(row)
                return

    def _inspect_at(self, processor, packet: Packet, i: int, x: int, y: int) -> bool:
        """Ask ``processor`` (result ``i`` of the packet) to take apart the value under (x, y);
        maps shown beside the frame (side by side) count from their own left edge."""
        if self._inspect is None or not isinstance(processor, TakesViewInspect):
            return False
        frame = input_of(packet.frame, packet.results[:i])
        w = frame.image.shape[1]
        if x // w != _panel_of(packet.results, i):
            return False  # a click on another processor's map
        try:
            inspection = processor.inspect(frame, (x % w, y))
        except VisionappError as exc:
            self._status.error(str(exc))
            return False
        if inspection is None:
            return False
        self._inspect(processor.name, inspection)
        return True

    def _apply(self, row: int, edit: ViewEdit) -> None:
        if self._chain.apply(row, edit.changes):
            self._chain.list.setCurrentRow(row)
            self._status.info(edit.message)


def _panel_of(results, i: int) -> int:
    """Where result ``i``'s map is on the view: 0 on the frame (replace, blend), else its
    place among the maps the annotator puts beside the frame, in chain order."""
    result = results[i]
    if result.overlay is None or result.overlay_mode != "side_by_side":
        return 0
    beside = [r for r in results if r.overlay is not None and r.overlay_mode == "side_by_side"]
    return 1 + next(k for k, r in enumerate(beside) if r is result)
