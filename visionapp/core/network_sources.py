"""Network streams (``rtsp://``, ``rtsps://``, ``http(s)://`` MJPEG or HLS, ``udp://``) through
OpenCV's FFmpeg backend, latest-frame-wins like cameras, and reconnecting when they drop.

Nothing here can hang: opening is bounded by ``open_timeout_s`` (FFmpeg's own timeout, and a
helper thread as a second guard), a read that gets no frame within ``read_timeout_s`` counts as
a lost connection. A lost stream is reopened with backoff (1 s, 2 s, 4 s … up to
``backoff_max_s``) until ``max_attempts`` fail in a row; meanwhile :attr:`NetworkSource.status`
says what is happening ("reconnecting (attempt 3) in 4 s"), frame indices continue, timestamps
stay wall-clock time since the source opened, and the first frame after a reconnect carries
the gap in ``Frame.gap_ms``. User names and passwords in URLs are never shown: every message
uses :func:`mask_url`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import cv2

from visionapp.core.errors import SourceError
from visionapp.core.live_sources import LatestFrameSlot
from visionapp.core.source_base import Source, SourceInfo, as_bgr
from visionapp.core.timeout import call_with_timeout
from visionapp.core.types import Frame

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "udp")
_SECRET_QUERY = re.compile(r"(?i)((?:pass(?:word)?|pwd|token|key|auth|secret)=)[^&]*")
# FFmpeg options for every stream: no input buffering, low-delay decoding; RTSP over TCP (UDP
# loses packets on busy networks and smears frames).
_LOW_LATENCY = "fflags;nobuffer|flags;low_delay|max_delay;500000"
_OPEN_LOCK = threading.Lock()  # the options travel in a process-wide environment variable


def is_stream_url(spec: str) -> bool:
    scheme, sep, _ = spec.strip().partition("://")
    return bool(sep) and scheme.lower() in STREAM_SCHEMES


def mask_url(url: str) -> str:
    """``url`` with its user name and password (and password-like query values) as ``***``."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "<stream URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc, query=_SECRET_QUERY.sub(r"\1***",
                                                                          parts.query)))


def natural_stream_name(url: str) -> str:
    """A file-name stem for a stream: its host and last path part (``10.0.0.5_ch1``), never a
    user name or password; ``stream`` when neither is there."""
    rest = url.strip().partition("://")[2]
    host, _, path = rest.partition("/")
    host = host.rpartition("@")[2].partition(":")[0]
    last = path.partition("?")[0].rstrip("/").rpartition("/")[2].rpartition(".")
    stem = last[0] or last[2]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(filter(None, (host, stem)))) or "stream"


def shown_spec(spec: str) -> str:
    """An input as messages may show it: stream URLs masked, anything else unchanged."""
    return mask_url(spec) if is_stream_url(spec) else spec


@dataclass(frozen=True)
class StreamOptions:
    """How patient a network source is. Times in seconds; ``max_attempts`` 0: retry forever."""

    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    backoff_first_s: float = 1.0
    backoff_max_s: float = 30.0
    max_attempts: int = 8

    def backoff_s(self, attempt: int) -> float:
        """The wait before reconnect ``attempt`` (1-based): first, 2·first, 4·first … capped."""
        return min(self.backoff_max_s, self.backoff_first_s * 2 ** (attempt - 1))


def _open_capture(url: str, options: StreamOptions) -> cv2.VideoCapture | None:
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(options.open_timeout_s * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(options.read_timeout_s * 1000)]
    ffmpeg_options = _LOW_LATENCY
    if url.lower().startswith(("rtsp://", "rtsps://")):
        ffmpeg_options = "rtsp_transport;tcp|" + ffmpeg_options

    def open_it() -> cv2.VideoCapture:
        with _OPEN_LOCK:
            previous = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS")
            os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = ffmpeg_options
            try:
                return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
            finally:
                if previous is None:
                    os.environ.pop("OPENCV_FFMPEG_CAPTURE_OPTIONS", None)
                else:
                    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = previous

    try:  # FFmpeg honours the timeout; the helper thread guards against one that does not
        cap = call_with_timeout(open_it, options.open_timeout_s + 2.0, "stream-open")
    except TimeoutError:
        return None
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap
    cap.release()
    return None


