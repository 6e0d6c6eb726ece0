"""Train, fine-tune and evaluate an image classifier, in the shared training dialog frame:
augmentation preview, the model's layers with output shapes and parameter counts, live curves,
and at the end accuracy / precision / recall / F1, a confusion matrix and the worst mistakes.
The settings form is generated from :class:`visionapp.training.classifier.ClassifierConfig`."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from visionapp.gui.bridge import describe, run_function
from visionapp.gui.confusion_grid import ConfusionGrid
from visionapp.gui.training_dialog import TrainingDialog
from visionapp.training.classifier import ClassifierConfig, train
from visionapp.training.classifier_models import KIND_TITLES
from visionapp.training.progress import Evaluation, Event, ModelSummary

SCHEDULE_TITLES = {"auto": "auto (cosine: better CNN, fine-tuning)",
                   "plateau": "halve when validation loss stalls",
                   "cosine": "cosine decay to zero"}


def rgb_pixmap(image: np.ndarray, max_side: int = 0) -> QPixmap:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    qimg = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(qimg)
    if max_side:
        pixmap = pixmap.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio)
    return pixmap


SUMMARY_COLUMNS = ("layer", "type", "output shape", "parameters", "output size", "parameters =",
                   "receptive field")


class ClassifierTrainingDialog(TrainingDialog):
    """``layer_picked`` carries (saved model, layer name) when a row of the layer table is
    clicked after training: the window shows that layer's feature maps (cnn.features)."""

    curve_keys = ("loss", "accuracy")
    score_title = "accuracy"
    layer_picked = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, dataset: str = ""):
        super().__init__("Train a classifier", ClassifierConfig, parent,
                         values={"dataset": dataset},
                         titles={"kind": KIND_TITLES, "schedule": SCHEDULE_TITLES})
        helpers = QHBoxLayout()
        self.preview_button = QPushButton("Preview augmentation")
        self.summary_button = QPushButton("Model summary")
        helpers.addWidget(self.preview_button)
        helpers.addWidget(self.summary_button)
        helpers.addStretch(1)
        self.form.addRow(helpers)
        self.preview = QLabel("augmented versions of a few training images appear here")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary.setHorizontalHeaderLabels(list(SUMMARY_COLUMNS))
        self.summary.setToolTip("after training, click a layer to see its feature maps on the "
                                "live view")
        self.summary.cellClicked.connect(self._layer_clicked)
        self.evaluation = QWidget()
        self.eval_grid = QGridLayout(self.evaluation)
        self.eval_grid.addWidget(QLabel("the held-out evaluation appears here when training "
                                        "ends"), 0, 0)
        self.confusion_grid: ConfusionGrid | None = None
        self.preview_area = scrolled(self.preview)
        self.evaluation_area = scrolled(self.evaluation)
        self.tabs.addTab(self.preview_area, "Augmentation")
        self.tabs.addTab(self.summary, "Layers")
        self.tabs.addTab(self.evaluation_area, "Evaluation")
        self.preview_button.clicked.connect(self.show_preview)
        self.summary_button.clicked.connect(self.show_summary)

    def make_run(self, stop: threading.Event) -> Iterator[Event]:
        return train(self.settings.config(), stop)

    def _on_event(self, event: Event) -> None:
        super()._on_event(event)
        match event:
            case ModelSummary(rows=rows, formulas=formulas):
                self._fill_summary((rows, formulas), show=False)  # the curves stay in view
            case Evaluation():
                self.show_evaluation(event)

    # ---------------------------------------------------------------- helpers off the GUI thread

    def _helper_failed(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {describe(exc)}"
        self.preview.setText(message)
        self.log.appendPlainText(message)

    def show_preview(self) -> None:
        folder = self.settings.value("dataset")

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
        config = self.settings.config()

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
            return cm.summary_rows(built.model), cm.summary_formulas(built.model)

        run_function(self, "model-summary", work, self._fill_summary,
                     functools.partial(self._helper_failed, "summary"))

    def _show_preview(self, image_rgb: np.ndarray) -> None:
        self.preview.setPixmap(rgb_pixmap(image_rgb, 640))
        self.tabs.setCurrentWidget(self.preview_area)

    def _fill_summary(self, rows_and_formulas, show: bool = True) -> None:
        rows, formulas = rows_and_formulas
        self.summary.setRowCount(len(rows) + 1)
        for r, row in enumerate(rows):
            extra = formulas[r] if r < len(formulas) else ()
            for c, value in enumerate((*row, *extra)):
                text = f"{value:,}" if isinstance(value, int) else str(value)
                self.summary.setItem(r, c, QTableWidgetItem(text))
        self.summary.setItem(len(rows), 0, QTableWidgetItem("total"))
        self.summary.setItem(len(rows), 3, QTableWidgetItem(f"{sum(r[3] for r in rows):,}"))
        self.summary.resizeColumnsToContents()
        if show:
            self.tabs.setCurrentWidget(self.summary)

    def _layer_clicked(self, row: int, _column: int) -> None:
        item = self.summary.item(row, 0)
        if item is None or row == self.summary.rowCount() - 1:
            return
        if not self.model_path:
            self.log.appendPlainText(f"layer {item.text()}: train the model first, then click "
                                     "a layer to see its feature maps on the live view")
            return
        self.layer_picked.emit(self.model_path, item.text())

    # ---------------------------------------------------------------- evaluation

    def show_evaluation(self, event: Evaluation) -> None:
        while self.eval_grid.count():
            old = self.eval_grid.takeAt(0).widget()
            old.hide()
            old.deleteLater()
        before = ("" if event.frozen_accuracy is None else
                  f" (before fine-tuning {event.frozen_accuracy:.3f})")
        headline = QLabel(
            f"<b>held-out accuracy {event.accuracy:.3f}</b>{before} on {event.images} "
            f"{event.split} images — precision {event.precision:.3f}, recall "
            f"{event.recall:.3f}, F1 {event.f1:.3f}")
        headline.setWordWrap(True)
        self.eval_grid.addWidget(headline, 0, 0)
        self.confusion_grid = ConfusionGrid(event.confusion, event.class_names)
        self.eval_grid.addWidget(QLabel("<b>confusion matrix</b> — count, and share of the "
                                        "true class's images"), 1, 0)
        self.eval_grid.addWidget(self.confusion_grid, 2, 0)
        worst = QWidget()
        tiles = QGridLayout(worst)
        tiles.setContentsMargins(0, 0, 0, 0)
        for k, mistake in enumerate(event.worst[:6]):
            import cv2

            image = cv2.imread(mistake.path) if Path(mistake.path).is_file() else None
            tile = QLabel()
            if image is not None:
                tile.setPixmap(rgb_pixmap(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 96))
            else:
                tile.setText("(image gone)")
            tile.setToolTip(mistake.path)
            caption = QLabel(f"{mistake.true_class} → {mistake.predicted_class} "
                             f"{mistake.score:.2f}")
            tiles.addWidget(tile, 2 * (k // 3), k % 3)
            tiles.addWidget(caption, 2 * (k // 3) + 1, k % 3)
        self.eval_grid.addWidget(QLabel("<b>most confident mistakes</b> — true → predicted, "
                                        "score"), 3, 0)
        self.eval_grid.addWidget(worst, 4, 0, Qt.AlignmentFlag.AlignLeft)
        self.eval_grid.setRowStretch(5, 1)
        self.tabs.setCurrentWidget(self.evaluation_area)


def scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area
