"""Where yolo.detect's models come from: resolving the weights, the one-time export to the
fastest backend here (cached under the weights' hash, input shape and backend), loading it
(weights-only), and the precision plan of an OpenVINO export."""

from __future__ import annotations

import functools
import logging
import os
import platform
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from visionapp import paths
from visionapp.core import weights
from visionapp.core.errors import BadInput, ModelNotFound
from visionapp.core.model_cache import MODELS
from visionapp.processors import yolo_openvino, yolo_precision, yolo_quantize
from visionapp.processors.ultralytics_safe import load_yolo
from visionapp.processors.yolo_direct import DirectModel

log = logging.getLogger(__name__)

IMAGE_SIZES = (160, 256, 320, 416, 480, 512, 640, 800, 960, 1280)
AUTO_WEIGHTS = ("yolo11n.pt", "yolov8n.pt")
EXPORT_NAMES = {"openvino": "OpenVINO", "engine": "TensorRT", "onnx": "ONNX"}


def resolve_weights(name: str) -> Path:
    """``auto`` → the first of AUTO_WEIGHTS on disk (else download yolo11n.pt); else resolve."""
    if name != "auto":
        candidate = Path(name).expanduser()
        if candidate.is_dir():  # an exported OpenVINO model folder
            return candidate.resolve()
        return weights.resolve(name)
    for option in AUTO_WEIGHTS:
        found = weights.find_local(option)
        if found is not None:
            return found
    return weights.resolve(AUTO_WEIGHTS[0])


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def accelerated_format() -> str:
    """The export format that runs fastest on this machine."""
    if cuda_available():
        try:
            import tensorrt  # noqa: F401

            return "engine"
        except ImportError:
            return "pytorch"  # PyTorch on the GPU is already fast
    if platform.machine().lower() in ("x86_64", "amd64"):
        try:
            import openvino  # noqa: F401

            return "openvino"
        except ImportError:
            pass
    return "pytorch"


_EXPORT_LOCK = threading.Lock()


