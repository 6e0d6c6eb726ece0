"""The text the chain read (``ocr``'s ``values["text"]``), shown in the side panel with a Copy
button; hidden while no processor in the chain reads text."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from visionapp.core.playback_messages import Packet


def text_of(packet: Packet) -> str | None:
    """The text read in this frame, one block per reading processor; None if none reads."""
    blocks = [r.values["text"] for r in packet.results if isinstance(r.values.get("text"), str)]
    return "\n\n".join(b for b in blocks if b) if blocks else None


class TextRead(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Text read</b>"))
        top.addStretch(1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("copy the text read in the frame shown to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        top.addWidget(self.copy_button)
        layout.addLayout(top)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(140)
        self.text.setPlaceholderText("no text found in this frame")
        layout.addWidget(self.text)
        self.hide()

    def show_results(self, packet: Packet) -> None:
        text = text_of(packet)
        self.setVisible(text is not None)
        if text is not None and text != self.text.toPlainText():
            self.text.setPlainText(text)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
