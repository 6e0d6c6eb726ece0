"""MediaPipe through visionapp vs a minimal direct loop, on the same decoded frames.

For face mesh (selfie_segmentation_web.mp4) and pose (pose_segmentation.mp4): the app's
processor vs a loop that only converts BGR→RGB, wraps an mp.Image and calls
``detect_for_video`` on a landmarker created directly. The two are interleaved frame by frame
(alternating which goes first), each with its own VIDEO-mode task, so machine noise hits both
alike. Printed: median ms/frame of each, the ratio app/direct (target ≤ 1.05), and whether the
landmark counts per frame are identical.

    .venv/bin/python -m benchmarks.mediapipe_overhead [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from benchmarks._common import backend, header, shared, target, tensorflow_settings
from visionapp.core import registry, weights
from visionapp.core.sources import open_source

MODELS = {"face": ("face_landmarker.task", "mediapipe.face_mesh"),
          "pose": ("pose_landmarker_lite.task", "mediapipe.pose")}


def direct_task(kind: str):
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    base = BaseOptions(model_asset_path=str(weights.resolve(MODELS[kind][0])))
    if kind == "face":
        return vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
            base_options=base, running_mode=vision.RunningMode.VIDEO))
    return vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
        base_options=base, running_mode=vision.RunningMode.VIDEO))


def direct_step(task, kind: str, frame, timestamp_ms: int) -> int:
    import mediapipe as mp

    image = mp.Image(image_format=mp.ImageFormat.SRGB,
                     data=cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
    result = task.detect_for_video(image, timestamp_ms)
    found = result.face_landmarks if kind == "face" else result.pose_landmarks
    return sum(len(x) for x in found)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    header("mediapipe_overhead: face mesh / pose through visionapp vs direct MediaPipe calls")
    ok = True
    for kind, video in (("face", "selfie_segmentation_web.mp4"),
                        ("pose", "pose_segmentation.mp4")):
        with open_source(str(shared(f"data/videos/{video}"))) as source:
            frames = list(source)
        processor = registry.create(MODELS[kind][1])
        task = direct_task(kind)
        app_ms, direct_ms, same = [], [], True
        step = 0
        for _ in range(args.rounds):
            for frame in frames:
                step += 1
                stamp = step * 40  # one increasing clock for both sides across rounds
                timed = frame.__class__(frame.image, frame.index, stamp, frame.captured_s)
                order = ("app", "direct") if step % 2 else ("direct", "app")
                counts = {}
                for side in order:
                    t0 = time.perf_counter()
                    if side == "app":
                        counts[side] = sum(len(m.points_xy) for m in processor(timed).landmarks)
                    else:
                        counts[side] = direct_step(task, kind, frame, stamp)
                    (app_ms if side == "app" else direct_ms).append(
                        (time.perf_counter() - t0) * 1000)
                same &= counts["app"] == counts["direct"]
        task.close()
        # The first frame includes creating the app's task: left out.
        a, d = float(np.median(app_ms[1:])), float(np.median(direct_ms[1:]))
        ratio = a / d
        ok &= target(f"mediapipe_overhead.{kind}", ratio <= 1.05 and same,
                     f"{kind:4s} ({video}, {len(frames)} frames × {args.rounds}): app {a:.2f} "
                     f"ms/frame, direct {d:.2f} ms/frame, ratio {ratio:.3f} (target <= 1.05); "
                     f"identical landmark counts per frame: {same}")
    import sys

    if "tensorflow" in sys.modules:  # MediaPipe's Tasks run on their own (TFLite/XNNPACK) threads
        backend("tensorflow", tensorflow_settings())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
