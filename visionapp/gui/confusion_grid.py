"""A confusion matrix drawn as a coloured grid: a row per true class, a column per predicted
class, each cell with its count and its share of the row (the rate at which images of that true
class got that answer). Correct answers are tinted green, mistakes red, stronger for a larger
share, so a glance finds the classes the model mixes up; hovering a cell says it in words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

CELL_MIN, CELL_MAX = 44, 110  # px
RIGHT = (22, 163, 74)  # diagonal tint at a rate of 1
WRONG = (220, 38, 38)  # off-diagonal tint at a rate of 1


def tint(rgb: tuple[int, int, int], rate: float, base: QColor) -> QColor:
    """``base`` blended toward ``rgb`` by ``rate`` (0..1), never fully saturated."""
    k = 0.12 + 0.78 * float(np.clip(rate, 0.0, 1.0)) if rate > 0 else 0.0
    return QColor(*(round(b + (c - b) * k) for b, c in
                    zip((base.red(), base.green(), base.blue()), rgb, strict=True)))


def ink_for(background: QColor) -> QColor:
    luminance = (0.299 * background.red() + 0.587 * background.green()
                 + 0.114 * background.blue())
    return QColor(0, 0, 0) if luminance > 140 else QColor(255, 255, 255)


class ConfusionGrid(QWidget):
    def __init__(self, confusion: Sequence[Sequence[int]], class_names: Sequence[str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.confusion = np.asarray(confusion, dtype=np.int64).reshape(
            len(class_names), len(class_names))
        self.class_names = tuple(class_names)
        totals = self.confusion.sum(axis=1, keepdims=True)
        self.rates = np.divide(self.confusion, totals, out=np.zeros(self.confusion.shape),
                               where=totals > 0)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        metrics = self.fontMetrics()
        self._label_w = min(180, max([metrics.horizontalAdvance(n) for n in self.class_names]
                                     + [40]) + 16)
        self._header_h = 2 * metrics.height() + 10

    # ---------------------------------------------------------------- text of a cell

    def cell_text(self, true_index: int, predicted_index: int) -> str:
        count = int(self.confusion[true_index, predicted_index])
        return f"{count}\n{self.rates[true_index, predicted_index]:.0%}"

    def cell_tip(self, i: int, j: int) -> str:
        total = int(self.confusion[i].sum())
        true, predicted = self.class_names[i], self.class_names[j]
        verb = "correctly called" if i == j else "taken for"
        return (f"{self.confusion[i, j]} of {total} '{true}' images {verb} '{predicted}' "
                f"({self.rates[i, j]:.0%})")

    # ---------------------------------------------------------------- geometry

    def _cell(self) -> int:
        n = max(1, len(self.class_names))
        free = min(self.width() - self._label_w - 24, self.height() - self._header_h - 8)
        return int(np.clip(free // n, CELL_MIN, CELL_MAX))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        n = max(1, len(self.class_names))
        return QSize(self._label_w + 24 + n * 72, self._header_h + 8 + n * 72)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        n = max(1, len(self.class_names))
        return QSize(self._label_w + 24 + n * CELL_MIN, self._header_h + 8 + n * CELL_MIN)

    def cell_rect(self, i: int, j: int) -> QRect:
        size = self._cell()
        return QRect(self._label_w + 24 + j * size, self._header_h + i * size, size, size)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.WindowText)
        n = len(self.class_names)
        size = self._cell()
        left, top = self._label_w + 24, self._header_h
        painter.setPen(text)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRect(left, 0, n * size, self.fontMetrics().height() + 2),
                         Qt.AlignmentFlag.AlignCenter, "predicted →")
        painter.save()
        painter.translate(12, top + n * size / 2)
        painter.rotate(-90)
        painter.drawText(QRect(-n * size // 2, -10, n * size, 20),
                         Qt.AlignmentFlag.AlignCenter, "true ↓")
        painter.restore()
        painter.setFont(self.font())
        metrics = self.fontMetrics()
        for k, name in enumerate(self.class_names):
            shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, size - 4)
            painter.drawText(QRect(left + k * size, metrics.height() + 4, size, metrics.height()),
                             Qt.AlignmentFlag.AlignCenter, shown)
            row_name = metrics.elidedText(name, Qt.TextElideMode.ElideRight, self._label_w - 6)
            painter.drawText(QRect(20, top + k * size, self._label_w, size),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             row_name)
        for i in range(n):
            for j in range(n):
                rect = self.cell_rect(i, j)
                fill = tint(RIGHT if i == j else WRONG, self.rates[i, j], base)
                painter.fillRect(rect, fill)
                painter.setPen(palette.color(QPalette.ColorRole.Mid))
                painter.drawRect(rect)
                painter.setPen(ink_for(fill))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.cell_text(i, j))
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        point = event.position().toPoint()
        for i in range(len(self.class_names)):
            for j in range(len(self.class_names)):
                if self.cell_rect(i, j).contains(point):
                    QToolTip.showText(event.globalPosition().toPoint(), self.cell_tip(i, j), self)
                    return
        QToolTip.hideText()
