"""The main window: puts the parts together and turns the user's clicks into playback commands.

Each part has one job: :class:`PlaybackBar` (controls), :class:`FrameView` (the picture, drags
and clicks), :class:`ChainPanel` (the chain and its settings), :class:`Readouts` (the numbers),
:class:`ViewGestures` (drags and clicks routed to processors), :class:`Capture` (snapshots and
recordings), :class:`TrainingMenu` (dialogs, datasets), :class:`ChainFiles` and the settings
functions (what is kept). :class:`LiveWorker` runs playback off the GUI thread; every worker's
error reaches the message line through :func:`visionapp.gui.bridge.errors`.

While the chain is empty a :class:`StartPanel` offers the presets. Single-key shortcuts belong
to the view (it takes the focus at start and on a click), so typing elsewhere never fires them.
What is loading and the REC badge are drawn on the view, refreshed with the readouts' timer.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

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
from visionapp.core.network_sources import shown_spec
from visionapp.core.sources import SourceInfo
from visionapp.gui import bridge, help_menu
from visionapp.gui.actions import add_menu, add_shortcuts
from visionapp.gui.capture import Capture
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.controls import OPEN_FILE, OPEN_FOLDER, PlaybackBar
from visionapp.gui.inspector import InspectorDialog
from visionapp.gui.live import LiveWorker
from visionapp.gui.nms_table import NmsSync, NmsTableView
from visionapp.gui.persistence import (
    ChainFiles,
    last_folder,
    recent_sources,
    remember_folder,
    remember_source,
    restore_settings,
    save_settings,
)
from visionapp.gui.readouts import Readouts
from visionapp.gui.start_panel import StartPanel, presets
from visionapp.gui.status_line import StatusLine
from visionapp.gui.stream_dialog import ask_stream_url
from visionapp.gui.text_read import TextRead
from visionapp.gui.training_menu import TrainingMenu
from visionapp.gui.view import FrameView
from visionapp.gui.view_gestures import ViewGestures

MEDIA_FILTER = ("Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.png *.jpg *.jpeg *.bmp "
                "*.tif *.tiff *.webp);;All files (*)")
SHORTCUTS = (("Space", "play / pause"), ("→", "one frame forward (pauses)"),
             ("S", "snapshot (PNG in the snapshots folder)"), ("R", "start / stop recording"),
             ("F", "full screen on / off"), ("Ctrl+O", "open a video or image"),
             ("Ctrl+S", "save the chain"), ("Ctrl+Q", "quit"))
RECENT_ROLE = Qt.ItemDataRole.UserRole + 1  # source box entries added for recent sources


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
        self.inspector = InspectorDialog(self)
        self.text_read = TextRead()
        self.gestures = ViewGestures(self.chain, self._latest, self.message,
                                     self.inspector.show_inspection)
        self.capture = Capture(self.live, self.bar, self.message, self._latest)
        self.training = TrainingMenu(self, self.chain, self.settings, self.message, self._latest)
        self.chain_files = ChainFiles(self, self.chain, self.message, self.settings)
        self.start = StartPanel()
        self.notice = ""  # shown once the source opens, e.g. "No camera found — …"
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
        left_layout.addWidget(self.start)
        left_layout.addWidget(views, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("<b>Processor chain</b>"))
        right_layout.addWidget(self.chain, 1)
        right_layout.addWidget(QLabel("<b>What the processors see</b>"))
        right_layout.addWidget(self.readouts.text)
        right_layout.addWidget(self.text_read)
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
            ("Open network stream…", self.open_stream_dialog, None),
            ("Open chain…", self.chain_files.open_dialog, None),
            ("Save chain…", self.chain_files.save_dialog, keys.Save),
            ("Quit", self.close, keys.Quit),
        ))
        add_menu(self, "&Presets", [(f"{p.title} — {p.description}" if p.description
                                     else p.title, functools.partial(self.load_preset, p.path),
                                     None) for p in presets()])
        add_menu(self, "&Train", (
            ("Classifier…", self.training.open_classifier, None),
            ("Detector (YOLO)…", self.training.open_detector, None),
            ("Add frame to class…", self.training.add_frame_to_class, None),
        ))
        add_menu(self, "&Help", (
            ("Keyboard shortcuts", lambda: help_menu.show_shortcuts(self, SHORTCUTS), None),
            ("Open the snapshots folder", lambda: help_menu.open_folder("snapshots"), None),
            ("Open the recordings folder", lambda: help_menu.open_folder("recordings"), None),
            ("About visionapp", lambda: help_menu.show_about(self), None),
        ))
        self.shortcuts = add_shortcuts(self.view, (
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
        live.on(playback.SourceStatus, lambda event: self.view.set_notice(event.text))
        bridge.errors().message.connect(self.message.error)
        self.chain.chain_changed.connect(self._chain_changed)
        self.start.preset_picked.connect(self.load_preset)
        self.readouts.timer.timeout.connect(self._update_labels)
        self.chain.message.connect(self.message.error)
        bar = self.bar
        bar.source_picked.connect(self._source_picked)
        bar.play.toggled.connect(self.set_paused)
        bar.step_button.clicked.connect(self.step)
        bar.loop.toggled.connect(lambda loop: self.live.send(playback.SetLoop(loop)))
        bar.seek_released.connect(self.seek_to)
        bar.side_by_side.toggled.connect(self.show_original)
        bar.snap_button.clicked.connect(self.capture.snapshot)
        bar.record_button.clicked.connect(self.capture.toggle_record)
        self.view.dragged.connect(self.gestures.on_drag)
        self.view.clicked.connect(self.gestures.on_click)
        self.view.right_clicked.connect(self.gestures.on_right_click)
        self.view.painted.connect(self._on_painted)

    # ---------------------------------------------------------------- sources

    def _chain_changed(self) -> None:
        self.live.set_chain(self.chain.slots)
        self.start.setVisible(not self.chain.slots)

    def load_preset(self, path: Path) -> None:
        """Replace the chain with a preset's; the view gets the keyboard back."""
        if self.chain_files.load(Path(path)):
            self.view.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.view.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def open_source(self, spec: str) -> None:
        self.source_spec = spec
        self.message.info(f"opening {shown_spec(spec)}…")  # never a password
        self.live.send(playback.OpenSource(spec))

    def _source_picked(self, spec: str) -> None:
        dialogs = {OPEN_FILE: self.open_file_dialog, OPEN_FOLDER: self.open_folder_dialog}
        if spec in dialogs:
            dialogs[spec]()
        else:
            self.open_source(spec)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image",
                                              last_folder(self.settings), MEDIA_FILTER)
        if path:
            remember_folder(self.settings, path)
            self.open_source(path)
        else:
            self._show_sources(self.source_spec)  # the box goes back to what is open

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images",
                                                last_folder(self.settings))
        if path:
            remember_folder(self.settings, path)
            self.open_source(path)
        else:
            self._show_sources(self.source_spec)

    def open_stream_dialog(self) -> None:
        url = ask_stream_url(self, self.settings)
        if url:
            self.open_source(url)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_source(urls[0].toLocalFile())

    def _on_source_opened(self, event: playback.SourceOpened) -> None:
        info = self.source_info = event.info
        self.view.set_notice(None)
        self.bar.show_source(info)
        detail = f" — {info.detail}" if info.detail else ""
        self.source_label.setText(f"{info.kind}: {info.name} {info.resolution_wh[0]}×"
                                  f"{info.resolution_wh[1]} @ {info.fps:g} fps{detail}")
        skipped = f"; skipped {len(info.skipped)} non-image files" if info.skipped else ""
        self.message.info(self.notice or f"opened {info.name}{skipped}")
        self.start.show_notice(self.notice)
        self.notice = ""
        self.source_spec = event.spec
        remember_source(self.settings, event.spec)
        self._show_sources(event.spec, info)
        self.readouts.frame_ages_ms.clear()
        self.bar.set_paused(False)  # a new source plays

    def _show_sources(self, spec: str, info: SourceInfo | None = None) -> None:
        """The source box: its fixed entries, the recent files and folders, and the open
        source selected (added when it is none of them, e.g. demo:size=320x240)."""
        box = self.bar.source_box
        box.blockSignals(True)
        for i in reversed(range(box.count())):
            if box.itemData(i, RECENT_ROLE):
                box.removeItem(i)
        at = max(0, box.findData(OPEN_FILE))
        for recent in recent_sources(self.settings):
            if box.findData(recent) < 0:
                box.insertItem(at, Path(recent).name or recent, recent)
                box.setItemData(at, True, RECENT_ROLE)
                box.setItemData(at, recent, Qt.ItemDataRole.ToolTipRole)
                at += 1
        index = box.findData(spec)
        if index < 0 and spec:
            label = f"{info.kind}: {info.name}" if info is not None else spec
            box.insertItem(0, label, spec)
            box.setItemData(0, True, RECENT_ROLE)
            index = 0
        box.setCurrentIndex(max(index, 0))
        box.setToolTip(spec)
        box.blockSignals(False)

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

    def show_original(self, visible: bool) -> None:
        """The source frame beside the result; shown at once, paused or not."""
        self.original.setVisible(visible)
        if visible and self.packet is not None:
            self.original.set_frame(self.packet.frame.image)

    def _show_packet(self, packet: playback.Packet) -> None:
        self.packet = packet
        self.view.set_frame(packet.annotated)
        if self.original.isVisible():
            self.original.set_frame(packet.frame.image)
        self.bar.show_position(packet)
        self.chain.mark_ran(set(packet.keys) - set(packet.loading))
        self.readouts.show_results(packet)
        self.nms.show_packet(packet)
        self.text_read.show_results(packet)
        self._update_labels()

    def _update_labels(self) -> None:
        """What is loading, with the seconds so far (chain list and view), and the REC badge."""
        packet = self.packet
        notes: dict[int, str] = {}
        if packet is not None:
            now = time.perf_counter()
            notes = {key: f"{note} · {now - started:.0f} s"
                     for key, (note, started) in packet.loading.items()}
        self.chain.mark_loading(notes)
        names = {slot.key: slot.processor.name for slot in self.chain.slots}
        self.view.set_labels([f"{names.get(key, '?')}: {note}" for key, note in notes.items()],
                             self.capture.badge())

    def _on_painted(self, when: float) -> None:
        if self.packet is None or self.packet is self._last_shown:
            return  # a repaint (resize, overlay) of a frame already counted
        self._last_shown = self.packet
        if not (self.packet.frame.still or self.bar.play.isChecked()):  # no age for a held frame
            self.readouts.frame_painted(self.packet, when, self.view.last_paint_ms)
        self.frame_shown.emit(self.packet)

    def _on_processor_off(self, event: playback.ProcessorOff) -> None:
        self.chain.mark_failed(event.key, event.message)
        self.message.error(event.message)

    # ---------------------------------------------------------------- settings, closing

    def restore_settings(self) -> tuple[str, bool]:
        """Window layout and last chain; returns (last source, whether a chain was restored)."""
        restored = restore_settings(self.settings, self, self.splitter, self.chain, self.message)
        self.start.setVisible(not self.chain.slots)
        return restored

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        try:
            save_settings(self.settings, self, self.splitter, self.chain, self.source_spec)
        except (OSError, VisionappError) as exc:
            QMessageBox.warning(self, "visionapp", f"settings not saved: {exc}")
        self.readouts.timer.stop()
        self.live.stop()
        super().closeEvent(event)
