"""Opening frame sources: camera, network stream, video file, single image, image folder, and the
``demo:`` scene, by one spec string (:func:`open_source`).

Files are ordered and lossless (:mod:`visionapp.core.file_sources`): ``read()`` returns every
frame in turn. Live sources (cameras, a real-time demo) are latest-frame-wins
(:mod:`visionapp.core.live_sources`), and so are network streams, which reconnect when they
drop (:mod:`visionapp.core.network_sources`). What they share — :class:`Source`, streams, the image
helpers — is in :mod:`visionapp.core.source_base`; this module re-exports all of it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from visionapp.core.demo import DemoScene
from visionapp.core.errors import SourceError
from visionapp.core.file_sources import (
    DemoSource,
    ImageListSource,
    VideoSource,
    image_files,
    open_folder,
    open_image,
)
from visionapp.core.live_sources import (
    CAMERA_OPEN_TIMEOUT_S,
    LatestFrameSlot,
    LiveSource,
    list_cameras,
    open_camera,
)
from visionapp.core.network_sources import (
    NetworkSource,
    StreamOptions,
    is_stream_url,
    mask_url,
    open_stream,
)
from visionapp.core.source_base import (
    IMAGE_SUFFIXES,
    Source,
    SourceInfo,
    as_bgr,
    natural_key,
    new_stream_id,
)

__all__ = [
    "CAMERA_OPEN_TIMEOUT_S", "DEMO_MAX_FPS", "DEMO_MAX_SIDE", "IMAGE_SUFFIXES", "DemoSource",
    "ImageListSource", "LatestFrameSlot", "LiveSource", "NetworkSource", "Source", "SourceInfo",
    "StreamOptions", "VideoSource", "as_bgr", "image_files", "is_stream_url", "list_cameras",
    "mask_url", "natural_key", "new_stream_id", "open_camera", "open_demo", "open_folder",
    "open_image", "open_source", "open_stream",
]

DEMO_MAX_FPS = 1000.0
DEMO_MAX_SIDE = 7680


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
                folder_fps: float = 1.0, stream: StreamOptions | None = None,
                decoder_threads: int = 0) -> Source:
    """Open ``spec``: "demo:[opts]", a camera index ("0"), a network stream URL (rtsp://,
    http(s)://, udp://; ``stream`` sets its timeouts), a video, an image, or a folder.
    ``decoder_threads`` caps a video file's decoding threads (0: FFmpeg's default)."""
    spec = str(spec).strip()
    if is_stream_url(spec):
        return open_stream(spec, stream)
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
    return VideoSource(path, decoder_threads)
