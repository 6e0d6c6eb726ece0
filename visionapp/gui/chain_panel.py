"""The chain editor: processors in order, each with an on/off box, plus add/remove/reorder.

The panel owns the list of ChainSlots; every change emits ``chain_changed`` and the window sends
the new list to the worker. Slots and processors are frozen values: an edit replaces one, never
mutates it, so the list the worker holds never changes under it.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from visionapp.core import registry
from visionapp.core.chain import ChainEntry, entry_of
from visionapp.core.errors import VisionappError
from visionapp.core.playback_messages import ChainSlot
from visionapp.gui.params import ParamPanel

DEBOUNCE_MS = 60
_keys = itertools.count(1)


class ChainPanel(QWidget):
    chain_changed = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.slots: list[ChainSlot] = []
        self.status: dict[int, str] = {}  # key → "loading…", "failed: …", ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        add_row = QHBoxLayout()
        self.picker = QComboBox()
        self.picker.addItems(registry.names())
        self.picker.setToolTip("every registered processor, plug-ins included")
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.add(self.picker.currentText()))
        add_row.addWidget(self.picker, 1)
        add_row.addWidget(add)
        layout.addLayout(add_row)
        self.list = QListWidget()
        self.list.setMaximumHeight(170)
        self.list.itemChanged.connect(self._item_toggled)
        self.list.currentRowChanged.connect(self._show_params)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        for text, handler in (("Remove", self.remove_current), ("Up", self.move_up),
                              ("Down", self.move_down)):
            button = QPushButton(text)
            button.clicked.connect(handler)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.params_area = QScrollArea()
        self.params_area.setWidgetResizable(True)
        layout.addWidget(self.params_area, 1)
        self.panel: ParamPanel | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.chain_changed)

    # ---------------------------------------------------------------- editing

    def add(self, name: str, params: dict | None = None, enabled: bool = True) -> ChainSlot | None:
        try:
            processor = registry.create(name, params or {})
        except VisionappError as exc:
            self.message.emit(str(exc))
            return None
        return self.add_processor(processor, enabled)

    def add_processor(self, processor: Any, enabled: bool = True) -> ChainSlot:
        slot = ChainSlot(next(_keys), processor, enabled)
        self.slots.append(slot)
        self.status[slot.key] = "loading…" if enabled else ""
        self._rebuild(select=len(self.slots) - 1)
        self.chain_changed.emit()
        return slot

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.slots):
            del self.slots[row]
            self._rebuild(select=min(row, len(self.slots) - 1))
            self.chain_changed.emit()

    def move_up(self) -> None:
        self._move(-1)

    def move_down(self) -> None:
        self._move(1)

    def _move(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if 0 <= row < len(self.slots) and 0 <= target < len(self.slots):
            self.slots[row], self.slots[target] = self.slots[target], self.slots[row]
            self._rebuild(select=target)
            self.chain_changed.emit()

    def _item_toggled(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self.slots):
            enabled = item.checkState() == Qt.CheckState.Checked
            slot = self.slots[row]
            if slot.enabled != enabled:
                # A new slot object: the worker keeps using the old list until it gets this one.
                self.slots[row] = dataclasses.replace(slot, enabled=enabled)
                if enabled and self.status.get(slot.key, "").startswith("failed"):
                    self.status[slot.key] = ""
                self._refresh_item(row)
                self.chain_changed.emit()

    def set_param(self, row: int, name: str, value: Any) -> bool:
        """Replace processor ``row`` with one where ``name`` = ``value``; debounced send."""
        slot = self.slots[row]
        try:
            processor = registry.replace(slot.processor, **{name: value})
        except VisionappError as exc:
            self.message.emit(str(exc))
            return False
        self.slots[row] = dataclasses.replace(slot, processor=processor)
        self._debounce.start()
        return True

    def apply(self, row: int, changes: Mapping[str, Any]) -> bool:
        """Set several parameters of processor ``row``, as if typed in its panel; stops at the
        first one refused (the message says why) and returns False."""
        applied = all(self.set_param(row, name, value) for name, value in changes.items())
        if row == self.list.currentRow():
            self._show_params(row)  # the panel shows the new values
        return applied

    def apply_or_add(self, name: str, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` to the first ``name`` processor in the chain (selecting it), or add
        one with them."""
        row = next((i for i, s in enumerate(self.slots) if s.processor.name == name), None)
        if row is None:
            self.add(name, dict(changes))
        elif self.apply(row, changes):
            self.list.setCurrentRow(row)

    def _param_edited(self, key: int, name: str, value: Any) -> None:
        row = next((i for i, s in enumerate(self.slots) if s.key == key), None)
        if row is not None:
            self.set_param(row, name, value)

    # ---------------------------------------------------------------- state from the worker

    def mark_failed(self, key: int, message: str) -> None:
        for row, slot in enumerate(self.slots):
            if slot.key == key:
                self.slots[row] = dataclasses.replace(slot, enabled=False)
                self.status[key] = "failed: " + message
                self._rebuild(select=self.list.currentRow())

    def mark_ran(self, keys: set[int]) -> None:
        """Processors that produced a result are no longer "loading…"."""
        for row, slot in enumerate(self.slots):
            if slot.key in keys and self.status.get(slot.key) == "loading…":
                self.status[slot.key] = ""
                self._refresh_item(row)

    # ---------------------------------------------------------------- chain files

    def entries(self) -> list[ChainEntry]:
        return [entry_of(s.processor, s.enabled) for s in self.slots]

    def load_entries(self, entries: list[ChainEntry]) -> None:
        """Replace the chain with ``entries``; one that cannot be built is skipped and said."""
        built = []
        for entry in entries:
            try:
                built.append((entry.build(), entry.enabled))
            except VisionappError as exc:
                self.message.emit(str(exc))
        self.set_processors(built)

    def set_processors(self, processors: Iterable[tuple[Any, bool]]) -> None:
        """Replace the chain with these (processor, enabled) pairs."""
        self.slots.clear()
        for processor, enabled in processors:
            slot = ChainSlot(next(_keys), processor, enabled)
            self.slots.append(slot)
            self.status[slot.key] = "loading…" if enabled else ""
        self._rebuild(select=0 if self.slots else -1)
        self.chain_changed.emit()

    # ---------------------------------------------------------------- view

    def _rebuild(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for row, _slot in enumerate(self.slots):
            item = QListWidgetItem()
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
            self._refresh_item(row)
        self.list.blockSignals(False)
        self.list.setCurrentRow(select)
        self._show_params(select)

    def _refresh_item(self, row: int) -> None:
        slot = self.slots[row]
        item = self.list.item(row)
        self.list.blockSignals(True)
        status = self.status.get(slot.key, "")
        text = slot.processor.name
        if status == "loading…" and slot.enabled:
            text += "  (loading…)"
        elif status.startswith("failed"):
            text += "  ⚠ failed"
        item.setText(text)
        item.setToolTip(status or slot.processor.name)
        item.setForeground(QBrush(QColor(200, 40, 40)) if status.startswith("failed")
                           else QBrush())
        item.setCheckState(Qt.CheckState.Checked if slot.enabled else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)

    def _show_params(self, row: int) -> None:
        if not 0 <= row < len(self.slots):
            self.params_area.takeWidget()
            self.panel = None
            self.params_area.setWidget(QLabel("Add a processor to the chain."))
            return
        slot = self.slots[row]
        self.panel = ParamPanel(slot.processor)
        self.panel.changed.connect(functools.partial(self._param_edited, slot.key))
        self.params_area.setWidget(self.panel)
