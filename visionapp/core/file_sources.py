"""File sources (a video, an image, a folder of images) and the demo scene as an ordered source:
every frame in turn, lossless, seekable."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.demo import DemoScene
from visionapp.core.errors import BadInput, SourceError
from visionapp.core.images import read_image
from visionapp.core.source_base import IMAGE_SUFFIXES, Source, SourceInfo, as_bgr, natural_key
from visionapp.core.types import Frame

log = logging.getLogger(__name__)


class VideoSource(Source):
    """A video file: every frame, in order; timestamps from the frame index and fps.

    ``decoder_threads`` caps FFmpeg's decoding threads (0: FFmpeg's default, one per core); the
    batch path gives the decoder only the cores its other stages leave (see
    :func:`~visionapp.core.pipeline.batch_decoder_threads`). The frames are the same either way.
    """

    def __init__(self, path: Path, decoder_threads: int = 0):
        self.path = path
        params = [cv2.CAP_PROP_N_THREADS, decoder_threads] if decoder_threads > 0 else []
        self._cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, params)
        if params and not self._cap.isOpened():  # a backend without the setting: its default
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
        super().__init__(SourceInfo("video", path.name, (first.shape[1], first.shape[0]), fps,
                                    count if count > 0 else None, False))
        self._pending: np.ndarray | None = first

    seekable: ClassVar[bool] = True

    def _seek(self, index: int) -> None:
        limit = (self.info.frame_count or 1) - 1
        index = int(np.clip(index, 0, max(0, limit)))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._pending = None
        self._position = index

    def read(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._cap.read()
            if not ok:
                return None
        index = self._position
        frame = Frame(as_bgr(image), index, round(index * 1000 / self.info.fps),
                      time.perf_counter(), stream_id=self.stream_id)
        self._position += 1
        return frame

    def close(self) -> None:
        self._cap.release()


class ImageListSource(Source):
    """A single image or a folder of images (natural order); unreadable or damaged files are
    skipped and listed in ``info.skipped``."""

    def __init__(self, files: list[Path], info: SourceInfo, root: Path | None = None):
        super().__init__(info)
        self._files = files
        self._root = root  # the folder the files are named relative to (None: a single image)

    seekable: ClassVar[bool] = True

    def _seek(self, index: int) -> None:
        self._position = int(np.clip(index, 0, len(self._files) - 1))

    def file_name(self, index: int) -> str:
        """The image's path relative to the input folder (POSIX separators), or its name."""
        path = self._files[index]
        return path.relative_to(self._root).as_posix() if self._root else path.name

    def read(self) -> Frame | None:
        while self._position < len(self._files):
            path = self._files[self._position]
            index = self._position
            self._position += 1
            try:
                image = read_image(path)
            except BadInput as exc:
                log.info("skipped: %s", exc)
                self.info.skipped.append(path.name)
                continue
            return Frame(as_bgr(image), index, round(index * 1000 / self.info.fps),
                         time.perf_counter(), still=True, stream_id=self.stream_id)
        return None


def image_files(path: Path) -> tuple[list[Path], list[str]]:
    """The images in folder ``path`` in natural order, and the names of the other files (hidden
    ones left out)."""
    entries = sorted((p for p in path.iterdir() if p.is_file()), key=natural_key)
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p.name for p in entries if p.suffix.lower() not in IMAGE_SUFFIXES
              and not p.name.startswith(".")]
    return images, others


def open_image(path: Path) -> ImageListSource:
    """A single image; a damaged or unreadable one is a BadInput naming the file."""
    image = read_image(path)
    info = SourceInfo("image", path.name, (image.shape[1], image.shape[0]), 1.0, 1, False)
    return ImageListSource([path], info)


def open_folder(path: Path, fps: float = 1.0) -> ImageListSource:
    """The images of a folder, in natural order (frame_2 before frame_10); SourceError when it
    holds none."""
    images, skipped = image_files(path)
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


class DemoSource(Source):
    """The demo scene as an ordered file-like source (batch: every frame, no pacing)."""

    def __init__(self, scene: DemoScene, fps: float, frames: int | None):
        super().__init__(SourceInfo("demo", "demo", (scene.width, scene.height), fps, frames,
                                    False))
        self._scene = scene
        self._limit = frames

    seekable: ClassVar[bool] = True

    def _seek(self, index: int) -> None:
        self._position = max(0, index)

    def read(self) -> Frame | None:
        if self._limit is not None and self._position >= self._limit:
            return None
        i = self._position
        self._position += 1
        return Frame(self._scene.render(i, self.info.fps), i, round(i * 1000 / self.info.fps),
                     time.perf_counter(), stream_id=self.stream_id)
