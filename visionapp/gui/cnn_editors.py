"""Editors for the CNN lab's settings.

The kernel grid editor: a 3×3 or 5×5 grid of numbers for ``conv.kernel``'s ``kernel``. It opens
on the kernel in use (the preset's while a preset is chosen). Editing a cell switches the
processor to ``preset=custom`` with the grid as its kernel, in one change, so the two settings
are never seen half-applied. Cells take what the text field takes: integers, decimals, "1/9".

The layer picker: ``cnn.features``' ``layer`` as a list of the model's layers with their output
shapes, read off the GUI thread (the model may still be loading); a name can be typed too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from visionapp.gui.bridge import run_function
from visionapp.processors import cnn_arithmetic as ca

SIZES = (3, 5)
_TOKENS = re.compile(r"[,\s]+")


def cells_of(text: str) -> list[list[str]]:
    """The kernel text's numbers as rows of strings, as typed ("1/9" stays "1/9")."""
    rows = [r.strip() for r in re.split(r"[;\n]", text) if r.strip()]
    return [[t for t in _TOKENS.split(r) if t] for r in rows]


class KernelEditor(QWidget):
    """``emit_many`` gets {"preset": "custom", "kernel": text} after a cell edit."""

    def __init__(self, text: str, preset: str | None,
                 emit_many: Callable[[dict[str, Any]], None]):
        super().__init__()
        self._emit_many = emit_many
        shown = text or ca.PRESETS.get(preset or "", "")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.size_box = QComboBox()
        for f in SIZES:
            self.size_box.addItem(f"{f}×{f}", f)
        top.addWidget(self.size_box)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        top.addWidget(self.note, 1)
        layout.addLayout(top)
        self._grid_box = QWidget()
        self._grid = QGridLayout(self._grid_box)
        self._grid.setSpacing(2)
        self._grid.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._grid_box, 0, Qt.AlignmentFlag.AlignLeft)
        self.cells: list[list[QLineEdit]] = []
        rows = cells_of(shown)
        size = len(rows) if len(rows) in SIZES else 3
        self.size_box.setCurrentIndex(SIZES.index(size))
        self._build(size, rows)
        self._last = self.text()  # what the processor has: only a real edit is sent
        self.size_box.currentIndexChanged.connect(self._resized)

    def _build(self, size: int, rows: list[list[str]]) -> None:
        for line in self.cells:
            for cell in line:
                self._grid.removeWidget(cell)
                cell.deleteLater()
        self.cells = []
        for r in range(size):
            line = []
            for c in range(size):
                value = rows[r][c] if r < len(rows) and c < len(rows[r]) else "0"
                cell = QLineEdit(value)
                cell.setFixedWidth(52)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.editingFinished.connect(self._edited)
                self._grid.addWidget(cell, r, c)
                line.append(cell)
            self.cells.append(line)

    def _resized(self) -> None:
        size = self.size_box.currentData()
        old = [[cell.text() for cell in line] for line in self.cells]
        # Keep the old kernel centred in the new grid (a 3×3 sits in the middle of a 5×5).
        shift = (len(old) - size) // 2
        rows = [[old[r + shift][c + shift] if 0 <= r + shift < len(old)
                 and 0 <= c + shift < len(old) else "0" for c in range(size)]
                for r in range(size)]
        self._build(size, rows)
        self._edited()

    def show_value(self, text: str) -> None:
        """The processor's kernel changed elsewhere (a chain file, undo): show it."""
        if text and text != self.text():
            rows = cells_of(text)
            size = len(rows) if len(rows) in SIZES else 3
            self.size_box.blockSignals(True)
            self.size_box.setCurrentIndex(SIZES.index(size))
            self.size_box.blockSignals(False)
            self._build(size, rows)
            self._last = self.text()

    def text(self) -> str:
        return "; ".join(" ".join(cell.text().strip() or "0" for cell in line)
                         for line in self.cells)

    def _edited(self) -> None:
        text = self.text()
        problem = ca.kernel_problem(text)
        if problem is not None:
            self.note.setText("⚠ a cell is not a number (e.g. 2, -0.5, 1/9)")
            return
        if text == self._last:
            return
        self._last = text
        self.note.setText("custom kernel")
        self._emit_many({"preset": "custom", "kernel": text})


class LayerPicker(QComboBox):
    """An editable list of layers: ``choices()`` gives (name, description) pairs and runs on a
    worker thread; the typed or picked name goes to ``emit``."""

    def __init__(self, value: str, choices: Callable[[], list[tuple[str, str]]] | None,
                 emit: Callable[[str], None]):
        super().__init__()
        self._emit = emit
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItem(value, value)
        self.setCurrentIndex(0)
        self.activated.connect(self._picked)
        self.lineEdit().editingFinished.connect(self._typed)
        self.setToolTip("the layer whose feature maps are shown (loading the model's layers…)")
        if choices is not None:
            run_function(self, "layers", choices, self._fill)

    def _fill(self, choices: list[tuple[str, str]]) -> None:
        current = self.currentData() or self.currentText()
        self.blockSignals(True)
        self.clear()
        for name, description in choices:
            self.addItem(f"{name}  {description}".rstrip(), name)
        self.blockSignals(False)
        self.show_value(current)
        self.setToolTip(f"{len(choices)} layers with feature maps; pick one or type its name"
                        if choices else "no model yet: type a layer name, or train a model")

    def show_value(self, name: str) -> None:
        index = self.findData(name)
        if index < 0:
            self.insertItem(0, name, name)
            index = 0
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)

    def value(self) -> str:
        text = self.currentText().strip()
        index = self.findText(text)
        return str(self.itemData(index)) if index >= 0 else text.split()[0] if text else ""

    def _picked(self, index: int) -> None:
        self._emit(str(self.itemData(index)))

    def _typed(self) -> None:
        value = self.value()
        if value:
            self._emit(value)
