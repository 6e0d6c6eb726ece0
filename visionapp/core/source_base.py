"""What every frame source shares: :class:`Source` (reading, seeking, streams), its
:class:`SourceInfo`, and the image helpers the file and live sources both use.

A *stream* is a continuous stretch of frames. Opening a source starts one, and every
:meth:`Source.seek` (looping is ``seek(0)``) starts another: each frame carries its stream's id
in ``Frame.stream_id``, so trackers, smoothing and trails restart exactly there instead of
guessing from timestamps. Ids are unique within the process; 0 is never used by a source.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.errors import SourceError
from visionapp.core.types import Frame

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"}
)

_STREAM_IDS = itertools.count(1)


def new_stream_id() -> int:
    """An id no stream in this process has had."""
    return next(_STREAM_IDS)


def natural_key(path: Path) -> list:
    """Sort key so that frame_2 comes before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, BGRA, 16-bit) as contiguous H×W×3 uint8 BGR."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1.0, float(image.max())))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


@dataclass
class SourceInfo:
    kind: str  # "camera" | "stream" | "video" | "image" | "folder" | "demo"
    name: str
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int | None  # None: endless (live)
    is_live: bool
    detail: str = ""  # e.g. what a camera actually delivers vs what was asked
    skipped: list[str] = field(default_factory=list)  # files a folder source could not use


class Source:
    """Base class. ``read()`` returns the next Frame, or None at the end of the source.

    Subclasses that can seek say so with ``seekable`` and implement ``_seek``; they keep
    ``_position`` (the index of the frame ``read()`` returns next) up to date.
    """

    seekable: ClassVar[bool] = False

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self._position = 0
        self._stream_id = new_stream_id()

    def read(self) -> Frame | None:
        raise NotImplementedError

    @property
    def stream_id(self) -> int:
        """The stream the frames read now belong to (see the module docstring)."""
        return self._stream_id

    @property
    def position(self) -> int:
        """The index of the frame ``read()`` returns next (live: frames delivered so far)."""
        return self._position

    @property
    def dropped(self) -> int:
        """Frames a live source captured that nobody read (always 0 for files)."""
        return 0

    @property
    def status(self) -> str | None:
        """A line for the user while the source is not delivering as usual (a network stream
        reconnecting); None otherwise."""
        return None

    def ready(self, timeout_s: float) -> bool:
        """Whether ``read()`` would return at once (a frame or the end), waiting up to
        ``timeout_s``; a driver that must stay responsive (the window) asks before reading a
        source that may stall (a reconnecting stream). Always True but for such sources."""
        return True

    def seek(self, index: int) -> None:
        """Continue from frame ``index`` (clamped to the source), as a new stream."""
        if not self.seekable:
            raise SourceError(f"{self.info.name} cannot seek")
        self._seek(index)
        self._stream_id = new_stream_id()

    def _seek(self, index: int) -> None:
        raise NotImplementedError

    def file_name(self, index: int) -> str | None:
        """The file frame ``index`` was read from, relative to the input (POSIX separators);
        None when frames do not come from files of their own (videos, cameras, the demo)."""
        return None

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
