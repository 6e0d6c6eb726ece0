"""The writers of every output, each built on :class:`~visionapp.core.atomic_file.AtomicFile`
(written under a temporary name, checked, then renamed: see that module): text files, images,
staged image sets and videos. The atomic-file helpers are re-exported here.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.atomic_file import (
    AtomicFile,
    check_output,
    discard_live_temporaries,
    partial_names,
    remove_stale_temporaries,
    temp_path,
    write_failed,
)
from visionapp.core.errors import BadInput

__all__ = ["FOURCC_BY_SUFFIX", "AtomicFile", "AtomicTextWriter", "AtomicVideoWriter",
           "StagedImages", "check_output", "discard_live_temporaries", "partial_names",
           "remove_stale_temporaries", "temp_path", "write_failed", "write_image"]

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG",
                    ".mkv": "MJPG"}


# ----------------------------------------------------------------------------- text and images


class AtomicTextWriter:
    """A text file (JSON lines, CSV) written to a temporary name and named on ``commit``."""

    def __init__(self, path: Path):
        self.path = path
        self._file = AtomicFile(path)
        try:
            self._fh = open(self._file.tmp, "w", encoding="utf-8")  # noqa: SIM115 - see commit
        except OSError as exc:
            self._file.discard()
            raise write_failed(path, exc) from exc

    def write(self, text: str) -> None:
        try:
            self._fh.write(text)
        except OSError as exc:
            raise write_failed(self.path, exc) from exc

    def commit(self, partial: bool = False) -> Path:
        """Flush, sync and name the file (``partial``: as ``<stem>.partial<suffix>``)."""
        try:
            self._fh.close()
        except OSError as exc:
            self.abort()
            raise write_failed(self.path, exc) from exc
        return self._file.finish(partial)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self._file.discard()


def _encoded(path: Path, image: np.ndarray) -> AtomicFile:
    try:
        ok, data = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise BadInput(f"cannot encode an image as {path.suffix!r} for {str(path)!r}; use a "
                       ".png or .jpg name")
    file = AtomicFile(path)
    file.write_bytes(data.tobytes())
    return file


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write one image atomically (encode, write and sync a temporary, then rename)."""
    return _encoded(path, image).finish()


class StagedImages:
    """Images written and synced under temporary names as they come, and all named by
    :meth:`finish` — so a failed or interrupted run never replaces an image that was there."""

    def __init__(self) -> None:
        self._files: list[AtomicFile] = []

    def add(self, path: Path, image: np.ndarray) -> None:
        self._files.append(_encoded(path, image))

    def finish(self, partial: bool = False) -> list[Path]:
        files, self._files = self._files, []
        done: list[Path] = []
        try:
            for file in files:
                done.append(file.finish(partial))
        except BaseException:
            for file in files[len(done):]:
                file.discard()
            raise
        return done

    def discard(self) -> None:
        for file in self._files:
            file.discard()
        self._files.clear()


# ----------------------------------------------------------------------------- video

SPACE_CHECK_EVERY = 32  # frames between free-space checks while encoding
_PROBE_BYTES = 256 * 1024


def _disk_full(folder: Path) -> bool:
    """No free block left for this user (root may use the reserved ones)."""
    st = os.statvfs(folder)
    return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) == 0


def _video_problem(path: Path, frames: int) -> str | None:
    """What is wrong with the encoded file, or None if it holds ``frames`` readable frames.

    The container's frame count and a decode of the last frame are checked (fast); only when the
    container does not store an exact count are all frames counted."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return "the encoded file does not open as a video"
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if count != frames:
            count = 0
            while cap.grab():
                count += 1
            if count != frames:
                return f"the encoded file holds {count} of the {frames} frames written"
            return None
        cap.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
        return None if cap.read()[0] else "the last frame of the encoded file does not decode"
    finally:
        cap.release()


def _write_probe(path: Path) -> OSError | None:
    """Append and sync some bytes to ``path``: the OS error that stops it is the likely cause of
    a broken video (OpenCV's encoder reports write errors only as log lines)."""
    try:
        with open(path, "ab") as fh:
            fh.write(bytes(_PROBE_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc
    return None


class AtomicVideoWriter:
    """cv2.VideoWriter behind :class:`AtomicFile`. It opens on the first frame (whose size fixes
    the video's; later frames of another size are resized). ``commit`` releases the encoder,
    checks the file holds every frame written, and only then names it."""

    def __init__(self, path: Path, fps: float, fourcc: str | None = None):
        self.path = path
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.fourcc = fourcc or FOURCC_BY_SUFFIX.get(path.suffix.lower(), "mp4v")
        if len(self.fourcc) != 4:
            raise BadInput(f"codec {self.fourcc!r} is not a four-character code; use e.g. mp4v "
                           "or MJPG")
        self._file: AtomicFile | None = None
        self._writer: cv2.VideoWriter | None = None
        self.size_wh: tuple[int, int] | None = None
        self.frames = 0

    def _open(self, size_wh: tuple[int, int], file: AtomicFile) -> cv2.VideoWriter:
        return cv2.VideoWriter(str(file.tmp), cv2.VideoWriter_fourcc(*self.fourcc), self.fps,
                               size_wh)

    def _cannot_open(self) -> BadInput:
        w, h = self.size_wh or (0, 0)
        scratch = AtomicFile(self.path)
        try:
            # The encoder writes its header on opening, so a full or failing disk looks like a
            # missing codec; a plain write names the real cause.
            cause = _write_probe(scratch.tmp)
            codec_works = cause is None and self._open((64, 64), scratch).isOpened()
        finally:
            scratch.discard()
        if cause is not None:
            return write_failed(self.path, cause)
        if codec_works:
            return BadInput(f"cannot encode {w}×{h} frames with codec {self.fourcc} for "
                            f"{str(self.path)!r}: the frames are too small for it; scale them "
                            "up (adjust.resize) or write an .avi file")
        return BadInput(f"cannot write {str(self.path)!r} with codec {self.fourcc}: it is not "
                        f"available for {self.path.suffix or 'this'} files here; use a .mp4 or "
                        ".avi file name (and the default codec)")

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            self.size_wh = (image.shape[1], image.shape[0])
            self._file = AtomicFile(self.path)
            self._writer = self._open(self.size_wh, self._file)
            if not self._writer.isOpened():
                self.abort()
                raise self._cannot_open()
        if (image.shape[1], image.shape[0]) != self.size_wh:
            image = cv2.resize(image, self.size_wh, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames += 1
        if self.frames % SPACE_CHECK_EVERY == 0 and _disk_full(self.path.parent):
            self.abort()
            raise write_failed(self.path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    def commit(self, partial: bool = False) -> Path | None:
        """Finish, verify and name the file (``partial``: as ``<stem>.partial<suffix>``).
        Returns the name used, or None if no frame was written."""
        if self._writer is None or self._file is None:
            return None
        self._writer.release()
        self._writer = None
        problem = _video_problem(self._file.tmp, self.frames)
        if problem is not None:
            cause = _write_probe(self._file.tmp)
            self.abort()
            if cause is not None:
                raise write_failed(self.path, cause)
            raise BadInput(f"writing {str(self.path)!r} failed: {problem}; check free disk "
                           "space and the disk, then run again")
        file, self._file = self._file, None
        return file.finish(partial)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._file is not None:
            self._file.discard()
            self._file = None
