"""Frame sources: camera, video file, single image, image folder, and the ``demo:`` scene.

Files are ordered and lossless: ``read()`` returns every frame in turn. Live sources (cameras, a
real-time demo) are latest-frame-wins: a capture thread overwrites a one-slot buffer and counts
the frames nobody took (``dropped``), so a slow consumer sees fresh frames, never a backlog.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.demo import DemoScene
from visionapp.core.errors import BadInput, SourceError
from visionapp.core.images import read_image
from visionapp.core.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"}
)
CAMERA_OPEN_TIMEOUT_S = 2.0
DEMO_MAX_FPS = 1000.0
DEMO_MAX_SIDE = 7680


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
    kind: str  # "camera" | "video" | "image" | "folder" | "demo"
    name: str
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int | None  # None: endless (live)
    is_live: bool
    detail: str = ""  # e.g. what a camera actually delivers vs what was asked
    skipped: list[str] = field(default_factory=list)  # files a folder source could not use


class Source:
    """Base class. ``read()`` returns the next Frame, or None at the end of the source."""

    info: SourceInfo
    dropped: int = 0

    def read(self) -> Frame | None:
        raise NotImplementedError

    @property
    def seekable(self) -> bool:
        return False

    def seek(self, index: int) -> None:
        raise SourceError(f"{self.info.name} cannot seek")

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- live sources


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
        self.info = info
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
    def dropped(self) -> int:  # type: ignore[override]
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
                self._slot.put(Frame(as_bgr(image), index, stamp, now))
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
        return frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._release()


def _open_capture(index: int) -> cv2.VideoCapture | None:
    """Open a camera in a helper thread so a misbehaving driver cannot hang the caller."""
    box: list[cv2.VideoCapture] = []

    def opener() -> None:
        cap = cv2.VideoCapture(index)
        box.append(cap)

    thread = threading.Thread(target=opener, daemon=True)
    thread.start()
    thread.join(CAMERA_OPEN_TIMEOUT_S)
    if not box or not box[0].isOpened():
        return None
    return box[0]


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


# ----------------------------------------------------------------------------- file sources


class VideoSource(Source):
    """A video file: every frame, in order; timestamps from the frame index and fps."""

    def __init__(self, path: Path):
        self.path = path
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot decode {str(path)!r} as a video; check the file is a "
                              "complete video (mp4, avi, mkv, …)")
        ok, first = self._cap.read()
        if not ok:
            self._cap.release()
            raise SourceError(f"{str(path)!r} contains no decodable frame; the file may be "
                              "truncated or not a video")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        fps = fps if 0 < fps < 1000 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = SourceInfo("video", path.name, (first.shape[1], first.shape[0]), fps,
                               count if count > 0 else None, False)
        self._pending: np.ndarray | None = first
        self._index = 0

    @property
    def seekable(self) -> bool:
        return True

    @property
    def position(self) -> int:
        return self._index

    def seek(self, index: int) -> None:
        limit = (self.info.frame_count or 1) - 1
        index = int(np.clip(index, 0, max(0, limit)))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._pending = None
        self._index = index

    def read(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._cap.read()
            if not ok:
                return None
        frame = Frame(as_bgr(image), self._index, round(self._index * 1000 / self.info.fps),
                      time.perf_counter())
        self._index += 1
        return frame

    def close(self) -> None:
        self._cap.release()


class ImageListSource(Source):
    """A single image or a folder of images (natural order); unreadable or damaged files are
    skipped and listed in ``info.skipped``."""

    def __init__(self, files: list[Path], info: SourceInfo, root: Path | None = None):
        self._files = files
        self.info = info
        self._root = root  # the folder the files are named relative to (None: a single image)
        self._index = 0

    @property
    def seekable(self) -> bool:
        return True

    @property
    def position(self) -> int:
        return self._index

    def seek(self, index: int) -> None:
        self._index = int(np.clip(index, 0, len(self._files) - 1))

    def file_name(self, index: int) -> str:
        """The image's path relative to the input folder (POSIX separators), or its name."""
        path = self._files[index]
        return path.relative_to(self._root).as_posix() if self._root else path.name

    def read(self) -> Frame | None:
        while self._index < len(self._files):
            path = self._files[self._index]
            index = self._index
            self._index += 1
            try:
                image = read_image(path)
            except BadInput as exc:
                log.info("skipped: %s", exc)
                self.info.skipped.append(path.name)
                continue
            return Frame(as_bgr(image), index, round(index * 1000 / self.info.fps),
                         time.perf_counter(), still=True)
        return None


def open_image(path: Path) -> ImageListSource:
    """A single image; a damaged or unreadable one is a BadInput naming the file."""
    image = read_image(path)
    info = SourceInfo("image", path.name, (image.shape[1], image.shape[0]), 1.0, 1, False)
    return ImageListSource([path], info)


