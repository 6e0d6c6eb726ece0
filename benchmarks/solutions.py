"""What the solution processors cost on top of the detector they read.

1. ``count.line`` + ``count.zone`` + ``heatmap`` after YOLO tracking (ByteTrack, imgsz 640) on
   ``slow_traffic_small.mp4`` (640×360): per frame, the median milliseconds of YOLO and of the
   three together, each fed the very Result YOLO gave on that frame. Target: ≤ 5% of YOLO.
2. ``privacy.blur`` on 20 boxes (60–180 px) of a 1920×1080 frame, each mode: median ms per
   frame over ``--repeats`` calls. Target: ≤ 3 ms.

    .venv/bin/python -m benchmarks.solutions [--frames 300] [--backend pytorch] [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks._common import machine, shared, verdict
from visionapp.core import registry
from visionapp.core.pipeline import apply_chain
from visionapp.core.sources import open_source
from visionapp.core.types import Detections, Frame, Result

TRAFFIC_LINE = "250,250 639,250"
TRAFFIC_ZONE = "300,140 460,140 520,240 280,240"


def counting_cost(frames: int, backend: str) -> bool:
    yolo = registry.create("yolo.detect", {"tracker": "bytetrack", "backend": backend,
                                           "imgsz": 640})
    solutions = (registry.create("count.line", {"line": TRAFFIC_LINE}),
                 registry.create("count.zone", {"zones": TRAFFIC_ZONE}),
                 registry.create("heatmap"))
    yolo_ms, solution_ms, boxes = [], [], []
    with open_source(str(shared("data/videos/slow_traffic_small.mp4")), realtime=False) as src:
        for k, frame in enumerate(src):
            if k >= frames:
                break
            (found,) = apply_chain(frame, (yolo,))
            if k < 5:
                continue  # warm-up: model load, first export or allocation
            yolo_ms.append(found.elapsed_ms)
            boxes.append(len(found.detections))
            later = frame.with_context((found,))
            t0 = time.perf_counter()
            for processor in solutions:
                processor(later)
            solution_ms.append((time.perf_counter() - t0) * 1000)
    y, s = statistics.median(yolo_ms), statistics.median(solution_ms)
    ok = s <= 0.05 * y
    print(f"yolo.detect ({backend}, ByteTrack, imgsz 640) on {len(yolo_ms)} frames of 640x360, "
          f"{statistics.mean(boxes):.1f} boxes/frame: median {y:.1f} ms/frame")
    print(f"count.line + count.zone + heatmap: median {s:.3f} ms/frame, mean "
          f"{statistics.mean(solution_ms):.3f}, best {min(solution_ms):.3f}, p95 "
          f"{np.percentile(solution_ms, 95):.3f} -> "
          f"{100 * s / y:.2f}% of YOLO (target <= 5%) {verdict(ok)}")
    return ok


def blur_cost(repeats: int) -> bool:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1080, 1920, 3), np.uint8)
    sides = rng.uniform(60, 180, 20)
    corners = rng.uniform((0, 0), (1920 - 200, 1080 - 200), (20, 2))
    xyxy = np.concatenate([corners, corners + sides[:, None]], axis=1)
    faces = Result("haar.faces", detections=Detections.from_lists(
        xyxy, [1.0] * 20, ["face"] * 20))
    ok = True
    for mode in ("blur", "pixelate", "fill"):
        blur = registry.create("privacy.blur", {"mode": mode})
        times = []
        for k in range(repeats):
            frame = Frame(image, k, k * 33, context=(faces,))
            t0 = time.perf_counter()
            blur(frame)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        ok &= median <= 3.0
        # The fastest run shows the cost without other processes' load on a shared machine.
        print(f"privacy.blur mode={mode}, 20 boxes on 1920x1080: median {median:.2f} ms, best "
              f"{min(times):.2f}, p95 {np.percentile(times, 95):.2f} ms (target <= 3 ms) "
              f"{verdict(median <= 3.0)}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--backend", default="pytorch", choices=("pytorch", "accelerate"))
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(machine())
    ok = counting_cost(args.frames, args.backend)
    ok &= blur_cost(args.repeats)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
