"""Train, fine-tune and evaluate an image classifier, in the shared training dialog frame:
augmentation preview, the model's layers with output shapes and parameter counts, live curves,
and at the end accuracy / precision / recall / F1, a confusion matrix and the worst mistakes."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from visionapp.gui.bridge import describe, run_function
from visionapp.gui.training_dialog import TrainingDialog
from visionapp.training.classifier import ClassifierConfig, train
from visionapp.training.progress import Progress

KIND_LABELS = {"course": "Course CNN (64×64, as in the notes)",
               "better": "Better CNN (batch norm, GAP, dropout)",
               "mobilenet_v2": "Transfer: MobileNetV2 (ImageNet)",
               "vgg16": "Transfer: VGG16 (ImageNet)",
               "efficientnet_b0": "Transfer: EfficientNetB0 (ImageNet)"}


def rgb_pixmap(image: np.ndarray, max_side: int = 0) -> QPixmap:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    qimg = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(qimg)
    if max_side:
        pixmap = pixmap.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio)
    return pixmap


class ClassifierTrainingDialog(TrainingDialog):
    curve_keys = ("loss", "accuracy")

    def __init__(self, parent: QWidget | None = None, dataset: str = ""):
        super().__init__("Train a classifier", parent)
        self.dataset = self.path_row("dataset folder", dataset, lambda p: (
            QFileDialog.getExistingDirectory(p, "Folder with one subfolder per class")))
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.kind.setCurrentIndex(2)
        self.image_size = QSpinBox()
        self.image_size.setRange(0, 512)
        self.image_size.setSpecialValueText("model's own")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(10)
        self.batch = QSpinBox()
        self.batch.setRange(1, 512)
        self.batch.setValue(32)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(1e-3)
        self.schedule = QComboBox()
        for value, label in (("auto", "auto (cosine: better CNN, fine-tuning)"),
                             ("plateau", "halve when validation loss stalls"),
                             ("cosine", "cosine decay to zero")):
            self.schedule.addItem(label, value)
        self.fine_layers = QSpinBox()
        self.fine_layers.setRange(0, 300)
        self.fine_layers.setValue(30)
        self.fine_layers.setToolTip("backbones: unfreeze this many top layers after the frozen "
                                    "phase (0: no fine-tuning)")
        self.fine_epochs = QSpinBox()
        self.fine_epochs.setRange(1, 200)
        self.fine_epochs.setValue(5)
        self.fine_lr = QDoubleSpinBox()
        self.fine_lr.setDecimals(6)
        self.fine_lr.setRange(1e-6, 1e-2)
        self.fine_lr.setSingleStep(1e-5)
        self.fine_lr.setValue(1e-4)
        self.mixed = QCheckBox("mixed precision (GPU)")
        self.name = QLineEdit("classifier")
        for label, widget in (("model", self.kind), ("image size", self.image_size),
                              ("epochs", self.epochs), ("batch size", self.batch),
                              ("learning rate", self.lr), ("schedule", self.schedule),
                              ("fine-tune top layers", self.fine_layers),
                              ("fine-tune epochs", self.fine_epochs),
                              ("fine-tune learning rate", self.fine_lr), ("", self.mixed),
                              ("save as models/…keras", self.name)):
            self.form.addRow(label, widget)
        helpers = QHBoxLayout()
        self.preview_button = QPushButton("Preview augmentation")
        self.summary_button = QPushButton("Model summary")
        helpers.addWidget(self.preview_button)
        helpers.addWidget(self.summary_button)
        helpers.addStretch(1)
        self.form.addRow(helpers)
        self.tabs = QTabWidget()
        self.preview = QLabel("augmented versions of a few training images appear here")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QTableWidget(0, 4)
        self.summary.setHorizontalHeaderLabels(["layer", "type", "output shape", "parameters"])
        self.evaluation = QWidget()
        self.eval_grid = QGridLayout(self.evaluation)
        self.tabs.addTab(self.preview, "Augmentation")
        self.tabs.addTab(self.summary, "Layers")
        self.tabs.addTab(self.evaluation, "Evaluation")
        self.layout().insertWidget(self.layout().count() - 1, self.tabs, 2)
        self.preview_button.clicked.connect(self.show_preview)
        self.summary_button.clicked.connect(self.show_summary)

    def config(self) -> ClassifierConfig:
        return ClassifierConfig(
            dataset=self.dataset.text().strip(), kind=self.kind.currentData(),
            image_size=self.image_size.value(), epochs=self.epochs.value(),
            batch=self.batch.value(), learning_rate=self.lr.value(),
            schedule=self.schedule.currentData(),
            fine_tune_layers=self.fine_layers.value(), fine_tune_epochs=self.fine_epochs.value(),
            fine_tune_lr=self.fine_lr.value(),
            mixed_precision=self.mixed.isChecked(), name=self.name.text().strip() or "classifier")

    def make_run(self, stop: threading.Event) -> Iterator[Progress]:
        return train(self.config(), stop)

    def _on_event(self, event: Progress) -> None:
        super()._on_event(event)
        if "summary" in event.extra:
            self._fill_summary(event.extra["summary"])

    # ---------------------------------------------------------------- helpers off the GUI thread

    def _helper_failed(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {describe(exc)}"
        self.preview.setText(message)
        self.log.appendPlainText(message)

    def show_preview(self) -> None:
        folder = self.dataset.text().strip()

        def work():
            from visionapp.core.frameworks import before_tensorflow

            before_tensorflow()
            from visionapp.training.classifier_data import augmentation_preview, scan

            dataset = scan(folder)
            return augmentation_preview(dataset.files["train"], image_size=112)

        self.preview.setText("preparing…")
        run_function(self, "augmentation-preview", work, self._show_preview,
                     functools.partial(self._helper_failed, "preview"))

    def show_summary(self) -> None:
        config = self.config()

        def work():
            from visionapp.core.frameworks import before_tensorflow

            before_tensorflow()
            from visionapp.core import weights
            from visionapp.training import classifier_models as cm

            backbone = None
            if config.kind in cm.BACKBONES:
                found = weights.find_local(cm.BACKBONES[config.kind][2])
                backbone = str(found) if found else None
            built = cm.build(config.kind, 2, image_size=config.image_size or None,
                             backbone_weights=backbone)
            return cm.summary_rows(built.model)

        run_function(self, "model-summary", work, self._fill_summary,
                     functools.partial(self._helper_failed, "summary"))

    def _show_preview(self, image_rgb: np.ndarray) -> None:
        self.preview.setPixmap(rgb_pixmap(image_rgb, 640))
        self.tabs.setCurrentWidget(self.preview)

    def _fill_summary(self, rows) -> None:
        self.summary.setRowCount(len(rows) + 1)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                text = f"{value:,}" if isinstance(value, int) else str(value)
                self.summary.setItem(r, c, QTableWidgetItem(text))
        self.summary.setItem(len(rows), 0, QTableWidgetItem("total"))
        self.summary.setItem(len(rows), 3, QTableWidgetItem(f"{sum(r[3] for r in rows):,}"))
        self.summary.resizeColumnsToContents()
        self.tabs.setCurrentWidget(self.summary)

    # ---------------------------------------------------------------- evaluation

    def on_done(self, event: Progress) -> None:
        while self.eval_grid.count():
            self.eval_grid.takeAt(0).widget().deleteLater()
        m = event.metrics
        self.eval_grid.addWidget(QLabel(
            f"<b>held-out accuracy {m.get('accuracy', 0):.3f}</b> — precision "
            f"{m.get('precision', 0):.3f}, recall {m.get('recall', 0):.3f}, F1 "
            f"{m.get('f1', 0):.3f}"), 0, 0, 1, 2)
        names = event.extra.get("class_names", [])
        confusion = np.asarray(event.extra.get("confusion", []))
        table = QTableWidget(len(names), len(names))
        table.setHorizontalHeaderLabels([f"predicted {n}" for n in names])
        table.setVerticalHeaderLabels([f"true {n}" for n in names])
        top = max(1, int(confusion.max())) if confusion.size else 1
        for i in range(len(names)):
            for j in range(len(names)):
                value = int(confusion[i, j])
                item = QTableWidgetItem(str(value))
                shade = 255 - int(155 * value / top)
                item.setBackground(QColor(shade, 255, shade) if i == j
                                   else QColor(255, shade, shade))
                table.setItem(i, j, item)
        self.confusion_table = table
        self.eval_grid.addWidget(QLabel("confusion matrix"), 1, 0)
        self.eval_grid.addWidget(table, 2, 0)
        worst = QWidget()
        row = QHBoxLayout(worst)
        for item in event.extra.get("worst", [])[:6]:
            import cv2

            image = cv2.imread(item["path"])
            tile = QLabel()
            if image is not None:
                tile.setPixmap(rgb_pixmap(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 96))
            tile.setToolTip(item["path"])
            caption = QLabel(f"{item['true']} → {item['predicted']} {item['score']:.2f}")
            column = QWidget()
            col = QGridLayout(column)
            col.addWidget(tile, 0, 0)
            col.addWidget(caption, 1, 0)
            row.addWidget(column)
        self.eval_grid.addWidget(QLabel("most confident mistakes"), 1, 1)
        self.eval_grid.addWidget(worst, 2, 1)
        self.tabs.setCurrentWidget(self.evaluation)
