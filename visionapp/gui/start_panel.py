"""The first-run panel: shown while the chain is empty, it says what to do and offers the preset
chains as one-click buttons, each with its one-line description.

Presets are ordinary chain files (``resources/presets/*.toml``, which ``visionapp process
--chain`` runs too); their ``title`` and ``description`` keys label the buttons. The ones a
newcomer should meet first come first (:data:`FEATURED`), the rest follow by title.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from visionapp import paths
from visionapp.core.chain import ChainInfo, chain_info
from visionapp.core.errors import VisionappError

log = logging.getLogger(__name__)

FEATURED = ("faces", "face_mesh", "hands", "body_pose", "objects", "edges", "classifier")
COLUMNS = 4


def presets() -> list[ChainInfo]:
    """Every preset that can be read, featured ones first; one that cannot is logged."""
    found = []
    for path in paths.preset_files():
        try:
            found.append(chain_info(path))
        except VisionappError as exc:
            log.warning("preset skipped: %s", exc)
    rank = {name: i for i, name in enumerate(FEATURED)}
    return sorted(found, key=lambda p: (rank.get(p.path.stem, len(rank)), p.title))


class StartPanel(QFrame):
    preset_picked = Signal(Path)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startPanel")
        self.setStyleSheet("#startPanel { background: #26313d; border-radius: 6px; }"
                           "#startPanel QLabel { color: #e8edf2; }")
        layout = QVBoxLayout(self)
        self.heading = QLabel("<b>Nothing is processing yet.</b> Pick a preset to see computer "
                              "vision at work on this video — or add processors one by one "
                              "with <i>Add</i> on the right.")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.notice = QLabel("")  # e.g. "No camera found — showing the demo scene"
        self.notice.setStyleSheet("color: #ffd27a;")
        self.notice.hide()
        layout.addWidget(self.notice)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.buttons: dict[str, QPushButton] = {}  # preset file stem → its button
        for i, preset in enumerate(presets()):
            cell = QVBoxLayout()
            button = QPushButton(preset.title)
            button.setToolTip(f"{preset.description}\n{preset.path}")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(functools.partial(self.preset_picked.emit, preset.path))
            about = QLabel(preset.description)
            about.setWordWrap(True)
            about.setStyleSheet("font-size: 11px; color: #b9c6d3;")
            cell.addWidget(button)
            cell.addWidget(about)
            cell.addStretch(1)
            grid.addLayout(cell, i // COLUMNS, i % COLUMNS)
            self.buttons[preset.path.stem] = button
        layout.addLayout(grid)

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