def input_hw(frame_hw: tuple[int, int], imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The network input for a frame: the long side scaled to ``imgsz``, each side rounded up to
    the stride — the same minimal letterbox PyTorch inference uses, so an export of this exact
    shape sees the same pixels (and computes less than a padded square)."""
    h, w = frame_hw
    scale = imgsz / max(h, w)
    return (int(np.ceil(h * scale / stride) * stride), int(np.ceil(w * scale / stride) * stride))


def export_path(pt: Path, shape_hw: tuple[int, int], fmt: str, variant: str = "") -> Path:
    """Where the export of ``pt`` for one input shape lives: keyed by the weights' hash, the shape,
    the format and a variant (``int8-<calibration>`` for a quantized OpenVINO model)."""
    key = f"{weights.sha256_of(pt)[:16]}_{shape_hw[0]}x{shape_hw[1]}_{fmt}"
    key += f"_{variant}" if variant else ""
    suffix = {"openvino": "_openvino_model", "engine": ".engine", "onnx": ".onnx"}[fmt]
    return paths.user_cache_dir() / "exports" / key / f"{pt.stem}{suffix}"


def export_model(pt: Path, shape_hw: tuple[int, int], fmt: str) -> Path:
    """Export ``pt`` once per (hash, input shape, format); later calls reuse the cached export.

    Ultralytics writes its export beside the weights, so the weights are linked into a
    temporary folder first; the finished export is renamed into place atomically.
    """
    final = export_path(pt, shape_hw, fmt)
    with _EXPORT_LOCK:
        if final.exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=final.parent))
        try:
            link = work / pt.name
            try:
                link.symlink_to(pt)
            except OSError:
                shutil.copy2(pt, link)
            model = load_yolo(link, shown=pt)
            produced = Path(model.export(format=fmt, imgsz=list(shape_hw), verbose=False))
            os.replace(produced, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return final


class Runtime:
    """A loaded model and the stream its tracker (inside Ultralytics) follows."""

    def __init__(self, model: Any, backend: str, note: str, shape_hw: tuple[int, int] | None,
                 precision: str = "fp32"):
        self.model = model
        self.backend = backend
        self.note = note
        self.shape_hw = shape_hw  # the fixed input of an export made here; None: any size
        self.precision = precision
        self.compiled: dict[str, Any] = {}  # what OpenVINO compiled to, read back after loading
        self.lock = threading.Lock()
        self.stream_id: int | None = None  # the stream the tracker has seen; None: no tracks
        self.direct: DirectModel | None = None  # plain detection without Ultralytics' predictor
        self._names: dict[int, str] | None = None

    @property
    def names(self) -> dict[int, str]:
        """The model's class names, read once: for an export, Ultralytics' ``model.names`` sets
        up a whole predictor (compiling the network again, ~200 ms) on every access until its
        first prediction."""
        if self._names is None:
            self._names = self.direct.names if self.direct is not None else dict(
                self.model.names)
        return self._names


def load_runtime(path: Path, backend: str, shape_hw: tuple[int, int], device: str,
                 precision: str = "fp32", calibration: str = "") -> Runtime:
    """Load (exporting first for ``backend="accelerate"``) the weights at ``path``; the model
    cache calls this once per file version and settings.

    ``precision`` applies to OpenVINO models: fp32/bf16 pin the compiled float precision; int8
    loads the quantized export calibrated on ``calibration`` (which must exist by now)."""
    note = ""
    target = path
    exported = None
    used = "openvino" if path.is_dir() else {".pt": "pytorch", ".onnx": "onnx",
                                             ".engine": "tensorrt"}.get(path.suffix, path.suffix)
    if backend == "accelerate" and path.suffix == ".pt":
        fmt = accelerated_format()
        if fmt != "pytorch":
            try:
                quantized = int8_path(path, shape_hw, calibration) if (
                    precision == "int8" and fmt == "openvino") else None
                if quantized is None or not quantized.exists():
                    precision = "fp32" if precision == "int8" else precision
                    quantized = export_model(path, shape_hw, fmt)
                target = quantized
                used, exported = fmt, shape_hw
            except ModelNotFound:
                raise  # the weights themselves are refused or damaged: no fallback loads them
            except Exception as exc:  # noqa: BLE001 - any export failure falls back to PyTorch
                log.warning("export of %s to %s failed: %s", path.name, fmt, exc)
                note = f"{fmt} export failed ({type(exc).__name__}: {exc}); using PyTorch"
    model = load_yolo(target)
    compiled: dict[str, Any] = {}
    if used == "openvino":
        yolo_openvino.pin_openvino(model, target, precision, compiled)
    else:
        precision = "fp32"
    if used == "pytorch":
        try:
            model.to(device)
        except (RuntimeError, AssertionError) as exc:
            raise BadInput(f"yolo.detect device {device!r} is not usable here ({exc}); choose "
                           "device=cpu") from None
    runtime = Runtime(model, used, note, exported, precision)
    runtime.compiled = compiled
    if used == "openvino" and exported is not None:
        runtime.direct = direct_model(target, precision)
        if runtime.direct is not None:
            runtime.compiled = runtime.direct.describe()
    return runtime


def direct_model(folder: Path, precision: str) -> DirectModel | None:
    """The export at ``folder`` compiled for the direct path, or None (and Ultralytics'
    predictor does the work) when it is not a plain detection head over its class names."""
    try:
        direct = DirectModel(folder, precision)
    except Exception as exc:  # noqa: BLE001 - the predictor path still works
        log.warning("direct OpenVINO path off for %s: %s", folder, exc)
        return None
    outputs = direct.compiled.outputs
    rows = outputs[0].get_partial_shape()[1]
    if len(outputs) != 1 or not rows.is_static or rows.get_length() != 4 + len(direct.names):
        return None
    return direct


def int8_path(pt: Path, shape_hw: tuple[int, int], calibration: str) -> Path:
    """The INT8 OpenVINO export of ``pt``, keyed also by its calibration frames: ``source``
    (the frames of the source it first ran on) or the id of the named folder/video."""
    tag = yolo_quantize.calibration_id(calibration) if calibration else "source"
    return export_path(pt, shape_hw, "openvino", f"int8-{tag}")


def precision_plan(pt: Path, shape_hw: tuple[int, int], requested: str,
                   calibration: str) -> yolo_precision.Plan:
    """The precision plan of an OpenVINO export of ``pt`` (one per configuration and version of
    the weights: retraining to the same file name makes a new plan, keyed by the new hash)."""
    def make() -> yolo_precision.Plan:
        if calibration:
            yolo_quantize.check_calibration_path(calibration)
        int8_dir = int8_path(pt, shape_hw, calibration)
        decision = int8_dir.parent.with_name(int8_dir.parent.name.replace("_int8-", "_auto-"))
        return yolo_precision.Plan(requested, shape_hw, calibration,
                                   functools.partial(export_model, pt, shape_hw, "openvino"),
                                   int8_dir, decision / "decision.json")

    return yolo_precision.plan_for((str(pt), MODELS.mtime_ns(pt), shape_hw, requested, calibration),
                                   make)
