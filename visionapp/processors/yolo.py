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
  ``nms`` table and drawn. Without it, an OpenVINO export made here runs directly
  (:mod:`visionapp.processors.yolo_direct`: no Ultralytics predictor around the network) and
  other backends use Ultralytics' own NMS; they agree. With a tracker on, the tracker's own NMS
  runs and the view says so.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from visionapp.core.errors import BadInput
from visionapp.core.model_cache import MODELS
from visionapp.core.nms import decision_text, kept_order, nms_table, replay
from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Detections, Frame, NmsTable, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import yolo_precision, yolo_quantize
from visionapp.processors.ultralytics_safe import check_checkpoint
from visionapp.processors.yolo_runtime import (
    EXPORT_NAMES,
    IMAGE_SIZES,
    Runtime,
    accelerated_format,
    cuda_available,
    export_path,
    input_hw,
    load_runtime,
    precision_plan,
    resolve_weights,
)

log = logging.getLogger(__name__)

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


def _ran_in(rt: Runtime) -> str:
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

    def runtime(self, frame_hw: tuple[int, int], precision: str = "fp32") -> Runtime:
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
        names = rt.names
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
            elif rt.direct is not None:
                xyxy, conf, cls = rt.direct.detect(frame.image, conf=self.conf, iou=self.iou,
                                                   classes=classes, agnostic=self.agnostic_nms,
                                                   max_det=self.max_det)
                dets = Detections(xyxy, conf, cls, tuple(names[int(c)] for c in cls))
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
