"""Fine-tune a YOLO detector from a data.yaml, in the shared training dialog frame (the settings
form is generated from :class:`visionapp.training.detector.DetectorConfig`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from PySide6.QtWidgets import QWidget

from visionapp.gui.training_dialog import TrainingDialog
from visionapp.training.detector import DetectorConfig, train
from visionapp.training.progress import Event


class DetectorTrainingDialog(TrainingDialog):
    curve_keys = ("loss", "mAP50")

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Train a detector (YOLO)", DetectorConfig, parent,
                         file_filters={"data_yaml": "YOLO datasets (*.yaml *.yml)",
                                       "weights": "PyTorch weights (*.pt)"})

    def make_run(self, stop: threading.Event) -> Iterator[Event]:
        return train(self.settings.config(), stop)
