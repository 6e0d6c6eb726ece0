"""Writing results without ever losing or half-writing a file.

Every output is written under a temporary name in its final folder and renamed over the final
name only when complete, so a crash leaves no half-written file under the name the user asked
for. Existing files are refused unless ``force`` is given.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import BadInput, OutputExists

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG",
                    ".mkv": "MJPG"}


def check_output(path: Path, force: bool, what: str = "output") -> Path:
    """Refuse an existing file (without ``force``) or a folder that does not exist."""
    path = path.expanduser()
    if path.is_dir():
        raise BadInput(f"{what} {str(path)!r} is a folder; give a file name")
    if path.exists() and not force:
        raise OutputExists(f"{what} {str(path)!r} already exists; pass --force to overwrite it "
                           "or choose another name")
    if not path.parent.exists():
        raise BadInput(f"{what} folder {str(path.parent)!r} does not exist; create it first")
    return path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files readable by the owner only; finished outputs get the usual permissions.
_FILE_MODE = 0o666 & ~_current_umask()


def _temp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                                dir=final.parent)
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    return Path(name)


def write_failed(path: Path, exc: OSError) -> BadInput:
    return BadInput(f"writing {str(path)!r} failed: {exc.strerror or exc}; free some disk space "
                    "or choose another folder")


class AtomicVideoWriter:
    """cv2.VideoWriter that opens on the first frame (its size fixes the video's) and renames
    the finished temporary file into place on ``commit``. Frames of another size are resized."""

    def __init__(self, path: Path, fps: float, fourcc: str | None = None):
        self.path = path
        self.fps = fps if fps > 0 else 30.0
        self.fourcc = fourcc or FOURCC_BY_SUFFIX.get(path.suffix.lower(), "mp4v")
        self._tmp: Path | None = None
        self._writer: cv2.VideoWriter | None = None
        self.size_wh: tuple[int, int] | None = None
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            self.size_wh = (image.shape[1], image.shape[0])
            self._tmp = _temp_path(self.path)
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*self.fourcc),
                                           self.fps, self.size_wh)
            if not self._writer.isOpened():
                self.abort()
                raise BadInput(f"cannot encode {str(self.path)!r} with codec {self.fourcc}; use "
                               "a .mp4 or .avi file name")
        if (image.shape[1], image.shape[0]) != self.size_wh:
            image = cv2.resize(image, self.size_wh, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames += 1

    def commit(self) -> Path | None:
        """Finish the file and give it its final name (None if no frame was written)."""
        if self._writer is None or self._tmp is None:
            return None
        self._writer.release()
        self._writer = None
        if not self._tmp.exists() or self._tmp.stat().st_size == 0:
            self.abort()
            raise BadInput(f"writing {str(self.path)!r} failed: the encoder produced no data; "
                           "check free disk space")
        os.replace(self._tmp, self.path)
        self._tmp = None
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class AtomicTextWriter:
    """A text file (JSON lines, CSV) written to a temporary name and renamed on ``commit``."""

    def __init__(self, path: Path):
        self.path = path
        self._tmp = _temp_path(path)
        self._fh = open(self._tmp, "w", encoding="utf-8")  # noqa: SIM115 - closed in commit/abort

    def write(self, text: str) -> None:
        try:
            self._fh.write(text)
        except OSError as exc:
            raise write_failed(self.path, exc) from exc

    def commit(self) -> Path:
        try:
            self._fh.close()
        except OSError as exc:
            self.abort()
            raise write_failed(self.path, exc) from exc
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self._tmp.unlink(missing_ok=True)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an image atomically (encode to a temporary name, then rename)."""
    tmp = _temp_path(path)
    try:
        if not cv2.imwrite(str(tmp), image):
            raise BadInput(f"writing {str(path)!r} failed; check the folder is writable and has "
                           "free space")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
