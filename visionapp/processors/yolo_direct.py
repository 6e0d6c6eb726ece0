"""yolo.detect's direct OpenVINO path: plain detection on an OpenVINO export without
Ultralytics' predictor around it.

At 640×384 on a 2-core CPU the INT8 network itself takes ~11.5 ms, and Ultralytics' predictor
added ~4 ms around it (its letterbox into a torch tensor, a float copy and division, NMS in
torch). Here the frame is letterboxed as the INT8 calibration saw it, its three channels are
copied as uint8 RGB planes into the network's input (the network divides by 255 itself: the same
outputs as a float tensor from ``cv2.dnn.blobFromImage``, 0.3–0.4 ms less per 640 frame on 2
cores; converting the interleaved BGR image inside the network instead measured 2.6 ms slower),
the outputs are read in place, and the head's output is
decoded with visionapp's own NumPy NMS (:func:`visionapp.core.nms.nms`), the same greedy,
class-aware NMS with the same thresholds. Tracking and "show candidates" keep Ultralytics'
predictor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from visionapp.core.nms import nms
from visionapp.processors.yolo_openvino import compile_openvino
from visionapp.processors.yolo_quantize import letterbox_placed

MAX_NMS = 30_000  # candidates NMS looks at, highest scores first (Ultralytics' limit too)
CLASS_OFFSET = 7680.0  # beyond any input size: boxes of different classes never overlap


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    cx, cy, w, h = xywh.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def decode_head(pred: np.ndarray, *, conf: float, iou: float, classes: list[int] | None = None,
                agnostic: bool = False, max_det: int = 300
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A YOLOv8/11 detection head's (4 + classes, anchors) output → boxes (N, 4) xyxy float64
    in network-input pixels, scores (N,) float32, class ids (N,) int32, best first: class-aware
    greedy NMS at ``iou`` (``agnostic``: across classes) over the boxes scoring above ``conf``
    (of ``classes`` only, when given), at most ``max_det``."""
    scores = pred[4:]
    best = scores.max(axis=0)  # a sixth of argmax's time over every anchor
    idx = np.flatnonzero(best > conf)
    cls = scores[:, idx].argmax(axis=0)
    if classes is not None:
        wanted = np.isin(cls, classes)
        idx, cls = idx[wanted], cls[wanted]
    if idx.size > MAX_NMS:
        top = np.argsort(-best[idx], kind="stable")[:MAX_NMS]
        idx, cls = idx[top], cls[top]
    xyxy = xywh_to_xyxy(pred[:4, idx].T.astype(np.float64))
    # One greedy pass for every class at once: each class's boxes moved CLASS_OFFSET apart, so
    # boxes of two classes never overlap (as Ultralytics does it).
    apart = xyxy if agnostic else xyxy + cls[:, None] * CLASS_OFFSET
    kept = nms(apart, best[idx], iou)[:max_det]
    return xyxy[kept], best[idx][kept].astype(np.float32), cls[kept].astype(np.int32)


def class_names(folder: Path) -> dict[int, str]:
    """The class names Ultralytics wrote beside its export (``metadata.yaml``)."""
    import yaml

    meta = yaml.safe_load((folder / "metadata.yaml").read_text(encoding="utf-8"))
    return {int(k): str(v) for k, v in meta["names"].items()}


class DirectModel:
    """An OpenVINO YOLO detection export (``folder``) compiled for ``precision``, taking uint8
    RGB planes; :meth:`detect` runs one BGR frame. Not thread-safe (one infer request and input
    buffer): the caller holds the runtime's lock."""

    def __init__(self, folder: Path, precision: str):
        self.compiled = compile_openvino(folder, precision, uint8_input=True)
        _, _, height, width = self.compiled.input(0).get_shape()
        self.shape_hw = (int(height), int(width))
        self._request = self.compiled.create_infer_request()
        self._planes = np.empty((1, 3, int(height), int(width)), np.uint8)
        self.names = class_names(Path(folder))

    def detect(self, image_bgr: np.ndarray, *, conf: float, iou: float,
               classes: list[int] | None = None, agnostic: bool = False, max_det: int = 300
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 4) xyxy float32 in ``image_bgr``'s pixels, scores (N,) float32 and class
        ids (N,) int32, best first: class-aware NMS at ``iou`` (``agnostic``: across classes)
        over the boxes scoring above ``conf`` (of ``classes`` only, when given)."""
        h, w = image_bgr.shape[:2]
        boxed, scale, (left, top) = letterbox_placed(image_bgr, self.shape_hw)
        cv2.split(boxed, [self._planes[0, 2], self._planes[0, 1], self._planes[0, 0]])  # B,G,R
        self._request.infer([self._planes], share_inputs=True, share_outputs=True)
        # (4 + classes, anchors), the request's own memory: decode_head copies what it keeps
        pred = self._request.get_output_tensor(0).data[0]
        xyxy, scores, cls = decode_head(pred, conf=conf, iou=iou, classes=classes,
                                        agnostic=agnostic, max_det=max_det)
        boxes = np.clip((xyxy - (left, top, left, top)) / scale, 0, (w, h, w, h))
        return boxes.astype(np.float32), scores, cls

    def describe(self) -> dict[str, Any]:
        from visionapp.processors.yolo_openvino import describe_compiled

        return describe_compiled(self.compiled)
