"""Recording the processed stream of a playback session on its own encoder thread."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

from visionapp.core.errors import VisionappError
from visionapp.core.outputs import AtomicVideoWriter

QUEUE_FRAMES = 256


class Recorder:
    """Encodes processed frames on its own thread, so a slow encoder never slows processing.

    Every frame handed to :meth:`write` is encoded (up to ``QUEUE_FRAMES`` wait in line; beyond
    that ``write`` waits). A write error is kept in ``error`` and ends nothing else.
    """

    def __init__(self, path: Path, fps: float):
        self.path = path
        self.error: str | None = None
        self._writer = AtomicVideoWriter(path, fps)
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (image := self._queue.get()) is not None:
            try:
                self._writer.write(image)
            except (VisionappError, OSError) as exc:
                self.error = str(exc)

    def write(self, image_bgr: np.ndarray) -> None:
        self._queue.put(image_bgr)

    def close(self) -> int:
        """Encode what is queued, name the file; returns the number of frames written."""
        self._queue.put(None)
        self._thread.join()
        try:
            self._writer.commit()
        except (VisionappError, OSError) as exc:
            self.error = str(exc)
        return self._writer.frames
