"""How a processor reacts to the user's gestures on the live view, without knowing about Qt.

A processor class may define either method; the window routes a drag or a click to the
processors in the chain that have it, and applies the parameter changes they return exactly as
if the user had typed them in the processor's panel::

    def view_rect(self, crop_bgr) -> ViewEdit | None: ...   # a rectangle dragged on the view
    def view_region(self, xywh) -> ViewEdit | None: ...     # the same, as a place in the frame
    def view_click(self, xy, result) -> ViewEdit | None: ... # a click; ``result`` is this
                                                             # processor's Result for the frame
    def view_drag(self, start_xy, end_xy, result) -> ViewEdit | None: ...  # a press, a move
    def view_right_click(self, xy, result) -> ViewEdit | None: ...        # and a release; a
                                                                          # right click
    def inspect(self, frame, xy) -> Inspection | None: ...   # a click, taken apart: the window
                                                             # shows the arithmetic behind it

None means "not for me" (a click beside every box): the window asks the next processor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from visionapp.core.types import Frame, Result


@dataclass(frozen=True, slots=True)
class ViewEdit:
    """Parameter changes (name → new value) and one line telling the user what happened."""

    changes: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""


@runtime_checkable
class TakesViewRect(Protocol):
    def view_rect(self, crop_bgr: NDArray[np.uint8]) -> ViewEdit | None:
        """``crop_bgr``: the dragged pixels (H×W×3 BGR) of the frame as the chain left it."""
        ...


@runtime_checkable
class TakesViewRegion(Protocol):
    def view_region(self, xywh: tuple[int, int, int, int]) -> ViewEdit | None:
        """``xywh``: the dragged rectangle in frame pixels (x, y, width, height)."""
        ...


@runtime_checkable
class TakesViewDrag(Protocol):
    def view_drag(self, start_xy: tuple[int, int], end_xy: tuple[int, int],
                  result: Result) -> ViewEdit | None:
        """A drag from ``start_xy`` to ``end_xy`` (frame pixels), asked before the drag counts
        as a rectangle: None leaves it to the rectangle takers (e.g. grab a point near
        ``start_xy`` and move it, or answer None when nothing is there)."""
        ...


@runtime_checkable
class TakesViewRightClick(Protocol):
    def view_right_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None: ...


@runtime_checkable
class TakesViewClick(Protocol):
    def view_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """``xy``: the clicked pixel in frame coordinates."""
        ...


@runtime_checkable
class Inspection(Protocol):
    """The arithmetic behind one value on the view. Its NDArray fields (patch, kernel, products,
    window, …) are shown as grids in field order, then ``lines()`` as text."""

    def lines(self) -> list[str]: ...


@runtime_checkable
class TakesViewInspect(Protocol):
    def inspect(self, frame: Frame, xy: tuple[int, int]) -> Inspection | None:
        """``frame``: the frame as this processor saw it (earlier results in its context);
        ``xy``: the clicked pixel of the processor's frame-sized map. None: nothing there."""
        ...
