"""Reading image files so that a damaged one is an error, never a half-grey picture.

Given a JPEG whose tail was cut off, ``cv2.imread`` returns a full-size image whose missing part
is grey and only libjpeg's "Premature end of JPEG file" on stderr says anything was wrong. Here
the file's bytes are read once, checked for completeness (cheap: a walk over the segment or chunk
headers, no decoding), then decoded from memory — which also fails, rather than pads, on a
truncated WebP, BMP, TIFF, JPEG 2000 or PPM:

- JPEG: the segments before the first scan must be whole, and an end-of-image marker (FF D9)
  must follow it. Bytes after that marker (camera trailers, motion photos) are allowed.
- PNG: the chunks must be whole up to IEND.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import BadInput
from visionapp.core.logs import native_stderr_filtered

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
_JPEG_UNSIZED = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: markers with no length


class DamagedImage(BadInput):
    """An image file that is incomplete or cannot be decoded; the message says which and why."""


def jpeg_problem(data: bytes) -> str | None:
    """Why the JPEG ``data`` is incomplete, or None if its structure is whole."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:  # stray bytes between segments: decoders skip to the next marker
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _JPEG_UNSIZED:
            pos += 2
            continue
        if marker == 0xD9:
            return "it ends before its first image scan"
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the end marker
            if data.find(b"\xff\xd9", pos + 2 + length) < 0:
                return "it is truncated (no JPEG end-of-image marker)"
            return None
        pos += 2 + length
    return "it is truncated (it ends inside its JPEG headers)"


def png_problem(data: bytes) -> str | None:
    """Why the PNG ``data`` is incomplete, or None if its chunks are whole up to IEND."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if end > len(data):
            return f"it is truncated (its {kind.decode('latin-1')!r} chunk is cut off)"
        if kind == b"IEND":
            return None
        pos = end
    return "it is truncated (no PNG end chunk)"


def structure_problem(data: bytes) -> str | None:
    """A cheap completeness check for the formats that decode garbage when cut short."""
    if data.startswith(_JPEG_SOI):
        return jpeg_problem(data)
    if data.startswith(_PNG_SIGNATURE):
        return png_problem(data)
    return None


def read_image(path: Path | str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decode the image file at ``path`` (OpenCV ``flags``), or raise DamagedImage / BadInput
    with one line naming the file and what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {str(path)!r} ({exc.strerror or exc})") from None
    if not data:
        raise DamagedImage(f"{str(path)!r} is an empty file")
    problem = structure_problem(data)
    if problem is not None:
        raise DamagedImage(f"{str(path)!r} is a damaged image: {problem}")
    with native_stderr_filtered():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise DamagedImage(f"cannot read {str(path)!r} as an image (damaged, or not PNG, "
                           "JPEG, BMP, TIFF or WebP)")
    return image


def cached_image(path: str, flags: int, missing: str) -> np.ndarray:
    """The image file at ``path`` (``~`` expanded) decoded once per file version and ``flags``,
    kept in the model cache: re-saving the file reloads it. A missing file is a BadInput with
    ``missing`` formatted with ``path``; a damaged one a BadInput naming it."""
    from visionapp.core.model_cache import MODELS

    def locate(name: str) -> Path:
        found = Path(name).expanduser()
        if not found.is_file():
            raise BadInput(missing.format(path=str(found)))
        return found.resolve()

    return MODELS.load("image", MODELS.resolve("image", path, locate), flags,
                       lambda file: read_image(file, flags))


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` resized to ``size``×``size`` as a classifier sees it, in training and live:
    shrinking averages the pixels each output pixel covers (``INTER_AREA``: no aliasing);
    enlarging interpolates (``INTER_LINEAR``) — ``INTER_AREA`` enlarges almost like nearest
    neighbour, into blocky pictures no pretrained backbone saw (fine-tuned MobileNetV2 on 100 px
    photos at 224: 2 points lower)."""
    h, w = image.shape[:2]
    shrink = h >= size and w >= size
    return cv2.resize(image, (size, size),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
