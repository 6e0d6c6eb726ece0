"""The CNN lab's speed at 720p, side by side with the bare calls it wraps.

- ``conv.kernel`` with a 5×5 kernel (target ≤ 3 ms per frame), beside the bare OpenCV work:
  grayscale, float, ``cv2.filter2D``.
- ``cnn.features`` on the course CNN (target ≤ 10 ms per frame and ≤ 1.2× a bare ``model(x)``
  call on the prepared 64×64 input); ``model.predict_on_batch(x)`` is printed as well.

    .venv/bin/python -m benchmarks.cnn_lab [--frames 30] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import backend, header, interleaved, median, target, tensorflow_settings
from visionapp.core import registry
from visionapp.core.sources import open_source

KERNEL_5X5 = "0 0 -1 0 0; 0 -1 -2 -1 0; -1 -2 17 -2 -1; 0 -1 -2 -1 0; 0 0 -1 0 0"


def _course_model(folder: Path) -> Path:
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    import keras

    from visionapp.training.classifier_models import course_cnn

    keras.utils.set_random_seed(0)  # speed does not depend on what the weights learned
    path = folder / "course.keras"
    course_cnn(2, 64).model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"class_names": ["a", "b"],
                                                     "image_size": 64}))
    return path


def _row(name: str, ours: float, bare_name: str, bare: float, n: int) -> str:
    return (f"{name:13s} {1000 * ours / n:6.2f} ms/frame   {bare_name} {1000 * bare / n:6.2f} "
            f"ms/frame   ratio {ours / bare:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    header("cnn_lab: conv.kernel and cnn.features vs bare filter2D and model(x)")
    with open_source(f"demo:size=1280x720,frames={args.frames}") as source:
        frames = list(source)
    n = len(frames)
    ok = True

    conv = registry.create("conv.kernel", {"preset": "custom", "kernel": KERNEL_5X5})
    kernel = conv.effective_kernel().astype(np.float32)

    def bare_conv():
        for f in frames:
            gray = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
            cv2.filter2D(gray, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)

    def processor_conv():
        for f in frames:
            conv(f)

    times = interleaved({"bare": bare_conv, "ours": processor_conv}, args.rounds)
    ours, bare = median(times["ours"]), median(times["bare"])
    ok &= target("cnn_lab.conv_kernel", 1000 * ours / n <= 3.0,
                 _row("conv.kernel", ours, "bare filter2D", bare, n)
                 + "   (target <= 3 ms/frame, 5x5 at 1280x720)")

    folder = Path(tempfile.mkdtemp())
    path = _course_model(folder)
    features = registry.create("cnn.features", {"model": str(path)})
    features.prepare()
    model = features.loaded()[0].model
    prepared = [cv2.resize(cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB), (64, 64),
                           interpolation=cv2.INTER_AREA)[None].astype(np.float32)
                for f in frames]
    for x in prepared[:3]:  # warm up every path (graph tracing) before timing
        model(x, training=False)
        model.predict_on_batch(x)
        features(frames[0])

    def bare_call():
        for x in prepared:
            model(x, training=False)

    def bare_predict():
        for x in prepared:
            model.predict_on_batch(x)

    def processor_features():
        for f in frames:
            features(f)

    times = interleaved({"call": bare_call, "predict": bare_predict,
                         "ours": processor_features}, args.rounds)
    ours, call, predict = (median(times[k]) for k in ("ours", "call", "predict"))
    ok &= target("cnn_lab.cnn_features", 1000 * ours / n <= 10.0 and ours <= 1.2 * call,
                 _row("cnn.features", ours, "bare model(x)", call, n)
                 + "   (targets <= 10 ms/frame, ratio <= 1.2)")
    print(f"{'':13s} (model.predict_on_batch(x) alone: {1000 * predict / n:.2f} ms/frame; "
          "cnn.features also converts and resizes the 1280x720 frame and builds the mosaic)")
    backend("tensorflow", tensorflow_settings())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
