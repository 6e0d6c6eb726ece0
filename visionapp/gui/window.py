"""The main window: source picker, live views, chain editor, readouts, snapshot and record."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from visionapp import paths
from visionapp.core.chain import dumps, load_chain, loads, save_chain
from visionapp.core.errors import VisionappError
from visionapp.core.outputs import write_image
from visionapp.core.sources import SourceInfo, list_cameras
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.view import FrameView
from visionapp.gui.worker import Packet, Worker, WorkerSignals

STATS_INTERVAL_MS = 250


def output_dir(kind: str) -> Path:
    """Where snapshots and recordings go (created on first use)."""
    folder = paths.user_data_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """A file name that does not exist yet: nothing the user made is overwritten."""
    path = folder / f"{stem}{suffix}"
    n = 1
    while path.exists():
        path = folder / f"{stem}_{n}{suffix}"
        n += 1
    return path


class MainWindow(QMainWindow):
    frame_shown = Signal(object)  # the Packet just painted (tests and benchmarks listen)

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("visionapp")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings(str(paths.user_config_dir() / "visionapp.ini"),
                                              QSettings.Format.IniFormat)
        self.signals = WorkerSignals()
        self.worker = Worker(self.signals)
        self.packet: Packet | None = None
        self._last_shown: Packet | None = None
        self.source_spec = ""
        self.source_info: SourceInfo | None = None
        self.frame_ages_ms: list[float] = []
        self._paint_times: list[float] = []
        self._build()
        self._connect()
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._update_stats)
        self._stats_timer.start(STATS_INTERVAL_MS)

    # ---------------------------------------------------------------- layout

    def _build(self) -> None:
        self.view = FrameView(caption="processed")
        self.original = FrameView(caption="original")
        self.original.hide()
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.original)
        views.addWidget(self.view)

        self.source_box = QComboBox()
        self.source_box.setMinimumWidth(180)
        self._fill_sources()
        self.play = QPushButton("Pause")
        self.play.setCheckable(True)
        self.step_button = QPushButton("Step ▶|")
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setEnabled(False)
        self.position_label = QLabel("")
        self.side_by_side = QCheckBox("Original")
        self.snap_button = QPushButton("Snapshot")
        self.snap_raw = QCheckBox("+ raw")
        self.record_button = QPushButton("● Record")
        self.record_button.setCheckable(True)
        controls = QHBoxLayout()
        for widget in (self.source_box, self.play, self.step_button, self.loop):
            controls.addWidget(widget)
        controls.addWidget(self.seek, 1)
        for widget in (self.position_label, self.side_by_side, self.snap_button, self.snap_raw,
                       self.record_button):
            controls.addWidget(widget)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(controls)
        left_layout.addWidget(views, 1)

        self.chain = ChainPanel()
        self.stats = QLabel("")
        self.stats.setTextFormat(Qt.TextFormat.PlainText)
        self.stats.setStyleSheet("font-family: monospace;")
        self.stats.setWordWrap(True)
        self.readout = QLabel("")
        self.readout.setWordWrap(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("<b>Processor chain</b>"))
        right_layout.addWidget(self.chain, 1)
        right_layout.addWidget(QLabel("<b>What the processors see</b>"))
        right_layout.addWidget(self.readout)
        right_layout.addWidget(QLabel("<b>Performance</b>"))
        right_layout.addWidget(self.stats)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.source_label = QLabel("")
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.source_label)

        menu = self.menuBar().addMenu("&File")
        for text, handler, key in (
            ("Open video or image…", self.open_file_dialog, QKeySequence.StandardKey.Open),
            ("Open image folder…", self.open_folder_dialog, None),
            ("Open chain…", self.open_chain_dialog, None),
            ("Save chain…", self.save_chain_dialog, QKeySequence.StandardKey.Save),
            ("Quit", self.close, QKeySequence.StandardKey.Quit),
        ):
            action = QAction(text, self)
            action.triggered.connect(handler)
            if key is not None:
                action.setShortcut(key)
            menu.addAction(action)
        train_menu = self.menuBar().addMenu("&Train")
        for text, handler in (("Classifier…", self.open_classifier_training),
                              ("Detector (YOLO)…", self.open_detector_training),
                              ("Add frame to class…", self.add_frame_to_class)):
            action = QAction(text, self)
            action.triggered.connect(handler)
            train_menu.addAction(action)

        for key, handler in ((Qt.Key.Key_Space, self.toggle_pause),
                             (Qt.Key.Key_Right, self.step),
                             (Qt.Key.Key_S, self.snapshot),
                             (Qt.Key.Key_R, self.toggle_record),
                             (Qt.Key.Key_F, self.toggle_full_screen)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(handler)

    def _fill_sources(self) -> None:
        self.source_box.blockSignals(True)
        self.source_box.clear()
        self.source_box.addItem("Demo scene", "demo:")
        for index, name in list_cameras():
            self.source_box.addItem(f"{name} (camera {index})", str(index))
        self.source_box.addItem("Open file…", "@file")
        self.source_box.addItem("Open folder…", "@folder")
        self.source_box.blockSignals(False)

    def _connect(self) -> None:
        s = self.signals
        s.frame_ready.connect(self._on_frame_ready)
        s.source_opened.connect(self._on_source_opened)
        s.error.connect(self.show_error)
        s.processor_failed.connect(self._on_processor_failed)
        s.recording_changed.connect(self._on_recording_changed)
        s.ended.connect(lambda: self._set_paused_ui(True))
        self.chain.chain_changed.connect(self._send_chain)
        self.chain.message.connect(self.show_error)
        self.source_box.activated.connect(self._source_chosen)
        self.play.toggled.connect(self.set_paused)
        self.step_button.clicked.connect(self.step)
        self.loop.toggled.connect(self.worker.set_loop)
        self.seek.sliderReleased.connect(lambda: self.seek_to(self.seek.value()))
        self.side_by_side.toggled.connect(self.original.setVisible)
        self.snap_button.clicked.connect(self.snapshot)
        self.record_button.clicked.connect(self.toggle_record)
        self.view.rect_selected.connect(self.template_from_view)
        self.view.clicked.connect(self.explain_at)
        self.view.painted.connect(self._on_painted)

    # ---------------------------------------------------------------- sources

    def open_source(self, spec: str) -> None:
        self.source_spec = spec
        self.show_message(f"opening {spec}…")
        self.worker.open_source(spec)

    def _source_chosen(self, index: int) -> None:
        data = self.source_box.itemData(index)
        if data == "@file":
            self.open_file_dialog()
        elif data == "@folder":
            self.open_folder_dialog()
        else:
            self.open_source(data)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a video or image", "",
            "Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.png *.jpg *.jpeg *.bmp *.tif "
            "*.tiff *.webp);;All files (*)")
        if path:
            self.open_source(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.open_source(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_source(urls[0].toLocalFile())

    def _on_source_opened(self, info: SourceInfo) -> None:
        self.source_info = info
        live = info.is_live
        self.seek.setEnabled(not live and bool(info.frame_count) and info.frame_count > 1)
        self.seek.setRange(0, max(0, (info.frame_count or 1) - 1))
        self.loop.setEnabled(not live)
        detail = f" — {info.detail}" if info.detail else ""
        self.source_label.setText(f"{info.kind}: {info.name} {info.resolution_wh[0]}×"
                                  f"{info.resolution_wh[1]} @ {info.fps:g} fps{detail}")
        skipped = f"; skipped {len(info.skipped)} non-image files" if info.skipped else ""
        self.show_message(f"opened {info.name}{skipped}")
        self.frame_ages_ms.clear()
        self._set_paused_ui(False)
        self.worker.set_paused(False)

    # ---------------------------------------------------------------- playback

    def set_paused(self, paused: bool) -> None:
        self.worker.set_paused(paused)
        self._set_paused_ui(paused)

    def _set_paused_ui(self, paused: bool) -> None:
        self.play.blockSignals(True)
        self.play.setChecked(paused)
        self.play.setText("Play" if paused else "Pause")
        self.play.blockSignals(False)

    def toggle_pause(self) -> None:
        self.set_paused(not self.play.isChecked())

    def step(self) -> None:
        self.set_paused(True)
        self.worker.step()

    def seek_to(self, index: int) -> None:
        self.worker.seek(index)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # ---------------------------------------------------------------- frames

    def _send_chain(self) -> None:
        self._chain_version = getattr(self, "_chain_version", 0) + 1
        self.worker.set_chain(self.chain.slots, self._chain_version)

    def _on_frame_ready(self) -> None:
        packet = self.worker.take_packet()
        if packet is None:
            return
        self.packet = packet
        self.view.set_frame(packet.annotated)
        if self.original.isVisible():
            self.original.set_frame(packet.frame.image)
        if not self.seek.isSliderDown() and self.seek.isEnabled():
            self.seek.blockSignals(True)
            self.seek.setValue(packet.position)
            self.seek.blockSignals(False)
        total = packet.source.frame_count
        self.position_label.setText(f"{packet.position + 1}/{total}" if total else "")
        ran = {slot.key for slot in self.chain.slots if slot.enabled}
        self.chain.mark_ran({k for k in ran if k in packet.timings_ms})
        self.readout.setText("\n".join(line for r in packet.results for line in r.text))

    def _on_painted(self, when: float) -> None:
        if self.packet is None or self.packet is self._last_shown:
            return  # a repaint (resize, overlay) of a frame already counted
        self._last_shown = self.packet
        age = (when - self.packet.frame.captured_s) * 1000
        self.frame_ages_ms = (self.frame_ages_ms + [age])[-300:]
        self._paint_times = (self._paint_times + [self.view.last_paint_ms])[-300:]
        self.frame_shown.emit(self.packet)

    def _update_stats(self) -> None:
        p = self.packet
        if p is None:
            return
        lines = [f"processing  {p.fps:5.1f} fps", f"dropped     {p.dropped}"]
        if self.frame_ages_ms:
            ages = np.asarray(self.frame_ages_ms[-60:])
            lines.append(f"frame age   {np.median(ages):5.1f} ms (p95 "
                         f"{np.percentile(ages, 95):.1f})")
        if self._paint_times:
            lines.append(f"paint       {np.median(self._paint_times[-60:]):5.2f} ms")
        lines.append(f"memory      {p.rss_mb:5.0f} MB")
        for slot in self.chain.slots:
            p50, p95 = p.timings_ms.get(slot.key, (float("nan"), float("nan")))
            if slot.enabled and p50 == p50:  # not NaN
                lines.append(f"{slot.processor.name[:18]:18s} {p50:6.1f} / {p95:6.1f} ms")
        self.stats.setText("\n".join(lines))

    # ---------------------------------------------------------------- template from the view

    def template_from_view(self, x: int, y: int, w: int, h: int) -> None:
        """Cut the dragged rectangle from the frame the chain saw and make it the template."""
        if self.packet is None:
            return
        from visionapp.core.annotate import final_image

        image = final_image(self.packet.frame.image, self.packet.results)
        crop = image[y : y + h, x : x + w]
        if crop.size == 0:
            return
        folder = paths.templates_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = unique_path(folder, datetime.now().strftime("template_%Y%m%d_%H%M%S"), ".png")
        write_image(path, np.ascontiguousarray(crop))
        row = next((i for i, s in enumerate(self.chain.slots)
                    if s.processor.name == "template"), None)
        if row is None:
            self.chain.add("template", {"template_path": str(path)})
        else:
            self.chain.set_param(row, "template_path", str(path))
            self.chain.list.setCurrentRow(row)
        self.show_message(f"template {w}×{h} px saved to {path}")

    def explain_at(self, x: int, y: int) -> None:
        """IoU explorer: clicking a kept YOLO box labels the candidates it suppressed."""
        if self.packet is None:
            return
        for row, slot in enumerate(self.chain.slots):
            result = next((r for r in self.packet.results if r.processor == "yolo.detect"),
                          None)
            if slot.processor.name != "yolo.detect" or result is None:
                continue
            boxes = result.detections.xyxy
            inside = [i for i, (x1, y1, x2, y2) in enumerate(boxes)
                      if x1 <= x <= x2 and y1 <= y <= y2]
            if not inside:
                return
            rank = min(inside, key=lambda i: (boxes[i][2] - boxes[i][0]) * (
                boxes[i][3] - boxes[i][1]))
            if not slot.processor.show_candidates:
                self.chain.set_param(row, "show_candidates", True)
            self.chain.set_param(row, "explain", int(rank))
            self.show_message(f"IoU explorer: box #{rank} ({result.detections.labels[rank]}); "
                              "the candidates it suppressed are labelled with their IoU")
            return

    # ---------------------------------------------------------------- training

    def open_classifier_training(self) -> None:
        from visionapp.gui.classifier_dialog import ClassifierTrainingDialog

        dialog = ClassifierTrainingDialog(self, str(self.settings.value("classifier/dataset", "")))
        dialog.model_ready.connect(lambda path: self.use_model("classifier", "model", path))
        dialog.show()
        self.classifier_dialog = dialog

    def add_frame_to_class(self, folder: str = "", class_name: str = "") -> Path | None:
        """Save the current raw frame into <dataset>/<class>/ to collect training data."""
        if self.packet is None:
            self.show_error("no frame yet")
            return None
        if not folder:
            start = str(self.settings.value("classifier/dataset", ""))
            folder = QFileDialog.getExistingDirectory(self, "Dataset folder (one subfolder "
                                                      "per class)", start)
            if not folder:
                return None
        root = Path(folder)
        if not class_name:
            from PySide6.QtWidgets import QInputDialog

            existing = sorted(p.name for p in root.iterdir() if p.is_dir())
            class_name, ok = QInputDialog.getItem(self, "Add frame to class", "class",
                                                  existing or ["class_a"], 0, True)
            if not ok or not class_name.strip():
                return None
        self.settings.setValue("classifier/dataset", str(root))
        target = root / class_name.strip()
        target.mkdir(parents=True, exist_ok=True)
        path = unique_path(target, datetime.now().strftime("frame_%Y%m%d_%H%M%S"), ".png")
        write_image(path, self.packet.frame.image)
        count = sum(1 for _ in target.iterdir())
        self.show_message(f"saved {path.name} to {target} ({count} images in "
                          f"{class_name.strip()})")
        return path

    def open_detector_training(self) -> None:
        from visionapp.gui.detector_dialog import DetectorTrainingDialog

        dialog = DetectorTrainingDialog(self)
        dialog.model_ready.connect(lambda path: self.use_model("yolo.detect", "weights", path))
        dialog.show()
        self.detector_dialog = dialog

    def use_model(self, processor: str, field: str, path: str) -> None:
        """Hot-swap a trained model into the live chain (adding the processor if needed)."""
        row = next((i for i, s in enumerate(self.chain.slots)
                    if s.processor.name == processor), None)
        if row is None:
            self.chain.add(processor, {field: path})
        else:
            self.chain.set_param(row, field, path)
        self.show_message(f"{processor} now uses {path}")

    # ---------------------------------------------------------------- snapshot and record

    def snapshot(self) -> list[Path]:
        if self.packet is None:
            self.show_error("nothing to snapshot yet")
            return []
        folder = output_dir("snapshots")
        stem = datetime.now().strftime("snapshot_%Y%m%d_%H%M%S")
        saved = [unique_path(folder, stem, ".png")]
        write_image(saved[0], self.packet.annotated)
        if self.snap_raw.isChecked():
            saved.append(unique_path(folder, stem + "_raw", ".png"))
            write_image(saved[1], self.packet.frame.image)
        self.show_message("saved " + ", ".join(str(p) for p in saved))
        return saved

    def toggle_record(self) -> None:
        if getattr(self, "_recording", False):
            self.worker.stop_recording()
        else:
            stem = datetime.now().strftime("recording_%Y%m%d_%H%M%S")
            self.worker.start_recording(unique_path(output_dir("recordings"), stem, ".mp4"))

    def _on_recording_changed(self, on: bool, text: str) -> None:
        self._recording = on
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.setText("■ Stop" if on else "● Record")
        self.record_button.blockSignals(False)
        (self.show_error if text.startswith("recording failed") else self.show_message)(
            f"recording to {text}" if on else text)

    # ---------------------------------------------------------------- messages

    def show_message(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        self.message.setStyleSheet("color: #d03030;")
        self.message.setText(text)
        self.last_error = text

    def _on_processor_failed(self, key: int, message: str) -> None:
        self.chain.mark_failed(key, message)
        self.show_error(message)

    # ---------------------------------------------------------------- chain files, settings

    def open_chain_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a chain", "", "Chains (*.toml)")
        if path:
            self.load_chain_file(Path(path))

    def load_chain_file(self, path: Path) -> None:
        try:
            self.chain.load_entries(load_chain(path))
        except VisionappError as exc:
            self.show_error(str(exc))

    def save_chain_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the chain", "chain.toml",
                                              "Chains (*.toml)")
        if path:
            self.save_chain_file(Path(path))

    def save_chain_file(self, path: Path) -> None:
        save_chain(path, self.chain.entries())
        self.show_message(f"chain saved to {path}; run it with: visionapp process VIDEO "
                          f"--chain {path}")

    def restore_settings(self) -> tuple[str, bool]:
        """Window layout and last chain; returns (last source, whether a chain was restored)."""
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        chain_text = self.settings.value("chain/toml", "")
        restored = False
        if chain_text:
            try:
                self.chain.load_entries(loads(str(chain_text), origin="the last session's chain"))
            except VisionappError as exc:
                self.show_error(str(exc))
            restored = True
        return str(self.settings.value("source/last", "demo:")), restored

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("source/last", self.source_spec or "demo:")
        self.settings.setValue("chain/toml", dumps(self.chain.entries()))
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        try:
            self.save_settings()
        except (OSError, VisionappError) as exc:
            QMessageBox.warning(self, "visionapp", f"settings not saved: {exc}")
        self._stats_timer.stop()
        self.worker.stop()
        super().closeEvent(event)
