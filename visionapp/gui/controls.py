"""The playback bar above the view: source, play/pause, step, loop, seek, snapshot, record.

The bar only shows state and reports clicks; the window turns them into playback commands. Its
``set_*``/``show_*`` methods change what it shows without echoing a click back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from visionapp.core.playback_messages import Packet
from visionapp.core.sources import SourceInfo, list_cameras

OPEN_FILE = "@file"  # source box entries that open a dialog instead of a source
OPEN_FOLDER = "@folder"


class PlaybackBar(QWidget):
    source_picked = Signal(str)  # a source spec, OPEN_FILE or OPEN_FOLDER
    seek_released = Signal(int)  # frame index where the user let go of the slider

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.source_box = QComboBox()
        self.source_box.setMinimumWidth(180)
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
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.source_box, self.play, self.step_button, self.loop):
            row.addWidget(widget)
        row.addWidget(self.seek, 1)
        for widget in (self.position_label, self.side_by_side, self.snap_button, self.snap_raw,
                       self.record_button):
            row.addWidget(widget)
        self.fill_sources()
        self.source_box.activated.connect(
            lambda index: self.source_picked.emit(self.source_box.itemData(index)))
        self.seek.sliderReleased.connect(lambda: self.seek_released.emit(self.seek.value()))

    def fill_sources(self) -> None:
        """The demo scene, the cameras found now, and the file and folder pickers."""
        self.source_box.blockSignals(True)
        self.source_box.clear()
        self.source_box.addItem("Demo scene", "demo:")
        for index, name in list_cameras():
            self.source_box.addItem(f"{name} (camera {index})", str(index))
        self.source_box.addItem("Open file…", OPEN_FILE)
        self.source_box.addItem("Open folder…", OPEN_FOLDER)
        self.source_box.blockSignals(False)

    def set_paused(self, paused: bool) -> None:
        self.play.blockSignals(True)
        self.play.setChecked(paused)
        self.play.setText("Play" if paused else "Pause")
        self.play.blockSignals(False)

    def set_recording(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.setText("■ Stop" if on else "● Record")
        self.record_button.blockSignals(False)

    def show_source(self, info: SourceInfo) -> None:
        """Seeking and looping only where the source has frames to go back to."""
        live = info.is_live
        count = info.frame_count or 0
        self.seek.setEnabled(not live and count > 1)
        self.seek.setRange(0, max(0, count - 1))
        self.loop.setEnabled(not live)

    def show_position(self, packet: Packet) -> None:
        if not self.seek.isSliderDown() and self.seek.isEnabled():
            self.seek.blockSignals(True)
            self.seek.setValue(packet.position)
            self.seek.blockSignals(False)
        total = packet.source.frame_count
        text = f"{packet.position + 1}/{total}" if total else ""
        if text != self.position_label.text():
            self.position_label.setText(text)
