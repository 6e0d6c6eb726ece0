"""Cats vs dogs on the shared 1,999 photos, visionapp's own seeded split (70/15/15, held-out
test set): accuracy of the course CNN (target ≥ 72%), the better CNN (≥ 80%), MobileNetV2
transfer learning with the backbone frozen (≥ 92%) and after fine-tuning (≥ 94%), and the wall
time of transfer learning + fine-tuning on this machine.

    .venv/bin/python -m benchmarks.classifier_accuracy [--only course,better,transfer]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks._common import header, shared
from benchmarks._common import target as report_target
from visionapp import paths
from visionapp.training.classifier import ClassifierConfig, train
from visionapp.training.progress import DatasetSummary, Epoch, Evaluation, Finished

RUNS = {
    "course": ClassifierConfig("", kind="course", epochs=60, batch=32, patience=15),
    # Cosine decay over all 50 epochs (schedule "auto" for this kind).
    "better": ClassifierConfig("", kind="better", image_size=64, epochs=50, batch=32,
                               learning_rate=1e-3, dropout=0.3, l2=1e-4),
    # Frozen backbone, then every backbone layer unfrozen (batch norm kept frozen) at 1e-4
    # decaying along a cosine over 8 epochs.
    "transfer": ClassifierConfig("", kind="mobilenet_v2", epochs=10, batch=32, patience=4,
                                 fine_tune_layers=1000, fine_tune_epochs=8, fine_tune_lr=1e-4),
}

def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="course,transfer,better")
    args = parser.parse_args()
    header("classifier_accuracy: cats vs dogs, course / better / transfer")
    data = shared("data/cats_vs_dogs")
    paths.PROJECT_MODELS_DIR = Path(tempfile.mkdtemp(prefix="bench-models-"))
    ok = True
    for name in args.only.split(","):
        config = RUNS[name]
        config = ClassifierConfig(**{**config.__dict__, "dataset": str(data),
                                     "name": f"bench_{name}"})
        t0 = time.perf_counter()
        events = list(train(config))
        seconds = time.perf_counter() - t0
        done = events[-1]
        if not isinstance(done, Finished):
            ok = report_target(f"classifier_accuracy.{name}", False,
                               f"{name}: training failed: {done.message}")
            continue
        last = {type(e): e for e in events}
        epochs = max((e.epoch for e in events if isinstance(e, Epoch)), default=0)
        acc = done.metrics["accuracy"]
        images = last[DatasetSummary].per_class
        evaluation = last[Evaluation]
        if name == "transfer":
            frozen = evaluation.frozen_accuracy
            good = frozen >= 0.92 and acc >= 0.94
            report_target("classifier_accuracy.transfer", good,
                          f"transfer (MobileNetV2 α0.35 224, ImageNet): frozen backbone "
                          f"{frozen:.1%} (target >= 92%), after fine-tuning {acc:.1%} (target "
                          f">= 94%); {epochs} epochs, wall time {seconds / 60:.1f} min")
        else:
            target = 0.72 if name == "course" else 0.80
            good = acc >= target
            report_target(f"classifier_accuracy.{name}", good,
                          f"{name} CNN: held-out accuracy {acc:.1%} (target >= {target:.0%}); "
                          f"{epochs} epochs, {seconds / 60:.1f} min")
        print(f"    split: {images}; precision {done.metrics['precision']:.3f}, recall "
              f"{done.metrics['recall']:.3f}, F1 {done.metrics['f1']:.3f}, confusion "
              f"{evaluation.confusion}")
        ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
