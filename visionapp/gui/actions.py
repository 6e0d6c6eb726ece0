"""Menus and single-key shortcuts, built from tables the window declares."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

MenuItem = tuple[str, Callable[[], object], QKeySequence.StandardKey | None]


def add_menu(window: QMainWindow, title: str, items: Sequence[MenuItem]) -> QMenu:
    """A menu of (text, handler, standard key or None) entries."""
    menu = window.menuBar().addMenu(title)
    for text, handler, key in items:
        action = QAction(text, window)
        action.triggered.connect(handler)
        if key is not None:
            action.setShortcut(key)
        menu.addAction(action)
    return menu


def add_shortcuts(widget: QWidget, keys: Sequence[tuple[Qt.Key, Callable[[], object]]]
                  ) -> list[QShortcut]:
    """Single keys that act only while ``widget`` (the view) has the keyboard focus, so typing
    a path or a number elsewhere never takes a snapshot."""
    made = []
    for key, handler in keys:
        shortcut = QShortcut(QKeySequence(key), widget)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(handler)
        made.append(shortcut)
    return made
