"""The two OCR engines behind ``ocr``, giving one result shape: text lines with their words, each
with a confidence in [0, 1] and its four corners in the pixels of the image the engine read.

- **Tesseract** through pytesseract (the Debian packages ``tesseract-ocr`` and
  ``tesseract-ocr-<lang>``); also the page orientation detector (OSD, ``osd.traineddata``).
- **RapidOCR**: PaddleOCR's detection, direction and recognition networks as ONNX files inside
  the ``rapidocr`` wheel, run by onnxruntime. The files are passed by path, so RapidOCR never
  reaches for its download step; its drawing font (used only by its own visualiser, which
  visionapp never calls) is pointed at a system font for the same reason.

Both are imported on first use. A missing binary, language pack or wheel is a BadInput naming the
package that brings it.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from visionapp import paths
from visionapp.core.errors import BadInput
from visionapp.core.model_cache import MODELS

log = logging.getLogger(__name__)

LAYOUT_PSM = {"auto": 3, "block": 6, "line": 7, "sparse": 11}
LANGUAGE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*", re.IGNORECASE)
MIN_OSD_CONFIDENCE = 1.0  # below this Tesseract's orientation guess is ignored (page left as is)
OSD_MAX_SIDE_PX = 2500  # orientation is retried at 2x only for images up to this size
RAPID_MAX_SIDE_PX = 1280  # RapidOCR's text detector sees images at most this large
_OCR_EXTRA = "install the OCR extra: pip install 'visionapp[ocr]'"


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    confidence: float  # 0..1
    quad_xy: np.ndarray  # (4, 2) corners in the engine's image pixels


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    confidence: float
    quad_xy: np.ndarray
    words: tuple[Word, ...]


def _quad(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def debian_package(language: str) -> str:
    """Debian's package for a Tesseract language: eng → tesseract-ocr-eng, chi_sim →
    tesseract-ocr-chi-sim; the orientation model ships with tesseract-ocr itself."""
    if language == "osd":
        return "tesseract-ocr"
    return "tesseract-ocr-" + language.lower().replace("_", "-")


# ----------------------------------------------------------------------------- Tesseract


def _pytesseract():
    try:
        import pytesseract
    except ImportError:
        raise BadInput(f"the tesseract engine needs pytesseract: {_OCR_EXTRA}, or choose "
                       "engine=rapidocr") from None
    return pytesseract


@functools.cache
def _installed_languages(command: str) -> frozenset[str]:
    """The language packs this Tesseract binary has (cached per binary)."""
    pytesseract = _pytesseract()
    missing = BadInput(f"Tesseract is not installed (no {command!r} program): install the Debian "
                       "package tesseract-ocr (sudo apt-get install tesseract-ocr "
                       "tesseract-ocr-eng), or choose engine=rapidocr")
    if shutil.which(command) is None:
        raise missing
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError:
        raise missing from None


def tesseract_command() -> str:
    return _pytesseract().pytesseract.tesseract_cmd


def check_tesseract(language: str | None, osd: bool) -> None:
    """Raise BadInput (naming the Debian package) unless the binary and every language pack in
    ``language`` ("eng+deu"; None: only the binary), and ``osd`` if asked, are installed."""
    if language is not None and not LANGUAGE_PATTERN.fullmatch(language):
        raise BadInput(f"ocr.language={language!r} is not a Tesseract language list; use codes "
                       "joined by +, such as eng or eng+deu")
    have = _installed_languages(tesseract_command())
    wanted = (language.split("+") if language else []) + (["osd"] if osd else [])
    for code in wanted:
        if code not in have:
            shown = ", ".join(sorted(have)) or "none"
            what = ("orientation detection (auto_rotate) needs osd.traineddata"
                    if code == "osd" else f"Tesseract has no language pack {code!r}")
            raise BadInput(f"{what} (installed: {shown}); install the Debian package "
                           f"{debian_package(code)} (sudo apt-get install "
                           f"{debian_package(code)})"
                           + (", or set auto_rotate=false" if code == "osd" else
                              "; codes are ISO 639-2, such as eng, deu, fra"))


def read_tesseract(image: np.ndarray, language: str, layout: str) -> list[TextLine]:
    """Words (Tesseract level 5) grouped into its lines (block, paragraph, line)."""
    check_tesseract(language, osd=False)
    pytesseract = _pytesseract()
    rgb = image if image.ndim == 2 else image[:, :, ::-1]
    data = pytesseract.image_to_data(rgb, lang=language, config=f"--psm {LAYOUT_PSM[layout]}",
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for i, text in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if int(data["level"][i]) != 5 or conf < 0 or not str(text).strip():
            continue
        x, y = float(data["left"][i]), float(data["top"][i])
        w, h = float(data["width"][i]), float(data["height"][i])
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append(Word(str(text).strip(), conf / 100.0,
                                              _quad(x, y, x + w, y + h)))
    out = []
    for words in lines.values():
        corners = np.concatenate([w.quad_xy for w in words])
        (x1, y1), (x2, y2) = corners.min(axis=0), corners.max(axis=0)
        out.append(TextLine(" ".join(w.text for w in words),
                            float(np.mean([w.confidence for w in words])),
                            _quad(x1, y1, x2, y2), tuple(words)))
    return out


def detect_orientation(gray: np.ndarray) -> tuple[int, float] | None:
    """(clockwise quarter turns that make the page upright, Tesseract's confidence), or None
    when there is too little text to tell or the guess is weaker than MIN_OSD_CONFIDENCE."""
    check_tesseract(None, osd=True)
    pytesseract = _pytesseract()
    osd = None
    # Small print has too few characters big enough for the detector: try it enlarged too.
    for factor in (1.0, 2.0):
        if factor > 1 and max(gray.shape) * factor > OSD_MAX_SIDE_PX:
            break
        image = gray if factor == 1 else cv2.resize(gray, None, fx=factor, fy=factor,
                                                     interpolation=cv2.INTER_CUBIC)
        try:
            osd = pytesseract.image_to_osd(image, config="--psm 0",
                                           output_type=pytesseract.Output.DICT)
            break
        except pytesseract.TesseractError as exc:  # "Too few characters", an empty page
            log.debug("orientation not detected at %gx: %s", factor, exc)
    if osd is None:
        return None
    confidence = float(osd.get("orientation_conf", 0.0))
    if confidence < MIN_OSD_CONFIDENCE:
        return None
    return (int(osd.get("rotate", 0)) // 90) % 4, confidence


# ----------------------------------------------------------------------------- RapidOCR


def _rapidocr_models() -> dict[str, Path]:
    """The detection, direction-classifier and recognition ONNX files shipped in the wheel."""
    try:
        import rapidocr
    except ImportError:
        raise BadInput(f"the rapidocr engine needs the rapidocr package: {_OCR_EXTRA}, or "
                       "choose engine=tesseract") from None
    folder = Path(rapidocr.__file__).resolve().parent / "models"
    found = {}
    for task in ("det", "cls", "rec"):
        files = sorted(folder.glob(f"*_{task}_*.onnx"))
        if len(files) != 1:
            raise BadInput(f"the rapidocr wheel should hold one {task} model in {folder}, found "
                           f"{len(files)}; reinstall it: pip install --force-reinstall rapidocr")
        found[task] = files[0]
    return found


class _Rapid:
    def __init__(self):
        from rapidocr import RapidOCR

        models = _rapidocr_models()
        font = next((str(p) for p in paths.SYSTEM_FONT_FILES if p.is_file()), None)
        # RapidOCR's default enlarges every image until its SHORT side is 736 px (a 200-px strip
        # of text became 736 × 2,600 and took 8 s); capping the long side instead reads the
        # synthetic set exactly as well, about five times faster.
        params = {"Global.log_level": "error", "Global.text_score": 0.0,
                  "Det.limit_type": "max", "Det.limit_side_len": RAPID_MAX_SIDE_PX,
                  "Det.model_path": str(models["det"]), "Cls.model_path": str(models["cls"]),
                  "Rec.model_path": str(models["rec"])}
        if font is not None:
            params["Global.font_path"] = font
        self.engine = RapidOCR(params=params)
        self.lock = threading.Lock()


def rapid_engine() -> _Rapid:
    """The RapidOCR engine from the model cache, keyed by its detection network's file (about a
    second to load: three ONNX sessions)."""
    detector = MODELS.resolve("rapidocr", "det", lambda _: _rapidocr_models()["det"])
    return MODELS.load("rapidocr", detector, (), lambda _: _Rapid())


def read_rapidocr(image: np.ndarray, line_flip: bool) -> list[TextLine]:
    """Lines as RapidOCR detects them (rotated quadrilaterals), each with its words' boxes.

    ``line_flip`` runs RapidOCR's per-line 0°/180° classifier. It misjudges some upright lines
    (a long serif line turned into nonsense in the synthetic set), so ``ocr`` uses it only when
    the page's orientation is not detected as a whole (auto_rotate off)."""
    rapid = rapid_engine()
    with rapid.lock:
        out = rapid.engine(image, return_word_box=True, use_cls=line_flip)
    if out.boxes is None or out.txts is None:
        return []
    words_per_line = out.word_results or ((),) * len(out.txts)
    lines = []
    for quad, text, score, words in zip(out.boxes, out.txts, out.scores, words_per_line,
                                        strict=False):
        parts = tuple(Word(str(t), float(s), np.asarray(box, np.float32).reshape(4, 2))
                      for t, s, box in words if box is not None and str(t).strip())
        lines.append(TextLine(str(text), float(score), np.asarray(quad, np.float32).reshape(4, 2),
                              parts))
    return lines
