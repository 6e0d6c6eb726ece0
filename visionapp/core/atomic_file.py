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
The writers built on this (text, images, video) are in :mod:`visionapp.core.outputs`.
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

from visionapp.core.errors import BadInput, OutputExists

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
