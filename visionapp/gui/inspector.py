"""The arithmetic inspector: one value on the view taken apart, laid out as the course notes do.

A click on a processor's map (``conv.kernel``, ``conv.pool``, or a plug-in with ``inspect``)
opens it: the input patch, the kernel, their element-wise products as grids, then the sum, the
output value and the output-size formula with the numbers filled in. One window is reused, so
clicking around updates it in place.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visionapp.core.view_edits import Inspection

_CELL_PX = 46


def grids(inspection: Inspection) -> list[tuple[str, np.ndarray]]:
    """The inspection's 2-D array fields, in declaration order, with readable titles."""
    if not dataclasses.is_dataclass(inspection):
        return []
    out = []
    for f in dataclasses.fields(inspection):
        value = getattr(inspection, f.name)
        if isinstance(value, np.ndarray) and value.ndim == 2:
            out.append((f.name.replace("_", " "), value))
    return out


def _cell_colour(value: float, scale: float) -> QColor:
    """Negative blue, positive red (as conv.kernel's signed map), white at 0."""
    t = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    fade = round(255 * (1 - 0.55 * t))
    return QColor(255, fade, fade) if value > 0 else QColor(fade, fade, 255)


class GridTable(QTableWidget):
    """A small matrix of numbers with signed tints."""

    def show_array(self, values: np.ndarray) -> None:
        rows, cols = values.shape
        self.setRowCount(rows)
        self.setColumnCount(cols)
        scale = float(np.abs(values).max()) if values.size else 0.0
        for r in range(rows):
            for c in range(cols):
                v = float(values[r, c])
                item = QTableWidgetItem(f"{v:g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QBrush(_cell_colour(v, scale)))
                item.setForeground(QBrush(QColor("black")))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.setItem(r, c, item)
        for c in range(cols):
            self.setColumnWidth(c, _CELL_PX)
        for r in range(rows):
            self.setRowHeight(r, 26)
        self.setFixedSize(cols * _CELL_PX + 4, rows * 26 + 4)


class InspectorDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Inspector: how this value was computed")
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self._grid_box = QWidget()
        self._grid_layout = QGridLayout(self._grid_box)
        layout.addWidget(self._grid_box)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text, 1)
        self.tables: dict[str, GridTable] = {}
        self.resize(640, 520)

    def show_inspection(self, processor_name: str, inspection: Inspection) -> None:
        lines = inspection.lines()
        self.heading.setText(f"<b>{processor_name}</b>: {lines[0] if lines else ''}")
        while self._grid_layout.count():
            item = self._grid_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.tables = {}
        for column, (title, values) in enumerate(grids(inspection)):
            caption = QLabel(f"<b>{title}</b>")
            table = GridTable()
            table.horizontalHeader().hide()
            table.verticalHeader().hide()
            table.show_array(values)
            self._grid_layout.addWidget(caption, 0, column)
            self._grid_layout.addWidget(table, 1, column, Qt.AlignmentFlag.AlignTop)
            self.tables[title] = table
        self.text.setPlainText("\n".join(lines))
        self.show()
        self.raise_()
