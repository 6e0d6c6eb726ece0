"""``ocr``: text in the frame, in a region of interest, or in each box an earlier processor found,
read by Tesseract or RapidOCR (one result shape for both).

Per region: the page is turned upright first when ``auto_rotate`` is on (Tesseract's orientation
detection: 90°, 180°, 270°), then deskewed, scaled, converted to grayscale and thresholded as
asked (:mod:`visionapp.processors.ocr_prep`), then read. Boxes are mapped back to frame pixels.

The Result carries one detection per text line (or word), labelled with its text and scored with
the engine's confidence (0–1), and ``values["text"]``: the frame's full text, one line per text
line, regions in order — what ``visionapp process --txt`` writes. No text is an empty result,
not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from visionapp.core.annotate_text import text_page
from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.types import Detections, Frame, Result
from visionapp.core.view_edits import ViewEdit
from visionapp.processors import ocr_engines as engines
from visionapp.processors.ocr_prep import Prepared, map_quads, prepare, to_gray

MAX_SHOWN_LINES = 4
MAX_SHOWN_CHARS = 60
MIN_REGION_PX = 8


@dataclass(frozen=True, slots=True)
class RegionText:
    xyxy: tuple[int, int, int, int]  # the region in frame pixels
    lines: list[engines.TextLine]
    prepared: Prepared


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def _fit(image: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """``image`` scaled into a white canvas of size ``wh`` keeping its aspect (the preview)."""
    w, h = wh
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    factor = min(w / bgr.shape[1], h / bgr.shape[0])
    size = (max(1, int(bgr.shape[1] * factor)), max(1, int(bgr.shape[0] * factor)))
    canvas = np.full((h, w, 3), 255, np.uint8)
    small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    y0, x0 = (h - size[1]) // 2, (w - size[0]) // 2
    canvas[y0 : y0 + size[1], x0 : x0 + size[0]] = small
    return canvas


@dataclass(frozen=True)
class Ocr(ProcessorBase):
    """Reads text (Tesseract or RapidOCR) in the frame, an ROI, or earlier processors' boxes."""

    name: ClassVar[str] = "ocr"
    reads_text: ClassVar[bool] = True  # values["text"] is the frame's text (for --txt)
    engine: str = param("rapidocr", choices=("rapidocr", "tesseract"),
                        help="rapidocr: scene text and pages (ONNX models in its wheel); "
                             "tesseract: the classic page reader")
    language: str = param("eng", kind="text",
                          help="tesseract: language packs, e.g. eng or eng+deu (RapidOCR's "
                               "model reads Latin and Chinese scripts as it is)")
    level: str = param("line", choices=("line", "word"), help="one box per text line or word")
    region: str = param("frame", choices=("frame", "roi", "boxes"),
                        help="roi: the rectangle below; boxes: each box found by the "
                             "processors before this one")
    roi_x: int = param(0, min=0, max=16384, slider=(0, 1920))
    roi_y: int = param(0, min=0, max=16384, slider=(0, 1080))
    roi_width: int = param(0, min=0, max=16384, slider=(0, 1920), help="0: to the right edge")
    roi_height: int = param(0, min=0, max=16384, slider=(0, 1080), help="0: to the bottom edge")
    padding: int = param(4, min=0, max=200, help="boxes: pixels added around each box")
    auto_rotate: bool = param(True, help="turn pages photographed sideways or upside down "
                                         "upright (Tesseract's orientation detection)")
    deskew: bool = param(False, help="level text lines tilted by up to 15°")
    grayscale: bool = param(False)
    threshold: str = param("none", choices=("none", "otsu", "adaptive"),
                           help="binarise: one global (Otsu) or a local threshold")
    scale: float = param(1.0, min=0.25, max=4.0, step=0.25,
                         help="resize before reading (small text reads better enlarged)")
    layout: str = param("auto", choices=tuple(engines.LAYOUT_PSM),
                        help="tesseract page segmentation: auto, one block, one line, sparse")
    min_confidence: float = param(0.3, min=0.0, max=1.0, step=0.05,
                                  help="drop text read with less confidence")
    show_prepared: bool = param(False, help="show what the engine reads beside the frame")
    show_text: str = param("beside", choices=("beside", "on boxes"),
                           help="beside: the text read written on a page beside the frame, "
                                "where it was read (the words stay visible); on boxes: as "
                                "labels on the words")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("language",), lambda p: bool(engines.LANGUAGE_PATTERN.fullmatch(p.language)),
             "{language} is not a Tesseract language list; use codes joined by +, such as "
             "eng or eng+deu"),
    )

    def prepare(self) -> None:
        """Check the engine before the first frame: the Tesseract binary and language packs (and
        the orientation model with auto_rotate), or RapidOCR's models, loaded now."""
        if self.engine == "tesseract" or self.auto_rotate:
            engines.check_tesseract(self.language if self.engine == "tesseract" else None,
                                    osd=self.auto_rotate)
        if self.engine == "rapidocr":
            engines.rapid_engine()

    # ------------------------------------------------------------------------- regions

    def regions(self, frame: Frame) -> list[tuple[int, int, int, int]]:
        """The rectangles (x1, y1, x2, y2, frame pixels, clipped) to read."""
        h, w = frame.image.shape[:2]
        if self.region == "frame":
            return [(0, 0, w, h)]
        if self.region == "roi":
            x0, y0 = min(self.roi_x, w - 1), min(self.roi_y, h - 1)
            x1 = w if self.roi_width == 0 else min(w, x0 + self.roi_width)
            y1 = h if self.roi_height == 0 else min(h, y0 + self.roi_height)
            small = x1 - x0 < MIN_REGION_PX or y1 - y0 < MIN_REGION_PX
            return [] if small else [(x0, y0, x1, y1)]
        out = []
        for result in frame.context:
            for x1, y1, x2, y2 in result.detections.xyxy:
                box = (max(0, int(x1) - self.padding), max(0, int(y1) - self.padding),
                       min(w, int(np.ceil(x2)) + self.padding),
                       min(h, int(np.ceil(y2)) + self.padding))
                if box[2] - box[0] >= MIN_REGION_PX and box[3] - box[1] >= MIN_REGION_PX:
                    out.append(box)
        return out

    def read_region(self, image: np.ndarray, xyxy: tuple[int, int, int, int]) -> RegionText:
        x0, y0, x1, y1 = xyxy
        crop = image[y0:y1, x0:x1]
        turns = 0
        if self.auto_rotate:
            found = engines.detect_orientation(to_gray(crop))
            turns = found[0] if found else 0
        prepared = prepare(crop, grayscale=self.grayscale, threshold_mode=self.threshold,
                           deskew=self.deskew, quarter_turns=turns, factor=self.scale)
        if self.engine == "tesseract":
            lines = engines.read_tesseract(prepared.image, self.language, self.layout)
        else:
            lines = engines.read_rapidocr(prepared.image, line_flip=not self.auto_rotate)
        return RegionText(xyxy, lines, prepared)

    def view_region(self, xywh: tuple[int, int, int, int]) -> ViewEdit:
        """A rectangle dragged on the view becomes the region read (region=roi)."""
        x, y, w, h = (int(v) for v in xywh)
        return ViewEdit({"region": "roi", "roi_x": x, "roi_y": y, "roi_width": w,
                         "roi_height": h},
                        f"ocr reads the {w}×{h} rectangle at ({x}, {y}); set region=frame to "
                        "read the whole frame again")

    # ------------------------------------------------------------------------- the result

    def __call__(self, frame: Frame) -> Result:
        boxes = self.regions(frame)
        if not boxes:
            why = ("no boxes from earlier processors to read (add e.g. yolo.detect or template "
                   "before it)" if self.region == "boxes" else
                   f"the ROI is under {MIN_REGION_PX} px or outside the frame")
            return Result(self.name, text=(f"ocr: {why}",),
                          values={"engine": self.engine, "text": "", "lines": 0, "words": 0,
                                  "regions": []})
        found = [self.read_region(frame.image, box) for box in boxes]
        return self._result(frame, found)

    def _result(self, frame: Frame, found: list[RegionText]) -> Result:
        xyxy, scores, labels, texts, regions = [], [], [], [], []
        n_lines = n_words = 0
        for region in found:
            offset = np.array([region.xyxy[0], region.xyxy[1]] * 2, np.float32)
            region_lines = []
            for line in region.lines:
                words = [w for w in line.words if w.confidence >= self.min_confidence]
                if self.level == "word" and line.words:
                    text = " ".join(w.text for w in words)
                    items = [(w.quad_xy, w.confidence, w.text) for w in words]
                elif line.confidence >= self.min_confidence:
                    text = line.text
                    items = [(line.quad_xy, line.confidence, line.text)]
                else:
                    continue
                if not text.strip():
                    continue
                region_lines.append(text)
                n_words += len(text.split())
                if items:
                    quads = np.stack([q for q, _, _ in items])
                    xyxy.extend(map_quads(quads, region.prepared.to_input) + offset)
                    scores.extend(c for _, c, _ in items)
                    labels.extend(t for _, _, t in items)
            n_lines += len(region_lines)
            texts.extend(region_lines)
            turns = region.prepared.quarter_turns
            regions.append({"xyxy": list(region.xyxy),
                            "orientation_deg": 90 * turns if self.auto_rotate else None,
                            "skew_deg": region.prepared.skew_deg,
                            "text": "\n".join(region_lines)})
        h, w = frame.image.shape[:2]
        dets = Detections.from_lists(
            np.clip(np.array(xyxy, np.float32).reshape(-1, 4), 0, [w, h, w, h]), scores, labels)
        summary = f"OCR {self.engine}: {n_lines} line(s)"
        turned = sorted({r["orientation_deg"] for r in regions if r["orientation_deg"]})
        if turned:
            summary += ", turned " + "/".join(f"{d} deg" for d in turned) + " clockwise"
        if self.region == "boxes":
            summary += f" in {len(regions)} box(es)"
        shown = [_clip(t) for t in texts[:MAX_SHOWN_LINES]]
        if len(texts) > MAX_SHOWN_LINES:
            shown.append(f"... {len(texts) - MAX_SHOWN_LINES} more line(s)")
        overlay = None
        beside = self.show_text == "beside" and not (self.show_prepared and found)
        if self.show_prepared and found:
            overlay = _fit(found[0].prepared.image, (w, h))
        elif beside:
            overlay = text_page((h, w), dets.xyxy, dets.labels)
        values: dict[str, Any] = {"engine": self.engine, "text": "\n".join(texts),
                                  "lines": n_lines, "words": n_words, "regions": regions}
        return Result(self.name, detections=dets, overlay=overlay, overlay_mode="side_by_side",
                      text=(summary,) if beside else (summary, *shown), values=values,
                      box_labels=not beside)