class NetworkSource(Source):
    """A network stream read on a capture thread into a one-frame slot (latest frame wins).

    ``status`` is None while frames flow, else one line for the user ("reconnecting (attempt
    2) in 2 s", "gave up …"); ``reconnects`` counts the successful reconnections.
    """

    def __init__(self, url: str, cap: cv2.VideoCapture, options: StreamOptions) -> None:
        shown = mask_url(url)
        wh = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if 0 < fps <= 240 else 25.0  # MJPEG over HTTP declares no rate
        super().__init__(SourceInfo("stream", shown, wh, fps, None, True,
                                    detail=f"{wh[0]}×{wh[1]} network stream"))
        self._url = url
        self._cap: cv2.VideoCapture | None = cap
        self._options = options
        self._slot = LatestFrameSlot()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status: str | None = None
        self.reconnects = 0
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="capture-stream", daemon=True)
        self._thread.start()

    @property
    def status(self) -> str | None:
        with self._lock:
            return self._status

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def _say(self, status: str | None) -> None:
        with self._lock:
            self._status = status
        if status:
            log.warning("%s: %s", self.info.name, status)

    def _loop(self) -> None:
        index, last_ms, gap_ms = 0, -1, 0
        while not self._stop.is_set():
            cap = self._cap
            ok, image = cap.read() if cap is not None else (False, None)
            if ok and image is not None:
                now = time.monotonic()
                stamp = max(last_ms + 1, int((now - self._t0) * 1000))
                self._slot.put(Frame(as_bgr(image), index, stamp, time.perf_counter(),
                                     stream_id=self.stream_id, gap_ms=gap_ms))
                index, last_ms, gap_ms = index + 1, stamp, 0
                continue
            lost_at = time.monotonic()
            if cap is not None:
                cap.release()
                self._cap = None
            if not self._reconnect():
                return
            gap_ms = int((time.monotonic() - lost_at) * 1000)
            self.reconnects += 1
            self._say(None)
            log.warning("%s: reconnected after %.1f s", self.info.name, gap_ms / 1000)

    def _reconnect(self) -> bool:
        """Reopen with backoff; False once stopped or after ``max_attempts`` failures."""
        opts = self._options
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            if opts.max_attempts and attempt > opts.max_attempts:
                message = (f"{self.info.name}: gave up after {opts.max_attempts} reconnect "
                           "attempts; check the camera and the network, then open it again")
                self._say(message)
                self._slot.finish(message)
                return False
            wait_s = opts.backoff_s(attempt)
            self._say(f"connection lost; reconnecting (attempt {attempt}) in {wait_s:g} s")
            if self._stop.wait(wait_s):
                break
            self._say(f"reconnecting (attempt {attempt})")
            cap = _open_capture(self._url, opts)
            if cap is not None:
                if self._stop.is_set():
                    cap.release()
                    break
                self._cap = cap
                return True
        self._slot.finish()
        return False

    def ready(self, timeout_s: float) -> bool:
        return self._slot.ready(timeout_s)

    def read(self) -> Frame | None:
        """The newest frame; waits through reconnects (bounded by ``max_attempts``). Raises
        SourceError once the source gave up; None after :meth:`close`."""
        frame = self._slot.take()
        if frame is None and self._slot.error:
            raise SourceError(self._slot.error)
        if frame is not None:
            self._position = frame.index + 1
        return frame

    def close(self) -> None:
        self._stop.set()
        self._slot.finish()
        self._thread.join(timeout=self._options.read_timeout_s + 1.0)
        if self._cap is not None and not self._thread.is_alive():
            self._cap.release()


def open_stream(url: str, options: StreamOptions | None = None) -> NetworkSource:
    """Connect to ``url`` within ``options.open_timeout_s``; SourceError naming the masked URL
    and what to check otherwise."""
    options = options or StreamOptions()
    shown = mask_url(url)
    t0 = time.monotonic()
    cap = _open_capture(url, options)
    if cap is None:
        raise SourceError(f"could not connect to {shown} within {options.open_timeout_s:g} s "
                          f"({time.monotonic() - t0:.1f} s tried); check the address, that the "
                          "camera or server is running, and the network")
    return NetworkSource(url, cap, options)
