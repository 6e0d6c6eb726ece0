"""The editors of one processor parameter, as :class:`visionapp.gui.params.ParamPanel` lays them
out: a slider beside a spin box for numbers, a combo box for choices, a check box for flags, a
line edit (with a file picker for paths) for text.

Every editor has ``value()``; ``set_value(v)`` as a user would (the edit is reported through the
``emit`` callback it was made with) and ``show_value(v)`` that only shows ``v`` (for values set
elsewhere: a click on the view, a preset). A number typed beyond the range is not dropped nor
cut to its first digits: it is set to the nearest bound, and ``notify`` says so in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QPainter, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionFrame,
    QWidget,
)

from visionapp.core.params import ParamSpec

SLIDER_STEPS = 1000  # positions of a slider that is not one step per integer
UNBOUNDED = 1e6  # the spin box's range where the parameter declares none

Emit = Callable[[Any], None]
Notify = Callable[[str], None]


def bound_text(value: float, is_int: bool) -> str:
    return str(int(value)) if is_int else f"{value:g}"


class SliderScale:
    """Slider position (0..steps) ↔ value over [lo, hi], linear or geometric. Geometric over a
    range that starts at 0 or below is offset by one (1, 2, 4 … shifted to start at lo), so
    sizes in px get as many positions from 0 to 30 as from 30 to 1000."""

    def __init__(self, lo: float, hi: float, log: bool, steps: int):
        self.lo, self.hi, self.log, self.steps = lo, hi, log and hi > lo, steps
        self.offset = 0.0 if lo > 0 else 1.0 - lo  # geometric over [lo+offset, hi+offset]

    def position(self, value: float) -> int:
        value = min(max(value, self.lo), self.hi)
        if self.hi <= self.lo:
            return 0
        if self.log:
            a, b = math.log(self.lo + self.offset), math.log(self.hi + self.offset)
            t = (math.log(value + self.offset) - a) / (b - a)
        else:
            t = (value - self.lo) / (self.hi - self.lo)
        return round(t * self.steps)

    def value(self, position: int) -> float:
        t = position / self.steps
        if self.log:
            a, b = math.log(self.lo + self.offset), math.log(self.hi + self.offset)
            return math.exp(a + (b - a) * t) - self.offset
        return self.lo + (self.hi - self.lo) * t


class _Clamping:
    """Spin box behaviour: text beyond the range is kept while typing (so "40" can be typed
    where the maximum is 30, instead of the box refusing the "0"), then set to the bound with a
    notice when the edit ends."""

    notify: Notify | None = None
    is_int = True

    def _number(self, text: str) -> float | None:
        text = text.strip()
        if not text:
            return None
        number, ok = self.locale().toDouble(text)
        if not ok:
            try:
                number = float(text)
            except ValueError:
                return None
        return number if math.isfinite(number) else None

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt API
        number = self._number(text)
        if number is not None and not self.minimum() <= number <= self.maximum():
            return QValidator.State.Intermediate, text, pos
        return super().validate(text, pos)

    def fixup(self, text: str) -> str:  # noqa: D102 - Qt API
        number = self._number(text)
        if number is None or self.minimum() <= number <= self.maximum():
            return super().fixup(text)
        bound = self.maximum() if number > self.maximum() else self.minimum()
        self.tell(number, bound)
        return self.textFromValue(bound)

    def tell(self, typed: float, bound: float) -> None:
        which = "maximum" if typed > bound else "minimum"
        shown = bound_text(bound, self.is_int)
        if self.notify is not None:
            self.notify(f"{bound_text(typed, self.is_int)} is out of range: {shown} is the "
                        f"{which}, so it was set to {shown}")


class IntSpin(_Clamping, QSpinBox):
    pass


class FloatSpin(_Clamping, QDoubleSpinBox):
    is_int = False


class NumberEditor(QWidget):
    """A slider and a spin box kept in step; the spin box holds the value. The slider covers the
    parameter's ``slider`` range (else [min, max]), geometric where it declares ``scale="log"``;
    it is off where the parameter has no bounds."""

    def __init__(self, spec: ParamSpec, value: float, emit: Emit, notify: Notify | None = None):
        super().__init__()
        self.spec = spec
        self._emit = emit
        self.is_int = spec.type is int
        lo = spec.min if spec.min is not None else -UNBOUNDED
        hi = spec.max if spec.max is not None else UNBOUNDED
        self.spin = IntSpin() if self.is_int else FloatSpin()
        self.spin.notify = notify
        if self.is_int:
            self.spin.setRange(int(lo), int(hi))
        else:
            step = spec.step or (hi - lo) / 100
            self.spin.setDecimals(max(2, -math.floor(math.log10(step)) if step > 0 else 2))
            self.spin.setRange(lo, hi)
            self.spin.setSingleStep(step)
        self.spin.setKeyboardTracking(False)  # typed digits apply on Enter or leaving the box
        self.spin.setValue(value)
        s_lo, s_hi = spec.slider or (lo, hi)
        log = spec.scale == "log"
        per_integer = self.is_int and not log and 0 < s_hi - s_lo <= SLIDER_STEPS
        steps = int(s_hi - s_lo) if per_integer else SLIDER_STEPS
        self.scale = SliderScale(s_lo, s_hi, log, steps)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, steps)
        self.slider.setPageStep(max(1, steps // 10))
        self.slider.setValue(self.scale.position(value))
        self.slider.setEnabled(spec.min is not None and spec.max is not None)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 3)
        row.addWidget(self.spin, 1)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def value(self) -> float:
        return int(self.spin.value()) if self.is_int else float(self.spin.value())

    def _from_slider(self, position: int) -> None:
        value = self.scale.value(position)
        self.spin.setValue(round(value) if self.is_int else value)

    def _from_spin(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.scale.position(value))
        self._emit(self.value())

    def set_value(self, value: float) -> None:
        """As if typed: a value beyond the range is set to the bound, with the notice."""
        lo, hi = self.spin.minimum(), self.spin.maximum()
        if not lo <= value <= hi:
            self.spin.tell(value, hi if value > hi else lo)
        self.spin.setValue(value)

    def show_value(self, value: float) -> None:
        with QSignalBlocker(self.spin), QSignalBlocker(self.slider):
            self.spin.setValue(value)
            self.slider.setValue(self.scale.position(value))


class ChoiceEditor(QComboBox):
    def __init__(self, spec: ParamSpec, value: Any, emit: Emit):
        super().__init__()
        for choice in spec.choices:
            self.addItem(str(choice), choice)
        self.show_value(value)
        self.currentIndexChanged.connect(lambda index: emit(self.itemData(index)))

    def value(self) -> Any:
        return self.currentData()

    def set_value(self, value: Any) -> None:
        self.setCurrentIndex(self.findData(value))

    def show_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            self.setCurrentIndex(self.findData(value))


class FlagEditor(QCheckBox):
    def __init__(self, spec: ParamSpec, value: bool, emit: Emit):
        super().__init__()
        self.setChecked(bool(value))
        self.toggled.connect(emit)

    def value(self) -> bool:
        return self.isChecked()

    def set_value(self, value: bool) -> None:
        self.setChecked(bool(value))

    def show_value(self, value: bool) -> None:
        with QSignalBlocker(self):
            self.setChecked(bool(value))


class ElidedLineEdit(QLineEdit):
    """A line edit that, while it does not have the focus, shows a text too long for it with
    the middle left out ("/home/…/models/face_landmarker.task"): the start and the file name
    are what tell paths apart. Editing shows the whole text."""

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        area = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, self)
        margins = self.textMargins()
        area = area.adjusted(margins.left() + 2, margins.top(), -margins.right() - 2,
                             -margins.bottom())
        metrics = self.fontMetrics()
        if self.hasFocus() or metrics.horizontalAdvance(self.text()) <= area.width():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelLineEdit, option, painter, self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(area, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(self.text(), Qt.TextElideMode.ElideMiddle,
                                            area.width()))
        painter.end()

    def displayed_text(self) -> str:
        """What the box shows now (the elided form when not editing and too long)."""
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        width = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option,
                                            self).width() - 4
        if self.hasFocus():
            return self.text()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, width)


class TextEditor(QWidget):
    """A line edit; a "…" button picks a file (kind "path"). Reported when the edit ends. The
    tooltip holds the whole text, and for a model name the file it resolves to."""

    def __init__(self, spec: ParamSpec, value: str, emit: Emit):
        super().__init__()
        self.spec = spec
        self._emit = emit
        self._last = str(value)
        self.edit = ElidedLineEdit(str(value))
        self.edit.editingFinished.connect(self._finished)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        if spec.kind == "path":
            browse = QPushButton("…")
            browse.setFixedWidth(28)
            browse.setToolTip("choose a file")
            browse.clicked.connect(self._browse)
            row.addWidget(browse)
        self._tip()

    def value(self) -> str:
        return self.edit.text()

    def _finished(self) -> None:
        if self.edit.text() != self._last:
            self._last = self.edit.text()
            self._tip()
            self._emit(self._last)

    def _browse(self) -> None:
        start = self.edit.text()
        folder = str(Path(start).parent) if Path(start).is_absolute() else ""
        path, _ = QFileDialog.getOpenFileName(self, self.spec.help or "Choose a file", folder)
        if path:
            self.set_value(path)

    def _tip(self) -> None:
        text = self.edit.text()
        lines = [text] if text else []
        if self.spec.kind == "path" and text:
            from visionapp.core import weights

            found = weights.find_local(text)
            if found is not None and str(found) != text:
                lines.append(f"found at {found}")
        if self.spec.help:
            lines.append(self.spec.help)
        self.setToolTip("\n".join(lines) or self.spec.name)
        self.edit.setToolTip(self.toolTip())

    def set_value(self, value: str) -> None:
        self.edit.setText(str(value))
        self._finished()

    def show_value(self, value: str) -> None:
        self._last = str(value)
        self.edit.setText(self._last)
        self._tip()


def make_editor(spec: ParamSpec, value: Any, emit: Emit, notify: Notify | None = None) -> QWidget:
    if spec.choices:
        return ChoiceEditor(spec, value, emit)
    if spec.type is bool:
        return FlagEditor(spec, value, emit)
    if spec.type in (int, float):
        return NumberEditor(spec, value, emit, notify)
    return TextEditor(spec, str(value), emit)
