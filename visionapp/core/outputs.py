"""Writing results so that no file is ever half-written, broken or lost.

Every output goes through one helper, :class:`AtomicFile`: the data is written under a hidden
temporary name in the output's own folder, synced to disk, checked, and only then renamed to the
name the user asked for. So:

- a failed, interrupted or killed run never leaves a broken file under the final name;
- an existing file is replaced (``--force``) only by a complete, verified new one;
- an interrupted run keeps its work as ``<stem>.partial<suffix>`` beside (never over) what exists;
- the temporary name carries the writer's host and process id
  (``.out.mp4.<host>-<pid>-<token>.visionapp-tmp.mp4``), so a later run can tell a killed run's
  leftovers (process gone) from a live run's files and remove them.

Any OS error while writing becomes one :class:`BadInput` naming the file, the cause and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import BadInput, OutputExists

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG",
                    ".mkv": "MJPG"}
TEMP_TAG = "visionapp-tmp"
PARTIAL_TAG = "partial"
_TEMP_RE = re.compile(
    rf"^\.(?P<name>.*)\.(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)-[0-9a-f]+\.{TEMP_TAG}(\.[^.]*)?$")
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24]
_LIVE: set[Path] = set()  # this process's temporaries (set ops are atomic under the GIL)

_ADVICE = {
    errno.ENOSPC: "free some disk space or choose another folder",
    errno.EDQUOT: "free some space within your disk quota or choose another folder",
    errno.EROFS: "the folder is on a read-only file system; choose another folder",
    errno.EACCES: "you may not write there; choose another folder or change its permissions",
    errno.EPERM: "you may not write there; choose another folder or change its permissions",
    errno.EIO: "the disk reported an input/output error; check the disk or choose another folder",
}


def write_failed(path: Path, exc: OSError) -> BadInput:
    """The one-line error for an OS error while writing ``path`` (cause and fix included)."""
    advice = _ADVICE.get(exc.errno or 0, "choose another folder")
    kept = f" ('{path.name}' itself is unchanged)" if path.exists() else ""
    return BadInput(f"writing {str(path)!r} failed: {exc.strerror or exc}; {advice}{kept}")


def check_output(path: Path, force: bool, what: str = "output") -> Path:
    """Refuse a folder, an existing file (without ``force``), a missing or unwritable folder."""
    path = path.expanduser()
    if path.is_dir():
        raise BadInput(f"{what} {str(path)!r} is a folder; give a file name")
    if path.exists() and not force:
        raise OutputExists(f"{what} {str(path)!r} already exists; pass --force to overwrite it "
                           "or choose another name")
    if not path.parent.is_dir():
        raise BadInput(f"{what} folder {str(path.parent)!r} does not exist; create it first")
    AtomicFile(path).discard()  # a read-only or full folder fails here, before any work
    return path


# ----------------------------------------------------------------------------- names


def temp_path(final: Path) -> Path:
    """A hidden, unique temporary name beside ``final`` that says who wrote it."""
    token = secrets.token_hex(4)
    return final.with_name(f".{final.name[:100]}.{_HOST}-{os.getpid()}-{token}.{TEMP_TAG}"
                           f"{final.suffix}")


def partial_names(final: Path) -> Iterator[Path]:
    """``out.partial.mp4``, then ``out.partial-2.mp4``, … (an earlier partial is kept too)."""
    yield final.with_name(f"{final.stem}.{PARTIAL_TAG}{final.suffix}")
    for n in range(2, 1000):
        yield final.with_name(f"{final.stem}.{PARTIAL_TAG}-{n}{final.suffix}")


def _alternatives(final: Path) -> Iterator[Path]:
    for n in range(1, 1000):
        yield final.with_name(f"{final.stem}.new{'' if n == 1 else f'-{n}'}{final.suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Delete temporaries in ``folder`` left by visionapp runs on this host whose process is gone
    (killed, or the machine stopped); return their names. Other hosts' files are left alone."""
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP_RE.match(entry.name)
            if match is None or match["host"] != _HOST:
                continue
            pid = int(match["pid"])
            if pid == os.getpid() or _alive(pid):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def discard_live_temporaries() -> None:
    """Remove every temporary this process has open (before an immediate exit)."""
    for tmp in _LIVE.copy():
        with contextlib.suppress(OSError):
            tmp.unlink()


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place_new(tmp: Path, candidates: Iterator[Path]) -> Path:
    """Give ``tmp`` the first candidate name that does not exist, never replacing a file (a hard
    link fails on an existing name; where links are unsupported, check then rename)."""
    for candidate in candidates:
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system
            if candidate.exists():
                continue
            os.rename(tmp, candidate)
            return candidate
        os.unlink(tmp)
        return candidate
    raise OSError(errno.EEXIST, "too many earlier partial files", str(tmp.parent))


# ----------------------------------------------------------------------------- the helper


class AtomicFile:
    """One output: created under :func:`temp_path` now, named by :meth:`finish` or removed by
    :meth:`discard`. A file that exists when this is created is replaced on ``finish`` (the
    caller allowed it, e.g. ``--force``); a file that appears meanwhile is never replaced."""

    def __init__(self, path: Path):
        self.path = path
        self.replaces = path.exists()
        self.tmp = temp_path(path)
        try:
            os.close(os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError as exc:
            raise write_failed(path, exc) from exc
        _LIVE.add(self.tmp)

    def finish(self, partial: bool = False) -> Path:
        """Sync the data and rename it: to the final name, or (``partial``) to the first free
        ``<stem>.partial<suffix>``. Returns the name used; ``<stem>.new<suffix>`` if the final
        name appeared while this run was writing."""
        try:
            _fsync(self.tmp)
            if partial:
                target = _place_new(self.tmp, partial_names(self.path))
            elif self.replaces:
                os.replace(self.tmp, self.path)
                target = self.path
            else:
                target = _place_new(self.tmp, iter([self.path, *_alternatives(self.path)]))
            with contextlib.suppress(OSError):  # some file systems cannot sync a folder
                _fsync(self.path.parent, directory=True)
        except OSError as exc:
            self.discard()
            raise write_failed(self.path, exc) from exc
        _LIVE.discard(self.tmp)
        return target

    def write_bytes(self, data: bytes) -> None:
        try:
            with open(self.tmp, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            self.discard()
            raise write_failed(self.path, exc) from exc

    def discard(self) -> None:
        _LIVE.discard(self.tmp)
        with contextlib.suppress(OSError):  # left behind, it is removed by a later run
            self.tmp.unlink()


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
            codec_works = self._open((64, 64), scratch).isOpened()
        finally:
            scratch.discard()
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
