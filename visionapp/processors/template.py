"""Template matching: every place the template appears above a score threshold, not only the best.

The score map from ``cv2.matchTemplate`` is turned into "higher is better" scores in [0, 1]
(SQDIFF methods are inverted; the un-normalised methods are scaled by their best value), local
maxima above ``threshold`` become candidate boxes, and greedy NMS removes overlapping hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from visionapp import paths
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.images import cached_image
from visionapp.core.nms import nms
from visionapp.core.outputs import write_image
from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Detections, Frame, Result
from visionapp.core.view_edits import ViewEdit

METHODS = {
    "TM_CCOEFF_NORMED": cv2.TM_CCOEFF_NORMED,
    "TM_CCORR_NORMED": cv2.TM_CCORR_NORMED,
    "TM_SQDIFF_NORMED": cv2.TM_SQDIFF_NORMED,
    "TM_CCOEFF": cv2.TM_CCOEFF,
    "TM_CCORR": cv2.TM_CCORR,
    "TM_SQDIFF": cv2.TM_SQDIFF,
}


def read_image(path: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """The template (or mask) image, read once per file version: re-saving it reloads it."""
    return cached_image(path, flags, "template file {path!r} does not exist; choose an "
                                     "existing image")


def similarity(scores: np.ndarray, method: str) -> np.ndarray:
    """Map a matchTemplate score map to [0, 1] where 1 is the best possible match."""
    if method == "TM_SQDIFF_NORMED":
        return 1.0 - scores
    if method == "TM_SQDIFF":
        worst = float(scores.max())
        return 1.0 - scores / worst if worst > 0 else np.ones_like(scores)
    if method in ("TM_CCOEFF", "TM_CCORR"):
        best = float(scores.max())
        return scores / best if best > 0 else np.zeros_like(scores)
    return scores


@dataclass(frozen=True)
class TemplateMatch(ProcessorBase):
    """Find all occurrences of a template image (a file, or a rectangle drawn in the GUI)."""

    name: ClassVar[str] = "template"
    template_path: str = param("", kind="path", help="template image file")
    mask_path: str = param("", kind="path", help="optional mask: white = pixels that count")
    method: str = param("TM_CCOEFF_NORMED", choices=tuple(METHODS))
    threshold: float = param(0.8, min=0.0, max=1.0, step=0.01, help="minimum similarity")
    max_matches: int = param(20, min=1, max=500, scale="log")
    overlap_iou: float = param(0.3, min=0.0, max=1.0, step=0.05,
                               help="matches overlapping more than this are merged")
    grayscale: bool = param(True, help="match on gray images (faster, lighting-robust)")
    show_map: bool = param(False, help="show the similarity map beside the frame")

    def __post_init__(self) -> None:
        super().__post_init__()
        for field_name in ("template_path", "mask_path"):
            value = getattr(self, field_name)
            if value and not Path(value).expanduser().is_file():
                raise ParameterError(
                    f"template.{field_name}: {value!r} does not exist; choose an existing image"
                )

    def __call__(self, frame: Frame) -> Result:
        if not self.template_path:
            return Result(self.name, text=("template: no template yet — set template_path "
                                           "or draw a rectangle on the view",))
        flags = cv2.IMREAD_GRAYSCALE if self.grayscale else cv2.IMREAD_COLOR
        template = read_image(self.template_path, flags)
        image = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if self.grayscale else frame.image
        th, tw = template.shape[:2]
        if th > image.shape[0] or tw > image.shape[1]:
            return Result(self.name, text=(f"template: {tw}×{th} template is larger than the "
                                           f"{image.shape[1]}×{image.shape[0]} frame",))
        mask = None
        if self.mask_path:
            mask = read_image(self.mask_path, flags)
            if mask.shape[:2] != (th, tw):
                raise BadInput(f"mask {self.mask_path!r} is {mask.shape[1]}×{mask.shape[0]}, "
                               f"the template is {tw}×{th}; use a mask of the template's size")
        raw = cv2.matchTemplate(image, template, METHODS[self.method], mask=mask)
        score = np.nan_to_num(similarity(raw, self.method), copy=False, nan=0.0, posinf=0.0,
                              neginf=0.0).astype(np.float32, copy=False)
        detections, n_candidates = self._matches(score, tw, th)
        result_text = (f"template: {n_candidates} candidates → {len(detections)} matches "
                       f"≥ {self.threshold:.2f}",)
        overlay = None
        if self.show_map:
            heat = cv2.normalize(score, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
            heat = cv2.copyMakeBorder(heat, th // 2, th - th // 2 - 1, tw // 2, tw - tw // 2 - 1,
                                      cv2.BORDER_CONSTANT, value=0)
            overlay = cv2.applyColorMap(heat, cv2.COLORMAP_JET)
        best = float(score.max()) if score.size else None
        values = {"candidates": n_candidates, "matches": len(detections),
                  "best_score": None if best is None else round(best, 4)}
        return Result(self.name, detections=detections, overlay=overlay,
                      overlay_mode="side_by_side", text=result_text, values=values)

    def _matches(self, score: np.ndarray, tw: int, th: int) -> tuple[Detections, int]:
        # Candidates are local maxima (a pixel equal to the max of its neighbourhood) above the
        # threshold: one per peak instead of the whole plateau of near-best positions.
        kernel = np.ones((max(3, th // 4 | 1), max(3, tw // 4 | 1)), np.uint8)
        peaks = (score >= self.threshold) & (score >= cv2.dilate(score, kernel))
        ys, xs = np.nonzero(peaks)
        if xs.size == 0:
            return Detections.empty(), 0
        scores = score[ys, xs]
        boxes = np.stack([xs, ys, xs + tw, ys + th], axis=1).astype(np.float32)
        keep = nms(boxes, scores, self.overlap_iou)[: self.max_matches]
        dets = Detections.from_lists(boxes[keep], scores[keep], ["match"] * len(keep))
        return dets, int(xs.size)

    def view_rect(self, crop_bgr: np.ndarray) -> ViewEdit:
        """A rectangle dragged on the view becomes the template, saved as a PNG in the user
        cache (``paths.templates_dir()``) under a name that does not exist yet."""
        folder = paths.templates_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stem = datetime.now().strftime("template_%Y%m%d_%H%M%S")
        path = write_image(paths.unique_path(folder, stem, ".png"),
                           np.ascontiguousarray(crop_bgr))
        h, w = crop_bgr.shape[:2]
        return ViewEdit({"template_path": str(path)}, f"template {w}×{h} px saved to {path}")
