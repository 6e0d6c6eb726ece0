"""Progress events of a training run in mid-flight, to drive the dialogs without training:
the typed events :mod:`visionapp.training.progress` defines, with plausible numbers."""

from __future__ import annotations

import math

from visionapp.training.progress import (
    Batch,
    DatasetSummary,
    Device,
    Epoch,
    Evaluation,
    Log,
    Mistake,
    ModelSummary,
)

CLASSES = ("cats", "dogs", "rabbits")
CONFUSION = ((18, 2, 0), (3, 15, 2), (0, 1, 19))  # rows: true class; columns: predicted


def classifier_events(epochs_done: int = 6, epochs: int = 15,
                      evaluation: bool = True) -> list:
    events: list = [
        Device("training on the CPU (TensorFlow sees no GPU)"),
        DatasetSummary("3 classes; train 180, validation 60, test 60 images", CLASSES,
                       {"train": 180, "validation": 60, "test": 60}),
        ModelSummary("mobilenet_v2", (("input", "InputLayer", "(None, 224, 224, 3)", 0),
                                      ("mobilenetv2", "Functional", "(None, 7, 7, 1280)",
                                       2257984),
                                      ("dense", "Dense", "(None, 3)", 3843)), 2261827, 3843),
    ]
    for e in range(1, epochs_done + 1):
        events.append(Batch(e, epochs, (e - 0.5) / epochs))
        events.append(Epoch(e, epochs, e / epochs, 4.0 * (epochs - e), {
            "loss": 1.1 * math.exp(-0.35 * e) + 0.12,
            "accuracy": 0.95 - 0.55 * math.exp(-0.5 * e),
            "val_loss": 1.0 * math.exp(-0.28 * e) + 0.2,
            "val_accuracy": 0.9 - 0.5 * math.exp(-0.45 * e),
            "learning_rate": 1e-3}))
    if evaluation:
        events.append(Log("self-test: the reloaded model predicts exactly as trained"))
        events.append(Evaluation("test", 0.867, 0.87, 0.866, 0.866, CONFUSION, CLASSES,
                                 (Mistake("/nowhere/dog_3.jpg", "dogs", "cats", 0.91),
                                  Mistake("/nowhere/dog_7.jpg", "dogs", "rabbits", 0.77)),
                                 60, frozen_accuracy=0.81))
    return events


def detector_events(epochs_done: int = 7, epochs: int = 20) -> list:
    events: list = [
        DatasetSummary("2 classes (square, disc); train 24 images, val 8 images; 70 boxes",
                       ("square", "disc"), {"train": 24, "val": 8}),
        Device("training on the CPU (no CUDA GPU found): expect minutes per epoch"),
    ]
    for e in range(1, epochs_done + 1):
        events.append(Batch(e, epochs, (e - 0.5) / epochs))
        events.append(Epoch(e, epochs, e / epochs, 30.0 * (epochs - e), {
            "train/box_loss": 1.6 * math.exp(-0.15 * e) + 0.4,
            "train/cls_loss": 2.8 * math.exp(-0.25 * e) + 0.5,
            "train/dfl_loss": 1.3 * math.exp(-0.1 * e) + 0.8,
            "metrics/mAP50(B)": 0.9 - 0.85 * math.exp(-0.3 * e),
            "metrics/mAP50-95(B)": 0.65 - 0.62 * math.exp(-0.25 * e)}))
    return events
