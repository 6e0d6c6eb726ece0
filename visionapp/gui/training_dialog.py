"""The training dialog frame: settings form, Start/Stop, progress with ETA, live curves, log.

The settings form is generated from the training config's fields (:mod:`visionapp.gui.
settings_form`). A subclass supplies a Qt-free generator of progress events (``make_run``); the
frame runs it on a :class:`ThreadWorker` and shows each event by its type. The worker's
``finished`` re-arms Start; its error is written to the log (and, like every worker's, reaches
the window's message line).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from visionapp.core.errors import VisionappError
from visionapp.gui.bridge import ThreadWorker, describe
from visionapp.gui.settings_form import SettingsForm
from visionapp.training.progress import Batch, Device, Epoch, Event, Failed, Finished

PALETTE = ("#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899")


class Curves(QWidget):
    """Per-epoch metric curves, one colour per series, y-axis scaled to the data."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.series: dict[str, list[float]] = {}
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add(self, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.series.setdefault(name, []).append(float(value))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(250, 250, 250))
        values = [v for s in self.series.values() for v in s]
        if not values:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "curves appear after "
                             "the first epoch")
            return
        lo, hi = min(values), max(values)
        hi = hi if hi > lo else lo + 1
        n = max(len(s) for s in self.series.values())
        left, top, right, bottom = 40, 10, self.width() - 150, self.height() - 20
        painter.setPen(QColor(160, 160, 160))
        painter.drawRect(left, top, right - left, bottom - top)
        painter.drawText(2, top + 10, f"{hi:.2f}")
        painter.drawText(2, bottom, f"{lo:.2f}")
        for k, (name, series) in enumerate(self.series.items()):
            color = QColor(PALETTE[k % len(PALETTE)])
            painter.setPen(QPen(color, 2))
            points = [QPointF(left + (right - left) * (i / max(1, n - 1)),
                              bottom - (bottom - top) * (v - lo) / (hi - lo))
                      for i, v in enumerate(series)]
            for a, b in zip(points, points[1:], strict=False):
                painter.drawLine(a, b)
            for p in points:
                painter.drawEllipse(p, 2.5, 2.5)
            painter.drawText(right + 8, top + 14 + 16 * k, name)


class TrainingDialog(QDialog):
    """The shared frame. ``model_ready`` carries the saved model's path after "Use this model"."""

    model_ready = Signal(str)
    curve_keys: tuple[str, ...] = ()  # which metrics to plot (substring match); () = all

    def __init__(self, title: str, config_cls: type, parent: QWidget | None = None, *,
                 values: Mapping[str, Any] | None = None,
                 titles: Mapping[str, Mapping[Any, str]] | None = None,
                 file_filters: Mapping[str, str] | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 640)
        self.settings = SettingsForm(config_cls, values=values, titles=titles,
                                     file_filters=file_filters)
        self.form = QFormLayout()  # rows a subclass adds below the settings
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.device = QLabel("")
        self.curves = Curves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        buttons = QHBoxLayout()
        for w in (self.start_button, self.stop_button, self.use_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.settings)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.eta)
        layout.addLayout(row)
        layout.addWidget(self.device)
        layout.addWidget(self.curves, 2)
        layout.addWidget(self.log, 1)
        self._stop = threading.Event()
        self._worker: ThreadWorker | None = None
        self.model_path = ""
        self.events: list[Event] = []
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(lambda: self.model_ready.emit(self.model_path))

    # subclasses -------------------------------------------------------------------------

    def make_run(self, stop: threading.Event) -> Iterator[Event]:
        """The run of ``self.settings.config()`` (creating it checks every setting)."""
        raise NotImplementedError

    # running ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def start(self) -> None:
        if self.running:
            return
        stop = threading.Event()
        try:
            run = self.make_run(stop)  # creating the config checks every setting
        except VisionappError as exc:  # refused: say why and stay ready for another try
            self.log.appendPlainText(f"error: {exc}")
            return
        self._stop = stop
        self.events.clear()
        self.curves.series.clear()
        self.log.clear()
        self.model_path = ""
        self.use_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self._worker = ThreadWorker("training", parent=self)
        self._worker.yielded.connect(self._on_event)
        self._worker.errored.connect(self._on_error)
        self._worker.finished.connect(self._on_finished)
        self._worker.start(run)

    def stop(self) -> None:
        self._stop.set()
        self.stop_button.setEnabled(False)
        self.log.appendPlainText("stopping after the current batch…")

    def _on_error(self, exc: BaseException) -> None:
        self.log.appendPlainText("error: " + describe(exc))

    def _on_finished(self) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _on_event(self, event: Event) -> None:
        """Show one event; a subclass handles the types it knows more about, then calls this."""
        self.events.append(event)
        line = event.message
        match event:
            case Batch(fraction=fraction):
                self.progress.setValue(int(fraction * 1000))
            case Epoch(fraction=fraction, eta_s=eta, metrics=metrics):
                self.progress.setValue(int(fraction * 1000))
                self.eta.setText(f"ETA {eta:.0f} s")
                keys = self.curve_keys
                self.curves.add({k: v for k, v in metrics.items()
                                 if not keys or any(key in k for key in keys)})
            case Device(description=description):
                self.device.setText(description)
            case Finished(model_path=path):
                self.progress.setValue(1000)
                self.model_path = path
                self.use_button.setEnabled(bool(path))
            case Failed(message=message):
                line = "error: " + message
        if line:
            self.log.appendPlainText(line)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.running:
            self.stop()
        super().closeEvent(event)
