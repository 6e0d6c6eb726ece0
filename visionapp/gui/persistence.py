"""What the window keeps: chain files (File menu) and, between sessions, the window layout, the
last source and the chain (as chain-file text in the settings, through ``chain.loads/dumps``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMainWindow, QSplitter

from visionapp.core.chain import dumps, load_chain, loads, save_chain
from visionapp.core.errors import VisionappError
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.status_line import StatusLine

DEFAULT_SOURCE = "demo:"


class ChainFiles:
    """File > Open chain… / Save chain…: TOML files the command line runs unchanged."""

    def __init__(self, parent: QMainWindow, chain: ChainPanel, status: StatusLine):
        self._parent = parent
        self._chain = chain
        self._status = status

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent, "Open a chain", "", "Chains (*.toml)")
        if path:
            self.load(Path(path))

    def load(self, path: Path) -> None:
        try:
            self._chain.load_entries(load_chain(path))
        except VisionappError as exc:
            self._status.error(str(exc))

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent, "Save the chain", "chain.toml",
                                              "Chains (*.toml)")
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        save_chain(path, self._chain.entries())
        self._status.info(f"chain saved to {path}; run it with: visionapp process VIDEO "
                          f"--chain {path}")


def restore_settings(settings: QSettings, window: QMainWindow, splitter: QSplitter,
                     chain: ChainPanel, status: StatusLine) -> tuple[str, bool]:
    """Window layout and last chain; returns (last source, whether a chain was restored)."""
    geometry = settings.value("window/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    state = settings.value("window/splitter")
    if state is not None:
        splitter.restoreState(state)
    chain_text = settings.value("chain/toml", "")
    if chain_text:
        try:
            chain.load_entries(loads(str(chain_text), origin="the last session's chain"))
        except VisionappError as exc:
            status.error(str(exc))
    return str(settings.value("source/last", DEFAULT_SOURCE)), bool(chain_text)


def save_settings(settings: QSettings, window: QMainWindow, splitter: QSplitter,
                  chain: ChainPanel, source_spec: str) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/splitter", splitter.saveState())
    settings.setValue("source/last", source_spec or DEFAULT_SOURCE)
    settings.setValue("chain/toml", dumps(chain.entries()))
    settings.sync()
