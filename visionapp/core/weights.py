"""Resolving model files, in one order for every model:

explicit path → the checkout's ``models/`` (source checkouts only) → the user's data folder
(``~/.local/share/visionapp/models``) → ``$VISIONAPP_MODELS_DIR`` → user cache → download from the
official URL (progress bar, checksum, atomic rename into the user cache). The folders come from
:func:`visionapp.paths.model_search_dirs`; trained models are saved to the first one that applies.

Offline, the error names the file, every folder searched and the command that fetches it (or how
to train one). ``VISIONAPP_OFFLINE=1`` skips the download step entirely.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from visionapp import paths
from visionapp.core.errors import ModelNotFound

log = logging.getLogger(__name__)

_MP = "https://storage.googleapis.com/mediapipe-models"
_UL = "https://github.com/ultralytics/assets/releases/download/v8.3.0"


@dataclass(frozen=True)
class ModelFile:
    name: str
    url: str | None  # None: not downloadable by visionapp (the note says how to get it)
    sha256: str | None  # None: the publisher gives no fixed checksum
    description: str
    note: str = ""


KNOWN_MODELS: dict[str, ModelFile] = {
    m.name: m
    for m in (
        ModelFile("face_landmarker.task",
                  f"{_MP}/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
                  "b261925d4aad812b47a0e8d58c1baa1223270a5d1f663d78338bc881c003879d",
                  "MediaPipe Face Landmarker: 478 landmarks + blendshapes"),
        ModelFile("hand_landmarker.task",
                  f"{_MP}/hand_landmarker/hand_landmarker/float16/1/hand_landmarker.task",
                  "9426709066c2b540c7ffb0eae1c1f31db10237e572bf57eddf8ab8226a3394d7",
                  "MediaPipe Hand Landmarker: 21 landmarks per hand"),
        ModelFile("pose_landmarker_lite.task",
                  f"{_MP}/pose_landmarker/pose_landmarker_lite/float16/1/"
                  "pose_landmarker_lite.task",
                  "ea62a8e35ea38d77644c3e7b07c48b934f5684d8a0a1f90905d01c6904515fe4",
                  "MediaPipe Pose Landmarker (lite): 33 landmarks"),
        ModelFile("blaze_face_short_range.tflite",
                  f"{_MP}/face_detector/blaze_face_short_range/float16/1/"
                  "blaze_face_short_range.tflite",
                  "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
                  "MediaPipe BlazeFace short-range face detector"),
        ModelFile("yolo11n.pt", f"{_UL}/yolo11n.pt", None, "Ultralytics YOLO11n, COCO"),
        ModelFile("yolov8n.pt", f"{_UL}/yolov8n.pt", None, "Ultralytics YOLOv8n, COCO"),
        ModelFile("mobilenet_v2_0.35_224_no_top.weights.h5", None, None,
                  "ImageNet MobileNetV2 (alpha 0.35, 224, no top) for transfer learning",
                  note="with internet, Keras fetches ImageNet weights itself; offline, put "
                       "this file in a models folder"),
    )
}


def search_dirs() -> list[Path]:
    """Folders searched after an explicit path, in order."""
    return [folder for folder, _ in paths.model_search_dirs()]


def find_local(name: str) -> Path | None:
    """The first existing copy of ``name`` (a path, or a bare file name searched for)."""
    candidate = Path(name).expanduser()
    if candidate.is_absolute() or candidate.parent != Path("."):
        return candidate.resolve() if candidate.is_file() else None
    for folder in search_dirs():
        if (folder / name).is_file():
            return (folder / name).resolve()
    return None


def resolve(name: str, *, download: bool | None = None) -> Path:
    """Absolute path of model ``name``, downloading a known model if it is nowhere on disk."""
    found = find_local(name)
    if found is not None:
        return found
    candidate = Path(name).expanduser()
    if candidate.is_absolute() or candidate.parent != Path("."):
        raise ModelNotFound(f"model file {str(candidate)!r} does not exist; check the path, or "
                            f"{how_to_get(candidate.name)}")
    if download is None:
        download = os.environ.get("VISIONAPP_OFFLINE", "") not in ("1", "true", "yes")
    model = KNOWN_MODELS.get(name)
    if download and model is not None and model.url:
        try:
            return fetch(name)
        except ModelNotFound:
            raise
        except (OSError, urllib.error.URLError) as exc:
            log.info("download of %s failed: %s", name, exc)
    raise ModelNotFound(not_found_message(name))


def how_to_get(name: str) -> str:
    """The command (or steps) that produce model file ``name``: fetch it, or train one."""
    base = Path(name).name
    model = KNOWN_MODELS.get(base)
    stem = Path(base).stem or "NAME"
    if model is not None and model.url:
        return f"run 'visionapp models fetch {base}'"
    if model is not None:
        return model.note
    if base.endswith(".keras"):
        return (f"train one with 'visionapp train-classifier DATASET_FOLDER --name {stem}' "
                "(or Train > Classifier... in the window)")
    if base.endswith(".pt"):
        return (f"train one with 'visionapp train-detector data.yaml --name {stem}', or run "
                "'visionapp models fetch yolo11n.pt' for the official COCO detector")
    return "copy the file into one of these folders or give its full path"


def replace_hint(name: str) -> str:
    """What to do about a damaged copy of ``name``."""
    base = Path(name).name
    model = KNOWN_MODELS.get(base)
    if model is not None and model.url:
        return f"delete it and run 'visionapp models fetch {base}'"
    return how_to_get(base)


def not_found_message(name: str) -> str:
    searched = ", ".join(str(d) for d in search_dirs())
    fix = how_to_get(name)
    if name in KNOWN_MODELS and KNOWN_MODELS[name].url:
        fix += " with internet, or copy the file there"
    return (f"model {name!r} not found in {searched} (set {paths.MODELS_DIR_ENV} to add a "
            f"folder); {fix}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, *, url: str | None = None, sha256: str | None = None,
          dest_dir: Path | None = None, timeout_s: float = 20.0, progress: bool = True) -> Path:
    """Download a model into the user cache: stream to a temporary file, check, rename.

    A partial or corrupt download never appears under the final name.
    """
    model = KNOWN_MODELS.get(name)
    url = url or (model.url if model else None)
    sha256 = sha256 or (model.sha256 if model else None)
    if not url:
        raise ModelNotFound(not_found_message(name))
    dest_dir = dest_dir or paths.user_models_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = _progress_bar(total, name) if progress else None
            while block := resp.read(1 << 16):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.close()
        if sha256 is not None:
            got = sha256_of(tmp)
            if got != sha256:
                raise ModelNotFound(f"download of {name} from {url} is corrupt (sha256 {got[:16]}"
                                    f"…, expected {sha256[:16]}…); try again")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _progress_bar(total: int | None, name: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, leave=False)

