"""The Train menu: the classifier and detector dialogs, collecting frames into a dataset, and
handing a trained model to the live chain."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QWidget

from visionapp import paths
from visionapp.core.outputs import write_image
from visionapp.core.playback_messages import Packet
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.status_line import StatusLine

DATASET_KEY = "classifier/dataset"  # settings key: the last dataset folder


class TrainingMenu:
    def __init__(self, parent: QWidget, chain: ChainPanel, settings: QSettings,
                 status: StatusLine, packet: Callable[[], Packet | None]):
        self._parent = parent
        self._chain = chain
        self._settings = settings
        self._status = status
        self._packet = packet
        self.classifier_dialog: QDialog | None = None
        self.detector_dialog: QDialog | None = None

    def open_classifier(self) -> None:
        from visionapp.gui.classifier_dialog import ClassifierTrainingDialog

        dialog = ClassifierTrainingDialog(self._parent,
                                          str(self._settings.value(DATASET_KEY, "")))
        dialog.model_ready.connect(functools.partial(self.use_model, "classifier", "model"))
        dialog.layer_picked.connect(self.show_layer)
        dialog.show()
        self.classifier_dialog = dialog

    def open_detector(self) -> None:
        from visionapp.gui.detector_dialog import DetectorTrainingDialog

        dialog = DetectorTrainingDialog(self._parent)
        dialog.model_ready.connect(functools.partial(self.use_model, "yolo.detect", "weights"))
        dialog.show()
        self.detector_dialog = dialog

    def use_model(self, processor: str, field: str, path: str) -> None:
        """Hot-swap a trained model into the live chain (adding the processor if needed)."""
        self._chain.apply_or_add(processor, {field: path})
        self._status.info(f"{processor} now uses {path}")

    def show_layer(self, model_path: str, layer: str) -> None:
        """The feature maps of ``layer`` of a trained model on the live view (cnn.features)."""
        self._chain.apply_or_add("cnn.features", {"model": model_path, "layer": layer})
        self._status.info(f"cnn.features shows layer {layer} of {model_path}")

    def add_frame_to_class(self, folder: str = "", class_name: str = "") -> Path | None:
        """Save the current raw frame into <dataset>/<class>/ to collect training data."""
        packet = self._packet()
        if packet is None:
            self._status.error("no frame yet")
            return None
        if not folder:
            start = str(self._settings.value(DATASET_KEY, ""))
            folder = QFileDialog.getExistingDirectory(
                self._parent, "Dataset folder (one subfolder per class)", start)
            if not folder:
                return None
        root = Path(folder)
        if not class_name:
            existing = sorted(p.name for p in root.iterdir() if p.is_dir())
            class_name, ok = QInputDialog.getItem(self._parent, "Add frame to class", "class",
                                                  existing or ["class_a"], 0, True)
            if not ok or not class_name.strip():
                return None
        self._settings.setValue(DATASET_KEY, str(root))
        target = root / class_name.strip()
        target.mkdir(parents=True, exist_ok=True)
        stem = datetime.now().strftime("frame_%Y%m%d_%H%M%S")
        path = write_image(paths.unique_path(target, stem, ".png"), packet.frame.image)
        count = sum(1 for _ in target.iterdir())
        self._status.info(f"saved {path.name} to {target} ({count} images in "
                          f"{class_name.strip()})")
        return path
