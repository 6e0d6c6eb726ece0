"""Pages of known text rendered with a system font, for measuring OCR: the character error rate
(CER) of what an engine reads against the text that was drawn.

Conditions follow what photographed pages suffer: ``clean``, ``skewed`` (±4–10°), ``turned``
(90°, 180°, 270°), ``noisy`` (Gaussian noise, σ = 20 grey levels) and ``low_contrast`` (grey
text on a grey page). Everything is seeded, so a set is the same on every machine that has the
same font. Rendering needs Pillow (the ``ocr`` extra brings it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from visionapp import paths

SENTENCES = (
    "Invoice 2024-117: total due 348.50 EUR by 15 March.",
    "The quick brown fox jumps over the lazy dog.",
    "Order #5521 shipped to 42 Baker Street, London.",
    "Call 020 7946 0958 between 9am and 5pm.",
    "Sphinx of black quartz, judge my vow!",
    "Temperature 21.5 C, humidity 48%, wind 12 km/h.",
    "Pack my box with five dozen liquor jugs.",
    "Reading text from photos and scanned pages.",
    "Meeting moved to Tuesday at 14:30 in room B7.",
    "Please keep this receipt for your records.",
)
CONDITIONS = ("clean", "skewed", "turned", "noisy", "low_contrast")


def system_fonts() -> list[Path]:
    """TrueType fonts from :data:`visionapp.paths.SYSTEM_FONT_FILES` (plus DejaVu Serif) that
    exist here."""
    candidates = [*paths.SYSTEM_FONT_FILES,
                  Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")]
    return [p for p in candidates if p.is_file()]


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    condition: str
    image: np.ndarray  # BGR
    truth: str  # the drawn lines joined by "\n"
    quarter_turns: int = 0  # clockwise quarter turns that make it upright again
    skew_deg: float = 0.0  # counter-clockwise tilt of the text lines


def render_page(lines: list[str], font_path: Path, size_px: int, *, ink: int = 20,
                paper: int = 250, margin_px: int = 40) -> np.ndarray:
    """Dark ``lines`` on a light page (grey levels ``ink`` and ``paper``), BGR."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), size_px)
    widths = [font.getbbox(line)[2] for line in lines]
    step = int(size_px * 1.7)
    page = Image.new("L", (max(widths) + 2 * margin_px, step * len(lines) + 2 * margin_px),
                     paper)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((margin_px, margin_px + i * step), line, font=font, fill=ink)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_GRAY2BGR)


def tilt(image: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate counter-clockwise by ``angle_deg`` on a larger canvas of the page's colour."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(w * cos + h * sin) + 1, int(w * sin + h * cos) + 1
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    paper = tuple(int(v) for v in image[0, 0])
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_CUBIC, borderValue=paper)


def synthetic_set(per_condition: int = 4, seed: int = 0,
                  conditions: tuple[str, ...] = CONDITIONS) -> list[Sample]:
    """``per_condition`` pages of two or three lines for each condition, font sizes 18–32 px."""
    fonts = system_fonts()
    if not fonts:
        raise RuntimeError("no system TrueType font found (install fonts-dejavu-core)")
    rng = np.random.default_rng(seed)
    out = []
    for condition in conditions:
        for i in range(per_condition):
            picked = rng.choice(len(SENTENCES), size=int(rng.integers(2, 4)), replace=False)
            lines = [SENTENCES[k] for k in picked]
            font = fonts[i % len(fonts)]
            size = int((18, 24, 32)[i % 3])
            ink, paper = (150, 200) if condition == "low_contrast" else (20, 250)
            image = render_page(lines, font, size, ink=ink, paper=paper)
            turns, skew = 0, 0.0
            if condition == "skewed":
                skew = float(rng.uniform(4, 10) * rng.choice([-1, 1]))
                image = tilt(image, skew)
            elif condition == "turned":
                turns = (1, 2, 3)[i % 3]
                # np.rot90 turns counter-clockwise; ``turns`` clockwise quarters undo it.
                image = np.ascontiguousarray(np.rot90(image, k=turns))
            elif condition == "noisy":
                noise = rng.normal(0, 20, image.shape)
                image = np.clip(image.astype(np.float64) + noise, 0, 255).astype(np.uint8)
            out.append(Sample(f"{condition}_{i}", condition, image, "\n".join(lines), turns,
                              skew))
    return out


def normalise(text: str) -> str:
    """Whitespace runs (line breaks included) as one space, ends stripped."""
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), one NumPy row at a time."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    b_codes = np.frombuffer(b.encode("utf-32-le"), np.uint32)
    previous = np.arange(len(b) + 1)
    for i, ch in enumerate(a, start=1):
        cost = (b_codes != ord(ch)).astype(np.int64)
        current = np.empty_like(previous)
        current[0] = i
        # Substitution and deletion first, vectorised; insertion is a running minimum below.
        current[1:] = np.minimum(previous[:-1] + cost, previous[1:] + 1)
        current = np.minimum.accumulate(current - np.arange(len(current))) + np.arange(
            len(current))
        previous = current
    return int(previous[-1])


def character_error_rate(truth: str, found: str) -> float:
    """Edit distance between the whitespace-normalised texts, divided by the truth's length."""
    t, f = normalise(truth), normalise(found)
    return edit_distance(t, f) / max(1, len(t))
