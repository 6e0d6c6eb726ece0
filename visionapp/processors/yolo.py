"""Ultralytics YOLO detection with a fast CPU path, tracking, and non-maximum suppression shown.

- Weights: a ``.pt``, an ``.onnx`` file or an ``*_openvino_model`` folder; ``auto`` takes the
  newest small COCO model the resolver finds (yolo11n.pt, else yolov8n.pt; downloads yolo11n.pt
  when neither is on disk). Paths are always absolute, so Ultralytics never downloads by itself.
- ``backend="accelerate"`` exports a ``.pt`` once to the fastest backend here (OpenVINO on x86
  CPUs; with a CUDA GPU, TensorRT when installed, else PyTorch on the GPU) and caches the export
  in the user cache under the weights' hash, image size and backend. If the export fails the
  processor says so and uses PyTorch.
- ``precision`` (auto | fp32 | bf16 | int8) sets what the OpenVINO export computes in; int8 is
  quantized offline on frames of the source or of a folder/video named in ``calibration``, and
  auto measures which is fastest here within an accuracy guard and says which it chose
  (:mod:`visionapp.processors.yolo_precision`).
- Loading is weights-only (:mod:`visionapp.processors.ultralytics_safe`): a checkpoint that
  names any Python object outside Ultralytics' allow-list is refused before anything in it runs,
  and Ultralytics never pip-installs anything.
- ``show_candidates`` runs the model with NMS switched off (IoU threshold 1.0), then applies
  visionapp's own NumPy NMS (:func:`visionapp.core.nms.nms_table`) so every candidate, the kept
  boxes (numbered #1, #2 … by score) and who suppressed whom (with the IoU) are in the Result's
  ``nms`` table and drawn. Without it, the backend's own NMS is used (the fast path); the two
  agree. With a tracker on, the tracker's own NMS runs and the view says so.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import platform
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from visionapp import paths
from visionapp.core import weights
from visionapp.core.errors import BadInput, ModelNotFound
from visionapp.core.model_cache import MODELS
from visionapp.core.nms import decision_text, kept_order, nms_table, replay
from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Detections, Frame, NmsTable, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import yolo_precision, yolo_quantize
from visionapp.processors.ultralytics_safe import check_checkpoint, load_yolo

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


class _Runtime:
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


def load_runtime(path: Path, backend: str, shape_hw: tuple[int, int], device: str,
                 precision: str = "fp32", calibration: str = "") -> _Runtime:
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
        yolo_precision.pin_openvino(model, target, precision, compiled)
    else:
        precision = "fp32"
    if used == "pytorch":
        try:
            model.to(device)
        except (RuntimeError, AssertionError) as exc:
            raise BadInput(f"yolo.detect device {device!r} is not usable here ({exc}); choose "
                           "device=cpu") from None
    runtime = _Runtime(model, used, note, exported, precision)
    runtime.compiled = compiled
    return runtime


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


def class_ids(names: dict[int, str], wanted: str) -> list[int] | None:
    """Class filter text ("car, person") → class ids; an unknown name is a clear error."""
    items = [w.strip() for w in wanted.split(",") if w.strip()]
    if not items:
        return None
    by_name = {v.lower(): k for k, v in names.items()}
    unknown = [w for w in items if w.lower() not in by_name]
    if unknown:
        raise BadInput(f"yolo.detect classes: {', '.join(unknown)} not among this model's "
                       f"classes: {', '.join(names.values())}")
    return sorted(by_name[w.lower()] for w in items)


def _detections(boxes, names: dict[int, str], with_tracks: bool) -> Detections:
    xyxy = boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4)
    conf = boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
    cls = boxes.cls.cpu().numpy().astype(np.int32).reshape(-1)
    track = None
    if with_tracks:
        ids = boxes.id
        track = (np.full(len(cls), -1, np.int32) if ids is None
                 else ids.cpu().numpy().astype(np.int32).reshape(-1))
    return Detections(xyxy, conf, cls, tuple(names[int(c)] for c in cls), track)


def _ran_in(rt: _Runtime) -> str:
    """fp32, bf16 or int8: what the model computed in (an OpenVINO model compiled with its
    default reports the float precision OpenVINO chose)."""
    if rt.precision in ("fp32", "bf16", "int8"):
        return rt.precision
    compiled = rt.compiled.get("inference_precision", "")
    return {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}.get(compiled, "fp32")


@dataclass(frozen=True)
class YoloDetect(ProcessorBase):
    """Ultralytics YOLO object detection; "show candidates" draws what NMS removed and why."""

    name: ClassVar[str] = "yolo.detect"
    weights: str = param("auto", kind="path", help="auto, a .pt/.onnx file or OpenVINO folder")
    backend: str = param("accelerate", choices=("accelerate", "pytorch"),
                         help="accelerate: export once to the fastest backend here")
    imgsz: int = param(640, choices=IMAGE_SIZES, help="network input size in px")
    conf: float = param(0.25, min=0.01, max=1.0, step=0.01, help="confidence threshold")
    iou: float = param(0.7, min=0.05, max=0.95, step=0.05, help="NMS IoU threshold")
    max_det: int = param(300, min=1, max=1000)
    classes: str = param("", kind="text", help="only these class names, comma-separated")
    agnostic_nms: bool = param(False, help="boxes of different classes suppress each other")
    device: str = param("auto", choices=("auto", "cpu", "cuda"))
    show_candidates: bool = param(False, help="draw every candidate before NMS and what NMS "
                                              "did to it (off while tracking)")
    explain: int = param(1, min=0, max=1000, help="kept box #N whose removed candidates are "
                                                  "drawn with their IoU (0: none)")
    candidate: int = param(0, min=0, max=30000, help="candidate row N (best score first) shown "
                                                     "on its own with its decision (0: none)")
    step: int = param(0, min=0, max=30000, help="replay NMS: only the first N decisions, the "
                                                "last in focus (0: all)")
    tracker: str = param("none", choices=("none", "bytetrack", "botsort"))
    precision: str = param("auto", choices=yolo_precision.REQUESTS,
                           help="OpenVINO export: auto measures the fastest here within an "
                                "accuracy guard; int8 is calibrated on your frames")
    calibration: str = param("", kind="path", help="int8 calibration frames: a folder of images "
                                                   "or a video; empty: this source's frames")
    trail_length: int = param(20, min=0, max=200, help="tracked points drawn per object")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("explain", "max_det"), lambda p: p.explain <= p.max_det,
             "{explain} names a kept box beyond {max_det}; boxes are numbered from 1"),
    )

    def prepare(self) -> None:
        """Resolve and load the weights now (batch runs call this before the first frame).

        PyTorch and ready exports load exactly the runtime the first frame will use; a ``.pt``
        to be exported for this machine is checked weights-only here and exported on the first
        frame, whose size the export depends on — except for int8 with named calibration
        frames, which is built here for their shape."""
        path = resolve_weights(self.weights)
        if self.calibration:
            yolo_quantize.check_calibration_path(self.calibration)
        if self.backend == "accelerate" and path.suffix == ".pt":
            stat = path.stat()
            check_checkpoint(str(path), stat.st_mtime_ns, stat.st_size)
            if (self.calibration and self.precision in ("int8", "auto")
                    and accelerated_format() == "openvino"):
                # A batch run with named calibration frames builds int8 now, for frames shaped
                # like them, so the whole output is computed alike.
                hw = yolo_quantize.frames_from_path(self.calibration, 1)[0].shape[:2]
                precision_plan(path, input_hw(hw, self.imgsz), self.precision,
                               self.calibration).wait()
        else:
            self.runtime((self.imgsz, self.imgsz))

    def loading_note(self, frame: Frame) -> str:
        """What loading for ``frame`` will do, for the window: a one-time export says so."""
        path = resolve_weights(self.weights)
        if self.backend == "accelerate" and path.suffix == ".pt":
            fmt = accelerated_format()
            if fmt in EXPORT_NAMES:
                shape = input_hw(frame.image.shape[:2], self.imgsz)
                if not export_path(path, shape, fmt).exists():
                    return f"exporting YOLO to {EXPORT_NAMES[fmt]} — first time only"
                return f"loading YOLO ({EXPORT_NAMES[fmt]}, exported before)"
        return f"loading YOLO ({path.name})"


    def precision_choice(self, frame: Frame | None, frame_hw: tuple[int, int]
                         ) -> yolo_precision.Choice:
        """The precision to run this frame in (and the line saying why); ``frame`` feeds int8
        calibration while it collects the source's frames. Per frame this touches no file
        system: the weights' name is resolved through the model cache, as :meth:`runtime` does."""
        path = MODELS.resolve("yolo", self.weights, resolve_weights)
        capabilities = (yolo_precision.openvino_capabilities()
                        if self.backend == "accelerate" and accelerated_format() == "openvino"
                        else None)
        if capabilities is None:
            return yolo_precision.Choice("fp32")
        if self.precision in ("fp32", "bf16"):
            return yolo_precision.explicit(self.precision, capabilities)
        if path.suffix != ".pt":  # a user's own OpenVINO model: compiled as OpenVINO sees fit
            return yolo_precision.Choice("default")
        plan = precision_plan(path, input_hw(frame_hw, self.imgsz), self.precision,
                              self.calibration)
        if frame is not None:
            plan.offer(frame)
        return plan.current()

    def runtime(self, frame_hw: tuple[int, int], precision: str = "fp32") -> _Runtime:
        """The loaded model for frames of this size (an export is specific to its input shape;
        PyTorch models take any, so they are keyed by the image size alone). Each tracker
        setting gets its own model: the tracker's state lives inside it."""
        device = self.device
        if device == "auto":
            device = "cuda:0" if cuda_available() else "cpu"
        elif device == "cuda":
            device = "cuda:0"
        path = MODELS.resolve("yolo", self.weights, resolve_weights)
        shape = input_hw(frame_hw, self.imgsz) if (
            self.backend == "accelerate" and path.suffix == ".pt") else (self.imgsz, self.imgsz)
        load = functools.partial(load_runtime, backend=self.backend, shape_hw=shape,
                                 device=device, precision=precision,
                                 calibration=self.calibration if precision == "int8" else "")
        options = (self.backend, shape, device, self.tracker, precision,
                   self.calibration if precision == "int8" else "")
        return MODELS.load("yolo", path, options, load)

    def __call__(self, frame: Frame) -> Result:
        hw = frame.image.shape[:2]
        choice = self.precision_choice(frame, hw)
        rt = self.runtime(hw, choice.precision)
        names = rt.model.names
        classes = class_ids(names, self.classes)
        size = list(rt.shape_hw) if rt.shape_hw else self.imgsz
        common = {"imgsz": size, "conf": self.conf, "classes": classes,
                  "agnostic_nms": self.agnostic_nms, "verbose": False}
        text = []
        candidates = table = None
        values: dict[str, Any] = {"backend": rt.backend}
        with rt.lock:
            if self.tracker != "none":
                # The tracker goes on within a stream; a new stream or a still starts afresh.
                persist = not frame.still and frame.stream_id == rt.stream_id
                rt.stream_id = None if frame.still else frame.stream_id
                out = rt.model.track(frame.image, persist=persist,
                                     tracker=f"{self.tracker}.yaml", iou=self.iou,
                                     max_det=self.max_det, **common)[0]
                dets = _detections(out.boxes, names, with_tracks=True)
                if self.show_candidates:
                    text.append(TRACKING_HIDES_NMS)
            elif self.show_candidates:
                out = rt.model.predict(frame.image, iou=1.0, max_det=30000, **common)[0]
                every = _detections(out.boxes, names, with_tracks=False)
                table = self.nms_view(every)
                dets, candidates, summary = visible_nms(table)
                text.append(summary)
                values["candidates"] = len(every)
            else:
                out = rt.model.predict(frame.image, iou=self.iou, max_det=self.max_det,
                                       **common)[0]
                dets = _detections(out.boxes, names, with_tracks=False)
        values["precision"] = _ran_in(rt)  # read back from the compiled model after it ran
        if choice.pending:
            values["precision_pending"] = choice.pending
        counts = Counter(dets.labels)
        text.insert(0, f"YOLO {rt.backend} {values['precision']} @{self.imgsz}: " + (
            ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) or "nothing"))
        if rt.note:
            text.append(rt.note)
        if choice.note and rt.backend == "openvino":
            text.append(choice.note)
        values["counts"] = dict(sorted(counts.items()))
        trail = self.trail_length if self.tracker != "none" and not frame.still else 0
        return Result(self.name, detections=dets, trail_length=trail, text=tuple(text),
                      candidates=candidates, values=values, nms=table)

    def view_click(self, xy: tuple[int, int], result: Result) -> ViewEdit | None:
        """The IoU explorer: a click on a kept box (the smallest one under the pointer) selects
        it — its number goes to ``explain`` and the candidates NMS removed for it are drawn with
        their IoU. None beside every box; with a tracker on, only the reason it cannot."""
        x, y = xy
        boxes = result.detections.xyxy
        inside = [i for i, (x1, y1, x2, y2) in enumerate(boxes)
                  if x1 <= x <= x2 and y1 <= y <= y2]
        if not inside:
            return None
        if self.tracker != "none":
            return ViewEdit({}, TRACKING_HIDES_NMS)
        rank = min(inside, key=lambda i: (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]))
        changes: dict[str, Any] = {} if self.show_candidates else {"show_candidates": True}
        changes.update(explain=int(rank) + 1, candidate=0, step=0)
        return ViewEdit(changes, f"IoU explorer: box #{rank + 1} "
                                 f"({result.detections.labels[rank]}); the candidates it removed "
                                 "are drawn around it with their IoU")

    def nms_view(self, every: Detections) -> NmsTable:
        """Greedy NMS in NumPy over all candidates, every decision recorded, with this
        processor's selection (``explain``), focus (``candidate``) and replay (``step``)."""
        table = nms_table(every, self.iou, not self.agnostic_nms, self.max_det)
        if self.step:
            table = replay(table, self.step)
        elif self.candidate:
            table = dataclasses.replace(table, focus=min(self.candidate, len(table)) - 1)
        return dataclasses.replace(table, selected=self.explain)


TRACKING_HIDES_NMS = ("show candidates is off while tracking (the tracker runs its own NMS); "
                      "set tracker=none to see NMS")


def visible_nms(table: NmsTable) -> tuple[Detections, Detections, str]:
    """The kept boxes (#1 first), the candidates not kept, and the readout line."""
    kept = kept_order(table)
    dropped = np.flatnonzero(table.kept_number == 0)
    removed_by_selected = int(np.sum(
        table.removed_by == table.row_of_number(table.selected))) if table.selected else 0
    summary = (f"NMS: {len(table)} candidates -> {len(kept)} kept (IoU > "
               f"{table.iou_threshold:.2f} suppressed)")
    if table.decided >= 0:
        summary += f"; replay: {table.decided} of {len(table)} decided"
    elif table.selected:
        summary += f"; box #{table.selected} removed {removed_by_selected}"
    if table.focus >= 0:
        summary += f"; candidate {table.focus + 1}: {decision_text(table, table.focus)}"
    return table.candidates[kept], table.candidates[dropped], summary