def open_folder(path: Path, fps: float = 1.0) -> ImageListSource:
    entries = sorted((p for p in path.iterdir() if p.is_file()), key=natural_key)
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    skipped = [p.name for p in entries if p.suffix.lower() not in IMAGE_SUFFIXES
               and not p.name.startswith(".")]
    if not images:
        raise SourceError(f"folder {str(path)!r} contains no images "
                          f"({len(skipped)} other files); choose a folder of PNG/JPEG files")
    try:
        first = read_image(images[0])
        wh = (first.shape[1], first.shape[0])
    except BadInput:
        wh = (0, 0)
    info = SourceInfo("folder", path.name, wh, fps, len(images), False, skipped=skipped)
    return ImageListSource(images, info, root=path)


# ----------------------------------------------------------------------------- demo


class DemoSource(Source):
    """The demo scene as an ordered file-like source (batch: every frame, no pacing)."""

    def __init__(self, scene: DemoScene, fps: float, frames: int | None):
        self._scene = scene
        self._index = 0
        self._limit = frames
        self.info = SourceInfo("demo", "demo", (scene.width, scene.height), fps, frames, False)

    @property
    def seekable(self) -> bool:
        return True

    @property
    def position(self) -> int:
        return self._index

    def seek(self, index: int) -> None:
        self._index = max(0, index)

    def read(self) -> Frame | None:
        if self._limit is not None and self._index >= self._limit:
            return None
        i = self._index
        self._index += 1
        return Frame(self._scene.render(i, self.info.fps), i, round(i * 1000 / self.info.fps),
                     time.perf_counter())


def open_demo(options: str = "", *, realtime: bool = False,
              default_frames: int | None = None) -> Source:
    """``demo:`` with optional ``size=640x480,fps=30,frames=300``.

    ``realtime`` paces frames at fps in a capture thread (latest-frame-wins, like a camera).
    """
    size, fps, frames = (640, 480), 30.0, default_frames
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, _, value = item.partition("=")
        try:
            if key == "size":
                w, h = value.lower().split("x")
                size = (int(w), int(h))
            elif key == "fps":
                fps = float(value)
            elif key == "frames":
                frames = int(value)
            else:
                raise ValueError
        except ValueError:
            raise SourceError(f"bad demo option {item!r}; use e.g. "
                              "demo:size=640x480,fps=30,frames=300") from None
    if not (math.isfinite(fps) and 0 < fps <= DEMO_MAX_FPS):
        raise SourceError(f"demo: fps={fps:g} is not a frame rate; use a number above 0 and up "
                          f"to {DEMO_MAX_FPS:g}, e.g. demo:fps=30")
    if frames is not None and frames <= 0:
        raise SourceError(f"demo: frames={frames} must be 1 or more, e.g. demo:frames=300")
    if not (160 <= size[0] <= DEMO_MAX_SIDE and 120 <= size[1] <= DEMO_MAX_SIDE):
        raise SourceError(f"demo: size={size[0]}x{size[1]} is out of range; use from 160x120 up "
                          f"to {DEMO_MAX_SIDE}x{DEMO_MAX_SIDE}, e.g. demo:size=640x480")
    scene = DemoScene(size)
    if not realtime:
        return DemoSource(scene, fps, frames)
    info = SourceInfo("demo", "demo", size, fps, None, True, detail=f"synthetic {fps:g} fps")
    state = {"i": 0, "next": time.perf_counter()}

    def grab() -> np.ndarray | None:
        if frames is not None and state["i"] >= frames:
            return None
        delay = state["next"] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        state["next"] = max(state["next"] + 1 / fps, time.perf_counter() - 1 / fps)
        image = scene.render(state["i"], fps)
        state["i"] += 1
        return image

    return LiveSource(info, grab)


def open_source(spec: str, *, realtime: bool = False, camera_wh: tuple[int, int] | None = None,
                camera_fps: float | None = None, default_demo_frames: int | None = None,
                folder_fps: float = 1.0) -> Source:
    """Open ``spec``: "demo:[opts]", a camera index ("0"), a video, an image, or a folder."""
    spec = str(spec).strip()
    if spec == "demo" or spec.startswith("demo:"):
        return open_demo(spec.partition(":")[2], realtime=realtime,
                         default_frames=default_demo_frames)
    if spec.isdigit():
        return open_camera(int(spec), camera_wh, camera_fps)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"{spec!r} does not exist; give a video, an image, a folder of images, "
                          "a camera index like 0, or demo:")
    if path.is_dir():
        return open_folder(path, folder_fps)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return open_image(path)
    if path.stat().st_size == 0:
        raise SourceError(f"{spec!r} is an empty file; give a complete video or image")
    return VideoSource(path)
