"""Fine-tune a YOLO detector from a data.yaml, in the shared training dialog frame."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox, QWidget

from visionapp.gui.training_dialog import TrainingDialog
from visionapp.training.detector import DetectorConfig, train
from visionapp.training.progress import Progress


class DetectorTrainingDialog(TrainingDialog):
    curve_keys = ("loss", "mAP50")

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Train a detector (YOLO)", parent)
        self.data = self.path_row("data.yaml", "", lambda p: self.pick_file(
            p, "Choose the dataset's data.yaml", "YOLO datasets (*.yaml *.yml)"))
        self.weights = QLineEdit("auto")
        self.weights.setToolTip("pretrained start: auto (yolo11n/yolov8n) or a .pt path")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(20)
        self.imgsz = QComboBox()
        for size in (160, 320, 416, 512, 640, 800):
            self.imgsz.addItem(str(size), size)
        self.imgsz.setCurrentText("640")
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(16)
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu", "0"])
        self.name = QLineEdit("detector")
        for label, widget in (("pretrained weights", self.weights), ("epochs", self.epochs),
                              ("image size", self.imgsz), ("batch", self.batch),
                              ("device", self.device_box), ("save as models/…pt", self.name)):
            self.form.addRow(label, widget)

    def config(self) -> DetectorConfig:
        return DetectorConfig(data_yaml=self.data.text().strip(),
                              weights=self.weights.text().strip() or "auto",
                              epochs=self.epochs.value(), imgsz=int(self.imgsz.currentData()),
                              batch=self.batch.value(), device=self.device_box.currentText(),
                              name=self.name.text().strip() or "detector")

    def make_run(self, stop: threading.Event) -> Iterator[Progress]:
        return train(self.config(), stop)
