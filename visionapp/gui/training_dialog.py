"""The training dialog frame: settings on the left, what the run shows on the right (curves,
and the tabs a subclass adds), Start/Stop with progress and ETA below, and the log.

It fits the screen it opens on (1280×800 included): the settings scroll, the two sides and the
log share the space through splitters. The settings form is generated from the training
config's fields (:mod:`visionapp.gui.settings_form`). A subclass supplies a Qt-free generator of
progress events (``make_run``); the frame runs it on a :class:`ThreadWorker` and shows each event
by its type. The worker's ``finished`` re-arms Start; its error is written to the log (and, like
every worker's, reaches the window's message line).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from visionapp.core.errors import VisionappError
from visionapp.gui.bridge import ThreadWorker, describe
from visionapp.gui.curves import Curves
from visionapp.gui.settings_form import SettingsForm
from visionapp.training.progress import Batch, Device, Epoch, Event, Failed, Finished

SIZE_WH = (1400, 880)  # px, at most; never more than the screen leaves free
SETTINGS_SHARE = 0.36  # of the dialog's width, at least (the settings' own width if more)
SCREEN_MARGIN = 60  # px kept free around the dialog (title bar, panels)
ERROR_COLOR = "#c62828"


class TrainingDialog(QDialog):
    """The shared frame. ``model_ready`` carries the saved model's path after "Use this model"."""

    model_ready = Signal(str)
    curve_keys: tuple[str, ...] = ()  # which metrics to plot (substring match); () = all
    score_title = "score"  # the axis of the plot beside the losses
    missing_hint = ""  # added to the error when a required setting is empty

    def __init__(self, title: str, config_cls: type, parent: QWidget | None = None, *,
                 values: Mapping[str, Any] | None = None,
                 titles: Mapping[str, Mapping[Any, str]] | None = None,
                 file_filters: Mapping[str, str] | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.settings = SettingsForm(config_cls, values=values, titles=titles,
                                     file_filters=file_filters, columns=1)
        self.form = QFormLayout()  # rows a subclass adds below the settings
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("put the trained model into the live chain")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.device = QLabel("")
        self.device.setWordWrap(True)
        self.problem = QLabel("")  # the last error, in red beside the buttons
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setStyleSheet(f"color: {ERROR_COLOR};")
        self.curves = Curves(self.score_title)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("the run's log")
        self.log.setMinimumHeight(60)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.setMinimumWidth(360)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        settings_box = QWidget()
        column = QVBoxLayout(settings_box)
        column.addWidget(self.settings)
        column.addLayout(self.form)
        column.addStretch(1)
        scroll.setWidget(settings_box)
        scrollbar = scroll.verticalScrollBar().sizeHint().width() + 4
        scroll.setMinimumWidth(settings_box.minimumSizeHint().width() + scrollbar)
        self._settings_width = settings_box.sizeHint().width() + scrollbar
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Settings</b>"))
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(self.settings.unused_note)  # why fields are greyed, in view
        self.sides = QSplitter(Qt.Orientation.Horizontal)
        self.sides.addWidget(left)
        self.sides.addWidget(self.tabs)
        self.sides.setStretchFactor(1, 1)
        self.sides.setChildrenCollapsible(False)
        self.body = QSplitter(Qt.Orientation.Vertical)
        self.body.addWidget(self.sides)
        self.body.addWidget(self.log)
        self.body.setStretchFactor(0, 1)
        self.body.setChildrenCollapsible(False)
        buttons = QHBoxLayout()
        for w in (self.start_button, self.stop_button, self.use_button):
            buttons.addWidget(w)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.eta)
        layout = QVBoxLayout(self)
        layout.addWidget(self.body, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        layout.addWidget(self.device)
        self.problem.hide()
        self._stop = threading.Event()
        self._worker: ThreadWorker | None = None
        self.model_path = ""
        self.events: list[Event] = []
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(lambda: self.model_ready.emit(self.model_path))
        self.fit_screen()

    def fit_screen(self) -> None:
        """Size the dialog to SIZE_WH, or to what the screen it is on leaves free."""
        screen = self.screen()
        width, height = SIZE_WH
        if screen is not None:
            free = screen.availableGeometry()
            width = min(width, free.width() - SCREEN_MARGIN)
            height = min(height, free.height() - SCREEN_MARGIN)
        self.resize(width, height)
        self.body.setSizes([height - 150, 110])
        left = max(self._settings_width, int(width * SETTINGS_SHARE))
        self.sides.setSizes([left, width - left])

    def say_error(self, message: str) -> None:
        """One error: a line in the log and, in red, under the buttons."""
        self.log.appendPlainText(f"error: {message}")
        self.problem.setText(f"error: {message}")
        self.problem.show()

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
        self.problem.hide()
        missing = self.settings.missing()
        if missing:
            spec = self.settings.specs[missing[0]]
            self.say_error(f"choose {missing[0].replace('_', ' ')} first ({spec.help})"
                           + self.missing_hint)
            return
        stop = threading.Event()
        try:
            run = self.make_run(stop)  # creating the config checks every setting
        except VisionappError as exc:  # refused: say why and stay ready for another try
            self.say_error(str(exc))
            return
        self._stop = stop
        self.events.clear()
        self.curves.clear()
        self.log.clear()
        self.tabs.setCurrentWidget(self.curves)
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
        self.say_error(describe(exc))

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
            case Epoch(epoch=epoch, epochs=epochs, fraction=fraction, eta_s=eta,
                       metrics=metrics):
                self.progress.setValue(int(fraction * 1000))
                self.eta.setText(f"ETA {eta:.0f} s")
                keys = self.curve_keys
                self.curves.add(epoch, epochs, {k: v for k, v in metrics.items()
                                                if not keys or any(key in k for key in keys)})
            case Device(description=description):
                self.device.setText(description)
            case Finished(model_path=path):
                self.progress.setValue(1000)
                self.model_path = path
                self.use_button.setEnabled(bool(path))
            case Failed(message=message):
                self.problem.setText("error: " + message)
                self.problem.show()
                line = "error: " + message
        if line:
            self.log.appendPlainText(line)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.running:
            self.stop()
        super().closeEvent(event)
