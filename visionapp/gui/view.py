"""FrameView: paints a BGR numpy frame, scaled to fit, and lets the user drag a rectangle on it.

The QImage is built straight on the numpy buffer (Format_BGR888, bytesPerLine from the array's
row stride): no conversion and no copy. The array is kept alive alongside the QImage; the worker
hands over a fresh array per frame and never writes to it again, so sharing is thread-safe.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def qimage_from_bgr(image: np.ndarray) -> QImage:
    """A QImage viewing ``image`` (H×W×3 uint8 BGR); no pixel is copied for a contiguous array.

    The caller keeps ``image`` alive as long as the QImage is used.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected H×W×3 uint8 BGR, got {image.shape} {image.dtype}")
    if not image.flags.c_contiguous:
        # A strided view (e.g. a column crop): Qt needs one buffer, so this case pays a copy.
        image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)


class FrameView(QWidget):
    """Shows the latest frame; emits ``dragged`` (image pixels: from x, y, to x, y) after a drag
    of 4 px or more, ``clicked`` after a shorter one, ``right_clicked`` on a right click."""

    dragged = Signal(int, int, int, int)
    right_clicked = Signal(int, int)
    clicked = Signal(int, int)  # image pixel x, y of a click without a drag
    painted = Signal(float)  # perf_counter() when a frame finished painting

    def __init__(self, parent: QWidget | None = None, caption: str = ""):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.caption = caption
        self.notice: str | None = None  # drawn over the frame (a stream reconnecting)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._drag_from: QPoint | None = None
        self._drag_to: QPoint | None = None
        self.last_paint_ms = 0.0
        self.notes: list[str] = []  # drawn top left: what is loading
        self.badge = ""  # drawn top right in red, e.g. "● REC 00:12"
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # single-key shortcuts live here

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 480)

    def set_frame(self, image: np.ndarray) -> None:
        self._array = image  # keeps the buffer alive while the QImage points into it
        self._image = qimage_from_bgr(image)
        self.update()

    def set_notice(self, text: str | None) -> None:
        """Show ``text`` over the frame (the last one stays visible); None removes it."""
        self.notice = text
        self.update()

    def target_rect(self) -> QRectF:
        """Where the image is drawn: fitted to the widget, aspect kept, centred."""
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_image_xy(self, point: QPoint) -> tuple[int, int]:
        rect = self.target_rect()
        if self._image is None or rect.width() <= 0:
            return 0, 0
        x = (point.x() - rect.x()) * self._image.width() / rect.width()
        y = (point.y() - rect.y()) * self._image.height() / rect.height()
        return (int(np.clip(x, 0, self._image.width() - 1)),
                int(np.clip(y, 0, self._image.height() - 1)))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        t0 = time.perf_counter()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.target_rect(), self._image)
        if self._drag_from is not None and self._drag_to is not None:
            painter.setPen(QPen(QColor(255, 220, 0), 2, Qt.PenStyle.DashLine))
            painter.drawRect(QRect(self._drag_from, self._drag_to).normalized())
        if self.notice:
            box = QRectF(self.target_rect().adjusted(12, 12, -12, 0))
            box.setHeight(32)
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 210, 80))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.notice)
        if self.caption:
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(8, self.height() - 8, self.caption)
        self._paint_labels(painter)
        painter.end()
        done = time.perf_counter()
        self.last_paint_ms = (done - t0) * 1000
        if self._image is not None:
            self.painted.emit(done)

    def set_labels(self, notes: list[str], badge: str) -> None:
        """What is drawn over the picture at screen resolution (never into the frame): status
        ``notes`` top left and a red ``badge`` top right; repaints only on a change."""
        if notes != self.notes or badge != self.badge:
            self.notes, self.badge = notes, badge
            self.update()

    def _paint_labels(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        line_h = metrics.height() + 4
        y = 8
        for note in self.notes:
            width = min(metrics.horizontalAdvance(note) + 14, self.width() - 16)
            painter.fillRect(QRect(8, y, width, line_h), QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 225, 120))
            painter.drawText(QRect(15, y, width - 10, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, note)
            y += line_h + 2
        if self.badge:
            width = metrics.horizontalAdvance(self.badge) + 16
            box = QRect(self.width() - width - 8, 8, width, line_h)
            painter.fillRect(box, QColor(180, 0, 0, 210))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.badge)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._drag_from = self._drag_to = event.position().toPoint()
        elif event.button() == Qt.MouseButton.RightButton and self._image is not None:
            self.right_clicked.emit(*self.to_image_xy(event.position().toPoint()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag_from is not None:
            self._drag_to = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag_from is None:
            return
        x0, y0 = self.to_image_xy(self._drag_from)
        x1, y1 = self.to_image_xy(event.position().toPoint())
        self._drag_from = self._drag_to = None
        self.update()
        if abs(x1 - x0) < 4 and abs(y1 - y0) < 4:
            self.clicked.emit(x1, y1)
        else:
            self.dragged.emit(x0, y0, x1, y1)
