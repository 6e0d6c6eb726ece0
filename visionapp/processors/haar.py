"""Viola–Jones face detection with OpenCV's Haar cascades (optionally eyes inside each face).

Cascade XMLs come from the installed OpenCV wheel (4.x ships them in ``cv2.data``) or the OS
(Debian/Ubuntu package ``opencv-data``); they are never downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from visionapp import paths
from visionapp.core.errors import ModelNotFound
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Detections, Frame, Result

FACE_CASCADES = {
    "default": "haarcascade_frontalface_default.xml",
    "alt": "haarcascade_frontalface_alt.xml",
    "alt2": "haarcascade_frontalface_alt2.xml",
}
EYE_CASCADE = "haarcascade_eye.xml"


def cascade_dirs() -> list[Path]:
    dirs = []
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        dirs.append(Path(data.haarcascades))
    dirs.extend(paths.SYSTEM_HAAR_DIRS)
    return dirs


def find_cascade(filename: str) -> Path:
    searched = cascade_dirs()
    for folder in searched:
        if (folder / filename).is_file():
            return folder / filename
    raise ModelNotFound(
        f"Haar cascade {filename!r} not found in {', '.join(map(str, searched))}; install an "
        "OpenCV 4.x wheel (pip install 'opencv-contrib-python<5') or Debian's opencv-data "
        "(apt-get install opencv-data)"
    )


def read_cascade(path: Path) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise ModelNotFound(f"{path} is not a valid Haar cascade XML; reinstall opencv-data")
    return cascade


def load_cascade(filename: str) -> cv2.CascadeClassifier:
    """The cascade ``filename`` from the model cache: loaded once (changing a threshold never
    reloads it), found on disk at most once a second."""
    return MODELS.get("haar", filename, (), read_cascade, resolver=find_cascade)


@dataclass(frozen=True)
class HaarFaces(ProcessorBase):
    """Frontal faces (and optionally eyes) on the histogram-equalised grayscale frame."""

    name: ClassVar[str] = "haar.faces"
    cascade: str = param("default", choices=tuple(FACE_CASCADES), help="frontal-face cascade")
    scale_factor: float = param(1.1, min=1.01, max=2.0, step=0.01,
                                help="image pyramid step: smaller finds more, slower")
    min_neighbors: int = param(5, min=0, max=30, help="overlapping hits needed to keep a face")
    min_size: int = param(30, min=0, max=1000, scale="log",
                         help="smallest face side in px")
    equalize: bool = param(True, help="equalise the histogram first (robust to lighting)")
    eyes: bool = param(False, help="also find eyes in the upper half of each face")

    def warm_up(self, frame: Frame) -> None:
        """The window's load: read the cascades (milliseconds), so the first frame's own pass
        is the first result (a full warm-up pass would cost a second detection)."""
        load_cascade(FACE_CASCADES[self.cascade])
        if self.eyes:
            load_cascade(EYE_CASCADE)

    def __call__(self, frame: Frame) -> Result:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        faces = load_cascade(FACE_CASCADES[self.cascade]).detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        boxes = [(x, y, x + w, y + h) for (x, y, w, h) in np.reshape(faces, (-1, 4))]
        labels = ["face"] * len(boxes)
        if self.eyes and boxes:
            eye_cascade = load_cascade(EYE_CASCADE)
            for x1, y1, x2, y2 in list(boxes):
                upper = gray[y1 : y1 + (y2 - y1) // 2, x1:x2]
                found = eye_cascade.detectMultiScale(upper, scaleFactor=1.1, minNeighbors=5,
                                                     minSize=(max(8, (x2 - x1) // 10),) * 2)
                for ex, ey, ew, eh in np.reshape(found, (-1, 4)):
                    boxes.append((x1 + ex, y1 + ey, x1 + ex + ew, y1 + ey + eh))
                    labels.append("eye")
        n_faces = labels.count("face")
        detections = Detections.from_lists(
            boxes, [1.0] * len(boxes), labels, [0 if lab == "face" else 1 for lab in labels]
        )
        return Result(self.name, detections=detections,
                      text=(f"Haar: {n_faces} face{'s' * (n_faces != 1)}",),
                      values={"faces": n_faces, "eyes": len(labels) - n_faces})
