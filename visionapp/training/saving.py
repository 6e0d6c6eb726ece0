"""Moving a trained model into the models folder without ever replacing a file that is there.

The check before training is not enough: a file of the same name can appear while a run takes
minutes or hours. Each file is copied to a hidden temporary name beside its target (the same file
system), then hard-linked to the final name: a link fails if that name exists, so nothing that
appeared meanwhile is replaced, and a reader never sees a half-written model. Where the file system
has no hard links, an exclusive create (``O_EXCL``) gives the same guarantee. Only ``force``
renames over an existing file.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from visionapp.core.errors import OutputExists

_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def _copy_exclusive(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst``, which must not exist; the copy is synced to disk."""
    with open(src, "rb") as inp, open(dst, "xb") as out:
        shutil.copyfileobj(inp, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def _place_new(tmp: Path, dst: Path) -> None:
    try:
        os.link(tmp, dst)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        _copy_exclusive(tmp, dst)


def save_new(files: Sequence[tuple[Path, Path]], *, force: bool) -> None:
    """Place every ``(source, target)`` pair, all or nothing; sources are left where they are.

    Raises OutputExists (naming the file and where the new model stays) if a target exists and
    ``force`` is off; targets already placed by this call are removed again. OSError (a full
    disk, a read-only folder) propagates with no temporary file left behind.
    """
    placed: list[tuple[Path, int]] = []
    try:
        for src, dst in files:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
            try:
                _copy_exclusive(src, tmp)
                if force:
                    os.replace(tmp, dst)
                else:
                    _place_new(tmp, dst)
            except FileExistsError:
                raise OutputExists(
                    f"{dst} appeared while training and was left as it is; the new model stays "
                    f"at {src}: move it yourself, or train again with another name or with "
                    "--force (replace)") from None
            finally:
                tmp.unlink(missing_ok=True)
            placed.append((dst, os.stat(dst).st_ino))
    except BaseException:
        if not force:
            for dst, inode in placed:  # only the files this call created
                try:
                    if os.stat(dst).st_ino == inode:
                        dst.unlink()
                except OSError:
                    pass
        raise


def place_trained(files: Sequence[tuple[Path, Path]], *, force: bool) -> str | None:
    """:func:`save_new`, with what went wrong as one line (None when every file is in place): the
    target that appeared meanwhile, or the error and where the trained model stays. The last
    pair is the model itself: placed last, so whoever sees it finds its companions beside it."""
    try:
        save_new(files, force=force)
    except OutputExists as exc:
        return str(exc)
    except OSError as exc:
        src, dst = files[-1]
        return (f"could not save the model as {dst} ({exc.strerror or exc}); the trained model "
                f"stays at {src}")
    return None
