"""What the window keeps: chain files (File menu) and, between sessions, the window layout, the
last source, the recent sources, the folder file dialogs last opened, and the chain (as
chain-file text in the settings, through ``chain.loads/dumps``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMainWindow, QSplitter

from visionapp.core.chain import chain_info, dumps, load_chain, loads, save_chain
from visionapp.core.errors import VisionappError
from visionapp.gui.chain_panel import ChainPanel
from visionapp.gui.status_line import StatusLine

DEFAULT_SOURCE = "demo:"
RECENT_MAX = 8


def recent_sources(settings: QSettings) -> list[str]:
    """Files and folders opened before, newest first, those that still exist."""
    value = settings.value("source/recent", [])
    items = [value] if isinstance(value, str) else list(value or [])
    return [str(item) for item in items if item and Path(str(item)).exists()]


def remember_source(settings: QSettings, spec: str) -> None:
    """Put a file or folder first in the recent list (cameras and the demo are always there)."""
    if not spec or spec.isdigit() or spec.startswith("demo") or not Path(spec).exists():
        return
    recent = [spec] + [s for s in recent_sources(settings) if s != spec]
    settings.setValue("source/recent", recent[:RECENT_MAX])


def last_folder(settings: QSettings) -> str:
    """Where the last file dialog picked something ("" the first time: the home folder)."""
    folder = str(settings.value("dialogs/last_folder", "") or "")
    return folder if folder and Path(folder).is_dir() else str(Path.home())


def remember_folder(settings: QSettings, picked: str) -> None:
    path = Path(picked)
    settings.setValue("dialogs/last_folder", str(path if path.is_dir() else path.parent))


class ChainFiles:
    """File > Open chain… / Save chain…: TOML files the command line runs unchanged."""

    def __init__(self, parent: QMainWindow, chain: ChainPanel, status: StatusLine,
                 settings: QSettings):
        self._parent = parent
        self._chain = chain
        self._status = status
        self._settings = settings

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent, "Open a chain",
                                              last_folder(self._settings), "Chains (*.toml)")
        if path:
            remember_folder(self._settings, path)
            self.load(Path(path))

    def load(self, path: Path) -> bool:
        """Replace the chain with the file's; its title and description go to the message
        line. False (and the message) when the file cannot be used."""
        try:
            entries = load_chain(path)
            info = chain_info(path)
        except VisionappError as exc:
            self._status.error(str(exc))
            return False
        self._chain.load_entries(entries)
        about = f" — {info.description}" if info.description else ""
        self._status.info(f"{info.title}{about}")
        return True

    def save_dialog(self) -> None:
        start = str(Path(last_folder(self._settings)) / "chain.toml")
        path, _ = QFileDialog.getSaveFileName(self._parent, "Save the chain", start,
                                              "Chains (*.toml)")
        if path:
            remember_folder(self._settings, path)
            self.save(Path(path))

    def save(self, path: Path) -> None:
        save_chain(path, self._chain.entries())
        self._status.info(f"chain saved to {path}; run it with: visionapp process VIDEO "
                          f"--chain {path}")


def restore_settings(settings: QSettings, window: QMainWindow, splitter: QSplitter,
                     chain: ChainPanel, status: StatusLine) -> tuple[str, bool]:
    """Window layout and last chain; returns (last source or "" the first time, whether a chain
    was restored)."""
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
    return str(settings.value("source/last", "") or ""), bool(chain_text)


def save_settings(settings: QSettings, window: QMainWindow, splitter: QSplitter,
                  chain: ChainPanel, source_spec: str) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/splitter", splitter.saveState())
    settings.setValue("source/last", source_spec or DEFAULT_SOURCE)
    settings.setValue("chain/toml", dumps(chain.entries()))
    settings.sync()
