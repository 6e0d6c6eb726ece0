"""Live sources (cameras, the real-time demo): latest-frame-wins.

A capture thread overwrites a one-slot buffer and counts the frames nobody took (``dropped``), so
a slow consumer sees fresh frames, never a backlog. A live source is one stream: it cannot seek.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import SourceError
from visionapp.core.source_base import Source, SourceInfo, as_bgr, natural_key
from visionapp.core.timeout import call_with_timeout
from visionapp.core.types import Frame

CAMERA_OPEN_TIMEOUT_S = 2.0


class LatestFrameSlot:
    """A one-frame buffer: ``put`` overwrites (counting a drop), ``take`` waits for a new frame."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0
        self.finished = False
        self.error: str | None = None

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def finish(self, error: str | None = None) -> None:
        with self._cond:
            self.finished = True
            self.error = error
            self._cond.notify_all()

    def ready(self, timeout_s: float) -> bool:
        """Whether a frame (or the end) is there to take, waiting up to ``timeout_s``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._frame is not None or self.finished,
                                       timeout_s)

    def take(self, timeout_s: float | None = None) -> Frame | None:
        """The newest frame not yet taken; None once the producer has finished."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self.finished, timeout_s)
            frame, self._frame = self._frame, None
            return frame


class LiveSource(Source):
    """Runs ``grab()`` in a capture thread; ``grab`` returns an image, or None when done."""

    def __init__(self, info: SourceInfo, grab: Callable[[], np.ndarray | None],
                 release: Callable[[], None] = lambda: None, read_timeout_s: float = 5.0):
        super().__init__(info)
        self._grab = grab
        self._release = release
        self._read_timeout_s = read_timeout_s
        self._slot = LatestFrameSlot()
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name=f"capture-{info.kind}",
                                        daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def _loop(self) -> None:
        index, last_ms = 0, -1
        try:
            while not self._stop.is_set():
                image = self._grab()
                if image is None:
                    break
                now = time.perf_counter()
                # Strictly increasing timestamps, even if two frames land in one millisecond.
                stamp = max(last_ms + 1, int((now - self._t0) * 1000))
                self._slot.put(Frame(as_bgr(image), index, stamp, now,
                                     stream_id=self.stream_id))
                index, last_ms = index + 1, stamp
        except Exception as exc:  # noqa: BLE001 - any driver error ends the stream with a message
            self._slot.finish(f"{self.info.name} stopped delivering frames: {exc}")
            return
        stopped_early = not self._stop.is_set() and self.info.kind == "camera"
        self._slot.finish(
            f"{self.info.name} stopped delivering frames (unplugged or in use by another "
            "program?); reconnect it and choose it again" if stopped_early else None
        )

    def read(self) -> Frame | None:
        frame = self._slot.take(self._read_timeout_s)
        if frame is None and self._slot.error:
            raise SourceError(self._slot.error)
        if frame is None and not self._slot.finished:
            raise SourceError(f"{self.info.name} delivered no frame for "
                              f"{self._read_timeout_s:g} s; check the device")
        if frame is not None:
            self._position = frame.index + 1
        return frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._release()


def _open_capture(index: int) -> cv2.VideoCapture | None:
    """Open a camera on a helper thread so a misbehaving driver cannot hang the caller."""
    try:
        cap = call_with_timeout(lambda: cv2.VideoCapture(index), CAMERA_OPEN_TIMEOUT_S,
                                f"camera-{index}-open")
    except TimeoutError:
        return None
    return cap if cap.isOpened() else None


def open_camera(index: int, resolution_wh: tuple[int, int] | None = None,
                fps: float | None = None, mjpg: bool = True) -> LiveSource:
    """Camera ``index`` at the requested size/fps; ``info`` says what it actually delivers."""
    cap = _open_capture(index)
    if cap is None:
        raise SourceError(f"camera {index} could not be opened within "
                          f"{CAMERA_OPEN_TIMEOUT_S:g} s; check it is connected and not in use, "
                          "or use 'demo:' or a video file")
    if mjpg:  # compressed transfer lets USB cameras deliver HD at full frame rate
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
    if resolution_wh:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution_wh[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution_wh[1])
    if fps:
        cap.set(cv2.CAP_PROP_FPS, fps)
    actual_wh = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    actual_fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    asked = ""
    if resolution_wh or fps:
        asked = f" (asked {resolution_wh or ''} {fps or ''})".replace("  ", " ")
    info = SourceInfo("camera", f"camera {index}", actual_wh, actual_fps, None, True,
                      detail=f"{actual_wh[0]}×{actual_wh[1]} @ {actual_fps:g} fps{asked}")

    def grab() -> np.ndarray | None:
        ok, image = cap.read()
        return image if ok else None

    return LiveSource(info, grab, cap.release)


def list_cameras() -> list[tuple[int, str]]:
    """(index, name) of video capture devices; names from sysfs on Linux, else "camera N"."""
    found = []
    for node in sorted(Path("/sys/class/video4linux").glob("video*"), key=natural_key):
        try:
            index = int(node.name.removeprefix("video"))
            name = (node / "name").read_text().strip()
            # Only the first node of a device captures; metadata nodes have index > 0.
            if (node / "index").is_file() and (node / "index").read_text().strip() != "0":
                continue
        except (OSError, ValueError):
            continue
        found.append((index, name or f"camera {index}"))
    return found
