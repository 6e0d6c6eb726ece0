"""File ▸ Open network stream…: a URL box that remembers the streams opened before.

Recent URLs are kept in the window's settings (newest first, at most :data:`MAX_RECENT`) and
listed with their user names and passwords masked; choosing one opens the full URL.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from visionapp.core.network_sources import is_stream_url, mask_url

RECENT_KEY = "streams/recent"
MAX_RECENT = 10


def recent_streams(settings: QSettings) -> list[str]:
    value = settings.value(RECENT_KEY, [])
    urls = [value] if isinstance(value, str) else list(value or [])
    return [u for u in urls if isinstance(u, str) and is_stream_url(u)][:MAX_RECENT]


def remember_stream(settings: QSettings, url: str) -> None:
    """Put ``url`` first in the recent list (once)."""
    urls = [url] + [u for u in recent_streams(settings) if u != url]
    settings.setValue(RECENT_KEY, urls[:MAX_RECENT])


class StreamDialog(QDialog):
    """Asks for a stream URL; :meth:`url` is the full URL chosen or typed."""

    def __init__(self, recent: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open network stream")
        self.combo = QComboBox(self)
        self.combo.setEditable(True)
        self.combo.setMinimumWidth(480)
        for url in recent:
            self.combo.addItem(mask_url(url), url)  # shown masked; the data is the URL
        self.combo.setCurrentIndex(0 if recent else -1)
        self.combo.lineEdit().setPlaceholderText("rtsp://user:password@192.168.1.20:554/stream1")
        self.problem = QLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel, parent=self)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("rtsp://, rtsps://, http(s):// (MJPEG or HLS) or udp:// "
                                "address of a camera or stream:", self))
        layout.addWidget(self.combo)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def url(self) -> str:
        text = self.combo.currentText().strip()
        index = self.combo.findText(text)
        return self.combo.itemData(index) if index >= 0 else text

    def _accept(self) -> None:
        if not is_stream_url(self.url()):
            self.problem.setText("give an address starting with rtsp://, rtsps://, http://, "
                                 "https:// or udp://")
            return
        self.accept()


def ask_stream_url(parent: QWidget, settings: QSettings) -> str | None:
    """Show the dialog; the URL chosen (now first among the recent ones) or None."""
    dialog = StreamDialog(recent_streams(settings), parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    url = dialog.url()
    remember_stream(settings, url)
    return url
