"""How loud the native libraries are: quiet by default, everything with ``visionapp -v``.

OpenCV, its FFmpeg, libjpeg and libpng write their own lines to the process's stderr (a dozen
``[ WARN:…] global cap_v4l.cpp …`` lines before visionapp says a camera is missing, "Corrupt
JPEG data: …" for a damaged photo). visionapp reports every problem itself in one line, so
those lines are noise unless someone is debugging. The CLI and the GUI call :func:`configure`
once at start; each library has one entry in :data:`QUIETERS`: OpenCV, TensorFlow (set through
its environment before it is imported), absl, Ultralytics (its banner and settings notice),
OpenVINO, and the Python warnings torch and its friends raise while loading (``FutureWarning``s
from torch.jit, "CUDA initialization" on machines without a GPU).

Native code that logs with glog/absl before anyone could configure it (MediaPipe's graph set-up,
TensorFlow's CPU-feature and "could not find cuda drivers" lines) is held back with
:func:`native_stderr_filtered` around the calls that load models; :data:`NOISE` knows their
shape.

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
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

# Lines native libraries print on their own; dropped while quiet.
NOISE = re.compile(
    rb"^\s*(\[ ?(WARN|ERROR|INFO|DEBUG|VERBOSE):|\[[\w,]+ @ 0x[0-9a-f]+\] |"  # OpenCV, FFmpeg
    rb"Corrupt JPEG data|Premature end of JPEG|Invalid SOS parameters|Unsupported marker|"
    rb"Warning: unknown JFIF|Inconsistent progression|Huffman table|"  # libjpeg
    rb"libpng (warning|error):|"
    rb"[IWEF]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] |"  # glog / absl (MediaPipe, TensorFlow)
    rb"WARNING: All log messages before absl::InitializeLog|WARNING: Logging before InitGoogle|"
    rb"INFO: Created TensorFlow Lite|To enable the following instructions: |"
    rb"WARNING: Read-only tensor #|"  # LiteRT copying an unaligned model buffer
    rb"INFO: \[[\w.]+:\d+\] )"  # LiteRT (MediaPipe's inference runtime)
)


def _opencv(verbose: bool) -> None:
    import cv2

    levels = cv2.utils.logging
    levels.setLogLevel(levels.LOG_LEVEL_WARNING if verbose else levels.LOG_LEVEL_SILENT)
    if not verbose:
        # Read by OpenCV when its FFmpeg backend starts (and by child processes): AV_LOG_QUIET.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")


def _tensorflow(verbose: bool) -> None:
    # Read by TensorFlow's C++ logging when it loads (and by child processes): errors only.
    # TF_ENABLE_ONEDNN_OPTS stays as it is: it changes numerics, not only what is printed.
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    elif os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        del os.environ["TF_CPP_MIN_LOG_LEVEL"]
    for name in ("tensorflow", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)


def _absl(verbose: bool) -> None:
    logging.getLogger("absl").setLevel(logging.INFO if verbose else logging.ERROR)
    if "absl.logging" in sys.modules:  # never imported just to quiet it
        sys.modules["absl.logging"].set_verbosity("info" if verbose else "error")


def _ultralytics(verbose: bool) -> None:
    # Read when Ultralytics is imported: no banner, no "Creating new Ultralytics Settings".
    os.environ["YOLO_VERBOSE"] = "true" if verbose else "false"
    logging.getLogger("ultralytics").setLevel(logging.INFO if verbose else logging.WARNING)


def _openvino(verbose: bool) -> None:
    logging.getLogger("openvino").setLevel(logging.INFO if verbose else logging.ERROR)
    logging.getLogger("nncf").setLevel(logging.INFO if verbose else logging.ERROR)


# Python warnings frameworks raise while loading: (category, message regex, module regex).
FRAMEWORK_WARNINGS: tuple[tuple[type[Warning], str, str], ...] = (
    (FutureWarning, "", r"(torch|ultralytics|keras|tensorflow|timm|torchvision)(\.|$)"),
    (UserWarning, r".*CUDA initialization", ""),
    (UserWarning, r".*(TypedStorage is deprecated|torch\.meshgrid)", ""),
    (DeprecationWarning, "", r"(torch|ultralytics|keras|tensorflow|absl|google\.protobuf)(\.|$)"),
    (UserWarning, "", r"(torch\.jit|torch\.cuda|keras\.src)(\.|$)"),
    (Warning, "", r"ultralytics\.nn(\.|$)"),  # TracerWarnings while exporting
)


def _python_warnings(verbose: bool) -> None:
    for category, message, module in FRAMEWORK_WARNINGS:
        warnings.filterwarnings("default" if verbose else "ignore", message=message,
                                category=category, module=module)


# Library → function(verbose) that sets how much it prints.
QUIETERS: dict[str, Callable[[bool], None]] = {
    "opencv": _opencv,
    "tensorflow": _tensorflow,
    "absl": _absl,
    "ultralytics": _ultralytics,
    "openvino": _openvino,
    "python warnings": _python_warnings,
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
