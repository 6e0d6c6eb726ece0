"""How loud the native libraries are: quiet by default, everything with ``visionapp -v``.

OpenCV, its FFmpeg, libjpeg and libpng write their own lines to the process's stderr (a dozen
``[ WARN:…] global cap_v4l.cpp …`` lines before visionapp says a camera is missing, "Corrupt
JPEG data: …" for a damaged photo). visionapp reports every problem itself in one line, so
those lines are noise unless someone is debugging. The CLI and the GUI call :func:`configure`
once at start; each library has one entry in :data:`QUIETERS` (TensorFlow, absl, Ultralytics and
OpenVINO go the same way).

Some libraries (libjpeg, libpng) print with ``fprintf(stderr, …)`` and cannot be told to stop;
decoding an image runs inside :func:`native_stderr_filtered`, which collects what is written to
file descriptor 2 meanwhile and passes on every line except theirs.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

# Lines native libraries print on their own; dropped while quiet.
NOISE = re.compile(
    rb"^\s*(\[ ?(WARN|ERROR|INFO|DEBUG|VERBOSE):|\[[\w,]+ @ 0x[0-9a-f]+\] |"  # OpenCV, FFmpeg
    rb"Corrupt JPEG data|Premature end of JPEG|Invalid SOS parameters|Unsupported marker|"
    rb"Warning: unknown JFIF|Inconsistent progression|Huffman table|"  # libjpeg
    rb"libpng (warning|error):)"
)


def _opencv(verbose: bool) -> None:
    import cv2

    levels = cv2.utils.logging
    levels.setLogLevel(levels.LOG_LEVEL_WARNING if verbose else levels.LOG_LEVEL_SILENT)
    if not verbose:
        # Read by OpenCV when its FFmpeg backend starts (and by child processes): AV_LOG_QUIET.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")


# Library → function(verbose) that sets how much it prints.
QUIETERS: dict[str, Callable[[bool], None]] = {
    "opencv": _opencv,
}

_state = {"quiet": False}


class _Held:
    """fd 2 while redirected: how many are inside, the real stderr, the file collecting."""

    lock = threading.Lock()
    depth = 0
    saved_fd = -1
    file: IO[bytes] | None = None


def configure(verbose: bool = False) -> None:
    """Quiet every native library (``verbose=False``) or let them print (``-v``)."""
    _state["quiet"] = not verbose
    for name, quiet in QUIETERS.items():
        try:
            quiet(verbose)
        except ImportError:  # an optional library that is not installed has nothing to say
            logging.getLogger(__name__).debug("%s not installed; nothing to quiet", name)


def is_quiet() -> bool:
    return _state["quiet"]


def _flush_python_stderr() -> None:
    for stream in {id(s): s for s in (sys.stderr, sys.__stderr__) if s is not None}.values():
        stream.flush()


@contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Inside: what native code writes to stderr is held back; on leaving, library noise is
    dropped and every other line written out in order. No-op unless :func:`configure` made
    things quiet. Safe across threads (the first to enter redirects, the last to leave
    restores)."""
    if not _state["quiet"]:
        yield
        return
    with _Held.lock:
        if _Held.depth == 0:
            _flush_python_stderr()
            if _Held.file is None:  # one file for the whole run: creating one costs ~0.3 ms
                _Held.file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as we do
            _Held.saved_fd = os.dup(2)
            os.dup2(_Held.file.fileno(), 2)
        _Held.depth += 1
    try:
        yield
    finally:
        _release()


def _release() -> None:
    with _Held.lock:
        _Held.depth -= 1
        if _Held.depth or _Held.file is None:
            return
        _flush_python_stderr()
        os.dup2(_Held.saved_fd, 2)
        os.close(_Held.saved_fd)
        held = _Held.file
        held.seek(0)
        written = held.read()
        held.seek(0)
        held.truncate()
    kept = [line for line in written.splitlines(keepends=True) if not NOISE.match(line)]
    if kept:
        os.write(2, b"".join(kept))
