"""Fine-tune a YOLO detector from a data.yaml, in the shared training dialog frame (the settings
form is generated from :class:`visionapp.training.detector.DetectorConfig`).

The first tab explains the dataset layout Ultralytics expects, and "Make an example dataset…"
writes a small one (:mod:`visionapp.training.example_dataset`) and selects it, so a first run
needs no labelling at all."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from visionapp.gui.bridge import describe, run_function
from visionapp.gui.training_dialog import TrainingDialog
from visionapp.training.detector import DetectorConfig, train
from visionapp.training.example_dataset import LAYOUT, write_example_dataset
from visionapp.training.progress import Event

README_SECTION = "README.md, section “Training a detector”"


class DetectorTrainingDialog(TrainingDialog):
    curve_keys = ("loss", "mAP50")
    score_title = "mAP"
    missing_hint = "; the Dataset tab shows the layout, or make an example dataset there"

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Train a detector (YOLO)", DetectorConfig, parent,
                         file_filters={"data_yaml": "YOLO datasets (*.yaml *.yml)",
                                       "weights": "PyTorch weights (*.pt)"})
        self.dataset_help = QWidget()
        column = QVBoxLayout(self.dataset_help)
        intro = QLabel(
            "<b>What to give as data yaml</b><br>A dataset in the YOLO layout (as labelImg, "
            "CVAT or Roboflow export it): images, one label file per image, and a data.yaml "
            "naming the folders and the classes. Training fine-tunes the pretrained weights "
            "on it and saves NAME.pt, which “Use this model” puts into the live yolo.detect.")
        intro.setWordWrap(True)
        layout = QLabel("<pre>" + html.escape(LAYOUT.format(name="my_dataset")) + "</pre>")
        layout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.example_button = QPushButton("Make an example dataset…")
        self.example_button.setToolTip("write 32 labelled pictures of squares and discs into a "
                                       "new folder and select its data.yaml")
        self.example_button.clicked.connect(self.make_example)
        more = QLabel(f"More in {README_SECTION}.")
        for widget in (intro, layout, self.example_button, more):
            column.addWidget(widget, 0, Qt.AlignmentFlag.AlignLeft if widget is
                             self.example_button else Qt.AlignmentFlag(0))
        column.addStretch(1)
        self.tabs.insertTab(0, self.dataset_help, "Dataset")
        self.tabs.setCurrentIndex(0)

    def make_run(self, stop: threading.Event) -> Iterator[Event]:
        return train(self.settings.config(), stop)

    def make_example(self, folder: str = "") -> None:
        """Write the example dataset into a new folder under ``folder`` (asked for if empty)
        off the GUI thread, then select its data.yaml."""
        if not folder:
            folder = QFileDialog.getExistingDirectory(
                self, "Where to create the example dataset (a new folder goes inside)",
                str(Path.home()))
            if not folder:
                return
        self.example_button.setEnabled(False)
        self.log.appendPlainText(f"writing an example dataset into {folder}…")
        run_function(self, "example-dataset", lambda: write_example_dataset(Path(folder)),
                     self._example_ready, self._example_failed)

    def _example_ready(self, data_yaml: Path) -> None:
        self.example_button.setEnabled(True)
        self.settings.set_value("data_yaml", str(data_yaml))
        self.log.appendPlainText(f"example dataset written: {data_yaml} (24 training and 8 "
                                 "validation images of squares and discs); press Start")

    def _example_failed(self, exc: BaseException) -> None:
        self.example_button.setEnabled(True)
        self.say_error(describe(exc))
