"""Pipeline overhead: the haar and template processors through visionapp's chain vs calling
OpenCV directly on the same decoded frames (target ratio direct/pipeline ≥ 0.95).

    .venv/bin/python -m benchmarks.overhead [--frames 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import header, interleaved, median, shared, target
from visionapp.core import registry
from visionapp.core.pipeline import run
from visionapp.core.sources import open_source
from visionapp.processors.haar import FACE_CASCADES, find_cascade


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    header("overhead: haar / template through the chain vs direct OpenCV")
    with open_source(str(shared("data/videos/selfie_segmentation_web.mp4"))) as source:
        frames = [f for _, f in zip(range(args.frames), source, strict=False)]
    tmp = Path(tempfile.mkdtemp())
    template = frames[0].image[60:140, 300:380]
    cv2.imwrite(str(tmp / "t.png"), template)
    cascade = cv2.CascadeClassifier(str(find_cascade(FACE_CASCADES["default"])))
    gray_template = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY)

    def direct_haar():
        for f in frames:
            gray = cv2.equalizeHist(cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY))
            cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))

    th, tw = gray_template.shape
    kernel = np.ones((max(3, th // 4 | 1), max(3, tw // 4 | 1)), np.uint8)

    def direct_template():
        # The same work as the processor, written straight against OpenCV: every local maximum
        # above 0.8, then OpenCV's own NMS over the template-sized boxes.
        for f in frames:
            gray = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY)
            scores = cv2.matchTemplate(gray, gray_template, cv2.TM_CCOEFF_NORMED)
            ys, xs = np.nonzero((scores >= 0.8) & (scores >= cv2.dilate(scores, kernel)))
            boxes = [[int(x), int(y), tw, th] for x, y in zip(xs, ys, strict=True)]
            cv2.dnn.NMSBoxes(boxes, scores[ys, xs].tolist(), 0.8, 0.3)

    chains = {
        "haar": (registry.create("haar.faces"),),
        "template": (registry.create("template", {"template_path": str(tmp / "t.png")}),),
    }

    def through_pipeline(name):
        return lambda: [None for _ in run(iter(frames), chains[name])]

    ok = True
    for name, direct in (("haar", direct_haar), ("template", direct_template)):
        times = interleaved({"direct": direct, "pipeline": through_pipeline(name)}, args.rounds)
        t_direct, t_pipe = median(times["direct"]), median(times["pipeline"])
        ratio = t_direct / t_pipe
        ok &= target(f"overhead.{name}", ratio >= 0.95,
                     f"{name:9s} direct {1000 * t_direct / len(frames):7.2f} ms/frame   pipeline "
                     f"{1000 * t_pipe / len(frames):7.2f} ms/frame   ratio {ratio:.3f} "
                     f"(target >= 0.95)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
