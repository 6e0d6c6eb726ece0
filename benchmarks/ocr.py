"""OCR: character error rate (CER) and milliseconds per page for Tesseract and RapidOCR, side by
side, on pages of known text rendered with a system font (visionapp.processors.ocr_samples):
clean, skewed ±4–10°, turned 90/180/270°, noisy, low contrast.

Both engines run through the ``ocr`` processor with the page settings (auto_rotate, deskew),
alternating page by page so load from other processes hits both alike; each engine reads one
page first, untimed, to load. Targets, for the better engine: CER ≤ 2% on clean text and ≤ 8%
on the skewed, turned, noisy and faint pages.

    .venv/bin/python -m benchmarks.ocr [--per-condition 6] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks._common import header, target
from visionapp.core import registry
from visionapp.core.types import Frame
from visionapp.processors.ocr_samples import (
    CONDITIONS,
    character_error_rate,
    synthetic_set,
    system_fonts,
)

ENGINES = ("tesseract", "rapidocr")
CLEAN_TARGET, HARD_TARGET = 0.02, 0.08


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-condition", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    samples = synthetic_set(args.per_condition, args.seed)
    fonts = ", ".join(p.stem for p in system_fonts())
    header("ocr: character error rate and ms/page, Tesseract vs RapidOCR")
    print(f"OCR benchmark: {len(samples)} rendered pages ({args.per_condition} per condition, "
          f"fonts {fonts}, 18-32 px, seed {args.seed}); ocr with auto_rotate and deskew")
    processors = {e: registry.create("ocr", {"engine": e, "auto_rotate": True, "deskew": True})
                  for e in ENGINES}
    for processor in processors.values():  # load the engines, untimed
        processor.prepare()
        processor(Frame(samples[0].image, 0, 0, still=True))
    cer: dict[str, dict[str, list[float]]] = {e: {c: [] for c in CONDITIONS} for e in ENGINES}
    ms: dict[str, dict[str, list[float]]] = {e: {c: [] for c in CONDITIONS} for e in ENGINES}
    for sample in samples:
        frame = Frame(sample.image, 0, 0, still=True)
        for engine, processor in processors.items():
            t0 = time.perf_counter()
            text = processor(frame).values["text"]
            ms[engine][sample.condition].append((time.perf_counter() - t0) * 1000)
            cer[engine][sample.condition].append(character_error_rate(sample.truth, text))

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    columns = f"{'condition':<14}" + "".join(f"{e + ' CER':>16}{'ms/page':>10}" for e in ENGINES)
    print(columns)
    print("-" * len(columns))
    for condition in (*CONDITIONS, "all"):
        row = f"{condition:<14}"
        for engine in ENGINES:
            picked = CONDITIONS if condition == "all" else (condition,)
            c = [v for k in picked for v in cer[engine][k]]
            t = [v for k in picked for v in ms[engine][k]]
            row += f"{mean(c):>15.2%}{statistics.median(t):>11.0f}"
        print(row)
    overall = {e: mean([v for c in CONDITIONS for v in cer[e][c]]) for e in ENGINES}
    speed = {e: statistics.median([v for c in CONDITIONS for v in ms[e][c]]) for e in ENGINES}
    best = min(ENGINES, key=lambda e: (round(overall[e], 4), speed[e]))
    other = next(e for e in ENGINES if e != best)
    print(f"better engine: {best} (mean CER {overall[best]:.2%} vs {overall[other]:.2%}; "
          f"median {speed[best]:.0f} vs {speed[other]:.0f} ms/page; speed ratio "
          f"{other}/{best} = {speed[other] / speed[best]:.2f})")
    clean = mean(cer[best]["clean"])
    hard = {c: mean(cer[best][c]) for c in CONDITIONS if c != "clean"}
    ok_clean = clean <= CLEAN_TARGET
    ok_hard = all(v <= HARD_TARGET for v in hard.values())
    target("ocr.clean_cer", ok_clean, f"clean CER {clean:.2%} (target <= {CLEAN_TARGET:.0%})")
    target("ocr.hard_cer", ok_hard, "skewed/turned/noisy/low-contrast CER "
           + ", ".join(f"{c} {v:.2%}" for c, v in hard.items())
           + f" (target <= {HARD_TARGET:.0%})")
    return 0 if ok_clean and ok_hard else 1


if __name__ == "__main__":
    raise SystemExit(main())
