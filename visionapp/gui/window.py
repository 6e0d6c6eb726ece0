"""The main window: puts the parts together and turns the user's clicks into playback commands.

Each part has one job: :class:`PlaybackBar` (controls), :class:`FrameView` (the picture, drags
and clicks), :class:`ChainPanel` (the chain and its settings), :class:`Readouts` (the numbers),
:class:`ViewGestures` (drags and clicks routed to processors), :class:`Capture` (snapshots and
recordings), :class:`TrainingMenu` (dialogs, datasets), :class:`ChainFiles` and the settings
functions (what is kept). :class:`LiveWorker` runs playback off the GUI thread; every worker's
error reaches the message line through :func:`visionapp.gui.bridge.errors`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from visionapp import paths
from visionapp.core import playback_messages as playback
from visionapp.core.errors import VisionappError
from visionapp.core.sources import SourceInfo
from visionapp.gui import bridge
from visionapp.gui.actions import add_menu, add_shortcuts
from visionapp.gui.capture import Capture
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.controls import OPEN_FILE, OPEN_FOLDER, PlaybackBar
from visionapp.gui.live import LiveWorker
from visionapp.gui.nms_table import NmsSync, NmsTableView
from visionapp.gui.persistence import ChainFiles, restore_settings, save_settings
from visionapp.gui.readouts import Readouts
from visionapp.gui.status_line import StatusLine
from visionapp.gui.training_menu import TrainingMenu
from visionapp.gui.view import FrameView
from visionapp.gui.view_gestures import ViewGestures

MEDIA_FILTER = ("Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.png *.jpg *.jpeg *.bmp "
                "*.tif *.tiff *.webp);;All files (*)")


class MainWindow(QMainWindow):
    frame_shown = Signal(object)  # the Packet just painted (tests and benchmarks listen)

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("visionapp")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings(str(paths.user_config_dir() / "visionapp.ini"),
                                              QSettings.Format.IniFormat)
        self.packet: playback.Packet | None = None  # the newest frame shown
        self.source_spec = ""  # what was last asked to open
        self.source_info: SourceInfo | None = None  # what the open source delivers
        self._last_shown: playback.Packet | None = None  # the packet whose paint was counted
        self.message = StatusLine()
        self.source_label = QLabel("")
        self.live = LiveWorker(self)
        self.view = FrameView(caption="processed")
        self.original = FrameView(caption="original")
        self.original.hide()
        self.bar = PlaybackBar()
        self.chain = ChainPanel()
        self.nms_view = NmsTableView()
        self.nms = NmsSync(self.nms_view, self.chain)
        self.readouts = Readouts(self, self._latest, self._slots)
        self.gestures = ViewGestures(self.chain, self._latest, self.message)
        self.capture = Capture(self.live, self.bar, self.message, self._latest)
        self.training = TrainingMenu(self, self.chain, self.settings, self.message, self._latest)
        self.chain_files = ChainFiles(self, self.chain, self.message)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self._lay_out()
        self._add_actions()
        self._connect()

    def _latest(self) -> playback.Packet | None:
        return self.packet

    def _slots(self) -> list[playback.ChainSlot]:
        return self.chain.slots

    # ---------------------------------------------------------------- layout

    def _lay_out(self) -> None:
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.original)
        views.addWidget(self.view)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.bar)
        left_layout.addWidget(views, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("<b>Processor chain</b>"))
        right_layout.addWidget(self.chain, 1)
        right_layout.addWidget(QLabel("<b>What the processors see</b>"))
        right_layout.addWidget(self.readouts.text)
        right_layout.addWidget(self.nms_view, 1)
        right_layout.addWidget(QLabel("<b>Performance</b>"))
        right_layout.addWidget(self.readouts.stats)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.source_label)

    def _add_actions(self) -> None:
        keys = QKeySequence.StandardKey
        add_menu(self, "&File", (
            ("Open video or image…", self.open_file_dialog, keys.Open),
            ("Open image folder…", self.open_folder_dialog, None),
            ("Open chain…", self.chain_files.open_dialog, None),
            ("Save chain…", self.chain_files.save_dialog, keys.Save),
            ("Quit", self.close, keys.Quit),
        ))
        add_menu(self, "&Train", (
            ("Classifier…", self.training.open_classifier, None),
            ("Detector (YOLO)…", self.training.open_detector, None),
            ("Add frame to class…", self.training.add_frame_to_class, None),
        ))
        add_shortcuts(self, (
            (Qt.Key.Key_Space, self.toggle_pause),
            (Qt.Key.Key_Right, self.step),
            (Qt.Key.Key_S, self.capture.snapshot),
            (Qt.Key.Key_R, self.capture.toggle_record),
            (Qt.Key.Key_F, self.toggle_full_screen),
        ))

    def _connect(self) -> None:
        live = self.live
        live.on(playback.Packet, self._show_packet)
        live.on(playback.SourceOpened, self._on_source_opened)
        live.on(playback.Problem, lambda event: self.message.error(event.message))
        live.on(playback.ProcessorOff, self._on_processor_off)
        live.on(playback.Ended, lambda _event: self.bar.set_paused(True))
        bridge.errors().message.connect(self.message.error)
        self.chain.chain_changed.connect(lambda: self.live.set_chain(self.chain.slots))
        self.chain.message.connect(self.message.error)
        bar = self.bar
        bar.source_picked.connect(self._source_picked)
        bar.play.toggled.connect(self.set_paused)
        bar.step_button.clicked.connect(self.step)
        bar.loop.toggled.connect(lambda loop: self.live.send(playback.SetLoop(loop)))
        bar.seek_released.connect(self.seek_to)
        bar.side_by_side.toggled.connect(self.original.setVisible)
        bar.snap_button.clicked.connect(self.capture.snapshot)
        bar.record_button.clicked.connect(self.capture.toggle_record)
        self.view.rect_selected.connect(self.gestures.on_rect)
        self.view.clicked.connect(self.gestures.on_click)
        self.view.painted.connect(self._on_painted)

    # ---------------------------------------------------------------- sources

    def open_source(self, spec: str) -> None:
        self.source_spec = spec
        self.message.info(f"opening {spec}…")
        self.live.send(playback.OpenSource(spec))

    def _source_picked(self, spec: str) -> None:
        dialogs = {OPEN_FILE: self.open_file_dialog, OPEN_FOLDER: self.open_folder_dialog}
        if spec in dialogs:
            dialogs[spec]()
        else:
            self.open_source(spec)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", "", MEDIA_FILTER)
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

    def _on_source_opened(self, event: playback.SourceOpened) -> None:
        info = self.source_info = event.info
        self.bar.show_source(info)
        detail = f" — {info.detail}" if info.detail else ""
        self.source_label.setText(f"{info.kind}: {info.name} {info.resolution_wh[0]}×"
                                  f"{info.resolution_wh[1]} @ {info.fps:g} fps{detail}")
        skipped = f"; skipped {len(info.skipped)} non-image files" if info.skipped else ""
        self.message.info(f"opened {info.name}{skipped}")
        self.readouts.frame_ages_ms.clear()
        self.bar.set_paused(False)  # a new source plays

    # ---------------------------------------------------------------- playback

    def set_paused(self, paused: bool) -> None:
        self.live.send(playback.Pause() if paused else playback.Play())
        self.bar.set_paused(paused)

    def toggle_pause(self) -> None:
        self.set_paused(not self.bar.play.isChecked())

    def step(self) -> None:
        self.bar.set_paused(True)
        self.live.send(playback.Step())

    def seek_to(self, index: int) -> None:
        self.live.send(playback.Seek(index))

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # ---------------------------------------------------------------- frames

    def _show_packet(self, packet: playback.Packet) -> None:
        self.packet = packet
        self.view.set_frame(packet.annotated)
        if self.original.isVisible():
            self.original.set_frame(packet.frame.image)
        self.bar.show_position(packet)
        self.chain.mark_ran(set(packet.keys))
        self.readouts.show_results(packet)
        self.nms.show_packet(packet)

    def _on_painted(self, when: float) -> None:
        if self.packet is None or self.packet is self._last_shown:
            return  # a repaint (resize, overlay) of a frame already counted
        self._last_shown = self.packet
        self.readouts.frame_painted(self.packet, when, self.view.last_paint_ms)
        self.frame_shown.emit(self.packet)

    def _on_processor_off(self, event: playback.ProcessorOff) -> None:
        self.chain.mark_failed(event.key, event.message)
        self.message.error(event.message)

    # ---------------------------------------------------------------- settings, closing

    def restore_settings(self) -> tuple[str, bool]:
        """Window layout and last chain; returns (last source, whether a chain was restored)."""
        return restore_settings(self.settings, self, self.splitter, self.chain, self.message)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        try:
            save_settings(self.settings, self, self.splitter, self.chain, self.source_spec)
        except (OSError, VisionappError) as exc:
            QMessageBox.warning(self, "visionapp", f"settings not saved: {exc}")
        self.readouts.timer.stop()
        self.live.stop()
        super().closeEvent(event)
